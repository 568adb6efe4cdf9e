//! The suite's harness for an adapter's binary as real processes: a `serve` process per
//! member from its own zoo.cfg and data directory (as an operator runs them), kill -9 by PID,
//! SIGSTOP / SIGCONT, restart from the same data directory; clients on real sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use conclave_core::client::{Request, WatcherEvent};
use conclave_core::deploy::{EnsembleLayout, MemberPorts};

use super::{Answer, Harness, Unsupported};
use crate::differential::wire::{timed_out, Session, WireError};

/// Ticks of the suite's ensembles: short, so that failover and session expiry fit in a test.
const TICK_MS: u32 = 200;
/// How long a client waits for a reply before it counts the connection lost.
const CLIENT_WAIT: Duration = Duration::from_secs(5);

/// An ensemble of `bin` processes under a fresh directory, removed (processes first) on drop.
pub struct ProcessHarness {
    bin: PathBuf,
    dir: PathBuf,
    layout: Option<EnsembleLayout>,
    cfgs: Vec<PathBuf>,
    children: Vec<Option<Child>>,
    paused: Vec<bool>,
    sessions: Vec<Option<Session>>,
    /// Notifications read while a session waited for a reply.
    events: Vec<Vec<WatcherEvent>>,
}

impl ProcessHarness {
    /// A harness for the server binary `bin` (e.g. `env!("CARGO_BIN_EXE_conclave")`).
    pub fn new(bin: &str) -> ProcessHarness {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conclave-suite-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        ProcessHarness {
            bin: PathBuf::from(bin),
            dir,
            layout: None,
            cfgs: Vec::new(),
            children: Vec::new(),
            paused: Vec::new(),
            sessions: Vec::new(),
            events: Vec::new(),
        }
    }

    fn spawn(&mut self, i: usize) -> Result<(), String> {
        let log = self.dir.join(format!("member-{}.log", i + 1));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| format!("{}: {e}", log.display()))?;
        let err = file.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(&self.bin)
            .arg("serve")
            .arg(&self.cfgs[i])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.bin.display()))?;
        self.children[i] = Some(child);
        self.paused[i] = false;
        Ok(())
    }

    fn client_addr(&self, i: usize) -> Option<SocketAddr> {
        let port = self.layout.as_ref()?.members.get(i)?.client;
        Some(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    fn signal(&self, i: usize, signal: &str) {
        if let Some(child) = self.children.get(i).and_then(Option::as_ref) {
            let _ = Command::new("kill")
                .arg(signal)
                .arg(child.id().to_string())
                .status();
        }
    }

    /// The members' logs, for a failure message.
    pub fn logs(&self) -> String {
        (0..self.cfgs.len())
            .map(|i| {
                let log = self.dir.join(format!("member-{}.log", i + 1));
                let text = std::fs::read_to_string(log).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(80).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- member {} (last 80 lines)\n{}", i + 1, tail.join("\n"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for ProcessHarness {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.signal(i, "-CONT");
            if let Some(mut child) = self.children[i].take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() {
            eprintln!("{}", self.logs());
        }
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

impl Harness for ProcessHarness {
    fn describe(&self) -> String {
        let bin = self.bin.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        format!("{bin} processes in {}", self.dir.display())
    }

    fn start(&mut self, members: usize, reconfig: bool) -> Result<(), String> {
        let mut ports = Vec::with_capacity(members);
        for _ in 0..members {
            ports.push(MemberPorts {
                client: next_free_port()?,
                election: next_free_port()?,
                quorum: next_free_port()?,
                metrics: next_free_port()?,
                admin: next_free_port()?,
            });
        }
        let mut layout = EnsembleLayout::with_ports(ports, TICK_MS);
        if reconfig {
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
        self.children = (0..members).map(|_| None).collect();
        self.paused = vec![false; members];
        (0..members).try_for_each(|i| self.spawn(i))
    }

    fn is_up(&self, i: usize) -> bool {
        self.children.get(i).is_some_and(Option::is_some)
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children.get_mut(i).and_then(Option::take) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self, i: usize) -> Result<(), String> {
        self.kill(i);
        self.spawn(i)
    }

    fn pause(&mut self, i: usize) -> Result<(), Unsupported> {
        if !self.is_up(i) {
            return Err(Unsupported(format!("member {i} is not running")));
        }
        self.signal(i, "-STOP");
        self.paused[i] = true;
        Ok(())
    }

    fn resume(&mut self, i: usize) {
        if self.paused.get(i).copied().unwrap_or(false) {
            self.signal(i, "-CONT");
            self.paused[i] = false;
        }
    }

    fn leader(&mut self) -> Option<usize> {
        (0..self.children.len())
            .filter(|&i| self.is_up(i) && !self.paused[i])
            .find(|&i| {
                let Some(addr) = self.client_addr(i) else {
                    return false;
                };
                let srvr = || -> std::io::Result<String> {
                    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
                    s.set_read_timeout(Some(Duration::from_secs(1)))?;
                    s.write_all(b"srvr")?;
                    let mut text = String::new();
                    s.read_to_string(&mut text)?;
                    Ok(text)
                };
                srvr().is_ok_and(|t| t.contains("Mode: leader") || t.contains("Mode: standalone"))
            })
    }

    fn open(&mut self, i: usize, timeout_ms: i32) -> Result<usize, String> {
        let addr = self
            .client_addr(i)
            .ok_or_else(|| format!("no member {i}"))?;
        let session = Session::connect(addr, timeout_ms, CLIENT_WAIT).map_err(wire)?;
        self.sessions.push(Some(session));
        self.events.push(Vec::new());
        Ok(self.sessions.len() - 1)
    }

    fn call(&mut self, handle: usize, request: &Request) -> Result<Answer, String> {
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
        if let Some(mut session) = self.sessions.get_mut(handle).and_then(Option::take) {
            let _ = session.call(&Request::CloseSession);
        }
    }

    fn reconnect(&mut self, handle: usize, i: usize) -> Result<usize, String> {
        let old = self
            .sessions
            .get_mut(handle)
            .and_then(Option::take)
            .ok_or("the session is closed")?;
        let addr = self
            .client_addr(i)
            .ok_or_else(|| format!("no member {i}"))?;
        let (id, timeout_ms, passwd) = (old.id, old.timeout_ms, old.passwd.clone());
        // The old connection goes first, without closeSession: its server "went away".
        drop(old);
        let session = Session::resume(addr, timeout_ms, CLIENT_WAIT, id, passwd).map_err(wire)?;
        if session.id != id {
            return Err(format!("resumed as session {:#x}, not {id:#x}", session.id));
        }
        self.sessions.push(Some(session));
        self.events.push(Vec::new());
        Ok(self.sessions.len() - 1)
    }

    fn hostile(&mut self, i: usize, bytes: &[u8]) -> Result<bool, String> {
        let addr = self
            .client_addr(i)
            .ok_or_else(|| format!("no member {i}"))?;
        let io = |e: std::io::Error| e.to_string();
        let mut s = TcpStream::connect_timeout(&addr, CLIENT_WAIT).map_err(io)?;
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
}
