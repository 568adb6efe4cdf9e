//! The node: composes links, election, ZAB and the replicated state machine behind one
//! input/output facade.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::peer::Notification;
use crate::codec::snapshot::{encode_snapshot, snapshot_file_name};
use crate::codec::{PeerMessage, TxnHeader};
use crate::config::{Config, ConfigError, ConfigErrorKind};
use crate::election::{Election, ElectionOutput, PeerState, Vote};
use crate::ids::{ServerId, Zxid};
use crate::io::{Input, NodeEvent, Output, PersistOp, Role, Status, WriteFailure, SLOW_FSYNC_MS};
use crate::metrics::Metrics;
use crate::observe::http::{self as http, Parsed};
use crate::observe::view::LeaderStats;
use crate::observe::{HttpEndpoint, NodeFacts, ServerView};
use crate::quorum::{Majority, QuorumVerifier};
use crate::recovery::DiskState;
use crate::rng::Prng;
use crate::service::{ClientEvent, Service, ServiceCx, ServiceOutput, WriteRequest};
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::transport::{LinkEvent, Transport};
use crate::zab::{
    AfterPersist, Ctx, History, Leader, Learner, RegisterMap, ReplicaLog, Segment, StepDown,
    Timing, ZabOutput,
};

/// What a server found in its data directory at start ([`DiskState::from_files`]).
pub type Recovered = DiskState;

/// Tunables that are not in zoo.cfg (ZooKeeper keeps them in system properties).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tuning {
    /// Committed txns kept in memory for DIFF sync (`zookeeper.commitLogCount`).
    pub commit_log_count: usize,
    /// Roll the log segment beyond this many bytes.
    pub log_segment_bytes: u64,
    /// Snapshot the state after this many applied txns (`snapCount`).
    pub snap_count: u64,
    /// Snapshots kept on disk (`autopurge.snapRetainCount`).
    pub snap_retain: usize,
    /// Writes submitted here and not yet committed, at most.
    pub max_pending_writes: usize,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            commit_log_count: 500,
            log_segment_bytes: 64 << 20,
            snap_count: 100_000,
            snap_retain: 3,
            max_pending_writes: 10_000,
        }
    }
}

#[derive(Debug)]
enum Activity {
    Looking,
    Leading(Leader),
    Learning(Learner),
    Halted,
}

#[derive(Debug)]
struct Deferred {
    seq: u64,
    generation: u64,
    epochs: Option<(u32, u32)>,
    then: Option<AfterPersist>,
}

/// Bound on internal event cascades per `handle` call; a cascade this long is a bug.
const MAX_PUMP_STEPS: usize = 100_000;

/// HTTP connections waiting for a complete request, at most; more are closed at once.
const MAX_HTTP_CONNS: usize = 64;

/// Log syncs timed at once, at most (an adapter that never acknowledges must not grow this).
const MAX_TIMED_SYNCS: usize = 4096;

/// One Conclave server's protocol state. Feed it inputs, drain its outputs.
///
/// **After every [`Node::handle`], drain [`Node::poll_output`] until `None`, then sleep until
/// [`Node::poll_timeout`]** (or the next input) and call `handle(now, Input::Timeout)`.
#[derive(Debug)]
pub struct Node<S: Service = RegisterMap> {
    my_id: ServerId,
    config: Config,
    tuning: Tuning,
    timing: Timing,
    quorum: Majority,
    observer: bool,
    rng: Prng,
    transport: Transport,
    election: Election,
    activity: Activity,
    log: ReplicaLog,
    sm: S,
    accepted_epoch: u32,
    current_epoch: u32,
    written_accepted: u32,
    next_seq: u64,
    deferred: VecDeque<Deferred>,
    generation: u64,
    role: Role,
    looking_since: Instant,
    wall: (i64, Instant),
    local_writes: BTreeSet<(i64, i32)>,
    /// Leader: learner syncs waiting for a zxid to commit (zxid, learner, id).
    syncs_waiting: Vec<(Zxid, ServerId, u64)>,
    /// Syncs (ours) to complete once what is committed now is applied.
    syncs_done: Vec<u64>,
    /// Our own syncs forwarded to the leader, by id.
    syncs_forwarded: BTreeMap<u64, ()>,
    svc_buf: Vec<ServiceOutput>,
    snapshots: Vec<Zxid>,
    applied_since_snapshot: u64,
    out: VecDeque<Output>,
    timers: TimerTable,
    metrics: Metrics,
    link_buf: Vec<LinkEvent>,
    election_buf: Vec<ElectionOutput>,
    zab_buf: Vec<ZabOutput>,
    /// When the node was built (`zk_uptime`).
    started: Instant,
    /// The `now` of the current `handle` call.
    now: Instant,
    /// When this leadership was established (`zk_leader_uptime`).
    leading_since: Option<Instant>,
    /// HTTP connections and the request bytes received so far.
    http: BTreeMap<u64, (HttpEndpoint, Vec<u8>)>,
    /// Log syncs in flight: (seq, emitted at, file), to time fsyncs.
    timed_syncs: VecDeque<(u64, Instant, String)>,
}

fn peer_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Node<RegisterMap> {
    /// A server for `config` (with `my_id` set), starting from `recovered` state, replicating
    /// the test [`RegisterMap`]. See [`Node::with_state_machine`].
    pub fn new(
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
    ) -> Result<Node, ConfigError> {
        Node::with_state_machine(config, recovered, seed, now, Tuning::default())
    }
}

impl<S: Service> Node<S> {
    /// A server for `config` (with `my_id` set), starting from `recovered` state.
    ///
    /// `seed` drives every random choice (back-off jitter); `now` is the adapter's clock.
    /// The node restores the newest snapshot, keeps the logged txns after it (they are
    /// applied once a leader confirms them), cuts torn log tails, and starts looking for a
    /// leader at once.
    pub fn with_state_machine(
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
        tuning: Tuning,
    ) -> Result<Node<S>, ConfigError> {
        let my_id = config.my_id;
        if my_id == 0 {
            return Err(ConfigError {
                line: 0,
                kind: ConfigErrorKind::BadMyId(0),
            });
        }
        let quorum = if config.servers.is_empty() {
            Majority::new([my_id])
        } else {
            Majority::new(config.voters())
        };
        let observer = !quorum.is_voter(my_id);
        let tick = config.tick_time_ms as u64;
        let timing = Timing {
            init_limit_ms: tick.saturating_mul(config.init_limit_ticks as u64).max(1),
            sync_limit_ms: tick.saturating_mul(config.sync_limit_ticks as u64).max(1),
            ping_ms: (tick / 2).max(1),
        };
        let peers: Vec<(ServerId, String)> = config
            .servers
            .values()
            .map(|s| (s.id, peer_addr(&s.host, s.election_port)))
            .collect();
        let transport = Transport::new(
            my_id,
            config.fingerprint(),
            peers,
            timing.ping_ms,
            timing.sync_limit_ms,
        );

        let mut startup_ops = Vec::new();
        let mut sm = S::default();
        let mut snapshots = Vec::new();
        let base = match &recovered.snapshot {
            Some(snap) => {
                if let Err(why) = sm.restore(&snap.state) {
                    // A snapshot that verified on disk but does not restore is a bug or a
                    // different state machine: refuse to start rather than serve wrong data.
                    let _ = why;
                    return Err(ConfigError {
                        line: 0,
                        kind: ConfigErrorKind::UnsupportedKey {
                            key: String::from("dataDir"),
                            why: "the snapshot in the data directory does not restore",
                        },
                    });
                }
                snapshots.push(snap.zxid);
                snap.zxid
            }
            None => Zxid::ZERO,
        };
        // Cut torn tails so appends continue after valid data.
        for torn in &recovered.report.torn {
            if torn.offset < 8 {
                startup_ops.push(PersistOp::Remove {
                    file: torn.file.clone(),
                });
            } else {
                startup_ops.push(PersistOp::Truncate {
                    file: torn.file.clone(),
                    len: torn.offset,
                });
                startup_ops.push(PersistOp::Sync {
                    file: torn.file.clone(),
                });
            }
        }
        let segments: Vec<Segment> = recovered
            .logs
            .iter()
            .filter(|l| l.valid_len >= 8)
            .map(|l| Segment {
                name: l.name.clone(),
                first: l.first_zxid,
                len: l.valid_len,
                index: l.index.clone(),
            })
            .collect();
        let fresh = recovered.snapshot.is_none() && recovered.logs.is_empty();
        let log = ReplicaLog::new(
            segments,
            base,
            recovered.txns,
            tuning.commit_log_count,
            tuning.log_segment_bytes,
        );
        let mut node = Node {
            my_id,
            tuning,
            timing,
            quorum,
            observer,
            rng: Prng::new(seed),
            transport,
            election: Election::new(my_id),
            activity: Activity::Looking,
            log,
            sm,
            accepted_epoch: recovered.accepted_epoch,
            current_epoch: recovered.current_epoch,
            written_accepted: recovered.accepted_epoch,
            next_seq: 1,
            deferred: VecDeque::new(),
            generation: 0,
            role: Role::Looking,
            looking_since: now,
            wall: (0, now),
            local_writes: BTreeSet::new(),
            syncs_waiting: Vec::new(),
            syncs_done: Vec::new(),
            syncs_forwarded: BTreeMap::new(),
            svc_buf: Vec::new(),
            snapshots,
            applied_since_snapshot: 0,
            out: VecDeque::new(),
            timers: TimerTable::default(),
            metrics: Metrics::default(),
            link_buf: Vec::new(),
            election_buf: Vec::new(),
            zab_buf: Vec::new(),
            started: now,
            now,
            leading_since: None,
            http: BTreeMap::new(),
            timed_syncs: VecDeque::new(),
            config,
        };
        for op in startup_ops {
            node.persist(op, None, None);
        }
        if fresh {
            // Every data directory holds a snapshot, so "logs without a snapshot" always
            // means lost data (ZOOKEEPER-2325).
            node.write_snapshot();
        }
        node.transport
            .on_timer(now, &mut node.rng, &mut node.link_buf);
        node.start_looking(now);
        node.pump(now);
        Ok(node)
    }

    /// Feeds one input. The only mutator.
    pub fn handle(&mut self, now: Instant, input: Input) {
        self.now = now;
        if matches!(self.activity, Activity::Halted) {
            // A halted node still answers its operators (four-letter words, HTTP) and closes
            // client sessions; nothing else happens.
            if !matches!(
                input,
                Input::ClientConnected { .. }
                    | Input::ClientBytes { .. }
                    | Input::ClientDisconnected { .. }
                    | Input::HttpConnected { .. }
            ) {
                return;
            }
        }
        match input {
            Input::Timeout => self.on_timeout(now),
            Input::PeerAccepted { link } => {
                self.transport.on_accepted(now, link, &mut self.link_buf)
            }
            Input::PeerConnected { link } => {
                self.transport.on_connected(now, link, &mut self.link_buf)
            }
            Input::PeerBytes { link, bytes } => {
                self.metrics.peer_bytes_received += bytes.len() as u64;
                self.transport
                    .on_bytes(now, link, &bytes, &mut self.rng, &mut self.link_buf)
            }
            Input::PeerDisconnected { link } => {
                self.transport
                    .on_disconnected(now, link, &mut self.rng, &mut self.link_buf)
            }
            Input::WallClock { unix_ms } => self.wall = (unix_ms, now),
            Input::ClientConnected { conn, addr } => self.with_service(now, |s, cx| {
                s.client(ClientEvent::Connected { conn, addr }, cx)
            }),
            Input::HttpConnected { conn, endpoint } => {
                if self.http.len() >= MAX_HTTP_CONNS {
                    self.out.push_back(Output::CloseClient { conn });
                } else {
                    self.http.insert(conn, (endpoint, Vec::new()));
                }
            }
            Input::ClientBytes { conn, bytes } => {
                self.metrics.client_bytes_received += bytes.len() as u64;
                if self.http.contains_key(&conn) {
                    self.on_http_bytes(now, conn, &bytes);
                } else {
                    self.with_service(now, |s, cx| {
                        s.client(ClientEvent::Bytes { conn, bytes }, cx)
                    })
                }
            }
            Input::ClientDisconnected { conn } => {
                if self.http.remove(&conn).is_none() {
                    self.with_service(now, |s, cx| {
                        s.client(ClientEvent::Disconnected { conn }, cx)
                    })
                }
            }
            Input::Submit {
                session_id,
                cxid,
                kind,
                body,
            } => self.submit(now, session_id, cxid, kind, body),
            Input::Persisted { seq } => self.on_persisted(now, seq),
            Input::PersistFailed { seq, error } => {
                self.halt(format!("persist op {seq} failed: {error}"));
                return;
            }
        }
        self.pump(now);
    }

    /// The next output to carry out, `None` when drained.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call `handle(now, Input::Timeout)` next, if ever. Cached; O(1).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// Which timer owns the next deadline (why the node wants to wake up).
    pub fn next_timer(&self) -> Option<Timer> {
        self.timers.next().map(|(_, t)| t)
    }

    /// What the node is doing now.
    pub fn status(&self) -> Status {
        Status {
            my_id: self.my_id,
            role: self.role,
            leader: match &self.activity {
                Activity::Leading(_) => Some(self.my_id),
                Activity::Learning(l) => Some(l.leader()),
                _ => None,
            },
            synced: match &self.activity {
                Activity::Leading(l) => l.is_established(),
                Activity::Learning(l) => l.synced_epoch().is_some(),
                _ => false,
            },
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_zxid: self.log.last_logged(),
            last_committed: self.log.last_committed(),
            last_applied: self.log.last_applied(),
            digest: self.sm.digest(),
            round: self.election.round(),
            peers_up: self.transport.up_peers(),
        }
    }

    /// Counters and gauges.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The configuration this node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The replication side of the server view: role, epochs, zxids, links, leader stats.
    pub fn facts(&self, now: Instant) -> NodeFacts {
        let st = &self.activity;
        let leader_stats = match st {
            Activity::Leading(l) => {
                let synced = l.synced_learners();
                let voters = synced
                    .iter()
                    .filter(|id| self.quorum.is_voter(**id))
                    .count();
                Some(LeaderStats {
                    learners: l.learner_count(),
                    synced_followers: voters,
                    synced_non_voting_followers: 0,
                    synced_observers: synced.len() - voters,
                    pending_syncs: self.syncs_waiting.len(),
                    uptime_ms: self.leading_since.map_or(0, |t| now.millis_since(t)),
                    proposal_sizes: self.metrics.proposal_sizes,
                })
            }
            _ => None,
        };
        NodeFacts {
            my_id: self.my_id,
            role: self.role,
            standalone: self.config.is_standalone(),
            leader: match st {
                Activity::Leading(_) => Some(self.my_id),
                Activity::Learning(l) => Some(l.leader()),
                _ => None,
            },
            synced: self.serving(),
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_logged: self.log.last_logged(),
            last_committed: self.log.last_committed(),
            last_applied: self.log.last_applied(),
            round: self.election.round(),
            peers_up: self.transport.up_peers().len(),
            voters: self.quorum.voters().len().max(1),
            uptime_ms: now.millis_since(self.started),
            leader_stats,
        }
    }

    /// Builds the server view (node facts, metrics, configuration, then the service's part)
    /// and hands it to `f`: what the four-letter words, `/commands` and `/metrics` render.
    pub fn with_view(&self, now: Instant, f: &mut dyn FnMut(&ServerView<'_>)) {
        let node = self.facts(now);
        let conf = crate::observe::conf_lines(&self.config);
        let membership = crate::observe::membership(&self.config);
        let base = ServerView {
            version: crate::observe::ZOOKEEPER_VERSION,
            serving: node.synced,
            role: node.view_role(),
            node,
            metrics: self.metrics.clone(),
            config: Some(&self.config),
            last_zxid: node.last_applied.0,
            uptime_ms: node.uptime_ms,
            election_time: self.metrics.election_time_ms,
            conf: &conf,
            membership: membership.as_deref(),
            ..ServerView::default()
        };
        self.sm.view(base, f);
    }

    /// Bytes of an HTTP request: once its head is complete, answer and close.
    fn on_http_bytes(&mut self, now: Instant, conn: u64, bytes: &[u8]) {
        let Some((endpoint, buf)) = self.http.get_mut(&conn) else {
            return;
        };
        // Bounded: the parser answers 431 once the buffer reaches its limit.
        let room = http::MAX_REQUEST_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
        let (route, head_only) = match http::parse(*endpoint, buf) {
            Parsed::Partial => return,
            Parsed::Done(route, head_only) => (route, head_only),
        };
        self.http.remove(&conn);
        let mut answer = match route {
            http::HttpRoute::Fixed(a) => a,
            http::HttpRoute::Metrics => {
                let mut body = String::new();
                self.with_view(now, &mut |v| body = crate::observe::prometheus::render(v));
                http::Answer {
                    status: "200 OK",
                    content_type: http::PROMETHEUS_CONTENT_TYPE,
                    body,
                    head_only: false,
                }
            }
            http::HttpRoute::Admin(name) => {
                let mut body = None;
                self.with_view(now, &mut |v| body = crate::observe::admin::render(&name, v));
                match body {
                    Some(body) => http::Answer {
                        status: "200 OK",
                        content_type: "application/json",
                        body,
                        head_only: false,
                    },
                    None => http::Answer {
                        status: "404 Not Found",
                        content_type: "application/json",
                        body: format!(
                            "{{\"command\":{},\"error\":\"Unknown command\"}}",
                            serde_json::Value::from(name.as_str())
                        ),
                        head_only: false,
                    },
                }
            }
        };
        answer.head_only |= head_only;
        let bytes = answer.encode();
        self.metrics.client_bytes_sent += bytes.len() as u64;
        self.out.push_back(Output::SendClient { conn, bytes });
        self.out.push_back(Output::CloseClient { conn });
    }

    /// The replicated state machine (read-only: reads are served from it).
    pub fn state_machine(&self) -> &S {
        &self.sm
    }

    fn wall_ms(&self, now: Instant) -> i64 {
        self.wall
            .0
            .saturating_add(now.millis_since(self.wall.1) as i64)
    }

    fn persist(&mut self, op: PersistOp, epochs: Option<(u32, u32)>, then: Option<AfterPersist>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.metrics.persist_ops += 1;
        if let PersistOp::Sync { file } = &op {
            if self.timed_syncs.len() >= MAX_TIMED_SYNCS {
                self.timed_syncs.pop_front();
            }
            self.timed_syncs.push_back((seq, self.now, file.clone()));
        }
        if epochs.is_some() || then.is_some() {
            self.deferred.push_back(Deferred {
                seq,
                generation: self.generation,
                epochs,
                then,
            });
        }
        self.out.push_back(Output::Persist { seq, op });
    }

    /// Writes the applied state as `snapshot.<zxid>` (temp file, sync, rename).
    fn write_snapshot(&mut self) {
        let zxid = self.log.last_applied();
        let name = snapshot_file_name(zxid);
        let tmp = format!("{name}.tmp");
        let mut bytes = Vec::new();
        encode_snapshot(zxid, &self.sm.snapshot(), &mut bytes);
        self.persist(PersistOp::Create { file: tmp.clone() }, None, None);
        self.persist(
            PersistOp::Append {
                file: tmp.clone(),
                bytes,
            },
            None,
            None,
        );
        self.persist(PersistOp::Sync { file: tmp.clone() }, None, None);
        self.persist(
            PersistOp::Rename {
                from: tmp,
                to: name,
            },
            None,
            Some(AfterPersist::SnapshotDurable(zxid)),
        );
        self.applied_since_snapshot = 0;
    }

    fn submit(&mut self, now: Instant, session_id: i64, cxid: i32, kind: i32, body: Vec<u8>) {
        if self.local_writes.len() >= self.tuning.max_pending_writes {
            return self.write_failed(session_id, cxid, WriteFailure::Busy);
        }
        if !self.serving() || !self.local_writes.insert((session_id, cxid)) {
            return self.write_failed(session_id, cxid, WriteFailure::NotServing);
        }
        let w = WriteRequest {
            session_id,
            cxid,
            kind,
            body,
            auth: Vec::new(),
        };
        if !self.replicate(now, w) {
            self.local_writes.remove(&(session_id, cxid));
            self.write_failed(session_id, cxid, WriteFailure::NotServing);
        }
    }

    fn write_failed(&mut self, session_id: i64, cxid: i32, reason: WriteFailure) {
        self.out.push_back(Output::Event(NodeEvent::WriteFailed {
            session_id,
            cxid,
            reason,
        }));
    }

    fn serving(&self) -> bool {
        match &self.activity {
            Activity::Leading(l) => l.is_established(),
            Activity::Learning(l) => l.synced_epoch().is_some(),
            _ => false,
        }
    }

    /// Leader: prep and propose; learner: forward to the leader. False if neither is possible.
    fn replicate(&mut self, now: Instant, w: WriteRequest) -> bool {
        match &self.activity {
            Activity::Leading(_) => self.propose(now, &w).is_some(),
            Activity::Learning(l) => {
                let leader = l.leader();
                let msg = PeerMessage::Request {
                    session_id: w.session_id,
                    cxid: w.cxid,
                    kind: w.kind,
                    body: w.body,
                    auth: w.auth.into_iter().map(|id| (id.scheme, id.id)).collect(),
                };
                self.transport.send(now, leader, &msg, &mut self.link_buf)
            }
            _ => false,
        }
    }

    /// Leader: turns a write into a txn through the service and proposes it.
    fn propose(&mut self, now: Instant, w: &WriteRequest) -> Option<Zxid> {
        let time_ms = self.wall_ms(now);
        let Activity::Leading(l) = &self.activity else {
            return None;
        };
        let Some(zxid) = l.next_zxid(&self.log) else {
            if l.is_established() {
                // The counter is exhausted: a new epoch is needed (ZOOKEEPER-1277).
                self.zab_buf
                    .push(ZabOutput::StepDown(StepDown::CounterExhausted));
            }
            return None;
        };
        let (kind, body) = self.sm.prep(w, zxid, time_ms)?;
        self.metrics
            .proposal_sizes
            .record(i32::try_from(body.len()).unwrap_or(i32::MAX));
        let header = TxnHeader {
            zxid,
            session_id: w.session_id,
            cxid: w.cxid,
            time_ms,
            kind,
        };
        let mut proposed = None;
        self.with_ctx(now, |activity, ctx| {
            if let Activity::Leading(l) = activity {
                proposed = l.propose(header, body, ctx);
            }
        });
        proposed
    }

    fn with_service(&mut self, now: Instant, f: impl FnOnce(&mut S, &mut ServiceCx<'_>)) {
        let wall_ms = self.wall_ms(now);
        let serving = self.serving();
        let Node {
            sm,
            svc_buf,
            config,
            role,
            my_id,
            log,
            ..
        } = self;
        let mut cx = ServiceCx {
            now,
            wall_ms,
            my_id: *my_id,
            role: *role,
            serving,
            last_applied: log.last_applied(),
            config,
            out: svc_buf,
        };
        f(sm, &mut cx);
    }

    fn on_service_output(&mut self, now: Instant, o: ServiceOutput) {
        match o {
            ServiceOutput::SendClient { conn, bytes } => {
                self.metrics.client_bytes_sent += bytes.len() as u64;
                self.out.push_back(Output::SendClient { conn, bytes })
            }
            ServiceOutput::FourLetterWord { conn, word } => {
                let whitelist =
                    crate::server::fourlw::Whitelist::parse(&self.config.four_letter_words);
                let mut text = String::new();
                self.with_view(now, &mut |v| {
                    text = crate::server::fourlw::render(word, v, &whitelist)
                });
                self.metrics.client_bytes_sent += text.len() as u64;
                self.out.push_back(Output::SendClient {
                    conn,
                    bytes: text.into_bytes(),
                });
                self.with_service(now, |s, cx| {
                    s.client(ClientEvent::Disconnected { conn }, cx)
                });
                self.out.push_back(Output::CloseClient { conn });
            }
            ServiceOutput::Event(e @ NodeEvent::SessionExpired { .. }) => {
                self.metrics.sessions_expired += 1;
                self.out.push_back(Output::Event(e))
            }
            ServiceOutput::CloseClient { conn } => self.out.push_back(Output::CloseClient { conn }),
            ServiceOutput::ReadClient { conn, read } => {
                self.out.push_back(Output::ReadClient { conn, read })
            }
            ServiceOutput::Event(e) => self.out.push_back(Output::Event(e)),
            ServiceOutput::Write(w) => {
                // A write that cannot be replicated now is dropped; the service's client times
                // out and retries elsewhere, as a ZooKeeper client does on connection loss.
                let _ = self.replicate(now, w);
            }
            ServiceOutput::Sync { id } => match &self.activity {
                Activity::Leading(l) => match l.last_proposed() {
                    Some(z) => self.syncs_waiting.push((z, self.my_id, id)),
                    None => self.syncs_done.push(id),
                },
                Activity::Learning(l) => {
                    let leader = l.leader();
                    if self.transport.send(
                        now,
                        leader,
                        &PeerMessage::SyncRequest { id },
                        &mut self.link_buf,
                    ) {
                        self.syncs_forwarded.insert(id, ());
                    }
                }
                _ => {}
            },
        }
    }

    fn on_timeout(&mut self, now: Instant) {
        self.transport
            .on_timer(now, &mut self.rng, &mut self.link_buf);
        self.election
            .on_timer(now, &self.quorum, &mut self.election_buf);
        let accepted = self.accepted_epoch;
        self.with_ctx(now, |activity, ctx| match activity {
            Activity::Leading(l) => l.on_timer(ctx),
            Activity::Learning(l) => l.on_timer(accepted, ctx),
            _ => {}
        });
        if self.sm.next_deadline().is_some_and(|t| t <= now) {
            self.with_service(now, |s, cx| s.on_timer(cx));
        }
    }

    fn with_ctx(&mut self, now: Instant, f: impl FnOnce(&mut Activity, &mut Ctx<'_>)) {
        let Node {
            activity,
            log,
            sm,
            quorum,
            zab_buf,
            ..
        } = self;
        let mut ctx = Ctx {
            now,
            quorum,
            log,
            sm,
            out: zab_buf,
        };
        f(activity, &mut ctx);
    }

    fn on_persisted(&mut self, now: Instant, seq: u64) {
        while self.timed_syncs.front().is_some_and(|(s, _, _)| *s <= seq) {
            let Some((_, at, file)) = self.timed_syncs.pop_front() else {
                break;
            };
            let took_ns = now.as_nanos().saturating_sub(at.as_nanos());
            self.metrics.fsync_time_us.add(took_ns / 1000);
            let took_ms = took_ns / 1_000_000;
            if took_ms >= SLOW_FSYNC_MS {
                self.out
                    .push_back(Output::Event(NodeEvent::SlowFsync { file, took_ms }));
            }
        }
        while self.deferred.front().is_some_and(|d| d.seq <= seq) {
            let Some(d) = self.deferred.pop_front() else {
                break;
            };
            // Memory follows the file, never the other way round (ZOOKEEPER-2307).
            if let Some((accepted, current)) = d.epochs {
                self.accepted_epoch = accepted;
                self.current_epoch = current;
            }
            let Some(then) = d.then else { continue };
            match then {
                // Durability is a fact whatever the role: record it, then tell whoever leads.
                AfterPersist::LogDurable(z) => self.log.mark_durable(z),
                AfterPersist::SnapshotDurable(z) => {
                    self.on_snapshot_durable(z);
                    continue;
                }
                _ if d.generation != self.generation => continue,
                _ => {}
            }
            self.with_ctx(now, |activity, ctx| match activity {
                Activity::Leading(l) => l.on_persisted(then, ctx),
                Activity::Learning(l) => l.on_persisted(then, ctx),
                _ => {}
            });
        }
    }

    fn on_snapshot_durable(&mut self, zxid: Zxid) {
        self.out
            .push_back(Output::Event(NodeEvent::SnapshotTaken { zxid }));
        if !self.snapshots.contains(&zxid) {
            self.snapshots.push(zxid);
            self.snapshots.sort();
        }
        // Keep the newest few snapshots, and the log needed to replay after the oldest kept.
        let excess = self
            .snapshots
            .len()
            .saturating_sub(self.tuning.snap_retain.max(1));
        let old: Vec<Zxid> = self.snapshots.drain(..excess).collect();
        for z in old {
            self.persist(
                PersistOp::Remove {
                    file: snapshot_file_name(z),
                },
                None,
                None,
            );
        }
        if let Some(&oldest) = self.snapshots.first() {
            let mut ops = Vec::new();
            self.log.purge_before(oldest, &mut ops);
            for op in ops {
                self.persist(op, None, None);
            }
        }
    }

    fn halt(&mut self, reason: String) {
        self.activity = Activity::Halted;
        self.set_role(Role::Halted);
        self.out
            .push_back(Output::Event(NodeEvent::Halted { reason }));
        for t in Timer::ALL {
            self.timers.set(t, None);
        }
    }

    fn initial_vote(&self) -> Vote {
        if self.observer {
            Vote::NONE
        } else {
            Vote {
                leader: self.my_id,
                zxid: self.log.last_logged(),
                peer_epoch: self.current_epoch,
            }
        }
    }

    fn history(&self) -> History {
        History {
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_zxid: self.log.last_logged(),
        }
    }

    fn start_looking(&mut self, now: Instant) {
        self.generation += 1;
        self.leading_since = None;
        self.activity = Activity::Looking;
        self.set_role(Role::Looking);
        self.looking_since = now;
        self.metrics.elections_started += 1;
        // Writes in flight may still commit under the next leader, or not: say so.
        for (session_id, cxid) in core::mem::take(&mut self.local_writes) {
            self.out.push_back(Output::Event(NodeEvent::WriteFailed {
                session_id,
                cxid,
                reason: WriteFailure::Unknown,
            }));
        }
        self.syncs_waiting.clear();
        self.syncs_forwarded.clear();
        self.with_service(now, |s, cx| s.role_changed(cx));
        let vote = self.initial_vote();
        self.election
            .start(now, vote, &self.quorum, &mut self.election_buf);
    }

    fn set_role(&mut self, to: Role) {
        if self.role != to {
            let from = self.role;
            self.role = to;
            self.out
                .push_back(Output::Event(NodeEvent::RoleChanged { from, to }));
        }
    }

    /// Drains the internal event buffers until quiet, applies what is committed, issues
    /// one `Sync` for the batch of appends (group commit), then refreshes the timers.
    fn pump(&mut self, now: Instant) {
        let mut steps = 0;
        loop {
            steps += 1;
            if steps > MAX_PUMP_STEPS {
                self.halt(String::from("internal event cascade did not settle"));
                return;
            }
            if !self.link_buf.is_empty() {
                let events: Vec<LinkEvent> = self.link_buf.drain(..).collect();
                for e in events {
                    self.on_link_event(now, e);
                }
            } else if !self.election_buf.is_empty() {
                let events: Vec<ElectionOutput> = self.election_buf.drain(..).collect();
                for e in events {
                    self.on_election_output(now, e);
                }
            } else if !self.zab_buf.is_empty() {
                let events: Vec<ZabOutput> = self.zab_buf.drain(..).collect();
                for e in events {
                    self.on_zab_output(now, e);
                }
            } else if !self.svc_buf.is_empty() {
                let outs: Vec<ServiceOutput> = self.svc_buf.drain(..).collect();
                for o in outs {
                    self.on_service_output(now, o);
                }
            } else if self.log.next_committed().is_some() || !self.syncs_done.is_empty() {
                self.apply_committed(now);
            } else if self.release_syncs(now) {
                continue;
            } else {
                break;
            }
            if matches!(self.activity, Activity::Halted) {
                return;
            }
        }
        let mut ops = Vec::new();
        if let Some(z) = self.log.flush(&mut ops) {
            for op in ops {
                self.persist(op, None, Some(AfterPersist::LogDurable(z)));
            }
        }
        self.timers
            .set(Timer::Links, self.transport.next_deadline());
        self.timers
            .set(Timer::Election, self.election.next_deadline());
        let zab = match &self.activity {
            Activity::Leading(l) => l.next_deadline(),
            Activity::Learning(l) => l.next_deadline(),
            _ => None,
        };
        self.timers.set(Timer::Zab, zab);
        self.timers.set(Timer::Service, self.sm.next_deadline());
    }

    /// Leader: syncs whose zxid is now committed complete (ours locally, a learner's by
    /// SyncDone, which follows the COMMITs on the same link). True if any was released.
    fn release_syncs(&mut self, now: Instant) -> bool {
        let committed = self.log.last_committed();
        if self.syncs_waiting.iter().all(|(z, _, _)| *z > committed) {
            return false;
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .syncs_waiting
            .drain(..)
            .partition(|(z, _, _)| *z <= committed);
        self.syncs_waiting = waiting;
        for (_, peer, id) in ready {
            if peer == self.my_id {
                self.syncs_done.push(id);
            } else {
                self.transport
                    .send(now, peer, &PeerMessage::SyncDone { id }, &mut self.link_buf);
            }
        }
        true
    }

    /// Applies every committed txn in order, with its effects on this server (client replies,
    /// watch events, the acknowledgement of writes submitted here), then completes syncs.
    fn apply_committed(&mut self, now: Instant) {
        let wall_ms = self.wall_ms(now);
        let serving = self.serving();
        loop {
            let Node {
                log,
                sm,
                out,
                local_writes,
                applied_since_snapshot,
                metrics,
                svc_buf,
                config,
                role,
                my_id,
                ..
            } = self;
            let Some(txn) = log.next_committed() else {
                break;
            };
            let h = txn.header;
            let result = sm.apply(&h, &txn.body);
            log.mark_applied(h.zxid);
            metrics.txns_applied += 1;
            *applied_since_snapshot += 1;
            out.push_back(Output::Event(NodeEvent::TxnApplied {
                zxid: h.zxid,
                session_id: h.session_id,
                cxid: h.cxid,
            }));
            let mut cx = ServiceCx {
                now,
                wall_ms,
                my_id: *my_id,
                role: *role,
                serving,
                last_applied: h.zxid,
                config,
                out: svc_buf,
            };
            sm.applied(&h, &result, &mut cx);
            if local_writes.remove(&(h.session_id, h.cxid)) {
                out.push_back(Output::Event(NodeEvent::WriteCommitted {
                    session_id: h.session_id,
                    cxid: h.cxid,
                    zxid: h.zxid,
                    result,
                }));
            }
        }
        self.log.trim();
        for id in core::mem::take(&mut self.syncs_done) {
            self.with_service(now, |s, cx| s.sync_done(id, cx));
        }
        if self.applied_since_snapshot >= self.tuning.snap_count {
            self.write_snapshot();
        }
    }

    fn on_link_event(&mut self, now: Instant, e: LinkEvent) {
        match e {
            LinkEvent::Dial { link, peer, addr } => {
                self.out.push_back(Output::Dial { link, peer, addr })
            }
            LinkEvent::Send { link, bytes } => {
                self.metrics.peer_bytes_sent += bytes.len() as u64;
                self.out.push_back(Output::SendPeer { link, bytes })
            }
            LinkEvent::Close { link } => self.out.push_back(Output::ClosePeer { link }),
            LinkEvent::Rejected { link, reason } => {
                self.metrics.peer_frames_rejected += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::LinkRejected { link, reason }));
            }
            LinkEvent::Up(peer) => {
                self.metrics.peer_links_established += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::PeerUp { peer }));
                let accepted = self.accepted_epoch;
                match &self.activity {
                    // A fresh link gets our latest notification, as ZooKeeper resends its last one.
                    Activity::Looking if self.quorum.is_voter(peer) || self.observer => {
                        let n = self.election.current_notification();
                        self.send_notification(now, peer, n);
                        self.election.reset_backoff(now);
                    }
                    Activity::Learning(l) if l.leader() == peer => {
                        self.with_ctx(now, |activity, ctx| {
                            if let Activity::Learning(l) = activity {
                                l.on_leader_link_up(accepted, ctx);
                            }
                        });
                    }
                    _ => {}
                }
            }
            LinkEvent::Down(peer) => {
                self.out
                    .push_back(Output::Event(NodeEvent::PeerDown { peer }));
                self.with_ctx(now, |activity, ctx| match activity {
                    Activity::Leading(l) => l.on_peer_down(peer, ctx),
                    Activity::Learning(l) => l.on_peer_down(peer, ctx),
                    _ => {}
                });
            }
            LinkEvent::Message(peer, msg) => self.on_peer_message(now, peer, msg),
        }
    }

    fn on_peer_message(&mut self, now: Instant, peer: ServerId, msg: PeerMessage) {
        if let Activity::Leading(l) = &mut self.activity {
            l.heard(peer, now);
        }
        match msg {
            PeerMessage::Notification(n) => {
                self.metrics.notifications_received += 1;
                // A learner of ours looking again has left us: its notifications from before it
                // chose us arrived before its FOLLOWERINFO on this FIFO link.
                if n.state == PeerState::Looking && matches!(self.activity, Activity::Leading(_)) {
                    self.with_ctx(now, |activity, ctx| {
                        if let Activity::Leading(l) = activity {
                            l.on_peer_down(peer, ctx);
                        }
                    });
                }
                // Our leader looking again, in a round after the one we followed it in, has
                // stepped down: do not wait for the silence timeout.
                if let Activity::Learning(l) = &self.activity {
                    let decided = self.election.decision().map_or(0, |d| d.round);
                    if l.leader() == peer && n.state == PeerState::Looking && n.round > decided {
                        self.zab_buf.push(ZabOutput::StepDown(StepDown::LostLeader));
                    }
                }
                self.election
                    .on_notification(now, peer, n, &self.quorum, &mut self.election_buf);
            }
            PeerMessage::Hello(_) | PeerMessage::Heartbeat => {}
            PeerMessage::Request {
                session_id,
                cxid,
                kind,
                body,
                auth,
            } => {
                if matches!(self.activity, Activity::Leading(_)) {
                    let w = WriteRequest {
                        session_id,
                        cxid,
                        kind,
                        body,
                        auth: auth
                            .into_iter()
                            .map(|(scheme, id)| crate::client::Id { scheme, id })
                            .collect(),
                    };
                    // Not serving yet: dropped; the learner's client times out and retries.
                    let _ = self.propose(now, &w);
                }
            }
            PeerMessage::Touch { sessions } => {
                if matches!(self.activity, Activity::Leading(_)) {
                    self.with_service(now, |s, cx| s.touched(&sessions, cx));
                }
            }
            PeerMessage::SyncRequest { id } => {
                if let Activity::Leading(l) = &self.activity {
                    match l.last_proposed() {
                        Some(z) => self.syncs_waiting.push((z, peer, id)),
                        None => {
                            self.transport.send(
                                now,
                                peer,
                                &PeerMessage::SyncDone { id },
                                &mut self.link_buf,
                            );
                        }
                    }
                }
            }
            PeerMessage::SyncDone { id } => {
                if self.syncs_forwarded.remove(&id).is_some() {
                    self.syncs_done.push(id);
                }
            }
            m => {
                // Answer the leader's PING with the sessions our clients touched (ZooKeeper's
                // learner PING reply), so the leader's expiry sees them alive.
                if m == PeerMessage::Ping {
                    if let Activity::Learning(l) = &self.activity {
                        if l.leader() == peer {
                            // Always answer, even with nothing touched: the leader counts
                            // silent learners as gone.
                            let sessions = self.sm.take_touches();
                            self.transport.send(
                                now,
                                peer,
                                &PeerMessage::Touch { sessions },
                                &mut self.link_buf,
                            );
                        }
                    }
                }
                let history = self.history();
                self.with_ctx(now, |activity, ctx| match activity {
                    Activity::Leading(l) => l.on_message(peer, m, ctx),
                    Activity::Learning(l) => l.on_message(peer, m, history, ctx),
                    _ => {}
                });
            }
        }
    }

    fn send_notification(&mut self, now: Instant, to: ServerId, n: Notification) {
        if self
            .transport
            .send(now, to, &PeerMessage::Notification(n), &mut self.link_buf)
        {
            self.metrics.notifications_sent += 1;
        }
    }

    fn broadcast_notification(&mut self, now: Instant, n: Notification) {
        for v in self.quorum.voters() {
            if v != self.my_id {
                self.send_notification(now, v, n);
            }
        }
    }

    fn on_election_output(&mut self, now: Instant, e: ElectionOutput) {
        match e {
            ElectionOutput::Send { to, notification } => {
                self.send_notification(now, to, notification)
            }
            ElectionOutput::Broadcast(n) => self.broadcast_notification(now, n),
            ElectionOutput::Resend(n) => {
                self.transport.redial_now(now);
                self.broadcast_notification(now, n);
            }
            ElectionOutput::ProposalChanged { round, vote } => {
                self.out
                    .push_back(Output::Event(NodeEvent::VoteCast { round, vote }));
            }
            ElectionOutput::Decided(d) => {
                let took_ms = now.millis_since(self.looking_since);
                self.metrics.elections_decided += 1;
                self.metrics.election_time_ms.add(took_ms);
                self.out.push_back(Output::Event(NodeEvent::Elected {
                    leader: d.vote.leader,
                    vote: d.vote,
                    round: d.round,
                    supporters: d.supporters.clone(),
                    took_ms,
                    state: match d.state {
                        PeerState::Leading => Role::Leading,
                        PeerState::Observing => Role::Observing,
                        _ => Role::Following,
                    },
                }));
                self.generation += 1;
                let history = self.history();
                let timing = self.timing;
                let my_id = self.my_id;
                match d.state {
                    PeerState::Leading => {
                        self.set_role(Role::Leading);
                        let mut leader = None;
                        self.with_ctx(now, |_, ctx| {
                            leader = Some(Leader::new(my_id, history, timing, ctx));
                        });
                        if let Some(l) = leader {
                            self.activity = Activity::Leading(l);
                        }
                    }
                    PeerState::Following | PeerState::Observing => {
                        self.set_role(if d.state == PeerState::Following {
                            Role::Following
                        } else {
                            Role::Observing
                        });
                        let learner = Learner::new(
                            now,
                            d.vote.leader,
                            self.observer,
                            self.generation,
                            timing,
                        );
                        self.activity = Activity::Learning(learner);
                        if self.transport.is_up(d.vote.leader) {
                            let accepted = self.accepted_epoch;
                            self.with_ctx(now, |activity, ctx| {
                                if let Activity::Learning(l) = activity {
                                    l.on_leader_link_up(accepted, ctx);
                                }
                            });
                        }
                    }
                    PeerState::Looking => {}
                }
            }
        }
    }

    fn on_zab_output(&mut self, now: Instant, e: ZabOutput) {
        match e {
            ZabOutput::Send(to, msg) => {
                self.transport.send(now, to, &msg, &mut self.link_buf);
            }
            ZabOutput::Persist(op, then) => self.persist(op, None, then),
            ZabOutput::PersistEpochs {
                accepted,
                current,
                then,
            } => {
                // Never lower a promise already written, whatever the caller computed.
                let accepted = accepted.max(self.written_accepted);
                self.written_accepted = accepted;
                self.persist(
                    PersistOp::WriteEpochs { accepted, current },
                    Some((accepted, current)),
                    Some(then),
                );
            }
            ZabOutput::Established { epoch, quorum } => {
                self.metrics.leaderships_established += 1;
                self.leading_since = Some(now);
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::LeaderEstablished {
                        epoch,
                        quorum,
                    }));
                self.with_service(now, |s, cx| s.role_changed(cx));
            }
            ZabOutput::Synced { leader, epoch } => {
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::FollowerSynced { leader, epoch }));
                self.with_service(now, |s, cx| s.role_changed(cx));
            }
            ZabOutput::SnapshotInstalled(zxid) => {
                self.out
                    .push_back(Output::Event(NodeEvent::SnapshotInstalled { zxid }));
            }
            ZabOutput::DropPeer(peer) => {
                self.transport
                    .drop_peer(now, peer, &mut self.rng, &mut self.link_buf);
            }
            ZabOutput::StepDown(reason) => {
                if matches!(self.activity, Activity::Looking) {
                    return;
                }
                self.metrics.step_downs += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::SteppedDown { reason }));
                self.start_looking(now);
            }
        }
    }
}
