//! The chaos phase's fault schedule: one action every ~`chaos_mean_gap_ms`, drawn from the
//! seed's chaos stream. Crashes come with their restart, partitions and pauses with their end, so
//! the cluster keeps churning instead of ratcheting down to nothing.

use std::fmt;

use conclave_core::rng::Prng;
use conclave_core::ServerId;

use crate::network::CrashMode;

const MS: u64 = 1_000_000;

/// How a partition cuts the ensemble.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PartitionKind {
    /// Two groups that cannot talk either way.
    Halves,
    /// One server cut off from all others.
    Isolate,
    /// Group A's packets to group B are dropped; B → A still flows.
    OneWay,
}

/// One chaos action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Take a server down, bring it back after `restart_after` ns.
    Crash {
        /// Who.
        node: ServerId,
        /// Process kill or machine down.
        mode: CrashMode,
        /// Downtime, ns.
        restart_after: u64,
    },
    /// Block the listed directions for `heal_after` ns.
    Partition {
        /// Its shape.
        kind: PartitionKind,
        /// Blocked (from, to) directions.
        pairs: Vec<(ServerId, ServerId)>,
        /// Duration, ns.
        heal_after: u64,
    },
    /// End every partition now.
    HealPartitions,
    /// Freeze a server process (GC pause, SIGSTOP, VM steal) for `duration` ns: no input and
    /// no timer reaches it meanwhile; what arrived is delivered, late, when it resumes.
    Pause {
        /// Who.
        node: ServerId,
        /// How long, ns.
        duration: u64,
    },
    /// Segments `from` → `to` take `extra` ns longer for `duration` ns.
    Slow {
        /// Sender.
        from: ServerId,
        /// Receiver.
        to: ServerId,
        /// Added latency, ns.
        extra: u64,
        /// How long, ns.
        duration: u64,
    },
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Crash {
                node,
                mode,
                restart_after,
            } => write!(f, "crash n{node} ({mode:?}) for {}ms", restart_after / MS),
            Fault::Partition {
                kind,
                pairs,
                heal_after,
            } => {
                write!(f, "partition {kind:?} for {}ms, blocked:", heal_after / MS)?;
                for (a, b) in pairs {
                    write!(f, " {a}->{b}")?;
                }
                Ok(())
            }
            Fault::HealPartitions => write!(f, "heal all partitions"),
            Fault::Pause { node, duration } => {
                write!(f, "pause n{node} for {}ms", duration / MS)
            }
            Fault::Slow {
                from,
                to,
                extra,
                duration,
            } => write!(
                f,
                "slow spell n{from}->n{to} +{}ms for {}ms",
                extra / MS,
                duration / MS
            ),
        }
    }
}

/// The gap before the next chaos action, ns: uniform in [mean/4, 7·mean/4].
pub(crate) fn next_gap(rng: &mut Prng, mean_ms: u64) -> u64 {
    let mean = mean_ms.max(1) * MS;
    rng.range_inclusive(mean / 4, mean * 7 / 4)
}

fn shuffled(rng: &mut Prng, ids: &[ServerId]) -> Vec<ServerId> {
    let mut v = ids.to_vec();
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
    v
}

fn cut(a: &[ServerId], b: &[ServerId], both_ways: bool) -> Vec<(ServerId, ServerId)> {
    let mut pairs = Vec::new();
    for &x in a {
        for &y in b {
            pairs.push((x, y));
            if both_ways {
                pairs.push((y, x));
            }
        }
    }
    pairs
}

/// Draws the next action among `ids`; `up` are the servers currently running.
pub(crate) fn draw(rng: &mut Prng, ids: &[ServerId], up: &[ServerId]) -> Fault {
    let roll = rng.below(100);
    if roll < 25 && !up.is_empty() {
        let node = up[rng.below(up.len() as u64) as usize];
        let mode = if rng.chance(500_000) {
            CrashMode::Process
        } else {
            CrashMode::Machine
        };
        return Fault::Crash {
            node,
            mode,
            restart_after: rng.range_inclusive(300 * MS, 4_000 * MS),
        };
    }
    if roll < 55 {
        let order = shuffled(rng, ids);
        let heal_after = rng.range_inclusive(500 * MS, 5_000 * MS);
        let (kind, split) = match rng.below(3) {
            0 => (
                PartitionKind::Halves,
                rng.range_inclusive(1, ids.len() as u64 - 1) as usize,
            ),
            1 => (PartitionKind::Isolate, 1),
            _ => (
                PartitionKind::OneWay,
                rng.range_inclusive(1, ids.len() as u64 - 1) as usize,
            ),
        };
        let (a, b) = order.split_at(split);
        return Fault::Partition {
            kind,
            pairs: cut(a, b, kind != PartitionKind::OneWay),
            heal_after,
        };
    }
    if roll < 65 {
        return Fault::HealPartitions;
    }
    if roll < 80 && !up.is_empty() {
        return Fault::Pause {
            node: up[rng.below(up.len() as u64) as usize],
            duration: rng.range_inclusive(100 * MS, 3_000 * MS),
        };
    }
    let from = ids[rng.below(ids.len() as u64) as usize];
    let others: Vec<ServerId> = ids.iter().copied().filter(|&x| x != from).collect();
    let to = others[rng.below(others.len() as u64) as usize];
    Fault::Slow {
        from,
        to,
        extra: rng.range_inclusive(50 * MS, 400 * MS),
        duration: rng.range_inclusive(200 * MS, 2_000 * MS),
    }
}
