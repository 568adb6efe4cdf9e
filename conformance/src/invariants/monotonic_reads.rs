//! **Reads never go back in time.** Within one session — across reconnects to other servers —
//! the zxid in reply headers never decreases: a server whose state is behind what the session
//! already saw must refuse the session's connection rather than serve it older data.
//!
//! Source: ZooKeeper Programmer's Guide, *Consistency guarantees* ("a client will never see an
//! older view of the system, even if it reconnects to another server") and
//! `ZooKeeperServer.processConnectRequest`, which refuses a client whose `lastZxidSeen` is
//! ahead of the server.

use std::collections::BTreeMap;

/// The highest reply zxid each session has seen.
#[derive(Clone, Debug, Default)]
pub struct MonotonicReads {
    seen: BTreeMap<i64, i64>,
}

impl MonotonicReads {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "monotonic_reads";

    /// A reply to `session` (from `server`, for `what`) carried `zxid`.
    pub fn reply(
        &mut self,
        session: i64,
        server: u64,
        what: &str,
        zxid: i64,
    ) -> Result<(), String> {
        let last = self.seen.entry(session).or_insert(zxid);
        if zxid < *last {
            return Err(format!(
                "session {session:#x} saw zxid {last:#x}, then n{server} answered {what} at \
                 zxid {zxid:#x}"
            ));
        }
        *last = zxid;
        Ok(())
    }

    /// The session ended: forget it.
    pub fn ended(&mut self, session: i64) {
        self.seen.remove(&session);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_that_goes_back_is_caught() {
        let mut m = MonotonicReads::default();
        assert!(m.reply(9, 1, "getData", 5).is_ok());
        assert!(m.reply(9, 2, "getData", 5).is_ok());
        assert!(
            m.reply(8, 2, "getData", 1).is_ok(),
            "sessions are independent"
        );
        assert!(m.reply(9, 3, "exists", 4).is_err());
    }
}
