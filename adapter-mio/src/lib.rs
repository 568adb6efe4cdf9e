//! # conclave-mio
//!
//! Conclave on a hand-written `mio::Poll` loop: one thread per member owns the sans-IO
//! [`conclave_core::Node`], its listeners and its sockets; the disk thread (conclave-std's)
//! wakes it with a `mio::Waker`. No async runtime, no tasks: this crate is the template for
//! embedding the core in an event loop of your own (docs/embedding.md).
//!
//! The binary `conclave-mio` offers `serve <zoo.cfg>`, `ensemble` and `inspect`, with the same
//! command line, ports, data directory and log lines as `conclave` and `conclave-smol`.

#![forbid(unsafe_code)]

pub mod member;

use std::path::Path;

use conclave_core::deploy::EnsembleLayout;
pub use conclave_std::ListenAddrs;
pub use member::{Member, Stopper};

/// Loads `zoo.cfg` (and `myid`, and the data directory) and starts the member it describes.
pub fn start_from_cfg(zoo_cfg: &Path) -> Result<Member, String> {
    Member::start(conclave_std::fs::load(zoo_cfg)?)
}

/// Writes the files of `layout` under `dir` (keeping existing data) and starts every member.
pub fn start_ensemble(dir: &Path, layout: &EnsembleLayout) -> Result<Vec<Member>, String> {
    conclave_std::fs::write_ensemble(dir, layout)?
        .iter()
        .map(|cfg| start_from_cfg(cfg))
        .collect()
}
