//! The replicated state machine seam: ZAB carries opaque txn bytes and applies them, in commit
//! order, through this trait. The ZooKeeper data tree implements it; the simulator's register
//! map (`register_map.rs`, feature `sim`) too.

use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::TxnHeader;

/// A deterministic state machine replicated by ZAB.
///
/// # To ensure correctness
/// - `apply` must be a pure function of the current state, the header and the body: every
///   replica applies the same txns in the same order and must reach the same state.
/// - Txns must be idempotent state deltas: replaying a txn already reflected in a (fuzzy)
///   snapshot must give the same state as applying it once.
/// - `digest` must depend only on the state, so replicas can be compared at equal zxid.
pub trait StateMachine {
    /// Applies one committed txn and returns the reply bytes for the issuing client.
    fn apply(&mut self, header: &TxnHeader, body: &[u8]) -> Vec<u8>;
    /// Serialises the whole state (for SNAP sync and snapshot files).
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with a snapshot produced by `snapshot`.
    fn restore(&mut self, bytes: &[u8]) -> Result<(), String>;
    /// A digest of the state, equal on replicas at equal zxid.
    fn digest(&self) -> u64;
}
