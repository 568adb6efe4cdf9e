//! The `sim` binary's command line, parsed by hand.

use crate::options::{FaultOptions, Workload, LIVENESS_BOUND_MS, SOAK_SIM_SECS};
use crate::runner::Batch;

/// `--help` text.
pub const HELP: &str = "\
sim: run the Conclave deterministic simulator over a range of seeds

USAGE:
    cargo run --release -p conclave-conformance --bin sim -- [OPTIONS]

OPTIONS:
    --seeds N         number of consecutive seeds to run (default 100)
    --first-seed S    first seed (default 1)
    --nodes K         voting members, 3..=9 (default: 3, 5, 7 cycling by seed)
    --observers O     observers added to the voters, 0..=9 (default 0)
    --sim-secs T      simulated seconds per seed, > 0 (default 30); faults stop and
                      crashed servers restart at 70% of T, leaving at least 10 s
    --no-faults       no crashes, partitions, pauses, slow spells, clock drift,
                      message or disk faults
    --workload W      zk (default): 3-8 ZooKeeper clients speak the jute protocol
                      to Node<ZkService> (sessions, reconnects, expiry, ephemerals,
                      sequentials, multi, watches, sync); zab: the register map,
                      clients submit writes through Input::Submit; election: no
                      client, every server starts from a random pre-history.
                      zk and zab seeds mostly start from empty data directories
    --reconfig        dynamic reconfiguration: servers run with reconfigEnabled and
                      the zk clients also remove members and (re)add them as
                      participants or observers while the faults run
    --soak            a long run: --sim-secs defaults to 600
    --jobs J          worker threads (default: available parallelism)
    --verbose         print every node event and fault of each seed, with its time
    --timeline FILE   write an HTML page picturing one seed (the first that failed,
                      else --first-seed): a lane per member with roles, epochs,
                      zxids, faults and client writes
    -h, --help        this text

OUTPUT:
    One `VIOLATION seed=S nodes=K t=...: <invariant>: <detail>` line and one
    `reproduce: ...` line per failing seed (in seed order), a liveness summary
    (heal -> all synced; heal -> first acknowledged write), a workload line
        zk: committed_txns=C acked_writes=A requests=R ... (or zab: ...)
    and finally
        sim: seeds=N violations=V sim_secs=X cpu_secs=Y speed=Zx
    where sim_secs is the simulated time summed over seeds, cpu_secs is the
    process CPU time (user + system, all threads, from /proc/self/stat; where
    that is unavailable, wall-clock seconds x jobs) and speed = sim_secs / cpu_secs.
    A progress bar is drawn on stderr.

EXIT STATUS:
    0 no violation, 1 at least one violation, 2 bad arguments.
";

/// Parsed command-line arguments.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    /// `--seeds`.
    pub seeds: u64,
    /// `--first-seed`.
    pub first_seed: u64,
    /// `--nodes`.
    pub nodes: Option<usize>,
    /// `--observers`.
    pub observers: usize,
    /// `--sim-secs`.
    pub sim_secs: f64,
    /// `--no-faults`.
    pub no_faults: bool,
    /// `--jobs`.
    pub jobs: Option<usize>,
    /// `--verbose`.
    pub verbose: bool,
    /// `--workload`.
    pub workload: Workload,
    /// `--soak`.
    pub soak: bool,
    /// `--timeline FILE`.
    pub timeline: Option<String>,
    /// `--reconfig`.
    pub reconfig: bool,
}

impl Default for Args {
    fn default() -> Args {
        Args {
            seeds: 100,
            first_seed: 1,
            nodes: None,
            observers: 0,
            sim_secs: 30.0,
            no_faults: false,
            jobs: None,
            verbose: false,
            workload: Workload::Zk,
            soak: false,
            timeline: None,
            reconfig: false,
        }
    }
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Run the seeds.
    Run(Args),
    /// Print [`HELP`].
    Help,
}

fn number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
    value
        .parse()
        .map_err(|_| format!("{flag}: `{value}` is not a valid number"))
}

/// Parses the arguments after the program name (`--flag value` or `--flag=value`).
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = Args::default();
    let mut sim_secs = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--seeds" => out.seeds = number(&flag, value())?,
            "--first-seed" => out.first_seed = number(&flag, value())?,
            "--nodes" => out.nodes = Some(number(&flag, value())?),
            "--observers" => out.observers = number(&flag, value())?,
            "--sim-secs" => sim_secs = Some(number(&flag, value())?),
            "--jobs" => out.jobs = Some(number(&flag, value())?),
            "--timeline" => {
                out.timeline = Some(value().ok_or_else(|| format!("{flag} needs a file name"))?)
            }
            "--workload" => {
                out.workload = match value().as_deref() {
                    Some("zk") => Workload::Zk,
                    Some("zab") => Workload::Zab,
                    Some("election") => Workload::Election,
                    Some(other) => {
                        return Err(format!(
                            "--workload must be zk, zab or election, not `{other}`"
                        ))
                    }
                    None => return Err(format!("{flag} needs a value")),
                }
            }
            "--no-faults" | "--verbose" | "--soak" | "--reconfig" if inline.is_some() => {
                return Err(format!("{flag} takes no value"))
            }
            "--no-faults" => out.no_faults = true,
            "--soak" => out.soak = true,
            "--reconfig" => out.reconfig = true,
            "--verbose" => out.verbose = true,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    out.sim_secs = sim_secs.unwrap_or(if out.soak {
        SOAK_SIM_SECS
    } else {
        Args::default().sim_secs
    });
    if out.seeds == 0 {
        return Err(String::from("--seeds must be at least 1"));
    }
    if let Some(k) = out.nodes {
        if !(3..=9).contains(&k) {
            return Err(format!("--nodes must be in 3..=9, not {k}"));
        }
    }
    if out.observers > 9 {
        return Err(format!(
            "--observers must be in 0..=9, not {}",
            out.observers
        ));
    }
    if !(out.sim_secs.is_finite() && out.sim_secs > 0.0 && out.sim_secs <= 86_400.0) {
        return Err(format!(
            "--sim-secs must be in (0, 86400], not {}",
            out.sim_secs
        ));
    }
    if out.jobs == Some(0) {
        return Err(String::from("--jobs must be at least 1"));
    }
    Ok(Command::Run(out))
}

impl Args {
    /// Simulated milliseconds per seed.
    pub fn sim_ms(&self) -> u64 {
        (self.sim_secs * 1000.0).round() as u64
    }

    /// The batch these arguments describe; `default_jobs` when `--jobs` is absent.
    pub fn batch(&self, default_jobs: usize) -> Batch {
        Batch {
            first_seed: self.first_seed,
            seeds: self.seeds,
            voters: self.nodes,
            observers: self.observers,
            sim_ms: self.sim_ms(),
            faults: if self.no_faults {
                FaultOptions::none()
            } else {
                FaultOptions::default()
            },
            jobs: self.jobs.unwrap_or(default_jobs),
            verbose: self.verbose,
            liveness_bound_ms: LIVENESS_BOUND_MS,
            workload: self.workload,
            reconfig: self.reconfig,
        }
    }
}

/// The command that replays one seed exactly.
pub fn reproduce_line(
    seed: u64,
    voters: usize,
    observers: usize,
    sim_ms: u64,
    faults: bool,
    workload: Workload,
    reconfig: bool,
) -> String {
    let mut line = format!(
        "reproduce: cargo run --release -p conclave-conformance --bin sim -- --seeds 1 --first-seed {seed} \
         --nodes {voters} --sim-secs {}",
        secs_arg(sim_ms)
    );
    if observers > 0 {
        line.push_str(&format!(" --observers {observers}"));
    }
    if !faults {
        line.push_str(" --no-faults");
    }
    if workload != Workload::Zk {
        line.push_str(&format!(" --workload {}", workload.name()));
    }
    if reconfig {
        line.push_str(" --reconfig");
    }
    line
}

fn secs_arg(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        (ms / 1000).to_string()
    } else {
        format!("{}", ms as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Command, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults_and_flags() {
        assert_eq!(run(&[]), Ok(Command::Run(Args::default())));
        let Ok(Command::Run(a)) = run(&[
            "--seeds",
            "5",
            "--first-seed=9",
            "--nodes",
            "7",
            "--sim-secs",
            "2.5",
            "--no-faults",
            "--jobs",
            "3",
        ]) else {
            panic!("parse failed");
        };
        assert_eq!(
            (
                a.seeds,
                a.first_seed,
                a.nodes,
                a.sim_ms(),
                a.no_faults,
                a.jobs
            ),
            (5, 9, Some(7), 2500, true, Some(3))
        );
        assert_eq!(run(&["--help"]), Ok(Command::Help));
        let Ok(Command::Run(a)) = run(&["--soak", "--workload", "election"]) else {
            panic!("parse failed");
        };
        assert_eq!((a.sim_ms(), a.workload), (600_000, Workload::Election));
        let Ok(Command::Run(a)) = run(&["--sim-secs", "5", "--soak"]) else {
            panic!("parse failed");
        };
        assert_eq!(a.sim_ms(), 5_000);
        assert!(run(&["--workload", "chaos"]).is_err());
    }

    #[test]
    fn bad_arguments_are_explained() {
        assert!(run(&["--nodes", "2"]).unwrap_err().contains("3..=9"));
        assert!(run(&["--seeds"]).unwrap_err().contains("needs a value"));
        assert!(run(&["--seeds", "x"])
            .unwrap_err()
            .contains("not a valid number"));
        assert!(run(&["--frobnicate"])
            .unwrap_err()
            .contains("unknown argument"));
        assert!(run(&["--sim-secs", "0"]).is_err());
        assert!(run(&["--verbose=1"]).is_err());
    }

    #[test]
    fn reproduce_lines_round_trip() {
        let line = reproduce_line(42, 5, 1, 20_000, false, Workload::Election, false);
        assert!(line.ends_with(
            "--seeds 1 --first-seed 42 --nodes 5 --sim-secs 20 --observers 1 --no-faults \
             --workload election"
        ));
        let args: Vec<String> = line
            .split(" -- ")
            .nth(1)
            .unwrap_or("")
            .split(' ')
            .map(String::from)
            .collect();
        let Ok(Command::Run(a)) = parse(args) else {
            panic!("reproduce line does not parse")
        };
        assert_eq!(
            (
                a.first_seed,
                a.nodes,
                a.observers,
                a.sim_ms(),
                a.no_faults,
                a.workload
            ),
            (42, Some(5), 1, 20_000, true, Workload::Election)
        );
    }
}
