//! The process-level end-to-end tests (shared/processes.rs) against `conclave`.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;
#[path = "shared/processes.rs"]
mod shared;
