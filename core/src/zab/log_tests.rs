//! The replica log: appends, group commit, commit/apply order, DIFF windows, truncation.

use super::*;
use crate::codec::TxnHeader;
use crate::zab::RegisterMap;
use alloc::vec;

fn txn(epoch: u32, counter: u32) -> Txn {
    Txn {
        header: TxnHeader {
            zxid: Zxid::new(epoch, counter),
            session_id: 1,
            cxid: counter as i32,
            time_ms: 0,
            kind: 0,
        },
        body: RegisterMap::write(counter as u64, epoch as u64).into(),
    }
}

fn fresh(keep: usize, limit: u64) -> ReplicaLog {
    ReplicaLog::new(Vec::new(), Zxid::ZERO, Vec::new(), keep, limit)
}

/// A log of 1 MiB segments holding records 1..=`n` of epoch 1, and the ops it asked for.
fn appended(keep: usize, n: u32) -> (ReplicaLog, Vec<PersistOp>) {
    let mut log = fresh(keep, 1 << 20);
    let mut ops = Vec::new();
    for c in 1..=n {
        log.append(txn(1, c), &mut ops).unwrap();
    }
    (log, ops)
}

/// A log of 4 KiB segments appended to (epoch 1) until it has `segments` of them: the log,
/// the ops it asked for and the last counter (the only record of the newest segment).
fn filled(keep: usize, segments: usize) -> (ReplicaLog, Vec<PersistOp>, u32) {
    let mut log = fresh(keep, 4096);
    let mut ops = Vec::new();
    let mut z = 0;
    while log.segments().len() < segments {
        z += 1;
        log.append(txn(1, z), &mut ops).unwrap();
    }
    (log, ops, z)
}

#[test]
fn first_append_creates_a_segment_and_one_flush_syncs_the_batch() {
    let mut log = fresh(10, 1 << 20);
    let mut ops = Vec::new();
    log.append(txn(1, 1), &mut ops).unwrap();
    log.append(txn(1, 2), &mut ops).unwrap();
    let names: Vec<_> = ops
        .iter()
        .map(|o| match o {
            PersistOp::Create { file } => alloc::format!("create {file}"),
            PersistOp::Append { file, .. } => alloc::format!("append {file}"),
            other => alloc::format!("{other}"),
        })
        .collect();
    assert_eq!(
        names,
        vec![
            "create log.100000001",
            "append log.100000001",
            "reserving 1048605 bytes for log.100000001",
            "append log.100000001",
        ]
    );
    // Records queued back to back join one append: one buffer, one file name.
    let mut both = Vec::new();
    encode_log_record(&txn(1, 1), &mut both);
    encode_log_record(&txn(1, 2), &mut both);
    assert!(matches!(ops.last(), Some(PersistOp::Append { bytes, .. }) if *bytes == both));
    ops.clear();
    assert_eq!(log.flush(&mut ops), Some(Zxid::new(1, 2)));
    assert_eq!(
        ops,
        vec![PersistOp::Sync {
            file: "log.100000001".into()
        }]
    );
    ops.clear();
    assert_eq!(log.flush(&mut ops), None);
    assert!(ops.is_empty());
    assert_eq!(log.last_durable(), Zxid::ZERO);
    log.mark_durable(Zxid::new(1, 2));
    assert_eq!(log.last_durable(), Zxid::new(1, 2));
}

/// Simulator seed 2560 (`sim --seeds 1 --first-seed 2560 --nodes 5 --sim-secs 30`): a follower
/// halted right after creating `log.700000001`; restarted, it led epoch 8 and appended
/// 0x800000001 to that empty segment, a file recovery then refused ("first record has zxid
/// 0x800000001 but the file name says 0x700000001").
#[test]
fn a_recovered_empty_segment_is_never_appended_to_under_another_zxid() {
    let empty = Segment {
        name: "log.700000001".into(),
        first: Zxid::new(7, 1),
        len: 16,
        index: Vec::new(),
        appendable: false,
        reserved: 0,
    };
    let mut log = ReplicaLog::new(
        vec![empty.clone()],
        Zxid::new(6, 0x30),
        Vec::new(),
        10,
        1 << 20,
    );
    let mut ops = Vec::new();
    log.append(txn(8, 1), &mut ops).unwrap();
    assert_eq!(
        ops[0],
        PersistOp::Create {
            file: "log.800000001".into()
        }
    );
    assert_eq!(log.segments().len(), 2);
    // The zxid the empty segment is named for gets a fresh file of that name, which
    // replaces the recovered one (it may end in reserved room): still one segment.
    let mut log = ReplicaLog::new(vec![empty], Zxid::new(6, 0x30), Vec::new(), 10, 1 << 20);
    let mut ops = Vec::new();
    log.append(txn(7, 1), &mut ops).unwrap();
    assert_eq!(
        ops[0],
        PersistOp::Create {
            file: "log.700000001".into()
        }
    );
    assert_eq!(log.segments().len(), 1);
}

/// Appends never go to a file from an earlier run: it may end in room reserved by
/// `Preallocate`, and an append after those zeros would be read back as nothing.
#[test]
fn appends_after_a_restart_or_a_cut_go_where_the_file_really_ends() {
    let (log, ops) = appended(100, 3);
    // Room is reserved once, a step ahead of the first record (8-byte header, 21-byte record).
    let reserved: Vec<u64> = ops
        .iter()
        .filter_map(|o| match o {
            PersistOp::Preallocate { len, .. } => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(reserved, [8 + 21 + PREALLOCATE_STEP_BYTES]);
    let mut old = log.segments().to_vec();
    old[0].appendable = false;
    // Restarted: the next append opens a new segment.
    let mut log = ReplicaLog::new(old.clone(), Zxid::new(1, 3), Vec::new(), 100, 1 << 20);
    let mut ops = Vec::new();
    log.append(txn(2, 1), &mut ops).unwrap();
    assert_eq!(
        ops[0],
        PersistOp::Create {
            file: "log.200000001".into()
        }
    );
    // A TRUNC that removes that segment and leaves the old one uncut: a new one again.
    let mut log = ReplicaLog::new(old.clone(), Zxid::ZERO, Vec::new(), 100, 1 << 20);
    log.append(txn(2, 1), &mut Vec::new()).unwrap();
    log.truncate_after(Zxid::new(1, 3), &mut Vec::new())
        .unwrap();
    assert_eq!(log.segments().len(), 1);
    let mut ops = Vec::new();
    log.append(txn(2, 1), &mut ops).unwrap();
    assert_eq!(
        ops[0],
        PersistOp::Create {
            file: "log.200000001".into()
        }
    );
    // A TRUNC that cuts the old file sets where it ends: appends continue in it.
    let logged = vec![txn(1, 1), txn(1, 2), txn(1, 3)];
    let mut log = ReplicaLog::new(old, Zxid::ZERO, logged, 100, 1 << 20);
    log.truncate_after(Zxid::new(1, 2), &mut Vec::new())
        .unwrap();
    let mut ops = Vec::new();
    log.append(txn(2, 1), &mut ops).unwrap();
    // (A truncate drops the reserved room: it is reserved again first.)
    assert!(
        matches!(&ops[..], [PersistOp::Preallocate { file: r, .. }, PersistOp::Append { file, .. }]
            if file == "log.100000001" && r == file),
        "{ops:?}"
    );
}

#[test]
fn appends_must_ascend() {
    let mut log = fresh(10, 1 << 20);
    let mut ops = Vec::new();
    log.append(txn(1, 2), &mut ops).unwrap();
    assert_eq!(
        log.append(txn(1, 2), &mut ops),
        Err(LogError::NotAscending {
            last: Zxid::new(1, 2),
            offered: Zxid::new(1, 2)
        })
    );
}

#[test]
fn full_segments_roll_with_a_sync_of_the_old_one() {
    let (_log, ops, z) = filled(10, 2);
    let sync_at = ops
        .iter()
        .position(|o| matches!(o, PersistOp::Sync { .. }))
        .unwrap();
    assert_eq!(
        ops[sync_at],
        PersistOp::Sync {
            file: "log.100000001".into()
        }
    );
    assert_eq!(
        ops[sync_at + 1],
        PersistOp::Create {
            file: alloc::format!("log.{:x}", Zxid::new(1, z).0)
        }
    );
}

#[test]
fn only_committed_txns_are_applied_in_order_and_the_tail_is_trimmed() {
    let (mut log, _) = appended(2, 5);
    let mut sm = RegisterMap::default();
    let mut applied = Vec::new();
    log.commit(Zxid::new(1, 3));
    log.apply_committed(&mut sm, |t, _| applied.push(t.header.zxid.counter()));
    assert_eq!(applied, vec![1, 2, 3]);
    assert_eq!(log.last_applied(), Zxid::new(1, 3));
    // Two committed txns are kept for DIFF, plus the two uncommitted ones.
    assert_eq!(log.tail_len(), 4);
    assert_eq!(log.diff_floor(), Zxid::new(1, 1));
    // Commit never runs past what is logged.
    log.commit(Zxid::new(1, 9));
    assert_eq!(log.last_committed(), Zxid::new(1, 5));
}

#[test]
fn diff_window_and_previous_zxid() {
    let (mut log, mut ops) = appended(100, 3);
    log.append(txn(2, 1), &mut ops).unwrap();
    assert!(log.contains(Zxid::ZERO));
    assert!(log.contains(Zxid::new(1, 2)));
    assert!(!log.contains(Zxid::new(1, 4)));
    let after: Vec<_> = log
        .txns_after(Zxid::new(1, 2))
        .unwrap()
        .map(|t| t.header.zxid)
        .collect();
    assert_eq!(after, vec![Zxid::new(1, 3), Zxid::new(2, 1)]);
    assert_eq!(log.prev_before(Zxid::new(1, 4)), Some(Zxid::new(1, 3)));
    assert_eq!(log.prev_before(Zxid::new(1, 1)), Some(Zxid::ZERO));
    assert_eq!(log.prev_before(Zxid::ZERO), None);
}

#[test]
fn truncation_cuts_records_and_removes_later_segments_but_never_committed_ones() {
    let (mut log, mut ops, z) = filled(100, 3);
    let first_seg_last = log.segments()[0].index.last().unwrap().0;
    log.commit(Zxid::new(1, 2));
    assert_eq!(
        log.truncate_after(Zxid::new(1, 1), &mut Vec::new()),
        Err(LogError::TruncateCommitted {
            to: Zxid::new(1, 1),
            committed: Zxid::new(1, 2)
        })
    );
    ops.clear();
    // Cut one record into the first segment: it is truncated, the later ones removed.
    let to = Zxid(first_seg_last.0 - 1);
    log.truncate_after(to, &mut ops).unwrap();
    let seg0 = log.segments()[0].clone();
    assert_eq!(log.segments().len(), 1);
    assert_eq!(
        ops,
        vec![
            PersistOp::Remove {
                file: alloc::format!("log.{:x}", Zxid::new(1, z).0)
            },
            PersistOp::Remove {
                file: ops_name(&ops, 1)
            },
            PersistOp::Truncate {
                file: seg0.name.clone(),
                len: seg0.len
            },
            PersistOp::Sync { file: seg0.name },
        ]
    );
    assert_eq!(log.last_logged(), to);
    // Appending continues after the cut.
    log.append(txn(2, 1), &mut Vec::new()).unwrap();
}

fn ops_name(ops: &[PersistOp], i: usize) -> String {
    match &ops[i] {
        PersistOp::Remove { file } => file.clone(),
        _ => String::new(),
    }
}

#[test]
fn snapshot_reset_drops_every_segment() {
    let mut log = fresh(100, 1 << 20);
    let mut ops = Vec::new();
    log.append(txn(1, 1), &mut ops).unwrap();
    ops.clear();
    log.reset_to_snapshot(Zxid::new(3, 7), &mut ops);
    assert_eq!(
        ops,
        vec![PersistOp::Remove {
            file: "log.100000001".into()
        }]
    );
    assert_eq!(
        (
            log.last_logged(),
            log.last_committed(),
            log.last_applied(),
            log.diff_floor()
        ),
        (
            Zxid::new(3, 7),
            Zxid::new(3, 7),
            Zxid::new(3, 7),
            Zxid::new(3, 7)
        )
    );
}

#[test]
fn committed_offsets_are_forgotten_and_truncation_still_cuts_at_the_right_byte() {
    let (mut log, mut ops, z) = filled(100, 3);
    // The newest segment holds exactly one record; note every record's end offset.
    let full = log.clone();
    let end_of = |zxid: Zxid| -> (String, u64) {
        full.segments()
            .iter()
            .find_map(|s| {
                s.index
                    .iter()
                    .find(|(r, _)| *r == zxid)
                    .map(|(_, e)| (s.name.clone(), *e))
            })
            .unwrap()
    };
    let second_first = log.segments()[1].first;
    // Commit into the middle of the second segment: the first keeps one entry, the second
    // its last committed one and everything after.
    let mid = Zxid(second_first.0 + 3);
    log.commit(mid);
    let lens: Vec<usize> = log.segments().iter().map(|s| s.index.len()).collect();
    let second_total = full.segments()[1].index.len();
    assert_eq!(lens, vec![1, second_total - 3, 1]);
    assert_eq!(
        log.segments()[0].index,
        vec![*full.segments()[0].index.last().unwrap()]
    );
    // Truncating to the committed point cuts the second segment right after `mid`.
    let mut cut = log.clone();
    ops.clear();
    cut.truncate_after(mid, &mut ops).unwrap();
    let (name, end) = end_of(mid);
    assert_eq!(
        ops[1..],
        [
            PersistOp::Truncate {
                file: name.clone(),
                len: end
            },
            PersistOp::Sync { file: name },
        ]
    );
    // Commit everything, then one step at a time past a segment holding a single record:
    // every segment ends with exactly its last entry.
    log.commit(Zxid(Zxid::new(1, z).0 - 1));
    log.commit(Zxid::new(1, z));
    let lens: Vec<usize> = log.segments().iter().map(|s| s.index.len()).collect();
    assert_eq!(lens, vec![1, 1, 1]);
    for (s, f) in log.segments().iter().zip(full.segments()) {
        assert_eq!(s.index.last(), f.index.last());
    }
    // Appending goes on in the same segment; the hint of what a roll synced is unchanged.
    log.append(txn(1, z + 1), &mut Vec::new()).unwrap();
    assert_eq!(log.segments().len(), 3);
    // A log recovered from disk forgets the offsets below its snapshot at once.
    let recovered = ReplicaLog::new(full.segments().to_vec(), mid, Vec::new(), 100, 4096);
    let lens: Vec<usize> = recovered.segments().iter().map(|s| s.index.len()).collect();
    assert_eq!(lens, vec![1, second_total - 3, 1]);
}

/// A record that outgrows the preallocated space leaves the append it would have joined:
/// every append stays within the space reserved before it, joined appends stay near the
/// coalescing bound, and the appends hold every record once, in order.
#[test]
fn a_preallocation_splits_a_joined_record_out() {
    let big = |c: u32| Txn {
        body: vec![c as u8; 70 * 1024].into(),
        ..txn(1, c)
    };
    let mut log = fresh(10, 64 << 20);
    let mut ops = Vec::new();
    let records = 20;
    for c in 1..=records {
        log.append(big(c), &mut ops).unwrap();
    }
    let (mut reserved, mut len, mut appends, mut reserves) = (0u64, 0u64, 0, 0);
    for op in &ops {
        match op {
            PersistOp::Preallocate { len: r, .. } => {
                reserved = *r;
                reserves += 1;
            }
            PersistOp::Append { bytes, .. } => {
                len += bytes.len() as u64;
                appends += 1;
                // The header goes before any reservation; records never pass one.
                assert!(
                    len <= reserved.max(8),
                    "append past the reserve: {len} > {reserved}"
                );
                assert!(bytes.len() < crate::files::COALESCE_APPEND_BYTES + 80 * 1024);
            }
            _ => {}
        }
    }
    assert_eq!(
        reserves, 2,
        "1.4 MB of records cross the first 1 MiB reserve once"
    );
    assert!(
        appends < records as usize / 2,
        "records join: {appends} appends"
    );
    let mut expected = encode_log_header().to_vec();
    for c in 1..=records {
        encode_log_record(&big(c), &mut expected);
    }
    let written: Vec<u8> = ops
        .iter()
        .filter_map(|o| match o {
            PersistOp::Append { bytes, .. } => Some(bytes.as_slice()),
            _ => None,
        })
        .flatten()
        .copied()
        .collect();
    assert!(
        written == expected,
        "the appends hold every record once, in order"
    );
}
