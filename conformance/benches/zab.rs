//! ZAB broadcast throughput in the simulator: committed txns per CPU second (no faults), for
//! 3 and 5 voters. Each iteration simulates 10 s of a cluster under the client workload
//! (3–8 clients, 5–50 ms think time, drawn per seed); divan's items/s reads as committed txns
//! per CPU second of simulation.

use divan::counter::ItemsCount;
use divan::Bencher;

use conclave_conformance::{SimOptions, Simulation};

fn main() {
    divan::main();
}

const SIM_MS: u64 = 10_000;

fn opts(seed: u64, voters: usize) -> SimOptions {
    SimOptions::new(seed, voters, SIM_MS).without_faults()
}

#[divan::bench(args = [3, 5], sample_count = 20)]
fn committed_txns_per_cpu_second(bencher: Bencher, voters: usize) {
    let mut seed = 0u64;
    bencher
        .with_inputs(|| {
            seed = seed % 16 + 1;
            // The run is deterministic: count its commits once, outside the timing.
            let committed = Simulation::new(opts(seed, voters)).run().committed_txns;
            (seed, committed)
        })
        .input_counter(|&(_, committed)| ItemsCount::new(committed as usize))
        .bench_local_values(|(seed, _)| Simulation::new(opts(seed, voters)).run().committed_txns);
}
