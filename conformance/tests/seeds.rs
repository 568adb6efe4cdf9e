//! Many seeds under faults, every invariant checked: the simulator's main purpose.

use conclave_conformance::cli::reproduce_line;
use conclave_conformance::options::LIVENESS_BOUND_MS;
use conclave_conformance::runner::{run_seeds, Batch, RunnerEvent};
use conclave_conformance::{FaultOptions, Workload};

const SIM_MS: u64 = 20_000;

/// Runs `seeds` seeds from 1 (3, 5, 7 voters cycling); one line per failing seed
/// (liveness failures left out when `liveness_bound_ms` is `None`; invariants in `tolerated`
/// left out too).
fn failures(seeds: u64, liveness_bound_ms: Option<u64>, tolerated: &[&str]) -> Vec<String> {
    let batch = Batch {
        first_seed: 1,
        seeds,
        voters: None,
        observers: 0,
        sim_ms: SIM_MS,
        faults: FaultOptions::default(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        verbose: false,
        liveness_bound_ms: liveness_bound_ms.unwrap_or(u64::MAX / 2_000_000),
        workload: Workload::Zk,
    };
    let mut out = Vec::new();
    let mut reports = 0;
    run_seeds(&batch, |ev| {
        let RunnerEvent::Report(r) = ev else { return };
        reports += 1;
        let Some(v) = &r.violation else { return };
        let lifted = liveness_bound_ms.is_none() && v.invariant == "liveness";
        if !lifted && !tolerated.contains(&v.invariant) {
            out.push(format!(
                "VIOLATION seed={} nodes={} {v}\n  {}",
                r.seed,
                r.voters,
                reproduce_line(r.seed, r.voters, r.observers, SIM_MS, true, Workload::Zk)
            ));
        }
    });
    assert_eq!(reports, seeds);
    out
}

/// Every invariant, liveness included, over 60 seeds × 20 simulated seconds.
#[test]
fn sixty_seeds_with_faults_hold_every_invariant() {
    let failed = failures(60, Some(LIVENESS_BOUND_MS), &[]);
    assert!(
        failed.is_empty(),
        "{} of 60 seeds failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// Safety only, over more seeds: the liveness bound is lifted so that every run goes to its
/// end instead of stopping at the liveness deadline. (CI also runs the release `sim` binary
/// over 2 000 seeds x 60 s with every invariant.)
#[test]
fn three_hundred_seeds_with_faults_are_safe() {
    let failed = failures(300, None, &[]);
    assert!(
        failed.is_empty(),
        "{} of 300 seeds broke a safety invariant:\n{}",
        failed.len(),
        failed.join("\n")
    );
}
