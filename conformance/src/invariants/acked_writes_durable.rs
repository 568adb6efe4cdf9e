//! **Acknowledged writes are durable.** Every write a client saw acknowledged
//! (`WriteCommitted { zxid: z }` from the server it submitted to) is in the global commit
//! sequence at `z` with the same `(session_id, cxid)`, and at the end of the run — after the
//! liveness phase, with the workload quiet — every live, synced server has applied it
//! (`last_applied >= z`; with `agreement_total_order` that means it holds exactly that txn).
//!
//! Source: Zab paper [Zab11] §III, *Agreement* and the reliable-delivery guarantee of §II
//! ("a txn delivered by one process is eventually delivered by every correct process"), which
//! is what an acknowledgement to a client promises; protocol reference §2.9.

use conclave_core::{Role, ServerId, Status, Zxid};

/// Every acknowledged write.
#[derive(Clone, Debug, Default)]
pub struct AckedWritesDurable {
    /// (zxid, session, cxid, acknowledging server, time ns).
    acked: Vec<(Zxid, i64, i32, ServerId, u64)>,
    max: Option<(Zxid, i64, i32)>,
}

impl AckedWritesDurable {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "acked_writes_durable";

    /// How many writes were acknowledged.
    pub fn count(&self) -> u64 {
        self.acked.len() as u64
    }

    /// `node` acknowledged `(session_id, cxid)` at `zxid`; `committed` is the global
    /// sequence's txn at `zxid`.
    pub fn acknowledged(
        &mut self,
        now_ns: u64,
        node: ServerId,
        zxid: Zxid,
        session_id: i64,
        cxid: i32,
        committed: Option<(i64, i32)>,
    ) -> Result<(), String> {
        self.acked.push((zxid, session_id, cxid, node, now_ns));
        if self.max.is_none_or(|(z, _, _)| zxid > z) {
            self.max = Some((zxid, session_id, cxid));
        }
        match committed {
            Some(t) if t == (session_id, cxid) => Ok(()),
            Some((s, c)) => Err(format!(
                "n{node} acknowledged (session {session_id}, cxid {cxid}) at zxid {zxid}, but the \
                 global commit sequence holds (session {s}, cxid {c}) there"
            )),
            None => Err(format!(
                "n{node} acknowledged (session {session_id}, cxid {cxid}) at zxid {zxid}, which no \
                 server applied"
            )),
        }
    }

    /// End of run: every live synced server must have applied every acknowledged write.
    pub fn finish(&self, statuses: &[Status]) -> Result<(), String> {
        let Some((z, s, c)) = self.max else {
            return Ok(());
        };
        for st in statuses {
            let synced = st.synced && st.role != Role::Halted;
            if synced && st.last_applied < z {
                return Err(format!(
                    "the run ended with n{} synced ({:?}) at last_applied {}, short of the acknowledged \
                     write (session {s}, cxid {c}) at zxid {z}",
                    st.my_id, st.role, st.last_applied
                ));
            }
        }
        Ok(())
    }
}
