//! The files a member reads and writes besides its data: `zoo.cfg`, `myid`, the data
//! directory's listing, an ensemble's configs. Every rule (myid, recovery, listen plan,
//! ensemble layout) is the core's.

use std::io::Read;
use std::path::{Path, PathBuf};

use conclave_core::deploy::EnsembleLayout;
use conclave_core::host::{load_member, HostFs, Loaded};

/// [`HostFs`] over `std::fs`.
pub struct StdFs;

impl HostFs for StdFs {
    fn create_dir_all(&mut self, dir: &str) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())
    }
    fn read_optional(&mut self, path: &str) -> Result<Option<String>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
    fn data_files(&mut self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        read_data_files(Path::new(dir))
    }
}

/// Reads `zoo.cfg` and loads the member it describes (the rules are the core's).
pub fn load(zoo_cfg: &Path) -> Result<Loaded, String> {
    let name = zoo_cfg.display().to_string();
    let text = std::fs::read_to_string(zoo_cfg).map_err(|e| format!("cannot read {name}: {e}"))?;
    load_member(&name, &text, &mut StdFs)
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
