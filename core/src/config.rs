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
/// The only `electionAlg` ZooKeeper 3.5+ (and Conclave) implements: fast leader election.
pub const ELECTION_ALG_FAST: u32 = 3;
/// Warning text for a key the Java server understands but Conclave does not use.
pub const WARN_RECOGNISED: &str = "recognised ZooKeeper key, ignored by Conclave";
/// Warning text for a key neither ZooKeeper's documented set nor Conclave knows.
pub const WARN_UNKNOWN: &str = "unknown key, ignored";

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
            other: BTreeMap::new(),
            warnings: Vec::new(),
            my_id: 0,
        }
    }
}

/// A key that was kept in [`Config::other`] but not acted on, so the operator can see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The 1-based line of the key.
    pub line: usize,
    /// The key as written.
    pub key: String,
    /// Why it was ignored ([`WARN_RECOGNISED`] or [`WARN_UNKNOWN`]).
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "zoo.cfg line {}: {}: {}",
            self.line, self.key, self.message
        )
    }
}

/// Why `zoo.cfg` (or the `myid` given to it) was rejected, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The 1-based line at fault; 0 when the fault is in the file as a whole.
    pub line: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// An error at `line` (0 = the whole file).
    const fn new(line: usize, kind: ConfigErrorKind) -> ConfigError {
        ConfigError { line, kind }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "zoo.cfg: {}", self.kind)
        } else {
            write!(f, "zoo.cfg line {}: {}", self.line, self.kind)
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

/// Which port of a `server.N` line is meant, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortRole {
    /// The second field: the leader's quorum port.
    Quorum,
    /// The third field: the leader-election port.
    Election,
    /// The port after `;`: the client port.
    Client,
}

impl fmt::Display for PortRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortRole::Quorum => "quorum",
            PortRole::Election => "election",
            PortRole::Client => "client",
        })
    }
}

/// What is wrong with the value of a `server.N` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerLineProblem {
    /// The value does not have the `host:port:port[:type][;[addr:]port]` shape.
    Form,
    /// The host before the first `:` is empty.
    EmptyHost,
    /// The host is not printable ASCII, has a stray bracket, or leaves an IPv6 bracket open.
    BadHost(String),
    /// ZooKeeper 3.6's `|`-separated multiple addresses, which Conclave does not support.
    MultiAddress,
    /// A port is not a decimal number 1..=65535.
    BadPort {
        /// Which port of the line.
        which: PortRole,
        /// The text found.
        value: String,
    },
    /// The fourth field is neither `participant` nor `observer`.
    BadPeerType(String),
    /// The client address before the client port is empty or malformed.
    BadClientAddress(String),
}

impl fmt::Display for ServerLineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerLineProblem::Form => f.write_str(
                "expected host:quorumPort:electionPort[:participant|:observer]\
                 [;[clientAddress:]clientPort]",
            ),
            ServerLineProblem::EmptyHost => f.write_str("the host is empty"),
            ServerLineProblem::BadHost(h) => write!(
                f,
                "host '{h}' is not valid (printable ASCII only; brackets only around IPv6)"
            ),
            ServerLineProblem::MultiAddress => {
                f.write_str("multiple addresses separated by '|' are not supported")
            }
            ServerLineProblem::BadPort { which, value } => {
                write!(f, "{which} port '{value}' is not a number 1-65535")
            }
            ServerLineProblem::BadPeerType(t) => {
                write!(f, "peer type '{t}' must be participant or observer")
            }
            ServerLineProblem::BadClientAddress(a) => {
                write!(f, "client address '{a}' is not valid")
            }
        }
    }
}

/// The kinds of faults [`Config::from_zoo_cfg`] and [`Config::with_my_id`] report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigErrorKind {
    /// A non-blank, non-comment line has no `=`.
    MissingEquals,
    /// The key is empty or contains whitespace.
    BadKey(String),
    /// A key appears a second time (the error names the second line).
    DuplicateKey(String),
    /// A numeric key's value is not plain decimal digits.
    BadNumber {
        /// The key.
        key: String,
        /// The value found.
        value: String,
    },
    /// A numeric key's value is a number but outside what the key allows.
    OutOfRange {
        /// The key.
        key: String,
        /// The value found.
        value: String,
        /// The allowed range, in words.
        why: &'static str,
    },
    /// A boolean key's value is not true/false/yes/no.
    BadBool {
        /// The key.
        key: String,
        /// The value found.
        value: String,
    },
    /// A key that needs a value (a directory or address) has an empty one.
    EmptyValue(String),
    /// `electionAlg` is anything but 3; holds the value found.
    UnsupportedElectionAlg(String),
    /// `peerType` is neither participant nor observer; holds the value found.
    BadPeerType(String),
    /// The `N` of `server.N` is not an integer 1..=255; holds the text after `server.`.
    BadServerId(String),
    /// A `server.N` value is malformed.
    BadServerLine {
        /// The server id of the line.
        id: ServerId,
        /// What is wrong with it.
        why: ServerLineProblem,
    },
    /// Two lines define the same server id (e.g. `server.1` and `server.01`).
    DuplicateServer(ServerId),
    /// A host and port pair is used twice among the quorum and election ports of all servers.
    DuplicateAddress {
        /// The server whose line reuses the address.
        id: ServerId,
        /// The host (without IPv6 brackets).
        host: String,
        /// The port used twice.
        port: u16,
        /// The server that used it first (may be `id` itself).
        other: ServerId,
    },
    /// A ZooKeeper key whose effect Conclave cannot honour and must not silently drop.
    UnsupportedKey {
        /// The key.
        key: String,
        /// Why it cannot be ignored.
        why: &'static str,
    },
    /// There are `server.N` lines but none is a participant.
    NoVoters,
    /// The effective minimum session timeout exceeds the effective maximum (milliseconds).
    SessionTimeoutRange {
        /// The effective minSessionTimeout.
        min: u32,
        /// The effective maxSessionTimeout.
        max: u32,
    },
    /// The `myid` is 0 or above 255.
    BadMyId(ServerId),
    /// The `myid` has no `server.N` line although the file lists servers.
    UnknownMyId(ServerId),
    /// `peerType` was set explicitly and disagrees with this server's `server.N` line.
    PeerTypeMismatch {
        /// This server's id.
        id: ServerId,
        /// The explicit `peerType`.
        configured: PeerType,
        /// The type this server's `server.N` line gives.
        server_line: PeerType,
    },
    /// `clientPort` disagrees with the client port of this server's `server.N` line.
    ClientPortMismatch {
        /// This server's id.
        id: ServerId,
        /// The `clientPort` value.
        client_port: u16,
        /// The port after `;` on the `server.N` line.
        server_line: u16,
    },
}

/// Displays a host, putting IPv6 brackets back when the host contains ':'.
struct HostDisplay<'a>(&'a str);

impl fmt::Display for HostDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

impl fmt::Display for ConfigErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConfigErrorKind as K;
        match self {
            K::MissingEquals => f.write_str("expected key=value, found no '='"),
            K::BadKey(k) => write!(
                f,
                "bad key '{k}': a key must be non-empty, without whitespace"
            ),
            K::DuplicateKey(k) => write!(f, "{k} is set more than once"),
            K::BadNumber { key, value } => write!(f, "{key}: '{value}' is not a decimal number"),
            K::OutOfRange { key, value, why } => write!(f, "{key}: {value} is out of range: {why}"),
            K::BadBool { key, value } => {
                write!(
                    f,
                    "{key}: '{value}' is not a boolean (true, false, yes or no)"
                )
            }
            K::EmptyValue(k) => write!(f, "{k}: the value is empty"),
            K::UnsupportedElectionAlg(v) => write!(
                f,
                "electionAlg: '{v}' is not supported; only 3 (fast leader election) is"
            ),
            K::BadPeerType(v) => write!(f, "peerType: '{v}' must be participant or observer"),
            K::BadServerId(s) => {
                write!(f, "server.{s}: the server id must be an integer 1-255")
            }
            K::BadServerLine { id, why } => write!(f, "server.{id}: {why}"),
            K::DuplicateServer(id) => write!(f, "server.{id} is defined more than once"),
            K::DuplicateAddress {
                id,
                host,
                port,
                other,
            } => write!(
                f,
                "server.{id}: address {}:{port} is already used by server.{other}",
                HostDisplay(host)
            ),
            K::UnsupportedKey { key, why } => write!(f, "{key}: not supported: {why}"),
            K::NoVoters => f.write_str(
                "no server.N line is a participant; an ensemble needs at least one voter",
            ),
            K::SessionTimeoutRange { min, max } => write!(
                f,
                "minSessionTimeout ({min} ms) is larger than maxSessionTimeout ({max} ms)"
            ),
            K::BadMyId(id) => write!(f, "myid {id} is not valid: it must be an integer 1-255"),
            K::UnknownMyId(id) => write!(f, "myid {id} has no server.{id} line"),
            K::PeerTypeMismatch {
                id,
                configured,
                server_line,
            } => write!(
                f,
                "peerType={configured} but server.{id} is listed as {server_line}"
            ),
            K::ClientPortMismatch {
                id,
                client_port,
                server_line,
            } => write!(
                f,
                "clientPort={client_port} but server.{id} gives client port {server_line}"
            ),
        }
    }
}

/// Why a string did not parse as a strict decimal number.
enum NumError {
    /// Empty, or a character other than an ASCII digit.
    NotNumber,
    /// Only digits, but more than `u64` holds.
    TooLarge,
}

/// Parses plain ASCII decimal digits (no sign, no spaces) into a `u64` without overflow.
fn parse_decimal(text: &str) -> Result<u64, NumError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(NumError::NotNumber);
    }
    let mut acc: u64 = 0;
    for b in text.bytes() {
        acc = acc
            .checked_mul(10)
            .and_then(|a| a.checked_add(u64::from(b.wrapping_sub(b'0'))))
            .ok_or(NumError::TooLarge)?;
    }
    Ok(acc)
}

/// Parses `0x`/`0X` hexadecimal digits into a `u64` without overflow.
fn parse_hex(digits: &str) -> Result<u64, NumError> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NumError::NotNumber);
    }
    let mut acc: u64 = 0;
    for c in digits.chars() {
        let d = c.to_digit(16).ok_or(NumError::NotNumber)?;
        acc = acc
            .checked_mul(16)
            .and_then(|a| a.checked_add(u64::from(d)))
            .ok_or(NumError::TooLarge)?;
    }
    Ok(acc)
}

/// Range text for `u32` keys that must be positive.
const WHY_POSITIVE_U32: &str = "must be 1-4294967295";
/// Range text for `u32` keys that may be zero.
const WHY_U32: &str = "must be 0-4294967295";
/// Range text for port keys.
const WHY_PORT: &str = "must be a port 1-65535";

/// Checks a parsed number against `min..=max`, mapping failures to the key's error.
fn check_range(
    line: usize,
    key: &str,
    value: &str,
    parsed: Result<u64, NumError>,
    min: u64,
    max: u64,
    why: &'static str,
) -> Result<u64, ConfigError> {
    let out_of_range = || {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why,
            },
        )
    };
    match parsed {
        Ok(n) if n >= min && n <= max => Ok(n),
        Ok(_) | Err(NumError::TooLarge) => Err(out_of_range()),
        Err(NumError::NotNumber) => Err(ConfigError::new(
            line,
            ConfigErrorKind::BadNumber {
                key: key.to_string(),
                value: value.to_string(),
            },
        )),
    }
}

/// Parses a decimal `u32` key, at least `min` (0 or 1).
fn u32_key(line: usize, key: &str, value: &str, min: u64) -> Result<u32, ConfigError> {
    let why = if min == 0 { WHY_U32 } else { WHY_POSITIVE_U32 };
    let n = check_range(
        line,
        key,
        value,
        parse_decimal(value),
        min,
        u64::from(u32::MAX),
        why,
    )?;
    u32::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why,
            },
        )
    })
}

/// Parses a decimal port key (1..=65535).
fn port_key(line: usize, key: &str, value: &str) -> Result<u16, ConfigError> {
    let n = check_range(
        line,
        key,
        value,
        parse_decimal(value),
        1,
        u64::from(u16::MAX),
        WHY_PORT,
    )?;
    u16::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why: WHY_PORT,
            },
        )
    })
}

/// Parses `jute.maxbuffer`: decimal or `0x` hex (as Java's `Integer.decode` reads it), > 0.
///
/// A multi-digit decimal with a leading 0 is refused: Java would read it as octal.
fn jute_key(line: usize, key: &str, value: &str) -> Result<u32, ConfigError> {
    let parsed = if let Some(hex) = value
        .strip_prefix("0x")
        .or_else(|| value.strip_prefix("0X"))
    {
        parse_hex(hex)
    } else if value.len() > 1 && value.starts_with('0') {
        Err(NumError::NotNumber)
    } else {
        parse_decimal(value)
    };
    let n = check_range(
        line,
        key,
        value,
        parsed,
        1,
        u64::from(u32::MAX),
        WHY_POSITIVE_U32,
    )?;
    u32::try_from(n).map_err(|_| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why: WHY_POSITIVE_U32,
            },
        )
    })
}

/// Parses a boolean key: true/false/yes/no, case-insensitively.
fn bool_key(line: usize, key: &str, value: &str) -> Result<bool, ConfigError> {
    if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("yes") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("false") || value.eq_ignore_ascii_case("no") {
        Ok(false)
    } else {
        Err(ConfigError::new(
            line,
            ConfigErrorKind::BadBool {
                key: key.to_string(),
                value: value.to_string(),
            },
        ))
    }
}

/// A key whose value must not be empty (paths, addresses).
fn non_empty_key(line: usize, key: &str, value: &str) -> Result<String, ConfigError> {
    if value.is_empty() {
        Err(ConfigError::new(
            line,
            ConfigErrorKind::EmptyValue(key.to_string()),
        ))
    } else {
        Ok(value.to_string())
    }
}

/// Keys of the Java server (3.5–3.9) that Conclave accepts and ignores.
const RECOGNISED_KEYS: &[&str] = &[
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "forceSync",
    "preAllocSize",
    "snapCount",
    "snapSizeLimitInKb",
    "commitLogCount",
    "txnLogSizeLimitInKb",
    "syncEnabled",
    "quorumListenOnAllIPs",
    "secureClientPort",
    "secureClientPortAddress",
    "clientPortListenBacklog",
    "dynamicConfigFile",
    "reconfigEnabled",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "globalOutstandingLimit",
    "maxCnxns",
    "electionPortBindRetry",
    "connectToLearnerMasterLimit",
    "fsync.warningthresholdms",
    "skipACL",
    "leaderServes",
    "cnxTimeout",
    "serverCnxnFactory",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "client.portUnification",
    "oraclePath",
    "quorum.cnxn.threads.size",
    "flushDelay",
    "maxWriteQueuePollTime",
    "maxBatchSize",
    "enforceQuota",
    "watchManagerName",
    "extendedTypesEnabled",
    "emulate353TTLNodes",
    "closeSessionTxn.enabled",
    "largeRequestMaxBytes",
    "largeRequestThreshold",
    "outstandingHandshake.limit",
    "throttledOpWaitTime",
    "serializeLastProcessedZxid.enabled",
    "leaderConnectDelayDuringRetryMs",
    "sessionRequireClientSASLAuth",
    "superUser",
];

/// Key prefixes of the Java server that Conclave accepts and ignores.
const RECOGNISED_PREFIXES: &[&str] = &[
    "ssl.",
    "authProvider.",
    "quorum.auth.",
    "zookeeper.",
    "admin.",
    "metricsProvider.",
    "jvm.pause.",
    "multiAddress.",
    "znode.container.",
    "autopurge.",
    "netty.",
    "nio.",
    "learner.",
    "requestThrottle",
    "kerberos.",
    "fastleader.",
    "audit.",
    "enforce.auth.",
    "snapshot.",
    "digest.",
    "jute.",
    "4lw.",
];

/// Whether the Java server knows `key` (so the warning can say it is merely ignored).
fn is_recognised_zk_key(key: &str) -> bool {
    RECOGNISED_KEYS.contains(&key) || RECOGNISED_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether `host` may stand as a host: printable ASCII only, no brackets.
fn host_is_clean(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']')
}

/// Splits `host[:rest]` or `[v6host][:rest]`; the host is returned without brackets.
///
/// `rest` is `None` when nothing follows the host.
fn split_host(text: &str) -> Result<(&str, Option<&str>), ()> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(())?;
        if after.is_empty() {
            Ok((host, None))
        } else {
            let rest = after.strip_prefix(':').ok_or(())?;
            Ok((host, Some(rest)))
        }
    } else {
        match text.split_once(':') {
            Some((host, rest)) => Ok((host, Some(rest))),
            None => Ok((text, None)),
        }
    }
}

/// Parses a port field of a server line.
fn server_port(which: PortRole, text: &str) -> Result<u16, ServerLineProblem> {
    match parse_decimal(text) {
        Ok(n) if n >= 1 => u16::try_from(n).map_err(|_| ServerLineProblem::BadPort {
            which,
            value: text.to_string(),
        }),
        _ => Err(ServerLineProblem::BadPort {
            which,
            value: text.to_string(),
        }),
    }
}

/// Parses the value of `server.N`: `host:qport:eport[:type][;[clientAddr:]clientPort]`.
fn parse_server_value(id: ServerId, value: &str) -> Result<ServerSpec, ServerLineProblem> {
    if value.contains('|') {
        return Err(ServerLineProblem::MultiAddress);
    }
    let (addr, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c)),
        None => (value, None),
    };
    let (host, rest) =
        split_host(addr).map_err(|()| ServerLineProblem::BadHost(addr.to_string()))?;
    let rest = rest.ok_or(ServerLineProblem::Form)?;
    if host.is_empty() {
        return Err(ServerLineProblem::EmptyHost);
    }
    if !host_is_clean(host) {
        return Err(ServerLineProblem::BadHost(host.to_string()));
    }
    let mut fields = rest.split(':');
    let quorum = fields.next().ok_or(ServerLineProblem::Form)?;
    let election = fields.next().ok_or(ServerLineProblem::Form)?;
    let kind = fields.next();
    if fields.next().is_some() {
        return Err(ServerLineProblem::Form);
    }
    let quorum_port = server_port(PortRole::Quorum, quorum)?;
    let election_port = server_port(PortRole::Election, election)?;
    let peer_type = match kind {
        None => PeerType::Participant,
        Some(word) => {
            PeerType::parse(word).ok_or_else(|| ServerLineProblem::BadPeerType(word.to_string()))?
        }
    };
    let (client_address, client_port) = match client {
        None => (None, None),
        Some(c) => {
            if c.is_empty() || c.contains(';') {
                return Err(ServerLineProblem::Form);
            }
            let (first, second) =
                split_host(c).map_err(|()| ServerLineProblem::BadClientAddress(c.to_string()))?;
            match second {
                // Only a port: `;2181`. A bracketed lone address is an address without port.
                None if !c.starts_with('[') => (None, Some(server_port(PortRole::Client, first)?)),
                None => return Err(ServerLineProblem::Form),
                Some(port) => {
                    if first.is_empty() || !host_is_clean(first) {
                        return Err(ServerLineProblem::BadClientAddress(first.to_string()));
                    }
                    (
                        Some(first.to_string()),
                        Some(server_port(PortRole::Client, port)?),
                    )
                }
            }
        }
    };
    Ok(ServerSpec {
        id,
        host: host.to_string(),
        quorum_port,
        election_port,
        peer_type,
        client_address,
        client_port,
    })
}

/// 64-bit FNV-1a, written out so the fingerprint is the same on every platform and run.
struct Fnv1a64(u64);

impl Fnv1a64 {
    /// The FNV-1a 64-bit offset basis.
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    /// The FNV-1a 64-bit prime.
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher in its initial state.
    const fn new() -> Fnv1a64 {
        Fnv1a64(Self::OFFSET)
    }

    /// Feeds `bytes`.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }
}

/// Mutable state of one parse, beside the config being built.
struct Parser {
    /// The config being filled in.
    cfg: Config,
    /// Each key seen, to catch duplicates.
    seen: BTreeSet<String>,
    /// Each (lower-cased host, port) used by a quorum or election port, with its server.
    addresses: BTreeMap<(String, u16), ServerId>,
    /// The line of `dynamicConfigFile`, when present.
    dynamic_config_line: Option<usize>,
}

impl Parser {
    /// Applies one `key=value` line.
    fn apply(&mut self, line: usize, key: &str, value: &str) -> Result<(), ConfigError> {
        let cfg = &mut self.cfg;
        match key {
            "tickTime" => cfg.tick_time_ms = u32_key(line, key, value, 1)?,
            "initLimit" => cfg.init_limit_ticks = u32_key(line, key, value, 1)?,
            "syncLimit" => cfg.sync_limit_ticks = u32_key(line, key, value, 1)?,
            "dataDir" => cfg.data_dir = Some(non_empty_key(line, key, value)?),
            "dataLogDir" => cfg.data_log_dir = Some(non_empty_key(line, key, value)?),
            "clientPort" => cfg.client_port = Some(port_key(line, key, value)?),
            "clientPortAddress" => {
                cfg.client_port_address = Some(non_empty_key(line, key, value)?);
            }
            "electionAlg" => match parse_decimal(value) {
                Ok(n) if n == u64::from(ELECTION_ALG_FAST) => cfg.election_alg = ELECTION_ALG_FAST,
                _ => {
                    return Err(ConfigError::new(
                        line,
                        ConfigErrorKind::UnsupportedElectionAlg(value.to_string()),
                    ))
                }
            },
            "peerType" => {
                cfg.peer_type = PeerType::parse(value).ok_or_else(|| {
                    ConfigError::new(line, ConfigErrorKind::BadPeerType(value.to_string()))
                })?;
                cfg.peer_type_line = Some(line);
            }
            "maxClientCnxns" => cfg.max_client_cnxns = u32_key(line, key, value, 0)?,
            "minSessionTimeout" => cfg.min_session_timeout_ms = Some(u32_key(line, key, value, 0)?),
            "maxSessionTimeout" => cfg.max_session_timeout_ms = Some(u32_key(line, key, value, 0)?),
            "4lw.commands.whitelist" => cfg.four_letter_words = value.to_string(),
            "admin.enableServer" => cfg.admin_enable_server = bool_key(line, key, value)?,
            "admin.serverPort" => cfg.admin_server_port = port_key(line, key, value)?,
            "metricsProvider.httpPort" => cfg.metrics_http_port = port_key(line, key, value)?,
            "jute.maxbuffer" => cfg.jute_max_buffer = jute_key(line, key, value)?,
            "standaloneEnabled" => cfg.standalone_enabled = bool_key(line, key, value)?,
            _ => {
                if let Some(id_text) = key.strip_prefix("server.") {
                    return self.apply_server(line, id_text, value);
                }
                if key.starts_with("group.") || key.starts_with("weight.") {
                    return Err(ConfigError::new(
                        line,
                        ConfigErrorKind::UnsupportedKey {
                            key: key.to_string(),
                            why: "hierarchical quorums are not implemented; \
                                  ignoring them would change who forms a quorum",
                        },
                    ));
                }
                if key == "dynamicConfigFile" {
                    self.dynamic_config_line = Some(line);
                }
                let message = if is_recognised_zk_key(key) {
                    WARN_RECOGNISED
                } else {
                    WARN_UNKNOWN
                };
                cfg.other.insert(key.to_string(), value.to_string());
                cfg.warnings.push(ConfigWarning {
                    line,
                    key: key.to_string(),
                    message: message.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Applies one `server.N=...` line.
    fn apply_server(&mut self, line: usize, id_text: &str, value: &str) -> Result<(), ConfigError> {
        let id = match parse_decimal(id_text) {
            Ok(n) if (1..=MAX_SERVER_ID).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::BadServerId(id_text.to_string()),
                ))
            }
        };
        if self.cfg.servers.contains_key(&id) {
            return Err(ConfigError::new(line, ConfigErrorKind::DuplicateServer(id)));
        }
        let spec = parse_server_value(id, value)
            .map_err(|why| ConfigError::new(line, ConfigErrorKind::BadServerLine { id, why }))?;
        let host_key = spec.host.to_ascii_lowercase();
        for port in [spec.quorum_port, spec.election_port] {
            let slot = (host_key.clone(), port);
            if let Some(&other) = self.addresses.get(&slot) {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::DuplicateAddress {
                        id,
                        host: spec.host.clone(),
                        port,
                        other,
                    },
                ));
            }
            self.addresses.insert(slot, id);
        }
        self.cfg.servers.insert(id, spec);
        Ok(())
    }

    /// Checks that need the whole file, and returns the config.
    fn finish(self) -> Result<Config, ConfigError> {
        let cfg = self.cfg;
        if let Some(line) = self.dynamic_config_line {
            if cfg.servers.is_empty() {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::UnsupportedKey {
                        key: "dynamicConfigFile".to_string(),
                        why: "dynamic reconfiguration is not implemented; list the \
                              server.N lines in zoo.cfg itself",
                    },
                ));
            }
        }
        if !cfg.servers.is_empty() && cfg.voters().next().is_none() {
            return Err(ConfigError::new(0, ConfigErrorKind::NoVoters));
        }
        let (min, max) = (cfg.min_session_timeout(), cfg.max_session_timeout());
        if min > max {
            return Err(ConfigError::new(
                0,
                ConfigErrorKind::SessionTimeoutRange { min, max },
            ));
        }
        Ok(cfg)
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

    /// Whether this server runs alone: no server lines, or one and `standaloneEnabled`.
    pub fn is_standalone(&self) -> bool {
        self.servers.is_empty() || (self.servers.len() == 1 && self.standalone_enabled)
    }

    /// The ids of the voting members (participants), ascending.
    pub fn voters(&self) -> impl Iterator<Item = ServerId> + '_ {
        self.servers
            .values()
            .filter(|s| s.peer_type == PeerType::Participant)
            .map(|s| s.id)
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
        self.servers
            .get(&id)
            .is_some_and(|s| s.peer_type == PeerType::Participant)
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
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv1a64::new();
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
        h.0
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;
    use alloc::vec;
    use proptest::prelude::*;

    /// Parses text that must be valid.
    fn ok(text: &str) -> Config {
        match Config::from_zoo_cfg(text) {
            Ok(c) => c,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }

    /// Parses text that must be invalid.
    fn err(text: &str) -> ConfigError {
        match Config::from_zoo_cfg(text) {
            Ok(c) => panic!("unexpectedly valid: {c:?}"),
            Err(e) => e,
        }
    }

    /// A `ServerSpec` without a client suffix.
    fn spec(id: ServerId, host: &str, q: u16, e: u16, t: PeerType) -> ServerSpec {
        ServerSpec {
            id,
            host: host.to_string(),
            quorum_port: q,
            election_port: e,
            peer_type: t,
            client_address: None,
            client_port: None,
        }
    }

    const DOCS_SAMPLE: &str = "tickTime=2000\n\
        dataDir=/var/lib/zookeeper\n\
        clientPort=2181\n\
        initLimit=5\n\
        syncLimit=2\n\
        server.1=zoo1:2888:3888\n\
        server.2=zoo2:2888:3888\n\
        server.3=zoo3:2888:3888\n";

    fn bad_server(line: usize, id: ServerId, why: ServerLineProblem) -> ConfigError {
        ConfigError::new(line, ConfigErrorKind::BadServerLine { id, why })
    }

    // ---- valid files ----------------------------------------------------------------------

    #[test]
    fn docs_sample_parses_to_exact_values() {
        let mut want = Config {
            tick_time_ms: 2000,
            data_dir: Some("/var/lib/zookeeper".to_string()),
            client_port: Some(2181),
            init_limit_ticks: 5,
            sync_limit_ticks: 2,
            ..Config::default()
        };
        for (id, host) in [(1, "zoo1"), (2, "zoo2"), (3, "zoo3")] {
            want.servers
                .insert(id, spec(id, host, 2888, 3888, PeerType::Participant));
        }
        let got = ok(DOCS_SAMPLE);
        assert_eq!(got, want);
        assert_eq!(got.voters().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(got.observers().count(), 0);
        assert!(!got.is_standalone());
        assert_eq!(got.min_session_timeout(), 4000);
        assert_eq!(got.max_session_timeout(), 40000);
        assert!(got.warnings.is_empty());
        assert_eq!(got.my_id, 0);
    }

    #[test]
    fn empty_file_gives_defaults() {
        let c = ok("");
        assert_eq!(c, Config::default());
        assert_eq!(c.tick_time_ms, 3000);
        assert_eq!(c.init_limit_ticks, 10);
        assert_eq!(c.sync_limit_ticks, 5);
        assert_eq!(c.data_dir, None);
        assert_eq!(c.data_log_dir, None);
        assert_eq!(c.client_port, None);
        assert_eq!(c.client_port_address, None);
        assert_eq!(c.election_alg, 3);
        assert_eq!(c.peer_type, PeerType::Participant);
        assert_eq!(c.peer_type_line, None);
        assert!(c.servers.is_empty());
        assert_eq!(c.max_client_cnxns, 60);
        assert_eq!(c.min_session_timeout_ms, None);
        assert_eq!(c.max_session_timeout_ms, None);
        assert_eq!(c.four_letter_words, "srvr");
        assert!(c.admin_enable_server);
        assert_eq!(c.admin_server_port, 8080);
        assert_eq!(c.metrics_http_port, 7000);
        assert_eq!(c.jute_max_buffer, 1_048_575);
        assert!(c.standalone_enabled);
        assert!(c.other.is_empty());
        assert!(c.warnings.is_empty());
        assert_eq!(c.min_session_timeout(), 6000);
        assert_eq!(c.max_session_timeout(), 60000);
        assert!(c.is_standalone());
        assert_eq!(c.ensemble_text(), "");
    }

    #[test]
    fn every_known_key_sets_its_field() {
        let c = ok("tickTime=100\n\
             initLimit=7\n\
             syncLimit=3\n\
             dataDir=/d\n\
             dataLogDir=/l\n\
             clientPort=12181\n\
             clientPortAddress=127.0.0.1\n\
             electionAlg=3\n\
             peerType=observer\n\
             maxClientCnxns=0\n\
             minSessionTimeout=150\n\
             maxSessionTimeout=9000\n\
             4lw.commands.whitelist=stat, ruok, conf\n\
             admin.enableServer=false\n\
             admin.serverPort=9090\n\
             metricsProvider.httpPort=7070\n\
             jute.maxbuffer=4194304\n\
             standaloneEnabled=no\n");
        let want = Config {
            tick_time_ms: 100,
            init_limit_ticks: 7,
            sync_limit_ticks: 3,
            data_dir: Some("/d".to_string()),
            data_log_dir: Some("/l".to_string()),
            client_port: Some(12181),
            client_port_address: Some("127.0.0.1".to_string()),
            election_alg: 3,
            peer_type: PeerType::Observer,
            peer_type_line: Some(9),
            max_client_cnxns: 0,
            min_session_timeout_ms: Some(150),
            max_session_timeout_ms: Some(9000),
            four_letter_words: "stat, ruok, conf".to_string(),
            admin_enable_server: false,
            admin_server_port: 9090,
            metrics_http_port: 7070,
            jute_max_buffer: 4_194_304,
            standalone_enabled: false,
            ..Config::default()
        };
        assert_eq!(c, want);
        assert_eq!(c.min_session_timeout(), 150);
        assert_eq!(c.max_session_timeout(), 9000);
    }

    #[test]
    fn comments_blank_lines_whitespace_crlf_and_bom() {
        let text = "\u{feff}# a comment\r\n\
                    ! another comment\r\n\
                    \r\n\
                    \t   \r\n\
                    \t tickTime \t=\t 2000 \r\n\
                    \x20 # indented comment = not a key\r\n\
                    dataDir = /var/lib/zk dir \r\n";
        let c = ok(text);
        assert_eq!(c.tick_time_ms, 2000);
        assert_eq!(c.data_dir.as_deref(), Some("/var/lib/zk dir"));
        assert!(c.warnings.is_empty());
        assert!(c.other.is_empty());
    }

    #[test]
    fn value_keeps_later_equals_signs() {
        let c = ok("ssl.foo=a=b=c\n");
        assert_eq!(c.other.get("ssl.foo").map(String::as_str), Some("a=b=c"));
    }

    #[test]
    fn booleans_accept_true_false_yes_no_any_case() {
        for (text, want) in [
            ("true", true),
            ("TRUE", true),
            ("Yes", true),
            ("false", false),
            ("No", false),
        ] {
            let c = ok(&format!(
                "standaloneEnabled={text}\nadmin.enableServer={text}\n"
            ));
            assert_eq!(c.standalone_enabled, want, "{text}");
            assert_eq!(c.admin_enable_server, want, "{text}");
        }
    }

    #[test]
    fn jute_maxbuffer_takes_decimal_and_hex() {
        assert_eq!(ok("jute.maxbuffer=0x100000").jute_max_buffer, 0x10_0000);
        assert_eq!(ok("jute.maxbuffer=0XfFfFf").jute_max_buffer, 0xF_FFFF);
        assert_eq!(ok("jute.maxbuffer=1").jute_max_buffer, 1);
        assert_eq!(ok("jute.maxbuffer=4294967295").jute_max_buffer, u32::MAX);
    }

    #[test]
    fn peer_type_is_case_insensitive_and_remembers_its_line() {
        let c = ok("\npeerType=OBSERVER\n");
        assert_eq!(c.peer_type, PeerType::Observer);
        assert_eq!(c.peer_type_line, Some(2));
        let c = ok("peerType=Participant");
        assert_eq!(c.peer_type, PeerType::Participant);
        assert_eq!(c.peer_type_line, Some(1));
    }

    #[test]
    fn observer_lines() {
        let c = ok("server.1=a:1:2\n\
                    server.2=b:1:2:participant\n\
                    server.3=c:1:2:observer\n\
                    server.4=d:1:2:Observer\n\
                    server.5=e:1:2\n");
        assert_eq!(c.voters().collect::<Vec<_>>(), vec![1, 2, 5]);
        assert_eq!(c.observers().collect::<Vec<_>>(), vec![3, 4]);
        assert!(c.is_voter(1));
        assert!(c.is_voter(2));
        assert!(!c.is_voter(3));
        assert!(!c.is_voter(4));
        assert!(!c.is_voter(6));
        assert!(!c.is_voter(0));
        assert_eq!(
            c.servers.get(&3),
            Some(&spec(3, "c", 1, 2, PeerType::Observer))
        );
    }

    #[test]
    fn client_port_suffixes() {
        let c = ok("server.1=zoo1:2888:3888;2181\n\
                    server.2=zoo2:2888:3888:participant;0.0.0.0:2182\n\
                    server.3=zoo3:2888:3888:observer;[::1]:2183\n\
                    server.4=zoo4:2888:3888;zoo4.example:2184\n");
        let s1 = ServerSpec {
            client_port: Some(2181),
            ..spec(1, "zoo1", 2888, 3888, PeerType::Participant)
        };
        let s2 = ServerSpec {
            client_address: Some("0.0.0.0".to_string()),
            client_port: Some(2182),
            ..spec(2, "zoo2", 2888, 3888, PeerType::Participant)
        };
        let s3 = ServerSpec {
            client_address: Some("::1".to_string()),
            client_port: Some(2183),
            ..spec(3, "zoo3", 2888, 3888, PeerType::Observer)
        };
        let s4 = ServerSpec {
            client_address: Some("zoo4.example".to_string()),
            client_port: Some(2184),
            ..spec(4, "zoo4", 2888, 3888, PeerType::Participant)
        };
        assert_eq!(
            c.servers.values().cloned().collect::<Vec<_>>(),
            vec![s1, s2, s3, s4]
        );
        // Client ports are not quorum addresses: the same port on one host is fine.
        ok("server.1=h:2888:3888;2888\n");
    }

    #[test]
    fn ipv6_hosts() {
        let c = ok("server.1=[::1]:2888:3888\n\
                    server.2=[fe80::1%eth0]:2889:3889:observer;2181\n\
                    server.3=[2001:db8::7]:2888:3888\n");
        assert_eq!(
            c.servers.get(&1),
            Some(&spec(1, "::1", 2888, 3888, PeerType::Participant))
        );
        assert_eq!(
            c.servers.get(&2).map(|s| s.host.as_str()),
            Some("fe80::1%eth0")
        );
        assert_eq!(
            c.servers.get(&3).map(|s| s.host.as_str()),
            Some("2001:db8::7")
        );
        assert_eq!(
            c.ensemble_text(),
            "server.1=[::1]:2888:3888:participant\n\
             server.2=[fe80::1%eth0]:2889:3889:observer;2181\n\
             server.3=[2001:db8::7]:2888:3888:participant\n"
        );
    }

    #[test]
    fn ensemble_text_exact() {
        let c = ok("server.3=zoo3:2888:3888:observer;10.0.0.3:2181\n\
                    server.1=zoo1:2888:3888\n\
                    server.2=zoo2:2888:3888;2181\n");
        assert_eq!(
            c.ensemble_text(),
            "server.1=zoo1:2888:3888:participant\n\
             server.2=zoo2:2888:3888:participant;2181\n\
             server.3=zoo3:2888:3888:observer;10.0.0.3:2181\n"
        );
        assert_eq!(
            ok(DOCS_SAMPLE).ensemble_text(),
            "server.1=zoo1:2888:3888:participant\n\
             server.2=zoo2:2888:3888:participant\n\
             server.3=zoo3:2888:3888:participant\n"
        );
    }

    #[test]
    fn ensemble_text_round_trips() {
        let c = ok("server.1=[::1]:1:2;[::2]:3\nserver.2=h:1:2:observer;4\nserver.9=x:5:6;a:7\n");
        assert_eq!(ok(&c.ensemble_text()).servers, c.servers);
    }

    #[test]
    fn standalone_rules() {
        assert!(ok("").is_standalone());
        assert!(ok("server.1=a:1:2").is_standalone());
        assert!(!ok("server.1=a:1:2\nstandaloneEnabled=false").is_standalone());
        assert!(!ok("server.1=a:1:2\nserver.2=b:1:2").is_standalone());
    }

    #[test]
    fn session_timeout_defaults_saturate() {
        let c = ok("tickTime=4294967295");
        assert_eq!(c.min_session_timeout(), u32::MAX);
        assert_eq!(c.max_session_timeout(), u32::MAX);
        let c = ok("tickTime=1000\nminSessionTimeout=5000");
        assert_eq!(c.min_session_timeout(), 5000);
        assert_eq!(c.max_session_timeout(), 20000);
        // Equal bounds are allowed.
        ok("minSessionTimeout=5000\nmaxSessionTimeout=5000");
    }

    // ---- warnings -------------------------------------------------------------------------

    #[test]
    fn unknown_and_recognised_keys_warn_and_are_kept() {
        let c = ok("tickTime=2000\n\
                    autopurge.snapRetainCount=3\n\
                    frobnicate = yes please \n\
                    ssl.keyStore.location=/ks\n\
                    dynamicConfigFile=/dyn\n\
                    server.1=a:1:2\n\
                    metricsProvider.className=org.Prom\n\
                    zookeeper.extra=1\n");
        let w = |line: usize, key: &str, message: &str| ConfigWarning {
            line,
            key: key.to_string(),
            message: message.to_string(),
        };
        assert_eq!(
            c.warnings,
            vec![
                w(2, "autopurge.snapRetainCount", WARN_RECOGNISED),
                w(3, "frobnicate", WARN_UNKNOWN),
                w(4, "ssl.keyStore.location", WARN_RECOGNISED),
                w(5, "dynamicConfigFile", WARN_RECOGNISED),
                w(7, "metricsProvider.className", WARN_RECOGNISED),
                w(8, "zookeeper.extra", WARN_RECOGNISED),
            ]
        );
        let other: Vec<(&str, &str)> = c
            .other
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            other,
            vec![
                ("autopurge.snapRetainCount", "3"),
                ("dynamicConfigFile", "/dyn"),
                ("frobnicate", "yes please"),
                ("metricsProvider.className", "org.Prom"),
                ("ssl.keyStore.location", "/ks"),
                ("zookeeper.extra", "1"),
            ]
        );
        assert_eq!(
            c.warnings[1].to_string(),
            "zoo.cfg line 3: frobnicate: unknown key, ignored"
        );
        assert_eq!(
            c.warnings[0].to_string(),
            "zoo.cfg line 2: autopurge.snapRetainCount: recognised ZooKeeper key, ignored by Conclave"
        );
    }

    #[test]
    fn many_java_only_keys_do_not_fail() {
        let c = ok(
            "forceSync=no\npreAllocSize=65536\nsnapCount=100000\nsyncEnabled=true\n\
                    quorumListenOnAllIPs=true\nsecureClientPort=2281\nauthProvider.1=x.Y\n\
                    reconfigEnabled=false\nlocalSessionsEnabled=true\nautopurge.purgeInterval=1\n\
                    4lw.other=x\nadmin.serverAddress=0.0.0.0\n",
        );
        assert_eq!(c.warnings.len(), 12);
        assert!(c.warnings.iter().all(|w| w.message == WARN_RECOGNISED));
        assert_eq!(c.other.len(), 12);
    }

    // ---- errors: every variant, with its line -----------------------------------------------

    #[test]
    fn missing_equals() {
        assert_eq!(
            err("tickTime=1\n\n# c\ntickTime 2000\n"),
            ConfigError::new(4, ConfigErrorKind::MissingEquals)
        );
        assert_eq!(
            err("clientPort: 2181"),
            ConfigError::new(1, ConfigErrorKind::MissingEquals)
        );
    }

    #[test]
    fn bad_key() {
        assert_eq!(
            err("a=1\n = 5"),
            ConfigError::new(2, ConfigErrorKind::BadKey(String::new()))
        );
        assert_eq!(
            err("tick Time=5"),
            ConfigError::new(1, ConfigErrorKind::BadKey("tick Time".to_string()))
        );
    }

    #[test]
    fn duplicate_key_names_second_line() {
        assert_eq!(
            err("tickTime=1\ndataDir=/x\n\ntickTime=1\n"),
            ConfigError::new(4, ConfigErrorKind::DuplicateKey("tickTime".to_string()))
        );
        assert_eq!(
            err("foo=1\nfoo=2"),
            ConfigError::new(2, ConfigErrorKind::DuplicateKey("foo".to_string()))
        );
        assert_eq!(
            err("server.1=a:1:2\nserver.1=b:1:2"),
            ConfigError::new(2, ConfigErrorKind::DuplicateKey("server.1".to_string()))
        );
    }

    #[test]
    fn bad_numbers() {
        let bad = |line: usize, key: &str, value: &str| {
            ConfigError::new(
                line,
                ConfigErrorKind::BadNumber {
                    key: key.to_string(),
                    value: value.to_string(),
                },
            )
        };
        assert_eq!(err("tickTime=+2000"), bad(1, "tickTime", "+2000"));
        assert_eq!(err("\ntickTime=-1"), bad(2, "tickTime", "-1"));
        assert_eq!(err("initLimit=1 0"), bad(1, "initLimit", "1 0"));
        assert_eq!(err("syncLimit=0x5"), bad(1, "syncLimit", "0x5"));
        assert_eq!(err("clientPort="), bad(1, "clientPort", ""));
        assert_eq!(err("maxClientCnxns=1.5"), bad(1, "maxClientCnxns", "1.5"));
        assert_eq!(
            err("minSessionTimeout=abc"),
            bad(1, "minSessionTimeout", "abc")
        );
        assert_eq!(
            err("maxSessionTimeout=١٢"),
            bad(1, "maxSessionTimeout", "١٢")
        );
        assert_eq!(err("admin.serverPort=x"), bad(1, "admin.serverPort", "x"));
        assert_eq!(
            err("metricsProvider.httpPort=y"),
            bad(1, "metricsProvider.httpPort", "y")
        );
        assert_eq!(err("jute.maxbuffer=010"), bad(1, "jute.maxbuffer", "010"));
        assert_eq!(err("jute.maxbuffer=0x"), bad(1, "jute.maxbuffer", "0x"));
        assert_eq!(err("jute.maxbuffer=0xg"), bad(1, "jute.maxbuffer", "0xg"));
    }

    #[test]
    fn out_of_range() {
        let oor = |line: usize, key: &str, value: &str, why: &'static str| {
            ConfigError::new(
                line,
                ConfigErrorKind::OutOfRange {
                    key: key.to_string(),
                    value: value.to_string(),
                    why,
                },
            )
        };
        assert_eq!(
            err("tickTime=0"),
            oor(1, "tickTime", "0", "must be 1-4294967295")
        );
        assert_eq!(
            err("a=b\ninitLimit=0"),
            oor(2, "initLimit", "0", "must be 1-4294967295")
        );
        assert_eq!(
            err("syncLimit=0"),
            oor(1, "syncLimit", "0", "must be 1-4294967295")
        );
        assert_eq!(
            err("tickTime=4294967296"),
            oor(1, "tickTime", "4294967296", "must be 1-4294967295")
        );
        assert_eq!(
            err("maxClientCnxns=99999999999999999999999999"),
            oor(
                1,
                "maxClientCnxns",
                "99999999999999999999999999",
                "must be 0-4294967295"
            )
        );
        assert_eq!(
            err("clientPort=0"),
            oor(1, "clientPort", "0", "must be a port 1-65535")
        );
        assert_eq!(
            err("clientPort=65536"),
            oor(1, "clientPort", "65536", "must be a port 1-65535")
        );
        assert_eq!(
            err("admin.serverPort=70000"),
            oor(1, "admin.serverPort", "70000", "must be a port 1-65535")
        );
        assert_eq!(
            err("jute.maxbuffer=0"),
            oor(1, "jute.maxbuffer", "0", "must be 1-4294967295")
        );
        assert_eq!(
            err("jute.maxbuffer=0x100000000"),
            oor(1, "jute.maxbuffer", "0x100000000", "must be 1-4294967295")
        );
        assert_eq!(
            err("jute.maxbuffer=0xffffffffffffffffff"),
            oor(
                1,
                "jute.maxbuffer",
                "0xffffffffffffffffff",
                "must be 1-4294967295"
            )
        );
    }

    #[test]
    fn bad_bool() {
        assert_eq!(
            err("standaloneEnabled=1"),
            ConfigError::new(
                1,
                ConfigErrorKind::BadBool {
                    key: "standaloneEnabled".to_string(),
                    value: "1".to_string()
                }
            )
        );
        assert_eq!(
            err("x=y\nadmin.enableServer=on"),
            ConfigError::new(
                2,
                ConfigErrorKind::BadBool {
                    key: "admin.enableServer".to_string(),
                    value: "on".to_string()
                }
            )
        );
    }

    #[test]
    fn empty_value() {
        for key in ["dataDir", "dataLogDir", "clientPortAddress"] {
            assert_eq!(
                err(&format!("tickTime=1\n{key}=  ")),
                ConfigError::new(2, ConfigErrorKind::EmptyValue(key.to_string()))
            );
        }
    }

    #[test]
    fn unsupported_election_alg() {
        assert_eq!(ok("electionAlg=3").election_alg, 3);
        for v in [
            "0",
            "1",
            "2",
            "4",
            "fast",
            "",
            "-3",
            "99999999999999999999999",
        ] {
            assert_eq!(
                err(&format!("\n\nelectionAlg={v}")),
                ConfigError::new(3, ConfigErrorKind::UnsupportedElectionAlg(v.to_string()))
            );
        }
    }

    #[test]
    fn bad_peer_type() {
        assert_eq!(
            err("peerType=leader"),
            ConfigError::new(1, ConfigErrorKind::BadPeerType("leader".to_string()))
        );
    }

    #[test]
    fn bad_server_id() {
        for (key, id_text) in [
            ("server.0", "0"),
            ("server.256", "256"),
            ("server.x", "x"),
            ("server.", ""),
            ("server.-1", "-1"),
            ("server.+1", "+1"),
            ("server.1.2", "1.2"),
            ("server.99999999999999999999999", "99999999999999999999999"),
        ] {
            assert_eq!(
                err(&format!("tickTime=2000\n{key}=h:1:2")),
                ConfigError::new(2, ConfigErrorKind::BadServerId(id_text.to_string())),
                "{key}"
            );
        }
        assert_eq!(ok("server.255=h:1:2").servers.len(), 1);
    }

    #[test]
    fn bad_server_lines() {
        use PortRole::*;
        use ServerLineProblem as P;
        let port = |which: PortRole, v: &str| P::BadPort {
            which,
            value: v.to_string(),
        };
        let cases: Vec<(&str, ServerLineProblem)> = vec![
            ("", P::Form),
            ("zoo1", P::Form),
            ("zoo1:2888", P::Form),
            ("zoo1:2888:3888:observer:x", P::Form),
            ("zoo1:2888:3888;", P::Form),
            ("zoo1:2888:3888;1;2", P::Form),
            ("zoo1:2888:3888;[::1]", P::Form),
            (":2888:3888", P::EmptyHost),
            ("[]:2888:3888", P::EmptyHost),
            ("zo o1:2888:3888", P::BadHost("zo o1".to_string())),
            ("[::1:2888:3888", P::BadHost("[::1:2888:3888".to_string())),
            ("[::1]2888:3888", P::BadHost("[::1]2888:3888".to_string())),
            ("[a[b]:2888:3888", P::BadHost("a[b".to_string())),
            ("a]:2888:3888", P::BadHost("a]".to_string())),
            ("a\u{0}b:2888:3888", P::BadHost("a\u{0}b".to_string())),
            ("zoo\u{e9}:2888:3888", P::BadHost("zoo\u{e9}".to_string())),
            ("a:1:2|b:1:2", P::MultiAddress),
            ("zoo1:x:3888", port(Quorum, "x")),
            ("zoo1:0:3888", port(Quorum, "0")),
            ("zoo1:65536:3888", port(Quorum, "65536")),
            ("zoo1:+1:3888", port(Quorum, "+1")),
            ("zoo1: 2888:3888", port(Quorum, " 2888")),
            ("zoo1:2888:x", port(Election, "x")),
            ("zoo1:2888:", port(Election, "")),
            (
                "zoo1:2888:99999999999999999999999",
                port(Election, "99999999999999999999999"),
            ),
            ("zoo1:2888:3888;x", port(Client, "x")),
            ("zoo1:2888:3888;0", port(Client, "0")),
            ("zoo1:2888:3888;h:", port(Client, "")),
            ("zoo1:2888:3888;a:b:1", port(Client, "b:1")),
            (
                "zoo1:2888:3888:leader",
                P::BadPeerType("leader".to_string()),
            ),
            ("zoo1:2888:3888:", P::BadPeerType(String::new())),
            ("zoo1:2888:3888;:2181", P::BadClientAddress(String::new())),
            (
                "zoo1:2888:3888;[::1:2181",
                P::BadClientAddress("[::1:2181".to_string()),
            ),
            (
                "zoo1:2888:3888;a b:2181",
                P::BadClientAddress("a b".to_string()),
            ),
        ];
        for (value, why) in cases {
            assert_eq!(
                err(&format!("# x\nserver.7={value}")),
                bad_server(2, 7, why),
                "server.7={value}"
            );
        }
    }

    #[test]
    fn duplicate_server() {
        assert_eq!(
            err("server.1=a:1:2\nserver.2=b:1:2\nserver.01=c:1:2"),
            ConfigError::new(3, ConfigErrorKind::DuplicateServer(1))
        );
    }

    #[test]
    fn duplicate_address() {
        let dup = |line: usize, id: ServerId, host: &str, port: u16, other: ServerId| {
            ConfigError::new(
                line,
                ConfigErrorKind::DuplicateAddress {
                    id,
                    host: host.to_string(),
                    port,
                    other,
                },
            )
        };
        assert_eq!(
            err("server.1=zoo1:2888:3888\nserver.2=zoo1:2888:3889"),
            dup(2, 2, "zoo1", 2888, 1)
        );
        // An election port clashing with another server's quorum port.
        assert_eq!(
            err("server.1=zoo1:2888:3888\nserver.2=zoo1:2889:2888"),
            dup(2, 2, "zoo1", 2888, 1)
        );
        // Both ports of one server the same.
        assert_eq!(err("server.5=zoo1:2888:2888"), dup(1, 5, "zoo1", 2888, 5));
        // Host names compare case-insensitively.
        assert_eq!(
            err("server.1=ZOO1:2888:3888\nserver.2=zoo1:3888:4888"),
            dup(2, 2, "zoo1", 3888, 1)
        );
        assert_eq!(
            err("server.9=[::1]:1:2\nserver.3=[::1]:2:3"),
            dup(2, 3, "::1", 2, 9)
        );
        // Same ports on different hosts are fine.
        ok("server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888");
    }

    #[test]
    fn unsupported_keys() {
        let hier = "hierarchical quorums are not implemented; \
                    ignoring them would change who forms a quorum";
        assert_eq!(
            err("server.1=a:1:2\ngroup.1=1"),
            ConfigError::new(
                2,
                ConfigErrorKind::UnsupportedKey {
                    key: "group.1".to_string(),
                    why: hier
                }
            )
        );
        assert_eq!(
            err("weight.1=1"),
            ConfigError::new(
                1,
                ConfigErrorKind::UnsupportedKey {
                    key: "weight.1".to_string(),
                    why: hier
                }
            )
        );
        assert_eq!(
            err("tickTime=2000\ndynamicConfigFile=/zoo.cfg.dynamic\n"),
            ConfigError::new(
                2,
                ConfigErrorKind::UnsupportedKey {
                    key: "dynamicConfigFile".to_string(),
                    why: "dynamic reconfiguration is not implemented; list the \
                          server.N lines in zoo.cfg itself",
                }
            )
        );
    }

    #[test]
    fn no_voters() {
        assert_eq!(
            err("server.1=a:1:2:observer\nserver.2=b:1:2:observer"),
            ConfigError::new(0, ConfigErrorKind::NoVoters)
        );
    }

    #[test]
    fn session_timeout_range() {
        assert_eq!(
            err("minSessionTimeout=5000\nmaxSessionTimeout=4000"),
            ConfigError::new(
                0,
                ConfigErrorKind::SessionTimeoutRange {
                    min: 5000,
                    max: 4000
                }
            )
        );
        // The default minimum (2 x tickTime) above an explicit maximum.
        assert_eq!(
            err("tickTime=2000\nmaxSessionTimeout=3000"),
            ConfigError::new(
                0,
                ConfigErrorKind::SessionTimeoutRange {
                    min: 4000,
                    max: 3000
                }
            )
        );
        // An explicit minimum above the default maximum (20 x tickTime).
        assert_eq!(
            err("tickTime=100\nminSessionTimeout=2001"),
            ConfigError::new(
                0,
                ConfigErrorKind::SessionTimeoutRange {
                    min: 2001,
                    max: 2000
                }
            )
        );
    }

    #[test]
    fn first_error_wins() {
        let e = err("tickTime=0\nfoo\nserver.0=x");
        assert_eq!(e.line, 1);
        assert!(matches!(e.kind, ConfigErrorKind::OutOfRange { .. }));
    }

    // ---- with_my_id -----------------------------------------------------------------------

    #[test]
    fn with_my_id_standalone_accepts_1_to_255() {
        for id in [1, 2, 17, 255] {
            assert_eq!(ok("").with_my_id(id).map(|c| c.my_id), Ok(id));
        }
        for id in [0, 256, u64::MAX] {
            assert_eq!(
                ok("").with_my_id(id),
                Err(ConfigError::new(0, ConfigErrorKind::BadMyId(id)))
            );
        }
    }

    #[test]
    fn with_my_id_must_name_a_server() {
        let c = ok(DOCS_SAMPLE);
        assert_eq!(c.clone().with_my_id(2).map(|c| c.my_id), Ok(2));
        assert_eq!(
            c.clone().with_my_id(4),
            Err(ConfigError::new(0, ConfigErrorKind::UnknownMyId(4)))
        );
        assert_eq!(
            c.with_my_id(0),
            Err(ConfigError::new(0, ConfigErrorKind::BadMyId(0)))
        );
        // One server and standaloneEnabled: still standalone, but myid must be that server.
        assert_eq!(
            ok("server.3=a:1:2").with_my_id(1),
            Err(ConfigError::new(0, ConfigErrorKind::UnknownMyId(1)))
        );
    }

    #[test]
    fn with_my_id_peer_type() {
        let text = "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer\n";
        // No explicit peerType: adopt the server line's.
        let c = ok(text);
        assert_eq!(
            c.clone().with_my_id(3).map(|c| c.peer_type),
            Ok(PeerType::Observer)
        );
        assert_eq!(
            c.with_my_id(1).map(|c| c.peer_type),
            Ok(PeerType::Participant)
        );
        // Explicit and agreeing.
        let c = ok(&format!("{text}peerType=observer\n"));
        assert_eq!(
            c.clone().with_my_id(3).map(|c| c.peer_type),
            Ok(PeerType::Observer)
        );
        // Explicit and disagreeing: names the peerType line.
        assert_eq!(
            c.with_my_id(2),
            Err(ConfigError::new(
                4,
                ConfigErrorKind::PeerTypeMismatch {
                    id: 2,
                    configured: PeerType::Observer,
                    server_line: PeerType::Participant,
                }
            ))
        );
        let c = ok(&format!("peerType=participant\n{text}"));
        assert_eq!(
            c.with_my_id(3),
            Err(ConfigError::new(
                1,
                ConfigErrorKind::PeerTypeMismatch {
                    id: 3,
                    configured: PeerType::Participant,
                    server_line: PeerType::Observer,
                }
            ))
        );
        // Standalone: nothing to compare against.
        assert_eq!(
            ok("peerType=observer").with_my_id(9).map(|c| c.peer_type),
            Ok(PeerType::Observer)
        );
    }

    #[test]
    fn with_my_id_client_port() {
        let text = "server.1=a:1:2;2181\nserver.2=b:1:2;10.0.0.2:2182\nserver.3=c:1:2\n";
        let c = ok(text).with_my_id(1).ok();
        assert_eq!(c.as_ref().and_then(|c| c.client_port), Some(2181));
        assert_eq!(c.as_ref().and_then(|c| c.client_port_address.clone()), None);
        let c = ok(text).with_my_id(2).ok();
        assert_eq!(c.as_ref().and_then(|c| c.client_port), Some(2182));
        assert_eq!(
            c.as_ref().and_then(|c| c.client_port_address.clone()),
            Some("10.0.0.2".to_string())
        );
        let c = ok(text).with_my_id(3).ok();
        assert_eq!(c.as_ref().and_then(|c| c.client_port), None);
        // Explicit, agreeing, and explicit address kept.
        let c = ok(&format!(
            "clientPort=2182\nclientPortAddress=0.0.0.0\n{text}"
        ))
        .with_my_id(2);
        assert_eq!(
            c.map(|c| (c.client_port, c.client_port_address)),
            Ok((Some(2182), Some("0.0.0.0".to_string())))
        );
        // Explicit and disagreeing.
        assert_eq!(
            ok(&format!("clientPort=2000\n{text}")).with_my_id(1),
            Err(ConfigError::new(
                0,
                ConfigErrorKind::ClientPortMismatch {
                    id: 1,
                    client_port: 2000,
                    server_line: 2181
                }
            ))
        );
        // A server without a suffix never disagrees.
        assert_eq!(
            ok(&format!("clientPort=2000\n{text}"))
                .with_my_id(3)
                .map(|c| c.client_port),
            Ok(Some(2000))
        );
    }

    // ---- Display ------------------------------------------------------------------------

    #[test]
    fn error_messages() {
        let msg = |text: &str| err(text).to_string();
        assert_eq!(
            msg("a=1\nb=2\nc=3\nd=4\ne=5\nf=6\nserver.3=h:2888:x"),
            "zoo.cfg line 7: server.3: election port 'x' is not a number 1-65535"
        );
        assert_eq!(
            msg("tickTime"),
            "zoo.cfg line 1: expected key=value, found no '='"
        );
        assert_eq!(
            msg("tickTime=0"),
            "zoo.cfg line 1: tickTime: 0 is out of range: must be 1-4294967295"
        );
        assert_eq!(
            msg("clientPort=x"),
            "zoo.cfg line 1: clientPort: 'x' is not a decimal number"
        );
        assert_eq!(msg("a=1\na=2"), "zoo.cfg line 2: a is set more than once");
        assert_eq!(
            msg("electionAlg=0"),
            "zoo.cfg line 1: electionAlg: '0' is not supported; only 3 (fast leader election) is"
        );
        assert_eq!(
            msg("server.0=a:1:2"),
            "zoo.cfg line 1: server.0: the server id must be an integer 1-255"
        );
        assert_eq!(
            msg("server.1=[::1]:1:2\nserver.2=[::1]:2:3"),
            "zoo.cfg line 2: server.2: address [::1]:2 is already used by server.1"
        );
        assert_eq!(
            msg("server.1=a:1:2:observer"),
            "zoo.cfg: no server.N line is a participant; an ensemble needs at least one voter"
        );
        assert_eq!(
            msg("minSessionTimeout=10\nmaxSessionTimeout=9"),
            "zoo.cfg: minSessionTimeout (10 ms) is larger than maxSessionTimeout (9 ms)"
        );
        assert_eq!(
            msg("server.1=a"),
            "zoo.cfg line 1: server.1: expected \
             host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]"
        );
        let my = |c: Config, id: ServerId| c.with_my_id(id).err().map(|e| e.to_string());
        assert_eq!(
            my(ok(""), 0),
            Some("zoo.cfg: myid 0 is not valid: it must be an integer 1-255".to_string())
        );
        assert_eq!(
            my(ok(DOCS_SAMPLE), 4),
            Some("zoo.cfg: myid 4 has no server.4 line".to_string())
        );
        assert_eq!(
            my(ok("peerType=observer\nserver.1=a:1:2"), 1),
            Some(
                "zoo.cfg line 1: peerType=observer but server.1 is listed as participant"
                    .to_string()
            )
        );
    }

    // ---- fingerprint -----------------------------------------------------------------------

    #[test]
    fn fnv1a64_known_vectors() {
        let hash = |b: &[u8]| {
            let mut h = Fnv1a64::new();
            h.write(b);
            h.0
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_ignores_everything_but_membership() {
        let base = ok(DOCS_SAMPLE);
        let other = ok("# another file\n\
                        tickTime=500\n\
                        dataDir=/elsewhere\n\
                        server.3=ZOO3:2888:3888;2181\n\
                        clientPort=3000\n\
                        server.2=zoo2:2888:3888:participant\n\
                        foo=bar\n\
                        server.1=zoo1:2888:3888;10.1.1.1:2181\n");
        assert_eq!(base.fingerprint(), other.fingerprint());
        assert_eq!(
            base.clone().with_my_id(1).map(|c| c.fingerprint()),
            Ok(base.fingerprint())
        );
        assert_eq!(
            base.clone().with_my_id(3).map(|c| c.fingerprint()),
            Ok(base.fingerprint())
        );
        // A pinned value: the hash must not drift across platforms, runs or refactors.
        assert_eq!(base.fingerprint(), FINGERPRINT_DOCS_SAMPLE);
    }

    /// The fingerprint of the docs sample ensemble, pinned.
    const FINGERPRINT_DOCS_SAMPLE: u64 = 0xc0af_f977_2e96_ed45;

    #[test]
    fn fingerprint_changes_with_membership() {
        let base = ok(DOCS_SAMPLE).fingerprint();
        let variants = [
            DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo3:2889:3888"),
            DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo3:2888:3889"),
            DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo4:2888:3888"),
            DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.4=zoo3:2888:3888"),
            DOCS_SAMPLE.replace(
                "server.3=zoo3:2888:3888",
                "server.3=zoo3:2888:3888:observer",
            ),
            DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", ""),
            format!("{DOCS_SAMPLE}server.4=zoo4:2888:3888\n"),
        ];
        let mut seen = vec![base, ok("").fingerprint()];
        for text in &variants {
            let f = ok(text).fingerprint();
            assert!(!seen.contains(&f), "{text}");
            seen.push(f);
        }
    }

    // ---- properties ----------------------------------------------------------------------

    /// Keys the parser treats specially, plus a few ignored ones.
    const KEYS: &[&str] = &[
        "tickTime",
        "initLimit",
        "syncLimit",
        "dataDir",
        "dataLogDir",
        "clientPort",
        "clientPortAddress",
        "electionAlg",
        "peerType",
        "maxClientCnxns",
        "minSessionTimeout",
        "maxSessionTimeout",
        "4lw.commands.whitelist",
        "admin.enableServer",
        "admin.serverPort",
        "metricsProvider.httpPort",
        "jute.maxbuffer",
        "standaloneEnabled",
        "dynamicConfigFile",
        "group.1",
        "weight.2",
        "snapCount",
    ];

    fn key_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::sample::select(KEYS).prop_map(|k| k.to_string()),
            (0u64..300).prop_map(|n| format!("server.{n}")),
            "server\\.[0-9a-z+-]{0,4}",
            "[ -~]{0,12}",
            any::<String>(),
        ]
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{0,12}",
            "(0x)?[0-9a-fA-F]{0,10}",
            "(true|false|yes|no|observer|participant|[a-z]{0,5})",
            "\\[?[a-z0-9:]{0,6}\\]?:[0-9]{0,6}:[0-9]{0,6}(:observer|:participant|:x)?\
             (;(\\[?[a-z0-9.:]{0,8}\\]?:)?[0-9]{0,6})?",
            "[ -~]{0,30}",
            any::<String>(),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = Config::from_zoo_cfg(&text);
        }

        #[test]
        fn never_panics_on_key_value_lines(
            lines in proptest::collection::vec((key_strategy(), value_strategy()), 0..24),
            my_id in 0u64..300,
        ) {
            let mut text = String::new();
            for (k, v) in &lines {
                text.push_str(k);
                text.push('=');
                text.push_str(v);
                text.push('\n');
            }
            if let Ok(c) = Config::from_zoo_cfg(&text) {
                let _ = c.fingerprint();
                let _ = c.min_session_timeout();
                let _ = c.max_session_timeout();
                let _ = c.is_standalone();
                prop_assert_eq!(
                    c.voters().count() + c.observers().count(),
                    c.servers.len()
                );
                // The printed membership parses back to the same servers and fingerprint.
                let again = Config::from_zoo_cfg(&c.ensemble_text());
                prop_assert_eq!(again.as_ref().map(|a| &a.servers), Ok(&c.servers));
                prop_assert_eq!(again.map(|a| a.fingerprint()), Ok(c.fingerprint()));
                let _ = c.with_my_id(my_id);
            }
        }
    }
}
