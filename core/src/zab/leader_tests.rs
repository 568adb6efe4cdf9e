//! Leader: discovery, synchronization and broadcast, asserting exact outputs.

use super::*;
use crate::codec::peer::SyncMode;
use crate::quorum::Majority;
use crate::zab::test_world::{h, ms, txn, World, TIMING};
use crate::zab::{RegisterMap, ReplicaLog, ReplicatedState};
use alloc::vec;

fn info(accepted_epoch: u32) -> PeerMessage {
    PeerMessage::FollowerInfo {
        accepted_epoch,
        observer: false,
        attempt: 1,
    }
}

impl World {
    /// Drives a leader with `history` through discovery with follower 2 up to NEWLEADER.
    fn established_with_2(&mut self, current: u32) -> Leader {
        let last = self.log.last_logged();
        let mut l = Leader::new(3, h(current, current, last), TIMING, &mut self.ctx());
        l.on_message(2, info(current), &mut self.ctx());
        l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut self.ctx());
        l.on_message(
            2,
            PeerMessage::AckEpoch {
                current_epoch: Some(current),
                last_zxid: last,
            },
            &mut self.ctx(),
        );
        l.on_persisted(AfterPersist::LeaderEpochCurrent, &mut self.ctx());
        l.on_message(
            2,
            PeerMessage::Ack {
                zxid: Zxid::new(current + 1, 0),
            },
            &mut self.ctx(),
        );
        assert!(l.is_established());
        self.take();
        l
    }
}

#[test]
fn leader_fixes_epoch_above_every_accepted_one_in_the_quorum() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(4, 4, Zxid::new(4, 9)), TIMING, &mut w.ctx());
    assert_eq!(w.take(), vec![]);
    l.on_message(2, info(6), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 7,
            current: 4,
            then: AfterPersist::LeaderEpochAccepted
        }]
    );
    // LEADERINFO waits for the promise to be durable.
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::Send(2, PeerMessage::LeaderInfo { epoch: 7 })]
    );
    // A late learner gets the fixed epoch at once; a resend of the same attempt is ignored.
    l.on_message(1, info(7), &mut w.ctx());
    l.on_message(1, info(7), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::Send(1, PeerMessage::LeaderInfo { epoch: 7 })]
    );
}

#[test]
fn a_learner_that_promised_a_newer_epoch_makes_the_leader_start_over() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::ZERO), TIMING, &mut w.ctx());
    l.on_message(2, info(1), &mut w.ctx());
    w.take();
    l.on_message(1, info(5), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::LearnerEpochAhead(1, 5))]
    );
}

#[test]
fn diff_sync_sends_the_missing_history_then_newleader_and_establishes_on_quorum() {
    let history = [txn(1, 1), txn(1, 2), txn(1, 3)];
    let mut w = World::new(&history);
    let mut l = Leader::new(3, h(1, 1, Zxid::new(1, 3)), TIMING, &mut w.ctx());
    l.on_message(2, info(1), &mut w.ctx());
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    w.take();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 1),
        },
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 2,
            then: AfterPersist::LeaderEpochCurrent
        }]
    );
    l.on_persisted(AfterPersist::LeaderEpochCurrent, &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Send(2, PeerMessage::SyncBegin(SyncMode::Diff)),
            ZabOutput::Send(2, PeerMessage::Proposal(txn(1, 2))),
            ZabOutput::Send(2, PeerMessage::Proposal(txn(1, 3))),
            ZabOutput::Send(2, PeerMessage::NewLeader { epoch: 2 }),
        ]
    );
    // An ACK for another zxid is not the NEWLEADER ack.
    l.on_message(
        2,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 1),
        },
        &mut w.ctx(),
    );
    assert_eq!(w.take(), vec![]);
    l.on_message(
        2,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 0),
        },
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Established {
                epoch: 2,
                quorum: vec![2, 3]
            },
            ZabOutput::Send(
                2,
                PeerMessage::Commit {
                    zxid: Zxid::new(1, 3)
                }
            ),
            ZabOutput::Send(2, PeerMessage::UpToDate),
        ]
    );
    // The whole history is committed by the NEWLEADER quorum.
    assert_eq!(w.log.last_committed(), Zxid::new(1, 3));
    l.on_peer_down(2, &mut w.ctx());
    assert_eq!(w.take(), vec![ZabOutput::StepDown(StepDown::LostQuorum)]);
}

#[test]
fn sync_mode_is_diff_trunc_or_snap() {
    let history = [txn(1, 1), txn(1, 2), txn(2, 1), txn(2, 2)];
    let w = World::new(&history);
    // A prefix of ours: DIFF from it.
    assert_eq!(
        choose_sync(&w.log, Zxid::new(1, 2)),
        (SyncMode::Diff, Zxid::new(1, 2))
    );
    assert_eq!(
        choose_sync(&w.log, Zxid::new(2, 2)),
        (SyncMode::Diff, Zxid::new(2, 2))
    );
    // Ahead of us in our last epoch: cut back to our last.
    assert_eq!(
        choose_sync(&w.log, Zxid::new(2, 5)),
        (
            SyncMode::Trunc {
                to: Zxid::new(2, 2)
            },
            Zxid::new(2, 2)
        )
    );
    // A txn we never had inside epoch 1: cut back to the previous shared one.
    assert_eq!(
        choose_sync(&w.log, Zxid::new(1, 3)),
        (
            SyncMode::Trunc {
                to: Zxid::new(1, 2)
            },
            Zxid::new(1, 2)
        )
    );
    // Ahead in an epoch we never led: never TRUNC across epochs, SNAP instead.
    assert_eq!(
        choose_sync(&w.log, Zxid::new(3, 1)),
        (SyncMode::Snap { zxid: Zxid::ZERO }, Zxid::ZERO)
    );
    // Older than our memory reaches: SNAP.
    let mut trimmed = ReplicaLog::new(Vec::new(), Zxid::new(1, 2), vec![txn(2, 1)], 100, 1 << 20);
    trimmed.commit(Zxid::new(2, 1));
    trimmed.apply_committed(&mut RegisterMap::default(), |_, _| {});
    assert_eq!(
        choose_sync(&trimmed, Zxid::new(1, 1)),
        (
            SyncMode::Snap {
                zxid: Zxid::new(2, 1)
            },
            Zxid::new(2, 1)
        )
    );
}

#[test]
fn snap_sync_streams_the_state_in_chunks() {
    let mut w = World::new(&[txn(2, 1)]);
    w.log.commit(Zxid::new(2, 1));
    w.log.apply_committed(&mut w.sm, |_, _| {});
    let mut l = Leader::new(3, h(2, 2, Zxid::new(2, 1)), TIMING, &mut w.ctx());
    l.on_message(2, info(2), &mut w.ctx());
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 7),
        },
        &mut w.ctx(),
    );
    w.take();
    l.on_persisted(AfterPersist::LeaderEpochCurrent, &mut w.ctx());
    let state = w.sm.snapshot();
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Send(
                2,
                PeerMessage::SyncBegin(SyncMode::Snap {
                    zxid: Zxid::new(2, 1)
                })
            ),
            ZabOutput::Send(2, PeerMessage::SnapChunk(state)),
            ZabOutput::Send(2, PeerMessage::SnapEnd),
            ZabOutput::Send(2, PeerMessage::NewLeader { epoch: 3 }),
        ]
    );
}

#[test]
fn broadcast_commits_in_order_once_a_quorum_logged_it() {
    let mut w = World::new(&[]);
    let mut l = w.established_with_2(1);
    let header = TxnHeader {
        zxid: Zxid::ZERO,
        session_id: 5,
        cxid: 1,
        time_ms: 7,
        kind: 0,
    };
    let z1 = l.propose(header, vec![1], &mut w.ctx()).unwrap();
    let z2 = l
        .propose(TxnHeader { cxid: 2, ..header }, vec![2], &mut w.ctx())
        .unwrap();
    assert_eq!((z1, z2), (Zxid::new(2, 1), Zxid::new(2, 2)));
    let sent: Vec<_> = w
        .take()
        .into_iter()
        .filter(|o| matches!(o, ZabOutput::Send(..)))
        .collect();
    assert_eq!(sent.len(), 2);
    // Follower 2 logged both; the leader's own log is not durable yet: no quorum.
    l.on_message(2, PeerMessage::Ack { zxid: z2 }, &mut w.ctx());
    assert_eq!(w.take(), vec![]);
    // Leader durable up to z1 only: z1 commits, z2 waits for the leader's own fsync.
    w.log.mark_durable(z1);
    l.on_persisted(AfterPersist::LogDurable(z1), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::Send(2, PeerMessage::Commit { zxid: z1 })]
    );
    w.log.mark_durable(z2);
    l.on_persisted(AfterPersist::LogDurable(z2), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::Send(2, PeerMessage::Commit { zxid: z2 })]
    );
    assert_eq!(l.outstanding(), 0);
}

#[test]
fn observers_get_inform_and_never_count() {
    let mut w = World::new(&[]);
    let mut l = w.established_with_2(1);
    l.on_message(
        4,
        PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: true,
            attempt: 1,
        },
        &mut w.ctx(),
    );
    l.on_message(
        4,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::ZERO,
        },
        &mut w.ctx(),
    );
    l.on_message(
        4,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 0),
        },
        &mut w.ctx(),
    );
    w.take();
    let header = TxnHeader {
        zxid: Zxid::ZERO,
        session_id: 5,
        cxid: 1,
        time_ms: 7,
        kind: 0,
    };
    let z = l.propose(header, vec![1], &mut w.ctx()).unwrap();
    let proposal_targets: Vec<ServerId> = w
        .take()
        .into_iter()
        .filter_map(|o| match o {
            ZabOutput::Send(to, PeerMessage::Proposal(_)) => Some(to),
            _ => None,
        })
        .collect();
    assert_eq!(proposal_targets, vec![2]);
    // The observer's ack is ignored; the follower's makes the quorum with the leader.
    l.on_message(4, PeerMessage::Ack { zxid: z }, &mut w.ctx());
    w.log.mark_durable(z);
    l.on_persisted(AfterPersist::LogDurable(z), &mut w.ctx());
    assert_eq!(w.take(), vec![]);
    l.on_message(2, PeerMessage::Ack { zxid: z }, &mut w.ctx());
    let txn = Txn {
        header: TxnHeader { zxid: z, ..header },
        body: vec![1].into(),
    };
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Send(2, PeerMessage::Commit { zxid: z }),
            ZabOutput::Send(4, PeerMessage::Inform(txn)),
        ]
    );
}

#[test]
fn leader_steps_down_when_a_voter_in_the_quorum_is_ahead() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::new(1, 5)), TIMING, &mut w.ctx());
    l.on_message(2, info(1), &mut w.ctx());
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    w.take();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 6),
        },
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::FollowerAhead(2))]
    );
}

#[test]
fn ackepoch_without_current_epoch_is_not_counted() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::ZERO), TIMING, &mut w.ctx());
    l.on_message(2, info(1), &mut w.ctx());
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    w.take();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: None,
            last_zxid: Zxid::ZERO,
        },
        &mut w.ctx(),
    );
    assert_eq!(w.take(), vec![]);
}

#[test]
fn observers_never_count_towards_discovery_quorums() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::ZERO), TIMING, &mut w.ctx());
    l.on_message(
        4,
        PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: true,
            attempt: 1,
        },
        &mut w.ctx(),
    );
    // A voter that claims to be an observer does not count either.
    l.on_message(
        2,
        PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: true,
            attempt: 1,
        },
        &mut w.ctx(),
    );
    assert_eq!(w.take(), vec![]);
    assert_eq!(l.epoch(), None);
}

/// Found by `no_faults` (seed 8, 5 voters + 2 observers) once elections stopped waiting: an
/// observer that promised epoch 4 reached the leader before the epoch was fixed, but only
/// voters' promises raised it, so the observer could never join epoch 2. ZooKeeper's
/// getEpochToPropose takes every learner's promise; so do we (observers still never count
/// toward the quorum).
#[test]
fn an_observers_promise_raises_the_epoch_without_counting_toward_the_quorum() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::ZERO), TIMING, &mut w.ctx());
    l.on_message(
        4,
        PeerMessage::FollowerInfo {
            accepted_epoch: 4,
            observer: true,
            attempt: 1,
        },
        &mut w.ctx(),
    );
    assert_eq!(w.take(), vec![], "an observer is no quorum");
    l.on_message(2, info(1), &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 5,
            current: 1,
            then: AfterPersist::LeaderEpochAccepted
        }]
    );
}

#[test]
fn leader_pings_and_gives_up_after_init_limit() {
    let mut w = World::new(&[]);
    let mut l = Leader::new(3, h(1, 1, Zxid::ZERO), TIMING, &mut w.ctx());
    l.on_message(2, info(1), &mut w.ctx());
    w.take();
    w.now = ms(100);
    l.on_timer(&mut w.ctx());
    assert_eq!(w.take(), vec![ZabOutput::Send(2, PeerMessage::Ping)]);
    w.now = ms(2000);
    l.on_timer(&mut w.ctx());
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Send(2, PeerMessage::Ping),
            ZabOutput::StepDown(StepDown::InitLimit)
        ]
    );
}

#[test]
fn a_follower_sitting_on_a_proposal_past_sync_limit_is_dropped() {
    let mut w = World::new(&[]);
    let mut l = w.established_with_2(1);
    let header = TxnHeader {
        zxid: Zxid::ZERO,
        session_id: 5,
        cxid: 1,
        time_ms: 7,
        kind: 0,
    };
    l.propose(header, vec![1], &mut w.ctx()).unwrap();
    w.take();
    // It answers pings (alive) but never acknowledges the proposal.
    l.heard(2, ms(900));
    w.now = ms(1000);
    l.on_timer(&mut w.ctx());
    assert!(w.take().contains(&ZabOutput::DropPeer(2)));
}

#[test]
fn zookeeper_1277_counter_overflow_forces_a_new_epoch() {
    let mut w = World::new(&[txn(1, MAX_COUNTER)]);
    let mut l = w.established_with_2(1);
    // The history ends in epoch 1; epoch 2 starts fresh, so fill it up to the limit.
    let header = TxnHeader {
        zxid: Zxid::ZERO,
        session_id: 5,
        cxid: 1,
        time_ms: 7,
        kind: 0,
    };
    l.propose(header, vec![], &mut w.ctx()).unwrap();
    w.take();
    l.counter = MAX_COUNTER;
    assert_eq!(l.propose(header, vec![], &mut w.ctx()), None);
    assert_eq!(
        w.take(),
        vec![ZabOutput::StepDown(StepDown::CounterExhausted)]
    );
}

/// Found by the regression scenarios: a learner synced before the leader was established, whose
/// NEWLEADER ack arrives after establishment, must be told what is committed before UPTODATE.
#[test]
fn a_late_newleader_ack_gets_the_commit_point_before_uptodate() {
    let history = [txn(1, 1), txn(1, 2)];
    let mut w = World::new(&history);
    let mut l = Leader::new(3, h(1, 1, Zxid::new(1, 2)), TIMING, &mut w.ctx());
    for id in [1, 2] {
        l.on_message(id, info(1), &mut w.ctx());
    }
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    for id in [1, 2] {
        l.on_message(
            id,
            PeerMessage::AckEpoch {
                current_epoch: Some(1),
                last_zxid: Zxid::new(1, 2),
            },
            &mut w.ctx(),
        );
    }
    l.on_persisted(AfterPersist::LeaderEpochCurrent, &mut w.ctx());
    l.on_message(
        2,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 0),
        },
        &mut w.ctx(),
    );
    assert!(l.is_established());
    w.take();
    l.on_message(
        1,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 0),
        },
        &mut w.ctx(),
    );
    assert_eq!(
        w.take(),
        vec![
            ZabOutput::Send(
                1,
                PeerMessage::Commit {
                    zxid: Zxid::new(1, 2)
                }
            ),
            ZabOutput::Send(1, PeerMessage::UpToDate),
        ]
    );
}

/// ZOOKEEPER-4685: a proposal ACK from a learner that has not acknowledged NEWLEADER is
/// ignored — not counted, and not a reason to step down.
#[test]
fn zookeeper_4685_proposal_ack_before_newleader_ack_is_ignored() {
    let mut w = World::new(&[]);
    let mut l = w.established_with_2(1);
    l.on_message(1, info(1), &mut w.ctx());
    l.on_message(
        1,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::ZERO,
        },
        &mut w.ctx(),
    );
    w.take();
    let header = TxnHeader {
        zxid: Zxid::ZERO,
        session_id: 5,
        cxid: 1,
        time_ms: 7,
        kind: 0,
    };
    let z = l.propose(header, vec![1], &mut w.ctx()).unwrap();
    w.take();
    l.on_message(1, PeerMessage::Ack { zxid: z }, &mut w.ctx());
    w.log.mark_durable(z);
    l.on_persisted(AfterPersist::LogDurable(z), &mut w.ctx());
    // Leader + an unsynced learner is no quorum: nothing commits, nobody steps down.
    assert_eq!(w.take(), vec![]);
    assert_eq!(l.outstanding(), 1);
}

/// Found by the adapter end-to-end tests: a single voter (standalone) must establish on its own.
#[test]
fn a_single_voter_establishes_alone() {
    let mut w = World::new(&[txn(1, 1)]);
    w.q = Majority::new([3]);
    let mut l = Leader::new(3, h(1, 1, Zxid::new(1, 1)), TIMING, &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 1,
            then: AfterPersist::LeaderEpochAccepted
        }]
    );
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 2,
            then: AfterPersist::LeaderEpochCurrent
        }]
    );
    l.on_persisted(AfterPersist::LeaderEpochCurrent, &mut w.ctx());
    assert_eq!(
        w.take(),
        vec![ZabOutput::Established {
            epoch: 2,
            quorum: vec![3]
        }]
    );
    assert_eq!(w.log.last_committed(), Zxid::new(1, 1));
}

/// A snapshot larger than the window goes out a window at a time, each SnapAck releasing
/// more; everything else for that learner (proposals, commits, pings, NEWLEADER) waits behind
/// SNAP end, in order. Found by the soak (`bench --soak`): a 72 MB state was queued on the
/// link at once, the adapter closed the link at 64 MiB, and the learner never synced.
#[test]
fn a_snapshot_larger_than_the_window_waits_for_snap_acks_and_nothing_overtakes_it() {
    let chunks = SNAP_WINDOW_BYTES / SNAP_CHUNK_BYTES;
    let state: Vec<u8> = (0..(2 * chunks + 1) * SNAP_CHUNK_BYTES + 5)
        .map(|i| i as u8)
        .collect();
    let mut h = Handle {
        attempt: 1,
        last_heard: Instant::ZERO,
        observer: false,
        stage: Stage::AckedEpoch,
        last_zxid: Zxid::ZERO,
        acked: Zxid::ZERO,
        snap: Some(SnapSend {
            state: state.clone(),
            ..SnapSend::default()
        }),
    };
    let mut out = Vec::new();
    pump_snapshot(&mut out, 2, &mut h);
    route(&mut out, 2, &mut h, PeerMessage::NewLeader { epoch: 3 });
    route(&mut out, 2, &mut h, PeerMessage::Ping);
    let chunk = |k: usize| {
        let end = ((k + 1) * SNAP_CHUNK_BYTES).min(state.len());
        ZabOutput::Send(
            2,
            PeerMessage::SnapChunk(state[k * SNAP_CHUNK_BYTES..end].to_vec()),
        )
    };
    assert_eq!(out, (0..chunks).map(chunk).collect::<Vec<_>>());
    // Two chunks acknowledged: two more go, no further.
    let mut out = Vec::new();
    h.snap.as_mut().unwrap().acked = 2 * SNAP_CHUNK_BYTES;
    pump_snapshot(&mut out, 2, &mut h);
    assert_eq!(out, vec![chunk(chunks), chunk(chunks + 1)]);
    // Everything acknowledged (twice over, as a confused learner might say): the rest, SNAP
    // end, then what waited, in order; afterwards messages flow directly.
    let mut out = Vec::new();
    let snap = h.snap.as_mut().unwrap();
    snap.acked = snap.sent;
    for _ in 0..2 {
        pump_snapshot(&mut out, 2, &mut h);
        if let Some(s) = h.snap.as_mut() {
            s.acked = s.sent;
        }
    }
    let mut want: Vec<ZabOutput> = (chunks + 2..=2 * chunks + 1).map(chunk).collect();
    want.push(ZabOutput::Send(2, PeerMessage::SnapEnd));
    want.push(ZabOutput::Send(2, PeerMessage::NewLeader { epoch: 3 }));
    want.push(ZabOutput::Send(2, PeerMessage::Ping));
    assert_eq!(out, want);
    assert!(h.snap.is_none());
    let mut out = Vec::new();
    route(&mut out, 2, &mut h, PeerMessage::Ping);
    assert_eq!(out, vec![ZabOutput::Send(2, PeerMessage::Ping)]);
}

/// A learner whose backlog behind its snapshot outgrows the bound is dropped (it syncs again)
/// instead of holding the leader's memory.
#[test]
fn a_backlog_past_its_bound_drops_the_learner() {
    let mut h = Handle {
        attempt: 1,
        last_heard: Instant::ZERO,
        observer: false,
        stage: Stage::NewLeaderSent,
        last_zxid: Zxid::ZERO,
        acked: Zxid::ZERO,
        snap: Some(SnapSend {
            state: vec![0; 3 * SNAP_WINDOW_BYTES],
            sent: SNAP_WINDOW_BYTES,
            ..SnapSend::default()
        }),
    };
    let big = txn(1, 1);
    let big = Txn {
        body: vec![7; 1 << 20].into(),
        ..big
    };
    let mut out = Vec::new();
    for _ in 0..(SNAP_BACKLOG_BYTES >> 20) + 1 {
        route(&mut out, 2, &mut h, PeerMessage::Proposal(big.clone()));
    }
    // Dropped once; what comes after goes nowhere (not past the snapshot, not to memory).
    assert!(
        matches!(out.as_slice(), [ZabOutput::DropPeer(2)]),
        "{} outputs",
        out.len()
    );
    assert!(h
        .snap
        .as_ref()
        .is_some_and(|s| s.dropped && s.backlog.is_empty()));
    let mut out = Vec::new();
    pump_snapshot(&mut out, 2, &mut h);
    assert!(out.is_empty());
}
