//! Session expiry on the leader: ZooKeeper's `ExpiryQueue`, buckets one tick wide.
//!
//! A touch moves a session to the bucket `roundUp(now + timeout)`; when a bucket's time comes,
//! every session in it expires together. Learners report the sessions their clients touched
//! and the leader touches them here, so a session expires only when no server saw it for
//! about its timeout (rounded up to a tick).

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use crate::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tracked {
    timeout_ms: u32,
    bucket: u64,
    closing: bool,
}

/// The leader's table of live sessions and when each expires.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionTracker {
    tick_ms: u64,
    sessions: BTreeMap<i64, Tracked>,
    buckets: BTreeMap<u64, BTreeSet<i64>>,
}

impl SessionTracker {
    /// An empty tracker with buckets `tick_ms` wide.
    pub(crate) fn new(tick_ms: u64) -> SessionTracker {
        SessionTracker {
            tick_ms: tick_ms.max(1),
            sessions: BTreeMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    fn bucket_for(&self, now: Instant, timeout_ms: u32) -> u64 {
        let t = now.as_millis().saturating_add(timeout_ms as u64);
        (t / self.tick_ms)
            .saturating_add(1)
            .saturating_mul(self.tick_ms)
    }

    /// Starts tracking a session (or refreshes it) with a fresh deadline.
    pub(crate) fn add(&mut self, id: i64, timeout_ms: u32, now: Instant) {
        self.remove(id);
        let bucket = self.bucket_for(now, timeout_ms);
        self.sessions.insert(
            id,
            Tracked {
                timeout_ms,
                bucket,
                closing: false,
            },
        );
        self.buckets.entry(bucket).or_default().insert(id);
    }

    /// Records activity; false if the session is unknown or already closing.
    pub(crate) fn touch(&mut self, id: i64, now: Instant) -> bool {
        let Some(t) = self.sessions.get(&id).copied() else {
            return false;
        };
        if t.closing {
            return false;
        }
        let bucket = self.bucket_for(now, t.timeout_ms);
        if bucket != t.bucket {
            if let Some(b) = self.buckets.get_mut(&t.bucket) {
                b.remove(&id);
                if b.is_empty() {
                    self.buckets.remove(&t.bucket);
                }
            }
            self.buckets.entry(bucket).or_default().insert(id);
            if let Some(s) = self.sessions.get_mut(&id) {
                s.bucket = bucket;
            }
        }
        true
    }

    /// Stops tracking a session (closed or expired and committed).
    pub(crate) fn remove(&mut self, id: i64) {
        if let Some(t) = self.sessions.remove(&id) {
            if let Some(b) = self.buckets.get_mut(&t.bucket) {
                b.remove(&id);
                if b.is_empty() {
                    self.buckets.remove(&t.bucket);
                }
            }
        }
    }

    /// True if the session is tracked and not closing.
    pub(crate) fn is_live(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|s| !s.closing)
    }

    /// When the earliest bucket expires.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.buckets
            .keys()
            .next()
            .map(|ms| Instant::from_millis(*ms))
    }

    /// Sessions whose bucket time has come, ascending; they are marked closing and leave
    /// their bucket (the caller proposes a closeSession for each).
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<i64> {
        let mut out = Vec::new();
        let now_ms = now.as_millis();
        while let Some((&at, _)) = self.buckets.iter().next() {
            if at > now_ms {
                break;
            }
            if let Some(ids) = self.buckets.remove(&at) {
                for id in ids {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        s.closing = true;
                        out.push(id);
                    }
                }
            }
        }
        out
    }

    /// True when no session is tracked.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn ms(t: u64) -> Instant {
        Instant::from_millis(t)
    }

    #[test]
    fn deadline_rounds_up_to_the_next_tick_boundary() {
        let mut t = SessionTracker::new(2000);
        t.add(7, 4000, ms(1500));
        // 1500 + 4000 = 5500 -> bucket 6000.
        assert_eq!(t.next_expiry(), Some(ms(6000)));
        assert_eq!(t.expire(ms(5999)), Vec::<i64>::new());
        assert_eq!(t.expire(ms(6000)), vec![7]);
        assert!(!t.is_live(7));
        assert!(!t.touch(7, ms(6001)), "a closing session cannot be revived");
    }

    #[test]
    fn touches_move_sessions_to_later_buckets() {
        let mut t = SessionTracker::new(100);
        t.add(1, 1000, ms(0));
        t.add(2, 1000, ms(0));
        assert!(t.touch(1, ms(900)));
        assert_eq!(t.expire(ms(1100)), vec![2]);
        assert_eq!(t.next_expiry(), Some(ms(2000)));
        assert_eq!(t.expire(ms(2000)), vec![1]);
        assert!(!t.touch(99, ms(0)));
    }

    #[test]
    fn removed_sessions_never_expire() {
        let mut t = SessionTracker::new(100);
        t.add(1, 1000, ms(0));
        t.remove(1);
        assert!(t.is_empty());
        assert_eq!(t.expire(ms(10_000)), Vec::<i64>::new());
        assert_eq!(t.next_expiry(), None);
    }
}
