//! What the invariants remember about each server, built from its events as they are
//! drained (and from the server's status, for where its history stood when it began looking).

use std::collections::{BTreeMap, BTreeSet};

use conclave_core::{NodeEvent, Role, ServerId, Status, Zxid};

/// Where a server's history stands: what its initial vote is built from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// currentEpoch (the node's memory follows the durable file, never the other way round).
    pub current_epoch: u32,
    /// Last logged zxid.
    pub last_zxid: Zxid,
}

impl Position {
    /// The position in a status.
    pub fn of(status: &Status) -> Position {
        Position {
            current_epoch: status.current_epoch,
            last_zxid: status.last_zxid,
        }
    }
}

/// The remembered past of one server, across all its incarnations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeHistory {
    /// A process is running.
    pub alive: bool,
    /// The process is in a looking period (started looking and has not decided since).
    pub looking: bool,
    /// (currentEpoch, last logged zxid) when the current looking period began.
    pub looking_start: (u32, Zxid),
    /// Votes cast during the current looking period: (round, peer epoch, zxid, leader).
    pub votes_this_period: BTreeSet<(u64, u32, Zxid, ServerId)>,
    /// Every (round, leader) it ever voted for, in any incarnation: a notification sent
    /// before a crash may still be counted after it.
    pub votes: BTreeSet<(u64, ServerId)>,
    /// The leader of its latest `Elected` (kept across restarts, for the same reason).
    pub latest_elected: Option<ServerId>,
    /// When it last decided for each leader (`Elected`), ns, across incarnations.
    pub elected_at: BTreeMap<ServerId, u64>,
    /// When its current (or latest) looking period began, ns.
    pub looking_since_ns: u64,
    /// Its decisions in time order, across incarnations: `(ns, Some(leader))` for each
    /// `Elected`, `(ns, None)` whenever it started looking or died.
    pub decisions: Vec<(u64, Option<ServerId>)>,
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

    /// A process of `node` started at `pos`: it is looking, from that state.
    pub fn started(&mut self, now_ns: u64, node: ServerId, pos: Position) {
        let h = self.nodes.entry(node).or_default();
        h.alive = true;
        h.looking = true;
        h.looking_since_ns = now_ns;
        h.decisions.push((now_ns, None));
        h.looking_start = (pos.current_epoch, pos.last_zxid);
        h.votes_this_period.clear();
    }

    /// The process of `node` died (or halted).
    pub fn crashed(&mut self, node: ServerId) {
        let h = self.nodes.entry(node).or_default();
        if let Some(&(at, _)) = h.decisions.last() {
            // No clock here: the death ends its decision no earlier than the last one began.
            h.decisions.push((at, None));
        }
        h.alive = false;
        h.looking = false;
        h.votes_this_period.clear();
    }

    /// Records an event `node` emitted, `pos` being where its history stood (only read for
    /// `RoleChanged { to: Looking }`).
    pub fn record(&mut self, now_ns: u64, node: ServerId, ev: &NodeEvent, pos: Position) {
        let h = self.nodes.entry(node).or_default();
        match ev {
            NodeEvent::RoleChanged {
                to: Role::Looking, ..
            } => {
                h.looking = true;
                h.looking_since_ns = now_ns;
                h.looking_start = (pos.current_epoch, pos.last_zxid);
                h.votes_this_period.clear();
                h.decisions.push((now_ns, None));
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
                h.elected_at.insert(*leader, now_ns);
                h.decisions.push((now_ns, Some(*leader)));
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

    /// Whether `node` decided for `leader` at or after `since_ns`.
    pub fn elected_since(&self, node: ServerId, leader: ServerId, since_ns: u64) -> bool {
        self.nodes
            .get(&node)
            .and_then(|h| h.elected_at.get(&leader))
            .is_some_and(|&t| t >= since_ns)
    }

    /// Whether `node` followed (or led) `leader` at some time at or after `since_ns`: the
    /// decision it held at `since_ns` named `leader`, or it decided for `leader` since.
    pub fn followed_since(&self, node: ServerId, leader: ServerId, since_ns: u64) -> bool {
        let Some(h) = self.nodes.get(&node) else {
            return false;
        };
        let held = h
            .decisions
            .iter()
            .take_while(|(at, _)| *at <= since_ns)
            .last()
            .and_then(|(_, d)| *d);
        held == Some(leader) || self.elected_since(node, leader, since_ns)
    }

    /// When `node`'s latest looking period began, ns.
    pub fn looking_since_ns(&self, node: ServerId) -> u64 {
        self.nodes.get(&node).map_or(0, |h| h.looking_since_ns)
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

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::Vote;

    fn elected(leader: ServerId) -> NodeEvent {
        NodeEvent::Elected {
            leader,
            vote: Vote {
                leader,
                zxid: Zxid(0x1_0000_0083),
                peer_epoch: 1,
            },
            round: 2,
            supporters: vec![1, 2, 3],
            took_ms: 0,
            state: Role::Following,
        }
    }

    /// Simulator seed 148 (zab): n3 decided to follow n5 before n5 began its term, held that
    /// decision into the term (and acknowledged n5's NEWLEADER), then moved on to n4.
    #[test]
    fn a_decision_held_when_a_term_began_counts_as_following_during_it() {
        const S: u64 = 1_000_000_000;
        let mut h = History::new();
        let pos = Position::default();
        h.started(0, 3, pos);
        h.record(5 * S, 3, &elected(5), pos);
        let looking = NodeEvent::RoleChanged {
            from: Role::Following,
            to: Role::Looking,
        };
        h.record(7 * S, 3, &looking, pos);
        h.record(8 * S, 3, &elected(4), pos);
        assert!(h.followed_since(3, 5, 6 * S), "held n5 when the term began");
        assert!(
            !h.followed_since(3, 5, 7 * S),
            "looking when that term began"
        );
        assert!(!h.followed_since(3, 5, 9 * S), "following n4 by then");
        assert!(h.followed_since(3, 4, 7 * S), "decided for n4 since");
        h.crashed(3);
        assert!(!h.followed_since(3, 4, 9 * S), "dead: follows nobody");
        assert!(!h.followed_since(9, 4, 0), "never heard of");
    }
}
