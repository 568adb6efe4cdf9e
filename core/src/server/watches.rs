//! Watch registrations of the clients connected to this server (protocol reference §4.8).
//!
//! Watches live only where the client is connected: events are produced here when a
//! committed txn is applied locally, and reach the client before any later reply.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use alloc::vec::Vec;

use crate::client::{EventType, WatcherType};

/// A client connection, as the adapter names it.
pub(crate) type ConnId = u64;

/// What kind of registration a watch is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WatchKind {
    /// One-shot data watch (getData, exists).
    Data,
    /// One-shot child watch (getChildren).
    Child,
    /// Persistent watch on one node (addWatch mode 0).
    Persistent,
    /// Persistent watch on a node and its whole subtree (addWatch mode 1).
    Recursive,
    /// What is left of a persistent watch after removeWatches(Children): its data events.
    PersistentData,
    /// What is left of a persistent watch after removeWatches(Data): its child events.
    PersistentChild,
}

const KINDS: [WatchKind; 6] = [
    WatchKind::Data,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::Recursive,
    WatchKind::PersistentData,
    WatchKind::PersistentChild,
];

/// Every watch of every local connection.
///
/// ZooKeeper 3.8 keeps a data table and a child table: a persistent watch sits in both, a
/// recursive one in the data table; checkWatches and removeWatches name a table (Data,
/// Children) or both (Any). Removing one table's half of a persistent watch leaves the other
/// half firing, which is what [`WatchKind::PersistentData`] and
/// [`WatchKind::PersistentChild`] hold.
#[derive(Clone, Debug, Default)]
pub struct Watches {
    by_path: [BTreeMap<String, BTreeSet<ConnId>>; 6],
    by_conn: BTreeMap<ConnId, BTreeSet<(WatchKind, String)>>,
    recursive_count: usize,
}

fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) => Some("/"),
        Some(i) => Some(&path[..i]),
        None => None,
    }
}

impl Watches {
    /// No watches.
    pub fn new() -> Watches {
        Watches::default()
    }

    /// Registers a watch (idempotent). As in ZooKeeper 3.8, a connection has one mode per path
    /// in each table and the last registration sets it: a one-shot watch replaces a
    /// persistent or recursive one of the same connection in its table (which then fires once
    /// and is gone), and a persistent or recursive one replaces what was in its tables.
    pub fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
        let split = |w: &mut Watches, keep: WatchKind| {
            if w.take(conn, path, WatchKind::Persistent) {
                w.insert(conn, path, keep);
            }
        };
        match kind {
            WatchKind::Data => {
                self.take(conn, path, WatchKind::Recursive);
                self.take(conn, path, WatchKind::PersistentData);
                split(self, WatchKind::PersistentChild);
            }
            WatchKind::Child => {
                self.take(conn, path, WatchKind::PersistentChild);
                split(self, WatchKind::PersistentData);
            }
            WatchKind::Persistent => {
                for k in [
                    WatchKind::Data,
                    WatchKind::Child,
                    WatchKind::Recursive,
                    WatchKind::PersistentData,
                    WatchKind::PersistentChild,
                ] {
                    self.take(conn, path, k);
                }
            }
            WatchKind::Recursive => {
                self.take(conn, path, WatchKind::Data);
                self.take(conn, path, WatchKind::PersistentData);
                split(self, WatchKind::PersistentChild);
            }
            WatchKind::PersistentData | WatchKind::PersistentChild => {}
        }
        self.insert(conn, path, kind);
    }

    fn insert(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
        let set = self.by_path[kind as usize]
            .entry(String::from(path))
            .or_default();
        if set.insert(conn) && kind == WatchKind::Recursive {
            self.recursive_count += 1;
        }
        self.by_conn
            .entry(conn)
            .or_default()
            .insert((kind, String::from(path)));
    }

    fn take(&mut self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        let map = &mut self.by_path[kind as usize];
        let Some(set) = map.get_mut(path) else {
            return false;
        };
        let removed = set.remove(&conn);
        if set.is_empty() {
            map.remove(path);
        }
        if removed {
            if kind == WatchKind::Recursive {
                self.recursive_count -= 1;
            }
            if let Some(w) = self.by_conn.get_mut(&conn) {
                w.remove(&(kind, String::from(path)));
                if w.is_empty() {
                    self.by_conn.remove(&conn);
                }
            }
        }
        removed
    }

    /// Drops every watch of a connection that went away.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let Some(all) = self.by_conn.remove(&conn) else {
            return;
        };
        for (kind, path) in all {
            let map = &mut self.by_path[kind as usize];
            if let Some(set) = map.get_mut(&path) {
                set.remove(&conn);
                if set.is_empty() {
                    map.remove(&path);
                }
            }
            if kind == WatchKind::Recursive {
                self.recursive_count -= 1;
            }
        }
    }

    /// The registrations in the table(s) a watcher type names.
    fn kinds_of(wt: WatcherType) -> &'static [WatchKind] {
        match wt {
            WatcherType::Children => &[
                WatchKind::Child,
                WatchKind::Persistent,
                WatchKind::PersistentChild,
            ],
            WatcherType::Data => &[
                WatchKind::Data,
                WatchKind::Persistent,
                WatchKind::Recursive,
                WatchKind::PersistentData,
            ],
            WatcherType::Any => &KINDS,
            WatcherType::Persistent => &[WatchKind::Persistent],
            WatcherType::PersistentRecursive => &[WatchKind::Recursive],
        }
    }

    /// True if `conn` has a watch of type `wt` on `path` (checkWatches).
    pub fn has(&self, conn: ConnId, path: &str, wt: WatcherType) -> bool {
        Self::kinds_of(wt).iter().any(|k| {
            self.by_path[*k as usize]
                .get(path)
                .is_some_and(|s| s.contains(&conn))
        })
    }

    /// Removes `conn`'s watches of type `wt` on `path` (removeWatches); false if none matched.
    /// A persistent watch removed through one table keeps firing through the other.
    pub fn remove(&mut self, conn: ConnId, path: &str, wt: WatcherType) -> bool {
        let mut any = false;
        for k in Self::kinds_of(wt) {
            let taken = self.take(conn, path, *k);
            any |= taken;
            if taken && *k == WatchKind::Persistent {
                match wt {
                    WatcherType::Children => self.insert(conn, path, WatchKind::PersistentData),
                    WatcherType::Data => self.insert(conn, path, WatchKind::PersistentChild),
                    _ => {}
                }
            }
        }
        any
    }

    /// The connections to notify of `event` on `path`, each once, removing the one-shot
    /// registrations that fire. `NodeChildrenChanged` is delivered on the parent's child
    /// watches by the caller passing the parent as `path`.
    pub fn trigger(&mut self, path: &str, event: EventType) -> Vec<ConnId> {
        let mut hit = BTreeSet::new();
        let one_shot: &[WatchKind] = match event {
            EventType::NodeCreated | EventType::NodeDataChanged => &[WatchKind::Data],
            EventType::NodeDeleted => &[WatchKind::Data, WatchKind::Child],
            EventType::NodeChildrenChanged => &[WatchKind::Child],
            _ => &[],
        };
        for kind in one_shot {
            if let Some(set) = self.by_path[*kind as usize].remove(path) {
                for conn in set {
                    hit.insert(conn);
                    if let Some(w) = self.by_conn.get_mut(&conn) {
                        w.remove(&(*kind, String::from(path)));
                        if w.is_empty() {
                            self.by_conn.remove(&conn);
                        }
                    }
                }
            }
        }
        let halves: &[WatchKind] = match event {
            EventType::NodeCreated | EventType::NodeDataChanged => &[WatchKind::PersistentData],
            EventType::NodeDeleted => &[WatchKind::PersistentData, WatchKind::PersistentChild],
            EventType::NodeChildrenChanged => &[WatchKind::PersistentChild],
            _ => &[],
        };
        for kind in [WatchKind::Persistent].iter().chain(halves) {
            if let Some(set) = self.by_path[*kind as usize].get(path) {
                hit.extend(set.iter().copied());
            }
        }
        // Recursive watches see create/delete/change anywhere below, never child events.
        if self.recursive_count > 0 && event != EventType::NodeChildrenChanged {
            let mut p = Some(path);
            while let Some(at) = p {
                if let Some(set) = self.by_path[WatchKind::Recursive as usize].get(at) {
                    hit.extend(set.iter().copied());
                }
                p = parent(at);
            }
        }
        hit.into_iter().collect()
    }

    /// Total registrations (`wchs` "Total watches").
    pub fn count(&self) -> usize {
        self.by_conn.values().map(|s| s.len()).sum()
    }

    /// Distinct watched paths.
    pub fn paths(&self) -> usize {
        let mut all: BTreeSet<&str> = BTreeSet::new();
        for m in &self.by_path {
            all.extend(m.keys().map(|s| s.as_str()));
        }
        all.len()
    }

    /// Connections with at least one watch.
    pub fn connections(&self) -> usize {
        self.by_conn.len()
    }

    /// Watched paths of one connection, for `wchc`.
    pub fn of_conn(&self, conn: ConnId) -> impl Iterator<Item = &(WatchKind, String)> + '_ {
        self.by_conn.get(&conn).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Found by the differential run against ZooKeeper 3.8: checkWatches(Children) on a path
    /// with a persistent watch answered NOWATCHER where ZooKeeper answers OK.
    #[test]
    fn check_and_remove_name_zookeepers_tables() {
        let mut w = Watches::new();
        w.add(1, "/p", WatchKind::Persistent);
        w.add(1, "/r", WatchKind::Recursive);
        assert!(w.has(1, "/p", WatcherType::Children));
        assert!(w.has(1, "/p", WatcherType::Data));
        assert!(w.has(1, "/r", WatcherType::Data));
        assert!(!w.has(1, "/r", WatcherType::Children));
        // Removing the child half leaves the data half firing, and the other way round.
        assert!(w.remove(1, "/p", WatcherType::Children));
        assert!(!w.has(1, "/p", WatcherType::Children));
        assert!(w.has(1, "/p", WatcherType::Data));
        assert_eq!(
            w.trigger("/p", EventType::NodeChildrenChanged),
            Vec::<u64>::new()
        );
        assert_eq!(w.trigger("/p", EventType::NodeDataChanged), vec![1]);
        assert_eq!(w.trigger("/p", EventType::NodeDataChanged), vec![1]);
        assert!(w.remove(1, "/p", WatcherType::Data));
        assert!(!w.has(1, "/p", WatcherType::Any));
        w.add(2, "/q", WatchKind::Persistent);
        assert!(w.remove(2, "/q", WatcherType::Data));
        assert_eq!(
            w.trigger("/q", EventType::NodeDataChanged),
            Vec::<u64>::new()
        );
        assert_eq!(w.trigger("/q", EventType::NodeChildrenChanged), vec![2]);
        assert!(w.remove(2, "/q", WatcherType::Any));
        assert!(!w.remove(2, "/q", WatcherType::Any));
    }

    /// Differential run: ZooKeeper 3.8 keeps one mode per connection and path in each table,
    /// and the last registration sets it.
    #[test]
    fn the_last_registration_sets_the_mode() {
        let mut w = Watches::new();
        w.add(1, "/p", WatchKind::Persistent);
        // getChildren(watch) over it: the child half becomes one-shot.
        w.add(1, "/p", WatchKind::Child);
        assert_eq!(w.trigger("/p", EventType::NodeChildrenChanged), vec![1]);
        assert_eq!(
            w.trigger("/p", EventType::NodeChildrenChanged),
            Vec::<u64>::new()
        );
        assert_eq!(w.trigger("/p", EventType::NodeDataChanged), vec![1]);
        // A recursive watch replaced by an exists watch: it fires once, below it never.
        w.add(2, "/r", WatchKind::Recursive);
        w.add(2, "/r", WatchKind::Data);
        assert_eq!(w.trigger("/r/x", EventType::NodeCreated), Vec::<u64>::new());
        assert_eq!(w.trigger("/r", EventType::NodeDataChanged), vec![2]);
        assert_eq!(
            w.trigger("/r", EventType::NodeDataChanged),
            Vec::<u64>::new()
        );
        // A persistent watch over one-shot ones takes both tables.
        w.add(3, "/q", WatchKind::Data);
        w.add(3, "/q", WatchKind::Child);
        w.add(3, "/q", WatchKind::Persistent);
        assert_eq!(w.trigger("/q", EventType::NodeDataChanged), vec![3]);
        assert_eq!(w.trigger("/q", EventType::NodeDataChanged), vec![3]);
        // Left: conn 1's data half on /p and conn 3's persistent watch on /q.
        assert_eq!(w.count(), 2);
    }

    #[test]
    fn one_shot_watches_fire_once_and_are_removed() {
        let mut w = Watches::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(2, "/a", WatchKind::Data);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![1, 2]);
        assert_eq!(
            w.trigger("/a", EventType::NodeDataChanged),
            Vec::<ConnId>::new()
        );
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn delete_fires_data_and_child_watches_once_per_connection() {
        let mut w = Watches::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        w.add(2, "/a", WatchKind::Child);
        assert_eq!(w.trigger("/a", EventType::NodeDeleted), vec![1, 2]);
        assert_eq!(w.count(), 0);
    }

    #[test]
    fn child_events_do_not_consume_data_watches() {
        let mut w = Watches::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(2, "/a", WatchKind::Child);
        assert_eq!(w.trigger("/a", EventType::NodeChildrenChanged), vec![2]);
        assert!(w.has(1, "/a", WatcherType::Data));
    }

    #[test]
    fn persistent_watches_stay_and_see_children_events() {
        let mut w = Watches::new();
        w.add(3, "/a", WatchKind::Persistent);
        for ev in [
            EventType::NodeCreated,
            EventType::NodeDataChanged,
            EventType::NodeChildrenChanged,
            EventType::NodeDeleted,
        ] {
            assert_eq!(w.trigger("/a", ev), vec![3]);
        }
        assert!(w.has(3, "/a", WatcherType::Persistent));
        assert!(w.remove(3, "/a", WatcherType::Persistent));
        assert!(!w.remove(3, "/a", WatcherType::Persistent));
    }

    #[test]
    fn recursive_watches_cover_the_subtree_but_not_child_events() {
        let mut w = Watches::new();
        w.add(4, "/a", WatchKind::Recursive);
        assert_eq!(w.trigger("/a/b/c", EventType::NodeCreated), vec![4]);
        assert_eq!(w.trigger("/a", EventType::NodeDataChanged), vec![4]);
        assert_eq!(
            w.trigger("/a/b", EventType::NodeChildrenChanged),
            Vec::<ConnId>::new()
        );
        assert_eq!(
            w.trigger("/ab", EventType::NodeCreated),
            Vec::<ConnId>::new()
        );
        w.add(5, "/", WatchKind::Recursive);
        assert_eq!(w.trigger("/x", EventType::NodeDeleted), vec![5]);
    }

    #[test]
    fn closing_a_connection_drops_all_its_watches() {
        let mut w = Watches::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/b", WatchKind::Recursive);
        w.add(2, "/a", WatchKind::Data);
        assert_eq!((w.count(), w.paths(), w.connections()), (3, 2, 2));
        w.remove_conn(1);
        assert_eq!(
            w.trigger("/b/c", EventType::NodeCreated),
            Vec::<ConnId>::new()
        );
        assert_eq!(w.trigger("/a", EventType::NodeDeleted), vec![2]);
    }

    #[test]
    fn remove_watches_any_removes_every_kind() {
        let mut w = Watches::new();
        w.add(1, "/a", WatchKind::Data);
        w.add(1, "/a", WatchKind::Child);
        assert!(w.has(1, "/a", WatcherType::Any));
        assert!(w.remove(1, "/a", WatcherType::Any));
        assert!(!w.has(1, "/a", WatcherType::Any));
    }
}
