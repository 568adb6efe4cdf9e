//! **A one-shot watch fires at most once, and before the change is visible.** On one
//! connection, a data or exist watch left by `getData`/`exists` produces at most one
//! notification, and no later reply on that connection shows the watched node changed (other
//! `mzxid`, or created / deleted) before that notification arrived.
//!
//! Source: ZooKeeper Programmer's Guide, *ZooKeeper Watches*: "Watches are one time
//! triggers" and "a client will see a watch event for a znode before seeing the new data for
//! that znode" (the server queues the notification on the connection before any later reply).

use std::collections::BTreeMap;

/// Armed watches per (connection, path): the node state the client saw when it armed
/// (`Some(mzxid)`, or `None` for a missing node watched by `exists`).
#[derive(Clone, Debug, Default)]
pub struct WatchOnce {
    armed: BTreeMap<(u64, String), Option<i64>>,
}

impl WatchOnce {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "watch_once";

    /// A reply on `conn` showed `path` in state `seen` (`None`: missing); `arm` if the request
    /// left a watch.
    pub fn read(
        &mut self,
        conn: u64,
        path: &str,
        seen: Option<i64>,
        arm: bool,
    ) -> Result<(), String> {
        let key = (conn, path.to_string());
        if let Some(&before) = self.armed.get(&key) {
            if before != seen {
                return Err(format!(
                    "conn {conn}: a reply showed {path} as {} while the watch armed at {} had \
                     not fired (the change became visible before its event)",
                    state(seen),
                    state(before)
                ));
            }
        }
        if arm {
            self.armed.insert(key, seen);
        }
        Ok(())
    }

    /// A notification for `path` arrived on `conn`.
    pub fn fired(&mut self, conn: u64, path: &str, what: &str) -> Result<(), String> {
        match self.armed.remove(&(conn, path.to_string())) {
            Some(_) => Ok(()),
            None => Err(format!(
                "conn {conn}: {what} on {path} with no watch armed there (a watch fired twice, \
                 or fired without a registration)"
            )),
        }
    }

    /// `conn` closed: its watches are gone.
    pub fn closed(&mut self, conn: u64) {
        self.armed.retain(|(c, _), _| *c != conn);
    }
}

fn state(s: Option<i64>) -> String {
    match s {
        Some(m) => format!("mzxid {m:#x}"),
        None => "missing".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_event_or_an_early_change_is_caught() {
        let mut w = WatchOnce::default();
        w.read(1, "/a", Some(5), true).unwrap();
        w.read(1, "/a", Some(5), false).unwrap();
        assert!(
            w.read(1, "/a", Some(6), false).is_err(),
            "change seen first"
        );
        w.fired(1, "/a", "NodeDataChanged").unwrap();
        assert!(w.fired(1, "/a", "NodeDataChanged").is_err(), "fired twice");
        w.read(1, "/a", Some(6), false).unwrap();
        w.read(2, "/b", None, true).unwrap();
        w.closed(2);
        assert!(w.fired(2, "/b", "NodeCreated").is_err());
    }
}
