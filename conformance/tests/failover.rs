//! How long failover and start take in simulated time (issue 11, item 6), on the ZooKeeper
//! service with the scripted cluster (instant in-order delivery, time moves only when every
//! node is idle): a finalize wait or a FOLLOWERINFO resend shows up as whole milliseconds.

mod common;

use common::{small_tuning as tuning, Cluster};
use conclave_core::codec::peer::Notification;
use conclave_core::codec::PeerMessage;
use conclave_core::{PeerState, Role, Vote, ZkService};

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

/// Simulator --reconfig seed 470: a learner chose a member that stopped leading a moment
/// later (a reconfiguration made it an observer) and resent FOLLOWERINFO to it until
/// initLimit. A member that follows another answers FOLLOWERINFO with its decision, and a
/// learner whose chosen leader says it follows (or observes) another in its round or later
/// looks again at once; a learner of the right leader is not disturbed by the answer.
#[test]
fn a_learner_of_a_member_that_follows_another_looks_again_at_once() {
    let mut c = Cluster::<ZkService>::new(3, tuning());
    let leader = c.wait_synced();
    let mut followers = (1..=3).filter(|id| *id != leader);
    let (a, b) = (followers.next().unwrap(), followers.next().unwrap());
    let mark = c.mark();
    let info = PeerMessage::FollowerInfo {
        accepted_epoch: 1,
        observer: true,
        attempt: 1,
    };
    assert!(c.send_as(b, a, &info));
    let answered = c.since(mark).iter().any(|(from, to, m)| {
        (*from, *to) == (a, b)
            && matches!(m, PeerMessage::Notification(n)
                if n.state == PeerState::Following && n.vote.leader == leader)
    });
    assert!(answered, "{:?}", c.since(mark));
    c.run_for(50);
    assert!(
        c.all_synced() && c.leader() == Some(leader),
        "{}",
        c.describe()
    );

    // The leader b follows says it follows another: b looks again, then rejoins.
    let status = c.nodes[&b].status();
    let claim = Notification {
        state: PeerState::Following,
        vote: Vote {
            leader: a,
            zxid: status.last_zxid,
            peer_epoch: status.current_epoch,
        },
        round: 1_000,
        config_version: 0,
    };
    assert!(c.send_as(leader, b, &PeerMessage::Notification(claim)));
    assert_eq!(c.nodes[&b].status().role, Role::Looking);
    c.run_until("b follows the leader again", 5_000, |c| c.all_synced());
    assert_eq!(c.leader(), Some(leader));
}
