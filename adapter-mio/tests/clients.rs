//! The client-level end-to-end tests of every adapter, from one body, against `conclave-mio`:
//! every operation kind through the zookeeper-client crate, restart after kill -9, standalone,
//! zkCli.sh.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave-mio");

#[path = "../../adapter-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../adapter-tokio/tests/shared/clients.rs"]
mod shared;
