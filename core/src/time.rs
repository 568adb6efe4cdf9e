//! Time as the core sees it: a monotonic instant handed in by the adapter.

use core::fmt;
use core::ops::{Add, Sub};

/// A point on the adapter's monotonic clock, in nanoseconds since an arbitrary origin.
///
/// The core never reads a clock; every `handle` call carries `now`. Values only need to be
/// monotonic per node — they are never compared across nodes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(0);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis.saturating_mul(1_000_000))
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the origin.
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// `self + ms` milliseconds, saturating at the far future.
    pub const fn plus_millis(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms.saturating_mul(1_000_000)))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub const fn millis_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0) / 1_000_000
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}ms", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

impl Add<u64> for Instant {
    type Output = Instant;
    /// Adds nanoseconds.
    fn add(self, nanos: u64) -> Instant {
        Instant(self.0.saturating_add(nanos))
    }
}

impl Sub for Instant {
    type Output = u64;
    /// Nanoseconds between two instants (0 if `rhs` is later).
    fn sub(self, rhs: Instant) -> u64 {
        self.0.saturating_sub(rhs.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t.plus_millis(7).as_millis(), 12);
        assert_eq!(Instant::from_millis(3).millis_since(t), 0);
        assert_eq!(
            Instant::from_nanos(u64::MAX).plus_millis(1).as_nanos(),
            u64::MAX
        );
        assert_eq!(t - Instant::from_millis(9), 0);
    }
}
