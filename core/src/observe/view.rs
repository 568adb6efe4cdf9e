//! One view of a server, built by the node at the moment a four-letter word, an AdminServer
//! command or a `/metrics` scrape arrives, and rendered three ways: [`crate::server::fourlw`],
//! [`super::admin`] and [`super::prometheus`]. Plain data over borrowed slices, so building it
//! is cheap and every rendering reads the same figures.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::config::Config;
use crate::ids::{ServerId, Zxid};
use crate::metrics::{BufferSizes, Metrics, Summary};

/// One client connection, as `stat`, `cons` print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectionInfo<'a> {
    /// The client's address, printed the Java way: `/10.0.0.1:50000`,
    /// `/[0:0:0:0:0:0:0:1]:50000` (IPv4-mapped IPv6 addresses as IPv4).
    pub remote: SocketAddr,
    /// Selector interest (1 = reading, 4 = writing, 5 = both, 0 = neither, e.g. the
    /// connection asking the four-letter word itself), printed in hex.
    pub interest_ops: u32,
    /// Requests received and not yet answered (`queued`).
    pub queued: u64,
    /// Packets received (`recved`; a four-letter word counts as one).
    pub received: u64,
    /// Packets sent (`sent`).
    pub sent: u64,
    /// The session, 0 before the handshake; `cons` prints the details below only for a
    /// non-zero session.
    pub session_id: i64,
    /// The last operation answered, ZooKeeper's 4-letter abbreviation (`GETD`, `PING`,
    /// `SESS`, …; `NA` after a reset).
    pub last_op: &'a str,
    /// When the connection was accepted, wall-clock ms since the Unix epoch (`est`).
    pub established_ms: u64,
    /// The negotiated session timeout, ms (`to`).
    pub session_timeout_ms: u32,
    /// The last client xid answered (`lcxid`, omitted when negative, e.g. after a reset).
    pub last_cxid: i64,
    /// The zxid of the last answer (`lzxid`; −1 after a reset prints `ffffffffffffffff`).
    pub last_zxid: i64,
    /// When the last answer was sent, ms (`lresp`; ZooKeeper uses its monotonic clock here).
    pub last_response_ms: u64,
    /// Latency of the last answer, ms (`llat`).
    pub last_latency_ms: u64,
    /// Latencies of every answer since the last reset (`minlat`, `avglat` truncated,
    /// `maxlat`).
    pub latency: Summary,
}

/// The leader's view of its followers (printed by `srvr`, `stat`, `mntr` on the leader).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaderStats {
    /// Learners connected (`zk_learners`).
    pub learners: usize,
    /// Voting followers synced and receiving proposals (`zk_synced_followers`).
    pub synced_followers: usize,
    /// Non-voting followers synced (`zk_synced_non_voting_followers`).
    pub synced_non_voting_followers: usize,
    /// Observers synced (`zk_synced_observers`).
    pub synced_observers: usize,
    /// Sync requests waiting for a commit (`zk_pending_syncs`).
    pub pending_syncs: usize,
    /// Time since this leader was established, ms (`zk_leader_uptime`).
    pub uptime_ms: u64,
    /// Sizes of the serialized proposals (`Proposal sizes last/min/max`).
    pub proposal_sizes: BufferSizes,
}

/// What a server in an ensemble adds to `mntr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QuorumInfo<'a> {
    /// `zk_peer_state`: the peer state, Zab phase and sync mode, lowercase and joined by
    /// `" - "` (`"leading - broadcast"`, `"following - synchronization - diff"`).
    pub peer_state: &'a str,
    /// `zk_quorum_size`: voting members in the current configuration.
    pub quorum_size: usize,
}

/// The part this server plays, which decides `Mode:`/`zk_server_state` and the role-specific
/// lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role<'a> {
    /// A single server (`standalone`).
    #[default]
    Standalone,
    /// A partitioned ensemble member serving read-only clients (`read-only`; `srvr` adds
    /// `READ-ONLY mode; serving only read-only clients`, `isro` answers `ro`).
    ReadOnly,
    /// The leader (`leader`).
    Leader {
        /// Ensemble information.
        quorum: QuorumInfo<'a>,
        /// Follower and proposal statistics.
        stats: LeaderStats,
    },
    /// A voting follower (`follower`).
    Follower {
        /// Ensemble information.
        quorum: QuorumInfo<'a>,
        /// Observers synced with this follower as their learner master (`zk_synced_observers`).
        synced_observers: usize,
    },
    /// An observer (`observer`).
    Observer {
        /// Ensemble information.
        quorum: QuorumInfo<'a>,
        /// The server id this observer learns from (`zk_observer_master_id`, `null` if none).
        master_id: Option<u64>,
    },
}

impl Role<'_> {
    /// The state name: `Mode:` in `srvr`, `zk_server_state` in `mntr`.
    pub fn server_state(&self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::ReadOnly => "read-only",
            Role::Leader { .. } => "leader",
            Role::Follower { .. } => "follower",
            Role::Observer { .. } => "observer",
        }
    }

    pub(crate) fn quorum(&self) -> Option<&QuorumInfo<'_>> {
        match self {
            Role::Standalone | Role::ReadOnly => None,
            Role::Leader { quorum, .. }
            | Role::Follower { quorum, .. }
            | Role::Observer { quorum, .. } => Some(quorum),
        }
    }
}

/// Members of an expiry queue due at the same time (ZooKeeper's `ExpiryQueue` bucket).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpiryBucket<T> {
    /// When they expire, wall-clock ms since the Unix epoch.
    pub expire_at_ms: u64,
    /// The members, printed in this order.
    pub members: Vec<T>,
}

/// The sessions `dump` lists; which one depends on the role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionDump<'a> {
    /// Standalone and leader: the expiry queue, `Session Sets (<buckets>)/(<sessions>):`
    /// then `<n> expire at <date>:` per bucket (sorted by time here) and `\t0x<sid>` lines.
    Expiry(&'a [ExpiryBucket<i64>]),
    /// Followers and observers: `Global Sessions(<n>):` then `0x<sid>\t<timeout>ms` lines,
    /// sorted by session id here. (Local sessions are not supported and never printed.)
    Learner(&'a [(i64, u32)]),
}

impl Default for SessionDump<'_> {
    fn default() -> Self {
        SessionDump::Expiry(&[])
    }
}

/// The `wchs` summary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchSummary {
    /// Connections with at least one watch.
    pub connections: usize,
    /// Paths with at least one watch.
    pub paths: usize,
    /// Watch registrations (connection, path) in all.
    pub total: usize,
}

/// The replication side of the view: what the node (not the service) knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeFacts {
    /// Our server id.
    pub my_id: ServerId,
    /// Our role.
    pub role: crate::io::Role,
    /// A single server without `server.N` lines (or a lone one with `standaloneEnabled`).
    pub standalone: bool,
    /// The leader we follow or are, once elected.
    pub leader: Option<ServerId>,
    /// Leader established / learner synced: serving clients.
    pub synced: bool,
    /// Durable acceptedEpoch.
    pub accepted_epoch: u32,
    /// Durable currentEpoch.
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_logged: Zxid,
    /// Last committed zxid known here.
    pub last_committed: Zxid,
    /// Last zxid applied to the state machine.
    pub last_applied: Zxid,
    /// Election logical clock.
    pub round: u64,
    /// Peers with a live link.
    pub peers_up: usize,
    /// Voting members in the configuration (`zk_quorum_size`).
    pub voters: usize,
    /// Time since the node was built, ms (`zk_uptime`).
    pub uptime_ms: u64,
    /// Leading: the followers' and proposals' statistics.
    pub leader_stats: Option<LeaderStats>,
}

impl NodeFacts {
    /// ZooKeeper's state name (`Mode:`, `zk_server_state`), `looking` and `halted` included.
    pub fn state_name(&self) -> &'static str {
        use crate::io::Role as R;
        match self.role {
            R::Leading if self.standalone => "standalone",
            R::Leading => "leader",
            R::Following => "follower",
            R::Observing => "observer",
            R::Looking => "looking",
            R::Halted => "halted",
        }
    }

    /// `zk_peer_state`: the peer state and Zab phase.
    pub fn peer_state(&self) -> &'static str {
        use crate::io::Role as R;
        match (self.role, self.synced) {
            (R::Leading, true) => "leading - broadcast",
            (R::Leading, false) => "leading - synchronization",
            (R::Following, true) => "following - broadcast",
            (R::Following, false) => "following - synchronization",
            (R::Observing, true) => "observing - broadcast",
            (R::Observing, false) => "observing - synchronization",
            (R::Looking, _) => "looking",
            (R::Halted, _) => "halted",
        }
    }

    /// The part the four-letter words and `mntr` describe.
    pub fn view_role(&self) -> Role<'static> {
        use crate::io::Role as R;
        if self.standalone {
            return Role::Standalone;
        }
        let quorum = QuorumInfo {
            peer_state: self.peer_state(),
            quorum_size: self.voters,
        };
        match self.role {
            R::Leading => Role::Leader {
                quorum,
                stats: self.leader_stats.unwrap_or_default(),
            },
            R::Observing => Role::Observer {
                quorum,
                master_id: self.leader,
            },
            _ => Role::Follower {
                quorum,
                synced_observers: 0,
            },
        }
    }
}

/// Answers to client requests of one operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpOutcomes {
    /// Answered with error code 0.
    pub ok: u64,
    /// Answered with an error code.
    pub errors: u64,
}

/// What the service counts about client requests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// Outcomes by operation name (`create`, `getData`, `ping`, …).
    pub by_op: BTreeMap<&'static str, OpOutcomes>,
    /// Writes from clients of this server that committed and were answered with success.
    pub writes_committed: u64,
    /// Writes from clients of this server answered with an error (failed checks included).
    pub writes_failed: u64,
}

/// One `mntr` value, typed so that JSON and Prometheus render it as a number where it is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MntrValue {
    /// An integer.
    Int(i128),
    /// A Java-formatted `double` (`0.0`, `1.3333`, `1.0E-4`).
    Float(String),
    /// Text.
    Str(String),
}

impl core::fmt::Display for MntrValue {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MntrValue::Int(n) => write!(f, "{n}"),
            MntrValue::Float(s) | MntrValue::Str(s) => f.write_str(s),
        }
    }
}

/// Everything the four-letter words, the AdminServer and `/metrics` print, gathered by the
/// node and its service at the moment of the request. Fields a command does not print may be
/// left at their [`Default`].
///
/// ZooKeeper counts `wchs`/`wchc`/`wchp` over data watches only (`exists`, `getData`), while
/// `zk_watch_count` adds the child watches; the builder decides what to put in each.
#[derive(Clone, Debug)]
pub struct ServerView<'a> {
    /// The full version string (`Zookeeper version:`, `zk_version`, `zookeeper.version=`);
    /// clients parse its leading `major.minor.patch`, e.g. `3.9.3-conclave-0.1.0`.
    pub version: &'a str,
    /// Whether the server is running and answering requests; if not, most commands print
    /// [`crate::server::fourlw::NOT_SERVING`].
    pub serving: bool,
    /// The part this server plays.
    pub role: Role<'a>,
    /// The replication state.
    pub node: NodeFacts,
    /// The node's counters.
    pub metrics: Metrics,
    /// The service's request counters.
    pub requests: RequestStats,
    /// The configuration (`None` in unit tests of the formatters).
    pub config: Option<&'a Config>,
    /// The last zxid applied to the data tree (`Zxid:`).
    pub last_zxid: u64,
    /// Znodes in the tree (`Node count:`, `zk_znode_count`).
    pub node_count: usize,
    /// Sum of path and data lengths (`zk_approximate_data_size`).
    pub approximate_data_size: u64,
    /// Latencies of the requests this server answered, ms (`Latency min/avg/max`).
    pub request_latency: Summary,
    /// Packets received from clients (`Received:`).
    pub packets_received: u64,
    /// Packets sent to clients (`Sent:`).
    pub packets_sent: u64,
    /// Requests in process (`Outstanding:`).
    pub outstanding_requests: u64,
    /// Open client connections, this one included (`Connections:`,
    /// `zk_num_alive_connections`).
    pub alive_connections: usize,
    /// Each client connection, this one included, in the order to print (`stat`, `cons`).
    pub connections: &'a [ConnectionInfo<'a>],
    /// Time since the server started, ms (`zk_uptime`).
    pub uptime_ms: u64,
    /// `zk_watch_count`.
    pub watch_count: usize,
    /// `wchs`.
    pub watch_summary: WatchSummary,
    /// `wchc`: each session with its watched paths.
    pub watches_by_session: &'a [(i64, Vec<String>)],
    /// `wchp`: each watched path with its sessions.
    pub watches_by_path: &'a [(String, Vec<i64>)],
    /// Ephemeral znodes (`zk_ephemerals_count`).
    pub ephemerals_count: usize,
    /// `dump`: each session owning ephemerals, with their paths.
    pub ephemerals_by_session: &'a [(i64, Vec<String>)],
    /// Sessions in the replicated database (`zk_global_sessions`).
    pub global_sessions: usize,
    /// Local (non-replicated) sessions (`zk_local_sessions`).
    pub local_sessions: usize,
    /// `dump`: the session tracker.
    pub session_dump: SessionDump<'a>,
    /// `dump`: `Connections Sets (…)` of idle connections with their expiry, as ZooKeeper's
    /// NIO server prints it (`\tip: /<addr> sessionId: 0x<sid>` lines); `None` prints
    /// nothing after `Connections dump:`, as its Netty server does.
    pub connection_expiry: Option<&'a [ExpiryBucket<(SocketAddr, i64)>]>,
    /// `conf`: `key=value` lines in ZooKeeper's order (`clientPort`, `secureClientPort`,
    /// `dataDir`, `dataDirSize`, `dataLogDir`, `dataLogSize`, `tickTime`, `maxClientCnxns`,
    /// `minSessionTimeout`, `maxSessionTimeout`, `clientPortListenBacklog`, `serverId`, then
    /// in an ensemble `initLimit`, `syncLimit`, `electionAlg`, `electionPort`, `quorumPort`,
    /// `peerType`).
    pub conf: &'a [(&'a str, String)],
    /// `conf` in an ensemble: the configuration printed after `membership: ` (the
    /// `server.N=…` lines and `version=<hex>`, without a final newline, as ZooKeeper).
    pub membership: Option<&'a str>,
    /// `envi`: `key=value` lines after `zookeeper.version` (`host.name`, `os.name`, …).
    pub env: &'a [(&'a str, String)],
    /// `zk_open_file_descriptor_count` (−1 if unknown).
    pub open_file_descriptor_count: Option<u64>,
    /// `zk_max_file_descriptor_count` (−1 if unknown).
    pub max_file_descriptor_count: Option<u64>,
    /// Sizes of the responses sent to clients (`zk_*_client_response_size`).
    pub client_response_sizes: BufferSizes,
    /// Failed authentications (`zk_auth_failed_count`).
    pub auth_failed_count: u64,
    /// Durations of the elections this server took part in, ms (`zk_*_election_time`).
    pub election_time: Summary,
    /// Digest mismatches detected (`zk_digest_mismatches_count`).
    pub digest_mismatches: u64,
    /// Further `mntr` lines, printed last as `zk_<key>\t<value>`.
    pub extra_metrics: &'a [(&'a str, String)],
    /// Bytes in the snapshot directory (`dirs`).
    pub data_dir_size: u64,
    /// Bytes in the transaction log directory (`dirs`).
    pub log_dir_size: u64,
    /// The trace mask (`gtmk`, and `stmk` after the caller applied it).
    pub trace_mask: i64,
    /// `hash`: recent (zxid, tree digest) pairs, oldest first.
    pub digest_log: &'a [(u64, u64)],
}

impl Default for ServerView<'_> {
    /// Not serving, standalone, everything empty or zero, the default trace mask.
    fn default() -> Self {
        ServerView {
            version: "",
            serving: false,
            role: Role::Standalone,
            node: NodeFacts::default(),
            metrics: Metrics::default(),
            requests: RequestStats::default(),
            config: None,
            last_zxid: 0,
            node_count: 0,
            approximate_data_size: 0,
            request_latency: Summary::default(),
            packets_received: 0,
            packets_sent: 0,
            outstanding_requests: 0,
            alive_connections: 0,
            connections: &[],
            uptime_ms: 0,
            watch_count: 0,
            watch_summary: WatchSummary::default(),
            watches_by_session: &[],
            watches_by_path: &[],
            ephemerals_count: 0,
            ephemerals_by_session: &[],
            global_sessions: 0,
            local_sessions: 0,
            session_dump: SessionDump::default(),
            connection_expiry: None,
            conf: &[],
            membership: None,
            env: &[],
            open_file_descriptor_count: None,
            max_file_descriptor_count: None,
            client_response_sizes: BufferSizes::default(),
            auth_failed_count: 0,
            election_time: Summary::default(),
            digest_mismatches: 0,
            extra_metrics: &[],
            data_dir_size: 0,
            log_dir_size: 0,
            trace_mask: crate::server::fourlw::DEFAULT_TRACE_MASK,
            digest_log: &[],
        }
    }
}
