//! Fast Leader Election (protocol reference §1): votes, their order, and the state machine.

mod fle;
mod vote;

pub(crate) use fle::{Election, ElectionOutput};
pub use vote::{PeerState, Vote};
