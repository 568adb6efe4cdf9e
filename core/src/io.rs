//! The facade's vocabulary: what goes into a [`crate::Node`] and what comes out.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use core::fmt;
use core::net::SocketAddr;

use crate::election::Vote;
use crate::ids::{LinkId, ServerId, Zxid};
use crate::observe::HttpEndpoint;
use crate::transport::RejectReason;

/// Something that happened to the node: bytes, connections, timers, disk acknowledgements.
///
/// Bytes are borrowed (`Cow::Borrowed`) straight from the adapter's read buffer, so a read
/// costs no allocation; the node copies only what it must keep (a partial frame). Whoever
/// queues inputs for later (the simulator) holds `Input<'static>` with `Cow::Owned` bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// `poll_timeout` was reached (spurious calls are harmless).
    Timeout,
    /// The adapter accepted a peer connection and named it.
    PeerAccepted {
        /// The adapter's name for it (`LinkId::Accepted`).
        link: LinkId,
    },
    /// A connection requested by `Output::Dial` is established.
    PeerConnected {
        /// The link from the `Dial`.
        link: LinkId,
    },
    /// Bytes read from a peer link, raw; the core frames and decodes them.
    PeerBytes {
        /// The link.
        link: LinkId,
        /// The bytes, in stream order.
        bytes: Cow<'a, [u8]>,
    },
    /// A peer link closed, or a dial failed.
    PeerDisconnected {
        /// The link.
        link: LinkId,
    },
    /// Every `Persist` op with `seq` up to and including this one is durable.
    Persisted {
        /// The highest durable sequence number.
        seq: u64,
    },
    /// A ZooKeeper client connected to the client port.
    ClientConnected {
        /// The adapter's name for the connection (unique among client and HTTP connections).
        conn: u64,
        /// Remote address (ip ACLs and per-IP connection limits use it).
        addr: SocketAddr,
    },
    /// An HTTP client connected to the metrics or admin port. Its bytes arrive as
    /// `ClientBytes` and its end as `ClientDisconnected`, like a ZooKeeper client's; the node
    /// answers one request, then closes it. Answered even while the node is halted.
    HttpConnected {
        /// The adapter's name for the connection (unique among client and HTTP connections).
        conn: u64,
        /// Which listener accepted it.
        endpoint: HttpEndpoint,
    },
    /// Bytes read from a client connection, raw; the core frames and decodes them.
    ClientBytes {
        /// The connection.
        conn: u64,
        /// The bytes, in stream order.
        bytes: Cow<'a, [u8]>,
    },
    /// A client connection closed.
    ClientDisconnected {
        /// The connection.
        conn: u64,
    },
    /// The host handed `bytes` more of a client connection's output to its socket (the OS
    /// took them). The ZooKeeper service paces each connection by it: a connection with more
    /// than 1 MiB of replies unwritten gets no further requests executed until the host
    /// reports them written, so a client that never reads costs bounded memory. Hosts that
    /// drive a `Driver` report through `Driver::written`; a host that never reports stalls a
    /// connection after its first mebibyte of replies.
    ClientWritten {
        /// The connection.
        conn: u64,
        /// How many bytes were written (any count; reports may be batched).
        bytes: usize,
    },
    /// The wall clock (ms since the Unix epoch); the leader stamps txns with it, so replicas
    /// never read a clock. Send it at start and then now and again (e.g. every tick).
    WallClock {
        /// Milliseconds since 1970-01-01 UTC.
        unix_ms: i64,
    },
    /// A write to replicate, issued by a client of this server (the simulator's register-map
    /// workload; ZooKeeper clients speak jute through `ClientBytes`).
    #[cfg(any(test, feature = "sim"))]
    Submit {
        /// The issuing session.
        session_id: i64,
        /// The client's xid, echoed when it commits.
        cxid: i32,
        /// The state machine's txn type.
        kind: i32,
        /// The txn body.
        body: Vec<u8>,
    },
    /// A `Persist` op failed; the node stops serving.
    PersistFailed {
        /// The failed op.
        seq: u64,
        /// What the OS said.
        error: String,
    },
}

/// A durable write the adapter must perform, in `seq` order, then acknowledge.
///
/// File names are relative to the data directory. Ops run one after another on one disk
/// thread; `Persisted { seq }` acknowledges every op up to `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistOp {
    /// Atomically replace `acceptedEpoch` and `currentEpoch` (temp file, fsync, rename, fsync dir).
    WriteEpochs {
        /// New acceptedEpoch.
        accepted: u32,
        /// New currentEpoch.
        current: u32,
    },
    /// Create an empty file (truncating one that exists).
    Create {
        /// File name.
        file: String,
    },
    /// Append bytes to a file (not durable until a `Sync` of that file).
    Append {
        /// File name.
        file: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// fdatasync a file: every earlier `Append` to it is durable once acknowledged.
    Sync {
        /// File name.
        file: String,
    },
    /// Cut a file to `len` bytes (dropping a torn tail or uncommitted txns).
    Truncate {
        /// File name.
        file: String,
        /// New length.
        len: u64,
    },
    /// Atomically rename a file (and fsync the directory).
    Rename {
        /// Old name.
        from: String,
        /// New name.
        to: String,
    },
    /// Delete a file (and fsync the directory).
    Remove {
        /// File name.
        file: String,
    },
    /// Reserve room for a file that appends will fill up to `len` bytes (a log segment), so
    /// that each `Sync` need not also make a new file size durable: measured here, an
    /// fdatasync after a 200-byte append takes 187 µs when the file grows, 130 µs when it
    /// does not (ZooKeeper's `preAllocSize` does the same). A hint: doing nothing is correct.
    /// The room reads back as zeros, which recovery takes as the end of a log; so the core
    /// never appends to a file reserved in an earlier run without truncating it first.
    Preallocate {
        /// File name.
        file: String,
        /// Size to reserve, in bytes.
        len: u64,
    },
}

/// Something the node asks the adapter to do, or tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Open a TCP connection to `addr` and report `PeerConnected` or `PeerDisconnected`.
    Dial {
        /// The name of the new link.
        link: LinkId,
        /// The server it should reach.
        peer: ServerId,
        /// `host:port`.
        addr: String,
    },
    /// Write bytes on a peer link, in order.
    SendPeer {
        /// The link.
        link: LinkId,
        /// Framed bytes.
        bytes: Vec<u8>,
    },
    /// Close a peer link (or abandon a dial in progress). No `PeerDisconnected` is needed.
    ClosePeer {
        /// The link.
        link: LinkId,
    },
    /// Write bytes to a client connection, in order.
    SendClient {
        /// The connection.
        conn: u64,
        /// Framed bytes (or a four-letter word's plain text).
        bytes: Vec<u8>,
    },
    /// Close a client connection once the bytes already queued for it are written.
    CloseClient {
        /// The connection.
        conn: u64,
    },
    /// Stop (`false`) or resume (`true`) reading a client connection: back-pressure, so
    /// nothing queues without bound.
    ReadClient {
        /// The connection.
        conn: u64,
        /// Whether to read.
        read: bool,
    },
    /// Perform a durable write, then send `Persisted { seq }`.
    Persist {
        /// Strictly increasing sequence number.
        seq: u64,
        /// What to write.
        op: PersistOp,
    },
    /// Something worth logging or counting.
    Event(NodeEvent),
}

/// The role of a server, as ZooKeeper names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Role {
    /// Electing a leader.
    #[default]
    Looking,
    /// Following a leader.
    Following,
    /// Leading.
    Leading,
    /// Observing a leader; never votes.
    Observing,
    /// Stopped after a durability failure; needs an operator.
    Halted,
}

/// Events for logs, metrics and the simulator's invariant checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeEvent {
    /// The role changed.
    RoleChanged {
        /// Old role.
        from: Role,
        /// New role.
        to: Role,
    },
    /// We now vote for `vote` in `round`.
    VoteCast {
        /// The round.
        round: u64,
        /// The vote.
        vote: Vote,
    },
    /// The election ended for this server.
    Elected {
        /// The winner.
        leader: ServerId,
        /// The winning vote.
        vote: Vote,
        /// The round.
        round: u64,
        /// Servers whose votes made the quorum.
        supporters: Vec<ServerId>,
        /// Milliseconds from starting to look to the decision ("election took N ms").
        took_ms: u64,
        /// What this server does now: `Leading`, `Following` or `Observing`.
        state: Role,
    },
    /// We lead `epoch`: a quorum promised it and acknowledged NEWLEADER.
    LeaderEstablished {
        /// The epoch.
        epoch: u32,
        /// The acknowledging quorum (leader included).
        quorum: Vec<ServerId>,
    },
    /// We follow (or observe) `leader` in `epoch`, synchronized.
    FollowerSynced {
        /// The leader.
        leader: ServerId,
        /// The epoch.
        epoch: u32,
    },
    /// We gave up leading or following.
    SteppedDown {
        /// Why.
        reason: StepDown,
    },
    /// A link to a peer came up.
    PeerUp {
        /// The peer.
        peer: ServerId,
    },
    /// The link to a peer went down.
    PeerDown {
        /// The peer.
        peer: ServerId,
    },
    /// A committed reconfiguration installed a new membership.
    Reconfigured {
        /// Its version (the zxid of the reconfig).
        version: u64,
        /// The voting members.
        voters: Vec<ServerId>,
        /// The observers.
        observers: Vec<ServerId>,
    },
    /// A link was refused or dropped.
    LinkRejected {
        /// The link.
        link: LinkId,
        /// Why.
        reason: RejectReason,
    },
    /// A txn was applied to the state machine (every server, every txn, in zxid order).
    TxnApplied {
        /// Its zxid.
        zxid: Zxid,
        /// Issuing session.
        session_id: i64,
        /// Issuing xid.
        cxid: i32,
        /// The txn type (`TxnHeader.kind`: for ZooKeeper, the opcode, e.g. -11 closeSession).
        kind: i32,
    },
    /// A write submitted here is committed and applied: acknowledge it to the client.
    #[cfg(any(test, feature = "sim"))]
    WriteCommitted {
        /// Issuing session.
        session_id: i64,
        /// Issuing xid.
        cxid: i32,
        /// Its zxid.
        zxid: Zxid,
        /// The state machine's reply.
        result: Vec<u8>,
    },
    /// A write submitted here was not accepted, or its fate is unknown (leader change).
    #[cfg(any(test, feature = "sim"))]
    WriteFailed {
        /// Issuing session.
        session_id: i64,
        /// Issuing xid.
        cxid: i32,
        /// Why.
        reason: WriteFailure,
    },
    /// The leader expired a session (no server heard from it within its timeout).
    SessionExpired {
        /// The session.
        session_id: i64,
    },
    /// A client failed SASL authentication; its connection is closed.
    SaslFailed {
        /// The client's address.
        addr: SocketAddr,
        /// Why, in words (never a password).
        why: String,
    },
    /// Read-only mode (`readonlymode.enabled`) started (`true`: cut off from the quorum, this
    /// member serves reads to clients that allow it) or stopped (`false`: its clients go).
    ReadOnly {
        /// Whether it serves read-only clients now.
        serving: bool,
    },
    /// The state was replaced by the leader's snapshot at `zxid` (SNAP sync).
    SnapshotInstalled {
        /// The zxid the snapshot reflects.
        zxid: Zxid,
    },
    /// A snapshot of the applied state is durable.
    SnapshotTaken {
        /// The zxid it reflects.
        zxid: Zxid,
    },
    /// A log fsync took at least 1 s (from the `Sync` op to its `Persisted`).
    SlowFsync {
        /// The file.
        file: String,
        /// How long it took.
        took_ms: u64,
    },
    /// The node stopped serving after a durability failure.
    Halted {
        /// What failed.
        reason: String,
    },
}

/// Why a leader or learner gives up and the server looks for a leader again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepDown {
    /// Discovery or synchronization did not finish within initLimit.
    InitLimit,
    /// A learner's history is ahead of the leader's: the election picked the wrong leader.
    FollowerAhead(ServerId),
    /// The leader proposed an epoch older than one we already promised.
    StaleEpoch {
        /// The epoch offered.
        offered: u32,
        /// The epoch we promised.
        accepted: u32,
    },
    /// The link to the leader went down.
    LostLeader,
    /// Fewer than a quorum of synced followers remain.
    LostQuorum,
    /// The zxid counter of this epoch is exhausted; a new epoch is needed (ZOOKEEPER-1277).
    CounterExhausted,
    /// A learner promised an epoch (the second field) above the one we lead: re-elect to
    /// pick a higher one.
    LearnerEpochAhead(ServerId, u32),
    /// The leader broke the protocol.
    Protocol(&'static str),
    /// A committed reconfiguration changed this member's vote (removed, or a participant
    /// became an observer or the reverse).
    Reconfigured,
}

/// Why a submitted write did not commit here.
#[cfg(any(test, feature = "sim"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteFailure {
    /// No established leader to send it to: retry later.
    NotServing,
    /// Too many writes in flight here: retry later.
    Busy,
    /// The leader changed while it was in flight: it may or may not have committed.
    Unknown,
}

/// A snapshot of what the node is doing, for `srvr`, admin commands and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Our server id.
    pub my_id: ServerId,
    /// Our role.
    pub role: Role,
    /// The leader we follow or are, once elected.
    pub leader: Option<ServerId>,
    /// True when synchronized: leader established or follower up to date.
    pub synced: bool,
    /// Durable acceptedEpoch.
    pub accepted_epoch: u32,
    /// Durable currentEpoch.
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_zxid: Zxid,
    /// Last committed zxid known here.
    pub last_committed: Zxid,
    /// Last zxid applied to the state machine.
    pub last_applied: Zxid,
    /// Digest of the state machine, comparable across servers at equal `last_applied`.
    pub digest: u64,
    /// Election logical clock.
    pub round: u64,
    /// Peers with a live link.
    pub peers_up: Vec<ServerId>,
}

/// An fsync at least this slow is reported as [`NodeEvent::SlowFsync`], ZooKeeper's
/// `fsync.warningthresholdms` default.
pub(crate) const SLOW_FSYNC_MS: u64 = 1000;

impl Role {
    /// ZooKeeper's lowercase state name (`looking`, `following`, `leading`, `observing`), and
    /// `halted`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Looking => "looking",
            Role::Following => "following",
            Role::Leading => "leading",
            Role::Observing => "observing",
            Role::Halted => "halted",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How loud a [`NodeEvent`] is in a log, so that every adapter logs the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Every txn: only when tracing.
    Trace,
    /// Votes, failed writes.
    Debug,
    /// Role changes, elections, links, snapshots, expired sessions.
    Info,
    /// Step-downs, refused links, slow fsyncs.
    Warn,
    /// The node halted.
    Error,
}

impl NodeEvent {
    /// How loud this event is in a log.
    pub fn level(&self) -> Level {
        match self {
            NodeEvent::TxnApplied { .. } => Level::Trace,
            #[cfg(any(test, feature = "sim"))]
            NodeEvent::WriteCommitted { .. } => Level::Trace,
            NodeEvent::VoteCast { .. } => Level::Debug,
            #[cfg(any(test, feature = "sim"))]
            NodeEvent::WriteFailed { .. } => Level::Debug,
            NodeEvent::SteppedDown { .. }
            | NodeEvent::LinkRejected { .. }
            | NodeEvent::SlowFsync { .. } => Level::Warn,
            NodeEvent::Halted { .. } => Level::Error,
            _ => Level::Info,
        }
    }
}

/// The log line of an event; ZooKeeper's own wording where operators grep for it
/// (`LEADING - LEADER ELECTION TOOK - N MS`, `Expiring session 0x…`, `fsync-ing the write
/// ahead log … took Nms`).
impl fmt::Display for NodeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeEvent::RoleChanged { from, to } => {
                write!(f, "Peer state changed: {to} (was {from})")
            }
            NodeEvent::VoteCast { round, vote } => write!(
                f,
                "New election: proposed leader={} zxid={} peer epoch={} round {round}",
                vote.leader, vote.zxid, vote.peer_epoch
            ),
            NodeEvent::Elected {
                leader,
                round,
                supporters,
                took_ms,
                state,
                ..
            } => write!(
                f,
                "{} - LEADER ELECTION TOOK - {took_ms} MS (leader {leader}, round {round}, \
                 supporters {supporters:?})",
                match state {
                    Role::Leading => "LEADING",
                    Role::Observing => "OBSERVING",
                    _ => "FOLLOWING",
                }
            ),
            NodeEvent::LeaderEstablished { epoch, quorum } => write!(
                f,
                "Have quorum of supporters, sids: {quorum:?}; starting up leader epoch {epoch}"
            ),
            NodeEvent::FollowerSynced { leader, epoch } => {
                write!(f, "synchronized with leader {leader} in epoch {epoch}")
            }
            NodeEvent::SteppedDown { reason } => write!(f, "stepping down: {reason:?}"),
            NodeEvent::PeerUp { peer } => write!(f, "link to server {peer} up"),
            NodeEvent::PeerDown { peer } => write!(f, "link to server {peer} down"),
            NodeEvent::LinkRejected { link, reason } => {
                write!(f, "peer link {link:?} rejected: {reason:?}")
            }
            NodeEvent::Reconfigured {
                version,
                voters,
                observers,
            } => write!(
                f,
                "membership version {version:x} in force: voters {voters:?}, observers {observers:?}"
            ),
            NodeEvent::TxnApplied {
                zxid,
                session_id,
                cxid,
                kind,
            } => write!(
                f,
                "applied txn {zxid} (type {kind}) of session 0x{session_id:x}/{cxid}"
            ),
            #[cfg(any(test, feature = "sim"))]
            NodeEvent::WriteCommitted {
                session_id,
                cxid,
                zxid,
                ..
            } => write!(f, "write 0x{session_id:x}/{cxid} committed at {zxid}"),
            #[cfg(any(test, feature = "sim"))]
            NodeEvent::WriteFailed {
                session_id,
                cxid,
                reason,
            } => write!(f, "write 0x{session_id:x}/{cxid} failed: {reason:?}"),
            NodeEvent::SessionExpired { session_id } => {
                write!(f, "Expiring session 0x{session_id:x}")
            }
            NodeEvent::SaslFailed { addr, why } => {
                write!(f, "Client {addr} failed to SASL authenticate: {why}")
            }
            NodeEvent::ReadOnly { serving: true } => write!(f, "Read-only server started"),
            NodeEvent::ReadOnly { serving: false } => {
                write!(
                    f,
                    "Read-only server stopped: closing its read-only sessions"
                )
            }
            NodeEvent::SnapshotInstalled { zxid } => {
                write!(f, "Snapshot installed from the leader at zxid {zxid}")
            }
            NodeEvent::SnapshotTaken { zxid } => write!(f, "Snapshot taken at zxid {zxid}"),
            NodeEvent::SlowFsync { file, took_ms } => write!(
                f,
                "fsync-ing the write ahead log ({file}) took {took_ms}ms which will adversely \
                 effect operation latency. See the ZooKeeper troubleshooting guide"
            ),
            NodeEvent::Halted { reason } => write!(f, "halted: {reason}"),
        }
    }
}

/// What an op does, for logs and disk error messages (`fsync of log.100000001`).
impl fmt::Display for PersistOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistOp::WriteEpochs { accepted, current } => {
                write!(f, "writing epochs (accepted {accepted}, current {current})")
            }
            PersistOp::Create { file } => write!(f, "creating {file}"),
            PersistOp::Append { file, bytes } => {
                write!(f, "appending {} bytes to {file}", bytes.len())
            }
            PersistOp::Sync { file } => write!(f, "fsync of {file}"),
            PersistOp::Truncate { file, len } => write!(f, "truncating {file} to {len} bytes"),
            PersistOp::Rename { from, to } => write!(f, "renaming {from} to {to}"),
            PersistOp::Remove { file } => write!(f, "removing {file}"),
            PersistOp::Preallocate { file, len } => {
                write!(f, "reserving {len} bytes for {file}")
            }
        }
    }
}
