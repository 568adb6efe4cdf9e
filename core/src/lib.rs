//! # conclave-core
//!
//! The protocol core of Conclave, a ZooKeeper-compatible coordination service: Fast Leader
//! Election, ZAB and (later) the data tree, as pure state machines.
//!
//! **The contract.** This crate does no IO: no sockets, files, clocks, threads or global
//! randomness. Time comes in as [`Instant`] on every call, randomness from the `seed` given to
//! [`Node::new`], and durability as [`Input::Persisted`] acknowledgements of the
//! [`Output::Persist`] ops the node emitted. The same inputs give the same outputs, byte for
//! byte, which is what lets the deterministic simulator in `conclave-conformance` replay any
//! failure from its seed.
//!
//! **The loop every adapter runs:**
//!
//! 1. `node.handle(now, input)` for each event (bytes read, connection opened or closed,
//!    disk acknowledgement, or `Input::Timeout` when `poll_timeout` is reached);
//! 2. drain `node.poll_output()` until `None`, carrying out each output in order
//!    (`Persist` ops strictly in `seq` order on one disk thread);
//! 3. sleep until `node.poll_timeout()` or the next event.
//!
//! Peer bytes are raw: the core owns framing and decoding, so every adapter shares one fuzzed
//! decoder. Malformed input closes the offending link; it never panics the core.

#![no_std]
#![forbid(unsafe_code)]
#![deny(unused_must_use)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod client;
pub mod codec;
pub mod config;
pub mod deploy;
mod election;
pub mod files;
pub mod fuzzing;
pub mod hash;
pub mod host;
mod ids;
mod inspect;
mod io;
mod metrics;
mod node;
mod observe;
pub mod quorum;
pub mod recovery;
pub mod rng;
mod server;
mod service;
mod time;
mod timer;
mod transport;
pub mod tree;
mod zab;

pub use config::{Config, ConfigError, PeerType};
pub use election::{PeerState, Vote};
pub use ids::{LinkId, ServerId, Zxid};
pub use inspect::inspect;
#[cfg(any(test, feature = "sim"))]
pub use io::WriteFailure;
pub use io::{Input, Level, NodeEvent, Output, PersistOp, Role, Status};
pub use metrics::Metrics;
pub use node::{Node, Recovered, Tuning};
pub use observe::HttpEndpoint;
pub use server::ZkService;
pub use service::Service;
pub use time::Instant;
pub use transport::RejectReason;
#[cfg(any(test, feature = "sim"))]
pub use zab::RegisterMap;
pub use zab::{ReplicatedState, StateMachine};
