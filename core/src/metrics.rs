//! Plain counters and gauges the adapters export (ZooKeeper's names where one exists).

/// Counters and gauges kept by the core; adapters render them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Elections started (`lookForLeader` calls).
    pub elections_started: u64,
    /// Elections that ended with a decision.
    pub elections_decided: u64,
    /// Duration of the last election, ms (ZooKeeper's `election_time`).
    pub election_time_ms: u64,
    /// Notifications sent to peers.
    pub notifications_sent: u64,
    /// Notifications received from peers.
    pub notifications_received: u64,
    /// Peer frames rejected (corrupt, oversize, bad handshake).
    pub peer_frames_rejected: u64,
    /// Peer links established.
    pub peer_links_established: u64,
    /// Times this server became an established leader.
    pub leaderships_established: u64,
    /// Times a leader or learner stepped down.
    pub step_downs: u64,
    /// Persist ops issued.
    pub persist_ops: u64,
    /// Txns applied to the state machine.
    pub txns_applied: u64,
}
