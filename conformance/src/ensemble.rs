//! The simulated ensemble's configuration and the disk contents its servers start from.

use std::collections::BTreeMap;
use std::fmt::Write;

use conclave_core::client::{perms, Acl, Id};
use conclave_core::codec::epochs::{encode_epoch, ACCEPTED_EPOCH_FILE, CURRENT_EPOCH_FILE};
use conclave_core::codec::log::{encode_log_record, log_file_name, LOG_HEADER};
use conclave_core::codec::snapshot::{encode_snapshot, snapshot_file_name};
use conclave_core::codec::{Txn, TxnHeader};
use conclave_core::rng::Prng;
use conclave_core::tree::{CreateTxn, ZkTxn};
use conclave_core::ZkService;
use conclave_core::{RegisterMap, ReplicatedState};

use crate::server_node::ServiceKind;
use conclave_core::{Config, ServerId, Zxid};

/// tickTime of the generated `zoo.cfg`, ms.
pub const TICK_TIME_MS: u32 = 200;
/// initLimit of the generated `zoo.cfg`, ticks (2 s).
pub const INIT_LIMIT_TICKS: u32 = 10;
/// syncLimit of the generated `zoo.cfg`, ticks (1 s; also the peer link idle limit).
pub const SYNC_LIMIT_TICKS: u32 = 5;

/// The super user's password in a reconfigurable simulated ensemble (`super:secret`).
pub const SUPER_USER: &str = "super:secret";

/// The `server.N` line of simulated server `id` with `role`, as a reconfig names it.
pub fn server_line(id: ServerId, role: &str) -> String {
    format!(
        "server.{id}=127.0.0.1:{}:{}:{role};2181",
        2888 + id,
        3888 + id
    )
}

/// The `zoo.cfg` text of an ensemble of `voters` participants followed by `observers`;
/// `reconfig` enables dynamic reconfiguration, with [`SUPER_USER`] allowed to run it.
///
/// Server `i` listens on `127.0.0.1:(2888+i):(3888+i)`; observers end in `:observer`.
pub fn zoo_cfg(voters: usize, observers: usize, reconfig: bool) -> String {
    let mut text = format!(
        "tickTime={TICK_TIME_MS}\ninitLimit={INIT_LIMIT_TICKS}\nsyncLimit={SYNC_LIMIT_TICKS}\n\
         dataDir=/var/lib/conclave-sim\nclientPort=2181\n"
    );
    if reconfig {
        text.push_str(
            "reconfigEnabled=true\n\
             DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=\n",
        );
    }
    for i in 1..=(voters + observers) {
        let suffix = if i > voters { ":observer" } else { "" };
        let _ = writeln!(
            text,
            "server.{i}=127.0.0.1:{}:{}{suffix}",
            2888 + i,
            3888 + i
        );
    }
    text
}

/// Per-server configurations (each `with_my_id`) and the election address → id table.
#[derive(Clone, Debug)]
pub struct Ensemble {
    /// Each server's configuration, by id.
    pub configs: BTreeMap<ServerId, Config>,
    /// `host:electionPort` → server id: how the network resolves an `Output::Dial`.
    pub addresses: BTreeMap<String, ServerId>,
    /// Voting member ids, ascending.
    pub voters: Vec<ServerId>,
}

impl Ensemble {
    /// Parses the generated `zoo.cfg` with the core's own parser, once per server.
    ///
    /// Panics if the core rejects it: that is a bug in this generator (or the parser).
    pub fn new(voters: usize, observers: usize, reconfig: bool) -> Ensemble {
        let text = zoo_cfg(voters, observers, reconfig);
        let base = Config::from_zoo_cfg(&text)
            .unwrap_or_else(|e| panic!("generated zoo.cfg rejected: {e}\n{text}"));
        let mut configs = BTreeMap::new();
        let mut addresses = BTreeMap::new();
        for spec in base.servers.values() {
            addresses.insert(format!("{}:{}", spec.host, spec.election_port), spec.id);
            let cfg = base
                .clone()
                .with_my_id(spec.id)
                .unwrap_or_else(|e| panic!("with_my_id({}) rejected: {e}", spec.id));
            configs.insert(spec.id, cfg);
        }
        Ensemble {
            configs,
            addresses,
            voters: base.voters().collect(),
        }
    }
}

/// The txn every pre-history holds at `zxid`: the same bytes on every server that has it, so
/// two servers never disagree about a zxid they were both given. Session 0 is reserved for
/// pre-history (clients are 1..).
///
/// For ZooKeeper it creates `/pre-<epoch>-<counter>`: a log holds counters `1..=c` of one
/// epoch on top of the empty tree, so the root's stored cversion after counter `c` is `c`.
pub fn pre_history_txn(zxid: Zxid, kind: ServiceKind) -> Txn {
    let (kind, body) = match kind {
        ServiceKind::RegisterMap => (0, RegisterMap::write(u64::from(zxid.counter() % 8), zxid.0)),
        ServiceKind::ZooKeeper => {
            let txn = ZkTxn::Create(CreateTxn {
                path: format!("/pre-{}-{}", zxid.epoch(), zxid.counter()),
                data: Some(zxid.0.to_be_bytes().to_vec()),
                acl: vec![Acl {
                    perms: perms::ALL,
                    id: Id {
                        scheme: "world".into(),
                        id: "anyone".into(),
                    },
                }],
                ephemeral_owner: 0,
                parent_cversion: zxid.counter() as i32,
                with_stat: false,
            });
            (txn.kind(), txn.encode())
        }
    };
    Txn {
        header: TxnHeader {
            zxid,
            session_id: 0,
            cxid: pre_history_cxid(zxid),
            time_ms: 0,
            kind,
        },
        body: body.into(),
    }
}

/// The cxid of the pre-history txn at `zxid`.
pub fn pre_history_cxid(zxid: Zxid) -> i32 {
    (zxid.epoch() * 1_000 + zxid.counter()) as i32
}

/// A plausible random starting data directory: `epoch(last_zxid) <= currentEpoch <=
/// acceptedEpoch`, `snapshot.0` (the empty state) and one log segment holding counters
/// `1..=c` of one epoch, each txn being [`pre_history_txn`].
///
/// currentEpoch in 0..=2, acceptedEpoch up to two above it, the last zxid in an epoch no
/// later than currentEpoch with a counter below 20: enough spread that the election order
/// (epoch, zxid, id) is exercised on every component.
pub fn random_disk(rng: &mut Prng, kind: ServiceKind) -> Vec<(String, Vec<u8>)> {
    let current_epoch = rng.below(3) as u32;
    let accepted_epoch = current_epoch + rng.below(3) as u32;
    let zxid_epoch = rng.below(current_epoch as u64 + 1) as u32;
    let counter = rng.below(20) as u32;
    let mut files = vec![
        (
            ACCEPTED_EPOCH_FILE.to_string(),
            encode_epoch(accepted_epoch),
        ),
        (CURRENT_EPOCH_FILE.to_string(), encode_epoch(current_epoch)),
    ];
    let mut snap = Vec::new();
    let empty = match kind {
        ServiceKind::RegisterMap => RegisterMap::default().snapshot(),
        ServiceKind::ZooKeeper => ZkService::default().snapshot(),
    };
    encode_snapshot(Zxid::ZERO, &empty, &mut snap);
    files.push((snapshot_file_name(Zxid::ZERO), snap));
    if counter > 0 {
        let first = Zxid::new(zxid_epoch, 1);
        let mut log = LOG_HEADER.to_vec();
        for c in 1..=counter {
            encode_log_record(&pre_history_txn(Zxid::new(zxid_epoch, c), kind), &mut log);
        }
        files.push((log_file_name(first), log));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::recovery::DiskState;

    #[test]
    fn generated_cfg_parses_with_observers() {
        let e = Ensemble::new(5, 2, false);
        assert_eq!(e.voters, vec![1, 2, 3, 4, 5]);
        assert_eq!(e.configs.len(), 7);
        assert!(!e.configs[&7].is_voter(7));
        assert_eq!(e.addresses["127.0.0.1:3891"], 3);
    }

    #[test]
    fn random_disks_are_consistent() {
        let mut rng = Prng::new(3);
        for i in 0..300 {
            let kind = if i % 2 == 0 {
                ServiceKind::ZooKeeper
            } else {
                ServiceKind::RegisterMap
            };
            let d = DiskState::from_files(&random_disk(&mut rng, kind)).expect("recoverable");
            assert!(d.last_zxid.epoch() <= d.current_epoch && d.current_epoch <= d.accepted_epoch);
            assert!(d.snapshot.is_some());
            assert_eq!(d.txns.len() as u32, d.last_zxid.counter());
        }
    }
}
