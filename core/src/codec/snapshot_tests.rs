//! Snapshots: exact layout, round trips, every truncation and flip rejected, fuzz.

use super::*;
use crate::codec::frame::{encode_frame, FRAME_HEADER_BYTES};
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

fn snapshot(zxid: Zxid, state: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_snapshot(zxid, state, &mut out);
    out
}

#[test]
fn exact_bytes_of_a_small_snapshot() {
    #[rustfmt::skip]
    let expected = [
        0x43, 0x4e, 0x53, 0x4e, 0x01, 0x00, 0x00, 0x00, // "CNSN", version 1, reserved
        0x00, 0x00, 0x00, 0x08, 0x1f, 0x97, 0x34, 0x5e, // header frame: length 8, crc32c
        0x01, 0x82, 0x80, 0x80, 0x80, 0x10, 0x05, 0x01, //   v1, zxid 0x100000002, 5 bytes, 1 chunk
        0x00, 0x00, 0x00, 0x07, 0x51, 0xfb, 0xd7, 0xb2, // chunk frame: length 7, crc32c
        0x01, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f,       //   v1, "hello"
        0x00, 0x00, 0x00, 0x07, 0xd9, 0x8c, 0x99, 0x6b, // trailer frame: length 7, crc32c
        0x01, 0xcc, 0xf6, 0xc6, 0xd3, 0x09, 0x01,       //   v1, crc32c("hello") 0x9a71bb4c, 1 chunk
    ];
    let bytes = snapshot(Zxid::new(1, 2), b"hello");
    assert_eq!(bytes, expected);
    assert_eq!(crc32c(b"hello"), 0x9a71_bb4c);
    assert_eq!(
        decode_snapshot(&bytes),
        Ok((Zxid::new(1, 2), b"hello".to_vec()))
    );
}

#[test]
fn empty_state_round_trips() {
    let bytes = snapshot(Zxid::ZERO, &[]);
    assert_eq!(decode_snapshot(&bytes), Ok((Zxid::ZERO, vec![])));
}

#[test]
fn file_names() {
    assert_eq!(snapshot_file_name(Zxid(0)), "snapshot.0");
    assert_eq!(snapshot_file_name(Zxid::new(2, 0x1f)), "snapshot.20000001f");
    assert_eq!(
        parse_snapshot_file_name("snapshot.20000001f"),
        Some(Zxid::new(2, 0x1f))
    );
    for bad in [
        "snapshot.",
        "snapshot.01",
        "snapshot.1F",
        "snapshot.1.tmp",
        "snapshot.1.gz",
        "log.1",
        "snapshot.10000000000000000",
    ] {
        assert_eq!(parse_snapshot_file_name(bad), None, "{bad}");
    }
}

#[test]
fn large_states_are_chunked_at_the_peer_frame_limit() {
    let state: Vec<u8> = (0..2 * SNAPSHOT_CHUNK_BYTES + 3)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let bytes = snapshot(Zxid::new(7, 9), &state);
    // Header, three chunks, trailer; a full chunk's payload is exactly the peer frame limit.
    let mut off = SNAPSHOT_HEADER.len();
    let mut payloads = Vec::new();
    while off < bytes.len() {
        let (p, end) = read_frame(&bytes, off).unwrap();
        payloads.push(p.len());
        off = end;
    }
    assert_eq!(payloads.len(), 5);
    assert_eq!(payloads[1], MAX_PEER_FRAME_BYTES);
    assert_eq!(payloads[2], MAX_PEER_FRAME_BYTES);
    assert_eq!(payloads[3], 1 + 1 + 3);
    assert_eq!(decode_snapshot(&bytes), Ok((Zxid::new(7, 9), state)));
}

#[test]
fn every_truncation_is_rejected() {
    let bytes = snapshot(Zxid::new(1, 2), b"some state bytes");
    for cut in 0..bytes.len() {
        let err = decode_snapshot(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Truncated { .. }),
            "cut {cut}: {err}"
        );
    }
    // An interrupted write into preallocated (zeroed) space is rejected too.
    let mut padded = bytes[..bytes.len() - 3].to_vec();
    padded.resize(bytes.len() + 10, 0);
    assert!(decode_snapshot(&padded).is_err());
}

#[test]
fn every_flipped_byte_is_rejected() {
    let bytes = snapshot(Zxid::new(1, 2), b"some state bytes");
    for at in 0..bytes.len() {
        for x in [0x01, 0x80] {
            let mut b = bytes.clone();
            b[at] ^= x;
            assert!(decode_snapshot(&b).is_err(), "flip {x:#x} at {at}");
        }
    }
}

#[test]
fn trailing_bytes_are_rejected() {
    let mut bytes = snapshot(Zxid::new(1, 2), b"abc");
    let len = bytes.len() as u64;
    bytes.push(0);
    assert!(matches!(
        decode_snapshot(&bytes),
        Err(SnapshotError::Inconsistent { offset, .. }) if offset == len
    ));
}

/// A snapshot assembled record by record, to forge inconsistent but intact files.
fn forged(header: SnapshotHeader, chunks: &[&[u8]], trailer: SnapshotTrailer) -> Vec<u8> {
    let mut out = SNAPSHOT_HEADER.to_vec();
    encode_record(&header, &mut out);
    for c in chunks {
        encode_record(&Bytes(c), &mut out);
    }
    encode_record(&trailer, &mut out);
    out
}

#[test]
fn inconsistent_records_are_rejected_before_allocating() {
    let zxid = Zxid::new(1, 1);
    let ok_trailer = SnapshotTrailer {
        crc32c: crc32c(b"abc"),
        chunks: 1,
    };
    let cases: [(SnapshotHeader, &[&[u8]], SnapshotTrailer, &str); 7] = [
        // A total far beyond the file: refused before any allocation.
        (
            SnapshotHeader {
                zxid,
                total_len: u64::MAX,
                chunks: 1,
            },
            &[b"abc"],
            ok_trailer,
            "state bytes in a",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 4,
            },
            &[b"abc"],
            ok_trailer,
            "cannot be split",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 0,
            },
            &[],
            ok_trailer,
            "cannot be split",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 2,
            },
            &[b"ab", b"cd"],
            ok_trailer,
            "chunk 1 overruns",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 2,
            },
            &[b"", b"abc"],
            ok_trailer,
            "chunk 0 holds 0 bytes",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 1,
            },
            &[b"abc"],
            SnapshotTrailer {
                crc32c: 0,
                chunks: 1,
            },
            "state checksum mismatch",
        ),
        (
            SnapshotHeader {
                zxid,
                total_len: 3,
                chunks: 1,
            },
            &[b"abc"],
            SnapshotTrailer {
                crc32c: ok_trailer.crc32c,
                chunks: 2,
            },
            "trailer counts 2 chunks",
        ),
    ];
    for (header, chunks, trailer, why) in cases {
        let bytes = forged(header, chunks, trailer);
        let err = decode_snapshot(&bytes).unwrap_err();
        assert!(
            matches!(&err, SnapshotError::Inconsistent { .. }) && err.to_string().contains(why),
            "{why}: {err}"
        );
    }
    // Chunks that hold fewer bytes than announced.
    let bytes = forged(
        SnapshotHeader {
            zxid,
            total_len: 4,
            chunks: 1,
        },
        &[b"abc"],
        ok_trailer,
    );
    assert!(decode_snapshot(&bytes)
        .unwrap_err()
        .to_string()
        .contains("chunks hold 3 state bytes, header says 4"));
}

#[test]
fn header_errors() {
    assert_eq!(
        decode_snapshot(b""),
        Err(SnapshotError::Truncated { offset: 0 })
    );
    assert_eq!(
        decode_snapshot(b"CNS"),
        Err(SnapshotError::Truncated { offset: 0 })
    );
    assert_eq!(
        decode_snapshot(b"ZKSN\0\0\0\x02"),
        Err(SnapshotError::NotASnapshot)
    );
    assert_eq!(
        decode_snapshot(b"CNLG\x01\0\0\0"),
        Err(SnapshotError::NotASnapshot)
    );
    assert_eq!(
        decode_snapshot(b"CNSN\x07\0\0\0"),
        Err(SnapshotError::UnsupportedVersion {
            offset: 4,
            version: 7
        })
    );
    // A record whose payload carries another version.
    let mut bytes = SNAPSHOT_HEADER.to_vec();
    encode_frame(&[2, 0, 0, 0], &mut bytes);
    assert_eq!(
        decode_snapshot(&bytes),
        Err(SnapshotError::UnsupportedVersion {
            offset: (SNAPSHOT_HEADER.len() + FRAME_HEADER_BYTES) as u64,
            version: 2
        })
    );
}

proptest! {
    #[test]
    fn arbitrary_states_round_trip(zxid in any::<u64>(), state in proptest::collection::vec(any::<u8>(), 0..5000)) {
        let bytes = snapshot(Zxid(zxid), &state);
        prop_assert_eq!(decode_snapshot(&bytes), Ok((Zxid(zxid), state)));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode_snapshot(&bytes);
        let mut with_header = SNAPSHOT_HEADER.to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = decode_snapshot(&with_header);
    }

    #[test]
    fn damaged_snapshots_never_panic(
        state in proptest::collection::vec(any::<u8>(), 0..300),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = snapshot(Zxid(9), &state);
        for (at, x) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Ok((z, s)) = decode_snapshot(&bytes) {
            // Only flips that cancel out can leave a valid file.
            prop_assert_eq!((z, s), (Zxid(9), state));
        }
    }
}

/// Framing in place gives the very bytes of framing into a new buffer, for every shape of
/// the last chunk (none, one byte, a full one, partial).
#[test]
fn framing_in_place_matches_framing_into_a_copy() {
    let c = SNAPSHOT_CHUNK_BYTES;
    for n in [0, 1, 200, c - 1, c, c + 1, 3 * c + 5] {
        let state: Vec<u8> = (0..n).map(|i| (i * 7 + i / 251) as u8).collect();
        let zxid = Zxid::new(3, n as u32);
        assert_eq!(
            frame_snapshot(zxid, state.clone()),
            snapshot(zxid, &state),
            "state of {n} bytes"
        );
    }
}
