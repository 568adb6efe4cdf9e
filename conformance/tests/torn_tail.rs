//! A machine crash that tears a server's unsynced log tail: the server restarts from what is
//! on its disk (recovery cuts the torn tail) and catches up with the leader.

use conclave_conformance::{SimOptions, Simulation};
use conclave_core::Role;

const MS: u64 = 1_000_000;

/// Runs `seed` (3 voters, no faults) until n1 has unsynced log bytes, then cuts its power.
/// Returns the simulation right after the crash, or `None` if the crash left no torn tail.
fn crash_with_torn_tail(seed: u64) -> Option<Simulation> {
    let mut sim = Simulation::new(SimOptions::new(seed, 3, 12_000).without_faults());
    sim.run_until(2_000 * MS);
    // Wait for a write in flight on n1 (the workload keeps every server busy).
    while sim.unsynced_bytes(1) == 0 {
        if !sim.step() || sim.now_ns() > 6_000 * MS {
            return None;
        }
    }
    sim.crash_machine(1, 500 * MS);
    (sim.torn_files(1) > 0).then_some(sim)
}

#[test]
fn torn_unsynced_log_tail_recovers_and_catches_up() {
    let mut tried = Vec::new();
    let mut sim = None;
    for seed in 1..=40 {
        tried.push(seed);
        if let Some(s) = crash_with_torn_tail(seed) {
            sim = Some(s);
            break;
        }
    }
    let mut sim = sim.unwrap_or_else(|| panic!("no torn tail in seeds {tried:?}"));
    let seed = sim.options().seed;
    let crashed_at = sim.now_ns();
    // Down 0.5 s, then it must restart, recover and sync within a few seconds.
    sim.run_until(crashed_at + 5_000 * MS);
    assert!(
        sim.violation().is_none(),
        "seed {seed}: {:?}",
        sim.violation()
    );
    assert_eq!(sim.incarnation(1), 2, "seed {seed}: n1 restarted once");
    let n1 = sim.status(1).expect("n1 runs");
    assert!(
        n1.synced && matches!(n1.role, Role::Following | Role::Leading),
        "seed {seed}: n1 is {:?}, synced={}",
        n1.role,
        n1.synced
    );
    // It applies what the others apply: same digest wherever last_applied matches, which the
    // agreement invariant checks on every step; here: it is not far behind the leader.
    let leader = sim.serving_leader().expect("a serving leader");
    let l = sim.status(leader).expect("leader runs");
    assert!(
        n1.last_applied.epoch() == l.last_applied.epoch()
            && l.last_applied.counter() - n1.last_applied.counter() < 50,
        "seed {seed}: n1 at {} while the leader is at {}",
        n1.last_applied,
        l.last_applied
    );
    // And the run goes on to its end without a violation.
    sim.run_until(12_000 * MS);
    assert!(
        sim.violation().is_none(),
        "seed {seed}: {:?}",
        sim.violation()
    );
    assert!(sim.committed_txns() > 100);
}
