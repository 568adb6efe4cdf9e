//! One member on async-io: a task that owns the [`Node`], a reader and a writer task per
//! socket, and the disk thread. Everything the node says is carried out here; nothing is
//! decided here (the core's [`Wiring`] names sockets and maps events).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use async_channel::{Receiver, Sender};
use async_executor::{Executor, Task};
use async_io::{Async, Timer};
use conclave_core::host::{Action, Driver, Listener, Loaded, Socket};
use conclave_core::{LinkId, ServerId, Status};
use conclave_std::busy_poll::{self, BusyPoll};
use conclave_std::disk::{persist, Disk, DiskAck};
use conclave_std::process::{log_line, unix_ms};
use conclave_std::{Clock, ListenAddrs, SharedStatus};
use futures_lite::{future, AsyncWriteExt};

pub use conclave_std::listen::CONNECT_TIMEOUT;
const EVENT_QUEUE: usize = 1024;

enum Ev {
    Accepted(Listener, Async<TcpStream>, SocketAddr),
    Dialed(LinkId, std::io::Result<Async<TcpStream>>),
    Bytes(Socket, Vec<u8>),
    Written(Socket, usize),
    Closed(Socket),
    Disk(DiskAck),
}

struct Conn {
    tx: Sender<Vec<u8>>,
    gate: Sender<bool>,
    reader: Task<()>,
    writer: Task<()>,
}

/// A running member: its task runs on the executor it was started on.
pub struct Member {
    /// Its server id.
    pub id: ServerId,
    /// Where it listens.
    pub addrs: ListenAddrs,
    status: SharedStatus,
    stop: Sender<()>,
    task: Task<Result<(), String>>,
}

impl Member {
    /// Binds every port, builds the node and starts its task on `ex`.
    pub fn start(loaded: Loaded, ex: &Arc<Executor<'static>>) -> Result<Member, String> {
        let p = conclave_std::prepare(loaded)?;
        let status = SharedStatus::new(p.driver.status());
        let (ev_tx, ev_rx) = async_channel::bounded(EVENT_QUEUE);
        let (stop_tx, stop_rx) = async_channel::bounded(1);
        let mut tasks = Vec::new();
        for (l, kind) in p.listeners {
            let l = Async::new(l).map_err(|e| e.to_string())?;
            tasks.push(ex.spawn(accept_loop(l, kind, ev_tx.clone())));
        }
        let disk_tx = ev_tx.clone();
        let disk = Disk::start(p.data_dir.into(), p.id, p.busy_poll.clone(), move |ack| {
            disk_tx.send_blocking(Ev::Disk(ack)).is_ok()
        });
        let lp = Loop {
            driver: p.driver,
            clock: p.clock,
            ex: ex.clone(),
            conns: HashMap::new(),
            disk: Some(disk),
            tasks,
            ev_tx,
            status: status.clone(),
            busy: p.busy_poll,
        };
        let task = ex.spawn(tracing::Instrument::instrument(
            lp.run(ev_rx, stop_rx),
            tracing::info_span!("server", id = p.id),
        ));
        Ok(Member {
            id: p.id,
            addrs: p.addrs,
            status,
            stop: stop_tx,
            task,
        })
    }

    /// What the node was doing when it last changed.
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// A handle that asks the member to stop (for signal handlers): send `()` or drop it.
    pub fn stopper(&self) -> Sender<()> {
        self.stop.clone()
    }

    /// Stops the member: closes its sockets, lets queued disk writes finish.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.try_send(());
        self.task.await
    }

    /// Waits until the member stops on its own (a disk failure halts it) or is stopped.
    pub async fn wait(self) -> Result<(), String> {
        self.task.await
    }

    /// Kills the member's task at once (a crash, as far as its peers can tell).
    pub async fn kill(self) {
        drop(self.task.cancel().await);
    }
}

async fn accept_loop(l: Async<TcpListener>, kind: Listener, tx: Sender<Ev>) {
    loop {
        match l.accept().await {
            Ok((s, addr)) => {
                let _ = s.get_ref().set_nodelay(true);
                if tx.send(Ev::Accepted(kind, s, addr)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("accept on {:?} failed: {e}", l.get_ref().local_addr());
                Timer::after(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn reader(key: Socket, s: Arc<Async<TcpStream>>, tx: Sender<Ev>, gate: Receiver<bool>) {
    use conclave_std::scratch::{read_with, Read};
    let mut open = true;
    loop {
        while let Ok(g) = gate.try_recv() {
            open = g;
        }
        if !open {
            match gate.recv().await {
                Ok(g) => open = g,
                Err(_) => return,
            }
            continue;
        }
        // No buffer of its own while idle: readiness first, then one per-thread scratch.
        let got = match s.readable().await {
            Ok(()) => read_with(|buf| std::io::Read::read(&mut s.get_ref(), buf)),
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

async fn writer(key: Socket, s: Arc<Async<TcpStream>>, rx: Receiver<Vec<u8>>, tx: Sender<Ev>) {
    // The first message is the batch (never copied: a large reply is held once).
    while let Ok(mut batch) = rx.recv().await {
        while let Ok(more) = rx.try_recv() {
            batch.extend_from_slice(&more);
        }
        if (&*s).write_all(&batch).await.is_err() {
            let _ = tx.send(Ev::Closed(key)).await;
            return;
        }
        let _ = tx.send(Ev::Written(key, batch.len())).await;
    }
    // The node closed the connection: everything queued is written; say goodbye.
    let _ = s.get_ref().shutdown(std::net::Shutdown::Write);
}

async fn dial(addr: String) -> std::io::Result<Async<TcpStream>> {
    let connect = Async::<TcpStream>::connect(conclave_std::listen::resolve(&addr)?);
    let timeout = async {
        Timer::after(CONNECT_TIMEOUT).await;
        Err(std::io::ErrorKind::TimedOut.into())
    };
    let s = future::or(connect, timeout).await?;
    let _ = s.get_ref().set_nodelay(true);
    Ok(s)
}

struct Loop {
    driver: Driver,
    clock: Clock,
    ex: Arc<Executor<'static>>,
    conns: HashMap<Socket, Conn>,
    disk: Option<Disk>,
    tasks: Vec<Task<()>>,
    ev_tx: Sender<Ev>,
    status: SharedStatus,
    busy: BusyPoll,
}

enum Wake {
    Stop,
    Ev(Option<Ev>),
    Timeout,
}

impl Loop {
    fn now(&self) -> conclave_core::Instant {
        self.clock.now()
    }

    async fn run(mut self, ev_rx: Receiver<Ev>, stop: Receiver<()>) -> Result<(), String> {
        self.drain();
        let result = loop {
            let deadline = self.clock.at(self.driver.poll_timeout());
            let wake = future::or(
                async {
                    let _ = stop.recv().await;
                    Wake::Stop
                },
                future::or(async { Wake::Ev(ev_rx.recv().await.ok()) }, async {
                    Timer::at(deadline).await;
                    Wake::Timeout
                }),
            )
            .await;
            let now = self.now();
            match wake {
                Wake::Stop | Wake::Ev(None) => break Ok(()),
                Wake::Ev(Some(ev)) => {
                    busy_poll::SHARED.extend(self.busy.window());
                    self.on_event(ev);
                    // Take what else is queued before sleeping again (bounded, stays fair).
                    for _ in 0..256 {
                        if !stop.is_empty() || stop.is_closed() {
                            self.driver.stopping();
                            break;
                        }
                        match ev_rx.try_recv() {
                            Ok(ev) => self.on_event(ev),
                            Err(_) => break,
                        }
                    }
                }
                Wake::Timeout => self.driver.timeout(now, unix_ms()),
            }
            self.drain();
            self.status.set(self.driver.status());
            if let Some(why) = self.driver.halted() {
                break Err(why.to_string());
            }
        };
        // Close every socket, then let the disk thread finish what is queued.
        self.conns.clear();
        self.tasks.clear();
        if let Some(disk) = self.disk.take() {
            let (tx, rx) = async_channel::bounded(1);
            std::thread::spawn(move || {
                disk.finish();
                let _ = tx.send_blocking(());
            });
            let _ = rx.recv().await;
        }
        tracing::info!("server {} stopped", self.driver.node().config().my_id);
        result
    }

    fn drain(&mut self) {
        conclave_std::disk::drain(self);
    }

    fn open(&mut self, key: Socket, stream: Async<TcpStream>) {
        let s = Arc::new(stream);
        let (tx, rx) = async_channel::unbounded();
        let (gate, gate_rx) = async_channel::unbounded();
        let reader_task = self
            .ex
            .spawn(reader(key, s.clone(), self.ev_tx.clone(), gate_rx));
        let writer_task = self.ex.spawn(writer(key, s, rx, self.ev_tx.clone()));
        self.conns.insert(
            key,
            Conn {
                tx,
                gate,
                reader: reader_task,
                writer: writer_task,
            },
        );
    }

    /// Stops reading at once; the writer flushes what is queued, then shuts the socket.
    fn close(&mut self, key: Socket) {
        if let Some(c) = self.conns.remove(&key) {
            drop(c.reader);
            c.tx.close();
            c.writer.detach();
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
                self.ex
                    .spawn(async move {
                        let r = dial(addr.clone()).await;
                        if let Err(e) = &r {
                            tracing::debug!("dial to server {peer} at {addr} failed: {e}");
                        }
                        let _ = tx.send(Ev::Dialed(link, r)).await;
                    })
                    .detach();
            }
            Action::Send { socket, bytes } => {
                if let Some(c) = self.conns.get(&socket) {
                    let _ = c.tx.try_send(bytes);
                }
            }
            Action::Close(socket) => self.close(socket),
            // Dropping both tasks cancels them; the socket closes with them.
            Action::Abort(socket) => drop(self.conns.remove(&socket)),
            Action::Read { socket, read } => {
                if let Some(c) = self.conns.get(&socket) {
                    let _ = c.gate.try_send(read);
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
