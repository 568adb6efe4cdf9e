//! The core's only source of randomness: a small seeded PRNG (xoshiro256**).
//!
//! Hand-written rather than pulled in so the stream for a seed can never change under us
//! with a dependency bump: simulator seeds stay replayable across versions.

/// A deterministic pseudo-random generator seeded by the caller.
#[derive(Clone, Debug)]
pub struct Prng {
    s: [u64; 4],
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(crate::hash::GOLDEN_GAMMA);
    crate::hash::splitmix64(*state)
}

impl Prng {
    /// A generator whose whole stream is fixed by `seed`.
    pub fn new(seed: u64) -> Prng {
        let mut st = seed;
        Prng {
            s: [
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
                splitmix64(&mut st),
            ],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A value uniform in `0..n` (0 when `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Lemire's multiply-shift; the tiny bias is irrelevant for jitter and fault choice.
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// A value uniform in `lo..=hi` (`lo` when `hi < lo`).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// `true` with probability `per_million / 1_000_000`.
    pub fn chance(&mut self, per_million: u32) -> bool {
        self.below(1_000_000) < per_million as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let mut a = Prng::new(42);
        let mut b = Prng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Prng::new(1).next_u64(), Prng::new(2).next_u64());
    }

    #[test]
    fn stream_is_pinned() {
        // Changing the generator would silently change every simulator seed.
        let mut r = Prng::new(0);
        assert_eq!(r.next_u64(), 0x99EC_5F36_CB75_F2B4);
    }

    #[test]
    fn bounds_hold() {
        let mut r = Prng::new(7);
        for _ in 0..1000 {
            assert!(r.below(10) < 10);
            let v = r.range_inclusive(5, 8);
            assert!((5..=8).contains(&v));
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range_inclusive(9, 3), 9);
    }
}
