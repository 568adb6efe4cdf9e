//! How long the slowest committed fuzz input takes: issue 17 bounds every input at 10 ms, and
//! libFuzzer's `-timeout` counts whole seconds. Replays each corpus file of each target
//! through the fuzzers' entry points (`conclave_core::fuzzing`), three times, and prints the
//! slowest inputs with their best-of-three time.
//!
//! `cargo run --release -p conclave-core --example fuzz_timing [TARGET ...]`

use std::path::Path;
use std::time::{Duration, Instant};

use conclave_core::fuzzing;

/// A fuzz target: its corpus directory and its entry point.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 7] = [
    ("client_frames", fuzzing::client_frames),
    ("request_body", fuzzing::request_body),
    ("peer_bytes", fuzzing::peer_bytes),
    ("node_clients", fuzzing::node_clients),
    ("disk_files", fuzzing::disk_files),
    ("zoo_cfg", fuzzing::zoo_cfg),
    ("security", fuzzing::security),
];

/// The budget per input (issue 17).
const BOUND: Duration = Duration::from_millis(10);

fn main() {
    let wanted: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut over = 0;
    for (name, run) in TARGETS {
        if !wanted.is_empty() && !wanted.iter().any(|w| w == name) {
            continue;
        }
        let dir = root.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("{name}: no corpus at {}", dir.display());
            continue;
        };
        let mut times = Vec::new();
        for entry in entries.flatten() {
            let Ok(data) = std::fs::read(entry.path()) else {
                continue;
            };
            let best = (0..3)
                .map(|_| {
                    let t = Instant::now();
                    run(&data);
                    t.elapsed()
                })
                .min()
                .unwrap_or_default();
            times.push((
                best,
                entry.file_name().to_string_lossy().into_owned(),
                data.len(),
            ));
        }
        times.sort();
        let total: Duration = times.iter().map(|t| t.0).sum();
        let n = times.len().max(1) as u32;
        println!(
            "{name}: {} inputs, mean {:.3} ms, slowest:",
            times.len(),
            total.as_secs_f64() * 1e3 / f64::from(n)
        );
        for (t, file, len) in times.iter().rev().take(3) {
            println!("    {:8.3} ms  {file} ({len} bytes)", t.as_secs_f64() * 1e3);
        }
        over += times.iter().filter(|t| t.0 > BOUND).count();
    }
    if over > 0 {
        println!("{over} input(s) over {} ms", BOUND.as_millis());
        std::process::exit(1);
    }
    println!("every input under {} ms", BOUND.as_millis());
}
