//! Discovery and the epoch hand-shake: FOLLOWERINFO → LEADERINFO → ACKEPOCH → NEWLEADER → ACK
//! → UPTODATE, with acceptedEpoch / currentEpoch made durable before anything depends on them.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use crate::codec::PeerMessage;
use crate::ids::{ServerId, Zxid};
use crate::quorum::QuorumVerifier;
use crate::time::Instant;

/// Why a leader or learner gives up and the server looks for a leader again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepDown {
    /// Discovery or synchronization did not finish within initLimit.
    InitLimit,
    /// A learner's history is ahead of the leader's: the election picked the wrong leader.
    FollowerAhead(ServerId),
    /// The leader proposed an epoch older than one we already promised.
    StaleEpoch {
        /// The epoch offered.
        offered: u32,
        /// The epoch we promised.
        accepted: u32,
    },
    /// The link to the leader went down.
    LostLeader,
    /// Fewer than a quorum of synced followers remain.
    LostQuorum,
    /// The leader broke the protocol (e.g. NEWLEADER for another epoch).
    Protocol(&'static str),
}

/// What to do once a Persist op is acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterPersist {
    /// Leader: the new acceptedEpoch is durable; send LEADERINFO.
    LeaderEpochAccepted,
    /// Leader: the new currentEpoch is durable; send NEWLEADER.
    LeaderEpochCurrent,
    /// Learner: acceptedEpoch is durable; send ACKEPOCH with this currentEpoch.
    LearnerEpochAccepted {
        /// currentEpoch to report.
        current_epoch: u32,
    },
    /// Learner: currentEpoch is durable; acknowledge NEWLEADER.
    LearnerEpochCurrent {
        /// The adopted epoch.
        epoch: u32,
    },
}

/// What discovery asks the node to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZabOutput {
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
    /// Give up; look for a leader again.
    StepDown(StepDown),
}

/// A server's durable epoch state and log position, as discovery compares them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Persisted acceptedEpoch.
    pub accepted_epoch: u32,
    /// Persisted currentEpoch.
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_zxid: Zxid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LearnerStage {
    /// FOLLOWERINFO received; LEADERINFO not yet sent.
    Info,
    /// LEADERINFO sent.
    EpochSent,
    /// ACKEPOCH received; NEWLEADER not yet sent.
    AckedEpoch,
    /// NEWLEADER sent.
    NewLeaderSent,
    /// NEWLEADER acknowledged.
    Synced,
}

#[derive(Clone, Debug)]
struct LearnerHandle {
    observer: bool,
    stage: LearnerStage,
}

/// The leader side of discovery for one epoch.
#[derive(Clone, Debug)]
pub struct Leader {
    my_id: ServerId,
    my_current_epoch: u32,
    my_last_zxid: Zxid,
    proposed: u32,
    epoch: Option<u32>,
    epoch_durable: bool,
    current_durable: bool,
    current_pending: bool,
    connecting: BTreeSet<ServerId>,
    electing: BTreeSet<ServerId>,
    acked_new_leader: BTreeSet<ServerId>,
    learners: BTreeMap<ServerId, LearnerHandle>,
    established: bool,
    deadline: Option<Instant>,
}

impl Leader {
    /// Starts leading after an election: propose an epoch above every one a quorum accepted.
    pub fn new(
        now: Instant,
        my_id: ServerId,
        history: History,
        init_limit_ms: u64,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) -> Leader {
        let mut l = Leader {
            my_id,
            my_current_epoch: history.current_epoch,
            my_last_zxid: history.last_zxid,
            proposed: history.accepted_epoch.saturating_add(1),
            epoch: None,
            epoch_durable: false,
            current_durable: false,
            current_pending: false,
            connecting: BTreeSet::from([my_id]),
            electing: BTreeSet::from([my_id]),
            acked_new_leader: BTreeSet::from([my_id]),
            learners: BTreeMap::new(),
            established: false,
            deadline: Some(now.plus_millis(init_limit_ms)),
        };
        l.check_epoch_quorum(quorum, out);
        l
    }

    /// The epoch being established, once fixed.
    pub fn epoch(&self) -> Option<u32> {
        self.epoch
    }

    /// True once a quorum acknowledged NEWLEADER.
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// Learners that acknowledged NEWLEADER, ascending.
    pub fn synced_learners(&self) -> Vec<ServerId> {
        self.learners
            .iter()
            .filter(|(_, h)| h.stage == LearnerStage::Synced)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The initLimit deadline while not yet established.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// initLimit expired before a quorum followed.
    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<ZabOutput>) {
        if !self.established && self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            out.push(ZabOutput::StepDown(StepDown::InitLimit));
        }
    }

    /// A message from a learner.
    pub fn on_message(
        &mut self,
        from: ServerId,
        msg: PeerMessage,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        match msg {
            PeerMessage::FollowerInfo {
                accepted_epoch,
                observer,
            } => self.on_follower_info(from, accepted_epoch, observer, quorum, out),
            PeerMessage::AckEpoch {
                current_epoch,
                last_zxid,
            } => self.on_ack_epoch(from, current_epoch, last_zxid, quorum, out),
            PeerMessage::Ack { zxid } => self.on_ack(from, zxid, quorum, out),
            _ => {}
        }
    }

    fn on_follower_info(
        &mut self,
        from: ServerId,
        accepted: u32,
        observer: bool,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        // An observer never counts, whatever it claims; a voter claiming observer does not count either.
        let observer = observer || !quorum.is_voter(from);
        self.learners.insert(
            from,
            LearnerHandle {
                observer,
                stage: LearnerStage::Info,
            },
        );
        self.electing.remove(&from);
        self.acked_new_leader.remove(&from);
        if self.epoch.is_none() {
            if !observer {
                self.proposed = self.proposed.max(accepted.saturating_add(1));
                self.connecting.insert(from);
            }
            self.check_epoch_quorum(quorum, out);
        } else if self.epoch_durable {
            self.send_leader_info(from, out);
        }
    }

    fn check_epoch_quorum(&mut self, quorum: &dyn QuorumVerifier, out: &mut Vec<ZabOutput>) {
        if self.epoch.is_none() && quorum.is_quorum(&self.connecting) {
            self.epoch = Some(self.proposed);
            out.push(ZabOutput::PersistEpochs {
                accepted: self.proposed,
                current: self.my_current_epoch,
                then: AfterPersist::LeaderEpochAccepted,
            });
        }
    }

    fn send_leader_info(&mut self, to: ServerId, out: &mut Vec<ZabOutput>) {
        let Some(epoch) = self.epoch else { return };
        if let Some(h) = self.learners.get_mut(&to) {
            if h.stage == LearnerStage::Info {
                h.stage = LearnerStage::EpochSent;
                out.push(ZabOutput::Send(to, PeerMessage::LeaderInfo { epoch }));
            }
        }
    }

    fn on_ack_epoch(
        &mut self,
        from: ServerId,
        current: Option<u32>,
        last_zxid: Zxid,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        let Some(h) = self.learners.get_mut(&from) else {
            return;
        };
        if h.stage != LearnerStage::EpochSent {
            return;
        }
        h.stage = LearnerStage::AckedEpoch;
        let observer = h.observer;
        if let Some(ce) = current {
            // FLE should have chosen the most up-to-date server; verify it (waitForEpochAck).
            if (ce, last_zxid) > (self.my_current_epoch, self.my_last_zxid) {
                out.push(ZabOutput::StepDown(StepDown::FollowerAhead(from)));
                return;
            }
            if !observer {
                self.electing.insert(from);
            }
        }
        if self.current_durable {
            self.send_new_leader(from, out);
        } else if !self.current_pending && quorum.is_quorum(&self.electing) {
            if let Some(epoch) = self.epoch {
                self.current_pending = true;
                out.push(ZabOutput::PersistEpochs {
                    accepted: epoch,
                    current: epoch,
                    then: AfterPersist::LeaderEpochCurrent,
                });
            }
        }
    }
}

impl Leader {
    /// A Persist op this leader asked for is durable.
    pub fn on_persisted(
        &mut self,
        what: AfterPersist,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        match what {
            AfterPersist::LeaderEpochAccepted => {
                self.epoch_durable = true;
                let waiting: Vec<ServerId> = self.learners.keys().copied().collect();
                for id in waiting {
                    self.send_leader_info(id, out);
                }
            }
            AfterPersist::LeaderEpochCurrent => {
                self.current_durable = true;
                let waiting: Vec<ServerId> = self
                    .learners
                    .iter()
                    .filter(|(_, h)| h.stage == LearnerStage::AckedEpoch)
                    .map(|(id, _)| *id)
                    .collect();
                for id in waiting {
                    self.send_new_leader(id, out);
                }
                self.check_established(quorum, out);
            }
            AfterPersist::LearnerEpochAccepted { .. }
            | AfterPersist::LearnerEpochCurrent { .. } => {}
        }
    }

    fn send_new_leader(&mut self, to: ServerId, out: &mut Vec<ZabOutput>) {
        let Some(epoch) = self.epoch else { return };
        if let Some(h) = self.learners.get_mut(&to) {
            if h.stage == LearnerStage::AckedEpoch {
                // Synchronization (DIFF / TRUNC / SNAP) is queued here, before NEWLEADER.
                h.stage = LearnerStage::NewLeaderSent;
                out.push(ZabOutput::Send(to, PeerMessage::NewLeader { epoch }));
            }
        }
    }

    fn on_ack(
        &mut self,
        from: ServerId,
        zxid: Zxid,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        let Some(epoch) = self.epoch else { return };
        if zxid != Zxid::new(epoch, 0) {
            return;
        }
        let Some(h) = self.learners.get_mut(&from) else {
            return;
        };
        if h.stage != LearnerStage::NewLeaderSent {
            return;
        }
        h.stage = LearnerStage::Synced;
        if !h.observer {
            self.acked_new_leader.insert(from);
        }
        if self.established {
            out.push(ZabOutput::Send(from, PeerMessage::UpToDate));
        } else {
            self.check_established(quorum, out);
        }
    }

    fn check_established(&mut self, quorum: &dyn QuorumVerifier, out: &mut Vec<ZabOutput>) {
        let Some(epoch) = self.epoch else { return };
        if self.established || !self.current_durable || !quorum.is_quorum(&self.acked_new_leader) {
            return;
        }
        self.established = true;
        self.deadline = None;
        out.push(ZabOutput::Established {
            epoch,
            quorum: self.acked_new_leader.iter().copied().collect(),
        });
        for id in self.synced_learners() {
            out.push(ZabOutput::Send(id, PeerMessage::UpToDate));
        }
    }

    /// A learner's link went down: forget it; step down if the synced quorum is gone.
    pub fn on_peer_down(
        &mut self,
        peer: ServerId,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ZabOutput>,
    ) {
        if self.learners.remove(&peer).is_none() {
            return;
        }
        self.electing.remove(&peer);
        self.acked_new_leader.remove(&peer);
        if self.established && !quorum.is_quorum(&self.acked_new_leader) {
            out.push(ZabOutput::StepDown(StepDown::LostQuorum));
        }
    }

    /// Our own server id.
    pub fn my_id(&self) -> ServerId {
        self.my_id
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the link to the leader.
    Connecting,
    /// FOLLOWERINFO sent.
    InfoSent,
    /// LEADERINFO accepted for this epoch (ACKEPOCH sent or waiting on disk).
    EpochAccepted(u32),
    /// NEWLEADER adopted (ACK sent or waiting on disk).
    NewLeader(u32),
    /// UPTODATE received: synced and serving.
    UpToDate(u32),
}

/// The learner (follower or observer) side of discovery.
#[derive(Clone, Debug)]
pub struct Learner {
    leader: ServerId,
    observer: bool,
    stage: Stage,
    deadline: Option<Instant>,
}

impl Learner {
    /// Starts following `leader` after an election.
    pub fn new(now: Instant, leader: ServerId, observer: bool, init_limit_ms: u64) -> Learner {
        Learner {
            leader,
            observer,
            stage: Stage::Connecting,
            deadline: Some(now.plus_millis(init_limit_ms)),
        }
    }

    /// The leader we follow.
    pub fn leader(&self) -> ServerId {
        self.leader
    }

    /// The epoch we synchronized to, once UPTODATE arrived.
    pub fn synced_epoch(&self) -> Option<u32> {
        match self.stage {
            Stage::UpToDate(e) => Some(e),
            _ => None,
        }
    }

    /// The initLimit deadline until synced.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// initLimit expired before the leader synchronized us.
    pub fn on_timer(&mut self, now: Instant, out: &mut Vec<ZabOutput>) {
        if self.deadline.is_some_and(|d| d <= now) {
            self.deadline = None;
            out.push(ZabOutput::StepDown(StepDown::InitLimit));
        }
    }

    /// The link to the leader is up (now or already): introduce ourselves.
    pub fn on_leader_link_up(&mut self, accepted_epoch: u32, out: &mut Vec<ZabOutput>) {
        if self.stage == Stage::Connecting {
            self.stage = Stage::InfoSent;
            out.push(ZabOutput::Send(
                self.leader,
                PeerMessage::FollowerInfo {
                    accepted_epoch,
                    observer: self.observer,
                },
            ));
        }
    }

    /// A peer's link went down.
    pub fn on_peer_down(&mut self, peer: ServerId, out: &mut Vec<ZabOutput>) {
        if peer == self.leader {
            out.push(ZabOutput::StepDown(StepDown::LostLeader));
        }
    }

    /// A message from a peer; only the leader's count.
    pub fn on_message(
        &mut self,
        from: ServerId,
        msg: PeerMessage,
        accepted_epoch: u32,
        current_epoch: u32,
        last_zxid: Zxid,
        out: &mut Vec<ZabOutput>,
    ) {
        if from != self.leader {
            return;
        }
        match (self.stage, msg) {
            (Stage::InfoSent, PeerMessage::LeaderInfo { epoch }) => {
                if epoch > accepted_epoch {
                    self.stage = Stage::EpochAccepted(epoch);
                    // Promise durably before telling the leader (ZOOKEEPER-335).
                    out.push(ZabOutput::PersistEpochs {
                        accepted: epoch,
                        current: current_epoch,
                        then: AfterPersist::LearnerEpochAccepted { current_epoch },
                    });
                } else if epoch == accepted_epoch {
                    // Already promised this epoch: do not count us, but here is our history.
                    self.stage = Stage::EpochAccepted(epoch);
                    out.push(ZabOutput::Send(
                        self.leader,
                        PeerMessage::AckEpoch {
                            current_epoch: None,
                            last_zxid,
                        },
                    ));
                } else {
                    out.push(ZabOutput::StepDown(StepDown::StaleEpoch {
                        offered: epoch,
                        accepted: accepted_epoch,
                    }));
                }
            }
            (Stage::EpochAccepted(e), PeerMessage::NewLeader { epoch }) => {
                if epoch != e {
                    out.push(ZabOutput::StepDown(StepDown::Protocol(
                        "NEWLEADER for another epoch",
                    )));
                    return;
                }
                self.stage = Stage::NewLeader(e);
                // Everything sent before NEWLEADER is durable (nothing yet); now adopt the epoch.
                out.push(ZabOutput::PersistEpochs {
                    accepted: accepted_epoch.max(e),
                    current: e,
                    then: AfterPersist::LearnerEpochCurrent { epoch: e },
                });
            }
            (Stage::NewLeader(e), PeerMessage::UpToDate) => {
                self.stage = Stage::UpToDate(e);
                self.deadline = None;
                out.push(ZabOutput::Synced {
                    leader: self.leader,
                    epoch: e,
                });
            }
            (Stage::UpToDate(_), _) => {}
            (
                _,
                PeerMessage::LeaderInfo { .. }
                | PeerMessage::NewLeader { .. }
                | PeerMessage::UpToDate,
            ) => {
                out.push(ZabOutput::StepDown(StepDown::Protocol(
                    "discovery message out of order",
                )));
            }
            _ => {}
        }
    }

    /// A Persist op this learner asked for is durable.
    pub fn on_persisted(&mut self, what: AfterPersist, last_zxid: Zxid, out: &mut Vec<ZabOutput>) {
        match (self.stage, what) {
            (Stage::EpochAccepted(_), AfterPersist::LearnerEpochAccepted { current_epoch }) => {
                out.push(ZabOutput::Send(
                    self.leader,
                    PeerMessage::AckEpoch {
                        current_epoch: Some(current_epoch),
                        last_zxid,
                    },
                ));
            }
            (Stage::NewLeader(e), AfterPersist::LearnerEpochCurrent { epoch }) if e == epoch => {
                out.push(ZabOutput::Send(
                    self.leader,
                    PeerMessage::Ack {
                        zxid: Zxid::new(e, 0),
                    },
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "discovery_tests.rs"]
mod tests;
