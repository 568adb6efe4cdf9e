//! A vote and the total order that decides which vote wins.

use serde::{Deserialize, Serialize};

use crate::ids::{ServerId, Zxid};
use crate::quorum::QuorumVerifier;

/// A server's election state; the wire order matches ZooKeeper's ordinals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PeerState {
    /// Looking for a leader (ordinal 0).
    Looking,
    /// Following an elected leader (1).
    Following,
    /// Leading (2).
    Leading,
    /// Observing an elected leader; never votes (3).
    Observing,
}

/// A proposal for leader: who, with how much history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Vote {
    /// The proposed leader's server id.
    pub leader: ServerId,
    /// The proposed leader's last logged zxid.
    pub zxid: Zxid,
    /// The proposed leader's persisted currentEpoch.
    pub peer_epoch: u32,
}

impl Vote {
    /// The vote an observer starts with: every real vote beats it (ids start at 1).
    pub const NONE: Vote = Vote {
        leader: 0,
        zxid: Zxid(0),
        peer_epoch: 0,
    };

    /// True if `self` beats `other`: a voting candidate, ordered by (peer epoch, zxid, id).
    ///
    /// This is ZooKeeper's `totalOrderPredicate`: the epoch comes first because a server whose
    /// log ends in an old epoch may still have adopted a newer one (§1.10 item 1).
    pub fn beats(&self, other: &Vote, quorum: &dyn QuorumVerifier) -> bool {
        if !quorum.is_voter(self.leader) {
            return false;
        }
        (self.peer_epoch, self.zxid, self.leader) > (other.peer_epoch, other.zxid, other.leader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::Majority;

    fn v(leader: ServerId, zxid: u64, epoch: u32) -> Vote {
        Vote {
            leader,
            zxid: Zxid(zxid),
            peer_epoch: epoch,
        }
    }

    #[test]
    fn epoch_then_zxid_then_id() {
        let q = Majority::new([1, 2, 3]);
        // A higher peer epoch wins even with a lower zxid.
        assert!(v(1, 5, 2).beats(&v(3, 100, 1), &q));
        // Same epoch: zxid decides.
        assert!(v(1, 6, 1).beats(&v(3, 5, 1), &q));
        // Same epoch and zxid: the larger id wins.
        assert!(v(3, 5, 1).beats(&v(2, 5, 1), &q));
        assert!(!v(2, 5, 1).beats(&v(3, 5, 1), &q));
        // A vote never beats itself.
        assert!(!v(2, 5, 1).beats(&v(2, 5, 1), &q));
    }

    #[test]
    fn non_voters_never_win() {
        let q = Majority::new([1, 2, 3]);
        assert!(!v(4, 999, 9).beats(&v(1, 0, 0), &q));
        assert!(v(1, 0, 0).beats(&Vote::NONE, &q));
    }
}
