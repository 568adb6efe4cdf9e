//! **Integrity.** A server applies only txns some client submitted: every `TxnApplied`
//! names a `(session_id, cxid)` the workload issued (or the seed's pre-history holds).
//!
//! Source: Zab paper [Zab11] (Junqueira, Reed, Serafini, "Zab: High-performance broadcast for
//! primary-backup systems", DSN 2011) §III, *Integrity*: "If some process delivers ⟨v, z⟩,
//! then some process has broadcast ⟨v, z⟩"; protocol reference §2.9.

use std::collections::HashSet;

use conclave_core::{ServerId, Zxid};

/// The set of every `(session_id, cxid)` ever submitted.
#[derive(Clone, Debug, Default)]
pub struct Integrity {
    known: HashSet<(i64, i32)>,
    /// Accept `(session, 0)`: txns the service issues itself (createSession, expiry).
    server_txns: bool,
}

impl Integrity {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "integrity";

    /// Accept txns the service issues itself: cxid 0 under a non-zero session.
    pub fn allow_server_txns(&mut self) {
        self.server_txns = true;
    }

    /// A client submitted (or the pre-history holds) this write.
    pub fn submitted(&mut self, session_id: i64, cxid: i32) {
        self.known.insert((session_id, cxid));
    }

    /// `node` applied `zxid` carrying `(session_id, cxid)`.
    pub fn applied(
        &mut self,
        node: ServerId,
        zxid: Zxid,
        session_id: i64,
        cxid: i32,
    ) -> Result<(), String> {
        if self.known.contains(&(session_id, cxid))
            || (self.server_txns && cxid == 0 && session_id != 0)
        {
            Ok(())
        } else {
            Err(format!(
                "n{node} applied zxid {zxid} as (session {session_id}, cxid {cxid}), which no client submitted"
            ))
        }
    }
}
