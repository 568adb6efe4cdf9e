//! Watches: registering them again after a reconnect (setWatches) and firing them when a
//! committed txn touches what they watch.

#[allow(unused_imports)]
use super::*;

impl ZkService {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn set_watches(
        &mut self,
        conn: ConnId,
        relative_zxid: i64,
        data: &[String],
        exist: &[String],
        child: &[String],
        persistent: &[String],
        recursive: &[String],
        cx: &mut ServiceCx<'_>,
    ) {
        let mut events = Vec::new();
        for path in data {
            match self.tree.node(path) {
                None => events.push((EventType::NodeDeleted, path)),
                Some(n) if n.stat.mzxid > relative_zxid => {
                    events.push((EventType::NodeDataChanged, path))
                }
                Some(_) => self.watches.add(conn, path, WatchKind::Data),
            }
        }
        for path in exist {
            match self.tree.node(path) {
                Some(_) => events.push((EventType::NodeCreated, path)),
                None => self.watches.add(conn, path, WatchKind::Data),
            }
        }
        for path in child {
            match self.tree.node(path) {
                None => events.push((EventType::NodeDeleted, path)),
                Some(n) if n.stat.pzxid > relative_zxid => {
                    events.push((EventType::NodeChildrenChanged, path))
                }
                Some(_) => self.watches.add(conn, path, WatchKind::Child),
            }
        }
        for path in persistent {
            self.watches.add(conn, path, WatchKind::Persistent);
        }
        for path in recursive {
            self.watches.add(conn, path, WatchKind::Recursive);
        }
        for (event_type, path) in events {
            self.notify(conn, event_type, path, cx.last_applied, cx);
        }
    }

    pub(super) fn notify(
        &mut self,
        conn: ConnId,
        event_type: EventType,
        path: &str,
        zxid: Zxid,
        cx: &mut ServiceCx<'_>,
    ) {
        let mut out = Vec::new();
        encode_notification(
            zxid.0 as i64,
            &WatcherEvent {
                event_type,
                state: KeeperState::SyncConnected,
                path: String::from(path),
            },
            &mut out,
        );
        self.send(conn, out, cx);
    }

    /// Fires the local watches of the last applied txn.
    pub(super) fn fire_watches(&mut self, zxid: Zxid, cx: &mut ServiceCx<'_>) {
        for t in self.tree.take_triggers() {
            for conn in self.watches.trigger(&t.path, t.event) {
                // Since 3.8.4 / 3.9.2 (ZOOKEEPER-4799, backported to Debian's 3.8.0) an event
                // is delivered only to a watcher allowed to READ the node; for NodeDeleted, the
                // ACL the node had.
                let acl = t
                    .acl
                    .clone()
                    .or_else(|| self.tree.node(&t.path).map(|n| n.acl.clone()));
                let allowed = match (acl, self.conns.get(&conn)) {
                    (Some(acl), Some(c)) => crate::tree::check_acl(
                        &acl,
                        crate::client::perms::READ,
                        &Caller {
                            auth: &c.auth,
                            super_digest: self.super_digest.as_deref(),
                        },
                    )
                    .is_ok(),
                    _ => true,
                };
                if allowed {
                    self.notify(conn, t.event, &t.path, zxid, cx);
                }
            }
        }
    }
}
