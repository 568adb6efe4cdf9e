//! How long failover and start take in simulated time (issue 11, item 6), on the ZooKeeper
//! service with the scripted cluster (instant in-order delivery, time moves only when every
//! node is idle): a finalize wait or a FOLLOWERINFO resend shows up as whole milliseconds.

mod common;

use common::{small_tuning as tuning, Cluster};
use conclave_core::ZkService;

/// The leader dies and its links reset: the survivors, hearing every live voter, decide at
/// once (no 200 ms finalize wait), and the new leader takes the FOLLOWERINFO that reached it
/// while it was still looking (no resend after a ping interval). Before: ≥ 200 ms.
#[test]
fn after_the_leader_dies_the_survivors_serve_again_without_waiting_out_a_timer() {
    let mut c = Cluster::<ZkService>::new(3, tuning());
    let old = c.wait_synced();
    let killed_at = c.now;
    c.crash(old);
    c.run_until("a new leader with its follower synced", 5_000, |c| {
        c.leader().is_some_and(|l| l != old) && c.all_synced()
    });
    let took = c.now.millis_since(killed_at);
    assert!(
        took < 10,
        "failover took {took} ms of simulated time\n{}",
        c.describe()
    );
}

/// Three members starting together hear each other and decide without the finalize wait.
#[test]
fn three_members_starting_together_serve_without_waiting_out_a_timer() {
    let mut c = Cluster::<ZkService>::new(3, tuning());
    let started = c.now;
    c.wait_synced();
    let took = c.now.millis_since(started);
    assert!(
        took < 10,
        "start took {took} ms of simulated time\n{}",
        c.describe()
    );
}
