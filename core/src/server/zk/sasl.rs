//! SASL DIGEST-MD5 (RFC 2831) as ZooKeeper's server speaks it to clients whose users are
//! listed in a JAAS `DigestLoginModule` section: one challenge, one response checked against
//! the user's password, and `rspauth` back. The authenticated identity becomes the session's
//! `sasl` ACL id. DIGEST-MD5 is obsolete (RFC 6331); it is here because ZooKeeper users
//! configure it. Confidentiality is TLS's job: only `qop=auth` is offered.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;

use md5::{Digest, Md5};

use super::*;

/// Where a connection's SASL exchange stands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) enum Exchange {
    /// None begun.
    #[default]
    None,
    /// Challenged with this nonce; the next token is the client's response.
    Challenged(String),
    /// Authenticated: a further token is an error, as in ZooKeeper (its SaslServer is done).
    Done,
}

impl ZkService {
    /// One SASL request (opcode 102): the first token (whatever it holds) gets the
    /// challenge, the second is checked; success adds `sasl:<user>` to the connection's
    /// identities and answers `rspauth`; any failure is AUTHFAILED and the connection is
    /// closed (its session left to expire), as ZooKeeper does.
    pub(super) fn sasl_step(
        &mut self,
        conn: ConnId,
        xid: i32,
        zxid: Zxid,
        token: &[u8],
        cx: &mut ServiceCx<'_>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let users = cx.config.sasl.as_ref().map(|s| &s.users.0);
        let c_addr = c.addr;
        let outcome = match (users, core::mem::take(&mut c.sasl)) {
            (None, _) => Err(String::from("SASL is not configured on this server")),
            (Some(_), Exchange::None) => {
                self.sasl_exchanges += 1;
                let mut material = Vec::with_capacity(64);
                for n in [
                    conn,
                    self.sasl_exchanges,
                    self.secret,
                    cx.now.as_nanos(),
                    cx.wall_ms as u64,
                ] {
                    material.extend_from_slice(&n.to_le_bytes());
                }
                material.extend_from_slice(format!("{}", c.addr).as_bytes());
                let n = nonce(&material);
                let challenge = challenge(&n);
                c.sasl = Exchange::Challenged(n);
                Ok(challenge)
            }
            (Some(users), Exchange::Challenged(n)) => match verify(token, &n, users) {
                Ok((user, rspauth)) => {
                    let id = Id {
                        scheme: String::from("sasl"),
                        id: user,
                    };
                    c.add_auth(id);
                    c.sasl = Exchange::Done;
                    Ok(rspauth)
                }
                Err(e) => Err(e.to_string()),
            },
            (Some(_), Exchange::Done) => Err(String::from("SASL already completed")),
        };
        match outcome {
            Ok(token) => self.reply(conn, xid, zxid, Ok(Response::Sasl { token }), cx),
            Err(why) => {
                let addr = c_addr;
                cx.out.push(crate::service::ServiceOutput::Event(
                    crate::io::NodeEvent::SaslFailed { addr, why },
                ));
                self.reply(conn, xid, zxid, Err(ErrorCode::AuthFailed), cx);
                self.close(conn, cx);
            }
        }
    }
}

/// The realm and the server name of ZooKeeper's SASL server (`zk-sasl-md5`), and so the
/// host part of the digest-uri clients send (`zookeeper/zk-sasl-md5`).
pub(crate) const REALM: &str = "zk-sasl-md5";
/// The digest-uri every client must answer for: service `zookeeper`, host `zk-sasl-md5`.
const DIGEST_URI: &str = "zookeeper/zk-sasl-md5";
/// A response longer than this is refused unparsed (RFC 2831 §2.1.2 caps it at 4 KiB).
const MAX_RESPONSE: usize = 4096;

/// Why an exchange failed; the session is then closed with AUTHFAILED.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SaslError {
    /// The response could not be parsed, or a directive is missing or repeated.
    Malformed(&'static str),
    /// The response answers another nonce, realm, service or qop than offered.
    Mismatch(&'static str),
    /// No such user, or a wrong password (not told apart, on purpose).
    BadCredentials,
}

impl core::fmt::Display for SaslError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SaslError::Malformed(why) => write!(f, "malformed DIGEST-MD5 response: {why}"),
            SaslError::Mismatch(what) => write!(f, "DIGEST-MD5 response for another {what}"),
            SaslError::BadCredentials => f.write_str("bad user name or password"),
        }
    }
}

/// The server's challenge for `nonce`, byte for byte what ZooKeeper's (the JDK's
/// DigestMD5Server) sends: no `qop` directive, which means `auth`.
pub(crate) fn challenge(nonce: &str) -> Vec<u8> {
    format!("realm=\"{REALM}\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess").into_bytes()
}

/// A nonce made of `material` (anything unique to this exchange): 32 hex digits. It only
/// has to be fresh per exchange (a response answers the nonce its connection was offered).
pub(crate) fn nonce(material: &[u8]) -> String {
    hex(&Md5::digest(material))
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Parses `key=value` / `key="quoted"` directives separated by commas (RFC 2831 §7.1).
fn directives(text: &str) -> Result<BTreeMap<String, String>, SaslError> {
    let mut out = BTreeMap::new();
    let mut rest = text.trim_start_matches([' ', '\t', ',']);
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .ok_or(SaslError::Malformed("a directive without '='"))?;
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => v.push(chars.next().map(|(_, c)| c).unwrap_or('\\')),
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => v.push(c),
                }
            }
            let end = end.ok_or(SaslError::Malformed("an unterminated quoted string"))?;
            value = v;
            rest = &q[end + 1..];
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = &rest[end..];
        }
        if key.is_empty() || out.insert(key, value).is_some() {
            return Err(SaslError::Malformed("an empty or repeated directive"));
        }
        rest = rest.trim_start_matches([' ', '\t', ',']);
    }
    Ok(out)
}

/// Checks the client's `response` to the challenge with `nonce` against `users` (name →
/// password). Success: the identity (the user name, as ZooKeeper's callback handler makes
/// it whatever authzid the client asked for) and the `rspauth` to send.
pub(crate) fn verify(
    response: &[u8],
    nonce: &str,
    users: &BTreeMap<String, String>,
) -> Result<(String, Vec<u8>), SaslError> {
    if response.len() > MAX_RESPONSE {
        return Err(SaslError::Malformed("longer than 4 KiB"));
    }
    let text = core::str::from_utf8(response).map_err(|_| SaslError::Malformed("not UTF-8"))?;
    let d = directives(text)?;
    let get = |k: &'static str| d.get(k).ok_or(SaslError::Malformed(k));
    let (user, cnonce, nc, uri, given) = (
        get("username")?,
        get("cnonce")?,
        get("nc")?,
        get("digest-uri")?,
        get("response")?,
    );
    if get("nonce")? != nonce {
        return Err(SaslError::Mismatch("nonce"));
    }
    let realm = d.get("realm").map_or("", String::as_str);
    if !realm.is_empty() && realm != REALM {
        return Err(SaslError::Mismatch("realm"));
    }
    let qop = d.get("qop").map_or("auth", String::as_str);
    if qop != "auth" {
        return Err(SaslError::Mismatch("qop"));
    }
    if !uri.eq_ignore_ascii_case(DIGEST_URI) {
        return Err(SaslError::Mismatch("digest-uri"));
    }
    // One exchange per nonce: the nonce count is 1.
    if nc != "00000001" {
        return Err(SaslError::Mismatch("nonce count"));
    }
    if d.get("charset")
        .is_some_and(|c| !c.eq_ignore_ascii_case("utf-8"))
    {
        return Err(SaslError::Mismatch("charset"));
    }
    let authzid = d.get("authzid").filter(|a| !a.is_empty());
    let password = users.get(user).ok_or(SaslError::BadCredentials)?;
    let digest = |a2_prefix: &str| {
        // A1 = H(user:realm:password) : nonce : cnonce [: authzid]; H raw, not hex.
        let mut a1 = Md5::digest(format!("{user}:{realm}:{password}").as_bytes()).to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        if let Some(a) = authzid {
            a1.extend_from_slice(format!(":{a}").as_bytes());
        }
        let ha1 = hex(&Md5::digest(&a1));
        let ha2 = hex(&Md5::digest(format!("{a2_prefix}:{uri}").as_bytes()));
        hex(&Md5::digest(
            format!("{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}").as_bytes(),
        ))
    };
    // Compared whole on both sides; the password never leaves this function.
    if !digest("AUTHENTICATE").eq_ignore_ascii_case(given) {
        return Err(SaslError::BadCredentials);
    }
    let rspauth = format!("rspauth={}", digest("")).into_bytes();
    Ok((user.clone(), rspauth))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> BTreeMap<String, String> {
        [("bob".to_string(), "secret".to_string())]
            .into_iter()
            .collect()
    }

    /// RFC 2831 §4's worked example (user chris, password secret, realm elwood.innosoft.com,
    /// imap service): the arithmetic matches the RFC's published response and rspauth.
    #[test]
    fn the_rfc_2831_example_computes_the_published_digests() {
        let nonce = "OA6MG9tEQGm2hh";
        let response = b"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",\
            nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",\
            digest-uri=\"imap/elwood.innosoft.com\",\
            response=d388dad90d4bbd760a152321f2143af7,qop=auth";
        // Our realm and service are ZooKeeper's, so check the arithmetic with them swapped.
        let d = directives(core::str::from_utf8(response).unwrap()).unwrap();
        assert_eq!(d["username"], "chris");
        assert_eq!(d["nc"], "00000001");
        let mut a1 = Md5::digest(b"chris:elwood.innosoft.com:secret").to_vec();
        a1.extend_from_slice(b":OA6MG9tEQGm2hh:OA6MHXh6VqTrRk");
        let ha1 = hex(&Md5::digest(&a1));
        let ha2 = hex(&Md5::digest(b"AUTHENTICATE:imap/elwood.innosoft.com"));
        let r = hex(&Md5::digest(
            format!("{ha1}:{nonce}:00000001:OA6MHXh6VqTrRk:auth:{ha2}").as_bytes(),
        ));
        assert_eq!(r, "d388dad90d4bbd760a152321f2143af7");
        let ha2 = hex(&Md5::digest(b":imap/elwood.innosoft.com"));
        let rsp = hex(&Md5::digest(
            format!("{ha1}:{nonce}:00000001:OA6MHXh6VqTrRk:auth:{ha2}").as_bytes(),
        ));
        assert_eq!(rsp, "ea40f60335c427b5527b84dbabcdfffd");
    }

    /// pure-sasl 0.6.2 (kazoo's SASL library) with Python's `random.seed(1)`, answering
    /// our challenge for nonce `0123…cdef` as bob / secret: its bytes, captured verbatim.
    #[test]
    fn pure_sasls_captured_response_is_accepted() {
        let n = "0123456789abcdef0123456789abcdef";
        let pure = "qop=auth,realm=\"zk-sasl-md5\",username=\"bob\",\
            nonce=\"0123456789abcdef0123456789abcdef\",cnonce=\"13436424411240122\",\
            nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",\
            response=f021a6b912348a1d16bed8683509d235";
        let (who, _) = verify(pure.as_bytes(), n, &users()).unwrap();
        assert_eq!(who, "bob");
        let wrong = pure.replace("f021a6b9", "f021a6b8");
        assert_eq!(
            verify(wrong.as_bytes(), n, &users()).unwrap_err(),
            SaslError::BadCredentials
        );
    }

    /// What a client computes, for the round trip below.
    fn client_response(user: &str, password: &str, nonce: &str, authzid: Option<&str>) -> Vec<u8> {
        let cnonce = "c1";
        let uri = "zookeeper/zk-sasl-md5";
        let mut a1 = Md5::digest(format!("{user}:{REALM}:{password}").as_bytes()).to_vec();
        a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
        if let Some(a) = authzid {
            a1.extend_from_slice(format!(":{a}").as_bytes());
        }
        let ha1 = hex(&Md5::digest(&a1));
        let ha2 = hex(&Md5::digest(format!("AUTHENTICATE:{uri}").as_bytes()));
        let r = hex(&Md5::digest(
            format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}").as_bytes(),
        ));
        let authz = authzid.map_or(String::new(), |a| format!(",authzid=\"{a}\""));
        format!(
            "username=\"{user}\",realm=\"{REALM}\",nonce=\"{nonce}\",cnonce=\"{cnonce}\",\
             nc=00000001,qop=auth,digest-uri=\"{uri}\",response={r},charset=utf-8{authz}"
        )
        .into_bytes()
    }

    #[test]
    fn a_good_password_authenticates_and_gets_rspauth() {
        let n = nonce(b"x");
        assert_eq!(n.len(), 32);
        let c = String::from_utf8(challenge(&n)).unwrap();
        assert_eq!(
            c,
            format!("realm=\"zk-sasl-md5\",nonce=\"{n}\",charset=utf-8,algorithm=md5-sess")
        );
        let (who, rsp) = verify(&client_response("bob", "secret", &n, None), &n, &users()).unwrap();
        assert_eq!(who, "bob");
        assert!(rsp.starts_with(b"rspauth=") && rsp.len() == 8 + 32);
        // An authzid enters the digest; the identity stays the user's own, as in ZooKeeper.
        let (who, _) = verify(
            &client_response("bob", "secret", &n, Some("super")),
            &n,
            &users(),
        )
        .unwrap();
        assert_eq!(who, "bob");
    }

    #[test]
    fn wrong_passwords_users_nonces_and_authzids_are_refused() {
        let n = nonce(b"x");
        let e = |r: Vec<u8>| verify(&r, &n, &users()).unwrap_err();
        assert_eq!(
            e(client_response("bob", "wrong", &n, None)),
            SaslError::BadCredentials
        );
        assert_eq!(
            e(client_response("eve", "secret", &n, None)),
            SaslError::BadCredentials
        );
        assert_eq!(
            e(client_response("bob", "secret", &nonce(b"old"), None)),
            SaslError::Mismatch("nonce")
        );
        let other_uri = String::from_utf8(client_response("bob", "secret", &n, None))
            .unwrap()
            .replace("zookeeper/zk-sasl-md5", "imap/zk-sasl-md5");
        assert_eq!(e(other_uri.into_bytes()), SaslError::Mismatch("digest-uri"));
        let replayed = String::from_utf8(client_response("bob", "secret", &n, None))
            .unwrap()
            .replace("nc=00000001", "nc=00000002");
        assert_eq!(e(replayed.into_bytes()), SaslError::Mismatch("nonce count"));
    }

    #[test]
    fn malformed_responses_are_errors_never_panics() {
        let n = nonce(b"x");
        for bad in [
            &b""[..],
            b"username",
            b"username=\"bob",
            b"username=bob,username=bob",
            b"\xff\xfe",
            b"=,=,=",
            b"username=\"a\\",
        ] {
            assert!(verify(bad, &n, &users()).is_err(), "{bad:?}");
        }
        assert_eq!(
            verify(&[b'a'; 5000], &n, &users()).unwrap_err(),
            SaslError::Malformed("longer than 4 KiB")
        );
    }

    #[test]
    fn quoted_values_keep_escapes_and_commas() {
        let d = directives(r#"a="x\"y,z", b=tok ,c="""#).unwrap();
        assert_eq!(d["a"], "x\"y,z");
        assert_eq!(d["b"], "tok");
        assert_eq!(d["c"], "");
    }
}
