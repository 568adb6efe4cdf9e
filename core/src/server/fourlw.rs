//! The answers to ZooKeeper's four-letter words (protocol reference §5.8), as a pure formatter.
//!
//! The server gathers a [`ServerView`] at the moment a command arrives and calls
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
use crate::observe::view::{
    ConnectionInfo, ExpiryBucket, MntrValue, Role, ServerView, SessionDump,
};

/// Writes formatted text to a `String` (which cannot fail).
macro_rules! out {
    ($dst:expr, $($arg:tt)*) => {{
        let _ = write!($dst, $($arg)*);
    }};
}

/// What ZooKeeper answers (plus `\n`, except for `hash`) while it is not serving requests:
/// not yet started, shutting down, or between elections.
pub(crate) const NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests";

/// ZooKeeper's initial trace mask (`ZooTrace`): client requests, server packets, sessions and
/// warnings (`0b1_0011_0010`), what `gtmk` prints until `stmk` changes it.
pub(crate) const DEFAULT_TRACE_MASK: i64 = 306;

// ---------------------------------------------------------------------------------------------
// Whitelist
// ---------------------------------------------------------------------------------------------

/// The commands enabled by `4lw.commands.whitelist` (ZooKeeper 3.5.3+, ZOOKEEPER-2693).
///
/// `srvr` is always enabled (`zkServer.sh status` depends on it), and `isro` is added when
/// read-only mode is enabled ([`with_read_only_mode`](Self::with_read_only_mode)). Everything
/// else, `ruok` included, must be listed. The default is `srvr` alone.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Whitelist {
    bits: u32,
}

const fn bit(cmd: FourLetterWord) -> u32 {
    1 << (cmd as u32)
}

impl Whitelist {
    /// Every command enabled (`4lw.commands.whitelist=*`).
    pub(crate) fn all() -> Whitelist {
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
    pub(crate) fn parse(value: &str) -> Whitelist {
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
    pub(crate) fn with_read_only_mode(mut self, read_only_mode_enabled: bool) -> Whitelist {
        if read_only_mode_enabled {
            self.allow(FourLetterWord::Isro);
        }
        self
    }

    /// Enables one command.
    pub(crate) fn allow(&mut self, cmd: FourLetterWord) {
        self.bits |= bit(cmd);
    }

    /// Whether the command runs (otherwise it answers [`render`]'s refusal).
    pub(crate) fn allows(&self, cmd: FourLetterWord) -> bool {
        self.bits & bit(cmd) != 0
    }

    /// The enabled commands, in [`FourLetterWord::ALL`] order (e.g. for the startup log).
    pub(crate) fn commands(&self) -> impl Iterator<Item = FourLetterWord> + '_ {
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
pub(crate) enum Effect {
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

/// What the command changes when it runs now: nothing unless whitelisted; the resets only
/// while `serving` (ZooKeeper answers [`NOT_SERVING`] instead); `stmk` even when not serving.
pub(crate) fn effect(cmd: FourLetterWord, serving: bool, whitelist: &Whitelist) -> Effect {
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
pub(crate) fn render(cmd: FourLetterWord, snap: &ServerView<'_>, whitelist: &Whitelist) -> String {
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
fn stat(out: &mut String, snap: &ServerView<'_>, clients: bool) {
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
fn conf(out: &mut String, snap: &ServerView<'_>) {
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
fn mntr(out: &mut String, snap: &ServerView<'_>) {
    for (key, value) in mntr_values(snap) {
        out!(out, "zk_{key}\t{value}\n");
    }
}

/// The `mntr` fields in the order the four-letter word prints them, keys without `zk_`: the
/// one list that the AdminServer's `monitor` and `/metrics` render too.
pub(crate) fn mntr_values(snap: &ServerView<'_>) -> Vec<(String, MntrValue)> {
    let mut v: Vec<(String, MntrValue)> = Vec::with_capacity(48);
    let int = |v: &mut Vec<(String, MntrValue)>, key: &str, n: i128| {
        v.push((String::from(key), MntrValue::Int(n)))
    };
    let text = |v: &mut Vec<(String, MntrValue)>, key: &str, s: &str| {
        v.push((String::from(key), MntrValue::Str(String::from(s))))
    };
    let float = |v: &mut Vec<(String, MntrValue)>, key: &str, s: String| {
        v.push((String::from(key), MntrValue::Float(s)))
    };
    fn or_minus_one(v: Option<u64>) -> i128 {
        v.map_or(-1, i128::from)
    }
    text(&mut v, "version", snap.version);
    text(&mut v, "server_state", snap.role.server_state());
    if let Some(q) = snap.role.quorum() {
        text(&mut v, "peer_state", q.peer_state);
    }
    if let Role::Observer { master_id, .. } = &snap.role {
        match master_id {
            Some(id) => int(&mut v, "observer_master_id", i128::from(*id)),
            None => text(&mut v, "observer_master_id", "null"),
        }
    }
    let lat = &snap.request_latency;
    float(&mut v, "avg_latency", lat.avg());
    int(&mut v, "max_latency", lat.max_or_zero().into());
    int(&mut v, "min_latency", lat.min_or_zero().into());
    int(&mut v, "packets_received", snap.packets_received.into());
    int(&mut v, "packets_sent", snap.packets_sent.into());
    int(
        &mut v,
        "num_alive_connections",
        snap.alive_connections as i128,
    );
    int(
        &mut v,
        "outstanding_requests",
        snap.outstanding_requests.into(),
    );
    int(&mut v, "uptime", snap.uptime_ms.into());
    int(&mut v, "znode_count", snap.node_count as i128);
    int(&mut v, "watch_count", snap.watch_count as i128);
    int(&mut v, "ephemerals_count", snap.ephemerals_count as i128);
    int(
        &mut v,
        "approximate_data_size",
        snap.approximate_data_size.into(),
    );
    int(&mut v, "global_sessions", snap.global_sessions as i128);
    int(&mut v, "local_sessions", snap.local_sessions as i128);
    int(
        &mut v,
        "open_file_descriptor_count",
        or_minus_one(snap.open_file_descriptor_count),
    );
    int(
        &mut v,
        "max_file_descriptor_count",
        or_minus_one(snap.max_file_descriptor_count),
    );
    let resp = &snap.client_response_sizes;
    int(&mut v, "last_client_response_size", resp.last.into());
    int(&mut v, "max_client_response_size", resp.max.into());
    int(&mut v, "min_client_response_size", resp.min.into());
    int(&mut v, "auth_failed_count", snap.auth_failed_count.into());
    if let Some(q) = snap.role.quorum() {
        int(&mut v, "quorum_size", q.quorum_size as i128);
    }
    match &snap.role {
        Role::Leader { stats, .. } => {
            int(&mut v, "learners", stats.learners as i128);
            int(&mut v, "synced_followers", stats.synced_followers as i128);
            int(
                &mut v,
                "synced_non_voting_followers",
                stats.synced_non_voting_followers as i128,
            );
            int(&mut v, "synced_observers", stats.synced_observers as i128);
            int(&mut v, "pending_syncs", stats.pending_syncs as i128);
            int(&mut v, "leader_uptime", stats.uptime_ms.into());
            int(
                &mut v,
                "last_proposal_size",
                stats.proposal_sizes.last.into(),
            );
            int(&mut v, "max_proposal_size", stats.proposal_sizes.max.into());
            int(&mut v, "min_proposal_size", stats.proposal_sizes.min.into());
        }
        Role::Follower {
            synced_observers, ..
        } => int(&mut v, "synced_observers", *synced_observers as i128),
        Role::Standalone | Role::ReadOnly | Role::Observer { .. } => {}
    }
    let el = &snap.election_time;
    float(&mut v, "avg_election_time", el.avg());
    int(&mut v, "min_election_time", el.min_or_zero().into());
    int(&mut v, "max_election_time", el.max_or_zero().into());
    int(&mut v, "cnt_election_time", el.count.into());
    int(&mut v, "sum_election_time", el.sum.into());
    int(
        &mut v,
        "digest_mismatches_count",
        snap.digest_mismatches.into(),
    );
    for (k, value) in snap.extra_metrics {
        match value.parse::<i128>() {
            Ok(n) => int(&mut v, k, n),
            Err(_) => text(&mut v, k, value),
        }
    }
    v
}

/// `DumpCommand`: session tracker, ephemerals, connections.
fn dump(out: &mut String, snap: &ServerView<'_>) {
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
pub(crate) fn java_double_scaled4(scaled: u128) -> String {
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
