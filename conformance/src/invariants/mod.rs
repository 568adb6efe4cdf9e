//! Safety and liveness properties, one file each, checked as every event is drained.
//!
//! Each checker sees the event *before* it is added to the shared [`History`], so "earlier"
//! in a property means strictly earlier in the trace.

mod acked_writes_durable;
mod agreement_total_order;
mod committed_never_change;
mod ephemeral_lifetime;
mod followers_follow_leader;
mod integrity;
mod leader_has_quorum;
mod leader_holds_committed;
mod leader_is_maximal;
mod liveness;
mod monotonic_reads;
mod no_reply_before_commit;
mod one_leader_per_epoch;
mod primary_order;
mod sequential_names;
mod session_fifo;
mod sync_then_read;
mod watch_once;

use std::collections::{BTreeMap, BTreeSet};

use conclave_core::quorum::{Majority, QuorumVerifier};
use conclave_core::{NodeEvent, ServerId, Status, Zxid};

pub use acked_writes_durable::AckedWritesDurable;
pub use agreement_total_order::AgreementTotalOrder;
pub use committed_never_change::CommittedNeverChange;
pub use ephemeral_lifetime::EphemeralLifetime;
pub use followers_follow_leader::FollowersFollowLeader;
pub use integrity::Integrity;
pub use leader_has_quorum::LeaderHasQuorum;
pub use leader_holds_committed::LeaderHoldsCommitted;
pub use leader_is_maximal::LeaderIsMaximal;
pub use liveness::{serving_leader, Liveness};
pub use monotonic_reads::MonotonicReads;
pub use no_reply_before_commit::NoReplyBeforeCommit;
pub use one_leader_per_epoch::OneLeaderPerEpoch;
pub use primary_order::PrimaryOrder;
pub use sequential_names::{sequence_of, SequentialNames};
pub use session_fifo::SessionFifo;
pub use sync_then_read::SyncThenRead;
pub use watch_once::WatchOnce;

use crate::history::{History, Position};

/// The closeSession txn type (ZooKeeper opcode -11): the end of a session.
const CLOSE_SESSION: i32 = -11;

/// What a checker may look at besides the event itself.
#[derive(Clone, Copy, Debug)]
pub struct EventContext<'a> {
    /// Simulated time, ns.
    pub now_ns: u64,
    /// The server that emitted the event.
    pub node: ServerId,
    /// Everything emitted before this event.
    pub history: &'a History,
    /// The voters in force at the emitting server (the files', or its latest reconfiguration's).
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
    /// The voters of the files every server starts from.
    quorum: Majority,
    /// Each server's voters in force, when a reconfiguration changed them (its latest
    /// `Reconfigured`; forgotten when it crashes, until it says again).
    reconfigured: BTreeMap<ServerId, Majority>,
    one_leader_per_epoch: OneLeaderPerEpoch,
    leader_has_quorum: LeaderHasQuorum,
    leader_is_maximal: LeaderIsMaximal,
    followers_follow_leader: FollowersFollowLeader,
    integrity: Integrity,
    /// The global commit sequence and each server's place in it.
    pub agreement: AgreementTotalOrder,
    primary_order: PrimaryOrder,
    acked: AckedWritesDurable,
    committed: CommittedNeverChange,
    leader_holds_committed: LeaderHoldsCommitted,
    /// The liveness checker (driven by the simulator with node statuses).
    pub liveness: Liveness,
    /// What ZooKeeper clients observe (fed by the ZooKeeper workload).
    pub clients: ClientContract,
}

/// The ZooKeeper contract as clients see it: one checker per property, fed by the simulated
/// clients with what they send and receive.
#[derive(Debug, Default)]
pub struct ClientContract {
    /// Replies in request order per connection.
    pub fifo: SessionFifo,
    /// Writes answered only once applied where answered.
    pub no_reply_before_commit: NoReplyBeforeCommit,
    /// Reply zxids never decrease within a session.
    pub monotonic_reads: MonotonicReads,
    /// sync + read sees earlier acknowledged writes.
    pub sync_then_read: SyncThenRead,
    /// One-shot watches fire at most once, before the change is visible.
    pub watch_once: WatchOnce,
    /// Sequential counters unique and increasing per parent.
    pub sequential_names: SequentialNames,
    /// Ephemerals live exactly as long as their sessions.
    pub ephemeral_lifetime: EphemeralLifetime,
}

pub(crate) fn broken(invariant: &'static str) -> impl Fn(String) -> Broken {
    move |detail| Broken { invariant, detail }
}

impl Invariants {
    /// Checkers for an ensemble of `voters`, healing at `heal_at_ns`, with the liveness bound.
    ///
    /// `progress_bound_ms`: after healing, a write must commit within it (`None`: no workload).
    pub fn new(
        voters: &[ServerId],
        heal_at_ns: u64,
        liveness_bound_ms: u64,
        progress_bound_ms: Option<u64>,
    ) -> Invariants {
        Invariants {
            history: History::new(),
            quorum: Majority::new(voters.iter().copied()),
            reconfigured: BTreeMap::new(),
            one_leader_per_epoch: OneLeaderPerEpoch::default(),
            leader_has_quorum: LeaderHasQuorum,
            leader_is_maximal: LeaderIsMaximal,
            followers_follow_leader: FollowersFollowLeader,
            integrity: Integrity::default(),
            agreement: AgreementTotalOrder::default(),
            primary_order: PrimaryOrder::default(),
            acked: AckedWritesDurable::default(),
            committed: CommittedNeverChange::default(),
            leader_holds_committed: LeaderHoldsCommitted::default(),
            liveness: Liveness::new(heal_at_ns, liveness_bound_ms, progress_bound_ms),
            clients: ClientContract::default(),
        }
    }

    /// Server-generated txns (createSession, expiry) carry cxid 0 under any session: allow
    /// them (the ZooKeeper workload; the register map only applies what clients submit).
    pub fn allow_server_txns(&mut self) {
        self.integrity.allow_server_txns();
    }

    /// `server` answered the write `(session, xid)` of a ZooKeeper client as committed at
    /// `zxid`, when its `last_applied` was `applied`.
    pub fn on_client_write(
        &mut self,
        now_ns: u64,
        server: ServerId,
        session: i64,
        xid: i32,
        zxid: Zxid,
        applied: Zxid,
    ) -> Result<(), Broken> {
        let committed = self.agreement.txn_at(zxid);
        self.clients
            .no_reply_before_commit
            .write_reply(server, session, xid, zxid, applied, committed)
            .map_err(broken(NoReplyBeforeCommit::NAME))?;
        self.liveness.write_committed(now_ns);
        self.acked
            .acknowledged(now_ns, server, zxid, session, xid, committed)
            .map_err(broken(AckedWritesDurable::NAME))?;
        self.clients
            .ephemeral_lifetime
            .alive(session, zxid.0 as i64)
            .map_err(broken(EphemeralLifetime::NAME))
    }

    /// Acknowledged writes so far.
    pub fn acked_writes(&self) -> u64 {
        self.acked.count()
    }

    /// Distinct txns committed (applied somewhere) so far.
    pub fn committed_txns(&self) -> u64 {
        self.committed.len() as u64
    }

    /// A client submitted `(session_id, cxid)` (or the pre-history holds it).
    pub fn on_submit(&mut self, session_id: i64, cxid: i32) {
        self.integrity.submitted(session_id, cxid);
    }

    /// `node`'s state was loaded from a snapshot at `zxid` (start, or SNAP sync).
    pub fn on_snapshot_loaded(&mut self, node: ServerId, zxid: Zxid) -> Result<(), Broken> {
        self.primary_order.reset(node, zxid);
        self.agreement
            .reset(node, zxid)
            .map_err(broken(AgreementTotalOrder::NAME))
    }

    /// `node` was drained; `status` is its state now.
    pub fn on_drained(&mut self, status: &Status) -> Result<(), Broken> {
        let node = status.my_id;
        if self.agreement.cursor(node) != Some(status.last_applied) {
            self.on_snapshot_loaded(node, status.last_applied)?;
        }
        self.agreement
            .state(node, status.last_applied, status.digest)
            .map_err(broken(AgreementTotalOrder::NAME))
    }

    /// The run ends after its liveness phase: the end-of-run checks.
    pub fn finish(&mut self, statuses: &[Status]) -> Result<(), Broken> {
        self.acked
            .finish(statuses)
            .map_err(broken(AckedWritesDurable::NAME))
    }

    fn on_replication_event(
        &mut self,
        now_ns: u64,
        node: ServerId,
        ev: &NodeEvent,
        status: Option<&Status>,
    ) -> Result<(), Broken> {
        match ev {
            NodeEvent::TxnApplied {
                zxid,
                session_id,
                cxid,
                kind,
            } => {
                let (z, s, c) = (*zxid, *session_id, *cxid);
                self.integrity
                    .applied(node, z, s, c)
                    .map_err(broken(Integrity::NAME))?;
                self.committed
                    .applied(now_ns, node, z, s, c)
                    .map_err(broken(CommittedNeverChange::NAME))?;
                self.primary_order
                    .applied(node, z)
                    .map_err(broken(PrimaryOrder::NAME))?;
                self.agreement
                    .applied(node, z, s, c)
                    .map_err(broken(AgreementTotalOrder::NAME))?;
                self.leader_holds_committed.applied(node, z);
                if *kind == CLOSE_SESSION {
                    self.clients.ephemeral_lifetime.ended(s, z.0 as i64);
                }
            }
            NodeEvent::WriteCommitted {
                session_id,
                cxid,
                zxid,
                ..
            } => {
                self.liveness.write_committed(now_ns);
                let committed = self.agreement.txn_at(*zxid);
                self.acked
                    .acknowledged(now_ns, node, *zxid, *session_id, *cxid, committed)
                    .map_err(broken(AckedWritesDurable::NAME))?;
            }
            NodeEvent::LeaderEstablished { epoch, .. } => {
                if let Some(st) = status {
                    self.leader_holds_committed
                        .established(*epoch, st)
                        .map_err(broken(LeaderHoldsCommitted::NAME))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The shared history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// A process of `node` started; `status` is its state right after `Node::new`.
    pub fn on_start(&mut self, now_ns: u64, status: &Status) -> Result<(), Broken> {
        self.history
            .started(now_ns, status.my_id, Position::of(status));
        self.on_snapshot_loaded(status.my_id, status.last_applied)?;
        self.on_drained(status)
    }

    /// The process of `node` died.
    pub fn on_crash(&mut self, node: ServerId) {
        self.reconfigured.remove(&node);
        self.history.crashed(node);
        self.agreement.stopped(node);
    }

    /// Checks one event of `node` against every safety property, then records it.
    ///
    /// `pos` is where `node`'s history stands (read for `RoleChanged { to: Looking }`);
    /// `status` its status (read for `LeaderEstablished`).
    pub fn on_event(
        &mut self,
        now_ns: u64,
        node: ServerId,
        ev: &NodeEvent,
        pos: Position,
        status: Option<&Status>,
    ) -> Result<(), Broken> {
        self.on_replication_event(now_ns, node, ev, status)?;
        if let NodeEvent::Reconfigured { voters, .. } = ev {
            self.reconfigured
                .insert(node, Majority::new(voters.iter().copied()));
        }
        let cx = EventContext {
            now_ns,
            node,
            history: &self.history,
            quorum: self.reconfigured.get(&node).unwrap_or(&self.quorum),
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
        self.history.record(now_ns, node, ev, pos);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Each checker must fire on a hand-made trace that breaks its property, and stay quiet
    //! on the corresponding healthy trace.

    use super::*;
    use conclave_core::Vote;
    use conclave_core::{Role, Status, Zxid};

    const DISK: Position = Position {
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
        inv.on_event(0, node, &ev, DISK, None)
            .expect("a vote is always fine");
    }

    fn elected(v: Vote, supporters: &[ServerId]) -> NodeEvent {
        NodeEvent::Elected {
            leader: v.leader,
            vote: v,
            round: 1,
            supporters: supporters.to_vec(),
            took_ms: 1,
            state: conclave_core::Role::Following,
        }
    }

    /// Three voters that all start looking from `DISK`.
    fn three() -> Invariants {
        let mut inv = Invariants::new(&[1, 2, 3], 0, 6_000, None);
        for n in 1..=3 {
            inv.history.started(0, n, DISK);
        }
        inv
    }

    /// n1 and n2 vote for n1 in round 1; n1 then n2 decide; n1 establishes `epoch`.
    fn healthy_leadership(inv: &mut Invariants, epoch: u32) {
        let v = vote(1, 1);
        cast(inv, 1, 1, v);
        cast(inv, 2, 1, v);
        inv.on_event(1, 1, &elected(v, &[1, 2]), DISK, None)
            .expect("healthy election");
        inv.on_event(1, 2, &elected(v, &[1, 2]), DISK, None)
            .expect("healthy follower");
        let est = NodeEvent::LeaderEstablished {
            epoch,
            quorum: vec![1, 2],
        };
        inv.on_event(2, 1, &est, DISK, None)
            .expect("healthy establishment");
        let synced = NodeEvent::FollowerSynced { leader: 1, epoch };
        inv.on_event(3, 2, &synced, DISK, None)
            .expect("healthy sync");
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
            broken(inv.on_event(9, 3, &est, DISK, None)),
            OneLeaderPerEpoch::NAME
        );
    }

    #[test]
    fn election_without_quorum() {
        let mut inv = three();
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        assert_eq!(
            broken(inv.on_event(1, 1, &elected(v, &[1]), DISK, None)),
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
            broken(inv.on_event(1, 1, &elected(v, &[1, 2]), DISK, None)),
            LeaderHasQuorum::NAME
        );
    }

    #[test]
    fn established_with_a_member_that_follows_another() {
        let mut inv = three();
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        cast(&mut inv, 2, 1, v);
        inv.on_event(1, 1, &elected(v, &[1, 2]), DISK, None)
            .expect("healthy election");
        let est = NodeEvent::LeaderEstablished {
            epoch: 2,
            quorum: vec![1, 3],
        };
        assert_eq!(
            broken(inv.on_event(2, 1, &est, DISK, None)),
            LeaderHasQuorum::NAME
        );
    }

    #[test]
    fn leader_behind_a_looking_supporter() {
        let mut inv = Invariants::new(&[1, 2, 3], 0, 6_000, None);
        inv.history.started(0, 1, DISK);
        // n2 starts looking with a later epoch than the vote it will (wrongly) adopt.
        let ahead = Position {
            current_epoch: 3,
            last_zxid: Zxid::new(3, 1),
        };
        inv.history.started(0, 2, ahead);
        let v = vote(1, 1);
        cast(&mut inv, 1, 1, v);
        cast(&mut inv, 2, 1, v);
        assert_eq!(
            broken(inv.on_event(1, 1, &elected(v, &[1, 2]), DISK, None)),
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
            broken(inv.on_event(3, 2, &synced, DISK, None)),
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
            last_committed: Zxid::ZERO,
            last_applied: Zxid::ZERO,
            digest: 0,
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
        let mut live = Liveness::new(1_000_000_000, 2_000, None);
        assert!(
            live.check(1_500_000_000, &lagging).is_ok(),
            "before the deadline"
        );
        assert!(
            live.check(3_000_000_001, &lagging).is_err(),
            "after the deadline"
        );
        let mut live = Liveness::new(1_000_000_000, 2_000, None);
        assert!(live.check(1_500_000_000, &good).is_ok());
        assert_eq!(live.settle_ms(), Some(500));
        assert!(
            live.finish(9_000_000_000, &lagging).is_err(),
            "settled, then lost"
        );
    }

    fn applied(z: Zxid, session_id: i64, cxid: i32) -> NodeEvent {
        NodeEvent::TxnApplied {
            zxid: z,
            session_id,
            cxid,
            kind: 0,
        }
    }

    /// Three running servers at zxid 0; client 1 submitted cxids 1..=5.
    fn replicating() -> Invariants {
        let mut inv = Invariants::new(&[1, 2, 3], 0, 6_000, Some(8_000));
        for n in 1..=3 {
            let mut st = status(n, Role::Looking, None, false);
            st.digest = 7;
            inv.on_start(0, &st).expect("fresh start");
        }
        for c in 1..=5 {
            inv.on_submit(1, c);
        }
        inv
    }

    fn apply(inv: &mut Invariants, node: ServerId, z: Zxid, c: i32) -> Result<(), Broken> {
        inv.on_event(0, node, &applied(z, 1, c), Position::default(), None)
    }

    #[test]
    fn replication_invariants_fire_on_broken_traces() {
        let z = |c| Zxid::new(1, c);
        // Healthy: both apply the same prefix.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        apply(&mut inv, 1, z(2), 2).expect("second");
        apply(&mut inv, 2, z(1), 1).expect("follower prefix");
        // Integrity: nobody submitted cxid 9.
        assert_eq!(broken(apply(&mut inv, 1, z(3), 9)), Integrity::NAME);
        // Committed txns never change: zxid 2 as another txn.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        apply(&mut inv, 1, z(2), 2).expect("second");
        apply(&mut inv, 2, z(1), 1).expect("prefix");
        assert_eq!(
            broken(apply(&mut inv, 2, z(2), 3)),
            CommittedNeverChange::NAME
        );
        // Agreement: a gap (n2 skips zxid 2).
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        apply(&mut inv, 1, z(2), 2).expect("second");
        apply(&mut inv, 1, z(3), 3).expect("third");
        apply(&mut inv, 2, z(1), 1).expect("prefix");
        assert_eq!(
            broken(apply(&mut inv, 2, z(3), 3)),
            AgreementTotalOrder::NAME
        );
        // Agreement: different digests at the same last_applied.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        let mut st = status(1, Role::Leading, Some(1), true);
        st.last_applied = z(1);
        st.digest = 1;
        inv.on_drained(&st).expect("first digest");
        apply(&mut inv, 2, z(1), 1).expect("prefix");
        st.my_id = 2;
        st.digest = 2;
        assert_eq!(broken(inv.on_drained(&st)), AgreementTotalOrder::NAME);
        // Primary order: zxids go back within one sequence.
        let mut inv = replicating();
        apply(&mut inv, 1, z(2), 2).expect("first");
        assert_eq!(broken(apply(&mut inv, 1, z(1), 1)), PrimaryOrder::NAME);
        // Acknowledged write at a zxid that holds another txn.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        let ack = NodeEvent::WriteCommitted {
            session_id: 1,
            cxid: 2,
            zxid: z(1),
            result: Vec::new(),
        };
        assert_eq!(
            broken(inv.on_event(0, 1, &ack, Position::default(), None)),
            AckedWritesDurable::NAME
        );
        // Acknowledged, but a synced server ends the run without it.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        let ack = NodeEvent::WriteCommitted {
            session_id: 1,
            cxid: 1,
            zxid: z(1),
            result: Vec::new(),
        };
        inv.on_event(0, 1, &ack, Position::default(), None)
            .expect("a good ack");
        let lagging = status(2, Role::Following, Some(1), true);
        assert_eq!(broken(inv.finish(&[lagging])), AckedWritesDurable::NAME);
        // A leader of epoch 2 that lacks a txn committed in epoch 1.
        let mut inv = replicating();
        apply(&mut inv, 1, z(1), 1).expect("first");
        let mut st = status(3, Role::Leading, Some(3), true);
        st.last_zxid = Zxid::ZERO;
        let est = NodeEvent::LeaderEstablished {
            epoch: 2,
            quorum: vec![2, 3],
        };
        let r = inv.on_event(0, 3, &est, Position::default(), Some(&st));
        assert_eq!(
            r.expect_err("should fire").invariant,
            LeaderHoldsCommitted::NAME
        );
    }
}
