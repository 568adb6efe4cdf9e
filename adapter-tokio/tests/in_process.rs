//! A 3-member ensemble run inside the test process, driven by the `zookeeper-client` crate.

/// The server binary the shared helpers spawn.
const SERVER_BIN: &str = env!("CARGO_BIN_EXE_conclave");

mod common;

use std::time::{Duration, Instant};

use common::*;
use conclave_tokio::{start_ensemble, wait_for_leader};
use zookeeper_client as zk;

const T: Duration = Duration::from_secs(10);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(T, f)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {T:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_operations_on_a_three_member_ensemble() {
    let dir = TempDir::new("ops");
    let ports = free_ports(3);
    let started = Instant::now();
    let members = start_ensemble(&dir.0, &ports)
        .await
        .expect("ensemble starts");
    let leader = wait_for_leader(&members, T).await.expect("a leader");
    eprintln!(
        "leader: member {} after {:?}",
        members[leader].id,
        started.elapsed()
    );
    let cluster = common::connect_string(&ports);
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
            let ports: Vec<u16> = members
                .iter()
                .filter_map(|m| m.addrs.admin)
                .map(|a| a.port())
                .collect();
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
    let m = &members[leader];
    let metrics_port = m.addrs.metrics.unwrap().port();
    let admin_port = m.addrs.admin.unwrap().port();
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

    drop(client);
    for m in members {
        within("stop", m.stop()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_disk_keeps_data() {
    let dir = TempDir::new("restart");
    let ports = free_ports(3);
    let cluster = common::connect_string(&ports);
    {
        let members = start_ensemble(&dir.0, &ports).await.unwrap();
        wait_for_leader(&members, T).await.expect("a leader");
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
        for m in members {
            within("stop", m.stop()).await.unwrap();
        }
    }
    let members = start_ensemble(&dir.0, &ports).await.unwrap();
    wait_for_leader(&members, T)
        .await
        .expect("a leader after restart");
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
    drop(client);
    for m in members {
        within("stop", m.stop()).await.unwrap();
    }
}
