//! `bench --tls-cost`: what TLS costs a client, measured side by side on one Conclave
//! ensemble that serves both ports (`clientPort` and `secureClientPort`, `ssl.clientAuth=need`
//! with certificates made now by rcgen): connects/s (TCP connect, TLS handshake, session
//! handshake, closeSession) and write throughput (sessions pipelining setData), plain and TLS
//! alternating which goes first each round. A hand-driven rustls client over tokio: the ZooKeeper
//! client crate's TLS would pull a second crypto library into the workspace.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use conclave_core::client::{
    encode_record_frame, encode_request, ConnectRequest, JuteReader, JuteRecord, ReplyHeader,
    Request, SetDataRequest,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cluster::{Cluster, Service};

/// A client socket, plain or TLS, that sends and receives length-prefixed frames.
struct Conn {
    tcp: TcpStream,
    tls: Option<ClientConnection>,
    inbox: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str, tls: Option<&Arc<ClientConfig>>) -> Result<Conn, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let tls = match tls {
            None => None,
            Some(cfg) => Some(
                ClientConnection::new(cfg.clone(), ServerName::try_from("localhost").unwrap())
                    .map_err(|e| e.to_string())?,
            ),
        };
        let mut c = Conn {
            tcp,
            tls,
            inbox: Vec::new(),
            buf: vec![0; 64 << 10],
        };
        c.flush().await?;
        while c.tls.as_ref().is_some_and(|t| t.is_handshaking()) {
            c.read_some().await?;
            c.flush().await?;
        }
        Ok(c)
    }

    async fn flush(&mut self) -> Result<(), String> {
        if let Some(tls) = &mut self.tls {
            let mut out = Vec::new();
            while tls.wants_write() {
                tls.write_tls(&mut out).map_err(|e| e.to_string())?;
            }
            self.tcp.write_all(&out).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        match &mut self.tls {
            None => self.tcp.write_all(bytes).await.map_err(|e| e.to_string()),
            Some(tls) => {
                tls.writer().write_all(bytes).map_err(|e| e.to_string())?;
                self.flush().await
            }
        }
    }

    /// Reads once from the socket into the inbox (plaintext).
    async fn read_some(&mut self) -> Result<(), String> {
        let n = self
            .tcp
            .read(&mut self.buf)
            .await
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("closed by the server".to_string());
        }
        match &mut self.tls {
            None => self.inbox.extend_from_slice(&self.buf[..n]),
            Some(tls) => {
                let mut bytes = &self.buf[..n];
                while !bytes.is_empty() {
                    tls.read_tls(&mut bytes).map_err(|e| e.to_string())?;
                    let state = tls.process_new_packets().map_err(|e| e.to_string())?;
                    let ready = state.plaintext_bytes_to_read();
                    let at = self.inbox.len();
                    self.inbox.resize(at + ready, 0);
                    tls.reader()
                        .read_exact(&mut self.inbox[at..])
                        .map_err(|e| e.to_string())?;
                }
            }
        }
        Ok(())
    }

    /// The next frame's payload.
    async fn frame(&mut self) -> Result<Vec<u8>, String> {
        loop {
            if self.inbox.len() >= 4 {
                let len = i32::from_be_bytes(self.inbox[..4].try_into().unwrap()) as usize;
                if self.inbox.len() >= 4 + len {
                    let payload = self.inbox[4..4 + len].to_vec();
                    self.inbox.drain(..4 + len);
                    return Ok(payload);
                }
            }
            self.read_some().await?;
        }
    }

    async fn session(&mut self) -> Result<(), String> {
        let mut out = Vec::new();
        encode_record_frame(
            &ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 0,
                timeout_ms: 10_000,
                session_id: 0,
                passwd: vec![0; 16],
                read_only: Some(false),
            },
            &mut out,
        );
        self.send(&out).await?;
        self.frame().await.map(|_| ())
    }

    /// Sends `request` as `xid` and checks its reply header.
    async fn call(&mut self, xid: i32, request: &Request) -> Result<(), String> {
        let mut out = Vec::new();
        encode_request(xid, request, &mut out);
        self.send(&out).await?;
        self.reply().await
    }

    async fn reply(&mut self) -> Result<(), String> {
        let payload = self.frame().await?;
        let h = ReplyHeader::decode(&mut JuteReader::new(&payload, 1 << 20))
            .map_err(|e| e.to_string())?;
        if h.err != 0 {
            return Err(format!("error {} for xid {}", h.err, h.xid));
        }
        Ok(())
    }
}

/// The certificates of one run, written under `dir`.
struct Certs {
    client: Arc<ClientConfig>,
    server_pem: String,
    ca_pem: String,
}

fn certs(dir: &Path) -> Result<Certs, String> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let e = |e: rcgen::Error| e.to_string();
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(e)?;
    let leaf = |names: Vec<String>| -> Result<(String, String), String> {
        let key = KeyPair::generate().map_err(e)?;
        let cert = CertificateParams::new(names)
            .map_err(e)?
            .signed_by(&key, &ca_cert, &ca_key)
            .map_err(e)?;
        Ok((cert.pem(), key.serialize_pem()))
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into(), "127.0.0.1".into()])?;
    let (client_cert, client_key) = leaf(vec!["bench".into()])?;
    let write = |name: &str, text: String| -> Result<String, String> {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p.display().to_string())
    };
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_cert.pem().as_bytes()).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let chain =
        vec![CertificateDer::from_pem_slice(client_cert.as_bytes()).map_err(|e| e.to_string())?];
    let key = PrivateKeyDer::from_pem_slice(client_key.as_bytes()).map_err(|e| e.to_string())?;
    let client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| e.to_string())?;
    Ok(Certs {
        client: Arc::new(client),
        server_pem: write("server.pem", format!("{server_key}{server_cert}"))?,
        ca_pem: write("ca.pem", ca_cert.pem())?,
    })
}

/// Sessions opened and closed per second by `conns` connectors for `secs`.
async fn connects(
    hosts: &[String],
    tls: Option<&Arc<ClientConfig>>,
    conns: usize,
    secs: f64,
) -> Result<f64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (done, stop, host) = (done.clone(), stop.clone(), hosts[i % hosts.len()].clone());
        let tls = tls.cloned();
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut c = Conn::open(&host, tls.as_ref()).await?;
                c.session().await?;
                c.call(1, &Request::CloseSession).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), String>(())
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// setData/s by `sessions` sessions keeping `inflight` requests outstanding for `secs`.
async fn writes(
    hosts: &[String],
    tls: Option<&Arc<ClientConfig>>,
    sessions: usize,
    inflight: usize,
    secs: f64,
) -> Result<f64, String> {
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    for i in 0..sessions {
        let (done, host) = (done.clone(), hosts[i % hosts.len()].clone());
        let tls = tls.cloned();
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::open(&host, tls.as_ref()).await?;
            c.session().await?;
            let path = format!("/tls-bench-{i}");
            let create = Request::Create(conclave_core::client::CreateRequest {
                kind: conclave_core::client::CreateKind::Create,
                path: path.clone(),
                data: Some(Vec::new()),
                acl: vec![conclave_core::client::Acl {
                    perms: conclave_core::client::perms::ALL,
                    id: conclave_core::client::Id {
                        scheme: "world".to_string(),
                        id: "anyone".to_string(),
                    },
                }],
                flags: 0,
            });
            // Made once (a leftover from an earlier round is fine: NODEEXISTS ignored).
            let mut out = Vec::new();
            encode_request(1, &create, &mut out);
            c.send(&out).await?;
            let _ = c.frame().await?;
            let set = Request::SetData(SetDataRequest {
                path,
                data: Some(vec![7u8; 100]),
                version: -1,
            });
            let mut xid = 2;
            let mut batch = Vec::new();
            for _ in 0..inflight {
                encode_request(xid, &set, &mut batch);
                xid += 1;
            }
            c.send(&batch).await?;
            while Instant::now() < deadline {
                c.reply().await?;
                done.fetch_add(1, Ordering::Relaxed);
                let mut one = Vec::new();
                encode_request(xid, &set, &mut one);
                xid += 1;
                c.send(&one).await?;
            }
            for _ in 0..inflight {
                c.reply().await?;
            }
            Ok::<(), String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    Ok(done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// A transport under test: its name, its TLS config (`None`: plaintext) and its hosts.
type Transport<'a> = (&'static str, Option<&'a Arc<ClientConfig>>, &'a [String]);

/// Runs the comparison; prints JSON lines and a Markdown table of medians on stdout.
pub(crate) async fn run(
    service: &Service,
    dir: &Path,
    rounds: usize,
    secs: f64,
) -> Result<(), String> {
    let Service::Conclave { base_port, .. } = service else {
        return Err("--tls-cost measures Conclave".to_string());
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cert_dir = dir.with_extension("certs");
    std::fs::create_dir_all(&cert_dir).map_err(|e| format!("{}: {e}", cert_dir.display()))?;
    let c = certs(&cert_dir)?;
    let secure = |i: usize| base_port + 5000 + i as u16;
    let extra = |i: usize| {
        format!(
            "secureClientPort={}\nssl.keyStore.location={}\nssl.trustStore.location={}\nssl.clientAuth=need\n",
            secure(i),
            c.server_pem,
            c.ca_pem
        )
    };
    let cluster = Cluster::start_with(service, 3, dir, &extra, None)?;
    let plain_hosts = cluster.hosts.clone();
    let tls_hosts: Vec<String> = (1..=3)
        .map(|i| format!("127.0.0.1:{}", secure(i)))
        .collect();
    // Wait for a quorum: the first write that succeeds (bounded).
    let ready = Instant::now() + Duration::from_secs(30);
    loop {
        if writes(&plain_hosts, None, 1, 1, 0.0).await.is_ok() {
            break;
        }
        if Instant::now() > ready {
            return Err("the ensemble did not serve within 30 s".to_string());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut table: Vec<(&str, &str, Vec<f64>)> = Vec::new();
    for round in 0..rounds {
        let order: [Transport<'_>; 2] = if round % 2 == 0 {
            [
                ("plain", None, &plain_hosts),
                ("tls", Some(&c.client), &tls_hosts),
            ]
        } else {
            [
                ("tls", Some(&c.client), &tls_hosts),
                ("plain", None, &plain_hosts),
            ]
        };
        for (name, tls, hosts) in order {
            for metric in ["connects/s (8 connectors)", "write-tput setData/s (16x16)"] {
                let value = if metric.starts_with("connects") {
                    connects(hosts, tls, 8, secs).await?
                } else {
                    writes(hosts, tls, 16, 16, secs).await?
                };
                println!(
                    "{}",
                    serde_json::json!({"round": round, "transport": name, "metric": metric, "value": value})
                );
                eprintln!("bench --tls-cost: round {round}: {name} {metric}: {value:.0}");
                match table
                    .iter_mut()
                    .find(|(t, m, _)| *t == name && *m == metric)
                {
                    Some(row) => row.2.push(value),
                    None => table.push((name, metric, vec![value])),
                }
            }
        }
    }
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    println!("\n| metric | plain | TLS | TLS / plain |\n|---|---|---|---|");
    for metric in ["connects/s (8 connectors)", "write-tput setData/s (16x16)"] {
        let get = |t: &str| {
            table
                .iter()
                .find(|(n, m, _)| *n == t && *m == metric)
                .map_or(0.0, |r| median(&r.2))
        };
        let (p, t) = (get("plain"), get("tls"));
        println!("| {metric} | {p:.0} | {t:.0} | {:.2} |", t / p.max(1e-9));
    }
    drop(cluster);
    Ok(())
}
