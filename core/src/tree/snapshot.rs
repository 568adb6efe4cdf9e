//! Snapshots of the whole tree (postcard): sessions, the interned ACL table, nodes in path
//! order (parents before children), and the digest to verify on restore. Serialising and
//! rebuilding are loops over the flat node map: depth never touches the stack.

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

const SNAPSHOT_VERSION: u8 = 1;

#[derive(Serialize)]
struct SnapshotOut<'a> {
    version: u8,
    last_zxid: Zxid,
    digest: u64,
    sessions: Vec<(i64, i32)>,
    acls: Vec<Vec<(i32, &'a str, &'a str)>>,
    nodes: NodesOut<'a>,
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
        // up to three times its size at the peak.
        let size = postcard::experimental::serialized_size(&snap).unwrap_or(0);
        postcard::to_extend(&snap, Vec::with_capacity(size)).unwrap_or_default()
    }

    /// Rebuilds a tree from [`DataTree::encode_snapshot`] bytes, checking structure and digest.
    pub fn decode_snapshot(bytes: &[u8]) -> Result<DataTree, String> {
        let snap: SnapshotIn =
            postcard::from_bytes(bytes).map_err(|e| alloc::format!("tree snapshot: {e}"))?;
        if snap.version != SNAPSHOT_VERSION {
            return Err(alloc::format!("tree snapshot: version {}", snap.version));
        }
        let mut t = DataTree::empty();
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
        // Child counts first, so each node is packed once with its own: nodes come in path
        // order, a parent before its children, and a parent's children are not contiguous.
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
            if let Some(parent) = path::parent(&n.path) {
                if !t.contains(parent) {
                    return Err(alloc::format!("tree snapshot: orphan {:?}", n.path));
                }
            }
            if t.contains(&n.path) {
                return Err(alloc::format!("tree snapshot: duplicate {:?}", n.path));
            }
            let mut node = Znode::new(n.data.map(Vec::into_boxed_slice), acl, n.stat);
            node.child_count = kids.get(n.path.as_str()).copied().unwrap_or(0);
            t.insert_node(n.path, node);
        }
        if !t.contains(path::ROOT) {
            return Err("tree snapshot: no root".into());
        }
        for (s, timeout) in snap.sessions {
            t.put_session(s, timeout);
        }
        t.last_zxid = snap.last_zxid;
        if t.digest != snap.digest {
            return Err("tree snapshot: digest mismatch".into());
        }
        Ok(t)
    }
}
