//! Many seeds on a few threads. Each run is single-threaded and self-contained, so its
//! result depends on its seed alone; results are handed back in seed order.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use crate::options::{FaultOptions, SimOptions, Workload};
use crate::report::RunReport;
use crate::simulation::{Simulation, SIMULATOR};
use crate::violation::Violation;

/// A range of seeds to run and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The first seed.
    pub first_seed: u64,
    /// How many consecutive seeds.
    pub seeds: u64,
    /// Voters per run; `None` cycles 3, 5, 7 by seed.
    pub voters: Option<usize>,
    /// Observers per run.
    pub observers: usize,
    /// Simulated duration per run, ms.
    pub sim_ms: u64,
    /// Faults to inject.
    pub faults: FaultOptions,
    /// Worker threads.
    pub jobs: usize,
    /// Keep each run's event log.
    pub verbose: bool,
    /// The liveness bound after healing, ms.
    pub liveness_bound_ms: u64,
    /// What drives the cluster.
    pub workload: Workload,
    /// Dynamic reconfiguration among the client requests.
    pub reconfig: bool,
}

/// The cluster size used for `seed` when none is given: 3, 5, 7, 3, 5, …
pub fn voters_for_seed(seed: u64) -> usize {
    [3, 5, 7][(seed % 3) as usize]
}

impl Batch {
    /// The options of one seed's run.
    pub fn options(&self, seed: u64) -> SimOptions {
        SimOptions {
            faults: self.faults.clone(),
            verbose: self.verbose,
            observers: self.observers,
            liveness_bound_ms: self.liveness_bound_ms,
            workload: self.workload,
            reconfig: self.reconfig,
            ..SimOptions::new(
                seed,
                self.voters.unwrap_or_else(|| voters_for_seed(seed)),
                self.sim_ms,
            )
        }
    }
}

/// Progress of [`run_seeds`], delivered on the calling thread.
#[derive(Debug)]
pub enum RunnerEvent {
    /// One more seed finished (in any order).
    Finished {
        /// Seeds finished so far.
        done: u64,
        /// Of which failed.
        violations: u64,
    },
    /// A seed's report, in seed order.
    Report(Box<RunReport>),
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the panic hook with one that stays quiet on worker threads and remembers the
/// message and location for [`run_one`] to report (a panicking core is a violation, not a
/// crash of the runner). Panics on the main thread are still printed.
pub fn install_quiet_panic_hook() {
    panic::set_hook(Box::new(|info| {
        if std::thread::current().name() == Some("main") {
            eprintln!("{info}");
        }
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(info.to_string()));
    }));
}

/// Runs one seed to the end; a panic inside the core or the simulator becomes a violation.
pub fn run_one(opts: SimOptions) -> RunReport {
    let seed = opts.seed;
    let mut sim = Simulation::new(opts);
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| while sim.step() {}));
    let mut report = sim.report();
    if let Err(payload) = outcome {
        let message = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| String::from("non-string panic payload"));
        report.violation = Some(Violation {
            seed,
            at_ns: sim.now_ns(),
            node: sim.current_node(),
            invariant: SIMULATOR,
            detail: format!("panic: {}", message.replace('\n', " ")),
        });
    }
    report
}

/// Runs every seed of `batch` on `batch.jobs` threads, calling `on_event` on this thread.
pub fn run_seeds(batch: &Batch, mut on_event: impl FnMut(RunnerEvent)) {
    let next = AtomicU64::new(0);
    let (tx, rx) = mpsc::channel::<RunReport>();
    let jobs = batch.jobs.clamp(1, batch.seeds.max(1) as usize);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= batch.seeds {
                    break;
                }
                let seed = batch.first_seed.wrapping_add(i);
                if tx.send(run_one(batch.options(seed))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Reorder: hand reports out in seed order, whatever order the threads finish in.
        let mut pending: BTreeMap<u64, RunReport> = BTreeMap::new();
        let (mut done, mut violations, mut emitted) = (0u64, 0u64, 0u64);
        for report in rx {
            done += 1;
            violations += u64::from(report.violation.is_some());
            pending.insert(report.seed.wrapping_sub(batch.first_seed), report);
            on_event(RunnerEvent::Finished { done, violations });
            while let Some(r) = pending.remove(&emitted) {
                emitted += 1;
                on_event(RunnerEvent::Report(Box::new(r)));
            }
        }
    });
}
