//! Members as child processes of a server binary ([`crate::SERVER_BIN`]): kill -9 the leader
//! (nothing acknowledged lost; concurrent writes stay linearizable), SIGTERM and restart from
//! disk, `inspect`, a corrupt log, a clean ensemble shutdown. One body for every adapter:
//! each adapter's tests/processes.rs includes this file (`#[path]`).

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;
use zookeeper_client as zk;

use conclave_std::fs::write_ensemble;

const T: Duration = Duration::from_secs(10);

fn admin_ports(
    ports: &conclave_core::deploy::EnsembleLayout,
    alive: &[usize],
) -> Vec<(usize, u16)> {
    alive.iter().map(|&i| (i, ports.members[i].admin)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_loses_no_acknowledged_write() {
    let dir = TempDir::new("kill");
    let ports = free_ports(3);
    let cfgs = write_ensemble(&dir.0, &ports).unwrap();
    let started = Instant::now();
    let mut procs = Procs::spawn_all(cfgs, &dir.0);
    let all = admin_ports(&ports, &[0, 1, 2]);
    let leader = tokio::task::spawn_blocking(move || leader_by_http(&all, T))
        .await
        .unwrap()
        .expect("a leader");
    let cluster = crate::common::connect_string(&ports);
    let client = connect(&cluster).await;
    assert!(create_retrying(&client, "/k", T).await);
    eprintln!("processes: start -> first write {:?}", started.elapsed());
    let mut acked = Vec::new();
    for i in 0..50 {
        let p = format!("/k/before-{i}");
        if create_retrying(&client, &p, T).await {
            acked.push(p);
        }
    }
    assert_eq!(acked.len(), 50);

    // kill -9 the leader; writes must resume on the survivors.
    let killed_at = Instant::now();
    procs.kill(leader);
    assert!(
        create_retrying(&client, "/k/after-kill", Duration::from_secs(20)).await,
        "writes did not resume after the leader was killed"
    );
    let took = killed_at.elapsed();
    eprintln!("processes: kill leader -> first successful write {took:?}");
    acked.push("/k/after-kill".to_string());
    let alive: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let survivors = admin_ports(&ports, &alive);
    let new_leader = tokio::task::spawn_blocking(move || leader_by_http(&survivors, T))
        .await
        .unwrap()
        .expect("a new leader");
    assert_ne!(new_leader, leader);
    for i in 0..20 {
        let p = format!("/k/after-{i}");
        if create_retrying(&client, &p, T).await {
            acked.push(p);
        }
    }
    // Every acknowledged create is still there, read through a fresh session on each survivor.
    for &i in &alive {
        let c = connect(&format!("127.0.0.1:{}", ports.members[i].client)).await;
        tokio::time::timeout(T, c.sync("/")).await.unwrap().unwrap();
        let kids = tokio::time::timeout(T, c.list_children("/k"))
            .await
            .unwrap()
            .unwrap();
        for p in &acked {
            let name = p.strip_prefix("/k/").unwrap_or(p);
            assert!(
                p == "/k" || kids.iter().any(|k| k == name),
                "acked {p} missing on member {}",
                i + 1
            );
        }
    }
    // The killed member comes back and catches up.
    procs.restart(leader);
    let c = connect(&format!("127.0.0.1:{}", ports.members[leader].client)).await;
    let deadline = Instant::now() + T;
    loop {
        if let Ok(Ok(kids)) = tokio::time::timeout(T, c.list_children("/k")).await {
            if kids.len() + 1 >= acked.len() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "restarted member did not catch up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = procs.log(leader);
    assert!(
        log.contains("LEADER ELECTION TOOK"),
        "greppable election line missing:\n{log}"
    );
}

/// Concurrent writers across a kill -9 of the leader: each register's history of writes
/// (answered or not) and a final read is linearizable, decided by the conformance suite's
/// checker — the one the simulator runs, here on real processes and a real client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_across_a_leader_kill_are_linearizable() {
    use crate::common::history::{check_registers, Writers};
    const REGISTERS: usize = 3;
    const WRITERS: u64 = 4;
    const WRITES: usize = 60;

    let (_dir, ports, mut procs, leader) = start_three("lin").await;
    let cluster = crate::common::connect_string(&ports);
    let setup = connect(&cluster).await;
    for k in 0..REGISTERS {
        assert!(create_retrying(&setup, &format!("/lin{k}"), T).await);
    }
    let epoch = Instant::now();
    let writers = Writers::spawn(&cluster, "/lin", REGISTERS, WRITERS, WRITES, epoch);
    // kill -9 the leader a third of the way in.
    writers.wait_for((WRITERS as usize * WRITES) / 3, T).await;
    procs.kill(leader);
    let histories = writers.finish(true).await;
    let answered = histories
        .iter()
        .flatten()
        .filter(|o| o.reply.is_some())
        .count();
    let placed = check_registers(&cluster, "/lin", histories, b"v", epoch).await;
    eprintln!(
        "processes: {placed} operations linearizable across a leader kill \
         ({answered} writes answered)"
    );
}

/// The leader paused (SIGSTOP) past its clients' session timeout: the others elect a leader
/// and expire the sessions that were attached to it (their ephemerals go); resumed (SIGCONT),
/// the old leader commits nothing for its expired session and catches up; the writes to one
/// znode from both sides are linearizable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_paused_past_the_session_timeout_loses_its_sessions_not_writes() {
    use crate::common::history::{linearizable, synced_read, timed_set, Answer};
    let (_dir, ports, procs, leader) = start_three("pause").await;
    let on = |i: usize| format!("127.0.0.1:{}", ports.members[i].client);
    let rest: Vec<String> = (0..3).filter(|&i| i != leader).map(on).collect();
    let majority = connect(&rest.join(",")).await;
    let stranded = tokio::time::timeout(
        T,
        zk::Client::connector()
            .with_session_timeout(Duration::from_secs(2))
            .connect(&on(leader)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(create_retrying(&majority, "/p", T).await);
    let eph = zk::CreateMode::Ephemeral.with_acls(zk::Acls::anyone_all());
    tokio::time::timeout(T, stranded.create("/eph", b"", &eph))
        .await
        .unwrap()
        .unwrap();
    let epoch = Instant::now();
    let mut history = Vec::new();
    for i in 0..5 {
        history.push(timed_set(&majority, 1, i, "/p", T, epoch).await);
    }

    assert!(procs.signal(leader, "STOP"), "SIGSTOP");
    let paused = Instant::now();
    // The majority moves on: writes resume, then the paused leader's session expires and its
    // ephemeral goes.
    let mut resumed = None;
    for i in 5.. {
        let op = timed_set(&majority, 1, i, "/p", Duration::from_secs(2), epoch).await;
        let ok = op.reply.is_some();
        history.push(op);
        if ok && resumed.is_none() {
            resumed = Some(paused.elapsed());
        }
        // Reads may be stale: sync first, so "gone" means gone on the leader.
        let gone = ok && {
            let synced = tokio::time::timeout(Duration::from_secs(1), majority.sync("/eph")).await;
            let stat =
                tokio::time::timeout(Duration::from_secs(1), majority.check_stat("/eph")).await;
            matches!((synced, stat), (Ok(Ok(())), Ok(Ok(None))))
        };
        if resumed.is_some() && gone {
            break;
        }
        assert!(
            paused.elapsed() < Duration::from_secs(20),
            "while the leader was paused: writes resumed after {resumed:?}, ephemeral gone: {gone}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = resumed.expect("the majority took a write while the leader was paused");
    let eph_now = tokio::time::timeout(T, majority.check_stat("/eph")).await;
    assert!(
        matches!(eph_now, Ok(Ok(None))),
        "the paused leader's session did not expire: {eph_now:?}"
    );
    let expired_after = paused.elapsed();

    assert!(procs.signal(leader, "CONT"), "SIGCONT");
    // Its session is gone: nothing it asks may succeed.
    let late = timed_set(&stranded, 2, 0, "/p", Duration::from_secs(3), epoch).await;
    assert!(late.reply.is_none(), "an expired session wrote: {late:?}");
    history.push(late);
    // The old leader rejoins and serves everything, its expired ephemeral included (gone).
    let rejoined = connect(&on(leader)).await;
    let deadline = Instant::now() + T;
    let (data, version) = loop {
        if let Some(read) = synced_read(&rejoined, "/p", Duration::from_secs(2), epoch).await {
            let Some((_, Answer::Data(data, version))) = read.reply.clone() else {
                unreachable!("a read answers data")
            };
            history.push(read);
            break (data, version);
        }
        assert!(
            Instant::now() < deadline,
            "the resumed member did not serve"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(matches!(rejoined.check_stat("/eph").await, Ok(None)));
    if let Err(why) = linearizable("/p", &history, b"v") {
        panic!("{why}");
    }
    eprintln!(
        "processes: leader paused; first write {resumed:?} after, its session expired within \
         {expired_after:?}; {} writes linearizable, /p at version {} ({} bytes)",
        history.len(),
        version,
        data.len()
    );
}

/// Every member killed (-9) at once while writers run, then all restarted from their data
/// directories: every acknowledged write survives, and each register's history (answered
/// or not, across the outage) with a final read is linearizable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cluster_kill_and_restart_keeps_every_acknowledged_write() {
    use crate::common::history::{check_registers, Writers};
    const REGISTERS: usize = 2;
    const WRITERS: u64 = 3;

    let (_dir, ports, mut procs, _leader) = start_three("fullrestart").await;
    let cluster = crate::common::connect_string(&ports);
    let setup = connect(&cluster).await;
    for k in 0..REGISTERS {
        assert!(create_retrying(&setup, &format!("/full{k}"), T).await);
    }
    drop(setup);
    let epoch = Instant::now();
    // Bounded: stopped below; 2 000 writes at most each.
    let writers = Writers::spawn(&cluster, "/full", REGISTERS, WRITERS, 2_000, epoch);
    writers.wait_for(60, Duration::from_secs(30)).await;
    for i in 0..3 {
        procs.kill(i);
    }
    let before = writers.answered();
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..3 {
        procs.restart(i);
    }
    let restarted = Instant::now();
    // Writers come back on their own (their sessions outlive the outage); a few more answers
    // prove the ensemble serves again.
    writers.wait_for(before + 30, Duration::from_secs(30)).await;
    let back = restarted.elapsed();
    let histories = writers.finish(false).await;
    // Every acknowledged write survived: each register's version counts at least all of
    // them (the checker below says more: the whole history is linearizable).
    let reader = connect(&cluster).await;
    for (k, history) in histories.iter().enumerate() {
        let path = format!("/full{k}");
        tokio::time::timeout(T, reader.sync(&path))
            .await
            .unwrap()
            .unwrap();
        let (_, stat) = tokio::time::timeout(T, reader.get_data(&path))
            .await
            .unwrap()
            .unwrap();
        let acked = history.iter().filter(|o| o.reply.is_some()).count() as i32;
        assert!(
            stat.version >= acked,
            "{path}: version {} < {acked} acknowledged",
            stat.version
        );
    }
    let placed = check_registers(&cluster, "/full", histories, b"v", epoch).await;
    eprintln!(
        "processes: full-cluster kill -9 after {before} answered writes; serving again {back:?} \
         after the restart; {placed} operations linearizable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_then_restart_keeps_data_and_inspect_prints_it() {
    let dir = TempDir::new("term");
    let ports = free_ports(3);
    let cfgs = write_ensemble(&dir.0, &ports).unwrap();
    let mut procs = Procs::spawn_all(cfgs.clone(), &dir.0);
    let cluster = crate::common::connect_string(&ports);
    let client = connect(&cluster).await;
    assert!(create_retrying(&client, "/durable", T).await);
    let seq = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::anyone_all());
    for _ in 0..10 {
        tokio::time::timeout(T, client.create("/durable/s-", b"x", &seq))
            .await
            .unwrap()
            .unwrap();
    }
    drop(client);
    for i in 0..3 {
        let t = Instant::now();
        let st = procs
            .terminate(i, Duration::from_secs(10))
            .expect("member exits within 10 s of SIGTERM");
        assert!(st.success(), "member {} exited with {st}", i + 1);
        eprintln!("member {} exited {:?} after SIGTERM", i + 1, t.elapsed());
    }
    for i in 0..3 {
        let log = procs.log(i);
        assert!(!log.contains('\x1b'), "colour codes in a log file: {log}");
        procs.restart(i);
    }
    let client = connect(&cluster).await;
    let kids = tokio::time::timeout(T, client.list_children("/durable"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kids.len(), 10);
    drop(client);
    for i in 0..3 {
        procs.terminate(i, Duration::from_secs(10));
    }

    // inspect: every data directory verifies (exit 0) and a quorum of them hold the acked
    // writes. Not all three: a member that joined late may have been stopped before it synced
    // (seen once in 20 runs of .ci/flaky, issue 18), and that is ZAB working as designed.
    let mut holders = 0;
    for i in 1..=3 {
        let data = dir.0.join(format!("member-{i}")).join("data");
        let out = Command::new(crate::SERVER_BIN)
            .arg("inspect")
            .arg(&data)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "inspect of member {i} failed: {text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("recovery: OK"), "{text}");
        if text.contains("create /durable/s-") && text.contains("createSession") {
            // Epoch files are written in discovery: a member that never joined has none (seen
            // once under a parallel build), a member holding the writes must.
            assert!(text.contains("== acceptedEpoch: "), "{text}");
            holders += 1;
        }
    }
    assert!(
        holders >= 2,
        "only {holders} of 3 data directories hold the acknowledged writes; logs:\n{}",
        (0..3)
            .map(|i| procs.log(i))
            .collect::<Vec<_>>()
            .join("\n----\n")
    );
}

#[test]
fn serve_refuses_a_corrupt_log_without_touching_it() {
    let dir = TempDir::new("corrupt");
    let data = dir.0.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (port, metrics) = (free_port(), free_port());
    let cfg = dir.0.join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!(
            "tickTime=500\ndataDir={}\nclientPort={port}\nadmin.enableServer=false\nmetricsProvider.httpPort={metrics}\n",
            data.display()
        ),
    )
    .unwrap();
    // A log segment without any snapshot: recovery must refuse (ZOOKEEPER-2325).
    std::fs::write(data.join("log.100000001"), b"CNLG\x01\0\0\0garbage").unwrap();
    let out = Command::new(crate::SERVER_BIN)
        .arg("serve")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("log.100000001"), "{err}");
    assert_eq!(
        std::fs::read(data.join("log.100000001")).unwrap(),
        b"CNLG\x01\0\0\0garbage"
    );
}

/// Issue 18: `conclave ensemble` stopped with SIGINT logs no warning (no member outlives its
/// peers to report a lost quorum) and, writing to a pipe, no colour codes. Failed once in CI
/// (2 busy cores): the members were told to stop one after another, the runner's thread was
/// preempted between two of them, and the member told last warned of a lost quorum; the
/// process now marks the whole ensemble stopping before it tells any member (reproduced
/// with a 300 ms pause between the members' stops: fails without the mark, passes with it).
/// Failed again in CI (conclave-smol, exit None): the SIGINT sent as soon as a leader was seen
/// landed between the process printing its leader line and watching for signals again, and
/// was swallowed; the signal is now sent the moment that line appears, the narrowest window.
#[test]
fn a_clean_ensemble_shutdown_logs_no_warning_and_no_colour() {
    let dir = TempDir::new("ensemble-stop");
    // `conclave ensemble` derives 12 ports from its base: take a base below 28 000 whose 12
    // ports are all free (bounded), so every port stays below the ephemeral range.
    let base = (0..200)
        .map(|_| free_port())
        .find(|&b| {
            b < 28_000
                && [
                    0, 1, 2, 1001, 1002, 1003, 3001, 3002, 3003, 4001, 4002, 4003,
                ]
                .iter()
                .all(|off| std::net::TcpListener::bind(("127.0.0.1", b + off)).is_ok())
        })
        .expect("a free range of ports for the ensemble");
    let mut child = Command::new(crate::SERVER_BIN)
        .args([
            "ensemble",
            "--nodes",
            "3",
            "--tick-time",
            "500",
            "--base-port",
        ])
        .arg(base.to_string())
        .arg("--dir")
        .arg(&dir.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log_path = dir.0.join("out.log");
    let stdout = child.stdout.take().unwrap();
    let (leads_tx, leads_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut text = String::new();
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("member ") && line.ends_with(" leads") {
                let _ = leads_tx.send(());
            }
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    // SIGINT the moment the process prints its leader line (bounded wait).
    let leader = leads_rx.recv_timeout(Duration::from_secs(20)).ok();
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break Some(st);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = reader.join().unwrap();
    let _ = std::fs::write(&log_path, &text);
    assert!(leader.is_some(), "no leader: {text}");
    assert!(
        status.is_some_and(|s| s.success()),
        "exit {status:?}: {text}"
    );
    assert!(
        text.contains("SIGINT received, stopping the ensemble"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "colour codes in a pipe: {text}");
    assert!(
        !text.contains(" WARN "),
        "a warning during a clean shutdown: {text}"
    );
}

/// A follower that missed more state than a peer link may queue (the adapters close a link
/// at 64 MiB unread) catches up by SNAP: the leader sends the state a window at a time as the
/// follower acknowledges it. Found by the soak (`bench --soak`, 72 MB of state): the leader
/// queued the whole snapshot at once, the link was closed, and the member never rejoined.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_behind_more_state_than_a_link_queues_catches_up_by_snap() {
    const NODES: usize = 720;
    const VALUE: usize = 100 << 10;
    let (_dir, ports, mut procs, leader) = start_three("bigsnap").await;
    let follower = (0..3).find(|&i| i != leader).unwrap();
    procs.kill(follower);
    let client = connect(&format!("127.0.0.1:{}", ports.members[leader].client)).await;
    assert!(create_retrying(&client, "/big", T).await);
    let value = vec![b'v'; VALUE];
    let started = Instant::now();
    // 8 creates in flight at a time: ~72 MiB of state the follower has not seen.
    for batch in 0..NODES / 8 {
        let writes = (0..8).map(|k| {
            let path = format!("/big/n{}", batch * 8 + k);
            let (client, value) = (client.clone(), value.clone());
            async move { client.create(&path, &value, &persistent()).await }
        });
        for r in futures_join(writes).await {
            r.expect("create of a 100 KiB node");
        }
    }
    eprintln!(
        "processes: {NODES} x {VALUE} B written in {:?}; restarting member {}",
        started.elapsed(),
        follower + 1
    );
    procs.restart(follower);
    let c = connect(&format!("127.0.0.1:{}", ports.members[follower].client)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let kids = tokio::time::timeout(T, c.list_children("/big")).await;
        if matches!(&kids, Ok(Ok(k)) if k.len() == NODES) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "member {} did not catch up on {} MiB of state:\n{}",
            follower + 1,
            (NODES * VALUE) >> 20,
            procs.log(follower)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (data, _) = c.get_data("/big/n719").await.unwrap();
    assert_eq!(data.len(), VALUE);
    eprintln!("processes: member {} synced by SNAP", follower + 1);
}

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Issue 17 item 3: a member whose data directory fills up (a 4 MiB tmpfs mounted on it)
/// halts with the OS error in its log and a non-zero exit status — it does not acknowledge
/// what it could not make durable, nor limp on — while the other two keep serving, and every
/// write acknowledged to the client is on both of them. Needs root (`mount`); where it cannot
/// mount, it says so loudly and `CONCLAVE_REQUIRE_FAULTS=1` makes that a failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_disk_fills_up_halts_and_no_acknowledged_write_is_lost() {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let dir = TempDir::new("enospc");
    let ports = free_ports(3);
    let cfgs = write_ensemble(&dir.0, &ports).unwrap();
    let small = dir.0.join("member-3").join("data");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&small)
        .output();
    let _unmount = match mounted {
        Ok(out) if out.status.success() => Unmount(small.clone()),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
                Err(e) => e.to_string(),
            };
            let msg = format!(
                "\n!!! SKIPPED: full-disk test against {}: cannot mount a small tmpfs ({why}; \
                 needs root). The ENOSPC fault was NOT tested on this machine.\n",
                crate::SERVER_BIN
            );
            if std::env::var_os("CONCLAVE_REQUIRE_FAULTS").is_some_and(|v| v == "1") {
                panic!("{msg}");
            }
            eprintln!("{msg}");
            return;
        }
    };
    std::fs::write(small.join("myid"), "3\n").unwrap();
    let procs = Procs::spawn_all(cfgs, &dir.0);
    member_3_halts_on_its_disk_error(procs, &ports, "No space left on device", "filled").await;
}

/// Issue 17 item 3, the other disk fault: member 3's fsyncs start failing with EIO (injected
/// through conclave-std's `CONCLAVE_FAULT_SYNC_EIO_AFTER`, as a failing device answers) while
/// it takes writes. It halts naming the error, acknowledges nothing it could not make durable,
/// and every write acknowledged to the client is on the other two. Runs everywhere (no root).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_whose_fsync_fails_with_eio_halts_and_no_acknowledged_write_is_lost() {
    let dir = TempDir::new("eio");
    let ports = free_ports(3);
    let cfgs = write_ensemble(&dir.0, &ports).unwrap();
    let bins = vec![crate::SERVER_BIN.to_string(); cfgs.len()];
    // Enough syncs to elect and take the first writes, then every sync fails.
    let procs = Procs::spawn_with_env(
        cfgs,
        &dir.0,
        bins,
        &[(2, "CONCLAVE_FAULT_SYNC_EIO_AFTER", "40")],
    );
    member_3_halts_on_its_disk_error(procs, &ports, "Input/output error", "failed with EIO").await;
}

/// Writes 64 KiB creates through members 1 and 2 until member 3 (whose disk fails) has exited
/// and 20 writes more; then checks its exit status and log and that members 1 and 2 both hold
/// every acknowledged write.
async fn member_3_halts_on_its_disk_error(
    mut procs: Procs,
    ports: &conclave_core::deploy::EnsembleLayout,
    error_text: &str,
    what: &str,
) {
    let all = admin_ports(ports, &[0, 1, 2]);
    tokio::task::spawn_blocking(move || leader_by_http(&all, T))
        .await
        .unwrap()
        .expect("a leader");
    let cluster = format!(
        "127.0.0.1:{},127.0.0.1:{}",
        ports.members[0].client, ports.members[1].client
    );
    let client = connect(&cluster).await;
    assert!(create_retrying(&client, "/fill", T).await);
    let value = vec![b'f'; 64 << 10];
    let (mut acked, mut halted_at) = (Vec::new(), None);
    // 4 MiB fill in ~64 writes; at most 200 (12.5 MiB), and 20 more after the halt.
    for i in 0..200 {
        let path = format!("/fill/n{i}");
        let done = tokio::time::timeout(T, client.create(&path, &value, &persistent())).await;
        if matches!(done, Ok(Ok(_))) {
            acked.push(path);
        }
        if halted_at.is_none() {
            if let Some(status) = procs.children[2]
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                halted_at = Some((i, status));
            }
        }
        if halted_at.is_some_and(|(at, _)| i >= at + 20) {
            break;
        }
    }
    let log = procs.log(2);
    let (at, status) = halted_at.unwrap_or_else(|| panic!("member 3 never halted:\n{log}"));
    assert!(!status.success(), "member 3 exited with {status}");
    assert!(
        log.contains(error_text),
        "member 3's log does not name the error ({error_text}):\n{log}"
    );
    assert!(acked.len() > at, "writes stopped when member 3 halted");
    for i in 0..2 {
        let c = connect(&format!("127.0.0.1:{}", ports.members[i].client)).await;
        tokio::time::timeout(T, c.sync("/fill"))
            .await
            .unwrap()
            .unwrap();
        let kids = tokio::time::timeout(T, c.list_children("/fill"))
            .await
            .unwrap()
            .unwrap();
        for p in &acked {
            assert!(
                kids.iter().any(|k| p.ends_with(&format!("/{k}"))),
                "acknowledged {p} missing on member {}",
                i + 1
            );
        }
    }
    eprintln!(
        "processes: member 3's disk {what} after ~{at} writes of 64 KiB; it halted ({status}); \
         {} acknowledged writes on both others",
        acked.len()
    );
}

/// A member started with `RUST_LOG=warn` keeps running and serves. conclave-smol awaited its
/// shutdown signal inside `tracing::info!(…)`: with info disabled the macro did not evaluate
/// it, so the member stopped (exit 0, nothing logged) the moment it started. Found by the soak,
/// which runs members at warn.
#[test]
fn a_member_started_with_rust_log_warn_keeps_serving() {
    use std::io::{Read, Write};
    let dir = TempDir::new("warnlevel");
    let ports = free_ports(1);
    let cfgs = write_ensemble(&dir.0, &ports).unwrap();
    let log = std::fs::File::create(dir.0.join("member.log")).unwrap();
    let mut child = Command::new(crate::SERVER_BIN)
        .arg("serve")
        .arg(&cfgs[0])
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::from(log.try_clone().unwrap()))
        .stderr(std::process::Stdio::from(log))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + T;
    let answer = loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the member exited at RUST_LOG=warn"
        );
        let srvr = std::net::TcpStream::connect(("127.0.0.1", ports.members[0].client))
            .ok()
            .and_then(|mut s| {
                s.write_all(b"srvr").ok()?;
                let mut text = String::new();
                s.read_to_string(&mut text).ok()?;
                Some(text)
            })
            .unwrap_or_default();
        if srvr.contains("Mode: standalone") {
            break srvr;
        }
        assert!(Instant::now() < deadline, "no srvr answer: {srvr:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the member stopped");
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.contains("Zookeeper version"));
}
