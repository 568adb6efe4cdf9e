//! The grammar of a `server.N=host:quorumPort:electionPort[:role][;[clientAddr:]clientPort]`
//! line, and hosts as ZooKeeper prints them.

#[allow(unused_imports)]
use super::*;

/// Displays a host, putting IPv6 brackets back when the host contains ':'.
pub(super) struct HostDisplay<'a>(pub(super) &'a str);

impl fmt::Display for HostDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.contains(':') {
            write!(f, "[{}]", self.0)
        } else {
            f.write_str(self.0)
        }
    }
}

/// Whether `host` may stand as a host: printable ASCII only, no brackets.
pub(super) fn host_is_clean(host: &str) -> bool {
    host.bytes()
        .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']')
}

/// Splits `host[:rest]` or `[v6host][:rest]`; the host is returned without brackets.
///
/// `rest` is `None` when nothing follows the host.
pub(super) fn split_host(text: &str) -> Result<(&str, Option<&str>), ()> {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').ok_or(())?;
        if after.is_empty() {
            Ok((host, None))
        } else {
            let rest = after.strip_prefix(':').ok_or(())?;
            Ok((host, Some(rest)))
        }
    } else {
        match text.split_once(':') {
            Some((host, rest)) => Ok((host, Some(rest))),
            None => Ok((text, None)),
        }
    }
}

/// Parses a port field of a server line.
pub(super) fn server_port(which: PortRole, text: &str) -> Result<u16, ServerLineProblem> {
    match parse_decimal(text) {
        Ok(n) if n >= 1 => u16::try_from(n).map_err(|_| ServerLineProblem::BadPort {
            which,
            value: text.to_string(),
        }),
        _ => Err(ServerLineProblem::BadPort {
            which,
            value: text.to_string(),
        }),
    }
}

/// Parses the value of `server.N`: `host:qport:eport[:type][;[clientAddr:]clientPort]`.
pub(super) fn parse_server_value(
    id: ServerId,
    value: &str,
) -> Result<ServerSpec, ServerLineProblem> {
    if value.contains('|') {
        return Err(ServerLineProblem::MultiAddress);
    }
    let (addr, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c)),
        None => (value, None),
    };
    let (host, rest) =
        split_host(addr).map_err(|()| ServerLineProblem::BadHost(addr.to_string()))?;
    let rest = rest.ok_or(ServerLineProblem::Form)?;
    if host.is_empty() {
        return Err(ServerLineProblem::EmptyHost);
    }
    if !host_is_clean(host) {
        return Err(ServerLineProblem::BadHost(host.to_string()));
    }
    let mut fields = rest.split(':');
    let quorum = fields.next().ok_or(ServerLineProblem::Form)?;
    let election = fields.next().ok_or(ServerLineProblem::Form)?;
    let kind = fields.next();
    if fields.next().is_some() {
        return Err(ServerLineProblem::Form);
    }
    let quorum_port = server_port(PortRole::Quorum, quorum)?;
    let election_port = server_port(PortRole::Election, election)?;
    let peer_type = match kind {
        None => PeerType::Participant,
        Some(word) => {
            PeerType::parse(word).ok_or_else(|| ServerLineProblem::BadPeerType(word.to_string()))?
        }
    };
    let (client_address, client_port) = match client {
        None => (None, None),
        Some(c) => {
            if c.is_empty() || c.contains(';') {
                return Err(ServerLineProblem::Form);
            }
            let (first, second) =
                split_host(c).map_err(|()| ServerLineProblem::BadClientAddress(c.to_string()))?;
            match second {
                // Only a port: `;2181`. A bracketed lone address is an address without port.
                None if !c.starts_with('[') => (None, Some(server_port(PortRole::Client, first)?)),
                None => return Err(ServerLineProblem::Form),
                Some(port) => {
                    if first.is_empty() || !host_is_clean(first) {
                        return Err(ServerLineProblem::BadClientAddress(first.to_string()));
                    }
                    (
                        Some(first.to_string()),
                        Some(server_port(PortRole::Client, port)?),
                    )
                }
            }
        }
    };
    Ok(ServerSpec {
        id,
        host: host.to_string(),
        quorum_port,
        election_port,
        peer_type,
        client_address,
        client_port,
    })
}
