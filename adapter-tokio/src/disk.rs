//! The disk thread: one blocking `std::thread` per member that runs `PersistOp`s in `seq`
//! order and acknowledges them cumulatively.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use conclave_core::codec::epochs::{
    encode_epoch, ACCEPTED_EPOCH_FILE, ACCEPTED_EPOCH_TMP_FILE, CURRENT_EPOCH_FILE,
    CURRENT_EPOCH_TMP_FILE,
};
use conclave_core::PersistOp;

/// What the disk thread reports back.
#[derive(Debug)]
pub enum DiskAck {
    /// Every op up to `seq` is done.
    Persisted(u64),
    /// Op `seq` failed; nothing after it was (or will be) executed.
    Failed(u64, String),
}

/// Handle of a running disk thread.
#[derive(Debug)]
pub struct Disk {
    tx: Option<mpsc::Sender<(u64, PersistOp)>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Disk {
    /// Starts the thread for `dir`; `ack` is called (from the thread) with each acknowledgement.
    pub fn start(dir: PathBuf, my_id: u64, ack: impl Fn(DiskAck) -> bool + Send + 'static) -> Disk {
        let (tx, rx) = mpsc::channel::<(u64, PersistOp)>();
        let span = tracing::info_span!("server", id = my_id);
        let thread = std::thread::Builder::new()
            .name(format!("conclave-disk-{my_id}"))
            .spawn(move || span.in_scope(|| run(dir, rx, ack)))
            .expect("spawning the disk thread");
        Disk {
            tx: Some(tx),
            thread: Some(thread),
        }
    }

    /// Queues an op; false if the thread stopped (after a failure).
    pub fn submit(&self, seq: u64, op: PersistOp) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|tx| tx.send((seq, op)).is_ok())
    }

    /// Lets the queued ops finish and waits for the thread.
    pub fn finish(mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Disk {
    fn drop(&mut self) {
        // Dropping the sender lets the thread drain its queue and exit on its own.
        self.tx.take();
    }
}

struct Worker {
    dir: PathBuf,
    open: HashMap<String, File>,
}

fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Worker {
    fn file(&mut self, name: &str) -> std::io::Result<&mut File> {
        if !self.open.contains_key(name) {
            let f = OpenOptions::new()
                .append(true)
                .create(true)
                .open(self.dir.join(name))?;
            self.open.insert(name.to_string(), f);
        }
        Ok(self.open.get_mut(name).expect("just inserted"))
    }

    fn write_atomically(&self, tmp: &str, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = File::create(self.dir.join(tmp))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(self.dir.join(tmp), self.dir.join(name))
    }

    fn exec(&mut self, op: PersistOp) -> std::io::Result<()> {
        match op {
            PersistOp::WriteEpochs { accepted, current } => {
                self.write_atomically(
                    ACCEPTED_EPOCH_TMP_FILE,
                    ACCEPTED_EPOCH_FILE,
                    &encode_epoch(accepted),
                )?;
                self.write_atomically(
                    CURRENT_EPOCH_TMP_FILE,
                    CURRENT_EPOCH_FILE,
                    &encode_epoch(current),
                )?;
                fsync_dir(&self.dir)
            }
            PersistOp::Create { file } => {
                self.open.remove(&file);
                let f = OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(self.dir.join(&file))?;
                drop(f);
                // Reopen in append mode so later appends land at the end; make the new
                // directory entry durable (fdatasync of the file alone does not).
                self.file(&file)?;
                fsync_dir(&self.dir)
            }
            PersistOp::Append { file, bytes } => self.file(&file)?.write_all(&bytes),
            PersistOp::Sync { file } => self.file(&file)?.sync_data(),
            PersistOp::Truncate { file, len } => {
                let f = self.file(&file)?;
                f.set_len(len)?;
                f.sync_all()
            }
            PersistOp::Rename { from, to } => {
                if let Some(f) = self.open.remove(&from) {
                    self.open.insert(to.clone(), f);
                } else {
                    self.open.remove(&to);
                }
                std::fs::rename(self.dir.join(&from), self.dir.join(&to))?;
                fsync_dir(&self.dir)
            }
            PersistOp::Remove { file } => {
                self.open.remove(&file);
                match std::fs::remove_file(self.dir.join(&file)) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                fsync_dir(&self.dir)
            }
        }
    }
}

fn run(dir: PathBuf, rx: mpsc::Receiver<(u64, PersistOp)>, ack: impl Fn(DiskAck) -> bool) {
    let mut w = Worker {
        dir,
        open: HashMap::new(),
    };
    while let Ok(first) = rx.recv() {
        let mut next = Some(first);
        let mut last = None;
        while let Some((seq, op)) = next.take() {
            let what = op.to_string();
            if let Err(e) = w.exec(op) {
                let error = format!("{what} in {}: {e}", w.dir.display());
                tracing::error!("disk write failed, stopping all writes: {error}");
                if let Some(done) = last {
                    ack(DiskAck::Persisted(done));
                }
                ack(DiskAck::Failed(seq, error));
                return; // execute nothing after a failure
            }
            last = Some(seq);
            next = rx.try_recv().ok();
        }
        if let Some(done) = last {
            if !ack(DiskAck::Persisted(done)) {
                return;
            }
        }
    }
}
