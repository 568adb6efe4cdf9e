//! `bench --soak MINUTES`: a Conclave ensemble under write load for MINUTES, its leader
//! killed with -9 every 15 s (restarted on its data a second later), a member paused
//! (SIGSTOP past syncLimit) between every other pair of kills, and the leader cut off from the
//! other members for 4 s (nft drop rules, every member in a network namespace of its own)
//! half-way through every fourth cycle. At the end: every acknowledged create must be there
//! (lost writes), every register's history must be linearizable (anomalies), and the write
//! unavailability of each kill and partition is reported with a timeline chart. Where the
//! machine cannot build namespaces (not root, no `ip` or `nft`), the soak says loudly that
//! partitions were not mixed in, and its summary says why.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conclave_conformance::linearizability::{
    check_znode_sessions, Answer, Operation, Verdict, ZnodeOp,
};
use conclave_conformance::suite::netns::{self, Net};
use zookeeper_client as zk;

use crate::cluster::{Cluster, Service};
use crate::load;

/// What a soak runs.
#[derive(Clone)]
pub(crate) struct SoakOptions {
    /// Length of the load, minutes.
    pub(crate) minutes: f64,
    /// The Conclave server binary.
    pub(crate) bin: PathBuf,
    /// First client port.
    pub(crate) base_port: u16,
    /// Data directories.
    pub(crate) dir: PathBuf,
    /// Where `soak.json`, `soak-events.jsonl` and `soak.svg` go.
    pub(crate) out: PathBuf,
}

/// Writer sessions (one request in flight each) and the registers they share.
const WRITERS: u64 = 8;
/// Creates per writer, at most: the state stays bounded (~30 MB) however long the soak runs;
/// after that a writer only sets registers.
const CREATES_PER_WRITER: usize = 25_000;
const REGISTERS: usize = 4;
/// Writers move to a fresh set of registers every this many seconds, so each register's
/// history stays small enough to check (one 30-minute history per register took the checker
/// past 23 GB: the first 30-minute soak was killed by the OOM killer at its verdict).
const GENERATION_SECS: u64 = 30;

/// Checker steps per register history (50 M took minutes and gigabytes per history on
/// histories with many unanswered writes from the kill windows).
const CHECK_BUDGET: u64 = 2_000_000;

/// The znode of register `index` (generation `index / REGISTERS`).
fn register_path(index: usize) -> String {
    format!("/soak/r{}g{}", index % REGISTERS, index / REGISTERS)
}
/// The throughput timeline's bucket.
const BUCKET_MS: u64 = 500;
/// Seconds between two leader kills; the pause falls half-way.
const KILL_EVERY_S: f64 = 15.0;
/// tickTime of the soaked ensemble (syncLimit 5 ticks = 2.5 s), and the length of a pause.
const TICK_MS: u32 = 500;
const PAUSE: Duration = Duration::from_secs(4);
/// How long the leader stays cut off in a partition (past syncLimit: the others elect).
const PARTITION: Duration = Duration::from_secs(4);

/// One fault, for the report and the chart.
struct Event {
    at: Duration,
    what: &'static str,
    member: usize,
    /// For kills: kill → first acknowledged write sent after it.
    gap: Option<Duration>,
}

/// What the writers share with the fault loop.
struct Shared {
    epoch: Instant,
    stop: AtomicBool,
    /// Register generations created at the start.
    generations: usize,
    /// Acknowledged writes per [`BUCKET_MS`].
    buckets: Vec<AtomicU32>,
    /// Latest send time (ns since epoch) of a write that was acknowledged.
    last_acked_sent_ns: AtomicU64,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn acked(&self, sent_ns: u64) {
        let b = (self.epoch.elapsed().as_millis() as u64 / BUCKET_MS) as usize;
        if let Some(c) = self.buckets.get(b) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        self.last_acked_sent_ns
            .fetch_max(sent_ns, Ordering::Relaxed);
    }
}

/// What one writer did: creates acknowledged, and its register operations.
type Written = (Vec<String>, Vec<(usize, Operation)>);

async fn writer(hosts: String, w: u64, shared: Arc<Shared>) -> Written {
    let mut client = None;
    let (mut created, mut ops) = (Vec::new(), Vec::new());
    let mut i = 0usize;
    while !shared.stop.load(Ordering::Relaxed) {
        let c = match &client {
            Some(c) => c,
            None => match load::connect(&hosts, Duration::from_secs(5)).await {
                Ok(c) => client.insert(c),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        i += 1;
        let sent = shared.now_ns();
        let wait = Duration::from_secs(3);
        let outcome = if i.is_multiple_of(2) && created.len() < CREATES_PER_WRITER {
            let path = format!("/soak/a/{w}-{i}");
            let r = tokio::time::timeout(wait, c.create(&path, &load::VALUE, &load::persistent()))
                .await;
            match r {
                Ok(Ok(_)) => {
                    created.push(path);
                    Ok(())
                }
                Ok(Err(e)) => {
                    if std::env::var_os("SOAK_DEBUG").is_some() {
                        eprintln!("create {path}: {e}");
                    }
                    Err(Some(e))
                }
                Err(_) => Err(None),
            }
        } else {
            let generation = (shared.epoch.elapsed().as_secs() / GENERATION_SECS) as usize;
            let k =
                generation.min(shared.generations - 1) * REGISTERS + (w as usize + i) % REGISTERS;
            let data = format!("{w}-{i}").into_bytes();
            let r = tokio::time::timeout(wait, c.set_data(&register_path(k), &data, None)).await;
            let (answer, outcome) = match r {
                Ok(Ok(stat)) => (Some(Answer::Set(stat.version)), Ok(())),
                Ok(Err(zk::Error::NoNode)) => (Some(Answer::NoNode), Ok(())),
                Ok(Err(zk::Error::BadVersion)) => (Some(Answer::BadVersion), Ok(())),
                Ok(Err(e)) => (None, Err(Some(e))),
                Err(_) => (None, Err(None)),
            };
            let op = Operation {
                client: w,
                call: sent,
                reply: answer.map(|a| (shared.now_ns(), a)),
                op: ZnodeOp::SetData(data, -1),
            };
            ops.push((k, op));
            outcome
        };
        match outcome {
            Ok(()) => shared.acked(sent),
            Err(e) => {
                if matches!(e, Some(zk::Error::SessionExpired | zk::Error::ClientClosed)) {
                    client = None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    (created, ops)
}

/// The leader's index, asking `srvr` until one answers (10 s bound).
async fn find_leader(cluster: &Cluster) -> Option<usize> {
    for _ in 0..200 {
        if let Some(l) = cluster.leader() {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Runs the soak; `Ok(true)` when no write was lost and no anomaly found. With namespaces,
/// the members run in theirs and the load (its own runtime) from the client namespace.
pub(crate) fn run(o: &SoakOptions) -> Result<bool, String> {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("runtime: {e}"))
    };
    let net = match netns::unavailable() {
        None => Net::create(3).map_err(|e| format!("network namespaces: {e}"))?,
        Some(why) => {
            let why = format!("network partitions NOT mixed in: {why}");
            eprintln!("\n!!! soak: {why}\n");
            return runtime()?.block_on(soak(o, None, Some(why)));
        }
    };
    let net = Arc::new(net);
    let (o, inside) = (o.clone(), net.clone());
    netns::within(&net.client_ns(), move || {
        runtime()?.block_on(soak(&o, Some(&inside), None))
    })?
}

async fn soak(o: &SoakOptions, net: Option<&Net>, no_net: Option<String>) -> Result<bool, String> {
    let service = Service::Conclave {
        bin: o.bin.clone(),
        base_port: o.base_port,
        tick_ms: TICK_MS,
        cfg: String::new(),
    };
    let dir = o.dir.join("soak");
    let mut cluster = Cluster::start_with(&service, 3, &dir, &|_| String::new(), net)?;
    let hosts = cluster.connect_string();
    let admin = load::first_write(&hosts, "/soak").await?;
    load::ensure(&admin, "/soak/a").await?;
    let generations = (o.minutes * 60.0 / GENERATION_SECS as f64).ceil() as usize + 2;
    for k in 0..generations * REGISTERS {
        load::ensure(&admin, &register_path(k)).await?;
    }
    let length = Duration::from_secs_f64(o.minutes * 60.0);
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        stop: AtomicBool::new(false),
        generations,
        buckets: (0..(length.as_millis() as u64 / BUCKET_MS + 240))
            .map(|_| AtomicU32::new(0))
            .collect(),
        last_acked_sent_ns: AtomicU64::new(0),
    });
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(hosts.clone(), w, shared.clone())))
        .collect();
    let mut events: Vec<Event> = Vec::new();
    let mut cycle = 0usize;
    let mut next_report = Duration::from_secs(60);
    // Steady load first, so the timeline shows what a kill takes away.
    tokio::time::sleep(Duration::from_secs(5)).await;
    while shared.epoch.elapsed() + Duration::from_secs_f64(KILL_EVERY_S) <= length {
        let cycle_start = Instant::now();
        let leader = find_leader(&cluster).await.ok_or("no leader for 10 s")?;
        // From the moment the signal is sent (`kill` has returned): a write sent before it
        // may still be committed by the old leader.
        cluster.kill9(leader)?;
        let killed_ns = shared.now_ns();
        let at = shared.epoch.elapsed();
        let mut gap = None;
        let mut restarted = false;
        while cycle_start.elapsed() < Duration::from_secs(10) {
            if !restarted && cycle_start.elapsed() >= Duration::from_secs(1) {
                cluster.restart(leader)?;
                restarted = true;
            }
            if gap.is_none() && shared.last_acked_sent_ns.load(Ordering::Relaxed) >= killed_ns {
                gap = Some(Duration::from_nanos(shared.now_ns() - killed_ns));
            }
            if restarted && gap.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if !restarted {
            cluster.restart(leader)?;
        }
        events.push(Event {
            at,
            what: "kill -9 leader",
            member: leader + 1,
            gap,
        });
        let half = Duration::from_secs_f64(KILL_EVERY_S / 2.0);
        if let Some(net) = net.filter(|_| cycle % 4 == 2) {
            tokio::time::sleep(half.saturating_sub(cycle_start.elapsed())).await;
            let cut = find_leader(&cluster).await.ok_or("no leader for 10 s")?;
            net.isolate(cut + 1, &dir)?;
            let cut_ns = shared.now_ns();
            let at = shared.epoch.elapsed();
            let started = Instant::now();
            let mut gap = None;
            // Bounded: the gap is watched while the leader is cut off (PARTITION); a partition
            // without a write in that time is counted as such.
            while started.elapsed() < Duration::from_secs(10) {
                if gap.is_none() && shared.last_acked_sent_ns.load(Ordering::Relaxed) >= cut_ns {
                    gap = Some(Duration::from_nanos(shared.now_ns() - cut_ns));
                }
                if started.elapsed() >= PARTITION {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            net.heal(cut + 1)?;
            events.push(Event {
                at,
                what: "partition",
                member: cut + 1,
                gap,
            });
            events.push(Event {
                at: shared.epoch.elapsed(),
                what: "heal",
                member: cut + 1,
                gap: None,
            });
        }
        if cycle % 2 == 1 {
            tokio::time::sleep(half.saturating_sub(cycle_start.elapsed())).await;
            let member = (cycle / 2) % 3;
            events.push(Event {
                at: shared.epoch.elapsed(),
                what: "pause",
                member: member + 1,
                gap: None,
            });
            cluster.signal(member, "STOP")?;
            tokio::time::sleep(PAUSE).await;
            cluster.signal(member, "CONT")?;
            events.push(Event {
                at: shared.epoch.elapsed(),
                what: "resume",
                member: member + 1,
                gap: None,
            });
        }
        let every = Duration::from_secs_f64(KILL_EVERY_S);
        tokio::time::sleep(every.saturating_sub(cycle_start.elapsed())).await;
        cycle += 1;
        if shared.epoch.elapsed() >= next_report {
            next_report += Duration::from_secs(60);
            let acked: u64 = shared
                .buckets
                .iter()
                .map(|b| u64::from(b.load(Ordering::Relaxed)))
                .sum();
            eprintln!(
                "soak: {:.0} s of {:.0} s: {} kills, {} pauses, {} partitions, {acked} writes \
                 acknowledged",
                shared.epoch.elapsed().as_secs_f64(),
                length.as_secs_f64(),
                events.iter().filter(|e| e.what.starts_with("kill")).count(),
                events.iter().filter(|e| e.what == "pause").count(),
                events.iter().filter(|e| e.what == "partition").count(),
            );
        }
    }
    let load_end = shared.epoch.elapsed();
    shared.stop.store(true, Ordering::Relaxed);
    let registers = generations * REGISTERS;
    let (mut created, mut histories) = (Vec::new(), vec![Vec::new(); registers]);
    for w in writers {
        let (c, ops) = w.await.map_err(|e| format!("writer: {e}"))?;
        created.extend(c);
        for (k, op) in ops {
            histories[k].push(op);
        }
    }
    // The verdict, through a fresh session after sync.
    drop(admin);
    let reader = load::first_write(&hosts, "/soak").await?;
    let wait = Duration::from_secs(10);
    let sync = tokio::time::timeout(wait, reader.sync("/soak/a")).await;
    if !matches!(sync, Ok(Ok(()))) {
        return Err(String::from("the closing sync did not answer"));
    }
    let present = tokio::time::timeout(wait, reader.get_children("/soak/a"))
        .await
        .map_err(|_| "getChildren timed out")?
        .map_err(|e| format!("getChildren: {e}"))?;
    let present: std::collections::HashSet<String> = present.0.into_iter().collect();
    let lost: Vec<&String> = created
        .iter()
        .filter(|p| !present.contains(p.trim_start_matches("/soak/a/")))
        .collect();
    // The durability verdict first: the linearizability checks below can take minutes.
    eprintln!(
        "soak: {} acknowledged creates, {} lost; checking {} register histories …",
        created.len(),
        lost.len(),
        histories.iter().filter(|h| !h.is_empty()).count()
    );
    let histories_len = histories.len();
    let (mut anomalies, mut undecided, mut checked) = (0usize, 0usize, 0usize);
    for (k, history) in histories.iter_mut().enumerate() {
        if k % 40 == 39 {
            eprintln!("soak: {} of {} registers checked", k + 1, histories_len);
        }
        if history.is_empty() {
            continue;
        }
        let path = register_path(k);
        let call = shared.now_ns();
        let _ = tokio::time::timeout(wait, reader.sync(&path)).await;
        let (data, stat) = tokio::time::timeout(wait, reader.get_data(&path))
            .await
            .map_err(|_| "closing read timed out")?
            .map_err(|e| format!("closing read of {path}: {e}"))?;
        history.push(Operation {
            client: u64::MAX,
            call,
            reply: Some((shared.now_ns(), Answer::Data(data, stat.version))),
            op: ZnodeOp::Read,
        });
        checked += history.len();
        // A step budget per history: past it the verdict is "undecided", never a pass. The
        // memo grows with the steps, so this also bounds the checker's memory.
        // Each writer is one session at a time (a new one only once the old one is gone), so
        // ZooKeeper's FIFO client order holds per writer: a write whose reply was lost took
        // effect before the writer's next answered one, or never.
        match check_znode_sessions(history, Some((&load::VALUE, 0)), CHECK_BUDGET) {
            Verdict::Linearizable => {}
            Verdict::Violation(why) => {
                anomalies += 1;
                eprintln!("soak: !!! {path} is not linearizable: {why}");
            }
            Verdict::Unknown => undecided += 1,
        }
        *history = Vec::new();
    }
    for p in lost.iter().take(10) {
        eprintln!("soak: !!! acknowledged create lost: {p}");
    }
    let gaps_of = |what: &str| {
        let mut gaps: Vec<f64> = events
            .iter()
            .filter(|e| e.what.starts_with(what))
            .filter_map(|e| e.gap.map(|g| g.as_secs_f64() * 1e3))
            .collect();
        gaps.sort_by(|a, b| a.total_cmp(b));
        gaps
    };
    let (gaps, cut_gaps) = (gaps_of("kill"), gaps_of("partition"));
    let pct_of = |gaps: &[f64], p: f64| {
        gaps.get(((gaps.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
    };
    let pct = |p: f64| pct_of(&gaps, p);
    let kills = events.iter().filter(|e| e.what.starts_with("kill")).count();
    let pauses = events.iter().filter(|e| e.what == "pause").count();
    let partitions = events.iter().filter(|e| e.what == "partition").count();
    let acked: u64 = shared
        .buckets
        .iter()
        .map(|b| u64::from(b.load(Ordering::Relaxed)))
        .sum();
    let summary = serde_json::json!({
        "binary": o.bin.display().to_string(), "minutes": o.minutes, "kills": kills,
        "kills_without_recovery_in_10s": kills - gaps.len(), "pauses": pauses,
        "partitions": partitions, "partitions_not_tested": no_net,
        "partitions_without_a_write_while_cut": partitions - cut_gaps.len(),
        "partition_unavailability_p50_ms": pct_of(&cut_gaps, 0.5),
        "partition_unavailability_max_ms": cut_gaps.last(),
        "writes_acknowledged": acked, "creates_acknowledged": created.len(),
        "lost_writes": lost.len(), "register_ops_checked": checked, "anomalies": anomalies,
        "undecided": undecided, "unavailability_p50_ms": pct(0.5), "unavailability_p99_ms": pct(0.99),
        "unavailability_max_ms": gaps.last(),
    });
    println!("{summary}");
    eprintln!(
        "soak: {kills} kills, {pauses} pauses, {partitions} partitions, {acked} writes \
         acknowledged, {} lost, {checked} register ops checked: {anomalies} anomalies, \
         {undecided} undecided; write unavailability per kill p50 {:.0} ms p99 {:.0} ms, per \
         partition of the leader p50 {:.0} ms max {:.0} ms",
        lost.len(),
        pct(0.5).unwrap_or(f64::NAN),
        pct(0.99).unwrap_or(f64::NAN),
        pct_of(&cut_gaps, 0.5).unwrap_or(f64::NAN),
        cut_gaps.last().copied().unwrap_or(f64::NAN),
    );
    if let Some(why) = &no_net {
        eprintln!("!!! soak: {why}");
    }
    let events_jsonl: String = events
        .iter()
        .map(|e| {
            format!(
                "{}\n",
                serde_json::json!({"at_s": e.at.as_secs_f64(), "event": e.what, "member": e.member,
                    "unavailable_ms": e.gap.map(|g| g.as_secs_f64() * 1e3)})
            )
        })
        .collect();
    let counts: Vec<u32> = shared
        .buckets
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .take((load_end.as_millis() as u64 / BUCKET_MS) as usize)
        .collect();
    for (name, text) in [
        ("soak.json", format!("{summary}\n")),
        ("soak-events.jsonl", events_jsonl),
        ("soak.svg", timeline_svg(&counts, &events, &o.bin)),
    ] {
        std::fs::write(o.out.join(name), text).map_err(|e| format!("{name}: {e}"))?;
    }
    eprintln!(
        "soak: wrote {}/{{soak.json,soak-events.jsonl,soak.svg}}",
        o.out.display()
    );
    drop(cluster);
    Ok(lost.is_empty() && anomalies == 0)
}

/// Throughput per bucket as a line, kills as red marks, pauses as grey bands.
fn timeline_svg(counts: &[u32], events: &[Event], bin: &std::path::Path) -> String {
    let (w, h, left, top, bottom) = (1000.0, 320.0, 60.0, 40.0, 40.0);
    let plot_w = w - left - 20.0;
    let plot_h = h - top - bottom;
    let secs = (counts.len() as f64 * BUCKET_MS as f64 / 1e3).max(1.0);
    let per_s = |c: u32| f64::from(c) * 1e3 / BUCKET_MS as f64;
    let max = counts.iter().map(|c| per_s(*c)).fold(1.0, f64::max);
    let x = |t: f64| left + plot_w * t / secs;
    let y = |v: f64| top + plot_h * (1.0 - v / max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">soak of {}: acknowledged writes/s; red: kill -9 of the leader; grey: a member paused; orange: the leader cut off</text>\n",
        bin.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    let (mut paused_at, mut cut_at) = (None, None);
    for e in events {
        let t = e.at.as_secs_f64();
        match e.what {
            "pause" => paused_at = Some(t),
            "partition" => cut_at = Some(t),
            "resume" | "heal" => {
                let (from, fill) = if e.what == "heal" {
                    (cut_at.take(), "#f5c77e")
                } else {
                    (paused_at.take(), "#ddd")
                };
                if let Some(p) = from {
                    let _ = writeln!(
                        s,
                        "<rect x=\"{:.1}\" y=\"{top}\" width=\"{:.1}\" height=\"{plot_h}\" fill=\"{fill}\"/>",
                        x(p),
                        (x(t) - x(p)).max(1.0)
                    );
                }
            }
            _ => {
                let _ = writeln!(
                    s,
                    "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{top}\" y2=\"{1}\" stroke=\"#d33\"/>",
                    x(t),
                    top + plot_h
                );
            }
        }
    }
    let points: Vec<String> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            format!(
                "{:.1},{:.1}",
                x(i as f64 * BUCKET_MS as f64 / 1e3),
                y(per_s(*c))
            )
        })
        .collect();
    let _ = writeln!(
        s,
        "<polyline fill=\"none\" stroke=\"#2b7bb9\" stroke-width=\"1\" points=\"{}\"/>",
        points.join(" ")
    );
    let _ = writeln!(
        s,
        "<line x1=\"{left}\" x2=\"{left}\" y1=\"{top}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{left}\" x2=\"{1}\" y1=\"{0}\" y2=\"{0}\" stroke=\"black\"/>",
        top + plot_h,
        left + plot_w
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max:.0}/s</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>",
        left - 4.0,
        top + 4.0,
        left - 4.0,
        top + plot_h
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{secs:.0} s</text>",
        left + plot_w,
        top + plot_h + 16.0
    );
    s.push_str("</svg>\n");
    s
}
