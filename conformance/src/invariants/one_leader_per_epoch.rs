//! **One leader per epoch.** At most one server establishes leadership of any epoch.
//!
//! Source: Zab's *primary uniqueness* (Junqueira, Reed, Serafini, "Zab: High-performance
//! broadcast for primary-backup systems", DSN 2011, §III, Property "at most one established
//! leader per epoch"), which ZooKeeper gets from `acceptedEpoch`: a follower acknowledges a
//! new epoch (ACKEPOCH) only once, and a leader proposes an epoch above every acceptedEpoch in
//! its quorum (`Leader.getEpochToPropose`), so two quorums cannot both establish `e`.

use std::collections::BTreeMap;

use conclave_core::{NodeEvent, ServerId};

use super::EventContext;

/// Remembers, for every established epoch, who established it and when.
#[derive(Clone, Debug, Default)]
pub struct OneLeaderPerEpoch {
    leaders: BTreeMap<u32, (ServerId, u64)>,
}

impl OneLeaderPerEpoch {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "one_leader_per_epoch";

    /// `LeaderEstablished { epoch }` must not name an epoch another server established.
    pub fn check(&mut self, cx: &EventContext<'_>, ev: &NodeEvent) -> Result<(), String> {
        let NodeEvent::LeaderEstablished { epoch, .. } = ev else {
            return Ok(());
        };
        match self.leaders.get(epoch) {
            Some(&(other, at)) if other != cx.node => Err(format!(
                "n{} established epoch {epoch}, already established by n{other} at {:.3}s",
                cx.node,
                at as f64 / 1e9
            )),
            Some(_) => Ok(()),
            None => {
                self.leaders.insert(*epoch, (cx.node, cx.now_ns));
                Ok(())
            }
        }
    }
}
