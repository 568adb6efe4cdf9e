//! The membership in force and how it changes (ZooKeeper 3.5+ `reconfig`): the quorum rule
//! (joint while a reconfiguration is in flight), whom we link to, and our own vote, all
//! following the replicated `/zookeeper/config`.
//!
//! A reconfiguration is a txn like any other. While it is proposed and not committed, the
//! leader counts a quorum only when it is one of both the old and the new voters; once it
//! commits, every member installs the new membership as it applies it. A new leader finds an
//! uncommitted reconfiguration in its log and requires both majorities again. A member that
//! missed one (cut off, restarted) gets the membership from a peer whose notification shows
//! a newer version (`PeerMessage::Membership`), as ZooKeeper's notifications carry theirs.

#[allow(unused_imports)]
use super::*;
use crate::config::{Membership, PeerType};
use crate::recovery::{MEMBERSHIP_FILE, MEMBERSHIP_TMP_FILE};
use crate::tree::ReconfigView;

/// The reconfig opcode (ZooKeeper's `OpCode.reconfig`), as a request and as a txn type.
pub(super) const RECONFIG_KIND: i32 = crate::client::OpCode::Reconfig.as_i32();

/// The peer addresses of a membership, for the transport.
pub(super) fn peer_addrs(m: &Membership) -> Vec<(ServerId, String)> {
    m.servers
        .values()
        .map(|s| (s.id, peer_addr(&s.host, s.election_port)))
        .collect()
}

/// The quorum rule of a membership; a member alone when there is none (standalone).
pub(super) fn majority_of(m: &Membership, my_id: ServerId) -> Majority {
    if m.servers.is_empty() {
        Majority::new([my_id])
    } else {
        Majority::new(m.voters())
    }
}

/// Whether we take part as a participant (a follower that can vote) rather than an observer:
/// by our line in the membership, or, outside it (a server about to join, or one removed),
/// by our own configuration file's role. Our votes count only where the membership says so.
pub(super) fn votes(m: &Membership, config: &Config) -> bool {
    match m.servers.get(&config.my_id) {
        Some(s) => s.peer_type == PeerType::Participant,
        None => m.servers.is_empty() || config.peer_type == PeerType::Participant,
    }
}

impl<S: Service> Node<S> {
    /// Leader: what a reconfig request is checked against, and the txn prepped for `w`.
    pub(super) fn prep_write(
        &mut self,
        w: &WriteRequest,
        zxid: Zxid,
        time_ms: i64,
    ) -> Option<(i32, Vec<u8>)> {
        if w.kind != RECONFIG_KIND {
            return self.sm.prep(w, zxid, time_ms, None);
        }
        let Activity::Leading(l) = &self.activity else {
            return None;
        };
        let mut synced = l.synced_followers();
        synced.insert(self.my_id);
        let view = ReconfigView {
            enabled: self.config.reconfig_enabled,
            standalone_enabled: self.config.standalone_enabled,
            current: &self.membership,
            in_progress: self.quorum.in_progress(),
            synced: &synced,
        };
        let prepped = self.sm.prep(w, zxid, time_ms, Some(&view))?;
        if let Some(next) = self.sm.reconfig_target(prepped.0, &prepped.1) {
            self.quorum.begin(majority_of(&next, self.my_id));
        }
        Some(prepped)
    }

    /// A new leader: an uncommitted reconfiguration in our log is in flight again.
    pub(super) fn resume_reconfig(&mut self) {
        self.quorum.abandon();
        let committed = self.log.last_committed();
        let current = self.membership.version;
        let next = self.log.txns_after(committed).and_then(|txns| {
            txns.filter(|t| t.header.kind == RECONFIG_KIND)
                .filter_map(|t| self.sm.reconfig_target(t.header.kind, &t.body))
                .filter(|m| m.version > current)
                .last()
        });
        if let Some(next) = next {
            self.quorum.begin(majority_of(&next, self.my_id));
        }
    }

    /// After a reconfig was applied (`applied`), or a sync or snapshot brought the state up
    /// to the leader's: install the replicated membership. Committed state is applied in
    /// zxid order, so an applied reconfig is the one in force; otherwise the state's
    /// membership is installed only if newer than ours (a peer may have told us a newer one
    /// while our sync was still applying).
    pub(super) fn follow_membership(&mut self, now: Instant, applied: bool) {
        match self.sm.membership() {
            Some(m) if m != self.membership && (applied || m.version > self.membership.version) => {
                self.install_membership(now, m)
            }
            _ => {}
        }
    }

    /// A peer sent the membership it holds (ours is older: it saw that in our notification).
    /// Only committed memberships are installed and sent, so a newer one from one of our
    /// voters is adopted, as ZooKeeper adopts the configuration a notification carries; a
    /// member that is looking starts its election over with it.
    pub(super) fn on_membership_from_peer(&mut self, now: Instant, peer: ServerId, text: &str) {
        let Ok(m) = Membership::parse(text) else {
            return;
        };
        // From a voter of ours that the new membership keeps: a server of another ensemble
        // (reconfigurable ensembles share a fingerprint) or one removed cannot rewrite ours.
        if m.version <= self.membership.version
            || !self.quorum.is_voter(peer)
            || !m.servers.contains_key(&peer)
        {
            return;
        }
        self.install_membership(now, m);
        if matches!(self.activity, Activity::Looking) {
            self.start_looking(now);
        }
    }

    /// The event that names the membership in force.
    pub(super) fn membership_event(&self) -> NodeEvent {
        let m = &self.membership;
        NodeEvent::Reconfigured {
            version: m.version,
            voters: m.voters().collect(),
            observers: m
                .servers
                .values()
                .filter(|s| s.peer_type == PeerType::Observer)
                .map(|s| s.id)
                .collect(),
        }
    }

    /// Puts `m` in force: the quorum rule, the links, our vote, the configuration shown by
    /// `conf` and `/zookeeper/config`. A member whose vote changed looks for a leader again.
    pub(super) fn install_membership(&mut self, now: Instant, m: Membership) {
        if m.voters().next().is_none() {
            // A reconfig never commits one (prep refuses it); a damaged one changes nothing.
            return;
        }
        let was_observer = self.observer;
        let voted = self.quorum.is_voter(self.my_id);
        self.quorum.settle(majority_of(&m, self.my_id));
        self.transport.set_peers(now, peer_addrs(&m));
        self.config.servers = m.servers.clone();
        self.config.config_version = m.version;
        self.observer = !votes(&m, &self.config);
        // Durable before a restart needs it: the next election counts these voters.
        let text = m.text().into_bytes();
        for op in [
            PersistOp::Create {
                file: String::from(MEMBERSHIP_TMP_FILE),
            },
            PersistOp::Append {
                file: String::from(MEMBERSHIP_TMP_FILE),
                bytes: text,
            },
            PersistOp::Sync {
                file: String::from(MEMBERSHIP_TMP_FILE),
            },
            PersistOp::Rename {
                from: String::from(MEMBERSHIP_TMP_FILE),
                to: String::from(MEMBERSHIP_FILE),
            },
        ] {
            self.persist(op, None, None);
        }
        self.membership = m;
        self.out.push_back(Output::Event(self.membership_event()));
        let votes_now = self.quorum.is_voter(self.my_id);
        let leading_without_vote = matches!(self.activity, Activity::Leading(_)) && !votes_now;
        if was_observer != self.observer || voted != votes_now || leading_without_vote {
            self.zab_buf
                .push(ZabOutput::StepDown(StepDown::Reconfigured));
        }
    }
}
