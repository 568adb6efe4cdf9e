//! The learner (follower or observer): discovery, synchronization with the leader, then
//! logging proposals, acknowledging them once durable, and committing in order.

use alloc::vec::Vec;

use super::{AfterPersist, Ctx, History, StepDown, Timing, ZabOutput};
use crate::codec::peer::SyncMode;
use crate::codec::snapshot::{encode_snapshot, snapshot_file_name};
use crate::codec::{PeerMessage, Txn};
use crate::ids::{ServerId, Zxid};
use crate::io::PersistOp;
use crate::time::Instant;

/// Largest snapshot a learner accepts over the wire.
pub(crate) const MAX_SNAPSHOT_BYTES: usize = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Waiting for the link to the leader.
    Connecting,
    /// FOLLOWERINFO sent.
    InfoSent,
    /// LEADERINFO accepted for this epoch; synchronization packets follow.
    Syncing(u32),
    /// NEWLEADER received; its ACK waits for the disk.
    NewLeader(u32),
    /// NEWLEADER acknowledged; waiting for UPTODATE. Proposals are acknowledged now.
    Acked(u32),
    /// UPTODATE received: synced and serving.
    UpToDate(u32),
}

/// The learner side of ZAB.
#[derive(Clone, Debug)]
pub(crate) struct Learner {
    leader: ServerId,
    observer: bool,
    attempt: u64,
    timing: Timing,
    stage: Stage,
    deadline: Option<Instant>,
    resend_at: Option<Instant>,
    snapshot: Option<(Zxid, Vec<u8>)>,
    acked: Zxid,
}

impl Learner {
    /// Starts following `leader`; `attempt` must differ from any earlier attempt of this
    /// server still known to that leader (the node passes its role generation).
    pub(crate) fn new(
        now: Instant,
        leader: ServerId,
        observer: bool,
        attempt: u64,
        timing: Timing,
    ) -> Learner {
        Learner {
            leader,
            observer,
            attempt,
            timing,
            stage: Stage::Connecting,
            deadline: Some(now.plus_millis(timing.init_limit_ms)),
            resend_at: None,
            snapshot: None,
            acked: Zxid::ZERO,
        }
    }

    /// The leader we follow.
    pub(crate) fn leader(&self) -> ServerId {
        self.leader
    }

    /// The epoch we synchronized to, once UPTODATE arrived.
    pub(crate) fn synced_epoch(&self) -> Option<u32> {
        match self.stage {
            Stage::UpToDate(e) => Some(e),
            _ => None,
        }
    }

    /// The leader's silence deadline (initLimit until synced, then syncLimit), and the next
    /// FOLLOWERINFO resend while the leader has not answered.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match (self.deadline, self.resend_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The leader stayed silent too long; or FOLLOWERINFO is due again.
    pub(crate) fn on_timer(&mut self, accepted_epoch: u32, ctx: &mut Ctx<'_>) {
        if self.deadline.is_some_and(|d| d <= ctx.now) {
            self.deadline = None;
            let reason = if self.synced_epoch().is_some() {
                StepDown::LostLeader
            } else {
                StepDown::InitLimit
            };
            ctx.out.push(ZabOutput::StepDown(reason));
            return;
        }
        if self.stage == Stage::InfoSent && self.resend_at.is_some_and(|t| t <= ctx.now) {
            // The leader may not have decided yet and dropped it: say it again.
            self.send_info(accepted_epoch, ctx);
        }
    }

    fn send_info(&mut self, accepted_epoch: u32, ctx: &mut Ctx<'_>) {
        self.resend_at = Some(ctx.now.plus_millis(self.timing.ping_ms.max(1)));
        ctx.out.push(ZabOutput::Send(
            self.leader,
            PeerMessage::FollowerInfo {
                accepted_epoch,
                observer: self.observer,
                attempt: self.attempt,
            },
        ));
    }

    /// The link to the leader is up (now or already): introduce ourselves.
    pub(crate) fn on_leader_link_up(&mut self, accepted_epoch: u32, ctx: &mut Ctx<'_>) {
        if self.stage == Stage::Connecting {
            self.stage = Stage::InfoSent;
            self.send_info(accepted_epoch, ctx);
        }
    }

    /// A peer's link went down.
    pub(crate) fn on_peer_down(&mut self, peer: ServerId, ctx: &mut Ctx<'_>) {
        if peer == self.leader {
            ctx.out.push(ZabOutput::StepDown(StepDown::LostLeader));
        }
    }

    fn protocol(&mut self, why: &'static str, ctx: &mut Ctx<'_>) {
        ctx.out.push(ZabOutput::StepDown(StepDown::Protocol(why)));
    }

    /// A message from a peer; only the leader's count.
    pub(crate) fn on_message(
        &mut self,
        from: ServerId,
        msg: PeerMessage,
        history: History,
        ctx: &mut Ctx<'_>,
    ) {
        if from != self.leader {
            return;
        }
        // Anything the leader sends as leader proves it alive; a peer that merely shares our
        // confusion (it follows us while we follow it) must not keep us waiting forever.
        if matches!(
            msg,
            PeerMessage::FollowerInfo { .. }
                | PeerMessage::AckEpoch { .. }
                | PeerMessage::Ack { .. }
        ) {
            return;
        }
        let limit = if self.synced_epoch().is_some() {
            self.timing.sync_limit_ms
        } else {
            self.timing.init_limit_ms
        };
        self.deadline = Some(ctx.now.plus_millis(limit));
        if msg == PeerMessage::Ping {
            return;
        }
        match (self.stage, msg) {
            (Stage::InfoSent, PeerMessage::LeaderInfo { epoch }) => {
                self.resend_at = None;
                if epoch > history.accepted_epoch {
                    self.stage = Stage::Syncing(epoch);
                    // Promise durably before telling the leader (ZOOKEEPER-335).
                    ctx.out.push(ZabOutput::PersistEpochs {
                        accepted: epoch,
                        current: history.current_epoch,
                        then: AfterPersist::LearnerEpochAccepted {
                            current_epoch: history.current_epoch,
                        },
                    });
                } else if epoch == history.accepted_epoch {
                    // Already promised this epoch: do not count us, but here is our history.
                    self.stage = Stage::Syncing(epoch);
                    ctx.out.push(ZabOutput::Send(
                        self.leader,
                        PeerMessage::AckEpoch {
                            current_epoch: None,
                            last_zxid: ctx.log.last_logged(),
                        },
                    ));
                } else {
                    ctx.out.push(ZabOutput::StepDown(StepDown::StaleEpoch {
                        offered: epoch,
                        accepted: history.accepted_epoch,
                    }));
                }
            }
            (Stage::Syncing(_), PeerMessage::SyncBegin(mode)) => match mode {
                SyncMode::Diff => {}
                SyncMode::Trunc { to } => {
                    let mut ops = Vec::new();
                    if ctx.log.truncate_after(to, &mut ops).is_err() {
                        return self.protocol("TRUNC into committed history", ctx);
                    }
                    for op in ops {
                        ctx.persist(op);
                    }
                }
                SyncMode::Snap { zxid } => self.snapshot = Some((zxid, Vec::new())),
            },
            (Stage::Syncing(_), PeerMessage::SnapChunk(bytes)) => {
                let Some((_, buf)) = self.snapshot.as_mut() else {
                    return self.protocol("snapshot chunk outside SNAP", ctx);
                };
                if buf.len() + bytes.len() > MAX_SNAPSHOT_BYTES {
                    return self.protocol("snapshot larger than the limit", ctx);
                }
                buf.extend_from_slice(&bytes);
                // The leader sends the next chunks as this arrives (its window).
                let received = buf.len() as u64;
                ctx.out.push(ZabOutput::Send(
                    self.leader,
                    PeerMessage::SnapAck { received },
                ));
            }
            (Stage::Syncing(_), PeerMessage::SnapEnd) => {
                let Some((zxid, state)) = self.snapshot.take() else {
                    return self.protocol("SNAP end without begin", ctx);
                };
                if ctx.sm.restore(&state).is_err() {
                    return self.protocol("undecodable snapshot", ctx);
                }
                // Install it so that a crash at any point leaves a consistent directory
                // (ZOOKEEPER-3642): cut our log back to the snapshot point, write the snapshot
                // under a temporary name and rename it into place, and only then drop the old
                // segments. The snapshot is durable before NEWLEADER is acknowledged
                // (ZOOKEEPER-3104): ops run in order, and the ack waits for the epoch write.
                let mut ops = Vec::new();
                ctx.log.cut_files_after(zxid, &mut ops);
                let name = snapshot_file_name(zxid);
                let tmp = alloc::format!("{name}.tmp");
                let mut bytes = Vec::new();
                encode_snapshot(zxid, &state, &mut bytes);
                ops.push(PersistOp::Create { file: tmp.clone() });
                ops.push(PersistOp::Append {
                    file: tmp.clone(),
                    bytes,
                });
                ops.push(PersistOp::Sync { file: tmp.clone() });
                ops.push(PersistOp::Rename {
                    from: tmp,
                    to: name,
                });
                ctx.log.reset_to_snapshot(zxid, &mut ops);
                ctx.out.push(ZabOutput::SnapshotInstalled(zxid));
                for op in ops {
                    ctx.persist(op);
                }
            }
            (
                Stage::Syncing(_) | Stage::NewLeader(_) | Stage::Acked(_) | Stage::UpToDate(_),
                PeerMessage::Proposal(txn),
            ) => {
                self.log_txn(txn, ctx);
            }
            (
                Stage::Syncing(_) | Stage::NewLeader(_) | Stage::Acked(_) | Stage::UpToDate(_),
                PeerMessage::Commit { zxid },
            ) => {
                if zxid > ctx.log.last_logged() {
                    return self.protocol("COMMIT of a txn never proposed", ctx);
                }
                ctx.log.commit(zxid);
            }
            // The leader informs observers from the moment it sent NEWLEADER.
            (
                Stage::NewLeader(_) | Stage::Acked(_) | Stage::UpToDate(_),
                PeerMessage::Inform(txn),
            ) => {
                let z = txn.header.zxid;
                self.log_txn(txn, ctx);
                ctx.log.commit(z);
            }
            (Stage::Syncing(e), PeerMessage::NewLeader { epoch }) => {
                if epoch != e {
                    return self.protocol("NEWLEADER for another epoch", ctx);
                }
                if self.snapshot.is_some() {
                    return self.protocol("NEWLEADER inside an unfinished SNAP", ctx);
                }
                self.stage = Stage::NewLeader(e);
                // Everything sent before NEWLEADER becomes durable, then the epoch is adopted,
                // then we acknowledge (ZOOKEEPER-3911/4394/4643/4646/4785).
                ctx.flush();
                ctx.out.push(ZabOutput::PersistEpochs {
                    accepted: history.accepted_epoch.max(e),
                    current: e,
                    then: AfterPersist::LearnerEpochCurrent { epoch: e },
                });
            }
            (Stage::Acked(e), PeerMessage::UpToDate) => {
                self.stage = Stage::UpToDate(e);
                self.deadline = Some(ctx.now.plus_millis(self.timing.sync_limit_ms));
                ctx.out.push(ZabOutput::Synced {
                    leader: self.leader,
                    epoch: e,
                });
            }
            (Stage::UpToDate(_), _) => {}
            // Broadcast traffic of an earlier attempt, still in flight while we start over:
            // the leader resets our handle when it sees this attempt's FOLLOWERINFO.
            (
                Stage::Connecting | Stage::InfoSent,
                PeerMessage::Proposal(_)
                | PeerMessage::Commit { .. }
                | PeerMessage::Inform(_)
                | PeerMessage::UpToDate,
            ) => {}
            // A resent LEADERINFO for the epoch we are already syncing to.
            (
                Stage::Syncing(e) | Stage::NewLeader(e) | Stage::Acked(e),
                PeerMessage::LeaderInfo { epoch },
            ) if e == epoch => {}
            (
                _,
                PeerMessage::LeaderInfo { .. }
                | PeerMessage::NewLeader { .. }
                | PeerMessage::UpToDate
                | PeerMessage::SyncBegin(_)
                | PeerMessage::SnapChunk(_)
                | PeerMessage::SnapEnd
                | PeerMessage::Inform(_),
            ) => self.protocol("ZAB message out of order", ctx),
            _ => {}
        }
    }

    fn log_txn(&mut self, txn: Txn, ctx: &mut Ctx<'_>) {
        // An epoch's counters are consecutive (the leader proposes last + 1): a gap means a
        // message was lost or reordered, and logging past it would leave a hole that the
        // resync (DIFF from our last zxid) never fills. Found by the conformance suite with
        // peer sends reordered on purpose (docs/decisions.md D28).
        let (z, last) = (txn.header.zxid, ctx.log.last_logged());
        if z.epoch() == last.epoch() && z.counter() > last.counter().saturating_add(1) {
            return self.protocol("a gap in the epoch's proposals", ctx);
        }
        if ctx.append(txn).is_err() {
            self.protocol("proposal not above the last logged zxid", ctx);
        }
    }

    /// A Persist op this learner asked for is durable.
    pub(crate) fn on_persisted(&mut self, what: AfterPersist, ctx: &mut Ctx<'_>) {
        match (self.stage, what) {
            (Stage::Syncing(_), AfterPersist::LearnerEpochAccepted { current_epoch }) => {
                ctx.out.push(ZabOutput::Send(
                    self.leader,
                    PeerMessage::AckEpoch {
                        current_epoch: Some(current_epoch),
                        last_zxid: ctx.log.last_logged(),
                    },
                ));
            }
            (Stage::NewLeader(e), AfterPersist::LearnerEpochCurrent { epoch }) if e == epoch => {
                self.stage = Stage::Acked(e);
                ctx.out.push(ZabOutput::Send(
                    self.leader,
                    PeerMessage::Ack {
                        zxid: Zxid::new(e, 0),
                    },
                ));
                self.ack_durable(ctx);
            }
            (_, AfterPersist::LogDurable(_)) => self.ack_durable(ctx),
            _ => {}
        }
    }

    /// Acknowledges (cumulatively) every proposal that is durable, once NEWLEADER was acked.
    fn ack_durable(&mut self, ctx: &mut Ctx<'_>) {
        if self.observer || !matches!(self.stage, Stage::Acked(_) | Stage::UpToDate(_)) {
            return;
        }
        let durable = ctx.log.last_durable();
        if durable > self.acked && durable.counter() != 0 {
            self.acked = durable;
            ctx.out.push(ZabOutput::Send(
                self.leader,
                PeerMessage::Ack { zxid: durable },
            ));
        }
    }
}

#[cfg(test)]
#[path = "learner_tests.rs"]
mod tests;
