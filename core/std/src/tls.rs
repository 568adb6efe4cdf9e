//! TLS on the secure client port (`secureClientPort`): the core's [`SocketLayer`] over a
//! rustls server connection, built from ZooKeeper's `ssl.*` keys with PEM stores. Every
//! adapter gets it through the core's driver; none holds TLS state of its own.
//!
//! Randomness: the handshakes' comes from ring's `SystemRandom` (the operating system's
//! `getrandom`), here in the std half; the core itself stays seeded and deterministic.

use std::io::{Read, Write};
use std::sync::Arc;

use conclave_core::config::{ClientAuth, ClientTls, QuorumTls, TlsVersion};
use conclave_core::host::{LayerFactory, SocketLayer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, Connection, DigitallySignedStruct,
    RootCertStore, ServerConfig, ServerConnection, SignatureScheme, SupportedCipherSuite,
};

/// Makes one rustls server connection per accepted socket, from one shared config.
#[derive(Debug)]
pub struct TlsLayers(Arc<ServerConfig>);

/// A PEM key store: the certificate chain and the private key, errors naming `key`.
fn key_store(
    key: &str,
    path: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect())
        .map_err(|e| format!("{key} {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!(
            "{key} {path}: no CERTIFICATE block (the file holds the private key and the \
             certificate chain)"
        ));
    }
    let private = PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("{key} {path}: no usable private key: {e}"))?;
    Ok((certs, private))
}

/// A PEM trust store, errors naming `key`.
fn trust_store(key: &str, path: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| format!("{key} {path}: {e}"))? {
        let cert = cert.map_err(|e| format!("{key} {path}: {e}"))?;
        roots.add(cert).map_err(|e| format!("{key} {path}: {e}"))?;
    }
    if roots.is_empty() {
        return Err(format!("{key} {path}: no CERTIFICATE block"));
    }
    Ok(roots)
}

fn versions(protocols: &[TlsVersion]) -> Vec<&'static rustls::SupportedProtocolVersion> {
    protocols
        .iter()
        .map(|v| match v {
            TlsVersion::Tls13 => &rustls::version::TLS13,
            TlsVersion::Tls12 => &rustls::version::TLS12,
        })
        .collect()
}

impl TlsLayers {
    /// Reads the PEM stores `tls` names and builds the server's TLS config; the error names
    /// the file or key at fault.
    pub fn load(tls: &ClientTls) -> Result<TlsLayers, String> {
        let store = &tls.key_store;
        let (certs, key) = key_store("ssl.keyStore.location", store)?;
        let provider = Arc::new(provider("ssl.ciphersuites", &tls.cipher_suites)?);
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions(&tls.protocols))
            .map_err(|e| format!("ssl.enabledProtocols / ssl.ciphersuites: {e}"))?;
        let builder = match (tls.client_auth, &tls.trust_store) {
            (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
            (auth, Some(path)) => {
                let roots = trust_store("ssl.trustStore.location", path)?;
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let verifier = if auth == ClientAuth::Want {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier
                        .build()
                        .map_err(|e| format!("ssl.trustStore.location {path}: {e}"))?,
                )
            }
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(|e| format!("ssl.keyStore.location {store}: {e}"))?;
        Ok(TlsLayers(Arc::new(config)))
    }
}

/// TLS on every peer link (`sslQuorum=true`): a server connection for each accepted link
/// and a client connection for each dialled one, both presenting the member's certificate
/// and requiring one the trust store vouches for.
#[derive(Debug)]
pub struct QuorumLayers {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

impl QuorumLayers {
    /// Reads the `ssl.quorum.*` PEM stores and builds both configs.
    pub fn load(tls: &QuorumTls) -> Result<QuorumLayers, String> {
        let ks = "ssl.quorum.keyStore.location";
        let (certs, key) = key_store(ks, &tls.key_store)?;
        let roots = Arc::new(trust_store(
            "ssl.quorum.trustStore.location",
            &tls.trust_store,
        )?);
        let provider = Arc::new(provider("ssl.quorum.ciphersuites", &tls.cipher_suites)?);
        let versions = versions(&tls.protocols);
        let protocols = "ssl.quorum.enabledProtocols / ssl.quorum.ciphersuites";
        let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
            .build()
            .map_err(|e| format!("ssl.quorum.trustStore.location: {e}"))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| format!("{protocols}: {e}"))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs.clone(), key.clone_key())
            .map_err(|e| format!("{ks} {}: {e}", tls.key_store))?;
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("ssl.quorum.trustStore.location: {e}"))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&versions)
            .map_err(|e| format!("{protocols}: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PeerVerifier {
                webpki,
                hostname_verification: tls.hostname_verification,
            }))
            .with_client_auth_cert(certs, key)
            .map_err(|e| format!("{ks} {}: {e}", tls.key_store))?;
        Ok(QuorumLayers {
            server: Arc::new(server),
            client: Arc::new(client),
        })
    }
}

impl LayerFactory for QuorumLayers {
    fn layer(&self) -> Result<Box<dyn SocketLayer>, String> {
        ServerConnection::new(self.server.clone())
            .map(|c| TlsSocket::boxed(c.into()))
            .map_err(|e| e.to_string())
    }

    fn dial_layer(&self, host: &str) -> Result<Box<dyn SocketLayer>, String> {
        let name = ServerName::try_from(host.to_string())
            .map_err(|e| format!("{host} is no server name: {e}"))?;
        ClientConnection::new(self.client.clone(), name)
            .map(|c| TlsSocket::boxed(c.into()))
            .map_err(|e| e.to_string())
    }
}

/// WebPKI verification of a dialled member, where `ssl.quorum.hostnameVerification=false`
/// forgives only a certificate that does not name the host (the chain must still lead to
/// the trust store, and be in date).
#[derive(Debug)]
struct PeerVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    hostname_verification: bool,
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.hostname_verification => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// ring's provider, its suites narrowed to `names` (Java's IANA names; TLS 1.3 suites as
/// `TLS_AES_128_GCM_SHA256`). Names rustls does not implement (CBC suites, say) are
/// skipped with a warning, as long as one remains.
fn provider(key: &str, names: &[String]) -> Result<CryptoProvider, String> {
    let mut provider = rustls::crypto::ring::default_provider();
    if names.is_empty() {
        return Ok(provider);
    }
    let known = |s: &SupportedCipherSuite| {
        let name = s.suite().as_str().unwrap_or_default();
        names.iter().any(|n| {
            n == name
                || n.strip_prefix("TLS_")
                    .is_some_and(|rest| name == format!("TLS13_{rest}"))
        })
    };
    let available: Vec<String> = provider
        .cipher_suites
        .iter()
        .filter_map(|s| s.suite().as_str().map(str::to_string))
        .collect();
    provider.cipher_suites.retain(known);
    if provider.cipher_suites.is_empty() {
        return Err(format!(
            "{key}: none of {} is supported; supported: {}",
            names.join(","),
            available.join(",")
        ));
    }
    let kept = provider.cipher_suites.len();
    if kept < names.len() {
        tracing::warn!(
            "{key}: {} of {} names are not supported and are skipped",
            names.len() - kept,
            names.len()
        );
    }
    Ok(provider)
}

impl LayerFactory for TlsLayers {
    fn layer(&self) -> Result<Box<dyn SocketLayer>, String> {
        ServerConnection::new(self.0.clone())
            .map(|c| TlsSocket::boxed(c.into()))
            .map_err(|e| e.to_string())
    }
}

/// One socket's TLS session, either side.
struct TlsSocket(Connection);

impl TlsSocket {
    /// A layer over `conn`. Plaintext written before the handshake ends is held unbounded
    /// (rustls caps it at 64 KiB by default): the node's own flow control bounds what it
    /// writes, and a peer's first messages must not be refused.
    fn boxed(mut conn: Connection) -> Box<dyn SocketLayer> {
        conn.set_buffer_limit(None);
        Box::new(TlsSocket(conn))
    }

    fn flush(&mut self, wire: &mut Vec<u8>) {
        while self.0.wants_write() {
            if self.0.write_tls(wire).is_err() {
                break;
            }
        }
    }
}

impl SocketLayer for TlsSocket {
    fn read(
        &mut self,
        mut bytes: &[u8],
        plain: &mut Vec<u8>,
        wire: &mut Vec<u8>,
    ) -> Result<(), String> {
        // Bounded: each round consumes bytes (read_tls takes at least one record's worth
        // while it has room, and processing makes room).
        while !bytes.is_empty() {
            let n = self.0.read_tls(&mut bytes).map_err(|e| e.to_string())?;
            let state = match self.0.process_new_packets() {
                Ok(state) => state,
                Err(e) => {
                    self.flush(wire);
                    return Err(e.to_string());
                }
            };
            let ready = state.plaintext_bytes_to_read();
            if ready > 0 {
                let at = plain.len();
                plain.resize(at + ready, 0);
                self.0
                    .reader()
                    .read_exact(&mut plain[at..])
                    .map_err(|e| e.to_string())?;
            }
            if state.peer_has_closed() {
                self.flush(wire);
                return Err("the client closed the TLS session".to_string());
            }
            if n == 0 {
                break;
            }
        }
        self.flush(wire);
        Ok(())
    }

    fn write(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> Result<(), String> {
        // rustls takes at most its buffer limit of pending records per call: write a piece,
        // move its records out, go on (with one write_all, a 1 MB reply failed WriteZero).
        let mut rest = plain;
        while !rest.is_empty() {
            let n = self.0.writer().write(rest).map_err(|e| e.to_string())?;
            self.flush(wire);
            if n == 0 {
                return Err("the TLS session takes no more bytes".to_string());
            }
            rest = &rest[n..];
        }
        Ok(())
    }

    fn close(&mut self, wire: &mut Vec<u8>) {
        self.0.send_close_notify();
        self.flush(wire);
    }

    fn start(&mut self, wire: &mut Vec<u8>) {
        // A client's hello; a server has nothing to say first.
        self.flush(wire);
    }
}

/// Test certificates made with rcgen: a CA, and leaf certificates it signs.
#[cfg(test)]
pub(crate) mod testcerts {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A certificate authority that signs test certificates.
    pub(crate) struct Ca {
        params: CertificateParams,
        key: KeyPair,
        /// Its certificate, PEM.
        pub(crate) pem: String,
    }

    impl Ca {
        /// A fresh CA named `name`.
        pub(crate) fn new(name: &str) -> Ca {
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, name);
            let key = KeyPair::generate().unwrap();
            let pem = params.clone().self_signed(&key).unwrap().pem();
            Ca { params, key, pem }
        }

        /// A leaf certificate for `names` (DNS names or IP addresses): the PEM of its
        /// private key followed by its certificate (a ZooKeeper PEM key store). `expired`
        /// makes one that ran out in 2020.
        pub(crate) fn issue(&self, names: &[&str], expired: bool) -> String {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut params = CertificateParams::new(names).unwrap();
            if expired {
                params.not_before = rcgen::date_time_ymd(2019, 1, 1);
                params.not_after = rcgen::date_time_ymd(2020, 1, 1);
            }
            let key = KeyPair::generate().unwrap();
            let issuer = self.params.clone().self_signed(&self.key).unwrap();
            let cert = params.signed_by(&key, &issuer, &self.key).unwrap();
            format!("{}{}", key.serialize_pem(), cert.pem())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testcerts::Ca;
    use super::*;

    struct Files(std::path::PathBuf);

    impl Files {
        fn new(tag: &str) -> Files {
            let dir =
                std::env::temp_dir().join(format!("conclave-tls-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            Files(dir)
        }
        fn write(&self, name: &str, text: &str) -> String {
            let p = self.0.join(name);
            std::fs::write(&p, text).unwrap();
            p.display().to_string()
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn server_tls(files: &Files, ca: &Ca, auth: ClientAuth) -> ClientTls {
        ClientTls {
            port: 1,
            address: None,
            key_store: files.write("server.pem", &ca.issue(&["localhost", "127.0.0.1"], false)),
            trust_store: Some(files.write("ca.pem", &ca.pem)),
            client_auth: auth,
            protocols: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            cipher_suites: Vec::new(),
        }
    }

    /// A rustls client trusting `ca`, presenting `client_pem` (key + certificate) if given.
    fn client(ca: &Ca, client_pem: Option<&str>) -> ClientConnection {
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
            .unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let config = match client_pem {
            None => builder.with_no_client_auth(),
            Some(pem) => builder
                .with_client_auth_cert(
                    CertificateDer::pem_slice_iter(pem.as_bytes())
                        .collect::<Result<_, _>>()
                        .unwrap(),
                    PrivateKeyDer::from_pem_slice(pem.as_bytes()).unwrap(),
                )
                .unwrap(),
        };
        let name = ServerName::try_from("localhost").unwrap();
        ClientConnection::new(Arc::new(config), name).unwrap()
    }

    /// Runs the handshake and one exchange in memory (bounded rounds); the server's error,
    /// if any.
    fn exchange(layers: &TlsLayers, mut c: ClientConnection) -> Result<(), String> {
        let mut s = layers.layer().unwrap();
        let mut got = Vec::new();
        let mut sent = false;
        for _ in 0..20 {
            let mut to_server = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut to_server).unwrap();
            }
            let (mut plain, mut wire) = (Vec::new(), Vec::new());
            s.read(&to_server, &mut plain, &mut wire)?;
            got.extend(plain);
            if got == b"ping" && !sent {
                s.write(b"pong", &mut wire).unwrap();
                sent = true;
            }
            let mut slice = &wire[..];
            while !slice.is_empty() {
                c.read_tls(&mut slice).unwrap();
                c.process_new_packets()
                    .map_err(|e| format!("client: {e}"))?;
            }
            if !c.is_handshaking() && got.is_empty() {
                c.writer().write_all(b"ping").unwrap();
            }
            let mut answer = [0u8; 4];
            if sent && c.reader().read_exact(&mut answer).is_ok() {
                assert_eq!(&answer, b"pong");
                return Ok(());
            }
        }
        Err("no exchange in 20 rounds".to_string())
    }

    #[test]
    fn a_client_with_a_certificate_the_trust_store_vouches_for_talks_over_tls() {
        let files = Files::new("ok");
        let ca = Ca::new("test CA");
        let layers = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::Need)).unwrap();
        let client_pem = ca.issue(&["client"], false);
        exchange(&layers, client(&ca, Some(&client_pem))).unwrap();
    }

    #[test]
    fn client_auth_need_refuses_a_client_without_a_certificate_and_want_admits_it() {
        let files = Files::new("need");
        let ca = Ca::new("test CA");
        let need = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::Need)).unwrap();
        let e = exchange(&need, client(&ca, None)).unwrap_err();
        assert!(e.contains("certificate"), "{e}");
        let want = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::Want)).unwrap();
        exchange(&want, client(&ca, None)).unwrap();
        let none = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::None)).unwrap();
        exchange(&none, client(&ca, None)).unwrap();
    }

    /// Regression: a reply larger than rustls's 64 KiB buffer (a 1 MB getData) closed the
    /// connection with WriteZero; it must arrive whole.
    #[test]
    fn a_reply_larger_than_the_tls_buffer_arrives_whole() {
        let files = Files::new("big");
        let ca = Ca::new("test CA");
        let layers = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::None)).unwrap();
        let mut c = client(&ca, None);
        let mut s = layers.layer().unwrap();
        for _ in 0..10 {
            let mut to_server = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut to_server).unwrap();
            }
            let mut wire = Vec::new();
            s.read(&to_server, &mut Vec::new(), &mut wire).unwrap();
            let mut slice = &wire[..];
            while !slice.is_empty() {
                c.read_tls(&mut slice).unwrap();
                c.process_new_packets().unwrap();
            }
            if !c.is_handshaking() {
                break;
            }
        }
        assert!(!c.is_handshaking());
        // The client's Finished ends the server's handshake.
        let mut to_server = Vec::new();
        while c.wants_write() {
            c.write_tls(&mut to_server).unwrap();
        }
        // What the server says then (session tickets) goes first.
        let mut wire = Vec::new();
        s.read(&to_server, &mut Vec::new(), &mut wire).unwrap();
        let big: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
        s.write(&big, &mut wire).unwrap();
        let mut got = Vec::new();
        let mut slice = &wire[..];
        while !slice.is_empty() {
            c.read_tls(&mut slice).unwrap();
            let state = c.process_new_packets().unwrap();
            let at = got.len();
            got.resize(at + state.plaintext_bytes_to_read(), 0);
            c.reader().read_exact(&mut got[at..]).unwrap();
        }
        assert!(got == big, "{} of {} bytes", got.len(), big.len());
    }

    #[test]
    fn untrusted_and_expired_client_certificates_are_refused() {
        let files = Files::new("bad");
        let ca = Ca::new("test CA");
        let layers = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::Want)).unwrap();
        let stranger = Ca::new("someone else").issue(&["client"], false);
        let e = exchange(&layers, client(&ca, Some(&stranger))).unwrap_err();
        assert!(e.contains("UnknownIssuer"), "{e}");
        let expired = ca.issue(&["client"], true);
        let e = exchange(&layers, client(&ca, Some(&expired))).unwrap_err();
        assert!(e.contains("expired"), "{e}");
    }

    #[test]
    fn plaintext_on_the_tls_port_is_refused_with_an_error_not_a_panic() {
        let files = Files::new("plain");
        let ca = Ca::new("test CA");
        let layers = TlsLayers::load(&server_tls(&files, &ca, ClientAuth::None)).unwrap();
        let mut s = layers.layer().unwrap();
        // A ZooKeeper ConnectRequest's first bytes, and a four-letter word.
        for bytes in [&b"\0\0\0\x2c\0\0\0\0"[..], b"ruok", b"\x16\x03\x01\xff\xff"] {
            let (mut plain, mut wire) = (Vec::new(), Vec::new());
            let mut s2 = layers.layer().unwrap();
            let r = s2.read(bytes, &mut plain, &mut wire);
            assert!(plain.is_empty());
            // A truncated handshake record is not an error yet: more bytes may come.
            if bytes[0] != 0x16 {
                assert!(r.is_err(), "{bytes:?}");
            }
        }
        // A truncated handshake that never completes hands nothing to the node.
        let (mut plain, mut wire) = (Vec::new(), Vec::new());
        s.read(b"\x16\x03\x01\x00\x10\x01\x00", &mut plain, &mut wire)
            .unwrap();
        assert!(plain.is_empty());
    }

    /// Pumps bytes between a dialling and an accepting layer until the dialler's first
    /// plaintext arrives (bounded rounds); the first error, labelled by side.
    fn peer_exchange(
        dialer: &mut Box<dyn SocketLayer>,
        acceptor: &mut Box<dyn SocketLayer>,
    ) -> Result<(), String> {
        let (mut to_acceptor, mut to_dialer) = (Vec::new(), Vec::new());
        dialer.start(&mut to_acceptor);
        // The node writes at once; TLS holds it until the handshake is done.
        dialer.write(b"vote", &mut to_acceptor).unwrap();
        for _ in 0..20 {
            let mut plain = Vec::new();
            let bytes = std::mem::take(&mut to_acceptor);
            acceptor
                .read(&bytes, &mut plain, &mut to_dialer)
                .map_err(|e| format!("acceptor: {e}"))?;
            if plain == b"vote" {
                return Ok(());
            }
            let bytes = std::mem::take(&mut to_dialer);
            dialer
                .read(&bytes, &mut Vec::new(), &mut to_acceptor)
                .map_err(|e| format!("dialer: {e}"))?;
        }
        Err("no exchange in 20 rounds".to_string())
    }

    fn quorum(files: &Files, ca: &Ca, name: &str, host_check: bool) -> QuorumLayers {
        QuorumLayers::load(&QuorumTls {
            key_store: files.write(&format!("{name}.pem"), &ca.issue(&["127.0.0.1"], false)),
            trust_store: files.write("quorum-ca.pem", &ca.pem),
            protocols: vec![TlsVersion::Tls13, TlsVersion::Tls12],
            cipher_suites: Vec::new(),
            hostname_verification: host_check,
        })
        .unwrap()
    }

    #[test]
    fn members_authenticate_each_other_on_a_quorum_link() {
        let files = Files::new("quorum");
        let ca = Ca::new("members' CA");
        let (a, b) = (
            quorum(&files, &ca, "a", true),
            quorum(&files, &ca, "b", true),
        );
        peer_exchange(
            &mut a.dial_layer("127.0.0.1").unwrap(),
            &mut b.layer().unwrap(),
        )
        .unwrap();
        // A certificate that does not name the dialled host: refused unless the check is off.
        let e = peer_exchange(
            &mut a.dial_layer("localhost").unwrap(),
            &mut b.layer().unwrap(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("dialer") && e.contains("not valid for name"),
            "{e}"
        );
        let lax = quorum(&files, &ca, "c", false);
        peer_exchange(
            &mut lax.dial_layer("localhost").unwrap(),
            &mut b.layer().unwrap(),
        )
        .unwrap();
        // A member whose certificate another CA signed is refused both ways.
        let stranger = quorum(&Files::new("quorum-stranger"), &Ca::new("other"), "s", true);
        let e = peer_exchange(
            &mut stranger.dial_layer("127.0.0.1").unwrap(),
            &mut b.layer().unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("UnknownIssuer"), "{e}");
        let e = peer_exchange(
            &mut a.dial_layer("127.0.0.1").unwrap(),
            &mut stranger.layer().unwrap(),
        )
        .unwrap_err();
        assert!(e.contains("UnknownIssuer"), "{e}");
    }

    #[test]
    fn bad_stores_are_named_in_the_error() {
        let files = Files::new("stores");
        let ca = Ca::new("test CA");
        let mut tls = server_tls(&files, &ca, ClientAuth::Need);
        tls.key_store = files.write("only-cert.pem", &ca.pem);
        let e = TlsLayers::load(&tls).unwrap_err();
        assert!(
            e.contains("only-cert.pem") && e.contains("private key"),
            "{e}"
        );
        tls.key_store = files.0.join("missing.pem").display().to_string();
        assert!(TlsLayers::load(&tls).unwrap_err().contains("missing.pem"));
        let mut tls = server_tls(&files, &ca, ClientAuth::Need);
        tls.trust_store = Some(files.write("empty.pem", ""));
        assert!(TlsLayers::load(&tls)
            .unwrap_err()
            .contains("no CERTIFICATE"));
        let mut tls = server_tls(&files, &ca, ClientAuth::None);
        tls.cipher_suites = vec!["TLS_RSA_WITH_AES_128_CBC_SHA".to_string()];
        assert!(TlsLayers::load(&tls)
            .unwrap_err()
            .contains("ssl.ciphersuites"));
        tls.cipher_suites.push("TLS_AES_256_GCM_SHA384".to_string());
        let layers = TlsLayers::load(&tls).unwrap();
        exchange(&layers, client(&ca, None)).unwrap();
    }
}
