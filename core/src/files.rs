//! The disk contract, written once: the file-system primitives every durable write of the core
//! is made of ([`Files`]), and the one translation of a [`PersistOp`] into them ([`execute`]).
//! Each adapter implements `Files` over its file system, the simulator over its model disk;
//! none of them interprets an op.

use core::fmt;

use crate::codec::epochs::{
    encode_epoch, ACCEPTED_EPOCH_FILE, ACCEPTED_EPOCH_TMP_FILE, CURRENT_EPOCH_FILE,
    CURRENT_EPOCH_TMP_FILE,
};
use crate::io::PersistOp;

/// The primitives of a data directory. File names are relative to it; every file lives
/// directly in it.
///
/// To be correct, an implementation must:
///
/// * carry out the calls in the order made, and return only once each is done (or failed);
/// * make appended bytes durable by [`Files::sync`] of that file (`fdatasync` is enough: it
///   covers the size), and never before claim they are;
/// * make a created, renamed or removed *name* durable only by [`Files::sync_dir`] (`fsync`
///   of the directory): until then a crash may undo it;
/// * make [`Files::rename`] atomic: after a crash the target holds the old or the new file,
///   never a mix;
/// * report every failure (ENOSPC, EIO, a missing file) as `Err`, and never retry silently:
///   the adapter stops executing ops after the first error, since a hole in the log would
///   otherwise follow;
/// * treat [`Files::remove`] of a missing file as success (a crash may have removed it).
pub trait Files {
    /// What went wrong, for the operator.
    type Error: fmt::Display;

    /// Creates an empty file, replacing one that exists (its name is durable after
    /// [`Files::sync_dir`]).
    fn create(&mut self, file: &str) -> Result<(), Self::Error>;
    /// Appends bytes at the end of an existing file (durable after [`Files::sync`]): after
    /// its last appended byte, before any room [`Files::preallocate`] reserved. A file
    /// opened again after a restart ends where its size says, reserved room included.
    fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), Self::Error>;
    /// Makes every byte appended to `file`, and its length, durable (`fdatasync`).
    fn sync(&mut self, file: &str) -> Result<(), Self::Error>;
    /// Cuts (or zero-extends) an existing file to `len` bytes (durable after [`Files::sync`]).
    fn truncate(&mut self, file: &str, len: u64) -> Result<(), Self::Error>;
    /// Atomically renames `from` to `to`, replacing `to` (durable after [`Files::sync_dir`]).
    fn rename(&mut self, from: &str, to: &str) -> Result<(), Self::Error>;
    /// Removes a file; a missing one is not an error (durable after [`Files::sync_dir`]).
    fn remove(&mut self, file: &str) -> Result<(), Self::Error>;
    /// Makes the directory's names durable (`fsync` of the directory).
    fn sync_dir(&mut self) -> Result<(), Self::Error>;
    /// Reserves room up to `len` bytes for a file being appended to (zeros when read back),
    /// without moving where appends go. A hint for faster syncs: the default does nothing.
    fn preallocate(&mut self, file: &str, len: u64) -> Result<(), Self::Error> {
        let _ = (file, len);
        Ok(())
    }
}

/// Carries out `op` through `files`, making it durable before returning `Ok`: the only place
/// that decides what an op means on disk.
///
/// | op | primitives |
/// |---|---|
/// | `WriteEpochs` | for `acceptedEpoch` then `currentEpoch`: create `<name>.tmp`, append, sync, rename over `<name>`; then sync the directory |
/// | `Create` | create, sync the directory |
/// | `Append` | append (durable at the next `Sync`) |
/// | `Sync` | sync |
/// | `Truncate` | truncate, sync |
/// | `Rename` | rename, sync the directory |
/// | `Remove` | remove, sync the directory |
/// | `Preallocate` | preallocate (a hint; durable with the file's next sync) |
///
/// A crash between the two epoch renames leaves `acceptedEpoch` new and `currentEpoch` old,
/// which recovery accepts (acceptedEpoch ≥ currentEpoch); the reverse order could leave
/// currentEpoch above acceptedEpoch, which ZooKeeper refuses (ZOOKEEPER-2307).
pub fn execute<F: Files + ?Sized>(op: &PersistOp, files: &mut F) -> Result<(), F::Error> {
    match op {
        PersistOp::WriteEpochs { accepted, current } => {
            for (tmp, name, epoch) in [
                (ACCEPTED_EPOCH_TMP_FILE, ACCEPTED_EPOCH_FILE, *accepted),
                (CURRENT_EPOCH_TMP_FILE, CURRENT_EPOCH_FILE, *current),
            ] {
                files.create(tmp)?;
                files.append(tmp, &encode_epoch(epoch))?;
                files.sync(tmp)?;
                files.rename(tmp, name)?;
            }
            files.sync_dir()
        }
        PersistOp::Create { file } => {
            files.create(file)?;
            files.sync_dir()
        }
        PersistOp::Append { file, bytes } => files.append(file, bytes),
        PersistOp::Sync { file } => files.sync(file),
        PersistOp::Truncate { file, len } => {
            files.truncate(file, *len)?;
            files.sync(file)
        }
        PersistOp::Rename { from, to } => {
            files.rename(from, to)?;
            files.sync_dir()
        }
        PersistOp::Remove { file } => {
            files.remove(file)?;
            files.sync_dir()
        }
        // The reserved size is durable with the file's next sync; lost, it costs nothing.
        PersistOp::Preallocate { file, len } => files.preallocate(file, *len),
    }
}

/// How a batch of queued persist ops ended: what to tell the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Every op ran; acknowledge `Persisted { seq }` with this seq (`None`: the batch was empty).
    Done(Option<u64>),
    /// Op `seq` failed: acknowledge `Persisted` up to `done` (if any), then `PersistFailed`
    /// for `seq` with `error`; the disk must run nothing more.
    Failed {
        /// The last op that completed before the failure.
        done: Option<u64>,
        /// The op that failed.
        seq: u64,
        /// What it was and what the file system said.
        error: alloc::string::String,
    },
}

/// Runs a batch of queued ops in order through [`execute`], stopping at the first failure:
/// the loop every adapter's disk thread runs between two waits for work, so that a batch is
/// acknowledged once, cumulatively. `where_` names the directory in the error.
pub fn run_batch<F: Files + ?Sized>(
    ops: impl IntoIterator<Item = (u64, PersistOp)>,
    files: &mut F,
    where_: &str,
) -> BatchOutcome
where
    F::Error: fmt::Display,
{
    let mut done = None;
    let mut ops = ops.into_iter().peekable();
    while let Some((seq, op)) = ops.next() {
        let (op, last) = coalesce_appends(op, seq, &mut ops);
        if let Err(e) = execute(&op, files) {
            return BatchOutcome::Failed {
                done,
                seq,
                error: alloc::format!("{op} in {where_}: {e}"),
            };
        }
        done = Some(last);
    }
    BatchOutcome::Done(done)
}

/// The most bytes one coalesced append gathers: large enough that a batch of small records is
/// one system call, small enough that the copy stays in cache.
pub const COALESCE_APPEND_BYTES: usize = 256 * 1024;

/// Joins an append with the appends to the same file queued right behind it (up to
/// [`COALESCE_APPEND_BYTES`]): one write instead of one per record, the same bytes in the
/// same order. Returns the op to run and the seq of the last op it stands for; if it fails,
/// none of them is acknowledged (the file may hold a prefix, which a sync never made durable
/// as a whole, like any failed append).
fn coalesce_appends<I: Iterator<Item = (u64, PersistOp)>>(
    op: PersistOp,
    seq: u64,
    rest: &mut core::iter::Peekable<I>,
) -> (PersistOp, u64) {
    let PersistOp::Append { file, mut bytes } = op else {
        return (op, seq);
    };
    let mut last = seq;
    while bytes.len() < COALESCE_APPEND_BYTES {
        let same_file = |(_, next): &(u64, PersistOp)| matches!(next, PersistOp::Append { file: f, .. } if *f == file);
        let Some((next_seq, PersistOp::Append { bytes: more, .. })) = rest.next_if(same_file)
        else {
            break;
        };
        bytes.extend_from_slice(&more);
        last = next_seq;
    }
    (PersistOp::Append { file, bytes }, last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    /// Records every primitive, in order; fails (with "EIO", recording nothing) the first
    /// primitive whose line starts with `.1`.
    #[derive(Default)]
    struct Recorder(Vec<String>, Option<&'static str>);

    impl Recorder {
        fn record(&mut self, line: String) -> Result<(), String> {
            if self.1.is_some_and(|bad| line.starts_with(bad)) {
                return Err("EIO".into());
            }
            self.0.push(line);
            Ok(())
        }
    }

    impl Files for Recorder {
        type Error = String;
        fn create(&mut self, file: &str) -> Result<(), String> {
            self.record(format!("create {file}"))
        }
        fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), String> {
            self.record(format!("append {file} {}", bytes.len()))
        }
        fn sync(&mut self, file: &str) -> Result<(), String> {
            self.record(format!("sync {file}"))
        }
        fn truncate(&mut self, file: &str, len: u64) -> Result<(), String> {
            self.record(format!("truncate {file} {len}"))
        }
        fn rename(&mut self, from: &str, to: &str) -> Result<(), String> {
            self.record(format!("rename {from} {to}"))
        }
        fn remove(&mut self, file: &str) -> Result<(), String> {
            self.record(format!("remove {file}"))
        }
        fn sync_dir(&mut self) -> Result<(), String> {
            self.record("sync_dir".to_string())
        }
    }

    #[test]
    fn a_batch_stops_at_its_first_failure_and_says_what_completed() {
        let ops = || {
            alloc::vec![
                (
                    7,
                    PersistOp::Append {
                        file: "log.1".into(),
                        bytes: alloc::vec![1]
                    }
                ),
                (
                    8,
                    PersistOp::Sync {
                        file: "log.1".into()
                    }
                ),
                (
                    9,
                    PersistOp::Append {
                        file: "log.1".into(),
                        bytes: alloc::vec![2]
                    }
                ),
            ]
        };
        let mut ok = Recorder::default();
        assert_eq!(run_batch(ops(), &mut ok, "/d"), BatchOutcome::Done(Some(9)));
        let mut bad = Recorder(Vec::new(), Some("sync log.1"));
        assert_eq!(
            run_batch(ops(), &mut bad, "/d"),
            BatchOutcome::Failed {
                done: Some(7),
                seq: 8,
                error: "fsync of log.1 in /d: EIO".into()
            }
        );
        assert_eq!(bad.0, ["append log.1 1"], "nothing runs after the failure");
        assert_eq!(run_batch([], &mut ok, "/d"), BatchOutcome::Done(None));
    }

    fn append(seq: u64, file: &str, bytes: &[u8]) -> (u64, PersistOp) {
        let (file, bytes) = (file.into(), bytes.to_vec());
        (seq, PersistOp::Append { file, bytes })
    }

    /// Appends queued back to back to one file are one write, in order; another file or any
    /// other op ends the run; a failed run acknowledges none of its appends.
    #[test]
    fn appends_queued_back_to_back_to_one_file_are_one_write() {
        #[derive(Default)]
        struct Bytes(Vec<(String, Vec<u8>)>, bool);
        impl Files for Bytes {
            type Error = String;
            fn create(&mut self, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn append(&mut self, file: &str, bytes: &[u8]) -> Result<(), String> {
                if self.1 {
                    return Err("ENOSPC".into());
                }
                self.0.push((file.into(), bytes.to_vec()));
                Ok(())
            }
            fn sync(&mut self, file: &str) -> Result<(), String> {
                self.0.push((format!("sync {file}"), Vec::new()));
                Ok(())
            }
            fn truncate(&mut self, _: &str, _: u64) -> Result<(), String> {
                Ok(())
            }
            fn rename(&mut self, _: &str, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn remove(&mut self, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn sync_dir(&mut self) -> Result<(), String> {
                Ok(())
            }
        }
        let ops = || {
            alloc::vec![
                append(1, "log.1", b"ab"),
                append(2, "log.1", b"c"),
                append(3, "log.1", b"de"),
                append(4, "log.2", b"f"),
                (
                    5,
                    PersistOp::Sync {
                        file: "log.2".into()
                    }
                ),
                append(6, "log.2", b"g"),
            ]
        };
        let mut ok = Bytes::default();
        assert_eq!(run_batch(ops(), &mut ok, "/d"), BatchOutcome::Done(Some(6)));
        let want: [(&str, &[u8]); 4] = [
            ("log.1", b"abcde"),
            ("log.2", b"f"),
            ("sync log.2", b""),
            ("log.2", b"g"),
        ];
        let got: Vec<(&str, &[u8])> = ok.0.iter().map(|(f, b)| (f.as_str(), &b[..])).collect();
        assert_eq!(got, want);

        let mut full = Bytes(Vec::new(), true);
        assert_eq!(
            run_batch(ops(), &mut full, "/d"),
            BatchOutcome::Failed {
                done: None,
                seq: 1,
                error: "appending 5 bytes to log.1 in /d: ENOSPC".into()
            }
        );

        // A run is bounded: past the cap the next append starts a new write.
        let big = alloc::vec![0u8; COALESCE_APPEND_BYTES];
        let mut ok = Bytes::default();
        let capped = [append(1, "l", &big), append(2, "l", b"x")];
        assert_eq!(
            run_batch(capped, &mut ok, "/d"),
            BatchOutcome::Done(Some(2))
        );
        assert_eq!(ok.0.len(), 2);
    }

    fn run(op: PersistOp) -> Vec<String> {
        let mut r = Recorder::default();
        execute(&op, &mut r).unwrap();
        r.0
    }

    #[test]
    fn epoch_files_are_written_temp_synced_renamed_then_the_directory_synced() {
        assert_eq!(
            run(PersistOp::WriteEpochs {
                accepted: 3,
                current: 2
            }),
            [
                "create acceptedEpoch.tmp",
                "append acceptedEpoch.tmp 2",
                "sync acceptedEpoch.tmp",
                "rename acceptedEpoch.tmp acceptedEpoch",
                "create currentEpoch.tmp",
                "append currentEpoch.tmp 2",
                "sync currentEpoch.tmp",
                "rename currentEpoch.tmp currentEpoch",
                "sync_dir",
            ]
        );
    }

    #[test]
    fn names_are_made_durable_by_a_directory_sync_and_data_by_a_file_sync() {
        let f = || "log.100000001".to_string();
        assert_eq!(
            run(PersistOp::Create { file: f() }),
            ["create log.100000001", "sync_dir"]
        );
        assert_eq!(
            run(PersistOp::Append {
                file: f(),
                bytes: alloc::vec![0; 7]
            }),
            ["append log.100000001 7"]
        );
        assert_eq!(run(PersistOp::Sync { file: f() }), ["sync log.100000001"]);
        assert_eq!(
            run(PersistOp::Truncate { file: f(), len: 8 }),
            ["truncate log.100000001 8", "sync log.100000001"]
        );
        assert_eq!(
            run(PersistOp::Rename {
                from: "snapshot.5.tmp".into(),
                to: "snapshot.5".into()
            }),
            ["rename snapshot.5.tmp snapshot.5", "sync_dir"]
        );
        assert_eq!(
            run(PersistOp::Remove { file: f() }),
            ["remove log.100000001", "sync_dir"]
        );
    }

    /// The first error stops the op: nothing after it runs.
    #[test]
    fn the_first_failure_stops_the_op() {
        let mut f = Recorder(Vec::new(), Some("rename"));
        let op = PersistOp::WriteEpochs {
            accepted: 1,
            current: 1,
        };
        assert_eq!(execute(&op, &mut f), Err("EIO".to_string()));
        assert_eq!(f.0.len(), 3, "{:?}", f.0);
    }

    /// The node's persist ops for real work (log segments rolled, snapshots taken), carried out
    /// through [`execute`]: every durable name goes through a directory sync, every snapshot is
    /// synced before it is renamed into place. Removing an fsync or a directory sync anywhere on
    /// these paths fails here.
    mod node_sequences {
        use super::*;
        use crate::node::{Node, Recovered, Tuning};
        use crate::{Config, Input, Instant, Output};
        use alloc::format;
        use alloc::string::String;
        use alloc::vec::Vec;

        /// A standalone server taking 600 writes with small log segments and frequent snapshots.
        fn primitives() -> Vec<String> {
            let config = Config::from_zoo_cfg("clientPort=2181\n")
                .unwrap()
                .with_my_id(1)
                .unwrap();
            let tuning = Tuning {
                log_segment_bytes: 4096,
                snap_count: 50,
                ..Tuning::default()
            };
            let mut node: Node =
                Node::with_state_machine(config, Recovered::empty(), 1, Instant::ZERO, 0, tuning)
                    .unwrap();
            let mut disk = Recorder::default();
            let mut now = Instant::ZERO;
            let mut pending = Vec::new();
            let mut written: i32 = 0;
            for _ in 0..2000 {
                if written < 600 && node.status().synced {
                    let body = postcard::to_allocvec(&(written as u64, 7u64)).unwrap();
                    let cxid = written;
                    written += 1;
                    node.handle(
                        now,
                        Input::Submit {
                            session_id: 1,
                            cxid,
                            kind: 1,
                            body,
                        },
                    );
                }
                while let Some(out) = node.poll_output() {
                    if let Output::Persist { seq, op } = out {
                        execute(&op, &mut disk).unwrap();
                        pending.push(seq);
                    }
                }
                if let Some(&seq) = pending.last() {
                    pending.clear();
                    node.handle(now, Input::Persisted { seq });
                }
                now = now.plus_millis(10);
                node.handle(now, Input::Timeout);
            }
            disk.0
        }

        #[test]
        fn every_name_is_dir_synced_and_every_snapshot_synced_before_its_rename() {
            let ops = primitives();
            let created_logs = ops.iter().filter(|o| o.starts_with("create log.")).count();
            let snapshots = ops
                .iter()
                .filter(|o| o.starts_with("rename snapshot.") && !o.ends_with(".tmp"))
                .count();
            assert!(created_logs >= 3, "the log never rolled: {ops:?}");
            assert!(snapshots >= 3, "too few snapshots: {ops:?}");
            for (i, op) in ops.iter().enumerate() {
                let next = ops.get(i + 1).map(String::as_str);
                if op.starts_with("create ")
                    || op.starts_with("rename ")
                    || op.starts_with("remove ")
                {
                    // The two epoch files are one op: their directory sync follows the second.
                    let after = ops[i + 1..].iter().find(|o| !o.contains("Epoch"));
                    assert_eq!(
                        after.map(String::as_str),
                        Some("sync_dir"),
                        "{op} is not made durable: {ops:?}"
                    );
                }
                if let Some(rest) = op.strip_prefix("rename ") {
                    let from = rest.split(' ').next().unwrap();
                    let synced = ops[..i].iter().rposition(|o| *o == format!("sync {from}"));
                    let appended = ops[..i]
                        .iter()
                        .rposition(|o| *o == format!("append {from}"));
                    assert!(
                        synced > appended,
                        "{from} renamed before its last append was synced"
                    );
                }
                if let Some(file) = op.strip_prefix("truncate ") {
                    assert_eq!(next, Some(format!("sync {file}").as_str()));
                }
            }
        }
    }
}
