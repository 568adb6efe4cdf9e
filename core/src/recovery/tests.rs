//! Recovery from constructed data directories: the happy paths, every refusal, fuzz.

use super::*;
use crate::codec::epochs::encode_epoch;
use crate::codec::epochs::EpochError;
use crate::codec::log::{encode_log_header, encode_log_record, log_file_name};
use crate::codec::snapshot::{encode_snapshot, snapshot_file_name};
use crate::codec::txn::TxnHeader;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

type Dir = Vec<(String, Vec<u8>)>;

fn txn(zxid: Zxid) -> Txn {
    Txn {
        header: TxnHeader {
            zxid,
            session_id: 1,
            cxid: 2,
            time_ms: 3,
            kind: 5,
        },
        body: alloc::format!("body of {zxid}").into_bytes().into(),
    }
}

fn log(zxids: &[Zxid]) -> (String, Vec<u8>) {
    let mut bytes = encode_log_header().to_vec();
    for &z in zxids {
        encode_log_record(&txn(z), &mut bytes);
    }
    (log_file_name(zxids[0]), bytes)
}

fn snap(zxid: Zxid, state: &[u8]) -> (String, Vec<u8>) {
    let mut bytes = Vec::new();
    encode_snapshot(zxid, state, &mut bytes);
    (snapshot_file_name(zxid), bytes)
}

fn epochs(accepted: u32, current: u32) -> Dir {
    vec![
        (ACCEPTED_EPOCH_FILE.to_string(), encode_epoch(accepted)),
        (CURRENT_EPOCH_FILE.to_string(), encode_epoch(current)),
    ]
}

fn z(epoch: u32, counter: u32) -> Zxid {
    Zxid::new(epoch, counter)
}

fn range(epoch: u32, counters: core::ops::RangeInclusive<u32>) -> Vec<Zxid> {
    counters.map(|c| z(epoch, c)).collect()
}

/// Epochs 2/2, snapshot at 1:2, segments 1:1..1:5 and 2:1..2:2.
fn healthy() -> Dir {
    let mut dir = epochs(2, 2);
    dir.push(snap(z(1, 2), b"tree"));
    dir.push(log(&range(1, 1..=5)));
    dir.push(log(&range(2, 1..=2)));
    dir
}

fn zxids(txns: &[Txn]) -> Vec<Zxid> {
    txns.iter().map(|t| t.header.zxid).collect()
}

fn err(dir: &Dir) -> RecoveryError {
    DiskState::from_files(dir).unwrap_err()
}

#[test]
fn an_empty_directory_is_a_fresh_server() {
    let state = DiskState::from_files(&[]).unwrap();
    assert_eq!(
        state,
        DiskState {
            accepted_epoch: 0,
            current_epoch: 0,
            snapshot: None,
            txns: vec![],
            last_zxid: Zxid::ZERO,
            logs: vec![],
            membership: None,
            report: RecoveryReport::default(),
        }
    );
}

#[test]
fn a_fresh_data_dir_with_snapshot_zero() {
    let state = DiskState::from_files(&[snap(Zxid::ZERO, b"")]).unwrap();
    assert_eq!(
        state.snapshot,
        Some(RecoveredSnapshot {
            zxid: Zxid::ZERO,
            state: vec![],
            file: "snapshot.0".to_string()
        })
    );
    assert_eq!((state.accepted_epoch, state.current_epoch), (0, 0));
    // Derived from epoch(0), and said so.
    assert_eq!(
        state.report.derived_epochs,
        [CURRENT_EPOCH_FILE, ACCEPTED_EPOCH_FILE]
    );
    // The first transaction ever, in epoch 1, follows snapshot.0 without a gap.
    let state = DiskState::from_files(&[snap(Zxid::ZERO, b""), log(&range(1, 1..=2))]).unwrap();
    assert_eq!(zxids(&state.txns), range(1, 1..=2));
    assert_eq!(state.report.derived_epochs.len(), 2);
    assert_eq!((state.accepted_epoch, state.current_epoch), (1, 1));
}

#[test]
fn snapshot_plus_logs_replays_everything_after_the_snapshot() {
    let dir = healthy();
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!((state.accepted_epoch, state.current_epoch), (2, 2));
    let snapshot = state.snapshot.as_ref().unwrap();
    assert_eq!(
        (
            snapshot.zxid,
            snapshot.state.as_slice(),
            snapshot.file.as_str()
        ),
        (z(1, 2), &b"tree"[..], "snapshot.100000002")
    );
    assert_eq!(
        zxids(&state.txns),
        [z(1, 3), z(1, 4), z(1, 5), z(2, 1), z(2, 2)]
    );
    assert_eq!(state.txns[0], txn(z(1, 3)));
    assert_eq!(state.last_zxid, z(2, 2));
    assert_eq!(state.report, RecoveryReport::default());

    // The index lets the core truncate after any zxid without reading the disk.
    assert_eq!(state.logs.len(), 2);
    let (name, bytes) = log(&range(1, 1..=5));
    let seg = &state.logs[0];
    assert_eq!(
        (seg.name.as_str(), seg.first_zxid),
        (name.as_str(), z(1, 1))
    );
    assert_eq!(seg.valid_len, bytes.len() as u64);
    assert_eq!(seg.index.len(), 5);
    let (_, prefix) = log(&range(1, 1..=3));
    assert_eq!(seg.index[2], (z(1, 3), prefix.len() as u64));
    assert_eq!(seg.index[4].1, seg.valid_len);
    assert_eq!(state.logs[1].name, "log.200000001");
}

#[test]
fn input_order_does_not_matter() {
    let mut dir = healthy();
    let expected = DiskState::from_files(&dir).unwrap();
    dir.reverse();
    assert_eq!(DiskState::from_files(&dir).unwrap(), expected);
}

#[test]
fn a_snapshot_newer_than_every_log_record_is_fine() {
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 9), b"s"));
    dir.push(log(&range(1, 1..=5)));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(state.txns, []);
    assert_eq!(state.last_zxid, z(1, 9));
    assert_eq!(state.logs[0].index.len(), 5);
}

#[test]
fn a_snapshot_taken_at_sync_may_be_followed_by_a_new_epoch() {
    // SNAP sync: the state after 1:5 arrived whole, then epoch 3 proposals were logged.
    let mut dir = epochs(3, 3);
    dir.push(snap(z(1, 5), b"s"));
    dir.push(log(&range(3, 1..=2)));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(zxids(&state.txns), range(3, 1..=2));
}

#[test]
fn the_newest_valid_snapshot_wins_and_broken_ones_are_reported() {
    let mut dir = healthy();
    let (name, mut bytes) = snap(z(1, 4), b"newer");
    bytes.truncate(bytes.len() - 1);
    dir.push((name, bytes));
    // A file whose content is a different snapshot than its name says.
    let (_, other) = snap(z(1, 1), b"x");
    dir.push(("snapshot.100000003".to_string(), other));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(state.snapshot.as_ref().unwrap().zxid, z(1, 2));
    assert_eq!(zxids(&state.txns)[0], z(1, 3));
    let skipped = &state.report.skipped_snapshots;
    assert_eq!(skipped.len(), 2);
    assert_eq!(skipped[0].0, "snapshot.100000004");
    assert!(skipped[0].1.contains("incomplete"), "{}", skipped[0].1);
    assert_eq!(skipped[1].0, "snapshot.100000003");
    assert!(skipped[1].1.contains("0x100000001"), "{}", skipped[1].1);
}

#[test]
fn a_torn_tail_is_dropped_and_reported() {
    let mut dir = healthy();
    let (name, bytes) = dir.pop().unwrap();
    let full = bytes.len();
    let (_, one) = log(&range(2, 1..=1));
    let mut torn = bytes[..full - 5].to_vec();
    torn.resize(torn.len() + 1000, 0); // preallocated space after it
    dir.push((name.clone(), torn));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(state.last_zxid, z(2, 1));
    assert_eq!(*zxids(&state.txns).last().unwrap(), z(2, 1));
    assert_eq!(state.logs[1].valid_len, one.len() as u64);
    assert_eq!(state.report.torn.len(), 1);
    let tail = &state.report.torn[0];
    assert_eq!(
        (tail.file.as_str(), tail.offset),
        (name.as_str(), one.len() as u64)
    );
    assert!(tail.dropped_bytes > 0 && tail.dropped_bytes <= (full - 5 - one.len()) as u64);
}

#[test]
fn unknown_files_are_ignored_and_listed() {
    let mut dir = healthy();
    for junk in [
        "myid",
        "snapshot.1.tmp",
        "log.0A",
        "version-2/log.1",
        "",
        "zoo.cfg",
    ] {
        dir.push((junk.to_string(), b"whatever".to_vec()));
    }
    dir.push((ACCEPTED_EPOCH_TMP_FILE.to_string(), b"garbage".to_vec()));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(
        state.report.ignored_files,
        [
            "",
            "log.0A",
            "myid",
            "snapshot.1.tmp",
            "version-2/log.1",
            "zoo.cfg"
        ]
    );
    let clean = DiskState::from_files(&healthy()).unwrap();
    assert_eq!(state.txns, clean.txns);
    assert_eq!(state.logs, clean.logs);
}

#[test]
fn an_unreadable_snapshot_zero_alone_is_still_a_fresh_server() {
    let (name, bytes) = snap(Zxid::ZERO, b"");
    let state = DiskState::from_files(&[(name, bytes[..10].to_vec())]).unwrap();
    assert_eq!(state.snapshot, None);
    assert_eq!(state.last_zxid, Zxid::ZERO);
    assert_eq!(state.report.skipped_snapshots.len(), 1);
    assert_eq!(state.report.derived_epochs, Vec::<String>::new());
}

// ---- the epoch files (§2.2) ----

#[test]
fn missing_epoch_files_are_derived_from_the_last_zxid() {
    let dir: Dir = healthy()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("Epoch"))
        .collect();
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!((state.accepted_epoch, state.current_epoch), (2, 2));
    assert_eq!(
        state.report.derived_epochs,
        [CURRENT_EPOCH_FILE, ACCEPTED_EPOCH_FILE]
    );
    // Only acceptedEpoch missing.
    let mut dir: Dir = healthy()
        .into_iter()
        .filter(|(n, _)| n != ACCEPTED_EPOCH_FILE)
        .collect();
    dir.retain(|(n, _)| n != CURRENT_EPOCH_FILE);
    dir.push((CURRENT_EPOCH_FILE.to_string(), encode_epoch(2)));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(state.report.derived_epochs, [ACCEPTED_EPOCH_FILE]);
    assert_eq!(state.accepted_epoch, 2);
}

fn with_epochs(accepted: u32, current: u32, tmp: Option<&[u8]>) -> Dir {
    let mut dir: Dir = healthy()
        .into_iter()
        .filter(|(n, _)| !n.ends_with("Epoch"))
        .collect();
    dir.extend(epochs(accepted, current));
    if let Some(t) = tmp {
        dir.push((CURRENT_EPOCH_TMP_FILE.to_string(), t.to_vec()));
    }
    dir
}

#[test]
fn current_epoch_tmp_rescues_a_crash_before_the_rename() {
    // ZOOKEEPER-4269: currentEpoch still 1, the log is in epoch 2, the .tmp says 2.
    let state = DiskState::from_files(&with_epochs(2, 1, Some(b"2\n"))).unwrap();
    assert_eq!((state.accepted_epoch, state.current_epoch), (2, 2));
    assert_eq!(state.report.used_epoch_tmp, [CURRENT_EPOCH_TMP_FILE]);
    // A newer value is fine too (accepted must then cover it).
    let state = DiskState::from_files(&with_epochs(3, 1, Some(b"3"))).unwrap();
    assert_eq!(state.current_epoch, 3);
    // Not needed, not used.
    let state = DiskState::from_files(&with_epochs(3, 2, Some(b"3"))).unwrap();
    assert_eq!(state.current_epoch, 2);
    assert_eq!(state.report.used_epoch_tmp, Vec::<String>::new());
}

#[test]
fn epoch_behind_log_without_a_usable_tmp() {
    let expected = RecoveryError::EpochBehindLog {
        current: 1,
        log_epoch: 2,
    };
    for tmp in [None, Some(&b"1\n"[..]), Some(b"two"), Some(b"")] {
        assert_eq!(err(&with_epochs(1, 1, tmp)), expected, "{tmp:?}");
    }
}

/// ZOOKEEPER-1653: a learner crashed after the synced history was durable but before it
/// adopted the epoch. It promised the epoch (acceptedEpoch), so it starts, keeping the old
/// currentEpoch, and says so.
#[test]
fn zookeeper_1653_history_of_a_promised_epoch_before_adopting_it() {
    let state = DiskState::from_files(&with_epochs(2, 1, None)).unwrap();
    assert_eq!((state.accepted_epoch, state.current_epoch), (2, 1));
    assert_eq!(state.report.unadopted_log_epoch, Some(2));
}

#[test]
fn accepted_below_current() {
    assert_eq!(
        err(&with_epochs(1, 2, None)),
        RecoveryError::AcceptedBelowCurrent {
            accepted: 1,
            current: 2
        }
    );
    // A rescued currentEpoch is checked too.
    assert_eq!(
        err(&with_epochs(2, 1, Some(b"3"))),
        RecoveryError::AcceptedBelowCurrent {
            accepted: 2,
            current: 3
        }
    );
    // Also on a server with no data at all.
    assert!(matches!(
        err(&epochs(0, 1)),
        RecoveryError::AcceptedBelowCurrent { .. }
    ));
}

#[test]
fn bad_epoch_file() {
    let mut dir = healthy();
    dir.retain(|(n, _)| n != ACCEPTED_EPOCH_FILE);
    dir.push((ACCEPTED_EPOCH_FILE.to_string(), b"4294967296\n".to_vec()));
    assert_eq!(
        err(&dir),
        RecoveryError::BadEpochFile {
            file: ACCEPTED_EPOCH_FILE.to_string(),
            error: EpochError::TooLarge
        }
    );
}

// ---- refusals ----

#[test]
fn logs_without_a_snapshot() {
    let dir: Dir = healthy()
        .into_iter()
        .filter(|(n, _)| !n.starts_with("snapshot."))
        .collect();
    assert_eq!(
        err(&dir),
        RecoveryError::LogsWithoutSnapshot {
            log: "log.100000001".to_string(),
            unreadable_snapshots: 0
        }
    );
    // An unreadable snapshot does not count.
    let mut dir = dir;
    dir.push(("snapshot.100000002".to_string(), b"CNSN\x01\0\0\0".to_vec()));
    assert!(matches!(
        err(&dir),
        RecoveryError::LogsWithoutSnapshot {
            unreadable_snapshots: 1,
            ..
        }
    ));
    // Even a log segment with no records at all.
    assert!(matches!(
        err(&vec![("log.5".to_string(), encode_log_header().to_vec())]),
        RecoveryError::LogsWithoutSnapshot { .. }
    ));
}

#[test]
fn no_valid_snapshot_of_a_non_empty_state() {
    let (name, bytes) = snap(z(1, 5), b"data");
    let e = err(&vec![(name.clone(), bytes[..bytes.len() - 1].to_vec())]);
    assert!(
        matches!(&e, RecoveryError::NoValidSnapshot { file, .. } if *file == name),
        "{e}"
    );
}

#[test]
fn corruption_in_an_older_segment() {
    let mut dir = healthy();
    let idx = dir.iter().position(|(n, _)| n == "log.100000001").unwrap();
    let (_, three) = log(&range(1, 1..=3));
    dir[idx].1[three.len() - 2] ^= 0xff; // inside record 1:3
    let (_, two) = log(&range(1, 1..=2));
    match err(&dir) {
        RecoveryError::Corrupt { file, offset, .. } => {
            assert_eq!((file.as_str(), offset), ("log.100000001", two.len() as u64));
        }
        e => panic!("{e}"),
    }
}

#[test]
fn corruption_in_the_newest_segment_with_intact_records_after_it() {
    let mut dir = healthy();
    let idx = dir.iter().position(|(n, _)| n == "log.200000001").unwrap();
    dir[idx].1[10] ^= 1; // the length of record 2:1; record 2:2 is intact after it
    assert!(matches!(
        err(&dir),
        RecoveryError::Corrupt { file, offset: 8, why } if file == "log.200000001"
            && why.contains("intact frame follows")
    ));
}

#[test]
fn zxids_must_increase_across_segments() {
    let mut dir = epochs(1, 1);
    dir.push(snap(Zxid::ZERO, b""));
    dir.push(log(&range(1, 1..=5)));
    dir.push(log(&range(1, 4..=6)));
    match err(&dir) {
        RecoveryError::Corrupt { file, offset, why } => {
            assert_eq!((file.as_str(), offset), ("log.100000004", 0));
            assert!(why.contains("log.100000001"), "{why}");
        }
        e => panic!("{e}"),
    }
}

#[test]
fn a_gap_between_snapshot_and_log_is_corruption() {
    // The segment holding 1:3.. was lost; the log resumes at 1:8.
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 2), b""));
    dir.push(log(&range(1, 8..=9)));
    match err(&dir) {
        RecoveryError::Corrupt { file, offset, why } => {
            assert_eq!((file.as_str(), offset), ("log.100000008", 8));
            assert!(why.starts_with("gap"), "{why}");
            assert!(
                why.contains("0x100000002") && why.contains("0x100000008"),
                "{why}"
            );
        }
        e => panic!("{e}"),
    }
    // A middle segment lost: 1:1..1:3 and 1:8..: the snapshot at 1:5 cannot be continued.
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 5), b""));
    dir.push(log(&range(1, 1..=3)));
    dir.push(log(&range(1, 8..=9)));
    assert!(matches!(err(&dir), RecoveryError::Corrupt { file, .. } if file == "log.100000008"));
    // Snapshot.0 and a log that does not start with the first transaction.
    let dir = vec![snap(Zxid::ZERO, b""), log(&range(1, 2..=3))];
    assert!(matches!(err(&dir), RecoveryError::Corrupt { .. }));
}

#[test]
fn a_gap_inside_the_replayed_log_is_corruption() {
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 2), b""));
    dir.push(log(&[z(1, 1), z(1, 2), z(1, 3), z(1, 6)]));
    let (_, upto3) = log(&range(1, 1..=3));
    match err(&dir) {
        RecoveryError::Corrupt { file, offset, why } => {
            assert_eq!(
                (file.as_str(), offset),
                ("log.100000001", upto3.len() as u64)
            );
            assert!(why.contains("0x100000006 follows 0x100000003"), "{why}");
        }
        e => panic!("{e}"),
    }
    // Records the snapshot already covers are only required to increase.
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 6), b""));
    dir.push(log(&[z(1, 1), z(1, 3), z(1, 6), z(1, 7)]));
    assert_eq!(zxids(&DiskState::from_files(&dir).unwrap().txns), [z(1, 7)]);
}

#[test]
fn falling_back_past_a_snapshot_received_by_sync_is_caught() {
    // 1:1..1:5 logged, then the state after 1:9 received whole (SNAP), then 1:10.. logged.
    let mut dir = epochs(1, 1);
    dir.push(snap(z(1, 2), b"old"));
    dir.push(snap(z(1, 9), b"synced"));
    dir.push(log(&range(1, 1..=5)));
    dir.push(log(&range(1, 10..=11)));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(zxids(&state.txns), range(1, 10..=11));
    // Without the synced snapshot, replaying from 1:2 would silently skip 1:6..1:9.
    let idx = dir
        .iter()
        .position(|(n, _)| n == "snapshot.100000009")
        .unwrap();
    dir[idx].1.pop();
    assert!(matches!(
        err(&dir),
        RecoveryError::Corrupt { file, offset: 8, why } if file == "log.10000000a"
            && why.contains("follows 0x100000005")
    ));
}

#[test]
fn duplicate_file() {
    let mut dir = healthy();
    dir.push(dir[0].clone());
    assert_eq!(
        err(&dir),
        RecoveryError::DuplicateFile {
            file: ACCEPTED_EPOCH_FILE.to_string()
        }
    );
}

#[test]
fn errors_read_as_one_line_naming_file_and_offset() {
    let cases = [
        (
            RecoveryError::Corrupt {
                file: "log.1".to_string(),
                offset: 42,
                why: "frame checksum mismatch".to_string(),
            },
            "log.1 is corrupt at byte 42: frame checksum mismatch",
        ),
        (
            RecoveryError::LogsWithoutSnapshot {
                log: "log.1".to_string(),
                unreadable_snapshots: 2,
            },
            "log segment log.1 exists but no snapshot is valid (2 unreadable); refusing to start \
             from an empty database",
        ),
        (
            RecoveryError::NoValidSnapshot {
                file: "snapshot.5".to_string(),
                why: "bad".to_string(),
            },
            "no snapshot is valid (newest, snapshot.5: bad); refusing to start from an empty \
             database",
        ),
        (
            RecoveryError::EpochBehindLog {
                current: 1,
                log_epoch: 2,
            },
            "currentEpoch is 1 but the last logged zxid is in epoch 2, and currentEpoch.tmp does \
             not hold 2 or more",
        ),
        (
            RecoveryError::AcceptedBelowCurrent {
                accepted: 1,
                current: 2,
            },
            "acceptedEpoch 1 is below currentEpoch 2",
        ),
        (
            RecoveryError::BadEpochFile {
                file: "currentEpoch".to_string(),
                error: EpochError::Empty,
            },
            "currentEpoch: epoch file holds no number",
        ),
        (
            RecoveryError::DuplicateFile {
                file: "log.1".to_string(),
            },
            "the data directory listing names log.1 twice",
        ),
    ];
    for (e, text) in cases {
        assert_eq!(e.to_string(), text);
        assert!(!text.contains('\n'));
    }
    #[cfg(feature = "std")]
    {
        let e: &dyn std::error::Error = &RecoveryError::BadEpochFile {
            file: "x".to_string(),
            error: EpochError::TooLarge,
        };
        assert!(e.source().is_some());
    }
}

// ---- fuzz ----

const NAMES: [&str; 12] = [
    "acceptedEpoch",
    "currentEpoch",
    "currentEpoch.tmp",
    "acceptedEpoch.tmp",
    "snapshot.0",
    "snapshot.100000002",
    "log.100000001",
    "log.100000003",
    "log.200000001",
    "log.0",
    "myid",
    "snapshot.ffffffffffffffff",
];

fn check_invariants(state: &DiskState) -> Result<(), TestCaseError> {
    let snap = state.snapshot.as_ref().map_or(Zxid::ZERO, |s| s.zxid);
    let mut prev = snap;
    for t in &state.txns {
        prop_assert!(t.header.zxid > prev);
        prev = t.header.zxid;
    }
    prop_assert_eq!(state.last_zxid, prev.max(snap));
    // Every logged txn's epoch was at least promised, and the promise is never older than the
    // adopted epoch (ZOOKEEPER-2307).
    prop_assert!(state.accepted_epoch >= state.current_epoch);
    prop_assert!(state.accepted_epoch >= state.last_zxid.epoch());
    // A log beyond currentEpoch is accepted only as the unadopted history of a sync that never
    // acknowledged NEWLEADER (ZOOKEEPER-1653, docs/decisions.md D18), and is reported as such;
    // currentEpoch is never raised to match it.
    let log_epoch = state.last_zxid.epoch();
    if log_epoch > state.current_epoch {
        prop_assert_eq!(state.report.unadopted_log_epoch, Some(log_epoch));
    } else {
        prop_assert_eq!(state.report.unadopted_log_epoch, None);
    }
    Ok(())
}

proptest! {
    #[test]
    fn arbitrary_directories_never_panic(
        files in proptest::collection::vec(
            (0..NAMES.len(), proptest::collection::vec(any::<u8>(), 0..200)),
            0..6,
        )
    ) {
        let dir: Dir = files.into_iter().map(|(i, b)| (NAMES[i].to_string(), b)).collect();
        if let Ok(state) = DiskState::from_files(&dir) {
            check_invariants(&state)?;
        }
    }

    #[test]
    fn damaged_healthy_directories_never_panic(
        file in any::<prop::sample::Index>(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut dir = healthy();
        let f = file.index(dir.len());
        let bytes = &mut dir[f].1;
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        let keep = cut.index(bytes.len() + 1);
        bytes.truncate(keep);
        if let Ok(state) = DiskState::from_files(&dir) {
            check_invariants(&state)?;
            // Whatever survived was written, in order. (A lost tail of a segment that ends
            // an epoch cannot be told from an epoch change, so this is not a prefix check.)
            let all = [range(1, 3..=5), range(2, 1..=2)].concat();
            let mut written = all.iter();
            for t in &state.txns {
                prop_assert!(written.any(|z| *z == t.header.zxid));
                prop_assert_eq!(t, &txn(t.header.zxid));
            }
        }
    }
}

/// Found by the simulator (seeds 123, 1691): a torn length prefix reads as zeros, which looks
/// like padding. Whatever follows the valid data of the newest segment is reported, so the node
/// cuts it before appending (otherwise the next start sees a frame after "zero padding").
#[test]
fn bytes_after_the_valid_data_of_the_newest_segment_are_reported_torn() {
    let mut dir = healthy();
    let (name, mut bytes) = dir.pop().unwrap();
    let valid = bytes.len() as u64;
    bytes.extend_from_slice(&[0, 0, 0]);
    dir.push((name.clone(), bytes));
    let state = DiskState::from_files(&dir).unwrap();
    assert_eq!(
        state.report.torn,
        vec![TornTail {
            file: name,
            offset: valid,
            dropped_bytes: 3
        }]
    );
}

/// Found by the simulator (seeds 43, 50, 1779): a crash right after creating a segment leaves
/// an empty file; it is reported (offset 0) so the node removes it.
#[test]
fn an_empty_newest_segment_is_reported_for_removal() {
    let mut dir = healthy();
    dir.push(("log.200000003".to_string(), Vec::new()));
    let state = DiskState::from_files(&dir).unwrap();
    assert!(state
        .report
        .torn
        .iter()
        .any(|t| t.file == "log.200000003" && t.offset == 0));
}
