//! The leader: discovery (fix a new epoch), synchronization of each learner (DIFF, TRUNC or
//! SNAP, then NEWLEADER), and broadcast (PROPOSAL → quorum of durable ACKs → COMMIT in zxid
//! order; INFORM to observers).

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::vec::Vec;

use super::{AfterPersist, Ctx, History, StepDown, Timing, ZabOutput};
use crate::codec::peer::SyncMode;
use crate::codec::{PeerMessage, Txn, TxnHeader};
use crate::ids::{ServerId, Zxid};
use crate::time::Instant;

/// Largest snapshot chunk sent in one SNAP message.
pub(crate) const SNAP_CHUNK_BYTES: usize = 512 * 1024;

/// SNAP state sent and not yet acknowledged by the learner ([`PeerMessage::SnapAck`]), at
/// most: a snapshot of any size crosses a link with a bounded send queue.
pub(crate) const SNAP_WINDOW_BYTES: usize = 8 * SNAP_CHUNK_BYTES;

/// What may wait for one learner behind its snapshot (proposals, commits, pings), in
/// estimated bytes; a learner that falls further behind is dropped and syncs again.
pub(crate) const SNAP_BACKLOG_BYTES: usize = 64 << 20;

/// A SNAP transfer in progress to one learner: the state, how far it is sent and
/// acknowledged, and everything for that learner that must follow it, in order.
#[derive(Clone, Debug, Default)]
struct SnapSend {
    state: Vec<u8>,
    sent: usize,
    acked: usize,
    backlog: VecDeque<PeerMessage>,
    backlog_bytes: usize,
    /// The learner fell too far behind and is being dropped: nothing more goes to it.
    dropped: bool,
}

/// Roughly what a message costs queued (the bound of a backlog, not a wire size).
fn queued_bytes(msg: &PeerMessage) -> usize {
    64 + match msg {
        PeerMessage::Proposal(t) | PeerMessage::Inform(t) => t.body.len(),
        _ => 0,
    }
}

/// Sends `msg` to learner `id`, or queues it behind the learner's snapshot: every message
/// to a learner goes through here, so nothing overtakes the SNAP state. A backlog past
/// [`SNAP_BACKLOG_BYTES`] drops the learner.
fn route(out: &mut Vec<ZabOutput>, id: ServerId, h: &mut Handle, msg: PeerMessage) {
    let Some(snap) = h.snap.as_mut() else {
        out.push(ZabOutput::Send(id, msg));
        return;
    };
    if snap.dropped {
        return;
    }
    snap.backlog_bytes += queued_bytes(&msg);
    snap.backlog.push_back(msg);
    if snap.backlog_bytes > SNAP_BACKLOG_BYTES {
        *snap = SnapSend {
            dropped: true,
            ..SnapSend::default()
        };
        out.push(ZabOutput::DropPeer(id));
    }
}

/// Sends what the window allows of learner `id`'s snapshot; once all of it is out, SNAP end
/// and the backlog follow, and the learner's messages flow directly again.
fn pump_snapshot(out: &mut Vec<ZabOutput>, id: ServerId, h: &mut Handle) {
    let Some(snap) = h.snap.as_mut().filter(|s| !s.dropped) else {
        return;
    };
    // Bounded: each turn sends one chunk and the window caps the turns.
    while snap.sent < snap.state.len() && snap.sent - snap.acked < SNAP_WINDOW_BYTES {
        let end = (snap.sent + SNAP_CHUNK_BYTES).min(snap.state.len());
        let chunk = snap.state[snap.sent..end].to_vec();
        out.push(ZabOutput::Send(id, PeerMessage::SnapChunk(chunk)));
        snap.sent = end;
    }
    if snap.sent < snap.state.len() {
        return;
    }
    let Some(snap) = h.snap.take() else { return };
    out.push(ZabOutput::Send(id, PeerMessage::SnapEnd));
    for msg in snap.backlog {
        out.push(ZabOutput::Send(id, msg));
    }
}

/// The largest counter a proposal may use; the next one would spill into the epoch bits.
pub(crate) const MAX_COUNTER: u32 = 0xFFFF_FFFE;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// FOLLOWERINFO received; LEADERINFO not yet sent.
    Info,
    /// LEADERINFO sent.
    EpochSent,
    /// ACKEPOCH received; waiting for our currentEpoch before synchronizing.
    AckedEpoch,
    /// Sync and NEWLEADER queued; the learner receives every new proposal.
    NewLeaderSent,
    /// NEWLEADER acknowledged: its ACKs count.
    Synced,
}

#[derive(Clone, Debug)]
struct Handle {
    attempt: u64,
    last_heard: Instant,
    observer: bool,
    stage: Stage,
    last_zxid: Zxid,
    acked: Zxid,
    /// The SNAP transfer to it, while one runs.
    snap: Option<SnapSend>,
}

/// The leader side of ZAB for one epoch.
#[derive(Clone, Debug)]
pub(crate) struct Leader {
    my_id: ServerId,
    history: History,
    proposed: u32,
    epoch: Option<u32>,
    epoch_durable: bool,
    current_pending: bool,
    current_durable: bool,
    connecting: BTreeSet<ServerId>,
    electing: BTreeSet<ServerId>,
    acked_new_leader: BTreeSet<ServerId>,
    learners: BTreeMap<ServerId, Handle>,
    established: bool,
    deadline: Option<Instant>,
    sync_limit_ms: u64,
    ping_ms: u64,
    next_ping: Instant,
    counter: u32,
    outstanding: VecDeque<(Zxid, Instant)>,
}

impl Leader {
    /// Starts leading after an election: propose an epoch above every one a quorum accepted.
    pub(crate) fn new(
        my_id: ServerId,
        history: History,
        timing: Timing,
        ctx: &mut Ctx<'_>,
    ) -> Leader {
        let mut l = Leader {
            my_id,
            history,
            proposed: history.accepted_epoch.saturating_add(1),
            epoch: None,
            epoch_durable: false,
            current_pending: false,
            current_durable: false,
            connecting: BTreeSet::from([my_id]),
            electing: BTreeSet::from([my_id]),
            acked_new_leader: BTreeSet::from([my_id]),
            learners: BTreeMap::new(),
            established: false,
            deadline: Some(ctx.now.plus_millis(timing.init_limit_ms)),
            sync_limit_ms: timing.sync_limit_ms,
            ping_ms: timing.ping_ms.max(1),
            next_ping: ctx.now.plus_millis(timing.ping_ms.max(1)),
            counter: 0,
            outstanding: VecDeque::new(),
        };
        l.check_epoch_quorum(ctx);
        l
    }

    /// The epoch being established, once fixed.
    #[cfg(test)]
    pub(crate) fn epoch(&self) -> Option<u32> {
        self.epoch
    }

    /// True once a quorum acknowledged NEWLEADER: the leader serves.
    pub(crate) fn is_established(&self) -> bool {
        self.established
    }

    /// Learners that acknowledged NEWLEADER, ascending.
    pub(crate) fn synced_learners(&self) -> Vec<ServerId> {
        self.learners
            .iter()
            .filter(|(_, h)| h.stage == Stage::Synced)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Learners connected to this leader, synced or not (`zk_learners`).
    pub(crate) fn learner_count(&self) -> usize {
        self.learners.len()
    }

    /// Proposals sent and not yet committed.
    #[cfg(test)]
    pub(crate) fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// The next deadline: the next ping, initLimit while establishing, and the oldest
    /// proposal's syncLimit.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let limit = if self.established {
            self.outstanding
                .front()
                .map(|(_, sent)| sent.plus_millis(self.sync_limit_ms))
        } else {
            self.deadline
        };
        Some(limit.map_or(self.next_ping, |l| l.min(self.next_ping)))
    }

    /// Timers: initLimit while establishing; afterwards, learners that sat on a proposal
    /// for longer than syncLimit are dropped (their link is closed).
    pub(crate) fn on_timer(&mut self, ctx: &mut Ctx<'_>) {
        if self.next_ping <= ctx.now {
            // Learners time out on a silent leader; a leader that stepped down goes silent.
            self.next_ping = ctx.now.plus_millis(self.ping_ms);
            for (id, h) in self.learners.iter_mut() {
                route(ctx.out, *id, h, PeerMessage::Ping);
            }
            // And the leader times out on silent learners: each answers every PING, so one
            // silent for syncLimit has left us (or is gone), even if its link is still up.
            let limit = self.sync_limit_ms;
            let silent: Vec<ServerId> = self
                .learners
                .iter()
                .filter(|(_, h)| h.last_heard.plus_millis(limit) <= ctx.now)
                .map(|(id, _)| *id)
                .collect();
            for id in silent {
                self.on_peer_down(id, ctx);
            }
        }
        if !self.established {
            if self.deadline.is_some_and(|d| d <= ctx.now) {
                self.deadline = None;
                ctx.out.push(ZabOutput::StepDown(StepDown::InitLimit));
            }
            return;
        }
        let Some(&(oldest, sent)) = self.outstanding.front() else {
            return;
        };
        if sent.plus_millis(self.sync_limit_ms) > ctx.now {
            return;
        }
        let laggards: Vec<ServerId> = self
            .learners
            .iter()
            .filter(|(_, h)| !h.observer && h.stage == Stage::Synced && h.acked < oldest)
            .map(|(id, _)| *id)
            .collect();
        for id in laggards {
            ctx.out.push(ZabOutput::DropPeer(id));
        }
        // Re-arm from now so a stuck proposal does not spin the timer.
        if let Some(front) = self.outstanding.front_mut() {
            front.1 = ctx.now;
        }
    }

    /// A message from a learner.
    pub(crate) fn on_message(&mut self, from: ServerId, msg: PeerMessage, ctx: &mut Ctx<'_>) {
        match msg {
            PeerMessage::FollowerInfo {
                accepted_epoch,
                observer,
                attempt,
            } => self.on_follower_info(from, accepted_epoch, observer, attempt, ctx),
            PeerMessage::AckEpoch {
                current_epoch,
                last_zxid,
            } => self.on_ack_epoch(from, current_epoch, last_zxid, ctx),
            PeerMessage::Ack { zxid } => self.on_ack(from, zxid, ctx),
            PeerMessage::SnapAck { received } => {
                if let Some(h) = self.learners.get_mut(&from) {
                    if let Some(snap) = h.snap.as_mut() {
                        let received = usize::try_from(received).unwrap_or(usize::MAX);
                        snap.acked = snap.acked.max(received.min(snap.sent));
                    }
                    pump_snapshot(ctx.out, from, h);
                }
            }
            _ => {}
        }
    }

    fn on_follower_info(
        &mut self,
        from: ServerId,
        accepted: u32,
        observer: bool,
        attempt: u64,
        ctx: &mut Ctx<'_>,
    ) {
        // A resend of the same attempt (the learner retries until LEADERINFO arrives).
        if self
            .learners
            .get(&from)
            .is_some_and(|h| h.attempt == attempt)
        {
            return;
        }
        if self.epoch.is_some_and(|e| accepted > e) {
            // It promised a newer epoch than ours and can never join this one: start over
            // with an epoch above its promise rather than leave it out for good.
            ctx.out
                .push(ZabOutput::StepDown(StepDown::LearnerEpochAhead(
                    from, accepted,
                )));
            return;
        }
        // A learner is an observer (INFORMs, never counted) or a follower (PROPOSALs, ACKs);
        // a follower counts only while the quorum rule has it as a voter, which a
        // reconfiguration can change (a server about to join follows without counting).
        self.learners.insert(
            from,
            Handle {
                attempt,
                last_heard: ctx.now,
                observer,
                stage: Stage::Info,
                last_zxid: Zxid::ZERO,
                acked: Zxid::ZERO,
                snap: None,
            },
        );
        self.electing.remove(&from);
        self.acked_new_leader.remove(&from);
        if self.epoch.is_none() {
            // Above every promise we hear of, an observer's too (as ZooKeeper's
            // getEpochToPropose), or it could never join; only voters count toward the quorum.
            self.proposed = self.proposed.max(accepted.saturating_add(1));
            if !observer {
                self.connecting.insert(from);
            }
            self.check_epoch_quorum(ctx);
        } else if self.epoch_durable {
            self.send_leader_info(from, ctx);
        }
    }

    fn check_epoch_quorum(&mut self, ctx: &mut Ctx<'_>) {
        if self.epoch.is_none() && ctx.quorum.is_quorum(&self.connecting) {
            self.epoch = Some(self.proposed);
            ctx.out.push(ZabOutput::PersistEpochs {
                accepted: self.proposed,
                current: self.history.current_epoch,
                then: AfterPersist::LeaderEpochAccepted,
            });
        }
    }

    fn send_leader_info(&mut self, to: ServerId, ctx: &mut Ctx<'_>) {
        let Some(epoch) = self.epoch else { return };
        if let Some(h) = self.learners.get_mut(&to) {
            if h.stage == Stage::Info {
                h.stage = Stage::EpochSent;
                ctx.out
                    .push(ZabOutput::Send(to, PeerMessage::LeaderInfo { epoch }));
            }
        }
    }

    fn on_ack_epoch(
        &mut self,
        from: ServerId,
        current: Option<u32>,
        last_zxid: Zxid,
        ctx: &mut Ctx<'_>,
    ) {
        let Some(h) = self.learners.get_mut(&from) else {
            return;
        };
        if h.stage != Stage::EpochSent {
            return;
        }
        h.stage = Stage::AckedEpoch;
        h.last_zxid = last_zxid;
        let observer = h.observer || !ctx.quorum.is_voter(from);
        let quorum_reached = self.current_pending || self.current_durable;
        if let Some(ce) = current {
            // FLE should have chosen the most up-to-date server; verify it (waitForEpochAck)
            // against the voters that make the quorum. A late or non-voting learner that is
            // ahead holds only uncommitted txns: synchronization cuts it back.
            if !observer
                && !quorum_reached
                && (ce, last_zxid) > (self.history.current_epoch, self.history.last_zxid)
            {
                ctx.out
                    .push(ZabOutput::StepDown(StepDown::FollowerAhead(from)));
                return;
            }
            if !observer {
                self.electing.insert(from);
            }
        }
        if self.current_durable {
            self.synchronize(from, ctx);
        } else {
            self.check_epoch_ack_quorum(ctx);
        }
    }

    /// Once a quorum acknowledged the epoch (and our promise is durable), adopt it.
    fn check_epoch_ack_quorum(&mut self, ctx: &mut Ctx<'_>) {
        if self.current_pending || self.current_durable || !self.epoch_durable {
            return;
        }
        if !ctx.quorum.is_quorum(&self.electing) {
            return;
        }
        if let Some(epoch) = self.epoch {
            self.current_pending = true;
            ctx.out.push(ZabOutput::PersistEpochs {
                accepted: epoch,
                current: epoch,
                then: AfterPersist::LeaderEpochCurrent,
            });
        }
    }

    /// A Persist op this leader asked for is durable.
    pub(crate) fn on_persisted(&mut self, what: AfterPersist, ctx: &mut Ctx<'_>) {
        match what {
            AfterPersist::LeaderEpochAccepted => {
                self.epoch_durable = true;
                let waiting: Vec<ServerId> = self.learners.keys().copied().collect();
                for id in waiting {
                    self.send_leader_info(id, ctx);
                }
                // A single voter is its own ACKEPOCH quorum (standalone).
                self.check_epoch_ack_quorum(ctx);
            }
            AfterPersist::LeaderEpochCurrent => {
                self.current_durable = true;
                let waiting: Vec<ServerId> = self
                    .learners
                    .iter()
                    .filter(|(_, h)| h.stage == Stage::AckedEpoch)
                    .map(|(id, _)| *id)
                    .collect();
                for id in waiting {
                    self.synchronize(id, ctx);
                }
                self.check_established(ctx);
            }
            AfterPersist::LogDurable(_) => self.try_commit(ctx),
            AfterPersist::LearnerEpochAccepted { .. }
            | AfterPersist::LearnerEpochCurrent { .. }
            | AfterPersist::SnapshotDurable(_) => {}
        }
    }

    /// Brings a learner's log in line with ours, then queues NEWLEADER behind the sync packets
    /// (ZOOKEEPER-1136). From here on the learner receives every proposal.
    fn synchronize(&mut self, to: ServerId, ctx: &mut Ctx<'_>) {
        let Some(epoch) = self.epoch else { return };
        let Some(h) = self.learners.get(&to) else {
            return;
        };
        if h.stage != Stage::AckedEpoch {
            return;
        }
        let peer = h.last_zxid;
        let (mode, from) = choose_sync(ctx.log, peer);
        let Some(h) = self.learners.get_mut(&to) else {
            return;
        };
        ctx.out
            .push(ZabOutput::Send(to, PeerMessage::SyncBegin(mode)));
        if let SyncMode::Snap { .. } = mode {
            // The state goes out a window at a time as the learner acknowledges it; what
            // follows below waits behind it (`route`).
            h.snap = Some(SnapSend {
                state: ctx.sm.snapshot(),
                ..SnapSend::default()
            });
            pump_snapshot(ctx.out, to, h);
        }
        if let Some(txns) = ctx.log.txns_after(from) {
            for t in txns {
                route(ctx.out, to, h, PeerMessage::Proposal(t.clone()));
            }
        }
        if self.established {
            let zxid = ctx.log.last_committed();
            route(ctx.out, to, h, PeerMessage::Commit { zxid });
        }
        route(ctx.out, to, h, PeerMessage::NewLeader { epoch });
        h.stage = Stage::NewLeaderSent;
    }

    fn on_ack(&mut self, from: ServerId, zxid: Zxid, ctx: &mut Ctx<'_>) {
        let Some(epoch) = self.epoch else { return };
        let Some(h) = self.learners.get_mut(&from) else {
            return;
        };
        if zxid == Zxid::new(epoch, 0) {
            if h.stage != Stage::NewLeaderSent {
                return;
            }
            h.stage = Stage::Synced;
            if !h.observer {
                self.acked_new_leader.insert(from);
            }
            if self.established {
                // It may have been synced before we were established, when nothing of its
                // history was committed yet: tell it what is committed now.
                let committed = ctx.log.last_committed();
                route(ctx.out, from, h, PeerMessage::Commit { zxid: committed });
                route(ctx.out, from, h, PeerMessage::UpToDate);
            } else {
                self.check_established(ctx);
            }
            return;
        }
        if h.stage != Stage::Synced || h.observer || zxid <= h.acked {
            return;
        }
        h.acked = zxid.min(ctx.log.last_logged());
        self.try_commit(ctx);
    }

    fn check_established(&mut self, ctx: &mut Ctx<'_>) {
        let Some(epoch) = self.epoch else { return };
        if self.established
            || !self.current_durable
            || !ctx.quorum.is_quorum(&self.acked_new_leader)
        {
            return;
        }
        self.established = true;
        self.deadline = None;
        // A quorum holds our whole history durably: all of it is committed now.
        let last = ctx.log.last_logged();
        ctx.log.commit(last);
        ctx.out.push(ZabOutput::Established {
            epoch,
            // The voters among them: a follower without a vote (about to join) acked too.
            quorum: self
                .acked_new_leader
                .iter()
                .copied()
                .filter(|id| ctx.quorum.is_voter(*id))
                .collect(),
        });
        for (id, h) in self.learners.iter_mut() {
            if h.stage == Stage::Synced {
                route(ctx.out, *id, h, PeerMessage::Commit { zxid: last });
                route(ctx.out, *id, h, PeerMessage::UpToDate);
            }
        }
    }

    /// The zxid the next proposal will get, if this leader serves (prep needs it first).
    pub(crate) fn next_zxid(&self, log: &super::ReplicaLog) -> Option<Zxid> {
        let epoch = self.epoch?;
        if !self.established || self.counter >= MAX_COUNTER {
            return None;
        }
        let base = log.last_logged().max(Zxid::new(epoch, 0));
        (base.epoch() == epoch).then(|| Zxid::new(epoch, base.counter() + 1))
    }

    /// Outstanding (proposed, uncommitted) proposals up to the last one, for `sync`.
    pub(crate) fn last_proposed(&self) -> Option<Zxid> {
        self.outstanding.back().map(|(z, _)| *z)
    }

    /// Proposes a txn (leader stamps the zxid). `None` if not serving or the epoch is full.
    pub(crate) fn propose(
        &mut self,
        mut header: TxnHeader,
        body: Vec<u8>,
        ctx: &mut Ctx<'_>,
    ) -> Option<Zxid> {
        let epoch = self.epoch?;
        if !self.established {
            return None;
        }
        if self.counter >= MAX_COUNTER {
            ctx.out
                .push(ZabOutput::StepDown(StepDown::CounterExhausted));
            return None;
        }
        // The first proposal of the epoch follows the synced history.
        let base = ctx.log.last_logged().max(Zxid::new(epoch, 0));
        if base.epoch() != epoch {
            return None;
        }
        self.counter = base.counter() + 1;
        let zxid = Zxid::new(epoch, self.counter);
        header.zxid = zxid;
        let txn = Txn {
            header,
            body: body.into(),
        };
        if ctx.append(txn.clone()).is_err() {
            return None;
        }
        for (id, h) in self.learners.iter_mut() {
            if !h.observer && h.stage >= Stage::NewLeaderSent {
                route(ctx.out, *id, h, PeerMessage::Proposal(txn.clone()));
            }
        }
        self.outstanding.push_back((zxid, ctx.now));
        Some(zxid)
    }

    /// Commits, in zxid order, every outstanding proposal a quorum has durably logged.
    fn try_commit(&mut self, ctx: &mut Ctx<'_>) {
        let before = ctx.log.last_committed();
        let mut acks = Vec::new();
        while let Some(&(zxid, _)) = self.outstanding.front() {
            acks.clear();
            if ctx.log.last_durable() >= zxid {
                acks.push(self.my_id);
            }
            for (id, h) in &self.learners {
                if h.stage == Stage::Synced && !h.observer && h.acked >= zxid {
                    acks.push(*id);
                }
            }
            if !ctx.quorum.is_quorum_of(&acks) {
                break;
            }
            self.outstanding.pop_front();
            ctx.log.commit(zxid);
        }
        let after = ctx.log.last_committed();
        if after == before {
            return;
        }
        // Observers learn the txns themselves (INFORM); without one, nothing is copied.
        let any_observer = self
            .learners
            .values()
            .any(|h| h.observer && h.stage >= Stage::NewLeaderSent);
        let informs: Vec<Txn> = match ctx.log.txns_after(before) {
            Some(it) if any_observer => {
                it.take_while(|t| t.header.zxid <= after).cloned().collect()
            }
            _ => Vec::new(),
        };
        for (id, h) in self.learners.iter_mut() {
            if h.stage < Stage::NewLeaderSent {
                continue;
            }
            if h.observer {
                for t in &informs {
                    route(ctx.out, *id, h, PeerMessage::Inform(t.clone()));
                }
            } else {
                route(ctx.out, *id, h, PeerMessage::Commit { zxid: after });
            }
        }
    }

    /// The followers (not observers) synchronized with us now: who could hold a new
    /// membership's quorum.
    pub(crate) fn synced_followers(&self) -> BTreeSet<ServerId> {
        self.learners
            .iter()
            .filter(|(_, h)| h.stage == Stage::Synced && !h.observer)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Whether `peer` is a learner synchronized with this leadership.
    pub(crate) fn is_synced_learner(&self, peer: ServerId) -> bool {
        self.learners
            .get(&peer)
            .is_some_and(|h| h.stage == Stage::Synced)
    }

    /// Anything from a learner proves it alive.
    pub(crate) fn heard(&mut self, from: ServerId, now: Instant) {
        if let Some(h) = self.learners.get_mut(&from) {
            h.last_heard = now;
        }
    }

    /// A learner's link went down: forget it; step down if the synced quorum is gone.
    pub(crate) fn on_peer_down(&mut self, peer: ServerId, ctx: &mut Ctx<'_>) {
        if self.learners.remove(&peer).is_none() {
            return;
        }
        self.electing.remove(&peer);
        self.acked_new_leader.remove(&peer);
        if self.established && !ctx.quorum.is_quorum(&self.acked_new_leader) {
            ctx.out.push(ZabOutput::StepDown(StepDown::LostQuorum));
        }
    }
}

/// Picks DIFF, TRUNC or SNAP for a learner whose last logged zxid is `peer`, and the zxid
/// after which our history must be sent (protocol reference §2.5).
pub(crate) fn choose_sync(log: &super::ReplicaLog, peer: Zxid) -> (SyncMode, Zxid) {
    let last = log.last_logged();
    let snap = (
        SyncMode::Snap {
            zxid: log.last_applied(),
        },
        log.last_applied(),
    );
    if peer == last || log.contains(peer) {
        return (SyncMode::Diff, peer);
    }
    // The learner holds txns we do not: cut it back to the last zxid we share.
    let target = if peer > last {
        Some(last)
    } else {
        log.prev_before(peer)
    };
    match target {
        // Never TRUNC across an epoch boundary; a snapshot is always safe.
        Some(t) if t.epoch() == peer.epoch() => (SyncMode::Trunc { to: t }, t),
        _ => snap,
    }
}

#[cfg(test)]
#[path = "leader_tests.rs"]
mod tests;
