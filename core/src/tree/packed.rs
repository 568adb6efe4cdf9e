//! A znode packed into one allocation: its path, stat, ACL index, child count and data.
//!
//! **Why.** At 100 k znodes of 100 B the tree's bookkeeping, not the data, dominated a
//! member's memory: a key allocation, a node allocation and a data allocation per znode,
//! each with its allocator header, a 68-byte stat padded to 72, a 16-byte ACL pointer, and
//! a 24-byte map slot in leaves that sequential inserts leave half full (docs/benchmarks.md).
//! A packed node is one boxed byte string that starts with its path, held in the tree's
//! node table (`node_set`): one allocation and a 16-byte slot per znode. The stat is varint-encoded with the zxids and times that usually
//! repeat stored as deltas (a fresh node's mzxid, pzxid and mtime cost a byte each), so a
//! typical header is ~25 bytes instead of ~110.
//!
//! The node's digest hash (`digest::node_hash`) is kept beside it: the rolling digest
//! subtracts a node's old hash on every change, and hashing ~200 bytes twice per write was
//! 5 % of a member's CPU under write load; 8 bytes per node buy half of that back.
//!
//! **Layout.** `varint(path_len) path hash(8, LE) czxid Δmzxid Δpzxid ctime Δmtime version
//! cversion aversion owner acl_index child_count tag data`, every number but the hash a
//! zigzag LEB128 varint,
//! Δ relative to czxid/ctime (wrapping, so any i64 round-trips), `tag` 0 for jute-null data
//! (nothing follows) and 1 for data (the rest of the bytes).
//!
//! Packed bytes are only ever built by [`Packed::new`]; reading them cannot fail on bytes it
//! built. A truncated blob (a bug, never input) reads as zeros rather than panicking.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::znode::StatPersisted;

/// The fields of a node other than its path, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fields<'a> {
    /// The data (`None` = jute null).
    pub data: Option<&'a [u8]>,
    /// Index of the node's ACL list in the tree's pool.
    pub acl: u32,
    /// Persisted stat.
    pub stat: StatPersisted,
    /// Number of children.
    pub child_count: u32,
}

/// One znode in one allocation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Packed(Box<[u8]>);

impl Packed {
    /// Packs a node whose digest hash is `hash`.
    pub(crate) fn new(path: &str, f: &Fields<'_>, hash: u64) -> Packed {
        let data_len = f.data.map_or(0, <[u8]>::len);
        let mut b = Vec::with_capacity(path.len() + data_len + 40);
        put_u64(&mut b, path.len() as u64);
        b.extend_from_slice(path.as_bytes());
        b.extend_from_slice(&hash.to_le_bytes());
        let s = &f.stat;
        put_i64(&mut b, s.czxid);
        put_i64(&mut b, s.mzxid.wrapping_sub(s.czxid));
        put_i64(&mut b, s.pzxid.wrapping_sub(s.czxid));
        put_i64(&mut b, s.ctime);
        put_i64(&mut b, s.mtime.wrapping_sub(s.ctime));
        put_i64(&mut b, i64::from(s.version));
        put_i64(&mut b, i64::from(s.cversion));
        put_i64(&mut b, i64::from(s.aversion));
        put_i64(&mut b, s.ephemeral_owner);
        put_u64(&mut b, u64::from(f.acl));
        put_u64(&mut b, u64::from(f.child_count));
        match f.data {
            None => b.push(0),
            Some(d) => {
                b.push(1);
                b.extend_from_slice(d);
            }
        }
        Packed(b.into_boxed_slice())
    }

    /// Bytes packed (the slice's length: stored beside the pointer, so no cache miss).
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The path's bytes.
    pub(crate) fn path_bytes(&self) -> &[u8] {
        let mut r = Reader(&self.0);
        let len = r.u64() as usize;
        r.take(len)
    }

    /// The node's digest hash, as packed.
    pub(crate) fn hash(&self) -> u64 {
        let mut r = Reader(&self.0);
        let len = r.u64() as usize;
        r.take(len);
        let mut h = [0u8; 8];
        let b = r.take(8);
        h[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(h)
    }

    /// The path (always UTF-8: it was a validated `&str` when packed).
    pub(crate) fn path(&self) -> &str {
        core::str::from_utf8(self.path_bytes()).unwrap_or("")
    }

    /// The path and the other fields.
    pub(crate) fn unpack(&self) -> (&str, Fields<'_>) {
        let mut r = Reader(&self.0);
        let len = r.u64() as usize;
        let path = core::str::from_utf8(r.take(len)).unwrap_or("");
        r.take(8);
        let czxid = r.i64();
        let mzxid = czxid.wrapping_add(r.i64());
        let pzxid = czxid.wrapping_add(r.i64());
        let ctime = r.i64();
        let mtime = ctime.wrapping_add(r.i64());
        let stat = StatPersisted {
            czxid,
            mzxid,
            pzxid,
            ctime,
            mtime,
            version: r.i32(),
            cversion: r.i32(),
            aversion: r.i32(),
            ephemeral_owner: r.i64(),
        };
        let acl = u32::try_from(r.u64()).unwrap_or(u32::MAX);
        let child_count = u32::try_from(r.u64()).unwrap_or(u32::MAX);
        let data = match r.take(1) {
            [1] => Some(r.0),
            _ => None,
        };
        let fields = Fields {
            data,
            acl,
            stat,
            child_count,
        };
        (path, fields)
    }
}

impl core::fmt::Debug for Packed {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (path, fields) = self.unpack();
        f.debug_struct("Packed")
            .field("path", &path)
            .field("fields", &fields)
            .finish()
    }
}

fn put_u64(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

fn put_i64(b: &mut Vec<u8>, v: i64) {
    put_u64(b, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads varints and slices off the front; past the end it yields zeros and empty slices.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some((&byte, rest)) = self.0.split_first() else {
                return v;
            };
            self.0 = rest;
            v |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        v
    }

    fn i64(&mut self) -> i64 {
        let u = self.u64();
        ((u >> 1) as i64) ^ -((u & 1) as i64)
    }

    fn i32(&mut self) -> i32 {
        self.i64() as i32
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.0.len());
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        head
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stat(v: [i64; 6], w: [i32; 3]) -> StatPersisted {
        StatPersisted {
            czxid: v[0],
            mzxid: v[1],
            ctime: v[2],
            mtime: v[3],
            ephemeral_owner: v[4],
            pzxid: v[5],
            version: w[0],
            cversion: w[1],
            aversion: w[2],
        }
    }

    #[test]
    fn a_fresh_node_packs_small() {
        let zxid = (7i64 << 32) | 12_345;
        let s = StatPersisted::created(zxid, 1_764_000_000_000, 0);
        let data = [0xAB; 100];
        let f = Fields {
            data: Some(&data),
            acl: 0,
            stat: s,
            child_count: 0,
        };
        let p = Packed::new("/bench/n0000012345", &f, 0xFEED);
        assert_eq!(p.unpack(), ("/bench/n0000012345", f));
        assert_eq!(p.hash(), 0xFEED);
        // varint(len) 1 + path 18 + hash 8 + czxid 6 (36 bits zigzagged) + Δmzxid 1
        // + Δpzxid 1 + ctime 6 + Δmtime 1 + 3 versions + owner 1 + acl 1 + children 1
        // + tag 1 = 49, then the data.
        assert_eq!(p.len(), 49 + 100);
    }

    #[test]
    fn null_and_empty_data_differ() {
        let s = StatPersisted::default();
        let null = Fields {
            data: None,
            acl: 3,
            stat: s,
            child_count: 2,
        };
        let empty = Fields {
            data: Some(&[]),
            ..null
        };
        assert_eq!(Packed::new("/a", &null, 1).unpack().1, null);
        assert_eq!(Packed::new("/a", &empty, 2).unpack().1, empty);
    }

    #[test]
    fn path_bytes_are_the_packed_path() {
        let f = Fields {
            data: Some(b"d"),
            acl: 0,
            stat: StatPersisted::default(),
            child_count: 0,
        };
        for p in ["/", "/a", "/a/b-c", &"/x".repeat(200)] {
            let packed = Packed::new(p, &f, 7);
            assert_eq!(packed.path_bytes(), p.as_bytes());
            assert_eq!(packed.path(), p);
            assert_eq!(packed.hash(), 7);
        }
    }

    #[test]
    fn a_truncated_blob_reads_as_zeros_without_panicking() {
        let f = Fields {
            data: Some(b"xyz"),
            acl: 9,
            stat: stat([i64::MAX, 1, 2, 3, 4, 5], [6, 7, 8]),
            child_count: 1,
        };
        let p = Packed::new("/long/path", &f, u64::MAX);
        for cut in 0..p.0.len() {
            let short = Packed(p.0[..cut].into());
            let _ = short.unpack();
            let _ = short.path();
            let _ = short.hash();
        }
    }

    proptest! {
        #[test]
        fn every_node_round_trips(
            path in "/[a-z0-9/._-]{0,300}",
            v in any::<[i64; 6]>(),
            w in any::<[i32; 3]>(),
            acl in any::<u32>(),
            child_count in any::<u32>(),
            hash in any::<u64>(),
            data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
        ) {
            let f = Fields { data: data.as_deref(), acl, stat: stat(v, w), child_count };
            let p = Packed::new(&path, &f, hash);
            prop_assert_eq!(p.unpack(), (path.as_str(), f));
            prop_assert_eq!(p.hash(), hash);
            prop_assert_eq!(p.path_bytes(), path.as_bytes());
        }
    }
}
