//! One server's data directory: named files, each with a durable (synced) part and the bytes
//! appended since its last `Sync`, plus the ops in flight on the one disk thread.
//!
//! **Timing.** Ops complete in `seq` order after a latency (0.2–5 ms, one in twenty takes
//! 50 ms) and are acknowledged cumulatively: when several complete at the same instant only
//! the highest `seq` is reported.
//!
//! **Semantics.** Each op runs through the core's one translation into file-system primitives
//! ([`conclave_core::files::execute`]) over this model, which implements [`Files`]: `append`
//! adds to the file's pending bytes and `sync` makes them durable; `create`, `rename` and
//! `remove` change the directory at once but stay *un-synced names* until `sync_dir`.
//! `truncate` to a length inside the synced part cuts it (and drops the pending bytes); a
//! length inside the pending part cuts only the pending bytes.
//!
//! **Crash.** The disk thread was somewhere in its queue: a random prefix of the
//! not-yet-acknowledged ops executed (an executed `Sync` is durable even though the process
//! never heard of it), the op after it may have run part of its primitives (say, one epoch
//! file renamed and not the other), the rest is lost. Then unsynced data is resolved: after a
//! process crash (kill -9) the page cache survives and everything is kept; after a machine
//! crash the un-synced names are undone from a random point on (a journal keeps a prefix of
//! them), and each file independently keeps its unsynced bytes whole, drops them, or keeps a
//! *torn* prefix, possibly followed by a few garbage bytes (a sector written half-way):
//! 1/4, 1/4, 1/2.
//!
//! **Failure.** An op that fails (`PersistFailed`) stops the disk thread of that incarnation:
//! the ops queued behind it, and any the process issues before it hears of the failure, never
//! run (a real adapter must not carry on writing after an fsync error: that would leave holes).
//!
//! An op on a file that does not exist (other than `Remove`, which is idempotent) is an op the
//! core asked for that no file system could carry out: it is reported as a violation.

use std::collections::{BTreeMap, VecDeque};

use conclave_core::files::{execute, Files};
use conclave_core::recovery::{DiskState, RecoveryError};
use conclave_core::rng::Prng;
use conclave_core::{Input, PersistOp};

const NS_PER_MS: u64 = 1_000_000;

#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    op: PersistOp,
    done_at: u64,
    fails: bool,
}

/// One file: what an fsync made durable, and what was appended since.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct File {
    /// Durable bytes.
    pub(crate) synced: Vec<u8>,
    /// Appended since the last `Sync` of this file (lost, kept or torn by a machine crash).
    pub(crate) pending: Vec<u8>,
}

/// What a crash did to the unsynced data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CrashDamage {
    /// Unacknowledged ops that executed before the crash.
    pub(crate) executed: usize,
    /// Unacknowledged ops lost.
    pub(crate) lost: usize,
    /// Files whose unsynced bytes were kept whole.
    pub(crate) kept: usize,
    /// Files whose unsynced bytes were dropped.
    pub(crate) dropped: usize,
    /// Files whose unsynced bytes were torn (prefix kept, maybe garbage after it).
    pub(crate) torn: usize,
    /// Un-synced directory changes (create, rename, remove) undone.
    pub(crate) names_undone: usize,
}

/// A directory change not yet made durable by `sync_dir`, with what it replaced.
#[derive(Clone, Debug)]
enum NameChange {
    /// `name` was created (or re-created), replacing `before`.
    Created { name: String, before: Option<File> },
    /// `from` was renamed over `to`, which held `before`.
    Renamed {
        from: String,
        to: String,
        before: Option<File>,
    },
    /// `name`, holding `before`, was removed.
    Removed { name: String, before: File },
}

/// The disk model of one server (it survives crashes; the process does not).
#[derive(Clone, Debug, Default)]
pub(crate) struct Disk {
    files: BTreeMap<String, File>,
    /// Directory changes since the last `sync_dir`, oldest first.
    unsynced_names: Vec<NameChange>,
    /// Primitives the op being executed may still run before the crash stops it (`None`: all).
    budget: Option<usize>,
    queue: VecDeque<Pending>,
    last_done: u64,
    /// An op of the running incarnation failed: the adapter stops executing its ops (the
    /// process halts once it hears of it; ops it issues before that never run).
    failed: bool,
    /// Torn tails (file names) left by machine crashes, ever: for tests and reports.
    pub(crate) torn_files: u64,
}

impl Disk {
    /// A disk holding `files` (all durable).
    pub(crate) fn with_files(files: Vec<(String, Vec<u8>)>) -> Disk {
        Disk {
            files: files
                .into_iter()
                .map(|(name, synced)| {
                    (
                        name,
                        File {
                            synced,
                            pending: Vec::new(),
                        },
                    )
                })
                .collect(),
            ..Disk::default()
        }
    }

    /// The data directory as a starting process lists it: every file, durable bytes followed
    /// by whatever unsynced bytes are still there (none after a crash was resolved).
    pub(crate) fn listing(&self) -> Vec<(String, Vec<u8>)> {
        self.files
            .iter()
            .map(|(name, f)| {
                let mut bytes = f.synced.clone();
                bytes.extend_from_slice(&f.pending);
                (name.clone(), bytes)
            })
            .collect()
    }

    /// What a process starting now recovers.
    pub(crate) fn recover(&self) -> Result<DiskState, RecoveryError> {
        DiskState::from_files(&self.listing())
    }

    /// The files, by name (for tests).
    #[cfg(test)]
    pub(crate) fn file(&self, name: &str) -> Option<&File> {
        self.files.get(name)
    }

    /// Bytes appended but not yet synced, over every file.
    pub(crate) fn unsynced_bytes(&self) -> u64 {
        self.files.values().map(|f| f.pending.len() as u64).sum()
    }

    /// Queues an op; returns when it completes (ns), for the caller to schedule.
    ///
    /// With `fail_ppm` chance the op will fail instead (`PersistFailed`).
    pub(crate) fn submit(
        &mut self,
        now: u64,
        seq: u64,
        op: PersistOp,
        rng: &mut Prng,
        fail_ppm: u32,
    ) -> u64 {
        let latency = if rng.chance(50_000) {
            50 * NS_PER_MS
        } else {
            rng.range_inclusive(200_000, 5 * NS_PER_MS)
        };
        // One disk thread: ops finish in order.
        let done_at = self.last_done.max(now + latency);
        self.last_done = done_at;
        let fails = fail_ppm > 0 && rng.chance(fail_ppm);
        if self.failed {
            return done_at;
        }
        self.queue.push_back(Pending {
            seq,
            op,
            done_at,
            fails,
        });
        done_at
    }

    /// Completes every op due by `now`; pushes what to tell the node, in order.
    ///
    /// `Err` when the core asked for an op no file system could carry out.
    pub(crate) fn complete(&mut self, now: u64, out: &mut Vec<Input>) -> Result<(), String> {
        let mut acked = None;
        while self.queue.front().is_some_and(|p| p.done_at <= now) {
            let Some(p) = self.queue.pop_front() else {
                break;
            };
            if p.fails {
                if let Some(seq) = acked.take() {
                    out.push(Input::Persisted { seq });
                }
                out.push(Input::PersistFailed {
                    seq: p.seq,
                    error: String::from("simulated EIO from fsync"),
                });
                // The process stops serving: nothing after the failed op reaches the disk,
                // including ops it issues before it learns of the failure.
                self.queue.clear();
                self.failed = true;
                return Ok(());
            }
            self.execute(&p.op)
                .map_err(|why| format!("persist op {} {:?}: {why}", p.seq, p.op))?;
            acked = Some(p.seq);
        }
        if let Some(seq) = acked {
            out.push(Input::Persisted { seq });
        }
        Ok(())
    }

    /// The process died (`machine`: the whole machine lost power). See the module docs.
    pub(crate) fn crash(&mut self, rng: &mut Prng, machine: bool) -> CrashDamage {
        let mut damage = CrashDamage::default();
        let in_flight = self.queue.len();
        let ran = rng.below(in_flight as u64 + 1) as usize;
        // The queue dies with the process: the next incarnation's ops start afresh.
        self.last_done = 0;
        self.failed = false;
        let ops: Vec<Pending> = self.queue.drain(..).collect();
        for p in ops.iter().take(ran) {
            if p.fails || self.execute(&p.op).is_err() {
                break;
            }
            damage.executed += 1;
        }
        damage.lost = in_flight - damage.executed;
        // The op the crash interrupted ran a random number of its primitives.
        if let Some(p) = ops.get(damage.executed).filter(|p| !p.fails) {
            self.budget = Some(rng.below(8) as usize);
            let _ = self.execute(&p.op);
            self.budget = None;
        }
        let names = std::mem::take(&mut self.unsynced_names);
        if machine {
            let keep = rng.below(names.len() as u64 + 1) as usize;
            for change in names.into_iter().skip(keep).rev() {
                damage.names_undone += 1;
                self.undo(change);
            }
        }
        for f in self.files.values_mut() {
            if f.pending.is_empty() {
                continue;
            }
            let pending = std::mem::take(&mut f.pending);
            if !machine {
                f.synced.extend_from_slice(&pending);
                damage.kept += 1;
                continue;
            }
            match rng.below(4) {
                0 => {
                    f.synced.extend_from_slice(&pending);
                    damage.kept += 1;
                }
                1 => damage.dropped += 1,
                _ => {
                    let keep = rng.below(pending.len() as u64) as usize;
                    f.synced.extend_from_slice(&pending[..keep]);
                    if rng.chance(500_000) {
                        for _ in 0..rng.range_inclusive(1, 16) {
                            f.synced.push(rng.next_u64() as u8);
                        }
                    }
                    damage.torn += 1;
                    self.torn_files += 1;
                }
            }
        }
        damage
    }

    fn execute(&mut self, op: &PersistOp) -> Result<(), String> {
        execute(op, self)
    }

    fn undo(&mut self, change: NameChange) {
        let restore = |files: &mut BTreeMap<String, File>, name: String, before: Option<File>| {
            match before {
                Some(f) => files.insert(name, f),
                None => files.remove(&name),
            };
        };
        match change {
            NameChange::Created { name, before } => restore(&mut self.files, name, before),
            NameChange::Renamed { from, to, before } => {
                if let Some(f) = self.files.remove(&to) {
                    self.files.insert(from, f);
                }
                restore(&mut self.files, to, before);
            }
            NameChange::Removed { name, before } => {
                self.files.insert(name, before);
            }
        }
    }

    /// Spends one primitive of a crash-interrupted op; `Err` once the crash stops it.
    fn step(&mut self) -> Result<(), String> {
        match &mut self.budget {
            Some(0) => Err(String::from("the machine crashed")),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn existing(&mut self, name: &str) -> Result<&mut File, String> {
        self.files
            .get_mut(name)
            .ok_or_else(|| format!("{name} does not exist"))
    }
}

impl Files for Disk {
    type Error = String;

    fn create(&mut self, file: &str) -> Result<(), String> {
        self.step()?;
        let before = self.files.insert(file.to_string(), File::default());
        self.unsynced_names.push(NameChange::Created {
            name: file.to_string(),
            before,
        });
        Ok(())
    }

    fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), String> {
        self.step()?;
        self.existing(file)?.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn sync(&mut self, file: &str) -> Result<(), String> {
        self.step()?;
        let f = self.existing(file)?;
        let pending = std::mem::take(&mut f.pending);
        f.synced.extend_from_slice(&pending);
        Ok(())
    }

    fn truncate(&mut self, file: &str, len: u64) -> Result<(), String> {
        self.step()?;
        let f = self.existing(file)?;
        let len = len as usize;
        if len <= f.synced.len() {
            f.synced.truncate(len);
            f.pending.clear();
        } else if len <= f.synced.len() + f.pending.len() {
            f.pending.truncate(len - f.synced.len());
        } else {
            let extra = len - f.synced.len() - f.pending.len();
            f.pending.extend(std::iter::repeat_n(0, extra));
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
        self.step()?;
        let f = self
            .files
            .remove(from)
            .ok_or_else(|| format!("{from} does not exist"))?;
        let before = self.files.insert(to.to_string(), f);
        self.unsynced_names.push(NameChange::Renamed {
            from: from.to_string(),
            to: to.to_string(),
            before,
        });
        Ok(())
    }

    fn remove(&mut self, file: &str) -> Result<(), String> {
        self.step()?;
        if let Some(before) = self.files.remove(file) {
            self.unsynced_names.push(NameChange::Removed {
                name: file.to_string(),
                before,
            });
        }
        Ok(())
    }

    fn sync_dir(&mut self) -> Result<(), String> {
        self.step()?;
        self.unsynced_names.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(file: &str, bytes: &[u8]) -> PersistOp {
        PersistOp::Append {
            file: file.to_string(),
            bytes: bytes.to_vec(),
        }
    }

    fn run(d: &mut Disk, ops: Vec<PersistOp>) -> Vec<Input<'static>> {
        let mut rng = Prng::new(1);
        let mut at = 0;
        for (i, op) in ops.into_iter().enumerate() {
            at = d.submit(0, i as u64 + 1, op, &mut rng, 0);
        }
        let mut out = Vec::new();
        d.complete(at, &mut out).expect("valid ops");
        out
    }

    #[test]
    fn in_order_cumulative_acks_and_epoch_files() {
        let mut d = Disk::default();
        let out = run(
            &mut d,
            vec![
                PersistOp::WriteEpochs {
                    accepted: 1,
                    current: 0,
                },
                PersistOp::WriteEpochs {
                    accepted: 2,
                    current: 1,
                },
            ],
        );
        assert_eq!(out, vec![Input::Persisted { seq: 2 }]);
        let s = d.recover().expect("recovers");
        assert_eq!((s.accepted_epoch, s.current_epoch), (2, 1));
    }

    #[test]
    fn append_is_pending_until_sync() {
        let mut d = Disk::default();
        run(
            &mut d,
            vec![
                PersistOp::Create {
                    file: "a".to_string(),
                },
                append("a", b"xy"),
                PersistOp::Sync {
                    file: "a".to_string(),
                },
                append("a", b"z"),
            ],
        );
        let f = d.file("a").expect("created");
        assert_eq!(
            (f.synced.as_slice(), f.pending.as_slice()),
            (&b"xy"[..], &b"z"[..])
        );
        // Machine crashes: the unsynced byte is kept, dropped or torn (to nothing here).
        let mut outcomes = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let mut c = d.clone();
            c.crash(&mut Prng::new(seed), true);
            let f = c.file("a").expect("still there");
            assert!(f.pending.is_empty());
            assert!(f.synced.starts_with(b"xy"));
            outcomes.insert(f.synced.len().min(3));
        }
        assert_eq!(outcomes.len(), 2, "kept and lost both happen");
        // A process crash keeps the page cache.
        let mut c = d.clone();
        c.crash(&mut Prng::new(1), false);
        assert_eq!(c.file("a").map(|f| f.synced.clone()), Some(b"xyz".to_vec()));
    }

    #[test]
    fn truncate_rename_remove() {
        let mut d = Disk::default();
        run(
            &mut d,
            vec![
                PersistOp::Create {
                    file: "a".to_string(),
                },
                append("a", b"abcdef"),
                PersistOp::Sync {
                    file: "a".to_string(),
                },
                append("a", b"gh"),
                PersistOp::Truncate {
                    file: "a".to_string(),
                    len: 3,
                },
                PersistOp::Rename {
                    from: "a".to_string(),
                    to: "b".to_string(),
                },
            ],
        );
        assert!(d.file("a").is_none());
        assert_eq!(d.file("b").map(|f| f.synced.clone()), Some(b"abc".to_vec()));
        run(
            &mut d,
            vec![PersistOp::Remove {
                file: "b".to_string(),
            }],
        );
        assert!(d.file("b").is_none());
    }

    /// Issue 10: the epoch files are two renames; a machine crash can stop between them, and
    /// un-synced names can be undone. Every outcome keeps acceptedEpoch >= currentEpoch.
    #[test]
    fn a_crash_inside_the_epoch_write_leaves_every_intermediate_state() {
        let mut base = Disk::default();
        run(
            &mut base,
            vec![PersistOp::WriteEpochs {
                accepted: 1,
                current: 1,
            }],
        );
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let mut d = base.clone();
            let mut rng = Prng::new(seed);
            d.submit(
                0,
                2,
                PersistOp::WriteEpochs {
                    accepted: 2,
                    current: 2,
                },
                &mut rng,
                0,
            );
            d.crash(&mut rng, true);
            let s = d.recover().expect("every crash point recovers");
            assert!(s.accepted_epoch >= s.current_epoch, "seed {seed}");
            seen.insert((s.accepted_epoch, s.current_epoch));
        }
        assert!(
            seen.contains(&(2, 1)),
            "never stopped between the renames: {seen:?}"
        );
        assert!(seen.contains(&(1, 1)) && seen.contains(&(2, 2)), "{seen:?}");
    }

    #[test]
    fn unsynced_names_are_undone_by_a_machine_crash_and_kept_by_a_process_crash() {
        let mut d = Disk::default();
        d.create("a").unwrap();
        d.append("a", b"x").unwrap();
        d.sync("a").unwrap();
        let mut undone = false;
        for seed in 0..40 {
            let mut c = d.clone();
            let damage = c.crash(&mut Prng::new(seed), true);
            undone |= damage.names_undone == 1 && c.file("a").is_none();
        }
        assert!(
            undone,
            "a created, never dir-synced name survived every machine crash"
        );
        let mut c = d.clone();
        c.crash(&mut Prng::new(1), false);
        assert_eq!(c.file("a").map(|f| f.synced.clone()), Some(b"x".to_vec()));
    }

    #[test]
    fn op_on_a_missing_file_is_reported() {
        let mut d = Disk::default();
        let mut rng = Prng::new(1);
        let at = d.submit(0, 1, append("nope", b"x"), &mut rng, 0);
        let mut out = Vec::new();
        assert!(d.complete(at, &mut out).is_err());
    }
}
