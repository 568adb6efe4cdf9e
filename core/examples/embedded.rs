//! Embedding the core without any runtime: three members in one thread, wired by in-memory
//! pipes, each with an in-memory disk, and a ZooKeeper client (jute, written by hand) that
//! creates a znode and reads it back. Everything an adapter does is here in one loop: feed
//! the `Driver` what happened, carry out `next_action()` until `None`, advance the clock to
//! `poll_timeout()` when nothing else is pending. docs/embedding.md walks through it.
//!
//! Run: `cargo run -p conclave-core --example embedded`

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;

use conclave_core::client::{
    decode_response, encode_record_frame, encode_request, perms, Acl, ConnectRequest,
    ConnectResponse, CreateKind, CreateRequest, Id, JuteReader, JuteRecord, OpCode, ReplyHeader,
    Request, Response,
};
use conclave_core::config::Config;
use conclave_core::files::{execute, Files};
use conclave_core::host::{Action, Driver, Listener, Socket};
use conclave_core::{Instant, Node};
use conclave_core::{Recovered, Tuning};

/// A member's disk: file name → bytes. Memory is "durable" the moment a call returns, so
/// every op can be acknowledged at once; a real host acknowledges after its fsync.
#[derive(Default)]
struct MemFiles(BTreeMap<String, Vec<u8>>);

impl Files for MemFiles {
    type Error = String;
    fn create(&mut self, file: &str) -> Result<(), String> {
        self.0.insert(file.into(), Vec::new());
        Ok(())
    }
    fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), String> {
        let f = self
            .0
            .get_mut(file)
            .ok_or(format!("{file}: no such file"))?;
        f.extend_from_slice(bytes);
        Ok(())
    }
    fn sync(&mut self, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn truncate(&mut self, file: &str, len: u64) -> Result<(), String> {
        let f = self
            .0
            .get_mut(file)
            .ok_or(format!("{file}: no such file"))?;
        f.truncate(len as usize);
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        let f = self.0.remove(from).ok_or(format!("{from}: no such file"))?;
        self.0.insert(to.into(), f);
        Ok(())
    }
    fn remove(&mut self, file: &str) -> Result<(), String> {
        self.0.remove(file);
        Ok(())
    }
    fn sync_dir(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// One end of a pipe: a member (or the client, `CLIENT`) and the socket name it uses.
type End = (usize, Socket);
const CLIENT: usize = usize::MAX;

/// What the pipes carry: bytes for an end, or the news that the other end closed.
enum Delivery {
    Bytes(End, Vec<u8>),
    Closed(End),
}

struct World {
    now: Instant,
    members: Vec<(Driver, MemFiles)>,
    /// Each open pipe, both directions.
    pipes: HashMap<End, End>,
    /// In flight, in order; deliveries to an end whose reading is paused wait.
    wire: VecDeque<Delivery>,
    paused: Vec<End>,
    /// Bytes that reached the client.
    client_inbox: Vec<u8>,
}

fn addr(i: usize) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, i as u8 + 1], 40_000))
}

impl World {
    fn new(n: usize) -> World {
        let mut cfg = String::from(
            "tickTime=100\ninitLimit=10\nsyncLimit=5\ndataDir=/mem\nclientPort=2181\n",
        );
        for id in 1..=n {
            cfg += &format!("server.{id}=m{id}:2888:3888\n");
        }
        let members = (1..=n as u64)
            .map(|id| {
                let config = Config::from_zoo_cfg(&cfg)
                    .and_then(|c| c.with_my_id(id))
                    .expect("valid zoo.cfg");
                let node = Node::with_state_machine(
                    config,
                    Recovered::empty(),
                    id,
                    Instant::ZERO,
                    0,
                    Tuning::default(),
                )
                .expect("a valid config builds a node");
                (Driver::new(node), MemFiles::default())
            })
            .collect();
        World {
            now: Instant::ZERO,
            members,
            pipes: HashMap::new(),
            wire: VecDeque::new(),
            paused: Vec::new(),
            client_inbox: Vec::new(),
        }
    }

    /// Carries out everything member `i` has to say (the drain-until-`None` rule).
    fn drain(&mut self, i: usize) {
        while let Some(action) = self.members[i].0.next_action() {
            match action {
                Action::Dial { link, addr: to, .. } => {
                    // "m<id>:3888" → member id-1; a real host resolves and connects.
                    let j = to[1..to.find(':').unwrap_or(2)]
                        .parse::<usize>()
                        .unwrap_or(0)
                        .wrapping_sub(1);
                    let ok = j < self.members.len();
                    if self.members[i].0.dialed(self.now, link, ok) {
                        let theirs = self.members[j]
                            .0
                            .accepted(self.now, Listener::Peer, addr(i));
                        self.pipes.insert((i, Socket::Peer(link)), (j, theirs));
                        self.pipes.insert((j, theirs), (i, Socket::Peer(link)));
                        self.drain(j);
                    }
                }
                Action::Send { socket, bytes } => {
                    if let Some(&to) = self.pipes.get(&(i, socket)) {
                        // The pipe takes everything at once: say so (the core paces by it).
                        let n = bytes.len();
                        self.wire.push_back(Delivery::Bytes(to, bytes));
                        self.members[i].0.written(self.now, socket, n);
                    }
                }
                Action::Close(socket) | Action::Abort(socket) => {
                    if let Some(to) = self.pipes.remove(&(i, socket)) {
                        self.pipes.remove(&to);
                        self.wire.push_back(Delivery::Closed(to));
                    }
                }
                Action::Read { socket, read } => {
                    self.paused.retain(|e| *e != (i, socket));
                    if !read {
                        self.paused.push((i, socket));
                    }
                }
                Action::Persist { seq, op } => {
                    let (driver, files) = &mut self.members[i];
                    match execute(&op, files) {
                        Ok(()) => driver.persisted(self.now, seq),
                        Err(e) => driver.disk_failed(self.now, seq, e),
                    }
                }
                Action::Log { level, line } => {
                    if level >= conclave_core::Level::Info {
                        println!(
                            "[{:>5} ms] server {}: {line}",
                            self.now.as_nanos() / 1_000_000,
                            i + 1
                        );
                    }
                }
            }
        }
    }

    /// Delivers the first delivery whose end is reading; false when none can move.
    fn deliver_one(&mut self) -> bool {
        let movable = |d: &Delivery| match d {
            Delivery::Bytes(end, _) => !self.paused.contains(end),
            Delivery::Closed(_) => true,
        };
        let Some(k) = self.wire.iter().position(movable) else {
            return false;
        };
        match self.wire.remove(k) {
            Some(Delivery::Bytes((CLIENT, _), bytes)) => self.client_inbox.extend(bytes),
            Some(Delivery::Bytes((j, s), bytes)) => {
                self.members[j].0.read(self.now, s, &bytes);
                self.drain(j);
            }
            Some(Delivery::Closed((CLIENT, _))) => {
                println!("the server closed the client's connection")
            }
            Some(Delivery::Closed((j, s))) => {
                self.members[j].0.closed(self.now, s);
                self.drain(j);
            }
            None => {}
        }
        true
    }

    /// Nothing is in flight: jump the clock to the earliest deadline and fire what is due.
    fn advance(&mut self) {
        self.now = self
            .members
            .iter()
            .map(|m| m.0.poll_timeout())
            .min()
            .unwrap_or(self.now)
            .max(self.now);
        let unix_ms = 1_700_000_000_000 + (self.now.as_nanos() / 1_000_000) as i64;
        for i in 0..self.members.len() {
            if self.members[i].0.poll_timeout() <= self.now {
                self.members[i].0.timeout(self.now, unix_ms);
                self.drain(i);
            }
        }
    }

    /// Runs until `done` holds, at most `steps` steps (every loop here is bounded).
    fn run_until(&mut self, steps: usize, mut done: impl FnMut(&World) -> bool) -> bool {
        for _ in 0..steps {
            if done(self) {
                return true;
            }
            if !self.deliver_one() {
                self.advance();
            }
        }
        false
    }

    /// The next complete jute frame the client received.
    fn client_frame(&mut self) -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(self.client_inbox.get(..4)?.try_into().ok()?) as usize;
        let frame = self.client_inbox.get(4..4 + len)?.to_vec();
        self.client_inbox.drain(..4 + len);
        Some(frame)
    }

    fn client_send(&mut self, to: End, bytes: Vec<u8>) {
        self.wire.push_back(Delivery::Bytes(to, bytes));
    }

    /// Waits for the client's next reply frame.
    fn client_reply(&mut self) -> Vec<u8> {
        let mut frame = None;
        let got = self.run_until(100_000, |w| {
            w.client_inbox.len() >= 4 && {
                let len =
                    u32::from_be_bytes(w.client_inbox[..4].try_into().unwrap_or_default()) as usize;
                w.client_inbox.len() >= 4 + len
            }
        });
        if got {
            frame = self.client_frame();
        }
        frame.expect("the server answers the client")
    }
}

fn main() {
    let mut w = World::new(3);
    for i in 0..3 {
        w.drain(i);
    }
    let elected = w.run_until(200_000, |w| {
        let status: Vec<_> = w.members.iter().map(|m| m.0.status()).collect();
        conclave_core::deploy::ensemble_ready(&status).is_some()
    });
    assert!(elected, "the ensemble elects a leader");
    println!("[{:>5} ms] ensemble ready", w.now.as_nanos() / 1_000_000);

    // A ZooKeeper client connects to member 1, as a socket on its client port would.
    let server = (
        0,
        w.members[0].0.accepted(
            w.now,
            Listener::Client,
            SocketAddr::from(([127, 0, 0, 1], 50_000)),
        ),
    );
    let client = (CLIENT, Socket::Client(u64::MAX));
    w.pipes.insert(server, client);
    w.pipes.insert(client, server);
    w.drain(0);
    let mut out = Vec::new();
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 10_000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    encode_record_frame(&connect, &mut out);
    w.client_send(server, out);
    let resp = ConnectResponse::decode(&mut JuteReader::new(&w.client_reply(), 1 << 20))
        .expect("a ConnectResponse");
    println!(
        "[{:>5} ms] session 0x{:x} established, timeout {} ms",
        w.now.as_nanos() / 1_000_000,
        resp.session_id,
        resp.timeout_ms
    );

    let open = vec![Acl {
        perms: perms::ALL,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }];
    let create = CreateRequest {
        kind: CreateKind::Create,
        path: "/hello".into(),
        data: Some(b"embedded".to_vec()),
        acl: open,
        flags: 0,
    };
    for (xid, req) in [
        (1, Request::Create(create)),
        (
            2,
            Request::GetData {
                path: "/hello".into(),
                watch: false,
            },
        ),
    ] {
        let op: OpCode = req.op_code();
        let mut out = Vec::new();
        encode_request(xid, &req, &mut out);
        w.client_send(server, out);
        let frame = w.client_reply();
        let (h, body) = ReplyHeader::split(&frame).expect("a reply header");
        assert_eq!((h.xid, h.err), (xid, 0), "reply to {op:?}");
        match decode_response(op, body, 1 << 20).expect("a decodable reply") {
            Response::Create { path } => println!(
                "[{:>5} ms] created {path} at zxid 0x{:x}",
                w.now.as_nanos() / 1_000_000,
                h.zxid
            ),
            Response::GetData { data, .. } => {
                let data =
                    String::from_utf8_lossy(data.as_deref().unwrap_or_default()).into_owned();
                println!("[{:>5} ms] /hello = {data:?}", w.now.as_nanos() / 1_000_000);
                assert_eq!(data, "embedded");
            }
            other => panic!("unexpected reply {other:?}"),
        }
    }
    for (i, (_, files)) in w.members.iter().enumerate() {
        let bytes: usize = files.0.values().map(Vec::len).sum();
        println!(
            "server {}: {} files, {bytes} bytes on its in-memory disk",
            i + 1,
            files.0.len()
        );
    }
}
