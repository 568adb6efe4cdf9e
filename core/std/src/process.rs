//! What a server process needs besides sockets, timers and files, the same on every runtime:
//! the clock, entropy for the node's seed, logging (set-up, and the core's lines at the core's
//! levels), the command line's commands that serve nothing, and what an ensemble prints.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use conclave_core::host::{parse_args, Command, USAGE};
use conclave_core::Level;
use conclave_core::ServerId;

use crate::ListenAddrs;

/// How long a clean shutdown may take before the process gives up on it.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// Milliseconds since the Unix epoch (the node's wall clock).
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

/// The node's monotonic clock: `conclave_core::Instant` since the member started, and back.
#[derive(Clone, Copy, Debug)]
pub struct Clock(std::time::Instant);

impl Clock {
    /// A clock whose zero is now.
    pub fn start() -> Clock {
        Clock(std::time::Instant::now())
    }

    /// Now, as the node counts time.
    pub fn now(&self) -> conclave_core::Instant {
        conclave_core::Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }

    /// The moment the node means by `at`, for the adapter's timer.
    pub fn at(&self, at: conclave_core::Instant) -> std::time::Instant {
        self.0 + Duration::from_nanos(at.as_nanos())
    }
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

/// Set once an ensemble process starts stopping: see [`stopping_ensemble`].
static ENSEMBLE_STOPPING: AtomicBool = AtomicBool::new(false);

/// An ensemble process was told to stop by `signal`: says so, and from now on logs the core's
/// warnings as information. Its members are told to stop one after another; a member told
/// last can see its peers leave first and would warn of a lost quorum during a clean
/// shutdown (the per-member `Driver::stopping` cannot cover a member not told yet). The
/// flag is set before any member is told, so no member's peer can have left before it.
pub fn stopping_ensemble(signal: impl std::fmt::Display) {
    ENSEMBLE_STOPPING.store(true, Ordering::SeqCst);
    println!("{signal} received, stopping the ensemble");
}

/// The quietest level of the core's events that [`log_line`] can log now (tracing's global
/// maximum, which the `RUST_LOG` filter sets): the driver drops quieter events unformatted.
pub fn quietest_logged() -> Level {
    use tracing::level_filters::LevelFilter;
    match LevelFilter::current() {
        LevelFilter::TRACE => Level::Trace,
        LevelFilter::DEBUG => Level::Debug,
        LevelFilter::INFO => Level::Info,
        LevelFilter::WARN => Level::Warn,
        _ => Level::Error,
    }
}

/// Logs a line of the core's at the level the core gives it (warnings as information once
/// the ensemble is stopping).
pub fn log_line(level: Level, line: &str) {
    match level {
        Level::Warn if ENSEMBLE_STOPPING.load(Ordering::SeqCst) => {
            tracing::info!("{line} (shutting down)")
        }
        Level::Trace => tracing::trace!("{line}"),
        Level::Debug => tracing::debug!("{line}"),
        Level::Info => tracing::info!("{line}"),
        Level::Warn => tracing::warn!("{line}"),
        Level::Error => tracing::error!("{line}"),
    }
}

/// The command line of binary `bin`: `Ok` with `Serve` or `Ensemble` (logging set up) for the
/// adapter to run; `Err` with the exit code once help, the version, `inspect` or a usage error
/// has been handled here.
pub fn command(bin: &str) -> Result<Command, ExitCode> {
    let cmd = parse_args(std::env::args().skip(1)).map_err(|e| {
        eprintln!("{bin}: {e}\n\n{USAGE}");
        ExitCode::from(2)
    })?;
    match cmd {
        Command::Help => print!("{USAGE}"),
        Command::Version => println!("{bin} {}", env!("CARGO_PKG_VERSION")),
        Command::Inspect { data_dir } => {
            let files = crate::fs::read_data_files(data_dir.as_ref()).map_err(|e| {
                eprintln!("{bin} inspect: {e}");
                ExitCode::FAILURE
            })?;
            let (text, intact) = conclave_core::inspect(&files);
            print!("{text}");
            if !intact {
                eprintln!("{data_dir}: damaged files found (see above)");
                return Err(ExitCode::from(2));
            }
        }
        run => {
            tune_allocator();
            init_tracing();
            return Ok(run);
        }
    }
    Err(ExitCode::SUCCESS)
}

/// Buffers of 256 KiB or more (a reply of a large znode, a snapshot chunk) get their own
/// mapping, returned to the OS when freed. glibc would otherwise raise its mmap threshold
/// after the first such free and keep later ones on its heaps: measured with 200 clients
/// that never read their replies, a member whose live buffers were bounded at 64 MiB stayed
/// 180 MiB larger; with the fixed threshold, 64 MiB (test
/// `clients_that_never_read_their_replies_cost_bounded_memory`). Called before any thread.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt only sets a parameter of the allocator, with a valid option and value.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
    }
}

/// The exit code for a served command's result (an error is logged and printed).
pub fn exit(bin: &str, result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("{bin}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs where a served member's HTTP endpoints are.
pub fn announce(addrs: &ListenAddrs) {
    if let Some(a) = addrs.metrics {
        tracing::info!("metrics on http://{a}/metrics");
    }
    if let Some(a) = addrs.admin {
        tracing::info!("admin server on http://{a}/commands");
    }
}

/// What `ensemble` prints once its members listen: the connect string and each member's ports.
pub fn ensemble_banner<'a>(
    members: impl IntoIterator<Item = (ServerId, &'a ListenAddrs)>,
) -> String {
    let url = |a: Option<std::net::SocketAddr>, path: &str| {
        a.map_or("-".into(), |a| format!("http://{a}{path}"))
    };
    let (mut clients, mut lines) = (Vec::new(), String::new());
    for (id, a) in members {
        clients.push(a.client.to_string());
        lines += &format!(
            "member {id}: client {} metrics {} admin {}\n",
            a.client,
            url(a.metrics, "/metrics"),
            url(a.admin, "/commands")
        );
    }
    format!("connect string: {}\n{lines}", clients.join(","))
}

/// What `ensemble` prints once [`conclave_core::deploy::ensemble_ready`] answered (or gave up).
pub fn leader_line(leader: Option<ServerId>) -> String {
    match leader {
        Some(id) => format!("member {id} leads"),
        None => "no leader after 60 s; see the log above".to_string(),
    }
}
