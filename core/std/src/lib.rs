//! # conclave-std
//!
//! The `std` half of every adapter that runs on an operating system, written once: the
//! [`Files`](conclave_core::files::Files) contract over `std::fs` and the disk thread that runs
//! the core's persist ops ([`disk`]), reading `zoo.cfg` and a data directory ([`fs`]), binding
//! the listen plan ([`listen`]), and the process around a member — clock, seed, logs, the
//! command line's non-serving commands ([`process`]). No async runtime: conclave-tokio,
//! conclave-smol and conclave-mio each add only their sockets, tasks and timer.
//!
//! Why a crate beside the core and not inside it: the core stays `no_std` and free of files,
//! threads and clocks (docs/decisions.md D20); a `no_std` host brings its own version of these
//! few hundred lines.

// `unsafe` only where it is allowed: `process::tune_allocator` (mallopt) and the global
// allocator in `alloc`.
#![deny(unsafe_code)]

pub mod alloc;
pub mod busy_poll;
pub mod control;
pub mod disk;
pub mod fs;
pub mod listen;
pub mod process;
pub mod scratch;
pub mod tls;

use conclave_core::host::{Driver, Listener, Loaded};
use conclave_core::Tuning;
use conclave_core::{Node, ServerId};

pub use listen::ListenAddrs;
pub use process::Clock;

/// A member ready to run: its ports bound, its node built, nothing spawned yet.
#[derive(Debug)]
pub struct Prepared {
    /// Its server id.
    pub id: ServerId,
    /// Where it listens.
    pub addrs: ListenAddrs,
    /// The bound listeners (non-blocking), each with what it serves.
    pub listeners: Vec<(std::net::TcpListener, Listener)>,
    /// The node, with its socket bookkeeping.
    pub driver: Driver,
    /// The node's clock (its `Instant::ZERO` is now).
    pub clock: Clock,
    /// The data directory, for the disk thread.
    pub data_dir: String,
    /// `busyPollMicros`: how long the loop and the disk thread poll after an event.
    pub busy_poll: busy_poll::BusyPoll,
}

/// Logs what loading found, binds every port of the member's listen plan and builds its node.
pub fn prepare(loaded: Loaded) -> Result<Prepared, String> {
    let Loaded {
        config,
        data_dir,
        recovered,
        log,
    } = loaded;
    for (level, line) in log {
        process::log_line(level, &line);
    }
    let id = config.my_id;
    let tls = config
        .client_tls
        .as_ref()
        .map(tls::TlsLayers::load)
        .transpose()?;
    let quorum_tls = config
        .quorum_tls
        .as_ref()
        .map(tls::QuorumLayers::load)
        .transpose()?;
    let (listeners, addrs) = listen::bind_all(&config)?;
    let busy_poll = busy_poll::BusyPoll::from_config(config.busy_poll_us);
    let clock = Clock::start();
    let node = Node::with_state_machine(
        config,
        recovered,
        process::seed(),
        conclave_core::Instant::ZERO,
        process::unix_ms(),
        Tuning::default(),
    )
    .map_err(|e| format!("cannot start server {id}: {e}"))?;
    let peers = addrs
        .peer
        .map_or("(standalone)".to_string(), |a| a.to_string());
    tracing::info!(
        "server {id} serving clients on {}{}, peers on {peers}",
        addrs.client,
        addrs
            .secure_client
            .map_or(String::new(), |a| format!(" and over TLS on {a}"))
    );
    let mut driver = Driver::new(node);
    driver.log_from(process::quietest_logged());
    if let Some(tls) = tls {
        driver.set_secure_layer(Box::new(tls));
    }
    if let Some(tls) = quorum_tls {
        tracing::info!("server {id}: TLS on every peer link (sslQuorum)");
        driver.set_quorum_layer(Box::new(tls));
    }
    Ok(Prepared {
        id,
        addrs,
        listeners,
        driver,
        clock,
        data_dir,
        busy_poll,
    })
}

/// The node's status as last published by its loop, readable from any thread (tests, the
/// ensemble command waiting for a leader).
#[derive(Clone, Debug)]
pub struct SharedStatus(std::sync::Arc<std::sync::Mutex<conclave_core::Status>>);

impl SharedStatus {
    /// Shares `status`.
    pub fn new(status: conclave_core::Status) -> SharedStatus {
        SharedStatus(std::sync::Arc::new(std::sync::Mutex::new(status)))
    }

    /// The status last published.
    pub fn get(&self) -> conclave_core::Status {
        let s = self.0.lock().unwrap_or_else(|e| e.into_inner());
        s.clone()
    }

    /// Publishes `status` (a loop calls this after each turn).
    pub fn set(&self, status: conclave_core::Status) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }
}
