//! The node: composes links, election and ZAB behind one input/output facade.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::peer::Notification;
use crate::codec::PeerMessage;
use crate::config::{Config, ConfigError, ConfigErrorKind};
use crate::election::{Election, ElectionOutput, PeerState, Vote};
use crate::ids::{ServerId, Zxid};
use crate::io::{Input, NodeEvent, Output, PersistOp, Role, Status};
use crate::metrics::Metrics;
use crate::quorum::{Majority, QuorumVerifier};
use crate::rng::Prng;
use crate::time::Instant;
use crate::timer::{Timer, TimerTable};
use crate::transport::{LinkEvent, Transport};
use crate::zab::{AfterPersist, History, Leader, Learner, ZabOutput};

/// What a server found on disk at start. Today: the epoch files and the last zxid.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Persisted acceptedEpoch (0 when the file is absent).
    pub accepted_epoch: u32,
    /// Persisted currentEpoch (0 when the file is absent).
    pub current_epoch: u32,
    /// Zxid of the last durable transaction (0 for an empty database).
    pub last_zxid: Zxid,
}

impl Recovered {
    /// A brand-new server with an empty data directory.
    pub fn empty() -> Recovered {
        Recovered::default()
    }
}

#[derive(Debug)]
enum Activity {
    Looking,
    Leading(Leader),
    Learning(Learner),
    Halted,
}

#[derive(Debug)]
struct Deferred {
    seq: u64,
    generation: u64,
    accepted: u32,
    current: u32,
    then: AfterPersist,
}

/// Bound on internal event cascades per `handle` call; a cascade this long is a bug.
const MAX_PUMP_STEPS: usize = 100_000;

/// One Conclave server's protocol state. Feed it inputs, drain its outputs.
///
/// **After every [`Node::handle`], drain [`Node::poll_output`] until `None`, then sleep until
/// [`Node::poll_timeout`]** (or the next input) and call `handle(now, Input::Timeout)`.
#[derive(Debug)]
pub struct Node {
    my_id: ServerId,
    config: Config,
    quorum: Majority,
    observer: bool,
    rng: Prng,
    transport: Transport,
    election: Election,
    activity: Activity,
    accepted_epoch: u32,
    current_epoch: u32,
    written_accepted: u32,
    written_current: u32,
    last_zxid: Zxid,
    next_seq: u64,
    deferred: VecDeque<Deferred>,
    generation: u64,
    role: Role,
    looking_since: Instant,
    out: VecDeque<Output>,
    timers: TimerTable,
    metrics: Metrics,
    link_buf: Vec<LinkEvent>,
    election_buf: Vec<ElectionOutput>,
    zab_buf: Vec<ZabOutput>,
}

fn peer_addr(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl Node {
    /// A server for `config` (with `my_id` set), starting from `recovered` state.
    ///
    /// `seed` drives every random choice (back-off jitter); `now` is the adapter's clock.
    /// The node starts looking for a leader at once.
    pub fn new(
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
    ) -> Result<Node, ConfigError> {
        let my_id = config.my_id;
        if my_id == 0 {
            return Err(ConfigError {
                line: 0,
                kind: ConfigErrorKind::BadMyId(0),
            });
        }
        let quorum = if config.servers.is_empty() {
            Majority::new([my_id])
        } else {
            Majority::new(config.voters())
        };
        let observer = !quorum.is_voter(my_id);
        let tick = config.tick_time_ms as u64;
        let peers: Vec<(ServerId, String)> = config
            .servers
            .values()
            .map(|s| (s.id, peer_addr(&s.host, s.election_port)))
            .collect();
        let transport = Transport::new(
            my_id,
            config.fingerprint(),
            peers,
            (tick / 2).max(1),
            tick.saturating_mul(config.sync_limit_ticks as u64).max(1),
        );
        let mut node = Node {
            my_id,
            quorum,
            observer,
            rng: Prng::new(seed),
            transport,
            election: Election::new(my_id),
            activity: Activity::Looking,
            accepted_epoch: recovered.accepted_epoch,
            current_epoch: recovered.current_epoch,
            written_accepted: recovered.accepted_epoch,
            written_current: recovered.current_epoch,
            last_zxid: recovered.last_zxid,
            next_seq: 1,
            deferred: VecDeque::new(),
            generation: 0,
            role: Role::Looking,
            looking_since: now,
            out: VecDeque::new(),
            timers: TimerTable::default(),
            metrics: Metrics::default(),
            link_buf: Vec::new(),
            election_buf: Vec::new(),
            zab_buf: Vec::new(),
            config,
        };
        node.transport
            .on_timer(now, &mut node.rng, &mut node.link_buf);
        node.start_looking(now);
        node.pump(now);
        Ok(node)
    }

    /// Feeds one input. The only mutator.
    pub fn handle(&mut self, now: Instant, input: Input) {
        if matches!(self.activity, Activity::Halted) {
            return;
        }
        match input {
            Input::Timeout => self.on_timeout(now),
            Input::PeerAccepted { link } => {
                self.transport.on_accepted(now, link, &mut self.link_buf)
            }
            Input::PeerConnected { link } => {
                self.transport.on_connected(now, link, &mut self.link_buf)
            }
            Input::PeerBytes { link, bytes } => {
                self.transport
                    .on_bytes(now, link, &bytes, &mut self.rng, &mut self.link_buf)
            }
            Input::PeerDisconnected { link } => {
                self.transport
                    .on_disconnected(now, link, &mut self.rng, &mut self.link_buf)
            }
            Input::Persisted { seq } => self.on_persisted(seq),
            Input::PersistFailed { seq, error } => {
                self.halt(format!("persist op {seq} failed: {error}"));
                return;
            }
        }
        self.pump(now);
    }

    /// The next output to carry out, `None` when drained.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call `handle(now, Input::Timeout)` next, if ever. Cached; O(1).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next().map(|(at, _)| at)
    }

    /// Which timer owns the next deadline (why the node wants to wake up).
    pub fn next_timer(&self) -> Option<Timer> {
        self.timers.next().map(|(_, t)| t)
    }

    /// What the node is doing now.
    pub fn status(&self) -> Status {
        Status {
            my_id: self.my_id,
            role: self.role,
            leader: match &self.activity {
                Activity::Leading(_) => Some(self.my_id),
                Activity::Learning(l) => Some(l.leader()),
                _ => None,
            },
            synced: match &self.activity {
                Activity::Leading(l) => l.is_established(),
                Activity::Learning(l) => l.synced_epoch().is_some(),
                _ => false,
            },
            accepted_epoch: self.accepted_epoch,
            current_epoch: self.current_epoch,
            last_zxid: self.last_zxid,
            round: self.election.round(),
            peers_up: self.transport.up_peers(),
        }
    }

    /// Counters and gauges.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The configuration this node runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn on_timeout(&mut self, now: Instant) {
        self.transport
            .on_timer(now, &mut self.rng, &mut self.link_buf);
        self.election
            .on_timer(now, &self.quorum, &mut self.election_buf);
        match &mut self.activity {
            Activity::Leading(l) => l.on_timer(now, &mut self.zab_buf),
            Activity::Learning(l) => l.on_timer(now, &mut self.zab_buf),
            _ => {}
        }
    }

    fn on_persisted(&mut self, seq: u64) {
        while self.deferred.front().is_some_and(|d| d.seq <= seq) {
            let Some(d) = self.deferred.pop_front() else {
                break;
            };
            // Memory follows the file, never the other way round (ZOOKEEPER-2307).
            self.accepted_epoch = d.accepted;
            self.current_epoch = d.current;
            if d.generation != self.generation {
                continue;
            }
            match &mut self.activity {
                Activity::Leading(l) => l.on_persisted(d.then, &self.quorum, &mut self.zab_buf),
                Activity::Learning(l) => l.on_persisted(d.then, self.last_zxid, &mut self.zab_buf),
                _ => {}
            }
        }
    }

    fn halt(&mut self, reason: String) {
        self.activity = Activity::Halted;
        self.set_role(Role::Halted);
        self.out
            .push_back(Output::Event(NodeEvent::Halted { reason }));
        for t in Timer::ALL {
            self.timers.set(t, None);
        }
    }

    fn initial_vote(&self) -> Vote {
        if self.observer {
            Vote::NONE
        } else {
            Vote {
                leader: self.my_id,
                zxid: self.last_zxid,
                peer_epoch: self.current_epoch,
            }
        }
    }

    fn start_looking(&mut self, now: Instant) {
        self.generation += 1;
        self.activity = Activity::Looking;
        self.set_role(Role::Looking);
        self.looking_since = now;
        self.metrics.elections_started += 1;
        let vote = self.initial_vote();
        self.election
            .start(now, vote, &self.quorum, &mut self.election_buf);
    }

    fn set_role(&mut self, to: Role) {
        if self.role != to {
            let from = self.role;
            self.role = to;
            self.out
                .push_back(Output::Event(NodeEvent::RoleChanged { from, to }));
        }
    }

    /// Drains the internal event buffers until quiet, then refreshes the timers.
    fn pump(&mut self, now: Instant) {
        let mut steps = 0;
        loop {
            steps += 1;
            if steps > MAX_PUMP_STEPS {
                self.halt(String::from("internal event cascade did not settle"));
                return;
            }
            if !self.link_buf.is_empty() {
                let events: Vec<LinkEvent> = self.link_buf.drain(..).collect();
                for e in events {
                    self.on_link_event(now, e);
                }
            } else if !self.election_buf.is_empty() {
                let events: Vec<ElectionOutput> = self.election_buf.drain(..).collect();
                for e in events {
                    self.on_election_output(now, e);
                }
            } else if !self.zab_buf.is_empty() {
                let events: Vec<ZabOutput> = self.zab_buf.drain(..).collect();
                for e in events {
                    self.on_zab_output(now, e);
                }
            } else {
                break;
            }
        }
        if matches!(self.activity, Activity::Halted) {
            return;
        }
        self.timers
            .set(Timer::Links, self.transport.next_deadline());
        self.timers
            .set(Timer::Election, self.election.next_deadline());
        let zab = match &self.activity {
            Activity::Leading(l) => l.next_deadline(),
            Activity::Learning(l) => l.next_deadline(),
            _ => None,
        };
        self.timers.set(Timer::Zab, zab);
    }

    fn on_link_event(&mut self, now: Instant, e: LinkEvent) {
        match e {
            LinkEvent::Dial { link, peer, addr } => {
                self.out.push_back(Output::Dial { link, peer, addr })
            }
            LinkEvent::Send { link, bytes } => self.out.push_back(Output::SendPeer { link, bytes }),
            LinkEvent::Close { link } => self.out.push_back(Output::ClosePeer { link }),
            LinkEvent::Rejected { link, reason } => {
                self.metrics.peer_frames_rejected += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::LinkRejected { link, reason }));
            }
            LinkEvent::Up(peer) => {
                self.metrics.peer_links_established += 1;
                self.out
                    .push_back(Output::Event(NodeEvent::PeerUp { peer }));
                match &mut self.activity {
                    // A fresh link gets our latest notification, as ZooKeeper resends its last one.
                    Activity::Looking if self.quorum.is_voter(peer) || self.observer => {
                        let n = self.election.current_notification();
                        self.send_notification(now, peer, n);
                    }
                    Activity::Learning(l) if l.leader() == peer => {
                        l.on_leader_link_up(self.accepted_epoch, &mut self.zab_buf);
                    }
                    _ => {}
                }
            }
            LinkEvent::Down(peer) => {
                self.out
                    .push_back(Output::Event(NodeEvent::PeerDown { peer }));
                match &mut self.activity {
                    Activity::Leading(l) => l.on_peer_down(peer, &self.quorum, &mut self.zab_buf),
                    Activity::Learning(l) => l.on_peer_down(peer, &mut self.zab_buf),
                    _ => {}
                }
            }
            LinkEvent::Message(peer, msg) => self.on_peer_message(now, peer, msg),
        }
    }

    fn on_peer_message(&mut self, now: Instant, peer: ServerId, msg: PeerMessage) {
        match msg {
            PeerMessage::Notification(n) => {
                self.metrics.notifications_received += 1;
                self.election
                    .on_notification(now, peer, n, &self.quorum, &mut self.election_buf);
            }
            PeerMessage::Hello(_) | PeerMessage::Heartbeat => {}
            m => match &mut self.activity {
                Activity::Leading(l) => l.on_message(peer, m, &self.quorum, &mut self.zab_buf),
                Activity::Learning(l) => l.on_message(
                    peer,
                    m,
                    self.accepted_epoch,
                    self.current_epoch,
                    self.last_zxid,
                    &mut self.zab_buf,
                ),
                _ => {}
            },
        }
    }

    fn send_notification(&mut self, now: Instant, to: ServerId, n: Notification) {
        if self
            .transport
            .send(now, to, &PeerMessage::Notification(n), &mut self.link_buf)
        {
            self.metrics.notifications_sent += 1;
        }
    }

    fn broadcast_notification(&mut self, now: Instant, n: Notification) {
        for v in self.quorum.voters() {
            if v != self.my_id {
                self.send_notification(now, v, n);
            }
        }
    }

    fn on_election_output(&mut self, now: Instant, e: ElectionOutput) {
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
                self.metrics.election_time_ms = took_ms;
                self.out.push_back(Output::Event(NodeEvent::Elected {
                    leader: d.vote.leader,
                    vote: d.vote,
                    round: d.round,
                    supporters: d.supporters.clone(),
                    took_ms,
                }));
                self.generation += 1;
                let init_limit_ms = (self.config.tick_time_ms as u64)
                    .saturating_mul(self.config.init_limit_ticks as u64);
                match d.state {
                    PeerState::Leading => {
                        self.set_role(Role::Leading);
                        let leader = Leader::new(
                            now,
                            self.my_id,
                            History {
                                accepted_epoch: self.accepted_epoch,
                                current_epoch: self.current_epoch,
                                last_zxid: self.last_zxid,
                            },
                            init_limit_ms,
                            &self.quorum,
                            &mut self.zab_buf,
                        );
                        self.activity = Activity::Leading(leader);
                    }
                    PeerState::Following | PeerState::Observing => {
                        self.set_role(if d.state == PeerState::Following {
                            Role::Following
                        } else {
                            Role::Observing
                        });
                        let mut learner =
                            Learner::new(now, d.vote.leader, self.observer, init_limit_ms);
                        if self.transport.is_up(d.vote.leader) {
                            learner.on_leader_link_up(self.accepted_epoch, &mut self.zab_buf);
                        }
                        self.activity = Activity::Learning(learner);
                    }
                    PeerState::Looking => {}
                }
            }
        }
    }

    fn on_zab_output(&mut self, now: Instant, e: ZabOutput) {
        match e {
            ZabOutput::Send(to, msg) => {
                self.transport.send(now, to, &msg, &mut self.link_buf);
            }
            ZabOutput::PersistEpochs {
                accepted,
                current,
                then,
            } => {
                // Never lower a promise already written, whatever the caller computed.
                let accepted = accepted.max(self.written_accepted);
                self.written_accepted = accepted;
                self.written_current = current;
                let seq = self.next_seq;
                self.next_seq += 1;
                self.metrics.persist_ops += 1;
                self.deferred.push_back(Deferred {
                    seq,
                    generation: self.generation,
                    accepted,
                    current,
                    then,
                });
                self.out.push_back(Output::Persist {
                    seq,
                    op: PersistOp::WriteEpochs { accepted, current },
                });
            }
            ZabOutput::Established { epoch, quorum } => {
                self.metrics.leaderships_established += 1;
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::LeaderEstablished {
                        epoch,
                        quorum,
                    }));
            }
            ZabOutput::Synced { leader, epoch } => {
                self.election.set_decided_epoch(epoch);
                self.out
                    .push_back(Output::Event(NodeEvent::FollowerSynced { leader, epoch }));
            }
            ZabOutput::StepDown(reason) => {
                self.metrics.step_downs += 1;
                self.out.push_back(Output::Event(NodeEvent::SteppedDown {
                    reason: reason.clone(),
                }));
                self.start_looking(now);
            }
        }
    }
}
