//! Snapshots of the whole tree (postcard): sessions, the interned ACL table, the nodes (in
//! the table's order: restore takes any order and checks every node has its parent), and
//! the digest to verify on restore. Serialising and rebuilding are loops over the flat node
//! map: depth never touches the stack.
//!
//! Since format 3 a node's record is its packed bytes (`packed.rs`) as the table holds them,
//! and the ACL table keeps the pool's slot numbers, so writing a snapshot copies each node
//! once instead of unpacking and re-encoding its fields: that was 12 % of a member's CPU
//! under create-many at 400 k znodes (perf), all of it on the node's thread. Restore
//! checks every record (it must be exactly what packing its own fields gives) and rebuilds
//! child counts, hashes and the digest as before.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize, Serializer};

use super::data_tree::DataTree;
use super::packed::Packed;
use super::path;
use super::znode::{StatPersisted, Znode};
use crate::client::{Acl, Id};
use crate::ids::Zxid;

/// Format 3: nodes as their packed bytes, ACLs by pool slot. Formats 1 (FNV-1a node
/// hashes: the digest is checked with the old hash) and 2 (nodes field by field) are still
/// read.
const SNAPSHOT_VERSION: u8 = 3;
/// The oldest format restore reads.
const OLDEST_SNAPSHOT_VERSION: u8 = 1;

/// What a node's snapshot record holds beyond its packed bytes: their length (≤ 10 bytes).
const NODE_RECORD_OVERHEAD_BYTES: usize = 10;

/// One ACL list as a snapshot holds it: (perms, scheme, id) per entry.
type AclOut<'a> = Vec<(i32, &'a str, &'a str)>;
/// [`AclOut`], read back.
type AclIn = Vec<(i32, String, String)>;

/// A snapshot's layout (format 3); `N` is the node sequence.
#[derive(Serialize)]
struct SnapshotOut<'a, N> {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
    /// (pool slot, entries): the slots the packed nodes name.
    acls: Vec<(u32, AclOut<'a>)>,
    nodes: N,
}

/// The nodes' packed bytes, straight from the table: no list of them is built first.
struct NodesOut<'a>(&'a DataTree);

impl Serialize for NodesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.packed_nodes().map(|p| Bytes(p.as_bytes())))
    }
}

/// A byte string serialised as one (a length and the bytes), not as a sequence of u8s.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

/// A snapshot read back: `A` is an ACL table entry, `N` a node record (format 3: a slot and
/// its entries, the node's packed bytes borrowed from the snapshot; formats 1 and 2: the
/// entries alone, the node field by field).
#[derive(Deserialize)]
struct SnapshotIn<A, N> {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
    acls: Vec<A>,
    nodes: Vec<N>,
}

impl<A, N> SnapshotIn<A, N> {
    /// What restore needs besides the ACLs and the nodes, and those two.
    fn into_parts(self) -> (Header, Vec<A>, Vec<N>) {
        let header = Header {
            version: self.version,
            last_zxid: self.last_zxid,
            digest: self.digest,
            sessions: self.sessions,
        };
        (header, self.acls, self.nodes)
    }
}

#[derive(Deserialize)]
struct NodeIn {
    path: String,
    #[serde(deserialize_with = "crate::codec::bytes::option::deserialize")]
    data: Option<Vec<u8>>,
    acl: u32,
    stat: StatPersisted,
}

/// A node as restore rebuilds it, whichever format it came in.
struct Restored<'a> {
    path: &'a str,
    data: Option<&'a [u8]>,
    acl: Arc<[Acl]>,
    stat: StatPersisted,
}

/// What every format's header gives restore besides the nodes.
struct Header {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
}

impl DataTree {
    /// Serialises the whole tree.
    pub fn encode_snapshot(&self) -> Vec<u8> {
        let acls = self
            .acl_pool
            .iter()
            .map(|(slot, a)| {
                let entries = a
                    .iter()
                    .map(|e| (e.perms, e.id.scheme.as_str(), e.id.id.as_str()))
                    .collect();
                (slot, entries)
            })
            .collect();
        let snap = SnapshotOut {
            version: SNAPSHOT_VERSION,
            last_zxid: self.last_zxid,
            digest: self.digest,
            sessions: self.sessions.iter().map(|(&s, &t)| (s, t)).collect(),
            acls,
            nodes: NodesOut(self),
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
    /// record is its packed bytes plus at most [`NODE_RECORD_OVERHEAD_BYTES`].
    fn snapshot_size_bound(&self) -> usize {
        let acls: usize = self
            .acl_pool
            .iter()
            .map(|(_, a)| {
                15 + a
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
        // The version is the first byte (a postcard u8) in every format.
        let version = bytes.first().copied().unwrap_or(0);
        if !(OLDEST_SNAPSHOT_VERSION..=SNAPSHOT_VERSION).contains(&version) {
            return Err(alloc::format!("tree snapshot: version {version}"));
        }
        let mut t = DataTree::empty();
        t.reseed(seed);
        let to_acl = |list: Vec<(i32, String, String)>| -> Vec<Acl> {
            list.into_iter()
                .map(|(perms, scheme, id)| Acl {
                    perms,
                    id: Id { scheme, id },
                })
                .collect()
        };
        let garbled = |e: postcard::Error| alloc::format!("tree snapshot: {e}");
        if version < 3 {
            let snap: SnapshotIn<AclIn, NodeIn> = postcard::from_bytes(bytes).map_err(garbled)?;
            let (header, acls, records) = snap.into_parts();
            let acls: Vec<Arc<[Acl]>> = acls
                .into_iter()
                .map(|list| t.intern_acl(&to_acl(list)))
                .collect();
            let mut nodes = Vec::with_capacity(records.len());
            for n in &records {
                nodes.push(Restored {
                    path: &n.path,
                    data: n.data.as_deref(),
                    acl: acls
                        .get(n.acl as usize)
                        .cloned()
                        .ok_or("tree snapshot: bad ACL index")?,
                    stat: n.stat,
                });
            }
            t.rebuild(header, nodes)?;
            return Ok(t);
        }
        let snap: SnapshotIn<(u32, AclIn), &[u8]> = postcard::from_bytes(bytes).map_err(garbled)?;
        let (header, slots, records) = snap.into_parts();
        let mut acls: BTreeMap<u32, Arc<[Acl]>> = BTreeMap::new();
        for (slot, list) in slots {
            let acl = t.intern_acl(&to_acl(list));
            if acls.insert(slot, acl).is_some() {
                return Err(alloc::format!("tree snapshot: ACL slot {slot} twice"));
            }
        }
        let mut nodes = Vec::with_capacity(records.len());
        for record in &records {
            let (path, f) = Packed::parse(record).ok_or("tree snapshot: a garbled node record")?;
            nodes.push(Restored {
                path,
                data: f.data,
                acl: acls
                    .get(&f.acl)
                    .cloned()
                    .ok_or("tree snapshot: bad ACL index")?,
                stat: f.stat,
            });
        }
        t.rebuild(header, nodes)?;
        Ok(t)
    }

    /// Fills an empty tree with `nodes` (any order), checking paths, duplicates, orphans,
    /// the root and the digest; child counts are counted again, not trusted.
    fn rebuild(&mut self, header: Header, nodes: Vec<Restored<'_>>) -> Result<(), String> {
        // Child counts first, so each node is packed once with its own.
        let mut kids: BTreeMap<&str, u32> = BTreeMap::new();
        for n in &nodes {
            if let Some(parent) = path::parent(n.path) {
                let k = kids.entry(parent).or_default();
                *k = k.saturating_add(1);
            }
        }
        for n in &nodes {
            path::validate_path(n.path)
                .map_err(|_| alloc::format!("tree snapshot: bad path {:?}", n.path))?;
            if self.contains(n.path) {
                return Err(alloc::format!("tree snapshot: duplicate {:?}", n.path));
            }
            let data = n.data.map(|d| d.to_vec().into_boxed_slice());
            let mut node = Znode::new(data, n.acl.clone(), n.stat);
            node.child_count = kids.get(n.path).copied().unwrap_or(0);
            self.insert_node(n.path, &node);
        }
        if !self.contains(path::ROOT) {
            return Err("tree snapshot: no root".into());
        }
        if let Some((orphan, _)) = self
            .nodes()
            .find(|(p, _)| path::parent(p).is_some_and(|parent| !self.contains(parent)))
        {
            return Err(alloc::format!("tree snapshot: orphan {orphan:?}"));
        }
        for (s, timeout) in header.sessions {
            self.put_session(s, timeout);
        }
        self.last_zxid = header.last_zxid;
        let digest = if header.version == 1 {
            legacy_digest(self)
        } else {
            self.digest
        };
        if digest != header.digest {
            return Err("tree snapshot: digest mismatch".into());
        }
        Ok(())
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
    use crate::tree::packed::Fields;
    use crate::tree::znode::NodeRef;

    /// Formats 1 and 2 as they were written: the ACL table dense, each node field by field.
    #[derive(Serialize)]
    struct SnapshotOutV2<'a> {
        version: u8,
        last_zxid: Zxid,
        digest: u64,
        sessions: Vec<(i64, i32)>,
        acls: Vec<Vec<(i32, &'a str, &'a str)>>,
        nodes: Vec<NodeOut<'a>>,
    }

    #[derive(Serialize)]
    struct NodeOut<'a> {
        path: &'a str,
        #[serde(serialize_with = "crate::codec::bytes::option::serialize")]
        data: Option<&'a [u8]>,
        acl: u32,
        stat: StatPersisted,
    }

    fn raw(paths: &[&'static str]) -> Vec<u8> {
        raw_in(SNAPSHOT_VERSION, paths)
    }

    /// A snapshot of format `version` holding `paths` in the order given, each with data
    /// `d`, the open ACL (pool slot 5 in format 3) and a default stat.
    fn raw_in(version: u8, paths: &[&'static str]) -> Vec<u8> {
        let acl: Arc<[Acl]> = Arc::from([Acl::open_unsafe()]);
        let stat = StatPersisted::default();
        let mut digest = 0u64;
        let mut nodes = Vec::new();
        let mut packed = Vec::new();
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
            let fields = Fields {
                data: Some(b"d"),
                acl: 5,
                stat,
                child_count: kids,
            };
            packed.push(Packed::new(p, &fields, hash));
        }
        if version < 3 {
            let snap = SnapshotOutV2 {
                version,
                last_zxid: Zxid::ZERO,
                digest,
                sessions: Vec::new(),
                acls: alloc::vec![alloc::vec![(31, "world", "anyone")]],
                nodes,
            };
            return postcard::to_allocvec(&snap).unwrap();
        }
        let snap = SnapshotOut {
            version,
            last_zxid: Zxid::ZERO,
            digest,
            sessions: Vec::new(),
            acls: alloc::vec![(5, alloc::vec![(31, "world", "anyone")])],
            nodes: packed
                .iter()
                .map(|p| Bytes(p.as_bytes()))
                .collect::<Vec<_>>(),
        };
        postcard::to_allocvec(&snap).unwrap()
    }

    /// Format 2 (field by field) and format 3 (packed records) of the same nodes restore
    /// to the same tree.
    #[test]
    fn a_format_2_snapshot_restores_as_its_format_3_twin() {
        let paths = ["/a/b", "/", "/a", "/c"];
        let two = DataTree::decode_snapshot(&raw_in(2, &paths)).unwrap();
        let three = DataTree::decode_snapshot(&raw(&paths)).unwrap();
        assert_eq!(
            crate::tree::test_util::dump(&two),
            crate::tree::test_util::dump(&three)
        );
        assert_eq!(two.digest(), three.digest());
    }

    /// Any single byte changed or any cut of a format-3 snapshot is refused or restores a
    /// tree whose digest checked; nothing panics.
    #[test]
    fn a_damaged_snapshot_is_refused_never_a_panic() {
        let mut t = DataTree::new();
        let acl = t.intern_acl(&[Acl::open_unsafe()]);
        for i in 0..20 {
            t.update_node("/", |pn| pn.child_count += 1);
            let data = (i % 4 != 0).then(|| alloc::vec![i as u8; i].into_boxed_slice());
            let stat = StatPersisted {
                czxid: 0x1_0000_0000 + i as i64,
                mzxid: 0x1_0000_0000 + 3 * i as i64,
                ..StatPersisted::default()
            };
            t.insert_node(
                &alloc::format!("/n{i}"),
                &Znode::new(data, acl.clone(), stat),
            );
        }
        let good = t.encode_snapshot();
        let mut refused = 0;
        for at in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[at] ^= flip;
                match DataTree::decode_snapshot(&bad) {
                    Err(_) => refused += 1,
                    Ok(back) => assert_eq!(back.digest(), back.recompute_digest()),
                }
            }
            assert!(
                DataTree::decode_snapshot(&good[..at]).is_err(),
                "cut at {at}"
            );
        }
        assert!(
            refused > good.len(),
            "{refused} of {} refused",
            2 * good.len()
        );
    }

    /// A record that unpacks but is not what packing its fields gives (here: a byte more
    /// after a null data tag) is refused.
    #[test]
    fn a_record_packing_would_not_give_is_refused() {
        let stat = StatPersisted::default();
        let fields = Fields {
            data: None,
            acl: 0,
            stat,
            child_count: 0,
        };
        let p = Packed::new("/", &fields, 0);
        assert!(Packed::parse(p.as_bytes()).is_some());
        let mut longer = p.as_bytes().to_vec();
        longer.push(0);
        assert!(Packed::parse(&longer).is_none());
        assert!(Packed::parse(&p.as_bytes()[..p.as_bytes().len() - 1]).is_none());
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
        let mut wrong = raw_in(2, &paths);
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
