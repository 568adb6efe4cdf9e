//! One seed's run: the nodes, the clock, the network, the disks, the faults, the checks.

use std::mem;

use conclave_core::rng::Prng;
use conclave_core::Tuning;
use conclave_core::{Input, Instant, NodeEvent, Output, Recovered, Role, ServerId, Status, Zxid};

use crate::chaos::{self, Fault};
use crate::client_net::Arrival;
use crate::clock::Clock;
use crate::disk::Disk;
use crate::ensemble::{pre_history_cxid, random_disk, Ensemble};
use crate::events::Event;
use crate::history::Position;
use crate::invariants::{serving_leader, Broken, Invariants, Liveness};
use crate::network::{CrashMode, Network};
use crate::options::{SimOptions, Workload, CLIENT_TIMEOUT_MS, QUIESCE_MS};
use crate::queue::EventQueue;
use crate::report::RunReport;
use crate::server_node::{ServerNode, ServiceKind};
use crate::timeline::Timeline;
use crate::trace::Trace;
use crate::violation::Violation;
use crate::workload::{Clients, Outcome, WorkloadStats};
use crate::zk_workload::{ZkStats, ZkWorkload};

const MS: u64 = 1_000_000;

/// Steps allowed at one instant before the run is declared stuck (a timer that keeps
/// re-arming in the past, or an event storm that never lets time advance).
const MAX_STEPS_PER_INSTANT: u64 = 1_000_000;

/// Name under which simulator-level failures (stuck clock, core panic) are reported.
pub const SIMULATOR: &str = "simulator";

/// Name under which a data directory the core cannot restart from is reported: the core must
/// always be able to recover from what it wrote, whatever a crash did to unsynced bytes.
pub const RECOVERY: &str = "recovery";

/// Name under which a `Persist` op no file system could carry out (appending to, syncing,
/// truncating or renaming a file that does not exist) is reported.
pub const PERSIST_OP: &str = "persist_op";

/// How often each server is handed a fresh `WallClock` reading, ns.
const WALL_TICK_NS: u64 = 1_000 * MS;

/// Search steps the linearizability checker may spend on one register's history; past it the
/// register counts as unknown (reported), never as passed.
const LINEARIZABILITY_BUDGET: u64 = 2_000_000;

/// Fraction of `zab`-workload seeds (per million) whose servers start from a random
/// pre-history instead of empty data directories.
const PRE_HISTORY_PPM: u32 = 250_000;

struct Slot {
    id: ServerId,
    /// 0 before the first start; +1 on every (re)start.
    inc: u64,
    node: Option<ServerNode>,
    /// The node's `poll_timeout`, ns.
    timeout: Option<u64>,
    disk: Disk,
    initial: Recovered,
    clock: Clock,
    /// Frozen: inputs wait in `backlog`, timers do not fire.
    paused: bool,
    /// A machine crash waits for the next persist op (then strikes while it is in flight);
    /// the value is the downtime, ns.
    crash_on_write: Option<u64>,
    backlog: Vec<Input<'static>>,
}

/// A deterministic run of one ensemble under one master seed.
pub struct Simulation {
    opts: SimOptions,
    ensemble: Ensemble,
    now: u64,
    end_at: u64,
    heal_at: u64,
    healed: bool,
    queue: EventQueue,
    slots: Vec<Slot>,
    network: Network,
    node_seeds: Prng,
    chaos_rng: Prng,
    disk_rng: Prng,
    invariants: Invariants,
    trace: Trace,
    violation: Option<Violation>,
    finished: bool,
    /// A role or sync state may have changed: re-evaluate liveness.
    dirty: bool,
    steps: u64,
    steps_at_instant: u64,
    current: Option<ServerId>,
    outputs: Vec<Output>,
    halted: Vec<ServerId>,
    elections: u64,
    establishments: u64,
    crashes: u64,
    partitions: u64,
    pauses: u64,
    snapshots: u64,
    first_leader_ns: Option<u64>,
    tuning: Tuning,
    clients: Option<Clients>,
    /// The ZooKeeper clients (the `zk` workload).
    zk: Option<ZkWorkload>,
    /// What the servers run.
    service: ServiceKind,
    /// The picture of the run, when asked for ([`Simulation::record_timeline`]).
    timeline: Option<Timeline>,
    /// A `TxnApplied` or a snapshot install was drained: compare status with the sequence.
    applied_in_drain: bool,
}

/// Draws the core's tunables for one run: small, so logs roll, snapshots are taken and
/// purged, and lagging learners need SNAP sync.
fn draw_tuning(rng: &mut Prng) -> Tuning {
    Tuning {
        commit_log_count: rng.range_inclusive(20, 100) as usize,
        log_segment_bytes: rng.range_inclusive(4_096, 16_384),
        snap_count: rng.range_inclusive(30, 200),
        snap_retain: rng.range_inclusive(2, 3) as usize,
        max_pending_writes: Tuning::default().max_pending_writes,
    }
}

impl Simulation {
    /// Sets up the ensemble, its disks and the schedule; nothing runs until [`Simulation::step`].
    ///
    /// Panics if `opts.voters` is 0 (the generated `zoo.cfg` would have no voter).
    pub fn new(opts: SimOptions) -> Simulation {
        let ensemble = Ensemble::new(opts.voters, opts.observers, opts.reconfig);
        let ids: Vec<ServerId> = opts.ids().collect();
        // One child stream per concern, so a change in one model does not reshuffle the others.
        let mut master = Prng::new(opts.seed);
        let mut disk_init = Prng::new(master.next_u64());
        let mut starts = Prng::new(master.next_u64());
        let net_rng = Prng::new(master.next_u64());
        let node_seeds = Prng::new(master.next_u64());
        let mut chaos_rng = Prng::new(master.next_u64());
        let disk_rng = Prng::new(master.next_u64());
        let mut tuning_rng = Prng::new(master.next_u64());
        let mut clock_rng = Prng::new(master.next_u64());
        let mut client_rng = Prng::new(master.next_u64());
        let tuning = draw_tuning(&mut tuning_rng);
        let pre_history = match opts.workload {
            Workload::Election => true,
            Workload::Zab | Workload::Zk => tuning_rng.chance(PRE_HISTORY_PPM),
        };
        let service = opts.workload.service();
        let mut pre_history_txns = Vec::new();
        let slots: Vec<Slot> = ids
            .iter()
            .map(|&id| {
                let files = if pre_history {
                    random_disk(&mut disk_init, service)
                } else {
                    Vec::new()
                };
                let disk = Disk::with_files(files);
                let initial = disk.recover().unwrap_or_else(|e| {
                    panic!("the generated pre-history of n{id} does not recover: {e}")
                });
                pre_history_txns.extend(initial.txns.iter().map(|t| t.header.zxid));
                let clock = if opts.faults.enabled {
                    Clock::drawn(&mut clock_rng)
                } else {
                    Clock::exact()
                };
                Slot {
                    id,
                    inc: 0,
                    node: None,
                    timeout: None,
                    disk,
                    initial,
                    clock,
                    paused: false,
                    crash_on_write: None,
                    backlog: Vec::new(),
                }
            })
            .collect();
        let network = Network::new(
            &ids,
            ensemble.addresses.clone(),
            opts.faults.clone(),
            net_rng,
            opts.verbose,
        );
        let heal_at = opts.heal_at_ms() * MS;
        let end_at = opts.sim_ms * MS;
        let mut invariants = Invariants::new(
            &ensemble.voters,
            heal_at,
            opts.liveness_bound_ms,
            opts.progress_bound_ms(),
        );
        for z in pre_history_txns {
            invariants.on_submit(0, pre_history_cxid(z));
        }
        if service == ServiceKind::ZooKeeper {
            invariants.allow_server_txns();
        }
        let mut queue = EventQueue::default();
        let zk = (opts.workload == Workload::Zk).then(|| {
            let count = client_rng.range_inclusive(3, 8) as usize;
            let rng = Prng::new(client_rng.next_u64());
            let net_rng = Prng::new(client_rng.next_u64());
            let reset_ppm = if opts.faults.enabled {
                opts.faults.reset_ppm
            } else {
                0
            };
            let mut zk = ZkWorkload::new(
                count,
                ids.clone(),
                rng,
                net_rng,
                reset_ppm,
                end_at.saturating_sub(QUIESCE_MS * MS),
                opts.verbose,
            );
            zk.reconfigure = opts.reconfig;
            for client in 0..count {
                let at = 100 * MS + zk.tick_gap();
                queue.push(at, Event::ZkTick { client });
            }
            zk
        });
        let clients = (opts.workload == Workload::Zab).then(|| {
            let count = client_rng.range_inclusive(3, 8) as usize;
            let mut clients =
                Clients::new(count, client_rng, end_at.saturating_sub(QUIESCE_MS * MS));
            for client in 0..count {
                let at = 100 * MS + clients.gap();
                queue.push(at, Event::ClientReady { client });
            }
            clients
        });
        if let Some(t) = invariants.liveness.progress_deadline_ns() {
            queue.push(t, Event::ProgressDeadline);
        }
        for &id in &ids {
            queue.push(
                starts.range_inclusive(0, 50 * MS),
                Event::Start { node: id },
            );
        }
        if opts.faults.enabled {
            let first = chaos::next_gap(&mut chaos_rng, opts.faults.chaos_mean_gap_ms);
            if first < heal_at {
                queue.push(first, Event::Chaos);
            }
        }
        queue.push(heal_at, Event::Heal);
        queue.push(invariants.liveness.deadline_ns(), Event::LivenessDeadline);
        Simulation {
            end_at,
            trace: Trace::new(opts.verbose),
            opts,
            ensemble,
            now: 0,
            heal_at,
            healed: false,
            queue,
            slots,
            network,
            node_seeds,
            chaos_rng,
            disk_rng,
            invariants,
            violation: None,
            finished: false,
            dirty: false,
            steps: 0,
            steps_at_instant: 0,
            current: None,
            outputs: Vec::new(),
            halted: Vec::new(),
            elections: 0,
            establishments: 0,
            crashes: 0,
            partitions: 0,
            pauses: 0,
            snapshots: 0,
            first_leader_ns: None,
            tuning,
            clients,
            zk,
            service,
            timeline: None,
            applied_in_drain: false,
        }
    }

    /// The core tunables drawn for this run.
    pub fn tuning(&self) -> Tuning {
        self.tuning
    }

    /// Records a timeline of the run from now on (roles, epochs, faults, client writes); it
    /// changes nothing in the run itself.
    pub fn record_timeline(&mut self) {
        let ids: Vec<ServerId> = self.slots.iter().map(|s| s.id).collect();
        self.timeline = Some(Timeline::new(&ids, self.heal_at));
        if let Some(zk) = self.zk.as_mut() {
            zk.record_acks();
        }
    }

    /// The recorded timeline as an HTML page (`None` unless [`Simulation::record_timeline`]).
    pub fn timeline_html(&self, title: &str) -> Option<String> {
        self.timeline.as_ref().map(|t| t.html(title))
    }

    /// The ZooKeeper clients' counters (zero without that workload).
    pub fn zk_stats(&self) -> ZkStats {
        self.zk.as_ref().map(|z| z.stats).unwrap_or_default()
    }

    /// The client workload's counters (zero without a workload).
    pub fn workload_stats(&self) -> WorkloadStats {
        self.clients.as_ref().map(|c| c.stats).unwrap_or_default()
    }

    /// Distinct txns committed (applied by some server) so far.
    pub fn committed_txns(&self) -> u64 {
        self.invariants.committed_txns()
    }

    /// The incarnation of `id` (0 before its first start; +1 per restart).
    pub fn incarnation(&self, id: ServerId) -> u64 {
        self.slot(id).map_or(0, |s| s.inc)
    }

    /// Torn tails left on `id`'s disk by machine crashes so far.
    pub fn torn_files(&self, id: ServerId) -> u64 {
        self.slot(id).map_or(0, |s| s.disk.torn_files)
    }

    /// Bytes on `id`'s disk that were appended but not synced yet.
    pub fn unsynced_bytes(&self, id: ServerId) -> u64 {
        self.slot(id).map_or(0, |s| s.disk.unsynced_bytes())
    }

    /// Crashes `id` now as a machine crash (power loss) and restarts it `down_ns` later.
    /// For tests: the chaos schedule does this on its own.
    pub fn crash_machine(&mut self, id: ServerId, down_ns: u64) {
        let inc = self.incarnation(id);
        self.crash(id, CrashMode::Machine);
        self.queue
            .push(self.now + down_ns, Event::RestartAlways { node: id, inc });
    }

    /// The options of this run.
    pub fn options(&self) -> &SimOptions {
        &self.opts
    }

    /// Simulated time, ns.
    pub fn now_ns(&self) -> u64 {
        self.now
    }

    /// When faults stop and crashed servers restart, ns.
    pub fn heal_at_ns(&self) -> u64 {
        self.heal_at
    }

    /// The running FNV-1a of every delivered input and every output so far.
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }

    /// The violation that stopped the run, if any.
    pub fn violation(&self) -> Option<&Violation> {
        self.violation.as_ref()
    }

    /// The server whose input was being handled (to attribute a panic).
    pub fn current_node(&self) -> Option<ServerId> {
        self.current
    }

    /// What `id`'s disk held when the run began.
    pub fn initial_disk(&self, id: ServerId) -> Option<Recovered> {
        self.slot(id).map(|s| s.initial.clone())
    }

    /// The status of `id`, if its process is running.
    pub fn status(&self, id: ServerId) -> Option<Status> {
        self.slot(id)?.node.as_ref().map(ServerNode::status)
    }

    /// The statuses of every running process, by id.
    pub fn statuses(&self) -> Vec<Status> {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref().map(ServerNode::status))
            .collect()
    }

    /// The leader every running server follows, synced, if there is one right now.
    pub fn serving_leader(&self) -> Option<ServerId> {
        serving_leader(&self.statuses()).ok()
    }

    /// Time of the first `LeaderEstablished`, ns.
    pub fn first_leader_ns(&self) -> Option<u64> {
        self.first_leader_ns
    }

    /// The liveness checker (settle time after healing).
    pub fn liveness(&self) -> &Liveness {
        &self.invariants.liveness
    }

    fn slot(&self, id: ServerId) -> Option<&Slot> {
        self.slots.get((id as usize).checked_sub(1)?)
    }

    fn next_timer(&self) -> Option<(u64, ServerId)> {
        self.slots
            .iter()
            .filter(|s| !s.paused)
            .filter_map(|s| s.timeout.map(|t| (t, s.id)))
            .min()
    }

    /// When the next thing happens, ns (a node timer or a scheduled event).
    pub fn next_time(&self) -> Option<u64> {
        match (self.next_timer(), self.queue.peek_time()) {
            (Some((a, _)), Some(b)) => Some(a.min(b)),
            (Some((a, _)), None) => Some(a),
            (None, b) => b,
        }
    }

    /// Advances to the next timer or event and handles it; `false` once the run is over.
    pub fn step(&mut self) -> bool {
        if self.finished {
            return false;
        }
        let timer = self.next_timer();
        let event_at = self.queue.peek_time();
        let at = match (timer, event_at) {
            (Some((a, _)), Some(b)) => a.min(b),
            (Some((a, _)), None) => a,
            (None, Some(b)) => b,
            (None, None) => self.end_at.saturating_add(1),
        };
        if at > self.end_at {
            self.finish();
            return false;
        }
        let at = at.max(self.now);
        if at == self.now {
            self.steps_at_instant += 1;
            if self.steps_at_instant > MAX_STEPS_PER_INSTANT {
                self.fail(
                    self.current,
                    SIMULATOR,
                    format!("time stopped advancing: {MAX_STEPS_PER_INSTANT} steps at one instant"),
                );
                return false;
            }
        } else {
            self.steps_at_instant = 0;
        }
        self.now = at;
        self.steps += 1;
        match timer {
            // Timers first on a tie: a deadline that is due is older than anything scheduled now.
            Some((t, id)) if event_at.is_none_or(|e| t <= e) => {
                let inc = self.slots[id as usize - 1].inc;
                self.deliver(id, inc, Input::Timeout);
            }
            _ => {
                if let Some((_, ev)) = self.queue.pop() {
                    self.on_event(ev);
                }
            }
        }
        self.after_step();
        !self.finished
    }

    /// Steps until the next thing would happen after `t_ns` (or the run ends).
    pub fn run_until(&mut self, t_ns: u64) {
        while !self.finished && self.next_time().is_some_and(|t| t <= t_ns) {
            self.step();
        }
        if !self.finished {
            self.now = self.now.max(t_ns.min(self.end_at));
        }
    }

    /// Runs to the end (or the first violation) and reports.
    pub fn run(mut self) -> RunReport {
        while self.step() {}
        self.report()
    }

    /// What happened so far (takes the verbose log).
    pub fn report(&mut self) -> RunReport {
        let net = self.network.stats();
        RunReport {
            seed: self.opts.seed,
            voters: self.opts.voters,
            observers: self.opts.observers,
            faults: self.opts.faults.enabled,
            sim_ns: self.now,
            violation: self.violation.clone(),
            trace_hash: self.trace.hash(),
            settle_ms: self.invariants.liveness.settle_ms(),
            first_leader_ms: self.first_leader_ns.map(|t| t / MS),
            progress_ms: self.invariants.liveness.progress_ms(),
            committed_txns: self.invariants.committed_txns(),
            acked_writes: self.invariants.acked_writes(),
            workload: self.workload_stats(),
            zk: self.zk_stats(),
            snapshots: self.snapshots,
            pauses: self.pauses,
            torn_tails: self.slots.iter().map(|s| s.disk.torn_files).sum(),
            backward_resets: self.invariants.agreement.backward_resets,
            steps: self.steps,
            elections: self.elections,
            establishments: self.establishments,
            crashes: self.crashes,
            partitions: self.partitions,
            lost_writes: net.lost,
            corrupted: net.corrupted,
            log: self.trace.take_log(),
        }
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        if let Some(t) = self.timeline.as_mut() {
            t.end(self.now.max(self.end_at));
        }
        if self.violation.is_none() {
            self.now = self.now.max(self.end_at);
            let statuses = self.statuses();
            if let Err(why) = self.invariants.liveness.finish(self.now, &statuses) {
                self.fail(None, Liveness::NAME, why);
            } else if let Err(b) = self.invariants.finish(&statuses) {
                self.fail(None, b.invariant, b.detail);
            }
        }
        if self.violation.is_none() {
            let checked = self
                .zk
                .as_mut()
                .map_or(Ok(()), |zk| zk.check_linearizable(LINEARIZABILITY_BUDGET));
            if let Err(b) = checked {
                self.fail(None, b.invariant, b.detail);
            }
        }
    }

    fn fail(&mut self, node: Option<ServerId>, invariant: &'static str, detail: String) {
        if self.violation.is_none() {
            self.trace
                .note(self.now, format_args!("VIOLATION {invariant}: {detail}"));
            if let Some(t) = self.timeline.as_mut() {
                t.violation(self.now, node, format!("{invariant}: {detail}"));
                t.end(self.now);
            }
            self.violation = Some(Violation {
                seed: self.opts.seed,
                at_ns: self.now,
                node,
                invariant,
                detail,
            });
        }
        self.finished = true;
    }

    fn after_step(&mut self) {
        for note in self.network.take_notes() {
            self.trace.log_only(self.now, format_args!("{note}"));
        }
        let notes = self
            .zk
            .as_mut()
            .map(ZkWorkload::take_notes)
            .unwrap_or_default();
        for note in notes {
            self.trace.log_only(self.now, format_args!("{note}"));
        }
        for id in mem::take(&mut self.halted) {
            // A halted server is as good as dead: its process exits, it restarts later.
            let inc = self.slots[id as usize - 1].inc;
            self.crash(id, CrashMode::Process);
            self.schedule_restart(id, inc);
        }
        if self.dirty && !self.finished && self.now >= self.heal_at {
            self.dirty = false;
            let statuses = self.statuses();
            if let Err(why) = self.invariants.liveness.check(self.now, &statuses) {
                self.fail(None, Liveness::NAME, why);
            }
        }
    }

    fn on_event(&mut self, ev: Event) {
        match ev {
            Event::Net(ev) => {
                if let Some(d) = self.network.on_event(self.now, ev, &mut self.queue) {
                    self.deliver(d.node, d.inc, d.input);
                }
            }
            Event::ClientNet(ev) => {
                let Some(zk) = self.zk.as_mut() else {
                    return;
                };
                if let Some(arrival) = zk.net.on_event(self.now, ev, &mut self.queue) {
                    self.arrive(arrival);
                }
            }
            Event::ZkTick { client } => {
                let Some(zk) = self.zk.as_mut() else {
                    return;
                };
                if let Err(b) = zk.tick(self.now, client, &mut self.queue, &mut self.invariants) {
                    self.fail(None, b.invariant, b.detail);
                }
            }
            Event::Start { node } => {
                if self.slots[node as usize - 1].inc == 0 {
                    self.start(node);
                }
            }
            Event::DiskDone { node, inc } => {
                let slot = &mut self.slots[node as usize - 1];
                if slot.inc == inc && slot.node.is_some() {
                    let mut inputs = Vec::new();
                    if let Err(why) = slot.disk.complete(self.now, &mut inputs) {
                        self.fail(Some(node), PERSIST_OP, why);
                        return;
                    }
                    for input in inputs {
                        self.deliver(node, inc, input);
                    }
                }
            }
            Event::Resume { node, inc } => self.resume(node, inc),
            Event::CrashMidWrite { node, inc, down } => {
                let slot = &self.slots[node as usize - 1];
                if !self.healed && slot.inc == inc && slot.node.is_some() {
                    self.trace.note(
                        self.now,
                        format_args!("fault: power loss at n{node} mid-write"),
                    );
                    self.crash(node, CrashMode::Machine);
                    let at = self.now + down;
                    if at < self.heal_at {
                        self.queue.push(at, Event::Restart { node, inc });
                    }
                }
            }
            Event::WallTick { node, inc } => {
                let slot = &self.slots[node as usize - 1];
                if slot.inc == inc && slot.node.is_some() {
                    if !slot.paused {
                        let unix_ms = slot.clock.unix_ms(self.now);
                        self.deliver(node, inc, Input::WallClock { unix_ms });
                    }
                    self.queue
                        .push(self.now + WALL_TICK_NS, Event::WallTick { node, inc });
                }
            }
            Event::ClientReady { client } => self.client_ready(client),
            Event::ClientTimeout { client, cxid } => {
                let retry = self
                    .clients
                    .as_mut()
                    .is_some_and(|c| c.timed_out(client, cxid));
                if retry {
                    self.client_next(client);
                }
            }
            Event::ProgressDeadline => {
                if let Err(why) = self.invariants.liveness.check_progress(self.now) {
                    self.fail(None, Liveness::NAME, why);
                }
            }
            Event::Chaos => self.chaos(),
            Event::Restart { node, inc } => {
                let slot = &self.slots[node as usize - 1];
                if !self.healed && slot.inc == inc && slot.node.is_none() {
                    self.start(node);
                }
            }
            Event::RestartAlways { node, inc } => {
                let slot = &self.slots[node as usize - 1];
                if slot.inc == inc && slot.node.is_none() {
                    self.start(node);
                }
            }
            Event::HealPartition { id } => self.network.heal_partition(id),
            Event::Heal => self.heal(),
            Event::LivenessDeadline => self.dirty = true,
        }
    }

    /// A client-network event: a server input, or something a client sees.
    fn arrive(&mut self, arrival: Arrival) {
        match arrival {
            Arrival::Server { node, inc, input } => self.deliver(node, inc, input),
            other => {
                let Some(zk) = self.zk.as_mut() else {
                    return;
                };
                let result = zk.on_arrival(self.now, other, &mut self.queue, &mut self.invariants);
                if let Some(t) = self.timeline.as_mut() {
                    for (at, server) in zk.take_acks() {
                        t.acked(server, at);
                    }
                }
                if let Err(b) = result {
                    self.fail(None, b.invariant, b.detail);
                }
            }
        }
    }

    fn heal(&mut self) {
        self.healed = true;
        self.network.heal_all();
        if let Some(zk) = self.zk.as_mut() {
            zk.net.heal();
        }
        self.trace.note(
            self.now,
            format_args!("heal: faults stop, crashed servers restart"),
        );
        let down: Vec<ServerId> = self
            .slots
            .iter()
            .filter(|s| s.inc > 0 && s.node.is_none())
            .map(|s| s.id)
            .collect();
        for id in down {
            self.start(id);
        }
        for slot in &mut self.slots {
            slot.crash_on_write = None;
        }
        let paused: Vec<(ServerId, u64)> = self
            .slots
            .iter()
            .filter(|s| s.paused)
            .map(|s| (s.id, s.inc))
            .collect();
        for (id, inc) in paused {
            self.resume(id, inc);
        }
        self.dirty = true;
    }

    /// Ends a pause: the inputs that arrived meanwhile are delivered now, in order.
    fn resume(&mut self, id: ServerId, inc: u64) {
        let slot = &mut self.slots[id as usize - 1];
        if slot.inc != inc || !slot.paused {
            return;
        }
        slot.paused = false;
        let backlog = mem::take(&mut slot.backlog);
        self.trace.note(
            self.now,
            format_args!("resume n{id}#{inc}: {} late input(s)", backlog.len()),
        );
        let unix_ms = slot.clock.unix_ms(self.now);
        self.deliver(id, inc, Input::WallClock { unix_ms });
        for input in backlog {
            if self.finished {
                return;
            }
            self.deliver(id, inc, input);
        }
    }

    fn client_ready(&mut self, client: usize) {
        let live: Vec<(ServerId, u64)> = self
            .slots
            .iter()
            .filter(|s| s.node.is_some())
            .map(|s| (s.id, s.inc))
            .collect();
        let Some(clients) = self.clients.as_mut() else {
            return;
        };
        match clients.submit(client, self.now, &live) {
            Err(()) => {}
            Ok(None) => {
                let at = self.now + clients.gap();
                self.queue.push(at, Event::ClientReady { client });
            }
            Ok(Some(sub)) => {
                self.invariants.on_submit(sub.session_id, sub.cxid);
                self.queue.push(
                    self.now + CLIENT_TIMEOUT_MS * MS,
                    Event::ClientTimeout {
                        client,
                        cxid: sub.cxid,
                    },
                );
                self.deliver(sub.server, sub.inc, sub.input);
            }
        }
    }

    /// `client` is free again: it submits its next write after a think time.
    fn client_next(&mut self, client: usize) {
        if let Some(clients) = self.clients.as_mut() {
            let at = self.now + clients.gap();
            self.queue.push(at, Event::ClientReady { client });
        }
    }

    fn chaos(&mut self) {
        if self.healed {
            return;
        }
        let ids: Vec<ServerId> = self.slots.iter().map(|s| s.id).collect();
        let up: Vec<ServerId> = self
            .slots
            .iter()
            .filter(|s| s.node.is_some())
            .map(|s| s.id)
            .collect();
        let fault = chaos::draw(&mut self.chaos_rng, &ids, &up);
        if let Some(t) = self.timeline.as_mut() {
            // A crash marks its lane when it strikes (see `crash`).
            let node = match &fault {
                Fault::Pause { node, .. } | Fault::Slow { from: node, .. } => Some(*node),
                Fault::Crash { .. } | Fault::Partition { .. } | Fault::HealPartitions => None,
            };
            if !matches!(fault, Fault::Crash { .. }) {
                t.fault(self.now, node, fault.to_string());
            }
        }
        self.trace.note(self.now, format_args!("fault: {fault}"));
        match fault {
            Fault::Crash {
                node,
                mode,
                restart_after,
            } => {
                let slot = &mut self.slots[node as usize - 1];
                let inc = slot.inc;
                if mode == CrashMode::Machine && self.chaos_rng.chance(500_000) {
                    // Power loss in the middle of a write: wait for the server's next op.
                    slot.crash_on_write = Some(restart_after);
                    return self.schedule_chaos();
                }
                self.crash(node, mode);
                let at = self.now + restart_after;
                if at < self.heal_at {
                    self.queue.push(at, Event::Restart { node, inc });
                }
            }
            Fault::Partition {
                pairs, heal_after, ..
            } => {
                self.partitions += 1;
                let id = self.network.partition(pairs);
                self.queue
                    .push(self.now + heal_after, Event::HealPartition { id });
            }
            Fault::HealPartitions => self.network.heal_partitions(),
            Fault::Pause { node, duration } => {
                let slot = &mut self.slots[node as usize - 1];
                if slot.node.is_some() && !slot.paused {
                    slot.paused = true;
                    self.pauses += 1;
                    let inc = slot.inc;
                    self.queue
                        .push(self.now + duration, Event::Resume { node, inc });
                }
            }
            Fault::Slow {
                from,
                to,
                extra,
                duration,
            } => self
                .network
                .slow_spell(from, to, self.now + duration, extra),
        }
        self.schedule_chaos();
    }

    fn schedule_chaos(&mut self) {
        let next =
            self.now + chaos::next_gap(&mut self.chaos_rng, self.opts.faults.chaos_mean_gap_ms);
        if next < self.heal_at {
            self.queue.push(next, Event::Chaos);
        }
    }

    fn schedule_restart(&mut self, node: ServerId, inc: u64) {
        if self.healed {
            // A fault that struck before the heal and took effect after it (a write that
            // failed once the faults had stopped): the heal restarts crashed servers, so
            // restart it too, or it stays down for the rest of the run.
            self.queue
                .push(self.now + 300 * MS, Event::RestartAlways { node, inc });
            return;
        }
        let at = self.now + self.chaos_rng.range_inclusive(300 * MS, 4_000 * MS);
        if at < self.heal_at {
            self.queue.push(at, Event::Restart { node, inc });
        }
    }

    /// Starts (or restarts) `id` from its disk, with a fresh seed.
    fn start(&mut self, id: ServerId) {
        let idx = id as usize - 1;
        let seed = self.node_seeds.next_u64();
        let now = self.now;
        let slot = &mut self.slots[idx];
        slot.inc += 1;
        slot.paused = false;
        slot.crash_on_write = None;
        slot.backlog.clear();
        let inc = slot.inc;
        let local_now = Instant::from_nanos(slot.clock.local(now));
        let wall_ms = slot.clock.unix_ms(now);
        let recovered = match slot.disk.recover() {
            Ok(r) => r,
            Err(e) => {
                let files: Vec<String> = slot
                    .disk
                    .listing()
                    .iter()
                    .map(|(n, b)| format!("{n}({}B)", b.len()))
                    .collect();
                self.fail(
                    Some(id),
                    RECOVERY,
                    format!(
                        "n{id}#{inc} cannot restart from its data directory: {e} [files: {}]",
                        files.join(" ")
                    ),
                );
                return;
            }
        };
        let summary = format!(
            "accepted={} current={} last_zxid={} snapshot={} txns={} segments={} torn={}",
            recovered.accepted_epoch,
            recovered.current_epoch,
            recovered.last_zxid,
            recovered
                .snapshot
                .as_ref()
                .map_or(String::from("none"), |s| s.zxid.to_string()),
            recovered.txns.len(),
            recovered.logs.len(),
            recovered.report.torn.len(),
        );
        let config = self.ensemble.configs[&id].clone();
        let node = match ServerNode::start(
            self.service,
            config,
            recovered,
            seed,
            local_now,
            wall_ms,
            self.tuning,
        ) {
            Ok(node) => node,
            Err(e) => {
                self.fail(
                    Some(id),
                    SIMULATOR,
                    format!("Node::with_state_machine rejected n{id}#{inc}: {e}"),
                );
                return;
            }
        };
        let status = node.status();
        if let Some(t) = self.timeline.as_mut() {
            t.started(id, now, status.current_epoch, status.last_zxid);
        }
        let clock = self.slots[idx].clock;
        self.slots[idx].node = Some(node);
        self.trace.note(
            now,
            format_args!(
                "start n{id}#{inc} from {summary}; clock {}",
                clock.describe()
            ),
        );
        self.network.host_started(now, id, inc, &mut self.queue);
        if let Some(zk) = self.zk.as_mut() {
            zk.net.host_started(id, inc);
        }
        if let Err(b) = self.invariants.on_start(now, &status) {
            self.fail(Some(id), b.invariant, b.detail);
            return;
        }
        self.dirty = true;
        self.current = Some(id);
        self.drain(idx);
        self.current = None;
        self.deliver(
            id,
            inc,
            Input::WallClock {
                unix_ms: clock.unix_ms(now),
            },
        );
        self.queue
            .push(now + WALL_TICK_NS, Event::WallTick { node: id, inc });
    }

    fn crash(&mut self, id: ServerId, mode: CrashMode) {
        let idx = id as usize - 1;
        let slot = &mut self.slots[idx];
        let Some(dead) = slot.node.take() else {
            return;
        };
        if let Some(t) = self.timeline.as_mut() {
            let why = match mode {
                CrashMode::Process => format!("n{id} process dies"),
                CrashMode::Machine => format!("n{id} machine goes down"),
            };
            t.down(id, self.now, dead.status().last_zxid, &why);
        }
        slot.timeout = None;
        slot.paused = false;
        slot.backlog.clear();
        let inc = slot.inc;
        let damage = slot
            .disk
            .crash(&mut self.disk_rng, mode == CrashMode::Machine);
        self.network.crash(self.now, id, mode, &mut self.queue);
        if let Some(zk) = self.zk.as_mut() {
            zk.net
                .host_crashed(self.now, id, mode == CrashMode::Machine, &mut self.queue);
        }
        self.invariants.on_crash(id);
        self.crashes += 1;
        self.dirty = true;
        self.trace.note(
            self.now,
            format_args!(
                "crash n{id}#{inc} ({mode:?}); of the unacknowledged ops {} executed, {} lost; \
                 unsynced bytes: {} file(s) kept, {} dropped, {} torn",
                damage.executed, damage.lost, damage.kept, damage.dropped, damage.torn
            ),
        );
        let abandoned = self
            .clients
            .as_mut()
            .map(|c| c.server_died(id, inc))
            .unwrap_or_default();
        for client in abandoned {
            self.client_next(client);
        }
    }

    /// Hands `input` to incarnation `inc` of `id` (dropped if that incarnation is gone).
    fn deliver(&mut self, id: ServerId, inc: u64, input: Input<'static>) {
        let idx = id as usize - 1;
        let now = self.now;
        let slot = &mut self.slots[idx];
        if slot.inc != inc {
            return;
        }
        if slot.node.is_none() {
            return;
        }
        if slot.paused {
            slot.backlog.push(input);
            return;
        }
        let local_now = Instant::from_nanos(slot.clock.local(now));
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        self.trace.input(now, id, inc, &input);
        if let Input::PeerBytes { link, bytes } = &input {
            if self.trace.verbose() {
                let peer = self.network.peer_of(id, *link);
                self.trace.message(now, id, "<-", peer, bytes);
            }
        }
        self.current = Some(id);
        node.handle(local_now, input);
        self.drain(idx);
        self.current = None;
    }

    /// Drains the node's outputs and carries each out, in order.
    fn drain(&mut self, idx: usize) {
        let mut outs = mem::take(&mut self.outputs);
        let slot = &mut self.slots[idx];
        let (id, inc) = (slot.id, slot.inc);
        let Some(node) = slot.node.as_mut() else {
            return;
        };
        while let Some(o) = node.poll_output() {
            outs.push(o);
        }
        let clock = slot.clock;
        slot.timeout = node
            .poll_timeout()
            .map(|t| clock.global(t.as_nanos()).max(self.now));
        self.applied_in_drain = false;
        for o in outs.drain(..) {
            self.trace.output(self.now, id, &o);
            self.carry_out(idx, id, inc, o);
        }
        self.outputs = outs;
        if self.applied_in_drain && !self.finished {
            self.applied_in_drain = false;
            if let Some(status) = self.slots[idx].node.as_ref().map(ServerNode::status) {
                if let Err(b) = self.invariants.on_drained(&status) {
                    self.fail(Some(id), b.invariant, b.detail);
                }
            }
        }
    }

    fn carry_out(&mut self, idx: usize, id: ServerId, inc: u64, out: Output) {
        let now = self.now;
        match out {
            Output::Dial { link, addr, .. } => {
                self.network
                    .dial(now, id, inc, link, &addr, &mut self.queue)
            }
            Output::SendPeer { link, bytes } => {
                if self.trace.verbose() {
                    let peer = self.network.peer_of(id, link);
                    self.trace.message(now, id, "->", peer, &bytes);
                }
                self.network.send(now, id, link, bytes, &mut self.queue)
            }
            Output::ClosePeer { link } => self.network.close(now, id, link, &mut self.queue),
            Output::Persist { seq, op } => {
                let fail_ppm = if self.opts.faults.enabled && !self.healed {
                    self.opts.faults.persist_fail_ppm
                } else {
                    0
                };
                let at = self.slots[idx]
                    .disk
                    .submit(now, seq, op, &mut self.disk_rng, fail_ppm);
                self.queue.push(at, Event::DiskDone { node: id, inc });
                if let Some(down) = self.slots[idx].crash_on_write.take() {
                    if !self.healed {
                        let strike = self.disk_rng.range_inclusive(now, at.max(now + 1) - 1);
                        self.queue.push(
                            strike,
                            Event::CrashMidWrite {
                                node: id,
                                inc,
                                down,
                            },
                        );
                    }
                }
            }
            Output::Event(ev) => self.on_node_event(idx, id, ev),
            Output::SendClient { conn, bytes } => {
                let applied = self.slots[idx]
                    .node
                    .as_ref()
                    .map_or(Zxid::ZERO, |n| n.status().last_applied);
                if let Some(zk) = self.zk.as_mut() {
                    zk.net
                        .server_send(now, conn, bytes, applied, &mut self.queue);
                }
            }
            Output::CloseClient { conn } => {
                if let Some(zk) = self.zk.as_mut() {
                    zk.net.server_close(now, conn, &mut self.queue);
                }
            }
            Output::ReadClient { conn, read } => {
                let arrivals = self
                    .zk
                    .as_mut()
                    .map(|zk| zk.net.server_read(conn, read))
                    .unwrap_or_default();
                for a in arrivals {
                    self.arrive(a);
                }
            }
        }
    }

    fn snapshot_installed(&mut self, id: ServerId, zxid: Zxid) {
        self.applied_in_drain = true;
        self.trace.note(
            self.now,
            format_args!("n{id} installs a snapshot at {zxid}"),
        );
        if let Err(b) = self.invariants.on_snapshot_loaded(id, zxid) {
            self.fail(Some(id), b.invariant, b.detail);
        }
    }

    fn on_node_event(&mut self, idx: usize, id: ServerId, ev: NodeEvent) {
        match &ev {
            NodeEvent::Elected { .. } => self.elections += 1,
            NodeEvent::LeaderEstablished { epoch, .. } => {
                self.establishments += 1;
                self.first_leader_ns.get_or_insert(self.now);
                if let Some(t) = self.timeline.as_mut() {
                    t.established(id, self.now, *epoch);
                }
            }
            NodeEvent::FollowerSynced { epoch, .. } => {
                if let Some(t) = self.timeline.as_mut() {
                    t.synced(id, *epoch);
                }
            }
            NodeEvent::RoleChanged { to, .. } if self.timeline.is_some() => {
                let st = self.slots[idx].node.as_ref().map(ServerNode::status);
                if let (Some(t), Some(st)) = (self.timeline.as_mut(), st) {
                    t.role(id, self.now, *to, st.accepted_epoch, st.last_zxid);
                }
            }
            NodeEvent::Halted { .. } => self.halted.push(id),
            NodeEvent::TxnApplied { .. } => self.applied_in_drain = true,
            NodeEvent::SnapshotTaken { .. } => self.snapshots += 1,
            NodeEvent::SnapshotInstalled { zxid } => self.snapshot_installed(id, *zxid),
            NodeEvent::WriteCommitted {
                session_id, cxid, ..
            } => {
                if let Some(t) = self.timeline.as_mut() {
                    t.acked(id, self.now);
                }
                self.client_answered(id, *session_id, *cxid, Outcome::Committed)
            }
            NodeEvent::WriteFailed {
                session_id,
                cxid,
                reason,
            } => {
                let outcome = match reason {
                    conclave_core::WriteFailure::Unknown => Outcome::Unknown,
                    _ => Outcome::Rejected,
                };
                self.client_answered(id, *session_id, *cxid, outcome);
            }
            _ => {}
        }
        if matches!(
            ev,
            NodeEvent::RoleChanged { .. }
                | NodeEvent::Elected { .. }
                | NodeEvent::LeaderEstablished { .. }
                | NodeEvent::FollowerSynced { .. }
                | NodeEvent::SteppedDown { .. }
                | NodeEvent::Halted { .. }
        ) {
            self.dirty = true;
        }
        let needs_status = matches!(
            ev,
            NodeEvent::LeaderEstablished { .. }
                | NodeEvent::RoleChanged {
                    to: Role::Looking,
                    ..
                }
        );
        let status = if needs_status {
            self.slots[idx].node.as_ref().map(ServerNode::status)
        } else {
            None
        };
        let pos = status.as_ref().map(Position::of).unwrap_or_default();
        if let Err(Broken { invariant, detail }) =
            self.invariants
                .on_event(self.now, id, &ev, pos, status.as_ref())
        {
            self.fail(Some(id), invariant, detail);
        }
    }

    fn client_answered(&mut self, server: ServerId, session_id: i64, cxid: i32, outcome: Outcome) {
        let done = self
            .clients
            .as_mut()
            .and_then(|c| c.answered(server, session_id, cxid, outcome));
        if let Some(client) = done {
            self.client_next(client);
        }
    }
}
