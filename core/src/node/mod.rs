//! The node: composes links, election, ZAB and the replicated state machine behind one
//! input/output facade.

mod clients;
mod durability;
mod membership;
mod observe;
mod peers;
mod roles;

#[cfg(any(test, feature = "sim"))]
use alloc::collections::BTreeSet;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::peer::Notification;
use crate::codec::snapshot::{frame_snapshot, snapshot_file_name};
use crate::codec::{PeerMessage, TxnHeader};
use crate::config::{Config, ConfigError, ConfigErrorKind};
use crate::election::{Election, ElectionOutput, PeerState, Vote};
use crate::ids::{ServerId, Zxid};
#[cfg(any(test, feature = "sim"))]
use crate::io::WriteFailure;
use crate::io::{Input, NodeEvent, Output, PersistOp, Role, Status, SLOW_FSYNC_MS};
use crate::metrics::Metrics;
use crate::observe::http::{self as http, Parsed};
use crate::observe::view::LeaderStats;
use crate::observe::{HttpEndpoint, NodeFacts, ServerView};
use crate::quorum::{Majority, QuorumVerifier};
use crate::recovery::DiskState;
use crate::rng::Prng;
use crate::server::ZkService;
use crate::service::{ClientEvent, Service, ServiceCx, ServiceOutput, WriteRequest};
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::transport::{LinkEvent, Transport};
use crate::zab::{
    AfterPersist, Ctx, History, Leader, Learner, ReplicaLog, Segment, StepDown, Timing, ZabOutput,
};

/// What a server found in its data directory at start ([`DiskState::from_files`]).
pub type Recovered = DiskState;

/// Domain separation of the seed for the state machine's hash keys.
const STATE_STREAM: u64 = 0x7374_6174_655f_6b65;
/// Domain separation of the seed for the snapshot roll's random stream.
const SNAPSHOT_STREAM: u64 = 0x736e_6170_7368_6f74;

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
pub struct Node<S: Service = ZkService> {
    my_id: ServerId,
    config: Config,
    tuning: Tuning,
    timing: Timing,
    /// The quorum rule: the membership in force, joint with the next one while a
    /// reconfiguration is in flight.
    quorum: crate::quorum::Quorums,
    /// The membership in force (the files', until a reconfig commits another).
    membership: crate::config::Membership,
    /// The newer membership version each peer showed us that we asked it for (once each).
    membership_asked: BTreeMap<ServerId, u64>,
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
    #[cfg(any(test, feature = "sim"))]
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
    /// Snapshot once `applied_since_snapshot` reaches this: rolled in
    /// `[snap_count / 2, snap_count)` after each snapshot, as ZooKeeper does, so that the
    /// members of an ensemble do not all stop to serialise their trees at the same txn.
    snapshot_after: u64,
    /// The stream that rolls `snapshot_after` (apart from `rng`, whose jitter it leaves as is).
    snapshot_rng: Prng,
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
    /// FOLLOWERINFOs that reached us while we were still looking (a peer decided a moment
    /// before we did): handed to the leader we become instead of waiting for the resend.
    early_infos: BTreeMap<ServerId, PeerMessage>,
    /// The highest epoch a learner promised above the one we led (it made us step down): the
    /// next epoch we propose is above it, or that learner could never join. Not persisted: a
    /// restarted leader relearns it from the learner's FOLLOWERINFO.
    epoch_floor: u32,
    /// The (session, cxid) of the last request each learner forwarded: the same again from
    /// the same learner is a duplicated frame, not a new write (clients never reuse a cxid).
    last_forwarded: BTreeMap<ServerId, (i64, i32)>,
    /// ZooKeeper's trace mask: `gtmk` shows it, `stmk` sets it (kept for the tools that probe
    /// it; our logging is configured through `RUST_LOG`).
    trace_mask: i64,
    /// Log syncs in flight: (seq, emitted at, file), to time fsyncs.
    timed_syncs: VecDeque<(u64, Instant, String)>,
    /// The seq of the log `Sync` the disk is running, if any: group commit keeps at most one
    /// in flight, and what is appended meanwhile goes out in the next one.
    log_sync_inflight: Option<u64>,
}

fn peer_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Node<ZkService> {
    /// A ZooKeeper server for `config` (with `my_id` set), starting from `recovered` state,
    /// with the default [`Tuning`]. See [`Node::with_state_machine`].
    pub fn new(
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
        unix_ms: i64,
    ) -> Result<Node, ConfigError> {
        Node::with_state_machine(config, recovered, seed, now, unix_ms, Tuning::default())
    }
}

impl<S: Service> Node<S> {
    /// A server for `config` (with `my_id` set), starting from `recovered` state.
    ///
    /// `seed` drives every random choice (back-off jitter); `now` is the adapter's clock and
    /// `unix_ms` the wall clock at that instant (ms since 1970; refresh it with
    /// `Input::WallClock` about once a second), which the leader stamps into transactions.
    /// The node restores the newest snapshot, keeps the logged txns after it (they are
    /// applied once a leader confirms them), cuts torn log tails, and starts looking for a
    /// leader at once.
    pub fn with_state_machine(
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
        unix_ms: i64,
        tuning: Tuning,
    ) -> Result<Node<S>, ConfigError> {
        let my_id = config.my_id;
        if my_id == 0 {
            return Err(ConfigError {
                line: 0,
                kind: ConfigErrorKind::BadMyId(0),
            });
        }
        let tick = config.tick_time_ms as u64;
        let timing = Timing {
            init_limit_ms: tick.saturating_mul(config.init_limit_ticks as u64).max(1),
            sync_limit_ms: tick.saturating_mul(config.sync_limit_ticks as u64).max(1),
            ping_ms: (tick / 2).max(1),
        };

        let mut startup_ops = Vec::new();
        let mut sm = S::default();
        sm.seed(seed ^ STATE_STREAM);
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
                appendable: false,
                reserved: 0,
            })
            .collect();
        // The membership: the newest of the files', the one the last committed reconfig
        // wrote to the data directory, and the one in the snapshot. Reconfigs logged after
        // the snapshot take effect when a leader confirms them, as they are applied.
        let mut membership = crate::config::Membership::from_config(&config);
        let written = recovered
            .membership
            .as_deref()
            .and_then(|text| crate::config::Membership::parse(text).ok());
        for m in sm.membership().into_iter().chain(written) {
            if m.version > membership.version {
                membership = m;
            }
        }
        // Where we listen, as our files say (a reconfiguration may not list us yet).
        let my_addr = config
            .servers
            .get(&my_id)
            .map(|s| peer_addr(&s.host, s.election_port))
            .unwrap_or_default();
        let mut config = config;
        config.servers = membership.servers.clone();
        config.config_version = membership.version;
        let quorum = crate::quorum::Quorums::new(membership::majority_of(&membership, my_id));
        let observer = !membership::votes(&membership, &config);
        let mut transport = Transport::new(
            my_id,
            my_addr,
            config.fingerprint(),
            membership::peer_addrs(&membership),
            timing.ping_ms,
            timing.sync_limit_ms,
        );
        if config.reconfig_enabled {
            transport = transport.accept_strangers();
        }
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
            membership,
            membership_asked: BTreeMap::new(),
            observer,
            rng: Prng::new(seed),
            snapshot_after: 0,
            snapshot_rng: Prng::new(seed ^ SNAPSHOT_STREAM),
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
            wall: (unix_ms, now),
            #[cfg(any(test, feature = "sim"))]
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
            early_infos: BTreeMap::new(),
            epoch_floor: 0,
            last_forwarded: BTreeMap::new(),
            trace_mask: crate::server::fourlw::DEFAULT_TRACE_MASK,
            timed_syncs: VecDeque::new(),
            log_sync_inflight: None,
            config,
        };
        for op in startup_ops {
            node.persist(op, None, None);
        }
        if node.membership.version > 0 {
            // A reconfiguration's membership, not the files': say which is in force.
            node.out.push_back(Output::Event(node.membership_event()));
        }
        node.roll_snapshot_after();
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
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.now = now;
        if matches!(self.activity, Activity::Halted) {
            // A halted node still answers its operators (four-letter words, HTTP) and closes
            // client sessions; nothing else happens.
            if !matches!(
                input,
                Input::ClientConnected { .. }
                    | Input::ClientBytes { .. }
                    | Input::ClientDisconnected { .. }
                    | Input::ClientWritten { .. }
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
                        s.client(
                            ClientEvent::Bytes {
                                conn,
                                bytes: &bytes,
                            },
                            cx,
                        )
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
            Input::ClientWritten { conn, bytes } => {
                if !self.http.contains_key(&conn) {
                    self.with_service(now, |s, cx| {
                        s.client(ClientEvent::Written { conn, bytes }, cx)
                    })
                }
            }
            #[cfg(any(test, feature = "sim"))]
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

    /// The replicated state machine (read-only: reads are served from it).
    pub fn state_machine(&self) -> &S {
        &self.sm
    }

    fn wall_ms(&self, now: Instant) -> i64 {
        self.wall
            .0
            .saturating_add(now.millis_since(self.wall.1) as i64)
    }

    fn serving(&self) -> bool {
        match &self.activity {
            Activity::Leading(l) => l.is_established(),
            Activity::Learning(l) => l.synced_epoch().is_some(),
            _ => false,
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

    fn halt(&mut self, reason: String) {
        self.activity = Activity::Halted;
        self.set_role(Role::Halted);
        self.out
            .push_back(Output::Event(NodeEvent::Halted { reason }));
        for t in Timer::ALL {
            self.timers.set(t, None);
        }
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
        // Group commit: one log Sync at a time. Appends made while it runs are flushed by the
        // pump that handles its `Persisted` — no timer, so an idle server syncs at once.
        if self.log_sync_inflight.is_none() {
            let mut ops = Vec::new();
            if let Some(z) = self.log.flush(&mut ops) {
                for op in ops {
                    self.persist(op, None, Some(AfterPersist::LogDurable(z)));
                }
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
}
