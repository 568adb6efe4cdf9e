//! The line-by-line parser that fills a [`Config`].

#[allow(unused_imports)]
use super::*;

/// Mutable state of one parse, beside the config being built.
pub(super) struct Parser {
    /// The config being filled in.
    pub(super) cfg: Config,
    /// Each key seen, to catch duplicates.
    pub(super) seen: BTreeSet<String>,
    /// Each (lower-cased host, port) used by a quorum or election port, with its server.
    pub(super) addresses: BTreeMap<(String, u16), ServerId>,
    /// The line of `dynamicConfigFile`, when present.
    pub(super) dynamic_config_line: Option<usize>,
    /// `secureClientPort`, with its line.
    pub(super) secure_port: Option<(usize, u16)>,
    /// `secureClientPortAddress`.
    pub(super) secure_address: Option<String>,
    /// The `ssl.*` keys TLS for clients and members reads, with their lines.
    pub(super) ssl: BTreeMap<String, (usize, String)>,
    /// The line of `sslQuorum=true`.
    pub(super) ssl_quorum: Option<usize>,
}

impl Parser {
    /// Applies one `key=value` line.
    pub(super) fn apply(&mut self, line: usize, key: &str, value: &str) -> Result<(), ConfigError> {
        let cfg = &mut self.cfg;
        match key {
            "tickTime" => cfg.tick_time_ms = u32_key(line, key, value, 1)?,
            "initLimit" => cfg.init_limit_ticks = u32_key(line, key, value, 1)?,
            "syncLimit" => cfg.sync_limit_ticks = u32_key(line, key, value, 1)?,
            "dataDir" => cfg.data_dir = Some(non_empty_key(line, key, value)?),
            "dataLogDir" => cfg.data_log_dir = Some(non_empty_key(line, key, value)?),
            "clientPort" => cfg.client_port = Some(port_key(line, key, value)?),
            "clientPortAddress" => {
                cfg.client_port_address = Some(non_empty_key(line, key, value)?);
            }
            "electionAlg" => match parse_decimal(value) {
                Ok(n) if n == u64::from(ELECTION_ALG_FAST) => cfg.election_alg = ELECTION_ALG_FAST,
                _ => {
                    return Err(ConfigError::new(
                        line,
                        ConfigErrorKind::UnsupportedElectionAlg(value.to_string()),
                    ))
                }
            },
            "peerType" => {
                cfg.peer_type = PeerType::parse(value).ok_or_else(|| {
                    ConfigError::new(line, ConfigErrorKind::BadPeerType(value.to_string()))
                })?;
                cfg.peer_type_line = Some(line);
            }
            "maxClientCnxns" => cfg.max_client_cnxns = u32_key(line, key, value, 0)?,
            "minSessionTimeout" => cfg.min_session_timeout_ms = Some(u32_key(line, key, value, 0)?),
            "maxSessionTimeout" => cfg.max_session_timeout_ms = Some(u32_key(line, key, value, 0)?),
            "4lw.commands.whitelist" => cfg.four_letter_words = value.to_string(),
            "admin.enableServer" => cfg.admin_enable_server = bool_key(line, key, value)?,
            "admin.serverPort" => cfg.admin_server_port = port_key(line, key, value)?,
            "metricsProvider.httpPort" => cfg.metrics_http_port = port_key(line, key, value)?,
            "jute.maxbuffer" => cfg.jute_max_buffer = jute_key(line, key, value)?,
            "standaloneEnabled" => cfg.standalone_enabled = bool_key(line, key, value)?,
            "reconfigEnabled" => cfg.reconfig_enabled = bool_key(line, key, value)?,
            "dynamicConfigFile" => {
                cfg.dynamic_config_file = Some(non_empty_key(line, key, value)?);
                self.dynamic_config_line = Some(line);
            }
            "readonlymode.enabled" => cfg.read_only_mode_enabled = bool_key(line, key, value)?,
            "clientBacklogLimitMB" => {
                cfg.client_backlog_limit_mb = u32_key(line, key, value, 1)?;
            }
            "busyPollMicros" => cfg.busy_poll_us = busy_poll_key(line, key, value)?,
            "znode.container.checkIntervalMs" => {
                cfg.container_check_interval_ms = u32_key(line, key, value, 1)?;
            }
            "secureClientPort" => self.secure_port = Some((line, port_key(line, key, value)?)),
            "secureClientPortAddress" => {
                self.secure_address = Some(non_empty_key(line, key, value)?);
            }
            _ if tls::CLIENT_TLS_KEYS.contains(&key) || tls::QUORUM_TLS_KEYS.contains(&key) => {
                self.ssl.insert(key.to_string(), (line, value.to_string()));
            }
            "sslQuorum" => {
                if bool_key(line, key, value)? {
                    self.ssl_quorum = Some(line);
                }
            }
            "portUnification" | "client.portUnification" if bool_key(line, key, value)? => {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::UnsupportedKey {
                        key: key.to_string(),
                        why: if key == "portUnification" {
                            "a quorum port that takes plaintext and TLS peers at once (a \
                             rolling upgrade to sslQuorum) is not implemented: switch every \
                             member together"
                        } else {
                            "plain and TLS clients do not share a port: use clientPort and \
                             secureClientPort"
                        },
                    },
                ));
            }
            _ => {
                if let Some(id_text) = key.strip_prefix("server.") {
                    return self.apply_server(line, id_text, value);
                }
                if key.starts_with("group.") || key.starts_with("weight.") {
                    return Err(ConfigError::new(
                        line,
                        ConfigErrorKind::UnsupportedKey {
                            key: key.to_string(),
                            why: "hierarchical quorums are not implemented; \
                                  ignoring them would change who forms a quorum",
                        },
                    ));
                }
                let message = if is_recognised_zk_key(key) {
                    WARN_RECOGNISED
                } else {
                    WARN_UNKNOWN
                };
                cfg.other.insert(key.to_string(), value.to_string());
                cfg.warnings.push(ConfigWarning {
                    line,
                    key: key.to_string(),
                    message: message.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Applies one `server.N=...` line.
    pub(super) fn apply_server(
        &mut self,
        line: usize,
        id_text: &str,
        value: &str,
    ) -> Result<(), ConfigError> {
        let id = match parse_decimal(id_text) {
            Ok(n) if (1..=MAX_SERVER_ID).contains(&n) => n,
            _ => {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::BadServerId(id_text.to_string()),
                ))
            }
        };
        if self.cfg.servers.contains_key(&id) {
            return Err(ConfigError::new(line, ConfigErrorKind::DuplicateServer(id)));
        }
        let spec = parse_server_value(id, value)
            .map_err(|why| ConfigError::new(line, ConfigErrorKind::BadServerLine { id, why }))?;
        let host_key = spec.host.to_ascii_lowercase();
        for port in [spec.quorum_port, spec.election_port] {
            let slot = (host_key.clone(), port);
            if let Some(&other) = self.addresses.get(&slot) {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::DuplicateAddress {
                        id,
                        host: spec.host.clone(),
                        port,
                        other,
                    },
                ));
            }
            self.addresses.insert(slot, id);
        }
        self.cfg.servers.insert(id, spec);
        Ok(())
    }

    /// Checks that need the whole file, and returns the config.
    pub(super) fn finish(self) -> Result<Config, ConfigError> {
        let mut cfg = self.cfg;
        cfg.client_tls = tls::client_tls(self.secure_port, self.secure_address, &self.ssl)?;
        cfg.quorum_tls = tls::quorum_tls(self.ssl_quorum, &self.ssl)?;
        cfg.sasl = jaas::sasl_config(&cfg.other)
            .map_err(|why| ConfigError::new(0, ConfigErrorKind::BadSasl(why)))?;
        if cfg.sasl.is_some() {
            // The keys SASL reads are not "ignored".
            let other = &cfg.other;
            cfg.warnings.retain(|w| {
                !(w.key == jaas::JAAS_KEY
                    || w.key == jaas::JAAS_SECTION_KEY
                    || (w.key.starts_with("authProvider.")
                        && other.get(&w.key).map(|v| v.trim()) == Some(jaas::SASL_PROVIDER)))
            });
        }
        let (client, quorum) = (cfg.client_tls.is_some(), cfg.quorum_tls.is_some());
        let used = |key: &str| {
            (client && tls::CLIENT_TLS_KEYS.contains(&key))
                || (quorum && tls::QUORUM_TLS_KEYS.contains(&key))
        };
        if self.ssl.keys().any(|k| !used(k)) {
            // ssl.* keys for a TLS that is off configure nothing: kept, with a warning.
            for (key, (line, value)) in self.ssl.into_iter().filter(|(k, _)| !used(k)) {
                cfg.other.insert(key.clone(), value);
                cfg.warnings.push(ConfigWarning {
                    line,
                    key,
                    message: WARN_RECOGNISED.to_string(),
                });
            }
            cfg.warnings.sort_by_key(|w| w.line);
        }
        if let Some(line) = self.dynamic_config_line {
            if !cfg.servers.is_empty() {
                return Err(ConfigError::new(
                    line,
                    ConfigErrorKind::DynamicConfig(String::from(
                        "zoo.cfg has server.N lines and names a dynamicConfigFile: keep the \
                         members in one place",
                    )),
                ));
            }
        }
        if !cfg.servers.is_empty() && cfg.voters().next().is_none() {
            return Err(ConfigError::new(0, ConfigErrorKind::NoVoters));
        }
        let (min, max) = (cfg.min_session_timeout(), cfg.max_session_timeout());
        if min > max {
            return Err(ConfigError::new(
                0,
                ConfigErrorKind::SessionTimeoutRange { min, max },
            ));
        }
        Ok(cfg)
    }
}
