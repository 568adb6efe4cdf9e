//! The scenarios of the suite, as data: each is what a ZooKeeper user relies on, played with
//! the faults that break coordination services (kill -9, pauses, full restarts).

use conclave_core::client::{
    CheckVersionRequest, DeleteRequest, ErrorCode, EventType, MultiOp, Request,
};

use super::{create, create_mode, create_request, Expect, Scenario, Step, Who};

/// The session timeout of a session a scenario lets expire: well under the others' (live
/// ensembles tick every 200 ms, so every session is held to maxSessionTimeout = 4 s, and a
/// session of the codec's client, which sends no pings, must outlive the expiry it watches).
const SHORT_SESSION_MS: i32 = 1_500;

/// The name of every scenario, in the order `suite!` lists them (a unit test keeps the two
/// lists equal).
pub const NAMES: &[&str] = &[
    "election_at_start_3",
    "election_at_start_5",
    "leader_kill_keeps_acknowledged_writes",
    "follower_kill_and_restart_catches_up",
    "full_cluster_restart_keeps_acknowledged_writes",
    "leader_pause_longer_than_the_session_timeout",
    "session_close_removes_ephemerals_and_fires_watches",
    "master_election_recipe",
    "sequential_nodes_are_unique_and_ordered",
    "multi_is_all_or_nothing",
    "watches_fire_once_and_in_order",
    "reconnect_to_another_member_keeps_the_session",
    "hostile_connections_do_not_disturb_the_others",
    "removed_members_keep_following_and_writes_survive_a_leader_kill",
    "partitioned_leader_commits_nothing_and_the_majority_moves_on",
    "isolated_follower_catches_up_after_the_heal",
    "observers_forward_writes_and_never_vote",
    "session_expiry_removes_ephemerals_and_fires_watches",
    "idle_connections_are_closed_and_do_not_disturb_the_others",
];

/// Scenarios with observers: how many of the last members observe.
const OBSERVERS: &[(&str, usize)] = &[("observers_forward_writes_and_never_vote", 2)];

/// The scenarios whose ensemble runs with `reconfigEnabled` (and a super user).
const RECONFIGURABLE: &[&str] =
    &["removed_members_keep_following_and_writes_survive_a_leader_kill"];

/// Every scenario.
pub fn scenarios() -> Vec<Scenario> {
    NAMES.iter().filter_map(|n| scenario(n)).collect()
}

fn req(session: usize, request: Request, expect: Expect) -> Step {
    Step::Request {
        session,
        request,
        expect,
    }
}

fn get(path: &str, watch: bool) -> Request {
    Request::GetData {
        path: path.into(),
        watch,
    }
}

fn exists(path: &str, watch: bool) -> Request {
    Request::Exists {
        path: path.into(),
        watch,
    }
}

fn children(path: &str) -> Request {
    Request::GetChildren {
        path: path.into(),
        watch: false,
    }
}

fn set(path: &str, data: &[u8]) -> Request {
    Request::SetData(conclave_core::client::SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        version: -1,
    })
}

fn open(session: usize, on: Who) -> Step {
    Step::Open {
        session,
        on,
        timeout_ms: super::SESSION_TIMEOUT_MS,
    }
}

fn writes(session: usize, prefix: &str, count: u32) -> Step {
    Step::Writes {
        session,
        prefix: prefix.into(),
        count,
    }
}

fn event(session: usize, kind: EventType, path: &str) -> Step {
    Step::Event {
        session,
        kind,
        path: path.into(),
        within_ms: 10_000,
    }
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The scenario called `name`.
pub fn scenario(name: &str) -> Option<Scenario> {
    let (name, members, steps) = match name {
        // Every member starts LOOKING; one leads; a write through one member is read on all.
        "election_at_start_3" | "election_at_start_5" => {
            let members = if name.ends_with('3') { 3 } else { 5 };
            let mut steps = vec![
                Step::Start,
                open(0, Who::Follower(0)),
                req(0, create("/e", b"one"), Expect::Ok),
            ];
            for i in 0..members {
                steps.push(open(i + 1, Who::Member(i)));
                steps.push(req(i + 1, Request::Sync { path: "/e".into() }, Expect::Ok));
                steps.push(req(i + 1, get("/e", false), Expect::Data(b"one".to_vec())));
            }
            let name = if members == 3 {
                "election_at_start_3"
            } else {
                "election_at_start_5"
            };
            (name, members, steps)
        }
        // kill -9 of the leader between writes: the survivors elect, writes go on, and every
        // acknowledged write is on every live member; the old leader rejoins and has them too.
        "leader_kill_keeps_acknowledged_writes" => (
            "leader_kill_keeps_acknowledged_writes",
            3,
            vec![
                Step::Start,
                open(0, Who::Follower(0)),
                req(0, create("/w", b""), Expect::Ok),
                writes(0, "/w/a", 40),
                Step::Kill(Who::Leader),
                writes(0, "/w/b", 40),
                Step::AckedEverywhere,
                Step::Restart(Who::All),
                Step::WaitLeader,
                Step::AckedEverywhere,
            ],
        ),
        // A follower killed misses writes; restarted from its data directory, it catches up.
        "follower_kill_and_restart_catches_up" => (
            "follower_kill_and_restart_catches_up",
            3,
            vec![
                Step::Start,
                open(0, Who::Leader),
                req(0, create("/f", b""), Expect::Ok),
                writes(0, "/f/a", 20),
                Step::Kill(Who::Follower(0)),
                writes(0, "/f/b", 40),
                Step::Restart(Who::All),
                Step::AckedEverywhere,
            ],
        ),
        // Every member killed at once, then all restarted: nothing acknowledged is lost.
        "full_cluster_restart_keeps_acknowledged_writes" => (
            "full_cluster_restart_keeps_acknowledged_writes",
            3,
            vec![
                Step::Start,
                open(0, Who::Follower(0)),
                req(0, create("/r", b""), Expect::Ok),
                writes(0, "/r/a", 60),
                Step::Kill(Who::All),
                Step::Restart(Who::All),
                Step::WaitLeader,
                Step::AckedEverywhere,
            ],
        ),
        // The leader frozen for longer than the session timeout (12 s; sessions ask for 10 s,
        // the process harness's members grant at most 4 s): the others elect a new one, keep
        // every acknowledged write and expire the sessions nobody kept alive — an ephemeral
        // of a session on the frozen leader is gone; thawed, the old leader steps down and
        // catches up.
        "leader_pause_longer_than_the_session_timeout" => (
            "leader_pause_longer_than_the_session_timeout",
            3,
            vec![
                Step::Start,
                open(0, Who::Follower(0)),
                open(1, Who::Leader),
                req(0, create("/p", b""), Expect::Ok),
                req(1, create_mode("/p/eph", b"", 1), Expect::Ok),
                writes(0, "/p/a", 20),
                Step::Pause(Who::Leader),
                Step::Sleep(3_000),
                // The others elect one of them: the frozen leader is not leading for them.
                Step::WaitLeader,
                writes(0, "/p/b", 20),
                Step::Sleep(9_000),
                Step::Resume(Who::All),
                Step::Sleep(1_000),
                Step::WaitLeader,
                Step::AckedEverywhere,
                open(2, Who::Leader),
                req(2, Request::Sync { path: "/p".into() }, Expect::Ok),
                req(2, exists("/p/eph", false), Expect::Code(ErrorCode::NoNode)),
            ],
        ),
        // Closing a session deletes its ephemerals and fires the watches on them.
        "session_close_removes_ephemerals_and_fires_watches" => (
            "session_close_removes_ephemerals_and_fires_watches",
            3,
            vec![
                Step::Start,
                open(0, Who::Member(0)),
                open(1, Who::Member(1)),
                req(0, create_mode("/eph", b"mine", 1), Expect::Ok),
                // Another member may lag: sync first, as a ZooKeeper client must.
                req(
                    1,
                    Request::Sync {
                        path: "/eph".into(),
                    },
                    Expect::Ok,
                ),
                req(1, exists("/eph", true), Expect::Ok),
                req(1, get("/eph", true), Expect::Data(b"mine".to_vec())),
                Step::Close { session: 0 },
                event(1, EventType::NodeDeleted, "/eph"),
                req(1, exists("/eph", false), Expect::Code(ErrorCode::NoNode)),
            ],
        ),
        // Services race for an ephemeral /master; the losers watch it; when the holder's
        // session ends, a loser sees it go and takes over; the other loses again.
        "master_election_recipe" => (
            "master_election_recipe",
            3,
            vec![
                Step::Start,
                open(0, Who::Member(0)),
                open(1, Who::Member(1)),
                open(2, Who::Member(2)),
                req(0, create_mode("/master", b"s0", 1), Expect::Ok),
                req(
                    1,
                    create_mode("/master", b"s1", 1),
                    Expect::Code(ErrorCode::NodeExists),
                ),
                req(1, exists("/master", true), Expect::Ok),
                req(
                    2,
                    create_mode("/master", b"s2", 1),
                    Expect::Code(ErrorCode::NodeExists),
                ),
                req(2, exists("/master", true), Expect::Ok),
                Step::Close { session: 0 },
                event(1, EventType::NodeDeleted, "/master"),
                event(2, EventType::NodeDeleted, "/master"),
                req(1, create_mode("/master", b"s1", 1), Expect::Ok),
                req(
                    2,
                    create_mode("/master", b"s2", 1),
                    Expect::Code(ErrorCode::NodeExists),
                ),
                req(
                    2,
                    Request::Sync {
                        path: "/master".into(),
                    },
                    Expect::Ok,
                ),
                req(2, get("/master", false), Expect::Data(b"s1".to_vec())),
            ],
        ),
        // Sequential creates from sessions on three members interleave into one gap-free,
        // strictly increasing sequence.
        "sequential_nodes_are_unique_and_ordered" => {
            let mut steps = vec![
                Step::Start,
                open(0, Who::Member(0)),
                open(1, Who::Member(1)),
                open(2, Who::Member(2)),
                req(0, create("/q", b""), Expect::Ok),
            ];
            for k in 0..10 {
                for s in 0..3 {
                    steps.push(req(s, create_mode("/q/n-", &[k], 2), Expect::Ok));
                }
            }
            let want: Vec<String> = (0..30).map(|n| format!("n-{n:010}")).collect();
            steps.push(req(0, Request::Sync { path: "/q".into() }, Expect::Ok));
            steps.push(req(0, children("/q"), Expect::Children(want)));
            ("sequential_nodes_are_unique_and_ordered", 3, steps)
        }
        // A multi with one failing op changes nothing; one without creates everything.
        "multi_is_all_or_nothing" => {
            let ops = |check_version| {
                Request::Multi(vec![
                    MultiOp::Create(create_request("/m/x", b"", 0)),
                    MultiOp::Create(create_request("/m/y", b"", 0)),
                    MultiOp::Check(CheckVersionRequest {
                        path: "/m".into(),
                        version: check_version,
                    }),
                ])
            };
            (
                "multi_is_all_or_nothing",
                3,
                vec![
                    Step::Start,
                    open(0, Who::Follower(0)),
                    open(1, Who::Leader),
                    req(0, create("/m", b""), Expect::Ok),
                    req(0, ops(7), Expect::MultiFailed(ErrorCode::BadVersion)),
                    req(1, Request::Sync { path: "/m".into() }, Expect::Ok),
                    req(1, children("/m"), Expect::Children(Vec::new())),
                    req(0, ops(0), Expect::Ok),
                    req(1, Request::Sync { path: "/m".into() }, Expect::Ok),
                    req(1, children("/m"), Expect::Children(names(&["x", "y"]))),
                    req(
                        1,
                        Request::Delete(DeleteRequest {
                            path: "/m".into(),
                            version: -1,
                        }),
                        Expect::Code(ErrorCode::NotEmpty),
                    ),
                ],
            )
        }
        // A data watch fires once for the first change (not for the second), and the events
        // of a session arrive in the order of the changes.
        "watches_fire_once_and_in_order" => (
            "watches_fire_once_and_in_order",
            3,
            vec![
                Step::Start,
                open(0, Who::Member(0)),
                open(1, Who::Member(1)),
                req(0, create("/a", b"0"), Expect::Ok),
                req(0, create("/b", b"0"), Expect::Ok),
                req(1, Request::Sync { path: "/".into() }, Expect::Ok),
                req(1, get("/a", true), Expect::Ok),
                req(1, get("/b", true), Expect::Ok),
                req(0, set("/a", b"1"), Expect::Ok),
                req(0, set("/b", b"1"), Expect::Ok),
                req(0, set("/a", b"2"), Expect::Ok),
                event(1, EventType::NodeDataChanged, "/a"),
                event(1, EventType::NodeDataChanged, "/b"),
                // After the sync, the read sees the last change, and its reply comes after
                // any late event: none may be for /a.
                req(1, Request::Sync { path: "/a".into() }, Expect::Ok),
                req(1, get("/a", false), Expect::Data(b"2".to_vec())),
                Step::NoEvent {
                    session: 1,
                    path: "/a".into(),
                    within_ms: 300,
                },
            ],
        ),
        // A client whose server goes away resumes its session on another member: its
        // ephemeral lives on, its requests work, and closing it there deletes the ephemeral.
        "reconnect_to_another_member_keeps_the_session" => (
            "reconnect_to_another_member_keeps_the_session",
            3,
            vec![
                Step::Start,
                open(0, Who::Member(0)),
                open(1, Who::Member(2)),
                req(0, create_mode("/mv", b"kept", 1), Expect::Ok),
                Step::Move {
                    session: 0,
                    to: Who::Member(1),
                },
                req(0, Request::Sync { path: "/mv".into() }, Expect::Ok),
                req(0, get("/mv", false), Expect::Data(b"kept".to_vec())),
                req(0, set("/mv", b"moved"), Expect::Ok),
                req(1, Request::Sync { path: "/mv".into() }, Expect::Ok),
                req(1, exists("/mv", true), Expect::Ok),
                Step::Close { session: 0 },
                event(1, EventType::NodeDeleted, "/mv"),
            ],
        ),
        // Garbage and an oversize frame on one member: it closes those connections, and a
        // well-behaved session on it writes on; nothing acknowledged is lost.
        "hostile_connections_do_not_disturb_the_others" => {
            let mut garbage = vec![0, 0, 3, 232];
            garbage.extend((0..1000u32).map(|k| (k.wrapping_mul(2_654_435_761) >> 24) as u8));
            let mut oversize = 0x7fff_fff0u32.to_be_bytes().to_vec();
            oversize.extend([7; 1024]);
            (
                "hostile_connections_do_not_disturb_the_others",
                3,
                vec![
                    Step::Start,
                    open(0, Who::Member(0)),
                    req(0, create("/h", b""), Expect::Ok),
                    Step::Hostile {
                        on: Who::Member(0),
                        bytes: garbage,
                    },
                    Step::Hostile {
                        on: Who::Member(0),
                        bytes: oversize,
                    },
                    writes(0, "/h/a", 20),
                    Step::AckedEverywhere,
                ],
            )
        }
        // Dynamic reconfiguration: 5 members, two removed while writes go on (they run on as
        // learners without a vote), then the leader killed: the three voters left elect (two
        // of three), every acknowledged write is on every member, removed ones included, and
        // after a restart of everyone.
        "removed_members_keep_following_and_writes_survive_a_leader_kill" => (
            "removed_members_keep_following_and_writes_survive_a_leader_kill",
            5,
            vec![
                Step::Start,
                open(0, Who::Follower(0)),
                req(
                    0,
                    Request::Auth {
                        auth_type: 0,
                        scheme: "digest".into(),
                        auth: super::SUPER_USER.as_bytes().to_vec(),
                    },
                    Expect::Ok,
                ),
                req(0, create("/m", b""), Expect::Ok),
                writes(0, "/m/a", 20),
                req(
                    0,
                    Request::Reconfig(conclave_core::client::ReconfigRequest {
                        joining_servers: None,
                        leaving_servers: Some("4,5".into()),
                        new_members: None,
                        cur_config_id: -1,
                    }),
                    Expect::Ok,
                ),
                writes(0, "/m/b", 20),
                Step::Kill(Who::Leader),
                writes(0, "/m/c", 20),
                Step::AckedEverywhere,
                Step::Restart(Who::All),
                Step::WaitLeader,
                Step::AckedEverywhere,
            ],
        ),
        // The leader cut off from the other members (clients still reach it): a write sent
        // to it is never acknowledged, the majority elects a leader and takes writes, and
        // after the heal every acknowledged write is on every member and the cut-off write
        // on none (the old leader's uncommitted proposal is truncated, not committed).
        "partitioned_leader_commits_nothing_and_the_majority_moves_on" => (
            "partitioned_leader_commits_nothing_and_the_majority_moves_on",
            3,
            vec![
                Step::Start,
                open(0, Who::Leader),
                req(0, create("/p", b""), Expect::Ok),
                writes(0, "/p/a", 20),
                open(1, Who::Follower(0)),
                Step::Isolate(Who::Leader),
                req(0, create("/p/lost", b"x"), Expect::NotOk),
                Step::WaitLeader,
                writes(1, "/p/b", 20),
                Step::Heal,
                Step::AckedEverywhere,
                Step::Absent("/p/lost".into()),
            ],
        ),
        // A follower cut off misses writes; after the heal it catches up and serves them.
        "isolated_follower_catches_up_after_the_heal" => (
            "isolated_follower_catches_up_after_the_heal",
            3,
            vec![
                Step::Start,
                open(0, Who::Leader),
                req(0, create("/i", b""), Expect::Ok),
                writes(0, "/i/a", 10),
                Step::Isolate(Who::Follower(0)),
                writes(0, "/i/b", 30),
                Step::Heal,
                Step::AckedEverywhere,
            ],
        ),
        // Three voters and two observers: a session on an observer writes (forwarded to the
        // leader) and reads what the other observer's session wrote; the voters elect without
        // the observers when the leader dies, and when only one voter is left nobody leads
        // (observers never vote); with everyone back, every acknowledged write is everywhere.
        "observers_forward_writes_and_never_vote" => (
            "observers_forward_writes_and_never_vote",
            5,
            vec![
                Step::Start,
                open(0, Who::Member(3)),
                req(0, create("/o", b""), Expect::Ok),
                writes(0, "/o/a", 10),
                open(1, Who::Member(4)),
                req(1, Request::Sync { path: "/o".into() }, Expect::Ok),
                req(1, get("/o/a-9", false), Expect::Data(b"w".to_vec())),
                Step::Kill(Who::Leader),
                Step::WaitLeader,
                writes(0, "/o/b", 10),
                Step::Kill(Who::Leader),
                Step::NoLeader { for_ms: 3_000 },
                Step::Restart(Who::All),
                Step::WaitLeader,
                Step::AckedEverywhere,
            ],
        ),
        // A client that vanishes without closeSession: its session expires after its
        // timeout, its ephemeral goes, and another session's watch on it fires.
        "session_expiry_removes_ephemerals_and_fires_watches" => (
            "session_expiry_removes_ephemerals_and_fires_watches",
            3,
            vec![
                Step::Start,
                Step::Open {
                    session: 0,
                    on: Who::Member(0),
                    timeout_ms: SHORT_SESSION_MS,
                },
                req(0, create("/x", b""), Expect::Ok),
                req(0, create_mode("/x/eph", b"", 1), Expect::Ok),
                open(1, Who::Member(1)),
                req(1, Request::Sync { path: "/x".into() }, Expect::Ok),
                req(1, exists("/x/eph", true), Expect::Ok),
                Step::Abandon { session: 0 },
                Step::Event {
                    session: 1,
                    kind: EventType::NodeDeleted,
                    path: "/x/eph".into(),
                    within_ms: 9_000,
                },
                req(1, exists("/x/eph", false), Expect::Code(ErrorCode::NoNode)),
                req(1, exists("/x", false), Expect::Ok),
            ],
        ),
        // Fifty connections that never send a byte (half-open clients, a flood under
        // maxClientCnxns) do not keep a session on the same member from working, and the
        // member closes them all (the session-less timeout).
        "idle_connections_are_closed_and_do_not_disturb_the_others" => (
            "idle_connections_are_closed_and_do_not_disturb_the_others",
            3,
            vec![
                Step::Start,
                Step::Flood {
                    on: Who::Member(0),
                    connections: 50,
                },
                open(0, Who::Member(0)),
                req(0, create("/h", b"ok"), Expect::Ok),
                req(0, get("/h", false), Expect::Data(b"ok".to_vec())),
                Step::Close { session: 0 },
                Step::FloodClosed { within_ms: 20_000 },
                open(1, Who::Member(0)),
                req(1, get("/h", false), Expect::Data(b"ok".to_vec())),
            ],
        ),
        _ => return None,
    };
    Some(Scenario {
        name,
        members,
        reconfig: RECONFIGURABLE.contains(&name),
        observers: OBSERVERS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, k)| *k),
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `suite!` expands to one test per name in its own list: it must be this list.
    #[test]
    fn the_suite_macro_lists_every_scenario() {
        let text = include_str!("mod.rs");
        let start = text.find("@tests $make;").expect("the macro's list");
        let list = &text[start..text[start..].find(");").map_or(text.len(), |e| start + e)];
        let listed: Vec<&str> = list
            .lines()
            .skip(1)
            .map(|l| l.trim().trim_end_matches(','))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(listed, NAMES);
        assert_eq!(
            scenarios().len(),
            NAMES.len(),
            "every name builds a scenario"
        );
    }
}
