//! The stats a member publishes for its HTTP endpoints and for tests: a plain snapshot,
//! rebuilt by the node task, read by anyone without touching the node.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use conclave_core::config::Config;
use conclave_core::server::ZkService;
use conclave_core::{Metrics, Node, Role, ServerId, Zxid};

use crate::setup::ListenAddrs;

/// Counters kept by the adapter itself (sockets, disk), shared with the disk thread.
#[derive(Debug, Default)]
pub struct Counters {
    /// Bytes read from clients.
    pub client_bytes_in: AtomicU64,
    /// Bytes queued to clients.
    pub client_bytes_out: AtomicU64,
    /// Bytes read from peers.
    pub peer_bytes_in: AtomicU64,
    /// Bytes queued to peers.
    pub peer_bytes_out: AtomicU64,
    /// Writes submitted here and committed.
    pub writes_committed: AtomicU64,
    /// Writes submitted here that failed or whose fate is unknown.
    pub writes_failed: AtomicU64,
    /// Sessions this server expired (leader).
    pub sessions_expired: AtomicU64,
    /// fsyncs (log `Sync` ops) done.
    pub fsync_count: AtomicU64,
    /// Total fsync time, µs.
    pub fsync_micros: AtomicU64,
    /// Slowest fsync, µs.
    pub fsync_max_micros: AtomicU64,
    /// Elections decided here.
    pub elections: AtomicU64,
    /// Sum of election durations, ms.
    pub election_ms_sum: AtomicU64,
    /// Shortest election, ms (`u64::MAX` before the first).
    pub election_ms_min: AtomicU64,
    /// Longest election, ms.
    pub election_ms_max: AtomicU64,
}

impl Counters {
    /// Records one election's duration.
    pub fn record_election(&self, ms: u64) {
        if self.elections.fetch_add(1, Ordering::Relaxed) == 0 {
            self.election_ms_min.store(ms, Ordering::Relaxed);
        } else {
            self.election_ms_min.fetch_min(ms, Ordering::Relaxed);
        }
        self.election_ms_sum.fetch_add(ms, Ordering::Relaxed);
        self.election_ms_max.fetch_max(ms, Ordering::Relaxed);
    }

    /// Records one fsync's duration.
    pub fn record_fsync(&self, micros: u64) {
        self.fsync_count.fetch_add(1, Ordering::Relaxed);
        self.fsync_micros.fetch_add(micros, Ordering::Relaxed);
        self.fsync_max_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(a: &AtomicU64) -> u64 {
        a.load(Ordering::Relaxed)
    }
}

/// What does not change while a member runs.
#[derive(Debug)]
pub struct Fixed {
    /// Our id.
    pub my_id: ServerId,
    /// The configuration.
    pub config: Config,
    /// The data directory.
    pub data_dir: String,
    /// Where we listen.
    pub addrs: ListenAddrs,
    /// Adapter counters.
    pub counters: Arc<Counters>,
}

/// One published snapshot of a member.
#[derive(Clone, Debug)]
pub struct Stats {
    /// The static part.
    pub fixed: Arc<Fixed>,
    /// Role.
    pub role: Role,
    /// The leader, once elected.
    pub leader: Option<ServerId>,
    /// Leader established / follower synced.
    pub synced: bool,
    /// acceptedEpoch.
    pub accepted_epoch: u32,
    /// currentEpoch.
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_zxid: Zxid,
    /// Last committed zxid.
    pub last_committed: Zxid,
    /// Last applied zxid.
    pub last_applied: Zxid,
    /// Tree digest.
    pub digest: u64,
    /// Election round.
    pub round: u64,
    /// Peers with a live link.
    pub peers_up: Vec<ServerId>,
    /// The core's counters.
    pub metrics: Metrics,
    /// Znodes.
    pub znode_count: u64,
    /// Watch registrations.
    pub watch_count: u64,
    /// Watched paths.
    pub watched_paths: u64,
    /// Ephemeral znodes.
    pub ephemerals_count: u64,
    /// Sum of path and data lengths.
    pub approximate_data_size: u64,
    /// Open client connections.
    pub alive_connections: u64,
    /// Sessions in the tree.
    pub global_sessions: u64,
    /// Client packets received / sent.
    pub packets: (u64, u64),
    /// Time since the member started, ms.
    pub uptime_ms: u64,
}

impl Stats {
    /// Before the node ran.
    pub fn initial(
        config: &Config,
        data_dir: &Path,
        addrs: &ListenAddrs,
        counters: Arc<Counters>,
    ) -> Stats {
        Stats {
            fixed: Arc::new(Fixed {
                my_id: config.my_id,
                config: config.clone(),
                data_dir: data_dir.display().to_string(),
                addrs: addrs.clone(),
                counters,
            }),
            role: Role::Looking,
            leader: None,
            synced: false,
            accepted_epoch: 0,
            current_epoch: 0,
            last_zxid: Zxid::ZERO,
            last_committed: Zxid::ZERO,
            last_applied: Zxid::ZERO,
            digest: 0,
            round: 0,
            peers_up: Vec::new(),
            metrics: Metrics::default(),
            znode_count: 0,
            watch_count: 0,
            watched_paths: 0,
            ephemerals_count: 0,
            approximate_data_size: 0,
            alive_connections: 0,
            global_sessions: 0,
            packets: (0, 0),
            uptime_ms: 0,
        }
    }

    /// A fresh snapshot of `node`.
    pub fn from_node(
        prev: &Stats,
        node: &Node<ZkService>,
        approximate_data_size: u64,
        ephemerals_count: u64,
        start: std::time::Instant,
    ) -> Stats {
        let st = node.status();
        let sm = node.state_machine();
        Stats {
            fixed: prev.fixed.clone(),
            role: st.role,
            leader: st.leader,
            synced: st.synced,
            accepted_epoch: st.accepted_epoch,
            current_epoch: st.current_epoch,
            last_zxid: st.last_zxid,
            last_committed: st.last_committed,
            last_applied: st.last_applied,
            digest: st.digest,
            round: st.round,
            peers_up: st.peers_up,
            metrics: node.metrics().clone(),
            znode_count: sm.tree().node_count() as u64,
            watch_count: sm.watches().count() as u64,
            watched_paths: sm.watches().paths() as u64,
            ephemerals_count,
            approximate_data_size,
            alive_connections: sm.connection_count() as u64,
            global_sessions: sm.tree().sessions().len() as u64,
            packets: sm.packet_counts(),
            uptime_ms: start.elapsed().as_millis() as u64,
        }
    }

    /// Serving clients: synchronized with an established leader (or leading one).
    pub fn serving(&self) -> bool {
        self.synced && matches!(self.role, Role::Leading | Role::Following | Role::Observing)
    }

    /// ZooKeeper's `Mode:` / `server_state`.
    pub fn server_state(&self) -> &'static str {
        match self.role {
            Role::Leading if self.fixed.config.servers.len() <= 1 => "standalone",
            Role::Leading => "leader",
            Role::Following => "follower",
            Role::Observing => "observer",
            Role::Looking => "looking",
            Role::Halted => "halted",
        }
    }

    /// The client address to print (`clientPortAddress:clientPort`).
    pub fn client_addr(&self) -> SocketAddr {
        self.fixed.addrs.client
    }
}
