//! A tiny hand-written HTTP/1.1 responder: GET only, one request per connection, for
//! `GET /metrics` (Prometheus text) and `GET /commands/<name>` (ZooKeeper AdminServer JSON).
//!
//! Why not hyper: two read-only endpoint families with no request bodies, no keep-alive and
//! no streaming fit in a hundred lines; hyper would add a dozen crates for nothing. It reads
//! only the published [`Stats`]; it never touches the node.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::stats::{Counters, Stats};

/// Which family a listener serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `metricsProvider.httpPort`: `/metrics`.
    Metrics,
    /// `admin.serverPort`: `/commands/<name>`.
    Admin,
}

const MAX_REQUEST: usize = 8 * 1024;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `endpoint` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, endpoint: Endpoint, stats: watch::Receiver<Arc<Stats>>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let snap = stats.borrow().clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, respond(stream, endpoint, snap)).await;
        });
    }
}

async fn respond(mut s: TcpStream, endpoint: Endpoint, stats: Arc<Stats>) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut chunk).await?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, ctype, body) = if method != "GET" && method != "HEAD" {
        (
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n".to_string(),
        )
    } else {
        route(endpoint, path, &stats)
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if method != "HEAD" {
        out.push_str(&body);
    }
    s.write_all(out.as_bytes()).await?;
    s.shutdown().await
}

/// The answer for `path`: status line, content type, body.
pub fn route(
    endpoint: Endpoint,
    path: &str,
    stats: &Stats,
) -> (&'static str, &'static str, String) {
    match endpoint {
        Endpoint::Metrics if path == "/metrics" => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            prometheus(stats),
        ),
        Endpoint::Admin => {
            let name = path
                .strip_prefix("/commands/")
                .or_else(|| path.strip_prefix("/commands"))
                .map(|n| n.trim_matches('/'));
            match name.map(|n| admin(n, stats)) {
                Some(Some(json)) => ("200 OK", "application/json", json),
                Some(None) => (
                    "404 Not Found",
                    "application/json",
                    format!(
                        "{{\"command\":{},\"error\":\"Unknown command\"}}",
                        jstr(name.unwrap_or(""))
                    ),
                ),
                None => ("404 Not Found", "text/plain", "try /commands\n".to_string()),
            }
        }
        Endpoint::Metrics => ("404 Not Found", "text/plain", "try /metrics\n".to_string()),
    }
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// `/metrics` in Prometheus text format: ZooKeeper's names where one exists, `conclave_*`
/// otherwise, units last.
pub fn prometheus(s: &Stats) -> String {
    let c = &s.fixed.counters;
    let g = Counters::get;
    let m = &s.metrics;
    let mut o = String::new();
    metric(
        &mut o,
        "znode_count",
        "gauge",
        "Znodes in the data tree",
        s.znode_count,
    );
    metric(
        &mut o,
        "watch_count",
        "gauge",
        "Watch registrations on this server",
        s.watch_count,
    );
    metric(
        &mut o,
        "ephemerals_count",
        "gauge",
        "Ephemeral znodes",
        s.ephemerals_count,
    );
    metric(
        &mut o,
        "approximate_data_size",
        "gauge",
        "Sum of path and data lengths, bytes",
        s.approximate_data_size,
    );
    metric(
        &mut o,
        "num_alive_connections",
        "gauge",
        "Open client connections",
        s.alive_connections,
    );
    metric(
        &mut o,
        "global_sessions",
        "gauge",
        "Sessions in the replicated database",
        s.global_sessions,
    );
    metric(
        &mut o,
        "packets_received",
        "counter",
        "Client packets received",
        s.packets.0,
    );
    metric(
        &mut o,
        "packets_sent",
        "counter",
        "Client packets sent",
        s.packets.1,
    );
    metric(
        &mut o,
        "quorum_size",
        "gauge",
        "Voting members",
        s.fixed.config.voters().count().max(1),
    );
    metric(
        &mut o,
        "uptime",
        "gauge",
        "Time since start, ms",
        s.uptime_ms,
    );
    let _ = writeln!(
        o,
        "# HELP election_time Election duration, ms\n# TYPE election_time summary\n\
         election_time_count {}\nelection_time_sum {}",
        g(&c.elections),
        g(&c.election_ms_sum)
    );
    let _ = writeln!(
        o,
        "# HELP fsynctime Log fsync duration, ms\n# TYPE fsynctime summary\n\
         fsynctime_count {}\nfsynctime_sum {}",
        g(&c.fsync_count),
        g(&c.fsync_micros) as f64 / 1000.0
    );
    metric(
        &mut o,
        "conclave_fsync_max_seconds",
        "gauge",
        "Slowest log fsync",
        g(&c.fsync_max_micros) as f64 / 1e6,
    );
    let _ = writeln!(
        o,
        "# HELP conclave_server_state 1 for the current state\n# TYPE conclave_server_state gauge"
    );
    for st in [
        "leader",
        "follower",
        "observer",
        "standalone",
        "looking",
        "halted",
    ] {
        let v = u8::from(s.server_state() == st);
        let _ = writeln!(o, "conclave_server_state{{state=\"{st}\"}} {v}");
    }
    metric(
        &mut o,
        "conclave_synced",
        "gauge",
        "1 when serving (leader established or follower synced)",
        u8::from(s.synced),
    );
    metric(
        &mut o,
        "conclave_leader_id",
        "gauge",
        "The leader's server id, 0 if none",
        s.leader.unwrap_or(0),
    );
    metric(
        &mut o,
        "conclave_accepted_epoch",
        "gauge",
        "acceptedEpoch",
        s.accepted_epoch,
    );
    metric(
        &mut o,
        "conclave_current_epoch",
        "gauge",
        "currentEpoch",
        s.current_epoch,
    );
    metric(
        &mut o,
        "conclave_last_logged_zxid",
        "gauge",
        "Last logged zxid",
        s.last_zxid.0,
    );
    metric(
        &mut o,
        "conclave_last_committed_zxid",
        "gauge",
        "Last committed zxid",
        s.last_committed.0,
    );
    metric(
        &mut o,
        "conclave_last_applied_zxid",
        "gauge",
        "Last applied zxid",
        s.last_applied.0,
    );
    metric(
        &mut o,
        "conclave_peers_up",
        "gauge",
        "Peers with a live link",
        s.peers_up.len(),
    );
    for (name, help, v) in [
        (
            "conclave_elections_started_total",
            "Elections started",
            m.elections_started,
        ),
        (
            "conclave_elections_decided_total",
            "Elections decided",
            m.elections_decided,
        ),
        (
            "conclave_notifications_sent_total",
            "Election notifications sent",
            m.notifications_sent,
        ),
        (
            "conclave_notifications_received_total",
            "Election notifications received",
            m.notifications_received,
        ),
        (
            "conclave_peer_frames_rejected_total",
            "Peer frames rejected",
            m.peer_frames_rejected,
        ),
        (
            "conclave_peer_links_established_total",
            "Peer links established",
            m.peer_links_established,
        ),
        (
            "conclave_leaderships_established_total",
            "Times this server became leader",
            m.leaderships_established,
        ),
        (
            "conclave_step_downs_total",
            "Times a leader or learner stepped down",
            m.step_downs,
        ),
        (
            "conclave_persist_ops_total",
            "Persist ops issued",
            m.persist_ops,
        ),
        (
            "conclave_txns_applied_total",
            "Txns applied",
            m.txns_applied,
        ),
        (
            "conclave_writes_committed_total",
            "Writes submitted here and committed",
            g(&c.writes_committed),
        ),
        (
            "conclave_writes_failed_total",
            "Writes submitted here that failed",
            g(&c.writes_failed),
        ),
        (
            "conclave_sessions_expired_total",
            "Sessions expired by this server",
            g(&c.sessions_expired),
        ),
        (
            "conclave_client_received_bytes_total",
            "Bytes read from clients",
            g(&c.client_bytes_in),
        ),
        (
            "conclave_client_sent_bytes_total",
            "Bytes queued to clients",
            g(&c.client_bytes_out),
        ),
        (
            "conclave_peer_received_bytes_total",
            "Bytes read from peers",
            g(&c.peer_bytes_in),
        ),
        (
            "conclave_peer_sent_bytes_total",
            "Bytes queued to peers",
            g(&c.peer_bytes_out),
        ),
    ] {
        metric(&mut o, name, "counter", help, v);
    }
    o
}

/// A JSON string literal.
pub fn jstr(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for ch in s.chars() {
        match ch {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON object built field by field.
struct Obj(String);

impl Obj {
    fn new() -> Obj {
        Obj(String::from("{"))
    }
    fn raw(mut self, k: &str, v: impl std::fmt::Display) -> Obj {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        let _ = write!(self.0, "{}:{v}", jstr(k));
        self
    }
    fn str(self, k: &str, v: &str) -> Obj {
        let v = jstr(v);
        self.raw(k, v)
    }
    fn end(mut self, command: &str) -> String {
        self = self.str("command", command).raw("error", "null");
        self.0.push('}');
        self.0
    }
    fn close(mut self) -> String {
        self.0.push('}');
        self.0
    }
}

const COMMANDS: &[&str] = &[
    "conf",
    "leader",
    "mntr",
    "ruok",
    "srvr",
    "stat",
    "voting_view",
];

fn server_stats(s: &Stats) -> String {
    let c = &s.fixed.counters;
    Obj::new()
        .raw("packets_sent", s.packets.1)
        .raw("packets_received", s.packets.0)
        .raw("fsync_threshold_exceed_count", 0)
        .str("server_state", s.server_state())
        .raw("max_latency", 0)
        .raw("min_latency", 0)
        .raw("avg_latency", 0.0)
        .raw("last_processed_zxid", s.last_applied.0)
        .raw("num_alive_client_connections", s.alive_connections)
        .raw("outstanding_requests", 0)
        .raw("auth_failed_count", 0)
        .raw("uptime", s.uptime_ms)
        .raw("data_dir_size", 0)
        .raw("log_dir_size", 0)
        .raw("fsync_count", Counters::get(&c.fsync_count))
        .close()
}

/// The JSON answer of admin command `name`, `None` if unknown.
pub fn admin(name: &str, s: &Stats) -> Option<String> {
    let cfg = &s.fixed.config;
    let me = cfg.servers.get(&s.fixed.my_id);
    Some(match name {
        "" => {
            let list: Vec<String> = COMMANDS.iter().map(|c| jstr(c)).collect();
            Obj::new()
                .raw("commands", format!("[{}]", list.join(",")))
                .end("commands")
        }
        "ruok" | "are_you_ok" => Obj::new().end("ruok"),
        "srvr" | "server_stats" | "stat" | "stats" => {
            let mut o = Obj::new()
                .str("version", conclave_core::server::zk::ZOOKEEPER_VERSION)
                .raw("read_only", false)
                .raw("server_stats", server_stats(s))
                .raw(
                    "client_response",
                    Obj::new()
                        .raw("last_buffer_size", -1)
                        .raw("min_buffer_size", -1)
                        .raw("max_buffer_size", -1)
                        .close(),
                )
                .raw("node_count", s.znode_count);
            if name.starts_with("stat") {
                o = o.raw("connections", "[]");
            }
            o.end(if name.starts_with("stat") {
                "stats"
            } else {
                "server_stats"
            })
        }
        "mntr" | "monitor" => {
            let c = &s.fixed.counters;
            let g = Counters::get;
            let n = g(&c.elections);
            let mut o = Obj::new()
                .str("version", conclave_core::server::zk::ZOOKEEPER_VERSION)
                .raw("avg_latency", 0.0)
                .raw("max_latency", 0)
                .raw("min_latency", 0)
                .raw("packets_received", s.packets.0)
                .raw("packets_sent", s.packets.1)
                .raw("num_alive_connections", s.alive_connections)
                .raw("outstanding_requests", 0)
                .str("server_state", s.server_state())
                .raw("znode_count", s.znode_count)
                .raw("watch_count", s.watch_count)
                .raw("ephemerals_count", s.ephemerals_count)
                .raw("approximate_data_size", s.approximate_data_size)
                .raw("global_sessions", s.global_sessions)
                .raw("local_sessions", 0)
                .raw("uptime", s.uptime_ms)
                .raw("quorum_size", cfg.voters().count().max(1))
                .raw("last_proposal_size", -1)
                .raw("election_time_count", n)
                .raw("election_time_sum", g(&c.election_ms_sum))
                .raw(
                    "min_election_time",
                    if n == 0 { 0 } else { g(&c.election_ms_min) },
                )
                .raw("max_election_time", g(&c.election_ms_max))
                .raw("fsynctime_count", g(&c.fsync_count))
                .raw("txns_applied", s.metrics.txns_applied)
                .raw("last_zxid", s.last_zxid.0)
                .raw("last_applied_zxid", s.last_applied.0);
            if s.role == conclave_core::Role::Leading && cfg.servers.len() > 1 {
                let followers = s.peers_up.len();
                o = o
                    .raw("learners", followers)
                    .raw("synced_followers", followers);
            }
            o.end("monitor")
        }
        "conf" | "configuration" => {
            let mut o = Obj::new()
                .raw("client_port", s.fixed.addrs.client.port())
                .str("data_dir", &s.fixed.data_dir)
                .raw("data_dir_size", 0)
                .str("data_log_dir", &s.fixed.data_dir)
                .raw("data_log_size", 0)
                .raw("tick_time", cfg.tick_time_ms)
                .raw("max_client_cnxns", cfg.max_client_cnxns)
                .raw("min_session_timeout", cfg.min_session_timeout())
                .raw("max_session_timeout", cfg.max_session_timeout())
                .raw("server_id", s.fixed.my_id);
            if let Some(me) = me {
                o = o
                    .raw("init_limit", cfg.init_limit_ticks)
                    .raw("sync_limit", cfg.sync_limit_ticks)
                    .raw("election_alg", cfg.election_alg)
                    .raw("election_port", me.election_port)
                    .raw("quorum_port", me.quorum_port)
                    .raw(
                        "peer_type",
                        u8::from(me.peer_type != conclave_core::PeerType::Participant),
                    )
                    .str("membership", &format!("{}version=0", cfg.ensemble_text()));
            }
            o.end("configuration")
        }
        "leader" | "lead" => {
            let mut o = Obj::new().raw(
                "is_leader",
                s.role == conclave_core::Role::Leading && s.synced,
            );
            if let Some(l) = s.leader {
                o = o.raw("leader_id", l);
                if let Some(spec) = cfg.servers.get(&l) {
                    o = o.str("leader_ip", &spec.host);
                }
            }
            o.end("leader")
        }
        "voting_view" => {
            let mut view = Obj::new();
            for line in cfg.ensemble_text().lines() {
                if let Some((k, v)) = line.strip_prefix("server.").and_then(|l| l.split_once('=')) {
                    if v.contains(":participant") {
                        view = view.str(k, v);
                    }
                }
            }
            Obj::new()
                .raw("current_config", view.close())
                .end("voting_view")
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::ListenAddrs;
    use conclave_core::Config;

    fn stats() -> Stats {
        let cfg = Config::from_zoo_cfg(
            "dataDir=/d\nclientPort=2181\nserver.1=h1:2888:3888\nserver.2=h2:2888:3888\n",
        )
        .unwrap()
        .with_my_id(1)
        .unwrap();
        let addrs = ListenAddrs {
            client: "127.0.0.1:2181".parse().unwrap(),
            peer: None,
            metrics: None,
            admin: None,
        };
        Stats::initial(&cfg, std::path::Path::new("/d"), &addrs, Default::default())
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(jstr("a\"b\\c\n\u{1}"), r#""a\"b\\c\n\u0001""#);
    }

    #[test]
    fn admin_commands_answer_json() {
        let s = stats();
        for c in COMMANDS {
            let (status, ctype, body) = route(Endpoint::Admin, &format!("/commands/{c}"), &s);
            assert_eq!((status, ctype), ("200 OK", "application/json"), "{c}");
            assert!(
                body.starts_with('{') && body.ends_with("\"error\":null}"),
                "{c}: {body}"
            );
        }
        assert!(admin("voting_view", &s)
            .unwrap()
            .contains("\"2\":\"h2:2888:3888:participant\""));
        assert_eq!(
            route(Endpoint::Admin, "/commands/nope", &s).0,
            "404 Not Found"
        );
        assert_eq!(
            route(Endpoint::Metrics, "/commands/ruok", &s).0,
            "404 Not Found"
        );
    }

    #[test]
    fn metrics_use_zookeeper_names() {
        let body = prometheus(&stats());
        for name in [
            "znode_count",
            "watch_count",
            "ephemerals_count",
            "approximate_data_size",
            "num_alive_connections",
            "election_time_count",
            "fsynctime_sum",
        ] {
            assert!(body.lines().any(|l| l.starts_with(name)), "{name} missing");
        }
    }
}
