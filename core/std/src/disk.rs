//! The disk thread: one blocking `std::thread` per member runs the core's persist ops in `seq`
//! order through [`conclave_core::files::execute`] over `std::fs`, and acknowledges them
//! cumulatively. The first failure stops it: nothing after a failed op is written.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use crate::busy_poll::BusyPoll;
use conclave_core::files::{run_batch, BatchOutcome, Files};
use conclave_core::host::{Action, Driver};
use conclave_core::{Instant as CoreInstant, PersistOp, Service};

/// What the disk thread reports back.
#[derive(Debug)]
pub enum DiskAck {
    /// Every op up to `seq` is done.
    Persisted(u64),
    /// Op `seq` failed; nothing after it was (or will be) executed.
    Failed(u64, String),
}

impl DiskAck {
    /// Hands the acknowledgement to the node (every adapter's disk event).
    pub fn deliver<S: Service>(self, driver: &mut Driver<S>, now: CoreInstant) {
        match self {
            DiskAck::Persisted(seq) => driver.persisted(now, seq),
            DiskAck::Failed(seq, error) => driver.disk_failed(now, seq, error),
        }
    }
}

/// Stages op `seq` on `disk` (every adapter's `Action::Persist`); [`flush`] hands what is
/// staged to the thread once the adapter has drained the node's actions. Without a disk
/// the node hears at once that the op failed.
pub fn persist<S: Service>(
    disk: Option<&mut Disk>,
    driver: &mut Driver<S>,
    now: CoreInstant,
    seq: u64,
    op: PersistOp,
) {
    match disk {
        Some(d) => d.stage(seq, op),
        None => {
            let why = "the disk thread stopped after a write failure".to_string();
            driver.disk_failed(now, seq, why);
        }
    }
}

/// Hands the ops staged since the last flush to the disk thread in one message (every
/// adapter, after draining the node's actions). One turn of the node appends several txns
/// and a sync; sent one by one, each could wake the thread to write a fragment and sleep
/// again, a context switch per op. Returns true if the thread had stopped after a failure:
/// the node then heard that the first staged op failed, and has actions to drain.
pub fn flush<S: Service>(
    disk: Option<&mut Disk>,
    driver: &mut Driver<S>,
    now: CoreInstant,
) -> bool {
    match disk.map(Disk::flush) {
        Some(Err(seq)) => {
            let why = "the disk thread stopped after a write failure".to_string();
            driver.disk_failed(now, seq, why);
            true
        }
        _ => false,
    }
}

/// What [`drain`] needs from an adapter's member loop.
pub trait MemberLoop {
    /// The service its node runs.
    type Service: Service;
    /// The node's driver and the member's disk, apart, so both can be borrowed at once.
    fn driver_and_disk(&mut self) -> (&mut Driver<Self::Service>, Option<&mut Disk>);
    /// The adapter's clock, now.
    fn clock_now(&self) -> CoreInstant;
    /// Carries out one action of the node (sockets, timers, persist ops staged).
    fn act_on(&mut self, action: Action);
}

/// Every adapter's node turn: carries out the node's actions, then hands the staged persist
/// ops to the disk in one message ([`flush`]). A second pass only when that found the disk
/// thread stopped: the node has halted and has the failure to act on, and nothing then goes
/// to the disk again.
pub fn drain<L: MemberLoop>(member: &mut L) {
    for _ in 0..2 {
        while let Some(action) = member.driver_and_disk().0.next_action() {
            member.act_on(action);
        }
        let now = member.clock_now();
        let (driver, disk) = member.driver_and_disk();
        if !flush(disk, driver, now) {
            break;
        }
    }
}

/// Environment variable for testing only: after this many successful syncs, every sync fails
/// with EIO, as a failing disk answers fsync. Lets a test see a member halt on an I/O error
/// without a faulty device (issue 17's disk faults).
pub const FAULT_SYNC_EIO_AFTER: &str = "CONCLAVE_FAULT_SYNC_EIO_AFTER";

/// [`Files`] over a directory of `std::fs`, keeping appended-to files open.
///
/// Files are not opened `O_APPEND`: a preallocated file is longer than what was appended,
/// so each open file's cursor is where appends go — its size when opened, 0 when created,
/// `len` after a truncate — and `set_len` reserves room beyond it without moving it.
struct Dir {
    dir: PathBuf,
    open: HashMap<String, File>,
    /// Syncs left before the injected EIO ([`FAULT_SYNC_EIO_AFTER`]); `None` without it.
    eio_after: Option<u64>,
}

impl Dir {
    fn file(&mut self, name: &str) -> std::io::Result<&mut File> {
        if !self.open.contains_key(name) {
            let mut f = OpenOptions::new().write(true).open(self.dir.join(name))?;
            f.seek(SeekFrom::End(0))?;
            self.open.insert(name.to_string(), f);
        }
        Ok(self.open.get_mut(name).expect("just inserted"))
    }
}

impl Files for Dir {
    type Error = std::io::Error;
    fn create(&mut self, file: &str) -> std::io::Result<()> {
        self.open.remove(file);
        let f = File::create(self.dir.join(file))?;
        self.open.insert(file.to_string(), f);
        Ok(())
    }
    fn append(&mut self, file: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.file(file)?.write_all(bytes)
    }
    fn sync(&mut self, file: &str) -> std::io::Result<()> {
        if let Some(left) = self.eio_after.as_mut() {
            if *left == 0 {
                return Err(std::io::Error::from_raw_os_error(5));
            }
            *left -= 1;
        }
        self.file(file)?.sync_data()
    }
    fn truncate(&mut self, file: &str, len: u64) -> std::io::Result<()> {
        let f = self.file(file)?;
        f.set_len(len)?;
        f.seek(SeekFrom::Start(len)).map(drop)
    }
    fn preallocate(&mut self, file: &str, len: u64) -> std::io::Result<()> {
        // Zeros written past the end, never a sparse `set_len`: a sync into a hole must
        // allocate blocks and commit the filesystem's journal, one into written blocks only
        // writes the data. One writer's sync is as fast either way; three members syncing
        // at once spent ~12 % more CPU per write with holes (docs/benchmarks.md). Written
        // with positioned writes from the file's size: appends keep their cursor, and bytes
        // already in the file are never overwritten.
        use std::os::unix::fs::FileExt;
        let f = self.file(file)?;
        let mut at = f.metadata()?.len();
        while at < len {
            let n = usize::try_from(len - at).map_or(ZEROS.len(), |n| n.min(ZEROS.len()));
            f.write_all_at(&ZEROS[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }
    fn rename(&mut self, from: &str, to: &str) -> std::io::Result<()> {
        self.open.remove(to);
        if let Some(f) = self.open.remove(from) {
            self.open.insert(to.to_string(), f);
        }
        std::fs::rename(self.dir.join(from), self.dir.join(to))
    }
    fn remove(&mut self, file: &str) -> std::io::Result<()> {
        self.open.remove(file);
        match std::fs::remove_file(self.dir.join(file)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
    fn sync_dir(&mut self) -> std::io::Result<()> {
        File::open(&self.dir)?.sync_all()
    }
}

/// The zeros [`Dir::preallocate`] writes, a chunk at a time.
static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

/// How long dropping a [`Disk`] waits for its thread to leave the directory.
const DROP_WAIT: Duration = Duration::from_secs(2);

/// Handle of a running disk thread.
#[derive(Debug)]
pub struct Disk {
    tx: Option<mpsc::Sender<Vec<(u64, PersistOp)>>>,
    /// Ops staged since the last [`Disk::flush`], in `seq` order.
    staged: Vec<(u64, PersistOp)>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Set when the handle is dropped without [`Disk::finish`]: queued ops are abandoned.
    abandoned: Arc<AtomicBool>,
}

impl Disk {
    /// Starts the thread for `dir`; `ack` is called (from the thread) with each acknowledgement
    /// and returns false once nobody listens.
    /// While `busy` says so after a batch, the thread polls for the next instead of sleeping.
    pub fn start(
        dir: PathBuf,
        my_id: u64,
        busy: BusyPoll,
        ack: impl Fn(DiskAck) -> bool + Send + 'static,
    ) -> Disk {
        let (tx, rx) = mpsc::channel::<Vec<(u64, PersistOp)>>();
        let span = tracing::info_span!("server", id = my_id);
        let eio_after = std::env::var(FAULT_SYNC_EIO_AFTER)
            .ok()
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(n) = eio_after {
            tracing::warn!(
                "{FAULT_SYNC_EIO_AFTER}={n}: every sync after the first {n} fails (testing)"
            );
        }
        let abandoned = Arc::new(AtomicBool::new(false));
        let stop = abandoned.clone();
        let thread = std::thread::Builder::new()
            .name(format!("conclave-disk-{my_id}"))
            .spawn(move || {
                span.in_scope(|| {
                    run(
                        Dir {
                            dir,
                            open: HashMap::new(),
                            eio_after,
                        },
                        rx,
                        &busy,
                        &stop,
                        ack,
                    )
                })
            })
            .expect("spawning the disk thread");
        Disk {
            tx: Some(tx),
            staged: Vec::new(),
            thread: Some(thread),
            abandoned,
        }
    }

    /// Stages an op until the next [`Disk::flush`].
    pub fn stage(&mut self, seq: u64, op: PersistOp) {
        self.staged.push((seq, op));
    }

    /// Sends the staged ops to the thread in one message; `Err(first staged seq)` if the
    /// thread stopped (after a failure), and then nothing staged will be written.
    pub fn flush(&mut self) -> Result<(), u64> {
        let Some(&(first, _)) = self.staged.first() else {
            return Ok(());
        };
        let batch = core::mem::take(&mut self.staged);
        match self.tx.as_ref().map(|tx| tx.send(batch)) {
            Some(Ok(())) => Ok(()),
            _ => Err(first),
        }
    }

    /// Lets the queued ops finish and waits for the thread.
    pub fn finish(mut self) {
        // Nothing to report to: a thread that stopped already logged why.
        let _ = self.flush();
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A member killed in place (its handle dropped, not finished) leaves its directory as a
/// crash would: the batch being written completes, nothing queued after it is written, and
/// the handle waits (bounded) for the thread, so a member restarted on the same directory
/// never races the old one's writes.
impl Drop for Disk {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::SeqCst);
        self.tx.take();
        let Some(thread) = self.thread.take() else {
            return;
        };
        let deadline = Instant::now() + DROP_WAIT;
        // Bounded by the deadline: the thread may be blocked handing an ack to a loop that
        // is itself being dropped.
        while !thread.is_finished() {
            if Instant::now() > deadline {
                tracing::warn!("the disk thread did not stop within {DROP_WAIT:?}; leaving it");
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let _ = thread.join();
    }
}

fn run(
    mut dir: Dir,
    rx: mpsc::Receiver<Vec<(u64, PersistOp)>>,
    busy: &BusyPoll,
    abandoned: &AtomicBool,
    ack: impl Fn(DiskAck) -> bool,
) {
    let where_ = dir.dir.display().to_string();
    while let Some(first) = busy.recv(&rx) {
        if abandoned.load(Ordering::SeqCst) {
            return;
        }
        // Everything queued now runs before one cumulative acknowledgement.
        let batch = std::iter::once(first)
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
            .flatten();
        match run_batch(batch, &mut dir, &where_) {
            BatchOutcome::Done(done) => {
                if done.is_some_and(|seq| !ack(DiskAck::Persisted(seq))) {
                    return;
                }
            }
            BatchOutcome::Failed { done, seq, error } => {
                tracing::error!("disk write failed, stopping all writes: {error}");
                if let Some(done) = done {
                    ack(DiskAck::Persisted(done));
                }
                ack(DiskAck::Failed(seq, error));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dropped (killed) disk leaves the directory as it is when the drop returns: its
    /// thread writes nothing after, so a restarted member reads a directory that stays put.
    #[test]
    fn a_dropped_disk_writes_nothing_after_the_drop_returns() {
        let dir = std::env::temp_dir().join(format!("conclave-disk-drop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut disk = Disk::start(dir.clone(), 1, BusyPoll::off(), |_| true);
        disk.stage(1, PersistOp::Create { file: "log".into() });
        for seq in 2..2_000 {
            let bytes = vec![7u8; 4096];
            let op = if seq % 2 == 0 {
                PersistOp::Append {
                    file: "log".into(),
                    bytes,
                }
            } else {
                PersistOp::Sync { file: "log".into() }
            };
            disk.stage(seq, op);
            if seq % 100 == 0 {
                assert_eq!(disk.flush(), Ok(()));
            }
        }
        drop(disk);
        let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let at_drop = len(&dir.join("log"));
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(len(&dir.join("log")), at_drop, "written after the drop");
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn acks(d: &std::path::Path) -> (Disk, mpsc::Receiver<DiskAck>) {
        std::fs::create_dir_all(d).unwrap();
        let (tx, rx) = mpsc::channel();
        let disk = Disk::start(
            d.to_path_buf(),
            1,
            BusyPoll::from_config(conclave_core::config::DEFAULT_BUSY_POLL_US),
            move |a| tx.send(a).is_ok(),
        );
        (disk, rx)
    }

    /// Staged ops reach the thread only when flushed, all at once, and are acknowledged
    /// cumulatively.
    #[test]
    fn staged_ops_run_when_flushed() {
        let dir = std::env::temp_dir().join(format!("conclave-disk-stage-{}", std::process::id()));
        let (mut disk, acks) = acks(&dir);
        disk.stage(1, PersistOp::Create { file: "log".into() });
        disk.stage(
            2,
            PersistOp::Append {
                file: "log".into(),
                bytes: b"abc".to_vec(),
            },
        );
        disk.stage(3, PersistOp::Sync { file: "log".into() });
        assert!(acks.recv_timeout(Duration::from_millis(50)).is_err());
        assert!(!dir.join("log").exists(), "nothing runs before the flush");
        assert_eq!(disk.flush(), Ok(()));
        assert_eq!(disk.flush(), Ok(()), "an empty flush sends nothing");
        let mut done = 0;
        while done < 3 {
            match acks.recv_timeout(Duration::from_secs(10)) {
                Ok(DiskAck::Persisted(seq)) => done = seq,
                other => panic!("expected Persisted, got {other:?}"),
            }
        }
        assert_eq!(std::fs::read(dir.join("log")).unwrap(), b"abc");
        disk.finish();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Once the thread stopped after a failure, a flush names the first op it could not take.
    #[test]
    fn a_flush_after_a_failure_names_the_first_staged_op() {
        let dir = std::env::temp_dir().join(format!("conclave-disk-fail-{}", std::process::id()));
        let (mut disk, acks) = acks(&dir);
        // Renaming a file that does not exist fails: the thread stops.
        disk.stage(
            1,
            PersistOp::Rename {
                from: "missing".into(),
                to: "other".into(),
            },
        );
        assert_eq!(disk.flush(), Ok(()));
        assert!(matches!(
            acks.recv_timeout(Duration::from_secs(10)),
            Ok(DiskAck::Failed(1, _))
        ));
        // The thread leaves right after its last ack; bounded wait for its queue to close.
        let mut answer = Ok(());
        for seq in 2..200 {
            disk.stage(seq, PersistOp::Sync { file: "log".into() });
            disk.stage(seq + 1_000, PersistOp::Sync { file: "log".into() });
            answer = disk.flush();
            if answer.is_err() {
                assert_eq!(answer, Err(seq));
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(answer.is_err(), "the stopped thread still took ops");
        drop(disk);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Appends go after the last appended byte, not after the room `preallocate` reserved;
    /// a truncate moves where they go; reserved room reads back as zeros.
    #[test]
    fn appends_land_after_the_data_not_after_the_reserved_room() {
        let dir =
            std::env::temp_dir().join(format!("conclave-disk-prealloc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Dir {
            dir: dir.clone(),
            open: HashMap::new(),
            eio_after: None,
        };
        d.create("log").unwrap();
        d.append("log", b"head").unwrap();
        d.preallocate("log", 1 << 16).unwrap();
        d.append("log", b"abc").unwrap();
        d.sync("log").unwrap();
        let bytes = std::fs::read(dir.join("log")).unwrap();
        assert_eq!(bytes.len(), 1 << 16);
        assert_eq!(&bytes[..7], b"headabc");
        assert!(bytes[7..].iter().all(|&b| b == 0));
        // The room is written, not a hole: a sync into it allocates nothing.
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(dir.join("log")).unwrap();
        assert!(meta.blocks() * 512 >= 1 << 16, "{} blocks", meta.blocks());
        // Reserving less than the file holds changes nothing.
        d.preallocate("log", 3).unwrap();
        assert_eq!(std::fs::metadata(dir.join("log")).unwrap().len(), 1 << 16);
        d.truncate("log", 5).unwrap();
        d.append("log", b"XY").unwrap();
        assert_eq!(std::fs::read(dir.join("log")).unwrap(), b"headaXY");
        // A file opened afresh (a restart) is appended to at its size.
        d.open.clear();
        d.append("log", b"!").unwrap();
        assert_eq!(std::fs::read(dir.join("log")).unwrap(), b"headaXY!");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
