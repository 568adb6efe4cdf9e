//! How a member sits on a host, decided once for every adapter: which id it has (the `myid`
//! rule), where it listens (the listen plan) and how a local ensemble is laid out
//! (`conclave ensemble`, the simulator and the tests all write their `zoo.cfg` through
//! [`EnsembleLayout`]). Pure: adapters read the files and resolve the host names.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::config::Config;
use crate::ids::ServerId;

/// Why a server id could not be decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MyIdError {
    /// `dataDir/myid` is missing, and the configuration has `server.N` lines.
    Missing,
    /// `dataDir/myid` does not hold a decimal server id.
    NotDecimal(String),
}

impl fmt::Display for MyIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MyIdError::Missing => f.write_str(
                "myid is missing: an ensemble member needs dataDir/myid holding its server.N id",
            ),
            MyIdError::NotDecimal(text) => write!(f, "myid is not a decimal server id: {text:?}"),
        }
    }
}

impl core::error::Error for MyIdError {}

/// ZooKeeper's `myid` rule: the file's trimmed decimal content; a standalone server (no
/// `server.N` lines) without the file is server 1. `myid` is the file's text, `None` if absent.
pub fn my_id(config: &Config, myid: Option<&str>) -> Result<ServerId, MyIdError> {
    match myid {
        Some(text) => text
            .trim()
            .parse::<ServerId>()
            .map_err(|_| MyIdError::NotDecimal(text.to_string())),
        None if config.servers.is_empty() => Ok(1),
        None => Err(MyIdError::Missing),
    }
}

/// A `host:port` to bind, host as written in zoo.cfg (the adapter resolves it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// Host name or address, IPv6 without brackets.
    pub host: String,
    /// Port (0: any free port).
    pub port: u16,
}

impl fmt::Display for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Where a member listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListenPlan {
    /// ZooKeeper clients and four-letter words.
    pub client: Bind,
    /// ZooKeeper clients over TLS (`secureClientPort`; its address defaults to the client
    /// port's); `None` without TLS.
    pub secure_client: Option<Bind>,
    /// Peers: this server's election port (one link per pair, docs/decisions.md D1); `None`
    /// when standalone without server lines.
    pub peer: Option<Bind>,
    /// `GET /metrics` (`metricsProvider.httpPort`; `None` when 0).
    pub metrics: Option<Bind>,
    /// `GET /commands/<name>` (`admin.serverPort`; `None` with `admin.enableServer=false`).
    pub admin: Option<Bind>,
}

/// Why there is no listen plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoClientPort;

impl fmt::Display for NoClientPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no client port: set clientPort or a `;port` suffix on this server's line")
    }
}

impl core::error::Error for NoClientPort {}

/// The addresses `config` (with `my_id` set) asks for. The metrics and admin endpoints bind to
/// the client port's address unless `metricsProvider.httpHost` / `admin.serverAddress` say
/// otherwise: an operator who bound clients to loopback never gets metrics on every interface
/// by surprise. The client address defaults to `0.0.0.0`, as ZooKeeper's.
pub fn listen_plan(config: &Config) -> Result<ListenPlan, NoClientPort> {
    let port = config.client_port.ok_or(NoClientPort)?;
    let client_host = config
        .client_port_address
        .clone()
        .unwrap_or_else(|| String::from("0.0.0.0"));
    let other = |key: &str| config.other.get(key).cloned();
    let metrics_host = other("metricsProvider.httpHost").unwrap_or_else(|| client_host.clone());
    let admin_host = other("admin.serverAddress").unwrap_or_else(|| client_host.clone());
    Ok(ListenPlan {
        secure_client: config.client_tls.as_ref().map(|tls| Bind {
            host: tls.address.clone().unwrap_or_else(|| client_host.clone()),
            port: tls.port,
        }),
        client: Bind {
            host: client_host,
            port,
        },
        peer: config.servers.get(&config.my_id).map(|spec| Bind {
            host: spec.host.clone(),
            port: spec.election_port,
        }),
        metrics: (config.metrics_http_port != 0).then_some(Bind {
            host: metrics_host,
            port: config.metrics_http_port,
        }),
        admin: config.admin_enable_server.then_some(Bind {
            host: admin_host,
            port: config.admin_server_port,
        }),
    })
}

/// The ports of one member of an [`EnsembleLayout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberPorts {
    /// Client port.
    pub client: u16,
    /// Election port: the one peer link between two members.
    pub election: u16,
    /// Quorum port: written in `server.N` for ZooKeeper compatibility, never listened on (D1).
    pub quorum: u16,
    /// `metricsProvider.httpPort` (0: not written, ZooKeeper's default applies).
    pub metrics: u16,
    /// `admin.serverPort` (0: `admin.enableServer=false`).
    pub admin: u16,
}

/// An ensemble on one host, member `i` (1-based) with `members[i - 1]`'s ports: what
/// `conclave ensemble`, the simulator and the tests write their `zoo.cfg` from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnsembleLayout {
    /// The host every member binds and dials, e.g. `127.0.0.1`.
    pub host: String,
    /// Per-member hosts (member 1 first) for members that do not share one, e.g. each in a
    /// network namespace of its own; empty: `host` for every member.
    pub hosts: Vec<String>,
    /// Each member's ports, member 1 first.
    pub members: Vec<MemberPorts>,
    /// How many of the last members are observers.
    pub observers: usize,
    /// `tickTime`, ms.
    pub tick_time_ms: u32,
    /// `initLimit`, ticks.
    pub init_limit_ticks: u32,
    /// `syncLimit`, ticks.
    pub sync_limit_ticks: u32,
    /// Further `key=value` lines, written after the others.
    pub extra: Vec<(String, String)>,
}

impl EnsembleLayout {
    /// Members on 127.0.0.1 with the given ports, every four-letter word enabled.
    pub fn with_ports(members: Vec<MemberPorts>, tick_time_ms: u32) -> EnsembleLayout {
        EnsembleLayout {
            host: String::from("127.0.0.1"),
            hosts: Vec::new(),
            members,
            observers: 0,
            tick_time_ms,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            extra: alloc::vec![(String::from("4lw.commands.whitelist"), String::from("*"))],
        }
    }

    /// `conclave ensemble --nodes n --base-port B`: member `i` listens for clients on
    /// `B + i - 1`, for peers on `B + 1000 + i`, for metrics on `B + 3000 + i` and for admin
    /// commands on `B + 4000 + i`; `B + 2000 + i` is its (unused) quorum port.
    pub fn local(n: usize, base: u16, tick_time_ms: u32) -> Result<EnsembleLayout, String> {
        if n == 0 || n > 255 {
            return Err(format!("an ensemble has 1 to 255 members, not {n}"));
        }
        let port = |off: u32, i: usize| {
            u16::try_from(u32::from(base) + off + i as u32).map_err(|_| {
                format!("--base-port {base} leaves no room for {n} members (ports past 65535)")
            })
        };
        let members = (1..=n)
            .map(|i| {
                Ok(MemberPorts {
                    client: port(0, i - 1)?,
                    election: port(1000, i)?,
                    quorum: port(2000, i)?,
                    metrics: port(3000, i)?,
                    admin: port(4000, i)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(EnsembleLayout::with_ports(members, tick_time_ms))
    }

    /// The ports of member `i` (1-based).
    pub fn ports(&self, i: usize) -> Option<MemberPorts> {
        self.members.get(i.checked_sub(1)?).copied()
    }

    /// The host member `i` (1-based) binds and is dialled at.
    pub fn host_of(&self, i: usize) -> &str {
        i.checked_sub(1)
            .and_then(|k| self.hosts.get(k))
            .unwrap_or(&self.host)
    }

    /// `host:port,…` of every member's client port.
    pub fn connect_string(&self) -> String {
        let all: Vec<String> = self
            .members
            .iter()
            .enumerate()
            .map(|(k, p)| format!("{}:{}", self.host_of(k + 1), p.client))
            .collect();
        all.join(",")
    }

    /// The `zoo.cfg` of member `i` (1-based), keeping its data in `data_dir`.
    pub fn zoo_cfg(&self, i: usize, data_dir: &str) -> String {
        let me = self.ports(i).unwrap_or(MemberPorts {
            client: 0,
            election: 0,
            quorum: 0,
            metrics: 0,
            admin: 0,
        });
        let mut s = String::new();
        let _ = writeln!(s, "tickTime={}", self.tick_time_ms);
        let _ = writeln!(s, "initLimit={}", self.init_limit_ticks);
        let _ = writeln!(s, "syncLimit={}", self.sync_limit_ticks);
        let _ = writeln!(s, "dataDir={data_dir}");
        let _ = writeln!(s, "clientPortAddress={}", self.host_of(i));
        let _ = writeln!(s, "clientPort={}", me.client);
        if me.metrics != 0 {
            let _ = writeln!(s, "metricsProvider.httpPort={}", me.metrics);
        }
        if me.admin == 0 {
            let _ = writeln!(s, "admin.enableServer=false");
        } else {
            let _ = writeln!(s, "admin.serverPort={}", me.admin);
        }
        for (k, v) in &self.extra {
            let _ = writeln!(s, "{k}={v}");
        }
        let voters = self.members.len().saturating_sub(self.observers);
        for (m, p) in self.members.iter().enumerate() {
            let m = m + 1;
            let role = if m > voters {
                "observer"
            } else {
                "participant"
            };
            let _ = writeln!(
                s,
                "server.{m}={host}:{}:{}:{role};{host}:{}",
                p.quorum,
                p.election,
                p.client,
                host = self.host_of(m)
            );
        }
        s
    }
}

/// The index of the member that leads an established epoch while a majority of `members`
/// serve, if any: when a local ensemble is ready for clients.
pub fn ensemble_ready(members: &[crate::Status]) -> Option<usize> {
    let leader = members
        .iter()
        .position(|s| s.role == crate::Role::Leading && s.synced)?;
    (members.iter().filter(|s| s.synced).count() * 2 > members.len()).then_some(leader)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(text: &str, id: ServerId) -> Config {
        Config::from_zoo_cfg(text).unwrap().with_my_id(id).unwrap()
    }

    #[test]
    fn myid_rule() {
        let standalone = Config::from_zoo_cfg("clientPort=2181\n").unwrap();
        assert_eq!(my_id(&standalone, None), Ok(1));
        assert_eq!(my_id(&standalone, Some(" 7\n")), Ok(7));
        let ensemble = Config::from_zoo_cfg("server.1=h:1:2\nserver.2=h:3:4\n").unwrap();
        assert_eq!(my_id(&ensemble, None), Err(MyIdError::Missing));
        assert_eq!(
            my_id(&ensemble, Some("one")),
            Err(MyIdError::NotDecimal("one".into()))
        );
    }

    #[test]
    fn http_endpoints_follow_the_client_address_unless_configured() {
        let c = cfg(
            "clientPort=2181\nclientPortAddress=127.0.0.1\nmetricsProvider.httpPort=7001\n",
            1,
        );
        let p = listen_plan(&c).unwrap();
        assert_eq!(p.client.to_string(), "127.0.0.1:2181");
        assert_eq!(p.metrics.unwrap().to_string(), "127.0.0.1:7001");
        assert_eq!(p.admin.unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(p.peer, None);
        let c = cfg(
            "clientPort=2181\nclientPortAddress=127.0.0.1\nadmin.serverAddress=::1\n",
            1,
        );
        let p = listen_plan(&c).unwrap();
        assert_eq!(p.admin.unwrap().to_string(), "[::1]:8080");
        assert_eq!(p.metrics.unwrap().to_string(), "127.0.0.1:7000");
        assert_eq!(listen_plan(&cfg("tickTime=100\n", 1)), Err(NoClientPort));
    }

    #[test]
    fn the_local_layout_parses_back_with_every_port_in_place() {
        let l = EnsembleLayout::local(3, 2181, 2000).unwrap();
        let text = l.zoo_cfg(2, "/data/2");
        let c = cfg(&text, 2);
        assert_eq!(c.client_port, Some(2182));
        assert_eq!(c.metrics_http_port, 5183);
        assert_eq!(c.admin_server_port, 6183);
        assert_eq!(c.servers[&3].election_port, 3184);
        assert_eq!(c.servers[&3].quorum_port, 4184);
        assert_eq!(c.servers[&3].client_port, Some(2183));
        assert_eq!(c.four_letter_words, "*");
        let p = listen_plan(&c).unwrap();
        assert_eq!(p.peer.unwrap().to_string(), "127.0.0.1:3183");
        assert_eq!(
            l.connect_string(),
            "127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183"
        );
        assert!(EnsembleLayout::local(3, 62000, 2000).is_err());
        assert!(EnsembleLayout::local(0, 2181, 2000).is_err());
        let mut l = EnsembleLayout::local(3, 2181, 2000).unwrap();
        l.observers = 1;
        let c = cfg(&l.zoo_cfg(1, "/d"), 1);
        assert_eq!(c.observers().collect::<Vec<_>>(), alloc::vec![3]);
    }

    #[test]
    fn members_on_hosts_of_their_own_bind_and_are_dialled_there() {
        let mut l = EnsembleLayout::local(2, 2181, 2000).unwrap();
        l.hosts = alloc::vec!["10.0.0.1".into(), "10.0.0.2".into()];
        let c = cfg(&l.zoo_cfg(2, "/d"), 2);
        assert_eq!(c.servers[&1].host, "10.0.0.1");
        assert_eq!(c.servers[&2].host, "10.0.0.2");
        assert_eq!(listen_plan(&c).unwrap().client.host, "10.0.0.2");
        assert_eq!(l.connect_string(), "10.0.0.1:2181,10.0.0.2:2182");
    }
}
