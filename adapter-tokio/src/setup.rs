//! From a `zoo.cfg` to what a member needs: the validated config, the data directory, the
//! recovered disk state and the addresses to listen on.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use conclave_core::config::Config;
use conclave_core::recovery::DiskState;

/// Everything a member needs to start, read from disk.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration with `my_id` set.
    pub config: Config,
    /// The data directory (every Conclave file lives directly in it).
    pub data_dir: PathBuf,
    /// What recovery found there.
    pub recovered: DiskState,
}

/// Reads and validates `zoo.cfg`, `myid` and the data directory. Never writes anything.
pub fn load(zoo_cfg: &Path) -> Result<Loaded, String> {
    let text = std::fs::read_to_string(zoo_cfg)
        .map_err(|e| format!("cannot read {}: {e}", zoo_cfg.display()))?;
    let config = Config::from_zoo_cfg(&text).map_err(|e| format!("{}: {e}", zoo_cfg.display()))?;
    for w in &config.warnings {
        tracing::warn!("{}: {w}", zoo_cfg.display());
    }
    let data_dir = PathBuf::from(
        config
            .data_dir
            .clone()
            .ok_or_else(|| format!("{}: dataDir is not set", zoo_cfg.display()))?,
    );
    if let Some(log_dir) = &config.data_log_dir {
        if Path::new(log_dir) != data_dir {
            tracing::warn!(
                "dataLogDir={log_dir} is ignored: Conclave keeps its log and snapshots in dataDir"
            );
        }
    }
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create dataDir {}: {e}", data_dir.display()))?;
    let myid_path = data_dir.join("myid");
    let id = match std::fs::read_to_string(&myid_path) {
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{}: not a decimal server id: {:?}", myid_path.display(), s))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.servers.is_empty() => 1,
        Err(e) => return Err(format!("cannot read {}: {e}", myid_path.display())),
    };
    let config = config
        .with_my_id(id)
        .map_err(|e| format!("{} with myid {id}: {e}", zoo_cfg.display()))?;
    let recovered = recover(&data_dir)?;
    Ok(Loaded {
        config,
        data_dir,
        recovered,
    })
}

/// The regular files of a data directory (`myid` and subdirectories left out), name and bytes.
pub fn read_data_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue; // not UTF-8: certainly none of ours
        };
        let ft = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if name == "myid" || !ft.is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        files.push((name, bytes));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Recovers the durable state of `dir`, logging what recovery tolerated.
pub fn recover(dir: &Path) -> Result<DiskState, String> {
    let files = read_data_files(dir)?;
    let state = DiskState::from_files(&files).map_err(|e| {
        format!(
            "cannot recover data directory {}: {e}. Nothing was changed; \
             inspect it with `conclave inspect {}`",
            dir.display(),
            dir.display()
        )
    })?;
    let r = &state.report;
    for t in &r.torn {
        tracing::warn!(
            "torn tail in {}: valid data ends at byte {}, dropping {} bytes of an interrupted write",
            t.file,
            t.offset,
            t.dropped_bytes
        );
    }
    for (f, why) in &r.skipped_snapshots {
        tracing::warn!("skipping unusable snapshot {f}: {why}");
    }
    for f in &r.used_epoch_tmp {
        tracing::warn!("using {f} (interrupted epoch update)");
    }
    for f in &r.derived_epochs {
        tracing::warn!("{f} missing; derived from the epoch of the last zxid");
    }
    for f in &r.ignored_files {
        tracing::info!("ignoring unknown file {f} in {}", dir.display());
    }
    if let Some(e) = r.unadopted_log_epoch {
        tracing::warn!("log holds history of epoch {e} that was never adopted (currentEpoch kept)");
    }
    tracing::info!(
        "recovered {}: acceptedEpoch={} currentEpoch={} last zxid {} (snapshot {}, {} txns to replay)",
        dir.display(),
        state.accepted_epoch,
        state.current_epoch,
        state.last_zxid,
        state
            .snapshot
            .as_ref()
            .map_or("none".to_string(), |s| s.file.clone()),
        state.txns.len()
    );
    Ok(state)
}

fn resolve(host: &str, port: u16) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let text = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    text.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {text}: {e}"))?
        .next()
        .ok_or_else(|| format!("{text} resolves to nothing"))
}

/// Where this member listens: clients, peers (its election port, D1), metrics, admin.
#[derive(Clone, Debug)]
pub struct ListenAddrs {
    /// Client port.
    pub client: SocketAddr,
    /// Peer port (`None` when standalone without server lines).
    pub peer: Option<SocketAddr>,
    /// `metricsProvider.httpPort` (`None`: off).
    pub metrics: Option<SocketAddr>,
    /// `admin.serverPort` (`None`: `admin.enableServer=false`).
    pub admin: Option<SocketAddr>,
}

/// The listening addresses `config` asks for.
pub fn listen_addrs(config: &Config) -> Result<ListenAddrs, String> {
    let port = config
        .client_port
        .ok_or("no client port: set clientPort or a `;port` suffix on this server's line")?;
    let host = config.client_port_address.as_deref().unwrap_or("0.0.0.0");
    let client = resolve(host, port)?;
    let peer = match config.servers.get(&config.my_id) {
        Some(spec) => Some(resolve(&spec.host, spec.election_port)?),
        None => None,
    };
    let metrics = (config.metrics_http_port != 0)
        .then(|| resolve("0.0.0.0", config.metrics_http_port))
        .transpose()?;
    let admin = config
        .admin_enable_server
        .then(|| resolve("0.0.0.0", config.admin_server_port))
        .transpose()?;
    Ok(ListenAddrs {
        client,
        peer,
        metrics,
        admin,
    })
}

/// Ports of member `i` (1-based) of a `conclave ensemble` with `base` as first client port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnsemblePorts {
    /// Client port: `base + i - 1`.
    pub client: u16,
    /// Election (peer) port: `base + 1000 + i`.
    pub election: u16,
    /// Quorum port (parsed, not listened on; D1): `base + 2000 + i`.
    pub quorum: u16,
    /// Metrics: `base + 3000 + i`.
    pub metrics: u16,
    /// Admin: `base + 4000 + i`.
    pub admin: u16,
}

impl EnsemblePorts {
    /// The ports of member `i`.
    pub fn of(base: u16, i: u16) -> EnsemblePorts {
        EnsemblePorts {
            client: base + i - 1,
            election: base + 1000 + i,
            quorum: base + 2000 + i,
            metrics: base + 3000 + i,
            admin: base + 4000 + i,
        }
    }
}

/// Writes `zoo.cfg` text for member `my_ports` of an ensemble on 127.0.0.1.
pub fn ensemble_zoo_cfg(
    data_dir: &Path,
    tick_ms: u32,
    members: &[EnsemblePorts],
    me: usize,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "tickTime={tick_ms}");
    let _ = writeln!(s, "initLimit=10");
    let _ = writeln!(s, "syncLimit=5");
    let _ = writeln!(s, "dataDir={}", data_dir.display());
    let _ = writeln!(s, "clientPortAddress=127.0.0.1");
    let _ = writeln!(s, "clientPort={}", members[me].client);
    let _ = writeln!(s, "metricsProvider.httpPort={}", members[me].metrics);
    let _ = writeln!(s, "admin.serverPort={}", members[me].admin);
    let _ = writeln!(s, "4lw.commands.whitelist=*");
    for (i, p) in members.iter().enumerate() {
        let _ = writeln!(
            s,
            "server.{}=127.0.0.1:{}:{}:participant;127.0.0.1:{}",
            i + 1,
            p.quorum,
            p.election,
            p.client
        );
    }
    s
}

/// Creates (or refreshes) the files of an `n`-member ensemble under `dir`:
/// `dir/member-<i>/zoo.cfg` and `dir/member-<i>/data/myid`. Existing data is kept.
/// Returns the `zoo.cfg` paths.
pub fn write_ensemble(
    dir: &Path,
    tick_ms: u32,
    members: &[EnsemblePorts],
) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for i in 0..members.len() {
        let member_dir = dir.join(format!("member-{}", i + 1));
        let data = member_dir.join("data");
        std::fs::create_dir_all(&data)
            .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
        let data = data
            .canonicalize()
            .map_err(|e| format!("{}: {e}", data.display()))?;
        let cfg = member_dir.join("zoo.cfg");
        std::fs::write(&cfg, ensemble_zoo_cfg(&data, tick_ms, members, i))
            .map_err(|e| format!("cannot write {}: {e}", cfg.display()))?;
        std::fs::write(data.join("myid"), format!("{}\n", i + 1))
            .map_err(|e| format!("cannot write myid in {}: {e}", data.display()))?;
        paths.push(cfg);
    }
    Ok(paths)
}
