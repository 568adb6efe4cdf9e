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
