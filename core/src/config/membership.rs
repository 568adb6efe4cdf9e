//! The ensemble's membership as a value that changes at run time (ZooKeeper 3.5+ dynamic
//! configuration): the `server.N` lines plus a version, its text form (the data of
//! `/zookeeper/config` and of a `dynamicConfigFile`), and the two forms of `reconfig` that
//! compute the next membership from the current one.

#[allow(unused_imports)]
use super::*;
use alloc::format;

/// Who is in the ensemble, and since which reconfiguration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The members by id.
    pub servers: BTreeMap<ServerId, ServerSpec>,
    /// The zxid of the reconfiguration that made it (0 for a configuration from files,
    /// unless the dynamic file says otherwise).
    pub version: u64,
}

/// Why a reconfiguration was refused before it was proposed; each maps to one ZooKeeper
/// error code (see [`ReconfigError::code`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReconfigError {
    /// A server line or id does not parse, or the new membership breaks a rule
    /// (BADARGUMENTS, as ZooKeeper).
    BadArguments(String),
    /// A server id is not a number (MARSHALLINGERROR: ZooKeeper's uncaught
    /// NumberFormatException), or a bulk membership has no voter.
    Marshalling(String),
    /// `-from` names a version that is not the current one (BADVERSION).
    StaleVersion {
        /// The version the client expected.
        expected: i64,
        /// The current version.
        current: u64,
    },
}

impl ReconfigError {
    /// The ZooKeeper error code the client receives.
    pub fn code(&self) -> crate::client::ErrorCode {
        match self {
            ReconfigError::BadArguments(_) => crate::client::ErrorCode::BadArguments,
            ReconfigError::Marshalling(_) => crate::client::ErrorCode::MarshallingError,
            ReconfigError::StaleVersion { .. } => crate::client::ErrorCode::BadVersion,
        }
    }
}

impl fmt::Display for ReconfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReconfigError::BadArguments(why) | ReconfigError::Marshalling(why) => {
                f.write_str(why)
            }
            ReconfigError::StaleVersion { expected, current } => write!(
                f,
                "reconfiguration from version {expected:x} failed: the current version is {current:x}"
            ),
        }
    }
}

fn bad(why: impl Into<String>) -> ReconfigError {
    ReconfigError::BadArguments(why.into())
}

impl Membership {
    /// The membership a configuration file gives (its `server.N` lines and version).
    pub fn from_config(config: &Config) -> Membership {
        Membership {
            servers: config.servers.clone(),
            version: config.config_version,
        }
    }

    /// The ids of the voting members, ascending.
    pub fn voters(&self) -> impl Iterator<Item = ServerId> + '_ {
        voters_in(&self.servers)
    }

    /// Whether `id` is a voting member.
    pub fn is_voter(&self, id: ServerId) -> bool {
        votes_in(&self.servers, id)
    }

    /// The text ZooKeeper keeps in `/zookeeper/config`: one `server.N=` line per member
    /// (a client port given alone shows as `0.0.0.0:port`, as ZooKeeper prints it), then
    /// `version=` and the version in hex, without a final newline.
    pub fn text(&self) -> String {
        let mut servers = self.servers.clone();
        for s in servers.values_mut() {
            if s.client_port.is_some() && s.client_address.is_none() {
                s.client_address = Some(String::from("0.0.0.0"));
            }
        }
        let servers = Config {
            servers,
            ..Config::default()
        };
        format!("{}version={:x}", servers.ensemble_text(), self.version)
    }

    /// Parses the text of `/zookeeper/config` or of a dynamic configuration file:
    /// `server.N=` lines, an optional `version=<hex>` line, blank and `#` lines.
    pub fn parse(text: &str) -> Result<Membership, ReconfigError> {
        let mut m = Membership {
            servers: BTreeMap::new(),
            version: 0,
        };
        for raw in text.split('\n') {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(v) = line.strip_prefix("version=") {
                m.version = u64::from_str_radix(v.trim(), 16)
                    .map_err(|_| bad(format!("version '{}' is not hexadecimal", v.trim())))?;
                continue;
            }
            let spec = parse_member(line)?;
            m.add(spec)?;
        }
        Ok(m)
    }

    /// Adds (or replaces) a member after checking its addresses against the others.
    fn add(&mut self, spec: ServerSpec) -> Result<(), ReconfigError> {
        for other in self.servers.values().filter(|o| o.id != spec.id) {
            let same_host = other.host.eq_ignore_ascii_case(&spec.host);
            for port in [spec.quorum_port, spec.election_port] {
                if same_host && (port == other.quorum_port || port == other.election_port) {
                    return Err(bad(format!(
                        "server.{}: {}:{port} is already used by server.{}",
                        spec.id, spec.host, other.id
                    )));
                }
            }
        }
        self.servers.insert(spec.id, spec);
        Ok(())
    }

    /// The membership after an incremental reconfig (`-add` / `-remove`), as ZooKeeper's
    /// PrepRequestProcessor computes it: leaving ids are dropped (an id that is not a
    /// member is ignored), then each joining `server.N=...` entry is added or replaces
    /// member N. A joining entry must name its client port.
    pub fn incremental(
        &self,
        joining: Option<&str>,
        leaving: Option<&str>,
    ) -> Result<Membership, ReconfigError> {
        let mut next = self.clone();
        for id in split_list(leaving) {
            let id = parse_id(id)?;
            next.servers.remove(&id);
        }
        for entry in split_list(joining) {
            let spec = parse_member(entry)?;
            if spec.client_port.is_none() {
                return Err(bad(format!(
                    "server.{}: a joining server must name its client port (;[address:]port)",
                    spec.id
                )));
            }
            next.add(spec)?;
        }
        Ok(next)
    }

    /// The membership of a bulk reconfig (`-members`): exactly the entries given,
    /// separated by commas or newlines (a `version=` among them is ignored, as ZooKeeper).
    pub fn bulk(members: &str) -> Result<Membership, ReconfigError> {
        let text = members.replace(',', "\n");
        let m = Membership::parse(&text)?;
        if m.voters().next().is_none() {
            return Err(ReconfigError::Marshalling(String::from(
                "the new configuration has no voting member",
            )));
        }
        Ok(Membership { version: 0, ..m })
    }

    /// Checks what every new membership must satisfy (ZooKeeper: at least two voters while
    /// `standaloneEnabled`, else at least one).
    pub fn check_voters(&self, standalone_enabled: bool) -> Result<(), ReconfigError> {
        let voters = self.voters().count();
        let least = if standalone_enabled { 2 } else { 1 };
        if voters < least {
            return Err(bad(format!(
                "the new configuration has {voters} voting members; at least {least} are needed"
            )));
        }
        Ok(())
    }
}

/// The entries of a comma-separated reconfig argument (`None` or empty: none).
fn split_list(list: Option<&str>) -> impl Iterator<Item = &str> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn parse_id(text: &str) -> Result<ServerId, ReconfigError> {
    match parse_decimal(text) {
        Ok(n) if (1..=MAX_SERVER_ID).contains(&n) => Ok(n),
        Ok(_) => Err(bad(format!(
            "'{text}' is not a server id (1-{MAX_SERVER_ID})"
        ))),
        Err(_) => Err(ReconfigError::Marshalling(format!(
            "'{text}' is not a server id (1-{MAX_SERVER_ID})"
        ))),
    }
}

/// Parses one `server.N=host:port:port[:role][;[addr:]port]` entry.
fn parse_member(entry: &str) -> Result<ServerSpec, ReconfigError> {
    let (key, value) = entry.split_once('=').ok_or_else(|| {
        bad(format!(
            "'{entry}' is not server.N=host:port:port[:role];port"
        ))
    })?;
    // As ZooKeeper: the id is what follows the key's last '.'.
    let key = key.trim();
    let id = parse_id(key.rsplit('.').next().unwrap_or(key))?;
    parse_server_value(id, value.trim()).map_err(|why| bad(format!("server.{id}: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use proptest::prelude::*;

    fn arb_spec(id: ServerId) -> impl Strategy<Value = ServerSpec> {
        (
            prop_oneof![
                Just("127.0.0.1".to_string()),
                "[a-z]{1,8}(\\.[a-z]{1,5})?",
                Just("::1".to_string())
            ],
            1u16..,
            1u16..,
            any::<bool>(),
            proptest::option::of((proptest::option::of(Just("10.0.0.1".to_string())), 1u16..)),
        )
            .prop_map(move |(host, q, e, observer, client)| ServerSpec {
                id,
                host,
                quorum_port: q,
                election_port: e,
                peer_type: if observer {
                    PeerType::Observer
                } else {
                    PeerType::Participant
                },
                client_address: client.as_ref().and_then(|(a, _)| a.clone()),
                client_port: client.map(|(_, p)| p),
            })
    }

    proptest! {
        /// What a reconfig writes into `/zookeeper/config` reads back as the same membership,
        /// and reading never panics on whatever a node holds.
        #[test]
        fn the_config_text_reads_back_as_the_same_membership(
            specs in proptest::collection::vec((1u64..=255).prop_flat_map(arb_spec), 0..6),
            version in any::<u64>(),
        ) {
            let m = Membership { servers: specs.into_iter().map(|s| (s.id, s)).collect(), version };
            let back = Membership::parse(&m.text()).unwrap();
            prop_assert_eq!(back.version, m.version);
            prop_assert_eq!(back.servers.keys().collect::<Vec<_>>(), m.servers.keys().collect::<Vec<_>>());
            for (id, s) in &m.servers {
                let b = &back.servers[id];
                prop_assert_eq!((&b.host, b.quorum_port, b.election_port, b.peer_type, b.client_port),
                    (&s.host, s.quorum_port, s.election_port, s.peer_type, s.client_port));
            }
            prop_assert_eq!(back.text(), m.text());
        }

        #[test]
        fn parsing_and_reconfiguring_never_panic(text in any::<String>(), joining in any::<String>(), leaving in any::<String>()) {
            let _ = Membership::parse(&text);
            let _ = Membership::bulk(&text);
            if let Ok(m) = Membership::parse(&text) {
                let _ = m.incremental(Some(&joining), Some(&leaving));
            }
        }
    }

    const THREE: &str = "server.1=127.0.0.1:2888:3888:participant;2181\n\
                         server.2=127.0.0.1:2889:3889:participant;2182\n\
                         server.3=127.0.0.1:2890:3890:participant;2183\n\
                         version=100000000";

    #[test]
    fn text_round_trips_with_a_hex_version() {
        let m = Membership::parse(THREE).unwrap();
        assert_eq!(m.version, 0x1_0000_0000);
        assert_eq!(m.voters().collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(m.text(), THREE.replace(";2", ";0.0.0.0:2"));
        let again = Membership::parse(&m.text()).unwrap();
        assert_eq!((again.text(), again.version), (m.text(), m.version));
    }

    #[test]
    fn incremental_adds_replaces_and_removes() {
        let m = Membership::parse(THREE).unwrap();
        let next = m
            .incremental(
                Some(
                    "server.4=127.0.0.1:2891:3891:observer;2184, server.3=127.0.0.1:2892:3892;2185",
                ),
                Some("2,9"),
            )
            .unwrap();
        assert_eq!(
            next.servers.keys().copied().collect::<Vec<_>>(),
            vec![1, 3, 4]
        );
        assert_eq!(next.voters().collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(next.servers[&3].quorum_port, 2892);
        assert_eq!(next.servers[&4].peer_type, PeerType::Observer);
    }

    #[test]
    fn bad_reconfig_arguments_are_refused_with_a_reason() {
        let m = Membership::parse(THREE).unwrap();
        for (joining, leaving, needle) in [
            (Some("server.4=garbage"), None, "server.4"),
            (Some("server.4=127.0.0.1:2891:3891"), None, "client port"),
            (Some("server.0=127.0.0.1:2891:3891;2184"), None, "server id"),
            (
                Some("server.4=127.0.0.1:2888:3891;2184"),
                None,
                "already used",
            ),
            (Some("nonsense"), None, "server.N"),
        ] {
            match m.incremental(joining, leaving) {
                Err(ReconfigError::BadArguments(why)) => {
                    assert!(why.contains(needle), "{joining:?} {leaving:?}: {why}")
                }
                other => panic!("{joining:?} {leaving:?}: {other:?}"),
            }
        }
        assert!(Membership::parse("version=xyz").is_err());
        // ZooKeeper's uncaught NumberFormatException: MARSHALLINGERROR.
        for (joining, leaving) in [(None, Some("two")), (Some("server.x=a:1:2;3"), None)] {
            assert_eq!(
                m.incremental(joining, leaving).map_err(|e| e.code()),
                Err(crate::client::ErrorCode::MarshallingError)
            );
        }
    }

    #[test]
    fn bulk_takes_commas_or_newlines_and_needs_voters() {
        let m = Membership::bulk(
            "server.1=127.0.0.1:2888:3888;2181,server.2=127.0.0.1:2889:3889:observer;2182",
        )
        .unwrap();
        assert_eq!(m.voters().collect::<Vec<_>>(), vec![1]);
        assert!(m.check_voters(false).is_ok());
        assert_eq!(
            m.check_voters(true).map_err(|e| e.code()),
            Err(crate::client::ErrorCode::BadArguments)
        );
        assert_eq!(
            Membership::bulk("server.1=a:1:2:observer;3").map_err(|e| e.code()),
            Err(crate::client::ErrorCode::MarshallingError)
        );
    }
}
