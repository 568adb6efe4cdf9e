//! Network partitions for harnesses on real sockets: each member in a network namespace of its
//! own, the namespaces on one bridge (itself in a namespace: the host's network is never
//! touched), clients in one more namespace, and `nft` drop rules inside a member's namespace
//! that cut it off from the other members while clients still reach it.
//!
//! Needs root, `ip` (iproute2) and `nft` (nftables); `.ci/run` installs both. [`unavailable`]
//! says why a machine cannot, so a harness refuses the fault loudly instead of passing without
//! it.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Why namespaces and drop rules cannot be set up here, if they cannot.
pub fn unavailable() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    #[allow(unsafe_code)]
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some("not root (network namespaces and nft need CAP_NET_ADMIN)".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("nft", "nftables")] {
        let found = Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok();
        if !found {
            return Some(format!("`{tool}` not found (apt-get install {package})"));
        }
    }
    None
}

/// Runs a command to completion; its stderr on failure.
pub fn run(args: &[&str]) -> Result<(), String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Member namespaces 1..=n and a client namespace (n + 1) on a bridge; removed on drop.
#[derive(Debug)]
pub struct Net {
    tag: String,
    members: usize,
}

impl Drop for Net {
    fn drop(&mut self) {
        for i in 1..=self.members + 1 {
            let _ = run(&["ip", "netns", "del", &self.ns(i)]);
        }
        let _ = run(&["ip", "netns", "del", &self.hub()]);
    }
}

impl Net {
    /// Builds the namespaces and the bridge for `members` members and one client namespace.
    pub fn create(members: usize) -> Result<Net, String> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "cv{}x{}",
            std::process::id() % 100_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let net = Net { tag, members };
        let hub = net.hub();
        run(&["ip", "netns", "add", &hub])?;
        run(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"])?;
        run(&["ip", "-n", &hub, "link", "set", "br0", "up"])?;
        for i in 1..=members + 1 {
            let ns = net.ns(i);
            let port = format!("v{i}");
            run(&["ip", "netns", "add", &ns])?;
            run(&[
                "ip", "-n", &hub, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ])?;
            run(&[
                "ip", "-n", &hub, "link", "set", &port, "master", "br0", "up",
            ])?;
            let addr = format!("{}/24", ip(i));
            run(&["ip", "-n", &ns, "addr", "add", &addr, "dev", "eth0"])?;
            run(&["ip", "-n", &ns, "link", "set", "eth0", "up"])?;
            run(&["ip", "-n", &ns, "link", "set", "lo", "up"])?;
        }
        Ok(net)
    }

    /// How many member namespaces it has.
    pub fn members(&self) -> usize {
        self.members
    }

    fn hub(&self) -> String {
        format!("{}h", self.tag)
    }

    /// The namespace of member `i` (1-based).
    pub fn ns(&self, i: usize) -> String {
        format!("{}m{i}", self.tag)
    }

    /// The namespace clients connect from.
    pub fn client_ns(&self) -> String {
        self.ns(self.members + 1)
    }

    /// Drops every packet between member `i` (1-based) and the other members, both ways
    /// (clients still reach it): a blackhole, so established connections hang as in a real
    /// partition. `dir` keeps the rules file.
    pub fn isolate(&self, i: usize, dir: &Path) -> Result<(), String> {
        let others: Vec<String> = (1..=self.members).filter(|&m| m != i).map(ip).collect();
        let set = others.join(", ");
        let rules = format!(
            "table inet cvpart {{\n  chain in {{ type filter hook input priority 0; policy accept; \
             ip saddr {{ {set} }} drop; }}\n  chain out {{ type filter hook output priority 0; \
             policy accept; ip daddr {{ {set} }} drop; }}\n}}\n"
        );
        let file = dir.join(format!("partition-{i}.nft"));
        std::fs::write(&file, rules).map_err(|e| e.to_string())?;
        let file = file.display().to_string();
        run(&["ip", "netns", "exec", &self.ns(i), "nft", "-f", &file])
    }

    /// Removes what [`Net::isolate`] set up for member `i`.
    pub fn heal(&self, i: usize) -> Result<(), String> {
        run(&[
            "ip",
            "netns",
            "exec",
            &self.ns(i),
            "nft",
            "delete",
            "table",
            "inet",
            "cvpart",
        ])
    }
}

/// The address of member `i` (1-based; `members + 1` is the client namespace).
pub fn ip(i: usize) -> String {
    format!("10.231.0.{i}")
}

/// Moves the calling thread into network namespace `ns`: sockets it opens from now on, and
/// threads it spawns, are there.
pub fn enter(ns: &str) -> Result<(), String> {
    let path = format!("/run/netns/{ns}");
    let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: setns on a namespace fd we hold open only changes this thread's network
    // namespace; no memory is involved.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(format!("setns {ns}: {}", std::io::Error::last_os_error()))
    }
}

/// Runs `f` on a thread that lives in network namespace `ns`.
pub fn within<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let ns = ns.to_string();
    std::thread::spawn(move || enter(&ns).map(|()| f()))
        .join()
        .map_err(|_| "a thread in a network namespace panicked".to_string())?
}

/// A TCP connection to `addr` opened from namespace `ns`.
pub fn connect(ns: &str, addr: SocketAddr, wait: Duration) -> std::io::Result<TcpStream> {
    within(ns, move || TcpStream::connect_timeout(&addr, wait)).map_err(std::io::Error::other)?
}
