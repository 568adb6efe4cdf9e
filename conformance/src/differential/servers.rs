//! The two servers of a differential run, each standalone on a free loopback port with the
//! same settings: Conclave (`<binary> serve zoo.cfg`) and Apache ZooKeeper 3.8 from the Debian
//! package (`java … ZooKeeperServerMain zoo.cfg`). Killed when dropped.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::wire::Session;

/// ZooKeeper's jar and its logging binding, as the Debian package installs them.
pub const ZOOKEEPER_CLASSPATH: &str =
    "/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar";

/// How often both servers reap containers and TTL nodes during a run: never, in practice,
/// so that a timer firing on one server and not yet on the other is not a divergence.
const CHECK_INTERVAL_MS: u32 = 3_600_000;

/// A running server process.
pub struct Server {
    child: Child,
    /// Its client address.
    pub addr: SocketAddr,
    /// Where its config, data and log are.
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why ZooKeeper cannot be started here, if it cannot.
pub fn zookeeper_missing() -> Option<String> {
    for jar in ZOOKEEPER_CLASSPATH.split(':') {
        if !Path::new(jar).exists() {
            return Some(format!(
                "{jar} is missing (apt-get install zookeeper): Apache ZooKeeper is not installed"
            ));
        }
    }
    match Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => None,
        _ => Some("no working `java` on PATH".into()),
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The zoo.cfg both servers share, but for the port and directory.
fn zoo_cfg(dir: &Path, port: u16) -> String {
    format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n",
        dir.join("data").display()
    )
}

fn prepare(dir: &Path) -> Result<(), String> {
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("data")).map_err(|e| format!("{}: {e}", dir.display()))
}

fn log_file(dir: &Path) -> Result<(Stdio, Stdio), String> {
    let path = dir.join("server.log");
    let f = fs::File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let g = f.try_clone().map_err(|e| e.to_string())?;
    Ok((f.into(), g.into()))
}

/// Starts `bin serve` in `dir` (emptied first) and waits until it takes a session.
pub fn start_conclave(bin: &Path, dir: &Path) -> Result<Server, String> {
    prepare(dir)?;
    let port = free_port()?;
    let metrics = free_port()?;
    let cfg = dir.join("zoo.cfg");
    let text = format!(
        "{}metricsProvider.httpPort={metrics}\nznode.container.checkIntervalMs={CHECK_INTERVAL_MS}\n",
        zoo_cfg(dir, port)
    );
    fs::write(&cfg, text).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let (out, err) = log_file(dir)?;
    let child = Command::new(bin)
        .arg("serve")
        .arg(&cfg)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    ready(Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        dir: dir.to_path_buf(),
    })
}

/// Starts Apache ZooKeeper standalone in `dir` (emptied first), TTL nodes enabled (Conclave
/// always has them), and waits until it takes a session.
pub fn start_zookeeper(dir: &Path) -> Result<Server, String> {
    if let Some(why) = zookeeper_missing() {
        return Err(why);
    }
    prepare(dir)?;
    let port = free_port()?;
    let cfg = dir.join("zoo.cfg");
    fs::write(&cfg, zoo_cfg(dir, port)).map_err(|e| format!("{}: {e}", cfg.display()))?;
    let (out, err) = log_file(dir)?;
    let child = Command::new("java")
        .args([
            "-Xmx512m",
            "-Dzookeeper.extendedTypesEnabled=true",
            &format!("-Dznode.container.checkIntervalMs={CHECK_INTERVAL_MS}"),
            "-Dzookeeper.admin.enableServer=false",
            "-cp",
            ZOOKEEPER_CLASSPATH,
            "org.apache.zookeeper.server.ZooKeeperServerMain",
        ])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("java: {e}"))?;
    ready(Server {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        dir: dir.to_path_buf(),
    })
}

/// Waits (60 s at most) until the server opens a session; a server that exits is an error
/// naming its log.
fn ready(mut server: Server) -> Result<Server, String> {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!(
                "the server exited ({status}) before serving; see {}",
                server.dir.join("server.log").display()
            ));
        }
        if Session::connect(server.addr, 30_000, Duration::from_secs(2)).is_ok() {
            return Ok(server);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "no session within 60 s; see {}",
        server.dir.join("server.log").display()
    ))
}
