//! Log segments: exact layout, round trips, torn tails, corruption, zero padding, fuzz.

use super::*;
use crate::codec::frame::encode_frame;
use crate::codec::txn::TxnHeader;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

fn txn(zxid: Zxid, body: &[u8]) -> Txn {
    Txn {
        header: TxnHeader {
            zxid,
            session_id: 5,
            cxid: 1,
            time_ms: 1000,
            kind: 1,
        },
        body: body.to_vec().into(),
    }
}

/// A segment named after the first txn, holding `txns`; also returns each record's start.
fn segment(txns: &[Txn]) -> (String, Vec<u8>, Vec<usize>) {
    let name = log_file_name(txns.first().map_or(Zxid(1), |t| t.header.zxid));
    let mut bytes = encode_log_header().to_vec();
    let mut starts = Vec::new();
    for t in txns {
        starts.push(bytes.len());
        encode_log_record(t, &mut bytes);
    }
    (name, bytes, starts)
}

fn ends(scanned: &ScannedLog) -> Vec<u64> {
    scanned.records.iter().map(|r| r.end_offset).collect()
}

fn txns_of(scanned: &ScannedLog) -> Vec<Txn> {
    scanned
        .records
        .iter()
        .map(|r| r.txn.clone().expect("kept"))
        .collect()
}

fn three() -> Vec<Txn> {
    vec![
        txn(Zxid::new(1, 1), b"first"),
        txn(Zxid::new(1, 2), b"second record"),
        txn(Zxid::new(1, 3), b"third"),
    ]
}

#[test]
fn exact_bytes_of_a_small_log() {
    let (name, bytes, _) = segment(&[txn(Zxid::new(1, 1), b"ab")]);
    assert_eq!(name, "log.100000001");
    #[rustfmt::skip]
    let expected = [
        0x43, 0x4e, 0x4c, 0x47, 0x01, 0x00, 0x00, 0x00, // "CNLG", version 1, reserved
        0x00, 0x00, 0x00, 0x0e,                         // payload length 14
        0x77, 0x9e, 0xdf, 0xb9,                         // crc32c of the payload
        0x01,                                           // record version
        0x81, 0x80, 0x80, 0x80, 0x10,                   // zxid 0x100000001 (varint)
        0x0a, 0x02, 0xd0, 0x0f, 0x02,                   // session 5, cxid 1, time 1000, kind 1 (zigzag)
        0x02, 0x61, 0x62,                               // body "ab"
    ];
    assert_eq!(bytes, expected);
    let scanned = scan_log(&name, &bytes, false, Zxid::ZERO).unwrap();
    assert_eq!(scanned.first_zxid, Zxid::new(1, 1));
    assert_eq!(ends(&scanned), [30]);
    assert_eq!(scanned.valid_len, 30);
    assert_eq!(scanned.torn, None);
}

/// Recovery asks only for what follows its snapshot: earlier records are still checked (a
/// bad one is still `Corrupt`) and indexed, but their transactions are not kept in memory.
#[test]
fn a_scan_keeps_only_the_transactions_after_keep_after() {
    let (name, bytes, _) = segment(&three());
    let scanned = scan_log(&name, &bytes, false, Zxid::new(1, 2)).unwrap();
    let kept: Vec<(Zxid, bool)> = scanned
        .records
        .iter()
        .map(|r| (r.zxid, r.txn.is_some()))
        .collect();
    assert_eq!(
        kept,
        [
            (Zxid::new(1, 1), false),
            (Zxid::new(1, 2), false),
            (Zxid::new(1, 3), true)
        ]
    );
    assert_eq!(scanned.records[2].txn.as_ref(), Some(&three()[2]));
    let mut damaged = bytes.clone();
    damaged[LOG_HEADER.len() + 9] ^= 0xff;
    assert!(matches!(
        scan_log(&name, &damaged, false, Zxid::new(1, 2)),
        Err(RecoveryError::Corrupt { .. })
    ));
}

#[test]
fn header_constants_agree() {
    assert_eq!(&LOG_HEADER, b"CNLG\x01\x00\x00\x00");
    assert_eq!(encode_log_header(), LOG_HEADER);
}

#[test]
fn file_names_are_canonical_lowercase_hex() {
    assert_eq!(log_file_name(Zxid(0)), "log.0");
    assert_eq!(log_file_name(Zxid(0xab_0000_00cd)), "log.ab000000cd");
    assert_eq!(log_file_name(Zxid(u64::MAX)), "log.ffffffffffffffff");
    for z in [0, 1, 0x1_0000_0001, u64::MAX] {
        assert_eq!(parse_log_file_name(&log_file_name(Zxid(z))), Some(Zxid(z)));
    }
    for bad in [
        "log.",
        "log.A",
        "log.0a",
        "log.00",
        "log.1.tmp",
        "log.-1",
        "log.+1",
        "log. 1",
        "log.1ffffffffffffffff",
        "log.g",
        "snapshot.1",
        "Log.1",
        "log1",
        "",
        "log.é",
    ] {
        assert_eq!(parse_log_file_name(bad), None, "{bad}");
    }
}

#[test]
fn zero_padding_ends_the_data() {
    let (name, mut bytes, _) = segment(&three());
    let len = bytes.len() as u64;
    bytes.resize(bytes.len() + 4096, 0);
    for last in [false, true] {
        let scanned = scan_log(&name, &bytes, last, Zxid::ZERO).unwrap();
        assert_eq!(txns_of(&scanned), three());
        assert_eq!(scanned.valid_len, len);
        assert_eq!(scanned.torn, None);
    }
    // Fewer than a frame header's worth of zeros is padding too.
    let (name, mut bytes, _) = segment(&three());
    bytes.extend_from_slice(&[0, 0, 0]);
    assert_eq!(
        scan_log(&name, &bytes, false, Zxid::ZERO)
            .unwrap()
            .valid_len,
        len
    );
}

#[test]
fn a_header_only_segment_is_empty() {
    let scanned = scan_log("log.5", &LOG_HEADER, false, Zxid::ZERO).unwrap();
    assert_eq!(scanned.records, []);
    assert_eq!(scanned.valid_len, 8);
    let mut padded = LOG_HEADER.to_vec();
    padded.resize(1024, 0);
    assert_eq!(
        scan_log("log.5", &padded, false, Zxid::ZERO)
            .unwrap()
            .valid_len,
        8
    );
}

#[test]
fn zero_length_then_garbage_is_not_padding() {
    let (name, mut bytes, _) = segment(&three());
    let len = bytes.len();
    bytes.extend_from_slice(&[0; 64]);
    bytes[len + 40] = 7;
    let err = scan_log(&name, &bytes, false, Zxid::ZERO).unwrap_err();
    assert!(matches!(&err, RecoveryError::Corrupt { offset, .. } if *offset == len as u64));
    // In the last segment that garbage is a torn tail: no intact frame follows it.
    let scanned = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap();
    assert_eq!(scanned.valid_len, len as u64);
    assert_eq!(
        scanned.torn,
        Some(TornTail {
            file: name.clone(),
            offset: len as u64,
            dropped_bytes: 41,
        })
    );
}

#[test]
fn torn_tail_at_every_offset_of_the_last_record() {
    let txns = three();
    let (name, full, starts) = segment(&txns);
    let start = *starts.last().unwrap();
    for cut in start..full.len() {
        for pad in [0usize, 100] {
            let mut bytes = full[..cut].to_vec();
            bytes.resize(cut + pad, 0);
            let scanned = scan_log(&name, &bytes, true, Zxid::ZERO)
                .unwrap_or_else(|e| panic!("cut {cut} pad {pad}: {e}"));
            assert_eq!(txns_of(&scanned), txns[..2], "cut {cut}");
            assert_eq!(scanned.valid_len, start as u64, "cut {cut}");
            let extent = full[start..cut]
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |p| p + 1);
            let expected = (extent > 0).then(|| TornTail {
                file: name.clone(),
                offset: start as u64,
                dropped_bytes: extent as u64,
            });
            assert_eq!(scanned.torn, expected, "cut {cut} pad {pad}");
            // The same damage anywhere but the newest segment is corruption.
            if extent > 0 {
                let err = scan_log(&name, &bytes, false, Zxid::ZERO).unwrap_err();
                assert!(
                    matches!(&err, RecoveryError::Corrupt { offset, .. } if *offset == start as u64),
                    "cut {cut}: {err}"
                );
            }
        }
    }
}

#[test]
fn a_flipped_byte_before_intact_records_is_corrupt() {
    let txns = three();
    let (name, full, starts) = segment(&txns);
    let (from, to) = (starts[1], starts[2]);
    for at in from..to {
        for last in [false, true] {
            let mut bytes = full.clone();
            bytes[at] ^= 0x20;
            match scan_log(&name, &bytes, last, Zxid::ZERO) {
                Err(RecoveryError::Corrupt { file, offset, why }) => {
                    assert_eq!(file, name);
                    assert_eq!(offset, from as u64, "flip at {at}: {why}");
                    if last {
                        assert!(why.contains("intact frame follows"), "{why}");
                    }
                }
                other => panic!("flip at {at}, last {last}: {other:?}"),
            }
        }
    }
}

#[test]
fn a_flipped_byte_in_the_last_record_is_a_torn_tail() {
    let txns = three();
    let (name, full, starts) = segment(&txns);
    for at in starts[2]..full.len() {
        let mut bytes = full.clone();
        bytes[at] ^= 0x01;
        let scanned = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap();
        assert_eq!(scanned.valid_len, starts[2] as u64);
        assert!(scanned.torn.is_some(), "flip at {at}");
    }
}

#[test]
fn intact_but_undecodable_records_are_never_torn() {
    let (name, mut bytes, _) = segment(&three()[..1]);
    let at = bytes.len() as u64;
    encode_frame(&[LOG_FORMAT_VERSION, 0xff], &mut bytes);
    let err = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Corrupt { offset, why, .. }
        if *offset == at && why.contains("does not decode")),
        "{err}"
    );

    let (name, mut bytes, _) = segment(&three()[..1]);
    encode_frame(&[9, 1, 2, 3], &mut bytes);
    let err = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(
        err.to_string().contains("unknown record format version 9"),
        "{err}"
    );

    // Trailing bytes after a well-formed txn inside an intact frame.
    let (name, mut bytes, _) = segment(&three()[..1]);
    let mut payload = vec![LOG_FORMAT_VERSION];
    payload.extend(postcard::to_allocvec(&txn(Zxid::new(1, 2), b"x")).unwrap());
    payload.push(0);
    encode_frame(&payload, &mut bytes);
    let err = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(err.to_string().contains("after the transaction"), "{err}");
}

#[test]
fn zxids_must_match_the_name_and_increase() {
    let (_, bytes, starts) = segment(&three());
    let err = scan_log("log.100000002", &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Corrupt { offset: 8, why, .. }
        if why.contains("file name says 0x100000002")),
        "{err}"
    );

    let txns = [
        txn(Zxid::new(1, 1), b"a"),
        txn(Zxid::new(1, 3), b"b"),
        txn(Zxid::new(1, 3), b"c"),
    ];
    let (name, bytes, starts2) = segment(&txns);
    let err = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(
        matches!(&err, RecoveryError::Corrupt { offset, why, .. }
        if *offset == starts2[2] as u64 && why.contains("does not increase")),
        "{err}"
    );
    assert_eq!(starts.len(), 3);

    let err = scan_log("not-a-log", &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(matches!(err, RecoveryError::Corrupt { offset: 0, .. }));
}

#[test]
fn damaged_headers() {
    // Never written, or partly written, in the newest segment: nothing to recover.
    for bytes in [&b""[..], &[0; 100], b"CN", b"CNLG\x01\x00"] {
        let scanned = scan_log("log.1", bytes, true, Zxid::ZERO).unwrap();
        assert_eq!((scanned.valid_len, scanned.records.len()), (0, 0));
        let dropped = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1) as u64;
        assert_eq!(scanned.torn.map_or(0, |t| t.dropped_bytes), dropped);
        assert!(scan_log("log.1", bytes, false, Zxid::ZERO).is_err());
    }
    // A future format version is never mistaken for a torn write.
    let err = scan_log("log.1", b"CNLG\x02\x00\x00\x00", true, Zxid::ZERO).unwrap_err();
    assert!(
        err.to_string().contains("unsupported log format version 2"),
        "{err}"
    );
    // A bad header in front of intact records is corruption, even in the newest segment.
    let (name, mut bytes, _) = segment(&three());
    bytes[0] = b'X';
    let err = scan_log(&name, &bytes, true, Zxid::ZERO).unwrap_err();
    assert!(
        matches!(err, RecoveryError::Corrupt { offset: 0, .. }),
        "{err}"
    );
}

#[test]
fn find_intact_frame_scans_every_offset() {
    let mut bytes = vec![0xee; 13];
    encode_frame(b"zz", &mut bytes);
    assert_eq!(find_intact_frame(&bytes, 0), Some(13));
    assert_eq!(find_intact_frame(&bytes, 14), None);
    assert_eq!(find_intact_frame(&[], 0), None);
    assert_eq!(find_intact_frame(&bytes, usize::MAX), None);
}

fn arb_txns() -> impl Strategy<Value = Vec<Txn>> {
    (
        any::<u64>(),
        proptest::collection::vec(
            (
                1u64..1 << 40,
                any::<i64>(),
                any::<i32>(),
                any::<i64>(),
                any::<i32>(),
                proptest::collection::vec(any::<u8>(), 0..200),
            ),
            1..12,
        ),
    )
        .prop_map(|(start, steps)| {
            let mut zxid = start >> 8;
            steps
                .into_iter()
                .map(|(step, session_id, cxid, time_ms, kind, body)| {
                    zxid = zxid.saturating_add(step);
                    Txn {
                        header: TxnHeader {
                            zxid: Zxid(zxid),
                            session_id,
                            cxid,
                            time_ms,
                            kind,
                        },
                        body: body.into(),
                    }
                })
                .collect::<Vec<_>>()
        })
        .prop_filter("strictly increasing", |t| {
            t.windows(2).all(|w| w[0].header.zxid < w[1].header.zxid)
        })
}

proptest! {
    #[test]
    fn arbitrary_txns_round_trip(txns in arb_txns(), last in any::<bool>(), pad in 0usize..64) {
        let (name, mut bytes, starts) = segment(&txns);
        let len = bytes.len();
        bytes.resize(len + pad, 0);
        let scanned = scan_log(&name, &bytes, last, Zxid::ZERO).unwrap();
        prop_assert_eq!(txns_of(&scanned), txns);
        prop_assert_eq!(scanned.valid_len, len as u64);
        prop_assert_eq!(&scanned.torn, &None);
        let mut expected_ends: Vec<u64> = starts[1..].iter().map(|&s| s as u64).collect();
        expected_ends.push(len as u64);
        prop_assert_eq!(ends(&scanned), expected_ends);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), last in any::<bool>()) {
        let _ = scan_log("log.1", &bytes, last, Zxid::ZERO);
        let mut with_header = LOG_HEADER.to_vec();
        with_header.extend_from_slice(&bytes);
        if let Ok(s) = scan_log("log.1", &with_header, last, Zxid::ZERO) {
            prop_assert!(s.valid_len as usize <= with_header.len());
        }
    }

    #[test]
    fn damaged_logs_never_panic_and_never_overreach(
        txns in arb_txns(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        last in any::<bool>(),
    ) {
        let (name, mut bytes, _) = segment(&txns);
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        bytes.truncate(cut.index(bytes.len() + 1));
        if let Ok(s) = scan_log(&name, &bytes, last, Zxid::ZERO) {
            prop_assert!(s.valid_len as usize <= bytes.len());
            // Checksums make a damaged record unreadable, never a different record.
            prop_assert!(txns.starts_with(&txns_of(&s)));
            let mut prev = None;
            for r in &s.records {
                prop_assert!(prev < Some(r.zxid));
                prev = Some(r.zxid);
            }
        }
    }
}

#[test]
fn the_smallest_record_is_min_record_bytes_long() {
    let mut out = Vec::new();
    let t = Txn {
        header: TxnHeader {
            zxid: Zxid(0),
            session_id: 0,
            cxid: 0,
            time_ms: 0,
            kind: 0,
        },
        body: Vec::new().into(),
    };
    encode_log_record(&t, &mut out);
    assert_eq!(out.len(), MIN_RECORD_BYTES);
}

/// Found by the simulator (seed 1485 after the election change): a machine crash kept the
/// newest segment's magic and tore the rest of its header into garbage (17 bytes), and
/// recovery refused the directory as "unsupported log format version 31". A file that cannot
/// hold one record never held an acknowledged one: it is a torn tail. The same bytes in an
/// older segment, or an unknown version in a file large enough for records, stay refused.
#[test]
fn a_newest_segment_torn_after_its_magic_is_a_torn_tail() {
    let mut bytes = LOG_MAGIC.to_vec();
    bytes.extend_from_slice(&[31, 200, 7, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(bytes.len(), 17);
    let name = log_file_name(Zxid(0x7_0000_0018));
    let scanned = scan_log(&name, &bytes, true, Zxid::ZERO).expect("a torn tail, not corruption");
    assert!(scanned.records.is_empty());
    assert_eq!(scanned.valid_len, 0);
    assert_eq!(
        scanned.torn.map(|t| (t.offset, t.dropped_bytes)),
        Some((0, 17))
    );
    assert!(
        scan_log(&name, &bytes, false, Zxid::ZERO).is_err(),
        "not the newest segment"
    );
    let mut big = bytes.clone();
    big.resize(LOG_HEADER.len() + MIN_RECORD_BYTES, 1);
    let err = scan_log(&name, &big, true, Zxid::ZERO).unwrap_err();
    assert!(
        err.to_string()
            .contains("unsupported log format version 31"),
        "{err}"
    );
}
