//! A standalone server (zoo.cfg without server lines, no myid) and, when installed, a
//! scripted session with ZooKeeper's own `zkCli.sh` against a 3-member ensemble.

/// The server binary the shared helpers spawn.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use conclave_tokio::start_from_cfg;

const T: Duration = Duration::from_secs(10);

async fn standalone(dir: &TempDir) -> (conclave_tokio::Member, u16) {
    // A port free a moment ago can be taken before we bind it (seen once in 20 runs of
    // .ci/flaky even below the ephemeral range): the server says so, and we try another.
    let mut attempt = 0;
    let (m, port) = loop {
        attempt += 1;
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
        match start_from_cfg(&cfg).await {
            Ok(m) => break (m, port),
            Err(e) if e.contains("Address already in use") && attempt < 5 => {
                eprintln!("attempt {attempt}: {e}; trying other ports");
            }
            Err(e) => panic!("{e}"),
        }
    };
    let deadline = tokio::time::Instant::now() + T;
    while !m.status().synced {
        assert!(
            tokio::time::Instant::now() < deadline,
            "standalone never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (m, port)
}

/// A zoo.cfg without `server.N` lines runs standalone (a single-voter ensemble) and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standalone_serves_the_rust_client() {
    let dir = TempDir::new("standalone");
    let (m, port) = standalone(&dir).await;
    let c = connect(&format!("127.0.0.1:{port}")).await;
    tokio::time::timeout(T, c.create("/s", b"hi", &persistent()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        tokio::time::timeout(T, c.get_data("/s"))
            .await
            .unwrap()
            .unwrap()
            .0,
        b"hi"
    );
    drop(c);
    tokio::time::timeout(T, m.stop()).await.unwrap().unwrap();
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
    let members = conclave_tokio::start_ensemble(&dir.0, &ports)
        .await
        .unwrap();
    conclave_tokio::wait_for_leader(&members, T)
        .await
        .expect("a leader");
    let server = common::connect_string(&ports);
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
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                )
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
    for m in members {
        tokio::time::timeout(T, m.stop()).await.unwrap().unwrap();
    }
}
