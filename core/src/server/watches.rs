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
    /// Persistent watch on one node (addWatch mode 0), in both tables.
    Persistent,
    /// Persistent watch on a node and its whole subtree (addWatch mode 1), in both tables.
    Recursive,
    /// The data-table half of a persistent watch whose child half was removed or replaced.
    PersistentData,
    /// The child-table half of a persistent watch whose data half was removed or replaced.
    PersistentChild,
    /// The data-table half of a recursive watch.
    RecursiveData,
    /// The child-table half of a recursive watch: it still sees deletions below.
    RecursiveChild,
}

const KINDS: [WatchKind; 8] = [
    WatchKind::Data,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::Recursive,
    WatchKind::PersistentData,
    WatchKind::PersistentChild,
    WatchKind::RecursiveData,
    WatchKind::RecursiveChild,
];

impl WatchKind {
    /// Whether it sits in ZooKeeper's data table (`true`) or child table (`false`); the two
    /// whole persistent kinds sit in both.
    fn in_table(self, data_table: bool) -> bool {
        match self {
            WatchKind::Persistent | WatchKind::Recursive => true,
            WatchKind::Data | WatchKind::PersistentData | WatchKind::RecursiveData => data_table,
            WatchKind::Child | WatchKind::PersistentChild | WatchKind::RecursiveChild => {
                !data_table
            }
        }
    }

    /// The (data, child) halves of a registration that sits in both tables.
    fn halves(self) -> Option<(WatchKind, WatchKind)> {
        match self {
            WatchKind::Persistent => Some((WatchKind::PersistentData, WatchKind::PersistentChild)),
            WatchKind::Recursive => Some((WatchKind::RecursiveData, WatchKind::RecursiveChild)),
            _ => None,
        }
    }

    fn is_recursive(self) -> bool {
        matches!(
            self,
            WatchKind::Recursive | WatchKind::RecursiveData | WatchKind::RecursiveChild
        )
    }
}

/// Every watch of every local connection.
///
/// As ZooKeeper 3.8 keeps them: a data table (data and exist watches) and a child table
/// (child watches); a persistent or recursive watch sits in both. A connection has one mode
/// per path in each table and the last registration sets it. checkWatches and removeWatches
/// name a table (Data, Children) or both (Any); removing or replacing one table's half of a
/// persistent or recursive watch leaves the other half firing (the `*Data` / `*Child` kinds).
/// A recursive watch's child half still sees deletions below its path.
#[derive(Clone, Debug, Default)]
pub struct Watches {
    by_path: [BTreeMap<String, BTreeSet<ConnId>>; 8],
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

    /// True when no connection has a watch: no change can fire anything.
    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    /// Registers a watch (idempotent); it replaces what `conn` had at `path` in its table(s).
    pub fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
        match kind {
            WatchKind::Data => {
                self.clear_table(conn, path, true);
            }
            WatchKind::Child => {
                self.clear_table(conn, path, false);
            }
            WatchKind::Persistent | WatchKind::Recursive => {
                self.clear_table(conn, path, true);
                self.clear_table(conn, path, false);
            }
            _ => {}
        }
        self.insert(conn, path, kind);
    }

    /// Clears `conn`'s registration at `path` in one table; a registration in both tables
    /// keeps its other half. True if there was one.
    fn clear_table(&mut self, conn: ConnId, path: &str, data_table: bool) -> bool {
        let mut removed = false;
        for kind in KINDS {
            if kind.in_table(data_table) && self.take(conn, path, kind) {
                removed = true;
                if let Some((data_half, child_half)) = kind.halves() {
                    self.insert(conn, path, if data_table { child_half } else { data_half });
                }
            }
        }
        removed
    }

    fn insert(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
        let set = self.by_path[kind as usize]
            .entry(String::from(path))
            .or_default();
        if set.insert(conn) && kind.is_recursive() {
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
            if kind.is_recursive() {
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
            if kind.is_recursive() {
                self.recursive_count -= 1;
            }
        }
    }

    /// The registrations a persistent watcher type (3.9's types 4 and 5) names.
    fn persistent_kinds(wt: WatcherType) -> &'static [WatchKind] {
        match wt {
            WatcherType::Persistent => &[
                WatchKind::Persistent,
                WatchKind::PersistentData,
                WatchKind::PersistentChild,
            ],
            WatcherType::PersistentRecursive => &[
                WatchKind::Recursive,
                WatchKind::RecursiveData,
                WatchKind::RecursiveChild,
            ],
            _ => &[],
        }
    }

    fn holds(&self, conn: ConnId, path: &str, kind: WatchKind) -> bool {
        self.by_path[kind as usize]
            .get(path)
            .is_some_and(|s| s.contains(&conn))
    }

    /// True if `conn` has a watch of type `wt` on `path` (checkWatches).
    pub fn has(&self, conn: ConnId, path: &str, wt: WatcherType) -> bool {
        let in_table = |data_table: bool| {
            KINDS
                .iter()
                .any(|k| k.in_table(data_table) && self.holds(conn, path, *k))
        };
        match wt {
            WatcherType::Data => in_table(true),
            WatcherType::Children => in_table(false),
            WatcherType::Any => in_table(true) || in_table(false),
            _ => Self::persistent_kinds(wt)
                .iter()
                .any(|k| self.holds(conn, path, *k)),
        }
    }

    /// Removes `conn`'s watches of type `wt` on `path` (removeWatches); false if none matched.
    /// A persistent or recursive watch removed through one table keeps its other half.
    pub fn remove(&mut self, conn: ConnId, path: &str, wt: WatcherType) -> bool {
        match wt {
            WatcherType::Data => self.clear_table(conn, path, true),
            WatcherType::Children => self.clear_table(conn, path, false),
            WatcherType::Any => {
                let data = self.clear_table(conn, path, true);
                self.clear_table(conn, path, false) || data
            }
            _ => {
                let mut any = false;
                for k in Self::persistent_kinds(wt) {
                    any |= self.take(conn, path, *k);
                }
                any
            }
        }
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
        let at_path: &[WatchKind] = match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                &[WatchKind::Persistent, WatchKind::PersistentData]
            }
            EventType::NodeDeleted => &[
                WatchKind::Persistent,
                WatchKind::PersistentData,
                WatchKind::PersistentChild,
            ],
            EventType::NodeChildrenChanged => &[WatchKind::Persistent, WatchKind::PersistentChild],
            _ => &[],
        };
        for kind in at_path {
            if let Some(set) = self.by_path[*kind as usize].get(path) {
                hit.extend(set.iter().copied());
            }
        }
        // Recursive watches see creations, changes and deletions at or below their path,
        // never child events; a child half alone sees only deletions.
        let recursive: &[WatchKind] = match event {
            EventType::NodeCreated | EventType::NodeDataChanged => {
                &[WatchKind::Recursive, WatchKind::RecursiveData]
            }
            EventType::NodeDeleted => &[
                WatchKind::Recursive,
                WatchKind::RecursiveData,
                WatchKind::RecursiveChild,
            ],
            _ => &[],
        };
        if self.recursive_count > 0 && !recursive.is_empty() {
            let mut p = Some(path);
            while let Some(at) = p {
                for kind in recursive {
                    if let Some(set) = self.by_path[*kind as usize].get(at) {
                        hit.extend(set.iter().copied());
                    }
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
        // ZooKeeper 3.8.0 puts a recursive watch in the child table too.
        assert!(w.has(1, "/r", WatcherType::Children));
        // Its child half, left alone, still sees deletions below (and nothing else).
        assert!(w.remove(1, "/r", WatcherType::Data));
        assert!(!w.has(1, "/r", WatcherType::Data));
        assert_eq!(w.trigger("/r/a", EventType::NodeCreated), Vec::<u64>::new());
        assert_eq!(
            w.trigger("/r/a", EventType::NodeDataChanged),
            Vec::<u64>::new()
        );
        assert_eq!(w.trigger("/r/a", EventType::NodeDeleted), vec![1]);
        assert!(w.remove(1, "/r", WatcherType::Children));
        assert_eq!(w.trigger("/r/a", EventType::NodeDeleted), Vec::<u64>::new());
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
        // Left: conn 1's data half on /p, conn 2's child half on /r and conn 3's persistent
        // watch on /q.
        assert_eq!(w.count(), 3);
        assert_eq!(w.trigger("/r/y", EventType::NodeDeleted), vec![2]);
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
