//! Differential testing against Apache ZooKeeper: one seeded sequence of random client
//! requests goes to a reference server (ZooKeeper 3.8) and to Conclave, request by request,
//! from the same number of sessions; every reply (code, data, children, ACLs, Stat fields but
//! times and ids) and the notifications that arrived before it must be equal, and so must the
//! whole tree at the end.
//!
//! Entry points: [`run`] against two running servers, [`servers`] to start both standalone.
//! `bench --differential OPS` is the documented long run; the adapters' tests run a short one.

mod compare;
mod gen;
pub mod servers;
pub(crate) mod wire;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use conclave_core::client::{
    Acl, CreateKind, CreateRequest, ErrorCode, MultiResult, Request, Response,
};

use compare::{class, kept, render, render_events, SessionNames};
use gen::{Generator, ROOT};
use wire::{Reply, Session, WireError};

/// What to run.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Random requests to send (to each server).
    pub ops: u64,
    /// Fixes the whole sequence.
    pub seed: u64,
    /// Concurrent sessions (each request goes out on one of them).
    pub sessions: usize,
    /// Print a progress line to stderr every this many requests (0: never).
    pub progress_every: u64,
    /// Divergences kept in full; the rest are only counted by kind.
    pub keep: usize,
    /// Print every request and both answers to stderr (to find where a divergence began).
    pub trace: bool,
}

impl Default for DiffOptions {
    fn default() -> DiffOptions {
        DiffOptions {
            ops: 2_000,
            seed: 1,
            sessions: 3,
            progress_every: 0,
            keep: 20,
            trace: false,
        }
    }
}

/// One request whose answers differ.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// Its position in the run (0-based); `u64::MAX` for the closing tree walk, one less for
    /// the setup.
    pub index: u64,
    /// The session slot that sent it.
    pub slot: usize,
    /// The request, as the core's codec names it.
    pub request: String,
    /// What ZooKeeper answered.
    pub zookeeper: String,
    /// What Conclave answered.
    pub conclave: String,
}

/// The outcome of a run.
#[derive(Clone, Debug, Default)]
pub struct DiffReport {
    /// Requests sent to each server.
    pub ops: u64,
    /// Replies compared (requests plus the closing tree walk).
    pub compared: u64,
    /// Nodes under the run's root on each server at the end.
    pub final_nodes: (usize, usize),
    /// The first divergences, in full.
    pub divergences: Vec<Divergence>,
    /// Every divergence, counted by kind (opcode, ZooKeeper's class, Conclave's class).
    pub kinds: BTreeMap<String, u64>,
    /// Divergences kept on purpose (docs/compatibility.md), counted by reason.
    pub kept: BTreeMap<&'static str, u64>,
    /// Count of every request kind sent, by opcode name and ZooKeeper's answer.
    pub coverage: BTreeMap<String, u64>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl DiffReport {
    /// Total divergences.
    pub fn divergence_count(&self) -> u64 {
        self.kinds.values().sum()
    }

    /// A human summary: counts, every kind, the first divergences in full.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "differential run: {} requests, {} replies compared, {} divergences, {:.1} s; \
             final tree {} nodes (ZooKeeper) / {} (Conclave)\n",
            self.ops,
            self.compared,
            self.divergence_count(),
            self.elapsed.as_secs_f64(),
            self.final_nodes.0,
            self.final_nodes.1
        );
        for (kind, n) in &self.kinds {
            s.push_str(&format!("  {n:>6} x {kind}\n"));
        }
        for (why, n) in &self.kept {
            s.push_str(&format!("  {n:>6} x kept on purpose: {why}\n"));
        }
        for d in &self.divergences {
            let at = match d.index {
                FINAL_WALK => "the final tree walk".to_string(),
                SETUP => "setup".to_string(),
                i => format!("#{i}"),
            };
            s.push_str(&format!(
                "  {at} (session slot {}): {}\n      zookeeper: {}\n      conclave:  {}\n",
                d.slot, d.request, d.zookeeper, d.conclave
            ));
        }
        s
    }
}

/// One session slot: the same client on both servers.
struct Slot {
    zk: Session,
    cc: Session,
    generation: u32,
}

/// Every session id each server gave, named by slot and generation.
#[derive(Default)]
struct Names {
    zk: BTreeMap<i64, String>,
    cc: BTreeMap<i64, String>,
}

struct Side<'a>(&'a BTreeMap<i64, String>);

impl SessionNames for Side<'_> {
    fn name(&self, id: i64) -> Option<String> {
        self.0.get(&id).cloned()
    }
}

/// The index of the closing tree walk's requests.
const FINAL_WALK: u64 = u64::MAX;
/// The index of requests before the random ones (connects, the run's root).
const SETUP: u64 = u64::MAX - 1;

/// How divergences in notifications are named (their kind starts with it).
const NOTIFICATIONS: &str = "notifications";

/// Session timeout asked for (both servers grant it with tickTime 2000).
const SESSION_TIMEOUT_MS: i32 = 30_000;
/// Longest wait for one reply.
const REPLY_WAIT: Duration = Duration::from_secs(20);
/// Most nodes the closing tree walk visits.
const WALK_LIMIT: usize = 200_000;

struct Run<'o> {
    opts: &'o DiffOptions,
    zk_addr: SocketAddr,
    cc_addr: SocketAddr,
    slots: Vec<Slot>,
    names: Names,
    report: DiffReport,
}

/// Runs the sequence fixed by `opts.seed` against ZooKeeper at `zookeeper` and Conclave at
/// `conclave` (both freshly started, standalone, empty). Errors only when a server cannot
/// be reached at all; every difference in behaviour is in the report.
pub fn run(
    zookeeper: SocketAddr,
    conclave: SocketAddr,
    opts: &DiffOptions,
) -> Result<DiffReport, String> {
    let started = Instant::now();
    let mut r = Run {
        opts,
        zk_addr: zookeeper,
        cc_addr: conclave,
        slots: Vec::new(),
        names: Names::default(),
        report: DiffReport::default(),
    };
    for slot in 0..opts.sessions.max(1) {
        let s = r.open(slot, 0)?;
        r.slots.push(s);
    }
    let root = Request::Create(CreateRequest {
        kind: CreateKind::Create,
        path: ROOT.into(),
        data: None,
        acl: vec![Acl::open_unsafe()],
        flags: 0,
    });
    r.step(SETUP, 0, &root)?;
    let mut gen = Generator::new(opts.seed, r.slots.len());
    for i in 0..opts.ops {
        let (slot, request) = gen.next();
        if let Some(zk_reply) = r.step(i, slot, &request)? {
            for path in created_paths(&zk_reply) {
                gen.learn_created(&path);
            }
        }
        r.report.ops += 1;
        if opts.progress_every > 0 && (i + 1) % opts.progress_every == 0 {
            eprintln!(
                "differential: {}/{} requests, {} divergences, {:.0} s",
                i + 1,
                opts.ops,
                r.report.divergence_count(),
                started.elapsed().as_secs_f64()
            );
        }
    }
    r.compare_trees()?;
    r.report.elapsed = started.elapsed();
    Ok(r.report)
}

/// The nodes a successful reply says were created.
fn created_paths(reply: &Reply) -> Vec<String> {
    match &reply.body {
        Some(Response::Create { path }) | Some(Response::Create2 { path, .. }) => {
            vec![path.clone()]
        }
        Some(Response::Multi(results)) => results
            .iter()
            .filter_map(|m| match m {
                MultiResult::Create { path } | MultiResult::Create2 { path, .. } => {
                    Some(path.clone())
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Run<'_> {
    fn open(&mut self, slot: usize, generation: u32) -> Result<Slot, String> {
        let connect = |addr, who: &str| {
            Session::connect(addr, SESSION_TIMEOUT_MS, REPLY_WAIT)
                .map_err(|e| format!("{who} at {addr}: {e}"))
        };
        let zk = connect(self.zk_addr, "ZooKeeper")?;
        let cc = connect(self.cc_addr, "Conclave")?;
        if zk.timeout_ms != cc.timeout_ms {
            self.diverge(
                SETUP,
                slot,
                "connect",
                format!("timeout {}", zk.timeout_ms),
                format!("timeout {}", cc.timeout_ms),
            );
        }
        let name = format!("s{slot}.{generation}");
        self.names.zk.insert(zk.id, name.clone());
        self.names.cc.insert(cc.id, name);
        Ok(Slot { zk, cc, generation })
    }

    /// Replaces a slot's sessions. A session whose connection was closed without a
    /// closeSession (an AUTHFAILED addAuth) would live on until it expires, at a moment each
    /// server picks differently: it is resumed and closed on both first.
    fn reopen(&mut self, slot: usize, closed: bool) -> Result<(), String> {
        if !closed {
            let s = &self.slots[slot];
            for (addr, id, passwd) in [
                (self.zk_addr, s.zk.id, s.zk.passwd.clone()),
                (self.cc_addr, s.cc.id, s.cc.passwd.clone()),
            ] {
                if let Ok(mut old) =
                    Session::resume(addr, SESSION_TIMEOUT_MS, REPLY_WAIT, id, passwd)
                {
                    let _ = old.call(&Request::CloseSession);
                }
            }
        }
        let generation = self.slots[slot].generation + 1;
        self.slots[slot] = self.open(slot, generation)?;
        Ok(())
    }

    fn diverge(&mut self, index: u64, slot: usize, request: &str, zk: String, cc: String) {
        let op = request.split([' ', '(', '{']).next().unwrap_or(request);
        let kind = format!("{op}: zookeeper {} / conclave {}", class(&zk), class(&cc));
        *self.report.kinds.entry(kind).or_default() += 1;
        if self.report.divergences.len() < self.opts.keep {
            self.report.divergences.push(Divergence {
                index,
                slot,
                request: request.to_string(),
                zookeeper: zk,
                conclave: cc,
            });
        }
    }

    /// Sends `request` on `slot` to both servers, compares, and returns ZooKeeper's reply.
    fn step(
        &mut self,
        index: u64,
        slot: usize,
        request: &Request,
    ) -> Result<Option<Reply>, String> {
        let op = request.op_code();
        let s = &mut self.slots[slot];
        let zk = s.zk.send(request).and_then(|x| s.zk.receive(x, op));
        let cc = s.cc.send(request).and_then(|x| s.cc.receive(x, op));
        let described = describe(request);
        self.report.compared += 1;
        let outcome = |r: &Result<Reply, WireError>, names: &BTreeMap<i64, String>| match r {
            Ok(reply) => render(reply, &Side(names)),
            Err(WireError::Closed) => "connection closed".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        let zk_text = outcome(&zk, &self.names.zk);
        let cc_text = outcome(&cc, &self.names.cc);
        if self.opts.trace {
            let events = |r: &Result<Reply, WireError>| {
                r.as_ref()
                    .map(|x| render_events(&x.events))
                    .unwrap_or_default()
            };
            eprintln!(
                "#{index} s{slot} {described}\n    zk: {zk_text} [{}]\n    cc: {cc_text} [{}]",
                events(&zk),
                events(&cc)
            );
        }
        *self
            .report
            .coverage
            .entry(format!("{} {}", op.name(), class(&zk_text)))
            .or_default() += 1;
        if zk_text != cc_text {
            match kept(request, &zk_text, &cc_text) {
                Some(why) => *self.report.kept.entry(why).or_default() += 1,
                None => self.diverge(index, slot, &described, zk_text, cc_text),
            }
        }
        if let (Ok(a), Ok(b)) = (&zk, &cc) {
            let (ea, eb) = (render_events(&a.events), render_events(&b.events));
            if ea != eb {
                self.diverge(
                    index,
                    slot,
                    &format!("{NOTIFICATIONS} before {described}"),
                    ea,
                    eb,
                );
            }
        }
        let auth_failed = |r: &Result<Reply, WireError>| matches!(r, Ok(x) if x.err == ErrorCode::AuthFailed.as_i32());
        let ended = matches!(request, Request::CloseSession)
            || auth_failed(&zk)
            || auth_failed(&cc)
            || zk.is_err()
            || cc.is_err();
        if ended {
            self.reopen(slot, matches!(request, Request::CloseSession))?;
        }
        Ok(zk.ok())
    }

    /// Walks both trees under the run's root (and `/`'s children) and compares every node's
    /// data, stat and children.
    fn compare_trees(&mut self) -> Result<(), String> {
        let mut stack = vec!["/".to_string()];
        let mut visited = 0usize;
        let mut counts = (0usize, 0usize);
        while let Some(path) = stack.pop() {
            if visited >= WALK_LIMIT {
                break;
            }
            visited += 1;
            for req in [
                Request::GetData {
                    path: path.clone(),
                    watch: false,
                },
                Request::GetAcl { path: path.clone() },
            ] {
                self.step(FINAL_WALK, 0, &req)?;
            }
            let list = Request::GetChildren {
                path: path.clone(),
                watch: false,
            };
            let zk = self.step(FINAL_WALK, 0, &list)?;
            if let Some(Reply {
                body: Some(Response::GetChildren { children }),
                ..
            }) = zk
            {
                if path.starts_with(ROOT) {
                    counts.0 += children.len();
                }
                for c in children {
                    let child = if path == "/" {
                        format!("/{c}")
                    } else {
                        format!("{path}/{c}")
                    };
                    if child != "/zookeeper" {
                        stack.push(child);
                    }
                }
            }
            // Conclave's count, for the report.
            if path.starts_with(ROOT) {
                if let Ok(Reply {
                    body: Some(Response::GetChildren { children }),
                    ..
                }) = self.slots[0].cc.call(&list)
                {
                    counts.1 += children.len();
                }
            }
        }
        self.report.final_nodes = counts;
        Ok(())
    }
}

/// A request as a short line: opcode, then its fields.
fn describe(request: &Request) -> String {
    let name = request.op_code().name();
    let mut s = format!("{name} {request:?}");
    if s.len() > 400 {
        s.truncate(400);
        s.push('…');
    }
    s
}
