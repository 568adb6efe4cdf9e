//! `conclave inspect <dataDir>`: prints what is in a data directory, verified by the core's
//! scanners. Read-only.

use std::io::{Read, Write};
use std::path::Path;

use conclave_core::codec::epochs::parse_epoch;
use conclave_core::codec::log::{parse_log_file_name, scan_log};
use conclave_core::codec::snapshot::{decode_snapshot, parse_snapshot_file_name};
use conclave_core::recovery::DiskState;
use conclave_core::tree::{DataTree, SubTxn, ZkTxn};

const PROGRESS_STEP: u64 = 64 << 20;

/// Reads a file, reporting progress on stderr for large ones.
fn read_with_progress(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut bytes = Vec::with_capacity(len as usize);
    let mut buf = vec![0u8; 8 << 20];
    let mut next_report = PROGRESS_STEP;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&buf[..n]);
        if bytes.len() as u64 >= next_report {
            eprintln!("{}: read {} of {} bytes", path.display(), bytes.len(), len);
            next_report += PROGRESS_STEP;
        }
    }
    Ok(bytes)
}

fn data_summary(d: &Option<Vec<u8>>) -> String {
    match d {
        None => "null".into(),
        Some(d) => {
            let shown: String = String::from_utf8_lossy(&d[..d.len().min(32)])
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
pub fn summarize(kind: i32, body: &[u8]) -> String {
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
        Err(e) => format!("undecodable body: {e:?}"),
    }
}

/// Prints the contents of `dir` to `out`; returns false if anything is corrupt.
pub fn inspect(dir: &Path, out: &mut impl Write) -> Result<bool, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n != "myid")
        .collect();
    names.sort();
    let newest_log = names.iter().filter_map(|n| parse_log_file_name(n)).max();
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    let mut ok = true;
    let mut files = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let bytes = read_with_progress(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if let Some(first) = parse_log_file_name(name) {
            w(
                out,
                format!("== {name}: log segment, {} bytes", bytes.len()),
            )?;
            match scan_log(name, &bytes, Some(first) == newest_log) {
                Ok(scan) => {
                    for r in &scan.records {
                        let h = &r.txn.header;
                        w(
                            out,
                            format!(
                                "  zxid {} session 0x{:x} cxid {} time {} type {} len {}: {}",
                                h.zxid,
                                h.session_id,
                                h.cxid,
                                h.time_ms,
                                h.kind,
                                r.txn.body.len(),
                                summarize(h.kind, &r.txn.body)
                            ),
                        )?;
                    }
                    w(
                        out,
                        format!(
                            "  {} records, valid length {} bytes",
                            scan.records.len(),
                            scan.valid_len
                        ),
                    )?;
                    if let Some(t) = scan.torn {
                        w(
                            out,
                            format!(
                                "  TORN TAIL at byte {}: {} bytes of an interrupted write (recovery drops them)",
                                t.offset, t.dropped_bytes
                            ),
                        )?;
                    }
                }
                Err(e) => {
                    ok = false;
                    w(out, format!("  CORRUPT: {e}"))?;
                }
            }
        } else if let Some(zxid) = parse_snapshot_file_name(name) {
            match decode_snapshot(&bytes) {
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
                    w(
                        out,
                        format!(
                            "== {name}: snapshot at zxid {held}{note}, {} bytes on disk, {} state bytes, {nodes}",
                            bytes.len(),
                            state.len()
                        ),
                    )?;
                }
                Err(e) => {
                    ok = false; // completed snapshots are renamed into place: this is damage
                    w(out, format!("== {name}: snapshot, UNUSABLE: {e}"))?;
                }
            }
        } else if name.starts_with("acceptedEpoch") || name.starts_with("currentEpoch") {
            match parse_epoch(&bytes) {
                Ok(e) => w(out, format!("== {name}: {e}"))?,
                Err(e) => {
                    ok = false;
                    w(out, format!("== {name}: BAD: {e}"))?
                }
            }
        } else {
            w(
                out,
                format!("== {name}: not a Conclave file ({} bytes)", bytes.len()),
            )?;
        }
        files.push((name.clone(), bytes));
    }
    match DiskState::from_files(&files) {
        Ok(s) => w(
            out,
            format!(
                "recovery: OK: acceptedEpoch {} currentEpoch {} last zxid {} snapshot {} ({} txns to replay)",
                s.accepted_epoch,
                s.current_epoch,
                s.last_zxid,
                s.snapshot.as_ref().map_or("none", |s| s.file.as_str()),
                s.txns.len()
            ),
        )?,
        Err(e) => {
            ok = false;
            w(out, format!("recovery: REFUSED: {e}"))?;
        }
    }
    Ok(ok)
}
