//! Plain counters, gauges and summaries the node keeps (ZooKeeper's names where one exists);
//! [`crate::observe`] renders them.

use alloc::string::String;

/// Count, sum, min and max of a series of values (ZooKeeper's `AvgMinMaxCounter`), e.g.
/// request latencies in ms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Values recorded since the last reset.
    pub count: u64,
    /// Their sum.
    pub sum: u64,
    /// The smallest (ignored while `count` is 0, printed as 0).
    pub min: u64,
    /// The largest (ignored while `count` is 0, printed as 0).
    pub max: u64,
}

impl Summary {
    /// Nothing recorded.
    pub const EMPTY: Summary = Summary {
        count: 0,
        sum: 0,
        min: 0,
        max: 0,
    };

    /// Records one value.
    pub fn add(&mut self, value: u64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            self.min = self.min.min(value);
            self.max = self.max.max(value);
        }
        self.count += 1;
        self.sum = self.sum.saturating_add(value);
    }

    /// The minimum as ZooKeeper prints it (0 when empty).
    pub fn min_or_zero(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    /// The maximum as ZooKeeper prints it (0 when empty).
    pub fn max_or_zero(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.max
        }
    }

    /// The average as ZooKeeper prints it: rounded half-up to 4 decimals, then written as Java
    /// writes a `double` (`0.0`, `0.5`, `1.3333`, `12.0`, `1.0E-4`, `1.2345678E7`).
    ///
    /// The rounding is done on the exact quotient, where Java rounds the nearest `double`;
    /// the two differ only when `sum/count` is a 5-decimal tie that a `double` cannot hold
    /// exactly, by one unit in the fourth decimal. The digits are JDK 19+'s (shortest
    /// round-trip); older JDKs occasionally print one digit more. Averages beyond 2^53 / 10^4 ms
    /// (centuries) print exact digits where Java would print a rounded `double`.
    pub fn avg(&self) -> String {
        if self.count == 0 {
            return String::from("0.0");
        }
        let (sum, count) = (u128::from(self.sum), u128::from(self.count));
        crate::server::fourlw::java_double_scaled4((sum * 20_000 + count) / (2 * count))
    }

    /// The average truncated to an integer, as a connection's `avglat` is printed.
    pub fn avg_truncated(&self) -> u64 {
        self.sum.checked_div(self.count).unwrap_or(0)
    }
}

/// Last, smallest and largest size of a buffer (ZooKeeper's `BufferStats`): client responses,
/// leader proposals. Each is −1 until a size is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferSizes {
    /// The latest size.
    pub last: i32,
    /// The smallest size.
    pub min: i32,
    /// The largest size.
    pub max: i32,
}

impl BufferSizes {
    /// Nothing recorded: `-1/-1/-1`.
    pub const EMPTY: BufferSizes = BufferSizes {
        last: -1,
        min: -1,
        max: -1,
    };

    /// Records one size.
    pub fn record(&mut self, size: i32) {
        self.last = size;
        if self.min == -1 || size < self.min {
            self.min = size;
        }
        if size > self.max {
            self.max = size;
        }
    }
}

impl Default for BufferSizes {
    /// Nothing recorded: `-1/-1/-1`.
    fn default() -> BufferSizes {
        BufferSizes::EMPTY
    }
}

/// Counters and gauges kept by the node: everything an adapter would otherwise count itself,
/// so that every adapter reports the same figures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// Elections started (`lookForLeader` calls).
    pub elections_started: u64,
    /// Elections that ended with a decision.
    pub elections_decided: u64,
    /// Durations of the decided elections, ms (ZooKeeper's `election_time`).
    pub election_time_ms: Summary,
    /// Notifications sent to peers.
    pub notifications_sent: u64,
    /// Notifications received from peers.
    pub notifications_received: u64,
    /// Peer frames rejected (corrupt, oversize, bad handshake).
    pub peer_frames_rejected: u64,
    /// Forwarded requests dropped as a repeat of the one just before them from the same
    /// learner (a duplicated frame would otherwise execute a write twice).
    pub peer_duplicate_requests: u64,
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
    /// Log fsyncs, µs from the `Sync` op's emission to its `Persisted` (ZooKeeper's
    /// `fsynctime`, which it prints in ms).
    pub fsync_time_us: Summary,
    /// Bytes read from client (and HTTP) connections.
    pub client_bytes_received: u64,
    /// Bytes handed to the adapter for client (and HTTP) connections.
    pub client_bytes_sent: u64,
    /// Bytes read from peer links.
    pub peer_bytes_received: u64,
    /// Bytes handed to the adapter for peer links.
    pub peer_bytes_sent: u64,
    /// Sessions this server expired (leader or standalone).
    pub sessions_expired: u64,
    /// Serialized sizes of the proposals this server made as leader.
    pub proposal_sizes: BufferSizes,
}
