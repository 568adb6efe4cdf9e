//! What a server process needs besides sockets, timers and files, the same on every runtime:
//! the wall clock, entropy for the node's seed, logging (setup, and the core's lines at the
//! core's levels) and the addresses a member listens on. Plain `std` + `tracing`: conclave-smol
//! compiles this file too (`#[path]`).

use std::net::SocketAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use conclave_core::io::Level;

/// The addresses a member actually listens on (port 0 in the config resolved).
#[derive(Clone, Debug)]
pub struct ListenAddrs {
    /// Client port.
    pub client: SocketAddr,
    /// Peer (election) port; `None` when standalone.
    pub peer: Option<SocketAddr>,
    /// `/metrics`; `None` when off or its port was taken.
    pub metrics: Option<SocketAddr>,
    /// `/commands`; `None` when off or its port was taken.
    pub admin: Option<SocketAddr>,
}

/// Milliseconds since the Unix epoch (the node's `WallClock`).
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// Entropy for the node's seed: the clock, the process id and ASLR (a fresh allocation's
/// address).
pub fn seed() -> u64 {
    let a = Box::new(0u8);
    unix_ms() as u64 ^ ((&*a as *const u8 as u64).rotate_left(32)) ^ u64::from(std::process::id())
}

/// Logs on stdout, filtered by `RUST_LOG` (default `info`); colour only for a person at a
/// terminal, never in a file or a pipe.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(std::io::stdout)
        .init();
}

/// Logs a line of the core's at the level the core gives it.
pub fn log_line(level: Level, line: &str) {
    match level {
        Level::Trace => tracing::trace!("{line}"),
        Level::Debug => tracing::debug!("{line}"),
        Level::Info => tracing::info!("{line}"),
        Level::Warn => tracing::warn!("{line}"),
        Level::Error => tracing::error!("{line}"),
    }
}
