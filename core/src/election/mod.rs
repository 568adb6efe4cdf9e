//! Fast Leader Election (protocol reference §1): votes, their order, and the state machine.

mod fle;
mod vote;

pub use fle::{Decision, Election, ElectionOutput, FINALIZE_WAIT_MS, MAX_NOTIFICATION_INTERVAL_MS};
pub use vote::{PeerState, Vote};
