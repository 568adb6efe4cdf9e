//! `bench`: the same workloads against Conclave and Apache ZooKeeper 3.8, in one run,
//! alternating which goes first each round, with the same clients (the timed workloads'
//! own pipelined sessions, `pipe.rs`; the `zookeeper-client` crate for setup, the election
//! and failover). Prints a JSON line per measurement on stdout, progress on stderr, and at the end
//! the medians and ratios; writes `results.jsonl`, `summary.md` and `bench.svg` to `--out`.
//!
//! `cargo run --release -p conclave-bench -- --rounds 3` (docs/benchmarks.md has the method).

mod cluster;
mod floor;
mod load;
mod pipe;
mod report;
mod soak;
mod tls;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cluster::{Cluster, Service};
use load::{Client, Op, Shape};
use report::{Figure, Summary};

const USAGE: &str = "\
bench: the same workloads against Conclave and Apache ZooKeeper 3.8, alternating, with ratios.

Usage: bench [OPTIONS]
  --conclave <BIN>      Conclave server binary [default: `conclave` beside this binary]
  --conclave-cfg <K=V>  zoo.cfg lines (comma-separated) added to each Conclave member's,
                        e.g. busyPollMicros=0
  --zookeeper <SCRIPT>  zk-ensemble.sh that starts ZooKeeper [default: ../shared/tools/zk-ensemble.sh]
  --only <SERVICE>      conclave or zookeeper (default: both)
  --members <N>         Members per ensemble [default: 3]
  --rounds <N>          Rounds; each starts fresh ensembles, the first service alternates [default: 2]
  --secs <S>            Length of each timed workload [default: 5]
  --warmup <S>          Unmeasured mixed load before the timed workloads [default: 3]
  --sessions <N>        Sessions of the throughput workloads [default: 16]
  --inflight <N>        Requests each session keeps outstanding [default: 16]
  --creates <N>         Znodes of create-many, 100 B each [default: 100000]
  --client <C>          Who sends the timed requests: pipe (the bench's own pipelined sessions
                        on the core's jute codec, least CPU per request) or crate (the
                        zookeeper-client crate, a task per outstanding request) [default: pipe]
  --workloads <LIST>    Comma-separated, from: election,write-seq,write-tput,read-tput,mixed,
                        create-many,failover [default: all, in that order; failover last]
  --out <DIR>           Where results.jsonl, summary.md, bench.svg go [default: bench-results]
  --dir <DIR>           Data directories of the ensembles [default: /tmp/conclave-bench]
  --base-port <P>       Conclave's first client port [default: 23181]
  --soak <MINUTES>      Instead: a soak of Conclave alone (--conclave): write load for MINUTES,
                        kill -9 of the leader every 15 s, a member paused between every other
                        pair of kills, the leader cut off for 4 s every fourth cycle (members in
                        network namespaces; root, ip, nft — said loudly when not possible);
                        reports lost writes and anomalies (both must be 0) and write
                        unavailability per kill and partition, draws soak.svg; exit 1 on a loss
  --tls-cost            Instead: what TLS costs, on one 3-member Conclave ensemble serving a
                        plain and a TLS port (clientAuth=need): connects/s and write-tput, plain
                        vs TLS alternating, --rounds rounds of --secs each; a Markdown table
  --differential <OPS>  Instead: OPS random requests from --sessions sessions (default 3 here) sent
                        to a standalone Conclave and a standalone ZooKeeper 3.8 (java, Debian
                        package), every reply and notification compared; exit 1 on a divergence
  --seed <N>            The differential run's seed [default: 1]; CONCLAVE_DIFF_TRACE=1 prints
                        every request and both answers to stderr
";

const ALL: [&str; 7] = [
    "election",
    "write-seq",
    "write-tput",
    "read-tput",
    "mixed",
    "create-many",
    "failover",
];

struct Options {
    services: Vec<Service>,
    members: usize,
    rounds: usize,
    secs: f64,
    warmup: f64,
    sessions: usize,
    inflight: usize,
    creates: u64,
    workloads: Vec<String>,
    out: PathBuf,
    dir: PathBuf,
    soak: Option<f64>,
    tls_cost: bool,
    differential: Option<u64>,
    seed: u64,
    sessions_set: bool,
    client: Client,
}

fn parse() -> Result<Options, String> {
    let mut conclave = std::env::current_exe()
        .ok()
        .and_then(|p| Some(p.parent()?.join("conclave")))
        .unwrap_or_else(|| PathBuf::from("conclave"));
    let mut conclave_cfg = String::new();
    let mut zookeeper =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/zk-ensemble.sh");
    let mut only: Option<String> = None;
    let mut base_port = 23181u16;
    let mut o = Options {
        services: Vec::new(),
        members: 3,
        rounds: 2,
        secs: 5.0,
        warmup: 3.0,
        sessions: 16,
        inflight: 16,
        creates: 100_000,
        workloads: ALL.iter().map(|s| s.to_string()).collect(),
        out: PathBuf::from("bench-results"),
        dir: PathBuf::from("/tmp/conclave-bench"),
        soak: None,
        tls_cost: false,
        differential: None,
        seed: 1,
        sessions_set: false,
        client: Client::Pipe,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--tls-cost" {
            o.tls_cost = true;
            continue;
        }
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let num = |what: &str| -> Result<f64, String> {
            value
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or(format!("{what}: {value:?} is not a non-negative number"))
        };
        match flag.as_str() {
            "--conclave" => conclave = PathBuf::from(&value),
            "--conclave-cfg" => {
                for line in value.split(',').map(str::trim).filter(|l| !l.is_empty()) {
                    if !line.contains('=') || line.contains('\n') {
                        return Err(format!("--conclave-cfg: {line:?} is not key=value"));
                    }
                    conclave_cfg.push_str(line);
                    conclave_cfg.push('\n');
                }
            }
            "--zookeeper" => zookeeper = PathBuf::from(&value),
            "--only" => only = Some(value.clone()),
            "--client" => {
                o.client = match value.as_str() {
                    "pipe" => Client::Pipe,
                    "crate" => Client::Crate,
                    _ => return Err(format!("--client: {value:?} is neither pipe nor crate")),
                }
            }
            "--members" => o.members = num(&flag)? as usize,
            "--rounds" => o.rounds = num(&flag)? as usize,
            "--secs" => o.secs = num(&flag)?,
            "--warmup" => o.warmup = num(&flag)?,
            "--sessions" => {
                o.sessions = num(&flag)? as usize;
                o.sessions_set = true;
            }
            "--differential" => o.differential = Some(num(&flag)? as u64),
            "--seed" => {
                o.seed = value
                    .parse()
                    .map_err(|_| format!("--seed: {value:?} is not a number"))?
            }
            "--inflight" => o.inflight = num(&flag)? as usize,
            "--creates" => o.creates = num(&flag)? as u64,
            "--workloads" => {
                o.workloads = value.split(',').map(str::to_string).collect();
                if let Some(bad) = o.workloads.iter().find(|w| !ALL.contains(&w.as_str())) {
                    return Err(format!(
                        "unknown workload {bad:?}; known: {}",
                        ALL.join(",")
                    ));
                }
            }
            "--out" => o.out = PathBuf::from(&value),
            "--soak" => o.soak = Some(num(&flag)?),
            "--dir" => o.dir = PathBuf::from(&value),
            "--base-port" => {
                base_port = value
                    .parse()
                    .map_err(|_| format!("--base-port: {value:?} is not a port"))?
            }
            _ => return Err(format!("unknown option {flag}\n\n{USAGE}")),
        }
    }
    if o.members == 0 || o.rounds == 0 || o.sessions == 0 || o.inflight == 0 {
        return Err(String::from(
            "--members, --rounds, --sessions and --inflight must be at least 1",
        ));
    }
    if o.members > 9 {
        return Err(String::from(
            "--members: at most 9 (zk-ensemble.sh's port plan)",
        ));
    }
    // The order of the run is ALL's order whatever order was asked for: failover kills a member.
    o.workloads = ALL
        .iter()
        .filter(|w| o.workloads.iter().any(|x| x == *w))
        .map(|s| s.to_string())
        .collect();
    if o.soak.is_some() || o.tls_cost {
        only = Some(String::from("conclave"));
    }
    let want = |s: &str| only.as_deref().is_none_or(|o| o == s);
    if let Some(o) = &only {
        if o != "conclave" && o != "zookeeper" {
            return Err(format!("--only: {o:?} is neither conclave nor zookeeper"));
        }
    }
    if want("conclave") {
        if !conclave.is_file() {
            return Err(format!(
                "{}: no Conclave binary (build it: cargo build --release -p conclave-tokio, or pass --conclave)",
                conclave.display()
            ));
        }
        o.services.push(Service::Conclave {
            bin: conclave,
            base_port,
            tick_ms: 2000,
            cfg: conclave_cfg,
        });
    }
    if want("zookeeper") {
        if zookeeper.is_file() && PathBuf::from("/usr/share/java/zookeeper.jar").is_file() {
            o.services.push(Service::ZooKeeper { script: zookeeper });
        } else {
            eprintln!(
                "!!! ZooKeeper NOT measured: needs {} and /usr/share/java/zookeeper.jar \
                 (apt-get install zookeeper zookeeper-bin); no ratios in this run",
                zookeeper.display()
            );
        }
    }
    Ok(o)
}

/// Everything measured in one round on one service.
struct Round<'a> {
    o: &'a Options,
    service: &'static str,
    round: usize,
    figures: Vec<Figure>,
}

impl Round<'_> {
    fn record(
        &mut self,
        metric: &str,
        value: f64,
        higher_is_better: bool,
        json: serde_json::Value,
    ) {
        let mut line = serde_json::json!({
            "service": self.service, "round": self.round, "metric": metric, "value": value,
        });
        if let (Some(l), serde_json::Value::Object(extra)) = (line.as_object_mut(), json) {
            l.extend(extra);
        }
        println!("{line}");
        self.figures.push(Figure {
            service: self.service,
            round: self.round,
            metric: metric.to_string(),
            value,
            higher_is_better,
        });
    }

    /// Records a workload's figures; `cpu_secs` is the members' CPU time during it.
    fn measured(&mut self, workload: &str, m: &load::Measured, shape: &Shape, cpu_secs: f64) {
        let q = |p: f64| m.latency_us.value_at_quantile(p) as f64;
        let cpu_us_per_op = cpu_secs * 1e6 / m.ops.max(1) as f64;
        let detail = serde_json::json!({
            "workload": workload, "sessions": shape.sessions, "inflight": shape.inflight,
            "ops": m.ops, "errors": m.errors, "secs": m.elapsed.as_secs_f64(),
            "p50_us": q(0.5), "p99_us": q(0.99), "p999_us": q(0.999),
            "server_cpu_secs": cpu_secs,
        });
        eprintln!(
            "bench:   {workload}: {:.0}/s, p50 {} µs, p99 {} µs, p999 {} µs, {} errors, \
             members' CPU {cpu_us_per_op:.1} µs/op",
            m.per_sec(),
            q(0.5),
            q(0.99),
            q(0.999),
            m.errors
        );
        if workload != "write-seq" {
            self.record(
                &format!("{workload}: members' CPU µs/op"),
                cpu_us_per_op,
                false,
                detail.clone(),
            );
        }
        if workload == "write-seq" {
            self.record("write-seq p50 µs", q(0.5), false, detail.clone());
            self.record("write-seq p99 µs", q(0.99), false, detail.clone());
            self.record("write-seq p999 µs", q(0.999), false, detail);
        } else {
            self.record(
                &format!("{workload} ops/s"),
                m.per_sec(),
                true,
                detail.clone(),
            );
            if workload == "write-tput" {
                self.record("write-tput p50 µs", q(0.5), false, detail.clone());
                self.record("write-tput p99 µs", q(0.99), false, detail);
            }
        }
    }
}

async fn one_round(o: &Options, service: &Service, round: usize) -> Result<Vec<Figure>, String> {
    let mut r = Round {
        o,
        service: service.name(),
        round,
        figures: Vec::new(),
    };
    let dir = o.dir.join(service.name());
    // The previous round's data (hundreds of MB after create-many) goes before the clock
    // starts: its removal took 120 ms of the Conclave figure in rounds 2 and 3.
    let _ = std::fs::remove_dir_all(&dir);
    let started = Instant::now();
    let mut cluster = Cluster::start(service, o.members, &dir)?;
    let hosts = cluster.connect_string();
    let root = "/bench";
    let admin = load::first_write(&hosts, root).await?;
    let election_ms = started.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "bench: round {round} {}: start → first write {election_ms:.0} ms",
        r.service
    );
    if o.workloads.iter().any(|w| w == "election") {
        r.record(
            "election: start → first write ms",
            election_ms,
            false,
            serde_json::json!({"workload": "election", "members": o.members}),
        );
    }
    let tput = Shape {
        sessions: o.sessions,
        inflight: o.inflight,
        secs: o.secs,
        creates: 0,
    };
    if o.warmup > 0.0 {
        let warm = Shape {
            secs: o.warmup,
            ..tput.clone()
        };
        load::run(&cluster.hosts, root, Op::Mixed, &warm, o.client).await?;
    }
    for workload in &r.o.workloads.clone() {
        let (op, shape) = match workload.as_str() {
            "write-seq" => (
                Op::SetData,
                Shape {
                    sessions: 1,
                    inflight: 1,
                    ..tput.clone()
                },
            ),
            "write-tput" => (Op::SetData, tput.clone()),
            "read-tput" => (Op::GetData, tput.clone()),
            "mixed" => (Op::Mixed, tput.clone()),
            "create-many" => (
                Op::Create,
                Shape {
                    // Bounded: 100 k creates take ~15 s on either service here.
                    secs: 300.0,
                    creates: o.creates,
                    ..tput.clone()
                },
            ),
            _ => continue,
        };
        eprintln!("bench: round {round} {}: {workload} …", r.service);
        let cpu_before = cluster.cpu_secs();
        let m = load::run(&cluster.hosts, root, op, &shape, o.client).await?;
        let cpu_secs = cluster.cpu_secs() - cpu_before;
        r.measured(workload, &m, &shape, cpu_secs);
        if workload == "create-many" {
            // Right after the load, a member may still hold a snapshot's buffer or pages its
            // allocator has not returned yet; 3 s later, what holding the tree costs. Both
            // are figures; the settled one is the memory target.
            let max = |rss: &[f64]| rss.iter().cloned().fold(0.0, f64::max);
            let at_end = cluster.rss_mib();
            eprintln!(
                "bench:   RSS per member right after {} creates: {at_end:.1?} MiB, \
                 (anonymous, file-backed) KiB {:?}",
                m.ops,
                cluster.rss_split_kib()
            );
            tokio::time::sleep(Duration::from_secs(3)).await;
            let settled = cluster.rss_mib();
            eprintln!(
                "bench:   3 s later: {settled:.1?} MiB, (anonymous, file-backed) KiB {:?}",
                cluster.rss_split_kib()
            );
            r.record(
                "create-many: RSS per member MiB (max)",
                max(&settled),
                false,
                serde_json::json!({"workload": "create-many", "rss_mib": settled, "znodes": m.ops}),
            );
            r.record(
                "create-many: RSS right after the load MiB (max)",
                max(&at_end),
                false,
                serde_json::json!({"workload": "create-many", "rss_mib": at_end, "znodes": m.ops}),
            );
        }
    }
    if o.workloads.iter().any(|w| w == "failover") && o.members >= 3 {
        eprintln!("bench: round {round} {}: failover …", r.service);
        let leader = cluster.leader().ok_or("no member says Mode: leader")?;
        let mut writers = Vec::new();
        for (i, host) in cluster.hosts.iter().enumerate() {
            if i != leader {
                let client = load::connect(host, Duration::from_secs(10)).await?;
                let path = format!("{root}/failover-{i}");
                load::ensure(&client, &path).await?;
                writers.push((client, path));
            }
        }
        let killed = Instant::now();
        cluster.kill9(leader)?;
        match load::first_write_after(writers, killed).await {
            Some(gap) => {
                let ms = gap.as_secs_f64() * 1e3;
                eprintln!("bench:   kill -9 leader → first write {ms:.0} ms");
                r.record(
                    "failover: kill -9 leader → first write ms",
                    ms,
                    false,
                    serde_json::json!({"workload": "failover", "leader": leader + 1}),
                );
            }
            None => eprintln!("bench:   !!! no write within 30 s of killing the leader"),
        }
    }
    drop(admin);
    eprintln!("bench: data of this round: {}", cluster.dir().display());
    drop(cluster);
    Ok(r.figures)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = fs::create_dir_all(&o.out) {
        eprintln!("bench: {}: {e}", o.out.display());
        std::process::exit(2);
    }
    if let Some(minutes) = o.soak {
        let Some(Service::Conclave { bin, base_port, .. }) = o.services.first() else {
            eprintln!("bench: --soak needs a Conclave binary");
            std::process::exit(2);
        };
        let soak = soak::SoakOptions {
            minutes,
            bin: bin.clone(),
            base_port: *base_port,
            dir: o.dir.clone(),
            out: o.out.clone(),
        };
        match tokio::task::block_in_place(|| soak::run(&soak)) {
            Ok(true) => return,
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("bench: soak failed: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Some(ops) = o.differential {
        let Some(Service::Conclave { bin, .. }) = o.services.first() else {
            eprintln!("bench: --differential needs a Conclave binary");
            std::process::exit(2);
        };
        let sessions = if o.sessions_set { o.sessions } else { 3 };
        match differential(bin, &o.dir, ops, o.seed, sessions) {
            Ok(true) => return,
            Ok(false) => std::process::exit(1),
            Err(e) => {
                eprintln!("bench: --differential failed: {e}");
                std::process::exit(1);
            }
        }
    }
    if o.tls_cost {
        let Some(service) = o.services.first() else {
            eprintln!("bench: --tls-cost needs a Conclave binary");
            std::process::exit(2);
        };
        if let Err(e) = tls::run(service, &o.dir, o.rounds, o.secs).await {
            eprintln!("bench: --tls-cost failed: {e}");
            std::process::exit(1);
        }
        return;
    }
    // The machine's write-seq floor, before the services run (they would share its disk).
    let floor = if o.workloads.iter().any(|w| w == "write-seq") {
        let dir = o.dir.join("floor");
        match tokio::task::block_in_place(|| floor::measure(&dir, o.members)) {
            Ok(f) => {
                eprintln!(
                    "bench: write-seq floor of this machine: fdatasync p50 {:.0} µs ({} at once) \
                     + {} hops × {:.1} µs = {:.0} µs",
                    f.fsync_us,
                    f.writers,
                    floor::HOPS,
                    f.hop_us,
                    f.total_us()
                );
                println!(
                    "{}",
                    serde_json::json!({"service": "machine", "metric": "write-seq floor µs",
                        "value": f.total_us(), "fsync_p50_us": f.fsync_us,
                        "fsync_writers": f.writers, "hop_us": f.hop_us, "hops": floor::HOPS})
                );
                let _ = std::fs::remove_dir_all(&dir);
                Some(f)
            }
            Err(e) => {
                eprintln!("!!! write-seq floor NOT measured: {e}");
                None
            }
        }
    } else {
        None
    };
    let mut figures = Vec::new();
    for round in 1..=o.rounds {
        let mut order: Vec<&Service> = o.services.iter().collect();
        if round % 2 == 0 {
            order.reverse();
        }
        for service in order {
            match one_round(&o, service, round).await {
                Ok(f) => figures.extend(f),
                Err(e) => {
                    eprintln!("bench: round {round} {} failed: {e}", service.name());
                    std::process::exit(1);
                }
            }
        }
    }
    let summary = Summary::of(&figures);
    let title = format!(
        "{} members, {} sessions x {} in flight, 100 B values, median of {} round(s)",
        o.members, o.sessions, o.inflight, o.rounds
    );
    let mut table = format!("{title}\n\n{}", summary.table(o.rounds));
    if let Some(f) = floor {
        table.push_str(&format!(
            "\nwrite-seq floor of this machine (fdatasync p50 with {} writers at once + {} \
             loopback hops): {:.0} + {} × {:.1} = **{:.0} µs**",
            f.writers,
            floor::HOPS,
            f.fsync_us,
            floor::HOPS,
            f.hop_us,
            f.total_us()
        ));
        for service in ["conclave", "zookeeper"] {
            if let Some(p50) = summary.median_of("write-seq p50 µs", service) {
                table.push_str(&format!(
                    "; {service} write-seq p50 = {:.2}× the floor",
                    p50 / f.total_us()
                ));
            }
        }
        table.push('\n');
    }
    println!("{table}");
    let lines: String = figures
        .iter()
        .map(|f| {
            format!(
                "{}\n",
                serde_json::json!({"service": f.service, "round": f.round, "metric": f.metric, "value": f.value})
            )
        })
        .collect();
    for (name, text) in [
        ("results.jsonl", lines),
        ("summary.md", table),
        ("bench.svg", summary.svg(&title)),
    ] {
        if let Err(e) = fs::write(o.out.join(name), text) {
            eprintln!("bench: {}/{name}: {e}", o.out.display());
        }
    }
    eprintln!(
        "bench: wrote {}/{{results.jsonl,summary.md,bench.svg}}",
        o.out.display()
    );
}

/// `--differential`: starts both servers standalone under `dir`, runs the sequence, prints the
/// report and writes it to `differential.txt` in `dir`; `Ok(false)` when they diverged.
fn differential(
    bin: &std::path::Path,
    dir: &std::path::Path,
    ops: u64,
    seed: u64,
    sessions: usize,
) -> Result<bool, String> {
    use conclave_conformance::differential::{run, servers, DiffOptions};
    let zk = servers::start_zookeeper(&dir.join("zookeeper"))?;
    let cc = servers::start_conclave(bin, &dir.join("conclave"))?;
    eprintln!(
        "bench: differential, seed {seed}: ZooKeeper at {}, Conclave at {}",
        zk.addr, cc.addr
    );
    let opts = DiffOptions {
        ops,
        seed,
        sessions,
        progress_every: 5_000,
        keep: 40,
        trace: std::env::var_os("CONCLAVE_DIFF_TRACE").is_some(),
    };
    let report = run(zk.addr, cc.addr, &opts)?;
    let text = report.summary();
    println!("{text}");
    let _ = fs::write(dir.join("differential.txt"), &text);
    Ok(report.divergence_count() == 0)
}
