//! **Liveness after healing.** Once every fault has stopped and every crashed server has
//! restarted (`heal_at`), within the bound there is a leader that is `Leading` and synced, and
//! every live server is synced with `status.leader` naming it; it must still hold when the
//! run ends. With a client workload, the workload must also make progress: at least one write
//! is acknowledged (`WriteCommitted`) after `heal_at` and within the progress bound
//! ([`crate::options::PROGRESS_BOUND_MS`]).
//!
//! Source: Zab's liveness property (Zab paper §III: "if a quorum of processes is up and
//! can communicate, a leader is eventually established and followed") with ZooKeeper's
//! timing: links idle out after syncLimit, discovery gives up after initLimit, FLE decides
//! after the finalize wait. The bound is [`crate::options::LIVENESS_BOUND_MS`].

use conclave_core::{Role, ServerId, Status};

/// The server every live server follows, or why there is none.
pub fn serving_leader(statuses: &[Status]) -> Result<ServerId, String> {
    let leaders: Vec<ServerId> = statuses
        .iter()
        .filter(|s| s.role == Role::Leading && s.synced)
        .map(|s| s.my_id)
        .collect();
    let [leader] = leaders[..] else {
        return Err(format!(
            "{} synced leaders {leaders:?}; {}",
            leaders.len(),
            describe(statuses)
        ));
    };
    match statuses
        .iter()
        .find(|s| !s.synced || s.leader != Some(leader))
    {
        Some(_) => Err(format!(
            "leader n{leader}, but not all follow it; {}",
            describe(statuses)
        )),
        None => Ok(leader),
    }
}

fn describe(statuses: &[Status]) -> String {
    let mut out = String::from("status:");
    for s in statuses {
        // A learner synced with a server that is not leading any more is worth flagging.
        let stale = s.synced
            && matches!(s.role, Role::Following | Role::Observing)
            && s.leader.is_some_and(|l| {
                !statuses
                    .iter()
                    .any(|o| o.my_id == l && o.role == Role::Leading)
            });
        out.push_str(&format!(
            " n{}={:?}{}{}{}",
            s.my_id,
            s.role,
            s.leader.map(|l| format!("(n{l})")).unwrap_or_default(),
            if s.synced { "+synced" } else { "" },
            if stale { "[leader gone]" } else { "" }
        ));
    }
    out
}

/// Tracks when the healed cluster first settled.
#[derive(Clone, Debug)]
pub struct Liveness {
    heal_at_ns: u64,
    bound_ns: u64,
    settled_at_ns: Option<u64>,
    progress_bound_ns: Option<u64>,
    progress_at_ns: Option<u64>,
}

impl Liveness {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "liveness";

    /// A checker for a run healing at `heal_at_ns` with the bound `bound_ms`; with
    /// `progress_bound_ms`, a write must also be acknowledged within it after healing.
    pub fn new(heal_at_ns: u64, bound_ms: u64, progress_bound_ms: Option<u64>) -> Liveness {
        Liveness {
            heal_at_ns,
            bound_ns: bound_ms.saturating_mul(1_000_000),
            settled_at_ns: None,
            progress_bound_ns: progress_bound_ms.map(|ms| ms.saturating_mul(1_000_000)),
            progress_at_ns: None,
        }
    }

    /// When the workload must have made progress, ns (if there is a workload).
    pub fn progress_deadline_ns(&self) -> Option<u64> {
        self.progress_bound_ns
            .map(|b| self.heal_at_ns.saturating_add(b))
    }

    /// A write was acknowledged at `now_ns`.
    pub fn write_committed(&mut self, now_ns: u64) {
        if now_ns >= self.heal_at_ns && self.progress_at_ns.is_none() {
            self.progress_at_ns = Some(now_ns);
        }
    }

    /// From healing to the first acknowledged write after it, ms.
    pub fn progress_ms(&self) -> Option<u64> {
        self.progress_at_ns
            .map(|t| (t - self.heal_at_ns) / 1_000_000)
    }

    /// Checks the progress deadline at `now_ns`.
    pub fn check_progress(&self, now_ns: u64) -> Result<(), String> {
        match self.progress_deadline_ns() {
            Some(deadline) if now_ns >= deadline && self.progress_at_ns.is_none() => Err(format!(
                "no write acknowledged within {} ms after healing",
                self.progress_bound_ns.unwrap_or(0) / 1_000_000
            )),
            _ => Ok(()),
        }
    }

    /// When the cluster must have settled, ns.
    pub fn deadline_ns(&self) -> u64 {
        self.heal_at_ns.saturating_add(self.bound_ns)
    }

    /// When the cluster first settled after healing, ns.
    pub fn settled_at_ns(&self) -> Option<u64> {
        self.settled_at_ns
    }

    /// From healing to settled, ms.
    pub fn settle_ms(&self) -> Option<u64> {
        self.settled_at_ns
            .map(|t| (t - self.heal_at_ns) / 1_000_000)
    }

    /// Looks at the live servers' statuses at `now_ns` (call whenever a role may have changed).
    pub fn check(&mut self, now_ns: u64, statuses: &[Status]) -> Result<(), String> {
        if now_ns < self.heal_at_ns || self.settled_at_ns.is_some() {
            return Ok(());
        }
        match serving_leader(statuses) {
            Ok(_) => {
                self.settled_at_ns = Some(now_ns);
                Ok(())
            }
            Err(why) if now_ns >= self.deadline_ns() => Err(format!(
                "no synced leader followed by every live server {} ms after healing: {why}",
                self.bound_ns / 1_000_000
            )),
            Err(_) => Ok(()),
        }
    }

    /// The run ends at `now_ns`: the settled cluster must still be settled.
    pub fn finish(&mut self, now_ns: u64, statuses: &[Status]) -> Result<(), String> {
        self.check(now_ns, statuses)?;
        self.check_progress(now_ns)?;
        if self.settled_at_ns.is_none() {
            // The run ended before the deadline: nothing to require yet.
            return Ok(());
        }
        serving_leader(statuses).map(|_| ()).map_err(|why| {
            format!("the cluster settled, then lost its leader by the end of the run: {why}")
        })
    }
}
