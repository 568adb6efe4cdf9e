//! Which sets of servers form a quorum. A seam so weighted or hierarchical quorums can come later.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use crate::ids::ServerId;

/// Decides whether a set of servers is a quorum, and who may vote at all.
pub trait QuorumVerifier: core::fmt::Debug {
    /// True if `id` is a voting member with non-zero weight.
    fn is_voter(&self, id: ServerId) -> bool;
    /// True if `ids` (voters and non-voters mixed; non-voters are ignored) form a quorum.
    fn is_quorum(&self, ids: &BTreeSet<ServerId>) -> bool;
    /// The voting members, ascending.
    fn voters(&self) -> Vec<ServerId>;
}

/// ZooKeeper's default `QuorumMaj`: more than half of the voting members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Majority {
    voters: BTreeSet<ServerId>,
}

impl Majority {
    /// A majority verifier over `voters`.
    pub fn new(voters: impl IntoIterator<Item = ServerId>) -> Majority {
        Majority {
            voters: voters.into_iter().collect(),
        }
    }

    /// How many voters make a quorum.
    pub fn quorum_size(&self) -> usize {
        self.voters.len() / 2 + 1
    }
}

impl QuorumVerifier for Majority {
    fn is_voter(&self, id: ServerId) -> bool {
        self.voters.contains(&id)
    }

    fn is_quorum(&self, ids: &BTreeSet<ServerId>) -> bool {
        let n = ids.iter().filter(|id| self.voters.contains(id)).count();
        n > self.voters.len() / 2
    }

    fn voters(&self) -> Vec<ServerId> {
        self.voters.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[ServerId]) -> BTreeSet<ServerId> {
        ids.iter().copied().collect()
    }

    #[test]
    fn majority_counts_only_voters() {
        let q = Majority::new([1, 2, 3, 4, 5]);
        assert_eq!(q.quorum_size(), 3);
        assert!(!q.is_quorum(&set(&[1, 2])));
        assert!(!q.is_quorum(&set(&[1, 2, 9, 10])));
        assert!(q.is_quorum(&set(&[1, 2, 5])));
        let even = Majority::new([1, 2, 3, 4]);
        assert!(!even.is_quorum(&set(&[1, 2])));
        assert!(even.is_quorum(&set(&[1, 2, 3])));
        let single = Majority::new([7]);
        assert!(single.is_quorum(&set(&[7])));
        assert!(!single.is_quorum(&set(&[])));
    }
}
