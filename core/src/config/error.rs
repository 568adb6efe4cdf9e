//! What can be wrong with a `zoo.cfg`: typed errors with the line, and warnings for keys
//! Conclave keeps but does not act on.

#[allow(unused_imports)]
use super::*;

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
    pub(crate) const fn new(line: usize, kind: ConfigErrorKind) -> ConfigError {
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

impl core::error::Error for ConfigError {}

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
    /// A TLS key (`ssl.*`, `secureClientPort`) asks for what cannot be served.
    BadTls {
        /// The key.
        key: String,
        /// What is wrong, and what would work.
        why: String,
    },
    /// SASL is configured in a way that cannot be served (the message says how to fix it).
    BadSasl(String),
    /// There are `server.N` lines but none is a participant.
    NoVoters,
    /// The `dynamicConfigFile` cannot be used (the message says why).
    DynamicConfig(String),
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
            K::BadTls { key, why } => write!(f, "{key}: {why}"),
            K::BadSasl(why) => f.write_str(why),
            K::DynamicConfig(why) => write!(f, "dynamicConfigFile: {why}"),
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
