//! One member on one thread: a `mio::Poll` loop that owns the node, every listener and every
//! socket. Readiness is edge-triggered, so every read and write goes on until `WouldBlock`;
//! bytes a socket cannot take yet wait in a bounded per-connection buffer. The disk thread
//! (conclave-std's) acknowledges through a channel and wakes the loop with a `mio::Waker`.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use conclave_core::host::{Action, Driver, Listener, Loaded, Socket};
use conclave_core::{LinkId, ServerId, Status};
use conclave_std::busy_poll::BusyPoll;
use conclave_std::control::{Control, Order};
use conclave_std::disk::{persist, Disk, DiskAck};
use conclave_std::process::{log_line, unix_ms};
use conclave_std::{Clock, ListenAddrs, SharedStatus};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

pub use conclave_std::listen::CONNECT_TIMEOUT;
use conclave_std::scratch::READ_CHUNK;
/// Chunks read from one socket per wake-up before the others get a turn.
const READS_PER_TURN: usize = 64;
const WAKER: Token = Token(0);
/// Pause before accepting again after `accept` failed (EMFILE and friends).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Asks a member's loop to stop, from any thread.
#[derive(Clone, Debug)]
pub struct Stopper(Arc<Control>, Arc<Waker>);

impl Stopper {
    /// Asks the member to stop: it closes its sockets and lets queued disk writes finish.
    pub fn stop(&self) {
        self.order(Order::Stop);
    }

    fn order(&self, order: Order) {
        self.0.order(order);
        let _ = self.1.wake();
    }
}

/// A running member: its loop runs on a thread of its own.
#[derive(Debug)]
pub struct Member {
    /// Its server id.
    pub id: ServerId,
    /// Where it listens.
    pub addrs: ListenAddrs,
    status: SharedStatus,
    stop: Stopper,
    thread: JoinHandle<Result<(), String>>,
}

impl Member {
    /// Binds every port, builds the node and starts its loop on a new thread.
    pub fn start(loaded: Loaded) -> Result<Member, String> {
        let p = conclave_std::prepare(loaded)?;
        let fail = |e: std::io::Error| format!("cannot start the event loop: {e}");
        let poll = Poll::new().map_err(fail)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(fail)?);
        let mut listeners = Vec::new();
        for (i, (l, kind)) in p.listeners.into_iter().enumerate() {
            let mut l = TcpListener::from_std(l);
            poll.registry()
                .register(&mut l, Token(i + 1), Interest::READABLE)
                .map_err(fail)?;
            listeners.push((l, kind));
        }
        let (ack_tx, acks) = mpsc::channel();
        let disk_waker = waker.clone();
        let disk = Disk::start(p.data_dir.into(), p.id, p.busy_poll.clone(), move |ack| {
            ack_tx.send(ack).is_ok() && disk_waker.wake().is_ok()
        });
        // One waker per Poll (mio's rule): the disk thread and the stopper share it.
        let stop = Stopper(Arc::new(Control::default()), waker);
        let status = SharedStatus::new(p.driver.status());
        let lp = Loop {
            next_token: listeners.len() + 1,
            poll,
            driver: p.driver,
            clock: p.clock,
            listeners,
            conns: HashMap::new(),
            tokens: HashMap::new(),
            dials: HashMap::new(),
            again: Vec::new(),
            dirty: Vec::new(),
            buf: vec![0; READ_CHUNK],
            accept_again: None,
            disk: Some(disk),
            acks,
            busy: p.busy_poll,
            stop: stop.clone(),
            status: status.clone(),
        };
        let span = tracing::info_span!("server", id = p.id);
        let thread = std::thread::Builder::new()
            .name(format!("conclave-{}", p.id))
            .spawn(move || span.in_scope(|| lp.run()))
            .map_err(fail)?;
        Ok(Member {
            id: p.id,
            addrs: p.addrs,
            status,
            stop,
            thread,
        })
    }

    /// What the node was doing when it last changed.
    pub fn status(&self) -> Status {
        self.status.get()
    }

    /// A handle that asks the member to stop (for signal handlers).
    pub fn stopper(&self) -> Stopper {
        self.stop.clone()
    }

    /// Ends the member at once, as `kill -9` would: no goodbye, nothing more written (the
    /// disk finishes the batch it is in), sockets closed; returns when it is gone.
    pub fn kill(self) {
        self.stop.order(Order::Kill);
        let _ = self.thread.join();
    }

    /// Freezes the loop where it stands, as SIGSTOP freezes a process: sockets stay open
    /// and unanswered, timers wait. For fault-injection tests of embedders.
    pub fn freeze(&self) {
        self.stop.order(Order::Freeze);
    }

    /// Lets a frozen loop run on (its timers fire late, as after SIGCONT).
    pub fn thaw(&self) {
        self.stop.order(Order::Run);
    }

    /// True once the loop has ended (stopped, or halted by a disk failure).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits until the loop ends and returns why.
    pub fn wait(self) -> Result<(), String> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err("the member's thread panicked".to_string()))
    }
}

/// A socket, the bytes the kernel did not take yet, and whether the node closed it.
struct Conn {
    stream: TcpStream,
    socket: Socket,
    out: Vec<u8>,
    reading: bool,
    closing: bool,
}

struct Loop {
    poll: Poll,
    driver: Driver,
    clock: Clock,
    listeners: Vec<(TcpListener, Listener)>,
    conns: HashMap<Token, Conn>,
    tokens: HashMap<Socket, Token>,
    /// Dials in progress: the link and when they give up.
    dials: HashMap<Token, (TcpStream, LinkId, Instant)>,
    /// Sockets that still had bytes to read when their turn ended.
    again: Vec<Token>,
    /// Sockets with bytes queued this turn: written once, after the turn's events.
    dirty: Vec<Token>,
    buf: Vec<u8>,
    accept_again: Option<Instant>,
    next_token: usize,
    disk: Option<Disk>,
    acks: mpsc::Receiver<DiskAck>,
    busy: BusyPoll,
    stop: Stopper,
    status: SharedStatus,
}

impl Loop {
    fn run(mut self) -> Result<(), String> {
        let mut events = Events::with_capacity(1024);
        self.drain();
        let result = loop {
            let mut wake = self.clock.at(self.driver.poll_timeout());
            wake = self
                .dials
                .values()
                .map(|d| d.2)
                .chain(self.accept_again)
                .fold(wake, Instant::min);
            let idle = self.again.is_empty() && self.dirty.is_empty() && !self.busy.again();
            let timeout = if idle {
                wake.saturating_duration_since(Instant::now())
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != ErrorKind::Interrupted {
                    break Err(format!("the event loop failed: {e}"));
                }
            }
            if !events.is_empty() {
                self.busy.active();
            }
            match self.stop.0.next() {
                Order::Run | Order::Freeze => {}
                Order::Stop => {
                    self.driver.stopping();
                    break Ok(());
                }
                Order::Kill => {
                    // A crash: the sockets close, the disk is dropped, not finished.
                    self.conns.clear();
                    self.disk.take();
                    return Ok(());
                }
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    Token(t) if t <= self.listeners.len() => self.accept(t - 1),
                    t if self.dials.contains_key(&t) => self.dial_ready(t, false),
                    t => {
                        if event.is_writable() {
                            self.flush(t);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read(t);
                        }
                    }
                }
                self.drain();
            }
            for t in std::mem::take(&mut self.again) {
                self.read(t);
                self.drain();
            }
            while let Ok(ack) = self.acks.try_recv() {
                ack.deliver(&mut self.driver, self.clock.now());
                self.drain();
            }
            let now = Instant::now();
            let due: Vec<Token> = self
                .dials
                .iter()
                .filter(|d| d.1 .2 <= now)
                .map(|d| *d.0)
                .collect();
            due.into_iter().for_each(|t| self.dial_ready(t, true));
            if self.accept_again.is_some_and(|at| Instant::now() >= at) {
                self.accept_again = None;
                (0..self.listeners.len()).for_each(|i| self.accept(i));
            }
            if self.clock.at(self.driver.poll_timeout()) <= Instant::now() {
                self.driver.timeout(self.clock.now(), unix_ms());
                self.drain();
            }
            for t in std::mem::take(&mut self.dirty) {
                self.flush(t);
            }
            // What the flushes let the node send (paced replies) goes after a zero-wait poll.
            self.drain();
            self.status.set(self.driver.status());
            if let Some(why) = self.driver.halted() {
                break Err(why.to_string());
            }
        };
        // Close every socket (nothing more is written), then let the disk finish its queue.
        self.conns.clear();
        if let Some(disk) = self.disk.take() {
            disk.finish();
        }
        tracing::info!("server {} stopped", self.driver.node().config().my_id);
        result
    }

    fn drain(&mut self) {
        conclave_std::disk::drain(self);
    }

    fn register(&mut self, mut stream: TcpStream, socket: Socket) {
        let t = Token(self.next_token);
        self.next_token += 1;
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self.poll.registry().register(&mut stream, t, interest) {
            tracing::warn!("{socket:?}: cannot watch the socket: {e}");
            return self.driver.closed(self.clock.now(), socket);
        }
        let conn = Conn {
            stream,
            socket,
            out: Vec::new(),
            reading: true,
            closing: false,
        };
        self.conns.insert(t, conn);
        self.tokens.insert(socket, t);
        // Bytes may have arrived before the registration: edge-triggered readiness would not
        // report them again.
        self.again.push(t);
    }

    fn accept(&mut self, i: usize) {
        loop {
            let (l, kind) = &self.listeners[i];
            let kind = *kind;
            match l.accept() {
                Ok((s, addr)) => {
                    let _ = s.set_nodelay(true);
                    let socket = self.driver.accepted(self.clock.now(), kind, addr);
                    self.register(s, socket);
                    self.drain();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::warn!("accept on {:?} failed: {e}", l.local_addr());
                    self.accept_again = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn read(&mut self, t: Token) {
        for _ in 0..READS_PER_TURN {
            let Some(c) = self.conns.get_mut(&t) else {
                return;
            };
            if !c.reading || c.closing {
                return;
            }
            let socket = c.socket;
            match c.stream.read(&mut self.buf) {
                Ok(0) => return self.lost(t),
                Ok(n) => {
                    self.driver.read(self.clock.now(), socket, &self.buf[..n]);
                    self.drain();
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.lost(t),
            }
        }
        self.again.push(t);
    }

    /// Writes what is buffered; shuts a closing socket once it is all written.
    fn flush(&mut self, t: Token) {
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        let socket = c.socket;
        let mut written = 0;
        while written < c.out.len() {
            match c.stream.write(&c.out[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return self.lost(t),
            }
        }
        c.out.drain(..written);
        // What is written goes back to the allocator: the buffer holds what is owed, no more.
        if c.out.capacity() > c.out.len() + (64 << 10) {
            c.out.shrink_to_fit();
        }
        if c.closing && c.out.is_empty() {
            let _ = c.stream.shutdown(Shutdown::Write);
            self.forget(t);
        }
        self.driver.written(self.clock.now(), socket, written);
    }

    fn forget(&mut self, t: Token) -> Option<Conn> {
        let mut c = self.conns.remove(&t)?;
        let _ = self.poll.registry().deregister(&mut c.stream);
        self.tokens.remove(&c.socket);
        Some(c)
    }

    /// The socket closed or failed under us: the node hears of it.
    fn lost(&mut self, t: Token) {
        if let Some(c) = self.forget(t) {
            if !c.closing {
                self.driver.closed(self.clock.now(), c.socket);
            }
        }
    }

    fn send(&mut self, socket: Socket, bytes: Vec<u8>) {
        let Some(&t) = self.tokens.get(&socket) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&t) else {
            return;
        };
        if c.out.is_empty() {
            self.dirty.push(t);
        }
        c.out.extend_from_slice(&bytes);
    }

    fn dial(&mut self, link: LinkId, addr: &str) -> std::io::Result<()> {
        let mut s = TcpStream::connect(conclave_std::listen::resolve(addr)?)?;
        let t = Token(self.next_token);
        self.next_token += 1;
        self.poll
            .registry()
            .register(&mut s, t, Interest::WRITABLE)?;
        self.dials
            .insert(t, (s, link, Instant::now() + CONNECT_TIMEOUT));
        Ok(())
    }

    /// A dial's socket became writable (or its time ran out): connected, failed or not yet.
    fn dial_ready(&mut self, t: Token, timed_out: bool) {
        let Some((mut s, link, at)) = self.dials.remove(&t) else {
            return;
        };
        let connected = match (s.take_error(), s.peer_addr()) {
            (Ok(None), Ok(_)) => true,
            (Ok(None), Err(e)) if e.kind() == ErrorKind::NotConnected && !timed_out => {
                self.dials.insert(t, (s, link, at));
                return;
            }
            _ => false,
        };
        let _ = self.poll.registry().deregister(&mut s);
        if self.driver.dialed(self.clock.now(), link, connected) {
            let _ = s.set_nodelay(true);
            self.register(s, Socket::Peer(link));
        }
        self.drain();
    }

    fn act(&mut self, action: Action) {
        match action {
            Action::Dial { link, peer, addr } => {
                if let Err(e) = self.dial(link, &addr) {
                    tracing::debug!("dial to server {peer} at {addr} failed: {e}");
                    self.driver.dialed(self.clock.now(), link, false);
                }
            }
            Action::Send { socket, bytes } => self.send(socket, bytes),
            Action::Abort(s) => _ = self.tokens.get(&s).copied().map(|t| self.forget(t)),
            Action::Close(socket) => {
                if let Some(&t) = self.tokens.get(&socket) {
                    if let Some(c) = self.conns.get_mut(&t) {
                        c.closing = true;
                    }
                    self.flush(t);
                }
            }
            Action::Read { socket, read } => {
                if let Some(c) = self.tokens.get(&socket).and_then(|t| self.conns.get_mut(t)) {
                    c.reading = read;
                    if read {
                        // Readiness was reported (and dropped) while reading was off.
                        let t = self.tokens[&socket];
                        self.again.push(t);
                    }
                }
            }
            Action::Persist { seq, op } => {
                let now = self.clock.now();
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
        self.clock.now()
    }
    fn act_on(&mut self, action: Action) {
        self.act(action);
    }
}
