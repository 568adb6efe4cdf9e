//! The data tree: nodes by path, the interned ACL pool, sessions and their ephemerals, the
//! container/TTL indexes the reapers scan, and the rolling digest.
//!
//! Nodes live in one ordered set keyed by full path (ZooKeeper's flat `nodes` map), so no
//! operation walks the tree recursively, whatever its depth. The set's order is also where
//! children come from: the children of `p` are the paths under `p/` (see `children`).
//! Each node is packed into one allocation with its path (`packed`): the memory a znode
//! costs beyond its data is a ~25-byte header, one allocator chunk and one set slot.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::acl_pool::AclPool;
use super::digest::{node_hash, session_hash};
use super::packed::{Fields, Packed};
use super::path;
use super::znode::{EphemeralType, NodeRef, StatPersisted, Znode};
use crate::client::{perms, Acl, Id};
use crate::ids::Zxid;

/// The replicated ZooKeeper data tree.
#[derive(Clone, Debug)]
pub struct DataTree {
    nodes: BTreeSet<Packed>,
    pub(crate) acl_pool: AclPool,
    pub(crate) ephemerals: BTreeMap<i64, BTreeSet<String>>,
    pub(crate) sessions: BTreeMap<i64, i32>,
    pub(crate) containers: BTreeSet<String>,
    pub(crate) ttls: BTreeSet<String>,
    pub(crate) digest: u64,
    pub(crate) last_zxid: Zxid,
    pub(crate) last_triggers: Vec<super::trigger::WatchTrigger>,
    /// Whether applying records watch triggers (see [`DataTree::set_watched`]). Local to
    /// this server, not replicated state: not in the digest or snapshots.
    pub(crate) watched: bool,
    /// Running total of path and data lengths (`zk_approximate_data_size`), kept by every
    /// insert, update and removal so no scrape walks the tree.
    data_size: u64,
    /// Running count of session-owned ephemeral znodes (`zk_ephemerals_count`).
    ephemeral_count: u64,
}

/// What a node adds to `approximate_data_size`: its path and its data, as ZooKeeper counts.
fn approximate_size(path: &str, node: NodeRef<'_>) -> u64 {
    path.len() as u64 + node.data.map_or(0, |d| d.len() as u64)
}

impl Default for DataTree {
    fn default() -> DataTree {
        DataTree::new()
    }
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota` (open ACL) and
    /// `/zookeeper/config` (world:anyone READ), all with zero stats, as ZooKeeper builds it.
    pub fn new() -> DataTree {
        let mut t = DataTree::empty();
        let open = t.intern_acl(&[Acl::open_unsafe()]);
        let read = t.intern_acl(&[Acl {
            perms: perms::READ,
            id: Id::anyone(),
        }]);
        for (p, acl) in [
            ("/", &open),
            ("/zookeeper", &open),
            ("/zookeeper/quota", &open),
            ("/zookeeper/config", &read),
        ] {
            let node = Znode::new(Some(Box::default()), acl.clone(), StatPersisted::default());
            if let Some(parent) = path::parent(p) {
                t.update_node(parent, |pn| pn.child_count += 1);
            }
            t.insert_node(p.into(), node);
        }
        t
    }

    pub(crate) fn empty() -> DataTree {
        DataTree {
            nodes: BTreeSet::new(),
            acl_pool: AclPool::default(),
            ephemerals: BTreeMap::new(),
            sessions: BTreeMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            digest: 0,
            data_size: 0,
            ephemeral_count: 0,
            last_zxid: Zxid::ZERO,
            last_triggers: Vec::new(),
            watched: true,
        }
    }

    /// Whether any watch could fire on this server. Without one, applying a txn records no
    /// triggers (each was a path copy, and the service looked it up in its watch tables).
    /// A watch set later only sees later changes, so switching this per txn loses nothing.
    pub fn set_watched(&mut self, any: bool) {
        self.watched = any;
    }

    /// The node at `path`.
    pub fn node(&self, path: &str) -> Option<NodeRef<'_>> {
        self.nodes.get(path.as_bytes()).map(|p| self.view(p).1)
    }

    /// Whether a node is at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.nodes.contains(path.as_bytes())
    }

    /// Every node, in path order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, NodeRef<'_>)> {
        self.nodes.iter().map(|p| self.view(p))
    }

    /// The paths at or after `from`, in order, while they start with `from` (a subtree
    /// or the children's prefix `p/`).
    pub(crate) fn paths_under<'a>(&'a self, from: &'a str) -> impl Iterator<Item = &'a str> {
        use core::ops::Bound;
        self.nodes
            .range::<[u8], _>((Bound::Included(from.as_bytes()), Bound::Unbounded))
            .map(Packed::path)
            .take_while(move |p| p.starts_with(from))
    }

    /// A packed node's path and its fields, its ACL resolved in the pool.
    fn view<'a>(&'a self, p: &'a Packed) -> (&'a str, NodeRef<'a>) {
        let (path, f) = p.unpack();
        let node = NodeRef {
            data: f.data,
            acl: self.acl_pool.get(f.acl),
            stat: f.stat,
            child_count: f.child_count,
        };
        (path, node)
    }

    /// The names of `parent`'s children, in byte order (empty if it has none or is absent).
    ///
    /// Children are the keys under `parent/`; the walk visits each child once and jumps over
    /// each child's own subtree with one seek (`child` + `0`, the byte after `/`), so it costs
    /// O(children · log n) however deep the subtrees below are.
    pub fn children(&self, parent: &str) -> Vec<String> {
        use core::ops::Bound;
        let Some(node) = self.node(parent) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(node.child_count as usize);
        let mut prefix = String::from(parent);
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        let mut from = Bound::Included(prefix.clone());
        // Each pass either lists one child or jumps past one child's subtree: at most twice
        // as many passes as children, plus the end.
        for _ in 0..=2 * node.child_count as usize + 1 {
            let mut jump = None;
            for key in self
                .nodes
                .range::<[u8], _>((from.as_ref().map(String::as_bytes), Bound::Unbounded))
                .map(Packed::path)
            {
                let Some(rest) = key.strip_prefix(prefix.as_str()) else {
                    return out;
                };
                match rest.find('/') {
                    _ if rest.is_empty() => {}
                    None => out.push(rest.into()),
                    Some(i) => {
                        let mut past = String::with_capacity(prefix.len() + i + 1);
                        past.push_str(&prefix);
                        past.push_str(&rest[..i]);
                        past.push('0');
                        jump = Some(past);
                        break;
                    }
                }
            }
            match jump {
                Some(past) => from = Bound::Included(past),
                None => return out,
            }
        }
        out
    }

    /// Number of nodes, root and system nodes included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Sum of path and data lengths of every node (ZooKeeper's `approximateDataSize`); O(1).
    pub fn approximate_data_size(&self) -> u64 {
        self.data_size
    }

    /// Ephemeral znodes owned by sessions (ZooKeeper's `getEphemeralsCount`); O(1).
    pub fn ephemerals_count(&self) -> u64 {
        self.ephemeral_count
    }

    /// The session table: id → timeout (ms).
    pub fn sessions(&self) -> &BTreeMap<i64, i32> {
        &self.sessions
    }

    /// The ephemeral paths owned by `session_id`.
    pub fn ephemerals(&self, session_id: i64) -> impl Iterator<Item = &str> {
        self.ephemerals
            .get(&session_id)
            .into_iter()
            .flat_map(|s| s.iter().map(String::as_str))
    }

    /// The highest zxid applied.
    pub fn last_zxid(&self) -> Zxid {
        self.last_zxid
    }

    /// The rolling digest (O(1)).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The digest recomputed from scratch (O(n); for tests and snapshot checks).
    pub fn recompute_digest(&self) -> u64 {
        let nodes = self
            .nodes()
            .fold(0u64, |d, (p, n)| d.wrapping_add(node_hash(p, n)));
        self.sessions
            .iter()
            .fold(nodes, |d, (&s, &t)| d.wrapping_add(session_hash(s, t)))
    }

    /// Distinct ACL lists in use.
    pub fn acl_count(&self) -> usize {
        self.acl_pool.len()
    }

    /// Containers that had children (stored cversion ≠ 0) and now have none: the leader
    /// proposes deletes for them.
    pub fn containers_to_delete(&self) -> Vec<String> {
        self.containers
            .iter()
            .filter(|p| {
                self.node(p)
                    .is_some_and(|n| n.is_leaf() && n.stat.cversion != 0)
            })
            .cloned()
            .collect()
    }

    /// TTL nodes without children whose `mtime + ttl < now_ms`.
    pub fn expired_ttls(&self, now_ms: i64) -> Vec<String> {
        self.ttls
            .iter()
            .filter(|p| {
                self.node(p).is_some_and(|n| match n.kind() {
                    EphemeralType::Ttl(ttl) => {
                        n.is_leaf() && n.stat.mtime.saturating_add(ttl) < now_ms
                    }
                    _ => false,
                })
            })
            .cloned()
            .collect()
    }

    /// The pooled list equal to `acl` (shared), or a fresh one; the pool counts it when a
    /// node takes it.
    pub(crate) fn intern_acl(&self, acl: &[Acl]) -> Arc<[Acl]> {
        self.acl_pool.shared(acl)
    }

    /// Packs `node` at `path` with its digest hash, counting its ACL in the pool.
    fn pack(&mut self, path: &str, node: &Znode) -> (Packed, u64) {
        let acl = self.acl_pool.acquire(&node.acl);
        let hash = node_hash(path, node.view());
        let fields = Fields {
            data: node.data.as_deref(),
            acl,
            stat: node.stat,
            child_count: node.child_count,
        };
        (Packed::new(path, &fields, hash), hash)
    }

    /// Inserts a new node (the parent's child count is the caller's business), indexing it
    /// and adding its hash. One descent: a node already at `path` (not reachable from apply,
    /// which checks first) is replaced, its totals and indexes undone.
    pub(crate) fn insert_node(&mut self, path: String, node: Znode) {
        let (packed, hash) = self.pack(&path, &node);
        if let Some(old) = self.nodes.replace(packed) {
            self.unaccount(&path, &old);
        }
        self.data_size += approximate_size(&path, node.view());
        match node.kind() {
            EphemeralType::Session(s) => {
                self.ephemeral_count += 1;
                self.ephemerals.entry(s).or_default().insert(path);
            }
            EphemeralType::Container => {
                self.containers.insert(path);
            }
            EphemeralType::Ttl(_) => {
                self.ttls.insert(path);
            }
            EphemeralType::Persistent => {}
        }
        self.digest = self.digest.wrapping_add(hash);
    }

    /// Removes a node, unindexing it and subtracting its hash.
    pub(crate) fn remove_node(&mut self, path: &str) -> Option<Znode> {
        let packed = self.nodes.take(path.as_bytes())?;
        let node = self.view(&packed).1.to_znode();
        self.unaccount(path, &packed);
        Some(node)
    }

    /// Undoes what a node out of the set added: its ACL count, hash, size and index entries.
    fn unaccount(&mut self, path: &str, packed: &Packed) {
        let (_, f) = packed.unpack();
        self.acl_pool.release(f.acl);
        self.digest = self.digest.wrapping_sub(packed.hash());
        self.data_size -= path.len() as u64 + f.data.map_or(0, |d| d.len() as u64);
        match EphemeralType::from_owner(f.stat.ephemeral_owner) {
            EphemeralType::Session(s) => {
                self.ephemeral_count -= 1;
                if let Some(set) = self.ephemerals.get_mut(&s) {
                    set.remove(path);
                    if set.is_empty() {
                        self.ephemerals.remove(&s);
                    }
                }
            }
            EphemeralType::Container => {
                self.containers.remove(path);
            }
            EphemeralType::Ttl(_) => {
                self.ttls.remove(path);
            }
            EphemeralType::Persistent => {}
        }
    }

    /// Changes a node's stat and child count, and its data when `data` is `Some`, repacked
    /// straight from its packed bytes; returns the stat clients now see. Unlike
    /// [`DataTree::update_node`] it copies no data into an owned node and leaves the ACL's
    /// pool count alone: a parent's cversion bump or a setData (what every create and
    /// write does) used to cost two data copies and two ACL pool lookups.
    pub(crate) fn edit_node(
        &mut self,
        path: &str,
        data: Option<Option<&[u8]>>,
        f: impl FnOnce(&mut StatPersisted, &mut u32),
    ) -> Option<crate::client::Stat> {
        let packed = self.nodes.get(path.as_bytes())?;
        let before = packed.hash();
        let (_, mut fields) = packed.unpack();
        let size_before = approximate_size(path, self.view(packed).1);
        if let Some(d) = data {
            fields.data = d;
        }
        f(&mut fields.stat, &mut fields.child_count);
        let node = NodeRef {
            data: fields.data,
            acl: self.acl_pool.get(fields.acl),
            stat: fields.stat,
            child_count: fields.child_count,
        };
        let (size_after, stat, after) = (
            approximate_size(path, node),
            node.stat(),
            node_hash(path, node),
        );
        let repacked = Packed::new(path, &fields, after);
        self.data_size = self.data_size - size_before + size_after;
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        self.nodes.replace(repacked);
        Some(stat)
    }

    /// Changes a node (repacked), keeping the digest, the size and the ACL counts in step.
    /// Its kind (`ephemeralOwner`) is the caller's to keep: the indexes do not follow it.
    pub(crate) fn update_node<R>(
        &mut self,
        path: &str,
        f: impl FnOnce(&mut Znode) -> R,
    ) -> Option<R> {
        let packed = self.nodes.get(path.as_bytes())?;
        let (_, view) = self.view(packed);
        let old_acl = packed.unpack().1.acl;
        let before = packed.hash();
        let size_before = approximate_size(path, view);
        let mut node = view.to_znode();
        let r = f(&mut node);
        self.data_size = self.data_size - size_before + approximate_size(path, node.view());
        let (packed, after) = self.pack(path, &node);
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
        self.acl_pool.release(old_acl);
        self.nodes.replace(packed);
        Some(r)
    }

    pub(crate) fn put_session(&mut self, id: i64, timeout_ms: i32) {
        if let Some(old) = self.sessions.insert(id, timeout_ms) {
            self.digest = self.digest.wrapping_sub(session_hash(id, old));
        }
        self.digest = self.digest.wrapping_add(session_hash(id, timeout_ms));
    }

    pub(crate) fn drop_session(&mut self, id: i64) {
        if let Some(old) = self.sessions.remove(&id) {
            self.digest = self.digest.wrapping_sub(session_hash(id, old));
        }
    }
}
