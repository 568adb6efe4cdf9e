//! A scripted cluster (the integration tests' and the suite's simulator harness): instant
//! in-order delivery, disks whose acknowledgements a test can hold back, crashes that drop
//! unsynced bytes, message filters, paused members, and client connections. Deterministic;
//! every scenario says which interleaving it forces.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use conclave_core::client::{encode_request, Request};
use conclave_core::codec::{decode_peer_message, FrameDecoder, PeerMessage, MAX_PEER_FRAME_BYTES};
use conclave_core::files::{execute, Files};
use conclave_core::recovery::DiskState;
use conclave_core::RegisterMap;
use conclave_core::Service;
use conclave_core::ZkService;
use conclave_core::{Config, Input, Instant, LinkId, NodeEvent, Output, PersistOp, Role, Zxid};
use conclave_core::{Node, Tuning};

/// A server id.
pub type Id = u64;

#[derive(Default, Clone, Debug)]
/// A file: synced and unsynced bytes.
pub struct File {
    synced: Vec<u8>,
    pending: Vec<u8>,
}

/// A disk: ops run in order when not held; a crash drops unsynced bytes and queued ops.
#[derive(Default, Debug)]
/// A scripted disk.
pub struct Disk {
    /// Every file, by name.
    pub files: BTreeMap<String, File>,
    /// Ops queued and not yet run, with their sequence numbers.
    pub queue: VecDeque<(u64, PersistOp)>,
    /// While true, queued ops wait (a slow disk).
    pub held: bool,
    /// Every op run so far, in order.
    pub done: Vec<PersistOp>,
}

impl Disk {
    /// Runs `op` through the core's one translation into primitives (panics on an op no file
    /// system could carry out: that is a core bug).
    fn exec(&mut self, op: &PersistOp) {
        if let Err(e) = execute(op, self) {
            panic!("persist op {op:?}: {e}");
        }
        self.done.push(op.clone());
    }

    fn existing(&mut self, file: &str) -> Result<&mut File, String> {
        self.files
            .get_mut(file)
            .ok_or(format!("{file} does not exist"))
    }
}

/// Names are durable at once here (crashes in this harness drop unsynced bytes only; the
/// simulator models un-synced names).
impl Files for Disk {
    type Error = String;
    fn create(&mut self, file: &str) -> Result<(), String> {
        self.files.insert(file.into(), File::default());
        Ok(())
    }
    fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), String> {
        self.existing(file)?.pending.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self, file: &str) -> Result<(), String> {
        let f = self.existing(file)?;
        let p = std::mem::take(&mut f.pending);
        f.synced.extend(p);
        Ok(())
    }
    fn truncate(&mut self, file: &str, len: u64) -> Result<(), String> {
        let f = self.existing(file)?;
        let mut all = std::mem::take(&mut f.synced);
        all.extend(std::mem::take(&mut f.pending));
        all.resize(len as usize, 0);
        f.synced = all;
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let f = self
            .files
            .remove(from)
            .ok_or(format!("{from} does not exist"))?;
        self.files.insert(to.into(), f);
        Ok(())
    }
    fn remove(&mut self, file: &str) -> Result<(), String> {
        self.files.remove(file);
        Ok(())
    }
    fn sync_dir(&mut self) -> Result<(), String> {
        Ok(())
    }
}

impl Disk {
    /// Power loss: queued ops and unsynced bytes are gone.
    pub fn crash(&mut self) {
        self.queue.clear();
        for f in self.files.values_mut() {
            f.pending.clear();
        }
        self.held = false;
    }

    /// The synced bytes of every file (what a restart recovers from).
    pub fn listing(&self) -> Vec<(String, Vec<u8>)> {
        self.files
            .iter()
            .map(|(n, f)| (n.clone(), f.synced.clone()))
            .collect()
    }
}

/// A message in flight.
pub struct Delivery {
    to: Id,
    input: Input<'static>,
}

/// A message filter: drop when true.
pub type Filter = Box<dyn Fn(Id, Id, &PeerMessage) -> bool>;

/// A scripted cluster of `S` services.
pub struct Cluster<S: Service = RegisterMap> {
    n: u64,
    tuning: Tuning,
    /// The running nodes.
    pub nodes: BTreeMap<Id, Node<S>>,
    /// Every member's disk (kept across crashes).
    pub disks: BTreeMap<Id, Disk>,
    links: BTreeMap<(Id, LinkId), (Id, LinkId)>,
    inflight: VecDeque<Delivery>,
    next_accept: u64,
    /// Simulated time.
    pub now: Instant,
    drop_filters: Vec<Filter>,
    dup_filters: Vec<Filter>,
    /// Every message delivered: (from, to, message).
    pub sent: Vec<(Id, Id, PeerMessage)>,
    /// Events per node since its last (re)start.
    pub events: BTreeMap<Id, Vec<NodeEvent>>,
    /// zxid → (session, cxid) as first applied anywhere.
    global: BTreeMap<Zxid, (i64, i32)>,
    /// Writes committed for their client: (session, cxid, zxid).
    pub acked: Vec<(i64, i32, Zxid)>,
    starts: u64,
    /// Bytes each client connection received, in order.
    pub client_inbox: BTreeMap<u64, Vec<u8>>,
    /// Connections the server closed.
    pub client_closed: BTreeSet<u64>,
    client_node: BTreeMap<u64, Id>,
    /// Members frozen (SIGSTOP): nothing is delivered to them, their disks and timers wait.
    paused: BTreeSet<Id>,
    next_conn: u64,
    /// zoo.cfg lines every member gets after [`cfg`]'s.
    extra_cfg: String,
    /// How many of the last members are observers.
    observers: u64,
    /// Members with a zoo.cfg of their own (servers that join by reconfiguration).
    own_cfg: BTreeMap<Id, String>,
}

/// Small logs and segments, so scripted scenarios cross segment and snapshot boundaries.
pub fn small_tuning() -> Tuning {
    Tuning {
        commit_log_count: 500,
        log_segment_bytes: 8192,
        snap_count: 100_000,
        snap_retain: 3,
        max_pending_writes: 1000,
    }
}

/// zoo.cfg text for `n` servers.
pub fn cfg(n: u64) -> String {
    cfg_with_observers(n, 0)
}

/// zoo.cfg text for `n` servers, the last `observers` of them observers.
pub fn cfg_with_observers(n: u64, observers: u64) -> String {
    let mut s = String::from("tickTime=100\nmaxSessionTimeout=60000\ninitLimit=10\nsyncLimit=5\n4lw.commands.whitelist=*\nDigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=\n");
    for i in 1..=n {
        let role = if i > n.saturating_sub(observers) {
            ":observer"
        } else {
            ""
        };
        s.push_str(&format!(
            "server.{i}=127.0.0.1:{}:{}{role}\n",
            2888 + i,
            3888 + i
        ));
    }
    s
}

impl<S: Service> Cluster<S> {
    /// A cluster of `n` members, started.
    pub fn new(n: u64, tuning: Tuning) -> Cluster<S> {
        Cluster::with_config(n, tuning, "")
    }

    /// A cluster whose members' zoo.cfg has `extra` lines after the usual ones.
    pub fn with_config(n: u64, tuning: Tuning, extra: &str) -> Cluster<S> {
        Cluster::with_observers(n, 0, tuning, extra)
    }

    /// [`Cluster::with_config`] with the last `observers` members observers.
    pub fn with_observers(n: u64, observers: u64, tuning: Tuning, extra: &str) -> Cluster<S> {
        let mut c = Cluster {
            n,
            observers,
            tuning,
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            links: BTreeMap::new(),
            inflight: VecDeque::new(),
            next_accept: 0,
            now: Instant::from_millis(1),
            drop_filters: Vec::new(),
            dup_filters: Vec::new(),
            sent: Vec::new(),
            events: BTreeMap::new(),
            global: BTreeMap::new(),
            acked: Vec::new(),
            starts: 0,
            client_inbox: BTreeMap::new(),
            client_closed: BTreeSet::new(),
            client_node: BTreeMap::new(),
            next_conn: 1,
            paused: BTreeSet::new(),
            extra_cfg: extra.to_string(),
            own_cfg: BTreeMap::new(),
        };
        for id in 1..=n {
            c.disks.insert(id, Disk::default());
            c.start(id);
        }
        c
    }

    /// Starts a server that is not in the others' configuration, with its own zoo.cfg
    /// (`cfg_text`) and an empty disk: one that is to join by reconfiguration.
    pub fn start_new(&mut self, id: Id, cfg_text: String) {
        self.own_cfg.insert(id, cfg_text);
        self.disks.entry(id).or_default();
        self.start(id);
    }

    /// Starts member `id` from what its disk holds.
    pub fn start(&mut self, id: Id) {
        let text = match self.own_cfg.get(&id) {
            Some(own) => own.clone(),
            None => cfg_with_observers(self.n, self.observers) + &self.extra_cfg,
        };
        let config = Config::from_zoo_cfg(&text).unwrap().with_my_id(id).unwrap();
        let listing = self.disks[&id].listing();
        let recovered =
            DiskState::from_files(&listing).unwrap_or_else(|e| panic!("n{id} cannot recover: {e}"));
        self.starts += 1;
        let node: Node<S> = Node::with_state_machine(
            config,
            recovered,
            1000 * self.starts + id,
            self.now,
            1_700_000_000_000 + self.now.as_millis() as i64,
            self.tuning,
        )
        .unwrap();
        self.nodes.insert(id, node);
        self.events.insert(id, Vec::new());
        self.input(
            id,
            // The wall clock keeps running across restarts: a restarted server that read the same
            // time again would hand out session ids from its previous life.
            Input::WallClock {
                unix_ms: 1_700_000_000_000 + self.now.as_millis() as i64,
            },
        );
    }

    /// Opens a client connection to server `id`.
    pub fn connect_client(&mut self, id: Id) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.client_node.insert(conn, id);
        self.deliver(
            id,
            Input::ClientConnected {
                conn,
                addr: std::net::SocketAddr::from(([127, 0, 0, 1], (40_000 + conn % 20_000) as u16)),
            },
        );
        conn
    }

    /// Hands `id` a client's input now, or when it is resumed if it is paused.
    fn deliver(&mut self, id: Id, input: Input<'static>) {
        if self.paused.contains(&id) {
            self.inflight.push_back(Delivery { to: id, input });
        } else {
            self.input(id, input);
        }
    }

    /// Freezes member `id`: what is sent to it waits, its disk and timers stop.
    pub fn pause(&mut self, id: Id) {
        self.paused.insert(id);
    }

    /// Thaws member `id`: what waited is delivered in order.
    pub fn resume(&mut self, id: Id) {
        self.paused.remove(&id);
    }

    /// Opens an HTTP connection to server `id`'s metrics or admin port.
    #[allow(dead_code)]
    pub fn connect_http(&mut self, id: Id, endpoint: conclave_core::HttpEndpoint) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        self.client_node.insert(conn, id);
        self.input(id, Input::HttpConnected { conn, endpoint });
        conn
    }

    /// Sends bytes on a client connection (dropped if the server closed it).
    pub fn client_send(&mut self, conn: u64, bytes: Vec<u8>) {
        if let Some(&id) = self.client_node.get(&conn) {
            self.deliver(
                id,
                Input::ClientBytes {
                    conn,
                    bytes: bytes.into(),
                },
            );
        }
    }

    /// The client side hangs up.
    pub fn client_disconnect(&mut self, conn: u64) {
        if let Some(id) = self.client_node.remove(&conn) {
            self.deliver(id, Input::ClientDisconnected { conn });
        }
    }

    /// Crashes member `id`: its connections close, its disk loses what was not synced.
    pub fn crash(&mut self, id: Id) {
        let conns: Vec<u64> = self
            .client_node
            .iter()
            .filter(|(_, n)| **n == id)
            .map(|(c, _)| *c)
            .collect();
        for c in conns {
            self.client_node.remove(&c);
            self.client_closed.insert(c);
        }
        self.nodes.remove(&id);
        self.paused.remove(&id);
        if let Some(d) = self.disks.get_mut(&id) {
            d.crash();
        }
        self.cut_links(id, false);
        self.inflight.retain(|d| d.to != id);
    }

    /// Crashes member `id` and starts it again.
    pub fn restart(&mut self, id: Id) {
        self.crash(id);
        self.start(id);
    }

    /// Hands `id` an input and carries out its outputs.
    pub fn input(&mut self, id: Id, input: Input<'_>) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.handle(self.now, input);
        let mut outs = Vec::new();
        while let Some(o) = node.poll_output() {
            outs.push(o);
        }
        for o in outs {
            self.output(id, o);
        }
    }

    /// Hands `to` the message `msg` now, as if `from` had sent it on their link (false when
    /// there is no link): for regression tests of messages only a rare interleaving sends.
    pub fn send_as(&mut self, from: Id, to: Id, msg: &PeerMessage) -> bool {
        let link = self
            .links
            .iter()
            .find(|((a, _), (b, _))| *a == from && *b == to)
            .map(|(_, (_, tlink))| *tlink);
        let Some(link) = link else {
            return false;
        };
        let mut bytes = Vec::new();
        conclave_core::codec::encode_peer_message(msg, &mut bytes);
        self.input(
            to,
            Input::PeerBytes {
                link,
                bytes: bytes.into(),
            },
        );
        true
    }

    /// Whether a filter drops `msg` from `from` to `to`.
    pub fn blocked(&self, from: Id, to: Id, msg: &PeerMessage) -> bool {
        self.drop_filters.iter().any(|f| f(from, to, msg))
    }

    /// Carries out output `o` of member `id`.
    pub fn output(&mut self, id: Id, o: Output) {
        match o {
            Output::Dial { link, peer, .. } => {
                let hello = PeerMessage::Heartbeat;
                if self.nodes.contains_key(&peer)
                    && !self.blocked(id, peer, &hello)
                    && !self.blocked(peer, id, &hello)
                {
                    let acc = LinkId::Accepted(self.next_accept);
                    self.next_accept += 1;
                    self.links.insert((id, link), (peer, acc));
                    self.links.insert((peer, acc), (id, link));
                    self.inflight.push_back(Delivery {
                        to: id,
                        input: Input::PeerConnected { link },
                    });
                    self.inflight.push_back(Delivery {
                        to: peer,
                        input: Input::PeerAccepted { link: acc },
                    });
                } else {
                    self.inflight.push_back(Delivery {
                        to: id,
                        input: Input::PeerDisconnected { link },
                    });
                }
            }
            Output::SendPeer { link, bytes } => {
                let Some(&(to, tlink)) = self.links.get(&(id, link)) else {
                    return;
                };
                let mut d = FrameDecoder::new(MAX_PEER_FRAME_BYTES);
                d.push(&bytes);
                let msg = d
                    .next_frame()
                    .and_then(|f| f.ok())
                    .and_then(|p| decode_peer_message(p).ok());
                if let Some(m) = &msg {
                    if self.blocked(id, to, m) {
                        return;
                    }
                    self.sent.push((id, to, m.clone()));
                }
                let twice = msg
                    .as_ref()
                    .is_some_and(|m| self.dup_filters.iter().any(|f| f(id, to, m)));
                if twice {
                    self.inflight.push_back(Delivery {
                        to,
                        input: Input::PeerBytes {
                            link: tlink,
                            bytes: bytes.clone().into(),
                        },
                    });
                }
                self.inflight.push_back(Delivery {
                    to,
                    input: Input::PeerBytes {
                        link: tlink,
                        bytes: bytes.into(),
                    },
                });
            }
            Output::ClosePeer { link } => {
                if let Some(other) = self.links.remove(&(id, link)) {
                    self.links.remove(&other);
                    self.inflight.push_back(Delivery {
                        to: other.0,
                        input: Input::PeerDisconnected { link: other.1 },
                    });
                }
            }
            Output::Persist { seq, op } => {
                if let Some(d) = self.disks.get_mut(&id) {
                    d.queue.push_back((seq, op));
                }
            }
            Output::SendClient { conn, bytes } => {
                // The client's socket takes everything at once: say so (replies are paced by it).
                let written = bytes.len();
                self.client_inbox.entry(conn).or_default().extend(bytes);
                self.inflight.push_back(Delivery {
                    to: id,
                    input: Input::ClientWritten {
                        conn,
                        bytes: written,
                    },
                });
            }
            Output::CloseClient { conn } => {
                self.client_closed.insert(conn);
                self.client_node.remove(&conn);
            }
            Output::ReadClient { .. } => {}
            Output::Event(e) => {
                match &e {
                    NodeEvent::TxnApplied {
                        zxid,
                        session_id,
                        cxid,
                        ..
                    } => {
                        let first = *self.global.entry(*zxid).or_insert((*session_id, *cxid));
                        assert_eq!(
                            first,
                            (*session_id, *cxid),
                            "n{id} applied a different txn at {zxid:?}"
                        );
                    }
                    NodeEvent::WriteCommitted {
                        session_id,
                        cxid,
                        zxid,
                        ..
                    } => {
                        self.acked.push((*session_id, *cxid, *zxid));
                    }
                    _ => {}
                }
                self.events.entry(id).or_default().push(e);
            }
        }
    }

    /// Runs the disk of `id` until its queue is empty (unless held), acknowledging the last op.
    pub fn run_disk(&mut self, id: Id) -> bool {
        let Some(d) = self.disks.get_mut(&id) else {
            return false;
        };
        if d.held || d.queue.is_empty() {
            return false;
        }
        let mut last = 0;
        while let Some((seq, op)) = d.queue.pop_front() {
            d.exec(&op);
            last = seq;
        }
        self.input(id, Input::Persisted { seq: last });
        true
    }

    /// Executes only the first `k` queued ops of `id` (a crash will cut the rest).
    pub fn run_disk_ops(&mut self, id: Id, k: usize) {
        let d = self.disks.get_mut(&id).unwrap();
        for _ in 0..k {
            if let Some((_, op)) = d.queue.pop_front() {
                d.exec(&op);
            }
        }
    }

    /// One step: the next delivery, else the disks, else time moves to the next deadline.
    pub fn step(&mut self) {
        let paused = &self.paused;
        if let Some(k) = self.inflight.iter().position(|d| !paused.contains(&d.to)) {
            if let Some(d) = self.inflight.remove(k) {
                self.input(d.to, d.input);
            }
            return;
        }
        let ids: Vec<Id> = self
            .nodes
            .keys()
            .copied()
            .filter(|id| !self.paused.contains(id))
            .collect();
        let mut progressed = false;
        for id in &ids {
            progressed |= self.run_disk(*id);
        }
        if progressed {
            return;
        }
        let next = ids
            .iter()
            .filter_map(|id| self.nodes.get(id)?.poll_timeout())
            .min();
        let next = next.unwrap_or(self.now.plus_millis(10)).max(self.now);
        self.now = next;
        for id in ids {
            if self
                .nodes
                .get(&id)
                .and_then(|n| n.poll_timeout())
                .is_some_and(|t| t <= self.now)
            {
                self.input(id, Input::Timeout);
            }
        }
    }

    /// Steps until `pred` holds; panics naming `what` after `limit_ms` of simulated time.
    pub fn run_until(&mut self, what: &str, limit_ms: u64, pred: impl Fn(&Cluster<S>) -> bool) {
        let until = self.now.plus_millis(limit_ms);
        for _ in 0..2_000_000 {
            if pred(self) {
                return;
            }
            if self.now > until {
                break;
            }
            self.step();
        }
        panic!(
            "not reached within {limit_ms} ms: {what}\n{}",
            self.describe()
        );
    }

    /// Steps for `ms` of simulated time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now.plus_millis(ms);
        for _ in 0..2_000_000 {
            if self.now >= until {
                return;
            }
            self.step();
        }
    }

    /// Each node's role, epochs and zxids, a line each.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|(id, n)| {
                let s = n.status();
                format!(
                    "n{id}: {:?} leader={:?} synced={} epochs={}/{} logged={:?} applied={:?}\n",
                    s.role,
                    s.leader,
                    s.synced,
                    s.accepted_epoch,
                    s.current_epoch,
                    s.last_zxid,
                    s.last_applied
                )
            })
            .collect()
    }

    /// Every node that leads and is synced (serving); two while a cut-off leader has not
    /// noticed yet.
    pub fn leaders(&self) -> Vec<Id> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.status().role == Role::Leading && n.status().synced)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The leader, once it is synced (serving).
    pub fn leader(&self) -> Option<Id> {
        self.nodes
            .iter()
            .find(|(_, n)| n.status().role == Role::Leading && n.status().synced)
            .map(|(id, _)| *id)
    }

    /// Whether every live node follows one synced leader.
    pub fn all_synced(&self) -> bool {
        let Some(l) = self.leader() else { return false };
        self.nodes
            .values()
            .all(|n| n.status().synced && n.status().leader == Some(l))
    }

    /// Runs until every live node is synced to one leader; that leader.
    pub fn wait_synced(&mut self) -> Id {
        self.run_until("every live node synced to one leader", 10_000, |c| {
            c.all_synced()
        });
        self.leader().unwrap()
    }
}

/// Registers a scenario writes and reads back, on any service: the ZAB regressions run on the
/// ZooKeeper service that ships (and still compile against the register map).
pub trait Registers: Service {
    /// The txn `(kind, body)` a client submits to set register `key` to `value`.
    fn register_write(key: u64, value: u64) -> (i32, Vec<u8>);
    /// Register `key`'s value in this state.
    fn register(&self, key: u64) -> Option<u64>;
    /// The `(session, cxid)` a scenario's write is submitted under.
    fn submit_ids(session: i64, cxid: i32) -> (i64, i32) {
        (session, cxid)
    }
}

impl Registers for RegisterMap {
    fn register_write(key: u64, value: u64) -> (i32, Vec<u8>) {
        (0, RegisterMap::write(key, value))
    }
    fn register(&self, key: u64) -> Option<u64> {
        self.get(key)
    }
}

/// ZooKeeper: register `key` = `value` is the znode `/r<key>-<value>` created last (highest
/// czxid). Writes go under session 0, which the leader accepts without a createSession (as
/// it does for server-internal writes): a scenario's `(session, cxid)` becomes cxid
/// `session * 1_000_000 + cxid`, so that its writes never wait on a session being created.
impl Registers for ZkService {
    fn register_write(key: u64, value: u64) -> (i32, Vec<u8>) {
        let req = Request::Create(crate::zk_workload::create(
            &format!("/r{key}-{value}"),
            &value.to_be_bytes(),
            0,
        ));
        let mut framed = Vec::new();
        encode_request(0, &req, &mut framed);
        // Strip the frame length and the request header (xid, opcode).
        (req.op_code().as_i32(), framed[12..].to_vec())
    }
    fn register(&self, key: u64) -> Option<u64> {
        let tree = self.tree();
        let prefix = format!("r{key}-");
        tree.children("/")
            .iter()
            .filter(|c| c.starts_with(&prefix))
            .filter_map(|c| tree.node(&format!("/{c}")).map(|n| (n.stat.czxid, c)))
            .max()
            .and_then(|(_, c)| c[prefix.len()..].parse().ok())
    }
    fn submit_ids(session: i64, cxid: i32) -> (i64, i32) {
        (0, session as i32 * 1_000_000 + cxid)
    }
}

impl<S: Registers> Cluster<S> {
    /// Submits a register-map write on `id`.
    pub fn submit(&mut self, id: Id, session: i64, cxid: i32, key: u64, value: u64) {
        let (session_id, cxid) = S::submit_ids(session, cxid);
        let (kind, body) = S::register_write(key, value);
        self.input(
            id,
            Input::Submit {
                session_id,
                cxid,
                kind,
                body,
            },
        );
    }

    /// Submits a register-map write and runs until it is acknowledged; its zxid.
    pub fn write_acked(&mut self, id: Id, session: i64, cxid: i32, key: u64, value: u64) -> Zxid {
        self.submit(id, session, cxid, key, value);
        let (session, cxid) = S::submit_ids(session, cxid);
        self.run_until("write acknowledged", 5_000, |c| {
            c.acked.iter().any(|a| a.0 == session && a.1 == cxid)
        });
        self.acked
            .iter()
            .find(|a| a.0 == session && a.1 == cxid)
            .unwrap()
            .2
    }
}

impl<S: Service> Cluster<S> {
    /// The zxids member `id` applied, in order.
    pub fn applied(&self, id: Id) -> Vec<Zxid> {
        self.events[&id]
            .iter()
            .filter_map(|e| match e {
                NodeEvent::TxnApplied { zxid, .. } => Some(*zxid),
                _ => None,
            })
            .collect()
    }

    /// Every live node applied the same txns: equal digests at equal last_applied, and every
    /// acknowledged write is applied everywhere.
    pub fn assert_converged(&mut self) {
        self.run_until("every node applied the same history", 10_000, |c| {
            let s: BTreeSet<_> = c
                .nodes
                .values()
                .map(|n| (n.status().last_applied, n.status().digest))
                .collect();
            c.all_synced() && s.len() == 1
        });
        let last = self.nodes.values().next().unwrap().status().last_applied;
        for (session, cxid, z) in &self.acked {
            assert!(
                *z <= last,
                "acknowledged write {session}/{cxid} at {z:?} is past {last:?}"
            );
            assert_eq!(
                self.global.get(z),
                Some(&(*session, *cxid)),
                "acknowledged write lost or replaced"
            );
        }
    }

    /// A position in the message log; `since(mark)` is what was sent after it.
    pub fn mark(&self) -> usize {
        self.sent.len()
    }

    /// The messages delivered since [`Cluster::mark`].
    pub fn since(&self, mark: usize) -> &[(Id, Id, PeerMessage)] {
        &self.sent[mark.min(self.sent.len())..]
    }

    /// Runs until `leader` starts synchronizing `id`, then holds `id`'s disk before the sync
    /// packets arrive: they will be logged but not reach the disk.
    pub fn hold_disk_at_sync(&mut self, leader: Id, id: Id, mark: usize) {
        self.run_until("the leader starts syncing the learner", 10_000, |c| {
            c.since(mark)
                .iter()
                .any(|(f, t, m)| *f == leader && *t == id && matches!(m, PeerMessage::SyncBegin(_)))
        });
        self.disks.get_mut(&id).unwrap().held = true;
    }

    /// Whether `id` acknowledged NEWLEADER since `mark`.
    pub fn newleader_acked(&self, id: Id, mark: usize) -> bool {
        self.since(mark).iter().any(|(f, _, m)| {
            *f == id && matches!(m, PeerMessage::Ack { zxid } if zxid.counter() == 0)
        })
    }

    /// Drops every message `f` matches from now on.
    pub fn drop_when(&mut self, f: impl Fn(Id, Id, &PeerMessage) -> bool + 'static) {
        self.drop_filters.push(Box::new(f));
    }

    /// Delivers every frame matching `f` twice (a duplicated frame).
    #[allow(dead_code)]
    pub fn duplicate_when(&mut self, f: impl Fn(Id, Id, &PeerMessage) -> bool + 'static) {
        self.dup_filters.push(Box::new(f));
    }

    /// Cuts member `id` off: every message to or from it is dropped.
    pub fn isolate(&mut self, id: Id) {
        self.drop_when(move |a, b, _| a == id || b == id);
        // Existing links die as a partition would eventually make them.
        self.cut_links(id, true);
    }

    /// Drops every link of `id`; the other ends (and `id` itself when `tell_self`) see them close.
    pub fn cut_links(&mut self, id: Id, tell_self: bool) {
        let ends: Vec<(Id, LinkId)> = self
            .links
            .keys()
            .filter(|(a, _)| *a == id)
            .copied()
            .collect();
        for end in ends {
            if let Some(other) = self.links.remove(&end) {
                self.links.remove(&other);
                self.inflight.push_back(Delivery {
                    to: other.0,
                    input: Input::PeerDisconnected { link: other.1 },
                });
                if tell_self {
                    self.inflight.push_back(Delivery {
                        to: end.0,
                        input: Input::PeerDisconnected { link: end.1 },
                    });
                }
            }
        }
    }

    /// Removes every drop filter.
    pub fn heal(&mut self) {
        self.drop_filters.clear();
    }
}

impl<S: Registers> Cluster<S> {
    /// A register's value on server `id`.
    pub fn value(&self, id: Id, key: u64) -> Option<u64> {
        self.nodes[&id].state_machine().register(key)
    }
}
