//! `conclave inspect`: what is in a data directory, verified by the scanners recovery uses.
//! Pure: the adapter reads the files, this renders them.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

use crate::codec::epochs::parse_epoch;
use crate::codec::log::{parse_log_file_name, scan_log};
use crate::codec::snapshot::{decode_snapshot, parse_snapshot_file_name};
use crate::ids::Zxid;
use crate::recovery::DiskState;
use crate::tree::{DataTree, SubTxn, ZkTxn};

fn data_summary(d: &Option<Vec<u8>>) -> String {
    match d {
        None => "null".into(),
        Some(d) => {
            let shown: String = alloc::string::String::from_utf8_lossy(&d[..d.len().min(32)])
                .chars()
                .map(|c| if c.is_control() { '.' } else { c })
                .collect();
            if d.len() > 32 {
                format!("{} bytes {shown:?}...", d.len())
            } else {
                format!("{} bytes {shown:?}", d.len())
            }
        }
    }
}

/// A one-line summary of a ZooKeeper txn body.
pub(crate) fn summarize(kind: i32, body: &[u8]) -> String {
    fn sub(t: &SubTxn) -> String {
        match t {
            SubTxn::Create(c) => format!("create {}", c.path),
            SubTxn::Delete { path } => format!("delete {path}"),
            SubTxn::SetData { path, version, .. } => format!("setData {path} v{version}"),
            SubTxn::Check { path, version } => format!("check {path} v{version}"),
            SubTxn::Error { code } => format!("error {code:?}"),
        }
    }
    match ZkTxn::decode(kind, body) {
        Ok(ZkTxn::Create(c)) => format!(
            "create {} data={} owner=0x{:x} acl={}",
            c.path,
            data_summary(&c.data),
            c.ephemeral_owner,
            c.acl.len()
        ),
        Ok(ZkTxn::Delete { path }) => format!("delete {path}"),
        Ok(ZkTxn::SetData {
            path,
            data,
            version,
        }) => format!("setData {path} v{version} data={}", data_summary(&data)),
        Ok(ZkTxn::SetAcl { path, acl, version }) => {
            format!("setACL {path} av{version} acl={}", acl.len())
        }
        Ok(ZkTxn::Check { path, version }) => format!("check {path} v{version}"),
        Ok(ZkTxn::Multi(ops)) => format!(
            "multi [{}]",
            ops.iter().map(sub).collect::<Vec<_>>().join("; ")
        ),
        Ok(ZkTxn::CreateSession { timeout_ms }) => format!("createSession timeout={timeout_ms}ms"),
        Ok(ZkTxn::CloseSession { ephemerals }) => {
            format!("closeSession ephemerals={ephemerals:?}")
        }
        Ok(ZkTxn::Error { code }) => format!("error {code:?}"),
        Ok(ZkTxn::Reconfig { data, .. }) => format!(
            "reconfig {}",
            String::from_utf8_lossy(&data).replace('\n', " ")
        ),
        Err(e) => format!("undecodable body: {e:?}"),
    }
}

/// What `conclave inspect` prints about a data directory: every log record, snapshot and epoch
/// file, verified by the same scanners recovery uses, then recovery's verdict. `files` are
/// `(name, bytes)` of the directory's regular files (`myid` left out), in any order. Pure.
/// Returns the text and whether everything is intact.
pub fn inspect(files: &[(String, Vec<u8>)]) -> (String, bool) {
    let mut files: Vec<&(String, Vec<u8>)> = files.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let newest_log = files
        .iter()
        .filter_map(|(n, _)| parse_log_file_name(n))
        .max();
    let mut out = String::new();
    let mut ok = true;
    macro_rules! w {
        ($($arg:tt)*) => {{
            let _ = writeln!(out, $($arg)*);
        }};
    }
    for (name, bytes) in &files {
        let name = name.as_str();
        if let Some(first) = parse_log_file_name(name) {
            w!("== {name}: log segment, {} bytes", bytes.len());
            match scan_log(name, bytes, Some(first) == newest_log, Zxid::ZERO) {
                Ok(scan) => {
                    for r in scan.records.iter().filter_map(|r| r.txn.as_ref()) {
                        let h = &r.header;
                        w!(
                            "  zxid {} session 0x{:x} cxid {} time {} type {} len {}: {}",
                            h.zxid,
                            h.session_id,
                            h.cxid,
                            h.time_ms,
                            h.kind,
                            r.body.len(),
                            summarize(h.kind, &r.body)
                        );
                    }
                    w!(
                        "  {} records, valid length {} bytes",
                        scan.records.len(),
                        scan.valid_len
                    );
                    if let Some(t) = scan.torn {
                        w!(
                            "  TORN TAIL at byte {}: {} bytes of an interrupted write (recovery drops them)",
                            t.offset,
                            t.dropped_bytes
                        );
                    }
                }
                Err(e) => {
                    ok = false;
                    w!("  CORRUPT: {e}");
                }
            }
        } else if let Some(zxid) = parse_snapshot_file_name(name) {
            match decode_snapshot(bytes) {
                Ok((held, state)) => {
                    let nodes = match DataTree::decode_snapshot(&state) {
                        Ok(t) => format!(
                            "{} znodes, {} sessions, digest {:x}",
                            t.node_count(),
                            t.sessions().len(),
                            t.digest()
                        ),
                        Err(e) => format!("state does not decode as a ZooKeeper tree: {e}"),
                    };
                    let note = if held == zxid {
                        String::new()
                    } else {
                        format!(" (MISMATCH: file name says {zxid})")
                    };
                    w!(
                        "== {name}: snapshot at zxid {held}{note}, {} bytes on disk, {} state bytes, {nodes}",
                        bytes.len(),
                        state.len()
                    );
                }
                Err(e) => {
                    ok = false; // completed snapshots are renamed into place: this is damage
                    w!("== {name}: snapshot, UNUSABLE: {e}");
                }
            }
        } else if name.starts_with("acceptedEpoch") || name.starts_with("currentEpoch") {
            match parse_epoch(bytes) {
                Ok(e) => w!("== {name}: {e}"),
                Err(e) => {
                    ok = false;
                    w!("== {name}: BAD: {e}");
                }
            }
        } else {
            w!("== {name}: not a Conclave file ({} bytes)", bytes.len());
        }
    }
    let owned: Vec<(String, Vec<u8>)> = files.iter().map(|f| (*f).clone()).collect();
    match DiskState::from_files(&owned) {
        Ok(s) => w!("recovery: OK: {s}"),
        Err(e) => {
            ok = false;
            w!("recovery: REFUSED: {e}");
        }
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn an_empty_directory_is_fine_and_garbage_is_named() {
        let (text, ok) = inspect(&[]);
        assert!(ok);
        assert!(text.contains("recovery: OK"), "{text}");
        let (text, ok) = inspect(&[("currentEpoch".into(), b"x".to_vec())]);
        assert!(!ok);
        assert!(text.contains("== currentEpoch: BAD"), "{text}");
        assert!(text.contains("recovery: REFUSED"), "{text}");
        let (text, ok) = inspect(&[("notes.txt".into(), vec![1, 2, 3])]);
        assert!(ok);
        assert!(
            text.contains("== notes.txt: not a Conclave file (3 bytes)"),
            "{text}"
        );
    }
}
