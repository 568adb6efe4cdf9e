//! The workloads: sessions with requests pipelined on each, latencies into HDR histograms,
//! every run bounded in time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use zookeeper_client as zk;

/// What one worker sends, again and again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// setData of 100 B on the worker's own znode.
    SetData,
    /// getData of the worker's own znode.
    GetData,
    /// Nine getData, then one setData.
    Mixed,
    /// create of a new 100 B znode, until a shared count is reached.
    Create,
}

/// Which client sends the timed workloads' requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Client {
    /// The bench's own pipelined sessions (`pipe.rs`): the least CPU per request.
    Pipe,
    /// The `zookeeper-client` crate, one task per outstanding request.
    Crate,
}

/// The outcome of one timed run.
#[derive(Debug)]
pub(crate) struct Measured {
    /// Requests answered with success.
    pub(crate) ops: u64,
    /// Requests answered with an error (or not at all within 10 s).
    pub(crate) errors: u64,
    /// Wall time of the run.
    pub(crate) elapsed: Duration,
    /// Latency of the successful requests, µs.
    pub(crate) latency_us: Histogram<u64>,
}

impl Measured {
    /// Successful requests per second.
    pub(crate) fn per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The value every write carries.
pub(crate) const VALUE: [u8; 100] = [b'x'; 100];

/// Histograms from 1 µs to 60 s at 3 significant digits.
pub(crate) fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("static histogram bounds are valid")
}

/// A session with a 10 s timeout, bounded by `within`.
pub(crate) async fn connect(hosts: &str, within: Duration) -> Result<zk::Client, String> {
    let connect = zk::Client::connector()
        .with_session_timeout(Duration::from_secs(10))
        .with_connection_timeout(Duration::from_secs(2))
        .connect(hosts);
    match tokio::time::timeout(within, connect).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(format!("connect {hosts}: {e}")),
        Err(_) => Err(format!("connect {hosts}: no session within {within:?}")),
    }
}

/// Options of every znode the bench creates.
pub(crate) fn persistent() -> zk::CreateOptions<'static> {
    zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all())
}

/// Creates `path` (an existing node is fine).
pub(crate) async fn ensure(client: &zk::Client, path: &str) -> Result<(), String> {
    match client.create(path, &VALUE, &persistent()).await {
        Ok(_) | Err(zk::Error::NodeExists) => Ok(()),
        Err(e) => Err(format!("create {path}: {e}")),
    }
}

/// The shape of one run.
#[derive(Clone, Debug)]
pub(crate) struct Shape {
    /// Concurrent sessions; session `c` talks to member `c % hosts`.
    pub(crate) sessions: usize,
    /// Requests each session keeps outstanding.
    pub(crate) inflight: usize,
    /// Upper bound of the run.
    pub(crate) secs: f64,
    /// For [`Op::Create`]: stop after this many creates in all.
    pub(crate) creates: u64,
}

/// Runs `op` from `shape.sessions` sessions with `shape.inflight` workers each, worker `w`
/// on `{root}/w{w}` (created first), until the time bound (or the create count) is reached.
///
/// `client` says who sends the timed requests: [`Client::Pipe`] (the bench's own, see
/// `pipe.rs`) or [`Client::Crate`] (the `zookeeper-client` crate, a task per worker). The
/// znodes are created through the crate either way.
pub(crate) async fn run(
    hosts: &[String],
    root: &str,
    op: Op,
    shape: &Shape,
    client: Client,
) -> Result<Measured, String> {
    let mut sessions = Vec::new();
    for c in 0..shape.sessions {
        sessions.push(connect(&hosts[c % hosts.len()], Duration::from_secs(20)).await?);
    }
    let workers = shape.sessions * shape.inflight;
    if op != Op::Create {
        for w in 0..workers {
            ensure(&sessions[w % shape.sessions], &format!("{root}/w{w}")).await?;
        }
    } else {
        ensure(&sessions[0], &format!("{root}/c")).await?;
    }
    if client == Client::Pipe {
        drop(sessions);
        return tokio::task::block_in_place(|| crate::pipe::run(hosts, root, op, shape));
    }
    let created = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(shape.secs);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let client = sessions[w % shape.sessions].clone();
        let path = format!("{root}/w{w}");
        let prefix = format!("{root}/c/w{w}-");
        let (created, limit) = (created.clone(), shape.creates);
        tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let (mut ok, mut errors, mut n) = (0u64, 0u64, 0u64);
            while Instant::now() < deadline {
                if op == Op::Create && created.fetch_add(1, Ordering::Relaxed) >= limit {
                    break;
                }
                let t = Instant::now();
                let answer = tokio::time::timeout(Duration::from_secs(10), async {
                    match op {
                        Op::SetData => client.set_data(&path, &VALUE, None).await.map(|_| ()),
                        Op::Mixed if n % 10 == 9 => {
                            client.set_data(&path, &VALUE, None).await.map(|_| ())
                        }
                        Op::GetData | Op::Mixed => client.get_data(&path).await.map(|_| ()),
                        Op::Create => client
                            .create(&format!("{prefix}{n}"), &VALUE, &persistent())
                            .await
                            .map(|_| ()),
                    }
                })
                .await;
                n += 1;
                match answer {
                    Ok(Ok(())) => {
                        ok += 1;
                        let _ = h.record(t.elapsed().as_micros().max(1) as u64);
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, h)
        }));
    }
    let mut total = Measured {
        ops: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latency_us: histogram(),
    };
    for t in tasks {
        let (ok, errors, h) = t.await.map_err(|e| format!("worker: {e}"))?;
        total.ops += ok;
        total.errors += errors;
        let _ = total.latency_us.add(&h);
    }
    total.elapsed = start.elapsed();
    Ok(total)
}

/// The members of `hosts` that accept a TCP connection, as a connect string: polled every
/// 2 ms until at least one does (or `deadline`; then all of `hosts`).
///
/// The client library tries hosts in turn and backs off 50–100 ms per refusing host and 300 ms
/// and more per round, so a session asked of members that are still starting would time the
/// library's back-off, not the service (measured: 330–400 ms of a 350 ms start → first write
/// when the first host it tried was not listening yet, 32 ms when it was). Both services are
/// probed the same way.
async fn listening(hosts: &str, deadline: Instant) -> String {
    while Instant::now() < deadline {
        let mut open = Vec::new();
        for host in hosts.split(',') {
            if tokio::net::TcpStream::connect(host).await.is_ok() {
                open.push(host);
            }
        }
        if !open.is_empty() {
            return open.join(",");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    hosts.to_string()
}

/// Start → first write: creates `path` through a member that listens, until it succeeds
/// (60 s bound). Returns the session that did it.
pub(crate) async fn first_write(hosts: &str, path: &str) -> Result<zk::Client, String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::from("nothing tried");
    while Instant::now() < deadline {
        let open = listening(hosts, deadline).await;
        match connect(&open, Duration::from_secs(3)).await {
            Ok(client) => {
                let attempt =
                    tokio::time::timeout(Duration::from_secs(3), ensure(&client, path)).await;
                match attempt {
                    Ok(Ok(())) => return Ok(client),
                    Ok(Err(e)) => last = e,
                    Err(_) => last = String::from("create timed out"),
                }
            }
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(format!("no write within 60 s: {last}"))
}

/// Writers through each given member, setData on their own znode back to back; returns
/// when one of them has had a write acknowledged that it *sent* at or after `since`, with
/// the gap (`None` after 30 s).
pub(crate) async fn first_write_after(
    writers: Vec<(zk::Client, String)>,
    since: Instant,
) -> Option<Duration> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(writers.len().max(1));
    let mut tasks = Vec::new();
    for (client, path) in writers {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            let end = since + Duration::from_secs(30);
            while Instant::now() < end {
                let sent = Instant::now();
                let r = tokio::time::timeout(
                    Duration::from_secs(2),
                    client.set_data(&path, &VALUE, None),
                )
                .await;
                match r {
                    Ok(Ok(_)) if sent >= since => {
                        let _ = tx.send(since.elapsed()).await;
                        return;
                    }
                    Ok(Ok(_)) => {}
                    _ => tokio::time::sleep(Duration::from_millis(2)).await,
                }
            }
        }));
    }
    drop(tx);
    let first = rx.recv().await;
    for t in tasks {
        t.abort();
    }
    first
}
