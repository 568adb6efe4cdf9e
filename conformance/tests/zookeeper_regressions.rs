//! Named regression scenarios: each drives a small cluster deterministically into the situation
//! that broke Apache ZooKeeper (protocol reference §2.10) and checks that Conclave holds.
//!
//! The harness here is deliberately tiny and scripted (instant in-order delivery, a disk whose
//! acknowledgements the test can hold back, crashes that drop unsynced bytes, message filters),
//! so each scenario says exactly which interleaving it forces. The randomized simulator covers
//! the space around them.

mod common;

use common::{small_tuning as tuning, Cluster};
use conclave_core::codec::peer::SyncMode;
use conclave_core::codec::PeerMessage;
use conclave_core::recovery::DiskState;
use conclave_core::Tuning;
use conclave_core::ZkService;
use conclave_core::{PersistOp, Zxid};

/// The service every scenario runs: the one that ships.
type Svc = ZkService;

fn is_proposal(m: &PeerMessage) -> bool {
    matches!(m, PeerMessage::Proposal(_))
}

/// ZOOKEEPER-2845 (and the 1549 class): txns a leader logged but never committed must not
/// survive in the state of that server once a new leader truncates them.
#[test]
fn zookeeper_2845_uncommitted_txns_are_truncated_not_applied() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    let l = c.wait_synced();
    assert_eq!(l, 3);
    c.write_acked(1, 7, 1, 1, 10);
    // The leader logs a write nobody else receives, then dies.
    c.drop_when(|from, _, m| from == 3 && is_proposal(m));
    c.submit(3, 7, 2, 2, 20);
    c.run_for(50);
    let doomed = c.nodes[&3].status().last_zxid;
    c.crash(3);
    c.heal();
    // 1 and 2 elect 2 and move on with new writes.
    c.run_until("2 leads", 10_000, |c| c.leader() == Some(2));
    c.write_acked(2, 8, 1, 3, 30);
    c.start(3);
    c.assert_converged();
    assert_eq!(c.value(3, 2), None, "the uncommitted write must be gone");
    assert!(!c.applied(3).contains(&doomed));
    assert!(c.sent.iter().any(|(f, t, m)| *f == 2
        && *t == 3
        && matches!(m, PeerMessage::SyncBegin(SyncMode::Trunc { .. }))));
}

/// ZOOKEEPER-3911: a learner must not acknowledge NEWLEADER before the DIFF txns it was sent
/// are durable.
#[test]
fn zookeeper_3911_newleader_ack_waits_for_diff_txns_on_disk() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    c.wait_synced();
    c.isolate(1);
    c.run_until("3 leads without 1", 10_000, |c| {
        c.leader() == Some(3) && c.nodes[&2].status().synced
    });
    for i in 0..5 {
        c.write_acked(3, 9, i, i as u64, 1);
    }
    // 1 comes back; its disk stalls as the DIFF arrives: it logs the txns but must not ack NEWLEADER.
    let mark = c.mark();
    c.heal();
    c.hold_disk_at_sync(3, 1, mark);
    c.run_for(300);
    assert!(
        c.since(mark)
            .iter()
            .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. })),
        "the DIFF and NEWLEADER were sent"
    );
    assert!(
        !c.newleader_acked(1, mark),
        "NEWLEADER acknowledged with the DIFF not yet on disk"
    );
    c.disks.get_mut(&1).unwrap().held = false;
    c.run_until("NEWLEADER acked after the disk caught up", 5_000, |c| {
        c.newleader_acked(1, mark)
    });
    c.assert_converged();
}

/// ZOOKEEPER-4643 / 4646 / 4785: a learner crashing at any point of its sync must never
/// hold the new currentEpoch without the synced txns behind it.
#[test]
fn zookeeper_4643_4646_4785_epoch_is_never_durable_before_the_synced_txns() {
    for cut in 0..16 {
        let mut c = Cluster::<Svc>::new(3, tuning());
        c.wait_synced();
        c.isolate(1);
        c.run_until("3 leads without 1", 10_000, |c| {
            c.leader() == Some(3) && c.nodes[&2].status().synced
        });
        for i in 0..4 {
            c.write_acked(3, 9, i, i as u64, 1);
        }
        let leader_last = c.nodes[&3].status().last_zxid;
        // 2 dies: 3 loses its quorum, and 1 and 3 establish a new epoch with 1 synced by DIFF.
        c.crash(2);
        let mark = c.mark();
        c.heal();
        c.hold_disk_at_sync(3, 1, mark);
        c.run_until("1 got NEWLEADER", 10_000, |c| {
            c.since(mark)
                .iter()
                .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. }))
        });
        c.run_for(50);
        let new_epoch = c.nodes[&1].status().accepted_epoch;
        assert!(new_epoch > leader_last.epoch());
        // Only the first `cut` ops of the sync reach the disk, then the machine dies.
        c.run_disk_ops(1, cut);
        c.crash(1);
        let state = DiskState::from_files(&c.disks[&1].listing()).expect("recovers");
        if state.current_epoch >= new_epoch {
            assert!(
                state.last_zxid >= leader_last,
                "cut {cut}: currentEpoch {} durable without the txns",
                state.current_epoch
            );
        }
        c.start(1);
        c.start(2);
        c.assert_converged();
    }
}

/// ZOOKEEPER-1653, the rule Conclave chose (docs/decisions.md D18): a learner that crashed
/// after some of the leader's history reached its disk but before it adopted the new epoch
/// restarts with a log epoch above currentEpoch (within acceptedEpoch). Recovery accepts that
/// state; here, at every crash point of a DIFF sync, the restarted learner and the only other
/// survivor must elect a leader and keep every acknowledged write, in order, even though the
/// old leader, which had the full history, is gone.
#[test]
fn zookeeper_1653_unadopted_log_epoch_never_loses_a_committed_txn() {
    let mut unadopted_seen = 0;
    for cut in 0..16 {
        let mut c = Cluster::<Svc>::new(3, tuning());
        c.wait_synced();
        let old_epoch = c.nodes[&1].status().current_epoch;
        // 1 misses a whole epoch: 2 and 3 re-elect without it and commit writes in it.
        c.isolate(1);
        c.crash(2);
        c.start(2);
        c.run_until("a new epoch without 1", 10_000, |c| {
            c.leader().is_some_and(|l| l != 1)
                && [2, 3].iter().all(|n| c.nodes[n].status().synced)
                && c.nodes[&2].status().current_epoch > old_epoch
        });
        let leader = c.leader().unwrap();
        let other = if leader == 2 { 3 } else { 2 };
        for i in 0..4 {
            c.write_acked(leader, 9, i, i as u64, 1);
        }
        let committed = c.applied(leader);
        // The other follower dies: the leader and 1 establish the next epoch, syncing 1 by DIFF.
        c.crash(other);
        let mark = c.mark();
        c.heal();
        c.hold_disk_at_sync(leader, 1, mark);
        c.run_until("1 got NEWLEADER", 10_000, |c| {
            c.since(mark).iter().any(|(f, t, m)| {
                *f == leader && *t == 1 && matches!(m, PeerMessage::NewLeader { .. })
            })
        });
        c.run_for(50);
        c.run_disk_ops(1, cut);
        c.crash(1);
        let state = DiskState::from_files(&c.disks[&1].listing()).expect("recovers");
        if let Some(epoch) = state.report.unadopted_log_epoch {
            unadopted_seen += 1;
            assert!(epoch > state.current_epoch && epoch <= state.accepted_epoch);
        }
        // Whatever 1 kept of the history is a prefix of the leader's: nothing re-ordered.
        let kept: Vec<Zxid> = state.txns.iter().map(|t| t.header.zxid).collect();
        if let Some(from) = committed.iter().position(|z| Some(z) == kept.first()) {
            let upto = (from + kept.len()).min(committed.len());
            assert_eq!(
                &committed[from..upto],
                &kept[..],
                "cut {cut}: kept {kept:?}"
            );
        }
        // The leader that had everything dies; 1 and the other survivor carry the history on.
        c.crash(leader);
        c.start(1);
        c.start(other);
        c.assert_converged();
        for i in 0..4 {
            assert_eq!(c.value(1, i), Some(1), "cut {cut}: write {i} lost on 1");
            assert_eq!(
                c.value(other, i),
                Some(1),
                "cut {cut}: write {i} lost on {other}"
            );
        }
    }
    eprintln!("{unadopted_seen} of 16 crash points left a log epoch above currentEpoch");
    assert!(
        unadopted_seen > 0,
        "no crash point left a log epoch above currentEpoch: the scenario no longer tests 1653"
    );
}

/// ZOOKEEPER-4685: a learner acknowledging a proposal before NEWLEADER must not make the
/// leader step down; Conclave learners never do it, and the leader ignores it if one did.
#[test]
fn zookeeper_4685_early_proposal_ack_is_ignored_not_fatal() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    let l = c.wait_synced();
    c.write_acked(1, 5, 1, 1, 1);
    // Restart follower 1 while writes flow; check its ACK order during the sync.
    let mark = c.mark();
    c.restart(1);
    for i in 0..20 {
        c.submit(2, 6, i, 100 + i as u64, 1);
        c.run_for(5);
    }
    c.assert_converged();
    let acks: Vec<Zxid> = c
        .since(mark)
        .iter()
        .filter_map(|(f, _, m)| match m {
            PeerMessage::Ack { zxid } if *f == 1 => Some(*zxid),
            _ => None,
        })
        .collect();
    let newleader_ack = acks.iter().position(|z| z.counter() == 0).unwrap();
    assert_eq!(
        newleader_ack, 0,
        "a proposal ACK preceded the NEWLEADER ACK: {acks:?}"
    );
    assert!(
        acks.len() > 1,
        "proposals were acknowledged after the sync: {acks:?}"
    );
    assert_eq!(c.leader(), Some(l), "the leader stayed");
}

/// ZOOKEEPER-4712: appends still in flight when a follower steps down complete later; the
/// follower must still end up with exactly the leader's history.
#[test]
fn zookeeper_4712_late_appends_after_step_down_stay_consistent() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    c.wait_synced();
    c.disks.get_mut(&1).unwrap().held = true;
    for i in 0..3 {
        c.submit(3, 4, i, i as u64, 9);
    }
    c.run_for(100);
    // The leader dies while 1 still has the proposals queued to disk.
    c.crash(3);
    c.run_for(300);
    c.disks.get_mut(&1).unwrap().held = false;
    c.run_until("a new leader", 10_000, |c| c.leader().is_some());
    c.write_acked(2, 4, 10, 50, 1);
    c.start(3);
    c.assert_converged();
}

/// ZOOKEEPER-3023 / 4394: proposals and commits arriving while a learner synchronizes (before
/// and after its NEWLEADER) are logged, acknowledged and applied in order.
#[test]
fn zookeeper_3023_4394_proposals_during_sync_are_kept_in_order() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    c.wait_synced();
    c.crash(2);
    for i in 0..5 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    c.start(2);
    // Writes keep flowing while 2 syncs.
    for i in 5..40 {
        c.submit(3, 1, i, i as u64, 2);
        c.run_for(3);
    }
    c.assert_converged();
    let applied = c.applied(2);
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "applied out of order: {applied:?}"
    );
}

/// ZOOKEEPER-4925: a server synced by SNAP has no committed tail below the snapshot; when it
/// leads, a follower older than that snapshot must get SNAP, not a DIFF with a hole.
#[test]
fn zookeeper_4925_snap_synced_leader_never_diffs_across_its_snapshot() {
    let t = Tuning {
        commit_log_count: 3,
        ..tuning()
    };
    let mut c = Cluster::<Svc>::new(3, t);
    c.wait_synced();
    c.crash(1);
    c.crash(2);
    c.start(2);
    c.run_until("3 leads with 2", 10_000, |c| c.all_synced());
    for i in 0..20 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    // 1 is now far behind 3's committed tail: it gets SNAP.
    c.start(1);
    c.run_until("all synced", 10_000, |c| {
        c.all_synced() && c.nodes.len() == 3
    });
    assert!(c.sent.iter().any(|(f, t, m)| *f == 3
        && *t == 1
        && matches!(m, PeerMessage::SyncBegin(SyncMode::Snap { .. }))));
    // 2 falls behind; 3 dies; 1 (SNAP-synced) must lead and bring 2 up without a hole.
    c.crash(2);
    for i in 20..30 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    c.crash(3);
    c.start(2);
    c.run_until("1 leads", 10_000, |c| {
        c.leader() == Some(1) && c.all_synced()
    });
    c.start(3);
    c.assert_converged();
    for i in 0..30 {
        assert_eq!(c.value(2, i), Some(1), "key {i} missing on 2");
    }
}

/// ZOOKEEPER-5094: a TRUNC interrupted by the leader's death leaves no txn in memory that is
/// not on disk; the next election and sync see the truncated log.
#[test]
fn zookeeper_5094_interrupted_trunc_leaves_memory_and_disk_agreeing() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    c.wait_synced();
    c.write_acked(2, 1, 1, 1, 1);
    // 3 logs a txn alone and dies.
    c.drop_when(|from, _, m| from == 3 && is_proposal(m));
    c.submit(3, 1, 2, 2, 2);
    c.run_for(50);
    c.crash(3);
    c.heal();
    c.run_until("2 leads", 10_000, |c| c.leader() == Some(2));
    c.write_acked(2, 1, 3, 3, 3);
    // 3 restarts; the leader sends TRUNC and then dies before NEWLEADER reaches 3.
    c.drop_when(|from, to, m| from == 2 && to == 3 && matches!(m, PeerMessage::NewLeader { .. }));
    c.start(3);
    c.run_until("3 got TRUNC", 10_000, |c| {
        c.sent.iter().any(|(f, t, m)| {
            *f == 2 && *t == 3 && matches!(m, PeerMessage::SyncBegin(SyncMode::Trunc { .. }))
        })
    });
    c.run_for(20);
    let mem = c.nodes[&3].status().last_zxid;
    c.crash(2);
    c.heal();
    let disk = DiskState::from_files(&c.disks[&3].listing())
        .unwrap()
        .last_zxid;
    assert!(disk <= mem.max(disk), "disk {disk:?} vs memory {mem:?}");
    c.start(2);
    c.assert_converged();
    assert_eq!(c.value(3, 2), None);
    assert_eq!(c.value(3, 3), Some(3));
}

/// ZOOKEEPER-1549 / 1653: a learner crashing between writing the SNAP snapshot and writing
/// currentEpoch restarts (no "epoch behind log" refusal) and rejoins with the right state.
#[test]
fn zookeeper_1549_1653_crash_between_snapshot_and_epoch_file() {
    let t = Tuning {
        commit_log_count: 2,
        ..tuning()
    };
    let mut c = Cluster::<Svc>::new(3, t);
    c.wait_synced();
    c.crash(1);
    for i in 0..10 {
        c.write_acked(3, 1, i, i as u64, 5);
    }
    // 2 dies too: 3 alone is no quorum; 1 returns and a new epoch syncs 1 by SNAP.
    c.crash(2);
    let mark = c.mark();
    c.start(1);
    c.hold_disk_at_sync(3, 1, mark);
    assert!(c
        .since(mark)
        .iter()
        .any(|(_, t, m)| *t == 1 && matches!(m, PeerMessage::SyncBegin(SyncMode::Snap { .. }))));
    c.run_until("1 got NEWLEADER", 10_000, |c| {
        c.since(mark)
            .iter()
            .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. }))
    });
    c.run_for(20);
    // Everything up to (not including) the epoch write reaches the disk.
    let new_epoch = c.nodes[&1].status().accepted_epoch;
    let d = c.disks.get_mut(&1).unwrap();
    let before_epochs = d
        .queue
        .iter()
        .position(
            |(_, op)| matches!(op, PersistOp::WriteEpochs { current, .. } if *current == new_epoch),
        )
        .expect("the epoch write is queued behind the snapshot");
    c.run_disk_ops(1, before_epochs);
    c.crash(1);
    let state =
        DiskState::from_files(&c.disks[&1].listing()).expect("restarts after a crash mid-sync");
    assert!(state.snapshot.is_some());
    assert!(state.current_epoch < new_epoch);
    c.start(1);
    c.start(2);
    c.assert_converged();
    for i in 0..10 {
        assert_eq!(c.value(1, i), Some(5));
    }
}

/// Every acknowledged write survives all servers crashing (unsynced bytes dropped) and
/// restarting from disk.
#[test]
fn acknowledged_writes_survive_a_whole_cluster_restart() {
    let mut c = Cluster::<Svc>::new(3, tuning());
    c.wait_synced();
    for i in 0..15 {
        let via = 1 + (i % 3) as u64;
        c.write_acked(via, 2, i, i as u64, 7);
    }
    for id in 1..=3 {
        c.crash(id);
    }
    for id in 1..=3 {
        c.start(id);
    }
    c.assert_converged();
    for i in 0..15 {
        assert_eq!(c.value(1, i), Some(7));
    }
}
