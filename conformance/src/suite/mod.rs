//! One conformance suite for every adapter (issue 14): scenarios written once as data
//! ([`Scenario`], [`Step`]), a [`Harness`] that runs a cluster some way (the simulator,
//! [`sim::SimHarness`]; an adapter's binary as real processes, [`process::ProcessHarness`]; an
//! adapter inside the test process, [`live::LiveHarness`] with the adapter's [`live::Host`]),
//! and [`run`], which plays a scenario against a harness and checks what the protocol promises. [`crate::suite!`] expands to one
//! `#[test]` per scenario, so an adapter's whole conformance test file is one line.
//!
//! Clients speak the real ZooKeeper wire protocol (the core's jute codec on a plain socket), so
//! what is checked is what a ZooKeeper client sees: return codes, data, children, watch events.

pub mod kazoo;
pub mod live;
pub mod netns;
pub mod process;
mod scenarios;
pub mod sim;
pub mod zkc;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use conclave_core::client::{
    Acl, CreateKind, CreateRequest, ErrorCode, EventType, MultiResult, Request, Response,
    WatcherEvent,
};

pub use scenarios::{scenario, scenarios, NAMES};

/// Which member a step is about, resolved when the step runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// The member serving as leader now.
    Leader,
    /// The `k`-th live member that is not the leader (0-based, in member order).
    Follower(usize),
    /// Member `i` (0-based).
    Member(usize),
    /// Every member (`Kill`, `Restart`).
    All,
    /// The member the last [`Step::Isolate`] cut off.
    Isolated,
}

/// What a request must answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Success, whatever the body.
    Ok,
    /// This error code.
    Code(ErrorCode),
    /// Success with these data (getData).
    Data(Vec<u8>),
    /// Success with exactly these children, in any order (getChildren).
    Children(Vec<String>),
    /// A multi that failed as a whole: ZooKeeper answers it with a success header and one
    /// error result per op, the failing op's code among them.
    MultiFailed(ErrorCode),
    /// Anything but success: an error code, or the connection lost before an answer (a write
    /// a cut-off leader cannot commit).
    NotOk,
}

/// One step of a scenario.
#[derive(Clone, Debug)]
pub enum Step {
    /// Start every member and wait for a leader.
    Start,
    /// Wait until some live member leads (and serves a session), not one cut off or frozen.
    WaitLeader,
    /// kill -9 (or its equivalent).
    Kill(Who),
    /// Start again from the same data directory.
    Restart(Who),
    /// Freeze (SIGSTOP): the member neither runs nor answers, its sockets stay open.
    Pause(Who),
    /// Thaw what `Pause` froze.
    Resume(Who),
    /// Cut a member off from the other members (both ways; clients still reach it).
    Isolate(Who),
    /// Undo every `Isolate`.
    Heal,
    /// Open client session `session` on a member.
    Open {
        /// The scenario's name for the session.
        session: usize,
        /// Where.
        on: Who,
        /// The session timeout it asks for ([`SESSION_TIMEOUT_MS`] unless a scenario needs
        /// one to expire sooner).
        timeout_ms: i32,
    },
    /// Move `session` to another member: a new connection that resumes it by id and
    /// password (the old one is dropped without closeSession), as a client does when its
    /// server goes away.
    Move {
        /// The session.
        session: usize,
        /// Where to.
        to: Who,
    },
    /// A hostile connection to a member sends `bytes` (garbage, an oversize length); the
    /// member must close it.
    Hostile {
        /// Where.
        on: Who,
        /// What it sends.
        bytes: Vec<u8>,
    },
    /// Send `request` on `session`; the answer must match `expect`.
    Request {
        /// The session.
        session: usize,
        /// The request.
        request: Request,
        /// What it must answer.
        expect: Expect,
    },
    /// `count` persistent creates `<prefix>-<k>` on `session`, one after another. A create
    /// that fails with a lost connection is retried on a new session to the next live member
    /// (its outcome is then unknown, as for any ZooKeeper client); acknowledged ones are
    /// remembered for [`Step::AckedEverywhere`].
    Writes {
        /// The session to start on.
        session: usize,
        /// Path prefix (its parent must exist).
        prefix: String,
        /// How many.
        count: u32,
    },
    /// A notification of `kind` for `path` must reach `session` within `within_ms`.
    Event {
        /// The session.
        session: usize,
        /// The event type.
        kind: EventType,
        /// The node.
        path: String,
        /// How long to wait.
        within_ms: u64,
    },
    /// No notification for `path` may reach `session` within `within_ms` (a watch fired
    /// twice, or late).
    NoEvent {
        /// The session.
        session: usize,
        /// The node.
        path: String,
        /// How long to listen.
        within_ms: u64,
    },
    /// Close the session (closeSession, then the socket).
    Close {
        /// The session.
        session: usize,
    },
    /// The session's client goes away without closeSession and never comes back (no more
    /// pings): the session must expire after its timeout.
    Abandon {
        /// The session.
        session: usize,
    },
    /// `connections` raw connections to a member that never send a byte (half-open or idle
    /// clients, a flood); the harness holds them until [`Step::FloodClosed`].
    Flood {
        /// Where.
        on: Who,
        /// How many (under `maxClientCnxns`, 60 per address, so the scenario's own sessions
        /// from the same address still get in).
        connections: usize,
    },
    /// The member closed every connection of the last `Flood` within `within_ms`.
    FloodClosed {
        /// How long it may take.
        within_ms: u64,
    },
    /// No live member leads for `for_ms` (the ensemble has no quorum of voters).
    NoLeader {
        /// How long to watch.
        for_ms: u64,
    },
    /// Let time pass.
    Sleep(u64),
    /// Every acknowledged write of every `Writes` step is readable on every live member
    /// (after a `sync`): an acknowledged write is never lost.
    AckedEverywhere,
    /// `path` exists on no live member (after a `sync`): a write that was never acknowledged
    /// because it could not be committed did not come back later.
    Absent(String),
}

/// What a harness must start: the ensemble a scenario needs.
#[derive(Clone, Copy, Debug)]
pub struct Setup {
    /// Members of the ensemble.
    pub members: usize,
    /// Whether the members run with `reconfigEnabled` and [`SUPER_USER`] may reconfigure.
    pub reconfig: bool,
    /// Whether the scenario cuts members off ([`Step::Isolate`]).
    pub partitions: bool,
    /// How many of the last members are observers.
    pub observers: usize,
}

/// A named scenario: how many members, and its steps.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Its name (the test's).
    pub name: &'static str,
    /// Members of the ensemble.
    pub members: usize,
    /// Whether the members run with `reconfigEnabled` and [`SUPER_USER`] may reconfigure.
    pub reconfig: bool,
    /// How many of the last members are observers.
    pub observers: usize,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// The super user (`user:password`) of a reconfigurable scenario ensemble.
pub const SUPER_USER: &str = "super:secret";
/// The zoo.cfg lines that make an ensemble reconfigurable by [`SUPER_USER`].
pub const RECONFIG_CFG: &[(&str, &str)] = &[
    ("reconfigEnabled", "true"),
    (
        "DigestAuthenticationProvider.superDigest",
        "super:lK75jTNcA+U9vtVEw5vB51mj/w4=",
    ),
];

impl Scenario {
    /// The ensemble it needs.
    pub fn setup(&self) -> Setup {
        Setup {
            members: self.members,
            reconfig: self.reconfig,
            partitions: self.steps.iter().any(|s| matches!(s, Step::Isolate(_))),
            observers: self.observers,
        }
    }
}

/// What a harness could not do (partitions without root, ...): the scenario is reported
/// skipped, loudly and with the reason, never passed.
#[derive(Debug)]
pub struct Unsupported(pub String);

/// How a scenario ended when no step failed.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every step did what the protocol promises.
    Passed,
    /// The harness cannot set up one of the scenario's faults here: why.
    Skipped(String),
}

/// What a server answered on a session.
#[derive(Debug)]
pub struct Answer {
    /// The reply's error code (0: success).
    pub err: i32,
    /// The body, decoded, if any.
    pub body: Option<Response>,
}

/// A way to run an ensemble and talk to it.
pub trait Harness {
    /// What this harness is (for failure messages): "conclave-smol processes", ...
    fn describe(&self) -> String;
    /// Starts the ensemble `setup` asks for; with `reconfig`, the zoo.cfg also has
    /// [`RECONFIG_CFG`].
    fn start(&mut self, setup: &Setup) -> Result<(), String>;
    /// Whether this harness can cut members off here (checked before a scenario with
    /// partitions starts).
    fn partitions(&self) -> Result<(), Unsupported>;
    /// Whether its client library can run here (checked before every scenario).
    fn clients(&self) -> Result<(), Unsupported> {
        Ok(())
    }
    /// Whether member `i` is running (not killed).
    fn is_up(&self, i: usize) -> bool;
    /// Kills member `i` at once (no clean shutdown).
    fn kill(&mut self, i: usize);
    /// Starts member `i` again from its data directory.
    fn restart(&mut self, i: usize) -> Result<(), String>;
    /// Freezes member `i`.
    fn pause(&mut self, i: usize) -> Result<(), Unsupported>;
    /// Thaws member `i`.
    fn resume(&mut self, i: usize);
    /// Cuts member `i` off from the other members, both ways; clients still reach it.
    fn isolate(&mut self, i: usize) -> Result<(), String>;
    /// Undoes every [`Harness::isolate`].
    fn heal(&mut self) -> Result<(), String>;
    /// A member that leads and serves now, asking the members themselves; none of `except`.
    fn leader(&mut self, except: &[usize]) -> Option<usize>;
    /// Opens a new session on member `i`; its handle.
    fn open(&mut self, i: usize, timeout_ms: i32) -> Result<usize, String>;
    /// Sends `request` on session `handle` and waits for its answer; a `String` error means
    /// the connection was lost (outcome unknown).
    fn call(&mut self, handle: usize, request: &Request) -> Result<Answer, String>;
    /// The notifications that reached session `handle` so far, waiting up to `wait` for one if
    /// none has.
    fn events(&mut self, handle: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String>;
    /// Closes session `handle`.
    fn close(&mut self, handle: usize);
    /// Drops session `handle`'s connection without closeSession; nothing is sent on it again.
    fn abandon(&mut self, handle: usize);
    /// Opens and holds `n` connections to member `i` that never send a byte.
    fn flood(&mut self, i: usize, n: usize) -> Result<(), String>;
    /// How many held flood connections the member has not closed, waiting up to `within`
    /// for it to close them all; the connections are released.
    fn flood_open(&mut self, within: Duration) -> Result<usize, String>;
    /// Resumes session `handle` on member `i` over a new connection (the old one dropped
    /// without closeSession); the new handle.
    fn reconnect(&mut self, handle: usize, i: usize) -> Result<usize, String>;
    /// Opens a raw connection to member `i`, sends `bytes`, and tells whether the member
    /// closed it (within a few seconds).
    fn hostile(&mut self, i: usize, bytes: &[u8]) -> Result<bool, String>;
    /// Lets `ms` milliseconds pass.
    fn sleep(&mut self, ms: u64);
}

/// How long a step may wait for the cluster (a leader, a reconnect).
const STEP_TIMEOUT: Duration = Duration::from_secs(20);
/// The session timeout scenario sessions ask for.
pub const SESSION_TIMEOUT_MS: i32 = 10_000;

/// Plays `scenario` on `harness`: [`Verdict::Passed`] when every step did what the protocol
/// promises, [`Verdict::Skipped`] when the harness cannot set up a fault of it here, or the
/// first step that did not, with the steps before it.
pub fn run(scenario: &Scenario, harness: &mut dyn Harness) -> Result<Verdict, String> {
    let setup = scenario.setup();
    if let Err(Unsupported(why)) = harness.clients() {
        return Ok(Verdict::Skipped(why));
    }
    if setup.partitions {
        if let Err(Unsupported(why)) = harness.partitions() {
            return Ok(Verdict::Skipped(why));
        }
    }
    let mut state = State {
        setup,
        sessions: Vec::new(),
        acked: BTreeSet::new(),
        events: Vec::new(),
        isolated: Vec::new(),
        paused: Vec::new(),
    };
    let mut log = String::new();
    for (k, step) in scenario.steps.iter().enumerate() {
        let _ = writeln!(log, "  {k}: {step:?}");
        state.step(step, harness).map_err(|e| {
            format!(
                "scenario {} on {}: step {k} failed: {e}\nsteps:\n{log}",
                scenario.name,
                harness.describe()
            )
        })?;
    }
    Ok(Verdict::Passed)
}

/// The runner's memory of one scenario run.
struct State {
    setup: Setup,
    /// Members cut off now.
    isolated: Vec<usize>,
    /// Members frozen now.
    paused: Vec<usize>,
    /// Scenario session → (harness handle, member).
    sessions: Vec<Option<(usize, usize)>>,
    /// Paths whose create was acknowledged.
    acked: BTreeSet<String>,
    /// Notifications received per scenario session and not yet matched.
    events: Vec<Vec<WatcherEvent>>,
}

impl State {
    fn step(&mut self, step: &Step, h: &mut dyn Harness) -> Result<(), String> {
        match step {
            Step::Start => {
                h.start(&self.setup)?;
                self.wait_leader(h).map(|_| ())
            }
            Step::Isolate(who) => {
                for i in self.resolve(*who, h)? {
                    h.isolate(i)?;
                    self.isolated.push(i);
                }
                Ok(())
            }
            Step::Heal => {
                h.heal()?;
                self.isolated.clear();
                Ok(())
            }
            Step::Absent(path) => self.absent(path, h),
            Step::WaitLeader => self.wait_leader(h).map(|_| ()),
            Step::Kill(who) => {
                for i in self.resolve(*who, h)? {
                    h.kill(i);
                }
                Ok(())
            }
            Step::Restart(who) => {
                for i in self.resolve(*who, h)? {
                    if !h.is_up(i) {
                        h.restart(i)?;
                    }
                }
                Ok(())
            }
            Step::Pause(who) => {
                for i in self.resolve(*who, h)? {
                    h.pause(i)
                        .map_err(|u| format!("UNSUPPORTED by this harness: {}", u.0))?;
                    self.paused.push(i);
                }
                Ok(())
            }
            Step::Resume(who) => {
                for i in self.resolve(*who, h)? {
                    h.resume(i);
                    self.paused.retain(|&p| p != i);
                }
                Ok(())
            }
            Step::Open {
                session,
                on,
                timeout_ms,
            } => {
                let member = *self
                    .resolve(*on, h)?
                    .first()
                    .ok_or("no member to open a session on")?;
                let handle = open_within(h, member, *timeout_ms)?;
                self.set_session(*session, handle, member);
                Ok(())
            }
            Step::Move { session, to } => {
                let member = *self
                    .resolve(*to, h)?
                    .first()
                    .ok_or("no member to move to")?;
                let handle = h.reconnect(self.handle(*session)?, member)?;
                self.set_session(*session, handle, member);
                Ok(())
            }
            Step::Hostile { on, bytes } => {
                for i in self.resolve(*on, h)? {
                    if !h.hostile(i, bytes)? {
                        return Err(format!("member {i} kept a hostile connection open"));
                    }
                }
                Ok(())
            }
            Step::Request {
                session,
                request,
                expect,
            } => {
                let handle = self.handle(*session)?;
                match (h.call(handle, request), expect) {
                    // The connection went: the request's fate is unknown to the client.
                    (Err(_), Expect::NotOk) => {
                        self.sessions[*session] = None;
                        Ok(())
                    }
                    (answer, _) => check(&answer?, expect),
                }
            }
            Step::Writes {
                session,
                prefix,
                count,
            } => self.writes(*session, prefix, *count, h),
            Step::Event {
                session,
                kind,
                path,
                within_ms,
            } => self.event(*session, *kind, path, *within_ms, h),
            Step::NoEvent {
                session,
                path,
                within_ms,
            } => {
                let handle = self.handle(*session)?;
                let got = h.events(handle, Duration::from_millis(*within_ms))?;
                self.events[*session].extend(got);
                match self.events[*session].iter().find(|e| e.path == *path) {
                    Some(e) => Err(format!("an unexpected {e:?}")),
                    None => Ok(()),
                }
            }
            Step::Close { session } => {
                let handle = self.handle(*session)?;
                h.close(handle);
                self.sessions[*session] = None;
                Ok(())
            }
            Step::Abandon { session } => {
                let handle = self.handle(*session)?;
                h.abandon(handle);
                self.sessions[*session] = None;
                Ok(())
            }
            Step::Flood { on, connections } => {
                for i in self.resolve(*on, h)? {
                    h.flood(i, *connections)?;
                }
                Ok(())
            }
            Step::FloodClosed { within_ms } => {
                match h.flood_open(Duration::from_millis(*within_ms))? {
                    0 => Ok(()),
                    open => Err(format!(
                        "{open} connections that never sent a byte still open after \
                         {within_ms} ms"
                    )),
                }
            }
            Step::NoLeader { for_ms } => {
                let until = Instant::now() + Duration::from_millis(*for_ms);
                // Bounded by `for_ms` (the harness's clock: a simulator runs it virtually).
                let mut waited = 0;
                while waited < *for_ms {
                    if let Some(l) = h.leader(&self.paused) {
                        return Err(format!("member {l} leads after {waited} ms"));
                    }
                    h.sleep(100);
                    waited += 100;
                    if Instant::now() > until + STEP_TIMEOUT {
                        break;
                    }
                }
                Ok(())
            }
            Step::Sleep(ms) => {
                h.sleep(*ms);
                Ok(())
            }
            Step::AckedEverywhere => self.acked_everywhere(h),
        }
    }

    fn set_session(&mut self, session: usize, handle: usize, member: usize) {
        if self.sessions.len() <= session {
            self.sessions.resize(session + 1, None);
            self.events.resize(session + 1, Vec::new());
        }
        self.sessions[session] = Some((handle, member));
    }

    fn handle(&self, session: usize) -> Result<usize, String> {
        self.sessions
            .get(session)
            .copied()
            .flatten()
            .map(|(handle, _)| handle)
            .ok_or_else(|| format!("session {session} is not open"))
    }

    fn wait_leader(&mut self, h: &mut dyn Harness) -> Result<usize, String> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        // Bounded by the deadline.
        loop {
            let away: Vec<usize> = self.isolated.iter().chain(&self.paused).copied().collect();
            if let Some(l) = h.leader(&away) {
                return Ok(l);
            }
            if Instant::now() > deadline {
                return Err(format!("no leader within {STEP_TIMEOUT:?}"));
            }
            h.sleep(50);
        }
    }

    fn resolve(&mut self, who: Who, h: &mut dyn Harness) -> Result<Vec<usize>, String> {
        match who {
            Who::Member(i) if i < self.setup.members => Ok(vec![i]),
            Who::Member(i) => Err(format!("no member {i} in {}", self.setup.members)),
            Who::All => Ok((0..self.setup.members).collect()),
            Who::Leader => Ok(vec![self.wait_leader(h)?]),
            Who::Isolated => self
                .isolated
                .last()
                .map(|&i| vec![i])
                .ok_or_else(|| "no member is cut off".to_string()),
            Who::Follower(k) => {
                let leader = self.wait_leader(h)?;
                (0..self.setup.members)
                    .filter(|&i| {
                        i != leader
                            && h.is_up(i)
                            && !self.isolated.contains(&i)
                            && !self.paused.contains(&i)
                    })
                    .nth(k)
                    .map(|i| vec![i])
                    .ok_or_else(|| format!("no live follower {k}"))
            }
        }
    }

    fn writes(
        &mut self,
        session: usize,
        prefix: &str,
        count: u32,
        h: &mut dyn Harness,
    ) -> Result<(), String> {
        let (mut handle, mut member) = self
            .sessions
            .get(session)
            .copied()
            .flatten()
            .ok_or_else(|| format!("session {session} is not open"))?;
        let deadline = Instant::now() + STEP_TIMEOUT;
        for k in 0..count {
            let path = format!("{prefix}-{k}");
            // Bounded by the deadline: a lost connection moves to the next live member.
            loop {
                match h.call(handle, &create(&path, b"w")) {
                    Ok(a) if a.err == 0 => {
                        self.acked.insert(path.clone());
                        break;
                    }
                    // A retry of a create whose first try committed.
                    Ok(a) if a.err == ErrorCode::NodeExists.as_i32() => break,
                    Ok(a) if a.err == ErrorCode::ConnectionLoss.as_i32() => {}
                    Ok(a) => return Err(format!("create {path}: error {}", a.err)),
                    Err(_) => {}
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "create {path}: no member took it in {STEP_TIMEOUT:?}"
                    ));
                }
                h.close(handle);
                h.sleep(100);
                member = (member + 1) % self.setup.members;
                if let Ok(new) = h.open(member, SESSION_TIMEOUT_MS) {
                    handle = new;
                }
            }
        }
        self.set_session(session, handle, member);
        Ok(())
    }

    fn event(
        &mut self,
        session: usize,
        kind: EventType,
        path: &str,
        within_ms: u64,
        h: &mut dyn Harness,
    ) -> Result<(), String> {
        let handle = self.handle(session)?;
        let deadline = Instant::now() + Duration::from_millis(within_ms);
        // Bounded by the deadline.
        loop {
            let queue = &mut self.events[session];
            if let Some(k) = queue
                .iter()
                .position(|e| e.event_type == kind && e.path == path)
            {
                queue.remove(k);
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "no {kind:?} for {path} within {within_ms} ms (got {:?})",
                    self.events[session]
                ));
            }
            let got = h.events(handle, left.min(Duration::from_millis(200)))?;
            self.events[session].extend(got);
        }
    }

    fn absent(&mut self, path: &str, h: &mut dyn Harness) -> Result<(), String> {
        let live: Vec<usize> = (0..self.setup.members).filter(|&i| h.is_up(i)).collect();
        for i in live {
            let handle = open_within(h, i, SESSION_TIMEOUT_MS)?;
            let synced = h.call(handle, &Request::Sync { path: "/".into() })?;
            if synced.err != 0 {
                return Err(format!("sync on member {i}: error {}", synced.err));
            }
            let get = Request::GetData {
                path: path.into(),
                watch: false,
            };
            let a = h.call(handle, &get)?;
            h.close(handle);
            if a.err != ErrorCode::NoNode.as_i32() {
                return Err(format!(
                    "{path} must exist nowhere, but member {i} answers error {} with {:?}",
                    a.err, a.body
                ));
            }
        }
        Ok(())
    }

    fn acked_everywhere(&mut self, h: &mut dyn Harness) -> Result<(), String> {
        let live: Vec<usize> = (0..self.setup.members).filter(|&i| h.is_up(i)).collect();
        for i in live {
            let handle = open_within(h, i, SESSION_TIMEOUT_MS)?;
            let sync = Request::Sync { path: "/".into() };
            let synced = h.call(handle, &sync)?;
            if synced.err != 0 {
                return Err(format!("sync on member {i}: error {}", synced.err));
            }
            for path in &self.acked {
                let get = Request::GetData {
                    path: path.clone(),
                    watch: false,
                };
                let a = h.call(handle, &get)?;
                if a.err != 0 {
                    h.close(handle);
                    return Err(format!(
                        "acknowledged write {path} is missing on member {i} (error {}): {} \
                         acknowledged in all",
                        a.err,
                        self.acked.len()
                    ));
                }
            }
            h.close(handle);
        }
        if self.acked.is_empty() {
            return Err("no write was acknowledged: the check would prove nothing".into());
        }
        Ok(())
    }
}

/// Opens a session on member `i`, retrying while it refuses (still starting, or joining
/// after a restart), as a ZooKeeper client does; bounded by [`STEP_TIMEOUT`].
fn open_within(h: &mut dyn Harness, i: usize, timeout_ms: i32) -> Result<usize, String> {
    let deadline = Instant::now() + STEP_TIMEOUT;
    // Bounded by the deadline.
    loop {
        match h.open(i, timeout_ms) {
            Ok(handle) => return Ok(handle),
            Err(e) if Instant::now() > deadline => {
                return Err(format!("member {i} takes no session: {e}"))
            }
            Err(_) => h.sleep(100),
        }
    }
}

/// Whether `answer` is what `expect` says.
fn check(answer: &Answer, expect: &Expect) -> Result<(), String> {
    let ok = match (expect, &answer.body) {
        (Expect::Code(code), _) => answer.err == code.as_i32(),
        (Expect::NotOk, _) => answer.err != 0,
        _ if answer.err != 0 => false,
        (Expect::Ok, _) => true,
        (Expect::MultiFailed(code), Some(Response::Multi(results))) => {
            results.contains(&MultiResult::Error(*code))
                && results.iter().all(|r| matches!(r, MultiResult::Error(_)))
        }
        (Expect::Data(want), Some(Response::GetData { data, .. })) => {
            data.as_deref().unwrap_or_default() == want.as_slice()
        }
        (Expect::Children(want), Some(Response::GetChildren { children }))
        | (Expect::Children(want), Some(Response::GetChildren2 { children, .. })) => {
            let got: BTreeSet<&String> = children.iter().collect();
            got == want.iter().collect()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "expected {expect:?}, got error {} with {:?}",
            answer.err, answer.body
        ))
    }
}

/// A persistent create of `path` with `data`, open ACL.
pub fn create(path: &str, data: &[u8]) -> Request {
    create_mode(path, data, 0)
}

/// A create of `path` with ZooKeeper's `flags` (1 ephemeral, 2 sequential, 3 both).
pub fn create_mode(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create(create_request(path, data, flags))
}

/// The body of [`create_mode`] (for a multi's ops).
pub fn create_request(path: &str, data: &[u8], flags: i32) -> CreateRequest {
    CreateRequest {
        kind: CreateKind::Create,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: vec![Acl::open_unsafe()],
        flags,
    }
}

/// Every harness an adapter's `tests/suite.rs` runs the suite on, in one line:
/// `conclave_conformance::adapter_suites!(env!("CARGO_BIN_EXE_x"), InProcessHost)` expands to
/// four modules of one test per scenario — `processes` (the binary as real processes),
/// `in_process` (the members in the test process through the adapter's
/// [`live::Host`]), `kazoo_processes` and `zookeeper_client_processes` (the processes again,
/// every session a kazoo client, then a `zookeeper-client` crate client).
#[macro_export]
macro_rules! adapter_suites {
    ($bin:expr, $host:expr) => {
        mod processes {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!($crate::suite::process::ProcessHarness::new($bin));
        }
        mod in_process {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!($crate::suite::live::LiveHarness::new($host));
        }
        mod kazoo_processes {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!($crate::suite::process::ProcessHarness::new($bin).with_kazoo());
        }
        mod zookeeper_client_processes {
            #[allow(unused_imports)]
            use super::*;
            $crate::suite!(
                $crate::suite::process::ProcessHarness::new($bin).with_zookeeper_client()
            );
        }
    };
}

/// Reports a scenario the harness could not set up, loudly; with `CONCLAVE_REQUIRE_FAULTS=1`
/// (CI sets it) the test fails instead, so a machine that lost a fault cannot go green.
pub fn skipped(scenario: &str, harness: &str, why: &str) {
    let msg = format!(
        "\n!!! SKIPPED: scenario {scenario} on {harness}: {why}.\n!!! Its fault was NOT tested \
         on this machine.\n"
    );
    if std::env::var_os("CONCLAVE_REQUIRE_FAULTS").is_some_and(|v| v == "1") {
        panic!("{msg}(CONCLAVE_REQUIRE_FAULTS=1)");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`.
    use std::io::Write as _;
    let _ = std::io::stderr().write_all(msg.as_bytes());
}

/// Expands to one `#[test]` per scenario of the suite, each playing it on a fresh harness
/// made by `$make` (an expression of a type that implements [`Harness`]). An adapter's
/// conformance tests: `conclave_conformance::suite!(ProcessHarness::new(env!("CARGO_BIN_EXE_x")));`
#[macro_export]
macro_rules! suite {
    ($make:expr) => {
        $crate::suite!(@tests $make;
            election_at_start_3,
            election_at_start_5,
            leader_kill_keeps_acknowledged_writes,
            follower_kill_and_restart_catches_up,
            full_cluster_restart_keeps_acknowledged_writes,
            leader_pause_longer_than_the_session_timeout,
            session_close_removes_ephemerals_and_fires_watches,
            master_election_recipe,
            sequential_nodes_are_unique_and_ordered,
            multi_is_all_or_nothing,
            watches_fire_once_and_in_order,
            reconnect_to_another_member_keeps_the_session,
            hostile_connections_do_not_disturb_the_others,
            removed_members_keep_following_and_writes_survive_a_leader_kill,
            partitioned_leader_commits_nothing_and_the_majority_moves_on,
            isolated_follower_catches_up_after_the_heal,
            observers_forward_writes_and_never_vote,
            session_expiry_removes_ephemerals_and_fires_watches,
            idle_connections_are_closed_and_do_not_disturb_the_others
        );
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let scenario = $crate::suite::scenario(stringify!($name))
                    .expect("every name in suite! is a scenario");
                let mut harness = $make;
                match $crate::suite::run(&scenario, &mut harness) {
                    Ok($crate::suite::Verdict::Passed) => {}
                    Ok($crate::suite::Verdict::Skipped(why)) => $crate::suite::skipped(
                        stringify!($name),
                        &$crate::suite::Harness::describe(&harness),
                        &why,
                    ),
                    Err(e) => panic!("{e}"),
                }
            }
        )*
    };
}
