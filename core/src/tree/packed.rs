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

/// What [`Packed::edit`] writes besides the hash and the data.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edited {
    /// Persisted stat.
    pub stat: StatPersisted,
    /// Index of the node's ACL list in the tree's pool.
    pub acl: u32,
    /// Number of children.
    pub child_count: u32,
}

/// The data of an edited node: as it was, or new (`None` = jute null).
#[derive(Clone, Copy, Debug)]
pub(crate) enum DataEdit<'a> {
    /// The data stays.
    Keep,
    /// The data becomes this.
    Set(Option<&'a [u8]>),
}

/// Varints between a node's hash and its tag: nine stat fields, the ACL index, the child count.
const TAIL_VARINTS: usize = 11;

/// Bytes a varint of a u64 can take.
const VARINT_MAX: usize = 10;

/// Varints written on the stack (at most [`TAIL_VARINTS`] + 1 and the hash).
struct Varints {
    buf: [u8; 8 + (TAIL_VARINTS + 1) * VARINT_MAX],
    len: usize,
}

impl Default for Varints {
    fn default() -> Varints {
        Varints {
            buf: [0; 8 + (TAIL_VARINTS + 1) * VARINT_MAX],
            len: 0,
        }
    }
}

impl Varints {
    fn u64(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.push(v as u8);
    }

    fn i64(&mut self, v: i64) {
        self.u64(((v << 1) ^ (v >> 63)) as u64);
    }

    /// Never past the end: the buffer holds the most the callers write.
    fn push(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// What a node packs between its path and its data: hash, stat, ACL index, child count, tag.
struct Tail(Varints);

impl Tail {
    fn new(s: &StatPersisted, acl: u32, child_count: u32, has_data: bool, hash: u64) -> Tail {
        let mut t = Varints::default();
        t.buf[..8].copy_from_slice(&hash.to_le_bytes());
        t.len = 8;
        t.i64(s.czxid);
        t.i64(s.mzxid.wrapping_sub(s.czxid));
        t.i64(s.pzxid.wrapping_sub(s.czxid));
        t.i64(s.ctime);
        t.i64(s.mtime.wrapping_sub(s.ctime));
        t.i64(i64::from(s.version));
        t.i64(i64::from(s.cversion));
        t.i64(i64::from(s.aversion));
        t.i64(s.ephemeral_owner);
        t.u64(u64::from(acl));
        t.u64(u64::from(child_count));
        t.push(u8::from(has_data));
        Tail(t)
    }
}

/// One znode in one allocation.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Packed(Box<[u8]>);

impl Packed {
    /// Packs a node whose digest hash is `hash`, in one allocation of exactly its size.
    pub(crate) fn new(path: &str, f: &Fields<'_>, hash: u64) -> Packed {
        let tail = Tail::new(&f.stat, f.acl, f.child_count, f.data.is_some(), hash);
        let data = f.data.unwrap_or_default();
        let mut prefix = Varints::default();
        prefix.u64(path.len() as u64);
        let len = prefix.len + path.len() + tail.0.len + data.len();
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(prefix.bytes());
        b.extend_from_slice(path.as_bytes());
        b.extend_from_slice(tail.0.bytes());
        b.extend_from_slice(data);
        Packed(b.into_boxed_slice())
    }

    /// Changes the node's stat, ACL index, child count, hash and (with [`DataEdit::Set`]) data,
    /// in place when the packed size stays the same — a parent's cversion bump under a create,
    /// a setData of same-sized data: no allocation, no second lookup — else in a new one.
    pub(crate) fn edit(&mut self, f: &Edited, hash: u64, data: DataEdit<'_>) {
        let (tail_at, data_at) = self.offsets();
        let has_data = match data {
            DataEdit::Keep => self.0.get(data_at.wrapping_sub(1)) == Some(&1),
            DataEdit::Set(d) => d.is_some(),
        };
        let tail = Tail::new(&f.stat, f.acl, f.child_count, has_data, hash);
        let new_data_len = match data {
            DataEdit::Keep => self.0.len() - data_at,
            DataEdit::Set(d) => d.map_or(0, <[u8]>::len),
        };
        let len = tail_at + tail.0.len + new_data_len;
        if len == self.0.len() {
            let (head, rest) = self.0[tail_at..].split_at_mut(tail.0.len);
            head.copy_from_slice(tail.0.bytes());
            if let DataEdit::Set(Some(d)) = data {
                rest.copy_from_slice(d);
            }
            return;
        }
        let mut b = Vec::with_capacity(len);
        b.extend_from_slice(&self.0[..tail_at]);
        b.extend_from_slice(tail.0.bytes());
        match data {
            DataEdit::Keep => b.extend_from_slice(&self.0[data_at..]),
            DataEdit::Set(d) => b.extend_from_slice(d.unwrap_or_default()),
        }
        self.0 = b.into_boxed_slice();
    }

    /// Where the tail (hash, stat, …, tag) starts and where the data starts.
    fn offsets(&self) -> (usize, usize) {
        let mut r = Reader(&self.0);
        let len = r.u64() as usize;
        r.take(len);
        let tail_at = self.0.len() - r.0.len();
        r.take(8);
        for _ in 0..TAIL_VARINTS {
            r.u64();
        }
        r.take(1);
        (tail_at, self.0.len() - r.0.len())
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
        hash_bytes(&self.0)
    }

    /// The path (always UTF-8: it was a validated `&str` when packed).
    pub(crate) fn path(&self) -> &str {
        core::str::from_utf8(self.path_bytes()).unwrap_or("")
    }

    /// The packed bytes, as a snapshot stores them.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The path and fields of bytes read back from a snapshot, if they are exactly what
    /// [`Packed::new`] builds for them: a truncated, padded or otherwise altered record is
    /// `None` (unpacking never fails, so packing again and comparing is the check).
    pub(crate) fn parse(bytes: &[u8]) -> Option<(&str, Fields<'_>)> {
        let mut r = Reader(bytes);
        let len = usize::try_from(r.u64()).ok()?;
        core::str::from_utf8(r.0.get(..len)?).ok()?;
        let (path, f) = unpack_bytes(bytes);
        let again = Packed::new(path, &f, hash_bytes(bytes));
        (*again.0 == *bytes).then_some((path, f))
    }

    /// The path and the other fields.
    pub(crate) fn unpack(&self) -> (&str, Fields<'_>) {
        unpack_bytes(&self.0)
    }
}

/// [`Packed::unpack`] of bytes [`Packed::new`] built (anything else reads as some fields,
/// never a panic).
fn unpack_bytes(bytes: &[u8]) -> (&str, Fields<'_>) {
    let mut r = Reader(bytes);
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

/// The digest hash packed in `bytes` (zeros past the end).
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut r = Reader(bytes);
    let len = r.u64() as usize;
    r.take(len);
    let mut h = [0u8; 8];
    let b = r.take(8);
    h[..b.len()].copy_from_slice(b);
    u64::from_le_bytes(h)
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

    /// A parent's cversion bump keeps its size, so the edit writes in place (same allocation);
    /// a child count crossing 127 grows a varint, so the node moves — and both read back as
    /// a freshly packed node would.
    #[test]
    fn an_edit_of_the_same_size_stays_in_place_and_a_longer_one_moves() {
        let s = StatPersisted::created(5 << 32, 1_764_000_000_000, 0);
        let f = Fields {
            data: Some(b"parent data"),
            acl: 1,
            stat: s,
            child_count: 3,
        };
        let mut p = Packed::new("/bench/c", &f, 11);
        let at = p.0.as_ptr();
        let mut e = Edited {
            stat: StatPersisted {
                cversion: 4,
                pzxid: (5 << 32) + 9,
                ..s
            },
            acl: 1,
            child_count: 4,
        };
        p.edit(&e, 12, DataEdit::Keep);
        assert_eq!(p.0.as_ptr(), at, "same size: edited in place");
        let want = Fields {
            stat: e.stat,
            child_count: 4,
            ..f
        };
        assert_eq!(p, Packed::new("/bench/c", &want, 12));
        e.child_count = 128;
        p.edit(&e, 13, DataEdit::Keep);
        let want = Fields {
            child_count: 128,
            ..want
        };
        assert_eq!(p, Packed::new("/bench/c", &want, 13));
        p.edit(&e, 14, DataEdit::Set(None));
        let want = Fields { data: None, ..want };
        assert_eq!(p, Packed::new("/bench/c", &want, 14));
        p.edit(&e, 15, DataEdit::Keep);
        assert_eq!(p.unpack().1.data, None, "null data stays null");
    }

    proptest! {
        /// Whatever a node held and whatever the edit, the result is the node packed afresh.
        #[test]
        fn an_edit_packs_what_new_would(
            path in "/[a-z0-9/._-]{0,40}",
            v in any::<[i64; 6]>(),
            w in any::<[i32; 3]>(),
            v2 in any::<[i64; 6]>(),
            w2 in any::<[i32; 3]>(),
            (acl, acl2) in (any::<u32>(), any::<u32>()),
            (children, children2) in (any::<u32>(), any::<u32>()),
            data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            new_data in proptest::option::of(proptest::option::of(
                proptest::collection::vec(any::<u8>(), 0..40))),
        ) {
            let f = Fields { data: data.as_deref(), acl, stat: stat(v, w), child_count: children };
            let mut p = Packed::new(&path, &f, 1);
            let e = Edited { stat: stat(v2, w2), acl: acl2, child_count: children2 };
            let (edit, after) = match &new_data {
                None => (DataEdit::Keep, data.as_deref()),
                Some(d) => (DataEdit::Set(d.as_deref()), d.as_deref()),
            };
            p.edit(&e, 2, edit);
            let want = Fields { data: after, acl: acl2, stat: e.stat, child_count: children2 };
            prop_assert_eq!(p, Packed::new(&path, &want, 2));
        }

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
