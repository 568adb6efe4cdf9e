//! # conclave-conformance
//!
//! The deterministic simulator for `conclave-core`: N [`conclave_core::Node`]s driven by a
//! virtual clock, a model of TCP connections (latency, jitter, slow spells, partitions,
//! resets, duplicated / corrupted / split writes), a model of each data directory (files with
//! synced and unsynced bytes; ordered, cumulative acknowledgements; a machine crash keeps,
//! drops or tears unsynced bytes), simulated clients submitting writes, per-machine clock
//! drift, process pauses and a fault schedule, all drawn from one master seed. Safety invariants (one file each under
//! [`invariants`]) are checked after every step; once the faults heal, a liveness bound must
//! hold. The same seed always yields the same trace, byte for byte ([`Simulation::trace_hash`]).
//!
//! Entry points: [`Simulation`] for one seed, [`runner::run_seeds`] for many seeds in
//! parallel, and the `sim` binary for the command line.

// Two audited calls (setns, geteuid) in suite/netns.rs; nothing else may use `unsafe`.
#![deny(unsafe_code)]

mod chaos;
pub mod cli;
mod client_net;
mod clock;
pub mod cpu_time;
pub mod differential;
mod disk;
pub mod ensemble;
mod events;
pub mod history;
pub mod invariants;
pub mod linearizability;
mod network;
pub mod options;
pub mod progress;
mod queue;
pub mod report;
pub mod runner;
pub mod scripted;
pub mod server_node;
pub mod simulation;
pub mod suite;
pub mod timeline;
mod trace;
pub mod violation;
pub mod workload;
pub mod zk_workload;

pub use options::{FaultOptions, SimOptions, Workload};
pub use report::RunReport;
pub use server_node::ServiceKind;
pub use simulation::Simulation;
pub use violation::Violation;
