//! The ZooKeeper workload: 3–8 simulated clients speaking the real jute protocol to
//! `Node<ZkService>` over the client network model ([`crate::client_net`]).
//!
//! Each client behaves like the Java client library: it connects to a random server of its
//! connect string, opens a session (4 s asked) and pipelines up to 1–4 requests; it pings when
//! idle for a third of the session timeout and gives a connection up when silent for two
//! thirds; when a connection closes it reconnects to another server with the same session id,
//! password and `lastZxidSeen`, and starts a new session when told the old one expired. Now
//! and then a client closes its session, or goes silent past its timeout (a GC pause) so that
//! the session expires under it.
//!
//! The requests cover what the ZooKeeper contract is about: `setData` / `getData` / `exists`
//! on a few registers (`/r/k0..k7`, never deleted), with one-shot watches; ephemerals
//! (`/e/…`), ephemeral and persistent sequentials (`/q`, `/s`), `multi` (check + setData +
//! sequential create), `sync` pipelined with a read, `getChildren`, `closeSession`. Every
//! reply and notification is checked against the client-side invariants
//! ([`crate::invariants::ClientContract`]) as it arrives.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use conclave_core::client::{
    decode_response, encode_record_frame, encode_request, perms, Acl, CheckVersionRequest,
    ConnectRequest, ConnectResponse, CreateKind, CreateRequest, DeleteRequest, ErrorCode,
    JuteReader, JuteRecord, MultiOp, MultiResult, ReconfigRequest, ReplyHeader, Request, Response,
    SetDataRequest, WatcherEvent, AUTH_XID,
};
use conclave_core::rng::Prng;
use conclave_core::{ServerId, Zxid};

use crate::client_net::{Arrival, ClientNet};
use crate::ensemble::{server_line, SUPER_USER};
use crate::events::Event;
use crate::invariants::{
    broken, sequence_of, Broken, EphemeralLifetime, Invariants, MonotonicReads, SequentialNames,
    SessionFifo, SyncThenRead, WatchOnce,
};
use crate::linearizability::{self, Answer, Operation, Verdict, ZnodeOp};
use crate::queue::EventQueue;

const MS: u64 = 1_000_000;
/// The session timeout every client asks for (the generated zoo.cfg allows 400–4 000 ms).
pub const SESSION_TIMEOUT_MS: i32 = 4_000;
/// Registers every client reads and writes.
const REGISTERS: u64 = 8;
/// The largest reply a client accepts.
const MAX_REPLY: usize = 1 << 20;

/// What the clients did, for the run report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ZkStats {
    /// Requests sent (pings excluded).
    pub requests: u64,
    /// Replies received (pings excluded).
    pub replies: u64,
    /// Writes acknowledged with success.
    pub writes_acked: u64,
    /// Watch notifications received.
    pub notifications: u64,
    /// Sessions created.
    pub sessions: u64,
    /// Sessions a client learned had expired.
    pub expired: u64,
    /// Sessions closed by `closeSession`.
    pub closed: u64,
    /// Connections that ended under a client (reset, server gone, silence).
    pub conn_lost: u64,
    /// Requests whose reply never came (connection lost first).
    pub unanswered: u64,
    /// Register writes the linearizability checker placed (answered or not).
    pub lin_ops: u64,
    /// Registers whose history the checker could not decide within its budget.
    pub lin_unknown: u64,
    /// Reconfigurations sent (`--reconfig`).
    pub reconfigs: u64,
    /// Of which committed (the others refused: too few voters, no synced quorum, one in
    /// flight — or unanswered).
    pub reconfigs_committed: u64,
}

impl ZkStats {
    /// Adds another run's counters (for totals over seeds).
    pub fn add(&mut self, o: &ZkStats) {
        self.requests += o.requests;
        self.replies += o.replies;
        self.writes_acked += o.writes_acked;
        self.notifications += o.notifications;
        self.sessions += o.sessions;
        self.expired += o.expired;
        self.closed += o.closed;
        self.conn_lost += o.conn_lost;
        self.unanswered += o.unanswered;
        self.lin_ops += o.lin_ops;
        self.lin_unknown += o.lin_unknown;
        self.reconfigs += o.reconfigs;
        self.reconfigs_committed += o.reconfigs_committed;
    }
}

/// What a request was, to decode and check its reply.
#[derive(Clone, Debug)]
enum Op {
    /// Setup create (`/r`, `/r/kN`, `/e`, `/q`, `/s`): NodeExists is fine.
    Mkdir,
    SetData {
        path: String,
    },
    GetData {
        path: String,
        watch: bool,
    },
    Exists {
        path: String,
        watch: bool,
    },
    CreateEphemeral {
        path: String,
    },
    CreateSequential {
        parent: &'static str,
    },
    DeleteEphemeral,
    Sync,
    /// The getData pipelined after a sync: must see `floor`.
    ReadAfterSync {
        path: String,
        floor: i64,
    },
    Multi {
        path: String,
    },
    Children {
        path: String,
    },
    Close,
    /// A membership change; any answer is fine (most are refused: too few voters, no
    /// synced quorum, another in flight).
    Reconfig,
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Mkdir => "create (setup)",
            Op::SetData { .. } => "setData",
            Op::GetData { .. } => "getData",
            Op::Exists { .. } => "exists",
            Op::CreateEphemeral { .. } => "create ephemeral",
            Op::CreateSequential { .. } => "create sequential",
            Op::DeleteEphemeral => "delete",
            Op::Sync => "sync",
            Op::ReadAfterSync { .. } => "getData after sync",
            Op::Multi { .. } => "multi",
            Op::Children { .. } => "getChildren",
            Op::Close => "closeSession",
            Op::Reconfig => "reconfig",
        }
    }

    fn is_write(&self) -> bool {
        matches!(
            self,
            Op::Mkdir
                | Op::SetData { .. }
                | Op::CreateEphemeral { .. }
                | Op::CreateSequential { .. }
                | Op::DeleteEphemeral
                | Op::Multi { .. }
                | Op::Close
                | Op::Reconfig
        )
    }
}

#[derive(Clone, Debug)]
struct Pending {
    xid: i32,
    op: Op,
    request: conclave_core::client::OpCode,
    /// Its place in a register's history for the linearizability checker: (register, index).
    lin: Option<(u64, usize)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Dialing,
    Handshake,
    Ready,
}

#[derive(Clone, Debug)]
struct Conn {
    id: u64,
    server: ServerId,
    phase: Phase,
    inbox: Vec<u8>,
    pending: VecDeque<Pending>,
    opened_at: u64,
    last_recv: u64,
    last_send: u64,
}

#[derive(Clone, Debug)]
struct Session {
    id: i64,
    passwd: Vec<u8>,
    timeout_ms: u64,
    /// closeSession sent: nothing else is sent on it.
    closing: bool,
    /// Unique per session, names its ephemerals.
    tag: u64,
    ephemerals: BTreeSet<String>,
    next_ephemeral: u32,
    last_zxid: i64,
}

#[derive(Clone, Debug)]
struct Client {
    conn: Option<Conn>,
    session: Option<Session>,
    next_xid: i32,
    /// No new request, dial or ping before this (think time, back-off, a pause).
    next_at: u64,
    /// A pause: the client does nothing (no ping either) until then.
    silent_until: u64,
    pipeline: usize,
    made_dirs: bool,
}

/// Every ZooKeeper client of the run and the connections they use.
pub(crate) struct ZkWorkload {
    clients: Vec<Client>,
    servers: Vec<ServerId>,
    rng: Prng,
    stop_at: u64,
    next_tag: u64,
    /// The client connections.
    pub(crate) net: ClientNet,
    /// Counters.
    pub(crate) stats: ZkStats,
    /// What the clients did, for the verbose log (kept only when verbose).
    notes: Option<Vec<String>>,
    /// (time, server) of each acknowledged write, for a timeline (kept only when asked).
    acks: Option<Vec<(u64, ServerId)>>,
    /// Every register's creates and writes with their answers, for the linearizability
    /// check at the end (`None`: answered with an error that means "not applied").
    lin: BTreeMap<u64, Vec<Option<Operation>>>,
    /// Send reconfigs too (as the super user): the servers have `reconfigEnabled`.
    pub(crate) reconfigure: bool,
}

/// `world:anyone` with every permission: the ACL the workload's (and the tests') nodes get.
pub fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: conclave_core::client::Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

/// A plain `create` of `path` with `data`, the open ACL and `flags` (1 ephemeral, 2 sequential).
pub fn create(path: &str, data: &[u8], flags: i32) -> CreateRequest {
    CreateRequest {
        kind: CreateKind::Create,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: open_acl(),
        flags,
    }
}

fn register(i: u64) -> String {
    format!("/r/k{i}")
}

impl ZkWorkload {
    /// `count` clients of `servers`, issuing requests until `stop_at` ns.
    pub(crate) fn new(
        count: usize,
        servers: Vec<ServerId>,
        mut rng: Prng,
        net_rng: Prng,
        reset_ppm: u32,
        stop_at: u64,
        verbose: bool,
    ) -> ZkWorkload {
        let clients = (0..count)
            .map(|_| Client {
                conn: None,
                session: None,
                next_xid: 1,
                next_at: 0,
                silent_until: 0,
                pipeline: rng.range_inclusive(1, 4) as usize,
                made_dirs: false,
            })
            .collect();
        ZkWorkload {
            clients,
            servers,
            rng,
            stop_at,
            next_tag: 0,
            net: ClientNet::new(net_rng, reset_ppm),
            stats: ZkStats::default(),
            notes: verbose.then(Vec::new),
            acks: None,
            lin: BTreeMap::new(),
            reconfigure: false,
        }
    }

    /// Keeps (time, server) of every acknowledged write from now on, for [`Self::take_acks`].
    pub(crate) fn record_acks(&mut self) {
        self.acks = Some(Vec::new());
    }

    /// The acknowledged writes recorded since the last call.
    pub(crate) fn take_acks(&mut self) -> Vec<(u64, ServerId)> {
        self.acks.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Takes the notes gathered since the last call.
    pub(crate) fn take_notes(&mut self) -> Vec<String> {
        self.notes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note(&mut self, what: impl FnOnce() -> String) {
        if let Some(notes) = &mut self.notes {
            notes.push(what());
        }
    }

    /// The delay before a client's next tick, ns.
    pub(crate) fn tick_gap(&mut self) -> u64 {
        self.rng.range_inclusive(5 * MS, 40 * MS)
    }

    /// Client `ci`'s timer: connect, ping, give up on silence, send requests.
    pub(crate) fn tick(
        &mut self,
        now: u64,
        ci: usize,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) -> Result<(), Broken> {
        let at = now + self.tick_gap();
        queue.push(at, Event::ZkTick { client: ci });
        let c = &self.clients[ci];
        if now < c.silent_until || now < c.next_at && c.conn.is_none() {
            return Ok(());
        }
        let timeout_ns = c
            .session
            .as_ref()
            .map_or(SESSION_TIMEOUT_MS as u64, |s| s.timeout_ms)
            * MS;
        let Some(conn) = &c.conn else {
            let server = self.servers[self.rng.below(self.servers.len() as u64) as usize];
            let id = self.net.dial(now, ci, server, queue);
            self.note(|| format!("c{ci} dials n{server} (conn {id})"));
            self.clients[ci].conn = Some(Conn {
                id,
                server,
                phase: Phase::Dialing,
                inbox: Vec::new(),
                pending: VecDeque::new(),
                opened_at: now,
                last_recv: now,
                last_send: now,
            });
            return Ok(());
        };
        // The Java client gives a connection up after two thirds of the timeout in silence
        // (a handshake that does not finish counts the same).
        let quiet = now.saturating_sub(conn.last_recv.max(conn.opened_at));
        if quiet > timeout_ns * 2 / 3 || conn.phase != Phase::Ready && quiet > timeout_ns / 2 {
            self.lose_connection(now, ci, true, queue, inv);
            return Ok(());
        }
        if conn.phase != Phase::Ready {
            return Ok(());
        }
        if now.saturating_sub(conn.last_send) > timeout_ns / 3 {
            let mut out = Vec::new();
            encode_request(-2, &Request::Ping, &mut out);
            self.send_raw(now, ci, out, queue);
        }
        let c = &self.clients[ci];
        let closing = c.session.as_ref().is_some_and(|s| s.closing);
        let busy = c.conn.as_ref().map_or(0, |k| k.pending.len());
        if closing || now >= self.stop_at || now < c.next_at || busy >= c.pipeline {
            return Ok(());
        }
        let think = self.rng.range_inclusive(2 * MS, 30 * MS);
        self.clients[ci].next_at = now + think;
        if !self.clients[ci].made_dirs {
            self.clients[ci].made_dirs = true;
            let mut batch = vec![
                create("/r", b"", 0),
                create("/e", b"", 0),
                create("/q", b"", 0),
                create("/s", b"", 0),
            ];
            batch.extend((0..REGISTERS).map(|i| create(&register(i), b"0", 0)));
            for r in batch {
                self.send(now, ci, Request::Create(r), Op::Mkdir, inv, queue);
            }
            return Ok(());
        }
        if self.rng.chance(2_000) {
            // A long pause: the session may expire under the client.
            let pause = timeout_ns + self.rng.range_inclusive(200 * MS, 2_000 * MS);
            self.clients[ci].silent_until = now + pause;
            return Ok(());
        }
        self.random_request(now, ci, queue, inv);
        Ok(())
    }

    fn random_request(
        &mut self,
        now: u64,
        ci: usize,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) {
        let k = self.rng.below(REGISTERS);
        let path = register(k);
        let roll = self.rng.below(1_000);
        let watch = self.rng.chance(500_000);
        let (tag, owned) = match &self.clients[ci].session {
            Some(s) => (s.tag, s.ephemerals.iter().cloned().collect::<Vec<_>>()),
            None => return,
        };
        match roll {
            0..=249 => {
                let data = format!("c{ci}x{}", self.clients[ci].next_xid).into_bytes();
                let req = Request::SetData(SetDataRequest {
                    path: path.clone(),
                    data: Some(data),
                    version: -1,
                });
                self.send(now, ci, req, Op::SetData { path }, inv, queue);
            }
            250..=449 => {
                let req = Request::GetData {
                    path: path.clone(),
                    watch,
                };
                self.send(now, ci, req, Op::GetData { path, watch }, inv, queue);
            }
            450..=529 => {
                // exists on a register or on somebody's ephemeral.
                let target = match inv.clients.ephemeral_lifetime.known().count() {
                    0 => path,
                    n => {
                        let i = self.rng.below(n as u64) as usize;
                        inv.clients
                            .ephemeral_lifetime
                            .known()
                            .nth(i)
                            .map_or(path, |(p, _)| p.to_string())
                    }
                };
                let req = Request::Exists {
                    path: target.clone(),
                    watch,
                };
                self.send(
                    now,
                    ci,
                    req,
                    Op::Exists {
                        path: target,
                        watch,
                    },
                    inv,
                    queue,
                );
            }
            530..=609 => {
                let n = {
                    let s = self.clients[ci].session.as_mut().expect("checked above");
                    s.next_ephemeral += 1;
                    s.next_ephemeral
                };
                let path = format!("/e/t{tag}-{n}");
                let req = Request::Create(create(&path, b"e", 1));
                self.send(now, ci, req, Op::CreateEphemeral { path }, inv, queue);
            }
            610..=659 if !owned.is_empty() => {
                let path = owned[self.rng.below(owned.len() as u64) as usize].clone();
                inv.clients.ephemeral_lifetime.delete_asked(&path);
                if let Some(s) = self.clients[ci].session.as_mut() {
                    s.ephemerals.remove(&path);
                }
                let req = Request::Delete(DeleteRequest {
                    path: path.clone(),
                    version: -1,
                });
                self.send(now, ci, req, Op::DeleteEphemeral, inv, queue);
            }
            660..=779 => {
                let (parent, flags) = if self.rng.chance(500_000) {
                    ("/q", 3)
                } else {
                    ("/s", 2)
                };
                let req = Request::Create(create(&format!("{parent}/n-"), b"", flags));
                self.send(now, ci, req, Op::CreateSequential { parent }, inv, queue);
            }
            780..=859 => {
                let floor = inv.clients.sync_then_read.floor(&path);
                let sync = Request::Sync { path: path.clone() };
                self.send(now, ci, sync, Op::Sync, inv, queue);
                let read = Request::GetData {
                    path: path.clone(),
                    watch: false,
                };
                self.send(now, ci, read, Op::ReadAfterSync { path, floor }, inv, queue);
            }
            860..=929 => {
                let data = format!("m{ci}x{}", self.clients[ci].next_xid).into_bytes();
                let ops = vec![
                    MultiOp::Check(CheckVersionRequest {
                        path: path.clone(),
                        version: -1,
                    }),
                    MultiOp::SetData(SetDataRequest {
                        path: path.clone(),
                        data: Some(data),
                        version: -1,
                    }),
                    MultiOp::Create(create("/s/m-", b"", 2)),
                ];
                self.send(now, ci, Request::Multi(ops), Op::Multi { path }, inv, queue);
            }
            930..=979 => {
                let req = Request::GetChildren {
                    path: "/e".into(),
                    watch: false,
                };
                self.send(now, ci, req, Op::Children { path: "/e".into() }, inv, queue);
            }
            980..=994 => {
                if let Some(s) = self.clients[ci].session.as_mut() {
                    s.closing = true;
                }
                self.send(now, ci, Request::CloseSession, Op::Close, inv, queue);
            }
            995..=999 if self.reconfigure => {
                self.stats.reconfigs += 1;
                // Remove a server, or (re)add one as a participant or an observer.
                let id = self.servers[self.rng.below(self.servers.len() as u64) as usize];
                let (joining, leaving) = match self.rng.below(3) {
                    0 => (None, Some(id.to_string())),
                    1 => (Some(server_line(id, "participant")), None),
                    _ => (Some(server_line(id, "observer")), None),
                };
                let req = Request::Reconfig(ReconfigRequest {
                    joining_servers: joining,
                    leaving_servers: leaving,
                    new_members: None,
                    cur_config_id: -1,
                });
                self.send(now, ci, req, Op::Reconfig, inv, queue);
            }
            _ => {
                let req = Request::Exists {
                    path: path.clone(),
                    watch: false,
                };
                self.send(now, ci, req, Op::Exists { path, watch: false }, inv, queue);
            }
        }
    }

    fn send(
        &mut self,
        now: u64,
        ci: usize,
        req: Request,
        op: Op,
        inv: &mut Invariants,
        queue: &mut EventQueue,
    ) {
        let c = &mut self.clients[ci];
        let xid = c.next_xid;
        c.next_xid += 1;
        if op.is_write() {
            if let Some(s) = &c.session {
                inv.on_submit(s.id, xid);
            }
        }
        let mut out = Vec::new();
        encode_request(xid, &req, &mut out);
        if let Some(conn) = c.conn.as_mut() {
            let lin = register_write(&req).map(|(k, z)| {
                let h = self.lin.entry(k).or_default();
                h.push(Some(Operation {
                    client: ci as u64,
                    call: now,
                    reply: None,
                    op: z,
                }));
                (k, h.len() - 1)
            });
            conn.pending.push_back(Pending {
                xid,
                op,
                request: req.op_code(),
                lin,
            });
        }
        self.stats.requests += 1;
        self.send_raw(now, ci, out, queue);
    }

    fn send_raw(&mut self, now: u64, ci: usize, bytes: Vec<u8>, queue: &mut EventQueue) {
        let Some(conn) = self.clients[ci].conn.as_mut() else {
            return;
        };
        conn.last_send = now;
        let id = conn.id;
        self.net.client_send(now, id, bytes, queue);
    }

    /// The client's connection is gone (closed by either end, or given up).
    fn lose_connection(
        &mut self,
        now: u64,
        ci: usize,
        close: bool,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) {
        let Some(conn) = self.clients[ci].conn.take() else {
            return;
        };
        if close {
            self.net.client_close(now, conn.id, queue);
        }
        self.note(|| {
            format!(
                "c{ci} conn {} to n{} ends ({}; {} request(s) unanswered)",
                conn.id,
                conn.server,
                if close {
                    "client closes"
                } else {
                    "closed under it"
                },
                conn.pending.len()
            )
        });
        inv.clients.watch_once.closed(conn.id);
        if conn.phase == Phase::Ready {
            self.stats.conn_lost += 1;
        }
        self.stats.unanswered += conn.pending.len() as u64;
        let c = &mut self.clients[ci];
        if c.session.as_ref().is_some_and(|s| s.closing) {
            // closeSession's fate is unknown: the client abandons the session.
            c.session = None;
        }
        c.next_at = now + self.rng.range_inclusive(0, 50 * MS);
    }

    /// A client-network event reached a client.
    pub(crate) fn on_arrival(
        &mut self,
        now: u64,
        arrival: Arrival,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) -> Result<(), Broken> {
        match arrival {
            Arrival::Server { .. } => Ok(()),
            Arrival::Established { client, conn } => {
                let c = &mut self.clients[client];
                let Some(k) = c.conn.as_mut().filter(|k| k.id == conn) else {
                    return Ok(());
                };
                k.phase = Phase::Handshake;
                k.last_recv = now;
                let (session_id, passwd, last_zxid) = match &c.session {
                    Some(s) => (s.id, s.passwd.clone(), s.last_zxid),
                    None => (0, vec![0; 16], 0),
                };
                let req = ConnectRequest {
                    protocol_version: 0,
                    last_zxid_seen: last_zxid,
                    timeout_ms: SESSION_TIMEOUT_MS,
                    session_id,
                    passwd,
                    read_only: Some(false),
                };
                let mut out = Vec::new();
                encode_record_frame(&req, &mut out);
                self.send_raw(now, client, out, queue);
                Ok(())
            }
            Arrival::Closed { client, conn } => {
                if self.clients[client]
                    .conn
                    .as_ref()
                    .is_some_and(|k| k.id == conn)
                {
                    self.lose_connection(now, client, false, queue, inv);
                }
                Ok(())
            }
            Arrival::Bytes {
                client,
                conn,
                bytes,
                applied,
            } => {
                let Some(k) = self.clients[client].conn.as_mut().filter(|k| k.id == conn) else {
                    return Ok(());
                };
                k.last_recv = now;
                k.inbox.extend_from_slice(&bytes);
                // Every complete frame, in order; stop if the connection is dropped.
                for _ in 0..10_000 {
                    let Some(frame) = self.next_frame(client, conn) else {
                        break;
                    };
                    self.on_frame(now, client, &frame, applied, queue, inv)?;
                }
                Ok(())
            }
        }
    }

    fn next_frame(&mut self, ci: usize, conn: u64) -> Option<Vec<u8>> {
        let k = self.clients[ci].conn.as_mut().filter(|k| k.id == conn)?;
        if k.inbox.len() < 4 {
            return None;
        }
        let len = i32::from_be_bytes([k.inbox[0], k.inbox[1], k.inbox[2], k.inbox[3]]);
        let len = usize::try_from(len).ok()?;
        if k.inbox.len() < 4 + len {
            return None;
        }
        let frame = k.inbox[4..4 + len].to_vec();
        k.inbox.drain(..4 + len);
        Some(frame)
    }

    fn on_frame(
        &mut self,
        now: u64,
        ci: usize,
        frame: &[u8],
        applied: Zxid,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) -> Result<(), Broken> {
        let Some(k) = self.clients[ci].conn.as_ref() else {
            return Ok(());
        };
        let (conn, server, phase) = (k.id, k.server, k.phase);
        let protocol = |what: String| Broken {
            invariant: SessionFifo::NAME,
            detail: format!("c{ci} conn {conn} from n{server}: {what}"),
        };
        if phase == Phase::Handshake {
            let resp = ConnectResponse::decode(&mut JuteReader::new(frame, MAX_REPLY))
                .map_err(|e| protocol(format!("undecodable ConnectResponse: {e:?}")))?;
            return self.on_connected(now, ci, resp, applied, queue, inv);
        }
        let (h, body) = ReplyHeader::split(frame)
            .map_err(|e| protocol(format!("undecodable reply header: {e:?}")))?;
        let Some(session) = self.clients[ci].session.as_ref().map(|s| s.id) else {
            return Ok(());
        };
        if h.xid == -1 {
            let ev = WatcherEvent::decode(&mut JuteReader::new(body, MAX_REPLY))
                .map_err(|e| protocol(format!("undecodable notification: {e:?}")))?;
            self.stats.notifications += 1;
            return inv
                .clients
                .watch_once
                .fired(conn, &ev.path, &format!("{:?}", ev.event_type))
                .map_err(broken(WatchOnce::NAME));
        }
        if h.xid == AUTH_XID {
            // The super user's addauth: answered out of the request order, as ZooKeeper does.
            return Ok(());
        }
        if h.xid != -2 {
            let expected = self.clients[ci]
                .conn
                .as_ref()
                .and_then(|k| k.pending.front())
                .map(|p| (p.xid, p.op.name()));
            inv.clients
                .fifo
                .reply(ci, conn, expected, h.xid)
                .map_err(broken(SessionFifo::NAME))?;
        }
        let what = if h.xid == -2 { "a ping" } else { "a request" };
        inv.clients
            .monotonic_reads
            .reply(session, server, what, h.zxid)
            .map_err(broken(MonotonicReads::NAME))?;
        if let Some(s) = self.clients[ci].session.as_mut() {
            s.last_zxid = s.last_zxid.max(h.zxid);
        }
        if h.xid == -2 {
            return Ok(());
        }
        let Some(p) = self.clients[ci]
            .conn
            .as_mut()
            .and_then(|k| k.pending.pop_front())
        else {
            return Ok(());
        };
        self.stats.replies += 1;
        let resp =
            if h.err == 0 {
                Some(decode_response(p.request, body, MAX_REPLY).map_err(|e| {
                    protocol(format!("undecodable reply to {}: {e:?}", p.op.name()))
                })?)
            } else {
                None
            };
        if let Some((k, i)) = p.lin {
            let slot = self.lin.get_mut(&k).and_then(|h| h.get_mut(i));
            if let Some(slot) = slot {
                let multi = p.request == conclave_core::client::OpCode::Multi;
                match register_answer(h.err, resp.as_ref(), multi) {
                    Some(a) => {
                        if let Some(o) = slot.as_mut() {
                            o.reply = Some((now, a));
                        }
                    }
                    None => *slot = None,
                }
            }
        }
        let at = ReplyAt {
            conn,
            server,
            session,
            xid: p.xid,
            zxid: h.zxid,
            applied,
        };
        self.on_reply(now, ci, p.op, h.err, resp, at, queue, inv)
    }

    fn on_connected(
        &mut self,
        now: u64,
        ci: usize,
        resp: ConnectResponse,
        applied: Zxid,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) -> Result<(), Broken> {
        if resp.session_id == 0 || resp.timeout_ms <= 0 {
            if let Some(s) = self.clients[ci].session.take() {
                // Refused as expired. Not proof that the session ended: its closeSession may
                // still be lost with a dying leader (see `ephemeral_lifetime`).
                self.stats.expired += 1;
                self.note(|| {
                    format!(
                        "c{ci}: session {:#x} refused as expired (server applied {applied})",
                        s.id
                    )
                });
                inv.clients.monotonic_reads.ended(s.id);
            }
            self.lose_connection(now, ci, true, queue, inv);
            return Ok(());
        }
        match self.clients[ci].session.as_ref().map(|s| s.id) {
            Some(id) if id != resp.session_id => {
                return Err(Broken {
                    invariant: SessionFifo::NAME,
                    detail: format!(
                        "c{ci}: reconnecting session {id:#x} was answered with session {:#x}",
                        resp.session_id
                    ),
                });
            }
            Some(id) => self.note(|| format!("c{ci}: session {id:#x} resumed")),
            None => {
                let id = resp.session_id;
                self.next_tag += 1;
                let tag = self.next_tag;
                self.note(|| format!("c{ci}: new session {id:#x} (tag t{tag})"));
                self.stats.sessions += 1;
                self.clients[ci].session = Some(Session {
                    id: resp.session_id,
                    passwd: resp.passwd,
                    timeout_ms: resp.timeout_ms as u64,
                    closing: false,
                    tag,
                    ephemerals: BTreeSet::new(),
                    next_ephemeral: 0,
                    last_zxid: 0,
                });
            }
        }
        let c = &mut self.clients[ci];
        if let Some(k) = c.conn.as_mut() {
            k.phase = Phase::Ready;
        }
        if self.reconfigure {
            // Per connection, as ZooKeeper's auth: its reply (xid -4) is skipped below.
            let auth = Request::Auth {
                auth_type: 0,
                scheme: "digest".into(),
                auth: SUPER_USER.as_bytes().to_vec(),
            };
            let mut out = Vec::new();
            encode_request(AUTH_XID, &auth, &mut out);
            self.send_raw(now, ci, out, queue);
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn on_reply(
        &mut self,
        now: u64,
        ci: usize,
        op: Op,
        err: i32,
        resp: Option<Response>,
        at: ReplyAt,
        queue: &mut EventQueue,
        inv: &mut Invariants,
    ) -> Result<(), Broken> {
        // Reads are answered at the server's last applied zxid, which the header carries.
        let state = at.zxid;
        if self.notes.is_some() && (op.is_write() || err != 0) {
            let (name, xid, zxid, e) = (op.name(), at.xid, at.zxid, err);
            let (server, session) = (at.server, at.session);
            self.note(|| {
                format!(
                    "c{ci} <- n{server} session {session:#x} xid {xid} {name}: err {e} zxid {zxid:#x}"
                )
            });
        }
        if err == 0 && op.is_write() && !matches!(op, Op::Close) {
            self.stats.writes_acked += 1;
            if let Some(acks) = self.acks.as_mut() {
                acks.push((now, at.server));
            }
            inv.on_client_write(
                now,
                at.server,
                at.session,
                at.xid,
                Zxid(at.zxid as u64),
                at.applied,
            )?;
        }
        let cc = &mut inv.clients;
        match (op, resp) {
            (Op::SetData { path }, Some(Response::Stat(stat))) => {
                cc.sync_then_read.write_acked(&path, at.zxid);
                cc.watch_once
                    .read(at.conn, &path, Some(stat.mzxid), false)
                    .map_err(broken(WatchOnce::NAME))?;
            }
            (Op::GetData { path, watch }, Some(Response::GetData { stat, .. })) => {
                cc.watch_once
                    .read(at.conn, &path, Some(stat.mzxid), watch)
                    .map_err(broken(WatchOnce::NAME))?;
            }
            (Op::GetData { path, .. }, None) if err == ErrorCode::NoNode.as_i32() => {
                cc.watch_once
                    .read(at.conn, &path, None, false)
                    .map_err(broken(WatchOnce::NAME))?;
            }
            (Op::Exists { path, watch }, resp) => {
                let stat = match resp {
                    Some(Response::Stat(s)) => Some(s),
                    _ if err == ErrorCode::NoNode.as_i32() => None,
                    _ => return Ok(()),
                };
                cc.watch_once
                    .read(at.conn, &path, stat.as_ref().map(|s| s.mzxid), watch)
                    .map_err(broken(WatchOnce::NAME))?;
                let owner = stat.as_ref().map(|s| s.ephemeral_owner).filter(|&o| o != 0);
                if stat.is_none() || owner.is_some() {
                    cc.ephemeral_lifetime
                        .observed(at.server, &path, owner, state)
                        .map_err(broken(EphemeralLifetime::NAME))?;
                }
            }
            (Op::ReadAfterSync { path, floor }, resp) => {
                let mzxid = match resp {
                    Some(Response::GetData { stat, .. }) => Some(stat.mzxid),
                    _ if err == ErrorCode::NoNode.as_i32() => None,
                    // Not serving, session moved…: nothing was read.
                    _ => return Ok(()),
                };
                cc.sync_then_read
                    .read(at.server, &path, floor, mzxid)
                    .map_err(broken(SyncThenRead::NAME))?;
                cc.watch_once
                    .read(at.conn, &path, mzxid, false)
                    .map_err(broken(WatchOnce::NAME))?;
            }
            (Op::CreateEphemeral { path }, Some(_)) => {
                cc.ephemeral_lifetime.created(&path, at.session, at.zxid);
                if let Some(s) = self.clients[ci].session.as_mut() {
                    s.ephemerals.insert(path);
                }
            }
            (Op::CreateSequential { parent }, Some(Response::Create { path })) => {
                self.sequential(cc, parent, &path, at.zxid)?;
            }
            (Op::Multi { path }, Some(Response::Multi(results))) => {
                for r in results {
                    match r {
                        MultiResult::SetData { stat } => {
                            cc.sync_then_read.write_acked(&path, stat.mzxid);
                            cc.watch_once
                                .read(at.conn, &path, Some(stat.mzxid), false)
                                .map_err(broken(WatchOnce::NAME))?;
                        }
                        MultiResult::Create { path } => {
                            self.sequential(cc, "/s", &path, at.zxid)?;
                        }
                        _ => {}
                    }
                }
            }
            (Op::Children { path }, Some(Response::GetChildren { children })) => {
                let listed: BTreeSet<String> =
                    children.iter().map(|c| format!("{path}/{c}")).collect();
                let known: Vec<(String, i64)> = cc
                    .ephemeral_lifetime
                    .known()
                    .map(|(p, o)| (p.to_string(), o))
                    .collect();
                for (p, owner) in known {
                    let seen = listed.contains(&p).then_some(owner);
                    cc.ephemeral_lifetime
                        .observed(at.server, &p, seen, state)
                        .map_err(broken(EphemeralLifetime::NAME))?;
                }
            }
            (Op::Reconfig, _) if err == 0 => self.stats.reconfigs_committed += 1,
            (Op::Close, _) if err == 0 => {
                self.stats.closed += 1;
                cc.ephemeral_lifetime.ended(at.session, at.zxid);
                cc.monotonic_reads.ended(at.session);
                self.clients[ci].session = None;
                self.lose_connection(now, ci, true, queue, inv);
            }
            _ => {}
        }
        Ok(())
    }

    fn sequential(
        &self,
        cc: &mut crate::invariants::ClientContract,
        parent: &str,
        path: &str,
        zxid: i64,
    ) -> Result<(), Broken> {
        let Some(seq) = sequence_of(path) else {
            return Err(Broken {
                invariant: SequentialNames::NAME,
                detail: format!("a sequential create under {parent} returned {path}"),
            });
        };
        cc.sequential_names
            .created(parent, seq, zxid)
            .map_err(broken(SequentialNames::NAME))
    }
}

impl ZkWorkload {
    /// Checks every register's history of creates and writes for linearizability, at most
    /// `budget` search steps per register. Counts what it checked in the stats.
    pub(crate) fn check_linearizable(&mut self, budget: u64) -> Result<(), Broken> {
        let histories: Vec<(String, Vec<Operation>)> = self
            .lin
            .iter()
            .map(|(k, h)| (register(*k), h.iter().flatten().cloned().collect()))
            .collect();
        self.stats.lin_ops += histories.iter().map(|(_, h)| h.len() as u64).sum::<u64>();
        let (verdict, unknown) = linearizability::check(
            histories
                .iter()
                .map(|(p, h)| (p.as_str(), h.as_slice(), None)),
            budget,
        );
        self.stats.lin_unknown += unknown as u64;
        match verdict {
            Verdict::Violation(detail) => Err(Broken {
                invariant: LINEARIZABLE_WRITES,
                detail,
            }),
            Verdict::Linearizable | Verdict::Unknown => Ok(()),
        }
    }
}

/// The invariant's name in reports (`linearizability`'s module docs say what it checks).
pub const LINEARIZABLE_WRITES: &str = "linearizable_writes";

/// The register a request creates or writes, and what it asks of it (a multi's setData).
fn register_write(req: &Request) -> Option<(u64, ZnodeOp)> {
    let reg = |path: &str| -> Option<u64> { path.strip_prefix("/r/k")?.parse().ok() };
    match req {
        Request::Create(c) => Some((
            reg(&c.path)?,
            ZnodeOp::Create(c.data.clone().unwrap_or_default()),
        )),
        Request::SetData(s) => Some((
            reg(&s.path)?,
            ZnodeOp::SetData(s.data.clone().unwrap_or_default(), s.version),
        )),
        Request::Multi(ops) => ops.iter().find_map(|o| match o {
            MultiOp::SetData(s) => Some((
                reg(&s.path)?,
                ZnodeOp::SetData(s.data.clone().unwrap_or_default(), s.version),
            )),
            _ => None,
        }),
        _ => None,
    }
}

/// What a reply says happened to the register; `None` when the error means the request was
/// not applied at all (a failed multi, an expired session, a read-only server…).
fn register_answer(err: i32, resp: Option<&Response>, multi: bool) -> Option<Answer> {
    match resp {
        // A failed multi's error may be any sub-operation's: it only says nothing happened.
        None if multi => None,
        Some(Response::Create { .. }) => Some(Answer::Created),
        Some(Response::Stat(stat)) => Some(Answer::Set(stat.version)),
        Some(Response::Multi(results)) => results.iter().find_map(|r| match r {
            MultiResult::SetData { stat } => Some(Answer::Set(stat.version)),
            _ => None,
        }),
        Some(_) => None,
        None if err == ErrorCode::NodeExists.as_i32() => Some(Answer::NodeExists),
        None if err == ErrorCode::NoNode.as_i32() => Some(Answer::NoNode),
        None if err == ErrorCode::BadVersion.as_i32() => Some(Answer::BadVersion),
        None => None,
    }
}

/// Where a reply came from.
#[derive(Clone, Copy, Debug)]
struct ReplyAt {
    conn: u64,
    server: ServerId,
    session: i64,
    xid: i32,
    /// The reply header's zxid.
    zxid: i64,
    /// The server's `last_applied` when it wrote the reply.
    applied: Zxid,
}
