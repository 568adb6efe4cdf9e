//! The world a leader or learner handler runs in, for their exact-output tests: a log holding a
//! given history, the register map, the quorum {1, 2, 3} and the collected outputs.

use alloc::vec::Vec;

use super::{Ctx, History, ReplicaLog, Timing, ZabOutput};
use crate::codec::{Txn, TxnHeader};
use crate::ids::Zxid;
use crate::quorum::Majority;
use crate::time::Instant;
use crate::zab::RegisterMap;

pub(super) fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

pub(super) const TIMING: Timing = Timing {
    init_limit_ms: 2000,
    sync_limit_ms: 1000,
    ping_ms: 100,
};

pub(super) fn h(accepted_epoch: u32, current_epoch: u32, last_zxid: Zxid) -> History {
    History {
        accepted_epoch,
        current_epoch,
        last_zxid,
    }
}

pub(super) fn txn(epoch: u32, counter: u32) -> Txn {
    Txn {
        header: TxnHeader {
            zxid: Zxid::new(epoch, counter),
            session_id: 9,
            cxid: counter as i32,
            time_ms: 0,
            kind: 0,
        },
        body: RegisterMap::write(counter as u64, 1).into(),
    }
}

pub(super) struct World {
    pub(super) log: ReplicaLog,
    pub(super) sm: RegisterMap,
    pub(super) q: Majority,
    pub(super) out: Vec<ZabOutput>,
    pub(super) now: Instant,
}

impl World {
    /// A world whose log durably holds `history`.
    pub(super) fn new(history: &[Txn]) -> World {
        let mut log = ReplicaLog::new(Vec::new(), Zxid::ZERO, Vec::new(), 100, 1 << 20);
        for t in history {
            log.append(t.clone(), &mut Vec::new()).unwrap();
        }
        log.flush(&mut Vec::new());
        log.mark_durable(log.last_logged());
        World {
            log,
            sm: RegisterMap::default(),
            q: Majority::new([1, 2, 3]),
            out: Vec::new(),
            now: ms(0),
        }
    }

    pub(super) fn ctx(&mut self) -> Ctx<'_> {
        Ctx {
            now: self.now,
            quorum: &self.q,
            log: &mut self.log,
            sm: &mut self.sm,
            out: &mut self.out,
        }
    }

    pub(super) fn take(&mut self) -> Vec<ZabOutput> {
        core::mem::take(&mut self.out)
    }
}
