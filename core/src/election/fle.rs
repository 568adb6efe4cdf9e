//! The Fast Leader Election state machine: the receive path and main loop of §1.5–1.6,
//! turned from a blocking queue loop into event handlers and two explicit deadlines.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;

use super::vote::{PeerState, Vote};
use crate::codec::peer::Notification;
use crate::ids::ServerId;
use crate::quorum::QuorumVerifier;
use crate::time::Instant;

/// How long a quorum must hold with no better vote before deciding (`finalizeWait`).
pub(crate) const FINALIZE_WAIT_MS: u64 = 200;

/// Upper bound of the notification back-off (`maxNotificationInterval`).
pub(crate) const MAX_NOTIFICATION_INTERVAL_MS: u64 = 60_000;

/// Within one round of a non-voter, answers to it are this far apart at least (ms).
pub(crate) const NON_VOTER_ANSWER_GAP_MS: u64 = 100;

/// What the election asks the node to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ElectionOutput {
    /// Send this notification to one server.
    Send {
        /// Recipient.
        to: ServerId,
        /// The notification.
        notification: Notification,
    },
    /// Send this notification to every other voter.
    Broadcast(Notification),
    /// Nothing heard for a while: resend to every voter and redial missing links.
    Resend(Notification),
    /// The proposal changed (the sender now votes for `vote` in `round`).
    ProposalChanged {
        /// Round of the proposal.
        round: u64,
        /// The new proposal.
        vote: Vote,
    },
    /// The election ended.
    Decided(Decision),
}

/// The outcome of a round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// The winning vote.
    pub vote: Vote,
    /// The round in which it was decided.
    pub round: u64,
    /// Our new state: Leading, Following or Observing.
    pub state: PeerState,
    /// The servers whose votes made the quorum.
    pub supporters: Vec<ServerId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Received {
    vote: Vote,
    round: u64,
    state: PeerState,
}

impl Received {
    /// ZooKeeper's `Vote.equals`: established members may have decided in different rounds
    /// and logged different zxids since, so between two out-of-election votes only the leader
    /// and its epoch must agree (ZOOKEEPER-1732).
    fn agrees(&self, other: &Received) -> bool {
        if self.state == PeerState::Looking || other.state == PeerState::Looking {
            self.vote == other.vote && self.round == other.round
        } else {
            self.vote.leader == other.vote.leader && self.vote.peer_epoch == other.vote.peer_epoch
        }
    }
}

/// One server's view of leader election.
#[derive(Clone, Debug)]
pub(crate) struct Election {
    my_id: ServerId,
    state: PeerState,
    round: u64,
    proposal: Vote,
    initial: Vote,
    recv: BTreeMap<ServerId, Received>,
    out_of_election: BTreeMap<ServerId, Received>,
    not_timeout_ms: u64,
    resend_at: Option<Instant>,
    finalize_at: Option<Instant>,
    decided: Option<Decision>,
    /// Voters whose link went down and has not come back (a dead leader). When every other
    /// voter agrees, no better vote can come, so the finalize wait is skipped: two survivors
    /// of a failover, a full start, a standalone server decide at once. A voter never heard
    /// from is still waited for: it may be starting with a better history.
    lost: BTreeSet<ServerId>,
    /// When we last answered each non-voter, and in which of its rounds. A non-voter that
    /// believes it votes (a server about to join) answers our answer, so within one of its
    /// rounds we answer it at most every [`NON_VOTER_ANSWER_GAP_MS`]: the two cannot go back
    /// and forth without pause, and an answer lost on the way is sent again.
    answered: BTreeMap<ServerId, (u64, Instant)>,
}

impl Election {
    /// A server that has not started looking yet (state Looking, round 0).
    pub(crate) fn new(my_id: ServerId) -> Election {
        Election {
            my_id,
            state: PeerState::Looking,
            round: 0,
            proposal: Vote::NONE,
            initial: Vote::NONE,
            recv: BTreeMap::new(),
            out_of_election: BTreeMap::new(),
            not_timeout_ms: FINALIZE_WAIT_MS,
            resend_at: None,
            finalize_at: None,
            decided: None,
            lost: BTreeSet::new(),
            answered: BTreeMap::new(),
        }
    }

    /// The link to `peer` is up (its votes can reach us).
    pub(crate) fn link_up(&mut self, peer: ServerId) {
        self.lost.remove(&peer);
        // A new link may have lost our last answer: answer at once again.
        self.answered.remove(&peer);
    }

    /// The link to `peer` went down: it is not waited for until it comes back.
    pub(crate) fn link_down(&mut self, peer: ServerId) {
        self.lost.insert(peer);
    }

    /// The current state (the unit tests observe it; the node learns it from `Decision`s).
    #[cfg(test)]
    pub(crate) fn state(&self) -> PeerState {
        self.state
    }

    /// The logical clock.
    pub(crate) fn round(&self) -> u64 {
        self.round
    }

    /// The current proposal while looking (observed by the unit tests).
    #[cfg(test)]
    pub(crate) fn proposal(&self) -> Vote {
        self.proposal
    }

    /// The last decision, if the election ended.
    pub(crate) fn decision(&self) -> Option<&Decision> {
        self.decided.as_ref()
    }

    /// The earliest election deadline (resend back-off or finalize wait).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        if self.state != PeerState::Looking {
            return None;
        }
        match (self.resend_at, self.finalize_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The notification describing us: our proposal while looking, our decision otherwise.
    pub(crate) fn current_notification(&self) -> Notification {
        match (&self.decided, self.state) {
            (Some(d), s) if s != PeerState::Looking => Notification {
                state: s,
                vote: d.vote,
                round: d.round,
                config_version: 0,
            },
            _ => Notification {
                state: PeerState::Looking,
                vote: self.proposal,
                round: self.round,
                config_version: 0,
            },
        }
    }

    /// Starts a new round (`lookForLeader`): bump the clock, vote for `initial`, tell everyone.
    ///
    /// `initial` is our own vote for a voter, [`Vote::NONE`] for an observer.
    pub(crate) fn start(
        &mut self,
        now: Instant,
        initial: Vote,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        self.state = PeerState::Looking;
        self.round = self.round.saturating_add(1);
        self.initial = initial;
        self.proposal = initial;
        self.recv.clear();
        self.out_of_election.clear();
        self.not_timeout_ms = FINALIZE_WAIT_MS;
        self.finalize_at = None;
        self.decided = None;
        self.resend_at = Some(now.plus_millis(self.not_timeout_ms));
        self.broadcast(now, quorum, out);
    }

    /// A link came up while looking: the network changed, so restart the notification
    /// back-off instead of waiting out a long interval grown during the outage.
    pub(crate) fn reset_backoff(&mut self, now: Instant) {
        if self.state != PeerState::Looking {
            return;
        }
        self.not_timeout_ms = FINALIZE_WAIT_MS;
        let soon = now.plus_millis(self.not_timeout_ms);
        self.resend_at = Some(self.resend_at.map_or(soon, |t| t.min(soon)));
    }

    /// After synchronization, advertise the new epoch in our decided vote (ZOOKEEPER-1732),
    /// so every established member answers newcomers with the same (leader, peer epoch).
    pub(crate) fn set_decided_epoch(&mut self, epoch: u32) {
        if let Some(d) = self.decided.as_mut() {
            d.vote.peer_epoch = epoch;
        }
    }

    /// A notification from `from` (the receive path of §1.5, then the main loop of §1.6).
    pub(crate) fn on_notification(
        &mut self,
        now: Instant,
        from: ServerId,
        n: Notification,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        if from == self.my_id {
            return;
        }
        // Rule 1: a non-voter (observer) only learns; answer it with our current vote while
        // it looks. Not once it decided: a decided observer answers a looking voter (rule 3),
        // and answering that again would go back and forth for ever.
        if !quorum.is_voter(from) {
            let due = match self.answered.get(&from) {
                Some(&(round, at)) => {
                    round != n.round || now >= at.plus_millis(NON_VOTER_ANSWER_GAP_MS)
                }
                None => true,
            };
            if n.state == PeerState::Looking && due {
                self.answered.insert(from, (n.round, now));
                out.push(ElectionOutput::Send {
                    to: from,
                    notification: self.current_notification(),
                });
            }
            return;
        }
        if self.state != PeerState::Looking {
            // Rule 3: tell a looking peer what we decided; ignore everyone else.
            if n.state == PeerState::Looking {
                out.push(ElectionOutput::Send {
                    to: from,
                    notification: self.current_notification(),
                });
            }
            return;
        }
        // Rule 2: help a laggard catch up to our round — as a voter only: a non-voter's
        // answer changes nothing, and the voter would answer it back (rule 1) for ever.
        if n.state == PeerState::Looking && n.round < self.round && quorum.is_voter(self.my_id) {
            out.push(ElectionOutput::Send {
                to: from,
                notification: self.current_notification(),
            });
        }
        self.main_loop(now, from, n, quorum, out);
    }

    fn main_loop(
        &mut self,
        now: Instant,
        from: ServerId,
        n: Notification,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        if !quorum.is_voter(n.vote.leader) {
            return;
        }
        // Any received notification means the poll was not empty: restart the back-off wait.
        self.resend_at = Some(now.plus_millis(self.not_timeout_ms));
        if self.finalize_at.is_some() {
            // Finalize wait: only a strictly better vote interrupts; anything else is dropped,
            // except a vote agreeing with ours (once every voter but the lost ones agrees,
            // nothing better can come and the wait ends early) and peers that already
            // decided (a quorum of them behind a leader claiming leadership ends it too).
            if !n.vote.beats(&self.proposal, quorum) {
                match n.state {
                    PeerState::Looking if n.round == self.round && n.vote == self.proposal => {
                        let r = Received {
                            vote: n.vote,
                            round: n.round,
                            state: n.state,
                        };
                        self.recv.insert(from, r);
                        self.check_looking_quorum(now, quorum, out);
                    }
                    PeerState::Following | PeerState::Leading => {
                        self.rule_established(from, n, quorum, out)
                    }
                    _ => {}
                }
                return;
            }
            self.finalize_at = None;
        }
        match n.state {
            PeerState::Looking => self.rule_looking(now, from, n, quorum, out),
            PeerState::Observing => {}
            PeerState::Following | PeerState::Leading => {
                self.rule_established(from, n, quorum, out)
            }
        }
    }

    /// rule_L: the sender is looking too.
    fn rule_looking(
        &mut self,
        now: Instant,
        from: ServerId,
        n: Notification,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        // A looking peer is no longer out of election: forget what it said when it was, or a
        // leader that just stepped down could still be followed on its stale LEADING vote.
        self.out_of_election.remove(&from);
        if n.round > self.round {
            // A newer round: start over from our *initial* vote, not the stale proposal.
            self.round = n.round;
            self.recv.clear();
            self.proposal = if n.vote.beats(&self.initial, quorum) {
                n.vote
            } else {
                self.initial
            };
            self.broadcast(now, quorum, out);
        } else if n.round < self.round {
            return;
        } else if n.vote.beats(&self.proposal, quorum) {
            self.proposal = n.vote;
            self.broadcast(now, quorum, out);
        } else if n.vote != self.proposal {
            // The sender holds a worse vote in our round: it missed our broadcast (it arrived
            // while the sender still followed the leader that just died, and starting its own
            // round forgot it). Tell it now rather than leave both waiting for the resend
            // back-off (200 ms; ZooKeeper waits it out). Each such answer makes the sender
            // adopt a better vote, so the answers are bounded like the votes.
            out.push(ElectionOutput::Send {
                to: from,
                notification: self.current_notification(),
            });
        }
        self.recv.insert(
            from,
            Received {
                vote: n.vote,
                round: n.round,
                state: n.state,
            },
        );
        self.check_looking_quorum(now, quorum, out);
    }

    /// rule_FL: the sender already follows or leads.
    fn rule_established(
        &mut self,
        from: ServerId,
        n: Notification,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        let theirs = Received {
            vote: n.vote,
            round: n.round,
            state: n.state,
        };
        if n.round == self.round {
            self.recv.insert(from, theirs);
            let supporters = agreeing(&self.recv, &theirs);
            if quorum.is_quorum(&supporters)
                && self.check_leader(&self.recv, n.vote.leader, n.round)
            {
                self.decide(n.vote, n.round, supporters, quorum, out);
                return;
            }
        }
        self.out_of_election.insert(from, theirs);
        let supporters = agreeing(&self.out_of_election, &theirs);
        if quorum.is_quorum(&supporters)
            && self.check_leader(&self.out_of_election, n.vote.leader, n.round)
        {
            self.round = n.round;
            self.decide(n.vote, n.round, supporters, quorum, out);
        }
    }

    /// `checkLeader`: never follow a leader we have not heard claim leadership.
    fn check_leader(
        &self,
        votes: &BTreeMap<ServerId, Received>,
        leader: ServerId,
        round: u64,
    ) -> bool {
        if leader == self.my_id {
            self.round == round
        } else {
            votes
                .get(&leader)
                .is_some_and(|r| r.state == PeerState::Leading)
        }
    }

    /// A quorum agreeing on our proposal starts the finalize wait, or decides at once when
    /// every voter that could still send a vote (all but the lost ones) agrees.
    fn check_looking_quorum(
        &mut self,
        now: Instant,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        if self.state != PeerState::Looking {
            return;
        }
        let mine = Received {
            vote: self.proposal,
            round: self.round,
            state: PeerState::Looking,
        };
        let supporters = agreeing(&self.recv, &mine);
        if !quorum.is_quorum(&supporters) {
            return;
        }
        let everyone = quorum
            .voters()
            .iter()
            .filter(|p| !self.lost.contains(p))
            .all(|p| supporters.contains(p));
        if everyone {
            self.decide(self.proposal, self.round, supporters, quorum, out);
        } else if self.finalize_at.is_none() {
            self.finalize_at = Some(now.plus_millis(FINALIZE_WAIT_MS));
        }
    }

    /// Deadlines: decide after an undisturbed finalize wait; resend with back-off after silence.
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        if self.state != PeerState::Looking {
            return;
        }
        if self.finalize_at.is_some_and(|t| t <= now) {
            self.finalize_at = None;
            let mine = Received {
                vote: self.proposal,
                round: self.round,
                state: PeerState::Looking,
            };
            let supporters = agreeing(&self.recv, &mine);
            if quorum.is_quorum(&supporters) {
                self.decide(self.proposal, self.round, supporters, quorum, out);
                return;
            }
            // The quorum that started the wait broke up during it: members that voted with
            // us reported since that they follow a leader decided on older votes. Deciding
            // now would lead (or follow) without a quorum; keep looking, and join theirs
            // once it is heard claiming leadership (rule_established).
        }
        if self.resend_at.is_some_and(|t| t <= now) {
            self.not_timeout_ms = (self.not_timeout_ms * 2).min(MAX_NOTIFICATION_INTERVAL_MS);
            self.resend_at = Some(now.plus_millis(self.not_timeout_ms));
            out.push(ElectionOutput::Resend(self.current_notification()));
        }
    }

    fn broadcast(
        &mut self,
        now: Instant,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        let n = self.current_notification();
        out.push(ElectionOutput::ProposalChanged {
            round: self.round,
            vote: self.proposal,
        });
        out.push(ElectionOutput::Broadcast(n));
        // Our own notification reaches our tally through the loopback, as in ZooKeeper.
        if quorum.is_voter(self.my_id) {
            self.recv.insert(
                self.my_id,
                Received {
                    vote: self.proposal,
                    round: self.round,
                    state: PeerState::Looking,
                },
            );
            self.check_looking_quorum(now, quorum, out);
        }
    }

    fn decide(
        &mut self,
        vote: Vote,
        round: u64,
        supporters: BTreeSet<ServerId>,
        quorum: &dyn QuorumVerifier,
        out: &mut Vec<ElectionOutput>,
    ) {
        let state = if vote.leader == self.my_id {
            PeerState::Leading
        } else if quorum.is_voter(self.my_id) {
            PeerState::Following
        } else {
            PeerState::Observing
        };
        let decision = Decision {
            vote,
            round,
            state,
            supporters: supporters.into_iter().collect(),
        };
        self.state = state;
        self.resend_at = None;
        self.finalize_at = None;
        self.decided = Some(decision.clone());
        out.push(ElectionOutput::Decided(decision));
    }
}

fn agreeing(votes: &BTreeMap<ServerId, Received>, reference: &Received) -> BTreeSet<ServerId> {
    votes
        .iter()
        .filter(|(_, r)| r.agrees(reference))
        .map(|(sid, _)| *sid)
        .collect()
}

#[cfg(test)]
#[path = "fle_tests.rs"]
mod tests;
