//! Network partitions of real `conclave` processes (shared/partitions.rs): members in network
//! namespaces, the leader cut off with nft; skipped loudly where the machine cannot do it.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;
#[path = "shared/partitions.rs"]
mod shared;
