//! TLS for clients as ZooKeeper configures it: `secureClientPort` beside `clientPort`, and the
//! `ssl.*` keys of `X509Util` with PEM stores. Only the meaning is checked here (which store
//! types, which protocols, which `clientAuth`); reading the PEM files is the std half's.

#[allow(unused_imports)]
use super::*;
use alloc::{format, vec};

/// `ssl.clientAuth`: whether a client must present a certificate the trust store vouches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// No certificate is asked for.
    None,
    /// A certificate is asked for; a client without one still connects, one with a bad one
    /// does not.
    Want,
    /// A certificate the trust store vouches for is required (ZooKeeper's default).
    Need,
}

/// A TLS protocol version (`ssl.protocol`, `ssl.enabledProtocols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// The client TLS listener: where, with which key and whom it trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientTls {
    /// `secureClientPort`.
    pub port: u16,
    /// `secureClientPortAddress` (default: the client port's address).
    pub address: Option<String>,
    /// `ssl.keyStore.location`: one PEM file with the private key and the certificate chain.
    pub key_store: String,
    /// `ssl.trustStore.location`: PEM CA certificates that vouch for clients' certificates.
    pub trust_store: Option<String>,
    /// `ssl.clientAuth` (default `need`, as ZooKeeper's).
    pub client_auth: ClientAuth,
    /// `ssl.enabledProtocols`, else `ssl.protocol` (TLS 1.3 also allows 1.2, as ZooKeeper's
    /// default does); never empty.
    pub protocols: Vec<TlsVersion>,
    /// `ssl.ciphersuites`: IANA names (as Java writes them); empty means the library's
    /// default set.
    pub cipher_suites: Vec<String>,
}

/// TLS between members (`sslQuorum=true`): every peer link, dialled or accepted, is TLS with
/// certificates on both sides that the trust store vouches for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumTls {
    /// `ssl.quorum.keyStore.location`: the member's PEM key and certificate chain, presented
    /// to peers both as a server and as a client.
    pub key_store: String,
    /// `ssl.quorum.trustStore.location`: PEM CA certificates that vouch for the members.
    pub trust_store: String,
    /// `ssl.quorum.enabledProtocols` / `ssl.quorum.protocol`, as for clients.
    pub protocols: Vec<TlsVersion>,
    /// `ssl.quorum.ciphersuites`, as for clients.
    pub cipher_suites: Vec<String>,
    /// `ssl.quorum.hostnameVerification` (default true): a dialled member's certificate must
    /// name the host its `server.N` line gives.
    pub hostname_verification: bool,
}

/// The `ssl.quorum.*` keys read for [`QuorumTls`].
pub(super) const QUORUM_TLS_KEYS: &[&str] = &[
    "ssl.quorum.keyStore.location",
    "ssl.quorum.keyStore.type",
    "ssl.quorum.keyStore.password",
    "ssl.quorum.trustStore.location",
    "ssl.quorum.trustStore.type",
    "ssl.quorum.trustStore.password",
    "ssl.quorum.protocol",
    "ssl.quorum.enabledProtocols",
    "ssl.quorum.ciphersuites",
    "ssl.quorum.hostnameVerification",
];

/// The `ssl.*` keys read for [`ClientTls`]; any other `ssl.*` key stays "recognised, ignored".
pub(super) const CLIENT_TLS_KEYS: &[&str] = &[
    "ssl.keyStore.location",
    "ssl.keyStore.type",
    "ssl.keyStore.password",
    "ssl.trustStore.location",
    "ssl.trustStore.type",
    "ssl.trustStore.password",
    "ssl.clientAuth",
    "ssl.protocol",
    "ssl.enabledProtocols",
    "ssl.ciphersuites",
];

fn bad(line: usize, key: &str, why: String) -> ConfigError {
    ConfigError::new(
        line,
        ConfigErrorKind::BadTls {
            key: key.to_string(),
            why,
        },
    )
}

/// A store type must be PEM (or unset with a `.pem` file): JKS, PKCS#12 and BCFKS are Java
/// key store formats, refused by name rather than misread.
fn check_store_type(
    keys: &BTreeMap<String, (usize, String)>,
    type_key: &str,
    location: &(usize, String),
) -> Result<(), ConfigError> {
    match keys.get(type_key) {
        Some((line, t)) if !t.eq_ignore_ascii_case("PEM") => Err(bad(
            *line,
            type_key,
            format!(
                "'{t}' stores are not supported (only PEM: one file of PEM blocks); convert \
                 it, e.g. with keytool -importkeystore and openssl"
            ),
        )),
        Some(_) => Ok(()),
        None => {
            let lower = location.1.to_ascii_lowercase();
            if [".jks", ".p12", ".pfx", ".bcfks"]
                .iter()
                .any(|ext| lower.ends_with(ext))
            {
                Err(bad(
                    location.0,
                    type_key,
                    format!(
                        "{} looks like a Java key store; only PEM stores are supported (set \
                         {type_key}=PEM for a PEM file with this name)",
                        location.1
                    ),
                ))
            } else {
                Ok(())
            }
        }
    }
}

fn parse_version(line: usize, key: &str, text: &str) -> Result<TlsVersion, ConfigError> {
    match text.trim() {
        "TLSv1.2" => Ok(TlsVersion::Tls12),
        "TLSv1.3" => Ok(TlsVersion::Tls13),
        other => Err(bad(
            line,
            key,
            format!("'{other}' is not supported: TLSv1.2 and TLSv1.3 are"),
        )),
    }
}

/// What client and quorum TLS read alike under `prefix` (`ssl.` or `ssl.quorum.`): the key
/// store (required, PEM, unencrypted), the trust store (PEM), protocols and cipher suites.
/// `anchor` is the line of the key that turned TLS on, for errors about missing keys.
#[allow(clippy::type_complexity)]
fn stores(
    prefix: &str,
    anchor: (usize, &str),
    keys: &BTreeMap<String, (usize, String)>,
) -> Result<(String, Option<String>, Vec<TlsVersion>, Vec<String>), ConfigError> {
    let k = |name: &str| format!("{prefix}{name}");
    let key_store = keys.get(&k("keyStore.location")).ok_or_else(|| {
        bad(
            anchor.0,
            &k("keyStore.location"),
            format!(
                "{} needs a key store: a PEM file with the key and certificate chain",
                anchor.1
            ),
        )
    })?;
    check_store_type(keys, &k("keyStore.type"), key_store)?;
    if let Some((line, pw)) = keys.get(&k("keyStore.password")) {
        if !pw.is_empty() {
            return Err(bad(
                *line,
                &k("keyStore.password"),
                "encrypted private keys are not supported: give the key unencrypted (PKCS#8, \
                 readable by the server's user only)"
                    .to_string(),
            ));
        }
    }
    let trust_store = keys.get(&k("trustStore.location"));
    if let Some(t) = trust_store {
        check_store_type(keys, &k("trustStore.type"), t)?;
    }
    let enabled = k("enabledProtocols");
    let single = k("protocol");
    let mut protocols = match (keys.get(&enabled), keys.get(&single)) {
        (Some((line, list)), _) => list
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse_version(*line, &enabled, p))
            .collect::<Result<Vec<_>, _>>()?,
        (None, Some((line, p))) => match parse_version(*line, &single, p)? {
            TlsVersion::Tls13 => vec![TlsVersion::Tls13, TlsVersion::Tls12],
            TlsVersion::Tls12 => vec![TlsVersion::Tls12],
        },
        (None, None) => vec![TlsVersion::Tls13, TlsVersion::Tls12],
    };
    protocols.sort_unstable_by(|a, b| b.cmp(a));
    protocols.dedup();
    if protocols.is_empty() {
        let line = keys.get(&enabled).map_or(anchor.0, |k| k.0);
        return Err(bad(line, &enabled, "names no protocol".to_string()));
    }
    let cipher_suites = keys
        .get(&k("ciphersuites"))
        .map(|(_, v)| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok((
        key_store.1.clone(),
        trust_store.map(|t| t.1.clone()),
        protocols,
        cipher_suites,
    ))
}

/// Builds the quorum TLS settings when `sslQuorum=true` (its line); the trust store is
/// required (members verify each other).
pub(super) fn quorum_tls(
    enabled: Option<usize>,
    keys: &BTreeMap<String, (usize, String)>,
) -> Result<Option<QuorumTls>, ConfigError> {
    let Some(line) = enabled else {
        return Ok(None);
    };
    let (key_store, trust_store, protocols, cipher_suites) =
        stores("ssl.quorum.", (line, "sslQuorum=true"), keys)?;
    let trust_store = trust_store.ok_or_else(|| {
        bad(
            line,
            "ssl.quorum.trustStore.location",
            "sslQuorum=true needs a trust store of PEM CA certificates that vouch for the \
             members"
                .to_string(),
        )
    })?;
    let hostname_verification = match keys.get("ssl.quorum.hostnameVerification") {
        None => true,
        Some((_, v)) if v.eq_ignore_ascii_case("true") => true,
        Some((_, v)) if v.eq_ignore_ascii_case("false") => false,
        Some((line, v)) => {
            return Err(bad(
                *line,
                "ssl.quorum.hostnameVerification",
                format!("'{v}' must be true or false"),
            ))
        }
    };
    Ok(Some(QuorumTls {
        key_store,
        trust_store,
        protocols,
        cipher_suites,
        hostname_verification,
    }))
}

/// Builds the client TLS settings from `secureClientPort` (with its line) and the `ssl.*`
/// keys in [`CLIENT_TLS_KEYS`]; `None` without a secure port.
pub(super) fn client_tls(
    port: Option<(usize, u16)>,
    address: Option<String>,
    keys: &BTreeMap<String, (usize, String)>,
) -> Result<Option<ClientTls>, ConfigError> {
    let Some((port_line, port)) = port else {
        return Ok(None);
    };
    let (key_store, trust_store, protocols, cipher_suites) =
        stores("ssl.", (port_line, "secureClientPort"), keys)?;
    let client_auth = match keys.get("ssl.clientAuth") {
        None => ClientAuth::Need,
        Some((line, v)) => match v.to_ascii_lowercase().as_str() {
            "none" => ClientAuth::None,
            "want" => ClientAuth::Want,
            "need" => ClientAuth::Need,
            _ => {
                return Err(bad(
                    *line,
                    "ssl.clientAuth",
                    format!("'{v}' must be none, want or need"),
                ))
            }
        },
    };
    if client_auth != ClientAuth::None && trust_store.is_none() {
        return Err(bad(
            port_line,
            "ssl.trustStore.location",
            format!(
                "ssl.clientAuth={} (need is the default) verifies client certificates and \
                 needs a trust store of PEM CA certificates; or set ssl.clientAuth=none",
                match client_auth {
                    ClientAuth::Want => "want",
                    _ => "need",
                }
            ),
        ));
    }
    Ok(Some(ClientTls {
        port,
        address,
        key_store,
        trust_store,
        client_auth,
        protocols,
        cipher_suites,
    }))
}
