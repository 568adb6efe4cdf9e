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
    /// [`QuorumVerifier::is_quorum`] for distinct `ids` in a slice: the leader asks it for
    /// every proposal it commits, where building a set cost an allocation each time.
    fn is_quorum_of(&self, ids: &[ServerId]) -> bool {
        self.is_quorum(&ids.iter().copied().collect())
    }
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

    fn is_quorum_of(&self, ids: &[ServerId]) -> bool {
        // Each voter counts once, even if the caller repeated it.
        let n = ids
            .iter()
            .enumerate()
            .filter(|&(i, id)| self.voters.contains(id) && !ids[..i].contains(id))
            .count();
        n > self.voters.len() / 2
    }

    fn voters(&self) -> Vec<ServerId> {
        self.voters.iter().copied().collect()
    }
}

/// The quorum rule of a member: its membership's majority, and while a reconfiguration is
/// proposed and not yet committed, also the next membership's (a set is a quorum only when
/// it is one in both, so the old and the new voters both hold the change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quorums {
    current: Majority,
    next: Option<Majority>,
}

impl Quorums {
    /// The rule of one membership.
    pub fn new(current: Majority) -> Quorums {
        Quorums {
            current,
            next: None,
        }
    }

    /// A reconfiguration to `next` is in flight: require both majorities.
    pub fn begin(&mut self, next: Majority) {
        self.next = Some(next);
    }

    /// No reconfiguration is in flight any more (committed, or lost with its leader).
    pub fn settle(&mut self, current: Majority) {
        *self = Quorums::new(current);
    }

    /// Drops an uncommitted next membership, keeping the current one.
    pub fn abandon(&mut self) {
        self.next = None;
    }

    /// Whether a reconfiguration is in flight.
    pub fn in_progress(&self) -> bool {
        self.next.is_some()
    }

    /// The membership in force's rule alone.
    pub fn current(&self) -> &Majority {
        &self.current
    }
}

impl QuorumVerifier for Quorums {
    fn is_voter(&self, id: ServerId) -> bool {
        self.current.is_voter(id) || self.next.as_ref().is_some_and(|n| n.is_voter(id))
    }

    fn is_quorum(&self, ids: &BTreeSet<ServerId>) -> bool {
        self.current.is_quorum(ids) && self.next.as_ref().is_none_or(|n| n.is_quorum(ids))
    }

    fn is_quorum_of(&self, ids: &[ServerId]) -> bool {
        self.current.is_quorum_of(ids) && self.next.as_ref().is_none_or(|n| n.is_quorum_of(ids))
    }

    fn voters(&self) -> Vec<ServerId> {
        let mut all: BTreeSet<ServerId> = self.current.voters.clone();
        if let Some(n) = &self.next {
            all.extend(n.voters.iter().copied());
        }
        all.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

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

    #[test]
    fn a_reconfiguration_in_flight_needs_both_majorities() {
        let mut q = Quorums::new(Majority::new([1, 2, 3]));
        assert!(q.is_quorum(&set(&[1, 2])));
        q.begin(Majority::new([1, 4, 5]));
        assert!(q.in_progress());
        assert_eq!(q.voters(), vec![1, 2, 3, 4, 5]);
        assert!(!q.is_quorum(&set(&[1, 2])), "the new voters do not hold it");
        assert!(!q.is_quorum(&set(&[1, 4])), "the old voters do not hold it");
        assert!(q.is_quorum(&set(&[1, 2, 4])));
        q.settle(Majority::new([1, 4, 5]));
        assert!(!q.in_progress());
        assert!(q.is_quorum(&set(&[1, 4])));
        assert!(!q.is_voter(2));
    }

    proptest::proptest! {
        /// The slice form the leader's commit path uses answers as the set form does, for
        /// any ids (voters, non-voters and repeats) and any reconfiguration in flight.
        #[test]
        fn the_slice_form_agrees_with_the_set_form(
            current in proptest::collection::btree_set(1u64..8, 1..6),
            next in proptest::option::of(proptest::collection::btree_set(1u64..8, 1..6)),
            ids in proptest::collection::vec(0u64..9, 0..8),
        ) {
            let mut q = Quorums::new(Majority::new(current));
            if let Some(n) = next {
                q.begin(Majority::new(n));
            }
            proptest::prop_assert_eq!(q.is_quorum_of(&ids), q.is_quorum(&set(&ids)));
        }
    }
}
