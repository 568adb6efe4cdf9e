//! # conclave-tokio
//!
//! Conclave on tokio: the thin adapter of architecture §4. One task per member owns the
//! sans-IO [`conclave_core::Node`]; socket readers and writers are tasks of their own; one
//! blocking thread per member runs the `Persist` ops in order; a tiny HTTP responder serves
//! `/metrics` and `/commands/<name>` from stats the node task publishes.
//!
//! The binary `conclave` (src/main.rs) offers `serve <zoo.cfg>`, `ensemble` and `inspect`.

#![forbid(unsafe_code)]

pub mod disk;
pub mod http;
pub mod inspect;
pub mod member;
pub mod setup;
pub mod stats;

use std::path::Path;

pub use member::{Member, MemberOptions};
pub use setup::EnsemblePorts;

/// Loads `zoo.cfg` (and `myid`, and the data directory) and starts the member it describes.
pub async fn start_from_cfg(zoo_cfg: &Path, opts: MemberOptions) -> Result<Member, String> {
    let path = zoo_cfg.to_path_buf();
    let loaded = tokio::task::spawn_blocking(move || setup::load(&path))
        .await
        .map_err(|e| e.to_string())??;
    Member::start(loaded, opts).await
}

/// Writes the files of an ensemble on 127.0.0.1 under `dir` (keeping existing data) and
/// starts every member in this process. `ports[i]` are member `i + 1`'s ports.
pub async fn start_ensemble(
    dir: &Path,
    tick_ms: u32,
    ports: &[EnsemblePorts],
    opts: MemberOptions,
) -> Result<Vec<Member>, String> {
    let cfgs = setup::write_ensemble(dir, tick_ms, ports)?;
    let mut members = Vec::new();
    for cfg in &cfgs {
        members.push(start_from_cfg(cfg, opts).await?);
    }
    Ok(members)
}

/// `host:port,host:port,...` for the members' client ports.
pub fn connect_string(members: &[Member]) -> String {
    members
        .iter()
        .map(|m| m.addrs.client.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Waits up to `timeout` until some member leads an established epoch and a quorum of
/// members serve; returns the leader's index in `members`.
pub async fn wait_for_leader(members: &[Member], timeout: std::time::Duration) -> Option<usize> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let stats: Vec<_> = members.iter().map(|m| m.stats()).collect();
        let leader = stats
            .iter()
            .position(|s| s.role == conclave_core::Role::Leading && s.synced);
        let serving = stats.iter().filter(|s| s.serving()).count();
        if let Some(i) = leader {
            if serving * 2 > members.len() {
                return Some(i);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
