//! **Followers follow an established leader.** A learner reports itself synchronized with
//! leader `L` in epoch `e` only after `L` established `e`.
//!
//! Source: Zab phase 2 (synchronization): the leader sends UPTODATE only after a quorum
//! acknowledged NEWLEADER (ZooKeeper `Leader.waitForNewLeaderAck`, then
//! `LearnerHandler` queues UPTODATE), and a learner starts serving only on UPTODATE
//! (`Learner.syncWithLeader`).

use conclave_core::NodeEvent;

use super::EventContext;

/// Stateless: established epochs are in the shared history.
#[derive(Clone, Copy, Debug, Default)]
pub struct FollowersFollowLeader;

impl FollowersFollowLeader {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "followers_follow_leader";

    /// `FollowerSynced { leader, epoch }` needs an earlier `LeaderEstablished { epoch }` by it.
    pub fn check(&mut self, cx: &EventContext<'_>, ev: &NodeEvent) -> Result<(), String> {
        match ev {
            NodeEvent::FollowerSynced { leader, epoch }
                if !cx.history.established(*leader, *epoch) =>
            {
                Err(format!(
                    "n{} synced with n{leader} in epoch {epoch}, which n{leader} never established",
                    cx.node
                ))
            }
            _ => Ok(()),
        }
    }
}
