//! What one seed's run produced.

use crate::violation::Violation;
use crate::workload::WorkloadStats;
use crate::zk_workload::ZkStats;

/// The outcome of one simulation run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The master seed.
    pub seed: u64,
    /// Voting members.
    pub voters: usize,
    /// Observers.
    pub observers: usize,
    /// Whether faults were injected.
    pub faults: bool,
    /// Simulated time actually covered, ns (less than asked when a violation stopped the run).
    pub sim_ns: u64,
    /// The first violation, if any.
    pub violation: Option<Violation>,
    /// FNV-1a over every delivered input and every output.
    pub trace_hash: u64,
    /// From `heal_at` to the first instant with a synced leader followed by every live node, ms.
    pub settle_ms: Option<u64>,
    /// Time of the first `LeaderEstablished`, ms.
    pub first_leader_ms: Option<u64>,
    /// From `heal_at` to the first write acknowledged after it, ms.
    pub progress_ms: Option<u64>,
    /// Distinct txns committed (applied by at least one server).
    pub committed_txns: u64,
    /// `WriteCommitted` events (client acknowledgements).
    pub acked_writes: u64,
    /// The register-map workload's counters.
    pub workload: WorkloadStats,
    /// The ZooKeeper clients' counters.
    pub zk: ZkStats,
    /// `SnapshotTaken` events, all servers.
    pub snapshots: u64,
    /// Process pauses injected.
    pub pauses: u64,
    /// Files left with a torn tail by machine crashes.
    pub torn_tails: u64,
    /// Times a server's applied state moved back to an older snapshot (SNAP sync).
    pub backward_resets: u64,
    /// Events processed (network, disk, timers, chaos).
    pub steps: u64,
    /// `Elected` events, all nodes.
    pub elections: u64,
    /// `LeaderEstablished` events.
    pub establishments: u64,
    /// Crashes (including halts after a failed write).
    pub crashes: u64,
    /// Partitions started.
    pub partitions: u64,
    /// Writes lost to partitions, dead machines and broken streams.
    pub lost_writes: u64,
    /// Frames corrupted by the fault injector.
    pub corrupted: u64,
    /// The human-readable event log (`--verbose` only).
    pub log: Vec<String>,
}
