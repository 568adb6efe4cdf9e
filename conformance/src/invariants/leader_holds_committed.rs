//! **A leader holds every committed txn.** When a leader emits `LeaderEstablished { epoch: e }`,
//! its last logged zxid is at least every zxid of an epoch before `e` applied anywhere so far:
//! it broadcasts only once its initial history contains everything committed before it.
//!
//! Only earlier epochs count, as in the paper's property: a leader whose process was paused may
//! establish `e` late, from acknowledgements sent before its followers moved on to a later
//! epoch that has committed txns since. That zombie cannot commit anything new (its followers
//! promised the later epoch), and the txns it then applies are checked by
//! `agreement_total_order`.
//!
//! Source: Zab paper [Zab11] §III, *Primary integrity* ("if a primary ρe broadcasts ⟨v, z⟩
//! and some process delivers ⟨v', z'⟩ broadcast by ρe' with e' < e, then ρe delivered
//! ⟨v', z'⟩ before broadcasting ⟨v, z⟩"), achieved by discovery choosing the most up-to-date
//! history of a quorum (§IV-A); protocol reference §2.9.

use std::collections::BTreeMap;

use conclave_core::{ServerId, Status, Zxid};

/// The highest zxid applied anywhere, per epoch, and who applied it.
#[derive(Clone, Debug, Default)]
pub struct LeaderHoldsCommitted {
    max_applied: BTreeMap<u32, (Zxid, ServerId)>,
}

impl LeaderHoldsCommitted {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "leader_holds_committed";

    /// `node` applied `zxid`.
    pub fn applied(&mut self, node: ServerId, zxid: Zxid) {
        let e = self.max_applied.entry(zxid.epoch()).or_insert((zxid, node));
        if zxid > e.0 {
            *e = (zxid, node);
        }
    }

    /// `status` is the leader's, as it emits `LeaderEstablished { epoch }`.
    pub fn established(&self, epoch: u32, status: &Status) -> Result<(), String> {
        let Some((_, &(max, by))) = self.max_applied.range(..epoch).next_back() else {
            return Ok(());
        };
        if status.last_zxid >= max {
            return Ok(());
        }
        Err(format!(
            "n{} established epoch {epoch} with last zxid {}, but n{by} already applied zxid {max} \
             of an earlier epoch",
            status.my_id, status.last_zxid
        ))
    }
}
