//! Simulator throughput: elections per second from a cold start to every server synced
//! (no faults), and simulated seconds per CPU second under the default faults.

use divan::counter::ItemsCount;
use divan::Bencher;

use conclave_conformance::{SimOptions, Simulation};

fn main() {
    divan::main();
}

/// One election per iteration: a fresh cluster (seed cycling over 16) until every server
/// is synced with the elected leader.
#[divan::bench(args = [3, 5, 7])]
fn election_to_all_synced(bencher: Bencher, voters: usize) {
    let mut seed = 0u64;
    bencher
        .counter(ItemsCount::new(1usize))
        .bench_local(move || {
            seed = seed % 16 + 1;
            let mut sim = Simulation::new(SimOptions::new(seed, voters, 10_000).without_faults());
            while sim.liveness().settled_at_ns().is_none() && sim.step() {}
            sim.liveness().settled_at_ns()
        });
}

/// Twenty simulated seconds per iteration — ten of chaos (faults heal at 10 s), ten of
/// liveness phase; the counter is simulated seconds, so divan's items/s reads as simulated
/// seconds per CPU second.
#[divan::bench(args = [3, 5, 7], sample_count = 20)]
fn sim_seconds_under_faults(bencher: Bencher, voters: usize) {
    let mut seed = 0u64;
    bencher
        .counter(ItemsCount::new(20usize))
        .bench_local(move || {
            seed = seed % 16 + 1;
            let mut opts = SimOptions::new(seed, voters, 20_000);
            // Keep the whole 20 s even when the core misses the liveness bound.
            opts.liveness_bound_ms = u64::MAX / 2_000_000;
            Simulation::new(opts).run().sim_ns
        });
}
