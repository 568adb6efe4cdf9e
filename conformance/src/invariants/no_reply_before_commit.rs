//! **No reply before commit.** A server answers a successful write only once that write is
//! committed and applied *there*: when the reply leaves the server, its `last_applied` is at
//! least the write's zxid, and the write is in the global commit sequence under the client's
//! `(session, xid)`.
//!
//! Source: Zab paper [Zab11] §II (a server delivers a txn only once committed) and ZooKeeper's
//! `FinalRequestProcessor`, which sends a write's reply only after applying it to the
//! DataTree; protocol reference §2.9.

use conclave_core::{ServerId, Zxid};

/// The checker (stateless: the simulator tags every server write with its `last_applied`).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoReplyBeforeCommit;

impl NoReplyBeforeCommit {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "no_reply_before_commit";

    /// `server` answered `(session, xid)` as written at `zxid`, when its `last_applied` was
    /// `applied`; `committed` is the global sequence's txn at `zxid`.
    pub fn write_reply(
        &self,
        server: ServerId,
        session: i64,
        xid: i32,
        zxid: Zxid,
        applied: Zxid,
        committed: Option<(i64, i32)>,
    ) -> Result<(), String> {
        if applied < zxid {
            return Err(format!(
                "n{server} answered the write (session {session:#x}, xid {xid}) at zxid {zxid} \
                 when it had applied only up to {applied}"
            ));
        }
        if committed.is_none() {
            return Err(format!(
                "n{server} answered the write (session {session:#x}, xid {xid}) at zxid {zxid}, \
                 which no server applied"
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_ahead_of_the_servers_apply_point_is_caught() {
        let c = NoReplyBeforeCommit;
        let z = Zxid::new(1, 5);
        assert!(c.write_reply(1, 7, 1, z, z, Some((7, 1))).is_ok());
        assert!(c
            .write_reply(1, 7, 1, z, Zxid::new(1, 4), Some((7, 1)))
            .is_err());
        assert!(c.write_reply(1, 7, 1, z, z, None).is_err());
    }
}
