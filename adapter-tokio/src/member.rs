//! One member: a tokio task that owns the [`Node`], reader and writer tasks per socket, and a
//! disk thread. Everything the node says is carried out here; nothing is decided here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use conclave_core::host::{Action, Driver, Listener, Loaded, Socket};
use conclave_core::{LinkId, ServerId, Status};
use conclave_std::busy_poll::BusyPoll;
use conclave_std::disk::{persist, Disk, DiskAck};
use conclave_std::process::{log_line, unix_ms};
use conclave_std::{Clock, ListenAddrs};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

pub use conclave_std::listen::CONNECT_TIMEOUT;
const EVENT_QUEUE: usize = 1024;
const WRITE_BATCH: usize = 256 * 1024;

#[derive(Debug)]
enum Ev {
    Accepted(Listener, TcpStream, SocketAddr),
    Dialed(LinkId, std::io::Result<TcpStream>),
    Bytes(Socket, Vec<u8>),
    Written(Socket, usize),
    Closed(Socket),
    Disk(DiskAck),
}

struct Conn {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    reader: AbortHandle,
    writer: AbortHandle,
    gate: watch::Sender<bool>,
}

/// A running member.
#[derive(Debug)]
pub struct Member {
    /// Its server id.
    pub id: ServerId,
    /// Where it listens.
    pub addrs: ListenAddrs,
    status: watch::Receiver<Status>,
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), String>>,
}

impl Member {
    /// Binds every port, builds the node and starts its task.
    pub async fn start(loaded: Loaded) -> Result<Member, String> {
        let p = conclave_std::prepare(loaded)?;
        let (status_tx, status_rx) = watch::channel(p.driver.status());
        let (stop_tx, stop_rx) = watch::channel(false);
        let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
        let mut tasks = JoinSet::new();
        for (l, kind) in p.listeners {
            let l = TcpListener::from_std(l).map_err(|e| e.to_string())?;
            tasks.spawn(accept_loop(l, kind, ev_tx.clone()));
        }
        let disk_tx = ev_tx.clone();
        let disk = Disk::start(p.data_dir.into(), p.id, p.busy_poll.clone(), move |ack| {
            disk_tx.blocking_send(Ev::Disk(ack)).is_ok()
        });
        let lp = Loop {
            driver: p.driver,
            clock: p.clock,
            conns: HashMap::new(),
            disk: Some(disk),
            tasks,
            ev_tx,
            status_tx,
            busy: p.busy_poll,
        };
        let task = tokio::spawn(tracing::Instrument::instrument(
            lp.run(ev_rx, stop_rx),
            tracing::info_span!("server", id = p.id),
        ));
        Ok(Member {
            id: p.id,
            addrs: p.addrs,
            status: status_rx,
            stop: stop_tx,
            task,
        })
    }

    /// What the node was doing when it last changed.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Stops the member: closes its sockets, lets queued disk writes finish.
    pub async fn stop(mut self) -> Result<(), String> {
        let _ = self.stop.send(true);
        self.wait().await
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

async fn accept_loop(l: TcpListener, port: Listener, tx: mpsc::Sender<Ev>) {
    loop {
        match l.accept().await {
            Ok((s, addr)) => {
                let _ = s.set_nodelay(true);
                if tx.send(Ev::Accepted(port, s, addr)).await.is_err() {
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
    key: Socket,
    r: OwnedReadHalf,
    tx: mpsc::Sender<Ev>,
    mut gate: watch::Receiver<bool>,
) {
    use conclave_std::scratch::{read_with, Read};
    loop {
        if gate.wait_for(|open| *open).await.is_err() {
            return;
        }
        // No buffer of its own while idle: readiness first, then one per-thread scratch.
        let got = match r.readable().await {
            Ok(()) => read_with(|buf| r.try_read(buf)),
            Err(_) => Read::Closed,
        };
        match got {
            Read::WouldBlock => {}
            Read::Closed => {
                let _ = tx.send(Ev::Closed(key)).await;
                return;
            }
            Read::Bytes(bytes) => {
                if tx.send(Ev::Bytes(key, bytes)).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn writer(
    key: Socket,
    mut w: OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    tx: mpsc::Sender<Ev>,
) {
    // The first message is the batch (never copied: a large reply is held once).
    while let Some(mut batch) = rx.recv().await {
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
        let _ = tx.send(Ev::Written(key, batch.len())).await;
    }
    // The node closed the connection: everything queued is written; say goodbye.
    let _ = w.shutdown().await;
}

struct Loop {
    driver: Driver,
    clock: Clock,
    conns: HashMap<Socket, Conn>,
    disk: Option<Disk>,
    tasks: JoinSet<()>,
    ev_tx: mpsc::Sender<Ev>,
    status_tx: watch::Sender<Status>,
    busy: BusyPoll,
}

impl Loop {
    fn now(&self) -> conclave_core::Instant {
        self.clock.now()
    }

    async fn run(
        mut self,
        mut ev_rx: mpsc::Receiver<Ev>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        self.drain();
        // A turn just ended: its sends sit with the writer tasks, which run when this task
        // yields to the runtime — before any `BusyPoll::again`, whose thread yield could let
        // another thread run first.
        let mut turned = false;
        let result = loop {
            let deadline = self.clock.at(self.driver.poll_timeout()).into();
            let spin = (turned && !self.busy.window().is_zero()) || self.busy.again();
            turned = false;
            tokio::select! {
                biased;
                _ = stop.changed() => break Ok(()),
                ev = ev_rx.recv() => {
                    let Some(ev) = ev else { break Ok(()) };
                    self.busy.active();
                    self.on_event(ev);
                    // Take what else is queued before sleeping again (bounded, stays fair).
                    for _ in 0..256 {
                        if *stop.borrow() {
                            self.driver.stopping();
                            break;
                        }
                        match ev_rx.try_recv() {
                            Ok(ev) => self.on_event(ev),
                            Err(_) => break,
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => self.driver.timeout(self.now(), unix_ms()),
                // Busy-polling: the runtime polls its reactor (not sleeping) before this
                // task runs again.
                _ = tokio::task::yield_now(), if spin => continue,
            }
            self.drain();
            let status = self.driver.status();
            self.status_tx
                .send_if_modified(|s| (*s != status).then(|| *s = status).is_some());
            if let Some(why) = self.driver.halted() {
                break Err(why.to_string());
            }
            while self.tasks.try_join_next().is_some() {}
            turned = true;
        };
        // Close every socket, then let the disk thread finish what is queued.
        self.conns.clear();
        self.tasks.shutdown().await;
        if let Some(disk) = self.disk.take() {
            let _ = tokio::task::spawn_blocking(move || disk.finish()).await;
        }
        tracing::info!("server {} stopped", self.driver.node().config().my_id);
        result
    }

    fn drain(&mut self) {
        conclave_std::disk::drain(self);
    }

    fn open(&mut self, key: Socket, stream: TcpStream) {
        let (r, w) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let (gate, gate_rx) = watch::channel(true);
        let reader = self
            .tasks
            .spawn(reader(key, r, self.ev_tx.clone(), gate_rx));
        let writer = self.tasks.spawn(writer(key, w, rx, self.ev_tx.clone()));
        self.conns.insert(
            key,
            Conn {
                tx,
                reader,
                writer,
                gate,
            },
        );
    }

    /// Dropping `tx` lets the writer flush what is queued, then shut the socket.
    fn close(&mut self, key: Socket) {
        if let Some(c) = self.conns.remove(&key) {
            c.reader.abort();
        }
    }

    fn on_event(&mut self, ev: Ev) {
        let now = self.now();
        match ev {
            Ev::Accepted(listener, s, addr) => {
                let key = self.driver.accepted(now, listener, addr);
                self.open(key, s);
            }
            Ev::Dialed(link, result) => {
                if self.driver.dialed(now, link, result.is_ok()) {
                    if let Ok(s) = result {
                        self.open(Socket::Peer(link), s);
                    }
                }
            }
            Ev::Bytes(key, bytes) => self.driver.read(now, key, &bytes),
            Ev::Written(key, n) => self.driver.written(now, key, n),
            Ev::Closed(key) => {
                self.close(key);
                self.driver.closed(now, key);
            }
            Ev::Disk(ack) => ack.deliver(&mut self.driver, now),
        }
        self.drain();
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Dial { link, peer, addr } => {
                let tx = self.ev_tx.clone();
                self.tasks.spawn(async move {
                    let r = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
                        .await
                        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
                        .inspect(|s| {
                            let _ = s.set_nodelay(true);
                        });
                    if let Err(e) = &r {
                        tracing::debug!("dial to server {peer} at {addr} failed: {e}");
                    }
                    let _ = tx.send(Ev::Dialed(link, r)).await;
                });
            }
            Action::Send { socket, bytes } => {
                if let Some(c) = self.conns.get(&socket) {
                    let _ = c.tx.send(bytes);
                }
            }
            Action::Close(socket) => self.close(socket),
            Action::Abort(socket) => {
                if let Some(c) = self.conns.remove(&socket) {
                    c.reader.abort();
                    c.writer.abort();
                }
            }
            Action::Read { socket, read } => {
                if let Some(c) = self.conns.get(&socket) {
                    let _ = c.gate.send(read);
                }
            }
            Action::Persist { seq, op } => {
                let now = self.now();
                persist(self.disk.as_mut(), &mut self.driver, now, seq, op);
            }
            Action::Log { level, line } => log_line(level, &line),
        }
    }
}

impl conclave_std::disk::MemberLoop for Loop {
    type Service = conclave_core::ZkService;
    fn driver_and_disk(&mut self) -> (&mut Driver, Option<&mut Disk>) {
        (&mut self.driver, self.disk.as_mut())
    }
    fn clock_now(&self) -> conclave_core::Instant {
        self.now()
    }
    fn act_on(&mut self, action: Action) {
        self.act(action);
    }
}
