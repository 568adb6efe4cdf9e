//! ZooKeeper clients against a scripted 3-server ensemble: the session handshake, reads and
//! writes through ZAB, ephemerals, watches, multi, sync, reconnects to another server,
//! session expiry and four-letter words — all over the real client wire protocol.

mod common;

use common::{Cluster, Id};
use conclave_core::client::{
    decode_response, encode_record_frame, encode_request, perms, Acl, ConnectRequest,
    ConnectResponse, CreateKind, CreateRequest, DeleteRequest, ErrorCode, EventType, JuteReader,
    JuteRecord, MultiOp, OpCode, ReplyHeader, Request, Response, SetDataRequest, WatcherEvent,
};
use conclave_core::Tuning;
use conclave_core::ZkService;

type Zk = Cluster<ZkService>;

use conclave_conformance::zk_workload::open_acl;

/// A minimal client: frames requests, reads replies and notifications from the inbox.
struct Client {
    conn: u64,
    xid: i32,
    offset: usize,
    session: i64,
    passwd: Vec<u8>,
    timeout_ms: i32,
    events: Vec<WatcherEvent>,
}

fn next_frame(c: &Zk, client: &mut Client) -> Option<Vec<u8>> {
    let inbox = c.client_inbox.get(&client.conn)?;
    let rest = &inbox[client.offset..];
    if rest.len() < 4 {
        return None;
    }
    let len = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    if rest.len() < 4 + len {
        return None;
    }
    client.offset += 4 + len;
    Some(rest[4..4 + len].to_vec())
}

fn connect(c: &mut Zk, server: Id, session: i64, passwd: Vec<u8>) -> Result<Client, ()> {
    connect_as(c, server, session, passwd, false).map(|(client, _)| client)
}

/// Connects with `canBeReadOnly` set as given; the client and the response's readOnly flag.
fn connect_as(
    c: &mut Zk,
    server: Id,
    session: i64,
    passwd: Vec<u8>,
    can_be_read_only: bool,
) -> Result<(Client, Option<bool>), ()> {
    let conn = c.connect_client(server);
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms: 4000,
        session_id: session,
        passwd: if passwd.is_empty() {
            vec![0; 16]
        } else {
            passwd
        },
        read_only: Some(can_be_read_only),
    };
    let mut out = Vec::new();
    encode_record_frame(&req, &mut out);
    c.client_send(conn, out);
    let mut client = Client {
        conn,
        xid: 0,
        offset: 0,
        session: 0,
        passwd: vec![],
        timeout_ms: 0,
        events: vec![],
    };
    c.run_until("connect response", 5_000, |c| {
        c.client_inbox.get(&conn).is_some_and(|b| b.len() >= 4) || c.client_closed.contains(&conn)
    });
    let frame = next_frame(c, &mut client).ok_or(())?;
    let resp = ConnectResponse::decode(&mut JuteReader::new(&frame, 1 << 20)).map_err(|_| ())?;
    if resp.session_id == 0 {
        return Err(());
    }
    client.session = resp.session_id;
    client.passwd = resp.passwd;
    client.timeout_ms = resp.timeout_ms;
    Ok((client, resp.read_only))
}

fn call(c: &mut Zk, client: &mut Client, req: Request) -> (i32, Option<Response>) {
    client.xid += 1;
    let xid = client.xid;
    let op = req.op_code();
    let mut out = Vec::new();
    encode_request(xid, &req, &mut out);
    c.client_send(client.conn, out);
    let conn = client.conn;
    for _ in 0..10_000 {
        while let Some(frame) = next_frame(c, client) {
            let (h, body) = ReplyHeader::split(&frame).unwrap();
            if h.xid == -1 {
                client
                    .events
                    .push(WatcherEvent::decode(&mut JuteReader::new(body, 1 << 20)).unwrap());
                continue;
            }
            assert_eq!(h.xid, xid, "replies must come in request order");
            if h.err != 0 {
                return (h.err, None);
            }
            return (0, Some(decode_response(op, body, 1 << 20).unwrap()));
        }
        assert!(
            !c.client_closed.contains(&conn),
            "server closed the connection"
        );
        c.step();
    }
    panic!("no reply to xid {xid}");
}

fn create(
    c: &mut Zk,
    client: &mut Client,
    path: &str,
    data: &[u8],
    flags: i32,
) -> Result<String, i32> {
    let req = Request::Create(CreateRequest {
        kind: CreateKind::Create,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: open_acl(),
        flags,
    });
    match call(c, client, req) {
        (0, Some(Response::Create { path })) => Ok(path),
        (err, _) => Err(err),
    }
}

fn get(c: &mut Zk, client: &mut Client, path: &str, watch: bool) -> Result<Vec<u8>, i32> {
    match call(
        c,
        client,
        Request::GetData {
            path: path.into(),
            watch,
        },
    ) {
        (0, Some(Response::GetData { data, .. })) => Ok(data.unwrap_or_default()),
        (err, _) => Err(err),
    }
}

fn exists(c: &mut Zk, client: &mut Client, path: &str, watch: bool) -> bool {
    matches!(
        call(
            c,
            client,
            Request::Exists {
                path: path.into(),
                watch
            }
        ),
        (0, _)
    )
}

/// `addauth digest <user:password>`; the reply's error code.
fn add_digest(c: &mut Zk, client: &mut Client, user_password: &str) -> i32 {
    let req = Request::Auth {
        auth_type: 0,
        scheme: "digest".into(),
        auth: user_password.as_bytes().to_vec(),
    };
    call(c, client, req).0
}

/// `addauth ip <anything>` is accepted, as ZooKeeper's IPAuthenticationProvider does (it
/// authenticates the connection's own address); it was AUTHFAILED and closed the session
/// (issue 17's differential run).
#[test]
fn addauth_ip_is_accepted_and_the_session_lives_on() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    let req = Request::Auth {
        auth_type: 0,
        scheme: "ip".into(),
        auth: b"127.0.0.1".to_vec(),
    };
    assert_eq!(call(&mut c, &mut cl, req).0, 0);
    assert_eq!(
        create(&mut c, &mut cl, "/after-ip", b"", 0),
        Ok("/after-ip".into())
    );
}

/// An ACL granting everything to one digest user and nobody else.
fn only(user_password: &str) -> Vec<Acl> {
    vec![Acl {
        perms: perms::ALL,
        id: conclave_core::client::Id {
            scheme: "digest".into(),
            id: conclave_core::tree::digest_id(user_password),
        },
    }]
}

/// The synced leader and one of its followers.
fn leader_and_follower(c: &mut Zk) -> (Id, Id) {
    let leader = c.wait_synced();
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    (leader, follower)
}

fn ensemble() -> Zk {
    let mut c = Zk::new(
        3,
        Tuning {
            snap_count: 1000,
            ..Tuning::default()
        },
    );
    c.wait_synced();
    c
}

#[test]
fn create_get_set_delete_round_trip_through_a_follower() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(create(&mut c, &mut cl, "/app", b"hi", 0), Ok("/app".into()));
    assert_eq!(
        create(&mut c, &mut cl, "/app", b"again", 0),
        Err(ErrorCode::NodeExists.as_i32())
    );
    assert_eq!(get(&mut c, &mut cl, "/app", false), Ok(b"hi".to_vec()));
    let (err, _) = call(
        &mut c,
        &mut cl,
        Request::SetData(SetDataRequest {
            path: "/app".into(),
            data: Some(b"v2".to_vec()),
            version: 0,
        }),
    );
    assert_eq!(err, 0);
    let (err, _) = call(
        &mut c,
        &mut cl,
        Request::SetData(SetDataRequest {
            path: "/app".into(),
            data: Some(b"v3".to_vec()),
            version: 0,
        }),
    );
    assert_eq!(err, ErrorCode::BadVersion.as_i32());
    // A client of another server reads the committed value after a sync.
    let mut other = connect(&mut c, 3, 0, vec![]).unwrap();
    let (err, _) = call(
        &mut c,
        &mut other,
        Request::Sync {
            path: "/app".into(),
        },
    );
    assert_eq!(err, 0);
    assert_eq!(get(&mut c, &mut other, "/app", false), Ok(b"v2".to_vec()));
    let (err, _) = call(
        &mut c,
        &mut cl,
        Request::Delete(DeleteRequest {
            path: "/app".into(),
            version: -1,
        }),
    );
    assert_eq!(err, 0);
    assert_eq!(
        get(&mut c, &mut cl, "/app", false),
        Err(ErrorCode::NoNode.as_i32())
    );
}

#[test]
fn sequential_names_and_children() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 2, 0, vec![]).unwrap();
    create(&mut c, &mut cl, "/q", b"", 0).unwrap();
    assert_eq!(
        create(&mut c, &mut cl, "/q/n-", b"", 2),
        Ok("/q/n-0000000000".into())
    );
    assert_eq!(
        create(&mut c, &mut cl, "/q/n-", b"", 2),
        Ok("/q/n-0000000001".into())
    );
    match call(
        &mut c,
        &mut cl,
        Request::GetChildren {
            path: "/q".into(),
            watch: false,
        },
    ) {
        (0, Some(Response::GetChildren { mut children })) => {
            children.sort();
            assert_eq!(
                children,
                vec!["n-0000000000".to_string(), "n-0000000001".to_string()]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn ephemerals_vanish_when_the_session_closes_and_watchers_hear_it_once() {
    let mut c = ensemble();
    let mut owner = connect(&mut c, 1, 0, vec![]).unwrap();
    let mut watcher = connect(&mut c, 2, 0, vec![]).unwrap();
    assert_eq!(
        create(&mut c, &mut owner, "/master", b"me", 1),
        Ok("/master".into())
    );
    // Reads are served locally: sync first to see the write made through another server.
    assert_eq!(
        call(
            &mut c,
            &mut watcher,
            Request::Sync {
                path: "/master".into()
            }
        )
        .0,
        0
    );
    assert!(exists(&mut c, &mut watcher, "/master", true));
    let (err, _) = call(&mut c, &mut owner, Request::CloseSession);
    assert_eq!(err, 0);
    c.run_until("watch fired", 5_000, |c| {
        c.client_inbox
            .get(&watcher.conn)
            .is_some_and(|b| b.len() > watcher.offset)
    });
    // The next call's reply comes after the event; the event is delivered exactly once.
    assert!(!exists(&mut c, &mut watcher, "/master", true));
    assert_eq!(watcher.events.len(), 1);
    assert_eq!(
        (
            watcher.events[0].event_type,
            watcher.events[0].path.as_str()
        ),
        (EventType::NodeDeleted, "/master")
    );
    // The master-election recipe: the watcher takes over.
    // Its own exists watch fires, before the reply to its create (watch before data).
    assert_eq!(
        create(&mut c, &mut watcher, "/master", b"next", 1),
        Ok("/master".into())
    );
    assert_eq!(watcher.events.len(), 2);
    assert_eq!(watcher.events[1].event_type, EventType::NodeCreated);
}

#[test]
fn multi_is_all_or_nothing() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 3, 0, vec![]).unwrap();
    let ops = vec![
        MultiOp::Create(CreateRequest {
            kind: CreateKind::Create,
            path: "/a".into(),
            data: Some(b"x".to_vec()),
            acl: open_acl(),
            flags: 0,
        }),
        MultiOp::Delete(DeleteRequest {
            path: "/missing".into(),
            version: -1,
        }),
    ];
    let (err, resp) = call(&mut c, &mut cl, Request::Multi(ops));
    assert_eq!(err, 0, "a failed multi still has header err 0");
    assert!(matches!(resp, Some(Response::Multi(_))));
    assert!(!exists(&mut c, &mut cl, "/a", false));
}

#[test]
fn a_session_moves_to_another_server_with_its_password() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    create(&mut c, &mut cl, "/eph", b"", 1).unwrap();
    let (session, passwd) = (cl.session, cl.passwd.clone());
    c.client_disconnect(cl.conn);
    let mut back = connect(&mut c, 2, session, passwd).expect("reconnect with id and password");
    assert_eq!(back.session, session);
    assert_eq!(
        call(&mut c, &mut back, Request::Sync { path: "/".into() }).0,
        0
    );
    assert!(
        exists(&mut c, &mut back, "/eph", false),
        "the ephemeral survives the move"
    );
    // A wrong password is refused.
    assert!(connect(&mut c, 3, session, vec![7; 16]).is_err());
}

#[test]
fn a_silent_session_expires_and_its_ephemerals_go() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    create(&mut c, &mut cl, "/lease", b"", 1).unwrap();
    let timeout = cl.timeout_ms as u64;
    c.client_disconnect(cl.conn);
    // Expiry is rounded up to the next tick after the timeout.
    c.run_for(timeout + 1000);
    let mut observer = connect(&mut c, 3, 0, vec![]).unwrap();
    assert_eq!(
        call(&mut c, &mut observer, Request::Sync { path: "/".into() }).0,
        0
    );
    assert!(!exists(&mut c, &mut observer, "/lease", false));
    assert!(
        connect(&mut c, 2, cl.session, cl.passwd.clone()).is_err(),
        "the expired session is refused"
    );
}

#[test]
fn four_letter_words_answer_on_the_client_port() {
    let mut c = ensemble();
    for (word, expect) in [
        (&b"ruok"[..], "imok"),
        (b"srvr", "Mode: follower"),
        (b"mntr", "zk_server_state\tfollower"),
        (b"envi", "zookeeper.version=3.9"),
        (b"isro", "rw"),
        (b"conf", "serverId=1"),
        (b"wchs", "Total watches:0"),
    ] {
        let conn = c.connect_client(1);
        c.client_send(conn, word.to_vec());
        c.run_until("4lw answered", 1_000, |c| c.client_closed.contains(&conn));
        let text =
            String::from_utf8(c.client_inbox.get(&conn).cloned().unwrap_or_default()).unwrap();
        assert!(text.contains(expect), "{word:?} -> {text:?}");
    }
    let _ = OpCode::Ping;
}

/// `srst`, `crst` and `stmk` change what they say they change. Found by the public-surface
/// audit (issue 9): the effects were computed by a function nothing called, so `srst` answered
/// "Server stats reset." and reset nothing, and `stmk` never stored its mask.
#[test]
fn srst_crst_and_stmk_change_what_they_say() {
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    for i in 0..5 {
        let path = format!("/r{i}");
        assert_eq!(create(&mut c, &mut cl, &path, b"x", 0), Ok(path));
    }
    let mntr = |c: &mut Zk, key: &str| -> u64 {
        let text = ask(c, 1, None, b"mntr");
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("zk_{key}\t")).map(String::from))
            .unwrap_or_else(|| panic!("no zk_{key} in {text:?}"));
        line.parse().unwrap()
    };
    let received = mntr(&mut c, "packets_received");
    assert!(received >= 6, "{received}");
    assert_eq!(ask(&mut c, 1, None, b"srst"), "Server stats reset.\n");
    // Only the four-letter words asked since the reset are counted.
    assert!(mntr(&mut c, "packets_received") <= 2);
    assert_eq!(mntr(&mut c, "max_latency"), 0);

    let session = format!(",sid=0x{:x},", cl.session);
    let cons = ask(&mut c, 1, None, b"cons");
    let line = cons.lines().find(|l| l.contains(&session)).unwrap();
    assert!(!line.contains("recved=0,"), "{line}");
    assert_eq!(ask(&mut c, 1, None, b"crst"), "Connection stats reset.\n");
    let cons = ask(&mut c, 1, None, b"cons");
    let line = cons.lines().find(|l| l.contains(&session)).unwrap();
    assert!(line.contains("recved=0,sent=0"), "{line}");

    // stmk answers the new mask once its 8 bytes are in, even when they come separately.
    assert_eq!(ask(&mut c, 1, None, b"gtmk"), "306");
    let conn = c.connect_client(1);
    c.client_send(conn, b"stmk\0\0\0".to_vec());
    c.run_for(50);
    assert!(
        !c.client_closed.contains(&conn),
        "stmk answered before its mask"
    );
    c.client_send(conn, vec![0, 0, 0, 0x12, 0x34, 9, 9]);
    c.run_until("stmk answered", 1_000, |c| c.client_closed.contains(&conn));
    let text = String::from_utf8(c.client_inbox.get(&conn).cloned().unwrap_or_default()).unwrap();
    assert_eq!(text, "4660");
    assert_eq!(ask(&mut c, 1, None, b"gtmk"), "4660");
    assert_eq!(
        ask(&mut c, 2, None, b"gtmk"),
        "306",
        "the mask is per server"
    );
}

/// A forwarded request delivered twice (a duplicated frame) is executed once. Found by the
/// linearizability checker (simulator seed 2): the leader ran a follower's setData twice and
/// the znode's version jumped by two under the client.
#[test]
fn a_duplicated_forwarded_request_is_executed_once() {
    let mut c = ensemble();
    let leader = c.leader().unwrap();
    let follower = (1..=3).find(|&i| i != leader).unwrap();
    let mut cl = connect(&mut c, follower, 0, vec![]).unwrap();
    assert_eq!(create(&mut c, &mut cl, "/d", b"0", 0), Ok("/d".into()));
    c.duplicate_when(|_, _, m| matches!(m, conclave_core::codec::PeerMessage::Request { .. }));
    for want in 1..=3 {
        let (err, resp) = call(
            &mut c,
            &mut cl,
            Request::SetData(SetDataRequest {
                path: "/d".into(),
                data: Some(vec![b'0' + want as u8]),
                version: -1,
            }),
        );
        match resp {
            Some(Response::Stat(stat)) => assert_eq!(stat.version, want, "err {err}"),
            other => panic!("setData: err {err}, {other:?}"),
        }
    }
    let text = ask(
        &mut c,
        leader,
        Some(conclave_core::HttpEndpoint::Metrics),
        b"GET /metrics HTTP/1.1\r\n\r\n",
    );
    assert!(
        text.contains("conclave_peer_duplicate_requests_total 3"),
        "each of the three writes was dropped once: {text}"
    );
}

/// Sends `request` on a fresh connection to `server` (a four-letter word, or an HTTP request
/// with `endpoint`) and returns everything answered before the server closed it.
fn ask(
    c: &mut Zk,
    server: Id,
    endpoint: Option<conclave_core::HttpEndpoint>,
    request: &[u8],
) -> String {
    let conn = match endpoint {
        None => c.connect_client(server),
        Some(e) => c.connect_http(server, e),
    };
    c.client_send(conn, request.to_vec());
    c.run_until("answered", 1_000, |c| c.client_closed.contains(&conn));
    String::from_utf8(c.client_inbox.get(&conn).cloned().unwrap_or_default()).unwrap()
}

/// Issue 18: `mntr` over the four-letter word and over HTTP (`/commands/mntr`) are one view,
/// so they agree field by field on the leader and on the followers — and tell the truth
/// (learners, synced followers, uptime, data size, ephemerals, proposal sizes).
#[test]
fn mntr_over_4lw_and_http_agree_field_by_field_on_every_member() {
    use conclave_core::HttpEndpoint;
    let mut c = ensemble();
    let mut cl = connect(&mut c, 1, 0, vec![]).unwrap();
    for i in 0..5 {
        let path = format!("/n{i}");
        assert_eq!(create(&mut c, &mut cl, &path, b"0123456789", 0), Ok(path));
    }
    assert_eq!(create(&mut c, &mut cl, "/eph", b"e", 1), Ok("/eph".into()));
    c.run_for(500);
    let leader = c.leader().unwrap();
    for server in [1, 2, 3] {
        // The four-letter word: `zk_<key>\t<value>` lines.
        let text = ask(&mut c, server, None, b"mntr");
        let four: std::collections::BTreeMap<String, String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("zk_")?.split_once('\t'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // The AdminServer JSON, over HTTP.
        let http = ask(
            &mut c,
            server,
            Some(HttpEndpoint::Admin),
            b"GET /commands/mntr HTTP/1.1\r\nHost: x\r\n\r\n",
        );
        assert!(http.starts_with("HTTP/1.1 200 OK\r\n"), "{http}");
        let body = http.split_once("\r\n\r\n").unwrap().1;
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        let json = json.as_object().unwrap();
        assert_eq!(json["command"], "monitor");
        for (k, v) in &four {
            let j = json
                .get(k)
                .unwrap_or_else(|| panic!("{server}: {k} missing over HTTP"));
            let as_text = match j {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // Between the two requests time passes: uptimes may differ. The four-letter word's
            // own connection is one of ZooKeeper's alive connections; an HTTP request is not.
            if k.ends_with("uptime") {
                continue;
            }
            if k == "num_alive_connections" {
                assert_eq!(
                    v.parse::<i64>().unwrap(),
                    j.as_i64().unwrap() + 1,
                    "{server}"
                );
                continue;
            }
            // A Java double (`0.0`) and its JSON number (`0.0`) compare as numbers.
            let same = as_text == *v
                || matches!((as_text.parse::<f64>(), v.parse::<f64>()), (Ok(a), Ok(b)) if a == b);
            assert!(
                same,
                "server {server}: {k} is {v} over 4lw but {as_text} over HTTP"
            );
        }
        assert_eq!(
            json.len(),
            four.len() + 2,
            "server {server}: same fields (+command, error)"
        );
        let num = |k: &str| four[k].parse::<i64>().unwrap();
        assert!(num("uptime") > 0, "server {server}: zk_uptime 0");
        assert!(
            num("approximate_data_size") > 5 * 13,
            "server {server}: data size"
        );
        assert_eq!(num("ephemerals_count"), 1, "server {server}");
        assert!(num("znode_count") >= 10, "server {server}");
        if server == leader {
            assert_eq!(four["server_state"], "leader");
            assert_eq!(num("learners"), 2);
            assert_eq!(num("synced_followers"), 2);
            assert!(num("last_proposal_size") > 0, "proposal sizes still -1");
        } else {
            assert_eq!(four["server_state"], "follower");
        }
        // /metrics carries the same figures under ZooKeeper's names.
        let metrics = ask(
            &mut c,
            server,
            Some(HttpEndpoint::Metrics),
            b"GET /metrics HTTP/1.1\r\n\r\n",
        );
        for k in [
            "znode_count",
            "ephemerals_count",
            "approximate_data_size",
            "global_sessions",
        ] {
            let line = format!("\n{k} {}\n", four[k]);
            assert!(
                metrics.contains(&line),
                "server {server}: /metrics lacks {line:?}"
            );
        }
        if server == 1 {
            // Writes from this server's client are counted (issue 9: they used to stay 0).
            assert!(
                metrics.contains("\nconclave_writes_committed_total 6\n"),
                "{metrics}"
            );
            assert!(metrics.contains("conclave_requests_total{op=\"create\",outcome=\"ok\"} 6"));
        }
    }
}

/// The four-letter words print `zookeeper.version` once, and `stat`/`cons` list the clients.
#[test]
fn envi_names_the_version_once_and_stat_lists_clients() {
    let mut c = ensemble();
    let _cl = connect(&mut c, 2, 0, vec![]).unwrap();
    let envi = ask(&mut c, 2, None, b"envi");
    assert_eq!(envi.matches("zookeeper.version=").count(), 1, "{envi}");
    let stat = ask(&mut c, 2, None, b"stat");
    assert!(stat.contains("Clients:\n /127.0.0.1:"), "{stat}");
    assert!(stat.contains("Connections: 2\n"), "{stat}");
    let cons = ask(&mut c, 2, None, b"cons");
    assert_eq!(cons.matches(" /127.0.0.1:").count(), 2, "{cons}");
}

#[test]
fn digest_acls_protect_nodes_and_the_super_user_passes() {
    let mut c = ensemble();
    let mut alice = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(add_digest(&mut c, &mut alice, "alice:pw"), 0);
    let only_alice = only("alice:pw");
    let req = Request::Create(CreateRequest {
        kind: CreateKind::Create,
        path: "/secret".into(),
        data: Some(b"s".to_vec()),
        acl: only_alice,
        flags: 0,
    });
    assert_eq!(call(&mut c, &mut alice, req).0, 0);
    assert_eq!(get(&mut c, &mut alice, "/secret", false), Ok(b"s".to_vec()));
    let mut eve = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(
        get(&mut c, &mut eve, "/secret", false),
        Err(ErrorCode::NoAuth.as_i32())
    );
    // superDigest from zoo.cfg (DigestAuthenticationProvider.superDigest=super:<hash of super:secret>).
    let mut root = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(add_digest(&mut c, &mut root, "super:secret"), 0);
    assert_eq!(get(&mut c, &mut root, "/secret", false), Ok(b"s".to_vec()));
    // Writes go through the leader's prep, which must know the super user too.
    let set = |data: &[u8]| {
        Request::SetData(SetDataRequest {
            path: "/secret".into(),
            data: Some(data.to_vec()),
            version: -1,
        })
    };
    assert_eq!(
        call(&mut c, &mut eve, set(b"x")).0,
        ErrorCode::NoAuth.as_i32()
    );
    assert_eq!(call(&mut c, &mut root, set(b"y")).0, 0);
}

#[test]
fn zookeeper_4799_watch_events_need_read_permission() {
    let mut c = ensemble();
    let mut alice = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(add_digest(&mut c, &mut alice, "alice:pw"), 0);
    create(&mut c, &mut alice, "/tree", b"", 0).unwrap();
    let mut eve = connect(&mut c, 1, 0, vec![]).unwrap();
    // A recursive watch over /tree would otherwise reveal changes to a node eve may not read.
    let (err, _) = call(
        &mut c,
        &mut eve,
        Request::AddWatch {
            path: "/tree".into(),
            mode: conclave_core::client::AddWatchMode::PersistentRecursive,
        },
    );
    assert_eq!(err, 0);
    let only_alice = only("alice:pw");
    let req = Request::Create(CreateRequest {
        kind: CreateKind::Create,
        path: "/tree/private".into(),
        data: Some(b"s".to_vec()),
        acl: only_alice,
        flags: 0,
    });
    assert_eq!(call(&mut c, &mut alice, req).0, 0);
    create(&mut c, &mut alice, "/tree/public", b"", 0).unwrap();
    // eve's next reply comes after any event for those creates.
    assert!(exists(&mut c, &mut eve, "/tree", false));
    let paths: Vec<&str> = eve.events.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["/tree/public"], "events: {:?}", eve.events);
    // Deleting them: the deleted node's ACL decides, as ZooKeeper's fix checks it (found by
    // the differential run against Debian's 3.8.0, which carries the fix).
    eve.events.clear();
    for path in ["/tree/private", "/tree/public"] {
        let req = Request::Delete(conclave_core::client::DeleteRequest {
            path: path.into(),
            version: -1,
        });
        assert_eq!(call(&mut c, &mut alice, req).0, 0);
    }
    assert!(exists(&mut c, &mut eve, "/tree", false));
    let paths: Vec<&str> = eve.events.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["/tree/public"], "events: {:?}", eve.events);
}

/// A four-letter word on `server`'s client port; the answer.
fn four_letter(c: &mut Zk, server: Id, word: &[u8]) -> String {
    let conn = c.connect_client(server);
    c.client_send(conn, word.to_vec());
    c.run_until("4lw answered", 1_000, |c| c.client_closed.contains(&conn));
    String::from_utf8(c.client_inbox.get(&conn).cloned().unwrap_or_default()).unwrap()
}

/// Read-only mode (issue 16): with `readonlymode.enabled=true`, a member cut off from its
/// quorum serves clients that set `canBeReadOnly` from its last state after ZooKeeper's delay,
/// answers state changes and sync with NOTREADONLY, says `Mode: read-only` and `isro` = `ro`,
/// refuses clients without the flag and sessions of the ensemble, and closes its read-only
/// sessions when it rejoins the quorum.
#[test]
fn an_isolated_member_serves_read_only_clients_until_it_rejoins() {
    let mut c = Zk::with_config(
        3,
        Tuning {
            snap_count: 1000,
            ..Tuning::default()
        },
        "readonlymode.enabled=true\n",
    );
    let (leader, member) = leader_and_follower(&mut c);
    let mut w = connect(&mut c, leader, 0, vec![]).unwrap();
    assert_eq!(
        create(&mut c, &mut w, "/ro", b"before", 0),
        Ok("/ro".into())
    );
    c.run_until("the member applied /ro", 2_000, |c| {
        c.nodes[&member]
            .state_machine()
            .tree()
            .node("/ro")
            .is_some()
    });
    assert!(four_letter(&mut c, member, b"isro").contains("rw"));
    c.isolate(member);
    c.run_for(500);
    // Electing, within the delay: not serving anybody yet.
    assert!(connect_as(&mut c, member, 0, vec![], true).is_err());
    c.run_for(2_000);
    assert!(four_letter(&mut c, member, b"srvr").contains("Mode: read-only"));
    assert_eq!(four_letter(&mut c, member, b"isro"), "ro");
    assert!(four_letter(&mut c, member, b"mntr").contains("zk_server_state\tread-only"));
    // Without the flag, or with a session of the ensemble: refused.
    assert!(connect(&mut c, member, 0, vec![]).is_err());
    assert!(connect_as(&mut c, member, w.session, w.passwd.clone(), true).is_err());
    let (mut ro, flag) = connect_as(&mut c, member, 0, vec![], true).unwrap();
    assert_eq!(flag, Some(true));
    assert_eq!(get(&mut c, &mut ro, "/ro", true), Ok(b"before".to_vec()));
    assert!(exists(&mut c, &mut ro, "/ro", false));
    let not_read_only = ErrorCode::NotReadOnly.as_i32();
    assert_eq!(create(&mut c, &mut ro, "/nope", b"", 0), Err(not_read_only));
    let set = Request::SetData(SetDataRequest {
        path: "/ro".into(),
        data: Some(b"x".to_vec()),
        version: -1,
    });
    assert_eq!(call(&mut c, &mut ro, set).0, not_read_only);
    let sync = Request::Sync { path: "/ro".into() };
    assert_eq!(call(&mut c, &mut ro, sync).0, not_read_only);
    // Still a session: a ping is answered and reads go on.
    assert_eq!(call(&mut c, &mut ro, Request::Ping).0, 0);
    assert_eq!(get(&mut c, &mut ro, "/ro", false), Ok(b"before".to_vec()));
    // The quorum comes back: the read-only session ends, the member serves as a follower.
    c.heal();
    c.run_until("the member rejoins", 10_000, |c| c.all_synced());
    assert!(c.client_closed.contains(&ro.conn));
    assert!(four_letter(&mut c, member, b"srvr").contains("Mode: follower"));
    assert!(connect(&mut c, member, 0, vec![]).is_ok());
}

/// Without `readonlymode.enabled` an isolated member serves nobody, flag or not, and `isro`
/// is not on its whitelist unless listed.
#[test]
fn without_read_only_mode_an_isolated_member_refuses_everybody() {
    let mut c = ensemble();
    let (_, member) = leader_and_follower(&mut c);
    c.isolate(member);
    c.run_for(3_000);
    assert!(connect_as(&mut c, member, 0, vec![], true).is_err());
    assert!(four_letter(&mut c, member, b"srvr").contains("not currently serving"));
}

/// A connection that never completes the session handshake — silent, or trickling its
/// ConnectRequest a byte a second (slowloris) — is closed after ZooKeeper's session-less
/// timeout (10 s); a client that has its session is not disturbed. Before, such sockets stayed
/// open for ever (issue 17: 1 000 idle sockets must be closed).
#[test]
fn connections_without_a_session_are_closed_after_the_sessionless_timeout() {
    let mut c = ensemble();
    let idle = c.connect_client(1);
    let trickle = c.connect_client(1);
    let mut ok = connect(&mut c, 1, 0, vec![]).unwrap();
    let req = ConnectRequest::new_session(4000);
    let mut frame = Vec::new();
    encode_record_frame(&req, &mut frame);
    for byte in frame.iter().take(9) {
        c.client_send(trickle, vec![*byte]);
        assert_eq!(call(&mut c, &mut ok, Request::Ping).0, 0);
        c.run_for(1_000);
    }
    assert!(
        !c.client_closed.contains(&idle),
        "closed before the timeout"
    );
    assert!(
        !c.client_closed.contains(&trickle),
        "closed before the timeout"
    );
    assert_eq!(call(&mut c, &mut ok, Request::Ping).0, 0);
    c.run_for(1_500);
    assert!(c.client_closed.contains(&idle));
    assert!(c.client_closed.contains(&trickle));
    assert!(!c.client_closed.contains(&ok.conn));
    assert_eq!(get(&mut c, &mut ok, "/", false), Ok(vec![]));
}

/// `maxClientCnxns` (default 60) counts open connections per client IP: the 61st from one
/// address is closed at once, and a slot freed by a close is usable again. The count is kept
/// per IP as connections come and go (issue 17's connection flood: no scan per accept).
#[test]
fn max_client_cnxns_limits_open_connections_per_ip() {
    let mut c = ensemble();
    let held: Vec<u64> = (0..60).map(|_| c.connect_client(1)).collect();
    c.run_for(10);
    assert!(held.iter().all(|h| !c.client_closed.contains(h)));
    let refused = c.connect_client(1);
    c.run_for(10);
    assert!(c.client_closed.contains(&refused));
    c.client_disconnect(held[0]);
    c.run_for(10);
    let mut ok = connect(&mut c, 1, 0, vec![]).expect("a freed slot is usable");
    assert_eq!(call(&mut c, &mut ok, Request::Ping).0, 0);
    let refused = c.connect_client(1);
    c.run_for(10);
    assert!(c.client_closed.contains(&refused));
}

/// Issue 17: an oversized SetWatches (a frame past `jute.maxbuffer`, 1 MiB by default: here
/// 20 000 paths of 60 bytes) closes that connection, as ZooKeeper's "Len error" does, and a
/// SetWatches just under the limit is accepted; another session on the same server is not
/// disturbed either way.
#[test]
fn an_oversized_set_watches_closes_only_its_connection() {
    let mut c = ensemble();
    let mut bystander = connect(&mut c, 1, 0, vec![]).unwrap();
    let paths = |n: usize| -> Vec<String> { (0..n).map(|i| format!("/{i:059}")).collect() };
    let big = connect(&mut c, 1, 0, vec![]).unwrap();
    let oversized = Request::SetWatches {
        relative_zxid: 0,
        data: paths(20_000),
        exist: vec![],
        child: vec![],
    };
    let mut out = Vec::new();
    encode_request(1, &oversized, &mut out);
    assert!(out.len() > 1 << 20);
    c.client_send(big.conn, out);
    c.run_until("the oversized frame's connection closes", 1_000, |c| {
        c.client_closed.contains(&big.conn)
    });
    assert_eq!(call(&mut c, &mut bystander, Request::Ping).0, 0);
    // Under the limit: accepted, and the watches are set.
    let mut ok = connect(&mut c, 1, 0, vec![]).unwrap();
    let fits = Request::SetWatches {
        relative_zxid: 0,
        data: paths(15_000),
        exist: vec![],
        child: vec![],
    };
    assert_eq!(call(&mut c, &mut ok, fits).0, 0);
    assert_eq!(call(&mut c, &mut bystander, Request::Ping).0, 0);
}

/// Sends a ConnectRequest for a new session on a fresh connection to `server`, without
/// waiting for the answer.
fn send_connect(c: &mut Zk, server: Id) -> u64 {
    let conn = c.connect_client(server);
    let req = ConnectRequest::new_session(4000);
    let mut out = Vec::new();
    encode_record_frame(&req, &mut out);
    c.client_send(conn, out);
    conn
}

/// A failover or a start that an election settles quickly must not cost clients their
/// library's back-off: a handshake that reaches a member which has just stopped serving is
/// held, then answered with a session once the member serves under the new leader, and a
/// request the client pipelined behind it is answered too. (ZooKeeper closes it; measured
/// with `zookeeper-client`, that closing made start → first write 150–400 ms instead of ~30.)
#[test]
fn a_handshake_to_a_member_that_is_electing_is_held_until_it_serves() {
    let mut c = ensemble();
    let (leader, member) = leader_and_follower(&mut c);
    c.crash(leader);
    c.run_until("the member stops serving", 2_000, |c| {
        !c.nodes[&member].status().synced
    });
    let conn = send_connect(&mut c, member);
    let mut ping = Vec::new();
    encode_request(
        1,
        &Request::Exists {
            path: "/".into(),
            watch: false,
        },
        &mut ping,
    );
    c.client_send(conn, ping);
    let asked = c.now;
    c.run_until("a session on the member", 5_000, |c| {
        c.client_inbox.get(&conn).is_some_and(|b| b.len() >= 4) || c.client_closed.contains(&conn)
    });
    assert!(
        !c.client_closed.contains(&conn),
        "refused: {}",
        c.describe()
    );
    assert!(c.now.millis_since(asked) < 1_000);
    let mut client = Client {
        conn,
        xid: 1,
        offset: 0,
        session: 0,
        passwd: vec![],
        timeout_ms: 0,
        events: vec![],
    };
    let frame = next_frame(&c, &mut client).unwrap();
    let resp = ConnectResponse::decode(&mut JuteReader::new(&frame, 1 << 20)).unwrap();
    assert_ne!(resp.session_id, 0);
    c.run_until("the pipelined exists", 2_000, |c| {
        c.client_inbox
            .get(&conn)
            .is_some_and(|b| b.len() > frame.len() + 4 + 16)
    });
    let reply = next_frame(&c, &mut client).unwrap();
    let header = ReplyHeader::decode(&mut JuteReader::new(&reply, 1 << 20)).unwrap();
    assert_eq!((header.xid, header.err), (1, 0));
}

/// A member out of service for longer than the hold (here: cut off from its quorum) refuses
/// a handshake at once, as ZooKeeper does, so its clients move on to another member; one held
/// before that is refused when the hold ends, not later.
#[test]
fn a_member_out_of_service_past_the_hold_refuses_handshakes_at_once() {
    let mut c = ensemble();
    let (_, member) = leader_and_follower(&mut c);
    c.isolate(member);
    c.run_for(200);
    let held = send_connect(&mut c, member);
    c.run_for(600);
    assert!(
        !c.client_closed.contains(&held),
        "refused before the hold ended"
    );
    c.run_until("the held handshake refused", 1_000, |c| {
        c.client_closed.contains(&held)
    });
    assert!(c.client_inbox.get(&held).is_none_or(Vec::is_empty));
    c.run_for(500);
    let late = send_connect(&mut c, member);
    let asked = c.now;
    c.run_until("refused at once", 1_000, |c| {
        c.client_closed.contains(&late)
    });
    assert!(c.now.millis_since(asked) < 50);
}

// ---- dynamic reconfiguration ----------------------------------------------------------

fn reconfig(
    c: &mut Zk,
    client: &mut Client,
    joining: Option<&str>,
    leaving: Option<&str>,
    members: Option<&str>,
    from: i64,
) -> Result<String, i32> {
    let req = Request::Reconfig(conclave_core::client::ReconfigRequest {
        joining_servers: joining.map(String::from),
        leaving_servers: leaving.map(String::from),
        new_members: members.map(String::from),
        cur_config_id: from,
    });
    match call(c, client, req) {
        (0, Some(Response::GetData { data, .. })) => {
            Ok(String::from_utf8(data.unwrap_or_default()).unwrap())
        }
        (err, _) => Err(err),
    }
}

/// zoo.cfg of a server that is to join a [`reconfigurable`] ensemble: the three members and
/// itself.
fn joiner_cfg(id: Id, role: &str) -> String {
    format!(
        "{}reconfigEnabled=true\nserver.{id}=127.0.0.1:{}:{}:{role}\n",
        common::cfg(3),
        2888 + id,
        3888 + id
    )
}

fn reconfigurable() -> Zk {
    let mut c = Zk::with_config(3, Tuning::default(), "reconfigEnabled=true\n");
    c.wait_synced();
    c
}

fn super_client(c: &mut Zk, server: Id) -> Client {
    let mut root = connect(c, server, 0, vec![]).unwrap();
    assert_eq!(add_digest(c, &mut root, "super:secret"), 0);
    root
}

fn version_of(config: &str) -> i64 {
    let v = config.rsplit("version=").next().unwrap();
    i64::from_str_radix(v, 16).unwrap()
}

/// Runs until every member's membership has `ids`.
fn wait_members(c: &mut Zk, ids: &[Id]) {
    let want: Vec<Id> = ids.to_vec();
    c.run_until(
        "every member installs the new membership",
        10_000,
        move |c| {
            c.nodes
                .values()
                .all(|n| n.config().servers.keys().copied().collect::<Vec<_>>() == want)
        },
    );
}

#[test]
fn reconfig_adds_and_removes_an_observer_and_a_participant() {
    let mut c = reconfigurable();
    let (leader, follower) = leader_and_follower(&mut c);
    let mut root = super_client(&mut c, follower);
    let before =
        String::from_utf8(get(&mut c, &mut root, "/zookeeper/config", true).unwrap()).unwrap();
    assert_eq!(
        before,
        "server.1=127.0.0.1:2889:3889:participant\nserver.2=127.0.0.1:2890:3890:participant\n\
         server.3=127.0.0.1:2891:3891:participant\nversion=0"
    );

    // An observer: started first (it links to the members), then added.
    c.start_new(4, joiner_cfg(4, "observer"));
    c.run_for(500);
    let added = reconfig(
        &mut c,
        &mut root,
        Some("server.4=127.0.0.1:2892:3892:observer;2185"),
        None,
        None,
        0,
    )
    .unwrap();
    assert!(added.contains("server.4=127.0.0.1:2892:3892:observer;0.0.0.0:2185\nversion="));
    let event = root.events.pop().expect("the config watch fired");
    assert_eq!(
        (event.event_type, event.path.as_str()),
        (EventType::NodeDataChanged, "/zookeeper/config")
    );
    wait_members(&mut c, &[1, 2, 3, 4]);
    c.run_until("member 4 observes", 10_000, |c| {
        c.nodes[&4].status().role == conclave_core::Role::Observing && c.nodes[&4].status().synced
    });
    // A write through the new observer reaches everyone.
    let mut via4 = connect(&mut c, 4, 0, vec![]).unwrap();
    assert_eq!(
        create(&mut c, &mut via4, "/from4", b"x", 0),
        Ok("/from4".into())
    );
    assert_eq!(
        get(&mut c, &mut root, "/zookeeper/config", false).map(String::from_utf8),
        Ok(Ok(added.clone()))
    );

    // A participant: it follows without a vote until the reconfig, then counts.
    c.start_new(5, joiner_cfg(5, "participant"));
    c.run_for(500);
    let version = version_of(&added);
    let with5 = reconfig(
        &mut c,
        &mut root,
        Some("server.5=127.0.0.1:2893:3893:participant;2186"),
        None,
        None,
        version,
    )
    .unwrap();
    assert!(version_of(&with5) > version);
    wait_members(&mut c, &[1, 2, 3, 4, 5]);
    // Voters {1,2,3,5} need three: with 5 and an old follower down, the two left cannot
    // elect a leader (with {1,2,3} they could); with the old one back, they can.
    let old = (1..=3).find(|id| *id != leader && *id != follower).unwrap();
    c.crash(old);
    c.crash(5);
    c.restart(leader);
    c.run_for(3_000);
    assert_eq!(c.leader(), None, "two of four voters elected a leader");
    c.start(old);
    c.wait_synced();
    let mut root = super_client(&mut c, follower);
    assert_eq!(
        create(&mut c, &mut root, "/with5", b"y", 0),
        Ok("/with5".into())
    );

    // Both leave; the ensemble is the first three again, and keeps writing.
    let after = reconfig(&mut c, &mut root, None, Some("4,5"), None, -1).unwrap();
    assert!(!after.contains("server.4") && !after.contains("server.5"));
    c.run_until("the first three install it", 10_000, |c| {
        (1..=3).all(|id| c.nodes[&id].config().servers.len() == 3)
    });
    assert_eq!(
        create(&mut c, &mut root, "/after", b"z", 0),
        Ok("/after".into())
    );
}

#[test]
fn bad_reconfigs_get_zookeepers_error_codes() {
    // Disabled: whoever asks.
    let mut plain = ensemble();
    let mut root = super_client(&mut plain, 1);
    assert_eq!(
        reconfig(&mut plain, &mut root, None, Some("3"), None, -1),
        Err(ErrorCode::ReconfigDisabled.as_i32())
    );

    // Standalone (one server line, standaloneEnabled): nothing to reconfigure.
    let mut alone = Zk::with_config(1, Tuning::default(), "reconfigEnabled=true\n");
    alone.wait_synced();
    let mut root = super_client(&mut alone, 1);
    assert_eq!(
        reconfig(&mut alone, &mut root, None, Some("1"), None, -1),
        Err(ErrorCode::Unimplemented.as_i32())
    );

    let mut c = reconfigurable();
    let mut anyone = connect(&mut c, 1, 0, vec![]).unwrap();
    assert_eq!(
        reconfig(
            &mut c,
            &mut anyone,
            Some("server.4=127.0.0.1:2892:3892:observer;2185"),
            None,
            None,
            -1
        ),
        Err(ErrorCode::NoAuth.as_i32())
    );
    let mut root = super_client(&mut c, 1);
    for (joining, leaving, members, from, code) in [
        (Some("server.4=garbage"), None, None, -1, ErrorCode::BadArguments),
        (Some("server.4=127.0.0.1:2892:3892"), None, None, -1, ErrorCode::BadArguments),
        (None, Some("abc"), None, -1, ErrorCode::MarshallingError),
        (None, Some("2,3"), None, -1, ErrorCode::BadArguments),
        (None, None, Some("server.1=127.0.0.1:2889:3889:observer;2181"), -1, ErrorCode::MarshallingError),
        (None, Some("3"), None, 7, ErrorCode::BadVersion),
        (
            Some("server.4=127.0.0.1:2892:3892;2185,server.5=127.0.0.1:2893:3893;2186,server.6=127.0.0.1:2894:3894;2187"),
            None,
            None,
            -1,
            ErrorCode::NewConfigNoQuorum,
        ),
    ] {
        assert_eq!(
            reconfig(&mut c, &mut root, joining, leaving, members, from),
            Err(code.as_i32()),
            "{joining:?} {leaving:?} {members:?} {from}"
        );
    }
    // Nothing changed: every member still has the three.
    assert!(c.nodes.values().all(|n| n.config().servers.len() == 3));
}

/// Two reconfigs back to back: the second is prepped while the first is in flight and is
/// refused with RECONFIGINPROGRESS (answered once the first commits, in zxid order).
#[test]
fn a_reconfig_while_another_is_in_flight_is_refused() {
    let mut c = reconfigurable();
    let leader = c.wait_synced();
    let mut first = super_client(&mut c, leader);
    let mut second = super_client(&mut c, leader);
    for (client, leaving) in [(&mut first, "9"), (&mut second, "8")] {
        let req = Request::Reconfig(conclave_core::client::ReconfigRequest {
            joining_servers: None,
            leaving_servers: Some(leaving.into()),
            new_members: None,
            cur_config_id: -1,
        });
        let mut framed = Vec::new();
        client.xid += 1;
        encode_request(client.xid, &req, &mut framed);
        c.client_send(client.conn, framed);
    }
    c.run_for(500);
    let err = |c: &Zk, client: &mut Client| {
        next_frame(c, client).map(|f| ReplyHeader::split(&f).unwrap().0.err)
    };
    assert_eq!(err(&c, &mut first), Some(0));
    assert_eq!(
        err(&c, &mut second),
        Some(ErrorCode::ReconfigInProgress.as_i32())
    );
}

#[test]
fn a_reconfigured_membership_survives_a_full_restart() {
    let mut c = reconfigurable();
    let mut root = super_client(&mut c, 1);
    c.start_new(4, joiner_cfg(4, "observer"));
    c.run_for(500);
    let added = reconfig(
        &mut c,
        &mut root,
        Some("server.4=127.0.0.1:2892:3892:observer;2185"),
        None,
        None,
        -1,
    )
    .unwrap();
    wait_members(&mut c, &[1, 2, 3, 4]);
    c.run_for(200);
    for id in 1..=4 {
        c.crash(id);
    }
    for id in 1..=4 {
        c.start(id);
    }
    c.wait_synced();
    wait_members(&mut c, &[1, 2, 3, 4]);
    let mut again = connect(&mut c, 2, 0, vec![]).unwrap();
    assert_eq!(
        get(&mut c, &mut again, "/zookeeper/config", false).map(String::from_utf8),
        Ok(Ok(added))
    );
}

#[test]
fn removing_the_leader_hands_the_ensemble_to_the_others() {
    let mut c = reconfigurable();
    let (leader, follower) = leader_and_follower(&mut c);
    let mut root = super_client(&mut c, follower);
    c.start_new(4, joiner_cfg(4, "participant"));
    c.run_for(500);
    reconfig(
        &mut c,
        &mut root,
        Some("server.4=127.0.0.1:2892:3892:participant;2185"),
        None,
        None,
        -1,
    )
    .unwrap();
    c.run_for(200);
    let removed = reconfig(&mut c, &mut root, None, Some(&leader.to_string()), None, -1);
    // The follower's client may see the commit or lose its connection while the leader
    // steps down; either way the change holds and a new leader serves.
    let _ = removed;
    c.run_until("a new leader among the others", 10_000, |c| {
        c.leader().is_some_and(|l| l != leader)
    });
    let new_leader = c.leader().unwrap();
    assert!(!c.nodes[&new_leader].config().servers.contains_key(&leader));
    let mut client = connect(&mut c, new_leader, 0, vec![]).unwrap();
    assert_eq!(
        create(&mut c, &mut client, "/after-leader", b"x", 0),
        Ok("/after-leader".into())
    );
}

/// The joint quorum: a reconfig from {1,2,3} to {leader,4,5} is acknowledged by the old
/// voters at once, but commits only once the new ones hold it too (ACKs from 4 and 5
/// dropped: nobody installs it, whatever happens to the leadership meanwhile).
#[test]
fn a_reconfig_commits_only_when_the_old_and_the_new_voters_hold_it() {
    let mut c = reconfigurable();
    let (leader, follower) = leader_and_follower(&mut c);
    for id in [4, 5] {
        c.start_new(id, joiner_cfg(id, "participant"));
    }
    c.run_for(500);
    let line = |id: Id| {
        format!(
            "server.{id}=127.0.0.1:{}:{};{}",
            2888 + id,
            3888 + id,
            2180 + id
        )
    };
    let members = [leader, 4, 5].map(line).join(",");
    c.drop_when(|from, _, m| {
        (from == 4 || from == 5) && matches!(m, conclave_core::codec::PeerMessage::Ack { .. })
    });
    let root = super_client(&mut c, follower);
    let req = Request::Reconfig(conclave_core::client::ReconfigRequest {
        joining_servers: None,
        leaving_servers: None,
        new_members: Some(members),
        cur_config_id: -1,
    });
    let mut framed = Vec::new();
    encode_request(root.xid + 1, &req, &mut framed);
    c.client_send(root.conn, framed);
    c.run_for(3_000);
    for id in 1..=3 {
        let servers: Vec<Id> = c.nodes[&id].config().servers.keys().copied().collect();
        assert_eq!(
            servers,
            vec![1, 2, 3],
            "member {id} installed a reconfig the new voters do not hold"
        );
    }
    c.heal();
    let want = {
        let mut w = vec![leader, 4, 5];
        w.sort();
        w
    };
    c.run_until("every member installs {leader, 4, 5}", 20_000, move |c| {
        c.nodes
            .values()
            .all(|n| n.config().servers.keys().copied().collect::<Vec<_>>() == want)
    });
    c.run_until("a leader among the new voters", 20_000, |c| {
        c.leader().is_some_and(|l| [leader, 4, 5].contains(&l))
    });
    let new_leader = c.leader().unwrap();
    let mut client = connect(&mut c, new_leader, 0, vec![]).unwrap();
    assert_eq!(
        create(&mut c, &mut client, "/joint", b"x", 0),
        Ok("/joint".into())
    );
}
