//! `sim`: runs the deterministic simulator over a range of seeds and reports violations.
//! See `--help` (and [`conclave_conformance::cli::HELP`]).

use std::io::IsTerminal;
use std::process::ExitCode;

use conclave_conformance::cli::{self, Command};
use conclave_conformance::cpu_time::process_cpu_secs;
use conclave_conformance::progress::Progress;
use conclave_conformance::runner::{self, RunnerEvent};

/// Settle-time statistics over the seeds that healed.
#[derive(Default)]
struct Settle {
    count: u64,
    sum_ms: u64,
    max: Option<(u64, u64, usize)>,
}

/// The `p`-th percentile of `samples` (sorted in place); 0 when empty.
fn percentile(samples: &mut [u64], p: usize) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    samples.sort_unstable();
    samples[(samples.len() - 1) * p / 100]
}

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("sim: {msg}\nsim: run with --help for usage");
            return ExitCode::from(2);
        }
    };
    let default_jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    let batch = args.batch(default_jobs);
    runner::install_quiet_panic_hook();
    let wall = std::time::Instant::now();
    let cpu_start = process_cpu_secs();
    let mut progress = Progress::new(batch.seeds, std::io::stderr().is_terminal());
    let (mut violations, mut sim_ns) = (0u64, 0u128);
    let mut settle = Settle::default();
    let mut progress_stats = Settle::default();
    let mut progress_samples: Vec<u64> = Vec::new();
    let mut settle_samples: Vec<u64> = Vec::new();
    let (mut committed, mut acked, mut submitted, mut rejected, mut unknown) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    let (mut snapshots, mut torn, mut pauses, mut backward) = (0u64, 0u64, 0u64, 0u64);
    let mut zk = conclave_conformance::zk_workload::ZkStats::default();
    let mut first_failed: Option<u64> = None;
    runner::run_seeds(&batch, |ev| match ev {
        RunnerEvent::Finished { done, violations } => progress.update(done, violations),
        RunnerEvent::Report(r) => {
            sim_ns += u128::from(r.sim_ns);
            if batch.verbose || r.violation.is_some() {
                progress.clear();
            }
            if batch.verbose {
                println!(
                    "== seed {} ({} voters, {} observers) trace_hash={:016x}",
                    r.seed, r.voters, r.observers, r.trace_hash
                );
                for line in &r.log {
                    println!("{line}");
                }
            }
            committed += r.committed_txns;
            acked += r.acked_writes;
            submitted += r.workload.submitted;
            rejected += r.workload.rejected;
            unknown += r.workload.unknown;
            zk.add(&r.zk);
            snapshots += r.snapshots;
            torn += r.torn_tails;
            pauses += r.pauses;
            backward += r.backward_resets;
            if let Some(ms) = r.progress_ms {
                progress_samples.push(ms);
                progress_stats.count += 1;
                progress_stats.sum_ms += ms;
                if progress_stats.max.is_none_or(|(m, _, _)| ms > m) {
                    progress_stats.max = Some((ms, r.seed, r.voters));
                }
            }
            if let Some(ms) = r.settle_ms {
                settle_samples.push(ms);
                settle.count += 1;
                settle.sum_ms += ms;
                if settle.max.is_none_or(|(m, _, _)| ms > m) {
                    settle.max = Some((ms, r.seed, r.voters));
                }
            }
            if let Some(v) = &r.violation {
                violations += 1;
                first_failed.get_or_insert(r.seed);
                println!("VIOLATION seed={} nodes={} {v}", r.seed, r.voters);
                println!(
                    "{}",
                    cli::reproduce_line(
                        r.seed,
                        r.voters,
                        r.observers,
                        batch.sim_ms,
                        r.faults,
                        batch.workload,
                        batch.reconfig
                    )
                );
            }
        }
    });
    progress.finish();
    let wall_secs = wall.elapsed().as_secs_f64();
    let cpu_secs = match (cpu_start, process_cpu_secs()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => wall_secs * batch.jobs as f64,
    };
    if let Some((max, seed, voters)) = settle.max {
        println!(
            "liveness: {} of {} seeds settled after healing; heal->all-synced max={max}ms (seed {seed}, {voters} voters) \
             mean={}ms p50={}ms p99={}ms bound={}ms",
            settle.count,
            batch.seeds,
            settle.sum_ms / settle.count.max(1),
            percentile(&mut settle_samples, 50),
            percentile(&mut settle_samples, 99),
            conclave_conformance::options::LIVENESS_BOUND_MS
        );
    }
    if let Some((max, seed, voters)) = progress_stats.max {
        println!(
            "progress: {} of {} seeds acknowledged a write after healing; heal->first-ack max={max}ms (seed {seed}, \
             {voters} voters) mean={}ms p50={}ms p99={}ms bound={}ms",
            progress_stats.count,
            batch.seeds,
            progress_stats.sum_ms / progress_stats.count.max(1),
            percentile(&mut progress_samples, 50),
            percentile(&mut progress_samples, 99),
            conclave_conformance::SimOptions::new(0, 3, 1)
                .with_workload(batch.workload)
                .progress_bound_ms()
                .unwrap_or_default()
        );
    }
    println!(
        "{}: committed_txns={committed} acked_writes={acked} submitted={submitted} rejected={rejected} \
         unknown={unknown} snapshots={snapshots} torn_tails={torn} pauses={pauses} backward_snap_resets={backward}",
        batch.workload.name()
    );
    if batch.workload == conclave_conformance::Workload::Zk {
        println!(
            "zk clients: requests={} replies={} writes_acked={} notifications={} sessions={} \
             expired={} closed={} conn_lost={} unanswered={}",
            zk.requests,
            zk.replies,
            zk.writes_acked,
            zk.notifications,
            zk.sessions,
            zk.expired,
            zk.closed,
            zk.conn_lost,
            zk.unanswered
        );
        if batch.reconfig {
            println!(
                "reconfig: sent={} committed={}",
                zk.reconfigs, zk.reconfigs_committed
            );
        }
        // Undecided registers are reported, never counted as passed.
        println!(
            "linearizable_writes: register ops checked={} registers undecided within budget={}",
            zk.lin_ops, zk.lin_unknown
        );
    }
    let sim_secs = sim_ns as f64 / 1e9;
    println!(
        "sim: seeds={} violations={violations} sim_secs={sim_secs:.1} cpu_secs={cpu_secs:.2} speed={:.0}x",
        batch.seeds,
        sim_secs / cpu_secs.max(1e-9)
    );
    if let Some(file) = &args.timeline {
        let seed = first_failed.unwrap_or(batch.first_seed);
        let opts = batch.options(seed);
        let title = format!(
            "seed {seed}: {} voters, {} observers, {} s, workload {}{}",
            opts.voters,
            opts.observers,
            opts.sim_ms / 1000,
            opts.workload.name(),
            if opts.faults.enabled {
                ""
            } else {
                ", no faults"
            }
        );
        let mut sim = conclave_conformance::Simulation::new(opts);
        sim.record_timeline();
        while sim.step() {}
        let html = sim.timeline_html(&title).unwrap_or_default();
        match std::fs::write(file, html) {
            Ok(()) => println!("timeline: seed {seed} written to {file}"),
            Err(e) => {
                eprintln!("sim: cannot write the timeline to {file}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if violations > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
