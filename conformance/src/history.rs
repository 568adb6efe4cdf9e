//! What the invariants remember about each server, built from its events as they are
//! drained (and from the simulator's disk model, for what was durable when).

use std::collections::{BTreeMap, BTreeSet};

use conclave_core::{NodeEvent, Recovered, Role, ServerId, Zxid};

/// The remembered past of one server, across all its incarnations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeHistory {
    /// A process is running.
    pub alive: bool,
    /// The process is in a looking period (started looking and has not decided since).
    pub looking: bool,
    /// Durable (currentEpoch, last zxid) when the current looking period began.
    pub looking_start: (u32, Zxid),
    /// Votes cast during the current looking period: (round, peer epoch, zxid, leader).
    pub votes_this_period: BTreeSet<(u64, u32, Zxid, ServerId)>,
    /// Every (round, leader) it ever voted for, in any incarnation: a notification sent
    /// before a crash may still be counted after it.
    pub votes: BTreeSet<(u64, ServerId)>,
    /// The leader of its latest `Elected` (kept across restarts, for the same reason).
    pub latest_elected: Option<ServerId>,
    /// Every (leader, peer epoch) it ever announced as decided: the vote of each `Elected`,
    /// and the epoch it then advertises once synced (`FollowerSynced`, `LeaderEstablished`).
    /// These are what its out-of-election notifications carry.
    pub advertised: BTreeSet<(ServerId, u32)>,
}

/// The remembered past of the whole ensemble.
#[derive(Clone, Debug, Default)]
pub struct History {
    nodes: BTreeMap<ServerId, NodeHistory>,
    established: BTreeSet<(ServerId, u32)>,
}

impl History {
    /// Nothing happened yet.
    pub fn new() -> History {
        History::default()
    }

    /// A process of `node` started from `durable`: it is looking, from that state.
    pub fn started(&mut self, node: ServerId, durable: &Recovered) {
        let h = self.nodes.entry(node).or_default();
        h.alive = true;
        h.looking = true;
        h.looking_start = (durable.current_epoch, durable.last_zxid);
        h.votes_this_period.clear();
    }

    /// The process of `node` died (or halted).
    pub fn crashed(&mut self, node: ServerId) {
        let h = self.nodes.entry(node).or_default();
        h.alive = false;
        h.looking = false;
        h.votes_this_period.clear();
    }

    /// Records an event `node` emitted, `durable` being its disk at that moment.
    pub fn record(&mut self, node: ServerId, ev: &NodeEvent, durable: &Recovered) {
        let h = self.nodes.entry(node).or_default();
        match ev {
            NodeEvent::RoleChanged {
                to: Role::Looking, ..
            } => {
                h.looking = true;
                h.looking_start = (durable.current_epoch, durable.last_zxid);
                h.votes_this_period.clear();
            }
            NodeEvent::RoleChanged { .. } => h.looking = false,
            NodeEvent::VoteCast { round, vote } => {
                h.votes.insert((*round, vote.leader));
                if h.looking {
                    h.votes_this_period
                        .insert((*round, vote.peer_epoch, vote.zxid, vote.leader));
                }
            }
            NodeEvent::Elected { leader, vote, .. } => {
                h.latest_elected = Some(*leader);
                h.advertised.insert((*leader, vote.peer_epoch));
            }
            NodeEvent::FollowerSynced { leader, epoch } => {
                h.advertised.insert((*leader, *epoch));
            }
            NodeEvent::LeaderEstablished { epoch, .. } => {
                h.advertised.insert((node, *epoch));
                self.established.insert((node, *epoch));
            }
            _ => {}
        }
    }

    /// One server's past (empty if it never did anything).
    pub fn node(&self, id: ServerId) -> Option<&NodeHistory> {
        self.nodes.get(&id)
    }

    /// Whether `node` ever voted for `leader` in `round`.
    pub fn voted(&self, node: ServerId, round: u64, leader: ServerId) -> bool {
        self.nodes
            .get(&node)
            .is_some_and(|h| h.votes.contains(&(round, leader)))
    }

    /// The leader of `node`'s latest `Elected`.
    pub fn latest_elected(&self, node: ServerId) -> Option<ServerId> {
        self.nodes.get(&node).and_then(|h| h.latest_elected)
    }

    /// Whether `node` ever announced that it follows (or leads) `leader` in `epoch`.
    pub fn advertised(&self, node: ServerId, leader: ServerId, epoch: u32) -> bool {
        self.nodes
            .get(&node)
            .is_some_and(|h| h.advertised.contains(&(leader, epoch)))
    }

    /// Whether `leader` emitted `LeaderEstablished { epoch }`.
    pub fn established(&self, leader: ServerId, epoch: u32) -> bool {
        self.established.contains(&(leader, epoch))
    }
}
