//! The pure parser and validator of ZooKeeper's `zoo.cfg`.
//!
//! `zoo.cfg` is a Java-properties-style file: `key=value` lines, `#` or `!` comment lines and
//! blank lines, with whitespace trimmed around the key and the value. Unlike Java properties,
//! Conclave is strict: a line without `=` is an error, a key set twice is an error, and numbers
//! are plain decimal digits (no sign, no spaces, no overflow). Backslash line continuations and
//! `:` as a separator are not supported.
//!
//! Keys that Conclave does not use are kept verbatim in [`Config::other`] with a
//! [`ConfigWarning`], so a `zoo.cfg` written for the Java server never fails a start. The
//! exceptions are keys whose silent omission would change who forms a quorum (`group.N`,
//! `weight.N`, and `dynamicConfigFile` without any `server.N` line): those are errors.
//!
//! Nothing here touches a file system: the caller reads the file and the `myid` file and hands
//! their text to [`Config::from_zoo_cfg`] and [`Config::with_my_id`].

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use crate::ids::ServerId;

/// The largest server id (`myid`, `server.N`) ZooKeeper accepts; ids run 1..=255.
pub const MAX_SERVER_ID: ServerId = 255;
/// `tickTime` when the file does not set it (ZooKeeper's code default), in milliseconds.
pub const DEFAULT_TICK_TIME_MS: u32 = 3000;
/// `initLimit` when the file does not set it, in ticks.
pub const DEFAULT_INIT_LIMIT_TICKS: u32 = 10;
/// `syncLimit` when the file does not set it, in ticks.
pub const DEFAULT_SYNC_LIMIT_TICKS: u32 = 5;
/// `maxClientCnxns` when the file does not set it (0 would mean unlimited).
pub const DEFAULT_MAX_CLIENT_CNXNS: u32 = 60;
/// `4lw.commands.whitelist` when the file does not set it.
pub const DEFAULT_FOUR_LETTER_WORDS: &str = "srvr";
/// `admin.serverPort` when the file does not set it.
pub const DEFAULT_ADMIN_SERVER_PORT: u16 = 8080;
/// `metricsProvider.httpPort` when the file does not set it.
pub const DEFAULT_METRICS_HTTP_PORT: u16 = 7000;
/// `jute.maxbuffer` when the file does not set it: ZooKeeper's 0xFFFFF bytes.
pub const DEFAULT_JUTE_MAX_BUFFER: u32 = 0xF_FFFF;
/// Default `clientBacklogLimitMB`: what all client connections together may leave unread.
pub const DEFAULT_CLIENT_BACKLOG_LIMIT_MB: u32 = 256;

/// Default `busyPollMicros`: how long a member's threads poll after activity before sleeping
/// (the idle-poll time Seastar's reactors use by default; docs/decisions.md D38).
pub const DEFAULT_BUSY_POLL_US: u32 = 200;
/// The largest `busyPollMicros`: beyond a few milliseconds polling only burns CPU.
pub const MAX_BUSY_POLL_US: u32 = 10_000;

/// Default `znode.container.checkIntervalMs` (ZooKeeper: 60 000).
pub const DEFAULT_CONTAINER_CHECK_INTERVAL_MS: u32 = 1_000;
/// The only `electionAlg` ZooKeeper 3.5+ (and Conclave) implements: fast leader election.
pub const ELECTION_ALG_FAST: u32 = 3;
/// Warning text for a key the Java server understands but Conclave does not use.
pub const WARN_RECOGNISED: &str = "recognised ZooKeeper key, ignored by Conclave";
/// Warning text for a key neither ZooKeeper's documented set nor Conclave knows.
pub const WARN_UNKNOWN: &str = "unknown key, ignored";

mod error;
mod jaas;
mod keys;
mod membership;
mod parser;
mod server_line;
#[cfg(test)]
mod tests;
mod tls;
mod values;

pub use error::*;
pub use jaas::{digest_users, SaslConfig, SaslUsers, JAAS_KEY, SASL_PROVIDER};
use keys::*;
pub use membership::{Membership, ReconfigError};
use parser::*;
use server_line::*;
pub use tls::{ClientAuth, ClientTls, QuorumTls, TlsVersion};
use values::*;

/// Whether a server votes (participant) or only follows (observer), as ZooKeeper's `peerType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerType {
    /// A voting member: counts towards quorums and may lead.
    Participant,
    /// A non-voting member: learns the committed log but never votes.
    Observer,
}

impl PeerType {
    /// The word ZooKeeper uses for this type in `zoo.cfg` ("participant" / "observer").
    pub const fn as_str(self) -> &'static str {
        match self {
            PeerType::Participant => "participant",
            PeerType::Observer => "observer",
        }
    }

    /// Reads a ZooKeeper peer-type word, case-insensitively, as the Java server does.
    fn parse(word: &str) -> Option<PeerType> {
        if word.eq_ignore_ascii_case("participant") {
            Some(PeerType::Participant)
        } else if word.eq_ignore_ascii_case("observer") {
            Some(PeerType::Observer)
        } else {
            None
        }
    }

    /// A stable one-byte code for the fingerprint.
    const fn code(self) -> u8 {
        match self {
            PeerType::Participant => 0,
            PeerType::Observer => 1,
        }
    }
}

impl fmt::Display for PeerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The participants among `servers`, ascending: the voters of a file or of a membership.
fn voters_in(servers: &BTreeMap<ServerId, ServerSpec>) -> impl Iterator<Item = ServerId> + '_ {
    servers
        .values()
        .filter(|s| s.peer_type == PeerType::Participant)
        .map(|s| s.id)
}

/// Whether `servers` make `id` a participant.
fn votes_in(servers: &BTreeMap<ServerId, ServerSpec>, id: ServerId) -> bool {
    servers
        .get(&id)
        .is_some_and(|s| s.peer_type == PeerType::Participant)
}

/// One `server.N=` line: where ensemble member N listens for peers and clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSpec {
    /// The `N` of `server.N` (1..=255).
    pub id: ServerId,
    /// Host name or address, IPv6 stored without its brackets.
    pub host: String,
    /// The port followers use to reach this server when it leads (ZooKeeper's 2888).
    pub quorum_port: u16,
    /// The port used for leader election (ZooKeeper's 3888).
    pub election_port: u16,
    /// Participant unless the line ends in `:observer`.
    pub peer_type: PeerType,
    /// The client address of a `;addr:port` suffix, without brackets; `None` when not given.
    pub client_address: Option<String>,
    /// The client port of a `;[addr:]port` suffix; `None` when the line has no suffix.
    pub client_port: Option<u16>,
}

/// The validated contents of a `zoo.cfg`, plus this server's id once [`Config::with_my_id`] ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `tickTime`: the basic time unit in milliseconds (default 3000, > 0).
    pub tick_time_ms: u32,
    /// `initLimit`: ticks a follower may take to connect and sync to a leader (default 10, > 0).
    pub init_limit_ticks: u32,
    /// `syncLimit`: ticks a follower may lag behind the leader (default 5, > 0).
    pub sync_limit_ticks: u32,
    /// `dataDir`: where snapshots (and, without `dataLogDir`, the log) live.
    pub data_dir: Option<String>,
    /// `dataLogDir`: where the transaction log lives when it is apart from snapshots.
    pub data_log_dir: Option<String>,
    /// `clientPort`: the port clients connect to.
    pub client_port: Option<u16>,
    /// `clientPortAddress`: the address the client port binds to.
    pub client_port_address: Option<String>,
    /// `electionAlg`: always 3 (fast leader election); any other value is rejected.
    pub election_alg: u32,
    /// `peerType`: this server's role (default participant; see [`Config::with_my_id`]).
    pub peer_type: PeerType,
    /// The line that set `peerType`, `None` when it was left at its default.
    pub peer_type_line: Option<usize>,
    /// The `server.N` lines, by id.
    pub servers: BTreeMap<ServerId, ServerSpec>,
    /// `maxClientCnxns`: connections per client IP (default 60, 0 = unlimited).
    pub max_client_cnxns: u32,
    /// `minSessionTimeout` in ms; `None` means 2 × tickTime (see [`Config::min_session_timeout`]).
    pub min_session_timeout_ms: Option<u32>,
    /// `maxSessionTimeout` in ms; `None` means 20 × tickTime (see [`Config::max_session_timeout`]).
    pub max_session_timeout_ms: Option<u32>,
    /// `4lw.commands.whitelist`: the four-letter words served, verbatim (default "srvr").
    pub four_letter_words: String,
    /// `admin.enableServer`: whether to run the HTTP admin server (default true).
    pub admin_enable_server: bool,
    /// `admin.serverPort`: the HTTP admin server's port (default 8080).
    pub admin_server_port: u16,
    /// `metricsProvider.httpPort`: the metrics endpoint's port (default 7000).
    pub metrics_http_port: u16,
    /// `jute.maxbuffer`: the largest record in bytes (default 0xFFFFF, > 0).
    pub jute_max_buffer: u32,
    /// `standaloneEnabled`: whether a single `server.N` line still means standalone (default true).
    pub standalone_enabled: bool,
    /// `readonlymode.enabled` (a Java system property in ZooKeeper, a zoo.cfg key here): a
    /// member cut off from its quorum serves reads to clients that allow it (default false).
    pub read_only_mode_enabled: bool,
    /// `znode.container.checkIntervalMs` (a Java system property in ZooKeeper, a zoo.cfg key
    /// here): how often the leader deletes empty containers and expired TTL nodes. Default
    /// 1 000 ms, where ZooKeeper waits 60 000: the sooner the better once the node is doomed.
    pub container_check_interval_ms: u32,
    /// `clientBacklogLimitMB` (Conclave's; ZooKeeper buffers without bound): the mebibytes
    /// of replies all client connections together may leave unread before the one owing
    /// most is disconnected (default 256, at least 1).
    pub client_backlog_limit_mb: u32,
    /// `busyPollMicros` (Conclave's): after an event, how long a member's event loop and disk
    /// thread poll for the next one (yielding the CPU between polls) before they sleep; 0
    /// turns it off. A hint to the host adapter, which the core never reads (default 200).
    pub busy_poll_us: u32,
    /// `reconfigEnabled`: whether `reconfig` may change the membership (default false, as
    /// ZooKeeper 3.5.3+).
    pub reconfig_enabled: bool,
    /// `dynamicConfigFile`: the file holding the `server.N` lines, read by the loader
    /// ([`Config::with_dynamic_config`]).
    pub dynamic_config_file: Option<String>,
    /// The version of the membership in force: 0 for the files' own, else the zxid of the
    /// reconfig that made it.
    pub config_version: u64,
    /// `secureClientPort` and the `ssl.*` keys: TLS for clients, `None` without a secure port.
    pub client_tls: Option<ClientTls>,
    /// `sslQuorum=true` and the `ssl.quorum.*` keys: TLS on every peer link.
    pub quorum_tls: Option<QuorumTls>,
    /// SASL DIGEST-MD5 for clients (`authProvider.N=...SASLAuthenticationProvider`), its
    /// users filled in by the loader from the JAAS file; `None` without SASL.
    pub sasl: Option<SaslConfig>,
    /// Every key Conclave does not use, with its trimmed value, kept verbatim.
    pub other: BTreeMap<String, String>,
    /// One warning per key in [`Config::other`], in file order.
    pub warnings: Vec<ConfigWarning>,
    /// This server's id; 0 until [`Config::with_my_id`] sets it.
    pub my_id: ServerId,
}

impl Default for Config {
    /// The configuration of an empty `zoo.cfg`: every default, no servers, `my_id` 0.
    fn default() -> Config {
        Config {
            tick_time_ms: DEFAULT_TICK_TIME_MS,
            init_limit_ticks: DEFAULT_INIT_LIMIT_TICKS,
            sync_limit_ticks: DEFAULT_SYNC_LIMIT_TICKS,
            data_dir: None,
            data_log_dir: None,
            client_port: None,
            client_port_address: None,
            election_alg: ELECTION_ALG_FAST,
            peer_type: PeerType::Participant,
            peer_type_line: None,
            servers: BTreeMap::new(),
            max_client_cnxns: DEFAULT_MAX_CLIENT_CNXNS,
            min_session_timeout_ms: None,
            max_session_timeout_ms: None,
            four_letter_words: String::from(DEFAULT_FOUR_LETTER_WORDS),
            admin_enable_server: true,
            admin_server_port: DEFAULT_ADMIN_SERVER_PORT,
            metrics_http_port: DEFAULT_METRICS_HTTP_PORT,
            jute_max_buffer: DEFAULT_JUTE_MAX_BUFFER,
            standalone_enabled: true,
            read_only_mode_enabled: false,
            container_check_interval_ms: DEFAULT_CONTAINER_CHECK_INTERVAL_MS,
            client_backlog_limit_mb: DEFAULT_CLIENT_BACKLOG_LIMIT_MB,
            busy_poll_us: DEFAULT_BUSY_POLL_US,
            reconfig_enabled: false,
            dynamic_config_file: None,
            config_version: 0,
            client_tls: None,
            quorum_tls: None,
            sasl: None,
            other: BTreeMap::new(),
            warnings: Vec::new(),
            my_id: 0,
        }
    }
}

impl Config {
    /// Parses and validates the text of a `zoo.cfg`; the first fault found is returned.
    pub fn from_zoo_cfg(text: &str) -> Result<Config, ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut parser = Parser {
            cfg: Config::default(),
            seen: BTreeSet::new(),
            addresses: BTreeMap::new(),
            dynamic_config_line: None,
            secure_port: None,
            secure_address: None,
            ssl: BTreeMap::new(),
            ssl_quorum: None,
        };
        for (index, raw) in text.split('\n').enumerate() {
            let line = index.saturating_add(1);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
                continue;
            }
            let (key, value) = trimmed
                .split_once('=')
                .ok_or(ConfigError::new(line, ConfigErrorKind::MissingEquals))?;
            let (key, value) = (key.trim(), value.trim());
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::BadKey(key.to_string()),
                ));
            }
            if parser.seen.contains(key) {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::DuplicateKey(key.to_string()),
                ));
            }
            parser.seen.insert(key.to_string());
            parser.apply(line, key, value)?;
        }
        parser.finish()
    }

    /// Sets this server's id (the `myid` file) after checking it against the server lines.
    ///
    /// The id must be 1..=255 ([`ConfigErrorKind::BadMyId`]). When there are `server.N` lines
    /// it must be one of them ([`ConfigErrorKind::UnknownMyId`]); an explicit `peerType` must
    /// then agree with that line ([`ConfigErrorKind::PeerTypeMismatch`]), and without one the
    /// line's type is adopted. A `;[addr:]port` suffix on that line fills `client_port` and
    /// `client_port_address` when they are unset, and must agree with an explicit `clientPort`
    /// ([`ConfigErrorKind::ClientPortMismatch`]), as in ZooKeeper.
    pub fn with_my_id(mut self, id: ServerId) -> Result<Config, ConfigError> {
        if id == 0 || id > MAX_SERVER_ID {
            return Err(ConfigError::new(0, ConfigErrorKind::BadMyId(id)));
        }
        if !self.servers.is_empty() {
            let spec = self
                .servers
                .get(&id)
                .ok_or(ConfigError::new(0, ConfigErrorKind::UnknownMyId(id)))?;
            let (line_type, line_port) = (spec.peer_type, spec.client_port);
            let line_address = spec.client_address.clone();
            match self.peer_type_line {
                Some(line) if self.peer_type != line_type => {
                    return Err(ConfigError::new(
                        line,
                        ConfigErrorKind::PeerTypeMismatch {
                            id,
                            configured: self.peer_type,
                            server_line: line_type,
                        },
                    ));
                }
                Some(_) => {}
                None => self.peer_type = line_type,
            }
            match (self.client_port, line_port) {
                (Some(client_port), Some(server_line)) if client_port != server_line => {
                    return Err(ConfigError::new(
                        0,
                        ConfigErrorKind::ClientPortMismatch {
                            id,
                            client_port,
                            server_line,
                        },
                    ));
                }
                (None, Some(port)) => self.client_port = Some(port),
                _ => {}
            }
            if self.client_port_address.is_none() {
                self.client_port_address = line_address;
            }
        }
        self.my_id = id;
        Ok(self)
    }

    /// Adds the membership of a `dynamicConfigFile` (its text: `server.N` lines, and a
    /// `version=` line that is ignored) to a `zoo.cfg` that names one and has no `server.N`
    /// lines of its own; call it before [`Config::with_my_id`].
    pub fn with_dynamic_config(mut self, text: &str) -> Result<Config, ConfigError> {
        let dynamic = |why: String| ConfigError::new(0, ConfigErrorKind::DynamicConfig(why));
        if !self.servers.is_empty() {
            return Err(dynamic(String::from(
                "zoo.cfg has server.N lines and names a dynamicConfigFile: keep the members in one place",
            )));
        }
        let m = Membership::parse(text).map_err(|e| dynamic(e.to_string()))?;
        if m.servers.is_empty() {
            return Err(dynamic(String::from("it has no server.N lines")));
        }
        if m.voters().next().is_none() {
            return Err(ConfigError::new(0, ConfigErrorKind::NoVoters));
        }
        // A `version=` line is accepted and ignored: versions are the zxids of the reconfigs
        // that made a membership (ZooKeeper keeps its file's version in the file's name), and
        // one from a file, from another ensemble, would never order against them.
        self.servers = m.servers;
        self.config_version = 0;
        Ok(self)
    }

    /// Whether this server runs alone: no server lines, or one and `standaloneEnabled`.
    pub fn is_standalone(&self) -> bool {
        self.servers.is_empty() || (self.servers.len() == 1 && self.standalone_enabled)
    }

    /// The ids of the voting members (participants), ascending.
    pub fn voters(&self) -> impl Iterator<Item = ServerId> + '_ {
        voters_in(&self.servers)
    }

    /// The ids of the non-voting members (observers), ascending.
    pub fn observers(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.servers
            .values()
            .filter(|s| s.peer_type == PeerType::Observer)
            .map(|s| s.id)
    }

    /// Whether `id` has a server line that makes it a participant.
    pub fn is_voter(&self, id: ServerId) -> bool {
        votes_in(&self.servers, id)
    }

    /// The smallest session timeout granted, in ms: `minSessionTimeout` or 2 × tickTime.
    pub fn min_session_timeout(&self) -> u32 {
        self.min_session_timeout_ms
            .unwrap_or(self.tick_time_ms.saturating_mul(2))
    }

    /// The largest session timeout granted, in ms: `maxSessionTimeout` or 20 × tickTime.
    pub fn max_session_timeout(&self) -> u32 {
        self.max_session_timeout_ms
            .unwrap_or(self.tick_time_ms.saturating_mul(20))
    }

    /// A stable FNV-1a 64 hash of the membership, for peers to refuse a different ensemble.
    ///
    /// It covers, per server in id order, the id, the host (ASCII lower-cased), both ports and
    /// the peer type, and nothing else: not tickTime, directories, client ports or `myid`.
    ///
    /// With `reconfigEnabled` the membership changes at run time and members legitimately
    /// start from different files (a joining server lists itself), so every such member
    /// shares one fixed fingerprint: they accept each other and refuse members without it.
    pub fn fingerprint(&self) -> u64 {
        let mut h = crate::hash::Fnv1a64::new();
        if self.reconfig_enabled {
            h.write(b"conclave-ensemble-reconfigurable-v1");
            return h.finish();
        }
        h.write(b"conclave-ensemble-v1");
        h.write(&(self.servers.len() as u64).to_le_bytes());
        for spec in self.servers.values() {
            h.write(&spec.id.to_le_bytes());
            h.write(&(spec.host.len() as u64).to_le_bytes());
            for b in spec.host.bytes() {
                h.write(&[b.to_ascii_lowercase()]);
            }
            h.write(&spec.quorum_port.to_le_bytes());
            h.write(&spec.election_port.to_le_bytes());
            h.write(&[spec.peer_type.code()]);
        }
        h.finish()
    }

    /// The membership as ZooKeeper prints it, one `server.N=...` line (each ending in `\n`).
    ///
    /// Each line reads `server.N=host:qport:eport:participant|observer[;[clientAddr:]port]`,
    /// with IPv6 hosts in brackets; the output parses back to the same servers.
    pub fn ensemble_text(&self) -> String {
        let mut out = String::new();
        for s in self.servers.values() {
            let _ = write!(
                out,
                "server.{}={}:{}:{}:{}",
                s.id,
                HostDisplay(&s.host),
                s.quorum_port,
                s.election_port,
                s.peer_type
            );
            if let Some(port) = s.client_port {
                out.push(';');
                if let Some(addr) = &s.client_address {
                    let _ = write!(out, "{}:", HostDisplay(addr));
                }
                let _ = write!(out, "{port}");
            }
            out.push('\n');
        }
        out
    }
}
