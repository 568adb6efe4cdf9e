//! # conclave-conformance
//!
//! The deterministic simulator for `conclave-core`: N [`conclave_core::Node`]s driven by a
//! virtual clock, a model of TCP connections (latency, jitter, slow spells, partitions,
//! resets, duplicated / corrupted / split writes), a model of the disk (ordered, cumulative
//! acknowledgements; a crash keeps a random prefix of the unacknowledged writes) and a fault
//! schedule, all drawn from one master seed. Safety invariants (one file each under
//! [`invariants`]) are checked after every step; once the faults heal, a liveness bound must
//! hold. The same seed always yields the same trace, byte for byte ([`Simulation::trace_hash`]).
//!
//! Entry points: [`Simulation`] for one seed, [`runner::run_seeds`] for many seeds in
//! parallel, and the `sim` binary for the command line.

#![forbid(unsafe_code)]

mod chaos;
pub mod cli;
pub mod cpu_time;
mod disk;
pub mod ensemble;
mod events;
pub mod fnv;
pub mod history;
pub mod invariants;
mod network;
pub mod options;
pub mod progress;
mod queue;
pub mod report;
pub mod runner;
pub mod simulation;
mod trace;
pub mod violation;

pub use options::{FaultOptions, SimOptions};
pub use report::RunReport;
pub use simulation::Simulation;
pub use violation::Violation;
