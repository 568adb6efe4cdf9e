//! Peer links and messages: routing what arrives on a link to the election, ZAB or the
//! service, and sending election notifications.

#[allow(unused_imports)]
use super::*;

impl<S: Service> Node<S> {
    pub(super) fn on_link_event(&mut self, now: Instant, e: LinkEvent) {
        match e {
            LinkEvent::Dial { link, peer, addr } => {
                self.out.push_back(Output::Dial { link, peer, addr })
            }
            LinkEvent::Send { link, bytes } => {
                self.metrics.peer_bytes_sent += bytes.len() as u64;
                self.out.push_back(Output::SendPeer { link, bytes })
            }
            LinkEvent::Close { link } => self.out.push_back(Output::ClosePeer { link }),
            LinkEvent::Rejected { link, reason } => {
                self.metrics.peer_frames_rejected += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::LinkRejected { link, reason }));
            }
            LinkEvent::Up(peer) => {
                self.metrics.peer_links_established += 1;
                self.election.link_up(peer);
                self.out
                    .push_back(Output::Event(NodeEvent::PeerUp { peer }));
                let accepted = self.accepted_epoch;
                match &self.activity {
                    // A fresh link gets our latest notification, as ZooKeeper resends its last one.
                    Activity::Looking if self.quorum.is_voter(peer) || self.observer => {
                        let n = self.election.current_notification();
                        self.send_notification(now, peer, n);
                        self.election.reset_backoff(now);
                    }
                    Activity::Learning(l) if l.leader() == peer => {
                        self.with_ctx(now, |activity, ctx| {
                            if let Activity::Learning(l) = activity {
                                l.on_leader_link_up(accepted, ctx);
                            }
                        });
                    }
                    _ => {}
                }
            }
            LinkEvent::Down(peer) => {
                self.election.link_down(peer);
                self.early_infos.remove(&peer);
                self.out
                    .push_back(Output::Event(NodeEvent::PeerDown { peer }));
                self.with_ctx(now, |activity, ctx| match activity {
                    Activity::Leading(l) => l.on_peer_down(peer, ctx),
                    Activity::Learning(l) => l.on_peer_down(peer, ctx),
                    _ => {}
                });
            }
            LinkEvent::Message(peer, msg) => self.on_peer_message(now, peer, msg),
        }
    }

    pub(super) fn on_peer_message(&mut self, now: Instant, peer: ServerId, msg: PeerMessage) {
        if let Activity::Leading(l) = &mut self.activity {
            l.heard(peer, now);
        }
        match msg {
            PeerMessage::Notification(n) => {
                self.metrics.notifications_received += 1;
                // The member we chose will never lead the term we wait for: it says it follows
                // (or observes) another, decided in our round or later; or, while we are still
                // syncing with it (no client of ours waits on it), it looks again. Before the
                // membership exchange below: such a member often holds a newer membership (a
                // reconfiguration made it an observer), and waiting on it is what we stop.
                if let Activity::Learning(l) = &self.activity {
                    let decided = self.election.decision().map_or(0, |d| d.round);
                    let gone = match n.state {
                        PeerState::Following | PeerState::Observing => n.round >= decided,
                        PeerState::Looking => n.round > decided && l.synced_epoch().is_none(),
                        PeerState::Leading => false,
                    };
                    if l.leader() == peer && gone {
                        self.on_zab_output(now, ZabOutput::StepDown(StepDown::LostLeader));
                    }
                }
                if n.config_version < self.membership.version {
                    // It missed a reconfiguration: hand it the membership we hold.
                    let text = self.membership.text();
                    self.transport.send(
                        now,
                        peer,
                        &PeerMessage::Membership(text),
                        &mut self.link_buf,
                    );
                } else if n.config_version > self.membership.version {
                    // We missed one: our count of votes would use the wrong voters. Show it
                    // our version, so that it sends its membership; count it from then on.
                    // Once per peer and version: if it cannot give us one we accept (it is
                    // not our voter, or left), asking again would go back and forth for ever.
                    if self.membership_asked.insert(peer, n.config_version)
                        != Some(n.config_version)
                    {
                        let ours = self.election.current_notification();
                        self.send_notification(now, peer, ours);
                    }
                    return;
                }
                if n.state == PeerState::Looking {
                    // Looking again: whatever FOLLOWERINFO it sent us before is void.
                    self.early_infos.remove(&peer);
                }
                // A learner of ours looking again has left us: its notifications from before it
                // chose us arrived before its FOLLOWERINFO on this FIFO link.
                if n.state == PeerState::Looking && matches!(self.activity, Activity::Leading(_)) {
                    self.with_ctx(now, |activity, ctx| {
                        if let Activity::Leading(l) = activity {
                            l.on_peer_down(peer, ctx);
                        }
                    });
                }
                // Our leader looking again, in a round after the one we followed it in, has
                // stepped down: do not wait for the silence timeout.
                if let Activity::Learning(l) = &self.activity {
                    let decided = self.election.decision().map_or(0, |d| d.round);
                    if l.leader() == peer && n.state == PeerState::Looking && n.round > decided {
                        // Now, not after this message: the election we start must count the
                        // old leader's vote below, or it waits out a resend for it. After the
                        // membership exchange above: a leader that looks again because a
                        // reconfiguration removed it has a newer membership than ours until we
                        // apply it, and we must answer the request that made it first.
                        self.on_zab_output(now, ZabOutput::StepDown(StepDown::LostLeader));
                    }
                }
                self.election
                    .on_notification(now, peer, n, &self.quorum, &mut self.election_buf);
            }
            PeerMessage::Hello(_) | PeerMessage::Heartbeat => {}
            PeerMessage::Membership(text) => self.on_membership_from_peer(now, peer, &text),
            PeerMessage::Request {
                session_id,
                cxid,
                kind,
                body,
                auth,
            } => {
                if matches!(self.activity, Activity::Leading(_)) {
                    if self.last_forwarded.insert(peer, (session_id, cxid))
                        == Some((session_id, cxid))
                    {
                        // Executing it again would apply the write twice (simulator seed 2:
                        // a setData bumped the version by two).
                        self.metrics.peer_duplicate_requests += 1;
                        return;
                    }
                    let w = WriteRequest {
                        session_id,
                        cxid,
                        kind,
                        body,
                        auth: auth
                            .into_iter()
                            .map(|(scheme, id)| crate::client::Id { scheme, id })
                            .collect::<Vec<_>>()
                            .into(),
                    };
                    // Not serving yet: dropped; the learner's client times out and retries.
                    let _ = self.propose(now, &w);
                }
            }
            PeerMessage::Touch { sessions } => {
                if matches!(self.activity, Activity::Leading(_)) {
                    self.with_service(now, |s, cx| s.touched(&sessions, cx));
                }
            }
            PeerMessage::SyncRequest { id } => {
                // Only for a learner synchronized with this leadership: one still following
                // an earlier term of ours would read its stale state as synced.
                if let Activity::Leading(l) = &self.activity {
                    if !l.is_synced_learner(peer) {
                        return;
                    }
                    match l.last_proposed() {
                        Some(z) => self.syncs_waiting.push((z, peer, id)),
                        None => {
                            self.transport.send(
                                now,
                                peer,
                                &PeerMessage::SyncDone { id },
                                &mut self.link_buf,
                            );
                        }
                    }
                }
            }
            PeerMessage::SyncDone { id } => {
                if self.syncs_forwarded.remove(&id).is_some() {
                    self.syncs_done.push(id);
                }
            }
            m @ PeerMessage::FollowerInfo { .. } if matches!(self.activity, Activity::Looking) => {
                // It decided for us a moment before we did: keep it for when we lead.
                self.early_infos.insert(peer, m);
            }
            PeerMessage::FollowerInfo { .. } if matches!(self.activity, Activity::Learning(_)) => {
                // It chose us, but we follow another (we stepped down just after it decided,
                // or a reconfiguration made us an observer): say so, or it waits out initLimit
                // resending to us (simulator --reconfig seed 470).
                let n = self.election.current_notification();
                self.send_notification(now, peer, n);
            }
            m => {
                // Answer the leader's PING with the sessions our clients touched (ZooKeeper's
                // learner PING reply), so the leader's expiry sees them alive.
                if m == PeerMessage::Ping {
                    if let Activity::Learning(l) = &self.activity {
                        if l.leader() == peer {
                            // Always answer, even with nothing touched: the leader counts
                            // silent learners as gone.
                            let sessions = self.sm.take_touches();
                            self.transport.send(
                                now,
                                peer,
                                &PeerMessage::Touch { sessions },
                                &mut self.link_buf,
                            );
                        }
                    }
                }
                let history = self.history();
                self.with_ctx(now, |activity, ctx| match activity {
                    Activity::Leading(l) => l.on_message(peer, m, ctx),
                    Activity::Learning(l) => l.on_message(peer, m, history, ctx),
                    _ => {}
                });
            }
        }
    }

    pub(super) fn send_notification(&mut self, now: Instant, to: ServerId, n: Notification) {
        let n = Notification {
            config_version: self.membership.version,
            ..n
        };
        if self
            .transport
            .send(now, to, &PeerMessage::Notification(n), &mut self.link_buf)
        {
            self.metrics.notifications_sent += 1;
        }
    }

    pub(super) fn broadcast_notification(&mut self, now: Instant, n: Notification) {
        for v in self.quorum.voters() {
            if v != self.my_id {
                self.send_notification(now, v, n);
            }
        }
    }
}
