//! Helpers shared by the end-to-end tests: temp dirs, free ports, bounded waits, child
//! processes, a tiny HTTP GET.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conclave_core::deploy::{EnsembleLayout, MemberPorts};
use zookeeper_client as zk;

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p = std::env::temp_dir().join(format!("conclave-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port that was free a moment ago, never handed out twice by this process.
///
/// Chosen below Linux's ephemeral range (32768-60999): a port the OS picked for us (bind to 0)
/// lies in that range, where every outgoing connection also takes its source port, so a dial
/// between two members could grab it before the test binds it ("Address already in use", seen
/// once in 20 runs of .ci/flaky). Bounded: at most 12 000 candidates are tried.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    // Start each test process somewhere else in the span; step by a prime to cover all of it.
    let start = std::process::id() % SPAN;
    for _ in 0..SPAN {
        let k = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (LOW + (start + k * 7919) % SPAN) as u16;
        let mut given = GIVEN.lock().unwrap();
        if given.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.push(port);
            return port;
        }
    }
    panic!("no free port between {LOW} and {}", LOW + SPAN);
}

/// An ensemble of `n` members on ports that were free a moment ago, tickTime [`TICK_MS`].
pub fn free_ports(n: usize) -> EnsembleLayout {
    let members = (0..n)
        .map(|_| MemberPorts {
            client: free_port(),
            election: free_port(),
            quorum: free_port(),
            metrics: free_port(),
            admin: free_port(),
        })
        .collect();
    EnsembleLayout::with_ports(members, TICK_MS)
}

pub fn connect_string(layout: &EnsembleLayout) -> String {
    layout.connect_string()
}

pub const TICK_MS: u32 = 500;

pub async fn connect(cluster: &str) -> zk::Client {
    tokio::time::timeout(
        Duration::from_secs(15),
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(6))
            .with_connection_timeout(Duration::from_secs(2))
            .connect(cluster),
    )
    .await
    .expect("connect timed out")
    .expect("connect failed")
}

pub fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// `GET path` on 127.0.0.1:port; the body, if the answer was 200.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().unwrap(),
        Duration::from_secs(1),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// Child processes of a server binary (member `i` runs `bins[i]`), killed on drop.
pub struct Procs {
    pub children: Vec<Option<Child>>,
    pub cfgs: Vec<PathBuf>,
    pub logs: Vec<PathBuf>,
    pub bins: Vec<String>,
    /// Extra environment per member (fault injection).
    pub envs: Vec<Vec<(String, String)>>,
}

impl Procs {
    /// Every member runs this test crate's server binary ([`crate::SERVER_BIN`]).
    pub fn spawn_all(cfgs: Vec<PathBuf>, dir: &Path) -> Procs {
        let bins = vec![crate::SERVER_BIN.to_string(); cfgs.len()];
        Procs::spawn_mixed(cfgs, dir, bins)
    }

    /// Member `i` runs `bins[i]` (a mixed ensemble of adapters).
    pub fn spawn_mixed(cfgs: Vec<PathBuf>, dir: &Path, bins: Vec<String>) -> Procs {
        Procs::spawn_with_env(cfgs, dir, bins, &[])
    }

    /// Like [`Procs::spawn_mixed`], member `i` of each `(i, key, value)` started with `key=value`.
    pub fn spawn_with_env(
        cfgs: Vec<PathBuf>,
        dir: &Path,
        bins: Vec<String>,
        env: &[(usize, &str, &str)],
    ) -> Procs {
        let logs = (0..cfgs.len())
            .map(|i| dir.join(format!("member-{}.log", i + 1)))
            .collect();
        let mut envs = vec![Vec::new(); cfgs.len()];
        for (i, k, v) in env {
            envs[*i].push((k.to_string(), v.to_string()));
        }
        let mut p = Procs {
            children: Vec::new(),
            cfgs,
            logs,
            bins,
            envs,
        };
        for i in 0..p.cfgs.len() {
            let c = p.spawn(i);
            p.children.push(Some(c));
        }
        p
    }

    pub fn spawn(&self, i: usize) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.logs[i])
            .unwrap();
        Command::new(&self.bins[i])
            .arg("serve")
            .arg(&self.cfgs[i])
            .env("RUST_LOG", "info")
            .envs(self.envs[i].iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {}: {e}", self.bins[i]))
    }

    pub fn restart(&mut self, i: usize) {
        let c = self.spawn(i);
        self.children[i] = Some(c);
    }

    /// SIGKILL.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.children[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends `signal` (e.g. `STOP`, `CONT`) to member `i`; true if it was delivered.
    pub fn signal(&self, i: usize, signal: &str) -> bool {
        self.children[i].as_ref().is_some_and(|c| {
            Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(c.id().to_string())
                .status()
                .is_ok_and(|s| s.success())
        })
    }

    /// SIGTERM, then wait (bounded); the exit status.
    pub fn terminate(&mut self, i: usize, within: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.children[i].take()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        let deadline = Instant::now() + within;
        loop {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                let _ = c.kill();
                let _ = c.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self, i: usize) -> String {
        std::fs::read_to_string(&self.logs[i]).unwrap_or_default()
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}

/// A 3-member ensemble of this crate's server binary, started under a fresh temp dir, and
/// the index of its leader.
pub async fn start_three(tag: &str) -> (TempDir, EnsembleLayout, Procs, usize) {
    let dir = TempDir::new(tag);
    let ports = free_ports(3);
    let cfgs = conclave_std::fs::write_ensemble(&dir.0, &ports).unwrap();
    let procs = Procs::spawn_all(cfgs, &dir.0);
    let admin: Vec<(usize, u16)> = (0..3).map(|i| (i, ports.members[i].admin)).collect();
    let leader =
        tokio::task::spawn_blocking(move || leader_by_http(&admin, Duration::from_secs(10)))
            .await
            .unwrap()
            .expect("a leader");
    (dir, ports, procs, leader)
}

/// Polls `admin` ports for the member whose `/commands/leader` says `is_leader: true`.
pub fn leader_by_http(admin_ports: &[(usize, u16)], within: Duration) -> Option<usize> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        for &(i, port) in admin_ports {
            if let Some(body) = http_get(port, "/commands/leader") {
                if body.contains("\"is_leader\":true") {
                    return Some(i);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    None
}

/// Creates `path`, retrying through connection loss until `within` passes. NodeExists after
/// a lost reply counts as done (the first attempt committed). Returns true once acked.
pub async fn create_retrying(client: &zk::Client, path: &str, within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    let mut attempted = false;
    while tokio::time::Instant::now() < deadline {
        let left = deadline - tokio::time::Instant::now();
        match tokio::time::timeout(left, client.create(path, b"v", &persistent())).await {
            Ok(Ok(_)) => return true,
            Ok(Err(zk::Error::NodeExists)) if attempted => return true,
            Ok(Err(_)) | Err(_) => {
                attempted = true;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    false
}

/// Histories of real clients for the conformance suite's linearizability checker: timed
/// writes and reads, and the verdict.
pub mod history {
    use std::time::{Duration, Instant};

    use conclave_conformance::linearizability::{check_znode, Verdict};
    pub use conclave_conformance::linearizability::{Answer, Operation, ZnodeOp};
    use zookeeper_client as zk;

    /// The history's clock: nanoseconds since `epoch`.
    pub fn since(epoch: Instant) -> u64 {
        epoch.elapsed().as_nanos() as u64
    }

    /// Client `who`'s write number `i` to `path` (data `"{who}-{i}"`, unique per write), timed
    /// from `epoch`, with its answer if a definite one came within `wait` (connection loss and
    /// timeouts may or may not have applied the write: no answer).
    pub async fn timed_set(
        client: &zk::Client,
        who: u64,
        i: usize,
        path: &str,
        wait: Duration,
        epoch: Instant,
    ) -> Operation {
        let data = format!("{who}-{i}").into_bytes();
        let call = since(epoch);
        let r = tokio::time::timeout(wait, client.set_data(path, &data, None)).await;
        let answer = match r {
            Ok(Ok(stat)) => Some(Answer::Set(stat.version)),
            Ok(Err(zk::Error::NoNode)) => Some(Answer::NoNode),
            Ok(Err(zk::Error::BadVersion)) => Some(Answer::BadVersion),
            _ => None,
        };
        Operation {
            client: who,
            call,
            reply: answer.map(|a| (since(epoch), a)),
            op: ZnodeOp::SetData(data, -1),
        }
    }

    /// sync, then getData of `path` through `reader`: the history's closing read, or `None`
    /// if either did not answer within `wait`.
    pub async fn synced_read(
        reader: &zk::Client,
        path: &str,
        wait: Duration,
        epoch: Instant,
    ) -> Option<Operation> {
        let call = since(epoch);
        tokio::time::timeout(wait, reader.sync(path))
            .await
            .ok()?
            .ok()?;
        let (data, stat) = tokio::time::timeout(wait, reader.get_data(path))
            .await
            .ok()?
            .ok()?;
        Some(Operation {
            client: u64::MAX,
            call,
            reply: Some((since(epoch), Answer::Data(data, stat.version))),
            op: ZnodeOp::Read,
        })
    }

    /// Sessions writing registers `{prefix}0..{registers}` round robin, back to back (a short
    /// pause after a write with no answer), each until stopped or `limit` writes.
    pub struct Writers {
        handles: Vec<tokio::task::JoinHandle<Vec<(usize, Operation)>>>,
        answered: std::sync::Arc<std::sync::atomic::AtomicUsize>,
        stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
        registers: usize,
    }

    impl Writers {
        /// Starts `writers` sessions on `cluster`; times are taken from `epoch`.
        pub fn spawn(
            cluster: &str,
            prefix: &str,
            registers: usize,
            writers: u64,
            limit: usize,
            epoch: Instant,
        ) -> Writers {
            use std::sync::atomic::Ordering;
            let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let handles = (0..writers)
                .map(|w| {
                    let (cluster, prefix) = (cluster.to_string(), prefix.to_string());
                    let (answered, stop) = (answered.clone(), stop.clone());
                    tokio::spawn(async move {
                        let client = crate::common::connect(&cluster).await;
                        let mut ops = Vec::new();
                        for i in 0..limit {
                            if stop.load(Ordering::Relaxed) {
                                break;
                            }
                            let k = (w as usize + i) % registers;
                            let path = format!("{prefix}{k}");
                            let wait = Duration::from_secs(2);
                            let op = timed_set(&client, w, i, &path, wait, epoch).await;
                            if op.reply.is_some() {
                                answered.fetch_add(1, Ordering::Relaxed);
                            } else {
                                tokio::time::sleep(Duration::from_millis(20)).await;
                            }
                            ops.push((k, op));
                        }
                        ops
                    })
                })
                .collect();
            Writers {
                handles,
                answered,
                stop,
                registers,
            }
        }

        /// Writes answered so far.
        pub fn answered(&self) -> usize {
            self.answered.load(std::sync::atomic::Ordering::Relaxed)
        }

        /// Waits until `n` writes are answered; panics after `within`.
        pub async fn wait_for(&self, n: usize, within: Duration) {
            let deadline = Instant::now() + within;
            while self.answered() < n {
                assert!(
                    Instant::now() < deadline,
                    "writers stalled below {n} answers"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }

        /// Stops the writers (or, with `at_limit`, lets them reach their limit) and returns
        /// each register's operations.
        pub async fn finish(self, at_limit: bool) -> Vec<Vec<Operation>> {
            if !at_limit {
                self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            let mut histories = vec![Vec::new(); self.registers];
            for h in self.handles {
                for (k, op) in h.await.unwrap() {
                    histories[k].push(op);
                }
            }
            histories
        }
    }

    /// Closes each register's history with a synced read through a fresh session on
    /// `cluster` and checks it (initial data `initial`); the number of operations checked.
    pub async fn check_registers(
        cluster: &str,
        prefix: &str,
        mut histories: Vec<Vec<Operation>>,
        initial: &[u8],
        epoch: Instant,
    ) -> usize {
        let reader = crate::common::connect(cluster).await;
        let mut placed = 0;
        for (k, history) in histories.iter_mut().enumerate() {
            let path = format!("{prefix}{k}");
            let read = synced_read(&reader, &path, Duration::from_secs(10), epoch)
                .await
                .unwrap_or_else(|| panic!("the closing read of {path} did not answer"));
            history.push(read);
            placed += history.len();
            if let Err(why) = linearizable(&path, history, initial) {
                panic!("{why}");
            }
        }
        placed
    }

    /// Why `history` of `path` (starting as `initial`, version 0) is not linearizable, if it is
    /// not; a check out of budget is a failure too, never a pass.
    pub fn linearizable(path: &str, history: &[Operation], initial: &[u8]) -> Result<(), String> {
        match check_znode(history, Some((initial, 0)), 50_000_000) {
            Verdict::Linearizable => Ok(()),
            Verdict::Violation(why) => Err(format!("{path} is not linearizable: {why}")),
            Verdict::Unknown => Err(format!("{path}: the checker ran out of budget (undecided)")),
        }
    }
}
