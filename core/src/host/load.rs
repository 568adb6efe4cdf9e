//! From a `zoo.cfg` to what [`crate::Node::new`] needs: the config with `my_id` set (the myid
//! rule), the data directory, and what recovery found in it. The adapter only reads files,
//! through [`HostFs`]; every check and message is here.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::config::Config;
use crate::deploy;
use crate::io::Level;
use crate::recovery::DiskState;

/// The file operations loading needs, over the adapter's file system. Errors are the OS's
/// message; paths are joined with `/`.
pub trait HostFs {
    /// Creates `dir` (and its parents) if missing.
    fn create_dir_all(&mut self, dir: &str) -> Result<(), String>;
    /// The text of `path`, or `None` if it does not exist.
    fn read_optional(&mut self, path: &str) -> Result<Option<String>, String>;
    /// Every regular file directly in `dir` except `myid`: name and bytes, sorted by name.
    fn data_files(&mut self, dir: &str) -> Result<Vec<(String, Vec<u8>)>, String>;
}

/// A member ready to start.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration with `my_id` set.
    pub config: Config,
    /// The data directory (every Conclave file lives directly in it).
    pub data_dir: String,
    /// What recovery found there.
    pub recovered: DiskState,
    /// Lines to log before starting, with their level (config warnings, recovery report).
    pub log: Vec<(Level, String)>,
}

/// Reads and validates `zoo.cfg` (named `cfg_name`, text `cfg_text`), `myid` and the data
/// directory; creates nothing but the data directory when it is missing. An error says what
/// to fix; nothing on disk is changed by a failed load.
pub fn load_member(cfg_name: &str, cfg_text: &str, fs: &mut impl HostFs) -> Result<Loaded, String> {
    let mut config = Config::from_zoo_cfg(cfg_text).map_err(|e| format!("{cfg_name}: {e}"))?;
    if let Some(path) = config.dynamic_config_file.clone() {
        let text = fs
            .read_optional(&path)
            .map_err(|e| format!("cannot read the dynamicConfigFile {path}: {e}"))?
            .ok_or_else(|| format!("the dynamicConfigFile {path} does not exist"))?;
        config = config
            .with_dynamic_config(&text)
            .map_err(|e| format!("{path}: {}", e.kind))?;
    }
    let mut log: Vec<(Level, String)> = config
        .warnings
        .iter()
        .map(|w| (Level::Warn, format!("{cfg_name}: {w}")))
        .collect();
    let data_dir = config
        .data_dir
        .clone()
        .ok_or(format!("{cfg_name}: dataDir is not set"))?;
    fs.create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create dataDir {data_dir}: {e}"))?;
    let myid_path = format!("{}/myid", data_dir.trim_end_matches('/'));
    let myid = fs
        .read_optional(&myid_path)
        .map_err(|e| format!("cannot read {myid_path}: {e}"))?;
    let id = deploy::my_id(&config, myid.as_deref()).map_err(|e| format!("{myid_path}: {e}"))?;
    let mut config = config
        .with_my_id(id)
        .map_err(|e| format!("{cfg_name} with myid {id}: {e}"))?;
    if let Some(sasl) = &mut config.sasl {
        let path = sasl.jaas_path.clone();
        let text = fs
            .read_optional(&path)
            .map_err(|e| format!("cannot read the JAAS file {path}: {e}"))?
            .ok_or_else(|| {
                format!(
                    "the JAAS file {path} ({}) does not exist",
                    crate::config::JAAS_KEY
                )
            })?;
        sasl.users = crate::config::digest_users(&text, &sasl.section)
            .map_err(|e| format!("JAAS file {path}: {e}"))?;
        log.push((
            Level::Info,
            format!(
                "SASL DIGEST-MD5 for clients: {} users from {path}",
                sasl.users.0.len()
            ),
        ));
    }
    let files = fs.data_files(&data_dir)?;
    let recovered = DiskState::from_files(&files).map_err(|e| {
        format!(
            "cannot recover data directory {data_dir}: {e}. Nothing was changed; inspect it \
             with `conclave inspect {data_dir}`"
        )
    })?;
    log.extend(
        recovered
            .report
            .warnings()
            .into_iter()
            .map(|w| (Level::Warn, format!("{data_dir}: {w}"))),
    );
    log.push((Level::Info, format!("recovered {data_dir}: {recovered}")));
    Ok(Loaded {
        config,
        data_dir,
        recovered,
        log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;

    #[derive(Default)]
    struct Mem {
        files: BTreeMap<String, String>,
        dirs: Vec<String>,
    }

    impl HostFs for Mem {
        fn create_dir_all(&mut self, dir: &str) -> Result<(), String> {
            self.dirs.push(dir.to_string());
            Ok(())
        }
        fn read_optional(&mut self, path: &str) -> Result<Option<String>, String> {
            Ok(self.files.get(path).cloned())
        }
        fn data_files(&mut self, _dir: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
            Ok(Vec::new())
        }
    }

    const CFG: &str = "tickTime=2000\ndataDir=/d\nclientPort=2181\n\
                       server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\n";

    #[test]
    fn an_ensemble_member_needs_its_myid_and_gets_a_fresh_data_dir() {
        let mut fs = Mem::default();
        let err = load_member("zoo.cfg", CFG, &mut fs).unwrap_err();
        assert!(err.starts_with("/d/myid: "), "{err}");
        fs.files.insert("/d/myid".into(), "2\n".into());
        let m = load_member("zoo.cfg", CFG, &mut fs).unwrap();
        assert_eq!((m.config.my_id, m.data_dir.as_str()), (2, "/d"));
        assert_eq!(fs.dirs, ["/d", "/d"]);
        assert!(m
            .log
            .iter()
            .any(|(l, t)| *l == Level::Info && t.starts_with("recovered /d: ")));
    }

    #[test]
    fn a_dynamic_config_file_supplies_the_members() {
        let cfg = "dataDir=/d\nreconfigEnabled=true\ndynamicConfigFile=/etc/zoo.cfg.dynamic\n";
        let mut fs = Mem::default();
        fs.files.insert("/d/myid".into(), "2\n".into());
        let err = load_member("zoo.cfg", cfg, &mut fs).unwrap_err();
        assert_eq!(
            err,
            "the dynamicConfigFile /etc/zoo.cfg.dynamic does not exist"
        );
        fs.files.insert(
            "/etc/zoo.cfg.dynamic".into(),
            "server.1=127.0.0.1:2888:3888:participant;2181\n\
             server.2=127.0.0.1:2889:3889:participant;2182\nversion=100000000"
                .into(),
        );
        let m = load_member("zoo.cfg", cfg, &mut fs).unwrap();
        assert_eq!(m.config.voters().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(m.config.config_version, 0);
        assert_eq!(m.config.client_port, Some(2182), "from its own server line");
        fs.files
            .insert("/etc/zoo.cfg.dynamic".into(), "server.1=nonsense".into());
        let err = load_member("zoo.cfg", cfg, &mut fs).unwrap_err();
        assert!(
            err.starts_with("/etc/zoo.cfg.dynamic: dynamicConfigFile: server.1: expected host:"),
            "{err}"
        );
    }

    #[test]
    fn a_config_without_data_dir_is_refused_before_touching_the_disk() {
        let mut fs = Mem::default();
        let err = load_member("zoo.cfg", "tickTime=2000\nclientPort=2181\n", &mut fs).unwrap_err();
        assert_eq!(err, "zoo.cfg: dataDir is not set");
        assert!(fs.dirs.is_empty());
    }
}
