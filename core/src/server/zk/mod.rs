//! ZooKeeper as a [`Service`]: the data tree plus everything a server does for the clients
//! connected to it — the session handshake, per-session FIFO request processing, local reads,
//! writes through ZAB, watches, session expiry (leader) and touches (learners).

mod handshake;
mod leader;
mod pipeline;
mod sasl;
pub(crate) use sasl::verify as sasl_verify;
mod watching;

use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::client::records::ClientInfo;
use crate::client::{
    decode_request, encode_notification, encode_reply, AddWatchMode, ClientFrameDecoder,
    ConnectRequest, ConnectResponse, DecodeError, ErrorCode, EventType, Frame, Id, JuteReader,
    JuteRecord, KeeperState, OpCode, ReplyHeader, Request, RequestHeader, Response, WatcherEvent,
    DEFAULT_MAX_BUFFER,
};
use crate::codec::TxnHeader;
use crate::ids::Zxid;
use crate::metrics::{BufferSizes, Summary};
use crate::observe::view::{ConnectionInfo, WatchSummary};
use crate::observe::{RequestStats, ServerView};
use crate::server::sessions::SessionTracker;
use crate::server::watches::{ConnId, WatchKind, Watches};
use crate::service::{ClientEvent, Service, ServiceCx, ServiceOutput, WriteRequest};
use crate::time::Instant;
use crate::tree::{
    prep, read, Caller, DataTree, PendingChanges, PrepCtx, ReadCtx, TxnResult, ZkTxn,
};
use crate::zab::{ReplicatedState, StateMachine};

/// Requests queued per connection before the server stops reading it.
pub(crate) const MAX_QUEUED_PER_CONN: usize = 1000;

/// Replies a connection may have unwritten (sent to the host, not yet reported by
/// `ClientWritten`) before its queued requests wait: a client that never reads its replies
/// holds at most this plus one reply (and the notifications of its watches, which the
/// driver's per-socket bound caps), however many requests it pipelines.
pub(crate) const PACE_BYTES: u64 = 1 << 20;

/// A connection that has not completed the session handshake (or sent its four-letter
/// word) within this long is closed: ZooKeeper's `zookeeper.nio.sessionlessCnxnTimeout`
/// default. Idle and trickling (slowloris) sockets cannot hold descriptors for ever.
pub(crate) const SESSIONLESS_TIMEOUT_MS: u64 = 10_000;

/// A handshake that reaches a member which stopped serving less than this long ago is held,
/// not refused, and answered as soon as the member serves again (or refused when this has
/// passed since it stopped). ZooKeeper closes such a connection at once; its clients then
/// back off (the Java client and `zookeeper-client` sleep 100 ms and more per round of hosts),
/// so a start or a failover that an election settles in a few milliseconds cost clients
/// hundreds. A member cut off for longer refuses at once, as ZooKeeper does, so its clients
/// move on (docs/decisions.md D30).
pub(crate) const HANDSHAKE_HOLD_MS: u64 = 1_000;

/// A member that starts electing waits this long (or a tick, if longer) before it serves
/// read-only clients, as ZooKeeper's QuorumPeer does: a short election should not bounce them.
pub(crate) const READ_ONLY_DELAY_MS: u64 = 2_000;

/// The opcodes a read-only server answers with NOTREADONLY (ZooKeeper's
/// ReadOnlyRequestProcessor): everything that changes state, and `sync`, which needs a leader.
fn refused_when_read_only(op: i32) -> bool {
    matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::Sync
                | OpCode::Create
                | OpCode::Create2
                | OpCode::CreateTtl
                | OpCode::CreateContainer
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::Reconfig
                | OpCode::SetAcl
                | OpCode::Multi
                | OpCode::Check
        )
    )
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    /// Waiting for the ConnectRequest.
    New,
    /// createSession proposed; waiting for it to commit.
    Connecting {
        session: i64,
        timeout_ms: i32,
        read_only: Option<bool>,
    },
    /// A handshake held while this member does not serve (`HANDSHAKE_HOLD_MS`): the
    /// ConnectRequest, run when the member serves again.
    Parked { connect: Vec<u8> },
    /// Reconnecting with a session this server does not know yet (its createSession may be
    /// committed but not applied here): a sync brings us up to date, then we decide.
    Revalidating {
        request: ConnectRequest,
        timeout_ms: i32,
    },
    /// Serving requests of `session`.
    Ready { session: i64 },
}

/// A request that holds every later request of its connection until it is answered.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Wait {
    /// A sync with this id (and xid/path to answer) is in flight.
    Sync { id: u64, xid: i32, path: String },
}

#[derive(Debug)]
struct Pending {
    header: RequestHeader,
    body: Vec<u8>,
}

#[derive(Debug)]
struct Conn {
    addr: SocketAddr,
    decoder: ClientFrameDecoder,
    state: State,
    /// Authenticated ids, shared with each request that carries them (every request did
    /// clone a list with the `ip` id's two strings).
    auth: Arc<[Id]>,
    queue: VecDeque<Pending>,
    /// The session's writes in ZAB, oldest first (pipelined; they commit in this order).
    writes: VecDeque<i32>,
    waiting: Option<Wait>,
    paused: bool,
    /// Reply bytes sent to the host and not yet reported written ([`PACE_BYTES`]).
    unsent: u64,
    received: u64,
    sent: u64,
    /// The requests started and not yet answered, oldest first: opcode and start (metrics).
    current: VecDeque<(i32, Instant)>,
    /// A `stmk` arrived without its 8-byte mask yet.
    stmk_pending: bool,
    /// Its session is a read-only server's local session: never replicated, refused writes.
    read_only: bool,
    /// Where its SASL exchange stands.
    sasl: sasl::Exchange,
}

impl Conn {
    /// Adds an authenticated id (addauth, SASL), once.
    fn add_auth(&mut self, id: Id) {
        if !self.auth.contains(&id) {
            let mut ids = self.auth.to_vec();
            ids.push(id);
            self.auth = ids.into();
        }
    }
}

/// Whether this member may be a read-only server now: enabled, electing, not serving.
fn read_only_may_serve(cx: &ServiceCx<'_>) -> bool {
    cx.config.read_only_mode_enabled && cx.role == crate::io::Role::Looking && !cx.serving
}

/// Pops the entries of a deadline queue (in deadline order) that are due at `now`. Bounded by
/// the connections accepted: each entry is popped once.
fn due(queue: &mut VecDeque<(Instant, ConnId)>, now: Instant) -> Vec<ConnId> {
    let mut out = Vec::new();
    while let Some(&(deadline, conn)) = queue.front() {
        if deadline > now {
            break;
        }
        queue.pop_front();
        out.push(conn);
    }
    out
}

/// The client's IP as the `ip` ACL scheme and the per-IP limit see it (IPv4-mapped IPv6
/// addresses as IPv4).
fn ip_of(addr: &SocketAddr) -> core::net::IpAddr {
    match addr.ip() {
        core::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(core::net::IpAddr::V6(v6), core::net::IpAddr::V4),
        ip => ip,
    }
}

/// ZooKeeper's server, minus the replication (which the node does).
#[derive(Debug, Default)]
pub struct ZkService {
    tree: DataTree,
    pending: PendingChanges,
    conns: BTreeMap<ConnId, Conn>,
    by_session: BTreeMap<i64, ConnId>,
    watches: Watches,
    tracker: Option<SessionTracker>,
    touched: BTreeMap<i64, u32>,
    session_counter: u64,
    next_sync: u64,
    syncs: BTreeMap<u64, ConnId>,
    reap_at: Option<Instant>,
    secret: u64,
    super_digest: Option<String>,
    /// The membership text of the configuration files, read as `/zookeeper/config` until
    /// a reconfig sets that node.
    static_config: Option<String>,
    packets_received: u64,
    packets_sent: u64,
    requests: RequestStats,
    latency_ms: Summary,
    response_sizes: BufferSizes,
    auth_failed: u64,
    /// SASL exchanges begun (part of each nonce's material).
    sasl_exchanges: u64,
    /// Read-only mode: when this electing member starts serving read-only clients.
    read_only_from: Option<Instant>,
    /// Read-only mode: it serves read-only clients now (`Mode: read-only`).
    read_only_serving: bool,
    /// Connections in accept order with the instant they must have a session by; checked
    /// lazily (a connection that got one, or went, is skipped when its turn comes).
    sessionless: VecDeque<(Instant, ConnId)>,
    /// Since when this member does not serve (`None` while it serves).
    not_serving_since: Option<Instant>,
    /// Held handshakes in arrival order with the instant they are refused by; checked lazily
    /// like `sessionless`.
    parked: VecDeque<(Instant, ConnId)>,
    /// Open connections per client IP (`maxClientCnxns`), kept so a connection flood costs
    /// no scan per accept.
    per_ip: BTreeMap<core::net::IpAddr, u32>,
}

impl StateMachine for ZkService {
    type Outcome = TxnResult;

    fn apply(&mut self, header: &TxnHeader, body: &[u8]) -> TxnResult {
        self.tree.set_watched(!self.watches.is_empty());
        self.tree.apply(header, body)
    }

    fn encode_outcome(outcome: &TxnResult) -> Vec<u8> {
        outcome.encode()
    }
}

impl ReplicatedState for ZkService {
    fn snapshot(&self) -> Vec<u8> {
        self.tree.snapshot()
    }
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.tree.restore(bytes)
    }
    fn digest(&self) -> u64 {
        self.tree.digest()
    }
    fn seed(&mut self, entropy: u64) {
        self.tree.seed(entropy);
    }
}

impl ZkService {
    /// The replicated tree (reads, 4lw, tests).
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// Client connections open on this server.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Local watch registrations.
    pub fn watches(&self) -> &Watches {
        &self.watches
    }

    /// Packets received from / sent to clients.
    pub fn packet_counts(&self) -> (u64, u64) {
        (self.packets_received, self.packets_sent)
    }

    fn send(&mut self, conn: ConnId, bytes: Vec<u8>, cx: &mut ServiceCx<'_>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.sent += 1;
            c.unsent += bytes.len() as u64;
        }
        self.packets_sent += 1;
        cx.out.push(ServiceOutput::SendClient { conn, bytes });
    }

    fn reply(
        &mut self,
        conn: ConnId,
        xid: i32,
        zxid: Zxid,
        result: Result<Response, ErrorCode>,
        cx: &mut ServiceCx<'_>,
    ) {
        let err = result.as_ref().err().copied();
        self.record_outcome(conn, err, cx.now);
        let mut out = Vec::new();
        match result {
            Ok(resp) => encode_reply(
                &ReplyHeader {
                    xid,
                    zxid: zxid.0 as i64,
                    err: 0,
                },
                Some(&resp),
                &mut out,
            ),
            Err(code) => encode_reply(
                &ReplyHeader {
                    xid,
                    zxid: zxid.0 as i64,
                    err: code.as_i32(),
                },
                None,
                &mut out,
            ),
        }
        self.response_sizes
            .record(i32::try_from(out.len()).unwrap_or(i32::MAX));
        if out.len() >= 16 << 10 {
            // Growth doubled it (the stat follows the data): a large reply queued for a slow
            // reader holds what it needs, not up to twice that (an in-place shrink).
            out.shrink_to_fit();
        }
        self.send(conn, out, cx);
    }

    /// Counts the answer to the connection's current request: its operation's outcome, the
    /// write counters and the request latency.
    fn record_outcome(&mut self, conn: ConnId, err: Option<ErrorCode>, now: Instant) {
        let Some((op, started)) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.current.pop_front())
        else {
            return;
        };
        self.latency_ms.add(now.millis_since(started));
        if err == Some(ErrorCode::AuthFailed) {
            self.auth_failed += 1;
        }
        let Some(op) = OpCode::from_i32(op) else {
            return;
        };
        let outcome = self.requests.by_op.entry(op.name()).or_default();
        match err {
            None => outcome.ok += 1,
            Some(_) => outcome.errors += 1,
        }
        if op.is_write() {
            match err {
                None => self.requests.writes_committed += 1,
                Some(_) => self.requests.writes_failed += 1,
            }
        }
    }

    /// Forgets a connection: its session mapping, watches and syncs. True if it existed.
    fn forget(&mut self, conn: ConnId) -> bool {
        let Some(c) = self.conns.remove(&conn) else {
            return false;
        };
        let ip = ip_of(&c.addr);
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
        if let State::Ready { session } | State::Connecting { session, .. } = c.state {
            if self.by_session.get(&session) == Some(&conn) {
                self.by_session.remove(&session);
            }
        }
        self.watches.remove_conn(conn);
        self.syncs.retain(|_, c| *c != conn);
        true
    }

    fn close(&mut self, conn: ConnId, cx: &mut ServiceCx<'_>) {
        if self.forget(conn) {
            cx.out.push(ServiceOutput::CloseClient { conn });
        }
    }

    fn touch(&mut self, session: i64, cx: &ServiceCx<'_>) {
        match self.tracker.as_mut() {
            Some(t) => {
                t.touch(session, cx.now);
            }
            None => {
                let timeout = self.tree.sessions().get(&session).copied().unwrap_or(0);
                self.touched.insert(session, timeout.max(0) as u32);
            }
        }
    }

    /// What the service takes from the configuration: the password key and the super user.
    fn learn_config(&mut self, cx: &ServiceCx<'_>) {
        self.secret = cx.config.fingerprint();
        self.static_config = (!cx.config.servers.is_empty())
            .then(|| crate::config::Membership::from_config(cx.config).text());
        // ZooKeeper reads the super user's digest (`super:<base64 sha1>`) from a system
        // property; zoo.cfg sets it with or without the `zookeeper.` prefix.
        self.super_digest = [
            "zookeeper.DigestAuthenticationProvider.superDigest",
            "DigestAuthenticationProvider.superDigest",
        ]
        .iter()
        .find_map(|k| cx.config.other.get(*k))
        .cloned();
    }

    /// Read-only mode follows the role: an electing member cut off from its quorum starts
    /// serving read-only clients after [`READ_ONLY_DELAY_MS`]; any other role ends it, and
    /// its read-only sessions (local, never replicated) are closed: their clients find a
    /// member of the quorum again and start a real session there.
    fn read_only_role(&mut self, cx: &mut ServiceCx<'_>) {
        if read_only_may_serve(cx) {
            if self.read_only_from.is_none() && !self.read_only_serving {
                let delay = u64::from(cx.config.tick_time_ms).max(READ_ONLY_DELAY_MS);
                self.read_only_from = Some(cx.now.plus_millis(delay));
            }
            return;
        }
        self.read_only_from = None;
        if core::mem::take(&mut self.read_only_serving) {
            cx.out
                .push(ServiceOutput::Event(crate::io::NodeEvent::ReadOnly {
                    serving: false,
                }));
        }
        let read_only: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.read_only)
            .map(|(id, _)| *id)
            .collect();
        for conn in read_only {
            self.close(conn, cx);
        }
    }

    fn start_tracking(&mut self, cx: &ServiceCx<'_>) {
        let mut t = SessionTracker::new(cx.config.tick_time_ms as u64);
        // Every session gets a fresh deadline when a leader takes over (protocol reference §3.5).
        for (id, timeout) in self.tree.sessions() {
            t.add(*id, (*timeout).max(0) as u32, cx.now);
        }
        self.tracker = Some(t);
        self.reap_at = Some(
            cx.now
                .plus_millis(u64::from(cx.config.container_check_interval_ms)),
        );
    }
}

impl Service for ZkService {
    fn prep(
        &mut self,
        w: &WriteRequest,
        zxid: Zxid,
        time_ms: i64,
        reconfig: Option<&crate::tree::ReconfigView<'_>>,
    ) -> Option<(i32, Vec<u8>)> {
        let txn = self.leader_prep(w, zxid, time_ms, reconfig);
        Some((txn.kind(), txn.encode()))
    }

    fn reconfig_target(&self, kind: i32, body: &[u8]) -> Option<crate::config::Membership> {
        match ZkTxn::decode(kind, body) {
            Ok(ZkTxn::Reconfig { data, .. }) => {
                crate::config::Membership::parse(core::str::from_utf8(&data).ok()?).ok()
            }
            _ => None,
        }
    }

    fn membership(&self) -> Option<crate::config::Membership> {
        let node = self.tree.node(crate::tree::CONFIG_PATH)?;
        if node.stat.mzxid == 0 {
            return None;
        }
        let text = core::str::from_utf8(node.data?).ok()?;
        crate::config::Membership::parse(text).ok()
    }

    fn applied(&mut self, header: &TxnHeader, result: &TxnResult, cx: &mut ServiceCx<'_>) {
        let zxid = header.zxid;
        self.pending.applied(zxid);
        // Watch events first: a client sees the event before any reply reflecting the change.
        self.fire_watches(zxid, cx);
        let session = header.session_id;
        match result {
            TxnResult::CreateSession { timeout_ms } => {
                if let Some(t) = self.tracker.as_mut() {
                    t.add(session, (*timeout_ms).max(0) as u32, cx.now);
                }
                if let Some(&conn) = self.by_session.get(&session) {
                    if let Some(State::Connecting {
                        timeout_ms,
                        read_only,
                        ..
                    }) = self.conns.get(&conn).map(|c| c.state.clone())
                    {
                        self.accept(conn, session, timeout_ms, read_only, cx);
                    }
                }
                return;
            }
            TxnResult::CloseSession { .. } => {
                if let Some(t) = self.tracker.as_mut() {
                    t.remove(session);
                }
                self.touched.remove(&session);
                if let Some(&conn) = self.by_session.get(&session) {
                    let asked = self
                        .conns
                        .get(&conn)
                        .is_some_and(|c| c.writes.front() == Some(&header.cxid));
                    if asked {
                        self.reply(conn, header.cxid, zxid, Ok(Response::Empty), cx);
                    }
                    self.close(conn, cx);
                }
                return;
            }
            _ => {}
        }
        let Some(&conn) = self.by_session.get(&session) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.writes.front() != Some(&header.cxid) {
            if c.writes.contains(&header.cxid) {
                // An earlier write of the session never committed (lost with a leader): its
                // reply can never come first, so the connection cannot keep reply order.
                self.close(conn, cx);
            }
            return;
        }
        c.writes.pop_front();
        self.reply(conn, header.cxid, zxid, result.to_response(), cx);
        self.process(conn, cx);
    }

    fn role_changed(&mut self, cx: &mut ServiceCx<'_>) {
        self.learn_config(cx);
        self.pending.clear();
        if cx.leading() {
            if self.tracker.is_none() {
                self.start_tracking(cx);
            }
        } else {
            self.tracker = None;
            self.reap_at = None;
        }
        if !cx.serving {
            self.not_serving_since.get_or_insert(cx.now);
            // Like a ZooKeeper server leaving service: clients reconnect elsewhere, their
            // sessions live on in the ensemble. Held handshakes stay held.
            let conns: Vec<ConnId> = self.conns.keys().copied().collect();
            for conn in conns {
                let keep = self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| matches!(c.state, State::New | State::Parked { .. }));
                if !keep {
                    self.close(conn, cx);
                }
            }
        } else {
            self.not_serving_since = None;
            self.unpark(cx);
        }
        self.read_only_role(cx);
    }

    fn client(&mut self, event: ClientEvent<'_>, cx: &mut ServiceCx<'_>) {
        match event {
            ClientEvent::Connected { conn, addr } => {
                let ip = ip_of(&addr);
                let limit = cx.config.max_client_cnxns;
                let same_ip = self.per_ip.entry(ip).or_insert(0);
                if limit > 0 && *same_ip >= limit {
                    cx.out.push(ServiceOutput::CloseClient { conn });
                    return;
                }
                *same_ip += 1;
                self.learn_config(cx);
                self.sessionless
                    .push_back((cx.now.plus_millis(SESSIONLESS_TIMEOUT_MS), conn));
                self.conns.insert(
                    conn,
                    Conn {
                        addr,
                        decoder: ClientFrameDecoder::new(cx.config.jute_max_buffer.max(1) as usize),
                        state: State::New,
                        auth: Arc::from([Id {
                            scheme: String::from("ip"),
                            id: format!("{ip}"),
                        }]),
                        queue: VecDeque::new(),
                        writes: VecDeque::new(),
                        waiting: None,
                        paused: false,
                        unsent: 0,
                        received: 0,
                        sent: 0,
                        current: VecDeque::new(),
                        stmk_pending: false,
                        read_only: false,
                        sasl: sasl::Exchange::None,
                    },
                );
            }
            ClientEvent::Bytes { conn, bytes } => self.on_bytes(conn, bytes, cx),
            ClientEvent::Disconnected { conn } => {
                self.forget(conn);
            }
            ClientEvent::Written { conn, bytes } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                let was = c.unsent;
                c.unsent = c.unsent.saturating_sub(bytes as u64);
                if was > PACE_BYTES && c.unsent <= PACE_BYTES {
                    self.process(conn, cx);
                }
            }
        }
    }

    fn sync_done(&mut self, id: u64, cx: &mut ServiceCx<'_>) {
        let Some(conn) = self.syncs.remove(&id) else {
            return;
        };
        if let Some(State::Revalidating {
            request,
            timeout_ms,
        }) = self.conns.get(&conn).map(|c| c.state.clone())
        {
            return self.finish_connect(conn, request, timeout_ms, cx);
        }
        let Some(Wait::Sync { xid, path, .. }) =
            self.conns.get(&conn).and_then(|c| c.waiting.clone())
        else {
            return;
        };
        self.reply(conn, xid, cx.last_applied, Ok(Response::Sync { path }), cx);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.waiting = None;
        }
        self.process(conn, cx);
    }

    fn touched(&mut self, sessions: &[(i64, u32)], cx: &mut ServiceCx<'_>) {
        if let Some(t) = self.tracker.as_mut() {
            for (id, _) in sessions {
                t.touch(*id, cx.now);
            }
        }
    }

    fn take_touches(&mut self) -> Vec<(i64, u32)> {
        core::mem::take(&mut self.touched).into_iter().collect()
    }

    fn on_timer(&mut self, cx: &mut ServiceCx<'_>) {
        // Connections still without a session, and handshakes still held, at their deadline.
        for conn in due(&mut self.sessionless, cx.now) {
            let idle = self
                .conns
                .get(&conn)
                .is_some_and(|c| matches!(c.state, State::New));
            if idle {
                self.close(conn, cx);
            }
        }
        for conn in due(&mut self.parked, cx.now) {
            let held = self
                .conns
                .get(&conn)
                .is_some_and(|c| matches!(c.state, State::Parked { .. }));
            if held {
                self.close(conn, cx);
            }
        }
        if self.read_only_from.is_some_and(|t| t <= cx.now) {
            self.read_only_from = None;
            if read_only_may_serve(cx) {
                self.read_only_serving = true;
                cx.out
                    .push(ServiceOutput::Event(crate::io::NodeEvent::ReadOnly {
                        serving: true,
                    }));
            }
        }
        if !cx.leading() {
            return;
        }
        let expired = self
            .tracker
            .as_mut()
            .map(|t| t.expire(cx.now))
            .unwrap_or_default();
        for session in expired {
            cx.out
                .push(ServiceOutput::Event(crate::io::NodeEvent::SessionExpired {
                    session_id: session,
                }));
            cx.out.push(ServiceOutput::Write(WriteRequest {
                session_id: session,
                cxid: 0,
                kind: OpCode::CloseSession.as_i32(),
                body: Vec::new(),
                auth: Arc::default(),
            }));
        }
        if self.reap_at.is_some_and(|t| t <= cx.now) {
            self.reap_at = Some(
                cx.now
                    .plus_millis(u64::from(cx.config.container_check_interval_ms)),
            );
            let mut doomed = self.tree.containers_to_delete();
            doomed.extend(self.tree.expired_ttls(cx.wall_ms));
            for path in doomed {
                let mut body = Vec::new();
                Request::Delete(crate::client::DeleteRequest { path, version: -1 })
                    .encode_body(&mut crate::client::JuteWriter::new(&mut body));
                cx.out.push(ServiceOutput::Write(WriteRequest {
                    session_id: 0,
                    cxid: 0,
                    kind: OpCode::Delete.as_i32(),
                    body,
                    auth: Arc::from([Id {
                        scheme: String::from("super"),
                        id: String::new(),
                    }]),
                }));
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        let expiry = self.tracker.as_ref().and_then(|t| t.next_expiry());
        let sessionless = self.sessionless.front().map(|(t, _)| *t);
        let parked = self.parked.front().map(|(t, _)| *t);
        [
            expiry,
            self.reap_at,
            self.read_only_from,
            sessionless,
            parked,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn reset_stats(&mut self, server: bool) {
        if server {
            self.packets_received = 0;
            self.packets_sent = 0;
            self.latency_ms = Summary::default();
            self.response_sizes = BufferSizes::default();
            self.auth_failed = 0;
            self.requests = RequestStats::default();
        } else {
            for c in self.conns.values_mut() {
                c.received = 0;
                c.sent = 0;
            }
        }
    }

    fn view<'a>(&'a self, base: ServerView<'a>, f: &mut dyn FnMut(&ServerView<'_>)) {
        let sessions = self.tree.sessions();
        let connections: Vec<ConnectionInfo<'_>> = self
            .conns
            .values()
            .map(|c| {
                let session_id = match c.state {
                    State::Ready { session } | State::Connecting { session, .. } => session,
                    _ => 0,
                };
                ConnectionInfo {
                    remote: c.addr,
                    interest_ops: if c.paused { 0 } else { 1 },
                    queued: c.queue.len() as u64,
                    received: c.received,
                    sent: c.sent,
                    session_id,
                    last_op: "NA",
                    established_ms: 0,
                    session_timeout_ms: sessions.get(&session_id).map_or(0, |t| *t as u32),
                    last_cxid: -1,
                    last_zxid: -1,
                    last_response_ms: 0,
                    last_latency_ms: 0,
                    latency: Summary::default(),
                }
            })
            .collect();
        let ephemerals_by_session: Vec<(i64, Vec<String>)> = sessions
            .keys()
            .map(|s| {
                (
                    *s,
                    self.tree
                        .ephemerals(*s)
                        .map(String::from)
                        .collect::<Vec<_>>(),
                )
            })
            .filter(|(_, paths)| !paths.is_empty())
            .collect();
        let outstanding = self.conns.values().map(|c| c.queue.len() as u64).sum();
        let view = ServerView {
            node_count: self.tree.node_count(),
            approximate_data_size: self.tree.approximate_data_size(),
            request_latency: self.latency_ms,
            packets_received: self.packets_received,
            packets_sent: self.packets_sent,
            outstanding_requests: outstanding,
            alive_connections: self.conns.len(),
            connections: &connections,
            watch_count: self.watches.count(),
            watch_summary: WatchSummary {
                connections: self.watches.connections(),
                paths: self.watches.paths(),
                total: self.watches.count(),
            },
            ephemerals_count: self.tree.ephemerals_count() as usize,
            ephemerals_by_session: &ephemerals_by_session,
            global_sessions: sessions.len(),
            client_response_sizes: self.response_sizes,
            auth_failed_count: self.auth_failed,
            requests: self.requests.clone(),
            ..base
        };
        if self.read_only_serving {
            // A read-only server serves (its clients) and says so: `Mode: read-only`, `isro`
            // answers `ro`.
            let view = ServerView {
                serving: true,
                role: crate::observe::view::Role::ReadOnly,
                ..view
            };
            return f(&view);
        }
        f(&view)
    }
}
