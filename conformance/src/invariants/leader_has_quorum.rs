//! **A leader has a quorum.** A server only decides to lead with the votes of a quorum,
//! and only establishes its epoch with the acknowledgements of a quorum that elected it.
//!
//! Source: Fast Leader Election's termination rule (ZooKeeper
//! `FastLeaderElection.lookForLeader`: `voteSet.hasAllQuorums()` over the received votes of
//! the current `logicalclock`, or over out-of-election FOLLOWING/LEADING notifications for
//! the same leader) and Zab phase 2 (`Leader.waitForNewLeaderAck`: a quorum of ACKs of
//! NEWLEADER before the leader is established).
//!
//! Checked here:
//! * `Elected { leader == me, vote, supporters, round }`: supporters are distinct voters
//!   forming a quorum, and each supporter `s` really cast what was counted: either
//!   `VoteCast { round, vote.leader == me }` (in any incarnation: its notification may outlive
//!   a crash), or its latest `Elected` names me, or — the out-of-election case — it once
//!   announced that it follows me with the winning vote's epoch (its `Elected` vote, or the
//!   epoch it advertised once synced). FLE keeps the last out-of-election notification of each
//!   server for the whole looking period (ZooKeeper's `outofelection` map lives as long as one
//!   `lookForLeader` call), so a supporter may have moved on since; requiring its *latest*
//!   decision to still name me would flag ZooKeeper's own behaviour. Discovery (a quorum of
//!   FOLLOWERINFO within initLimit) is what protects Zab from such a stale count, and the
//!   `LeaderEstablished` check below holds it to the strict form.
//! * `LeaderEstablished { quorum }`: a quorum of voters, including me, and every other member's
//!   latest `Elected` names me — or it followed me during my current term (it decided to
//!   at or after the start of my latest looking period, or had decided to before and still
//!   held that decision when the term began) and moved on since: a leader whose process
//!   was paused handles, late, acknowledgements sent before its followers gave up on it
//!   (ZooKeeper's `waitForNewLeaderAck` counts them too). Such a stale establishment is safe —
//!   those followers adopted this epoch's history before leaving, and promised a later epoch,
//!   so the zombie can commit nothing new — and `leader_holds_committed` checks what it holds.

use std::collections::BTreeSet;

use conclave_core::quorum::QuorumVerifier;
use conclave_core::{NodeEvent, ServerId};

use super::EventContext;

/// Stateless: everything it needs is in the shared history.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeaderHasQuorum;

impl LeaderHasQuorum {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "leader_has_quorum";

    /// Checks `Elected` (for oneself) and `LeaderEstablished`.
    pub fn check(&mut self, cx: &EventContext<'_>, ev: &NodeEvent) -> Result<(), String> {
        match ev {
            NodeEvent::Elected {
                leader,
                vote,
                round,
                supporters,
                ..
            } if *leader == cx.node => check_members(cx, supporters, "supporters of the election")
                .and_then(|()| {
                    for &s in supporters {
                        let voted = cx.history.voted(s, *round, *leader);
                        let follows = cx.history.latest_elected(s) == Some(*leader);
                        let announced = cx.history.advertised(s, *leader, vote.peer_epoch);
                        if !voted && !follows && !announced {
                            return Err(format!(
                                "n{} elected itself in round {round} (epoch {}) counting n{s}, which neither \
                                 voted for it in that round nor ever announced following it in that epoch \
                                 (latest Elected: {:?})",
                                cx.node,
                                vote.peer_epoch,
                                cx.history.latest_elected(s)
                            ));
                        }
                    }
                    Ok(())
                }),
            NodeEvent::LeaderEstablished { epoch, quorum } => {
                // While a reconfiguration is in flight the leader also counts the next
                // membership's voters: those of the membership in force must be a quorum.
                let current: Vec<ServerId> = quorum
                    .iter()
                    .copied()
                    .filter(|m| cx.quorum.is_voter(*m))
                    .collect();
                check_members(cx, &current, "established quorum")?;
                if !quorum.contains(&cx.node) {
                    return Err(format!("n{} established epoch {epoch} with a quorum {quorum:?} that excludes itself", cx.node));
                }
                let term = cx.history.looking_since_ns(cx.node);
                for &m in quorum.iter().filter(|&&m| m != cx.node) {
                    let follows = cx.history.latest_elected(m) == Some(cx.node);
                    if !follows && !cx.history.followed_since(m, cx.node, term) {
                        return Err(format!(
                            "n{} established epoch {epoch} counting n{m}, which did not decide to follow it \
                             since its term began at {:.3}s (latest Elected: {:?})",
                            cx.node,
                            term as f64 / 1e9,
                            cx.history.latest_elected(m)
                        ));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn check_members(cx: &EventContext<'_>, ids: &[ServerId], what: &str) -> Result<(), String> {
    let distinct: BTreeSet<ServerId> = ids.iter().copied().collect();
    if distinct.len() != ids.len() {
        return Err(format!("{what} {ids:?} repeat a server"));
    }
    if let Some(x) = ids.iter().find(|&&x| !cx.quorum.is_voter(x)) {
        return Err(format!("{what} {ids:?} count n{x}, which is not a voter"));
    }
    if !cx.is_quorum(ids) {
        return Err(format!(
            "{what} {ids:?} are not a quorum of {:?}",
            cx.quorum.voters()
        ));
    }
    Ok(())
}
