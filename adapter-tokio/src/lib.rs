//! # conclave-tokio
//!
//! Conclave on tokio: the thin adapter of docs/architecture.md §4. One task per member owns the
//! sans-IO [`conclave_core::Node`]; socket readers and writers are tasks of their own; one
//! blocking thread per member runs the `Persist` ops in order. Everything else — metrics,
//! admin JSON, four-letter words, log lines, recovery, the myid rule, the listen plan — is the
//! core's, so this crate only moves bytes.
//!
//! The binary `conclave` (src/main.rs) offers `serve <zoo.cfg>`, `ensemble` and `inspect`.

#![forbid(unsafe_code)]

pub mod disk;
pub mod member;
pub mod process;
pub mod setup;

use std::path::Path;
use std::time::Duration;

use conclave_core::deploy::EnsembleLayout;
pub use member::Member;
pub use process::ListenAddrs;

/// Loads `zoo.cfg` (and `myid`, and the data directory) and starts the member it describes.
pub async fn start_from_cfg(zoo_cfg: &Path) -> Result<Member, String> {
    let path = zoo_cfg.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || setup::load(&path))
        .await
        .map_err(|e| e.to_string())??;
    Member::start(loaded).await
}

/// Writes the files of `layout` under `dir` (keeping existing data) and starts every member
/// in this process.
pub async fn start_ensemble(dir: &Path, layout: &EnsembleLayout) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    for cfg in &setup::write_ensemble(dir, layout)? {
        members.push(start_from_cfg(cfg).await?);
    }
    Ok(members)
}

/// `host:port,host:port,...` for the members' client ports.
pub fn connect_string(members: &[Member]) -> String {
    let all: Vec<String> = members.iter().map(|m| m.addrs.client.to_string()).collect();
    all.join(",")
}

/// Waits up to `timeout` until some member leads an established epoch and a quorum of
/// members serve; returns the leader's index in `members`.
pub async fn wait_for_leader(members: &[Member], timeout: Duration) -> Option<usize> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let status: Vec<_> = members.iter().map(|m| m.status()).collect();
        if let Some(leader) = conclave_core::deploy::ensemble_ready(&status) {
            return Some(leader);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
