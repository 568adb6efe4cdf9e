//! Learner: discovery, sync and broadcast, asserting exact outputs.

use super::*;
use crate::zab::test_world::{h, ms, txn, World, TIMING};
use crate::zab::{RegisterMap, ReplicatedState, StateMachine};
use alloc::string::String;
use alloc::vec;

impl World {
    fn sends(&mut self) -> Vec<PeerMessage> {
        self.take()
            .into_iter()
            .filter_map(|o| match o {
                ZabOutput::Send(3, m) => Some(m),
                _ => None,
            })
            .collect()
    }
}

fn follower_in_sync(w: &mut World) -> Learner {
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(1, &mut w.ctx());
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 2 },
        h(1, 1, w.log.last_logged()),
        &mut w.ctx(),
    );
    f.on_persisted(
        AfterPersist::LearnerEpochAccepted { current_epoch: 1 },
        &mut w.ctx(),
    );
    w.take();
    f
}

#[test]
fn learner_introduces_itself_and_retries_until_the_leader_answers() {
    let mut w = World::new(&[]);
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(1, &mut w.ctx());
    let hello = PeerMessage::FollowerInfo {
        accepted_epoch: 1,
        observer: false,
        attempt: 4,
    };
    assert_eq!(w.sends(), vec![hello.clone()]);
    w.now = ms(100);
    f.on_timer(1, &mut w.ctx());
    assert_eq!(w.sends(), vec![hello]);
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 1 },
        h(1, 1, Zxid::ZERO),
        &mut w.ctx(),
    );
    w.take();
    w.now = ms(200);
    f.on_timer(1, &mut w.ctx());
    assert_eq!(w.sends(), vec![]);
}

#[test]
fn learner_promises_durably_then_syncs_durably_before_acking_newleader() {
    let mut w = World::new(&[txn(1, 1)]);
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(1, &mut w.ctx());
    w.take();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 2 },
        h(1, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 1,
            then: AfterPersist::LearnerEpochAccepted { current_epoch: 1 }
        }]
    );
    f.on_persisted(
        AfterPersist::LearnerEpochAccepted { current_epoch: 1 },
        &mut w.ctx(),
    );
    assert_eq!(
        w.sends(),
        vec![PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 1)
        }]
    );
    f.on_message(
        3,
        PeerMessage::SyncBegin(SyncMode::Diff),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    f.on_message(
        3,
        PeerMessage::Proposal(txn(1, 2)),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    w.take();
    f.on_message(
        3,
        PeerMessage::NewLeader { epoch: 2 },
        h(2, 1, Zxid::new(1, 2)),
        &mut w.ctx(),
    );
    // The synced txns are made durable first, then the epoch is adopted.
    let out = w.take();
    assert!(
        matches!(out[0], ZabOutput::Persist(PersistOp::Sync { .. }, Some(AfterPersist::LogDurable(z))) if z == Zxid::new(1, 2))
    );
    assert_eq!(
        out[1],
        ZabOutput::PersistEpochs {
            accepted: 2,
            current: 2,
            then: AfterPersist::LearnerEpochCurrent { epoch: 2 }
        }
    );
    w.log.mark_durable(Zxid::new(1, 2));
    f.on_persisted(AfterPersist::LearnerEpochCurrent { epoch: 2 }, &mut w.ctx());
    assert_eq!(
        w.sends(),
        vec![
            PeerMessage::Ack {
                zxid: Zxid::new(2, 0)
            },
            PeerMessage::Ack {
                zxid: Zxid::new(1, 2)
            }
        ]
    );
    f.on_message(
        3,
        PeerMessage::Commit {
            zxid: Zxid::new(1, 2),
        },
        h(2, 2, Zxid::new(1, 2)),
        &mut w.ctx(),
    );
    f.on_message(
        3,
        PeerMessage::UpToDate,
        h(2, 2, Zxid::new(1, 2)),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::Synced {
            leader: 3,
            epoch: 2
        }]
    );
    assert_eq!(w.log.last_committed(), Zxid::new(1, 2));
    assert_eq!(f.synced_epoch(), Some(2));
}

#[test]
fn trunc_cuts_uncommitted_history_and_refuses_committed() {
    let mut w = World::new(&[txn(1, 1), txn(1, 2), txn(1, 3)]);
    let mut f = follower_in_sync(&mut w);
    f.on_message(
        3,
        PeerMessage::SyncBegin(SyncMode::Trunc {
            to: Zxid::new(1, 1),
        }),
        h(2, 1, Zxid::new(1, 3)),
        &mut w.ctx(),
    );
    assert_eq!(w.log.last_logged(), Zxid::new(1, 1));
    assert!(w
        .take()
        .iter()
        .any(|o| matches!(o, ZabOutput::Persist(PersistOp::Truncate { .. }, None))));
    let mut w = World::new(&[txn(1, 1), txn(1, 2)]);
    w.log.commit(Zxid::new(1, 2));
    let mut f = follower_in_sync(&mut w);
    f.on_message(
        3,
        PeerMessage::SyncBegin(SyncMode::Trunc {
            to: Zxid::new(1, 1),
        }),
        h(2, 1, Zxid::new(1, 2)),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::Protocol(
            "TRUNC into committed history"
        ))]
    );
}

#[test]
fn snap_replaces_state_and_log_and_writes_the_snapshot_file() {
    let mut w = World::new(&[txn(1, 1)]);
    let mut f = follower_in_sync(&mut w);
    let mut source = RegisterMap::default();
    source.apply(&txn(2, 5).header, &RegisterMap::write(42, 7));
    let state = source.snapshot();
    let z = Zxid::new(2, 5);
    f.on_message(
        3,
        PeerMessage::SyncBegin(SyncMode::Snap { zxid: z }),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    f.on_message(
        3,
        PeerMessage::SnapChunk(state[..2].to_vec()),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    f.on_message(
        3,
        PeerMessage::SnapChunk(state[2..].to_vec()),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    f.on_message(
        3,
        PeerMessage::SnapEnd,
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    assert_eq!(w.sm.get(42), Some(7));
    assert_eq!((w.log.last_logged(), w.log.last_applied()), (z, z));
    let ops: Vec<PersistOp> = w
        .take()
        .into_iter()
        .filter_map(|o| match o {
            ZabOutput::Persist(op, _) => Some(op),
            _ => None,
        })
        .collect();
    // The snapshot is in place (temp, sync, rename) before the old segments go (ZOOKEEPER-3642).
    let tmp = String::from("snapshot.200000005.tmp");
    assert_eq!(ops[0], PersistOp::Create { file: tmp.clone() });
    assert!(matches!(&ops[1], PersistOp::Append { file, .. } if *file == tmp));
    assert_eq!(ops[2], PersistOp::Sync { file: tmp.clone() });
    assert_eq!(
        ops[3],
        PersistOp::Rename {
            from: tmp,
            to: "snapshot.200000005".into()
        }
    );
    assert_eq!(
        ops[4],
        PersistOp::Remove {
            file: "log.100000001".into()
        }
    );
}

#[test]
fn learner_rejects_an_epoch_older_than_its_promise_and_answers_a_repeated_one() {
    let mut w = World::new(&[]);
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(5, &mut w.ctx());
    w.take();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 4 },
        h(5, 5, Zxid::ZERO),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::StaleEpoch {
            offered: 4,
            accepted: 5
        })]
    );
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(5, &mut w.ctx());
    w.take();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 5 },
        h(5, 4, Zxid::ZERO),
        &mut w.ctx(),
    );
    assert_eq!(
        w.sends(),
        vec![PeerMessage::AckEpoch {
            current_epoch: None,
            last_zxid: Zxid::ZERO
        }]
    );
}

#[test]
fn learner_ignores_other_peers_and_leaves_a_lost_or_silent_leader() {
    let mut w = World::new(&[]);
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(1, &mut w.ctx());
    w.take();
    f.on_message(
        2,
        PeerMessage::LeaderInfo { epoch: 9 },
        h(1, 1, Zxid::ZERO),
        &mut w.ctx(),
    );
    f.on_peer_down(2, &mut w.ctx());
    assert_eq!(w.take(), vec![]);
    f.on_peer_down(3, &mut w.ctx());
    assert_eq!(w.take(), vec![ZabOutput::StepDown(StepDown::LostLeader)]);
    // Silence: initLimit before sync.
    w.now = ms(2000);
    f.on_timer(1, &mut w.ctx());
    assert_eq!(
        w.take().last(),
        Some(&ZabOutput::StepDown(StepDown::InitLimit))
    );
}

#[test]
fn commit_of_an_unknown_txn_is_a_protocol_error() {
    let mut w = World::new(&[]);
    let mut f = follower_in_sync(&mut w);
    f.on_message(
        3,
        PeerMessage::Commit {
            zxid: Zxid::new(2, 9),
        },
        h(2, 1, Zxid::ZERO),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::Protocol(
            "COMMIT of a txn never proposed"
        ))]
    );
}

/// Found by the simulator (seed 345): two servers each following the other exchange
/// FOLLOWERINFO forever; that is no sign of a live leader, so initLimit still expires.
#[test]
fn a_peer_following_us_does_not_keep_us_waiting() {
    let mut w = World::new(&[]);
    let mut f = Learner::new(ms(0), 3, false, 4, TIMING);
    f.on_leader_link_up(1, &mut w.ctx());
    for t in (100..2000).step_by(100) {
        w.now = ms(t);
        let info = PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: false,
            attempt: 9,
        };
        f.on_message(3, info, h(1, 1, Zxid::ZERO), &mut w.ctx());
    }
    w.take();
    w.now = ms(2000);
    f.on_timer(1, &mut w.ctx());
    assert_eq!(
        w.take().last(),
        Some(&ZabOutput::StepDown(StepDown::InitLimit))
    );
}

/// A follower of epoch 2 with txn (1, 1), told to DIFF.
fn diffing_from_1_1() -> (World, Learner) {
    let mut w = World::new(&[txn(1, 1)]);
    let mut f = follower_in_sync(&mut w);
    f.on_message(
        3,
        PeerMessage::SyncBegin(SyncMode::Diff),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    (w, f)
}

/// Regression (the conformance suite, peer sends reordered on purpose): a proposal that skips
/// a counter of the epoch is refused and the learner starts over, instead of logging past a
/// hole that the resync from its last zxid would never fill.
#[test]
fn a_gap_in_an_epochs_proposals_makes_the_learner_start_over() {
    let (mut w, mut f) = diffing_from_1_1();
    w.take();
    f.on_message(
        3,
        PeerMessage::Proposal(txn(1, 3)),
        h(2, 1, Zxid::new(1, 1)),
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::Protocol(
            "a gap in the epoch's proposals"
        ))]
    );
    assert_eq!(
        w.log.last_logged(),
        Zxid::new(1, 1),
        "nothing logged past the gap"
    );
    // The next counter, and the first of a later epoch, are taken.
    let (mut w, mut f) = diffing_from_1_1();
    for t in [txn(1, 2), txn(2, 1)] {
        f.on_message(
            3,
            PeerMessage::Proposal(t),
            h(2, 1, Zxid::new(1, 1)),
            &mut w.ctx(),
        );
    }
    assert!(!w.take().iter().any(|o| matches!(o, ZabOutput::StepDown(_))));
    assert_eq!(w.log.last_logged(), Zxid::new(2, 1));
}
