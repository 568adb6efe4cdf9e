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

/// How a hash takes a node's fields: both node hashes walk the same fields in the same order.
trait FieldSink {
    fn string(&mut self, b: &[u8]);
    fn tag(&mut self, t: u8);
    fn int(&mut self, v: i64);
}

impl FieldSink for Words64 {
    fn string(&mut self, b: &[u8]) {
        self.bytes(b);
    }
    fn tag(&mut self, t: u8) {
        self.word(u64::from(t));
    }
    fn int(&mut self, v: i64) {
        self.word(v as u64);
    }
}

impl FieldSink for Fnv1a64 {
    fn string(&mut self, b: &[u8]) {
        self.write_bytes(b);
    }
    fn tag(&mut self, t: u8) {
        self.write(&[t]);
    }
    fn int(&mut self, v: i64) {
        self.write_u64(v as u64);
    }
}

/// Feeds a node's hashed fields: path, data (tagged: null or bytes), the deterministic
/// stat fields, the ACL.
fn fields(h: &mut impl FieldSink, path: &str, node: NodeRef<'_>) {
    h.string(path.as_bytes());
    match node.data {
        None => h.tag(0),
        Some(d) => {
            h.tag(1);
            h.string(d);
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
        h.int(v);
    }
    for v in [s.version, s.cversion, s.aversion] {
        h.int(i64::from(v));
    }
    h.int(node.acl.len() as i64);
    for a in node.acl.iter() {
        h.int(i64::from(a.perms));
        h.string(a.id.scheme.as_bytes());
        h.string(a.id.id.as_bytes());
    }
}

/// The hash of one node. Never 0, so an added node always moves the digest.
pub(crate) fn node_hash(path: &str, node: NodeRef<'_>) -> u64 {
    let mut h = Words64::new(NODE_BASIS);
    fields(&mut h, path, node);
    h.finish() | 1
}

/// The hash of one node in snapshot format 1 (FNV-1a 64).
pub(crate) fn legacy_node_hash(path: &str, node: NodeRef<'_>) -> u64 {
    let mut h = Fnv1a64::new();
    fields(&mut h, path, node);
    h.finish() | 1
}

/// The hash of one session table entry.
pub(crate) fn session_hash(session_id: i64, timeout_ms: i32) -> u64 {
    let mut h = Fnv1a64::from_state(crate::hash::OFFSET_BASIS ^ 0x5e55);
    h.int(session_id);
    h.int(i64::from(timeout_ms));
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{Acl, Id};
    use crate::tree::znode::StatPersisted;
    use alloc::sync::Arc;

    /// Pinned: format-1 snapshots on disk were summed with exactly this function, and
    /// format-2 digests with the new one; neither may drift.
    #[test]
    fn node_hashes_are_pinned() {
        let acl: Arc<[Acl]> = Arc::from([Acl {
            perms: 31,
            id: Id::anyone(),
        }]);
        let stat = StatPersisted {
            czxid: 0x1_0000_0002,
            mzxid: 0x1_0000_0005,
            pzxid: 0x1_0000_0002,
            ctime: 1_764_800_000_000,
            mtime: 1_764_800_000_500,
            version: 3,
            cversion: 0,
            aversion: 1,
            ephemeral_owner: 0,
        };
        let node = |data| NodeRef {
            data,
            acl: &acl,
            stat,
            child_count: 0,
        };
        let pinned = [
            legacy_node_hash("/a/b", node(Some(b"hello"))),
            legacy_node_hash("/a/b", node(None)),
            node_hash("/a/b", node(Some(b"hello"))),
            node_hash("/a/b", node(None)),
            session_hash(0x1234, 30_000),
        ];
        assert_eq!(pinned, PINNED);
    }

    /// Computed by the FNV code of format 1 before the fields were shared (and checked
    /// equal after).
    const PINNED: [u64; 5] = [
        0x8648_6c14_5761_a1b1,
        0x0033_5c5f_572f_b97b,
        0x1237_13b6_a327_2a7b,
        0x2e2f_fadd_09bd_5737,
        0x8e7e_7796_2930_58d9,
    ];
}
