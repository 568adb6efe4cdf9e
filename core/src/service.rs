//! The application above ZAB: what the node asks of the replicated service besides applying
//! txns — preparing writes on the leader, side effects of applied txns on this server
//! (client replies, watch events), and its client connections.
//!
//! [`crate::zab::RegisterMap`] uses the defaults (writes are already txns, no clients);
//! [`crate::server::ZkService`] is ZooKeeper.

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::client::Id;
use crate::codec::TxnHeader;
use crate::config::{Config, Membership};
use crate::ids::{ServerId, Zxid};
use crate::io::{NodeEvent, Role};
use crate::server::ConnId;
use crate::time::Instant;
use crate::tree::ReconfigView;
use crate::zab::StateMachine;

/// A write on its way to the leader: a client request not yet turned into a txn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteRequest {
    /// Issuing session.
    pub session_id: i64,
    /// Issuing xid.
    pub cxid: i32,
    /// Request type (ZooKeeper opcode, or the txn type for services without prep).
    pub kind: i32,
    /// Request body.
    pub body: Vec<u8>,
    /// The issuing connection's authenticated ids (the leader checks ACLs with them);
    /// shared with the connection, which changes them only on an auth request.
    pub auth: Arc<[Id]>,
}

/// What the node knows that the service may need.
pub struct ServiceCx<'a> {
    /// The adapter's clock.
    pub now: Instant,
    /// Wall clock, ms since the Unix epoch (for session ids and reaping).
    pub wall_ms: i64,
    /// Our server id.
    pub my_id: ServerId,
    /// Our role.
    pub role: Role,
    /// True when synchronized with an established leader (or leading one).
    pub serving: bool,
    /// Last zxid applied here.
    pub last_applied: Zxid,
    /// The configuration.
    pub config: &'a Config,
    /// Where the service's requests go.
    pub out: &'a mut Vec<ServiceOutput>,
}

impl ServiceCx<'_> {
    /// True if this server leads an established epoch.
    pub fn leading(&self) -> bool {
        self.serving && self.role == Role::Leading
    }
}

/// What the service asks the node (and through it, the adapter) to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceOutput {
    /// Write bytes to a client connection.
    SendClient {
        /// The connection.
        conn: ConnId,
        /// Framed bytes.
        bytes: Vec<u8>,
    },
    /// Close a client connection (after the bytes already sent).
    CloseClient {
        /// The connection.
        conn: ConnId,
    },
    /// Stop (`false`) or resume (`true`) reading a client connection: back-pressure.
    ReadClient {
        /// The connection.
        conn: ConnId,
        /// Whether to read.
        read: bool,
    },
    /// Replicate a write: the leader preps and proposes it, a learner forwards it.
    Write(WriteRequest),
    /// A client `sync`: answer [`Service::sync_done`] once every write the leader committed
    /// before it is applied here.
    Sync {
        /// The service's id for it.
        id: u64,
    },
    /// A four-letter word arrived on `conn`: the node renders it from the server view, sends
    /// the text, tells the service the connection is gone and closes it.
    FourLetterWord {
        /// The connection.
        conn: ConnId,
        /// The command.
        word: crate::client::FourLetterWord,
        /// `stmk`'s trace mask (the 8 bytes after the command); `None` for the others.
        argument: Option<i64>,
    },
    /// Something worth logging or counting.
    Event(NodeEvent),
}

/// A client connection event from the adapter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientEvent<'a> {
    /// A client connected from `addr`.
    Connected {
        /// The adapter's name for it.
        conn: ConnId,
        /// Remote address.
        addr: core::net::SocketAddr,
    },
    /// Bytes read from it.
    Bytes {
        /// The connection.
        conn: ConnId,
        /// Raw bytes, borrowed from the adapter's read.
        bytes: &'a [u8],
    },
    /// It closed.
    Disconnected {
        /// The connection.
        conn: ConnId,
    },
    /// The host wrote `bytes` more of what was sent to it (see `Input::ClientWritten`).
    Written {
        /// The connection.
        conn: ConnId,
        /// How many.
        bytes: usize,
    },
}

/// The replicated application and its clients, as the node drives them.
pub trait Service: StateMachine + Default {
    /// Leader only: the txn `(kind, body)` to propose at `zxid` for a write, or `None` to
    /// drop it (its client will time out). `reconfig` is what a reconfiguration request is
    /// checked against (given for those only).
    fn prep(
        &mut self,
        write: &WriteRequest,
        zxid: Zxid,
        time_ms: i64,
        reconfig: Option<&ReconfigView<'_>>,
    ) -> Option<(i32, Vec<u8>)> {
        let _ = (zxid, time_ms, reconfig);
        Some((write.kind, write.body.clone()))
    }

    /// The membership a proposed txn would install, if it is a reconfiguration.
    fn reconfig_target(&self, kind: i32, body: &[u8]) -> Option<Membership> {
        let _ = (kind, body);
        None
    }

    /// The membership the replicated state holds, once a reconfiguration set it (`None`
    /// before: the configuration files rule).
    fn membership(&self) -> Option<Membership> {
        None
    }

    /// A committed txn was applied: produce this server's side effects.
    fn applied(&mut self, header: &TxnHeader, result: &Self::Outcome, cx: &mut ServiceCx<'_>) {
        let _ = (header, result, cx);
    }

    /// Our role or serving state changed.
    fn role_changed(&mut self, cx: &mut ServiceCx<'_>) {
        let _ = cx;
    }

    /// A client connection event; services without clients close them.
    fn client(&mut self, event: ClientEvent<'_>, cx: &mut ServiceCx<'_>) {
        if let ClientEvent::Connected { conn, .. } = event {
            cx.out.push(ServiceOutput::CloseClient { conn });
        }
    }

    /// A `sync` this service asked for is complete.
    fn sync_done(&mut self, id: u64, cx: &mut ServiceCx<'_>) {
        let _ = (id, cx);
    }

    /// Leader: sessions a learner's clients touched (id, timeout).
    fn touched(&mut self, sessions: &[(i64, u32)], cx: &mut ServiceCx<'_>) {
        let _ = (sessions, cx);
    }

    /// Learner: sessions touched here since the last call, to report to the leader.
    fn take_touches(&mut self) -> Vec<(i64, u32)> {
        Vec::new()
    }

    /// A deadline of the service's own passed (session expiry, reaping).
    fn on_timer(&mut self, cx: &mut ServiceCx<'_>) {
        let _ = cx;
    }

    /// The service's next deadline.
    fn next_deadline(&self) -> Option<Instant> {
        None
    }

    /// `srst` (`server`) or `crst` (`!server`) ran: zero the request counters, latencies and
    /// response sizes of the server or of every connection, as ZooKeeper's resets do.
    fn reset_stats(&mut self, server: bool) {
        let _ = server;
    }

    /// Completes the node's part of the server view (`base`) with the service's (data tree,
    /// sessions, watches, connections, request counters) and hands it to `f`.
    fn view<'a>(
        &'a self,
        base: crate::observe::ServerView<'a>,
        f: &mut dyn FnMut(&crate::observe::ServerView<'_>),
    ) {
        f(&base)
    }
}

#[cfg(any(test, feature = "sim"))]
impl Service for crate::zab::RegisterMap {}
