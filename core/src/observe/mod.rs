//! What a server tells its operators, written once for every adapter: one [`ServerView`]
//! built by the node, rendered as the four-letter words ([`crate::server::fourlw`]), the
//! AdminServer's JSON ([`admin`]) and Prometheus text ([`prometheus`]), and the HTTP endpoints
//! that serve the latter two ([`http`]).

pub(crate) mod admin;
pub(crate) mod http;
pub(crate) mod prometheus;
pub(crate) mod view;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub use http::HttpEndpoint;
pub(crate) use view::{NodeFacts, RequestStats, ServerView};

use crate::config::Config;

/// The version string clients see (`envi`, `srvr`): a 3.9 server, so they enable 3.5+ features.
pub(crate) const ZOOKEEPER_VERSION: &str = concat!("3.9.3-conclave-", env!("CARGO_PKG_VERSION"));

/// `conf`'s `key=value` lines, in ZooKeeper's order.
pub(crate) fn conf_lines(config: &Config) -> Vec<(&'static str, String)> {
    let mut lines = alloc::vec![
        ("clientPort", format!("{}", config.client_port.unwrap_or(0))),
        ("dataDir", config.data_dir.clone().unwrap_or_default()),
        (
            "dataLogDir",
            config
                .data_log_dir
                .clone()
                .or_else(|| config.data_dir.clone())
                .unwrap_or_default(),
        ),
        ("tickTime", format!("{}", config.tick_time_ms)),
        ("maxClientCnxns", format!("{}", config.max_client_cnxns)),
        (
            "minSessionTimeout",
            format!("{}", config.min_session_timeout())
        ),
        (
            "maxSessionTimeout",
            format!("{}", config.max_session_timeout())
        ),
        ("serverId", format!("{}", config.my_id)),
    ];
    if let Some(me) = config.servers.get(&config.my_id) {
        lines.extend([
            ("initLimit", format!("{}", config.init_limit_ticks)),
            ("syncLimit", format!("{}", config.sync_limit_ticks)),
            ("electionAlg", format!("{}", config.election_alg)),
            ("electionPort", format!("{}", me.election_port)),
            ("quorumPort", format!("{}", me.quorum_port)),
            (
                "peerType",
                format!(
                    "{}",
                    u8::from(me.peer_type != crate::config::PeerType::Participant)
                ),
            ),
        ]);
    }
    lines
}

/// `conf`'s membership block in an ensemble: the membership in force as `/zookeeper/config`
/// holds it (server lines, then `version=` in hex, without a final newline), as ZooKeeper
/// prints it.
pub(crate) fn membership(config: &Config) -> Option<String> {
    (!config.servers.is_empty()).then(|| crate::config::Membership::from_config(config).text())
}
