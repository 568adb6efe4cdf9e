//! `conclave-smol`: the Conclave server on async-io (serve, ensemble, inspect) — the same
//! command line, ports, data directory and log lines as `conclave`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_signal::{Signal, Signals};
use conclave_core::deploy::EnsembleLayout;
use conclave_core::host::Command;
use conclave_smol::{start_ensemble, start_from_cfg, wait_for_leader, Member};
use conclave_std::busy_poll::SHARED as BUSY_POLL;
use conclave_std::process::{announce, ensemble_banner, exit, leader_line, SHUTDOWN_GRACE};
use futures_lite::{future, StreamExt};

conclave_std::server_allocator!();

/// Catches SIGINT and SIGTERM from now until it is dropped; `None` if they cannot be watched.
/// One watch per process: dropping it and watching again loses a signal that arrives between
/// the two (the handler stays installed with nobody listening; found in CI, see the test
/// `a_clean_ensemble_shutdown_logs_no_warning_and_no_colour`).
fn watch_signals() -> Option<Signals> {
    Signals::new([Signal::Int, Signal::Term]).ok()
}

/// The next SIGINT or SIGTERM caught by `signals` (never, if there is no watch).
async fn shutdown_signal(signals: &mut Option<Signals>) -> &'static str {
    let Some(signals) = signals else {
        return future::pending().await;
    };
    match signals.next().await {
        Some(Ok(Signal::Term)) => "SIGTERM",
        _ => "SIGINT",
    }
}

/// `work`, or an error once the shutdown grace period is over.
async fn within_grace(
    work: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    future::or(work, async {
        async_io::Timer::after(SHUTDOWN_GRACE).await;
        Err("shutdown did not complete in time".to_string())
    })
    .await
}

/// Stops every member (all told first, so none outlives its peers and reports a lost quorum).
async fn stop_all(members: Vec<Member>) -> Result<(), String> {
    for m in &members {
        let _ = m.stopper().try_send(());
    }
    within_grace(async {
        for m in members {
            m.stop().await?;
        }
        Ok(())
    })
    .await
}

async fn serve(zoo_cfg: PathBuf, ex: Arc<Executor<'static>>) -> Result<(), String> {
    let mut signals = watch_signals();
    let member = start_from_cfg(&zoo_cfg, &ex)?;
    announce(&member.addrs);
    let stop = member.stopper();
    let (done_tx, done_rx) = async_channel::bounded(1);
    ex.spawn(async move {
        let _ = done_tx.send(member.wait().await).await;
    })
    .detach();
    let done = || async { done_rx.recv().await.unwrap_or(Ok(())) };
    let signalled = async {
        // Awaited outside the log macro: with info disabled the macro would not evaluate
        // it, and the member stopped as soon as it started (found by the soak, RUST_LOG=warn).
        let signal = shutdown_signal(&mut signals).await;
        tracing::info!("{signal} received, shutting down");
        let _ = stop.try_send(());
        within_grace(done()).await
    };
    future::or(done(), signalled).await
}

async fn ensemble(
    nodes: u16,
    dir: PathBuf,
    base: u16,
    tick_ms: u32,
    ex: Arc<Executor<'static>>,
) -> Result<(), String> {
    let layout = EnsembleLayout::local(usize::from(nodes), base, tick_ms)?;
    let mut signals = watch_signals();
    let members = start_ensemble(&dir, &layout, &ex)?;
    print!(
        "{}",
        ensemble_banner(members.iter().map(|m| (m.id, &m.addrs)))
    );
    let leader = future::or(
        async { Ok(wait_for_leader(&members, Duration::from_secs(60)).await) },
        async { Err(shutdown_signal(&mut signals).await) },
    )
    .await;
    let sig = match leader {
        Ok(leader) => {
            println!("{}", leader_line(leader.map(|i| members[i].id)));
            shutdown_signal(&mut signals).await
        }
        Err(sig) => sig,
    };
    conclave_std::process::stopping_ensemble(sig);
    stop_all(members).await
}

fn main() -> ExitCode {
    let result = match conclave_std::process::command("conclave-smol") {
        Err(code) => return code,
        Ok(Command::Serve { zoo_cfg }) => run(1, |ex| serve(zoo_cfg.into(), ex)),
        Ok(Command::Ensemble {
            nodes,
            dir,
            base_port,
            tick_time_ms,
        }) => run(2, |ex| {
            ensemble(nodes, dir.into(), base_port, tick_time_ms, ex)
        }),
        Ok(other) => Err(format!("{other:?} is not served")),
    };
    exit("conclave-smol", result)
}

/// Runs `f` on an executor driven by `threads` threads, the reactor polled by async-io. One
/// member (`serve`) is one event loop beside its disk thread: on one thread its node task and
/// socket tasks wake each other without a hand-off between threads. An in-process ensemble's
/// members share two.
fn run<F, Fut>(threads: usize, f: F) -> Result<(), String>
where
    F: FnOnce(Arc<Executor<'static>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let ex = Arc::new(Executor::new());
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let mut helpers = Vec::new();
    for _ in 1..threads {
        let (ex, stop_rx) = (ex.clone(), stop_rx.clone());
        helpers.push(
            std::thread::Builder::new()
                .name("conclave-smol-worker".into())
                .spawn(move || {
                    async_io::block_on(BUSY_POLL.drive(ex.run(async { stop_rx.recv().await.ok() })))
                })
                .map_err(|e| format!("cannot start a worker thread: {e}"))?,
        );
    }
    let result = async_io::block_on(BUSY_POLL.drive(ex.run(f(ex.clone()))));
    drop(stop_tx);
    for h in helpers {
        let _ = h.join();
    }
    result
}
