//! Write throughput of an in-process 3-member ensemble (ignored by default; a measurement,
//! not a check): `cargo test -p conclave-tokio --test throughput -- --ignored --nocapture`.

/// The server binary the shared helpers spawn.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;

use std::time::{Duration, Instant};

use common::*;
use conclave_tokio::{start_ensemble, wait_for_leader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement"]
async fn sequential_creates_per_second() {
    let dir = TempDir::new("tput");
    let ports = free_ports(3);
    let t0 = Instant::now();
    let members = start_ensemble(&dir.0, &ports).await.unwrap();
    wait_for_leader(&members, Duration::from_secs(10))
        .await
        .unwrap();
    let cluster = common::connect_string(&ports);
    let client = connect(&cluster).await;
    client.create("/t", b"", &persistent()).await.unwrap();
    eprintln!("start -> first write: {:?}", t0.elapsed());

    let n = 1000;
    let t = Instant::now();
    for i in 0..n {
        client
            .create(&format!("/t/one-{i}"), b"0123456789", &persistent())
            .await
            .unwrap();
    }
    let el = t.elapsed();
    eprintln!(
        "1 client: {n} sequential creates in {el:?} = {:.0}/s",
        n as f64 / el.as_secs_f64()
    );

    let clients = 8;
    let per = 500;
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push(connect(&cluster).await);
    }
    let t = Instant::now();
    let mut tasks = Vec::new();
    for (c, s) in sessions.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                s.create(&format!("/t/c{c}-{i}"), b"0123456789", &persistent())
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let el = t.elapsed();
    let total = clients * per;
    eprintln!(
        "{clients} clients: {total} creates ({per} sequential each) in {el:?} = {:.0}/s",
        total as f64 / el.as_secs_f64()
    );
    drop(client);
    for m in members {
        m.stop().await.unwrap();
    }
}
