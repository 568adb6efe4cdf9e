//! Elections and roles: starting to look, acting on a decision, and what ZAB asks of the
//! node (persist epochs, establish, step down).

#[allow(unused_imports)]
use super::*;

impl<S: Service> Node<S> {
    pub(super) fn initial_vote(&self) -> Vote {
        if self.observer {
            Vote::NONE
        } else {
            Vote {
                leader: self.my_id,
                zxid: self.log.last_logged(),
                peer_epoch: self.current_epoch,
            }
        }
    }

    pub(super) fn history(&self) -> History {
        History {
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_zxid: self.log.last_logged(),
        }
    }

    pub(super) fn start_looking(&mut self, now: Instant) {
        self.early_infos.clear();
        self.generation += 1;
        self.leading_since = None;
        self.activity = Activity::Looking;
        self.set_role(Role::Looking);
        self.looking_since = now;
        self.metrics.elections_started += 1;
        // Writes in flight may still commit under the next leader, or not: say so.
        #[cfg(any(test, feature = "sim"))]
        for (session_id, cxid) in core::mem::take(&mut self.local_writes) {
            self.out.push_back(Output::Event(NodeEvent::WriteFailed {
                session_id,
                cxid,
                reason: WriteFailure::Unknown,
            }));
        }
        self.syncs_waiting.clear();
        self.syncs_forwarded.clear();
        self.quorum.abandon();
        self.with_service(now, |s, cx| s.role_changed(cx));
        let vote = self.initial_vote();
        self.election
            .start(now, vote, &self.quorum, &mut self.election_buf);
    }

    pub(super) fn on_election_output(&mut self, now: Instant, e: ElectionOutput) {
        match e {
            ElectionOutput::Send { to, notification } => {
                self.send_notification(now, to, notification)
            }
            ElectionOutput::Broadcast(n) => self.broadcast_notification(now, n),
            ElectionOutput::Resend(n) => {
                self.transport.redial_now(now);
                self.broadcast_notification(now, n);
            }
            ElectionOutput::ProposalChanged { round, vote } => {
                self.out
                    .push_back(Output::Event(NodeEvent::VoteCast { round, vote }));
            }
            ElectionOutput::Decided(d) => {
                let took_ms = now.millis_since(self.looking_since);
                self.metrics.elections_decided += 1;
                self.metrics.election_time_ms.add(took_ms);
                self.out.push_back(Output::Event(NodeEvent::Elected {
                    leader: d.vote.leader,
                    vote: d.vote,
                    round: d.round,
                    supporters: d.supporters.clone(),
                    took_ms,
                    state: match d.state {
                        PeerState::Leading => Role::Leading,
                        PeerState::Observing => Role::Observing,
                        _ => Role::Following,
                    },
                }));
                self.generation += 1;
                let history = self.history();
                let timing = self.timing;
                let my_id = self.my_id;
                match d.state {
                    PeerState::Leading => {
                        self.set_role(Role::Leading);
                        let mut leader = None;
                        // Propose above any epoch a late learner showed us it promised, so
                        // that it can join this time (see `epoch_floor`).
                        let history = History {
                            accepted_epoch: history.accepted_epoch.max(self.epoch_floor),
                            ..history
                        };
                        self.resume_reconfig();
                        self.with_ctx(now, |_, ctx| {
                            leader = Some(Leader::new(my_id, history, timing, ctx));
                        });
                        if let Some(l) = leader {
                            self.activity = Activity::Leading(l);
                        }
                        for (peer, info) in core::mem::take(&mut self.early_infos) {
                            self.on_peer_message(now, peer, info);
                        }
                    }
                    PeerState::Following | PeerState::Observing => {
                        self.early_infos.clear();
                        self.set_role(if d.state == PeerState::Following {
                            Role::Following
                        } else {
                            Role::Observing
                        });
                        let learner = Learner::new(
                            now,
                            d.vote.leader,
                            self.observer,
                            self.generation,
                            timing,
                        );
                        self.activity = Activity::Learning(learner);
                        if self.transport.is_up(d.vote.leader) {
                            let accepted = self.accepted_epoch;
                            self.with_ctx(now, |activity, ctx| {
                                if let Activity::Learning(l) = activity {
                                    l.on_leader_link_up(accepted, ctx);
                                }
                            });
                        }
                    }
                    PeerState::Looking => {}
                }
            }
        }
    }

    pub(super) fn on_zab_output(&mut self, now: Instant, e: ZabOutput) {
        match e {
            ZabOutput::Send(to, msg) => {
                self.transport.send(now, to, &msg, &mut self.link_buf);
            }
            ZabOutput::Persist(op, then) => self.persist(op, None, then),
            ZabOutput::PersistEpochs {
                accepted,
                current,
                then,
            } => {
                // Never lower a promise already written, whatever the caller computed.
                let accepted = accepted.max(self.written_accepted);
                self.written_accepted = accepted;
                self.persist(
                    PersistOp::WriteEpochs { accepted, current },
                    Some((accepted, current)),
                    Some(then),
                );
            }
            ZabOutput::Established { epoch, quorum } => {
                self.metrics.leaderships_established += 1;
                self.leading_since = Some(now);
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::LeaderEstablished {
                        epoch,
                        quorum,
                    }));
                self.with_service(now, |s, cx| s.role_changed(cx));
            }
            ZabOutput::Synced { leader, epoch } => {
                self.follow_membership(now, false);
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::FollowerSynced { leader, epoch }));
                self.with_service(now, |s, cx| s.role_changed(cx));
            }
            ZabOutput::SnapshotInstalled(zxid) => {
                self.follow_membership(now, false);
                self.out
                    .push_back(Output::Event(NodeEvent::SnapshotInstalled { zxid }));
            }
            ZabOutput::DropPeer(peer) => {
                self.transport
                    .drop_peer(now, peer, &mut self.rng, &mut self.link_buf);
            }
            ZabOutput::StepDown(reason) => {
                if matches!(self.activity, Activity::Looking) {
                    return;
                }
                self.metrics.step_downs += 1;
                if let StepDown::LearnerEpochAhead(_, promised) = reason {
                    self.epoch_floor = self.epoch_floor.max(promised);
                }
                self.out
                    .push_back(Output::Event(NodeEvent::SteppedDown { reason }));
                let was_leading = matches!(self.activity, Activity::Leading(_));
                self.start_looking(now);
                if was_leading {
                    // Voters hear our new round from the broadcast; the learners that do not
                    // vote (observers, servers about to join or removed) get no notification,
                    // and our link to them stays up: tell them, or they wait out initLimit
                    // following a leader that is gone.
                    let n = self.election.current_notification();
                    let observers: Vec<ServerId> = self
                        .transport
                        .up_peers()
                        .into_iter()
                        .filter(|id| !self.quorum.is_voter(*id))
                        .collect();
                    for o in observers {
                        self.send_notification(now, o, n);
                    }
                }
            }
        }
    }
}
