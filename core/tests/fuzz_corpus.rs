//! Replays every committed fuzz corpus file through the same entry points the fuzzers use.

use std::fs;
use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} unreadable: {e}", dir.display()))
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    for f in &files {
        let data = fs::read(f).expect("corpus file");
        run(&data);
    }
    files.len()
}

#[test]
fn peer_bytes_corpus_replays() {
    let n = replay("peer_bytes", conclave_core::fuzzing::peer_bytes);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn zoo_cfg_corpus_replays() {
    let n = replay("zoo_cfg", conclave_core::fuzzing::zoo_cfg);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn client_frames_corpus_replays() {
    let n = replay("client_frames", conclave_core::fuzzing::client_frames);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn request_body_corpus_replays() {
    let n = replay("request_body", conclave_core::fuzzing::request_body);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn disk_files_corpus_replays() {
    let n = replay("disk_files", conclave_core::fuzzing::disk_files);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn node_clients_corpus_replays() {
    let n = replay("node_clients", conclave_core::fuzzing::node_clients);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

#[test]
fn security_corpus_replays() {
    let n = replay("security", conclave_core::fuzzing::security);
    assert!(n >= 5, "expected a seeded corpus, found {n} files");
}

/// Writes the seed corpora for the client targets (run once with `--ignored` after a format change).
#[test]
#[ignore]
fn write_client_seed_corpora() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    for (i, s) in conclave_core::client::fuzz::client_frames_seeds()
        .iter()
        .enumerate()
    {
        fs::write(root.join("client_frames").join(format!("seed-{i:02}")), s).unwrap();
    }
    for (i, s) in conclave_core::client::fuzz::request_body_seeds()
        .iter()
        .enumerate()
    {
        fs::write(root.join("request_body").join(format!("seed-{i:02}")), s).unwrap();
    }
}

/// Writes the seed corpus for `disk_files` from the real encoders.
#[test]
#[ignore]
fn write_disk_seed_corpus() {
    use conclave_core::codec::{log, snapshot, Txn, TxnHeader};
    use conclave_core::Zxid;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/disk_files");
    let mut snap = Vec::new();
    snapshot::encode_snapshot(Zxid::ZERO, b"state", &mut snap);
    let mut seg = log::encode_log_header().to_vec();
    for c in 1..=3 {
        let txn = Txn {
            header: TxnHeader {
                zxid: Zxid::new(1, c),
                session_id: 7,
                cxid: c as i32,
                time_ms: 1,
                kind: 1,
            },
            body: vec![c as u8; 5].into(),
        };
        log::encode_log_record(&txn, &mut seg);
    }
    let cut = snap.len().min(255) as u8;
    let whole = |s: &[u8], l: &[u8]| [&[cut][..], s, l].concat();
    fs::write(dir.join("valid"), whole(&snap, &seg)).unwrap();
    fs::write(dir.join("torn_tail"), whole(&snap, &seg[..seg.len() - 3])).unwrap();
    let mut flipped = seg.clone();
    flipped[20] ^= 0x40;
    fs::write(dir.join("corrupt_middle"), whole(&snap, &flipped)).unwrap();
    fs::write(
        dir.join("padded"),
        whole(&snap, &[&seg[..], &[0u8; 64]].concat()),
    )
    .unwrap();
    fs::write(dir.join("no_snapshot"), [&[0u8][..], &seg[..]].concat()).unwrap();
    fs::write(dir.join("epoch_text"), b"\x0042\n").unwrap();
}
