//! One seed's run: the nodes, the clock, the network, the disks, the faults, the checks.

use std::mem;

use conclave_core::rng::Prng;
use conclave_core::{Input, Instant, Node, NodeEvent, Output, Recovered, ServerId, Status};

use crate::chaos::{self, Fault};
use crate::disk::Disk;
use crate::ensemble::{random_disk, Ensemble};
use crate::events::Event;
use crate::invariants::{serving_leader, Invariants, Liveness};
use crate::network::{CrashMode, Network};
use crate::options::SimOptions;
use crate::queue::EventQueue;
use crate::report::RunReport;
use crate::trace::Trace;
use crate::violation::Violation;

const MS: u64 = 1_000_000;

/// Steps allowed at one instant before the run is declared stuck (a timer that keeps
/// re-arming in the past, or an event storm that never lets time advance).
const MAX_STEPS_PER_INSTANT: u64 = 1_000_000;

/// Name under which simulator-level failures (stuck clock, core panic) are reported.
pub const SIMULATOR: &str = "simulator";

struct Slot {
    id: ServerId,
    /// 0 before the first start; +1 on every (re)start.
    inc: u64,
    node: Option<Node>,
    /// The node's `poll_timeout`, ns.
    timeout: Option<u64>,
    disk: Disk,
    initial: Recovered,
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
    first_leader_ns: Option<u64>,
}

impl Simulation {
    /// Sets up the ensemble, its disks and the schedule; nothing runs until [`Simulation::step`].
    ///
    /// Panics if `opts.voters` is 0 (the generated `zoo.cfg` would have no voter).
    pub fn new(opts: SimOptions) -> Simulation {
        let ensemble = Ensemble::new(opts.voters, opts.observers);
        let ids: Vec<ServerId> = opts.ids().collect();
        // One child stream per concern, so a change in one model does not reshuffle the others.
        let mut master = Prng::new(opts.seed);
        let mut disk_init = Prng::new(master.next_u64());
        let mut starts = Prng::new(master.next_u64());
        let net_rng = Prng::new(master.next_u64());
        let node_seeds = Prng::new(master.next_u64());
        let mut chaos_rng = Prng::new(master.next_u64());
        let disk_rng = Prng::new(master.next_u64());
        let slots = ids
            .iter()
            .map(|&id| {
                let initial = random_disk(&mut disk_init);
                Slot {
                    id,
                    inc: 0,
                    node: None,
                    timeout: None,
                    disk: Disk::new(initial),
                    initial,
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
        let invariants = Invariants::new(&ensemble.voters, heal_at, opts.liveness_bound_ms);
        let mut queue = EventQueue::default();
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
            end_at: opts.sim_ms * MS,
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
            first_leader_ns: None,
        }
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
        self.slot(id).map(|s| s.initial)
    }

    /// The status of `id`, if its process is running.
    pub fn status(&self, id: ServerId) -> Option<Status> {
        self.slot(id)?.node.as_ref().map(Node::status)
    }

    /// The statuses of every running process, by id.
    pub fn statuses(&self) -> Vec<Status> {
        self.slots
            .iter()
            .filter_map(|s| s.node.as_ref().map(Node::status))
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
        if self.violation.is_none() {
            self.now = self.now.max(self.end_at);
            let statuses = self.statuses();
            if let Err(why) = self.invariants.liveness.finish(self.now, &statuses) {
                self.fail(None, Liveness::NAME, why);
            }
        }
    }

    fn fail(&mut self, node: Option<ServerId>, invariant: &'static str, detail: String) {
        if self.violation.is_none() {
            self.trace
                .note(self.now, format_args!("VIOLATION {invariant}: {detail}"));
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
            self.trace.note(self.now, format_args!("{note}"));
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
            Event::Start { node } => {
                if self.slots[node as usize - 1].inc == 0 {
                    self.start(node);
                }
            }
            Event::DiskDone { node, inc } => {
                let slot = &mut self.slots[node as usize - 1];
                if slot.inc == inc && slot.node.is_some() {
                    let mut inputs = Vec::new();
                    slot.disk.complete(self.now, &mut inputs);
                    for input in inputs {
                        self.deliver(node, inc, input);
                    }
                }
            }
            Event::Chaos => self.chaos(),
            Event::Restart { node, inc } => {
                let slot = &self.slots[node as usize - 1];
                if !self.healed && slot.inc == inc && slot.node.is_none() {
                    self.start(node);
                }
            }
            Event::HealPartition { id } => self.network.heal_partition(id),
            Event::Heal => self.heal(),
            Event::LivenessDeadline => self.dirty = true,
        }
    }

    fn heal(&mut self) {
        self.healed = true;
        self.network.heal_all();
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
        self.dirty = true;
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
        self.trace.note(self.now, format_args!("fault: {fault}"));
        match fault {
            Fault::Crash {
                node,
                mode,
                restart_after,
            } => {
                let inc = self.slots[node as usize - 1].inc;
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
            Fault::Slow {
                from,
                to,
                extra,
                duration,
            } => self
                .network
                .slow_spell(from, to, self.now + duration, extra),
        }
        let next =
            self.now + chaos::next_gap(&mut self.chaos_rng, self.opts.faults.chaos_mean_gap_ms);
        if next < self.heal_at {
            self.queue.push(next, Event::Chaos);
        }
    }

    fn schedule_restart(&mut self, node: ServerId, inc: u64) {
        let at = self.now + self.chaos_rng.range_inclusive(300 * MS, 4_000 * MS);
        if !self.healed && at < self.heal_at {
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
        let inc = slot.inc;
        let durable = slot.disk.durable();
        let config = self.ensemble.configs[&id].clone();
        let node = match Node::new(config, durable, seed, Instant::from_nanos(now)) {
            Ok(node) => node,
            Err(e) => {
                self.fail(
                    Some(id),
                    SIMULATOR,
                    format!("Node::new rejected the generated config: {e}"),
                );
                return;
            }
        };
        self.slots[idx].node = Some(node);
        self.trace.note(
            now,
            format_args!(
                "start n{id}#{inc} from accepted={} current={} last_zxid={}",
                durable.accepted_epoch, durable.current_epoch, durable.last_zxid
            ),
        );
        self.network.host_started(now, id, inc, &mut self.queue);
        self.invariants.on_start(id, &durable);
        self.dirty = true;
        self.current = Some(id);
        self.drain(idx);
        self.current = None;
    }

    fn crash(&mut self, id: ServerId, mode: CrashMode) {
        let idx = id as usize - 1;
        let slot = &mut self.slots[idx];
        if slot.node.take().is_none() {
            return;
        }
        slot.timeout = None;
        let inc = slot.inc;
        let kept = slot.disk.crash(&mut self.disk_rng);
        self.network.crash(self.now, id, mode, &mut self.queue);
        self.invariants.on_crash(id);
        self.crashes += 1;
        self.dirty = true;
        self.trace.note(
            self.now,
            format_args!(
                "crash n{id}#{inc} ({mode:?}); {kept} unacknowledged write(s) reached the disk"
            ),
        );
    }

    /// Hands `input` to incarnation `inc` of `id` (dropped if that incarnation is gone).
    fn deliver(&mut self, id: ServerId, inc: u64, input: Input) {
        let idx = id as usize - 1;
        let now = self.now;
        let slot = &mut self.slots[idx];
        if slot.inc != inc {
            return;
        }
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
        node.handle(Instant::from_nanos(now), input);
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
        slot.timeout = node.poll_timeout().map(Instant::as_nanos);
        for o in outs.drain(..) {
            self.trace.output(self.now, id, &o);
            self.carry_out(idx, id, inc, o);
        }
        self.outputs = outs;
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
            }
            Output::Event(ev) => self.on_node_event(idx, id, ev),
        }
    }

    fn on_node_event(&mut self, idx: usize, id: ServerId, ev: NodeEvent) {
        match &ev {
            NodeEvent::Elected { .. } => self.elections += 1,
            NodeEvent::LeaderEstablished { .. } => {
                self.establishments += 1;
                self.first_leader_ns.get_or_insert(self.now);
            }
            NodeEvent::Halted { .. } => self.halted.push(id),
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
        let durable = self.slots[idx].disk.durable();
        if let Err(b) = self.invariants.on_event(self.now, id, &ev, &durable) {
            self.fail(Some(id), b.invariant, b.detail);
        }
    }
}
