//! # conclave-tokio
//!
//! Conclave on tokio: the thin adapter of docs/architecture.md §4. One task per member owns the
//! sans-IO [`conclave_core::Node`]; socket readers and writers are tasks of their own. The
//! disk thread, loading, binding and the process helpers are conclave-std's; metrics, admin
//! JSON, four-letter words, log lines, recovery and every rule are the core's, so this crate
//! only moves bytes.
//!
//! The binary `conclave` (src/main.rs) offers `serve <zoo.cfg>`, `ensemble` and `inspect`;
//! `serve` runs its one member on a current-thread runtime (docs/decisions.md D33).

#![forbid(unsafe_code)]

pub mod member;

use std::path::Path;
use std::time::Duration;

use conclave_core::deploy::EnsembleLayout;
pub use conclave_std::ListenAddrs;
pub use member::Member;

/// Loads `zoo.cfg` (and `myid`, and the data directory) and starts the member it describes.
pub async fn start_from_cfg(zoo_cfg: &Path) -> Result<Member, String> {
    let path = zoo_cfg.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || conclave_std::fs::load(&path))
        .await
        .map_err(|e| e.to_string())??;
    Member::start(loaded).await
}

/// Writes the files of `layout` under `dir` (keeping existing data) and starts every member
/// in this process.
pub async fn start_ensemble(dir: &Path, layout: &EnsembleLayout) -> Result<Vec<Member>, String> {
    let mut members = Vec::new();
    for cfg in &conclave_std::fs::write_ensemble(dir, layout)? {
        members.push(start_from_cfg(cfg).await?);
    }
    Ok(members)
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
