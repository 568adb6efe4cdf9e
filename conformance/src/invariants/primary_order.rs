//! **Primary order.** Within a server's applied sequence, zxids strictly increase, and an
//! epoch never reappears after a later one.
//!
//! Source: Zab paper [Zab11] §III, *Local primary order* ("if a primary broadcasts ⟨v, z⟩
//! before ⟨v', z'⟩, a process that delivers ⟨v', z'⟩ delivers ⟨v, z⟩ before") and *Global
//! primary order* (txns of an earlier epoch are delivered before those of a later one);
//! protocol reference §2.9.
//!
//! A "sequence" starts where the server's state was last loaded from a snapshot: at process
//! start (the snapshot on disk) or when a leader installs one (SNAP sync). The simulator
//! calls [`PrimaryOrder::reset`] then.

use std::collections::BTreeMap;

use conclave_core::{ServerId, Zxid};

/// The last applied zxid of each server's current sequence.
#[derive(Clone, Debug, Default)]
pub struct PrimaryOrder {
    last: BTreeMap<ServerId, Zxid>,
}

impl PrimaryOrder {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "primary_order";

    /// `node`'s state was loaded from a snapshot at `zxid`: a new sequence starts after it.
    pub fn reset(&mut self, node: ServerId, zxid: Zxid) {
        self.last.insert(node, zxid);
    }

    /// `node` applied `zxid`.
    pub fn applied(&mut self, node: ServerId, zxid: Zxid) -> Result<(), String> {
        let last = self.last.insert(node, zxid).unwrap_or(Zxid::ZERO);
        if zxid.epoch() < last.epoch() {
            return Err(format!(
                "n{node} applied zxid {zxid} of epoch {} after zxid {last} of the later epoch {}",
                zxid.epoch(),
                last.epoch()
            ));
        }
        if zxid <= last {
            return Err(format!(
                "n{node} applied zxid {zxid} after {last}: zxids must strictly increase"
            ));
        }
        Ok(())
    }
}
