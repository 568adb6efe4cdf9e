//! Persist ops, their acknowledgements, snapshots and purging, and applying what is
//! committed: everything that waits for, or writes, the disk.

#[allow(unused_imports)]
use super::*;

impl<S: Service> Node<S> {
    pub(super) fn persist(
        &mut self,
        op: PersistOp,
        epochs: Option<(u32, u32)>,
        then: Option<AfterPersist>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.metrics.persist_ops += 1;
        if let PersistOp::Sync { file } = &op {
            if crate::codec::log::parse_log_file_name(file).is_some() {
                self.log_sync_inflight = Some(seq);
            }
            if self.timed_syncs.len() >= MAX_TIMED_SYNCS {
                self.timed_syncs.pop_front();
            }
            self.timed_syncs.push_back((seq, self.now, file.clone()));
        }
        if epochs.is_some() || then.is_some() {
            self.deferred.push_back(Deferred {
                seq,
                generation: self.generation,
                epochs,
                then,
            });
        }
        self.out.push_back(Output::Persist { seq, op });
    }

    /// Writes the applied state as `snapshot.<zxid>` (temp file, sync, rename).
    pub(super) fn write_snapshot(&mut self) {
        let zxid = self.log.last_applied();
        let name = snapshot_file_name(zxid);
        let tmp = format!("{name}.tmp");
        let bytes = frame_snapshot(zxid, self.sm.snapshot());
        self.persist(PersistOp::Create { file: tmp.clone() }, None, None);
        self.persist(
            PersistOp::Append {
                file: tmp.clone(),
                bytes,
            },
            None,
            None,
        );
        self.persist(PersistOp::Sync { file: tmp.clone() }, None, None);
        self.persist(
            PersistOp::Rename {
                from: tmp,
                to: name,
            },
            None,
            Some(AfterPersist::SnapshotDurable(zxid)),
        );
        self.applied_since_snapshot = 0;
        self.roll_snapshot_after();
    }

    /// Picks how many applied txns the next snapshot waits for: uniform in
    /// `[snap_count / 2, snap_count)` (ZooKeeper's `randRoll`), at least one.
    pub(super) fn roll_snapshot_after(&mut self) {
        let count = self.tuning.snap_count.max(1);
        let half = count / 2;
        self.snapshot_after = (half + self.snapshot_rng.below(count - half)).max(1);
    }

    pub(super) fn on_persisted(&mut self, now: Instant, seq: u64) {
        if self.log_sync_inflight.is_some_and(|s| s <= seq) {
            self.log_sync_inflight = None;
        }
        while self.timed_syncs.front().is_some_and(|(s, _, _)| *s <= seq) {
            let Some((_, at, file)) = self.timed_syncs.pop_front() else {
                break;
            };
            let took_ns = now.as_nanos().saturating_sub(at.as_nanos());
            self.metrics.fsync_time_us.add(took_ns / 1000);
            let took_ms = took_ns / 1_000_000;
            if took_ms >= SLOW_FSYNC_MS {
                self.out
                    .push_back(Output::Event(NodeEvent::SlowFsync { file, took_ms }));
            }
        }
        while self.deferred.front().is_some_and(|d| d.seq <= seq) {
            let Some(d) = self.deferred.pop_front() else {
                break;
            };
            // Memory follows the file, never the other way round (ZOOKEEPER-2307).
            if let Some((accepted, current)) = d.epochs {
                self.accepted_epoch = accepted;
                self.current_epoch = current;
            }
            let Some(then) = d.then else { continue };
            match then {
                // Durability is a fact whatever the role: record it, then tell whoever leads.
                AfterPersist::LogDurable(z) => self.log.mark_durable(z),
                AfterPersist::SnapshotDurable(z) => {
                    self.on_snapshot_durable(z);
                    continue;
                }
                _ if d.generation != self.generation => continue,
                _ => {}
            }
            self.with_ctx(now, |activity, ctx| match activity {
                Activity::Leading(l) => l.on_persisted(then, ctx),
                Activity::Learning(l) => l.on_persisted(then, ctx),
                _ => {}
            });
        }
    }

    pub(super) fn on_snapshot_durable(&mut self, zxid: Zxid) {
        self.out
            .push_back(Output::Event(NodeEvent::SnapshotTaken { zxid }));
        if !self.snapshots.contains(&zxid) {
            self.snapshots.push(zxid);
            self.snapshots.sort();
        }
        // Keep the newest few snapshots, and the log needed to replay after the oldest kept.
        let excess = self
            .snapshots
            .len()
            .saturating_sub(self.tuning.snap_retain.max(1));
        let old: Vec<Zxid> = self.snapshots.drain(..excess).collect();
        for z in old {
            self.persist(
                PersistOp::Remove {
                    file: snapshot_file_name(z),
                },
                None,
                None,
            );
        }
        if let Some(&oldest) = self.snapshots.first() {
            let mut ops = Vec::new();
            self.log.purge_before(oldest, &mut ops);
            for op in ops {
                self.persist(op, None, None);
            }
        }
    }

    /// Applies every committed txn in order, with its effects on this server (client replies,
    /// watch events, the acknowledgement of writes submitted here), then completes syncs.
    pub(super) fn apply_committed(&mut self, now: Instant) {
        let wall_ms = self.wall_ms(now);
        let serving = self.serving();
        let mut reconfigured = false;
        loop {
            let Node {
                log,
                sm,
                out,
                #[cfg(any(test, feature = "sim"))]
                local_writes,
                applied_since_snapshot,
                metrics,
                svc_buf,
                config,
                role,
                my_id,
                ..
            } = self;
            let Some(txn) = log.next_committed() else {
                break;
            };
            let h = txn.header;
            reconfigured |= h.kind == super::membership::RECONFIG_KIND;
            let result = sm.apply(&h, &txn.body);
            log.mark_applied(h.zxid);
            metrics.txns_applied += 1;
            *applied_since_snapshot += 1;
            out.push_back(Output::Event(NodeEvent::TxnApplied {
                zxid: h.zxid,
                session_id: h.session_id,
                cxid: h.cxid,
                kind: h.kind,
            }));
            let mut cx = ServiceCx {
                now,
                wall_ms,
                my_id: *my_id,
                role: *role,
                serving,
                last_applied: h.zxid,
                config,
                out: svc_buf,
            };
            sm.applied(&h, &result, &mut cx);
            #[cfg(any(test, feature = "sim"))]
            if local_writes.remove(&(h.session_id, h.cxid)) {
                out.push_back(Output::Event(NodeEvent::WriteCommitted {
                    session_id: h.session_id,
                    cxid: h.cxid,
                    zxid: h.zxid,
                    result: S::encode_outcome(&result),
                }));
            }
        }
        self.log.trim();
        if reconfigured {
            self.follow_membership(now, true);
        }
        for id in core::mem::take(&mut self.syncs_done) {
            self.with_service(now, |s, cx| s.sync_done(id, cx));
        }
        if self.applied_since_snapshot >= self.snapshot_after {
            self.write_snapshot();
        }
    }
}

#[cfg(test)]
#[path = "group_commit_tests.rs"]
mod group_commit_tests;

#[cfg(test)]
mod snapshot_roll_tests {
    use crate::node::{Node, Recovered, Tuning};
    use crate::{Config, Instant};
    use alloc::collections::BTreeSet;

    fn member(seed: u64, snap_count: u64) -> Node {
        let config = Config::from_zoo_cfg("clientPort=2181\n")
            .unwrap()
            .with_my_id(1)
            .unwrap();
        let tuning = Tuning {
            snap_count,
            ..Tuning::default()
        };
        Node::with_state_machine(config, Recovered::empty(), seed, Instant::ZERO, 0, tuning)
            .unwrap()
    }

    /// Members seeded apart snapshot at different txns, each threshold in
    /// `[snap_count / 2, snap_count)` and rolled again after every snapshot; a snap count of
    /// one still means a snapshot per txn.
    #[test]
    fn each_member_rolls_its_snapshot_threshold_between_half_and_the_full_snap_count() {
        let mut seen = BTreeSet::new();
        for seed in 1..=20 {
            let mut node = member(seed, 1000);
            for _ in 0..5 {
                assert!(
                    (500..1000).contains(&node.snapshot_after),
                    "{}",
                    node.snapshot_after
                );
                seen.insert(node.snapshot_after);
                node.roll_snapshot_after();
            }
        }
        assert!(seen.len() > 50, "thresholds barely vary: {seen:?}");
        assert_eq!(member(1, 1).snapshot_after, 1);
        assert_eq!(member(1, 0).snapshot_after, 1);
    }
}
