//! `/metrics` in Prometheus' text format, rendered from the same [`ServerView`] as `mntr`:
//! every numeric `mntr` field under its ZooKeeper name (`znode_count`, `synced_followers`,
//! `approximate_data_size`, …), ZooKeeper's summaries (`election_time`, `fsynctime`), then
//! Conclave's own figures with a `conclave_` prefix and units last.

use alloc::string::String;
use core::fmt::Write;

use super::view::{MntrValue, ServerView};
use crate::metrics::Summary;
use crate::server::fourlw::mntr_values;

fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: impl core::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

fn summary(out: &mut String, name: &str, help: &str, s: &Summary, scale: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} summary\n{name}_count {}\n{name}_sum {}",
        s.count,
        s.sum as f64 / scale
    );
}

/// The `mntr` fields that are summaries here (rendered by [`summary`]), or text.
fn skipped(key: &str) -> bool {
    key.ends_with("_election_time") || key == "version" || key == "server_state"
}

/// The whole `/metrics` page.
pub(crate) fn render(v: &ServerView<'_>) -> String {
    let mut o = String::new();
    for (key, val) in mntr_values(v) {
        if skipped(&key) {
            continue;
        }
        match val {
            MntrValue::Int(n) => metric(&mut o, &key, "gauge", "ZooKeeper mntr value", n),
            MntrValue::Float(f) => metric(&mut o, &key, "gauge", "ZooKeeper mntr value", f),
            MntrValue::Str(_) => {}
        }
    }
    let m = &v.metrics;
    summary(
        &mut o,
        "election_time",
        "Election duration, ms",
        &m.election_time_ms,
        1.0,
    );
    summary(
        &mut o,
        "fsynctime",
        "Log fsync duration, ms",
        &m.fsync_time_us,
        1000.0,
    );
    let _ = writeln!(
        o,
        "# HELP conclave_server_state 1 for the current state\n# TYPE conclave_server_state gauge"
    );
    let state = v.node.state_name();
    for st in [
        "leader",
        "follower",
        "observer",
        "standalone",
        "looking",
        "halted",
    ] {
        let _ = writeln!(
            o,
            "conclave_server_state{{state=\"{st}\"}} {}",
            u8::from(state == st)
        );
    }
    let n = &v.node;
    for (name, help, value) in [
        (
            "conclave_synced",
            "1 when serving (leader established or follower synced)",
            u64::from(n.synced),
        ),
        (
            "conclave_leader_id",
            "The leader's server id, 0 if none",
            n.leader.unwrap_or(0),
        ),
        (
            "conclave_accepted_epoch",
            "acceptedEpoch",
            u64::from(n.accepted_epoch),
        ),
        (
            "conclave_current_epoch",
            "currentEpoch",
            u64::from(n.current_epoch),
        ),
        (
            "conclave_last_logged_zxid",
            "Last logged zxid",
            n.last_logged.0,
        ),
        (
            "conclave_last_committed_zxid",
            "Last committed zxid",
            n.last_committed.0,
        ),
        (
            "conclave_last_applied_zxid",
            "Last applied zxid",
            n.last_applied.0,
        ),
        (
            "conclave_peers_up",
            "Peers with a live link",
            n.peers_up as u64,
        ),
        ("conclave_fsync_max_seconds", "", 0),
    ] {
        if name == "conclave_fsync_max_seconds" {
            let max = m.fsync_time_us.max_or_zero() as f64 / 1e6;
            metric(&mut o, name, "gauge", "Slowest log fsync", max);
            continue;
        }
        metric(&mut o, name, "gauge", help, value);
    }
    let r = &v.requests;
    for (name, help, value) in [
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
            "conclave_peer_duplicate_requests_total",
            "Forwarded requests dropped as duplicates",
            m.peer_duplicate_requests,
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
            "Client writes submitted here and committed",
            r.writes_committed,
        ),
        (
            "conclave_writes_failed_total",
            "Client writes submitted here answered with an error",
            r.writes_failed,
        ),
        (
            "conclave_sessions_expired_total",
            "Sessions expired by this server",
            m.sessions_expired,
        ),
        (
            "conclave_client_received_bytes_total",
            "Bytes read from clients",
            m.client_bytes_received,
        ),
        (
            "conclave_client_sent_bytes_total",
            "Bytes sent to clients",
            m.client_bytes_sent,
        ),
        (
            "conclave_peer_received_bytes_total",
            "Bytes read from peers",
            m.peer_bytes_received,
        ),
        (
            "conclave_peer_sent_bytes_total",
            "Bytes sent to peers",
            m.peer_bytes_sent,
        ),
    ] {
        metric(&mut o, name, "counter", help, value);
    }
    let _ = writeln!(
        o,
        "# HELP conclave_requests_total Client requests answered, by operation and outcome\n\
         # TYPE conclave_requests_total counter"
    );
    for (op, outcome) in &r.by_op {
        let _ = writeln!(
            o,
            "conclave_requests_total{{op=\"{op}\",outcome=\"ok\"}} {}",
            outcome.ok
        );
        let _ = writeln!(
            o,
            "conclave_requests_total{{op=\"{op}\",outcome=\"error\"}} {}",
            outcome.errors
        );
    }
    o
}
