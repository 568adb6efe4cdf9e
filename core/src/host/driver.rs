//! The node and its socket bookkeeping in one handle, so that an adapter's event loop is:
//! tell the driver what happened, then carry out [`Driver::next_action`] until `None`, then
//! sleep until [`Driver::poll_timeout`] (one timer: the node's deadlines and the once-a-second
//! wall-clock reading are folded into it). What is left to the adapter is sockets, tasks, one
//! timer and the disk thread.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::host::backlog::{Backlog, Verdict, MAX_SOCKET_BYTES};
use crate::host::layer::{LayerFactory, SocketLayer};
use crate::host::wiring::{Action, Listener, Socket, Wiring};
use crate::ids::LinkId;
use crate::io::Level;
use crate::io::{Input, Output, Status};
use crate::node::Node;
use crate::server::ZkService;
use crate::service::Service;
use crate::time::Instant;

/// A node plus its [`Wiring`], and the [`SocketLayer`] of each TLS socket.
pub struct Driver<S: Service = ZkService> {
    node: Node<S>,
    wiring: Wiring,
    /// When the node next wants the wall clock (`None`: at the first timeout).
    next_wall_clock: Option<Instant>,
    /// Makes the layer of each socket the secure client port accepts.
    secure: Option<Box<dyn LayerFactory>>,
    /// Makes the layer of every peer link, accepted or dialled (`sslQuorum`).
    quorum: Option<Box<dyn LayerFactory>>,
    /// The host each dial in progress goes to (for the quorum layer's certificate check).
    dial_hosts: BTreeMap<LinkId, String>,
    /// Each open socket's layer.
    layers: BTreeMap<Socket, Box<dyn SocketLayer>>,
    /// Actions a layer produced (handshake bytes, a refused socket's close), before the
    /// node's next output.
    pending: VecDeque<Action>,
    /// What each socket owes the wire, and the bounds on it.
    backlog: Backlog,
    /// The time of the latest input (an abort in [`Driver::next_action`] tells the node then).
    now: Instant,
    /// Sockets aborted in this drain: the node's replies already queued for them are dropped.
    aborted: BTreeSet<Socket>,
    /// The quietest event level the host logs; quieter events are dropped unformatted.
    quietest_logged: Level,
}

impl<S: Service + core::fmt::Debug> core::fmt::Debug for Driver<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Driver")
            .field("node", &self.node)
            .field("wiring", &self.wiring)
            .field("layered_sockets", &self.layers.len())
            .finish_non_exhaustive()
    }
}

/// How often the node is told the wall clock (TTL expiry, `mtime` of sessions' touches).
pub(crate) const WALL_CLOCK_EVERY_MS: u64 = 1000;

impl<S: Service> Driver<S> {
    /// Drives `node` (freshly built; its start-up outputs are the first actions).
    pub fn new(node: Node<S>) -> Driver<S> {
        let clients = u64::from(node.config().client_backlog_limit_mb) << 20;
        let backlog = Backlog::with_bounds(MAX_SOCKET_BYTES.min(clients), clients);
        Driver {
            node,
            wiring: Wiring::new(),
            next_wall_clock: None,
            secure: None,
            quorum: None,
            dial_hosts: BTreeMap::new(),
            layers: BTreeMap::new(),
            quietest_logged: Level::Trace,
            pending: VecDeque::new(),
            backlog,
            now: Instant::ZERO,
            aborted: BTreeSet::new(),
        }
    }

    /// Sockets of [`Listener::SecureClient`] get a layer from `factory` (TLS).
    pub fn set_secure_layer(&mut self, factory: Box<dyn LayerFactory>) {
        self.secure = Some(factory);
    }

    /// Every peer link, accepted or dialled, gets a layer from `factory` (quorum TLS).
    pub fn set_quorum_layer(&mut self, factory: Box<dyn LayerFactory>) {
        self.quorum = Some(factory);
    }

    /// The node (status, config, metrics).
    pub fn node(&self) -> &Node<S> {
        &self.node
    }

    /// What the node is doing now.
    pub fn status(&self) -> Status {
        self.node.status()
    }

    fn handle(&mut self, now: Instant, input: Option<Input<'_>>) {
        self.now = now;
        if let Some(input) = input {
            self.node.handle(now, input);
        }
    }

    /// A listener accepted a socket from `addr`: the name to keep its handle under.
    pub fn accepted(&mut self, now: Instant, listener: Listener, addr: SocketAddr) -> Socket {
        self.now = now;
        let (socket, input) = self.wiring.accepted(listener, addr);
        self.node.handle(now, input);
        let factory = match listener {
            Listener::SecureClient => Some(self.secure.as_ref()),
            Listener::Peer => self.quorum.as_ref().map(Some),
            _ => None,
        };
        if let Some(factory) = factory {
            let layer = factory
                .map(|f| f.layer())
                .unwrap_or_else(|| Err(String::from("no TLS configured")));
            match layer {
                Ok(layer) => {
                    self.layers.insert(socket, layer);
                }
                Err(e) => self.refuse(now, socket, &format!("TLS refused {addr}: {e}"), Vec::new()),
            }
        }
        socket
    }

    /// Closes `socket` under the node after `wire` (a TLS alert), logged at information: a
    /// client's bad handshake is its own business, not the server's fault.
    fn refuse(&mut self, now: Instant, socket: Socket, why: &str, wire: Vec<u8>) {
        self.layers.remove(&socket);
        if !wire.is_empty() {
            self.pending.push_back(Action::Send {
                socket,
                bytes: wire,
            });
        }
        self.pending.push_back(Action::Log {
            level: Level::Info,
            line: String::from(why),
        });
        self.pending.push_back(Action::Close(socket));
        let input = self.wiring.closed(socket);
        self.handle(now, input);
    }

    /// A dial of `link` ended (`ok`: connected). True if the adapter keeps the socket (as
    /// `Socket::Peer(link)`); false if it drops it (failed, or abandoned by the node).
    pub fn dialed(&mut self, now: Instant, link: LinkId, ok: bool) -> bool {
        self.now = now;
        let host = self.dial_hosts.remove(&link);
        let input = self.wiring.dialed(link, ok);
        let keep = ok && input.is_some();
        let socket = Socket::Peer(link);
        if let (true, Some(factory)) = (keep, &self.quorum) {
            // Layered before the node hears of the link, so its first bytes go through TLS.
            match factory.dial_layer(host.as_deref().unwrap_or_default()) {
                Ok(mut layer) => {
                    let mut wire = Vec::new();
                    layer.start(&mut wire);
                    self.layers.insert(socket, layer);
                    if !wire.is_empty() {
                        self.pending.push_back(Action::Send {
                            socket,
                            bytes: wire,
                        });
                    }
                }
                Err(e) => {
                    self.handle(now, input);
                    self.refuse(
                        now,
                        socket,
                        &format!("TLS refused {socket:?}: {e}"),
                        Vec::new(),
                    );
                    return true;
                }
            }
        }
        self.handle(now, input);
        keep
    }

    /// Bytes were read from `socket`.
    pub fn read(&mut self, now: Instant, socket: Socket, bytes: &[u8]) {
        self.now = now;
        let Some(layer) = self.layers.get_mut(&socket) else {
            let input = self.wiring.read(socket, bytes);
            self.handle(now, input);
            return;
        };
        let (mut plain, mut wire) = (Vec::new(), Vec::new());
        let result = layer.read(bytes, &mut plain, &mut wire);
        if let Err(e) = result {
            self.refuse(now, socket, &format!("TLS closed {socket:?}: {e}"), wire);
            return;
        }
        if !wire.is_empty() {
            self.pending.push_back(Action::Send {
                socket,
                bytes: wire,
            });
        }
        if !plain.is_empty() {
            let input = self.wiring.read(socket, &plain);
            self.handle(now, input);
        }
    }

    /// `socket` closed under the adapter (EOF, error, or dropped for not reading).
    pub fn closed(&mut self, now: Instant, socket: Socket) {
        self.now = now;
        self.backlog.forget(socket);
        self.layers.remove(&socket);
        let input = self.wiring.closed(socket);
        self.handle(now, input);
    }

    /// The adapter wrote `bytes` more of what it was given for `socket` (report after each
    /// write, before and after a `Close`): the bounds on unwritten bytes and the pacing of
    /// client replies run on it.
    pub fn written(&mut self, now: Instant, socket: Socket, bytes: usize) {
        self.now = now;
        if bytes == 0 {
            return;
        }
        self.backlog.written(socket, bytes);
        if let (Socket::Client(conn), true) = (socket, self.wiring.is_open(socket)) {
            self.node.handle(now, Input::ClientWritten { conn, bytes });
        }
    }

    /// Every persist op up to `seq` is durable.
    pub fn persisted(&mut self, now: Instant, seq: u64) {
        self.now = now;
        self.node.handle(now, Input::Persisted { seq });
    }

    /// Persist op `seq` failed: the node halts ([`Driver::halted`] says why).
    pub fn disk_failed(&mut self, now: Instant, seq: u64, error: String) {
        self.now = now;
        let input = self.wiring.disk_failed(seq, error);
        self.node.handle(now, input);
    }

    /// [`Driver::poll_timeout`] was reached; `unix_ms` is the wall clock now. The node gets
    /// its `Timeout` when one of its deadlines is due and the wall clock once a second.
    pub fn timeout(&mut self, now: Instant, unix_ms: i64) {
        self.now = now;
        if self.next_wall_clock.is_none_or(|at| now >= at) {
            self.next_wall_clock = Some(now.plus_millis(WALL_CLOCK_EVERY_MS));
            self.node.handle(now, Input::WallClock { unix_ms });
        }
        if self.node.poll_timeout().is_some_and(|at| now >= at) {
            self.node.handle(now, Input::Timeout);
        }
    }

    /// The member was asked to stop (peers leaving are logged as information from now on).
    pub fn stopping(&mut self) {
        self.wiring.stopping();
    }

    /// Why the node halted, once it has: the adapter stops the member with this error.
    pub fn halted(&self) -> Option<&str> {
        self.wiring.halted()
    }

    /// The next thing to carry out, `None` when there is nothing left.
    pub fn next_action(&mut self) -> Option<Action> {
        // Bounded: each turn returns, or drops one of the node's finite queued outputs.
        loop {
            let Some(action) = self.next_unbounded() else {
                self.aborted.clear();
                return None;
            };
            match &action {
                Action::Send { socket, .. } if self.aborted.contains(socket) => {}
                _ => return self.bound(action),
            }
        }
    }

    /// Applies the bounds on unwritten bytes to `action`.
    fn bound(&mut self, action: Action) -> Option<Action> {
        let (socket, len) = match &action {
            Action::Send { socket, bytes } => (*socket, bytes.len()),
            Action::Close(socket) => {
                self.backlog.closing(*socket);
                return Some(action);
            }
            _ => return Some(action),
        };
        let open = self.wiring.is_open(socket);
        let Verdict::Abort(victim) = self.backlog.sent(socket, len, open) else {
            return Some(action);
        };
        self.aborted.insert(victim);
        let owed = self.backlog.forget(victim);
        let total = self.backlog.clients_total();
        self.layers.remove(&victim);
        self.pending.push_front(Action::Abort(victim));
        let input = self.wiring.closed(victim);
        self.handle(self.now, input);
        let line = format!(
            "{victim:?} aborted: {owed} bytes sent to it were not read (other clients owe \
             {total}); the bounds are {} bytes per socket, {} for all clients \
             (clientBacklogLimitMB)",
            self.backlog.max_socket(),
            self.backlog.max_clients()
        );
        let log = Action::Log {
            level: Level::Warn,
            line,
        };
        if victim == socket {
            return Some(log);
        }
        self.pending.push_front(log);
        Some(action)
    }

    /// Events quieter than `level` are dropped before they are formatted: the host's log
    /// would discard their lines, and formatting one line per applied txn cost 2 % of a
    /// member's CPU under write load. Every event is turned into a line by default.
    pub fn log_from(&mut self, level: Level) {
        self.quietest_logged = level;
    }

    /// The node's next output that is not a dropped event (bounded by its finite queue).
    fn poll_output(&mut self) -> Option<Output> {
        loop {
            match self.node.poll_output()? {
                Output::Event(e) if e.level() < self.quietest_logged => {}
                out => return Some(out),
            }
        }
    }

    /// [`Driver::next_action`] before the bounds on unwritten bytes.
    fn next_unbounded(&mut self) -> Option<Action> {
        if let Some(action) = self.pending.pop_front() {
            return Some(action);
        }
        let out = self.poll_output()?;
        let action = self.wiring.output(out);
        if let (Action::Dial { link, addr, .. }, Some(_)) = (&action, &self.quorum) {
            // "host:port", "[v6]:port": the host a dialled member's certificate must name.
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(h, _)| h);
            let host = host.trim_start_matches('[').trim_end_matches(']');
            self.dial_hosts.insert(*link, String::from(host));
        }
        let socket = match &action {
            Action::Send { socket, .. } | Action::Close(socket) => *socket,
            _ => return Some(action),
        };
        let Some(layer) = self.layers.get_mut(&socket) else {
            return Some(action);
        };
        let mut wire = Vec::new();
        match action {
            Action::Send { bytes, .. } => {
                if let Err(e) = layer.write(&bytes, &mut wire) {
                    // The node still thinks it open: it hears of the close from the adapter.
                    self.layers.remove(&socket);
                    self.pending.push_back(Action::Close(socket));
                    return Some(Action::Log {
                        level: Level::Info,
                        line: format!("TLS closed {socket:?}: {e}"),
                    });
                }
            }
            action => {
                layer.close(&mut wire);
                self.layers.remove(&socket);
                if wire.is_empty() {
                    return Some(action);
                }
                self.pending.push_back(action);
            }
        }
        Some(Action::Send {
            socket,
            bytes: wire,
        })
    }

    /// When to call [`Driver::timeout`]: the node's next deadline or the next wall-clock
    /// reading, whichever is first. Always `Some`: the wall clock is read once a second.
    pub fn poll_timeout(&self) -> Instant {
        let wall = self.next_wall_clock.unwrap_or(Instant::ZERO);
        self.node.poll_timeout().map_or(wall, |at| at.min(wall))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::node::{Recovered, Tuning};
    use crate::observe::HttpEndpoint;

    fn driver() -> Driver {
        let config = Config::from_zoo_cfg("clientPort=2181\n")
            .unwrap()
            .with_my_id(1)
            .unwrap();
        let node = Node::with_state_machine(
            config,
            Recovered::empty(),
            1,
            Instant::ZERO,
            0,
            Tuning::default(),
        )
        .unwrap();
        Driver::new(node)
    }

    #[test]
    fn a_standalone_start_asks_for_the_disk_and_an_http_request_is_answered_and_closed() {
        let mut d = driver();
        let mut persist = 0;
        while let Some(a) = d.next_action() {
            persist += usize::from(matches!(a, Action::Persist { .. }));
        }
        assert!(persist > 0, "a fresh member writes its epoch files");
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let s = d.accepted(Instant::ZERO, Listener::Http(HttpEndpoint::Metrics), addr);
        assert_eq!(s, Socket::Client(1));
        d.read(
            Instant::ZERO,
            s,
            b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        let actions: alloc::vec::Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        assert!(
            matches!(&actions[..], [Action::Send { socket, bytes }, Action::Close(c)]
                if *socket == s && *c == s && bytes.starts_with(b"HTTP/1.1 200")),
            "{actions:?}"
        );
        // The node closed it: a late close from the adapter is not reported again.
        d.closed(Instant::ZERO, s);
        assert!(d.next_action().is_none());
    }

    /// Carries out every action until none is left, acknowledging disk ops at once; the
    /// bytes sent to each socket, and the sockets aborted.
    fn settle(d: &mut Driver, now: Instant) -> (BTreeMap<Socket, usize>, Vec<Socket>) {
        let (mut sent, mut aborted) = (BTreeMap::new(), Vec::new());
        for _ in 0..1000 {
            let Some(a) = d.next_action() else {
                return (sent, aborted);
            };
            match a {
                Action::Persist { seq, .. } => d.persisted(now, seq),
                Action::Send { socket, bytes } => *sent.entry(socket).or_default() += bytes.len(),
                Action::Abort(socket) => aborted.push(socket),
                _ => {}
            }
        }
        panic!("the driver never settled");
    }

    /// A serving standalone driver with `/big` holding `size` bytes and `clients` sessions
    /// (sockets `Client(1..=clients)`), every byte so far reported written.
    fn serving_with_big_node(size: usize, clients: u64) -> Driver {
        use crate::client::{encode_record_frame, encode_request, ConnectRequest, Request};
        use crate::client::{Acl, CreateKind, CreateRequest};
        let mut d = driver();
        let mut now = Instant::ZERO;
        for _ in 0..20 {
            settle(&mut d, now);
            now = now.plus_millis(100);
            d.timeout(now, 1_700_000_000_000);
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        for conn in 1..=clients {
            let s = d.accepted(now, Listener::Client, addr);
            assert_eq!(s, Socket::Client(conn));
            let mut wire = Vec::new();
            encode_record_frame(&ConnectRequest::new_session(30_000), &mut wire);
            if conn == 1 {
                let create = CreateRequest {
                    kind: CreateKind::Create,
                    path: "/big".into(),
                    data: Some(alloc::vec![7; size]),
                    acl: alloc::vec![Acl::open_unsafe()],
                    flags: 0,
                };
                encode_request(1, &Request::Create(create), &mut wire);
            }
            d.read(now, s, &wire);
            let (sent, _) = settle(&mut d, now);
            d.written(now, s, sent[&s]);
        }
        d
    }

    /// Events quieter than the host logs never become lines (nor are they formatted); the
    /// louder ones still do. A write's `TxnApplied` (trace) is the one per-write event.
    #[test]
    fn events_quieter_than_the_host_logs_are_dropped_unformatted() {
        use crate::client::{encode_record_frame, encode_request, ConnectRequest, Request};
        use crate::client::{Acl, CreateKind, CreateRequest};
        let levels_logged = |quietest: Option<Level>| {
            let mut d = driver();
            if let Some(level) = quietest {
                d.log_from(level);
            }
            let mut levels = BTreeSet::new();
            let mut run = |d: &mut Driver, now: Instant| {
                for _ in 0..1000 {
                    match d.next_action() {
                        None => break,
                        Some(Action::Persist { seq, .. }) => d.persisted(now, seq),
                        Some(Action::Log { level, .. }) => {
                            levels.insert(level);
                        }
                        Some(_) => {}
                    }
                }
            };
            let mut now = Instant::ZERO;
            for _ in 0..20 {
                run(&mut d, now);
                now = now.plus_millis(100);
                d.timeout(now, 1_700_000_000_000);
            }
            let s = d.accepted(now, Listener::Client, SocketAddr::from(([127, 0, 0, 1], 9)));
            let mut wire = Vec::new();
            encode_record_frame(&ConnectRequest::new_session(30_000), &mut wire);
            let create = CreateRequest {
                kind: CreateKind::Create,
                path: "/a".into(),
                data: Some(alloc::vec![1]),
                acl: alloc::vec![Acl::open_unsafe()],
                flags: 0,
            };
            encode_request(1, &Request::Create(create), &mut wire);
            d.read(now, s, &wire);
            run(&mut d, now);
            levels
        };
        let all = levels_logged(None);
        assert!(all.contains(&Level::Trace), "{all:?}");
        let info = levels_logged(Some(Level::Info));
        assert!(info.contains(&Level::Info), "{info:?}");
        assert!(info.iter().all(|l| *l >= Level::Info), "{info:?}");
    }

    fn get_big(xids: core::ops::Range<i32>) -> Vec<u8> {
        use crate::client::{encode_request, Request};
        let mut wire = Vec::new();
        for xid in xids {
            let get = Request::GetData {
                path: "/big".into(),
                watch: false,
            };
            encode_request(xid, &get, &mut wire);
        }
        wire
    }

    /// Issue 17: a client that pipelines reads and does not read the replies gets replies
    /// computed only while it owes the wire less than a mebibyte; each write the adapter
    /// reports lets the next ones out. Memory stays bounded however much it asks for.
    #[test]
    fn a_client_that_does_not_read_gets_replies_paced_by_what_is_written() {
        const SIZE: usize = 600 << 10;
        let mut d = serving_with_big_node(SIZE, 1);
        let (now, s) = (Instant::ZERO.plus_millis(5_000), Socket::Client(1));
        d.read(now, s, &get_big(10..20));
        // 600 KiB owed after the first reply; the second takes it past 1 MiB; then it waits.
        let (sent, _) = settle(&mut d, now);
        let replies = |bytes: usize| bytes / SIZE;
        assert_eq!(replies(sent[&s]), 2, "{sent:?}");
        // 600 KiB written: 600 KiB owed, and one more reply takes it past the mark again.
        d.written(now, s, SIZE);
        let (sent, _) = settle(&mut d, now);
        assert_eq!(replies(sent[&s]), 1, "{sent:?}");
        d.written(now, s, 10 * SIZE);
        let (sent, _) = settle(&mut d, now);
        assert_eq!(replies(sent[&s]), 2, "{sent:?}");
    }

    /// Issue 17: past the bound on what all clients together owe, the client owing most is
    /// aborted (its reply dropped, the node told), and the others are served.
    #[test]
    fn clients_owing_more_than_the_total_bound_lose_the_largest_debtor() {
        const SIZE: usize = 600 << 10;
        let mut d = serving_with_big_node(SIZE, 3);
        d.backlog = Backlog::with_bounds(64 << 20, 1 << 20);
        let now = Instant::ZERO.plus_millis(5_000);
        d.read(now, Socket::Client(1), &get_big(10..11));
        d.read(now, Socket::Client(2), &get_big(10..12));
        let (sent, aborted) = settle(&mut d, now);
        // Client 1: 600 KiB. Client 2's first reply makes 1.2 MiB: client 1 and 2 owe as
        // much; the later of equals, client 2, goes, and its second reply is dropped.
        assert_eq!(aborted, [Socket::Client(2)]);
        assert_eq!(sent[&Socket::Client(1)] / SIZE, 1);
        assert!(!sent.contains_key(&Socket::Client(2)), "{sent:?}");
        assert!(!d.wiring.is_open(Socket::Client(2)));
        assert_eq!(d.backlog.clients_total(), sent[&Socket::Client(1)] as u64);
        // A late write report for the aborted socket changes nothing.
        d.written(now, Socket::Client(2), 1 << 20);
        d.read(now, Socket::Client(3), &get_big(10..11));
        let (sent, aborted) = settle(&mut d, now);
        assert_eq!(
            aborted,
            [Socket::Client(3)],
            "1.2 MiB again: the later of equals"
        );
        assert!(sent.is_empty());
    }

    /// A stand-in for TLS: a greeting on the first read, then every byte XOR 0x55 both
    /// ways; the byte `!` is a protocol error; closing writes `bye`.
    struct Xor {
        greeted: bool,
    }

    impl SocketLayer for Xor {
        fn start(&mut self, wire: &mut Vec<u8>) {
            wire.extend_from_slice(b"hello");
        }
        fn read(
            &mut self,
            bytes: &[u8],
            plain: &mut Vec<u8>,
            wire: &mut Vec<u8>,
        ) -> Result<(), String> {
            if !core::mem::replace(&mut self.greeted, true) {
                wire.extend_from_slice(b"hi");
            }
            if bytes.contains(&b'!') {
                wire.extend_from_slice(b"alert");
                return Err(String::from("bad record"));
            }
            plain.extend(bytes.iter().map(|b| b ^ 0x55));
            Ok(())
        }
        fn write(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> Result<(), String> {
            wire.extend(plain.iter().map(|b| b ^ 0x55));
            Ok(())
        }
        fn close(&mut self, wire: &mut Vec<u8>) {
            wire.extend_from_slice(b"bye");
        }
    }

    struct XorFactory;

    impl LayerFactory for XorFactory {
        fn layer(&self) -> Result<Box<dyn SocketLayer>, String> {
            Ok(Box::new(Xor { greeted: false }))
        }
        fn dial_layer(&self, host: &str) -> Result<Box<dyn SocketLayer>, String> {
            // Refuses one host, to show a refused dial.
            if host == "10.0.0.9" {
                return Err(String::from("no certificate for it"));
            }
            Ok(Box::new(Xor { greeted: true }))
        }
    }

    /// With a quorum layer, a dialled link says the layer's hello before the node's first
    /// bytes, which go through the layer; the host of the dialled address reaches the layer.
    #[test]
    fn a_dialled_peer_link_starts_with_the_layers_hello_then_the_nodes_bytes_layered() {
        let config = Config::from_zoo_cfg(
            "clientPort=2181\nserver.1=127.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888\n\
             server.3=10.0.0.9:2888:3888\n",
        )
        .unwrap()
        .with_my_id(1)
        .unwrap();
        let node: Node<ZkService> = Node::with_state_machine(
            config,
            Recovered::empty(),
            1,
            Instant::ZERO,
            0,
            Tuning::default(),
        )
        .unwrap();
        let mut d = Driver::new(node);
        d.set_quorum_layer(Box::new(XorFactory));
        let mut dials = Vec::new();
        for _ in 0..100 {
            while let Some(a) = d.next_action() {
                if let Action::Dial { link, addr, .. } = a {
                    dials.push((link, addr));
                }
            }
            if dials.len() >= 2 {
                break;
            }
            let at = d.poll_timeout();
            d.timeout(at, 0);
        }
        let (good, _) = dials
            .iter()
            .find(|(_, a)| a.starts_with("10.0.0.2"))
            .unwrap()
            .clone();
        let (bad, _) = dials
            .iter()
            .find(|(_, a)| a.starts_with("10.0.0.9"))
            .unwrap()
            .clone();
        assert_eq!(
            d.dial_hosts.get(&good).map(String::as_str),
            Some("10.0.0.2")
        );
        assert!(d.dialed(Instant::ZERO, good, true));
        let sends: Vec<Vec<u8>> = core::iter::from_fn(|| d.next_action())
            .filter_map(|a| match a {
                Action::Send { socket, bytes } if socket == Socket::Peer(good) => Some(bytes),
                _ => None,
            })
            .collect();
        assert!(sends.len() >= 2, "{}", sends.len());
        assert_eq!(sends[0], b"hello");
        // The node's handshake, layered: undoing the XOR gives the peer protocol's bytes.
        assert!(!xor(&sends[1]).is_empty() && xor(&sends[1]) != sends[1]);
        // A dial the layer refuses is closed, and the node hears the link went down.
        assert!(d.dialed(Instant::ZERO, bad, true));
        let actions: Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        assert!(
            actions
                .iter()
                .any(|a| matches!(a, Action::Close(s) if *s == Socket::Peer(bad))),
            "{}",
            actions.len()
        );
        assert!(!d.wiring.is_open(Socket::Peer(bad)));
    }

    /// The answer to `ruok` (not in the default whitelist), whole.
    const NOT_WHITELISTED: &[u8] = b"ruok is not executed because it is not in the whitelist.\n";

    fn xor(bytes: &[u8]) -> Vec<u8> {
        bytes.iter().map(|b| b ^ 0x55).collect()
    }

    #[test]
    fn a_secure_sockets_bytes_pass_through_its_layer_both_ways() {
        let mut d = driver();
        d.set_secure_layer(Box::new(XorFactory));
        while d.next_action().is_some() {}
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let s = d.accepted(Instant::ZERO, Listener::SecureClient, addr);
        // A four-letter word, sent through the layer: the greeting first, then the answer
        // (layered), then the close notification before the close.
        d.read(Instant::ZERO, s, &xor(b"ruok"));
        let actions: Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        let want = [
            Action::Send {
                socket: s,
                bytes: b"hi".to_vec(),
            },
            Action::Send {
                socket: s,
                bytes: xor(NOT_WHITELISTED),
            },
            Action::Send {
                socket: s,
                bytes: b"bye".to_vec(),
            },
            Action::Close(s),
        ];
        assert_eq!(actions, want);
        assert!(d.layers.is_empty());
    }

    #[test]
    fn a_layer_error_closes_its_socket_with_the_alert_and_the_node_forgets_it() {
        let mut d = driver();
        d.set_secure_layer(Box::new(XorFactory));
        while d.next_action().is_some() {}
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let s = d.accepted(Instant::ZERO, Listener::SecureClient, addr);
        d.read(Instant::ZERO, s, b"!");
        let actions: Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        assert!(
            matches!(&actions[..], [
                Action::Send { bytes, .. },
                Action::Log { level: Level::Info, line },
                Action::Close(c),
            ] if bytes == b"hialert" && line.contains("bad record") && *c == s),
            "{actions:?}"
        );
        assert!(!d.wiring.is_open(s));
        // Bytes arriving after are dropped; the adapter's own close is not reported again.
        d.read(Instant::ZERO, s, b"more");
        d.closed(Instant::ZERO, s);
        assert!(d.next_action().is_none());
    }

    #[test]
    fn a_secure_socket_without_tls_configured_is_refused() {
        let mut d = driver();
        while d.next_action().is_some() {}
        let addr = SocketAddr::from(([127, 0, 0, 1], 9));
        let s = d.accepted(Instant::ZERO, Listener::SecureClient, addr);
        let actions: Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        assert!(
            matches!(&actions[..], [Action::Log { .. }, Action::Close(c)] if *c == s),
            "{actions:?}"
        );
        // A plain socket is untouched by any layer.
        let p = d.accepted(Instant::ZERO, Listener::Client, addr);
        d.read(Instant::ZERO, p, b"ruok");
        let actions: Vec<Action> = core::iter::from_fn(|| d.next_action()).collect();
        assert!(
            matches!(&actions[..], [Action::Send { bytes, .. }, Action::Close(_)] if bytes == NOT_WHITELISTED),
            "{actions:?}"
        );
    }

    #[test]
    fn one_timer_carries_the_nodes_deadlines_and_a_wall_clock_reading_each_second() {
        let mut d = driver();
        while d.next_action().is_some() {}
        // The first timeout is due at once and reads the wall clock.
        assert_eq!(d.poll_timeout(), Instant::ZERO);
        d.timeout(Instant::ZERO, 1_000);
        assert_eq!(d.next_wall_clock, Some(Instant::from_millis(1000)));
        assert!(d.poll_timeout() <= Instant::from_millis(1000));
        // A timeout for the node's own deadline before the second is up reads no clock.
        let early = Instant::from_millis(10);
        d.timeout(early, 1_010);
        assert_eq!(d.next_wall_clock, Some(Instant::from_millis(1000)));
        d.timeout(Instant::from_millis(1000), 2_000);
        assert_eq!(d.next_wall_clock, Some(Instant::from_millis(2000)));
    }
}
