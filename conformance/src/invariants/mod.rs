//! Safety and liveness properties, one file each, checked as every event is drained.
//!
//! Each checker sees the event *before* it is added to the shared [`History`], so "earlier"
//! in a property means strictly earlier in the trace.

mod followers_follow_leader;
mod leader_has_quorum;
mod leader_is_maximal;
mod liveness;
mod one_leader_per_epoch;

use std::collections::BTreeSet;

use conclave_core::quorum::{Majority, QuorumVerifier};
use conclave_core::{NodeEvent, Recovered, ServerId};

pub use followers_follow_leader::FollowersFollowLeader;
pub use leader_has_quorum::LeaderHasQuorum;
pub use leader_is_maximal::LeaderIsMaximal;
pub use liveness::{serving_leader, Liveness};
pub use one_leader_per_epoch::OneLeaderPerEpoch;

use crate::history::History;

/// What a checker may look at besides the event itself.
#[derive(Clone, Copy, Debug)]
pub struct EventContext<'a> {
    /// Simulated time, ns.
    pub now_ns: u64,
    /// The server that emitted the event.
    pub node: ServerId,
    /// Everything emitted before this event.
    pub history: &'a History,
    /// The ensemble's voters.
    pub quorum: &'a Majority,
}

impl EventContext<'_> {
    /// True if `ids` holds a majority of the voters.
    pub fn is_quorum(&self, ids: &[ServerId]) -> bool {
        let set: BTreeSet<ServerId> = ids.iter().copied().collect();
        self.quorum.is_quorum(&set)
    }
}

/// A property that failed: which, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The invariant's name.
    pub invariant: &'static str,
    /// What was wrong.
    pub detail: String,
}

/// All checkers of a run and the history they share.
#[derive(Debug)]
pub struct Invariants {
    history: History,
    quorum: Majority,
    one_leader_per_epoch: OneLeaderPerEpoch,
    leader_has_quorum: LeaderHasQuorum,
    leader_is_maximal: LeaderIsMaximal,
    followers_follow_leader: FollowersFollowLeader,
    /// The liveness checker (driven by the simulator with node statuses).
    pub liveness: Liveness,
}

impl Invariants {
    /// Checkers for an ensemble of `voters`, healing at `heal_at_ns`, with the liveness bound.
    pub fn new(voters: &[ServerId], heal_at_ns: u64, liveness_bound_ms: u64) -> Invariants {
        Invariants {
            history: History::new(),
            quorum: Majority::new(voters.iter().copied()),
            one_leader_per_epoch: OneLeaderPerEpoch::default(),
            leader_has_quorum: LeaderHasQuorum,
            leader_is_maximal: LeaderIsMaximal,
            followers_follow_leader: FollowersFollowLeader,
            liveness: Liveness::new(heal_at_ns, liveness_bound_ms),
        }
    }

    /// The shared history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// A process of `node` started from `durable`.
    pub fn on_start(&mut self, node: ServerId, durable: &Recovered) {
        self.history.started(node, durable);
    }

    /// The process of `node` died.
    pub fn on_crash(&mut self, node: ServerId) {
        self.history.crashed(node);
    }

    /// Checks one event of `node` against every safety property, then records it.
    pub fn on_event(
        &mut self,
        now_ns: u64,
        node: ServerId,
        ev: &NodeEvent,
        durable: &Recovered,
    ) -> Result<(), Broken> {
        let cx = EventContext {
            now_ns,
            node,
            history: &self.history,
            quorum: &self.quorum,
        };
        let fail = |invariant: &'static str| move |detail: String| Broken { invariant, detail };
        self.one_leader_per_epoch
            .check(&cx, ev)
            .map_err(fail(OneLeaderPerEpoch::NAME))?;
        self.leader_has_quorum
            .check(&cx, ev)
            .map_err(fail(LeaderHasQuorum::NAME))?;
        self.leader_is_maximal
            .check(&cx, ev)
            .map_err(fail(LeaderIsMaximal::NAME))?;
        self.followers_follow_leader
            .check(&cx, ev)
            .map_err(fail(FollowersFollowLeader::NAME))?;
        self.history.record(node, ev, durable);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Each checker must fire on a hand-made trace that breaks its property, and stay quiet
    //! on the corresponding healthy trace.

    use super::*;
    use conclave_core::election::Vote;
    use conclave_core::{Role, Status, Zxid};

    const DISK: Recovered = Recovered {
        accepted_epoch: 1,
        current_epoch: 1,
        last_zxid: Zxid(0x1_0000_0003),
    };

    fn vote(leader: ServerId, epoch: u32) -> Vote {
        Vote {
            leader,
            // Ahead of `DISK` (zxid counter 3), so a vote for anyone beats every starting state.
            zxid: Zxid::new(epoch, 9),
            peer_epoch: epoch,
        }
    }

    fn cast(inv: &mut Invariants, node: ServerId, round: u64, v: Vote) {
        let ev = NodeEvent::VoteCast { round, vote: v };
        inv.on_event(0, node, &ev, &DISK)
            .expect("a vote is always fine");
    }

    fn elected(v: Vote, supporters: &[ServerId]) -> NodeEvent {
        NodeEvent::Elected {
            leader: v.leader,
            vote: v,
            round: 1,
            supporters: supporters.to_vec(),
            took_ms: 1,
        }
    }

    /// Three voters that all start looking from `DISK`.
    fn three() -> Invariants {
        let mut inv = Invariants::new(&[1, 2, 3], 0, 6_000);
        for n in 1..=3 {
            inv.on_start(n, &DISK);
        }
        inv
    }

    /// n1 and n2 vote for n1 in round 1; n1 then n2 decide; n1 establishes `epoch`.
    fn healthy_leadership(inv: &mut Invariants, epoch: u32) {
        let v = vote(1, 1);
        cast(inv, 1, 1, v);
        cast(inv, 2, 1, v);
        inv.on_event(1, 1, &elected(v, &[1, 2]), &DISK)
            .expect("healthy election");
        inv.on_event(1, 2, &elected(v, &[1, 2]), &DISK)
            .expect("healthy follower");
        let est = NodeEvent::LeaderEstablished {
            epoch,
            quorum: vec![1, 2],
        };
        inv.on_event(2, 1, &est, &DISK)
            .expect("healthy establishment");
        let synced = NodeEvent::FollowerSynced { leader: 1, epoch };
        inv.on_event(3, 2, &synced, &DISK).expect("healthy sync");
    }

    fn broken(r: Result<(), Broken>) -> &'static str {
        r.expect_err("the checker should have fired").invariant
    }

    #[test]
    fn healthy_trace_passes() {
        let mut inv = three();
        healthy_leadership(&mut inv, 2);
    }

    #[test]
    fn two_leaders_for_one_epoch() {
        let mut inv = three();
        healthy_leadership(&mut inv, 2);
        let est = NodeEvent::LeaderEstablished {
            epoch: 2,
            quorum: vec![2, 3],
        };
        assert_eq!(
            broken(inv.on_event(9, 3, &est, &DISK)),
            OneLeaderPerEpoch::NAME
        );
    }

    #[test]
    fn election_without_quorum() {
        let mut inv = three();
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        assert_eq!(
            broken(inv.on_event(1, 1, &elected(v, &[1]), &DISK)),
            LeaderHasQuorum::NAME
        );
    }

    #[test]
    fn supporter_that_never_voted() {
        let mut inv = three();
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        cast(&mut inv, 2, 1, vote(2, 1));
        assert_eq!(
            broken(inv.on_event(1, 1, &elected(v, &[1, 2]), &DISK)),
            LeaderHasQuorum::NAME
        );
    }

    #[test]
    fn established_with_a_member_that_follows_another() {
        let mut inv = three();
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        cast(&mut inv, 2, 1, v);
        inv.on_event(1, 1, &elected(v, &[1, 2]), &DISK)
            .expect("healthy election");
        let est = NodeEvent::LeaderEstablished {
            epoch: 2,
            quorum: vec![1, 3],
        };
        assert_eq!(
            broken(inv.on_event(2, 1, &est, &DISK)),
            LeaderHasQuorum::NAME
        );
    }

    #[test]
    fn leader_behind_a_looking_supporter() {
        let mut inv = Invariants::new(&[1, 2, 3], 0, 6_000);
        inv.on_start(1, &DISK);
        // n2 starts looking with a later epoch than the vote it will (wrongly) adopt.
        let ahead = Recovered {
            current_epoch: 3,
            accepted_epoch: 3,
            last_zxid: Zxid::new(3, 1),
        };
        inv.on_start(2, &ahead);
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        cast(&mut inv, 2, 1, v);
        assert_eq!(
            broken(inv.on_event(1, 1, &elected(v, &[1, 2]), &DISK)),
            LeaderIsMaximal::NAME
        );
    }

    #[test]
    fn follower_synced_with_unestablished_leader() {
        let mut inv = three();
        let synced = NodeEvent::FollowerSynced {
            leader: 1,
            epoch: 4,
        };
        assert_eq!(
            broken(inv.on_event(3, 2, &synced, &DISK)),
            FollowersFollowLeader::NAME
        );
    }

    fn status(id: ServerId, role: Role, leader: Option<ServerId>, synced: bool) -> Status {
        Status {
            my_id: id,
            role,
            leader,
            synced,
            accepted_epoch: 1,
            current_epoch: 1,
            last_zxid: Zxid::ZERO,
            round: 1,
            peers_up: Vec::new(),
        }
    }

    #[test]
    fn liveness_needs_one_leader_followed_by_all() {
        let good = vec![
            status(1, Role::Leading, Some(1), true),
            status(2, Role::Following, Some(1), true),
            status(3, Role::Observing, Some(1), true),
        ];
        assert_eq!(serving_leader(&good), Ok(1));
        let mut lagging = good.clone();
        lagging[2].synced = false;
        assert!(serving_leader(&lagging).is_err());
        let mut live = Liveness::new(1_000_000_000, 2_000);
        assert!(
            live.check(1_500_000_000, &lagging).is_ok(),
            "before the deadline"
        );
        assert!(
            live.check(3_000_000_001, &lagging).is_err(),
            "after the deadline"
        );
        let mut live = Liveness::new(1_000_000_000, 2_000);
        assert!(live.check(1_500_000_000, &good).is_ok());
        assert_eq!(live.settle_ms(), Some(500));
        assert!(
            live.finish(9_000_000_000, &lagging).is_err(),
            "settled, then lost"
        );
    }
}
