//! ZooKeeper's AdminServer answers (`GET /commands/<name>`) as JSON, rendered from the same
//! [`ServerView`] as the four-letter words, so the two never disagree: `mntr`'s fields are the
//! very list the four-letter `mntr` prints.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use serde_json::{Map, Number, Value};

use super::view::{MntrValue, Role, ServerView};
use crate::server::fourlw::mntr_values;

/// The commands served, by their primary names (aliases are accepted too).
pub(crate) const COMMANDS: &[&str] = &[
    "configuration",
    "connections",
    "dirs",
    "environment",
    "is_read_only",
    "leader",
    "monitor",
    "ruok",
    "server_stats",
    "stats",
    "voting_view",
    "watch_summary",
];

fn primary(name: &str) -> Option<&'static str> {
    Some(match name {
        "conf" | "configuration" => "configuration",
        "cons" | "connections" => "connections",
        "dirs" => "dirs",
        "envi" | "environment" => "environment",
        "isro" | "is_read_only" => "is_read_only",
        "lead" | "leader" => "leader",
        "mntr" | "monitor" => "monitor",
        "ruok" => "ruok",
        "srvr" | "server_stats" => "server_stats",
        "stat" | "stats" => "stats",
        "voting_view" => "voting_view",
        "wchs" | "watch_summary" => "watch_summary",
        _ => return None,
    })
}

fn value(v: &MntrValue) -> Value {
    match v {
        MntrValue::Int(i) => i64::try_from(*i).map_or(Value::Null, Value::from),
        MntrValue::Float(text) => text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        MntrValue::Str(s) => Value::String(s.clone()),
    }
}

fn server_stats(v: &ServerView<'_>) -> Value {
    let lat = &v.request_latency;
    let mut m = Map::new();
    m.insert("packets_sent".into(), v.packets_sent.into());
    m.insert("packets_received".into(), v.packets_received.into());
    m.insert("server_state".into(), v.role.server_state().into());
    m.insert("max_latency".into(), lat.max_or_zero().into());
    m.insert("min_latency".into(), lat.min_or_zero().into());
    m.insert("avg_latency".into(), value(&MntrValue::Float(lat.avg())));
    m.insert("last_processed_zxid".into(), v.last_zxid.into());
    m.insert(
        "num_alive_client_connections".into(),
        (v.alive_connections as u64).into(),
    );
    m.insert("outstanding_requests".into(), v.outstanding_requests.into());
    m.insert("auth_failed_count".into(), v.auth_failed_count.into());
    m.insert("uptime".into(), v.uptime_ms.into());
    m.insert("data_dir_size".into(), v.data_dir_size.into());
    m.insert("log_dir_size".into(), v.log_dir_size.into());
    m.insert("fsync_count".into(), v.metrics.fsync_time_us.count.into());
    Value::Object(m)
}

/// The JSON body for admin command `name` (any ZooKeeper alias), `None` if unknown.
pub(crate) fn render(name: &str, v: &ServerView<'_>) -> Option<String> {
    let mut m = Map::new();
    let command = if name.is_empty() {
        m.insert(
            "commands".into(),
            Value::Array(COMMANDS.iter().map(|c| Value::from(*c)).collect()),
        );
        "commands"
    } else {
        let command = primary(name)?;
        fill(command, v, &mut m);
        command
    };
    m.insert("command".into(), command.into());
    m.insert("error".into(), Value::Null);
    Some(Value::Object(m).to_string())
}

fn fill(command: &str, v: &ServerView<'_>, m: &mut Map<String, Value>) {
    let config = v.config;
    match command {
        "ruok" => {}
        "server_stats" | "stats" => {
            m.insert("version".into(), v.version.into());
            m.insert("read_only".into(), (v.role == Role::ReadOnly).into());
            m.insert("server_stats".into(), server_stats(v));
            let r = &v.client_response_sizes;
            let mut resp = Map::new();
            resp.insert("last_buffer_size".into(), r.last.into());
            resp.insert("min_buffer_size".into(), r.min.into());
            resp.insert("max_buffer_size".into(), r.max.into());
            m.insert("client_response".into(), Value::Object(resp));
            m.insert("node_count".into(), (v.node_count as u64).into());
            if command == "stats" {
                m.insert("connections".into(), connections(v));
            }
        }
        "connections" => {
            m.insert("connections".into(), connections(v));
            m.insert("secure_connections".into(), Value::Array(Vec::new()));
        }
        "monitor" => {
            for (k, val) in mntr_values(v) {
                m.insert(k, value(&val));
            }
        }
        "configuration" => {
            for (k, val) in v.conf {
                let json = match val.parse::<i64>() {
                    Ok(n) => Value::from(n),
                    Err(_) => Value::from(val.as_str()),
                };
                m.insert(snake_case(k), json);
            }
            if let Some(membership) = v.membership {
                m.insert("membership".into(), membership.into());
            }
        }
        "environment" => {
            m.insert("zookeeper.version".into(), v.version.into());
            for (k, val) in v.env {
                m.insert((*k).into(), val.as_str().into());
            }
        }
        "dirs" => {
            m.insert("datadir_size".into(), v.data_dir_size.into());
            m.insert("logdir_size".into(), v.log_dir_size.into());
        }
        "is_read_only" => {
            m.insert("read_only".into(), (v.role == Role::ReadOnly).into());
        }
        "leader" => {
            let node = &v.node;
            let leading = node.role == crate::io::Role::Leading && node.synced;
            m.insert("is_leader".into(), leading.into());
            if let Some(l) = node.leader {
                m.insert("leader_id".into(), l.into());
                if let Some(spec) = config.and_then(|c| c.servers.get(&l)) {
                    m.insert("leader_ip".into(), spec.host.as_str().into());
                }
            }
        }
        "voting_view" => {
            let mut view = Map::new();
            let text = config.map(|c| c.ensemble_text()).unwrap_or_default();
            for line in text.lines() {
                if let Some((id, spec)) =
                    line.strip_prefix("server.").and_then(|l| l.split_once('='))
                {
                    if spec.contains(":participant") {
                        view.insert(id.into(), spec.into());
                    }
                }
            }
            m.insert("current_config".into(), Value::Object(view));
        }
        "watch_summary" => {
            let w = &v.watch_summary;
            m.insert("num_connections".into(), (w.connections as u64).into());
            m.insert("num_paths".into(), (w.paths as u64).into());
            m.insert("num_total_watches".into(), (w.total as u64).into());
        }
        _ => {}
    }
}

fn connections(v: &ServerView<'_>) -> Value {
    Value::Array(
        v.connections
            .iter()
            .map(|c| {
                let mut o = Map::new();
                o.insert("remote_socket_address".into(), c.remote.to_string().into());
                o.insert("interest_ops".into(), c.interest_ops.into());
                o.insert("outstanding_requests".into(), c.queued.into());
                o.insert("packets_received".into(), c.received.into());
                o.insert("packets_sent".into(), c.sent.into());
                if c.session_id != 0 {
                    o.insert(
                        "session_id".into(),
                        alloc::format!("0x{:x}", c.session_id).into(),
                    );
                    o.insert("last_operation".into(), c.last_op.into());
                    o.insert("session_timeout".into(), c.session_timeout_ms.into());
                    o.insert(
                        "last_cxid".into(),
                        alloc::format!("0x{:x}", c.last_cxid).into(),
                    );
                    o.insert(
                        "last_zxid".into(),
                        alloc::format!("0x{:x}", c.last_zxid).into(),
                    );
                    o.insert("last_latency".into(), c.last_latency_ms.into());
                    o.insert("min_latency".into(), c.latency.min_or_zero().into());
                    o.insert("avg_latency".into(), c.latency.avg_truncated().into());
                    o.insert("max_latency".into(), c.latency.max_or_zero().into());
                }
                Value::Object(o)
            })
            .collect(),
    )
}

/// `clientPort` → `client_port`, as the AdminServer names the `conf` keys.
fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for ch in key.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}
