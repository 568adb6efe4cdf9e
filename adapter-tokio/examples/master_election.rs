//! Master election with ephemeral znodes, the classic ZooKeeper recipe.
//!
//! Three workers race to create the ephemeral `/master`; the losers watch it (exists watch)
//! and race again when it vanishes. Worker A is let win, then closes its session; B or C
//! takes over. Runs against an in-process 3-member ensemble, or against the ensemble whose
//! connect string is the first argument:
//!
//! ```text
//! cargo run -p conclave-tokio --example master_election [127.0.0.1:2181,...]
//! ```

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use zookeeper_client as zk;

const BOUND: Duration = Duration::from_secs(30);

async fn worker(
    name: &'static str,
    cluster: String,
    won: mpsc::UnboundedSender<&'static str>,
    resign: Option<oneshot::Receiver<()>>,
) -> Result<(), zk::Error> {
    let client = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(6))
        .connect(&cluster)
        .await?;
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    loop {
        match client.create("/master", name.as_bytes(), &eph).await {
            Ok(_) => {
                println!("{name}: I am the master");
                let _ = won.send(name);
                if let Some(resign) = resign {
                    let _ = resign.await;
                    println!("{name}: closing my session");
                    drop(client); // closes the session; ZooKeeper deletes /master
                    return Ok(());
                }
                std::future::pending::<()>().await;
            }
            Err(zk::Error::NodeExists) => {
                let (stat, watcher) = client.check_and_watch_stat("/master").await?;
                if stat.is_none() {
                    continue; // vanished before the watch was set: race again
                }
                let holder = client
                    .get_data("/master")
                    .await
                    .map(|(d, _)| d)
                    .unwrap_or_default();
                println!(
                    "{name}: {} is master, watching /master",
                    String::from_utf8_lossy(&holder)
                );
                let ev = watcher.changed().await;
                println!("{name}: {:?} on {}, racing again", ev.event_type, ev.path);
            }
            Err(e) => return Err(e),
        }
    }
}

async fn run(cluster: String) -> Result<(), String> {
    let (won_tx, mut won_rx) = mpsc::unbounded_channel();
    let (resign_tx, resign_rx) = oneshot::channel();
    let a = tokio::spawn(worker(
        "A",
        cluster.clone(),
        won_tx.clone(),
        Some(resign_rx),
    ));
    // A starts first so that it wins; B and C join once it has.
    let first = won_rx.recv().await.ok_or("worker A stopped")?;
    assert_eq!(first, "A");
    let b = tokio::spawn(worker("B", cluster.clone(), won_tx.clone(), None));
    let c = tokio::spawn(worker("C", cluster.clone(), won_tx, None));
    tokio::time::sleep(Duration::from_millis(500)).await; // let B and C set their watches
    let _ = resign_tx.send(());
    let next = won_rx.recv().await.ok_or("no worker took over")?;
    println!("take-over: {next} is the new master");
    let _ = a.await;
    b.abort();
    c.abort();
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let arg = std::env::args().nth(1);
    let work = async {
        match arg {
            Some(cluster) => run(cluster).await,
            None => {
                let dir =
                    std::env::temp_dir().join(format!("conclave-example-{}", std::process::id()));
                let ports: Vec<_> = (0..3)
                    .map(|_| {
                        let mut p = [0u16; 4];
                        for slot in &mut p {
                            *slot = std::net::TcpListener::bind("127.0.0.1:0")
                                .and_then(|l| l.local_addr())
                                .map(|a| a.port())
                                .unwrap_or(0);
                        }
                        conclave_core::deploy::MemberPorts {
                            client: p[0],
                            election: p[1],
                            quorum: p[2],
                            metrics: p[3],
                            admin: p[3],
                        }
                    })
                    .collect();
                let layout = conclave_core::deploy::EnsembleLayout::with_ports(ports, 500);
                let members = conclave_tokio::start_ensemble(&dir, &layout).await?;
                conclave_tokio::wait_for_leader(&members, Duration::from_secs(10))
                    .await
                    .ok_or("no leader")?;
                let cluster = members
                    .iter()
                    .map(|m| m.addrs.client.to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                println!("ensemble up: {cluster}");
                let r = run(cluster).await;
                for m in members {
                    let _ = m.stop().await;
                }
                let _ = std::fs::remove_dir_all(&dir);
                r
            }
        }
    };
    tokio::time::timeout(BOUND, work)
        .await
        .map_err(|_| format!("did not finish within {BOUND:?}"))?
}
