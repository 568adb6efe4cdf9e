//! Snapshots of the whole tree (postcard): sessions, the interned ACL table, the nodes (in
//! the table's order: restore takes any order and checks every node has its parent), and
//! the digest to verify on restore. Serialising and rebuilding are loops over the flat node
//! map: depth never touches the stack.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize, Serializer};

use super::data_tree::DataTree;
use super::path;
use super::znode::{StatPersisted, Znode};
use crate::client::{Acl, Id};
use crate::ids::Zxid;

/// Format 2: node hashes (and so the digest) are `Words64` (D35). Format 1 (FNV-1a node
/// hashes) is still read: its digest is checked with the old hash.
const SNAPSHOT_VERSION: u8 = 2;
/// The oldest format restore reads.
const OLDEST_SNAPSHOT_VERSION: u8 = 1;

/// What a node's snapshot record may hold beyond its path and data: three length varints
/// and tags (≤ 16 bytes), the ACL index (≤ 5) and nine stat fields (≤ 10 each).
const NODE_RECORD_OVERHEAD_BYTES: usize = 128;

/// A snapshot's layout; `N` is the node sequence (the tree itself, or a list in tests).
#[derive(Serialize)]
struct SnapshotOut<'a, N> {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
    acls: Vec<Vec<(i32, &'a str, &'a str)>>,
    nodes: N,
}

/// The nodes, serialised straight from the tree: no list of them is built first.
struct NodesOut<'a> {
    tree: &'a DataTree,
    acl_index: BTreeMap<&'a [Acl], u32>,
}

impl Serialize for NodesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.tree.nodes().map(|(p, n)| NodeOut {
            path: p,
            data: n.data,
            acl: self.acl_index.get(&**n.acl).copied().unwrap_or(u32::MAX),
            stat: n.stat,
        }))
    }
}

#[derive(Serialize)]
struct NodeOut<'a> {
    path: &'a str,
    #[serde(serialize_with = "crate::codec::bytes::option::serialize")]
    data: Option<&'a [u8]>,
    acl: u32,
    stat: StatPersisted,
}

#[derive(Deserialize)]
struct SnapshotIn {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
    acls: Vec<Vec<(i32, String, String)>>,
    nodes: Vec<NodeIn>,
}

#[derive(Deserialize)]
struct NodeIn {
    path: String,
    #[serde(deserialize_with = "crate::codec::bytes::option::deserialize")]
    data: Option<Vec<u8>>,
    acl: u32,
    stat: StatPersisted,
}

impl DataTree {
    /// Serialises the whole tree.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        // The pool's slots may have holes; the snapshot's table is dense, in list order.
        let mut index: BTreeMap<&[Acl], u32> = BTreeMap::new();
        let mut acls = Vec::new();
        for (_, a) in self.acl_pool.iter() {
            index.insert(a, acls.len() as u32);
            acls.push(
                a.iter()
                    .map(|e| (e.perms, e.id.scheme.as_str(), e.id.id.as_str()))
                    .collect(),
            );
        }
        let nodes = NodesOut {
            tree: self,
            acl_index: index,
        };
        let snap = SnapshotOut {
            version: SNAPSHOT_VERSION,
            last_zxid: self.last_zxid,
            digest: self.digest,
            sessions: self.sessions.iter().map(|(&s, &t)| (s, t)).collect(),
            acls,
            nodes,
        };
        // Sized first: growing a Vec of the whole tree by doubling would copy it and hold
        // up to three times its size at the peak. An upper bound, not the exact size: that
        // took a pass over every node (a cache miss each) before the real one. The buffer is
        // mapped (over the allocator's mmap threshold), so the bound's slack is never
        // touched and never resident.
        postcard::to_extend(&snap, Vec::with_capacity(self.snapshot_size_bound()))
            .unwrap_or_default()
    }

    /// At least the encoded size of this tree's snapshot, from the table alone: a node's
    /// record is its path and data (which its packed bytes hold) plus at most
    /// [`NODE_RECORD_OVERHEAD_BYTES`].
    fn snapshot_size_bound(&self) -> usize {
        let acls: usize = self
            .acl_pool
            .iter()
            .map(|(_, a)| {
                10 + a
                    .iter()
                    .map(|e| 30 + e.id.scheme.len() + e.id.id.len())
                    .sum::<usize>()
            })
            .sum();
        let nodes = self
            .packed_bytes()
            .saturating_add(self.node_count().saturating_mul(NODE_RECORD_OVERHEAD_BYTES));
        64usize
            .saturating_add(self.sessions.len().saturating_mul(32))
            .saturating_add(acls)
            .saturating_add(nodes)
    }

    /// Rebuilds a tree from [`DataTree::encode_snapshot`] bytes, checking structure and digest.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<DataTree, String> {
        DataTree::decode_snapshot_keyed(bytes, DataTree::new().path_key_seed())
    }

    /// [`DataTree::decode_snapshot`] into a tree whose path keys use `seed`.
    pub(crate) fn decode_snapshot_keyed(bytes: &[u8], seed: u64) -> Result<DataTree, String> {
        let snap: SnapshotIn =
            postcard::from_bytes(bytes).map_err(|e| alloc::format!("tree snapshot: {e}"))?;
        if !(OLDEST_SNAPSHOT_VERSION..=SNAPSHOT_VERSION).contains(&snap.version) {
            return Err(alloc::format!("tree snapshot: version {}", snap.version));
        }
        let mut t = DataTree::empty();
        t.reseed(seed);
        let acls: Vec<Arc<[Acl]>> = snap
            .acls
            .into_iter()
            .map(|list| {
                let list: Vec<Acl> = list
                    .into_iter()
                    .map(|(perms, scheme, id)| Acl {
                        perms,
                        id: Id { scheme, id },
                    })
                    .collect();
                t.intern_acl(&list)
            })
            .collect();
        // Child counts first, so each node is packed once with its own: nodes come in any
        // order (path order before 2026-12; table order since).
        let mut kids: BTreeMap<&str, u32> = BTreeMap::new();
        for n in &snap.nodes {
            if let Some(parent) = path::parent(&n.path) {
                let k = kids.entry(parent).or_default();
                *k = k.saturating_add(1);
            }
        }
        let kids: BTreeMap<String, u32> = kids.into_iter().map(|(p, k)| (p.into(), k)).collect();
        for n in snap.nodes {
            path::validate_path(&n.path)
                .map_err(|_| alloc::format!("tree snapshot: bad path {:?}", n.path))?;
            let acl = acls
                .get(n.acl as usize)
                .cloned()
                .ok_or("tree snapshot: bad ACL index")?;
            if t.contains(&n.path) {
                return Err(alloc::format!("tree snapshot: duplicate {:?}", n.path));
            }
            let mut node = Znode::new(n.data.map(Vec::into_boxed_slice), acl, n.stat);
            node.child_count = kids.get(n.path.as_str()).copied().unwrap_or(0);
            t.insert_node(&n.path, &node);
        }
        if !t.contains(path::ROOT) {
            return Err("tree snapshot: no root".into());
        }
        if let Some((orphan, _)) = t
            .nodes()
            .find(|(p, _)| path::parent(p).is_some_and(|parent| !t.contains(parent)))
        {
            return Err(alloc::format!("tree snapshot: orphan {orphan:?}"));
        }
        for (s, timeout) in snap.sessions {
            t.put_session(s, timeout);
        }
        t.last_zxid = snap.last_zxid;
        let digest = if snap.version == 1 {
            legacy_digest(&t)
        } else {
            t.digest
        };
        if digest != snap.digest {
            return Err("tree snapshot: digest mismatch".into());
        }
        Ok(t)
    }
}

/// The digest of `t` as snapshot format 1 computed it (FNV-1a node hashes).
fn legacy_digest(t: &DataTree) -> u64 {
    let nodes = t.nodes().fold(0u64, |d, (p, n)| {
        d.wrapping_add(super::digest::legacy_node_hash(p, n))
    });
    t.sessions().iter().fold(nodes, |d, (&s, &timeout)| {
        d.wrapping_add(super::digest::session_hash(s, timeout))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::digest::node_hash;
    use crate::tree::znode::NodeRef;

    fn raw(paths: &[&'static str]) -> Vec<u8> {
        raw_in(SNAPSHOT_VERSION, paths)
    }

    fn raw_in(version: u8, paths: &[&'static str]) -> Vec<u8> {
        let acl: Arc<[Acl]> = Arc::from([Acl::open_unsafe()]);
        let stat = StatPersisted::default();
        let mut digest = 0u64;
        let mut nodes = Vec::new();
        for &p in paths {
            let kids = paths.iter().filter(|c| path::parent(c) == Some(p)).count() as u32;
            let view = NodeRef {
                data: Some(b"d"),
                acl: &acl,
                stat,
                child_count: kids,
            };
            let hash = if version == 1 {
                crate::tree::digest::legacy_node_hash(p, view)
            } else {
                node_hash(p, view)
            };
            digest = digest.wrapping_add(hash);
            nodes.push(NodeOut {
                path: p,
                data: Some(b"d"),
                acl: 0,
                stat,
            });
        }
        // The nodes in the order given.
        let snap = SnapshotOut {
            version,
            last_zxid: Zxid::ZERO,
            digest,
            sessions: Vec::new(),
            acls: alloc::vec![alloc::vec![(31, "world", "anyone")]],
            nodes,
        };
        postcard::to_allocvec(&snap).unwrap()
    }

    /// Snapshots are written in the node table's order: children may come before their
    /// parents, and restore must take them.
    #[test]
    fn restore_takes_children_before_parents() {
        let t = DataTree::decode_snapshot(&raw(&["/a/b/c", "/a", "/", "/a/b"])).unwrap();
        assert_eq!(t.children("/a"), ["b"]);
        assert_eq!(t.node("/a/b").map(|n| n.num_children()), Some(1));
        assert_eq!(t.digest(), t.recompute_digest());
    }

    /// Snapshots of format 1 (FNV-1a node hashes) still restore, their digest checked with
    /// the old hash, into a tree whose digest is the new one; a format-1 snapshot whose
    /// digest is wrong, or a format from the future, is refused.
    #[test]
    fn a_format_1_snapshot_restores_under_the_new_digest() {
        let paths = ["/", "/a", "/a/b", "/c"];
        let t = DataTree::decode_snapshot(&raw_in(1, &paths)).unwrap();
        assert_eq!(t.digest(), t.recompute_digest());
        assert_ne!(t.digest(), legacy_digest(&t));
        assert_eq!(
            crate::tree::test_util::dump(&t),
            crate::tree::test_util::dump(&DataTree::decode_snapshot(&raw(&paths)).unwrap())
        );
        // Format 2 bytes claiming format 1: the digest does not check.
        let mut wrong = raw(&paths);
        wrong[0] = 1;
        assert!(DataTree::decode_snapshot(&wrong)
            .unwrap_err()
            .contains("digest mismatch"));
        let mut future = raw(&paths);
        future[0] = SNAPSHOT_VERSION + 1;
        assert!(DataTree::decode_snapshot(&future)
            .unwrap_err()
            .contains("version"));
    }

    #[test]
    fn restore_refuses_an_orphan_in_any_position() {
        for order in [
            ["/", "/a/b", "/c"],
            ["/a/b", "/", "/c"],
            ["/c", "/", "/a/b"],
        ] {
            let err = DataTree::decode_snapshot(&raw(&order)).unwrap_err();
            assert!(err.contains("orphan \"/a/b\""), "{err}");
        }
        assert!(DataTree::decode_snapshot(&raw(&["/a"]))
            .unwrap_err()
            .contains("no root"));
    }

    #[test]
    fn restore_refuses_a_duplicate() {
        let err = DataTree::decode_snapshot(&raw(&["/", "/a", "/a"])).unwrap_err();
        assert!(err.contains("duplicate"), "{err}");
    }

    /// The host's entropy keys the table; a restore keeps the key and the content is the
    /// same under any key.
    #[test]
    fn reseeding_keeps_the_tree_and_restore_keeps_the_seed() {
        use crate::zab::ReplicatedState;
        let mut t = DataTree::new();
        ReplicatedState::seed(&mut t, 0x1234);
        assert_eq!(t.path_key_seed(), 0x1234);
        assert_eq!(
            crate::tree::test_util::dump(&t),
            crate::tree::test_util::dump(&DataTree::new())
        );
        let bytes = DataTree::new().encode_snapshot();
        t.restore(&bytes).unwrap();
        assert_eq!(t.path_key_seed(), 0x1234);
        assert_eq!(t.children("/zookeeper"), ["config", "quota"]);
    }

    /// The buffer's size bound holds for trees of every shape (or the encode would have
    /// grown it by doubling).
    #[test]
    fn the_size_bound_covers_the_encoding() {
        let mut t = DataTree::new();
        assert!(t.encode_snapshot().len() <= t.snapshot_size_bound());
        let acl = t.intern_acl(&[Acl {
            perms: 31,
            id: Id {
                scheme: "digest".into(),
                id: "user:0123456789abcdefghijklmnopqrstu=".into(),
            },
        }]);
        for i in 0..200 {
            let stat = StatPersisted {
                czxid: i64::MIN + i,
                mzxid: i64::MAX - i,
                pzxid: -1,
                ctime: i64::MIN,
                mtime: i64::MAX,
                version: i32::MIN,
                cversion: i32::MAX,
                aversion: -7,
                ephemeral_owner: i64::MIN,
            };
            let data = (i % 3 != 0).then(|| alloc::vec![7u8; i as usize].into_boxed_slice());
            t.update_node("/", |pn| pn.child_count += 1);
            t.insert_node(
                &alloc::format!("/n{i}"),
                &Znode::new(data, acl.clone(), stat),
            );
            t.put_session(i, 30_000);
        }
        let bytes = t.encode_snapshot();
        assert!(
            bytes.len() <= t.snapshot_size_bound(),
            "{} > bound",
            bytes.len()
        );
        assert_eq!(
            DataTree::decode_snapshot(&bytes).map(|b| b.digest()),
            Ok(t.digest())
        );
    }

    /// A tree written and read back is the same tree, whatever order its table held.
    #[test]
    fn round_trip_of_a_wide_and_deep_tree() {
        let mut t = DataTree::new();
        let acl = t.intern_acl(&[Acl::open_unsafe()]);
        let mut paths = Vec::new();
        for i in 0..300 {
            paths.push(alloc::format!("/w{i}"));
        }
        let mut deep = String::new();
        for i in 0..50 {
            deep.push_str(&alloc::format!("/d{i}"));
            paths.push(deep.clone());
        }
        for p in &paths {
            let node = Znode::new(
                Some(b"v".to_vec().into()),
                acl.clone(),
                StatPersisted::default(),
            );
            if let Some(parent) = path::parent(p) {
                t.update_node(parent, |pn| pn.child_count += 1);
            }
            t.insert_node(p, &node);
        }
        let back = DataTree::decode_snapshot(&t.encode_snapshot()).unwrap();
        assert_eq!(
            crate::tree::test_util::dump(&back),
            crate::tree::test_util::dump(&t)
        );
        assert_eq!(back.descendant_count("/"), t.node_count() - 1);
        assert_eq!(back.descendant_count("/d0"), 49);
        assert_eq!(back.children("/").len(), 302);
    }
}
