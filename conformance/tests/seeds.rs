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
        reconfig: false,
    };
    run(&batch, liveness_bound_ms.is_none(), tolerated)
}

/// Runs `batch`; one line per failing seed (liveness failures left out when `lifted`).
fn run(batch: &Batch, lifted: bool, tolerated: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut reports = 0;
    run_seeds(batch, |ev| {
        let RunnerEvent::Report(r) = ev else { return };
        reports += 1;
        let Some(v) = &r.violation else { return };
        let lifted = lifted && v.invariant == "liveness";
        if !lifted && !tolerated.contains(&v.invariant) {
            out.push(format!(
                "VIOLATION seed={} nodes={} {v}\n  {}",
                r.seed,
                r.voters,
                reproduce_line(
                    r.seed,
                    r.voters,
                    r.observers,
                    batch.sim_ms,
                    true,
                    batch.workload,
                    batch.reconfig
                )
            ));
        }
    });
    assert_eq!(reports, batch.seeds);
    out
}

/// A run with dynamic reconfiguration among the client requests (`sim --reconfig`).
fn reconfig_batch(first_seed: u64, seeds: u64, voters: Option<usize>, sim_ms: u64) -> Batch {
    Batch {
        first_seed,
        seeds,
        voters,
        observers: 0,
        sim_ms,
        faults: FaultOptions::default(),
        jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
        verbose: false,
        liveness_bound_ms: LIVENESS_BOUND_MS,
        workload: Workload::Zk,
        reconfig: true,
    }
}

/// The `--reconfig` seeds that found bugs, each replayed with every invariant:
/// - 286 (5 voters): a removed member kept following a leader that had stepped down and
///   re-won a later epoch; that leader answered its `sync`, and it served a stale read
///   (sync_then_read). Now a leader answers syncs only from learners synchronized with its
///   current term, and tells every non-voting learner when it steps down.
/// - 219, 180 (3 voters): a member that missed a reconfiguration (cut off, or restarted
///   before it applied) looked for ever with an outdated membership (liveness). Now
///   notifications carry the membership version and a peer with a newer one sends it.
/// - 252 (3 voters): a member with an outdated membership counted an observer's vote
///   (leader_is_maximal). It now ignores votes from peers with a newer membership until it
///   has that membership.
/// - 12 (3 voters): a removed member with the smallest id could not link to the others
///   again (they forgot its address; it waited for them to dial). Now members keep the
///   addresses of removed servers and learn a stranger's from its Hello.
/// - 1164 (3 voters): a harness bug. A write that failed just after the heal halted one of
///   two voters, and the simulator never restarted it (restarts were scheduled only before
///   the heal), so the run ended without a quorum. Now a server halted after the heal is
///   restarted like the crashed ones.
#[test]
fn reconfig_seeds_that_found_bugs_hold_every_invariant() {
    let mut failed = Vec::new();
    for (seed, voters, sim_ms) in [
        (286, 5, 60_000),
        (219, 3, 60_000),
        (180, 3, 60_000),
        (252, 3, 60_000),
        (12, 3, 30_000),
        (1164, 3, 60_000),
    ] {
        failed.extend(run(
            &reconfig_batch(seed, 1, Some(voters), sim_ms),
            false,
            &[],
        ));
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

/// Reconfigurations (remove, add, re-role, about one a second) interleaved with the chaos:
/// every invariant, liveness included, over 40 seeds × 20 simulated seconds. (CI also runs
/// the release `sim --reconfig` over 500 seeds x 60 s.)
#[test]
fn forty_reconfig_seeds_hold_every_invariant() {
    let failed = run(&reconfig_batch(1, 40, None, SIM_MS), false, &[]);
    assert!(
        failed.is_empty(),
        "{} of 40 seeds failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
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
