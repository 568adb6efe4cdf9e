//! The rolling tree digest: the wrapping sum of per-node hashes (and per-session hashes),
//! updated in O(1) nodes per txn like ZooKeeper's `DigestCalculator`.
//!
//! A node's hash is FNV-1a 64 over its path, data, the deterministic persisted stat fields
//! and its ACL. Children are not hashed (each child contributes its own hash).

use super::znode::Znode;

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

struct Fnv(u64);

impl Fnv {
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 ^= u64::from(x);
            self.0 = self.0.wrapping_mul(PRIME);
        }
    }
    fn len_prefixed(&mut self, b: &[u8]) {
        self.bytes(&(b.len() as u64).to_le_bytes());
        self.bytes(b);
    }
    fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }
}

/// The hash of one node.
pub fn node_hash(path: &str, node: &Znode) -> u64 {
    let mut h = Fnv(OFFSET);
    h.len_prefixed(path.as_bytes());
    match &node.data {
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
    h.0 | 1
}

/// The hash of one session table entry.
pub fn session_hash(session_id: i64, timeout_ms: i32) -> u64 {
    let mut h = Fnv(OFFSET ^ 0x5e55);
    h.i64(session_id);
    h.i64(i64::from(timeout_ms));
    h.0
}
