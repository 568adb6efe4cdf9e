//! Same seed, same run, byte for byte; different seeds, different runs.

use conclave_conformance::runner::{run_seeds, Batch, RunnerEvent};
use conclave_conformance::{FaultOptions, RunReport, SimOptions, Simulation, Workload};

fn run(opts: SimOptions) -> RunReport {
    Simulation::new(opts).run()
}

#[test]
fn same_seed_same_trace() {
    for (seed, voters) in [(7, 5), (8, 3), (9, 7)] {
        let opts = SimOptions::new(seed, voters, 12_000);
        let (a, b) = (run(opts.clone()), run(opts));
        assert_eq!(
            a.trace_hash, b.trace_hash,
            "seed {seed}: trace hashes differ"
        );
        assert_eq!(a, b, "seed {seed}: reports differ");
        assert!(
            a.steps > 1_000,
            "seed {seed}: suspiciously short run ({} steps)",
            a.steps
        );
    }
}

#[test]
fn same_seed_same_trace_without_faults_and_with_observers() {
    let opts = SimOptions::new(3, 5, 5_000)
        .without_faults()
        .with_observers(2);
    assert_eq!(run(opts.clone()).trace_hash, run(opts).trace_hash);
}

#[test]
fn verbose_logging_does_not_change_the_run() {
    let quiet = SimOptions::new(4, 5, 8_000);
    let verbose = SimOptions {
        verbose: true,
        ..quiet.clone()
    };
    let (a, b) = (run(quiet), run(verbose));
    assert_eq!(a.trace_hash, b.trace_hash);
    assert!(a.log.is_empty() && !b.log.is_empty());
}

#[test]
fn election_workload_is_deterministic_too() {
    let opts = SimOptions::new(5, 5, 8_000).with_workload(Workload::Election);
    let (a, b) = (run(opts.clone()), run(opts));
    assert_eq!(a, b);
    assert_eq!(a.acked_writes, 0, "no client in the election workload");
}

#[test]
fn different_seeds_differ() {
    let hashes: Vec<u64> = (1..=4)
        .map(|seed| run(SimOptions::new(seed, 3, 5_000)).trace_hash)
        .collect();
    for i in 0..hashes.len() {
        for j in i + 1..hashes.len() {
            assert_ne!(
                hashes[i],
                hashes[j],
                "seeds {} and {} gave the same trace",
                i + 1,
                j + 1
            );
        }
    }
}

#[test]
fn thread_count_does_not_change_results() {
    let hashes = |jobs: usize| {
        let batch = Batch {
            first_seed: 20,
            seeds: 6,
            voters: None,
            observers: 0,
            sim_ms: 6_000,
            faults: FaultOptions::default(),
            jobs,
            verbose: false,
            liveness_bound_ms: conclave_conformance::options::LIVENESS_BOUND_MS,
            workload: Workload::Zk,
            reconfig: false,
        };
        let mut out = Vec::new();
        run_seeds(&batch, |ev| {
            if let RunnerEvent::Report(r) = ev {
                out.push((r.seed, r.trace_hash));
            }
        });
        out
    };
    let one = hashes(1);
    assert_eq!(
        one.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (20..26).collect::<Vec<_>>(),
        "seed order"
    );
    assert_eq!(one, hashes(3));
}
