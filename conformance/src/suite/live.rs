//! The suite's harness for members on real sockets, whatever runs them: a [`Host`] starts a
//! member from its zoo.cfg and data directory (an adapter's binary as a process, or an adapter
//! in this test process), kills it, freezes and thaws it; [`LiveHarness`] writes the
//! ensemble's files, talks to the members as ZooKeeper clients over TCP, and, for scenarios
//! with partitions, puts every member in a network namespace of its own ([`super::netns`]).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use conclave_core::client::{Request, WatcherEvent};
use conclave_core::deploy::{EnsembleLayout, MemberPorts};

use super::kazoo::Kazoo;
use super::netns::{self, Net};
use super::zkc::Zkc;
use super::{Answer, Harness, Setup, Unsupported};
use crate::differential::wire::{timed_out, Session, WireError};

/// Ticks of the suite's ensembles: short, so that failover and session expiry fit in a test.
const TICK_MS: u32 = 200;
/// How long a client waits for a reply before it counts the connection lost.
const CLIENT_WAIT: Duration = Duration::from_secs(5);

/// Where and how one member is to run.
#[derive(Clone, Copy, Debug)]
pub struct Launch<'a> {
    /// Its zoo.cfg (next to it: the data directory with `myid`).
    pub cfg: &'a Path,
    /// Where its log lines go, where the host can send them.
    pub log: &'a Path,
    /// The network namespace it must live in, for scenarios with partitions.
    pub netns: Option<&'a str>,
}

/// Runs members: an adapter's binary as processes, or an adapter inside the test process.
pub trait Host {
    /// What runs the members, for failure messages ("conclave-mio processes").
    fn describe(&self) -> String;
    /// Starts a member; returns once it is binding or bound.
    fn launch(&self, member: Launch<'_>) -> Result<Box<dyn Running>, String>;
}

/// A member a [`Host`] started.
pub trait Running {
    /// Ends it at once, as `kill -9` does; returns when it is gone (its ports free, its files
    /// no longer written).
    fn kill(self: Box<Self>);
    /// Freezes it, as SIGSTOP does: its sockets stay open and unanswered, its timers wait.
    fn pause(&mut self) -> Result<(), Unsupported>;
    /// Thaws what [`Running::pause`] froze.
    fn resume(&mut self);
}

/// A client library the harness speaks through instead of the core's codec (a client family);
/// handles are the family's own.
pub(crate) trait Family {
    /// A new session on `addr`; its handle.
    fn open(&mut self, addr: SocketAddr, timeout_ms: i32) -> Result<usize, String>;
    /// `request` on session `h`; a `String` error when the connection was lost.
    fn call(&mut self, h: usize, request: &Request) -> Result<Answer, String>;
    /// Notifications that reached session `h`, waiting up to `wait` for one.
    fn events(&mut self, h: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String>;
    /// closeSession on `h`.
    fn close(&mut self, h: usize);
    /// Session `h` on `addr` over a new connection, the old one dropped without
    /// closeSession; the new handle.
    fn reconnect(&mut self, h: usize, addr: SocketAddr) -> Result<usize, String>;
    /// Drops `h`'s connection without closeSession, for good.
    fn abandon(&mut self, h: usize);
}

/// Which client library a harness speaks through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Clients {
    /// The core's jute codec on plain sockets.
    Codec,
    /// kazoo (Python).
    Kazoo,
    /// The `zookeeper-client` crate.
    ZookeeperClient,
}

/// An ensemble run by a [`Host`] under a fresh directory, removed (members first) on drop.
pub struct LiveHarness {
    host: Box<dyn Host>,
    dir: PathBuf,
    layout: Option<EnsembleLayout>,
    cfgs: Vec<PathBuf>,
    members: Vec<Option<Box<dyn Running>>>,
    paused: Vec<bool>,
    sessions: Vec<Option<Session>>,
    /// Notifications read while a session waited for a reply.
    events: Vec<Vec<WatcherEvent>>,
    /// The namespaces, for scenarios with partitions.
    net: Option<Net>,
    isolated: BTreeSet<usize>,
    /// The client library, and (once the ensemble started) the family that runs it.
    clients: Clients,
    family: Option<Box<dyn Family>>,
    /// Connections of the last `Flood`.
    flood: Vec<TcpStream>,
}

impl LiveHarness {
    /// A harness whose members `host` runs.
    pub fn new(host: impl Host + 'static) -> LiveHarness {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conclave-suite-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        LiveHarness {
            host: Box::new(host),
            dir,
            layout: None,
            cfgs: Vec::new(),
            members: Vec::new(),
            paused: Vec::new(),
            sessions: Vec::new(),
            events: Vec::new(),
            net: None,
            isolated: BTreeSet::new(),
            clients: Clients::Codec,
            family: None,
            flood: Vec::new(),
        }
    }

    /// The same harness with clients of the `zookeeper-client` crate instead of the core's
    /// codec (the zookeeper-client family).
    pub fn with_zookeeper_client(mut self) -> LiveHarness {
        self.clients = Clients::ZookeeperClient;
        self
    }

    /// The same harness with kazoo clients instead of the core's codec (the kazoo family).
    pub fn with_kazoo(mut self) -> LiveHarness {
        self.clients = Clients::Kazoo;
        self
    }

    fn member_addr(&self, i: usize) -> Result<SocketAddr, String> {
        self.client_addr(i).ok_or_else(|| format!("no member {i}"))
    }

    fn log_path(&self, i: usize) -> PathBuf {
        self.dir.join(format!("member-{}.log", i + 1))
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let log = self.log_path(i);
        let ns = self.net.as_ref().map(|n| n.ns(i + 1));
        let running = self.host.launch(Launch {
            cfg: &self.cfgs[i],
            log: &log,
            netns: ns.as_deref(),
        })?;
        self.members[i] = Some(running);
        self.paused[i] = false;
        Ok(())
    }

    fn client_addr(&self, i: usize) -> Option<SocketAddr> {
        let layout = self.layout.as_ref()?;
        let port = layout.members.get(i)?.client;
        let host = layout.host_of(i + 1).parse().ok()?;
        Some(SocketAddr::new(host, port))
    }

    /// A connection to member `i`'s client port (from the client namespace, if any).
    fn connect(&self, i: usize, wait: Duration) -> Result<TcpStream, String> {
        let addr = self
            .client_addr(i)
            .ok_or_else(|| format!("no member {i}"))?;
        let stream = match &self.net {
            Some(net) => netns::connect(&net.client_ns(), addr, wait),
            None => TcpStream::connect_timeout(&addr, wait),
        };
        stream.map_err(|e| format!("connect to member {i} ({addr}): {e}"))
    }

    /// The members' logs, for a failure message.
    pub fn logs(&self) -> String {
        (0..self.cfgs.len())
            .filter_map(|i| {
                let text = std::fs::read_to_string(self.log_path(i)).ok()?;
                let tail: Vec<&str> = text.lines().rev().take(80).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                Some(format!(
                    "--- member {} (last 80 lines)\n{}",
                    i + 1,
                    tail.join("\n")
                ))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn ports(&self, members: usize) -> Result<Vec<MemberPorts>, String> {
        if self.net.is_some() {
            // A namespace each: every member has the whole port space to itself.
            let fixed = MemberPorts {
                client: 2181,
                election: 3888,
                quorum: 2888,
                metrics: 7000,
                admin: 8080,
            };
            return Ok(vec![fixed; members]);
        }
        (0..members)
            .map(|_| {
                Ok(MemberPorts {
                    client: next_free_port()?,
                    election: next_free_port()?,
                    quorum: next_free_port()?,
                    metrics: next_free_port()?,
                    admin: next_free_port()?,
                })
            })
            .collect()
    }
}

impl Drop for LiveHarness {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(m) = m.take() {
                m.kill();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
        self.net.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port for a member: from a range below the OS's ephemeral ports (32768 and up), so a
/// port checked free here is not handed to another socket before the member binds it (a
/// port-0 bind in a concurrent test once took one: the member could not start). Each test
/// process gets its own 500 ports of 12000..32000; the harnesses in it share a counter.
fn next_free_port() -> Result<u16, String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let base = 12_000 + u64::from(std::process::id() % 40) * 500;
    for _ in 0..500 {
        let port = base + NEXT.fetch_add(1, Ordering::Relaxed) % 500;
        let port = u16::try_from(port).map_err(|_| "port range")?;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Err(format!("no free port in {base}..{}", base + 500))
}

fn wire(e: WireError) -> String {
    e.to_string()
}

impl Harness for LiveHarness {
    fn describe(&self) -> String {
        let net = if self.net.is_some() {
            ", each member in a network namespace"
        } else {
            ""
        };
        let clients = match self.clients {
            Clients::Codec => "",
            Clients::Kazoo => ", kazoo clients",
            Clients::ZookeeperClient => ", zookeeper-client clients",
        };
        format!(
            "{} in {}{net}{clients}",
            self.host.describe(),
            self.dir.display()
        )
    }

    fn partitions(&self) -> Result<(), Unsupported> {
        match netns::unavailable() {
            Some(why) => Err(Unsupported(format!("network partitions: {why}"))),
            None => Ok(()),
        }
    }

    fn clients(&self) -> Result<(), Unsupported> {
        match (self.clients, super::kazoo::unavailable()) {
            (Clients::Kazoo, Some(why)) => Err(Unsupported(format!("the kazoo family: {why}"))),
            _ => Ok(()),
        }
    }

    fn start(&mut self, setup: &Setup) -> Result<(), String> {
        let members = setup.members;
        if setup.partitions {
            self.net = Some(Net::create(members)?);
        }
        let ns = self.net.as_ref().map(Net::client_ns);
        self.family = match self.clients {
            Clients::Codec => None,
            Clients::Kazoo => Some(Box::new(
                Kazoo::start(&self.dir, ns.as_deref()).map_err(|u| u.0)?,
            )),
            Clients::ZookeeperClient => Some(Box::new(Zkc::start(ns.as_deref())?)),
        };
        let mut layout = EnsembleLayout::with_ports(self.ports(members)?, TICK_MS);
        layout.observers = setup.observers;
        if self.net.is_some() {
            layout.hosts = (1..=members).map(netns::ip).collect();
        }
        if setup.reconfig {
            layout.extra.extend(
                super::RECONFIG_CFG
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
        }
        for i in 1..=members {
            let member = self.dir.join(format!("member-{i}"));
            let data = member.join("data");
            std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
            let cfg = member.join("zoo.cfg");
            let text = layout.zoo_cfg(i, &data.display().to_string());
            std::fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))?;
            std::fs::write(data.join("myid"), format!("{i}\n")).map_err(|e| e.to_string())?;
            self.cfgs.push(cfg);
        }
        self.layout = Some(layout);
        self.members = (0..members).map(|_| None).collect();
        self.paused = vec![false; members];
        (0..members).try_for_each(|i| self.spawn(i))
    }

    fn is_up(&self, i: usize) -> bool {
        self.members.get(i).is_some_and(Option::is_some)
    }

    fn kill(&mut self, i: usize) {
        if let Some(m) = self.members.get_mut(i).and_then(Option::take) {
            m.kill();
        }
    }

    fn restart(&mut self, i: usize) -> Result<(), String> {
        self.kill(i);
        self.spawn(i)
    }

    fn pause(&mut self, i: usize) -> Result<(), Unsupported> {
        let m = self
            .members
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or_else(|| Unsupported(format!("member {i} is not running")))?;
        m.pause()?;
        self.paused[i] = true;
        Ok(())
    }

    fn resume(&mut self, i: usize) {
        if self.paused.get(i).copied().unwrap_or(false) {
            if let Some(m) = self.members.get_mut(i).and_then(Option::as_mut) {
                m.resume();
            }
            self.paused[i] = false;
        }
    }

    fn isolate(&mut self, i: usize) -> Result<(), String> {
        let net = self
            .net
            .as_ref()
            .ok_or("isolate: the ensemble was not started for partitions")?;
        net.isolate(i + 1, &self.dir)?;
        self.isolated.insert(i);
        Ok(())
    }

    fn heal(&mut self) -> Result<(), String> {
        let Some(net) = self.net.as_ref() else {
            return Ok(());
        };
        for i in std::mem::take(&mut self.isolated) {
            net.heal(i + 1)?;
        }
        Ok(())
    }

    fn leader(&mut self, except: &[usize]) -> Option<usize> {
        (0..self.members.len())
            .filter(|&i| self.is_up(i) && !self.paused[i] && !except.contains(&i))
            .find(|&i| {
                let srvr = || -> Result<String, String> {
                    let mut s = self.connect(i, Duration::from_secs(1))?;
                    let io = |e: std::io::Error| e.to_string();
                    s.set_read_timeout(Some(Duration::from_secs(1)))
                        .map_err(io)?;
                    s.write_all(b"srvr").map_err(io)?;
                    let mut text = String::new();
                    s.read_to_string(&mut text).map_err(io)?;
                    Ok(text)
                };
                srvr().is_ok_and(|t| t.contains("Mode: leader") || t.contains("Mode: standalone"))
            })
    }

    fn open(&mut self, i: usize, timeout_ms: i32) -> Result<usize, String> {
        if self.family.is_some() {
            let addr = self.member_addr(i)?;
            if let Some(family) = self.family.as_mut() {
                return family.open(addr, timeout_ms);
            }
        }
        let stream = self.connect(i, CLIENT_WAIT)?;
        let session =
            Session::over(stream, timeout_ms, CLIENT_WAIT, 0, vec![0; 16]).map_err(wire)?;
        self.sessions.push(Some(session));
        self.events.push(Vec::new());
        Ok(self.sessions.len() - 1)
    }

    fn call(&mut self, handle: usize, request: &Request) -> Result<Answer, String> {
        if let Some(family) = self.family.as_mut() {
            return family.call(handle, request);
        }
        let session = self
            .sessions
            .get_mut(handle)
            .and_then(Option::as_mut)
            .ok_or("the session is closed")?;
        match session.call(request) {
            Ok(reply) => {
                self.events[handle].extend(reply.events);
                Ok(Answer {
                    err: reply.err,
                    body: reply.body,
                })
            }
            Err(e) => {
                self.sessions[handle] = None;
                Err(wire(e))
            }
        }
    }

    fn events(&mut self, handle: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        if let Some(family) = self.family.as_mut() {
            return family.events(handle, wait);
        }
        let mut got = std::mem::take(&mut self.events[handle]);
        if got.is_empty() {
            let session = self
                .sessions
                .get_mut(handle)
                .and_then(Option::as_mut)
                .ok_or("the session is closed")?;
            got = session.wait_events(wait).map_err(wire)?;
        }
        Ok(got)
    }

    fn close(&mut self, handle: usize) {
        if let Some(family) = self.family.as_mut() {
            return family.close(handle);
        }
        if let Some(mut session) = self.sessions.get_mut(handle).and_then(Option::take) {
            let _ = session.call(&Request::CloseSession);
        }
    }

    fn reconnect(&mut self, handle: usize, i: usize) -> Result<usize, String> {
        if self.family.is_some() {
            let addr = self.member_addr(i)?;
            if let Some(family) = self.family.as_mut() {
                return family.reconnect(handle, addr);
            }
        }
        let old = self
            .sessions
            .get_mut(handle)
            .and_then(Option::take)
            .ok_or("the session is closed")?;
        let (id, timeout_ms, passwd) = (old.id, old.timeout_ms, old.passwd.clone());
        // The old connection goes first, without closeSession: its server "went away".
        drop(old);
        let stream = self.connect(i, CLIENT_WAIT)?;
        let session = Session::over(stream, timeout_ms, CLIENT_WAIT, id, passwd).map_err(wire)?;
        if session.id != id {
            return Err(format!("resumed as session {:#x}, not {id:#x}", session.id));
        }
        self.sessions.push(Some(session));
        self.events.push(Vec::new());
        Ok(self.sessions.len() - 1)
    }

    fn hostile(&mut self, i: usize, bytes: &[u8]) -> Result<bool, String> {
        let mut s = self.connect(i, CLIENT_WAIT)?;
        let io = |e: std::io::Error| e.to_string();
        s.set_read_timeout(Some(CLIENT_WAIT)).map_err(io)?;
        // The member may close while the bytes are still going out.
        let _ = s.write_all(bytes);
        let mut buf = [0u8; 4096];
        // Bounded: a member that answers garbage for ever is as wrong as one that keeps it.
        for _ in 0..1000 {
            match s.read(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(_) => {}
                Err(e) if timed_out(&e) => return Ok(false),
                Err(_) => return Ok(true),
            }
        }
        Ok(false)
    }

    fn sleep(&mut self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn abandon(&mut self, handle: usize) {
        if let Some(family) = self.family.as_mut() {
            family.abandon(handle);
        } else if let Some(s) = self.sessions.get_mut(handle) {
            s.take();
        }
    }

    fn flood(&mut self, i: usize, n: usize) -> Result<(), String> {
        for _ in 0..n {
            let s = self.connect(i, CLIENT_WAIT)?;
            self.flood.push(s);
        }
        Ok(())
    }

    fn flood_open(&mut self, within: Duration) -> Result<usize, String> {
        let deadline = std::time::Instant::now() + within;
        let mut open = std::mem::take(&mut self.flood);
        let mut buf = [0u8; 64];
        // Bounded by the deadline.
        while !open.is_empty() && std::time::Instant::now() < deadline {
            open.retain_mut(|s| {
                let _ = s.set_read_timeout(Some(Duration::from_millis(10)));
                match s.read(&mut buf) {
                    Ok(0) => false,
                    Ok(_) => true,
                    Err(e) => timed_out(&e),
                }
            });
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(open.len())
    }
}
