//! ZAB (protocol reference §2): discovery, synchronization and broadcast, leader and learner
//! sides, over zxids and opaque txn bytes applied through [`StateMachine`].
//!
//! The node owns the [`ReplicaLog`] and the state machine (they outlive roles); a [`Leader`] or
//! [`Learner`] is created per elected term and drives them through a [`Ctx`].

mod leader;
mod learner;
pub(crate) mod log;
#[cfg(any(test, feature = "sim"))]
mod register_map;
mod state_machine;
#[cfg(test)]
mod test_world;

use alloc::vec::Vec;

pub(crate) use leader::Leader;
pub(crate) use learner::Learner;
pub(crate) use log::{LogError, ReplicaLog, Segment};
#[cfg(any(test, feature = "sim"))]
pub use register_map::RegisterMap;
pub use state_machine::{ReplicatedState, StateMachine};

use crate::codec::PeerMessage;
use crate::ids::{ServerId, Zxid};
use crate::io::PersistOp;
use crate::quorum::QuorumVerifier;
use crate::time::Instant;

/// A server's durable epoch state and log position, as discovery compares them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct History {
    /// Persisted acceptedEpoch.
    pub accepted_epoch: u32,
    /// Persisted currentEpoch.
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_zxid: Zxid,
}

/// The ZAB timeouts, in ms (from tickTime, initLimit and syncLimit).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timing {
    /// Discovery and synchronization must finish within this (initLimit × tickTime).
    pub init_limit_ms: u64,
    /// A synced peer silent this long is gone (syncLimit × tickTime).
    pub sync_limit_ms: u64,
    /// Leader ping and FOLLOWERINFO resend period (tickTime / 2).
    pub ping_ms: u64,
}

pub(crate) use crate::io::StepDown;

/// What to do once a Persist op is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterPersist {
    /// The log is durable up to this zxid.
    LogDurable(Zxid),
    /// Leader: the new acceptedEpoch is durable; send LEADERINFO.
    LeaderEpochAccepted,
    /// Leader: the new currentEpoch is durable; synchronize learners and send NEWLEADER.
    LeaderEpochCurrent,
    /// Learner: acceptedEpoch is durable; send ACKEPOCH with this currentEpoch.
    LearnerEpochAccepted {
        /// currentEpoch to report.
        current_epoch: u32,
    },
    /// A snapshot file at this zxid is durable (renamed into place).
    SnapshotDurable(Zxid),
    /// Learner: the synced history and then currentEpoch are durable; acknowledge NEWLEADER.
    LearnerEpochCurrent {
        /// The adopted epoch.
        epoch: u32,
    },
}

/// What ZAB asks the node to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ZabOutput {
    /// Send a message to a peer.
    Send(ServerId, PeerMessage),
    /// Persist the epoch pair, then call back with the given continuation.
    PersistEpochs {
        /// acceptedEpoch to write.
        accepted: u32,
        /// currentEpoch to write.
        current: u32,
        /// What waits for it.
        then: AfterPersist,
    },
    /// A durable write; `then`, if any, runs when it is acknowledged.
    Persist(PersistOp, Option<AfterPersist>),
    /// The leader is established: a quorum acknowledged NEWLEADER.
    Established {
        /// The new epoch.
        epoch: u32,
        /// Voters that acknowledged (leader included).
        quorum: Vec<ServerId>,
    },
    /// The learner is synchronized with the leader and serving.
    Synced {
        /// The leader.
        leader: ServerId,
        /// The epoch.
        epoch: u32,
    },
    /// The learner's state was replaced by the leader's snapshot at this zxid (SNAP).
    SnapshotInstalled(Zxid),
    /// Close the link to a learner that stopped acknowledging.
    DropPeer(ServerId),
    /// Give up; look for a leader again.
    StepDown(StepDown),
}

/// Everything a leader or learner handler may touch besides its own state.
pub(crate) struct Ctx<'a> {
    /// The current time.
    pub now: Instant,
    /// Who may vote and what makes a quorum.
    pub quorum: &'a dyn QuorumVerifier,
    /// The replica's log.
    pub log: &'a mut ReplicaLog,
    /// The replicated state machine.
    pub sm: &'a mut dyn ReplicatedState,
    /// Where requests to the node go.
    pub out: &'a mut Vec<ZabOutput>,
}

impl Ctx<'_> {
    /// Emits a Persist op without continuation.
    pub(crate) fn persist(&mut self, op: PersistOp) {
        self.out.push(ZabOutput::Persist(op, None));
    }

    /// Emits the `Sync` that makes everything appended so far durable, if anything is pending.
    pub(crate) fn flush(&mut self) {
        let mut ops = Vec::new();
        if let Some(z) = self.log.flush(&mut ops) {
            for op in ops {
                self.out
                    .push(ZabOutput::Persist(op, Some(AfterPersist::LogDurable(z))));
            }
        }
    }

    /// Appends a txn to the log, emitting its Persist ops.
    pub(crate) fn append(&mut self, txn: crate::codec::Txn) -> Result<(), LogError> {
        let mut ops = Vec::new();
        let r = self.log.append(txn, &mut ops);
        for op in ops {
            // A roll emits the Sync of the previous segment: it makes that prefix durable.
            let then = match &op {
                PersistOp::Sync { .. } => Some(AfterPersist::LogDurable(self.log_synced_hint())),
                _ => None,
            };
            self.out.push(ZabOutput::Persist(op, then));
        }
        r
    }

    fn log_synced_hint(&self) -> Zxid {
        // The Sync emitted by a roll covers everything before the txn just appended.
        self.log
            .segments()
            .iter()
            .rev()
            .nth(1)
            .and_then(|s| s.index.last().map(|(z, _)| *z))
            .unwrap_or(Zxid::ZERO)
    }
}
