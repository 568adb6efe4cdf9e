//! The facade's vocabulary: what goes into a [`crate::Node`] and what comes out.

use alloc::string::String;
use alloc::vec::Vec;

use crate::election::Vote;
use crate::ids::{LinkId, ServerId, Zxid};
use crate::transport::RejectReason;
use crate::zab::StepDown;

/// Something that happened to the node: bytes, connections, timers, disk acknowledgements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
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
        bytes: Vec<u8>,
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
    /// A `Persist` op failed; the node stops serving.
    PersistFailed {
        /// The failed op.
        seq: u64,
        /// What the OS said.
        error: String,
    },
}

/// A durable write the adapter must perform, in `seq` order, then acknowledge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistOp {
    /// Atomically replace `acceptedEpoch` then `currentEpoch` (temp file, fsync, rename).
    WriteEpochs {
        /// New acceptedEpoch.
        accepted: u32,
        /// New currentEpoch.
        current: u32,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Electing a leader.
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
    /// A link was refused or dropped.
    LinkRejected {
        /// The link.
        link: LinkId,
        /// Why.
        reason: RejectReason,
    },
    /// The node stopped serving after a durability failure.
    Halted {
        /// What failed.
        reason: String,
    },
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
    /// Election logical clock.
    pub round: u64,
    /// Peers with a live link.
    pub peers_up: Vec<ServerId>,
}
