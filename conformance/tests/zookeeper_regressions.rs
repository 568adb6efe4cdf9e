//! Named regression scenarios: each drives a small cluster deterministically into the situation
//! that broke Apache ZooKeeper (protocol reference §2.10) and checks that Conclave holds.
//!
//! The harness here is deliberately tiny and scripted (instant in-order delivery, a disk whose
//! acknowledgements the test can hold back, crashes that drop unsynced bytes, message filters),
//! so each scenario says exactly which interleaving it forces. The randomized simulator covers
//! the space around them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use conclave_core::codec::epochs::encode_epoch;
use conclave_core::codec::peer::SyncMode;
use conclave_core::codec::{decode_peer_message, FrameDecoder, PeerMessage, MAX_PEER_FRAME_BYTES};
use conclave_core::node::{Node, Tuning};
use conclave_core::recovery::DiskState;
use conclave_core::zab::RegisterMap;
use conclave_core::{Config, Input, Instant, LinkId, NodeEvent, Output, PersistOp, Role, Zxid};

type Id = u64;

#[derive(Default, Clone, Debug)]
struct File {
    synced: Vec<u8>,
    pending: Vec<u8>,
}

/// A disk: ops run in order when not held; a crash drops unsynced bytes and queued ops.
#[derive(Default, Debug)]
struct Disk {
    files: BTreeMap<String, File>,
    queue: VecDeque<(u64, PersistOp)>,
    held: bool,
    done: Vec<PersistOp>,
}

impl Disk {
    fn exec(&mut self, op: &PersistOp) {
        match op {
            PersistOp::WriteEpochs { accepted, current } => {
                for (name, v) in [("acceptedEpoch", accepted), ("currentEpoch", current)] {
                    self.files.insert(
                        name.into(),
                        File {
                            synced: encode_epoch(*v),
                            pending: vec![],
                        },
                    );
                }
            }
            PersistOp::Create { file } => {
                self.files.insert(file.clone(), File::default());
            }
            PersistOp::Append { file, bytes } => self
                .files
                .entry(file.clone())
                .or_default()
                .pending
                .extend(bytes),
            PersistOp::Sync { file } => {
                if let Some(f) = self.files.get_mut(file) {
                    let p = std::mem::take(&mut f.pending);
                    f.synced.extend(p);
                }
            }
            PersistOp::Truncate { file, len } => {
                if let Some(f) = self.files.get_mut(file) {
                    let mut all = std::mem::take(&mut f.synced);
                    all.extend(std::mem::take(&mut f.pending));
                    all.truncate(*len as usize);
                    f.synced = all;
                }
            }
            PersistOp::Rename { from, to } => {
                if let Some(f) = self.files.remove(from) {
                    self.files.insert(to.clone(), f);
                }
            }
            PersistOp::Remove { file } => {
                self.files.remove(file);
            }
        }
        self.done.push(op.clone());
    }

    fn crash(&mut self) {
        self.queue.clear();
        for f in self.files.values_mut() {
            f.pending.clear();
        }
        self.held = false;
    }

    fn listing(&self) -> Vec<(String, Vec<u8>)> {
        self.files
            .iter()
            .map(|(n, f)| (n.clone(), f.synced.clone()))
            .collect()
    }
}

struct Delivery {
    to: Id,
    input: Input,
}

type Filter = Box<dyn Fn(Id, Id, &PeerMessage) -> bool>;

struct Cluster {
    n: u64,
    tuning: Tuning,
    nodes: BTreeMap<Id, Node>,
    disks: BTreeMap<Id, Disk>,
    links: BTreeMap<(Id, LinkId), (Id, LinkId)>,
    inflight: VecDeque<Delivery>,
    next_accept: u64,
    now: Instant,
    drop_filters: Vec<Filter>,
    /// Every message delivered: (from, to, message).
    sent: Vec<(Id, Id, PeerMessage)>,
    /// Events per node since its last (re)start.
    events: BTreeMap<Id, Vec<NodeEvent>>,
    /// zxid → (session, cxid) as first applied anywhere.
    global: BTreeMap<Zxid, (i64, i32)>,
    acked: Vec<(i64, i32, Zxid)>,
    starts: u64,
}

fn cfg(n: u64) -> String {
    let mut s = String::from("tickTime=100\ninitLimit=10\nsyncLimit=5\n");
    for i in 1..=n {
        s.push_str(&format!("server.{i}=127.0.0.1:{}:{}\n", 2888 + i, 3888 + i));
    }
    s
}

impl Cluster {
    fn new(n: u64, tuning: Tuning) -> Cluster {
        let mut c = Cluster {
            n,
            tuning,
            nodes: BTreeMap::new(),
            disks: BTreeMap::new(),
            links: BTreeMap::new(),
            inflight: VecDeque::new(),
            next_accept: 0,
            now: Instant::from_millis(1),
            drop_filters: Vec::new(),
            sent: Vec::new(),
            events: BTreeMap::new(),
            global: BTreeMap::new(),
            acked: Vec::new(),
            starts: 0,
        };
        for id in 1..=n {
            c.disks.insert(id, Disk::default());
            c.start(id);
        }
        c
    }

    fn start(&mut self, id: Id) {
        let config = Config::from_zoo_cfg(&cfg(self.n))
            .unwrap()
            .with_my_id(id)
            .unwrap();
        let listing = self.disks[&id].listing();
        let recovered =
            DiskState::from_files(&listing).unwrap_or_else(|e| panic!("n{id} cannot recover: {e}"));
        self.starts += 1;
        let node: Node<RegisterMap> = Node::with_state_machine(
            config,
            recovered,
            1000 * self.starts + id,
            self.now,
            self.tuning,
        )
        .unwrap();
        self.nodes.insert(id, node);
        self.events.insert(id, Vec::new());
        self.input(
            id,
            Input::WallClock {
                unix_ms: 1_700_000_000_000,
            },
        );
    }

    fn crash(&mut self, id: Id) {
        self.nodes.remove(&id);
        if let Some(d) = self.disks.get_mut(&id) {
            d.crash();
        }
        let ends: Vec<(Id, LinkId)> = self
            .links
            .keys()
            .filter(|(a, _)| *a == id)
            .copied()
            .collect();
        for end in ends {
            if let Some(other) = self.links.remove(&end) {
                self.links.remove(&other);
                self.inflight.push_back(Delivery {
                    to: other.0,
                    input: Input::PeerDisconnected { link: other.1 },
                });
            }
        }
        self.inflight.retain(|d| d.to != id);
    }

    fn restart(&mut self, id: Id) {
        self.crash(id);
        self.start(id);
    }

    fn input(&mut self, id: Id, input: Input) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        node.handle(self.now, input);
        let mut outs = Vec::new();
        while let Some(o) = node.poll_output() {
            outs.push(o);
        }
        for o in outs {
            self.output(id, o);
        }
    }

    fn blocked(&self, from: Id, to: Id, msg: &PeerMessage) -> bool {
        self.drop_filters.iter().any(|f| f(from, to, msg))
    }

    fn output(&mut self, id: Id, o: Output) {
        match o {
            Output::Dial { link, peer, .. } => {
                let hello = PeerMessage::Heartbeat;
                if self.nodes.contains_key(&peer)
                    && !self.blocked(id, peer, &hello)
                    && !self.blocked(peer, id, &hello)
                {
                    let acc = LinkId::Accepted(self.next_accept);
                    self.next_accept += 1;
                    self.links.insert((id, link), (peer, acc));
                    self.links.insert((peer, acc), (id, link));
                    self.inflight.push_back(Delivery {
                        to: id,
                        input: Input::PeerConnected { link },
                    });
                    self.inflight.push_back(Delivery {
                        to: peer,
                        input: Input::PeerAccepted { link: acc },
                    });
                } else {
                    self.inflight.push_back(Delivery {
                        to: id,
                        input: Input::PeerDisconnected { link },
                    });
                }
            }
            Output::SendPeer { link, bytes } => {
                let Some(&(to, tlink)) = self.links.get(&(id, link)) else {
                    return;
                };
                let mut d = FrameDecoder::new(MAX_PEER_FRAME_BYTES);
                d.push(&bytes);
                let msg = d
                    .next_frame()
                    .and_then(|f| f.ok())
                    .and_then(|p| decode_peer_message(p).ok());
                if let Some(m) = &msg {
                    if self.blocked(id, to, m) {
                        return;
                    }
                    self.sent.push((id, to, m.clone()));
                }
                self.inflight.push_back(Delivery {
                    to,
                    input: Input::PeerBytes { link: tlink, bytes },
                });
            }
            Output::ClosePeer { link } => {
                if let Some(other) = self.links.remove(&(id, link)) {
                    self.links.remove(&other);
                    self.inflight.push_back(Delivery {
                        to: other.0,
                        input: Input::PeerDisconnected { link: other.1 },
                    });
                }
            }
            Output::Persist { seq, op } => {
                if let Some(d) = self.disks.get_mut(&id) {
                    d.queue.push_back((seq, op));
                }
            }
            // No ZooKeeper clients in these scenarios (the register-map service refuses them).
            Output::SendClient { .. } | Output::CloseClient { .. } | Output::ReadClient { .. } => {}
            Output::Event(e) => {
                match &e {
                    NodeEvent::TxnApplied {
                        zxid,
                        session_id,
                        cxid,
                    } => {
                        let first = *self.global.entry(*zxid).or_insert((*session_id, *cxid));
                        assert_eq!(
                            first,
                            (*session_id, *cxid),
                            "n{id} applied a different txn at {zxid:?}"
                        );
                    }
                    NodeEvent::WriteCommitted {
                        session_id,
                        cxid,
                        zxid,
                        ..
                    } => {
                        self.acked.push((*session_id, *cxid, *zxid));
                    }
                    _ => {}
                }
                self.events.entry(id).or_default().push(e);
            }
        }
    }

    /// Runs the disk of `id` until its queue is empty (unless held), acknowledging the last op.
    fn run_disk(&mut self, id: Id) -> bool {
        let Some(d) = self.disks.get_mut(&id) else {
            return false;
        };
        if d.held || d.queue.is_empty() {
            return false;
        }
        let mut last = 0;
        while let Some((seq, op)) = d.queue.pop_front() {
            d.exec(&op);
            last = seq;
        }
        self.input(id, Input::Persisted { seq: last });
        true
    }

    /// Executes only the first `k` queued ops of `id` (a crash will cut the rest).
    fn run_disk_ops(&mut self, id: Id, k: usize) {
        let d = self.disks.get_mut(&id).unwrap();
        for _ in 0..k {
            if let Some((_, op)) = d.queue.pop_front() {
                d.exec(&op);
            }
        }
    }

    fn step(&mut self) {
        if let Some(d) = self.inflight.pop_front() {
            self.input(d.to, d.input);
            return;
        }
        let ids: Vec<Id> = self.nodes.keys().copied().collect();
        let mut progressed = false;
        for id in &ids {
            progressed |= self.run_disk(*id);
        }
        if progressed {
            return;
        }
        let next = self.nodes.values().filter_map(|n| n.poll_timeout()).min();
        let next = next.unwrap_or(self.now.plus_millis(10)).max(self.now);
        self.now = next;
        for id in ids {
            if self
                .nodes
                .get(&id)
                .and_then(|n| n.poll_timeout())
                .is_some_and(|t| t <= self.now)
            {
                self.input(id, Input::Timeout);
            }
        }
    }

    fn run_until(&mut self, what: &str, limit_ms: u64, pred: impl Fn(&Cluster) -> bool) {
        let until = self.now.plus_millis(limit_ms);
        for _ in 0..2_000_000 {
            if pred(self) {
                return;
            }
            if self.now > until {
                break;
            }
            self.step();
        }
        panic!(
            "not reached within {limit_ms} ms: {what}\n{}",
            self.describe()
        );
    }

    fn run_for(&mut self, ms: u64) {
        let until = self.now.plus_millis(ms);
        for _ in 0..2_000_000 {
            if self.now >= until {
                return;
            }
            self.step();
        }
    }

    fn describe(&self) -> String {
        self.nodes
            .iter()
            .map(|(id, n)| {
                let s = n.status();
                format!(
                    "n{id}: {:?} leader={:?} synced={} epochs={}/{} logged={:?} applied={:?}\n",
                    s.role,
                    s.leader,
                    s.synced,
                    s.accepted_epoch,
                    s.current_epoch,
                    s.last_zxid,
                    s.last_applied
                )
            })
            .collect()
    }

    fn leader(&self) -> Option<Id> {
        self.nodes
            .iter()
            .find(|(_, n)| n.status().role == Role::Leading && n.status().synced)
            .map(|(id, _)| *id)
    }

    fn all_synced(&self) -> bool {
        let Some(l) = self.leader() else { return false };
        self.nodes
            .values()
            .all(|n| n.status().synced && n.status().leader == Some(l))
    }

    fn wait_synced(&mut self) -> Id {
        self.run_until("every live node synced to one leader", 10_000, |c| {
            c.all_synced()
        });
        self.leader().unwrap()
    }

    fn submit(&mut self, id: Id, session: i64, cxid: i32, key: u64, value: u64) {
        self.input(
            id,
            Input::Submit {
                session_id: session,
                cxid,
                kind: 0,
                body: RegisterMap::write(key, value),
            },
        );
    }

    fn write_acked(&mut self, id: Id, session: i64, cxid: i32, key: u64, value: u64) -> Zxid {
        self.submit(id, session, cxid, key, value);
        self.run_until("write acknowledged", 5_000, |c| {
            c.acked.iter().any(|a| a.0 == session && a.1 == cxid)
        });
        self.acked
            .iter()
            .find(|a| a.0 == session && a.1 == cxid)
            .unwrap()
            .2
    }

    fn applied(&self, id: Id) -> Vec<Zxid> {
        self.events[&id]
            .iter()
            .filter_map(|e| match e {
                NodeEvent::TxnApplied { zxid, .. } => Some(*zxid),
                _ => None,
            })
            .collect()
    }

    fn value(&self, id: Id, key: u64) -> Option<u64> {
        self.nodes[&id].state_machine().get(key)
    }

    /// Every live node applied the same txns: equal digests at equal last_applied, and every
    /// acknowledged write is applied everywhere.
    fn assert_converged(&mut self) {
        self.run_until("every node applied the same history", 10_000, |c| {
            let s: BTreeSet<_> = c
                .nodes
                .values()
                .map(|n| (n.status().last_applied, n.status().digest))
                .collect();
            c.all_synced() && s.len() == 1
        });
        let last = self.nodes.values().next().unwrap().status().last_applied;
        for (session, cxid, z) in &self.acked {
            assert!(
                *z <= last,
                "acknowledged write {session}/{cxid} at {z:?} is past {last:?}"
            );
            assert_eq!(
                self.global.get(z),
                Some(&(*session, *cxid)),
                "acknowledged write lost or replaced"
            );
        }
    }

    /// A position in the message log; `since(mark)` is what was sent after it.
    fn mark(&self) -> usize {
        self.sent.len()
    }

    fn since(&self, mark: usize) -> &[(Id, Id, PeerMessage)] {
        &self.sent[mark.min(self.sent.len())..]
    }

    /// Runs until `leader` starts synchronizing `id`, then holds `id`'s disk before the sync
    /// packets arrive: they will be logged but not reach the disk.
    fn hold_disk_at_sync(&mut self, leader: Id, id: Id, mark: usize) {
        self.run_until("the leader starts syncing the learner", 10_000, |c| {
            c.since(mark)
                .iter()
                .any(|(f, t, m)| *f == leader && *t == id && matches!(m, PeerMessage::SyncBegin(_)))
        });
        self.disks.get_mut(&id).unwrap().held = true;
    }

    fn newleader_acked(&self, id: Id, mark: usize) -> bool {
        self.since(mark).iter().any(|(f, _, m)| {
            *f == id && matches!(m, PeerMessage::Ack { zxid } if zxid.counter() == 0)
        })
    }

    fn drop_when(&mut self, f: impl Fn(Id, Id, &PeerMessage) -> bool + 'static) {
        self.drop_filters.push(Box::new(f));
    }

    fn isolate(&mut self, id: Id) {
        self.drop_when(move |a, b, _| a == id || b == id);
        // Existing links die as a partition would eventually make them.
        let ends: Vec<(Id, LinkId)> = self
            .links
            .keys()
            .filter(|(a, _)| *a == id)
            .copied()
            .collect();
        for end in ends {
            if let Some(other) = self.links.remove(&end) {
                self.links.remove(&other);
                self.inflight.push_back(Delivery {
                    to: other.0,
                    input: Input::PeerDisconnected { link: other.1 },
                });
                self.inflight.push_back(Delivery {
                    to: end.0,
                    input: Input::PeerDisconnected { link: end.1 },
                });
            }
        }
    }

    fn heal(&mut self) {
        self.drop_filters.clear();
    }
}

fn tuning() -> Tuning {
    Tuning {
        commit_log_count: 500,
        log_segment_bytes: 8192,
        snap_count: 100_000,
        snap_retain: 3,
        max_pending_writes: 1000,
    }
}

fn is_proposal(m: &PeerMessage) -> bool {
    matches!(m, PeerMessage::Proposal(_))
}

/// ZOOKEEPER-2845 (and the 1549 class): txns a leader logged but never committed must not
/// survive in the state of that server once a new leader truncates them.
#[test]
fn zookeeper_2845_uncommitted_txns_are_truncated_not_applied() {
    let mut c = Cluster::new(3, tuning());
    let l = c.wait_synced();
    assert_eq!(l, 3);
    c.write_acked(1, 7, 1, 1, 10);
    // The leader logs a write nobody else receives, then dies.
    c.drop_when(|from, _, m| from == 3 && is_proposal(m));
    c.submit(3, 7, 2, 2, 20);
    c.run_for(50);
    let doomed = c.nodes[&3].status().last_zxid;
    c.crash(3);
    c.heal();
    // 1 and 2 elect 2 and move on with new writes.
    c.run_until("2 leads", 10_000, |c| c.leader() == Some(2));
    c.write_acked(2, 8, 1, 3, 30);
    c.start(3);
    c.assert_converged();
    assert_eq!(c.value(3, 2), None, "the uncommitted write must be gone");
    assert!(!c.applied(3).contains(&doomed));
    assert!(c.sent.iter().any(|(f, t, m)| *f == 2
        && *t == 3
        && matches!(m, PeerMessage::SyncBegin(SyncMode::Trunc { .. }))));
}

/// ZOOKEEPER-3911: a learner must not acknowledge NEWLEADER before the DIFF txns it was sent
/// are durable.
#[test]
fn zookeeper_3911_newleader_ack_waits_for_diff_txns_on_disk() {
    let mut c = Cluster::new(3, tuning());
    c.wait_synced();
    c.isolate(1);
    c.run_until("3 leads without 1", 10_000, |c| {
        c.leader() == Some(3) && c.nodes[&2].status().synced
    });
    for i in 0..5 {
        c.write_acked(3, 9, i, i as u64, 1);
    }
    // 1 comes back; its disk stalls as the DIFF arrives: it logs the txns but must not ack NEWLEADER.
    let mark = c.mark();
    c.heal();
    c.hold_disk_at_sync(3, 1, mark);
    c.run_for(300);
    assert!(
        c.since(mark)
            .iter()
            .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. })),
        "the DIFF and NEWLEADER were sent"
    );
    assert!(
        !c.newleader_acked(1, mark),
        "NEWLEADER acknowledged with the DIFF not yet on disk"
    );
    c.disks.get_mut(&1).unwrap().held = false;
    c.run_until("NEWLEADER acked after the disk caught up", 5_000, |c| {
        c.newleader_acked(1, mark)
    });
    c.assert_converged();
}

/// ZOOKEEPER-4643 / 4646 / 4785: a learner crashing at any point of its sync must never
/// hold the new currentEpoch without the synced txns behind it.
#[test]
fn zookeeper_4643_4646_4785_epoch_is_never_durable_before_the_synced_txns() {
    for cut in 0..16 {
        let mut c = Cluster::new(3, tuning());
        c.wait_synced();
        c.isolate(1);
        c.run_until("3 leads without 1", 10_000, |c| {
            c.leader() == Some(3) && c.nodes[&2].status().synced
        });
        for i in 0..4 {
            c.write_acked(3, 9, i, i as u64, 1);
        }
        let leader_last = c.nodes[&3].status().last_zxid;
        // 2 dies: 3 loses its quorum, and 1 and 3 establish a new epoch with 1 synced by DIFF.
        c.crash(2);
        let mark = c.mark();
        c.heal();
        c.hold_disk_at_sync(3, 1, mark);
        c.run_until("1 got NEWLEADER", 10_000, |c| {
            c.since(mark)
                .iter()
                .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. }))
        });
        c.run_for(50);
        let new_epoch = c.nodes[&1].status().accepted_epoch;
        assert!(new_epoch > leader_last.epoch());
        // Only the first `cut` ops of the sync reach the disk, then the machine dies.
        c.run_disk_ops(1, cut);
        c.crash(1);
        let state = DiskState::from_files(&c.disks[&1].listing()).expect("recovers");
        if state.current_epoch >= new_epoch {
            assert!(
                state.last_zxid >= leader_last,
                "cut {cut}: currentEpoch {} durable without the txns",
                state.current_epoch
            );
        }
        c.start(1);
        c.start(2);
        c.assert_converged();
    }
}

/// ZOOKEEPER-4685: a learner acknowledging a proposal before NEWLEADER must not make the
/// leader step down; Conclave learners never do it, and the leader ignores it if one did.
#[test]
fn zookeeper_4685_early_proposal_ack_is_ignored_not_fatal() {
    let mut c = Cluster::new(3, tuning());
    let l = c.wait_synced();
    c.write_acked(1, 5, 1, 1, 1);
    // Restart follower 1 while writes flow; check its ACK order during the sync.
    let mark = c.mark();
    c.restart(1);
    for i in 0..20 {
        c.submit(2, 6, i, 100 + i as u64, 1);
        c.run_for(5);
    }
    c.assert_converged();
    let acks: Vec<Zxid> = c
        .since(mark)
        .iter()
        .filter_map(|(f, _, m)| match m {
            PeerMessage::Ack { zxid } if *f == 1 => Some(*zxid),
            _ => None,
        })
        .collect();
    let newleader_ack = acks.iter().position(|z| z.counter() == 0).unwrap();
    assert_eq!(
        newleader_ack, 0,
        "a proposal ACK preceded the NEWLEADER ACK: {acks:?}"
    );
    assert!(
        acks.len() > 1,
        "proposals were acknowledged after the sync: {acks:?}"
    );
    assert_eq!(c.leader(), Some(l), "the leader stayed");
}

/// ZOOKEEPER-4712: appends still in flight when a follower steps down complete later; the
/// follower must still end up with exactly the leader's history.
#[test]
fn zookeeper_4712_late_appends_after_step_down_stay_consistent() {
    let mut c = Cluster::new(3, tuning());
    c.wait_synced();
    c.disks.get_mut(&1).unwrap().held = true;
    for i in 0..3 {
        c.submit(3, 4, i, i as u64, 9);
    }
    c.run_for(100);
    // The leader dies while 1 still has the proposals queued to disk.
    c.crash(3);
    c.run_for(300);
    c.disks.get_mut(&1).unwrap().held = false;
    c.run_until("a new leader", 10_000, |c| c.leader().is_some());
    c.write_acked(2, 4, 10, 50, 1);
    c.start(3);
    c.assert_converged();
}

/// ZOOKEEPER-3023 / 4394: proposals and commits arriving while a learner synchronizes (before
/// and after its NEWLEADER) are logged, acknowledged and applied in order.
#[test]
fn zookeeper_3023_4394_proposals_during_sync_are_kept_in_order() {
    let mut c = Cluster::new(3, tuning());
    c.wait_synced();
    c.crash(2);
    for i in 0..5 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    c.start(2);
    // Writes keep flowing while 2 syncs.
    for i in 5..40 {
        c.submit(3, 1, i, i as u64, 2);
        c.run_for(3);
    }
    c.assert_converged();
    let applied = c.applied(2);
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "applied out of order: {applied:?}"
    );
}

/// ZOOKEEPER-4925: a server synced by SNAP has no committed tail below the snapshot; when it
/// leads, a follower older than that snapshot must get SNAP, not a DIFF with a hole.
#[test]
fn zookeeper_4925_snap_synced_leader_never_diffs_across_its_snapshot() {
    let t = Tuning {
        commit_log_count: 3,
        ..tuning()
    };
    let mut c = Cluster::new(3, t);
    c.wait_synced();
    c.crash(1);
    c.crash(2);
    c.start(2);
    c.run_until("3 leads with 2", 10_000, |c| c.all_synced());
    for i in 0..20 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    // 1 is now far behind 3's committed tail: it gets SNAP.
    c.start(1);
    c.run_until("all synced", 10_000, |c| {
        c.all_synced() && c.nodes.len() == 3
    });
    assert!(c.sent.iter().any(|(f, t, m)| *f == 3
        && *t == 1
        && matches!(m, PeerMessage::SyncBegin(SyncMode::Snap { .. }))));
    // 2 falls behind; 3 dies; 1 (SNAP-synced) must lead and bring 2 up without a hole.
    c.crash(2);
    for i in 20..30 {
        c.write_acked(3, 1, i, i as u64, 1);
    }
    c.crash(3);
    c.start(2);
    c.run_until("1 leads", 10_000, |c| {
        c.leader() == Some(1) && c.all_synced()
    });
    c.start(3);
    c.assert_converged();
    for i in 0..30 {
        assert_eq!(c.value(2, i), Some(1), "key {i} missing on 2");
    }
}

/// ZOOKEEPER-5094: a TRUNC interrupted by the leader's death leaves no txn in memory that is
/// not on disk; the next election and sync see the truncated log.
#[test]
fn zookeeper_5094_interrupted_trunc_leaves_memory_and_disk_agreeing() {
    let mut c = Cluster::new(3, tuning());
    c.wait_synced();
    c.write_acked(2, 1, 1, 1, 1);
    // 3 logs a txn alone and dies.
    c.drop_when(|from, _, m| from == 3 && is_proposal(m));
    c.submit(3, 1, 2, 2, 2);
    c.run_for(50);
    c.crash(3);
    c.heal();
    c.run_until("2 leads", 10_000, |c| c.leader() == Some(2));
    c.write_acked(2, 1, 3, 3, 3);
    // 3 restarts; the leader sends TRUNC and then dies before NEWLEADER reaches 3.
    c.drop_when(|from, to, m| from == 2 && to == 3 && matches!(m, PeerMessage::NewLeader { .. }));
    c.start(3);
    c.run_until("3 got TRUNC", 10_000, |c| {
        c.sent.iter().any(|(f, t, m)| {
            *f == 2 && *t == 3 && matches!(m, PeerMessage::SyncBegin(SyncMode::Trunc { .. }))
        })
    });
    c.run_for(20);
    let mem = c.nodes[&3].status().last_zxid;
    c.crash(2);
    c.heal();
    let disk = DiskState::from_files(&c.disks[&3].listing())
        .unwrap()
        .last_zxid;
    assert!(disk <= mem.max(disk), "disk {disk:?} vs memory {mem:?}");
    c.start(2);
    c.assert_converged();
    assert_eq!(c.value(3, 2), None);
    assert_eq!(c.value(3, 3), Some(3));
}

/// ZOOKEEPER-1549 / 1653: a learner crashing between writing the SNAP snapshot and writing
/// currentEpoch restarts (no "epoch behind log" refusal) and rejoins with the right state.
#[test]
fn zookeeper_1549_1653_crash_between_snapshot_and_epoch_file() {
    let t = Tuning {
        commit_log_count: 2,
        ..tuning()
    };
    let mut c = Cluster::new(3, t);
    c.wait_synced();
    c.crash(1);
    for i in 0..10 {
        c.write_acked(3, 1, i, i as u64, 5);
    }
    // 2 dies too: 3 alone is no quorum; 1 returns and a new epoch syncs 1 by SNAP.
    c.crash(2);
    let mark = c.mark();
    c.start(1);
    c.hold_disk_at_sync(3, 1, mark);
    assert!(c
        .since(mark)
        .iter()
        .any(|(_, t, m)| *t == 1 && matches!(m, PeerMessage::SyncBegin(SyncMode::Snap { .. }))));
    c.run_until("1 got NEWLEADER", 10_000, |c| {
        c.since(mark)
            .iter()
            .any(|(f, t, m)| *f == 3 && *t == 1 && matches!(m, PeerMessage::NewLeader { .. }))
    });
    c.run_for(20);
    // Everything up to (not including) the epoch write reaches the disk.
    let new_epoch = c.nodes[&1].status().accepted_epoch;
    let d = c.disks.get_mut(&1).unwrap();
    let before_epochs = d
        .queue
        .iter()
        .position(
            |(_, op)| matches!(op, PersistOp::WriteEpochs { current, .. } if *current == new_epoch),
        )
        .expect("the epoch write is queued behind the snapshot");
    c.run_disk_ops(1, before_epochs);
    c.crash(1);
    let state =
        DiskState::from_files(&c.disks[&1].listing()).expect("restarts after a crash mid-sync");
    assert!(state.snapshot.is_some());
    assert!(state.current_epoch < new_epoch);
    c.start(1);
    c.start(2);
    c.assert_converged();
    for i in 0..10 {
        assert_eq!(c.value(1, i), Some(5));
    }
}

/// Every acknowledged write survives all servers crashing (unsynced bytes dropped) and
/// restarting from disk.
#[test]
fn acknowledged_writes_survive_a_whole_cluster_restart() {
    let mut c = Cluster::new(3, tuning());
    c.wait_synced();
    for i in 0..15 {
        let via = 1 + (i % 3) as u64;
        c.write_acked(via, 2, i, i as u64, 7);
    }
    for id in 1..=3 {
        c.crash(id);
    }
    for id in 1..=3 {
        c.start(id);
    }
    c.assert_converged();
    for i in 0..15 {
        assert_eq!(c.value(1, i), Some(7));
    }
}
