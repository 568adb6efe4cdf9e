//! The write-seq floor of this machine, measured in the run (issue 11: "≤ 2× the fsync+RTT
//! floor — state the floor you measured"): what any service that fsyncs on a quorum must
//! spend on one lone write sent to a follower, whatever its code.
//!
//! The path of such a write is six one-way loopback hops (client → follower → leader →
//! follower (PROPOSAL) → leader (ACK) → follower (COMMIT) → client) and one fdatasync, which
//! every member runs at about the same time on the one disk the members share here. So:
//! floor = p50 of a 200 B append + fdatasync with `members` writers at once (the lower of a
//!         file reserved as a hole and one reserved with written zeros)
//!       + 6 × half the p50 round trip of 100 B over loopback TCP.
//! Both are taken with a 300 µs pause before each sample, as a lone write's steps are:
//! every thread on the path has gone to sleep, and a warm spin loop would flatter the floor.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// One-way loopback hops on the path of a write sent to a follower.
pub(crate) const HOPS: f64 = 6.0;
/// Samples of each measurement (bounded: ~0.5 ms each).
const SAMPLES: usize = 400;
/// Pause before each sample: the threads on the path sleep, as between lone writes.
const PAUSE: Duration = Duration::from_micros(300);
/// Room reserved in each file, like the members' preallocated logs (which reserve 1 MiB at a
/// time; 4 MiB keeps every sample inside it).
const RESERVE: u64 = 4 << 20;

/// The floor and its parts, µs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Floor {
    /// p50 of one 200 B append + fdatasync, `writers` at once.
    pub(crate) fsync_us: f64,
    /// Writers that synced at once (the members).
    pub(crate) writers: usize,
    /// p50 of a 100 B loopback round trip, halved.
    pub(crate) hop_us: f64,
}

impl Floor {
    /// fsync + six hops.
    pub(crate) fn total_us(&self) -> f64 {
        self.fsync_us + HOPS * self.hop_us
    }
}

/// Measures the floor with files in `dir` (the ensembles' filesystem), `writers` at once.
pub(crate) fn measure(dir: &Path, writers: usize) -> Result<Floor, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // The lower of the two ways to reserve a log's room: the floor never rises because
    // the members' logs chose one (their sync into written zeros is not faster alone).
    let fsync_us = fsync_p50(dir, writers.max(1), Room::Hole)?.min(fsync_p50(
        dir,
        writers.max(1),
        Room::Zeros,
    )?);
    let hop_us = rtt_p50()? / 2.0;
    Ok(Floor {
        fsync_us,
        writers: writers.max(1),
        hop_us,
    })
}

fn p50(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// How a floor file's room is reserved before the samples append into it.
#[derive(Clone, Copy, Debug)]
enum Room {
    /// `set_len`: a sparse extension.
    Hole,
    /// Zeros written and synced, as the members' logs reserve it.
    Zeros,
}

/// p50 of append + fdatasync with `writers` threads starting each sample together.
fn fsync_p50(dir: &Path, writers: usize, room: Room) -> Result<f64, String> {
    let start = Arc::new(Barrier::new(writers));
    let mut threads = Vec::new();
    for i in 0..writers {
        let path = dir.join(format!("floor-{i}"));
        let start = start.clone();
        threads.push(std::thread::spawn(move || -> Result<Vec<f64>, String> {
            let fail = |e: std::io::Error| format!("{}: {e}", path.display());
            let mut f = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .open(&path)
                .map_err(fail)?;
            match room {
                Room::Hole => f.set_len(RESERVE).map_err(fail)?,
                Room::Zeros => {
                    f.write_all(&vec![0u8; RESERVE as usize]).map_err(fail)?;
                    f.sync_data().map_err(fail)?;
                    f.seek(SeekFrom::Start(0)).map_err(fail)?;
                }
            }
            let record = [b'x'; 200];
            let mut took = Vec::with_capacity(SAMPLES);
            for _ in 0..SAMPLES {
                std::thread::sleep(PAUSE);
                start.wait();
                let t = Instant::now();
                f.write_all(&record).map_err(fail)?;
                f.sync_data().map_err(fail)?;
                took.push(t.elapsed().as_secs_f64() * 1e6);
            }
            drop(f);
            let _ = std::fs::remove_file(&path);
            Ok(took)
        }));
    }
    let mut all = Vec::new();
    for t in threads {
        all.extend(
            t.join()
                .map_err(|_| "a floor writer panicked".to_string())??,
        );
    }
    Ok(p50(all))
}

/// p50 round trip of 100 B between two threads over loopback TCP (Nagle off, as the
/// services run).
fn rtt_p50() -> Result<f64, String> {
    let fail = |e: std::io::Error| format!("loopback round trip: {e}");
    let listener = TcpListener::bind("127.0.0.1:0").map_err(fail)?;
    let addr = listener.local_addr().map_err(fail)?;
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let (mut s, _) = listener.accept()?;
        s.set_nodelay(true)?;
        let mut buf = [0u8; 100];
        for _ in 0..SAMPLES {
            s.read_exact(&mut buf)?;
            s.write_all(&buf)?;
        }
        Ok(())
    });
    let mut s = TcpStream::connect(addr).map_err(fail)?;
    s.set_nodelay(true).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(fail)?;
    let mut buf = [7u8; 100];
    let mut took = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        std::thread::sleep(PAUSE);
        let t = Instant::now();
        s.write_all(&buf).map_err(fail)?;
        s.read_exact(&mut buf).map_err(fail)?;
        took.push(t.elapsed().as_secs_f64() * 1e6);
    }
    drop(s);
    echo.join()
        .map_err(|_| "the echo thread panicked".to_string())?
        .map_err(fail)?;
    Ok(p50(took))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floor is made of what it measured: positive parts, six hops.
    #[test]
    fn the_floor_is_one_fsync_and_six_hops() {
        let dir = std::env::temp_dir().join(format!("conclave-floor-{}", std::process::id()));
        let f = measure(&dir, 2).expect("measuring the floor");
        assert!(f.fsync_us > 0.0 && f.hop_us > 0.0, "{f:?}");
        assert_eq!(f.writers, 2);
        assert!((f.total_us() - (f.fsync_us + 6.0 * f.hop_us)).abs() < 1e-9);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
