//! What one simulation run is made of: cluster shape, duration, faults.

/// Milliseconds after `heal_at` within which a synced leader must serve every live node.
///
/// Derived from the core's timeouts for a correct core: links that died during the chaos
/// phase are noticed within the idle limit (syncLimit × tickTime = 1 s, checked every
/// 100 ms; a broken TCP stream also resets within 1–4 s, or at once when a rebooted machine
/// answers with RST); a peer is redialled within the back-off cap (1 s + 50 % jitter = 1.5 s,
/// plus ≤ 0.5 s for a connect attempt that was timing out at `heal_at`), so every link is up
/// by `heal_at` + ~2 s. An election then takes the 200 ms finalize wait plus a few latencies;
/// one failed discovery costs initLimit (2 s) and a second election another ~0.3 s:
/// 2 + 0.3 + 2 + 0.3 ≈ 4.6 s, and 6 s leaves margin for jitter and slow links.
/// Measured on the current core (3000 seeds, liveness window lifted): p50 0.7 s, p90 3.9 s,
/// 83 % within 6 s — the tail comes from core liveness bugs, not from this bound.
pub const LIVENESS_BOUND_MS: u64 = 6_000;

/// Milliseconds after `heal_at` within which the client workload must see a write
/// acknowledged (`WriteCommitted`).
///
/// A write needs a serving leader (within [`LIVENESS_BOUND_MS`]) and a client that submits to
/// a synced server: a client still waiting on a write it sent before healing gives up after
/// [`CLIENT_TIMEOUT_MS`], then retries every 5–50 ms, and a server that is not serving
/// answers at once. 6 s + 2 s = 8 s. Measured over 2000 seeds × 60 s: see the crate README
/// figures printed by `sim` (`progress:` line).
pub const PROGRESS_BOUND_MS: u64 = LIVENESS_BOUND_MS + CLIENT_TIMEOUT_MS;

/// What the ZooKeeper workload adds to [`LIVENESS_BOUND_MS`] for its progress bound: a client
/// gives a silent connection up after 2/3 of its 4 s session timeout (2.7 s), redials, and may
/// have to open a new session when the old one expired (one more write to commit).
pub const ZK_PROGRESS_EXTRA_MS: u64 = 4_000;

/// A client gives up on a write after this long (treating its fate as unknown), ms.
pub const CLIENT_TIMEOUT_MS: u64 = 2_000;

/// Clients stop submitting this long before the end of the run, so that every acknowledged
/// write has reached every synced server when the end-of-run checks run (ms).
pub const QUIESCE_MS: u64 = 1_500;

/// The simulated seconds of `--soak` when `--sim-secs` is not given.
pub const SOAK_SIM_SECS: f64 = 600.0;

/// What drives the cluster besides faults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Workload {
    /// ZooKeeper clients speaking the jute protocol to `Node<ZkService>` (what ships): sessions,
    /// pipelined requests, reconnects, expiry, ephemerals, sequentials, multi, watches, sync.
    #[default]
    Zk,
    /// The register map (simulator-only service): clients submit writes through
    /// `Input::Submit`; ZAB broadcast with the least service logic in the way.
    Zab,
    /// No client; every server starts from a random pre-history (election only, ZooKeeper
    /// service).
    Election,
}

impl Workload {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Zk => "zk",
            Workload::Zab => "zab",
            Workload::Election => "election",
        }
    }

    /// The service the servers run.
    pub fn service(self) -> crate::server_node::ServiceKind {
        match self {
            Workload::Zab => crate::server_node::ServiceKind::RegisterMap,
            Workload::Zk | Workload::Election => crate::server_node::ServiceKind::ZooKeeper,
        }
    }
}

/// The liveness phase never gets less than this (ms): `heal_at` is moved earlier if needed.
pub const MIN_LIVENESS_PHASE_MS: u64 = 10_000;

/// Message, disk and node faults, as probabilities in parts per million.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultOptions {
    /// Master switch: `false` turns every fault below off (the "no faults" mode).
    pub enabled: bool,
    /// Per `SendPeer`: deliver the frame twice.
    pub duplicate_ppm: u32,
    /// Per `SendPeer`: flip one byte of the frame.
    pub corrupt_ppm: u32,
    /// Per `SendPeer`: reset the connection (both ends see `PeerDisconnected`).
    pub reset_ppm: u32,
    /// Per `SendPeer`: deliver the bytes in two pieces.
    pub split_ppm: u32,
    /// Per `Persist`: the write fails (`PersistFailed`; the node halts and is restarted later).
    pub persist_fail_ppm: u32,
    /// Mean gap between two chaos actions (crash, partition, heal, slow spell), ms.
    pub chaos_mean_gap_ms: u64,
}

impl FaultOptions {
    /// No faults at all: only latency, jitter and disk latency remain.
    pub fn none() -> FaultOptions {
        FaultOptions {
            enabled: false,
            duplicate_ppm: 0,
            corrupt_ppm: 0,
            reset_ppm: 0,
            split_ppm: 0,
            persist_fail_ppm: 0,
            chaos_mean_gap_ms: 0,
        }
    }
}

impl Default for FaultOptions {
    /// The chaos mix used by the `sim` binary and the seed tests.
    fn default() -> FaultOptions {
        FaultOptions {
            enabled: true,
            duplicate_ppm: 2_000,
            corrupt_ppm: 500,
            reset_ppm: 500,
            split_ppm: 5_000,
            // Per op: a txn costs each server ~2 ops (append, sync), so 0.1 % halts a busy
            // server every few hundred writes.
            persist_fail_ppm: 1_000,
            chaos_mean_gap_ms: 1_200,
        }
    }
}

/// Everything that defines one run; with the seed, it fixes the run completely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimOptions {
    /// The master seed: every random choice of the run derives from it.
    pub seed: u64,
    /// Voting members (3..=9), ids `1..=voters`.
    pub voters: usize,
    /// Observers, ids `voters+1..=voters+observers`.
    pub observers: usize,
    /// Simulated duration, ms.
    pub sim_ms: u64,
    /// Faults to inject during the chaos phase.
    pub faults: FaultOptions,
    /// Keep a human-readable log of every node event and fault ([`crate::RunReport::log`]).
    pub verbose: bool,
    /// The liveness bound after healing, ms.
    pub liveness_bound_ms: u64,
    /// What drives the cluster.
    pub workload: Workload,
    /// Dynamic reconfiguration on: the ZooKeeper clients also remove, add and re-role
    /// members (`reconfig`) while the faults run.
    pub reconfig: bool,
}

impl SimOptions {
    /// A run of `voters` voters for `sim_ms` with the default faults.
    pub fn new(seed: u64, voters: usize, sim_ms: u64) -> SimOptions {
        SimOptions {
            seed,
            voters,
            observers: 0,
            sim_ms,
            faults: FaultOptions::default(),
            verbose: false,
            liveness_bound_ms: LIVENESS_BOUND_MS,
            workload: Workload::Zk,
            reconfig: false,
        }
    }

    /// The same run with dynamic reconfiguration among the client requests.
    pub fn with_reconfig(mut self) -> SimOptions {
        self.reconfig = true;
        self
    }

    /// The same run with another workload.
    pub fn with_workload(mut self, workload: Workload) -> SimOptions {
        self.workload = workload;
        self
    }

    /// The progress bound after healing (ms), when there is a client workload.
    pub fn progress_bound_ms(&self) -> Option<u64> {
        let extra = match self.workload {
            Workload::Zab => PROGRESS_BOUND_MS - LIVENESS_BOUND_MS,
            // A client finds a dead connection after 2/3 of its session timeout, then may
            // need a new session.
            Workload::Zk => ZK_PROGRESS_EXTRA_MS,
            Workload::Election => return None,
        };
        Some(self.liveness_bound_ms.saturating_add(extra))
    }

    /// The same run without any fault.
    pub fn without_faults(mut self) -> SimOptions {
        self.faults = FaultOptions::none();
        self
    }

    /// The same run with `observers` observers added.
    pub fn with_observers(mut self, observers: usize) -> SimOptions {
        self.observers = observers;
        self
    }

    /// When faults stop, everything heals and crashed nodes restart (ms).
    ///
    /// 70 % of the run, but never leaving less than [`MIN_LIVENESS_PHASE_MS`] for liveness.
    pub fn heal_at_ms(&self) -> u64 {
        if !self.faults.enabled {
            return 0;
        }
        (self.sim_ms * 7 / 10).min(self.sim_ms.saturating_sub(MIN_LIVENESS_PHASE_MS))
    }

    /// All server ids, voters first.
    pub fn ids(&self) -> impl Iterator<Item = u64> {
        1..=(self.voters + self.observers) as u64
    }
}
