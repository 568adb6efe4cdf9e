//! Network partitions of real `conclave-mio` processes (shared/partitions.rs): members in network
//! namespaces, the leader cut off with nft; skipped loudly where the machine cannot do it.

/// The server binary under test.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave-mio");

#[path = "../../adapter-tokio/tests/common/mod.rs"]
mod common;
#[path = "../../adapter-tokio/tests/shared/partitions.rs"]
mod shared;
