//! **An ephemeral lives exactly as long as its session.** Once its session has ended (closed
//! or expired) at zxid `e`, no read served at a state `>= e` shows the node; while its session
//! lives, every read served at a state between the node's creation and a later write of that
//! same session shows it, unless the owner asked to delete it.
//!
//! A session ends when its closeSession txn commits: the client's own `closeSession`, or the
//! leader's expiry (both are txns of type closeSession, seen in `TxnApplied`). A
//! client refused as expired has *not* seen its session end: the leader refuses a session it
//! has begun to expire, and if that leader dies before the closeSession commits, the next one
//! revives the session from the tree for another timeout (ZooKeeper does the same), so its
//! ephemerals may outlive the refusal. Reads are placed in the txn order by the zxid in their
//! reply header (the serving server's `last_applied`). A session is proved alive at `w`
//! when one of its writes is acknowledged at `w`: the leader refuses writes of ended sessions.
//!
//! Source: ZooKeeper Programmer's Guide, *Ephemeral Nodes* ("exist as long as the session
//! that created the znode is active. When the session ends the znode is deleted").

use std::collections::BTreeMap;

#[derive(Clone, Debug)]
struct Node {
    owner: i64,
    created: i64,
    delete_asked: bool,
    /// The earliest state at which a read found it missing.
    missing_at: Option<(i64, u64)>,
}

/// Acknowledged ephemerals and ended sessions.
#[derive(Clone, Debug, Default)]
pub struct EphemeralLifetime {
    nodes: BTreeMap<String, Node>,
    /// Session → a state at which it had certainly ended.
    ended: BTreeMap<i64, i64>,
}

impl EphemeralLifetime {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "ephemeral_lifetime";

    /// `session` created ephemeral `path` at `zxid` (acknowledged).
    pub fn created(&mut self, path: &str, session: i64, zxid: i64) {
        self.nodes.insert(
            path.to_string(),
            Node {
                owner: session,
                created: zxid,
                delete_asked: false,
                missing_at: None,
            },
        );
    }

    /// The owner sent a delete of `path` (its outcome may stay unknown).
    pub fn delete_asked(&mut self, path: &str) {
        if let Some(n) = self.nodes.get_mut(path) {
            n.delete_asked = true;
        }
    }

    /// `session` had ended by state `at` (its closeSession committed there).
    pub fn ended(&mut self, session: i64, at: i64) {
        let e = self.ended.entry(session).or_insert(at);
        *e = (*e).min(at);
    }

    /// A read served at state `at` by `server` showed `path` present (owned by `owner`) or
    /// missing (`None`).
    pub fn observed(
        &mut self,
        server: u64,
        path: &str,
        owner: Option<i64>,
        at: i64,
    ) -> Result<(), String> {
        let Some(n) = self.nodes.get_mut(path) else {
            return Ok(());
        };
        match owner {
            Some(o) if o == n.owner => {
                if let Some(&e) = self.ended.get(&o) {
                    if e <= at {
                        return Err(format!(
                            "n{server} showed ephemeral {path} of session {o:#x} at state \
                             {at:#x}, but the session had ended by {e:#x}"
                        ));
                    }
                }
            }
            Some(_) => {}
            None => {
                if at >= n.created && n.missing_at.is_none_or(|(m, _)| at < m) {
                    n.missing_at = Some((at, server));
                }
            }
        }
        Ok(())
    }

    /// A write of `session` was acknowledged at `zxid`: the session lived there.
    pub fn alive(&mut self, session: i64, zxid: i64) -> Result<(), String> {
        for (path, n) in &self.nodes {
            if n.owner != session || n.delete_asked {
                continue;
            }
            if let Some((m, server)) = n.missing_at {
                if m <= zxid {
                    return Err(format!(
                        "n{server} showed ephemeral {path} (created at {:#x}) missing at state \
                         {m:#x}, yet its session {session:#x} was alive at {zxid:#x} and never \
                         deleted it",
                        n.created
                    ));
                }
            }
        }
        Ok(())
    }

    /// Known ephemerals (path, owner).
    pub fn known(&self) -> impl Iterator<Item = (&str, i64)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n.owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ephemeral_outliving_its_session_is_caught() {
        let mut e = EphemeralLifetime::default();
        e.created("/e/a", 7, 10);
        e.observed(1, "/e/a", Some(7), 12).unwrap();
        e.ended(7, 20);
        e.observed(1, "/e/a", Some(7), 19).unwrap();
        assert!(e.observed(2, "/e/a", Some(7), 20).is_err());
    }

    #[test]
    fn an_ephemeral_vanishing_from_a_live_session_is_caught() {
        let mut e = EphemeralLifetime::default();
        e.created("/e/a", 7, 10);
        e.observed(1, "/e/a", None, 9).unwrap();
        e.alive(7, 11).unwrap();
        e.observed(1, "/e/a", None, 15).unwrap();
        e.alive(7, 14).unwrap();
        assert!(e.alive(7, 16).is_err());
        e.delete_asked("/e/a");
        e.alive(7, 17).unwrap();
    }
}
