//! The answers to ZooKeeper's four-letter words (protocol reference §5.8), as a pure formatter.
//!
//! The server gathers a [`ServerSnapshot`] at the moment a command arrives and calls
//! [`render`]; the text returned is written to the connection verbatim (no length prefix) and
//! the connection is closed. The output is byte-for-byte what ZooKeeper 3.8/3.9 prints
//! (`server/command/*.java`, `ServerStats`, `ServerCnxn.dumpConnectionInfo`, `WatchManager`,
//! `ExpiryQueue`, `DataTree`), except where a difference is documented on the item.
//!
//! What stays with the caller, in the order ZooKeeper does it:
//!
//! 1. Count the four bytes as one received packet (`packetReceived(4)`) on the server's and the
//!    connection's counters — before the whitelist check, so even a refused command counts.
//! 2. Ask [`effect`] what the command changes, and carry it out: reset the server statistics
//!    (`srst`), every connection's statistics (`crst`), or adopt the trace mask read after
//!    `stmk` (`ClientFrameDecoder::four_letter_argument`). Only whitelisted commands have an
//!    effect, and the resets only while serving.
//! 3. Build the snapshot (after the effect, so `stmk` prints the new mask) and [`render`].
//!
//! Fields a command does not print may be left at their defaults; e.g. `connections` is only
//! read by `stat` and `cons`, the watch lists only by `wchc`/`wchp`.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use core::net::{Ipv6Addr, SocketAddr};

use crate::client::frame::FourLetterWord;

/// Writes formatted text to a `String` (which cannot fail).
macro_rules! out {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// What ZooKeeper answers (plus `\n`, except for `hash`) while it is not serving requests:
/// not yet started, shutting down, or between elections.
pub const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// ZooKeeper's initial trace mask (`ZooTrace`): client requests, server packets, sessions and
/// warnings (`0b1_0011_0010`), what `gtmk` prints until `stmk` changes it.
pub const DEFAULT_TRACE_MASK: i64 = 306;

// ---------------------------------------------------------------------------------------------
// Whitelist
// ---------------------------------------------------------------------------------------------

/// The commands enabled by `4lw.commands.whitelist` (ZooKeeper 3.5.3+, ZOOKEEPER-2693).
///
/// `srvr` is always enabled (`zkServer.sh status` depends on it), and `isro` is added when
/// read-only mode is enabled ([`with_read_only_mode`](Self::with_read_only_mode)). Everything
/// else, `ruok` included, must be listed. The default is `srvr` alone.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Whitelist {
    bits: u32,
}

const fn bit(cmd: FourLetterWord) -> u32 {
    1 << (cmd as u32)
}

impl Whitelist {
    /// Every command enabled (`4lw.commands.whitelist=*`).
    pub fn all() -> Whitelist {
        let mut w = Whitelist { bits: 0 };
        for &cmd in FourLetterWord::ALL {
            w.allow(cmd);
        }
        w
    }

    /// Parses the value of `4lw.commands.whitelist` as ZooKeeper does: a comma-separated
    /// list, each entry trimmed (Java `trim`: ASCII control characters and spaces); an entry
    /// `*` enables every command; unknown or misspelled names (matching is case-sensitive) and
    /// empty entries are ignored. `srvr` is enabled whatever the value, so `""` (and an unset
    /// property, see [`Default`]) enable `srvr` alone.
    pub fn parse(value: &str) -> Whitelist {
        let mut w = Whitelist::default();
        for entry in value.split(',') {
            let name = entry.trim_matches(|c: char| c <= ' ');
            if name == "*" {
                return Whitelist::all();
            }
            if let Some(cmd) = FourLetterWord::from_name(name) {
                w.allow(cmd);
            }
        }
        w
    }

    /// Adds `isro` when read-only mode is enabled (`readonlymode.enabled=true`), as ZooKeeper
    /// does whatever the whitelist says, since clients probe read-only servers with it.
    #[must_use]
    pub fn with_read_only_mode(mut self, read_only_mode_enabled: bool) -> Whitelist {
        if read_only_mode_enabled {
            self.allow(FourLetterWord::Isro);
        }
        self
    }

    /// Enables one command.
    pub fn allow(&mut self, cmd: FourLetterWord) {
        self.bits |= bit(cmd);
    }

    /// Whether the command runs (otherwise it answers [`render`]'s refusal).
    pub fn allows(&self, cmd: FourLetterWord) -> bool {
        self.bits & bit(cmd) != 0
    }

    /// The enabled commands, in [`FourLetterWord::ALL`] order (e.g. for the startup log).
    pub fn commands(&self) -> impl Iterator<Item = FourLetterWord> + '_ {
        FourLetterWord::ALL
            .iter()
            .copied()
            .filter(move |&c| self.allows(c))
    }
}

impl Default for Whitelist {
    /// The whitelist when `4lw.commands.whitelist` is not set: `srvr` only.
    fn default() -> Whitelist {
        Whitelist {
            bits: bit(FourLetterWord::Srvr),
        }
    }
}

impl core::fmt::Debug for Whitelist {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_set().entries(self.commands()).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Effects
// ---------------------------------------------------------------------------------------------

/// What a command changes on the server, besides printing; the caller carries it out before
/// building the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Nothing.
    None,
    /// `crst`: reset every connection's statistics (packets, latencies, last op/cxid/zxid:
    /// `ServerCnxn.resetStats`).
    ResetConnectionStats,
    /// `srst`: reset the server statistics (request latency, packet counters, client response
    /// sizes, every registered metric) and, on the leader, the proposal sizes.
    ResetServerStats,
    /// `stmk`: adopt the 8-byte big-endian mask that follows the command as the trace mask.
    SetTraceMask,
}

/// Whether the command resets statistics (`crst`, `srst`); see [`effect`].
pub fn is_reset(cmd: FourLetterWord) -> bool {
    matches!(cmd, FourLetterWord::Crst | FourLetterWord::Srst)
}

/// What the command changes when it runs now: nothing unless whitelisted; the resets only
/// while `serving` (ZooKeeper answers [`NOT_SERVING`] instead); `stmk` even when not serving.
pub fn effect(cmd: FourLetterWord, serving: bool, whitelist: &Whitelist) -> Effect {
    if !whitelist.allows(cmd) {
        return Effect::None;
    }
    match cmd {
        FourLetterWord::Crst if serving => Effect::ResetConnectionStats,
        FourLetterWord::Srst if serving => Effect::ResetServerStats,
        FourLetterWord::Stmk => Effect::SetTraceMask,
        _ => Effect::None,
    }
}

// ---------------------------------------------------------------------------------------------
// Snapshot
// ---------------------------------------------------------------------------------------------

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
        java_double_scaled4((sum * 20_000 + count) / (2 * count))
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

impl Default for BufferSizes {
    /// Nothing recorded: `-1/-1/-1`.
    fn default() -> BufferSizes {
        BufferSizes {
            last: -1,
            min: -1,
            max: -1,
        }
    }
}

impl BufferSizes {
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

    fn quorum(&self) -> Option<&QuorumInfo<'_>> {
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

/// Everything the four-letter words print, gathered by the server at the moment of the
/// request. Plain data over borrowed slices so that building it is cheap; fields a command
/// does not print may be left at their [`Default`].
///
/// ZooKeeper counts `wchs`/`wchc`/`wchp` over data watches only (`exists`, `getData`), while
/// `zk_watch_count` adds the child watches; the caller decides what to put in each.
#[derive(Clone, Copy, Debug)]
pub struct ServerSnapshot<'a> {
    /// The full version string (`Zookeeper version:`, `zk_version`, `zookeeper.version=`);
    /// clients parse its leading `major.minor.patch`, e.g. `3.9.3-conclave-0.1.0`.
    pub version: &'a str,
    /// Whether the server is running and answering requests; if not, most commands print
    /// [`NOT_SERVING`].
    pub serving: bool,
    /// The part this server plays.
    pub role: Role<'a>,
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
    /// Time since the server started serving, ms (`zk_uptime`).
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

impl Default for ServerSnapshot<'_> {
    /// Not serving, standalone, everything empty or zero, the default trace mask.
    fn default() -> Self {
        ServerSnapshot {
            version: "",
            serving: false,
            role: Role::Standalone,
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
            trace_mask: DEFAULT_TRACE_MASK,
            digest_log: &[],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/// The text ZooKeeper writes in answer to `cmd`, given the server's state and whitelist.
///
/// | cmd | answer |
/// |---|---|
/// | not whitelisted | `<cmd> is not executed because it is not in the whitelist.\n` |
/// | `ruok` | `imok` (no newline; also when not serving) |
/// | `isro` | `ro` / `rw` / `null` when not serving (no newline) |
/// | `srvr`, `stat` | version, latency, packets, connections, zxid, mode, node count (+ clients) |
/// | `cons` | one line per connection, then an empty line |
/// | `conf`, `envi`, `mntr`, `dirs`, `dump` | see §5.8 |
/// | `wchs`, `wchc`, `wchp` | watch summary / by session / by path, then an empty line |
/// | `crst`, `srst` | `Connection stats reset.\n` / `Server stats reset.\n` |
/// | `gtmk`, `stmk` | the trace mask in decimal (no newline; also when not serving) |
/// | `hash` | `<zxid hex>: <digest>\n` per digest-log entry (`NOT_SERVING` without newline) |
///
/// All but `ruok`, `envi`, `gtmk`, `stmk`, `isro` and `hash` answer `NOT_SERVING` + `\n` when
/// not serving.
pub fn render(cmd: FourLetterWord, snap: &ServerSnapshot<'_>, whitelist: &Whitelist) -> String {
    let mut out = String::new();
    if !whitelist.allows(cmd) {
        out!(
            out,
            "{} is not executed because it is not in the whitelist.\n",
            cmd.as_str()
        );
        return out;
    }
    let needs_serving = !matches!(
        cmd,
        FourLetterWord::Ruok
            | FourLetterWord::Envi
            | FourLetterWord::Gtmk
            | FourLetterWord::Stmk
            | FourLetterWord::Isro
            | FourLetterWord::Hash
    );
    if needs_serving && !snap.serving {
        out.push_str(NOT_SERVING);
        out.push('\n');
        return out;
    }
    match cmd {
        FourLetterWord::Ruok => out.push_str("imok"),
        FourLetterWord::Isro => out.push_str(match (snap.serving, snap.role) {
            (false, _) => "null",
            (true, Role::ReadOnly) => "ro",
            (true, _) => "rw",
        }),
        FourLetterWord::Srvr => stat(&mut out, snap, false),
        FourLetterWord::Stat => stat(&mut out, snap, true),
        FourLetterWord::Cons => {
            for c in snap.connections {
                connection(&mut out, c, false);
                out.push('\n');
            }
            out.push('\n');
        }
        FourLetterWord::Conf => conf(&mut out, snap),
        FourLetterWord::Envi => {
            out!(out, "Environment:\nzookeeper.version={}\n", snap.version);
            for (k, v) in snap.env {
                out!(out, "{k}={v}\n");
            }
        }
        FourLetterWord::Mntr => mntr(&mut out, snap),
        FourLetterWord::Wchs => {
            let w = &snap.watch_summary;
            out!(
                out,
                "{} connections watching {} paths\nTotal watches:{}\n",
                w.connections,
                w.paths,
                w.total
            );
        }
        FourLetterWord::Wchc => {
            for (sid, paths) in snap.watches_by_session {
                out!(out, "0x{sid:x}\n");
                for p in paths {
                    out!(out, "\t{p}\n");
                }
            }
            out.push('\n');
        }
        FourLetterWord::Wchp => {
            for (path, sids) in snap.watches_by_path {
                out!(out, "{path}\n");
                for sid in sids {
                    out!(out, "\t0x{sid:x}\n");
                }
            }
            out.push('\n');
        }
        FourLetterWord::Dump => dump(&mut out, snap),
        FourLetterWord::Crst => out.push_str("Connection stats reset.\n"),
        FourLetterWord::Srst => out.push_str("Server stats reset.\n"),
        FourLetterWord::Dirs => {
            out!(
                out,
                "datadir_size: {}\nlogdir_size: {}\n",
                snap.data_dir_size,
                snap.log_dir_size
            );
        }
        FourLetterWord::Gtmk | FourLetterWord::Stmk => out!(out, "{}", snap.trace_mask),
        FourLetterWord::Hash => {
            if !snap.serving {
                out.push_str(NOT_SERVING);
            } else {
                for &(zxid, digest) in snap.digest_log {
                    // ZooKeeper keeps the digest in a Java long and prints it signed.
                    out!(out, "{zxid:x}: {}\n", digest as i64);
                }
            }
        }
    }
    out
}

/// `srvr` and `stat` (`StatCommand` + `ServerStats.toString`).
fn stat(out: &mut String, snap: &ServerSnapshot<'_>, clients: bool) {
    out!(out, "Zookeeper version: {}\n", snap.version);
    if snap.role == Role::ReadOnly {
        out.push_str("READ-ONLY mode; serving only read-only clients\n");
    }
    if clients {
        out.push_str("Clients:\n");
        for c in snap.connections {
            connection(out, c, true);
            out.push('\n');
        }
        out.push('\n');
    }
    let lat = &snap.request_latency;
    out!(
        out,
        "Latency min/avg/max: {}/{}/{}\n",
        lat.min_or_zero(),
        lat.avg(),
        lat.max_or_zero()
    );
    out!(out, "Received: {}\n", snap.packets_received);
    out!(out, "Sent: {}\n", snap.packets_sent);
    out!(out, "Connections: {}\n", snap.alive_connections);
    out!(out, "Outstanding: {}\n", snap.outstanding_requests);
    out!(out, "Zxid: 0x{:x}\n", snap.last_zxid);
    out!(out, "Mode: {}\n", snap.role.server_state());
    out!(out, "Node count: {}\n", snap.node_count);
    if let Role::Leader { stats, .. } = &snap.role {
        let p = &stats.proposal_sizes;
        out!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}\n",
            p.last,
            p.min,
            p.max
        );
    }
}

/// `ServerCnxn.dumpConnectionInfo`, without the final newline.
fn connection(out: &mut String, c: &ConnectionInfo<'_>, brief: bool) {
    out.push(' ');
    java_socket_addr(out, &c.remote);
    out!(
        out,
        "[{:x}](queued={},recved={},sent={}",
        c.interest_ops,
        c.queued,
        c.received,
        c.sent
    );
    if !brief && c.session_id != 0 {
        out!(
            out,
            ",sid=0x{:x},lop={},est={},to={}",
            c.session_id,
            c.last_op,
            c.established_ms,
            c.session_timeout_ms
        );
        if c.last_cxid >= 0 {
            out!(out, ",lcxid=0x{:x}", c.last_cxid);
        }
        out!(
            out,
            ",lzxid=0x{:x},lresp={},llat={},minlat={},avglat={},maxlat={}",
            c.last_zxid,
            c.last_response_ms,
            c.last_latency_ms,
            c.latency.min_or_zero(),
            c.latency.avg_truncated(),
            c.latency.max_or_zero()
        );
    }
    out.push(')');
}

/// `ZooKeeperServer.dumpConf` and its quorum extension.
fn conf(out: &mut String, snap: &ServerSnapshot<'_>) {
    for (k, v) in snap.conf {
        out!(out, "{k}={v}\n");
    }
    if let Some(membership) = snap.membership {
        out.push_str("membership: \n");
        out.push_str(membership);
    }
}

/// `MonitorCommand`: `dumpMonitorValues`, then the registered gauges and metrics.
///
/// ZooKeeper prints the metrics in the iteration order of a `ConcurrentHashMap`; here they come
/// in registration order, which every consumer (key/value parsers) accepts. The TLS, quota and
/// connection-throttling gauges and the per-request-type summaries are not printed (add them
/// via `extra_metrics` if needed).
fn mntr(out: &mut String, snap: &ServerSnapshot<'_>) {
    fn kv(out: &mut String, key: &str, value: impl core::fmt::Display) {
        out!(out, "zk_{key}\t{value}\n");
    }
    fn or_minus_one(v: Option<u64>) -> i128 {
        v.map_or(-1, i128::from)
    }
    kv(out, "version", snap.version);
    kv(out, "server_state", snap.role.server_state());
    if let Some(q) = snap.role.quorum() {
        kv(out, "peer_state", q.peer_state);
    }
    if let Role::Observer { master_id, .. } = &snap.role {
        match master_id {
            Some(id) => kv(out, "observer_master_id", id),
            None => kv(out, "observer_master_id", "null"),
        }
    }
    let lat = &snap.request_latency;
    kv(out, "avg_latency", lat.avg());
    kv(out, "max_latency", lat.max_or_zero());
    kv(out, "min_latency", lat.min_or_zero());
    kv(out, "packets_received", snap.packets_received);
    kv(out, "packets_sent", snap.packets_sent);
    kv(out, "num_alive_connections", snap.alive_connections);
    kv(out, "outstanding_requests", snap.outstanding_requests);
    kv(out, "uptime", snap.uptime_ms);
    kv(out, "znode_count", snap.node_count);
    kv(out, "watch_count", snap.watch_count);
    kv(out, "ephemerals_count", snap.ephemerals_count);
    kv(out, "approximate_data_size", snap.approximate_data_size);
    kv(out, "global_sessions", snap.global_sessions);
    kv(out, "local_sessions", snap.local_sessions);
    kv(
        out,
        "open_file_descriptor_count",
        or_minus_one(snap.open_file_descriptor_count),
    );
    kv(
        out,
        "max_file_descriptor_count",
        or_minus_one(snap.max_file_descriptor_count),
    );
    let resp = &snap.client_response_sizes;
    kv(out, "last_client_response_size", resp.last);
    kv(out, "max_client_response_size", resp.max);
    kv(out, "min_client_response_size", resp.min);
    kv(out, "auth_failed_count", snap.auth_failed_count);
    if let Some(q) = snap.role.quorum() {
        kv(out, "quorum_size", q.quorum_size);
    }
    match &snap.role {
        Role::Leader { stats, .. } => {
            kv(out, "learners", stats.learners);
            kv(out, "synced_followers", stats.synced_followers);
            kv(
                out,
                "synced_non_voting_followers",
                stats.synced_non_voting_followers,
            );
            kv(out, "synced_observers", stats.synced_observers);
            kv(out, "pending_syncs", stats.pending_syncs);
            kv(out, "leader_uptime", stats.uptime_ms);
            kv(out, "last_proposal_size", stats.proposal_sizes.last);
            kv(out, "max_proposal_size", stats.proposal_sizes.max);
            kv(out, "min_proposal_size", stats.proposal_sizes.min);
        }
        Role::Follower {
            synced_observers, ..
        } => kv(out, "synced_observers", synced_observers),
        Role::Standalone | Role::ReadOnly | Role::Observer { .. } => {}
    }
    let el = &snap.election_time;
    kv(out, "avg_election_time", el.avg());
    kv(out, "min_election_time", el.min_or_zero());
    kv(out, "max_election_time", el.max_or_zero());
    kv(out, "cnt_election_time", el.count);
    kv(out, "sum_election_time", el.sum);
    kv(out, "digest_mismatches_count", snap.digest_mismatches);
    for (k, v) in snap.extra_metrics {
        kv(out, k, v);
    }
}

/// `DumpCommand`: session tracker, ephemerals, connections.
fn dump(out: &mut String, snap: &ServerSnapshot<'_>) {
    out.push_str("SessionTracker dump:\n");
    match snap.session_dump {
        SessionDump::Expiry(buckets) => {
            out.push_str("Session ");
            expiry_queue(out, buckets, |out, sid| out!(out, "0x{sid:x}"));
        }
        SessionDump::Learner(sessions) => {
            let mut sorted: Vec<(i64, u32)> = sessions.to_vec();
            sorted.sort_unstable();
            out!(out, "Global Sessions({}):\n", sorted.len());
            for (sid, timeout) in sorted {
                out!(out, "0x{sid:x}\t{timeout}ms\n");
            }
        }
    }
    out.push_str("ephemeral nodes dump:\n");
    out!(
        out,
        "Sessions with Ephemerals ({}):\n",
        snap.ephemerals_by_session.len()
    );
    for (sid, paths) in snap.ephemerals_by_session {
        out!(out, "0x{sid:x}:\n");
        for p in paths {
            out!(out, "\t{p}\n");
        }
    }
    out.push_str("Connections dump:\n");
    if let Some(buckets) = snap.connection_expiry {
        out.push_str("Connections ");
        expiry_queue(out, buckets, |out, (addr, sid)| {
            out.push_str("ip: ");
            java_socket_addr(out, addr);
            out!(out, " sessionId: 0x{sid:x}");
        });
    }
}

/// `ExpiryQueue.dump`: buckets in time order.
fn expiry_queue<T>(
    out: &mut String,
    buckets: &[ExpiryBucket<T>],
    member: impl Fn(&mut String, &T),
) {
    let total: usize = buckets.iter().map(|b| b.members.len()).sum();
    out!(out, "Sets ({})/({}):\n", buckets.len(), total);
    let mut order: Vec<&ExpiryBucket<T>> = buckets.iter().collect();
    order.sort_by_key(|b| b.expire_at_ms);
    for b in order {
        out!(out, "{} expire at ", b.members.len());
        java_date_utc(out, b.expire_at_ms);
        out.push_str(":\n");
        for m in &b.members {
            out.push('\t');
            member(out, m);
            out.push('\n');
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Java formatting
// ---------------------------------------------------------------------------------------------

/// Java's `Double.toString` of `scaled / 10^4` (JDK 19+ digits): plain notation with at least
/// one fraction digit within [10^-3, 10^7), computerized scientific notation outside.
fn java_double_scaled4(scaled: u128) -> String {
    const SCALE: u128 = 10_000;
    if scaled == 0 {
        return String::from("0.0");
    }
    if (10..100_000_000_000).contains(&scaled) {
        let frac = format!("{:04}", scaled % SCALE);
        let frac = frac.trim_end_matches('0');
        let frac = if frac.is_empty() { "0" } else { frac };
        return format!("{}.{}", scaled / SCALE, frac);
    }
    let digits = format!("{scaled}");
    let exponent = digits.len() as i64 - 1 - 4;
    let significant = digits.trim_end_matches('0');
    let (first, rest) = significant.split_at(1);
    let rest = if rest.is_empty() { "0" } else { rest };
    format!("{first}.{rest}E{exponent}")
}

/// Java's `InetSocketAddress.toString` for an address without a host name (JDK 14+):
/// `/1.2.3.4:5`, `/[0:0:0:0:0:0:0:1]:5`, IPv4-mapped IPv6 addresses shown as IPv4 (as
/// Java's socket layer returns them). A non-zero IPv6 scope id is printed as its number.
fn java_socket_addr(out: &mut String, addr: &SocketAddr) {
    out.push('/');
    match addr {
        SocketAddr::V4(v4) => out!(out, "{}", v4.ip()),
        SocketAddr::V6(v6) => {
            if let Some(v4) = v6.ip().to_ipv4_mapped() {
                out!(out, "{v4}");
            } else {
                out.push('[');
                java_ipv6(out, v6.ip());
                if v6.scope_id() != 0 {
                    out!(out, "%{}", v6.scope_id());
                }
                out.push(']');
            }
        }
    }
    out!(out, ":{}", addr.port());
}

/// Java's `Inet6Address.getHostAddress`: eight lowercase hex groups, no zero compression.
fn java_ipv6(out: &mut String, ip: &Ipv6Addr) {
    for (i, seg) in ip.segments().iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out!(out, "{seg:x}");
    }
}

/// Java's `Date.toString` in UTC: `Tue Nov 14 22:13:20 UTC 2023` (ZooKeeper prints the JVM's
/// default time zone; a server runs in UTC here).
fn java_date_utc(out: &mut String, epoch_ms: u64) {
    const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // 1970-01-01 was a Thursday.
    let weekday = ((days + 4) % 7) as usize;
    // Howard Hinnant's civil_from_days, for days >= 0.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    out!(
        out,
        "{} {} {:02} {:02}:{:02}:{:02} UTC {:04}",
        DAYS[weekday],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        year
    );
}

#[cfg(test)]
#[path = "fourlw_tests.rs"]
mod tests;
