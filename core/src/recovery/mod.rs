//! Startup recovery: from the bytes of every file in the data directory to a [`DiskState`].
//!
//! Pure: the adapter lists the data directory and passes each file's name (relative to the
//! data directory) and bytes; nothing here touches a disk, and no input makes it panic.
//!
//! Rules (protocol reference §2.2, §2.10, §3.5):
//!
//! * no recognised file at all: a fresh server (epochs 0, zxid 0, no snapshot);
//! * the newest snapshot that decodes is used; newer unreadable ones are skipped and reported;
//! * log segments must be intact except for a torn tail in the newest one; zxids strictly
//!   increase within and across segments, and each segment starts with the zxid in its name;
//! * log segments without any valid snapshot refuse to start (ZOOKEEPER-2325/3781), since
//!   Conclave writes `snapshot.0` on a fresh data directory;
//! * replay is contiguous: in a ZAB history every txn is the successor of the one before it
//!   (`z + 1`, or counter 1 of a later epoch), so the first logged txn after the snapshot must
//!   succeed the snapshot zxid, and each replayed txn the previous one; anything else is a gap
//!   (a lost segment), reported as corruption. Records at or below the snapshot zxid are only
//!   required to increase;
//! * missing epoch files are derived from the epoch of the last zxid (upgrade path); a
//!   currentEpoch behind the log is rescued only by a `currentEpoch.tmp` at least as new
//!   (ZOOKEEPER-4269); acceptedEpoch below currentEpoch refuses to start (ZOOKEEPER-2307);
//! * unknown files are listed in the report and otherwise left alone.

use crate::codec::disk_error;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::codec::epochs::{
    parse_epoch, ACCEPTED_EPOCH_FILE, ACCEPTED_EPOCH_TMP_FILE, CURRENT_EPOCH_FILE,
    CURRENT_EPOCH_TMP_FILE,
};
use crate::codec::log::{parse_log_file_name, scan_log, LOG_HEADER};
use crate::codec::snapshot::{decode_snapshot, parse_snapshot_file_name};
use crate::codec::txn::Txn;
use crate::ids::Zxid;

pub use disk_error::{RecoveryError, TornTail};

/// The snapshot recovery starts from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoveredSnapshot {
    /// Every transaction up to this zxid is in `state`.
    pub zxid: Zxid,
    /// The state machine's bytes.
    pub state: Vec<u8>,
    /// The snapshot's file name.
    pub file: String,
}

/// What the core needs to know about one log segment to truncate it or append to it later.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSegment {
    /// The file name.
    pub name: String,
    /// The zxid in the name (the first record's, if it has any).
    pub first_zxid: Zxid,
    /// Length of the valid prefix; below the 8-byte header length, the header must be rewritten.
    pub valid_len: u64,
    /// Every record's zxid and end offset, in order.
    pub index: Vec<(Zxid, u64)>,
}

/// Everything recovery noticed and tolerated, for the operator's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Torn tails dropped from the newest log segment.
    pub torn: Vec<TornTail>,
    /// Snapshots newer than the one used that could not be used: (file, reason).
    pub skipped_snapshots: Vec<(String, String)>,
    /// Epoch `.tmp` files whose value was used (ZOOKEEPER-4269).
    pub used_epoch_tmp: Vec<String>,
    /// Epoch files that were missing and derived from the last zxid's epoch.
    pub derived_epochs: Vec<String>,
    /// Files that are none of Conclave's, left untouched.
    pub ignored_files: Vec<String>,
    /// The log holds history of an epoch after currentEpoch (but within acceptedEpoch): a
    /// sync whose NEWLEADER was never acknowledged. currentEpoch is kept as recorded.
    pub unadopted_log_epoch: Option<u32>,
}

/// The durable state of a server, as found in its data directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskState {
    /// Persisted acceptedEpoch.
    pub accepted_epoch: u32,
    /// Persisted currentEpoch.
    pub current_epoch: u32,
    /// The newest valid snapshot; `None` only for a fresh server.
    pub snapshot: Option<RecoveredSnapshot>,
    /// Logged transactions after the snapshot, in zxid order, to replay.
    pub txns: Vec<Txn>,
    /// The last durable transaction's zxid, or the snapshot's if the log holds nothing newer.
    pub last_zxid: Zxid,
    /// Every log segment, oldest first.
    pub logs: Vec<LogSegment>,
    /// The membership a committed reconfiguration installed last (the text of
    /// [`MEMBERSHIP_FILE`]), `None` when none did.
    pub membership: Option<String>,
    /// What recovery tolerated.
    pub report: RecoveryReport,
}

/// The file holding the membership a committed reconfiguration installed (ZooKeeper's
/// `zoo.cfg.dynamic.<version>`): written at commit, so a restart elects with it.
pub const MEMBERSHIP_FILE: &str = "membership";
/// Where [`MEMBERSHIP_FILE`] is written before it is renamed into place.
pub const MEMBERSHIP_TMP_FILE: &str = "membership.tmp";

/// True when `next` may directly follow `prev` in a ZAB history: the next counter of the
/// same epoch, or the first transaction (counter 1) of a later epoch.
fn is_successor(prev: Zxid, next: Zxid) -> bool {
    prev.0.checked_add(1) == Some(next.0) || (next.counter() == 1 && next.epoch() > prev.epoch())
}

#[derive(Default)]
struct EpochFiles<'a> {
    accepted: Option<&'a [u8]>,
    current: Option<&'a [u8]>,
    current_tmp: Option<&'a [u8]>,
}

fn read_epoch(file: &str, bytes: Option<&[u8]>) -> Result<Option<u32>, RecoveryError> {
    bytes
        .map(|b| {
            parse_epoch(b).map_err(|error| RecoveryError::BadEpochFile {
                file: file.to_string(),
                error,
            })
        })
        .transpose()
}

impl DiskState {
    /// The state of a brand-new server with an empty data directory.
    pub fn empty() -> DiskState {
        DiskState {
            accepted_epoch: 0,
            current_epoch: 0,
            snapshot: None,
            txns: Vec::new(),
            last_zxid: Zxid::ZERO,
            logs: Vec::new(),
            membership: None,
            report: RecoveryReport::default(),
        }
    }
}

impl DiskState {
    /// Recovers the durable state from every file of the data directory: `(name, bytes)`,
    /// names relative to the data directory, in any order.
    pub fn from_files(files: &[(String, Vec<u8>)]) -> Result<DiskState, RecoveryError> {
        let mut seen = BTreeSet::new();
        let mut logs: BTreeMap<Zxid, (&str, &[u8])> = BTreeMap::new();
        let mut snapshots: BTreeMap<Zxid, (&str, &[u8])> = BTreeMap::new();
        let mut epochs = EpochFiles::default();
        let mut report = RecoveryReport::default();
        let mut membership = None;
        for (name, bytes) in files {
            let (name, bytes) = (name.as_str(), bytes.as_slice());
            if !seen.insert(name) {
                return Err(RecoveryError::DuplicateFile {
                    file: name.to_string(),
                });
            }
            // Canonical names are unique per zxid, so the maps never collide.
            if let Some(z) = parse_log_file_name(name) {
                logs.insert(z, (name, bytes));
            } else if let Some(z) = parse_snapshot_file_name(name) {
                snapshots.insert(z, (name, bytes));
            } else {
                match name {
                    ACCEPTED_EPOCH_FILE => epochs.accepted = Some(bytes),
                    CURRENT_EPOCH_FILE => epochs.current = Some(bytes),
                    CURRENT_EPOCH_TMP_FILE => epochs.current_tmp = Some(bytes),
                    ACCEPTED_EPOCH_TMP_FILE | MEMBERSHIP_TMP_FILE => {}
                    // Not UTF-8: not ours to read; the configuration files rule then.
                    MEMBERSHIP_FILE => match core::str::from_utf8(bytes) {
                        Ok(text) => membership = Some(text.to_string()),
                        Err(_) => report.ignored_files.push(name.to_string()),
                    },
                    _ => report.ignored_files.push(name.to_string()),
                }
            }
        }
        report.ignored_files.sort();

        // The newest snapshot that decodes and holds the zxid its name promises.
        let mut snapshot = None;
        for (&zxid, &(name, bytes)) in snapshots.iter().rev() {
            match decode_snapshot(bytes) {
                Ok((held, state)) if held == zxid => {
                    snapshot = Some(RecoveredSnapshot {
                        zxid,
                        state,
                        file: name.to_string(),
                    });
                    break;
                }
                Ok((held, _)) => report.skipped_snapshots.push((
                    name.to_string(),
                    format!("holds the state after zxid {held}, not {zxid}"),
                )),
                Err(e) => report
                    .skipped_snapshots
                    .push((name.to_string(), e.to_string())),
            }
        }
        if snapshot.is_none() {
            if let Some((_, &(log, _))) = logs.first_key_value() {
                return Err(RecoveryError::LogsWithoutSnapshot {
                    log: log.to_string(),
                    unreadable_snapshots: report.skipped_snapshots.len(),
                });
            }
            // Only an unreadable `snapshot.0` (an empty state) may be shrugged off.
            if let Some((&zxid, &(file, _))) = snapshots.last_key_value() {
                if zxid != Zxid::ZERO {
                    let why = report
                        .skipped_snapshots
                        .first()
                        .map(|(_, why)| why.clone())
                        .unwrap_or_default();
                    return Err(RecoveryError::NoValidSnapshot {
                        file: file.to_string(),
                        why,
                    });
                }
            }
        }
        // No valid snapshot and no logs: a fresh server, nothing to derive epochs from.
        let fresh = snapshot.is_none();
        let snap_zxid = snapshot.as_ref().map_or(Zxid::ZERO, |s| s.zxid);
        let snap_file = snapshot.as_ref().map_or("", |s| s.file.as_str());

        // Every segment, oldest first; only the newest may end in a torn write.
        let mut segments = Vec::with_capacity(logs.len());
        let mut txns = Vec::new();
        let mut last_logged: Option<(Zxid, &str)> = None;
        let newest = logs.last_key_value().map(|(&z, _)| z);
        for (&first, &(name, bytes)) in &logs {
            let scanned = scan_log(name, bytes, Some(first) == newest, snap_zxid)?;
            if let Some((prev, prev_file)) = last_logged {
                if first <= prev {
                    return Err(RecoveryError::Corrupt {
                        file: name.to_string(),
                        offset: 0,
                        why: format!(
                            "segment starts at zxid {first}, not after {prev}, the last record \
                             of {prev_file}"
                        ),
                    });
                }
            }
            let mut start = LOG_HEADER.len() as u64;
            let mut index = Vec::with_capacity(scanned.records.len());
            for record in scanned.records {
                let zxid = record.zxid;
                index.push((zxid, record.end_offset));
                if let Some(txn) = record.txn {
                    let prev = txns.last().map_or(snap_zxid, |t: &Txn| t.header.zxid);
                    if !is_successor(prev, zxid) {
                        let why = if txns.is_empty() {
                            format!(
                                "gap: snapshot {snap_file} ends at zxid {snap_zxid} but the log \
                                 resumes at {zxid}; the segment holding the transactions in \
                                 between is missing"
                            )
                        } else {
                            format!(
                                "gap: zxid {zxid} follows {prev}; the transactions in between \
                                 are missing, so replay would skip them"
                            )
                        };
                        return Err(RecoveryError::Corrupt {
                            file: name.to_string(),
                            offset: start,
                            why,
                        });
                    }
                    txns.push(txn);
                }
                start = record.end_offset;
            }
            if let Some(&(z, _)) = index.last() {
                last_logged = Some((z, name));
            }
            let is_last = Some(first) == newest;
            let had_torn = scanned.torn.is_some();
            report.torn.extend(scanned.torn);
            // Anything past the valid data of the newest segment (zero padding, a torn length
            // prefix that reads as zeros, an empty file) must be cut before appending again:
            // report it as a torn tail so the node truncates or removes it.
            if is_last && !had_torn && (bytes.len() as u64) > scanned.valid_len {
                report.torn.push(TornTail {
                    file: name.to_string(),
                    offset: scanned.valid_len,
                    dropped_bytes: bytes.len() as u64 - scanned.valid_len,
                });
            }
            if is_last && bytes.is_empty() {
                report.torn.push(TornTail {
                    file: name.to_string(),
                    offset: 0,
                    dropped_bytes: 0,
                });
            }
            segments.push(LogSegment {
                name: name.to_string(),
                first_zxid: first,
                valid_len: scanned.valid_len,
                index,
            });
        }
        let last_zxid = match last_logged {
            Some((z, _)) if z > snap_zxid => z,
            _ => snap_zxid,
        };

        // Epoch files (§2.2): derive missing ones, accept a newer `.tmp`, refuse inconsistency.
        let log_epoch = last_zxid.epoch();
        let mut derive = |file: &str| {
            if !fresh {
                report.derived_epochs.push(file.to_string());
            }
            log_epoch
        };
        let mut current = read_epoch(CURRENT_EPOCH_FILE, epochs.current)?
            .unwrap_or_else(|| derive(CURRENT_EPOCH_FILE));
        let accepted = read_epoch(ACCEPTED_EPOCH_FILE, epochs.accepted)?
            .unwrap_or_else(|| derive(ACCEPTED_EPOCH_FILE));
        if log_epoch > current {
            match epochs.current_tmp.map(parse_epoch) {
                Some(Ok(tmp)) if tmp >= log_epoch => {
                    current = tmp;
                    report
                        .used_epoch_tmp
                        .push(CURRENT_EPOCH_TMP_FILE.to_string());
                }
                // A learner crashed between making the leader's history durable and adopting
                // its epoch (ZOOKEEPER-1653): it promised that epoch (acceptedEpoch) but never
                // acknowledged NEWLEADER, so keeping the old currentEpoch is the truth. Only a
                // log beyond every promise is inconsistent.
                _ if log_epoch <= accepted => report.unadopted_log_epoch = Some(log_epoch),
                _ => return Err(RecoveryError::EpochBehindLog { current, log_epoch }),
            }
        }
        if accepted < current {
            return Err(RecoveryError::AcceptedBelowCurrent { accepted, current });
        }

        Ok(DiskState {
            accepted_epoch: accepted,
            current_epoch: current,
            snapshot,
            txns,
            last_zxid,
            logs: segments,
            membership,
            report,
        })
    }
}

/// One line: the epochs, the last zxid, the snapshot and what there is to replay.
impl fmt::Display for DiskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "acceptedEpoch={} currentEpoch={} last zxid {} (snapshot {}, {} txns to replay)",
            self.accepted_epoch,
            self.current_epoch,
            self.last_zxid,
            self.snapshot.as_ref().map_or("none", |s| s.file.as_str()),
            self.txns.len()
        )
    }
}

impl RecoveryReport {
    /// What recovery tolerated, one warning per line (for the operator's log).
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.torn {
            out.push(format!(
                "torn tail in {}: valid data ends at byte {}, dropping {} bytes of an \
                 interrupted write",
                t.file, t.offset, t.dropped_bytes
            ));
        }
        for (file, why) in &self.skipped_snapshots {
            out.push(format!("skipping unusable snapshot {file}: {why}"));
        }
        for file in &self.used_epoch_tmp {
            out.push(format!("using {file} (interrupted epoch update)"));
        }
        for file in &self.derived_epochs {
            out.push(format!(
                "{file} missing; derived from the epoch of the last zxid"
            ));
        }
        for file in &self.ignored_files {
            out.push(format!("ignoring unknown file {file}"));
        }
        if let Some(e) = self.unadopted_log_epoch {
            out.push(format!(
                "log holds history of epoch {e} that was never adopted (currentEpoch kept; \
                 docs/decisions.md D18)"
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
