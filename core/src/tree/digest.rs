//! The rolling tree digest: the wrapping sum of per-node hashes (and per-session hashes),
//! updated in O(1) nodes per txn like ZooKeeper's `DigestCalculator`.
//!
//! A node's hash covers its path, data, the deterministic persisted stat fields and its ACL;
//! children are not hashed (each child contributes its own hash). Since snapshot format 2 it
//! is [`Words64`] over those fields; format 1's digests used FNV-1a 64 over the same fields
//! ([`legacy_node_hash`], kept to verify those snapshots when they are restored).

use super::znode::NodeRef;
use crate::hash::{Fnv1a64, Words64};

/// The basis of node hashes (a domain separator).
const NODE_BASIS: u64 = 0x6e6f_6465_6861_7368;

/// The hash of one node.
pub(crate) fn node_hash(path: &str, node: NodeRef<'_>) -> u64 {
    let mut h = Words64::new(NODE_BASIS);
    h.bytes(path.as_bytes());
    match node.data {
        None => h.word(0),
        Some(d) => {
            h.word(1);
            h.bytes(d);
        }
    }
    let s = &node.stat;
    for v in [
        s.czxid,
        s.mzxid,
        s.ctime,
        s.mtime,
        s.ephemeral_owner,
        s.pzxid,
    ] {
        h.word(v as u64);
    }
    for v in [s.version, s.cversion, s.aversion] {
        h.word(i64::from(v) as u64);
    }
    h.word(node.acl.len() as u64);
    for a in node.acl.iter() {
        h.word(i64::from(a.perms) as u64);
        h.bytes(a.id.scheme.as_bytes());
        h.bytes(a.id.id.as_bytes());
    }
    // Never 0, so an added node always moves the digest.
    h.finish() | 1
}

/// FNV-1a with the digest's field encodings.
struct Fnv(Fnv1a64);

impl Fnv {
    fn bytes(&mut self, b: &[u8]) {
        self.0.write(b);
    }
    fn len_prefixed(&mut self, b: &[u8]) {
        self.0.write_bytes(b);
    }
    fn i64(&mut self, v: i64) {
        self.0.write_u64(v as u64);
    }
}

/// The hash of one node in snapshot format 1 (FNV-1a 64).
pub(crate) fn legacy_node_hash(path: &str, node: NodeRef<'_>) -> u64 {
    let mut h = Fnv(Fnv1a64::new());
    h.len_prefixed(path.as_bytes());
    match node.data {
        None => h.bytes(&[0]),
        Some(d) => {
            h.bytes(&[1]);
            h.len_prefixed(d);
        }
    }
    let s = &node.stat;
    for v in [
        s.czxid,
        s.mzxid,
        s.ctime,
        s.mtime,
        s.ephemeral_owner,
        s.pzxid,
    ] {
        h.i64(v);
    }
    for v in [s.version, s.cversion, s.aversion] {
        h.i64(i64::from(v));
    }
    h.i64(node.acl.len() as i64);
    for a in node.acl.iter() {
        h.i64(i64::from(a.perms));
        h.len_prefixed(a.id.scheme.as_bytes());
        h.len_prefixed(a.id.id.as_bytes());
    }
    // Never 0, so an added node always moves the digest.
    h.0.finish() | 1
}

/// The hash of one session table entry.
pub(crate) fn session_hash(session_id: i64, timeout_ms: i32) -> u64 {
    let mut h = Fnv(Fnv1a64::from_state(crate::hash::OFFSET_BASIS ^ 0x5e55));
    h.i64(session_id);
    h.i64(i64::from(timeout_ms));
    h.0.finish()
}
