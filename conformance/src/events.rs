//! What can be on the agenda. Every event that reaches a node names the node *incarnation*
//! it was meant for (directly, or through the connection end it targets), so an event
//! scheduled before a crash never reaches the restarted process.

use conclave_core::{ServerId, Zxid};

/// One scheduled happening.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Something on a simulated TCP connection between servers.
    Net(NetEvent),
    /// Something on a simulated TCP connection between a ZooKeeper client and a server.
    ClientNet(ClientNetEvent),
    /// A ZooKeeper client's timer: connect, ping, give up on a silent server, issue requests.
    ZkTick {
        /// The client.
        client: usize,
    },
    /// A server process starts for the first time.
    Start {
        /// Which server.
        node: ServerId,
    },
    /// The disk of `node` finished one or more writes of incarnation `inc`.
    DiskDone {
        /// Which server.
        node: ServerId,
        /// The incarnation that issued the writes.
        inc: u64,
    },
    /// Draw and apply the next chaos action.
    Chaos,
    /// Restart `node` if it is still down since the crash of incarnation `inc`.
    Restart {
        /// Which server.
        node: ServerId,
        /// The incarnation that crashed.
        inc: u64,
    },
    /// Restart `node` if still down since the crash of incarnation `inc`, even after healing
    /// (a crash a test asked for).
    RestartAlways {
        /// Which server.
        node: ServerId,
        /// The incarnation that crashed.
        inc: u64,
    },
    /// End one partition.
    HealPartition {
        /// The partition's id.
        id: u64,
    },
    /// `heal_at`: end every fault, restart every crashed server.
    Heal,
    /// A paused incarnation resumes (if still paused).
    Resume {
        /// Which server.
        node: ServerId,
        /// The incarnation that was paused.
        inc: u64,
    },
    /// Power loss at `node` while its disk has ops in flight.
    CrashMidWrite {
        /// Which server.
        node: ServerId,
        /// The incarnation to crash.
        inc: u64,
        /// Downtime before the restart, ns.
        down: u64,
    },
    /// Hand incarnation `inc` of `node` the next `WallClock` reading (every simulated second).
    WallTick {
        /// Which server.
        node: ServerId,
        /// The incarnation.
        inc: u64,
    },
    /// A client is ready to submit its next write.
    ClientReady {
        /// The client (its session id).
        client: usize,
    },
    /// A client gives up waiting for write `cxid`.
    ClientTimeout {
        /// The client.
        client: usize,
        /// The write it waits for.
        cxid: i32,
    },
    /// The client workload's progress deadline (`heal_at + progress bound`).
    ProgressDeadline,
    /// `heal_at + bound`: the liveness deadline.
    LivenessDeadline,
}

/// Events of the network model; `conn` names a simulated TCP connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum NetEvent {
    /// The SYN reaches the dialled server.
    ConnectArrive {
        /// The connection.
        conn: u64,
    },
    /// The dialer learns its connection is up.
    Connected {
        /// The connection.
        conn: u64,
    },
    /// The dial failed (refused or timed out).
    DialFailed {
        /// The connection.
        conn: u64,
    },
    /// Bytes reach end `to` (0 = dialer, 1 = acceptor).
    Deliver {
        /// The connection.
        conn: u64,
        /// The receiving end.
        to: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// End `end` sees the connection close (FIN after data, RST, or a TCP timeout).
    Disconnect {
        /// The connection.
        conn: u64,
        /// The end told.
        end: usize,
    },
}

/// Events of the client network model; `conn` names a client connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ClientNetEvent {
    /// The SYN reaches the server.
    Syn {
        /// The connection.
        conn: u64,
    },
    /// The client learns its connection is up.
    Established {
        /// The connection.
        conn: u64,
    },
    /// Client bytes reach the server.
    ToServer {
        /// The connection.
        conn: u64,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Server bytes reach the client.
    ToClient {
        /// The connection.
        conn: u64,
        /// The bytes.
        bytes: Vec<u8>,
        /// The server's `last_applied` when it wrote them.
        applied: Zxid,
    },
    /// The server's socket took `bytes` (reported back as `ClientWritten`; the simulated
    /// kernel buffer never fills, so at once).
    ServerWrote {
        /// The connection.
        conn: u64,
        /// How many.
        bytes: usize,
    },
    /// The server end sees the connection close.
    ServerSeesClose {
        /// The connection.
        conn: u64,
    },
    /// The client end sees the connection close (or its dial fail).
    ClientSeesClose {
        /// The connection.
        conn: u64,
    },
}
