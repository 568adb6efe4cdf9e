//! The node's timers: a closed set, one slot each, with the earliest deadline cached.

use crate::time::Instant;

/// Every reason the node may want to wake up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Timer {
    /// Peer links: dials whose back-off expired, heartbeats, idle links.
    Links,
    /// Election: notification back-off and the finalize wait.
    Election,
    /// ZAB: the initLimit deadline of discovery and synchronization.
    Zab,
    /// The service: session expiry, reaping.
    Service,
}

impl Timer {
    /// All timers, in slot order.
    pub(crate) const ALL: [Timer; 4] = [Timer::Links, Timer::Election, Timer::Zab, Timer::Service];
}

/// One optional deadline per [`Timer`], plus the cached minimum.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: [Option<Instant>; 4],
    next: Option<(Instant, Timer)>,
}

impl TimerTable {
    /// Sets (or clears) one timer and refreshes the cached minimum.
    pub(crate) fn set(&mut self, timer: Timer, at: Option<Instant>) {
        self.slots[timer as usize] = at;
        self.next = None;
        for t in Timer::ALL {
            if let Some(at) = self.slots[t as usize] {
                if self.next.is_none_or(|(n, _)| at < n) {
                    self.next = Some((at, t));
                }
            }
        }
    }

    /// The earliest deadline and which timer owns it.
    pub(crate) fn next(&self) -> Option<(Instant, Timer)> {
        self.next
    }

    /// The deadline of one timer (observed by the unit tests).
    #[cfg(test)]
    pub(crate) fn get(&self, timer: Timer) -> Option<Instant> {
        self.slots[timer as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_is_cached_and_named() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Zab, Some(Instant::from_millis(30)));
        t.set(Timer::Links, Some(Instant::from_millis(10)));
        assert_eq!(t.next(), Some((Instant::from_millis(10), Timer::Links)));
        t.set(Timer::Links, None);
        assert_eq!(t.next(), Some((Instant::from_millis(30), Timer::Zab)));
        assert_eq!(t.get(Timer::Election), None);
    }
}
