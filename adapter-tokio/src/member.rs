//! One member: a tokio task that owns the [`Node`], its sockets' reader and writer tasks,
//! its disk thread, and the HTTP endpoints that read the stats it publishes.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use conclave_core::config::Config;
use conclave_core::node::Tuning;
use conclave_core::server::ZkService;
use conclave_core::{Input, LinkId, Node, NodeEvent, Output, Role, ServerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

use crate::disk::{Disk, DiskAck};
use crate::setup::{listen_addrs, ListenAddrs, Loaded};
use crate::stats::{Counters, Stats};

/// How long a dial may take before it counts as failed.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes read from a socket at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Events queued for the node task before readers wait.
const EVENT_QUEUE: usize = 1024;
/// Bytes a writer gathers into one write.
const WRITE_BATCH: usize = 256 * 1024;

/// Whose socket an event concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Peer(LinkId),
    Client(u64),
}

#[derive(Debug)]
enum Ev {
    PeerAccepted(TcpStream),
    ClientAccepted(TcpStream, SocketAddr),
    Dialed(LinkId, std::io::Result<TcpStream>),
    Bytes(Key, Vec<u8>),
    Closed(Key),
    Disk(DiskAck),
}

struct Conn {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    reader: AbortHandle,
    gate: Option<watch::Sender<bool>>,
    /// Bytes handed to the writer and not yet written: bounded by [`MAX_QUEUED_BYTES`].
    queued: Arc<AtomicU64>,
}

/// A connection whose peer does not read this much of what we send is dropped instead of
/// buffered without bound; the core reconnects (peers) or the client reconnects elsewhere.
const MAX_QUEUED_BYTES: u64 = 64 << 20;

/// A running member.
#[derive(Debug)]
pub struct Member {
    /// Its server id.
    pub id: ServerId,
    /// The addresses it actually listens on (port 0 in the config resolved).
    pub addrs: ListenAddrs,
    stats: watch::Receiver<Arc<Stats>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), String>>,
}

/// What to start besides the protocol.
#[derive(Clone, Copy, Debug)]
pub struct MemberOptions {
    /// Serve `/metrics` and `/commands/*` (per the config's ports).
    pub http: bool,
}

impl Default for MemberOptions {
    fn default() -> Self {
        MemberOptions { http: true }
    }
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))
}

fn seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos() as u64;
    // The address of a fresh allocation adds per-process entropy (ASLR) to the clock.
    let a = Box::new(0u8);
    t ^ ((&*a as *const u8 as u64).rotate_left(32)) ^ u64::from(std::process::id())
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

impl Member {
    /// Binds every port, builds the node and starts its task.
    pub async fn start(loaded: Loaded, opts: MemberOptions) -> Result<Member, String> {
        let Loaded {
            config,
            data_dir,
            recovered,
        } = loaded;
        let id = config.my_id;
        let mut addrs = listen_addrs(&config)?;
        let client = bind(addrs.client, "client port").await?;
        addrs.client = client.local_addr().map_err(|e| e.to_string())?;
        let peer = match addrs.peer {
            Some(a) => Some(bind(a, "peer (election) port").await?),
            None => None,
        };
        let mut http = Vec::new();
        if opts.http {
            // Like ZooKeeper's AdminServer, an HTTP port in use is logged, not fatal.
            for (slot, what, endpoint) in [
                (
                    &mut addrs.metrics,
                    "metricsProvider.httpPort",
                    crate::http::Endpoint::Metrics,
                ),
                (
                    &mut addrs.admin,
                    "admin.serverPort",
                    crate::http::Endpoint::Admin,
                ),
            ] {
                let Some(a) = *slot else { continue };
                match bind(a, what).await {
                    Ok(l) => {
                        *slot = l.local_addr().ok();
                        http.push((l, endpoint));
                    }
                    Err(e) => {
                        tracing::warn!("{e}; continuing without it");
                        *slot = None;
                    }
                }
            }
        } else {
            addrs.metrics = None;
            addrs.admin = None;
        }

        let std_start = std::time::Instant::now();
        let node = Node::<ZkService>::with_state_machine(
            config.clone(),
            recovered,
            seed(),
            conclave_core::Instant::ZERO,
            Tuning::default(),
        )
        .map_err(|e| format!("cannot start server {id}: {e}"))?;

        let counters = Arc::new(Counters::default());
        let initial = Stats::initial(&config, &data_dir, &addrs, counters.clone());
        let (stats_tx, stats_rx) = watch::channel(Arc::new(initial));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);

        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(client, ev_tx.clone(), true));
        if let Some(l) = peer {
            tasks.spawn(accept_loop(l, ev_tx.clone(), false));
        }
        for (l, endpoint) in http {
            tasks.spawn(crate::http::serve(l, endpoint, stats_rx.clone()));
        }
        let disk_tx = ev_tx.clone();
        let disk_counters = counters.clone();
        let disk = Disk::start(data_dir.clone(), id, disk_counters, move |ack| {
            disk_tx.blocking_send(Ev::Disk(ack)).is_ok()
        });
        tracing::info!(
            "server {id} serving clients on {}, peers on {}",
            addrs.client,
            addrs
                .peer
                .map_or("(standalone)".to_string(), |a| a.to_string())
        );
        let lp = Loop {
            node,
            config,
            start: std_start,
            conns: HashMap::new(),
            dials: HashSet::new(),
            disk: Some(disk),
            tasks,
            ev_tx,
            next_accepted: 0,
            next_conn: 0,
            stats_tx,
            counters,
            halted: None,
            publish_now: true,
            size_cache: (None, 0, 0),
        };
        let task = tokio::spawn(tracing::Instrument::instrument(
            lp.run(ev_rx, stop_rx),
            tracing::info_span!("server", id),
        ));
        Ok(Member {
            id,
            addrs,
            stats: stats_rx,
            stop: stop_tx,
            task,
        })
    }

    /// The latest stats the member published.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.borrow().clone()
    }

    /// A receiver of every stats update.
    pub fn stats_watch(&self) -> watch::Receiver<Arc<Stats>> {
        self.stats.clone()
    }

    /// Stops the member: closes its sockets, lets queued disk writes finish.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(true);
        self.task.await.map_err(|e| e.to_string())?
    }

    /// Kills the member's task at once (a crash, as far as its peers can tell).
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Waits until the member stops on its own (a disk failure halts it) or is stopped.
    pub async fn wait(&mut self) -> Result<(), String> {
        (&mut self.task).await.map_err(|e| e.to_string())?
    }

    /// A handle that asks the member to stop, for signal handlers.
    pub fn stopper(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

async fn accept_loop(l: TcpListener, tx: mpsc::Sender<Ev>, clients: bool) {
    loop {
        match l.accept().await {
            Ok((s, addr)) => {
                let _ = s.set_nodelay(true);
                let ev = if clients {
                    Ev::ClientAccepted(s, addr)
                } else {
                    Ev::PeerAccepted(s)
                };
                if tx.send(ev).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept on {:?} failed: {e}", l.local_addr());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn reader(
    key: Key,
    mut r: OwnedReadHalf,
    tx: mpsc::Sender<Ev>,
    mut gate: Option<watch::Receiver<bool>>,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        if let Some(g) = gate.as_mut() {
            if g.wait_for(|open| *open).await.is_err() {
                return;
            }
        }
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => {
                let _ = tx.send(Ev::Closed(key)).await;
                return;
            }
            Ok(n) => {
                if tx.send(Ev::Bytes(key, buf[..n].to_vec())).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn writer(
    key: Key,
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    tx: mpsc::Sender<Ev>,
    queued: Arc<AtomicU64>,
) {
    let mut batch = Vec::new();
    while let Some(first) = rx.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        while batch.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(more) => batch.extend_from_slice(&more),
                Err(_) => break,
            }
        }
        if w.write_all(&batch).await.is_err() {
            let _ = tx.send(Ev::Closed(key)).await;
            return;
        }
        queued.fetch_sub(batch.len() as u64, Ordering::Relaxed);
    }
    // The node closed the connection: everything queued is written; say goodbye.
    let _ = w.shutdown().await;
}

struct Loop {
    node: Node<ZkService>,
    config: Config,
    start: std::time::Instant,
    conns: HashMap<Key, Conn>,
    dials: HashSet<LinkId>,
    disk: Option<Disk>,
    tasks: JoinSet<()>,
    ev_tx: mpsc::Sender<Ev>,
    next_accepted: u64,
    next_conn: u64,
    stats_tx: watch::Sender<Arc<Stats>>,
    counters: Arc<Counters>,
    halted: Option<String>,
    publish_now: bool,
    /// (last applied zxid when computed, approximate data size, ephemerals).
    size_cache: (Option<u64>, u64, u64),
}

impl Loop {
    fn now(&self) -> conclave_core::Instant {
        conclave_core::Instant::from_nanos(self.start.elapsed().as_nanos() as u64)
    }

    async fn run(
        mut self,
        mut ev_rx: mpsc::Receiver<Ev>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let tokio_start = tokio::time::Instant::from_std(self.start);
        self.handle(Input::WallClock { unix_ms: unix_ms() });
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let result = loop {
            let deadline = self
                .node
                .poll_timeout()
                .map(|at| tokio_start + Duration::from_nanos(at.as_nanos()));
            tokio::select! {
                biased;
                _ = stop.changed() => break Ok(()),
                ev = ev_rx.recv() => {
                    let Some(ev) = ev else { break Ok(()) };
                    self.on_event(ev);
                    // Take what else is queued before sleeping again (bounded, stays fair).
                    for _ in 0..256 {
                        match ev_rx.try_recv() {
                            Ok(ev) => self.on_event(ev),
                            Err(_) => break,
                        }
                    }
                }
                _ = sleep_until_opt(deadline) => self.handle(Input::Timeout),
                _ = tick.tick() => {
                    self.handle(Input::WallClock { unix_ms: unix_ms() });
                    self.publish_now = true;
                }
            }
            if let Some(why) = self.halted.clone() {
                self.publish();
                break Err(why);
            }
            if self.publish_now {
                self.publish();
            }
            while self.tasks.try_join_next().is_some() {}
        };
        // Close every socket, then let the disk thread finish what is queued.
        self.conns.clear();
        self.tasks.shutdown().await;
        if let Some(disk) = self.disk.take() {
            let _ = tokio::task::spawn_blocking(move || disk.finish()).await;
        }
        tracing::info!("server {} stopped", self.config.my_id);
        result
    }

    fn handle(&mut self, input: Input) {
        let now = self.now();
        self.node.handle(now, input);
        while let Some(out) = self.node.poll_output() {
            self.act(out);
        }
    }

    fn open(&mut self, key: Key, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let (r, w) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let (gate_tx, gate_rx) = match key {
            Key::Client(_) => {
                let (t, r) = watch::channel(true);
                (Some(t), Some(r))
            }
            Key::Peer(_) => (None, None),
        };
        let reader = self
            .tasks
            .spawn(reader(key, r, self.ev_tx.clone(), gate_rx));
        let queued = Arc::new(AtomicU64::new(0));
        self.tasks
            .spawn(writer(key, w, rx, self.ev_tx.clone(), queued.clone()));
        self.conns.insert(
            key,
            Conn {
                tx,
                reader,
                gate: gate_tx,
                queued,
            },
        );
    }

    fn close(&mut self, key: Key) -> bool {
        match self.conns.remove(&key) {
            Some(c) => {
                // Dropping `tx` lets the writer flush what is queued, then shut the socket.
                c.reader.abort();
                true
            }
            None => false,
        }
    }

    fn on_event(&mut self, ev: Ev) {
        match ev {
            Ev::PeerAccepted(s) => {
                self.next_accepted += 1;
                let link = LinkId::Accepted(self.next_accepted);
                self.open(Key::Peer(link), s);
                self.handle(Input::PeerAccepted { link });
            }
            Ev::ClientAccepted(s, addr) => {
                self.next_conn += 1;
                let conn = self.next_conn;
                self.open(Key::Client(conn), s);
                self.handle(Input::ClientConnected {
                    conn,
                    addr: addr.to_string(),
                });
            }
            Ev::Dialed(link, result) => {
                if !self.dials.remove(&link) {
                    return; // abandoned by the node meanwhile: drop the socket
                }
                match result {
                    Ok(s) => {
                        self.open(Key::Peer(link), s);
                        self.handle(Input::PeerConnected { link });
                    }
                    Err(_) => self.handle(Input::PeerDisconnected { link }),
                }
            }
            Ev::Bytes(key, bytes) => {
                if !self.conns.contains_key(&key) {
                    return;
                }
                match key {
                    Key::Peer(link) => {
                        self.counters
                            .peer_bytes_in
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        self.handle(Input::PeerBytes { link, bytes })
                    }
                    Key::Client(conn) => {
                        self.counters
                            .client_bytes_in
                            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                        self.handle(Input::ClientBytes { conn, bytes })
                    }
                }
            }
            Ev::Closed(key) => {
                if self.close(key) {
                    match key {
                        Key::Peer(link) => self.handle(Input::PeerDisconnected { link }),
                        Key::Client(conn) => self.handle(Input::ClientDisconnected { conn }),
                    }
                }
            }
            Ev::Disk(DiskAck::Persisted(seq)) => {
                tracing::trace!("persisted up to {seq}");
                self.handle(Input::Persisted { seq })
            }
            Ev::Disk(DiskAck::Failed(seq, error)) => {
                tracing::error!(
                    "server {} cannot write its data directory and stops serving: {error}",
                    self.config.my_id
                );
                self.handle(Input::PersistFailed {
                    seq,
                    error: error.clone(),
                });
                self.halted = Some(format!("disk write failed: {error}"));
            }
        }
    }

    fn send(&mut self, key: Key, bytes: Vec<u8>) {
        let Some(c) = self.conns.get(&key) else {
            return;
        };
        let len = bytes.len() as u64;
        if c.queued.load(Ordering::Relaxed) + len > MAX_QUEUED_BYTES {
            tracing::warn!(
                "{key:?}: more than {MAX_QUEUED_BYTES} bytes unread by the other side; closing"
            );
            self.close(key);
            let input = match key {
                Key::Peer(link) => Input::PeerDisconnected { link },
                Key::Client(conn) => Input::ClientDisconnected { conn },
            };
            self.handle(input);
            return;
        }
        c.queued.fetch_add(len, Ordering::Relaxed);
        let counter = match key {
            Key::Peer(_) => &self.counters.peer_bytes_out,
            Key::Client(_) => &self.counters.client_bytes_out,
        };
        counter.fetch_add(len, Ordering::Relaxed);
        let _ = c.tx.send(bytes);
    }

    fn act(&mut self, out: Output) {
        tracing::trace!("output {out:?}");
        match out {
            Output::Dial { link, peer, addr } => {
                self.dials.insert(link);
                let tx = self.ev_tx.clone();
                self.tasks.spawn(async move {
                    let r = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
                        .await
                    {
                        Ok(r) => r,
                        Err(_) => Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "connect timed out",
                        )),
                    };
                    if let Err(e) = &r {
                        tracing::debug!("dial to server {peer} at {addr} failed: {e}");
                    }
                    let _ = tx.send(Ev::Dialed(link, r)).await;
                });
            }
            Output::SendPeer { link, bytes } => self.send(Key::Peer(link), bytes),
            Output::SendClient { conn, bytes } => self.send(Key::Client(conn), bytes),
            Output::ClosePeer { link } => {
                self.dials.remove(&link);
                self.close(Key::Peer(link));
            }
            Output::CloseClient { conn } => {
                self.close(Key::Client(conn));
            }
            Output::ReadClient { conn, read } => {
                if let Some(g) = self
                    .conns
                    .get(&Key::Client(conn))
                    .and_then(|c| c.gate.as_ref())
                {
                    let _ = g.send(read);
                }
            }
            Output::Persist { seq, op } => {
                let ok = self.disk.as_ref().is_some_and(|d| d.submit(seq, op));
                if !ok && self.halted.is_none() {
                    // The disk thread stopped; its failure (logged above) is queued for us.
                    self.halted = Some("the disk thread stopped after a write failure".to_string());
                }
            }
            Output::Event(e) => self.event(e),
        }
    }

    fn event(&mut self, e: NodeEvent) {
        let id = self.config.my_id;
        match e {
            NodeEvent::RoleChanged { from, to } => {
                self.publish_now = true;
                tracing::info!(
                    "Peer state changed: {} (was {})",
                    role_name(to),
                    role_name(from)
                );
            }
            NodeEvent::VoteCast { round, vote } => {
                tracing::debug!(
                    "New election. My id = {id}, proposed zxid={} leader={} round {round}",
                    vote.zxid,
                    vote.leader
                );
            }
            NodeEvent::Elected {
                leader,
                took_ms,
                supporters,
                round,
                ..
            } => {
                self.publish_now = true;
                self.counters.record_election(took_ms);
                let state = if leader == id {
                    "LEADING"
                } else if self.config.is_voter(id) || self.config.servers.is_empty() {
                    "FOLLOWING"
                } else {
                    "OBSERVING"
                };
                tracing::info!(
                    "{state} - LEADER ELECTION TOOK - {took_ms} MS (leader {leader}, round {round}, \
                     supporters {supporters:?})"
                );
            }
            NodeEvent::LeaderEstablished { epoch, quorum } => {
                self.publish_now = true;
                tracing::info!(
                    "Have quorum of supporters, sids: {quorum:?}; starting up leader epoch {epoch}"
                );
            }
            NodeEvent::FollowerSynced { leader, epoch } => {
                self.publish_now = true;
                tracing::info!("synchronized with leader {leader} in epoch {epoch}");
            }
            NodeEvent::SteppedDown { reason } => {
                self.publish_now = true;
                tracing::warn!("stepping down: {reason:?}");
            }
            NodeEvent::PeerUp { peer } => tracing::info!("link to server {peer} up"),
            NodeEvent::PeerDown { peer } => tracing::info!("link to server {peer} down"),
            NodeEvent::LinkRejected { link, reason } => {
                tracing::warn!("peer link {link:?} rejected: {reason:?}")
            }
            NodeEvent::TxnApplied { .. } => {}
            NodeEvent::WriteCommitted { .. } => {
                self.counters
                    .writes_committed
                    .fetch_add(1, Ordering::Relaxed);
            }
            NodeEvent::WriteFailed {
                session_id,
                cxid,
                reason,
            } => {
                self.counters.writes_failed.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("write 0x{session_id:x}/{cxid} failed: {reason:?}");
            }
            NodeEvent::SessionExpired { session_id } => {
                self.counters
                    .sessions_expired
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!("Expiring session 0x{session_id:x}");
            }
            NodeEvent::SnapshotTaken { zxid } => tracing::info!("Snapshot taken at zxid {zxid}"),
            NodeEvent::SnapshotInstalled { zxid } => {
                tracing::info!("Snapshot installed from the leader at zxid {zxid}")
            }
            NodeEvent::Halted { reason } => {
                tracing::error!("server {id} halted: {reason}");
                self.halted.get_or_insert(reason);
            }
        }
    }

    fn publish(&mut self) {
        self.publish_now = false;
        let sm = self.node.state_machine();
        let tree = sm.tree();
        let applied = self.node.status().last_applied.0;
        // approximate_data_size and ephemerals_count are O(n) here (the core keeps no
        // running totals); recompute only when the tree changed.
        if self.size_cache.0 != Some(applied) {
            let size: u64 = tree
                .nodes()
                .map(|(p, n)| p.len() as u64 + n.data.as_ref().map_or(0, |d| d.len() as u64))
                .sum();
            let eph: u64 = tree
                .sessions()
                .keys()
                .map(|s| tree.ephemerals(*s).count() as u64)
                .sum();
            self.size_cache = (Some(applied), size, eph);
        }
        let prev = self.stats_tx.borrow().clone();
        let stats = Stats::from_node(
            &prev,
            &self.node,
            self.size_cache.1,
            self.size_cache.2,
            self.start,
        );
        let _ = self.stats_tx.send(Arc::new(stats));
    }
}

async fn sleep_until_opt(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// ZooKeeper's lowercase state names.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Looking => "looking",
        Role::Following => "following",
        Role::Leading => "leading",
        Role::Observing => "observing",
        Role::Halted => "halted",
    }
}
