//! The services under test: a Conclave ensemble of separate `serve` processes, or Apache
//! ZooKeeper started by `zk-ensemble.sh`; their client addresses, process ids and RSS.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use conclave_conformance::suite::netns::{self, Net};
use conclave_core::deploy::EnsembleLayout;

/// Which service a round runs against.
#[derive(Clone, Debug)]
pub(crate) enum Service {
    /// A Conclave server binary of any adapter (`conclave`, `conclave-smol`, `conclave-mio`).
    Conclave {
        /// Path of the binary; each member runs `<bin> serve <zoo.cfg>`.
        bin: PathBuf,
        /// The first client port; member i listens on `base + i - 1`.
        base_port: u16,
        /// `tickTime` of the ensemble, ms.
        tick_ms: u32,
        /// Lines appended to every member's zoo.cfg (`--conclave-cfg`), each ending in `\n`.
        cfg: String,
    },
    /// Apache ZooKeeper, started and stopped by `zk-ensemble.sh` (clients on 2181…).
    ZooKeeper {
        /// Path of `zk-ensemble.sh`.
        script: PathBuf,
    },
}

impl Service {
    /// The name results are reported under.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Service::Conclave { .. } => "conclave",
            Service::ZooKeeper { .. } => "zookeeper",
        }
    }
}

/// A running ensemble; stopped (every process it started, by PID) when dropped.
pub(crate) struct Cluster {
    /// Client addresses, member 1 first.
    pub(crate) hosts: Vec<String>,
    /// Process id of each member, member 1 first.
    pub(crate) pids: Vec<u32>,
    children: Vec<Child>,
    /// How to start member i again (Conclave): the binary, its zoo.cfg, its namespace.
    commands: Vec<(PathBuf, PathBuf, Option<String>)>,
    zk: Option<(PathBuf, PathBuf)>,
    dir: PathBuf,
}

impl Cluster {
    /// Starts `members` fresh members of `service` under `dir` (emptied first) and returns at
    /// once: whether they serve is the caller's to find out (the election workload times it).
    pub(crate) fn start(service: &Service, members: usize, dir: &Path) -> Result<Cluster, String> {
        Cluster::start_with(service, members, dir, &|_| String::new(), None)
    }

    /// [`Cluster::start`] with `extra(i)` appended to member i's zoo.cfg and, with `net`,
    /// member i in network namespace i (Conclave only).
    pub(crate) fn start_with(
        service: &Service,
        members: usize,
        dir: &Path,
        extra: &dyn Fn(usize) -> String,
        net: Option<&Net>,
    ) -> Result<Cluster, String> {
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        match service {
            Service::Conclave {
                bin,
                base_port,
                tick_ms,
                cfg: cfg_lines,
            } => {
                let mut layout = EnsembleLayout::local(members, *base_port, *tick_ms)?;
                if net.is_some() {
                    layout.hosts = (1..=members).map(netns::ip).collect();
                }
                // Measuring whoever already listens there would be worse than failing.
                for i in (1..=members).filter(|_| net.is_none()) {
                    let p = layout.ports(i).ok_or("no ports")?;
                    for port in [p.client, p.election] {
                        std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
                            format!("port {port} is not free ({e}): another server is running there; pick --base-port")
                        })?;
                    }
                }
                let mut children = Vec::new();
                let mut pids = Vec::new();
                let mut commands = Vec::new();
                for i in 1..=members {
                    let member = dir.join(format!("member-{i}"));
                    let data = member.join("data");
                    fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
                    let cfg = member.join("zoo.cfg");
                    let text = format!(
                        "{}{cfg_lines}{}",
                        layout.zoo_cfg(i, &data.to_string_lossy()),
                        extra(i)
                    );
                    fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))?;
                    if members > 1 {
                        fs::write(data.join("myid"), format!("{i}\n"))
                            .map_err(|e| format!("myid: {e}"))?;
                    }
                    let ns = net.map(|n| n.ns(i));
                    let child = serve(bin, &cfg, ns.as_deref())?;
                    pids.push(child.id());
                    children.push(child);
                    commands.push((bin.clone(), cfg, ns));
                }
                let hosts = (1..=members)
                    .map(|i| format!("{}:{}", layout.host_of(i), usize::from(*base_port) + i - 1))
                    .collect();
                Ok(Cluster {
                    hosts,
                    pids,
                    children,
                    commands,
                    zk: None,
                    dir: dir.to_path_buf(),
                })
            }
            Service::ZooKeeper { script } => {
                let out = Command::new("bash")
                    .arg(script)
                    .args(["start", &members.to_string(), "--no-wait"])
                    .env("ZKB_ROOT", dir)
                    .output()
                    .map_err(|e| format!("{}: {e}", script.display()))?;
                if !out.status.success() {
                    return Err(format!(
                        "{} start {members} failed: {}{}",
                        script.display(),
                        String::from_utf8_lossy(&out.stdout),
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                let pidfile = fs::read_to_string(dir.join("pids"))
                    .map_err(|e| format!("{}/pids: {e}", dir.display()))?;
                let mut hosts = Vec::new();
                let mut pids = Vec::new();
                for line in pidfile.lines() {
                    let f: Vec<&str> = line.split_whitespace().collect();
                    if let [_, pid, addr] = f[..] {
                        pids.push(pid.parse().map_err(|_| format!("pidfile line {line:?}"))?);
                        hosts.push(addr.to_string());
                    }
                }
                if hosts.len() != members {
                    return Err(format!(
                        "{}/pids lists {} members",
                        dir.display(),
                        hosts.len()
                    ));
                }
                Ok(Cluster {
                    hosts,
                    pids,
                    children: Vec::new(),
                    commands: Vec::new(),
                    zk: Some((script.clone(), dir.to_path_buf())),
                    dir: dir.to_path_buf(),
                })
            }
        }
    }

    /// The connect string of every member.
    pub(crate) fn connect_string(&self) -> String {
        self.hosts.join(",")
    }

    /// Index of the member whose `srvr` says `Mode: leader`, if one does.
    pub(crate) fn leader(&self) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| four_letter(h, "srvr").is_some_and(|s| s.contains("Mode: leader")))
    }

    /// Resident set size of each member, MiB (`VmRSS` of its process).
    /// The CPU time the members have used so far (user + system, all threads), seconds:
    /// taken before and after a workload, the work each op costs the service, whatever else
    /// the machine runs meanwhile.
    pub(crate) fn cpu_secs(&self) -> f64 {
        self.pids.iter().map(|&pid| cpu_secs(pid)).sum()
    }

    pub(crate) fn rss_mib(&self) -> Vec<f64> {
        self.pids.iter().map(|&pid| rss_mib(pid)).collect()
    }

    /// Where each member's resident pages are: `RssAnon` (heap, stacks) and `RssFile`
    /// (the binary and libraries), KiB; the split tells allocation from code.
    pub(crate) fn rss_split_kib(&self) -> Vec<(u64, u64)> {
        self.pids
            .iter()
            .map(|&pid| (status_kib(pid, "RssAnon:"), status_kib(pid, "RssFile:")))
            .collect()
    }

    /// `kill -9` of member `i` (0-based).
    pub(crate) fn kill9(&mut self, i: usize) -> Result<(), String> {
        self.signal(i, "9")
    }

    /// Starts member `i` (0-based, killed before) again on its data dir (Conclave only).
    pub(crate) fn restart(&mut self, i: usize) -> Result<(), String> {
        let (bin, cfg, ns) = self
            .commands
            .get(i)
            .ok_or("restart: only Conclave members")?;
        if let Some(old) = self.children.get_mut(i) {
            let _ = old.wait();
        }
        let child = serve(bin, cfg, ns.as_deref())?;
        self.pids[i] = child.id();
        self.children[i] = child;
        Ok(())
    }

    /// Sends `signal` (`STOP`, `CONT`) to member `i` (0-based).
    pub(crate) fn signal(&self, i: usize, signal: &str) -> Result<(), String> {
        let pid = *self.pids.get(i).ok_or("no such member")?;
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .map_err(|e| e.to_string())?
            .success();
        if ok {
            Ok(())
        } else {
            Err(format!("kill -{signal} {pid} failed"))
        }
    }

    /// Where this cluster's files live.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Some((script, dir)) = &self.zk {
            let _ = Command::new("bash")
                .arg(script)
                .arg("stop")
                .env("ZKB_ROOT", dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `bin serve cfg` (in network namespace `ns` through `ip netns exec`, which execs it: the
/// PID is the server's), its output appended to `server.log` beside the config.
fn serve(bin: &Path, cfg: &Path, ns: Option<&str>) -> Result<Child, String> {
    let log_path = cfg.with_file_name("server.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| format!("{}: {e}", log_path.display()))?;
    let err = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    cmd.arg("serve")
        .arg(cfg)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    // SAFETY: prctl is async-signal-safe and touches only the child being started.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))
}

/// Sends a four-letter word and returns the answer (2 s bound).
pub(crate) fn four_letter(host: &str, word: &str) -> Option<String> {
    let addr = host.parse().ok()?;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(word.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

/// `VmRSS` of a process in MiB (0 when it cannot be read).
/// utime + stime of `/proc/<pid>/stat` (0 when it cannot be read), in seconds. The fields
/// are in USER_HZ ticks, which Linux fixes at 100 for every user-space interface.
fn cpu_secs(pid: u32) -> f64 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // State is field 3 of the man page, index 0 here: utime (14) and stime (15).
    (tick(11) + tick(12)) as f64 / 100.0
}

fn rss_mib(pid: u32) -> f64 {
    status_kib(pid, "VmRSS:") as f64 / 1024.0
}

/// One KiB field of `/proc/<pid>/status` (0 when it cannot be read).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}
