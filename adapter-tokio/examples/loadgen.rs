//! A load generator for any ZooKeeper-compatible ensemble, so Conclave and Apache ZooKeeper
//! can be measured side by side with the same client: sequential creates, then reads, from
//! `clients` concurrent sessions, then setData of 100 B with `inflight` requests pipelined on
//! each session, for `secs` seconds each.
//!
//! `cargo run --release -p conclave-tokio --example loadgen -- 127.0.0.1:2181,127.0.0.1:2182 8 5 16`

use std::time::{Duration, Instant};

use zookeeper_client as zk;

async fn connect(cluster: &str) -> zk::Client {
    zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_connection_timeout(Duration::from_secs(5))
        .connect(cluster)
        .await
        .expect("connect")
}

fn options() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Runs `clients` sessions doing `op` for `secs` seconds; returns operations per second.
async fn run<F, Fut>(cluster: &str, clients: usize, secs: u64, op: F) -> f64
where
    F: Fn(zk::Client, usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    run_pipelined(cluster, clients, 1, secs, op).await
}

/// Runs `clients` sessions, each with `inflight` requests outstanding at all times (worker
/// `c * inflight + k` calls `op`), for `secs` seconds; returns operations per second.
async fn run_pipelined<F, Fut>(
    cluster: &str,
    clients: usize,
    inflight: usize,
    secs: u64,
    op: F,
) -> f64
where
    F: Fn(zk::Client, usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push(connect(cluster).await);
    }
    let deadline = Instant::now() + Duration::from_secs(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, s) in sessions.into_iter().enumerate() {
        for k in 0..inflight {
            let (op, s) = (op.clone(), s.clone());
            tasks.push(tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < deadline {
                    op(s.clone(), c * inflight + k, n).await;
                    n += 1;
                }
                n
            }));
        }
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("worker");
    }
    total as f64 / start.elapsed().as_secs_f64()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args = std::env::args().skip(1);
    let cluster = args.next().unwrap_or_else(|| "127.0.0.1:2181".into());
    let clients: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(8);
    let secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let inflight: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let root = format!("/loadgen-{}", std::process::id());
    let admin = connect(&cluster).await;
    let t = Instant::now();
    admin
        .create(&root, b"", &options())
        .await
        .expect("create root");
    println!("first write: {:?}", t.elapsed());
    let r = root.clone();
    let creates = run(&cluster, clients, secs, move |s, c, n| {
        let path = format!("{r}/c{c}-{n}");
        async move {
            s.create(&path, b"0123456789abcdef", &options())
                .await
                .expect("create");
        }
    })
    .await;
    println!("creates/s with {clients} clients: {creates:.0}");
    let r = root.clone();
    let reads = run(&cluster, clients, secs, move |s, c, _| {
        let path = format!("{r}/c{c}-0");
        async move {
            s.get_data(&path).await.expect("get");
        }
    })
    .await;
    println!("reads/s with {clients} clients: {reads:.0}");
    let r = root.clone();
    let workers = clients * inflight;
    for w in 0..workers {
        admin
            .create(&format!("{r}/w{w}"), b"", &options())
            .await
            .expect("create a worker's node");
    }
    let value = vec![b'x'; 100];
    let writes = run_pipelined(&cluster, clients, inflight, secs, move |s, w, _| {
        let path = format!("{r}/w{w}");
        let value = value.clone();
        async move {
            s.set_data(&path, &value, None).await.expect("setData");
        }
    })
    .await;
    println!("setData/s with {clients} clients x {inflight} in flight: {writes:.0}");
}
