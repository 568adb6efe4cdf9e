//! `conclave-smol`: the Conclave server on async-io (serve, ensemble, inspect) — the same
//! command line, ports, data directory and log lines as `conclave`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_executor::Executor;
use async_signal::{Signal, Signals};
use conclave_core::deploy::EnsembleLayout;
use conclave_core::host::{parse_args, Command, USAGE};
use conclave_smol::{connect_string, start_ensemble, start_from_cfg, wait_for_leader, Member};
use futures_lite::{future, StreamExt};

const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// SIGINT or SIGTERM, whichever comes first.
async fn shutdown_signal() -> &'static str {
    let Ok(mut signals) = Signals::new([Signal::Int, Signal::Term]) else {
        return future::pending().await;
    };
    match signals.next().await {
        Some(Ok(Signal::Term)) => "SIGTERM",
        _ => "SIGINT",
    }
}

/// Stops every member (all told first, so none outlives its peers and reports a lost quorum),
/// within the grace period.
async fn stop_all(members: Vec<Member>) -> Result<(), String> {
    for m in &members {
        let _ = m.stopper().try_send(());
    }
    let all = async {
        for m in members {
            m.stop().await?;
        }
        Ok(())
    };
    future::or(all, async {
        async_io::Timer::after(SHUTDOWN_GRACE).await;
        Err("shutdown did not complete in time".to_string())
    })
    .await
}

async fn serve(zoo_cfg: PathBuf, ex: Arc<Executor<'static>>) -> Result<(), String> {
    let member = start_from_cfg(&zoo_cfg, &ex)?;
    if let Some(a) = member.addrs.metrics {
        tracing::info!("metrics on http://{a}/metrics");
    }
    if let Some(a) = member.addrs.admin {
        tracing::info!("admin server on http://{a}/commands");
    }
    let stop = member.stopper();
    let (done_tx, done_rx) = async_channel::bounded(1);
    ex.spawn(async move {
        let _ = done_tx.send(member.wait().await).await;
    })
    .detach();
    let finished = async { done_rx.recv().await.unwrap_or(Ok(())) };
    let signalled = async {
        let sig = shutdown_signal().await;
        tracing::info!("{sig} received, shutting down");
        let _ = stop.try_send(());
        future::or(async { done_rx.recv().await.unwrap_or(Ok(())) }, async {
            async_io::Timer::after(SHUTDOWN_GRACE).await;
            Err("shutdown did not complete in time".to_string())
        })
        .await
    };
    future::or(finished, signalled).await
}

async fn ensemble(
    nodes: u16,
    dir: PathBuf,
    base: u16,
    tick_ms: u32,
    ex: Arc<Executor<'static>>,
) -> Result<(), String> {
    let layout = EnsembleLayout::local(usize::from(nodes), base, tick_ms)?;
    let members = start_ensemble(&dir, &layout, &ex)?;
    println!("connect string: {}", connect_string(&members));
    for m in &members {
        let url = |a: Option<std::net::SocketAddr>, path: &str| {
            a.map_or("-".into(), |a| format!("http://{a}{path}"))
        };
        println!(
            "member {}: client {} metrics {} admin {}",
            m.id,
            m.addrs.client,
            url(m.addrs.metrics, "/metrics"),
            url(m.addrs.admin, "/commands")
        );
    }
    let leader = future::or(
        async { Ok(wait_for_leader(&members, Duration::from_secs(60)).await) },
        async { Err(shutdown_signal().await) },
    )
    .await;
    match leader {
        Ok(Some(i)) => println!("member {} leads", members[i].id),
        Ok(None) => println!("no leader after 60 s; see the log above"),
        Err(sig) => {
            println!("{sig} received, stopping the ensemble");
            return stop_all(members).await;
        }
    }
    let sig = shutdown_signal().await;
    println!("{sig} received, stopping the ensemble");
    stop_all(members).await
}

fn main() -> ExitCode {
    let cmd = match parse_args(std::env::args().skip(1)) {
        Ok(cmd) => cmd,
        Err(e) => {
            eprintln!("conclave-smol: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match cmd {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Version => {
            println!("conclave-smol {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Command::Inspect { data_dir } => {
            let files = match conclave_smol::setup::read_data_files(data_dir.as_ref()) {
                Ok(files) => files,
                Err(e) => {
                    eprintln!("conclave-smol inspect: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let (text, intact) = conclave_core::inspect::inspect(&files);
            print!("{text}");
            if !intact {
                eprintln!("{data_dir}: damaged files found (see above)");
                return ExitCode::from(2);
            }
            return ExitCode::SUCCESS;
        }
        Command::Serve { zoo_cfg } => {
            conclave_smol::process::init_tracing();
            run(|ex| serve(zoo_cfg.into(), ex))
        }
        Command::Ensemble {
            nodes,
            dir,
            base_port,
            tick_time_ms,
        } => {
            conclave_smol::process::init_tracing();
            run(|ex| ensemble(nodes, dir.into(), base_port, tick_time_ms, ex))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("conclave-smol: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `f` on an executor driven by two threads (the node task and the socket tasks share
/// both cores), the reactor polled by async-io.
fn run<F, Fut>(f: F) -> Result<(), String>
where
    F: FnOnce(Arc<Executor<'static>>) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let ex = Arc::new(Executor::new());
    let (stop_tx, stop_rx) = async_channel::bounded::<()>(1);
    let helper = {
        let ex = ex.clone();
        let stop_rx = stop_rx.clone();
        std::thread::Builder::new()
            .name("conclave-smol-worker".into())
            .spawn(move || async_io::block_on(ex.run(async { stop_rx.recv().await.ok() })))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?
    };
    let result = async_io::block_on(ex.run(f(ex.clone())));
    drop(stop_tx);
    let _ = helper.join();
    result
}
