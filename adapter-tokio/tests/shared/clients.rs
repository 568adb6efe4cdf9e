//! Client-level end-to-end tests of every adapter, from one body (each adapter's
//! tests/clients.rs includes this file with its `SERVER_BIN`): a 3-member ensemble of server
//! processes driven by the `zookeeper-client` crate (every operation kind, watches, ephemerals,
//! multi, the HTTP endpoints), restart after kill -9, a standalone server, and a scripted
//! session of ZooKeeper's own `zkCli.sh`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use conclave_core::deploy::EnsembleLayout;
use conclave_std::fs::write_ensemble;
use zookeeper_client as zk;

use crate::common::*;

const T: Duration = Duration::from_secs(10);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(T, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {T:?}"))
}

/// Hostile connections on one member — silent half-open ones, a slow trickle, an oversize
/// length prefix, garbage, a flood of connect/close — do not disturb a well-behaved client of
/// the same member: every one of its requests succeeds, the oversize and garbage connections
/// are closed by the server, and the member still answers `mntr`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_connections_do_not_disturb_a_well_behaved_client() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let dir = TempDir::new("hostile");
    let layout = free_ports(3);
    let (_cfgs, _procs, _leader) = ensemble(&dir, &layout).await;
    let port = layout.members[0].client;
    let addr = format!("127.0.0.1:{port}");
    let good = connect(&addr).await;

    // Silent connections, under the per-IP limit (maxClientCnxns 60) with the good client.
    let silent: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    // Rejected ones: an oversize length prefix, and garbage.
    let mut rejected = Vec::new();
    for i in 0..5u8 {
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let _ = s.write_all(&0x7fff_fff0u32.to_be_bytes());
        let _ = s.write_all(&[i; 1024]);
        rejected.push(s);
        let mut s = TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(T)).unwrap();
        let mut junk = vec![0u8; 64 * 1024];
        let mut x = 0x9e37_79b9u32.wrapping_mul(u32::from(i) + 1);
        for b in &mut junk {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        // A length the server accepts, so the garbage is parsed as a ConnectRequest.
        junk[..4].copy_from_slice(&1000u32.to_be_bytes());
        let _ = s.write_all(&junk);
        rejected.push(s);
    }
    // A slow trickle and a connect/close flood, running beside the good client.
    let stop = Arc::new(AtomicBool::new(false));
    let trickle = {
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut s = TcpStream::connect(&addr).unwrap();
            let hello = [0u8, 0, 0, 44, 0, 0, 0, 0];
            for b in hello.iter().cycle().take(2_000) {
                if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let flood = {
        let (addr, stop) = (addr.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < 2_000 {
                drop(TcpStream::connect(&addr));
                n += 1;
            }
            n
        })
    };
    let opts = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
    within("create /h", good.create("/h", b"", &opts))
        .await
        .unwrap();
    for i in 0..200 {
        within(
            "create under hostile load",
            good.create(&format!("/h/{i}"), b"x", &opts),
        )
        .await
        .unwrap_or_else(|e| panic!("create /h/{i} under hostile load: {e}"));
    }
    stop.store(true, Ordering::Relaxed);
    trickle.join().unwrap();
    let flooded = flood.join().unwrap();
    let kids = within("list", good.list_children("/h")).await.unwrap();
    assert_eq!(kids.len(), 200);
    for (i, mut s) in rejected.into_iter().enumerate() {
        let mut buf = [0u8; 64];
        let closed = match s.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => s.read(&mut buf).is_ok_and(|n| n == 0),
            Err(e) => {
                e.kind() != std::io::ErrorKind::WouldBlock
                    && e.kind() != std::io::ErrorKind::TimedOut
            }
        };
        assert!(
            closed,
            "hostile connection {i} was not closed by the server"
        );
    }
    let mntr = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(b"mntr").unwrap();
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text
    })
    .await
    .unwrap();
    assert!(mntr.contains("zk_server_state"), "mntr: {mntr:?}");
    drop(silent);
    eprintln!("clients: 200 creates beside 40 silent, 10 rejected, a trickle and {flooded} flood connections");
}

/// Starts `layout` as server processes under `dir` and waits for a leader (its index).
async fn ensemble(dir: &TempDir, layout: &EnsembleLayout) -> (Vec<PathBuf>, Procs, usize) {
    ensemble_with(dir, layout, "").await
}

/// [`ensemble`] with `extra` zoo.cfg lines on every member.
async fn ensemble_with(
    dir: &TempDir,
    layout: &EnsembleLayout,
    extra: &str,
) -> (Vec<PathBuf>, Procs, usize) {
    let cfgs = write_ensemble(&dir.0, layout).unwrap();
    for cfg in &cfgs {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, format!("{text}{extra}")).unwrap();
    }
    let procs = Procs::spawn_all(cfgs.clone(), &dir.0);
    let admin: Vec<(usize, u16)> = (0..layout.members.len())
        .map(|i| (i, layout.members[i].admin))
        .collect();
    let leader = tokio::task::spawn_blocking(move || leader_by_http(&admin, T))
        .await
        .unwrap();
    let leader = leader.unwrap_or_else(|| {
        let logs: Vec<String> = (0..cfgs.len()).map(|i| procs.log(i)).collect();
        panic!("no leader within {T:?}; logs:\n{}", logs.join("\n----\n"))
    });
    (cfgs, procs, leader)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_operations_on_a_three_member_ensemble() {
    let dir = TempDir::new("ops");
    let layout = free_ports(3);
    let started = Instant::now();
    let (_, _procs, leader) = ensemble(&dir, &layout).await;
    eprintln!(
        "leader: member {} after {:?}",
        leader + 1,
        started.elapsed()
    );
    let cluster = crate::common::connect_string(&layout);
    let client = connect(&cluster).await;

    // create / get / set / delete
    let (stat, _) = within("create", client.create("/a", b"one", &persistent()))
        .await
        .unwrap();
    eprintln!("start -> first write: {:?}", started.elapsed());
    assert_eq!(stat.version, 0);
    let (data, _) = within("get", client.get_data("/a")).await.unwrap();
    assert_eq!(data, b"one");
    let stat = within("set", client.set_data("/a", b"two", Some(0)))
        .await
        .unwrap();
    assert_eq!(stat.version, 1);
    assert!(matches!(
        within("bad set", client.set_data("/a", b"x", Some(0))).await,
        Err(zk::Error::BadVersion)
    ));
    assert_eq!(
        within("get", client.get_data("/a")).await.unwrap().0,
        b"two"
    );
    within("delete", client.delete("/a", None)).await.unwrap();
    assert!(within("exists", client.check_stat("/a"))
        .await
        .unwrap()
        .is_none());

    // sequential nodes
    within("parent", client.create("/q", b"", &persistent()))
        .await
        .unwrap();
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    let (_, s1) = within("seq", client.create("/q/n-", b"", &seq))
        .await
        .unwrap();
    let (_, s2) = within("seq", client.create("/q/n-", b"", &seq))
        .await
        .unwrap();
    assert!(s2.into_i64() > s1.into_i64());
    let mut kids = within("children", client.list_children("/q"))
        .await
        .unwrap();
    kids.sort();
    assert_eq!(kids, vec![format!("n-{s1}"), format!("n-{s2}")]);

    // a data watch fires once
    within("w", client.create("/w", b"0", &persistent()))
        .await
        .unwrap();
    let (_, _, watcher) = within("watch", client.get_and_watch_data("/w"))
        .await
        .unwrap();
    within("set", client.set_data("/w", b"1", None))
        .await
        .unwrap();
    let ev = within("watch event", watcher.changed()).await;
    assert_eq!(ev.event_type, zk::EventType::NodeDataChanged);
    assert_eq!(ev.path, "/w");
    // Fired watches are gone from the server (ZooKeeper's one-shot semantics).
    within("watch count", async {
        loop {
            let ports: Vec<u16> = layout.members.iter().map(|m| m.admin).collect();
            let all_zero = tokio::task::spawn_blocking(move || {
                ports.iter().all(|p| {
                    http_get(*p, "/commands/mntr").is_some_and(|b| b.contains("\"watch_count\":0"))
                })
            })
            .await
            .unwrap();
            if all_zero {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;

    // an ephemeral vanishes with its session
    let other = connect(&cluster).await;
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    within("ephemeral", other.create("/e", b"", &eph))
        .await
        .unwrap();
    // Another session's write: `client` may be on a follower that has not applied it yet
    // (ZooKeeper reads are per-session consistent, not linearizable); sync first, as a
    // ZooKeeper user must (seen once in 20 runs of .ci/flaky as a NodeCreated event).
    within("sync", client.sync("/e")).await.unwrap();
    let (_, exists_watch) = within("exists", client.check_and_watch_stat("/e"))
        .await
        .unwrap();
    drop(other); // closes the session
    let ev = within("ephemeral deleted", exists_watch.changed()).await;
    assert_eq!(ev.event_type, zk::EventType::NodeDeleted);
    assert!(within("exists", client.check_stat("/e"))
        .await
        .unwrap()
        .is_none());

    // multi: all or nothing
    let mut w = client.new_multi_writer();
    w.add_create("/m1", b"x", &persistent()).unwrap();
    w.add_create("/m2", b"y", &persistent()).unwrap();
    w.add_set_data("/w", b"2", Some(1)).unwrap();
    let results = within("multi", w.commit()).await.unwrap();
    assert_eq!(results.len(), 3);
    let mut w = client.new_multi_writer();
    w.add_create("/m3", b"x", &persistent()).unwrap();
    w.add_check_version("/w", 99).unwrap();
    assert!(within("failing multi", w.commit()).await.is_err());
    assert!(within("exists", client.check_stat("/m3"))
        .await
        .unwrap()
        .is_none());
    assert_eq!(within("get", client.get_data("/m2")).await.unwrap().0, b"y");

    // metrics and admin endpoints answer
    let metrics_port = layout.members[leader].metrics;
    let admin_port = layout.members[leader].admin;
    let (body, admin) = tokio::task::spawn_blocking(move || {
        (
            http_get(metrics_port, "/metrics"),
            http_get(admin_port, "/commands/leader"),
        )
    })
    .await
    .unwrap();
    assert!(body.unwrap().contains("\nznode_count "));
    assert!(admin.unwrap().contains("\"is_leader\":true"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_kill_keeps_acknowledged_data() {
    let dir = TempDir::new("restart");
    let ports = free_ports(3);
    let cluster = crate::common::connect_string(&ports);
    {
        let (_, procs, _) = ensemble(&dir, &ports).await;
        let client = connect(&cluster).await;
        within("create", client.create("/keep", b"data", &persistent()))
            .await
            .unwrap();
        for i in 0..20 {
            within(
                "create",
                client.create(&format!("/keep/{i}"), b"", &persistent()),
            )
            .await
            .unwrap();
        }
        within("set", client.set_data("/keep", b"data2", None))
            .await
            .unwrap();
        drop(client);
        drop(procs); // kill -9: only what was acknowledged must be there
    }
    let (_, _procs, _) = ensemble(&dir, &ports).await;
    let client = connect(&cluster).await;
    assert_eq!(
        within("get", client.get_data("/keep")).await.unwrap().0,
        b"data2"
    );
    assert_eq!(
        within("children", client.list_children("/keep"))
            .await
            .unwrap()
            .len(),
        20
    );
    // And it still takes writes.
    within("create", client.create("/after", b"", &persistent()))
        .await
        .unwrap();
}

/// A zoo.cfg without `server.N` lines runs standalone (a single-voter ensemble) and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_serves_the_rust_client() {
    let dir = TempDir::new("standalone");
    let port = free_port();
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
             admin.enableServer=false\nmetricsProvider.httpPort={}\n4lw.commands.whitelist=*\n",
            dir.0.join("data").display(),
            free_port()
        ),
    )
    .unwrap();
    let procs = Procs::spawn_all(vec![cfg], &dir.0);
    let c = connect(&format!("127.0.0.1:{port}")).await;
    assert!(
        create_retrying(&c, "/s", T).await,
        "standalone never served; log:\n{}",
        procs.log(0)
    );
    assert_eq!(within("get", c.get_data("/s")).await.unwrap().0, b"v");
}

/// zkCli.sh's output without the watcher's lines, joined: its event thread prints
/// `WATCHER::` / `WatchedEvent …` whenever the event arrives, even in the middle of `ls`
/// printing `[` and `zookeeper]` (seen once in 20 runs: issue 18's flake).
fn without_events(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("WATCHER::") && !l.starts_with("WatchedEvent "))
        .collect()
}

/// Regression test for the flake itself: the interleaving seen in run 17 of `.ci/flaky`.
#[test]
fn watcher_lines_inside_ls_output_are_ignored() {
    let seen = "WATCHER::\n[\nWatchedEvent state:SyncConnected type:None path:null\nzookeeper]\n";
    assert!(without_events(seen).contains("[zookeeper]"));
}

fn zkcli() -> Option<PathBuf> {
    let by_path = Command::new("sh")
        .arg("-c")
        .arg("command -v zkCli.sh")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    by_path.or_else(|| {
        let p = PathBuf::from("/usr/share/zookeeper/bin/zkCli.sh");
        p.exists().then_some(p)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zkcli_scripted_session() {
    let Some(cli) = zkcli() else {
        eprintln!(
            "SKIPPED: zkCli.sh not found (PATH or /usr/share/zookeeper/bin); install Debian's \
             zookeeper-bin to run this test"
        );
        return;
    };
    let dir = TempDir::new("zkcli");
    let ports = free_ports(3);
    let (_, _procs, _) = ensemble(&dir, &ports).await;
    let server = crate::common::connect_string(&ports);
    let run = |args: &'static [&'static str]| {
        let cli = cli.clone();
        let server = server.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let out = Command::new(&cli)
                    .arg("-server")
                    .arg(&server)
                    .args(args)
                    .output()
                    .expect("running zkCli.sh");
                stdout_and_stderr(&out)
            })
            .await
            .unwrap()
        }
    };
    let out = run(&["create", "/x", "hi"]).await;
    assert!(out.contains("Created /x"), "{out}");
    let out = run(&["get", "/x"]).await;
    assert!(out.lines().any(|l| l.trim() == "hi"), "{out}");
    let out = run(&["set", "/x", "ho"]).await;
    assert!(!out.contains("Exception"), "{out}");
    let out = run(&["get", "/x"]).await;
    assert!(out.lines().any(|l| l.trim() == "ho"), "{out}");
    let out = run(&["ls", "/"]).await;
    assert!(without_events(&out).contains("[x, zookeeper]"), "{out}");
    let out = run(&["delete", "/x"]).await;
    assert!(!out.contains("Exception"), "{out}");
    let out = run(&["ls", "/"]).await;
    assert!(without_events(&out).contains("[zookeeper]"), "{out}");
}

/// Issue 17: 1 000 sockets that connect and never send a handshake are held until the
/// server's session-less timeout (10 s, ZooKeeper's `sessionlessCnxnTimeout` default) and then
/// all closed by it, while a session on the same member keeps working. The sockets come from
/// 20 loopback source addresses (127.0.0.2–21), 50 each, under the per-IP limit of 60.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_idle_sockets_are_closed_after_the_sessionless_timeout() {
    use tokio::io::AsyncReadExt;
    const SOCKETS: usize = 1000;
    // Both this test and the servers it spawns need ~1 000 descriptors more than the usual
    // soft limit of 1 024 on some machines; raise it to the hard limit (inherited).
    let fds = raise_fd_limit();
    let sockets = SOCKETS.min(fds.saturating_sub(200) / 2);
    if sockets < SOCKETS {
        eprintln!(
            "\n!!! idle sockets scaled down to {sockets} (RLIMIT_NOFILE {}): the 1 000-socket \
             case was NOT run on this machine\n",
            fds
        );
    }
    let dir = TempDir::new("idle");
    let layout = free_ports(3);
    let (_cfgs, _procs, _leader) = ensemble(&dir, &layout).await;
    let port = layout.members[0].client;
    let opened = Instant::now();
    let mut waits = Vec::new();
    for k in 0..sockets {
        let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + (k / 50) as u8);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((source, 0).into()).unwrap();
        let mut stream = socket
            .connect(([127, 0, 0, 1], port).into())
            .await
            .unwrap_or_else(|e| panic!("socket {k} from {source}: {e}"));
        // Closed by the server: the read ends (EOF or reset); 20 s bound.
        waits.push(tokio::spawn(async move {
            let mut buf = [0u8; 16];
            let r = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf)).await;
            (matches!(r, Ok(Ok(0)) | Ok(Err(_))), opened.elapsed())
        }));
    }
    eprintln!(
        "clients: {sockets} idle sockets open after {:?}",
        opened.elapsed()
    );
    let client = connect(&format!("127.0.0.1:{port}")).await;
    for i in 0..20 {
        within("a create beside the idle sockets", async {
            client
                .create(&format!("/beside-{i}"), b"", &persistent())
                .await
                .unwrap()
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (mut first, mut last) = (Duration::MAX, Duration::ZERO);
    for w in waits {
        let (closed, at) = w.await.unwrap();
        assert!(closed, "an idle socket was still open after {at:?}");
        first = first.min(at);
        last = last.max(at);
    }
    assert!(
        first >= Duration::from_secs(9),
        "an idle socket was closed after {first:?}, before the session-less timeout"
    );
    assert!(
        last <= Duration::from_secs(15),
        "the last idle socket was closed only after {last:?}"
    );
    client.get_data("/beside-19").await.unwrap();
    eprintln!(
        "clients: {sockets} idle sockets closed by the server between {first:?} and {last:?}"
    );
}

/// Issue 17: a flood of 10 000 connections (from 200 loopback source addresses, 50 each,
/// under the per-IP limit, so the server holds every one) against one member, held open for
/// two seconds: the member's RSS grows by less than 64 MiB, a session on the same member has
/// every request answered through it, and its latency before and during the flood is printed
/// (a figure, not a test: timing belongs to benchmarks). Where the descriptor limit cannot
/// hold 10 000 sockets on each side, the flood is scaled down and says so loudly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_flood_leaves_memory_bounded_and_sessions_answered() {
    let fds = raise_fd_limit();
    let want = 10_000usize;
    let flood = want.min(fds.saturating_sub(500));
    if flood < want {
        eprintln!(
            "\n!!! connection flood scaled down to {flood} (RLIMIT_NOFILE {}): the \
             10 000-connection flood was NOT run on this machine\n",
            fds
        );
    }
    let dir = TempDir::new("flood");
    let layout = free_ports(3);
    let (_cfgs, procs, _leader) = ensemble(&dir, &layout).await;
    let port = layout.members[0].client;
    let pid = procs.children[0].as_ref().unwrap().id();
    let client = connect(&format!("127.0.0.1:{port}")).await;
    client.create("/flood", b"x", &persistent()).await.unwrap();
    let sample = |n: usize| {
        let client = client.clone();
        async move {
            let mut lat = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                within("getData beside the flood", client.get_data("/flood"))
                    .await
                    .unwrap();
                lat.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            lat.sort();
            lat[lat.len() * 99 / 100]
        }
    };
    let quiet_p99 = sample(300).await;
    let rss_before = rss_kib(pid);
    let opened = Instant::now();
    let mut sockets = Vec::with_capacity(flood);
    for k in 0..flood {
        let source = std::net::Ipv4Addr::new(127, 0, 0, (2 + k / 50) as u8);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((source, 0).into()).unwrap();
        match socket.connect(([127, 0, 0, 1], port).into()).await {
            Ok(s) => sockets.push(s),
            Err(e) => panic!("flood connection {k} from {source}: {e}"),
        }
    }
    let open_took = opened.elapsed();
    let during_p99 = sample(300).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_during = rss_kib(pid);
    drop(sockets);
    within(
        "a create after the flood",
        client.create("/after-flood", b"", &persistent()),
    )
    .await
    .unwrap();
    let grew_mib = rss_during.saturating_sub(rss_before) / 1024;
    eprintln!(
        "clients: {flood} connections opened in {open_took:?}; member RSS {} -> {} MiB \
         (+{grew_mib}); getData p99 {quiet_p99:?} quiet, {during_p99:?} during the flood",
        rss_before / 1024,
        rss_during / 1024
    );
    assert!(
        grew_mib < 64,
        "RSS grew by {grew_mib} MiB for {flood} connections"
    );
}

/// Issue 17: clients that pipeline reads of a 1 MB znode and never read the replies. 200 of
/// them (from 4 loopback addresses, under the per-IP limit), 40 requests each, would be 8 GB
/// of replies; the member computes a connection's next reply only while it owes the wire
/// less than a mebibyte (2 MB each here, 400 MB in all), and aborts the largest debtor when
/// all clients together owe more than `clientBacklogLimitMB` (64 here). So its RSS grows by
/// less than 64 MiB + 96 (measured +59..+121 over 10 runs on the three adapters: allocator
/// and task-teardown transients; without the bound it grows past 400 MiB, without the
/// pacing by gigabytes), it logs the aborts, a session beside them is answered throughout,
/// and a never-reading client that starts reading gets every reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_their_replies_cost_bounded_memory() {
    use conclave_core::client::{encode_record_frame, encode_request, ConnectRequest, Request};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const CLIENTS: usize = 200;
    const REQUESTS: i32 = 40;
    const SIZE: usize = 1_000_000;
    let fds = raise_fd_limit();
    assert!(
        fds > 2 * CLIENTS + 200,
        "RLIMIT_NOFILE {fds} is too low for this test"
    );
    const LIMIT_MB: u64 = 64;
    let dir = TempDir::new("unread");
    let layout = free_ports(3);
    let limit = format!("clientBacklogLimitMB={LIMIT_MB}\n");
    let (_cfgs, procs, _leader) = ensemble_with(&dir, &layout, &limit).await;
    let port = layout.members[0].client;
    let pid = procs.children[0].as_ref().unwrap().id();
    let client = connect(&format!("127.0.0.1:{port}")).await;
    within(
        "create /big",
        client.create("/big", &vec![7u8; SIZE], &persistent()),
    )
    .await
    .unwrap();
    within(
        "create /small",
        client.create("/small", b"x", &persistent()),
    )
    .await
    .unwrap();
    let mut hello = Vec::new();
    encode_record_frame(&ConnectRequest::new_session(30_000), &mut hello);
    for xid in 1..=REQUESTS {
        let get = Request::GetData {
            path: "/big".into(),
            watch: false,
        };
        encode_request(xid, &get, &mut hello);
    }
    let rss_before = rss_kib(pid);
    let mut sockets = Vec::with_capacity(CLIENTS);
    for k in 0..CLIENTS {
        let source = std::net::Ipv4Addr::new(127, 0, 0, (2 + k / 50) as u8);
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // A small window: what the kernel takes off the member's hands stays small too.
        socket.set_recv_buffer_size(4096).unwrap();
        socket.bind((source, 0).into()).unwrap();
        let mut s = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
        s.write_all(&hello).await.unwrap();
        sockets.push(s);
    }
    // The member answers what it may; sample its RSS while a session beside them works.
    let mut peak = rss_kib(pid);
    // What the peak was made of (anonymous vs file pages, and how much of it the allocator
    // had mapped apart): a failure says whether live buffers or a heap kept them.
    let mut peak_breakdown = memory_breakdown(pid);
    for i in 0..50 {
        within("getData beside unread clients", client.get_data("/small"))
            .await
            .unwrap_or_else(|e| panic!("request {i} beside unread clients: {e}"));
        tokio::time::sleep(Duration::from_millis(40)).await;
        let now = rss_kib(pid);
        if now > peak {
            peak = now;
            peak_breakdown = memory_breakdown(pid);
        }
    }
    let grew_mib = peak.saturating_sub(rss_before) / 1024;
    // Three of them start reading: each gets its connect response and all its replies, or
    // (if it was the debtor aborted) an end of stream.
    let (mut complete, mut aborted) = (0, 0);
    // The oldest: a tie between debtors aborts the newest connection.
    for s in sockets.iter_mut().take(3) {
        let (mut frames, mut body_left) = (0, 0usize);
        let (mut buf, mut header) = (vec![0u8; 1 << 20], Vec::new());
        let deadline = tokio::time::Instant::now() + T;
        while frames < 1 + REQUESTS {
            let n = match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                Ok(Ok(n)) => n,
                Err(_) => panic!("a paced client got {frames} frames and then nothing for {T:?}"),
            };
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                if body_left > 0 {
                    let take = body_left.min(rest.len());
                    (body_left, rest) = (body_left - take, &rest[take..]);
                    frames += usize::from(body_left == 0) as i32;
                    continue;
                }
                let take = (4 - header.len()).min(rest.len());
                header.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                if header.len() == 4 {
                    body_left = u32::from_be_bytes(header[..].try_into().unwrap()) as usize;
                    header.clear();
                    frames += usize::from(body_left == 0) as i32;
                }
            }
        }
        if frames == 1 + REQUESTS {
            complete += 1;
        } else {
            aborted += 1;
        }
    }
    drop(sockets);
    within(
        "a create after",
        client.create("/after-unread", b"", &persistent()),
    )
    .await
    .unwrap();
    eprintln!(
        "clients: {CLIENTS} never-reading clients × {REQUESTS} reads of {SIZE} B: member RSS \
         {} -> peak {} MiB (+{grew_mib}; {peak_breakdown}); of 3 that started reading, \
         {complete} got every reply, {aborted} had been aborted",
        rss_before / 1024,
        peak / 1024
    );
    let aborts = procs.log(0).matches("aborted:").count();
    if std::env::var_os("UNREAD_LOG").is_some() {
        eprintln!("{}", procs.log(0));
    }
    eprintln!("clients: the member aborted {aborts} of them");
    assert!(
        aborts > 0,
        "400 MB owed and no client aborted: the bound never engaged"
    );
    assert!(
        grew_mib < LIMIT_MB + 96,
        "RSS grew by {grew_mib} MiB for {CLIENTS} never-reading clients; at the peak: \
         {peak_breakdown}"
    );
    assert!(complete > 0, "no paced client got its replies once it read");
}

/// `VmRSS` of process `pid` in KiB (0 when it cannot be read).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Process `pid`'s resident memory by kind (`RssAnon`, `RssFile` from its status) and the
/// anonymous memory in its heap mapping against the rest (large buffers get their own
/// mappings): for a failure message.
fn memory_breakdown(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?", str::trim)
            .to_string()
    };
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut heap_kib, mut current) = (0u64, "");
    for line in smaps.lines() {
        if line.contains('-') && !line.starts_with(|c: char| c.is_ascii_uppercase()) {
            current = if line.ends_with("[heap]") { "heap" } else { "" };
        } else if let Some(v) = line.strip_prefix("Rss:") {
            if current == "heap" {
                heap_kib += v
                    .split_whitespace()
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
            }
        }
    }
    format!(
        "RssAnon {}, RssFile {}, [heap] {heap_kib} kB",
        field("RssAnon:"),
        field("RssFile:")
    )
}

/// Raises this process's descriptor limit to its hard limit (the servers it spawns inherit
/// it) and returns the soft limit now in force.
fn raise_fd_limit() -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to an rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
    lim.rlim_cur as usize
}

/// Test certificates for TLS, made now with rcgen (no key is ever committed): a CA whose
/// certificate is the members' trust store, a server key store for localhost / 127.0.0.1,
/// a client certificate the CA signed, and a stranger's from another CA.
struct TlsFiles {
    ca: PathBuf,
    server: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    client_pem: PathBuf,
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
}

impl TlsFiles {
    fn new(dir: &std::path::Path) -> TlsFiles {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        let ca = |name: &str| {
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            p.distinguished_name.push(DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let cert = p.self_signed(&key).unwrap();
            (cert, key)
        };
        let leaf = |names: &[&str], cn: &str, issuer: &(rcgen::Certificate, KeyPair)| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut p = CertificateParams::new(names).unwrap();
            p.distinguished_name.push(DnType::CommonName, cn);
            let key = KeyPair::generate().unwrap();
            let cert = p.signed_by(&key, &issuer.0, &issuer.1).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).unwrap();
            p
        };
        let ours = ca("conclave test CA");
        let (server_cert, server_key) = leaf(&["localhost", "127.0.0.1"], "localhost", &ours);
        let (client_cert, client_key) = leaf(&["client"], "client", &ours);
        let (stranger_cert, stranger_key) = leaf(&["client"], "stranger", &ca("another CA"));
        TlsFiles {
            ca: write("ca.pem", &ours.0.pem()),
            server: write("server.pem", &format!("{server_key}{server_cert}")),
            client_cert: write("client.crt", &client_cert),
            client_key: write("client.key", &client_key),
            client_pem: write("client.pem", &format!("{client_key}{client_cert}")),
            stranger_cert: write("stranger.crt", &stranger_cert),
            stranger_key: write("stranger.key", &stranger_key),
        }
    }

    /// The zoo.cfg lines of a member whose secure client port is `port`, with TLS between
    /// members and SASL users from the JAAS file `jaas`, written as a ZooKeeper operator
    /// writes them.
    fn zoo_cfg(&self, port: u16, jaas: &std::path::Path) -> String {
        format!(
            "sslQuorum=true\n\
             ssl.quorum.keyStore.location={0}\nssl.quorum.keyStore.type=PEM\n\
             ssl.quorum.trustStore.location={1}\nssl.quorum.trustStore.type=PEM\n\
             secureClientPort={port}\n\
             serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory\n\
             ssl.keyStore.location={0}\nssl.keyStore.type=PEM\n\
             ssl.trustStore.location={1}\nssl.trustStore.type=PEM\nssl.clientAuth=need\n\
             authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n\
             java.security.auth.login.config={2}\n",
            self.server.display(),
            self.ca.display(),
            jaas.display()
        )
    }
}

/// Reads `s` until the server closes it (bounded by `T`): whether it did.
async fn closed_by_server(mut s: tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + T;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// Runs a kazoo script from tests/clients with `args` (bounded); its output, or `None` with
/// a loud SKIPPED when python3 lacks `module`.
async fn kazoo_script(name: &str, module: &str, args: Vec<String>) -> Option<(bool, String)> {
    let has = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!("SKIPPED: {name} needs the python module {module} (pip install kazoo pure-sasl)");
        return None;
    }
    let script = format!(
        "{}/../adapter-tokio/tests/clients/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = tokio::task::spawn_blocking(move || {
        Command::new("timeout")
            .arg("180")
            .arg("python3")
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    Some((out.status.success(), stdout_and_stderr(&out)))
}

/// A finished command's stdout followed by its stderr, as text.
fn stdout_and_stderr(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Issue 15: a 3-member ensemble whose members talk TLS to each other (`sslQuorum=true`,
/// certificates checked both ways, a plaintext peer closed), with `secureClientPort`
/// beside `clientPort`, configured with ZooKeeper's PEM keys and `ssl.clientAuth=need`,
/// and SASL DIGEST-MD5 users from a JAAS file: kazoo (`use_ssl=True`) writes and reads over TLS on every member, a
/// certificate from another CA gets no session, kazoo with `sasl_options` authenticates
/// (plain and over TLS) and owns a `sasl:bob` node, a wrong password is AUTH_FAILED, a flood
/// of them disturbs nobody, zkCli.sh reads over TLS (its Netty socket), plain clients keep
/// working, and a ZooKeeper handshake sent in plaintext to the TLS port, or a TLS hello to
/// the plain port, is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_and_zkcli_over_tls_and_sasl_beside_plain_clients() {
    use tokio::io::AsyncWriteExt;
    let dir = TempDir::new("tls");
    let layout = free_ports(3);
    let tls = TlsFiles::new(&dir.0);
    let secure: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let jaas = dir.0.join("jaas.conf");
    std::fs::write(
        &jaas,
        "Server {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  \
         user_super=\"adminsecret\"\n  user_bob=\"secret\";\n};\n",
    )
    .unwrap();
    let cfgs = write_ensemble(&dir.0, &layout).unwrap();
    for (cfg, port) in cfgs.iter().zip(&secure) {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, format!("{text}{}", tls.zoo_cfg(*port, &jaas))).unwrap();
    }
    let procs = Procs::spawn_all(cfgs.clone(), &dir.0);
    let admin: Vec<(usize, u16)> = (0..3).map(|i| (i, layout.members[i].admin)).collect();
    let leader = tokio::task::spawn_blocking(move || leader_by_http(&admin, T))
        .await
        .unwrap();
    assert!(leader.is_some(), "no leader; log:\n{}", procs.log(0));
    assert!(
        procs.log(0).contains("TLS on every peer link (sslQuorum)"),
        "{}",
        procs.log(0)
    );
    let plain = connect(&connect_string(&layout)).await;
    assert!(create_retrying(&plain, "/plain", T).await);
    // A peer speaking plaintext to a member's election port is closed.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", layout.members[1].election))
        .await
        .unwrap();
    s.write_all(&[0u8; 64]).await.unwrap();
    assert!(
        closed_by_server(s).await,
        "plaintext held open on a TLS peer port"
    );

    // A ConnectRequest in plaintext to the TLS port, a TLS ClientHello to the plain port.
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", secure[0]))
        .await
        .unwrap();
    let mut hello = vec![0, 0, 0, 44];
    hello.extend([0u8; 44]);
    s.write_all(&hello).await.unwrap();
    assert!(
        closed_by_server(s).await,
        "plaintext held open on the TLS port"
    );
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", layout.members[0].client))
        .await
        .unwrap();
    s.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .await
        .unwrap();
    assert!(
        closed_by_server(s).await,
        "a TLS hello held open on the plain port"
    );

    let hosts: Vec<String> = secure.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let args = vec![
        hosts.join(","),
        tls.ca.display().to_string(),
        tls.client_cert.display().to_string(),
        tls.client_key.display().to_string(),
        tls.stranger_cert.display().to_string(),
        tls.stranger_key.display().to_string(),
    ];
    let has_kazoo = match kazoo_script("kazoo_tls.py", "kazoo", args).await {
        None => false,
        Some((ok, text)) => {
            assert!(
                ok && text.contains("KAZOO TLS OK"),
                "{text}\nmember log:\n{}",
                procs.log(0)
            );
            true
        }
    };
    let args = vec![
        connect_string(&layout),
        hosts.join(","),
        tls.ca.display().to_string(),
        tls.client_cert.display().to_string(),
        tls.client_key.display().to_string(),
    ];
    if let Some((ok, text)) = kazoo_script("kazoo_sasl.py", "puresasl", args).await {
        assert!(
            ok && text.contains("KAZOO SASL OK"),
            "{text}\nmember log:\n{}",
            procs.log(0)
        );
    }

    match zkcli() {
        None => eprintln!("SKIPPED: zkCli.sh over TLS (apt-get install zookeeper)"),
        Some(cli) => {
            // Debian's zookeeper.jar names no netty-resolver / netty-codec in its class path,
            // which the Netty client socket needs: a later -cp in CLIENT_JVMFLAGS wins.
            let mut jvm = String::new();
            if std::path::Path::new("/usr/share/java/netty-resolver.jar").exists() {
                jvm.push_str(
                    "-cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar:\
                     /usr/share/java/netty-resolver.jar:/usr/share/java/netty-codec.jar ",
                );
            }
            jvm.push_str(&format!(
                "-Dzookeeper.client.secure=true \
                 -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty \
                 -Dzookeeper.ssl.keyStore.location={} -Dzookeeper.ssl.keyStore.type=PEM \
                 -Dzookeeper.ssl.trustStore.location={} -Dzookeeper.ssl.trustStore.type=PEM",
                tls.client_pem.display(),
                tls.ca.display()
            ));
            let server = hosts[1].clone();
            let out = tokio::task::spawn_blocking(move || {
                Command::new("timeout")
                    .arg("60")
                    .arg(&cli)
                    .args(["-server", &server, "get", "/tls/node"])
                    .env("CLIENT_JVMFLAGS", jvm)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap();
            let text = stdout_and_stderr(&out);
            let want = if has_kazoo {
                "over tls"
            } else {
                "Node does not exist"
            };
            assert!(text.contains(want), "zkCli.sh over TLS:\n{text}");
        }
    }
    // The plain session lived through all of it.
    assert!(create_retrying(&plain, "/plain/after", T).await);
}

/// Issue 16: kazoo and zkCli.sh reconfigure a running ensemble (`reconfigEnabled=true`,
/// the super user): two servers started with the members plus themselves join (an observer,
/// then a participant with `-from`), serve, and leave again; bad reconfigs get ZooKeeper's
/// error codes; zkCli.sh adds and removes one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kazoo_and_zkcli_reconfigure_a_running_ensemble() {
    let dir = TempDir::new("reconfig");
    let all = free_ports(5);
    let extra = "reconfigEnabled=true\n\
                 DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=\n";
    let three = EnsembleLayout {
        members: all.members[..3].to_vec(),
        ..all.clone()
    };
    let mut cfgs = write_ensemble(&dir.0, &three).unwrap();
    // Servers 4 and 5 list the three members and themselves (4 as an observer).
    let staged = write_ensemble(&dir.0.join("joining"), &all).unwrap();
    let server_line = |i: usize, role: &str| {
        let p = all.members[i - 1];
        format!(
            "server.{i}=127.0.0.1:{}:{}:{role};127.0.0.1:{}",
            p.quorum, p.election, p.client
        )
    };
    for (i, role) in [(4, "observer"), (5, "participant")] {
        let text = std::fs::read_to_string(&staged[i - 1]).unwrap();
        let other = if i == 4 { 5 } else { 4 };
        let text: String = text
            .lines()
            .filter(|l| !l.starts_with(&format!("server.{other}=")))
            .map(|l| {
                if l.starts_with(&format!("server.{i}=")) {
                    server_line(i, role)
                } else {
                    l.to_string()
                }
            })
            .map(|l| l + "\n")
            .collect();
        std::fs::write(&staged[i - 1], text).unwrap();
        cfgs.push(staged[i - 1].clone());
    }
    for cfg in &cfgs {
        let text = std::fs::read_to_string(cfg).unwrap();
        std::fs::write(cfg, format!("{text}{extra}")).unwrap();
    }
    let procs = Procs::spawn_all(cfgs.clone(), &dir.0);
    let admin: Vec<(usize, u16)> = (0..3).map(|i| (i, all.members[i].admin)).collect();
    let leader = tokio::task::spawn_blocking(move || leader_by_http(&admin, T))
        .await
        .unwrap();
    assert!(leader.is_some(), "no leader; log:\n{}", procs.log(0));
    let members = connect_string(&three);
    let host = |i: usize| format!("127.0.0.1:{}", all.members[i - 1].client);
    let plain = connect(&members).await;
    assert!(create_retrying(&plain, "/before", T).await);
    let args = vec![
        members.clone(),
        host(4),
        host(5),
        server_line(4, "observer"),
        server_line(5, "participant"),
    ];
    if let Some((ok, text)) = kazoo_script("kazoo_reconfig.py", "kazoo", args).await {
        let logs: Vec<String> = (0..5).map(|i| procs.log(i)).collect();
        assert!(
            ok && text.contains("KAZOO RECONFIG OK"),
            "{text}\nmember logs:\n{}",
            logs.join("\n----\n")
        );
        eprintln!("{text}");
    }
    let Some(cli) = zkcli() else {
        eprintln!("SKIPPED: zkCli.sh reconfig (zkCli.sh not found; install Debian's zookeeper)");
        return;
    };
    let script = format!(
        "addauth digest super:secret\nreconfig -add {}\nreconfig -remove 4\nconfig\nquit\n",
        server_line(4, "observer")
    );
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = Command::new("timeout")
            .arg("60")
            .arg(&cli)
            .arg("-server")
            .arg(&members)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("running zkCli.sh");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        stdout_and_stderr(&child.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    let committed = out.matches("Committed new configuration").count();
    assert_eq!(committed, 2, "zkCli.sh reconfig -add, -remove:\n{out}");
    assert!(out.contains(":observer;127.0.0.1:"), "{out}");
    eprintln!("zkCli.sh reconfig -add, -remove: committed twice");
}
