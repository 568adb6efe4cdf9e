//! The process-level end-to-end tests of conclave-tokio, from the same body, against
//! `conclave-smol`: kill -9 of the leader with no acknowledged write lost, SIGTERM and restart
//! from disk, `inspect`, a corrupt log refused, a clean ensemble shutdown.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave-smol");

#[path = "../../adapter-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../adapter-tokio/tests/shared/processes.rs"]
mod shared;
