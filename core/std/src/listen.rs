//! Binding a member's listen plan (the plan itself is the core's): every adapter gets the same
//! ports, the same errors and the same rule that a busy HTTP port is logged, not fatal.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use conclave_core::config::Config;
use conclave_core::deploy::{listen_plan, Bind};
use conclave_core::host::Listener;
use conclave_core::HttpEndpoint;

/// The addresses a member actually listens on (port 0 in the config resolved).
#[derive(Clone, Debug)]
pub struct ListenAddrs {
    /// Client port.
    pub client: SocketAddr,
    /// TLS client port (`secureClientPort`); `None` without TLS.
    pub secure_client: Option<SocketAddr>,
    /// Peer (election) port; `None` when standalone.
    pub peer: Option<SocketAddr>,
    /// `/metrics`; `None` when off or its port was taken.
    pub metrics: Option<SocketAddr>,
    /// `/commands`; `None` when off or its port was taken.
    pub admin: Option<SocketAddr>,
}

/// How long a dial to a peer may take before it counts as failed (every adapter's).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The first address `host:port` resolves to (a peer to dial, a port to bind).
pub fn resolve(addr: &str) -> std::io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{addr} resolves to nothing")))
}

fn bind(b: &Bind, what: &str) -> Result<TcpListener, String> {
    let text = b.to_string();
    let addr = resolve(&text).map_err(|e| format!("cannot resolve {text}: {e}"))?;
    let l =
        TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))?;
    l.set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {addr} ({what}): {e}"))?;
    Ok(l)
}

/// Binds the client and peer ports (an error if either fails) and the HTTP ports (like
/// ZooKeeper's AdminServer, a port in use there is logged and skipped). The listeners are
/// non-blocking, ready for any reactor.
pub fn bind_all(config: &Config) -> Result<(Vec<(TcpListener, Listener)>, ListenAddrs), String> {
    let plan = listen_plan(config).map_err(|e| e.to_string())?;
    let mut listeners = vec![(bind(&plan.client, "client port")?, Listener::Client)];
    if let Some(b) = &plan.secure_client {
        listeners.push((bind(b, "secure client port")?, Listener::SecureClient));
    }
    if let Some(b) = &plan.peer {
        listeners.push((bind(b, "peer (election) port")?, Listener::Peer));
    }
    for (b, endpoint) in [
        (&plan.metrics, HttpEndpoint::Metrics),
        (&plan.admin, HttpEndpoint::Admin),
    ] {
        let Some(b) = b else { continue };
        match bind(b, &format!("{endpoint:?} HTTP")) {
            Ok(l) => listeners.push((l, Listener::Http(endpoint))),
            Err(e) => tracing::warn!("{e}; continuing without it"),
        }
    }
    let local = |want: Listener| {
        listeners
            .iter()
            .find(|(_, l)| *l == want)
            .and_then(|(l, _)| l.local_addr().ok())
    };
    let addrs = ListenAddrs {
        client: local(Listener::Client).ok_or("client port not bound")?,
        secure_client: local(Listener::SecureClient),
        peer: local(Listener::Peer),
        metrics: local(Listener::Http(HttpEndpoint::Metrics)),
        admin: local(Listener::Http(HttpEndpoint::Admin)),
    };
    Ok((listeners, addrs))
}
