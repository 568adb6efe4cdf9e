//! The replicated log as one server holds it: what is logged, durable, committed and applied,
//! the in-memory tail that feeds DIFF sync, and the segment files behind it.
//!
//! The core never reads the log back after start, so this module remembers, per segment, where
//! each record ends: enough to append, roll, truncate after a zxid, and purge.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::log::{encode_log_header, encode_log_record, log_file_name};
use crate::codec::Txn;
use crate::ids::Zxid;
use crate::io::PersistOp;
#[cfg(test)]
use crate::zab::StateMachine;

/// One log segment file and the end offset of every record in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Segment {
    /// File name, `log.<hex first zxid>`.
    pub name: String,
    /// Zxid of its first record.
    pub first: Zxid,
    /// Bytes written (header included).
    pub len: u64,
    /// `(zxid, end offset)` of records, in order: every record that may still be truncated
    /// (after the last committed one), and below that only the segment's last committed
    /// record — where a truncation into this segment would cut, and what says the segment
    /// is not empty. Committed records can never be cut (TRUNC stops at the committed
    /// point), so their offsets are dropped as commits advance: the index stays as small as
    /// the uncommitted window instead of 16 bytes per record ever logged.
    pub index: Vec<(Zxid, u64)>,
    /// Whether appends may go to this file: it was created, or cut to `len`, in this run.
    /// A file from an earlier run may end in reserved room (`PersistOp::Preallocate`), where
    /// an append would land after the zeros that recovery reads as the end of the log.
    pub appendable: bool,
    /// Bytes reserved for the file so far (`PersistOp::Preallocate`), 0 if unknown.
    pub reserved: u64,
}

/// How far ahead of the appended bytes a segment's room is reserved. Large enough that the
/// file's size changes once per ~5 000 small records (each change costs one slower sync),
/// small enough that a restart, which reads the whole file, reads at most this many zeros.
pub(crate) const PREALLOCATE_STEP_BYTES: u64 = 1 << 20;

/// Why the log refused an operation; each is a protocol violation by the caller or a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LogError {
    /// Appending a zxid not above the last one.
    NotAscending {
        /// Last logged.
        last: Zxid,
        /// Offered.
        offered: Zxid,
    },
    /// Truncating into committed history.
    TruncateCommitted {
        /// Requested truncation point.
        to: Zxid,
        /// Last committed.
        committed: Zxid,
    },
}

/// The log of one replica.
#[derive(Clone, Debug)]
pub(crate) struct ReplicaLog {
    tail: VecDeque<Txn>,
    base: Zxid,
    last_logged: Zxid,
    last_durable: Zxid,
    last_committed: Zxid,
    last_applied: Zxid,
    keep_committed: usize,
    segments: Vec<Segment>,
    segment_limit: u64,
    dirty: bool,
}

impl ReplicaLog {
    /// A log recovered from disk: `segments` as found, `base` = the snapshot zxid (state applied
    /// up to there), `txns` = every logged txn after it (durable, commit status unknown).
    pub(crate) fn new(
        segments: Vec<Segment>,
        base: Zxid,
        txns: Vec<Txn>,
        keep_committed: usize,
        segment_limit: u64,
    ) -> ReplicaLog {
        let last = txns.last().map_or(base, |t| t.header.zxid);
        let mut log = ReplicaLog {
            tail: txns.into(),
            base,
            last_logged: last,
            last_durable: last,
            last_committed: base,
            last_applied: base,
            keep_committed: keep_committed.max(1),
            segments,
            segment_limit: segment_limit.max(4096),
            dirty: false,
        };
        // Records up to the snapshot are committed: nothing dealt with them yet.
        log.forget_committed_offsets(Zxid::ZERO);
        log
    }

    /// Zxid of the last appended txn (durable or not).
    pub(crate) fn last_logged(&self) -> Zxid {
        self.last_logged
    }

    /// Zxid of the last txn known durable.
    pub(crate) fn last_durable(&self) -> Zxid {
        self.last_durable
    }

    /// Zxid of the last txn known committed.
    pub(crate) fn last_committed(&self) -> Zxid {
        self.last_committed
    }

    /// Zxid of the last txn applied to the state machine.
    pub(crate) fn last_applied(&self) -> Zxid {
        self.last_applied
    }

    /// The oldest zxid DIFF can start from: history before it lives only in snapshots.
    #[cfg(test)]
    pub(crate) fn diff_floor(&self) -> Zxid {
        self.base
    }

    /// Segments on disk, oldest first.
    pub(crate) fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Txns held in memory (committed tail plus everything uncommitted).
    #[cfg(test)]
    pub(crate) fn tail_len(&self) -> usize {
        self.tail.len()
    }

    /// Appends `txn` to the current segment (rolling it first if full).
    pub(crate) fn append(&mut self, txn: Txn, ops: &mut Vec<PersistOp>) -> Result<(), LogError> {
        let zxid = txn.header.zxid;
        if zxid <= self.last_logged {
            return Err(LogError::NotAscending {
                last: self.last_logged,
                offered: zxid,
            });
        }
        // A segment's name is its first record's zxid (recovery checks it): a segment left
        // without records (its writer died after creating it, or a truncation emptied it) is
        // not appended to under another zxid; a new one is rolled beside it.
        let roll = self.segments.last().is_none_or(|s| {
            !s.appendable || s.len >= self.segment_limit || (s.index.is_empty() && s.first != zxid)
        });
        if roll {
            self.flush(ops);
            let name = log_file_name(zxid);
            let header = encode_log_header().to_vec();
            ops.push(PersistOp::Create { file: name.clone() });
            let len = header.len() as u64;
            ops.push(PersistOp::Append {
                file: name.clone(),
                bytes: header,
            });
            // A recovered file of this very name (empty of records) was just replaced.
            if self.segments.last().is_some_and(|s| s.name == name) {
                self.segments.pop();
            }
            self.segments.push(Segment {
                name,
                first: zxid,
                len,
                index: Vec::new(),
                appendable: true,
                reserved: 0,
            });
        }
        if let Some(seg) = self.segments.last_mut() {
            // The record joins the append queued just before it to the same segment (one
            // buffer, no file name copied per record) unless that append is full.
            let joined = match ops.last_mut() {
                Some(PersistOp::Append { file, bytes })
                    if *file == seg.name && bytes.len() < crate::files::COALESCE_APPEND_BYTES =>
                {
                    Some(bytes)
                }
                _ => None,
            };
            let (record_len, split) = match joined {
                Some(bytes) => {
                    let start = bytes.len();
                    encode_log_record(&txn, bytes);
                    let len = (bytes.len() - start) as u64;
                    // A preallocation goes before the record's bytes: split them out.
                    let split = (seg.len + len > seg.reserved).then(|| bytes.split_off(start));
                    (len, split)
                }
                None => {
                    let mut bytes = Vec::new();
                    encode_log_record(&txn, &mut bytes);
                    (bytes.len() as u64, Some(bytes))
                }
            };
            if seg.len + record_len > seg.reserved {
                seg.reserved = seg.len + record_len + PREALLOCATE_STEP_BYTES;
                ops.push(PersistOp::Preallocate {
                    file: seg.name.clone(),
                    len: seg.reserved,
                });
            }
            seg.len += record_len;
            seg.index.push((zxid, seg.len));
            if let Some(bytes) = split {
                ops.push(PersistOp::Append {
                    file: seg.name.clone(),
                    bytes,
                });
            }
        }
        self.dirty = true;
        self.last_logged = zxid;
        self.tail.push_back(txn);
        Ok(())
    }

    /// Emits one `Sync` for everything appended since the last flush (group commit).
    /// Returns the zxid that is durable once that op is acknowledged.
    pub(crate) fn flush(&mut self, ops: &mut Vec<PersistOp>) -> Option<Zxid> {
        if !self.dirty {
            return None;
        }
        self.dirty = false;
        let seg = self.segments.last()?;
        ops.push(PersistOp::Sync {
            file: seg.name.clone(),
        });
        Some(self.last_logged)
    }

    /// Records that everything up to `zxid` is on disk.
    pub(crate) fn mark_durable(&mut self, zxid: Zxid) {
        if zxid > self.last_durable {
            self.last_durable = zxid.min(self.last_logged);
        }
    }

    /// Marks everything up to `zxid` committed (never beyond what is logged).
    pub(crate) fn commit(&mut self, zxid: Zxid) {
        let z = zxid.min(self.last_logged);
        if z > self.last_committed {
            let before = self.last_committed;
            self.last_committed = z;
            self.forget_committed_offsets(before);
        }
    }

    /// Drops the offsets of committed records but each segment's last one (see
    /// [`Segment::index`]), given that every record up to `done` was dealt with before.
    /// Segments are walked newest first; one whose records were all committed by `done`
    /// was reduced then, and so were all older ones: the walk stops there.
    fn forget_committed_offsets(&mut self, done: Zxid) {
        let committed = self.last_committed;
        for seg in self.segments.iter_mut().rev() {
            if seg.index.last().is_some_and(|(z, _)| *z <= done) {
                break;
            }
            let k = seg.index.partition_point(|(z, _)| *z <= committed);
            if k >= 2 {
                seg.index.drain(..k - 1);
            }
        }
    }

    /// Applies every committed, unapplied txn in order, calling `applied` with each result,
    /// then trims the committed tail to its bound.
    #[cfg(test)]
    pub(crate) fn apply_committed(
        &mut self,
        sm: &mut dyn StateMachine<Outcome = Vec<u8>>,
        mut applied: impl FnMut(&Txn, Vec<u8>),
    ) {
        for txn in self.tail.iter() {
            let z = txn.header.zxid;
            if z <= self.last_applied {
                continue;
            }
            if z > self.last_committed {
                break;
            }
            let result = sm.apply(&txn.header, &txn.body);
            self.last_applied = z;
            applied(txn, result);
        }
        self.trim();
    }

    /// The next committed txn not yet applied, if any (apply it, then [`Self::mark_applied`]).
    pub(crate) fn next_committed(&self) -> Option<&Txn> {
        if self.last_applied >= self.last_committed {
            return None;
        }
        let i = match self.position(self.last_applied) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        self.tail
            .get(i)
            .filter(|t| t.header.zxid <= self.last_committed)
    }

    /// Records that `zxid` (returned by [`Self::next_committed`]) is applied.
    pub(crate) fn mark_applied(&mut self, zxid: Zxid) {
        if zxid > self.last_applied && zxid <= self.last_committed {
            self.last_applied = zxid;
        }
    }

    /// Drops committed txns beyond the DIFF window from memory.
    pub(crate) fn trim(&mut self) {
        let committed = self
            .tail
            .iter()
            .take_while(|t| t.header.zxid <= self.last_applied)
            .count();
        let mut drop = committed.saturating_sub(self.keep_committed);
        while drop > 0 {
            if let Some(t) = self.tail.pop_front() {
                self.base = t.header.zxid;
            }
            drop -= 1;
        }
    }

    /// True if `zxid` is in our history (the DIFF floor counts: we had it).
    pub(crate) fn contains(&self, zxid: Zxid) -> bool {
        zxid == self.base || self.position(zxid).is_ok()
    }

    fn position(&self, zxid: Zxid) -> Result<usize, usize> {
        self.tail.binary_search_by(|t| t.header.zxid.cmp(&zxid))
    }

    /// Txns after `zxid`, if our memory reaches back that far.
    pub(crate) fn txns_after(&self, zxid: Zxid) -> Option<impl Iterator<Item = &Txn> + '_> {
        if zxid < self.base {
            return None;
        }
        let start = match self.position(zxid) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        Some(self.tail.iter().skip(start))
    }

    /// The largest zxid of our history below `zxid`, if memory reaches back that far.
    pub(crate) fn prev_before(&self, zxid: Zxid) -> Option<Zxid> {
        if zxid <= self.base {
            return None;
        }
        let i = match self.position(zxid) {
            Ok(i) | Err(i) => i,
        };
        Some(if i == 0 {
            self.base
        } else {
            self.tail[i - 1].header.zxid
        })
    }

    /// Drops every txn after `to` (TRUNC): only uncommitted history can go.
    pub(crate) fn truncate_after(
        &mut self,
        to: Zxid,
        ops: &mut Vec<PersistOp>,
    ) -> Result<(), LogError> {
        if to < self.last_committed {
            return Err(LogError::TruncateCommitted {
                to,
                committed: self.last_committed,
            });
        }
        if to >= self.last_logged {
            return Ok(());
        }
        self.cut_files_after(to, ops);
        while self.tail.back().is_some_and(|t| t.header.zxid > to) {
            self.tail.pop_back();
        }
        self.last_logged = to;
        self.last_durable = self.last_durable.min(to);
        self.dirty = false;
        Ok(())
    }

    /// Cuts the segment files after `to` (truncating the one holding it, removing later ones)
    /// without touching what memory knows: the first step of TRUNC and of installing a SNAP.
    pub(crate) fn cut_files_after(&mut self, to: Zxid, ops: &mut Vec<PersistOp>) {
        while let Some(seg) = self.segments.last_mut() {
            if seg.first > to {
                ops.push(PersistOp::Remove {
                    file: seg.name.clone(),
                });
                self.segments.pop();
                continue;
            }
            if seg.index.last().is_none_or(|(z, _)| *z <= to) {
                break;
            }
            let keep = seg.index.iter().take_while(|(z, _)| *z <= to).count();
            seg.index.truncate(keep);
            let len = seg.index.last().map_or(8, |(_, end)| *end);
            seg.len = len;
            seg.appendable = true;
            seg.reserved = len;
            ops.push(PersistOp::Truncate {
                file: seg.name.clone(),
                len,
            });
            ops.push(PersistOp::Sync {
                file: seg.name.clone(),
            });
            break;
        }
    }

    /// Replaces the whole history by a snapshot at `zxid` (SNAP sync): every segment goes,
    /// and the next append opens a fresh one.
    pub(crate) fn reset_to_snapshot(&mut self, zxid: Zxid, ops: &mut Vec<PersistOp>) {
        for seg in self.segments.drain(..) {
            ops.push(PersistOp::Remove { file: seg.name });
        }
        self.tail.clear();
        self.base = zxid;
        self.last_logged = zxid;
        self.last_durable = zxid;
        self.last_committed = zxid;
        self.last_applied = zxid;
        self.dirty = false;
    }

    /// Removes segments wholly covered by a durable snapshot at `zxid` (purge), keeping the
    /// segment that holds `zxid + 1` and everything after.
    pub(crate) fn purge_before(&mut self, zxid: Zxid, ops: &mut Vec<PersistOp>) {
        while self.segments.len() > 1 && self.segments[1].first <= zxid.next() {
            let seg = self.segments.remove(0);
            ops.push(PersistOp::Remove { file: seg.name });
        }
    }
}

impl Zxid {
    /// The zxid one counter step later (saturating).
    pub const fn next(self) -> Zxid {
        Zxid(self.0.saturating_add(1))
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
