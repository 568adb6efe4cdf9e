//! **The elected leader is maximal.** A leader's winning vote is at least as up to date as
//! every supporter that voted for it while looking: for each supporter `s` still in the
//! looking period in which it voted, `(currentEpoch, lastZxid, id)` of `s` when it started
//! looking is lexicographically `<=` `(peer_epoch, zxid, leader)` of the winning vote.
//!
//! Source: FLE's `totalOrderPredicate` (a server only adopts a vote that beats its own,
//! ordered by epoch, then zxid, then id) and Zab's requirement that the prospective leader
//! holds the most recent history of its quorum (Zab paper §IV-A; ZooKeeper's
//! `Leader.waitForEpochAck` rejects a follower "ahead of the leader"). The starting state is
//! the server's status (currentEpoch, which follows the durable file, and last logged zxid)
//! when it began looking.

use conclave_core::NodeEvent;

use super::EventContext;

/// Stateless: the looking-period snapshots live in the shared history.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaderIsMaximal;

impl LeaderIsMaximal {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "leader_is_maximal";

    /// Checks `Elected` for oneself against each looking supporter's starting state.
    pub fn check(&mut self, cx: &EventContext<'_>, ev: &NodeEvent) -> Result<(), String> {
        let NodeEvent::Elected {
            leader,
            vote,
            round,
            supporters,
            ..
        } = ev
        else {
            return Ok(());
        };
        if *leader != cx.node {
            return Ok(());
        }
        let won = (vote.peer_epoch, vote.zxid, vote.leader);
        for &s in supporters.iter().filter(|&&s| s != cx.node) {
            let Some(h) = cx.history.node(s) else {
                continue;
            };
            // Only a supporter whose counted vote was cast in its current looking period.
            let cast = (*round, vote.peer_epoch, vote.zxid, vote.leader);
            if !(h.alive && h.looking && h.votes_this_period.contains(&cast)) {
                continue;
            }
            let (epoch, zxid) = h.looking_start;
            if (epoch, zxid, s) > won {
                return Err(format!(
                    "n{} won round {round} with (epoch {}, zxid {}, id {}) but supporter n{s} started looking \
                     with (epoch {epoch}, zxid {zxid}, id {s})",
                    cx.node, vote.peer_epoch, vote.zxid, vote.leader
                ));
            }
        }
        Ok(())
    }
}
