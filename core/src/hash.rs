//! The hash functions the core and its tools share, written out so their outputs never
//! change with a dependency or a Rust release: fingerprints, digests and simulator trace hashes
//! must stay comparable across builds and machines.

use core::fmt;

/// A running 64-bit FNV-1a hash: the ensemble fingerprint, the tree digest's node hashes, the
/// register map's digest and the simulator's trace hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv1a64(u64);

/// The FNV-1a 64-bit offset basis.
pub const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
/// The FNV-1a 64-bit prime.
const PRIME: u64 = 0x0000_0100_0000_01b3;

impl Default for Fnv1a64 {
    fn default() -> Self {
        Fnv1a64::new()
    }
}

impl Fnv1a64 {
    /// The hash of nothing (the offset basis).
    pub const fn new() -> Fnv1a64 {
        Fnv1a64(OFFSET_BASIS)
    }

    /// A hash starting from `state` instead of the offset basis (a domain-separated basis,
    /// or a hash resumed).
    pub const fn from_state(state: u64) -> Fnv1a64 {
        Fnv1a64(state)
    }

    /// Folds `bytes` into the hash.
    pub fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
        self.0 = h;
    }

    /// Folds one byte into the hash.
    pub fn write_u8(&mut self, b: u8) {
        self.write(&[b]);
    }

    /// Folds a `u64` (little-endian) into the hash.
    pub fn write_u64(&mut self, v: u64) {
        self.write(&v.to_le_bytes());
    }

    /// Folds a length-prefixed byte string into the hash, so `ab|c` and `a|bc` differ.
    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.write_u64(bytes.len() as u64);
        self.write(bytes);
    }

    /// The hash so far.
    pub const fn finish(&self) -> u64 {
        self.0
    }
}

/// Lets `write!` format straight into the hash, without an intermediate `String`.
impl fmt::Write for Fnv1a64 {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write(s.as_bytes());
        Ok(())
    }
}

/// A word-at-a-time 64-bit hash (multiply, xor-shift per 8 bytes; SplitMix64 to finish):
/// the tree digest's node hashes since snapshot format 2. FNV-1a takes a multiply per *byte*,
/// and hashing each changed node (its data included) was 5 % of a member's CPU under
/// create-many; this takes one per eight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Words64(u64);

impl Words64 {
    /// A hash starting from `seed` (a domain-separated basis).
    pub const fn new(seed: u64) -> Words64 {
        Words64(seed)
    }

    /// Folds one word into the hash.
    pub fn word(&mut self, w: u64) {
        let h = (self.0 ^ w).wrapping_mul(GOLDEN_GAMMA);
        self.0 = h ^ (h >> 32);
    }

    /// Folds a length-prefixed byte string into the hash, eight bytes (little-endian) per
    /// word, the last word zero-padded.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.word(bytes.len() as u64);
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.word(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(b));
        }
    }

    /// The hash so far, avalanched.
    pub const fn finish(&self) -> u64 {
        splitmix64(self.0)
    }
}

/// SplitMix64's output function: a bijective mix of 64 bits, for seeding and for deriving
/// values (session passwords) from a secret. `splitmix64(x + GOLDEN_GAMMA * k)` is the k-th
/// output of a SplitMix64 stream started at `x`.
pub const fn splitmix64(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SplitMix64's increment (the golden ratio in 64 bits).
pub const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_vectors() {
        // Reference values of FNV-1a 64 (from the FNV specification's test suite).
        assert_eq!(Fnv1a64::new().finish(), 0xcbf2_9ce4_8422_2325);
        let mut h = Fnv1a64::new();
        h.write(b"a");
        assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
        let mut h = Fnv1a64::new();
        h.write(b"foobar");
        assert_eq!(h.finish(), 0x8594_4171_f739_67e8);
    }

    /// Pinned outputs: node hashes are summed into digests kept in snapshots, so the
    /// function must never change without a new snapshot format.
    #[test]
    fn words64_pinned_vectors() {
        let of = |parts: &[&[u8]]| {
            let mut h = Words64::new(1);
            for p in parts {
                h.bytes(p);
            }
            h.finish()
        };
        assert_eq!(of(&[]), WORDS64_PINNED[0]);
        assert_eq!(of(&[b""]), WORDS64_PINNED[1]);
        assert_eq!(of(&[b"/a/b"]), WORDS64_PINNED[2]);
        assert_eq!(of(&[b"0123456789abcdef!"]), WORDS64_PINNED[3]);
        // Length-prefixed: where one string ends is part of the input.
        assert_ne!(of(&[b"ab", b"c"]), of(&[b"a", b"bc"]));
        // Zero padding does not make a short string equal to its padded form.
        assert_ne!(of(&[b"a"]), of(&[b"a\0"]));
    }

    const WORDS64_PINNED: [u64; 4] = [
        0x5692_161d_100b_05e5,
        0xfbf3_d070_40a8_e228,
        0x0474_b3c7_febe_1141,
        0xc38a_8128_1a64_1888,
    ];

    #[test]
    fn splitmix64_known_vectors() {
        // The first outputs of SplitMix64 seeded with 0 (the reference implementation).
        assert_eq!(splitmix64(GOLDEN_GAMMA), 0xE220_A839_7B1D_CDAF);
        assert_eq!(
            splitmix64(GOLDEN_GAMMA.wrapping_mul(2)),
            0x6E78_9E6A_A1B9_65F4
        );
    }
}
