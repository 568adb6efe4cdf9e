//! The replicated state machine seam: ZAB carries opaque txn bytes and applies them, in commit
//! order, through this trait. The ZooKeeper data tree implements it; the simulator's register
//! map (`register_map.rs`, feature `sim`) too.

use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::TxnHeader;

/// What ZAB itself asks of the replicated state: moving it whole (SNAP sync, snapshot files)
/// and comparing it. Apart from [`StateMachine`] so the protocol handlers can hold any state
/// machine as one trait object, whatever its outcome type.
pub trait ReplicatedState {
    /// Serialises the whole state (for SNAP sync and snapshot files).
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with a snapshot produced by `snapshot`.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// A digest of the state, equal on replicas at equal zxid.
    fn digest(&self) -> u64;
    /// Keys the state's in-memory hashing with the host's entropy, so clients cannot aim
    /// keys at one hash bucket; the node calls it once, before any restore or apply.
    /// Replicated content, snapshots and digests must not depend on it.
    fn seed(&mut self, _entropy: u64) {}
}

/// A deterministic state machine replicated by ZAB.
///
/// # To ensure correctness
/// - `apply` must be a pure function of the current state, the header and the body: every
///   replica applies the same txns in the same order and must reach the same state.
/// - Txns must be idempotent state deltas: replaying a txn already reflected in a (fuzzy)
///   snapshot must give the same state as applying it once.
/// - `digest` must depend only on the state, so replicas can be compared at equal zxid.
pub trait StateMachine: ReplicatedState {
    /// What applying a txn gives the issuing client's reply. Typed, not bytes: every member
    /// applies every txn, and encoding each outcome only for the service to decode it again
    /// cost every member allocations and work per write.
    type Outcome;
    /// Applies one committed txn and returns its outcome for the issuing client.
    fn apply(&mut self, header: &TxnHeader, body: &[u8]) -> Self::Outcome;
    /// The outcome's bytes, for the events a simulation or test observes
    /// (`NodeEvent::WriteCommitted`); not on the serving path.
    fn encode_outcome(outcome: &Self::Outcome) -> Vec<u8>
    where
        Self: Sized;
}
