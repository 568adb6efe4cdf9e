//! # conclave-smol
//!
//! Conclave on the smol family's runtime-agnostic crates: `async-io` for sockets and timers,
//! `async-executor` for tasks, `async-channel` between them. One task per member owns the
//! sans-IO [`conclave_core::Node`]; each socket has a reader and a writer task; one std thread
//! per member runs the `Persist` ops in order. Every decision — socket names, abandoned dials,
//! log lines and levels, the command line, loading a member — is the core's
//! (`conclave_core::host`), so this crate and conclave-tokio behave alike.
//!
//! The disk thread, loading, binding and the process helpers are conclave-std's, shared
//! with every adapter.
//!
//! The binary `conclave-smol` offers `serve <zoo.cfg>`, `ensemble` and `inspect`; `serve`
//! runs its one member on one executor thread (docs/decisions.md D33).

#![forbid(unsafe_code)]

pub mod member;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_executor::Executor;
use conclave_core::deploy::EnsembleLayout;
pub use conclave_std::ListenAddrs;
pub use member::Member;

/// Loads `zoo.cfg` (and `myid`, and the data directory) and starts the member it describes
/// on `ex`.
pub fn start_from_cfg(zoo_cfg: &Path, ex: &Arc<Executor<'static>>) -> Result<Member, String> {
    Member::start(conclave_std::fs::load(zoo_cfg)?, ex)
}

/// Writes the files of `layout` under `dir` (keeping existing data) and starts every member
/// on `ex`.
pub fn start_ensemble(
    dir: &Path,
    layout: &EnsembleLayout,
    ex: &Arc<Executor<'static>>,
) -> Result<Vec<Member>, String> {
    conclave_std::fs::write_ensemble(dir, layout)?
        .iter()
        .map(|cfg| start_from_cfg(cfg, ex))
        .collect()
}

/// Waits up to `timeout` until some member leads an established epoch and a quorum of
/// members serve; returns the leader's index in `members`.
pub async fn wait_for_leader(members: &[Member], timeout: Duration) -> Option<usize> {
    let deadline = Instant::now() + timeout;
    loop {
        let status: Vec<_> = members.iter().map(|m| m.status()).collect();
        if let Some(leader) = conclave_core::deploy::ensemble_ready(&status) {
            return Some(leader);
        }
        if Instant::now() >= deadline {
            return None;
        }
        async_io::Timer::after(Duration::from_millis(20)).await;
    }
}
