//! conclave-tokio, conclave-smol and conclave-mio are one server: an ensemble with one member
//! of each elects a leader and replicates, and every data directory is then served by each of
//! the other two adapters in turn.

/// The server binary the shared helpers spawn by default.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave-mio");

#[path = "../../adapter-tokio/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use conclave_std::fs::write_ensemble;

const T: Duration = Duration::from_secs(20);

/// A sibling server binary, built beside this one by `cargo test --workspace` (or `cargo build
/// --workspace --bins`): its absence fails the test with that instruction.
fn sibling_bin(name: &str) -> String {
    let bin = PathBuf::from(SERVER_BIN).with_file_name(name);
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build --release --workspace --bins) — the \
         cross-adapter tests need all three servers",
        bin.display()
    );
    bin.display().to_string()
}

/// Writes through members running `bins`, returns the client's view of `/x/*`.
async fn write_and_read(
    layout: &conclave_core::deploy::EnsembleLayout,
    dir: &std::path::Path,
    bins: Vec<String>,
    tag: &str,
    n: usize,
) -> Vec<String> {
    let cfgs = write_ensemble(dir, layout).unwrap();
    let procs = Procs::spawn_mixed(cfgs, dir, bins);
    let admin: Vec<(usize, u16)> = (0..layout.members.len())
        .map(|i| (i, layout.members[i].admin))
        .collect();
    let leader = leader_by_http(&admin, T);
    assert!(
        leader.is_some(),
        "no leader within {T:?}; logs:\n{}",
        (0..layout.members.len())
            .map(|i| procs.log(i))
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
    let client = connect(&connect_string(layout)).await;
    assert!(
        create_retrying(&client, "/x", T).await
            || client.check_stat("/x").await.ok().flatten().is_some()
    );
    for i in 0..n {
        let path = format!("/x/{tag}-{i}");
        assert!(create_retrying(&client, &path, T).await, "create {path}");
    }
    // Every member serves the same children after a sync.
    let mut children = None;
    for i in 0..layout.members.len() {
        let one = connect(&format!("127.0.0.1:{}", layout.members[i].client)).await;
        one.sync("/x").await.unwrap();
        let mut got = one.list_children("/x").await.unwrap();
        got.sort();
        if let Some(c) = &children {
            assert_eq!(&got, c, "member {} disagrees", i + 1);
        }
        children = Some(got);
    }
    drop(procs);
    children.unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_ensemble_elects_and_replicates_and_each_adapter_serves_the_others_data() {
    let mut bins = vec![
        sibling_bin("conclave"),
        sibling_bin("conclave-smol"),
        SERVER_BIN.to_string(),
    ];
    let dir = TempDir::new("mixed");
    let layout = free_ports(3);
    // Member i runs tokio, smol, mio; then each data directory moves on to the next adapter,
    // twice, so every directory is written by one adapter and served by the other two.
    for (round, tag) in ["a", "b", "c"].into_iter().enumerate() {
        let got = write_and_read(&layout, &dir.0, bins.clone(), tag, 20).await;
        assert_eq!(
            got.len(),
            20 * (round + 1),
            "round {round} ({bins:?}): the data written before is served: {got:?}"
        );
        bins.rotate_left(1);
    }
}
