//! Tests of the parser, the validation rules and the fingerprint.

use super::*;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use proptest::prelude::*;

/// Parses text that must be valid.
fn ok(text: &str) -> Config {
    match Config::from_zoo_cfg(text) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// Parses text that must be invalid.
fn err(text: &str) -> ConfigError {
    match Config::from_zoo_cfg(text) {
        Ok(c) => panic!("unexpectedly valid: {c:?}"),
        Err(e) => e,
    }
}

/// A `ServerSpec` without a client suffix.
fn spec(id: ServerId, host: &str, q: u16, e: u16, t: PeerType) -> ServerSpec {
    ServerSpec {
        id,
        host: host.to_string(),
        quorum_port: q,
        election_port: e,
        peer_type: t,
        client_address: None,
        client_port: None,
    }
}

const DOCS_SAMPLE: &str = "tickTime=2000\n\
    dataDir=/var/lib/zookeeper\n\
    clientPort=2181\n\
    initLimit=5\n\
    syncLimit=2\n\
    server.1=zoo1:2888:3888\n\
    server.2=zoo2:2888:3888\n\
    server.3=zoo3:2888:3888\n";

fn bad_server(line: usize, id: ServerId, why: ServerLineProblem) -> ConfigError {
    ConfigError::new(line, ConfigErrorKind::BadServerLine { id, why })
}

// ---- valid files ----------------------------------------------------------------------

#[test]
fn docs_sample_parses_to_exact_values() {
    let mut want = Config {
        tick_time_ms: 2000,
        data_dir: Some("/var/lib/zookeeper".to_string()),
        client_port: Some(2181),
        init_limit_ticks: 5,
        sync_limit_ticks: 2,
        ..Config::default()
    };
    for (id, host) in [(1, "zoo1"), (2, "zoo2"), (3, "zoo3")] {
        want.servers
            .insert(id, spec(id, host, 2888, 3888, PeerType::Participant));
    }
    let got = ok(DOCS_SAMPLE);
    assert_eq!(got, want);
    assert_eq!(got.voters().collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(got.observers().count(), 0);
    assert!(!got.is_standalone());
    assert_eq!(got.min_session_timeout(), 4000);
    assert_eq!(got.max_session_timeout(), 40000);
    assert!(got.warnings.is_empty());
    assert_eq!(got.my_id, 0);
}

#[test]
fn empty_file_gives_defaults() {
    let c = ok("");
    assert_eq!(c, Config::default());
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!(c.init_limit_ticks, 10);
    assert_eq!(c.sync_limit_ticks, 5);
    assert_eq!(c.data_dir, None);
    assert_eq!(c.data_log_dir, None);
    assert_eq!(c.client_port, None);
    assert_eq!(c.client_port_address, None);
    assert_eq!(c.election_alg, 3);
    assert_eq!(c.peer_type, PeerType::Participant);
    assert_eq!(c.peer_type_line, None);
    assert!(c.servers.is_empty());
    assert_eq!(c.max_client_cnxns, 60);
    assert_eq!(c.min_session_timeout_ms, None);
    assert_eq!(c.max_session_timeout_ms, None);
    assert_eq!(c.four_letter_words, "srvr");
    assert!(c.admin_enable_server);
    assert_eq!(c.admin_server_port, 8080);
    assert_eq!(c.metrics_http_port, 7000);
    assert_eq!(c.jute_max_buffer, 1_048_575);
    assert!(c.standalone_enabled);
    assert!(c.other.is_empty());
    assert!(c.warnings.is_empty());
    assert_eq!(c.min_session_timeout(), 6000);
    assert_eq!(c.max_session_timeout(), 60000);
    assert!(c.is_standalone());
    assert_eq!(c.ensemble_text(), "");
}

#[test]
fn every_known_key_sets_its_field() {
    let c = ok("tickTime=100\n\
         initLimit=7\n\
         syncLimit=3\n\
         dataDir=/d\n\
         dataLogDir=/l\n\
         clientPort=12181\n\
         clientPortAddress=127.0.0.1\n\
         electionAlg=3\n\
         peerType=observer\n\
         maxClientCnxns=0\n\
         minSessionTimeout=150\n\
         maxSessionTimeout=9000\n\
         4lw.commands.whitelist=stat, ruok, conf\n\
         admin.enableServer=false\n\
         admin.serverPort=9090\n\
         metricsProvider.httpPort=7070\n\
         jute.maxbuffer=4194304\n\
         standaloneEnabled=no\n\
         readonlymode.enabled=true\n\
         znode.container.checkIntervalMs=60000\n\
         clientBacklogLimitMB=64\n");
    let want = Config {
        tick_time_ms: 100,
        init_limit_ticks: 7,
        sync_limit_ticks: 3,
        data_dir: Some("/d".to_string()),
        data_log_dir: Some("/l".to_string()),
        client_port: Some(12181),
        client_port_address: Some("127.0.0.1".to_string()),
        election_alg: 3,
        peer_type: PeerType::Observer,
        peer_type_line: Some(9),
        max_client_cnxns: 0,
        min_session_timeout_ms: Some(150),
        max_session_timeout_ms: Some(9000),
        four_letter_words: "stat, ruok, conf".to_string(),
        admin_enable_server: false,
        admin_server_port: 9090,
        metrics_http_port: 7070,
        jute_max_buffer: 4_194_304,
        standalone_enabled: false,
        read_only_mode_enabled: true,
        container_check_interval_ms: 60_000,
        client_backlog_limit_mb: 64,
        ..Config::default()
    };
    assert_eq!(c, want);
    assert_eq!(c.min_session_timeout(), 150);
    assert_eq!(c.max_session_timeout(), 9000);
}

#[test]
fn comments_blank_lines_whitespace_crlf_and_bom() {
    let text = "\u{feff}# a comment\r\n\
                ! another comment\r\n\
                \r\n\
                \t   \r\n\
                \t tickTime \t=\t 2000 \r\n\
                \x20 # indented comment = not a key\r\n\
                dataDir = /var/lib/zk dir \r\n";
    let c = ok(text);
    assert_eq!(c.tick_time_ms, 2000);
    assert_eq!(c.data_dir.as_deref(), Some("/var/lib/zk dir"));
    assert!(c.warnings.is_empty());
    assert!(c.other.is_empty());
}

#[test]
fn value_keeps_later_equals_signs() {
    let c = ok("ssl.foo=a=b=c\n");
    assert_eq!(c.other.get("ssl.foo").map(String::as_str), Some("a=b=c"));
}

#[test]
fn booleans_accept_true_false_yes_no_any_case() {
    for (text, want) in [
        ("true", true),
        ("TRUE", true),
        ("Yes", true),
        ("false", false),
        ("No", false),
    ] {
        let c = ok(&format!(
            "standaloneEnabled={text}\nadmin.enableServer={text}\n"
        ));
        assert_eq!(c.standalone_enabled, want, "{text}");
        assert_eq!(c.admin_enable_server, want, "{text}");
    }
}

#[test]
fn jute_maxbuffer_takes_decimal_and_hex() {
    assert_eq!(ok("jute.maxbuffer=0x100000").jute_max_buffer, 0x10_0000);
    assert_eq!(ok("jute.maxbuffer=0XfFfFf").jute_max_buffer, 0xF_FFFF);
    assert_eq!(ok("jute.maxbuffer=1").jute_max_buffer, 1);
    assert_eq!(ok("jute.maxbuffer=4294967295").jute_max_buffer, u32::MAX);
}

#[test]
fn peer_type_is_case_insensitive_and_remembers_its_line() {
    let c = ok("\npeerType=OBSERVER\n");
    assert_eq!(c.peer_type, PeerType::Observer);
    assert_eq!(c.peer_type_line, Some(2));
    let c = ok("peerType=Participant");
    assert_eq!(c.peer_type, PeerType::Participant);
    assert_eq!(c.peer_type_line, Some(1));
}

#[test]
fn observer_lines() {
    let c = ok("server.1=a:1:2\n\
                server.2=b:1:2:participant\n\
                server.3=c:1:2:observer\n\
                server.4=d:1:2:Observer\n\
                server.5=e:1:2\n");
    assert_eq!(c.voters().collect::<Vec<_>>(), vec![1, 2, 5]);
    assert_eq!(c.observers().collect::<Vec<_>>(), vec![3, 4]);
    assert!(c.is_voter(1));
    assert!(c.is_voter(2));
    assert!(!c.is_voter(3));
    assert!(!c.is_voter(4));
    assert!(!c.is_voter(6));
    assert!(!c.is_voter(0));
    assert_eq!(
        c.servers.get(&3),
        Some(&spec(3, "c", 1, 2, PeerType::Observer))
    );
}

#[test]
fn client_port_suffixes() {
    let c = ok("server.1=zoo1:2888:3888;2181\n\
                server.2=zoo2:2888:3888:participant;0.0.0.0:2182\n\
                server.3=zoo3:2888:3888:observer;[::1]:2183\n\
                server.4=zoo4:2888:3888;zoo4.example:2184\n");
    let s1 = ServerSpec {
        client_port: Some(2181),
        ..spec(1, "zoo1", 2888, 3888, PeerType::Participant)
    };
    let s2 = ServerSpec {
        client_address: Some("0.0.0.0".to_string()),
        client_port: Some(2182),
        ..spec(2, "zoo2", 2888, 3888, PeerType::Participant)
    };
    let s3 = ServerSpec {
        client_address: Some("::1".to_string()),
        client_port: Some(2183),
        ..spec(3, "zoo3", 2888, 3888, PeerType::Observer)
    };
    let s4 = ServerSpec {
        client_address: Some("zoo4.example".to_string()),
        client_port: Some(2184),
        ..spec(4, "zoo4", 2888, 3888, PeerType::Participant)
    };
    assert_eq!(
        c.servers.values().cloned().collect::<Vec<_>>(),
        vec![s1, s2, s3, s4]
    );
    // Client ports are not quorum addresses: the same port on one host is fine.
    ok("server.1=h:2888:3888;2888\n");
}

#[test]
fn ipv6_hosts() {
    let c = ok("server.1=[::1]:2888:3888\n\
                server.2=[fe80::1%eth0]:2889:3889:observer;2181\n\
                server.3=[2001:db8::7]:2888:3888\n");
    assert_eq!(
        c.servers.get(&1),
        Some(&spec(1, "::1", 2888, 3888, PeerType::Participant))
    );
    assert_eq!(
        c.servers.get(&2).map(|s| s.host.as_str()),
        Some("fe80::1%eth0")
    );
    assert_eq!(
        c.servers.get(&3).map(|s| s.host.as_str()),
        Some("2001:db8::7")
    );
    assert_eq!(
        c.ensemble_text(),
        "server.1=[::1]:2888:3888:participant\n\
         server.2=[fe80::1%eth0]:2889:3889:observer;2181\n\
         server.3=[2001:db8::7]:2888:3888:participant\n"
    );
}

#[test]
fn ensemble_text_exact() {
    let c = ok("server.3=zoo3:2888:3888:observer;10.0.0.3:2181\n\
                server.1=zoo1:2888:3888\n\
                server.2=zoo2:2888:3888;2181\n");
    assert_eq!(
        c.ensemble_text(),
        "server.1=zoo1:2888:3888:participant\n\
         server.2=zoo2:2888:3888:participant;2181\n\
         server.3=zoo3:2888:3888:observer;10.0.0.3:2181\n"
    );
    assert_eq!(
        ok(DOCS_SAMPLE).ensemble_text(),
        "server.1=zoo1:2888:3888:participant\n\
         server.2=zoo2:2888:3888:participant\n\
         server.3=zoo3:2888:3888:participant\n"
    );
}

#[test]
fn ensemble_text_round_trips() {
    let c = ok("server.1=[::1]:1:2;[::2]:3\nserver.2=h:1:2:observer;4\nserver.9=x:5:6;a:7\n");
    assert_eq!(ok(&c.ensemble_text()).servers, c.servers);
}

#[test]
fn standalone_rules() {
    assert!(ok("").is_standalone());
    assert!(ok("server.1=a:1:2").is_standalone());
    assert!(!ok("server.1=a:1:2\nstandaloneEnabled=false").is_standalone());
    assert!(!ok("server.1=a:1:2\nserver.2=b:1:2").is_standalone());
}

#[test]
fn session_timeout_defaults_saturate() {
    let c = ok("tickTime=4294967295");
    assert_eq!(c.min_session_timeout(), u32::MAX);
    assert_eq!(c.max_session_timeout(), u32::MAX);
    let c = ok("tickTime=1000\nminSessionTimeout=5000");
    assert_eq!(c.min_session_timeout(), 5000);
    assert_eq!(c.max_session_timeout(), 20000);
    // Equal bounds are allowed.
    ok("minSessionTimeout=5000\nmaxSessionTimeout=5000");
}

// ---- warnings -------------------------------------------------------------------------

#[test]
fn unknown_and_recognised_keys_warn_and_are_kept() {
    let c = ok("tickTime=2000\n\
                autopurge.snapRetainCount=3\n\
                frobnicate = yes please \n\
                ssl.keyStore.location=/ks\n\
                preAllocSize=65536\n\
                server.1=a:1:2\n\
                metricsProvider.className=org.Prom\n\
                zookeeper.extra=1\n");
    let w = |line: usize, key: &str, message: &str| ConfigWarning {
        line,
        key: key.to_string(),
        message: message.to_string(),
    };
    assert_eq!(
        c.warnings,
        vec![
            w(2, "autopurge.snapRetainCount", WARN_RECOGNISED),
            w(3, "frobnicate", WARN_UNKNOWN),
            w(4, "ssl.keyStore.location", WARN_RECOGNISED),
            w(5, "preAllocSize", WARN_RECOGNISED),
            w(7, "metricsProvider.className", WARN_RECOGNISED),
            w(8, "zookeeper.extra", WARN_RECOGNISED),
        ]
    );
    let other: Vec<(&str, &str)> = c
        .other
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        other,
        vec![
            ("autopurge.snapRetainCount", "3"),
            ("frobnicate", "yes please"),
            ("metricsProvider.className", "org.Prom"),
            ("preAllocSize", "65536"),
            ("ssl.keyStore.location", "/ks"),
            ("zookeeper.extra", "1"),
        ]
    );
    assert_eq!(
        c.warnings[1].to_string(),
        "zoo.cfg line 3: frobnicate: unknown key, ignored"
    );
    assert_eq!(
        c.warnings[0].to_string(),
        "zoo.cfg line 2: autopurge.snapRetainCount: recognised ZooKeeper key, ignored by Conclave"
    );
}

#[test]
fn many_java_only_keys_do_not_fail() {
    let c = ok(
        "forceSync=no\npreAllocSize=65536\nsnapCount=100000\nsyncEnabled=true\n\
                quorumListenOnAllIPs=true\nportUnification=false\nauthProvider.1=x.Y\n\
                reconfigEnabled=false\nlocalSessionsEnabled=true\nautopurge.purgeInterval=1\n\
                4lw.other=x\nadmin.serverAddress=0.0.0.0\n",
    );
    assert_eq!(c.warnings.len(), 11);
    assert!(c.warnings.iter().all(|w| w.message == WARN_RECOGNISED));
    assert_eq!(c.other.len(), 11);
    assert!(!c.reconfig_enabled);
}

// ---- TLS for clients ------------------------------------------------------------------

const TLS: &str = "clientPort=2181\nsecureClientPort=2281\nssl.keyStore.location=/k.pem\n";

#[test]
fn a_secure_port_with_pem_stores_configures_client_tls() {
    let c = ok(&format!(
        "{TLS}ssl.keyStore.type=PEM\nssl.trustStore.location=/ca.pem\n\
         ssl.trustStore.password=ignored\nsecureClientPortAddress=127.0.0.1\n\
         ssl.enabledProtocols=TLSv1.2, TLSv1.3\n\
         ssl.ciphersuites=TLS_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n"
    ));
    assert_eq!(
        c.client_tls,
        Some(ClientTls {
            port: 2281,
            address: Some("127.0.0.1".to_string()),
            key_store: "/k.pem".to_string(),
            trust_store: Some("/ca.pem".to_string()),
            client_auth: ClientAuth::Need,
            protocols: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            cipher_suites: vec![
                "TLS_AES_128_GCM_SHA256".to_string(),
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".to_string()
            ],
        })
    );
    // The keys TLS reads are not "ignored".
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let tls12 = ok(&format!("{TLS}ssl.clientAuth=none\nssl.protocol=TLSv1.2\n"));
    let tls = tls12.client_tls.unwrap();
    assert_eq!(
        (tls.client_auth, tls.protocols, tls.trust_store),
        (ClientAuth::None, vec![TlsVersion::Tls12], None)
    );
    let default = ok(&format!("{TLS}ssl.clientAuth=None\n"))
        .client_tls
        .unwrap();
    assert_eq!(
        default.protocols,
        vec![TlsVersion::Tls13, TlsVersion::Tls12]
    );
}

#[test]
fn tls_keys_that_cannot_be_served_are_refused_by_name() {
    let tls_err = |text: &str| match err(text).kind {
        ConfigErrorKind::BadTls { key, .. } => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(tls_err("secureClientPort=2281\n"), "ssl.keyStore.location");
    assert_eq!(
        tls_err(&format!(
            "{TLS}ssl.keyStore.type=JKS\nssl.clientAuth=none\n"
        )),
        "ssl.keyStore.type"
    );
    assert_eq!(
        tls_err("secureClientPort=2281\nssl.keyStore.location=/ks.jks\nssl.clientAuth=none\n"),
        "ssl.keyStore.type"
    );
    assert_eq!(
        tls_err(&format!("{TLS}ssl.trustStore.location=/t.p12\n")),
        "ssl.trustStore.type"
    );
    assert_eq!(
        tls_err(&format!(
            "{TLS}ssl.keyStore.password=pw\nssl.clientAuth=none\n"
        )),
        "ssl.keyStore.password"
    );
    // need is the default, and it needs a trust store.
    assert_eq!(tls_err(TLS), "ssl.trustStore.location");
    assert_eq!(
        tls_err(&format!("{TLS}ssl.clientAuth=want\n")),
        "ssl.trustStore.location"
    );
    assert_eq!(
        tls_err(&format!("{TLS}ssl.clientAuth=maybe\n")),
        "ssl.clientAuth"
    );
    assert_eq!(
        tls_err(&format!("{TLS}ssl.clientAuth=none\nssl.protocol=TLSv1.1\n")),
        "ssl.protocol"
    );
    assert_eq!(
        tls_err(&format!(
            "{TLS}ssl.clientAuth=none\nssl.enabledProtocols=,\n"
        )),
        "ssl.enabledProtocols"
    );
    let e = err(&format!(
        "{TLS}ssl.keyStore.type=PKCS12\nssl.clientAuth=none\n"
    ));
    assert_eq!(e.line, 4);
    assert!(
        e.to_string().contains("'PKCS12' stores are not supported"),
        "{e}"
    );
}

#[test]
fn port_unification_is_refused_not_ignored() {
    for key in ["portUnification", "client.portUnification"] {
        let e = err(&format!("clientPort=1\n{key}=true\n"));
        assert_eq!(e.line, 2);
        assert!(
            matches!(&e.kind, ConfigErrorKind::UnsupportedKey { key: k, .. } if k == key),
            "{e:?}"
        );
        // Off, it asks for nothing: kept with the usual warning.
        let c = ok(&format!("clientPort=1\n{key}=false\n"));
        assert_eq!(c.warnings.len(), 1);
    }
}

#[test]
fn ssl_quorum_reads_the_quorum_stores_and_needs_a_trust_store() {
    let c = ok("sslQuorum=true\nssl.quorum.keyStore.location=/m.pem\n\
                ssl.quorum.trustStore.location=/ca.pem\nssl.quorum.hostnameVerification=false\n\
                ssl.quorum.protocol=TLSv1.2\nssl.clientAuth=none\n");
    assert_eq!(
        c.quorum_tls,
        Some(QuorumTls {
            key_store: "/m.pem".to_string(),
            trust_store: "/ca.pem".to_string(),
            protocols: vec![TlsVersion::Tls12],
            cipher_suites: Vec::new(),
            hostname_verification: false,
        })
    );
    // The client key is unused without a secure client port: warned, the quorum keys not.
    let keys: Vec<&str> = c.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, vec!["ssl.clientAuth"]);
    assert_eq!(ok("sslQuorum=false\n").quorum_tls, None);
    assert!(ok("sslQuorum=false\n").warnings.is_empty());
    let tls_err = |text: &str| match err(text).kind {
        ConfigErrorKind::BadTls { key, .. } => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(tls_err("sslQuorum=true\n"), "ssl.quorum.keyStore.location");
    assert_eq!(
        tls_err("sslQuorum=true\nssl.quorum.keyStore.location=/m.pem\n"),
        "ssl.quorum.trustStore.location"
    );
    assert_eq!(
        tls_err(
            "sslQuorum=true\nssl.quorum.keyStore.location=/m.jks\n\
             ssl.quorum.trustStore.location=/ca.pem\n"
        ),
        "ssl.quorum.keyStore.type"
    );
    assert_eq!(
        tls_err(
            "sslQuorum=true\nssl.quorum.keyStore.location=/m.pem\n\
             ssl.quorum.trustStore.location=/ca.pem\nssl.quorum.hostnameVerification=maybe\n"
        ),
        "ssl.quorum.hostnameVerification"
    );
}

#[test]
fn ssl_keys_without_a_secure_port_are_kept_and_warned_in_file_order() {
    let c = ok("ssl.clientAuth=none\ntickTime=5\nfoo=1\n");
    let keys: Vec<(usize, &str)> = c
        .warnings
        .iter()
        .map(|w| (w.line, w.key.as_str()))
        .collect();
    assert_eq!(keys, vec![(1, "ssl.clientAuth"), (3, "foo")]);
    assert_eq!(c.client_tls, None);
}

// ---- errors: every variant, with its line -----------------------------------------------

#[test]
fn missing_equals() {
    assert_eq!(
        err("tickTime=1\n\n# c\ntickTime 2000\n"),
        ConfigError::new(4, ConfigErrorKind::MissingEquals)
    );
    assert_eq!(
        err("clientPort: 2181"),
        ConfigError::new(1, ConfigErrorKind::MissingEquals)
    );
}

#[test]
fn bad_key() {
    assert_eq!(
        err("a=1\n = 5"),
        ConfigError::new(2, ConfigErrorKind::BadKey(String::new()))
    );
    assert_eq!(
        err("tick Time=5"),
        ConfigError::new(1, ConfigErrorKind::BadKey("tick Time".to_string()))
    );
}

#[test]
fn duplicate_key_names_second_line() {
    assert_eq!(
        err("tickTime=1\ndataDir=/x\n\ntickTime=1\n"),
        ConfigError::new(4, ConfigErrorKind::DuplicateKey("tickTime".to_string()))
    );
    assert_eq!(
        err("foo=1\nfoo=2"),
        ConfigError::new(2, ConfigErrorKind::DuplicateKey("foo".to_string()))
    );
    assert_eq!(
        err("server.1=a:1:2\nserver.1=b:1:2"),
        ConfigError::new(2, ConfigErrorKind::DuplicateKey("server.1".to_string()))
    );
}

#[test]
fn bad_numbers() {
    let bad = |line: usize, key: &str, value: &str| {
        ConfigError::new(
            line,
            ConfigErrorKind::BadNumber {
                key: key.to_string(),
                value: value.to_string(),
            },
        )
    };
    assert_eq!(err("tickTime=+2000"), bad(1, "tickTime", "+2000"));
    assert_eq!(err("\ntickTime=-1"), bad(2, "tickTime", "-1"));
    assert_eq!(err("initLimit=1 0"), bad(1, "initLimit", "1 0"));
    assert_eq!(err("syncLimit=0x5"), bad(1, "syncLimit", "0x5"));
    assert_eq!(err("clientPort="), bad(1, "clientPort", ""));
    assert_eq!(err("maxClientCnxns=1.5"), bad(1, "maxClientCnxns", "1.5"));
    assert_eq!(
        err("minSessionTimeout=abc"),
        bad(1, "minSessionTimeout", "abc")
    );
    assert_eq!(
        err("maxSessionTimeout=١٢"),
        bad(1, "maxSessionTimeout", "١٢")
    );
    assert_eq!(err("admin.serverPort=x"), bad(1, "admin.serverPort", "x"));
    assert_eq!(
        err("metricsProvider.httpPort=y"),
        bad(1, "metricsProvider.httpPort", "y")
    );
    assert_eq!(err("jute.maxbuffer=010"), bad(1, "jute.maxbuffer", "010"));
    assert_eq!(err("jute.maxbuffer=0x"), bad(1, "jute.maxbuffer", "0x"));
    assert_eq!(err("jute.maxbuffer=0xg"), bad(1, "jute.maxbuffer", "0xg"));
}

#[test]
fn out_of_range() {
    let oor = |line: usize, key: &str, value: &str, why: &'static str| {
        ConfigError::new(
            line,
            ConfigErrorKind::OutOfRange {
                key: key.to_string(),
                value: value.to_string(),
                why,
            },
        )
    };
    assert_eq!(
        err("tickTime=0"),
        oor(1, "tickTime", "0", "must be 1-4294967295")
    );
    assert_eq!(
        err("a=b\ninitLimit=0"),
        oor(2, "initLimit", "0", "must be 1-4294967295")
    );
    assert_eq!(
        err("syncLimit=0"),
        oor(1, "syncLimit", "0", "must be 1-4294967295")
    );
    assert_eq!(
        err("tickTime=4294967296"),
        oor(1, "tickTime", "4294967296", "must be 1-4294967295")
    );
    assert_eq!(
        err("maxClientCnxns=99999999999999999999999999"),
        oor(
            1,
            "maxClientCnxns",
            "99999999999999999999999999",
            "must be 0-4294967295"
        )
    );
    assert_eq!(
        err("clientPort=0"),
        oor(1, "clientPort", "0", "must be a port 1-65535")
    );
    assert_eq!(
        err("clientPort=65536"),
        oor(1, "clientPort", "65536", "must be a port 1-65535")
    );
    assert_eq!(
        err("admin.serverPort=70000"),
        oor(1, "admin.serverPort", "70000", "must be a port 1-65535")
    );
    assert_eq!(
        err("jute.maxbuffer=0"),
        oor(1, "jute.maxbuffer", "0", "must be 1-4294967295")
    );
    assert_eq!(
        err("jute.maxbuffer=0x100000000"),
        oor(1, "jute.maxbuffer", "0x100000000", "must be 1-4294967295")
    );
    assert_eq!(
        err("jute.maxbuffer=0xffffffffffffffffff"),
        oor(
            1,
            "jute.maxbuffer",
            "0xffffffffffffffffff",
            "must be 1-4294967295"
        )
    );
}

#[test]
fn bad_bool() {
    assert_eq!(
        err("standaloneEnabled=1"),
        ConfigError::new(
            1,
            ConfigErrorKind::BadBool {
                key: "standaloneEnabled".to_string(),
                value: "1".to_string()
            }
        )
    );
    assert_eq!(
        err("x=y\nadmin.enableServer=on"),
        ConfigError::new(
            2,
            ConfigErrorKind::BadBool {
                key: "admin.enableServer".to_string(),
                value: "on".to_string()
            }
        )
    );
}

#[test]
fn empty_value() {
    for key in ["dataDir", "dataLogDir", "clientPortAddress"] {
        assert_eq!(
            err(&format!("tickTime=1\n{key}=  ")),
            ConfigError::new(2, ConfigErrorKind::EmptyValue(key.to_string()))
        );
    }
}

#[test]
fn unsupported_election_alg() {
    assert_eq!(ok("electionAlg=3").election_alg, 3);
    for v in [
        "0",
        "1",
        "2",
        "4",
        "fast",
        "",
        "-3",
        "99999999999999999999999",
    ] {
        assert_eq!(
            err(&format!("\n\nelectionAlg={v}")),
            ConfigError::new(3, ConfigErrorKind::UnsupportedElectionAlg(v.to_string()))
        );
    }
}

#[test]
fn bad_peer_type() {
    assert_eq!(
        err("peerType=leader"),
        ConfigError::new(1, ConfigErrorKind::BadPeerType("leader".to_string()))
    );
}

#[test]
fn bad_server_id() {
    for (key, id_text) in [
        ("server.0", "0"),
        ("server.256", "256"),
        ("server.x", "x"),
        ("server.", ""),
        ("server.-1", "-1"),
        ("server.+1", "+1"),
        ("server.1.2", "1.2"),
        ("server.99999999999999999999999", "99999999999999999999999"),
    ] {
        assert_eq!(
            err(&format!("tickTime=2000\n{key}=h:1:2")),
            ConfigError::new(2, ConfigErrorKind::BadServerId(id_text.to_string())),
            "{key}"
        );
    }
    assert_eq!(ok("server.255=h:1:2").servers.len(), 1);
}

#[test]
fn bad_server_lines() {
    use PortRole::*;
    use ServerLineProblem as P;
    let port = |which: PortRole, v: &str| P::BadPort {
        which,
        value: v.to_string(),
    };
    let cases: Vec<(&str, ServerLineProblem)> = vec![
        ("", P::Form),
        ("zoo1", P::Form),
        ("zoo1:2888", P::Form),
        ("zoo1:2888:3888:observer:x", P::Form),
        ("zoo1:2888:3888;", P::Form),
        ("zoo1:2888:3888;1;2", P::Form),
        ("zoo1:2888:3888;[::1]", P::Form),
        (":2888:3888", P::EmptyHost),
        ("[]:2888:3888", P::EmptyHost),
        ("zo o1:2888:3888", P::BadHost("zo o1".to_string())),
        ("[::1:2888:3888", P::BadHost("[::1:2888:3888".to_string())),
        ("[::1]2888:3888", P::BadHost("[::1]2888:3888".to_string())),
        ("[a[b]:2888:3888", P::BadHost("a[b".to_string())),
        ("a]:2888:3888", P::BadHost("a]".to_string())),
        ("a\u{0}b:2888:3888", P::BadHost("a\u{0}b".to_string())),
        ("zoo\u{e9}:2888:3888", P::BadHost("zoo\u{e9}".to_string())),
        ("a:1:2|b:1:2", P::MultiAddress),
        ("zoo1:x:3888", port(Quorum, "x")),
        ("zoo1:0:3888", port(Quorum, "0")),
        ("zoo1:65536:3888", port(Quorum, "65536")),
        ("zoo1:+1:3888", port(Quorum, "+1")),
        ("zoo1: 2888:3888", port(Quorum, " 2888")),
        ("zoo1:2888:x", port(Election, "x")),
        ("zoo1:2888:", port(Election, "")),
        (
            "zoo1:2888:99999999999999999999999",
            port(Election, "99999999999999999999999"),
        ),
        ("zoo1:2888:3888;x", port(Client, "x")),
        ("zoo1:2888:3888;0", port(Client, "0")),
        ("zoo1:2888:3888;h:", port(Client, "")),
        ("zoo1:2888:3888;a:b:1", port(Client, "b:1")),
        (
            "zoo1:2888:3888:leader",
            P::BadPeerType("leader".to_string()),
        ),
        ("zoo1:2888:3888:", P::BadPeerType(String::new())),
        ("zoo1:2888:3888;:2181", P::BadClientAddress(String::new())),
        (
            "zoo1:2888:3888;[::1:2181",
            P::BadClientAddress("[::1:2181".to_string()),
        ),
        (
            "zoo1:2888:3888;a b:2181",
            P::BadClientAddress("a b".to_string()),
        ),
    ];
    for (value, why) in cases {
        assert_eq!(
            err(&format!("# x\nserver.7={value}")),
            bad_server(2, 7, why),
            "server.7={value}"
        );
    }
}

#[test]
fn duplicate_server() {
    assert_eq!(
        err("server.1=a:1:2\nserver.2=b:1:2\nserver.01=c:1:2"),
        ConfigError::new(3, ConfigErrorKind::DuplicateServer(1))
    );
}

#[test]
fn duplicate_address() {
    let dup = |line: usize, id: ServerId, host: &str, port: u16, other: ServerId| {
        ConfigError::new(
            line,
            ConfigErrorKind::DuplicateAddress {
                id,
                host: host.to_string(),
                port,
                other,
            },
        )
    };
    assert_eq!(
        err("server.1=zoo1:2888:3888\nserver.2=zoo1:2888:3889"),
        dup(2, 2, "zoo1", 2888, 1)
    );
    // An election port clashing with another server's quorum port.
    assert_eq!(
        err("server.1=zoo1:2888:3888\nserver.2=zoo1:2889:2888"),
        dup(2, 2, "zoo1", 2888, 1)
    );
    // Both ports of one server the same.
    assert_eq!(err("server.5=zoo1:2888:2888"), dup(1, 5, "zoo1", 2888, 5));
    // Host names compare case-insensitively.
    assert_eq!(
        err("server.1=ZOO1:2888:3888\nserver.2=zoo1:3888:4888"),
        dup(2, 2, "zoo1", 3888, 1)
    );
    assert_eq!(
        err("server.9=[::1]:1:2\nserver.3=[::1]:2:3"),
        dup(2, 3, "::1", 2, 9)
    );
    // Same ports on different hosts are fine.
    ok("server.1=zoo1:2888:3888\nserver.2=zoo2:2888:3888");
}

#[test]
fn unsupported_keys() {
    let hier = "hierarchical quorums are not implemented; \
                ignoring them would change who forms a quorum";
    assert_eq!(
        err("server.1=a:1:2\ngroup.1=1"),
        ConfigError::new(
            2,
            ConfigErrorKind::UnsupportedKey {
                key: "group.1".to_string(),
                why: hier
            }
        )
    );
    assert_eq!(
        err("weight.1=1"),
        ConfigError::new(
            1,
            ConfigErrorKind::UnsupportedKey {
                key: "weight.1".to_string(),
                why: hier
            }
        )
    );
    assert_eq!(
        err("dynamicConfigFile=/zoo.cfg.dynamic\nserver.1=a:1:2\n"),
        ConfigError::new(
            1,
            ConfigErrorKind::DynamicConfig(
                "zoo.cfg has server.N lines and names a dynamicConfigFile: keep the members \
                 in one place"
                    .to_string()
            )
        )
    );
}

#[test]
fn a_dynamic_config_file_brings_the_members_and_their_version() {
    let c = ok("reconfigEnabled=true\ndynamicConfigFile=/zoo.cfg.dynamic\n");
    assert!(c.reconfig_enabled);
    assert_eq!(c.dynamic_config_file.as_deref(), Some("/zoo.cfg.dynamic"));
    assert!(c.servers.is_empty());
    let c = c
        .with_dynamic_config(
            "server.1=a:1:2:participant;2181\nserver.2=b:1:2:observer;2181\nversion=100000003\n",
        )
        .unwrap();
    assert_eq!(c.voters().collect::<Vec<_>>(), vec![1]);
    assert_eq!(c.observers().collect::<Vec<_>>(), vec![2]);
    assert_eq!(
        c.config_version, 0,
        "a file's version never orders against reconfigs'"
    );
    let empty = ok("dynamicConfigFile=/d\n").with_dynamic_config("# nothing\n");
    assert!(matches!(
        empty,
        Err(ConfigError {
            kind: ConfigErrorKind::DynamicConfig(_),
            ..
        })
    ));
    let observers_only =
        ok("dynamicConfigFile=/d\n").with_dynamic_config("server.1=a:1:2:observer");
    assert_eq!(
        observers_only.map(|_| ()),
        Err(ConfigError::new(0, ConfigErrorKind::NoVoters))
    );
}

#[test]
fn members_with_reconfig_enabled_share_one_fingerprint() {
    let a = ok("reconfigEnabled=true\nserver.1=a:1:2\nserver.2=b:1:2\n");
    let b = ok("reconfigEnabled=true\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n");
    let fixed = ok("server.1=a:1:2\nserver.2=b:1:2\n");
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), fixed.fingerprint());
}

#[test]
fn no_voters() {
    assert_eq!(
        err("server.1=a:1:2:observer\nserver.2=b:1:2:observer"),
        ConfigError::new(0, ConfigErrorKind::NoVoters)
    );
}

#[test]
fn session_timeout_range() {
    assert_eq!(
        err("minSessionTimeout=5000\nmaxSessionTimeout=4000"),
        ConfigError::new(
            0,
            ConfigErrorKind::SessionTimeoutRange {
                min: 5000,
                max: 4000
            }
        )
    );
    // The default minimum (2 x tickTime) above an explicit maximum.
    assert_eq!(
        err("tickTime=2000\nmaxSessionTimeout=3000"),
        ConfigError::new(
            0,
            ConfigErrorKind::SessionTimeoutRange {
                min: 4000,
                max: 3000
            }
        )
    );
    // An explicit minimum above the default maximum (20 x tickTime).
    assert_eq!(
        err("tickTime=100\nminSessionTimeout=2001"),
        ConfigError::new(
            0,
            ConfigErrorKind::SessionTimeoutRange {
                min: 2001,
                max: 2000
            }
        )
    );
}

#[test]
fn first_error_wins() {
    let e = err("tickTime=0\nfoo\nserver.0=x");
    assert_eq!(e.line, 1);
    assert!(matches!(e.kind, ConfigErrorKind::OutOfRange { .. }));
}

// ---- with_my_id -----------------------------------------------------------------------

#[test]
fn with_my_id_standalone_accepts_1_to_255() {
    for id in [1, 2, 17, 255] {
        assert_eq!(ok("").with_my_id(id).map(|c| c.my_id), Ok(id));
    }
    for id in [0, 256, u64::MAX] {
        assert_eq!(
            ok("").with_my_id(id),
            Err(ConfigError::new(0, ConfigErrorKind::BadMyId(id)))
        );
    }
}

#[test]
fn with_my_id_must_name_a_server() {
    let c = ok(DOCS_SAMPLE);
    assert_eq!(c.clone().with_my_id(2).map(|c| c.my_id), Ok(2));
    assert_eq!(
        c.clone().with_my_id(4),
        Err(ConfigError::new(0, ConfigErrorKind::UnknownMyId(4)))
    );
    assert_eq!(
        c.with_my_id(0),
        Err(ConfigError::new(0, ConfigErrorKind::BadMyId(0)))
    );
    // One server and standaloneEnabled: still standalone, but myid must be that server.
    assert_eq!(
        ok("server.3=a:1:2").with_my_id(1),
        Err(ConfigError::new(0, ConfigErrorKind::UnknownMyId(1)))
    );
}

#[test]
fn with_my_id_peer_type() {
    let text = "server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2:observer\n";
    // No explicit peerType: adopt the server line's.
    let c = ok(text);
    assert_eq!(
        c.clone().with_my_id(3).map(|c| c.peer_type),
        Ok(PeerType::Observer)
    );
    assert_eq!(
        c.with_my_id(1).map(|c| c.peer_type),
        Ok(PeerType::Participant)
    );
    // Explicit and agreeing.
    let c = ok(&format!("{text}peerType=observer\n"));
    assert_eq!(
        c.clone().with_my_id(3).map(|c| c.peer_type),
        Ok(PeerType::Observer)
    );
    // Explicit and disagreeing: names the peerType line.
    assert_eq!(
        c.with_my_id(2),
        Err(ConfigError::new(
            4,
            ConfigErrorKind::PeerTypeMismatch {
                id: 2,
                configured: PeerType::Observer,
                server_line: PeerType::Participant,
            }
        ))
    );
    let c = ok(&format!("peerType=participant\n{text}"));
    assert_eq!(
        c.with_my_id(3),
        Err(ConfigError::new(
            1,
            ConfigErrorKind::PeerTypeMismatch {
                id: 3,
                configured: PeerType::Participant,
                server_line: PeerType::Observer,
            }
        ))
    );
    // Standalone: nothing to compare against.
    assert_eq!(
        ok("peerType=observer").with_my_id(9).map(|c| c.peer_type),
        Ok(PeerType::Observer)
    );
}

#[test]
fn with_my_id_client_port() {
    let text = "server.1=a:1:2;2181\nserver.2=b:1:2;10.0.0.2:2182\nserver.3=c:1:2\n";
    let c = ok(text).with_my_id(1).ok();
    assert_eq!(c.as_ref().and_then(|c| c.client_port), Some(2181));
    assert_eq!(c.as_ref().and_then(|c| c.client_port_address.clone()), None);
    let c = ok(text).with_my_id(2).ok();
    assert_eq!(c.as_ref().and_then(|c| c.client_port), Some(2182));
    assert_eq!(
        c.as_ref().and_then(|c| c.client_port_address.clone()),
        Some("10.0.0.2".to_string())
    );
    let c = ok(text).with_my_id(3).ok();
    assert_eq!(c.as_ref().and_then(|c| c.client_port), None);
    // Explicit, agreeing, and explicit address kept.
    let c = ok(&format!(
        "clientPort=2182\nclientPortAddress=0.0.0.0\n{text}"
    ))
    .with_my_id(2);
    assert_eq!(
        c.map(|c| (c.client_port, c.client_port_address)),
        Ok((Some(2182), Some("0.0.0.0".to_string())))
    );
    // Explicit and disagreeing.
    assert_eq!(
        ok(&format!("clientPort=2000\n{text}")).with_my_id(1),
        Err(ConfigError::new(
            0,
            ConfigErrorKind::ClientPortMismatch {
                id: 1,
                client_port: 2000,
                server_line: 2181
            }
        ))
    );
    // A server without a suffix never disagrees.
    assert_eq!(
        ok(&format!("clientPort=2000\n{text}"))
            .with_my_id(3)
            .map(|c| c.client_port),
        Ok(Some(2000))
    );
}

// ---- Display ------------------------------------------------------------------------

#[test]
fn error_messages() {
    let msg = |text: &str| err(text).to_string();
    assert_eq!(
        msg("a=1\nb=2\nc=3\nd=4\ne=5\nf=6\nserver.3=h:2888:x"),
        "zoo.cfg line 7: server.3: election port 'x' is not a number 1-65535"
    );
    assert_eq!(
        msg("tickTime"),
        "zoo.cfg line 1: expected key=value, found no '='"
    );
    assert_eq!(
        msg("tickTime=0"),
        "zoo.cfg line 1: tickTime: 0 is out of range: must be 1-4294967295"
    );
    assert_eq!(
        msg("clientPort=x"),
        "zoo.cfg line 1: clientPort: 'x' is not a decimal number"
    );
    assert_eq!(msg("a=1\na=2"), "zoo.cfg line 2: a is set more than once");
    assert_eq!(
        msg("electionAlg=0"),
        "zoo.cfg line 1: electionAlg: '0' is not supported; only 3 (fast leader election) is"
    );
    assert_eq!(
        msg("server.0=a:1:2"),
        "zoo.cfg line 1: server.0: the server id must be an integer 1-255"
    );
    assert_eq!(
        msg("server.1=[::1]:1:2\nserver.2=[::1]:2:3"),
        "zoo.cfg line 2: server.2: address [::1]:2 is already used by server.1"
    );
    assert_eq!(
        msg("server.1=a:1:2:observer"),
        "zoo.cfg: no server.N line is a participant; an ensemble needs at least one voter"
    );
    assert_eq!(
        msg("minSessionTimeout=10\nmaxSessionTimeout=9"),
        "zoo.cfg: minSessionTimeout (10 ms) is larger than maxSessionTimeout (9 ms)"
    );
    assert_eq!(
        msg("server.1=a"),
        "zoo.cfg line 1: server.1: expected \
         host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]"
    );
    let my = |c: Config, id: ServerId| c.with_my_id(id).err().map(|e| e.to_string());
    assert_eq!(
        my(ok(""), 0),
        Some("zoo.cfg: myid 0 is not valid: it must be an integer 1-255".to_string())
    );
    assert_eq!(
        my(ok(DOCS_SAMPLE), 4),
        Some("zoo.cfg: myid 4 has no server.4 line".to_string())
    );
    assert_eq!(
        my(ok("peerType=observer\nserver.1=a:1:2"), 1),
        Some("zoo.cfg line 1: peerType=observer but server.1 is listed as participant".to_string())
    );
}

// ---- fingerprint -----------------------------------------------------------------------

#[test]
fn fingerprint_ignores_everything_but_membership() {
    let base = ok(DOCS_SAMPLE);
    let other = ok("# another file\n\
                    tickTime=500\n\
                    dataDir=/elsewhere\n\
                    server.3=ZOO3:2888:3888;2181\n\
                    clientPort=3000\n\
                    server.2=zoo2:2888:3888:participant\n\
                    foo=bar\n\
                    server.1=zoo1:2888:3888;10.1.1.1:2181\n");
    assert_eq!(base.fingerprint(), other.fingerprint());
    assert_eq!(
        base.clone().with_my_id(1).map(|c| c.fingerprint()),
        Ok(base.fingerprint())
    );
    assert_eq!(
        base.clone().with_my_id(3).map(|c| c.fingerprint()),
        Ok(base.fingerprint())
    );
    // A pinned value: the hash must not drift across platforms, runs or refactors.
    assert_eq!(base.fingerprint(), FINGERPRINT_DOCS_SAMPLE);
}

/// The fingerprint of the docs sample ensemble, pinned.
const FINGERPRINT_DOCS_SAMPLE: u64 = 0xc0af_f977_2e96_ed45;

#[test]
fn fingerprint_changes_with_membership() {
    let base = ok(DOCS_SAMPLE).fingerprint();
    let variants = [
        DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo3:2889:3888"),
        DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo3:2888:3889"),
        DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.3=zoo4:2888:3888"),
        DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", "server.4=zoo3:2888:3888"),
        DOCS_SAMPLE.replace(
            "server.3=zoo3:2888:3888",
            "server.3=zoo3:2888:3888:observer",
        ),
        DOCS_SAMPLE.replace("server.3=zoo3:2888:3888", ""),
        format!("{DOCS_SAMPLE}server.4=zoo4:2888:3888\n"),
    ];
    let mut seen = vec![base, ok("").fingerprint()];
    for text in &variants {
        let f = ok(text).fingerprint();
        assert!(!seen.contains(&f), "{text}");
        seen.push(f);
    }
}

// ---- properties ----------------------------------------------------------------------

/// Keys the parser treats specially, plus a few ignored ones.
const KEYS: &[&str] = &[
    "tickTime",
    "initLimit",
    "syncLimit",
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "electionAlg",
    "peerType",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "4lw.commands.whitelist",
    "admin.enableServer",
    "admin.serverPort",
    "metricsProvider.httpPort",
    "jute.maxbuffer",
    "standaloneEnabled",
    "dynamicConfigFile",
    "group.1",
    "weight.2",
    "snapCount",
];

fn key_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(KEYS).prop_map(|k| k.to_string()),
        (0u64..300).prop_map(|n| format!("server.{n}")),
        "server\\.[0-9a-z+-]{0,4}",
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

fn value_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,12}",
        "(0x)?[0-9a-fA-F]{0,10}",
        "(true|false|yes|no|observer|participant|[a-z]{0,5})",
        "\\[?[a-z0-9:]{0,6}\\]?:[0-9]{0,6}:[0-9]{0,6}(:observer|:participant|:x)?\
         (;(\\[?[a-z0-9.:]{0,8}\\]?:)?[0-9]{0,6})?",
        "[ -~]{0,30}",
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        let _ = Config::from_zoo_cfg(&text);
    }

    #[test]
    fn never_panics_on_key_value_lines(
        lines in proptest::collection::vec((key_strategy(), value_strategy()), 0..24),
        my_id in 0u64..300,
    ) {
        let mut text = String::new();
        for (k, v) in &lines {
            text.push_str(k);
            text.push('=');
            text.push_str(v);
            text.push('\n');
        }
        if let Ok(c) = Config::from_zoo_cfg(&text) {
            let _ = c.fingerprint();
            let _ = c.min_session_timeout();
            let _ = c.max_session_timeout();
            let _ = c.is_standalone();
            prop_assert_eq!(
                c.voters().count() + c.observers().count(),
                c.servers.len()
            );
            // The printed membership parses back to the same servers and fingerprint.
            let again = Config::from_zoo_cfg(&c.ensemble_text());
            prop_assert_eq!(again.as_ref().map(|a| &a.servers), Ok(&c.servers));
            prop_assert_eq!(again.map(|a| a.fingerprint()), Ok(c.fingerprint()));
            let _ = c.with_my_id(my_id);
        }
    }
}

#[test]
fn the_client_backlog_limit_is_positive_and_defaults_to_256_mib() {
    assert_eq!(ok("").client_backlog_limit_mb, 256);
    assert!(Config::from_zoo_cfg("clientBacklogLimitMB=0\n").is_err());
    assert!(Config::from_zoo_cfg("clientBacklogLimitMB=lots\n").is_err());
}

#[test]
fn busy_polling_defaults_to_200_us_and_is_bounded() {
    assert_eq!(ok("").busy_poll_us, 200);
    assert_eq!(ok("busyPollMicros=0\n").busy_poll_us, 0);
    assert_eq!(ok("busyPollMicros=10000\n").busy_poll_us, 10_000);
    let e = Config::from_zoo_cfg("tickTime=2000\nbusyPollMicros=10001\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("0 (off) to 10000"), "{e}");
    assert!(Config::from_zoo_cfg("busyPollMicros=-1\n").is_err());
    assert!(Config::from_zoo_cfg("busyPollMicros=fast\n").is_err());
}

#[test]
fn the_container_check_interval_is_positive_and_defaults_to_a_second() {
    assert_eq!(ok("").container_check_interval_ms, 1_000);
    assert_eq!(
        err("znode.container.checkIntervalMs=0"),
        ConfigError::new(
            1,
            ConfigErrorKind::OutOfRange {
                key: "znode.container.checkIntervalMs".to_string(),
                value: "0".to_string(),
                why: super::values::WHY_POSITIVE_U32,
            }
        )
    );
}
