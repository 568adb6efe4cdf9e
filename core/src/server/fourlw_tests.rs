use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::*;
use crate::metrics::{BufferSizes, Summary};
use crate::observe::view::{LeaderStats, QuorumInfo, WatchSummary};

const VERSION: &str = "3.9.3-conclave-0.1.0, built on 2026-01-01 00:00 UTC";

fn v4(a: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::from(a), port))
}

fn v6(ip: Ipv6Addr, port: u16) -> SocketAddr {
    SocketAddr::from((ip, port))
}

/// The connection asking the four-letter word, one full session, one after a reset.
fn connections() -> Vec<ConnectionInfo<'static>> {
    vec![
        ConnectionInfo {
            remote: v4([127, 0, 0, 1], 54321),
            interest_ops: 0,
            queued: 0,
            received: 1,
            sent: 0,
            session_id: 0,
            last_op: "NA",
            established_ms: 1_700_000_100_000,
            session_timeout_ms: 0,
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: Summary::default(),
        },
        ConnectionInfo {
            remote: v6(Ipv6Addr::LOCALHOST, 50000),
            interest_ops: 1,
            queued: 2,
            received: 10,
            sent: 9,
            session_id: 0x0100_000a_2b3c_0000,
            last_op: "GETD",
            established_ms: 1_700_000_000_000,
            session_timeout_ms: 30000,
            last_cxid: 8,
            last_zxid: 0x1_0000_0005,
            last_response_ms: 123_456,
            last_latency_ms: 2,
            latency: Summary {
                count: 9,
                sum: 20,
                min: 0,
                max: 5,
            },
        },
        ConnectionInfo {
            remote: v6(Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped(), 40000),
            interest_ops: 5,
            queued: 0,
            received: 0,
            sent: 0,
            session_id: -1,
            last_op: "NA",
            established_ms: 1_700_000_050_000,
            session_timeout_ms: 4000,
            last_cxid: -1,
            last_zxid: -1,
            last_response_ms: 0,
            last_latency_ms: 0,
            latency: Summary::default(),
        },
    ]
}

fn snapshot<'a>(conns: &'a [ConnectionInfo<'a>]) -> ServerView<'a> {
    ServerView {
        version: VERSION,
        serving: true,
        role: Role::Standalone,
        last_zxid: 0x2_0000_0011,
        node_count: 7,
        approximate_data_size: 321,
        request_latency: Summary {
            count: 4,
            sum: 6,
            min: 0,
            max: 3,
        },
        packets_received: 42,
        packets_sent: 41,
        outstanding_requests: 1,
        alive_connections: conns.len(),
        connections: conns,
        uptime_ms: 99_000,
        watch_count: 5,
        ephemerals_count: 2,
        global_sessions: 3,
        ..ServerView::default()
    }
}

fn all() -> Whitelist {
    Whitelist::all()
}

fn leader_role() -> Role<'static> {
    Role::Leader {
        quorum: QuorumInfo {
            peer_state: "leading - broadcast",
            quorum_size: 3,
        },
        stats: LeaderStats {
            learners: 2,
            synced_followers: 2,
            synced_non_voting_followers: 0,
            synced_observers: 1,
            pending_syncs: 0,
            uptime_ms: 5000,
            proposal_sizes: BufferSizes {
                last: 48,
                min: 36,
                max: 120,
            },
        },
    }
}

// --- whitelist ------------------------------------------------------------------------------

#[test]
fn whitelist_default_and_empty_enable_srvr_only() {
    for w in [
        Whitelist::default(),
        Whitelist::parse(""),
        Whitelist::parse(" , ,"),
    ] {
        assert_eq!(w.commands().collect::<Vec<_>>(), [FourLetterWord::Srvr]);
    }
}

#[test]
fn whitelist_star_enables_everything() {
    for s in ["*", " * ", "ruok, *", "*,bogus"] {
        let w = Whitelist::parse(s);
        assert_eq!(w, Whitelist::all(), "{s:?}");
        assert!(FourLetterWord::ALL.iter().all(|&c| w.allows(c)));
    }
}

#[test]
fn whitelist_list_with_spaces_and_unknown_names() {
    let w = Whitelist::parse(" stat, ruok ,conf,\tmntr\n, bogus, RUOK, is ro,,");
    assert_eq!(
        w.commands().collect::<Vec<_>>(),
        [
            FourLetterWord::Ruok,
            FourLetterWord::Srvr,
            FourLetterWord::Stat,
            FourLetterWord::Mntr,
            FourLetterWord::Conf,
        ]
    );
    assert!(!w.allows(FourLetterWord::Isro));
    assert!(!w.allows(FourLetterWord::Dump));
}

#[test]
fn whitelist_srvr_always_on_and_isro_with_read_only_mode() {
    let w = Whitelist::parse("ruok");
    assert!(w.allows(FourLetterWord::Srvr));
    assert!(w.allows(FourLetterWord::Ruok));
    assert!(!w.allows(FourLetterWord::Isro));
    let ro = w.with_read_only_mode(true);
    assert!(ro.allows(FourLetterWord::Isro));
    assert_eq!(w.with_read_only_mode(false), w);
    assert_eq!(alloc::format!("{w:?}"), "{Ruok, Srvr}");
}

#[test]
fn refused_commands_answer_the_whitelist_message() {
    let conns = connections();
    let snap = snapshot(&conns);
    let w = Whitelist::default();
    for &cmd in FourLetterWord::ALL {
        let got = render(cmd, &snap, &w);
        if cmd == FourLetterWord::Srvr {
            assert!(got.starts_with("Zookeeper version: "));
        } else {
            assert_eq!(
                got,
                alloc::format!("{cmd} is not executed because it is not in the whitelist.\n")
            );
        }
    }
    assert_eq!(
        render(FourLetterWord::Ruok, &snap, &w),
        "ruok is not executed because it is not in the whitelist.\n"
    );
}

// --- effects --------------------------------------------------------------------------------

#[test]
fn effects_need_whitelist_and_resets_need_serving() {
    let all = all();
    let none = Whitelist::default();
    assert_eq!(
        effect(FourLetterWord::Crst, true, &all),
        Effect::ResetConnectionStats
    );
    assert_eq!(
        effect(FourLetterWord::Srst, true, &all),
        Effect::ResetServerStats
    );
    assert_eq!(effect(FourLetterWord::Srst, false, &all), Effect::None);
    assert_eq!(effect(FourLetterWord::Crst, false, &all), Effect::None);
    assert_eq!(effect(FourLetterWord::Srst, true, &none), Effect::None);
    assert_eq!(
        effect(FourLetterWord::Stmk, false, &all),
        Effect::SetTraceMask
    );
    assert_eq!(effect(FourLetterWord::Stmk, true, &none), Effect::None);
    assert_eq!(effect(FourLetterWord::Stat, true, &all), Effect::None);
}

// --- not serving ----------------------------------------------------------------------------

#[test]
fn not_serving_answers() {
    let snap = ServerView {
        version: VERSION,
        trace_mask: 306,
        ..ServerView::default()
    };
    let w = all();
    let not_serving = "This ZooKeeper instance is not currently serving requests\n";
    for &cmd in FourLetterWord::ALL {
        let got = render(cmd, &snap, &w);
        let want: String = match cmd {
            FourLetterWord::Ruok => "imok".into(),
            FourLetterWord::Isro => "null".into(),
            FourLetterWord::Gtmk | FourLetterWord::Stmk => "306".into(),
            FourLetterWord::Hash => not_serving.trim_end().into(),
            FourLetterWord::Envi => alloc::format!("Environment:\nzookeeper.version={VERSION}\n"),
            _ => not_serving.into(),
        };
        assert_eq!(got, want, "{cmd}");
    }
}

// --- commands -------------------------------------------------------------------------------

#[test]
fn ruok_and_isro() {
    let conns = connections();
    let mut snap = snapshot(&conns);
    assert_eq!(render(FourLetterWord::Ruok, &snap, &all()), "imok");
    assert_eq!(render(FourLetterWord::Isro, &snap, &all()), "rw");
    snap.role = Role::ReadOnly;
    assert_eq!(render(FourLetterWord::Isro, &snap, &all()), "ro");
}

#[test]
fn srvr_standalone() {
    let conns = connections();
    let snap = snapshot(&conns);
    let want = "Zookeeper version: 3.9.3-conclave-0.1.0, built on 2026-01-01 00:00 UTC\n\
                Latency min/avg/max: 0/1.5/3\n\
                Received: 42\n\
                Sent: 41\n\
                Connections: 3\n\
                Outstanding: 1\n\
                Zxid: 0x200000011\n\
                Mode: standalone\n\
                Node count: 7\n";
    assert_eq!(
        render(FourLetterWord::Srvr, &snap, &Whitelist::default()),
        want
    );
}

#[test]
fn srvr_leader_prints_proposal_sizes() {
    let snap = ServerView {
        version: "3.9.3",
        serving: true,
        role: leader_role(),
        ..ServerView::default()
    };
    let want = "Zookeeper version: 3.9.3\n\
                Latency min/avg/max: 0/0.0/0\n\
                Received: 0\n\
                Sent: 0\n\
                Connections: 0\n\
                Outstanding: 0\n\
                Zxid: 0x0\n\
                Mode: leader\n\
                Node count: 0\n\
                Proposal sizes last/min/max: 48/36/120\n";
    assert_eq!(render(FourLetterWord::Srvr, &snap, &all()), want);
}

#[test]
fn srvr_read_only_and_other_modes() {
    let mut snap = ServerView {
        version: "3.9.3",
        serving: true,
        role: Role::ReadOnly,
        ..ServerView::default()
    };
    let got = render(FourLetterWord::Srvr, &snap, &all());
    assert!(got.starts_with(
        "Zookeeper version: 3.9.3\nREAD-ONLY mode; serving only read-only clients\nLatency"
    ));
    assert!(got.contains("\nMode: read-only\n"));
    let q = QuorumInfo {
        peer_state: "following - broadcast",
        quorum_size: 3,
    };
    snap.role = Role::Follower {
        quorum: q,
        synced_observers: 0,
    };
    let got = render(FourLetterWord::Srvr, &snap, &all());
    assert!(got.contains("\nMode: follower\nNode count: 0\n"));
    assert!(!got.contains("Proposal") && !got.contains("READ-ONLY"));
    snap.role = Role::Observer {
        quorum: q,
        master_id: None,
    };
    assert!(
        render(FourLetterWord::Srvr, &snap, &all()).ends_with("\nMode: observer\nNode count: 0\n")
    );
}

#[test]
fn stat_lists_clients() {
    let conns = connections();
    let snap = snapshot(&conns);
    let want = "Zookeeper version: 3.9.3-conclave-0.1.0, built on 2026-01-01 00:00 UTC\n\
                Clients:\n \
                /127.0.0.1:54321[0](queued=0,recved=1,sent=0)\n \
                /[0:0:0:0:0:0:0:1]:50000[1](queued=2,recved=10,sent=9)\n \
                /10.0.0.7:40000[5](queued=0,recved=0,sent=0)\n\
                \n\
                Latency min/avg/max: 0/1.5/3\n\
                Received: 42\n\
                Sent: 41\n\
                Connections: 3\n\
                Outstanding: 1\n\
                Zxid: 0x200000011\n\
                Mode: standalone\n\
                Node count: 7\n";
    assert_eq!(render(FourLetterWord::Stat, &snap, &all()), want);
}

#[test]
fn stat_without_clients() {
    let snap = ServerView {
        version: "3.9.3",
        serving: true,
        ..ServerView::default()
    };
    assert!(render(FourLetterWord::Stat, &snap, &all())
        .starts_with("Zookeeper version: 3.9.3\nClients:\n\nLatency min/avg/max: 0/0.0/0\n"));
}

#[test]
fn cons_prints_session_details() {
    let conns = connections();
    let snap = snapshot(&conns);
    let want = " /127.0.0.1:54321[0](queued=0,recved=1,sent=0)\n \
                /[0:0:0:0:0:0:0:1]:50000[1](queued=2,recved=10,sent=9,sid=0x100000a2b3c0000,\
                lop=GETD,est=1700000000000,to=30000,lcxid=0x8,lzxid=0x100000005,lresp=123456,\
                llat=2,minlat=0,avglat=2,maxlat=5)\n \
                /10.0.0.7:40000[5](queued=0,recved=0,sent=0,sid=0xffffffffffffffff,lop=NA,\
                est=1700000050000,to=4000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,\
                avglat=0,maxlat=0)\n\
                \n";
    assert_eq!(render(FourLetterWord::Cons, &snap, &all()), want);
    let empty = ServerView {
        serving: true,
        ..ServerView::default()
    };
    assert_eq!(render(FourLetterWord::Cons, &empty, &all()), "\n");
}

#[test]
fn conf_standalone_and_quorum() {
    let lines = [
        ("clientPort", "2181".to_string()),
        ("secureClientPort", "-1".to_string()),
        ("dataDir", "/var/lib/conclave/version-2".to_string()),
        ("tickTime", "2000".to_string()),
        ("serverId", "0".to_string()),
    ];
    let mut snap = ServerView {
        serving: true,
        conf: &lines,
        ..ServerView::default()
    };
    assert_eq!(
        render(FourLetterWord::Conf, &snap, &all()),
        "clientPort=2181\nsecureClientPort=-1\ndataDir=/var/lib/conclave/version-2\n\
         tickTime=2000\nserverId=0\n"
    );
    let quorum = [
        ("serverId", "1".to_string()),
        ("initLimit", "10".to_string()),
        ("peerType", "0".to_string()),
    ];
    snap.conf = &quorum;
    snap.membership = Some(
        "server.1=10.0.0.1:2888:3888:participant\nserver.2=10.0.0.2:2888:3888:participant\n\
         version=100000000",
    );
    assert_eq!(
        render(FourLetterWord::Conf, &snap, &all()),
        "serverId=1\ninitLimit=10\npeerType=0\nmembership: \n\
         server.1=10.0.0.1:2888:3888:participant\nserver.2=10.0.0.2:2888:3888:participant\n\
         version=100000000"
    );
}

#[test]
fn envi_lists_version_first() {
    let env = [
        ("host.name", "zk1".to_string()),
        ("os.name", "Linux".to_string()),
        ("user.dir", "/".to_string()),
    ];
    let snap = ServerView {
        version: "3.9.3",
        serving: true,
        env: &env,
        ..ServerView::default()
    };
    assert_eq!(
        render(FourLetterWord::Envi, &snap, &all()),
        "Environment:\nzookeeper.version=3.9.3\nhost.name=zk1\nos.name=Linux\nuser.dir=/\n"
    );
}

#[test]
fn mntr_standalone() {
    let conns = connections();
    let mut snap = snapshot(&conns);
    snap.version = "3.9.3";
    snap.open_file_descriptor_count = Some(64);
    snap.max_file_descriptor_count = Some(1_048_576);
    snap.client_response_sizes.record(16);
    snap.client_response_sizes.record(100);
    snap.client_response_sizes.record(20);
    snap.digest_mismatches = 1;
    let extra = [("commit_count", "12".to_string())];
    snap.extra_metrics = &extra;
    let want = "zk_version\t3.9.3\n\
                zk_server_state\tstandalone\n\
                zk_avg_latency\t1.5\n\
                zk_max_latency\t3\n\
                zk_min_latency\t0\n\
                zk_packets_received\t42\n\
                zk_packets_sent\t41\n\
                zk_num_alive_connections\t3\n\
                zk_outstanding_requests\t1\n\
                zk_uptime\t99000\n\
                zk_znode_count\t7\n\
                zk_watch_count\t5\n\
                zk_ephemerals_count\t2\n\
                zk_approximate_data_size\t321\n\
                zk_global_sessions\t3\n\
                zk_local_sessions\t0\n\
                zk_open_file_descriptor_count\t64\n\
                zk_max_file_descriptor_count\t1048576\n\
                zk_last_client_response_size\t20\n\
                zk_max_client_response_size\t100\n\
                zk_min_client_response_size\t16\n\
                zk_auth_failed_count\t0\n\
                zk_avg_election_time\t0.0\n\
                zk_min_election_time\t0\n\
                zk_max_election_time\t0\n\
                zk_cnt_election_time\t0\n\
                zk_sum_election_time\t0\n\
                zk_digest_mismatches_count\t1\n\
                zk_commit_count\t12\n";
    assert_eq!(render(FourLetterWord::Mntr, &snap, &all()), want);
}

#[test]
fn mntr_leader() {
    let mut election = Summary::default();
    election.add(200);
    election.add(150);
    election.add(201);
    let snap = ServerView {
        version: "3.9.3",
        serving: true,
        role: leader_role(),
        election_time: election,
        ..ServerView::default()
    };
    let want = "zk_version\t3.9.3\n\
                zk_server_state\tleader\n\
                zk_peer_state\tleading - broadcast\n\
                zk_avg_latency\t0.0\n\
                zk_max_latency\t0\n\
                zk_min_latency\t0\n\
                zk_packets_received\t0\n\
                zk_packets_sent\t0\n\
                zk_num_alive_connections\t0\n\
                zk_outstanding_requests\t0\n\
                zk_uptime\t0\n\
                zk_znode_count\t0\n\
                zk_watch_count\t0\n\
                zk_ephemerals_count\t0\n\
                zk_approximate_data_size\t0\n\
                zk_global_sessions\t0\n\
                zk_local_sessions\t0\n\
                zk_open_file_descriptor_count\t-1\n\
                zk_max_file_descriptor_count\t-1\n\
                zk_last_client_response_size\t-1\n\
                zk_max_client_response_size\t-1\n\
                zk_min_client_response_size\t-1\n\
                zk_auth_failed_count\t0\n\
                zk_quorum_size\t3\n\
                zk_learners\t2\n\
                zk_synced_followers\t2\n\
                zk_synced_non_voting_followers\t0\n\
                zk_synced_observers\t1\n\
                zk_pending_syncs\t0\n\
                zk_leader_uptime\t5000\n\
                zk_last_proposal_size\t48\n\
                zk_max_proposal_size\t120\n\
                zk_min_proposal_size\t36\n\
                zk_avg_election_time\t183.6667\n\
                zk_min_election_time\t150\n\
                zk_max_election_time\t201\n\
                zk_cnt_election_time\t3\n\
                zk_sum_election_time\t551\n\
                zk_digest_mismatches_count\t0\n";
    assert_eq!(render(FourLetterWord::Mntr, &snap, &all()), want);
}

#[test]
fn mntr_follower_and_observer_lines() {
    let q = QuorumInfo {
        peer_state: "following - broadcast",
        quorum_size: 5,
    };
    let mut snap = ServerView {
        version: "3.9.3",
        serving: true,
        role: Role::Follower {
            quorum: q,
            synced_observers: 2,
        },
        ..ServerView::default()
    };
    let got = render(FourLetterWord::Mntr, &snap, &all());
    assert!(got.starts_with(
        "zk_version\t3.9.3\nzk_server_state\tfollower\nzk_peer_state\tfollowing - broadcast\n\
         zk_avg_latency\t0.0\n"
    ));
    assert!(got.contains("\nzk_quorum_size\t5\nzk_synced_observers\t2\nzk_avg_election_time"));
    assert!(!got.contains("zk_learners") && !got.contains("proposal"));

    snap.role = Role::Observer {
        quorum: QuorumInfo {
            peer_state: "observing - broadcast",
            quorum_size: 5,
        },
        master_id: Some(3),
    };
    let got = render(FourLetterWord::Mntr, &snap, &all());
    assert!(got.starts_with(
        "zk_version\t3.9.3\nzk_server_state\tobserver\nzk_peer_state\tobserving - broadcast\n\
         zk_observer_master_id\t3\nzk_avg_latency"
    ));
    assert!(got.contains("\nzk_quorum_size\t5\nzk_avg_election_time"));
    assert!(!got.contains("synced"));
    snap.role = Role::Observer {
        quorum: q,
        master_id: None,
    };
    assert!(render(FourLetterWord::Mntr, &snap, &all()).contains("\nzk_observer_master_id\tnull\n"));
}

#[test]
fn mntr_lines_are_tab_separated_zk_keys() {
    let conns = connections();
    let mut snap = snapshot(&conns);
    snap.role = leader_role();
    let out = render(FourLetterWord::Mntr, &snap, &all());
    assert!(out.ends_with('\n'));
    for line in out.lines() {
        let (k, v) = line.split_once('\t').unwrap();
        assert!(k.starts_with("zk_") && !v.contains('\t'), "{line:?}");
    }
}

#[test]
fn wchs_wchc_wchp() {
    let by_session = vec![
        (0x100i64, vec!["/a".to_string(), "/b/c".to_string()]),
        (-2i64, vec!["/a".to_string()]),
    ];
    let by_path = vec![
        ("/a".to_string(), vec![0x100i64, -2]),
        ("/b/c".to_string(), vec![0x100i64]),
    ];
    let snap = ServerView {
        serving: true,
        watch_summary: WatchSummary {
            connections: 2,
            paths: 2,
            total: 3,
        },
        watches_by_session: &by_session,
        watches_by_path: &by_path,
        ..ServerView::default()
    };
    assert_eq!(
        render(FourLetterWord::Wchs, &snap, &all()),
        "2 connections watching 2 paths\nTotal watches:3\n"
    );
    assert_eq!(
        render(FourLetterWord::Wchc, &snap, &all()),
        "0x100\n\t/a\n\t/b/c\n0xfffffffffffffffe\n\t/a\n\n"
    );
    assert_eq!(
        render(FourLetterWord::Wchp, &snap, &all()),
        "/a\n\t0x100\n\t0xfffffffffffffffe\n/b/c\n\t0x100\n\n"
    );
    let empty = ServerView {
        serving: true,
        ..ServerView::default()
    };
    assert_eq!(
        render(FourLetterWord::Wchs, &empty, &all()),
        "0 connections watching 0 paths\nTotal watches:0\n"
    );
    assert_eq!(render(FourLetterWord::Wchc, &empty, &all()), "\n");
    assert_eq!(render(FourLetterWord::Wchp, &empty, &all()), "\n");
}

#[test]
fn dump_leader_expiry_queue() {
    // Given out of time order: printed sorted, as ExpiryQueue sorts its keys.
    let buckets = vec![
        ExpiryBucket {
            expire_at_ms: 1_700_000_060_000,
            members: vec![0x300i64],
        },
        ExpiryBucket {
            expire_at_ms: 1_700_000_030_000,
            members: vec![0x100i64, 0x200],
        },
    ];
    let ephemerals = vec![(
        0x100i64,
        vec!["/lock/n-01".to_string(), "/live/a".to_string()],
    )];
    let snap = ServerView {
        serving: true,
        role: leader_role(),
        session_dump: SessionDump::Expiry(&buckets),
        ephemerals_by_session: &ephemerals,
        ..ServerView::default()
    };
    let want = "SessionTracker dump:\n\
                Session Sets (2)/(3):\n\
                2 expire at Tue Nov 14 22:13:50 UTC 2023:\n\
                \t0x100\n\
                \t0x200\n\
                1 expire at Tue Nov 14 22:14:20 UTC 2023:\n\
                \t0x300\n\
                ephemeral nodes dump:\n\
                Sessions with Ephemerals (1):\n\
                0x100:\n\
                \t/lock/n-01\n\
                \t/live/a\n\
                Connections dump:\n";
    assert_eq!(render(FourLetterWord::Dump, &snap, &all()), want);
}

#[test]
fn dump_learner_sessions_and_nio_connections() {
    let sessions = [(0x200i64, 4000u32), (-5, 30000), (0x100, 10000)];
    let conn_buckets = vec![ExpiryBucket {
        expire_at_ms: 951_782_400_000,
        members: vec![
            (v4([10, 0, 0, 9], 1234), 0x100i64),
            (v6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xab, 1), 99), 0),
        ],
    }];
    let snap = ServerView {
        serving: true,
        session_dump: SessionDump::Learner(&sessions),
        connection_expiry: Some(&conn_buckets),
        ..ServerView::default()
    };
    let want = "SessionTracker dump:\n\
                Global Sessions(3):\n\
                0xfffffffffffffffb\t30000ms\n\
                0x100\t10000ms\n\
                0x200\t4000ms\n\
                ephemeral nodes dump:\n\
                Sessions with Ephemerals (0):\n\
                Connections dump:\n\
                Connections Sets (1)/(2):\n\
                2 expire at Tue Feb 29 00:00:00 UTC 2000:\n\
                \tip: /10.0.0.9:1234 sessionId: 0x100\n\
                \tip: /[fe80:0:0:0:0:0:ab:1]:99 sessionId: 0x0\n";
    assert_eq!(render(FourLetterWord::Dump, &snap, &all()), want);
}

#[test]
fn dump_empty_standalone() {
    let snap = ServerView {
        serving: true,
        ..ServerView::default()
    };
    assert_eq!(
        render(FourLetterWord::Dump, &snap, &all()),
        "SessionTracker dump:\nSession Sets (0)/(0):\nephemeral nodes dump:\n\
         Sessions with Ephemerals (0):\nConnections dump:\n"
    );
}

#[test]
fn resets_dirs_trace_mask_hash() {
    let digests = [(0x1_0000_0001u64, 1_234_567u64), (0x1_0000_0002, u64::MAX)];
    let snap = ServerView {
        serving: true,
        data_dir_size: 4096,
        log_dir_size: 67_108_880,
        trace_mask: 0x1ff,
        digest_log: &digests,
        ..ServerView::default()
    };
    let w = all();
    assert_eq!(
        render(FourLetterWord::Crst, &snap, &w),
        "Connection stats reset.\n"
    );
    assert_eq!(
        render(FourLetterWord::Srst, &snap, &w),
        "Server stats reset.\n"
    );
    assert_eq!(
        render(FourLetterWord::Dirs, &snap, &w),
        "datadir_size: 4096\nlogdir_size: 67108880\n"
    );
    assert_eq!(render(FourLetterWord::Gtmk, &snap, &w), "511");
    assert_eq!(render(FourLetterWord::Stmk, &snap, &w), "511");
    assert_eq!(
        render(
            FourLetterWord::Gtmk,
            &ServerView {
                trace_mask: -1,
                ..snap.clone()
            },
            &w
        ),
        "-1"
    );
    assert_eq!(
        render(FourLetterWord::Hash, &snap, &w),
        "100000001: 1234567\n100000002: -1\n"
    );
    let no_log = ServerView {
        digest_log: &[],
        ..snap
    };
    assert_eq!(render(FourLetterWord::Hash, &no_log, &w), "");
    assert_eq!(
        render(FourLetterWord::Gtmk, &ServerView::default(), &w),
        "306"
    );
}

// --- formatting helpers ---------------------------------------------------------------------

fn avg(sum: u64, count: u64) -> String {
    Summary {
        count,
        sum,
        min: 0,
        max: 0,
    }
    .avg()
}

#[test]
fn averages_print_like_java_doubles() {
    assert_eq!(avg(0, 0), "0.0");
    assert_eq!(avg(0, 5), "0.0");
    assert_eq!(avg(6, 4), "1.5");
    assert_eq!(avg(12, 1), "12.0");
    assert_eq!(avg(4, 3), "1.3333");
    assert_eq!(avg(2, 3), "0.6667");
    assert_eq!(avg(1, 8), "0.125");
    assert_eq!(avg(1, 32), "0.0313"); // 0.03125, half up
    assert_eq!(avg(1, 1000), "0.001");
    assert_eq!(avg(1, 2000), "5.0E-4");
    assert_eq!(avg(1, 10_000), "1.0E-4");
    assert_eq!(avg(1, 30_000), "0.0"); // 0.0000333 rounds to 0
    assert_eq!(avg(9_999_999, 1), "9999999.0");
    assert_eq!(avg(10_000_000, 1), "1.0E7");
    assert_eq!(avg(12_345_678, 1), "1.2345678E7");
    assert_eq!(avg(20_000_001, 2), "1.00000005E7");
}

#[test]
fn summary_and_buffer_sizes_record() {
    let mut s = Summary::default();
    assert_eq!(
        (s.min_or_zero(), s.max_or_zero(), s.avg_truncated()),
        (0, 0, 0)
    );
    s.add(7);
    s.add(3);
    s.add(9);
    assert_eq!(
        s,
        Summary {
            count: 3,
            sum: 19,
            min: 3,
            max: 9
        }
    );
    assert_eq!(s.avg_truncated(), 6);
    assert_eq!(s.avg(), "6.3333");
    let mut b = BufferSizes::default();
    assert_eq!((b.last, b.min, b.max), (-1, -1, -1));
    b.record(10);
    b.record(4);
    b.record(7);
    assert_eq!((b.last, b.min, b.max), (7, 4, 10));
}

#[test]
fn java_dates_in_utc() {
    let date = |ms| {
        let mut s = String::new();
        java_date_utc(&mut s, ms);
        s
    };
    assert_eq!(date(0), "Thu Jan 01 00:00:00 UTC 1970");
    assert_eq!(date(1_700_000_000_000), "Tue Nov 14 22:13:20 UTC 2023");
    assert_eq!(date(951_782_400_999), "Tue Feb 29 00:00:00 UTC 2000");
    assert_eq!(date(4_102_444_799_000), "Thu Dec 31 23:59:59 UTC 2099");
}

#[test]
fn java_socket_addresses() {
    let addr = |a: SocketAddr| {
        let mut s = String::new();
        java_socket_addr(&mut s, &a);
        s
    };
    assert_eq!(addr(v4([192, 168, 1, 20], 2181)), "/192.168.1.20:2181");
    assert_eq!(addr(v6(Ipv6Addr::LOCALHOST, 1)), "/[0:0:0:0:0:0:0:1]:1");
    assert_eq!(
        addr(v6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x0a), 2181)),
        "/[2001:db8:0:0:0:0:0:a]:2181"
    );
    assert_eq!(
        addr(v6(Ipv4Addr::new(1, 2, 3, 4).to_ipv6_mapped(), 5)),
        "/1.2.3.4:5"
    );
    let scoped = SocketAddr::V6(core::net::SocketAddrV6::new(
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
        7,
        0,
        2,
    ));
    assert_eq!(addr(scoped), "/[fe80:0:0:0:0:0:0:1%2]:7");
}
