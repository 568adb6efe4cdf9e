//! `conclave`: a ZooKeeper-compatible coordination server (serve, ensemble, inspect).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use conclave_core::deploy::EnsembleLayout;
use conclave_core::host::Command;
use conclave_std::process::{
    announce, ensemble_banner, exit, leader_line, stopping_ensemble, SHUTDOWN_GRACE,
};
use conclave_tokio::{start_ensemble, start_from_cfg, wait_for_leader};

conclave_std::server_allocator!();

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

async fn serve(zoo_cfg: PathBuf) -> Result<(), String> {
    let mut member = start_from_cfg(&zoo_cfg).await?;
    announce(&member.addrs);
    let stop = member.stopper();
    tokio::select! {
        r = member.wait() => r,
        sig = shutdown_signal() => {
            tracing::info!("{sig} received, shutting down");
            let _ = stop.send(true);
            tokio::time::timeout(SHUTDOWN_GRACE, member.wait()).await
                .unwrap_or_else(|_| Err("shutdown did not complete in time".to_string()))
        }
    }
}

async fn ensemble(nodes: u16, dir: PathBuf, base: u16, tick_ms: u32) -> Result<(), String> {
    let layout = EnsembleLayout::local(usize::from(nodes), base, tick_ms)?;
    let members = start_ensemble(&dir, &layout).await?;
    print!(
        "{}",
        ensemble_banner(members.iter().map(|m| (m.id, &m.addrs)))
    );
    // One signal watch for the whole run, polled first so that it is registered before the
    // leader line is printed: a watch made after it would miss a SIGINT sent on that line.
    let sig = shutdown_signal();
    tokio::pin!(sig);
    tokio::select! {
        biased;
        s = &mut sig => stopping_ensemble(s),
        leader = wait_for_leader(&members, Duration::from_secs(60)) => {
            println!("{}", leader_line(leader.map(|i| members[i].id)));
            stopping_ensemble(sig.await);
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
    let cmd = match conclave_std::process::command("conclave") {
        Ok(cmd) => cmd,
        Err(code) => return code,
    };
    // One member is one event loop beside its disk thread: a current-thread runtime keeps the
    // node, its sockets' tasks and their wake-ups on one thread (no hand-off between workers
    // per request: write-tput +25 %, create-many +30 % measured). An in-process ensemble runs
    // several members, which share the cores of a multi-thread runtime.
    let mut builder = match cmd {
        Command::Serve { .. } => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    let rt = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return exit("conclave", Err(format!("cannot start the runtime: {e}"))),
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
            other => Err(format!("{other:?} is not served")),
        }
    });
    rt.shutdown_timeout(Duration::from_secs(1));
    exit("conclave", result)
}
