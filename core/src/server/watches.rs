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
}

const KINDS: [WatchKind; 4] = [
    WatchKind::Data,
    WatchKind::Child,
    WatchKind::Persistent,
    WatchKind::Recursive,
];

/// Every watch of every local connection.
#[derive(Clone, Debug, Default)]
pub struct Watches {
    by_path: [BTreeMap<String, BTreeSet<ConnId>>; 4],
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

    /// Registers a watch (idempotent).
    pub fn add(&mut self, conn: ConnId, path: &str, kind: WatchKind) {
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

    fn kinds_of(wt: WatcherType) -> &'static [WatchKind] {
        match wt {
            WatcherType::Children => &[WatchKind::Child],
            WatcherType::Data => &[WatchKind::Data],
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
    pub fn remove(&mut self, conn: ConnId, path: &str, wt: WatcherType) -> bool {
        let mut any = false;
        for k in Self::kinds_of(wt) {
            any |= self.take(conn, path, *k);
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
        if let Some(set) = self.by_path[WatchKind::Persistent as usize].get(path) {
            hit.extend(set.iter().copied());
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
