//! `conclave-mio`: the Conclave server on a hand-written mio loop (serve, ensemble, inspect).

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use conclave_core::deploy::{ensemble_ready, EnsembleLayout};
use conclave_core::host::Command;
use conclave_mio::{start_ensemble, start_from_cfg, Member};
use conclave_std::process::{announce, ensemble_banner, exit, leader_line, SHUTDOWN_GRACE};
use mio::{Events, Interest, Poll, Token};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook_mio::v1_0::Signals;

conclave_std::server_allocator!();

/// SIGINT and SIGTERM as events of a `Poll` of the main thread.
struct SignalWait {
    poll: Poll,
    signals: Signals,
    events: Events,
}

impl SignalWait {
    fn new() -> Result<SignalWait, String> {
        let fail = |e: std::io::Error| format!("cannot watch for signals: {e}");
        let poll = Poll::new().map_err(fail)?;
        let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(fail)?;
        poll.registry()
            .register(&mut signals, Token(0), Interest::READABLE)
            .map_err(fail)?;
        Ok(SignalWait {
            poll,
            signals,
            events: Events::with_capacity(4),
        })
    }

    /// The signal that arrived within `timeout`, if any.
    fn wait(&mut self, timeout: Duration) -> Option<&'static str> {
        let _ = self.poll.poll(&mut self.events, Some(timeout));
        self.signals
            .pending()
            .next()
            .map(|s| if s == SIGTERM { "SIGTERM" } else { "SIGINT" })
    }
}

/// Stops every member (all told first, so none outlives its peers and reports a lost quorum),
/// within the grace period.
fn stop_all(members: Vec<Member>) -> Result<(), String> {
    members.iter().for_each(|m| m.stopper().stop());
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while members.iter().any(|m| !m.is_finished()) {
        if Instant::now() >= deadline {
            return Err("shutdown did not complete in time".to_string());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    members.into_iter().try_for_each(Member::wait)
}

fn serve(zoo_cfg: &Path) -> Result<(), String> {
    let mut signals = SignalWait::new()?;
    let member = start_from_cfg(zoo_cfg)?;
    announce(&member.addrs);
    loop {
        if member.is_finished() {
            return member.wait();
        }
        if let Some(sig) = signals.wait(Duration::from_millis(100)) {
            tracing::info!("{sig} received, shutting down");
            return stop_all(vec![member]);
        }
    }
}

fn ensemble(nodes: u16, dir: &Path, base: u16, tick_ms: u32) -> Result<(), String> {
    let mut signals = SignalWait::new()?;
    let layout = EnsembleLayout::local(usize::from(nodes), base, tick_ms)?;
    let members = start_ensemble(dir, &layout)?;
    print!(
        "{}",
        ensemble_banner(members.iter().map(|m| (m.id, &m.addrs)))
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut announced = false;
    let sig = loop {
        let leader = ensemble_ready(&members.iter().map(Member::status).collect::<Vec<_>>());
        if !announced && (leader.is_some() || Instant::now() >= deadline) {
            println!("{}", leader_line(leader.map(|i| members[i].id)));
            announced = true;
        }
        if let Some(sig) = signals.wait(Duration::from_millis(20)) {
            break sig;
        }
    };
    conclave_std::process::stopping_ensemble(sig);
    stop_all(members)
}

fn main() -> ExitCode {
    let result = match conclave_std::process::command("conclave-mio") {
        Err(code) => return code,
        Ok(Command::Serve { zoo_cfg }) => serve(zoo_cfg.as_ref()),
        Ok(Command::Ensemble {
            nodes,
            dir,
            base_port,
            tick_time_ms,
        }) => ensemble(nodes, dir.as_ref(), base_port, tick_time_ms),
        Ok(other) => Err(format!("{other:?} is not served")),
    };
    exit("conclave-mio", result)
}
