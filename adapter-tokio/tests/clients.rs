//! The client-level end-to-end tests (shared/clients.rs) against `conclave`.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;
#[path = "shared/clients.rs"]
mod shared;
