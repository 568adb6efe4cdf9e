//! `conclave`: a ZooKeeper-compatible coordination server (serve, ensemble, inspect).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use conclave_core::deploy::EnsembleLayout;
use conclave_core::host::{parse_args, Command, USAGE};
use conclave_tokio::{connect_string, start_ensemble, start_from_cfg};

/// SIGINT or SIGTERM, whichever comes first (SIGINT only where there is no SIGTERM).
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    if let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
    {
        return tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

async fn serve(zoo_cfg: PathBuf) -> Result<(), String> {
    let mut member = start_from_cfg(&zoo_cfg).await?;
    if let Some(a) = member.addrs.metrics {
        tracing::info!("metrics on http://{a}/metrics");
    }
    if let Some(a) = member.addrs.admin {
        tracing::info!("admin server on http://{a}/commands");
    }
    let stop = member.stopper();
    tokio::select! {
        r = member.wait() => r,
        sig = shutdown_signal() => {
            tracing::info!("{sig} received, shutting down");
            let _ = stop.send(true);
            match tokio::time::timeout(SHUTDOWN_GRACE, member.wait()).await {
                Ok(r) => r,
                Err(_) => Err("shutdown did not complete in time".to_string()),
            }
        }
    }
}

async fn ensemble(nodes: u16, dir: PathBuf, base: u16, tick_ms: u32) -> Result<(), String> {
    let layout = EnsembleLayout::local(usize::from(nodes), base, tick_ms)?;
    let members = start_ensemble(&dir, &layout).await?;
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
    let sig = shutdown_signal();
    tokio::pin!(sig);
    tokio::select! {
        s = &mut sig => println!("{s} received, stopping the ensemble"),
        leader = conclave_tokio::wait_for_leader(&members, Duration::from_secs(60)) => {
            match leader {
                Some(i) => println!("member {} leads", members[i].id),
                None => println!("no leader after 60 s; see the log above"),
            }
            let s = sig.await;
            println!("{s} received, stopping the ensemble");
        }
    }
    // Every member is told to stop before any of them closes its sockets, so that no member
    // outlives its peers long enough to report a lost quorum during a clean shutdown.
    for m in &members {
        let _ = m.stopper().send(true);
    }
    let all = async {
        for m in members {
            m.stop().await?;
        }
        Ok::<(), String>(())
    };
    tokio::time::timeout(SHUTDOWN_GRACE, all)
        .await
        .map_err(|_| "shutdown did not complete in time".to_string())?
}

fn main() -> ExitCode {
    let cmd = match parse_args(std::env::args().skip(1)) {
        Ok(cmd) => cmd,
        Err(e) => {
            eprintln!("conclave: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match cmd {
        Command::Help => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Command::Version => {
            println!("conclave {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Inspect { data_dir } => {
            let files = match conclave_tokio::setup::read_data_files(data_dir.as_ref()) {
                Ok(files) => files,
                Err(e) => {
                    eprintln!("conclave inspect: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let (text, intact) = conclave_core::inspect::inspect(&files);
            print!("{text}");
            if intact {
                ExitCode::SUCCESS
            } else {
                eprintln!("{data_dir}: damaged files found (see above)");
                ExitCode::from(2)
            }
        }
        cmd => {
            conclave_tokio::process::init_tracing();
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let result = rt.block_on(async move {
                match cmd {
                    Command::Serve { zoo_cfg } => serve(zoo_cfg.into()).await,
                    Command::Ensemble {
                        nodes,
                        dir,
                        base_port,
                        tick_time_ms,
                    } => ensemble(nodes, dir.into(), base_port, tick_time_ms).await,
                    _ => Ok(()),
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("{e}");
                    eprintln!("conclave: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
