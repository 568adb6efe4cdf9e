//! The data tree: nodes by path, the interned ACL pool, sessions and their ephemerals, the
//! container/TTL indexes the reapers scan, and the rolling digest.
//!
//! Nodes live in one flat set keyed by full path (ZooKeeper's flat `nodes` map), so no
//! operation walks the tree recursively, whatever its depth: a hash table for lookups, and
//! per parent key the set of its children's keys for listing them (`node_set`, D34). Each
//! node is packed into one allocation with its path (`packed`): the memory a znode costs
//! beyond its data is a ~25-byte header, one allocator chunk, a 16-byte table slot and a
//! 4-byte key in its parent's set.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::acl_pool::AclPool;
use super::create_ref::NewAcl;
use super::digest::{node_hash, session_hash};
use super::node_set::NodeSet;
use super::packed::{DataEdit, Edited, Fields, Packed};
use super::path;
use super::znode::{EphemeralType, NodeRef, StatPersisted, Znode};
use crate::client::{perms, Acl, Id};
use crate::ids::Zxid;

/// The replicated ZooKeeper data tree.
#[derive(Clone, Debug)]
pub struct DataTree {
    nodes: NodeSet,
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

/// The path-key seed of a tree built here; [`DataTree::reseed`] replaces it with entropy.
const PATH_KEY_SEED: u64 = 0x636f_6e63_6c61_7665;

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
            t.insert_node(p, &node);
        }
        t
    }

    pub(crate) fn empty() -> DataTree {
        DataTree {
            nodes: NodeSet::new(PATH_KEY_SEED),
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

    /// Keys the node table's path hash with `seed` (from the host's entropy, through
    /// `ReplicatedState::seed`), rehashing what it holds. Only the in-memory layout changes.
    pub(crate) fn reseed(&mut self, seed: u64) {
        let old = core::mem::replace(&mut self.nodes, NodeSet::new(seed));
        for p in old.into_nodes() {
            self.nodes.replace(p);
        }
    }

    /// The node table's path-key seed.
    pub(crate) fn path_key_seed(&self) -> u64 {
        self.nodes.seed()
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
        self.nodes.get(path.as_bytes()).is_some()
    }

    /// Every node, in no particular order.
    pub fn nodes(&self) -> impl Iterator<Item = (&str, NodeRef<'_>)> {
        self.nodes.iter().map(|p| self.view(p))
    }

    /// Every node as packed, in the table's order (what a snapshot writes).
    pub(crate) fn packed_nodes(&self) -> impl Iterator<Item = &Packed> {
        self.nodes.iter()
    }

    /// Number of descendants of `path`, not counting it: a walk over the children index
    /// with an explicit stack (depth never touches the call stack).
    pub(crate) fn descendant_count(&self, path: &str) -> usize {
        let mut count = 0usize;
        let mut stack: Vec<&Packed> = Vec::new();
        if let Some(p) = self.nodes.get(path.as_bytes()) {
            stack.push(p);
        }
        // Each node is pushed once, by its parent: the walk ends within `len` pops.
        for _ in 0..=self.nodes.len() {
            let Some(p) = stack.pop() else { break };
            for c in self.nodes.children(p.path_bytes()) {
                count += 1;
                stack.push(c);
            }
        }
        count
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
    /// The parent's set of child keys and one table probe per child: O(children), then a
    /// sort of the names.
    pub fn children(&self, parent: &str) -> Vec<String> {
        let skip = if parent.ends_with('/') {
            parent.len()
        } else {
            parent.len() + 1
        };
        let mut out: Vec<String> = self
            .nodes
            .children(parent.as_bytes())
            .map(|p| String::from(p.path().get(skip..).unwrap_or("")))
            .collect();
        out.sort_unstable();
        out
    }

    /// Bytes of every node's packed form (path, stat, data), from the table alone.
    pub(crate) fn packed_bytes(&self) -> usize {
        self.nodes.packed_bytes()
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
    pub(crate) fn insert_node(&mut self, path: &str, node: &Znode) {
        let (packed, hash) = self.pack(path, node);
        let view = node.view();
        self.place(
            path,
            packed,
            hash,
            approximate_size(path, view),
            view.kind(),
        );
    }

    /// Inserts the node a create makes, packed straight from the txn's fields: no owned
    /// copy of its path, data or ACL on the way (three allocations per create on every
    /// member). Returns the stat clients see.
    pub(crate) fn insert_created(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: NewAcl<'_>,
        stat: StatPersisted,
    ) -> crate::client::Stat {
        let index = match acl {
            NewAcl::Decoded(list) => self.acl_pool.acquire(list),
            NewAcl::InPlace(list) => self.acl_pool.acquire_wire(list),
        };
        let fields = Fields {
            data,
            acl: index,
            stat,
            child_count: 0,
        };
        let node = NodeRef {
            data,
            acl: self.acl_pool.get(index),
            stat,
            child_count: 0,
        };
        let hash = node_hash(path, node);
        let packed = Packed::new(path, &fields, hash);
        let (seen, size, kind) = (node.stat(), approximate_size(path, node), node.kind());
        self.place(path, packed, hash, size, kind);
        seen
    }

    /// Puts a packed node in and accounts for it: its `size`, its `kind`'s index, its hash.
    fn place(&mut self, path: &str, packed: Packed, hash: u64, size: u64, kind: EphemeralType) {
        if let Some(old) = self.nodes.replace(packed) {
            self.unaccount(path, &old);
        }
        self.data_size += size;
        match kind {
            EphemeralType::Session(s) => {
                self.ephemeral_count += 1;
                self.ephemerals.entry(s).or_default().insert(path.into());
            }
            EphemeralType::Container => {
                self.containers.insert(path.into());
            }
            EphemeralType::Ttl(_) => {
                self.ttls.insert(path.into());
            }
            EphemeralType::Persistent => {}
        }
        self.digest = self.digest.wrapping_add(hash);
    }

    /// Removes a node, unindexing it and subtracting its hash.
    pub(crate) fn remove_node(&mut self, path: &str) -> Option<Znode> {
        let packed = self.nodes.remove(path.as_bytes())?;
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
        let packed = self.nodes.get_mut(path.as_bytes())?;
        let before = packed.hash();
        let (_, old) = packed.unpack();
        let mut edited = Edited {
            stat: old.stat,
            acl: old.acl,
            child_count: old.child_count,
        };
        f(&mut edited.stat, &mut edited.child_count);
        let node = NodeRef {
            data: data.unwrap_or(old.data),
            acl: self.acl_pool.get(edited.acl),
            stat: edited.stat,
            child_count: edited.child_count,
        };
        let size_before = path.len() as u64 + old.data.map_or(0, |d| d.len() as u64);
        let (size_after, stat, after) = (
            approximate_size(path, node),
            node.stat(),
            node_hash(path, node),
        );
        packed.edit(&edited, after, data.map_or(DataEdit::Keep, DataEdit::Set));
        self.data_size = self.data_size - size_before + size_after;
        self.digest = self.digest.wrapping_sub(before).wrapping_add(after);
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
        if let Some(slot) = self.nodes.get_mut(path.as_bytes()) {
            *slot = packed;
        }
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
