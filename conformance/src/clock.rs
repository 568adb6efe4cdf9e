//! Each server machine's clocks: the monotonic clock the node's `Instant`s come from, running
//! a little fast or slow, and the wall clock it stamps txns with (`Input::WallClock`), skewed
//! and drifting. Both are fixed per server for the run, drawn from the seed (and exact when
//! faults are off).

use conclave_core::rng::Prng;

/// 2024-01-01T00:00:00Z, ms: the simulated wall clock starts around there.
const BASE_UNIX_MS: i64 = 1_704_067_200_000;
const PPM: i128 = 1_000_000;

/// One machine's clocks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Clock {
    /// Monotonic clock rate error, parts per million (−10 000..=10 000: 0.99–1.01).
    rate_ppm: i64,
    /// Wall clock offset from true time, ms.
    wall_skew_ms: i64,
    /// Wall clock drift, parts per million.
    wall_ppm: i64,
}

impl Clock {
    /// A perfect clock.
    pub(crate) fn exact() -> Clock {
        Clock::default()
    }

    /// A clock with drawn errors: rate 0.99–1.01, wall clock ±2 s off, drifting ±1 %.
    pub(crate) fn drawn(rng: &mut Prng) -> Clock {
        let signed = |rng: &mut Prng, max: u64| rng.range_inclusive(0, 2 * max) as i64 - max as i64;
        Clock {
            rate_ppm: signed(rng, 10_000),
            wall_skew_ms: signed(rng, 2_000),
            wall_ppm: signed(rng, 10_000),
        }
    }

    /// The node's monotonic reading (ns) at true time `t` (ns): monotonic in `t`.
    pub(crate) fn local(&self, t: u64) -> u64 {
        (t as i128 * (PPM + self.rate_ppm as i128) / PPM) as u64
    }

    /// The earliest true time at which the node's monotonic clock reads `local` or more.
    pub(crate) fn global(&self, local: u64) -> u64 {
        let rate = PPM + self.rate_ppm as i128;
        let mut t = ((local as i128 * PPM + rate - 1) / rate).min(u64::MAX as i128) as u64;
        while t > 0 && self.local(t - 1) >= local {
            t -= 1;
        }
        while self.local(t) < local && t < u64::MAX {
            t += 1;
        }
        t
    }

    /// The wall clock, ms since the Unix epoch, at true time `t` (ns).
    pub(crate) fn unix_ms(&self, t: u64) -> i64 {
        let ms = t as i128 * (PPM + self.wall_ppm as i128) / PPM / 1_000_000;
        BASE_UNIX_MS + self.wall_skew_ms + ms as i64
    }

    /// Human-readable description for the trace.
    pub(crate) fn describe(&self) -> String {
        format!(
            "rate {:+}ppm, wall {:+}ms {:+}ppm",
            self.rate_ppm, self.wall_skew_ms, self.wall_ppm
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_global_are_inverse_and_monotonic() {
        let mut rng = Prng::new(5);
        for _ in 0..200 {
            let c = Clock::drawn(&mut rng);
            let mut prev = 0;
            for t in [0u64, 1, 999, 1_000_000, 123_456_789_012, 600_000_000_000] {
                let l = c.local(t);
                assert!(l >= prev);
                prev = l;
                let g = c.global(l);
                assert!(g <= t && c.local(g) >= l);
                assert!(g == 0 || c.local(g - 1) < l);
            }
        }
        assert_eq!(Clock::exact().local(42), 42);
        assert_eq!(Clock::exact().global(42), 42);
    }
}
