//! **Committed txns never change.** A zxid, once applied by any server, always maps to the
//! same txn `(session_id, cxid)` on every server, in every incarnation, for the whole run.
//!
//! Source: Zab paper [Zab11] §III, *Agreement* and *Total order* (a delivered txn has one
//! identity for everyone); protocol reference §2.9 (a committed proposal is never truncated or
//! replaced). Partly covered by `agreement_total_order`; kept separate and deliberately simple:
//! it needs no notion of a server's position.

use std::collections::HashMap;

use conclave_core::{ServerId, Zxid};

/// Every zxid applied anywhere, with its txn and who applied it first, when.
#[derive(Clone, Debug, Default)]
pub struct CommittedNeverChange {
    first: HashMap<Zxid, (i64, i32, ServerId, u64)>,
}

impl CommittedNeverChange {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "committed_never_change";

    /// `node` applied `zxid` carrying `(session_id, cxid)` at `now_ns`.
    pub fn applied(
        &mut self,
        now_ns: u64,
        node: ServerId,
        zxid: Zxid,
        session_id: i64,
        cxid: i32,
    ) -> Result<(), String> {
        let &mut (s, c, by, at) = self
            .first
            .entry(zxid)
            .or_insert((session_id, cxid, node, now_ns));
        if (s, c) == (session_id, cxid) {
            Ok(())
        } else {
            Err(format!(
                "n{node} applied zxid {zxid} as (session {session_id}, cxid {cxid}), but n{by} applied it \
                 as (session {s}, cxid {c}) at {:.3}s",
                at as f64 / 1e9
            ))
        }
    }

    /// How many distinct zxids were applied somewhere.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// True when nothing was applied yet.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}
