//! One server's disk: the durable epoch files and last zxid, plus the writes in flight.
//!
//! Writes complete in `seq` order after a latency (0.2–5 ms, one in twenty takes 50 ms) and
//! are acknowledged cumulatively: when several complete at the same instant only the
//! highest `seq` is reported. A crash keeps a random prefix of the unacknowledged writes —
//! each `WriteEpochs` is atomic (temp file + rename), so a write is all there or absent.

use std::collections::VecDeque;

use conclave_core::rng::Prng;
use conclave_core::{Input, PersistOp, Recovered};

const NS_PER_MS: u64 = 1_000_000;

#[derive(Clone, Debug)]
struct Pending {
    seq: u64,
    op: PersistOp,
    done_at: u64,
    fails: bool,
}

/// The disk model of one server (it survives crashes; the process does not).
#[derive(Clone, Debug)]
pub(crate) struct Disk {
    durable: Recovered,
    pending: VecDeque<Pending>,
    last_done: u64,
}

impl Disk {
    /// A disk holding `durable`.
    pub(crate) fn new(durable: Recovered) -> Disk {
        Disk {
            durable,
            pending: VecDeque::new(),
            last_done: 0,
        }
    }

    /// What a process starting now would recover.
    pub(crate) fn durable(&self) -> Recovered {
        self.durable
    }

    /// Queues a write; returns when it completes (ns), for the caller to schedule.
    ///
    /// With `fail_ppm` chance the write will fail instead (`PersistFailed`).
    pub(crate) fn submit(
        &mut self,
        now: u64,
        seq: u64,
        op: PersistOp,
        rng: &mut Prng,
        fail_ppm: u32,
    ) -> u64 {
        let latency = if rng.chance(50_000) {
            50 * NS_PER_MS
        } else {
            rng.range_inclusive(200_000, 5 * NS_PER_MS)
        };
        // One disk thread: writes finish in order.
        let done_at = self.last_done.max(now + latency);
        self.last_done = done_at;
        let fails = fail_ppm > 0 && rng.chance(fail_ppm);
        self.pending.push_back(Pending {
            seq,
            op,
            done_at,
            fails,
        });
        done_at
    }

    /// Completes every write due by `now`; returns what to tell the node, in order.
    pub(crate) fn complete(&mut self, now: u64, out: &mut Vec<Input>) {
        let mut acked = None;
        while self.pending.front().is_some_and(|p| p.done_at <= now) {
            let Some(p) = self.pending.pop_front() else {
                break;
            };
            if p.fails {
                if let Some(seq) = acked.take() {
                    out.push(Input::Persisted { seq });
                }
                out.push(Input::PersistFailed {
                    seq: p.seq,
                    error: String::from("simulated EIO from fsync"),
                });
                // The process stops serving: nothing after the failed write reaches the disk.
                self.pending.clear();
                return;
            }
            self.apply(&p.op);
            acked = Some(p.seq);
        }
        if let Some(seq) = acked {
            out.push(Input::Persisted { seq });
        }
    }

    /// The process died: a random prefix of the unacknowledged writes made it to disk.
    ///
    /// Returns how many of them survived.
    pub(crate) fn crash(&mut self, rng: &mut Prng) -> usize {
        let keep = rng.below(self.pending.len() as u64 + 1) as usize;
        // The queue dies with the process: the next incarnation's writes start afresh.
        self.last_done = 0;
        let survivors: Vec<Pending> = self.pending.drain(..).take(keep).collect();
        for p in &survivors {
            if p.fails {
                break;
            }
            self.apply(&p.op);
        }
        survivors.iter().take_while(|p| !p.fails).count()
    }

    fn apply(&mut self, op: &PersistOp) {
        match op {
            PersistOp::WriteEpochs { accepted, current } => {
                self.durable.accepted_epoch = *accepted;
                self.durable.current_epoch = *current;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::Zxid;

    fn op(a: u32, c: u32) -> PersistOp {
        PersistOp::WriteEpochs {
            accepted: a,
            current: c,
        }
    }

    #[test]
    fn in_order_cumulative_acks() {
        let mut d = Disk::new(Recovered::empty());
        let mut rng = Prng::new(1);
        let t1 = d.submit(0, 1, op(1, 0), &mut rng, 0);
        let t2 = d.submit(0, 2, op(1, 1), &mut rng, 0);
        assert!(t2 >= t1);
        let mut out = Vec::new();
        d.complete(t2, &mut out);
        assert_eq!(out, vec![Input::Persisted { seq: 2 }]);
        assert_eq!(d.durable().current_epoch, 1);
    }

    #[test]
    fn crash_keeps_a_prefix() {
        let start = Recovered {
            accepted_epoch: 1,
            current_epoch: 1,
            last_zxid: Zxid::new(1, 3),
        };
        for seed in 0..50 {
            let mut d = Disk::new(start);
            let mut rng = Prng::new(seed);
            d.submit(0, 1, op(2, 1), &mut rng, 0);
            d.submit(0, 2, op(2, 2), &mut rng, 0);
            let kept = d.crash(&mut rng);
            let expect = [(1, 1), (2, 1), (2, 2)][kept];
            assert_eq!(
                (d.durable().accepted_epoch, d.durable().current_epoch),
                expect
            );
            assert_eq!(d.durable().last_zxid, Zxid::new(1, 3));
        }
    }
}
