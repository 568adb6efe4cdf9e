//! From a `zoo.cfg` to what a member needs, reading files only; every rule (myid, recovery,
//! listen plan, ensemble layout) is the core's.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use conclave_core::config::Config;
use conclave_core::deploy::{self, Bind, EnsembleLayout};
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

/// Reads and validates `zoo.cfg`, `myid` and the data directory. Writes nothing but the
/// data directory itself when it does not exist.
pub fn load(zoo_cfg: &Path) -> Result<Loaded, String> {
    let cfg = zoo_cfg.display();
    let text = std::fs::read_to_string(zoo_cfg).map_err(|e| format!("cannot read {cfg}: {e}"))?;
    let config = Config::from_zoo_cfg(&text).map_err(|e| format!("{cfg}: {e}"))?;
    for w in &config.warnings {
        tracing::warn!("{cfg}: {w}");
    }
    let data_dir = PathBuf::from(
        config
            .data_dir
            .clone()
            .ok_or(format!("{cfg}: dataDir is not set"))?,
    );
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create dataDir {}: {e}", data_dir.display()))?;
    let myid_path = data_dir.join("myid");
    let myid = match std::fs::read_to_string(&myid_path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read {}: {e}", myid_path.display())),
    };
    let id = deploy::my_id(&config, myid.as_deref())
        .map_err(|e| format!("{}: {e}", myid_path.display()))?;
    let config = config
        .with_my_id(id)
        .map_err(|e| format!("{cfg} with myid {id}: {e}"))?;
    let files = read_data_files(&data_dir)?;
    let recovered = DiskState::from_files(&files).map_err(|e| {
        let d = data_dir.display();
        format!("cannot recover data directory {d}: {e}. Nothing was changed; inspect it with `conclave inspect {d}`")
    })?;
    for w in recovered.report.warnings() {
        tracing::warn!("{}: {w}", data_dir.display());
    }
    tracing::info!("recovered {}: {recovered}", data_dir.display());
    Ok(Loaded {
        config,
        data_dir,
        recovered,
    })
}

/// The regular files of a data directory (`myid` and subdirectories left out), name and bytes,
/// with progress on stderr for large ones.
pub fn read_data_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    const PROGRESS_STEP: u64 = 64 << 20;
    let fail = |e: std::io::Error| format!("cannot list {}: {e}", dir.display());
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let entry = entry.map_err(fail)?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if name == "myid" || !entry.file_type().map_err(fail)?.is_file() {
            continue;
        }
        let path = entry.path();
        let read_fail = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let mut f = std::fs::File::open(&path).map_err(read_fail)?;
        let len = f.metadata().map_err(read_fail)?.len();
        let (mut bytes, mut buf) = (Vec::with_capacity(len as usize), vec![0u8; 8 << 20]);
        let mut next_report = PROGRESS_STEP;
        loop {
            let n = f.read(&mut buf).map_err(read_fail)?;
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&buf[..n]);
            if bytes.len() as u64 >= next_report {
                eprintln!("{}: read {} of {len} bytes", path.display(), bytes.len());
                next_report += PROGRESS_STEP;
            }
        }
        files.push((name, bytes));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files)
}

/// Resolves a bind address of the listen plan.
pub fn resolve(bind: &Bind) -> Result<SocketAddr, String> {
    let text = bind.to_string();
    text.to_socket_addrs()
        .map_err(|e| format!("cannot resolve {text}: {e}"))?
        .next()
        .ok_or_else(|| format!("{text} resolves to nothing"))
}

/// Writes (or refreshes) `dir/member-<i>/zoo.cfg` and `dir/member-<i>/data/myid` for every
/// member of `layout`, keeping existing data. Returns the `zoo.cfg` paths.
pub fn write_ensemble(dir: &Path, layout: &EnsembleLayout) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for i in 1..=layout.members.len() {
        let member = dir.join(format!("member-{i}"));
        let data = member.join("data");
        let fail = |e: std::io::Error| format!("cannot write {}: {e}", member.display());
        std::fs::create_dir_all(&data).map_err(fail)?;
        let data = data.canonicalize().map_err(fail)?;
        let cfg = member.join("zoo.cfg");
        std::fs::write(&cfg, layout.zoo_cfg(i, &data.display().to_string())).map_err(fail)?;
        std::fs::write(data.join("myid"), format!("{i}\n")).map_err(fail)?;
        paths.push(cfg);
    }
    Ok(paths)
}
