//! Entry points shared by the cargo-fuzz targets (`core/fuzz`) and the corpus replay test,
//! so a committed corpus file exercises exactly what the fuzzer ran.

use alloc::vec::Vec;

use crate::codec::peer::Hello;
use crate::codec::{encode_peer_message, PeerMessage};
use crate::config::Config;
use crate::ids::LinkId;
use crate::io::{Input, Output};
use crate::node::{Node, Recovered};
use crate::observe::HttpEndpoint;
use crate::time::Instant;
use crate::transport::PEER_PROTOCOL;

const ENSEMBLE_CFG: &str = "tickTime=200\ninitLimit=10\nsyncLimit=5\n\
server.1=127.0.0.1:2888:3888\nserver.2=127.0.0.1:2889:3889\nserver.3=127.0.0.1:2890:3890\n";

/// Parses arbitrary bytes as zoo.cfg; must never panic.
pub fn zoo_cfg(data: &[u8]) {
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(cfg) = Config::from_zoo_cfg(text) {
            let _ = cfg.fingerprint();
            let _ = cfg.ensemble_text();
            let _ = cfg.with_my_id(1);
        }
    }
}

/// Feeds arbitrary bytes to a node as traffic from a peer that completed the handshake
/// (first byte: chunk size), and to a second link before any handshake; must never panic.
pub fn peer_bytes(data: &[u8]) {
    let Ok(cfg) = Config::from_zoo_cfg(ENSEMBLE_CFG).and_then(|c| c.with_my_id(1)) else {
        return;
    };
    let Ok(mut node) = Node::new(cfg, Recovered::empty(), 7, Instant::ZERO, 1_700_000_000_000)
    else {
        return;
    };
    let mut hello = Vec::new();
    encode_peer_message(
        &PeerMessage::Hello(Hello {
            protocol: PEER_PROTOCOL,
            sid: 2,
            ensemble: node.config().fingerprint(),
            addr: alloc::string::String::from("127.0.0.1:3890"),
        }),
        &mut hello,
    );
    let mut now = Instant::ZERO;
    let shaken = LinkId::Accepted(0);
    let raw = LinkId::Accepted(1);
    node.handle(now, Input::PeerAccepted { link: shaken });
    node.handle(
        now,
        Input::PeerBytes {
            link: shaken,
            bytes: hello.into(),
        },
    );
    node.handle(now, Input::PeerAccepted { link: raw });
    let (chunk, rest) = match data.split_first() {
        Some((c, r)) => ((*c as usize).max(1), r),
        None => (1, data),
    };
    for piece in rest.chunks(chunk) {
        now = now.plus_millis(1);
        node.handle(
            now,
            Input::PeerBytes {
                link: shaken,
                bytes: piece.into(),
            },
        );
        node.handle(
            now,
            Input::PeerBytes {
                link: raw,
                bytes: piece.into(),
            },
        );
        while node.poll_output().is_some() {}
        if let Some(t) = node.poll_timeout() {
            if t <= now {
                node.handle(now, Input::Timeout);
            }
        }
    }
    while node.poll_output().is_some() {}
}

/// Arbitrary bytes on a client connection (frames, ConnectRequest, request headers and bodies).
pub fn client_frames(data: &[u8]) {
    crate::client::fuzz::fuzz_client_frames(data);
}

/// An arbitrary request body under an opcode taken from the first four bytes.
pub fn request_body(data: &[u8]) {
    crate::client::fuzz::fuzz_request_body(data);
}

/// Arbitrary bytes as a log segment, a snapshot and an epoch file; never panics.
pub fn disk_files(data: &[u8]) {
    let _ = crate::codec::log::scan_log("log.1", data, true, crate::ids::Zxid::ZERO);
    let _ = crate::codec::log::scan_log("log.1", data, false, crate::ids::Zxid::new(0, 3));
    let _ = crate::codec::snapshot::decode_snapshot(data);
    let _ = crate::codec::epochs::parse_epoch(data);
    // Split the input into a small directory: first byte picks the split point.
    if let Some((&cut, rest)) = data.split_first() {
        let at = (cut as usize).min(rest.len());
        let (a, b) = rest.split_at(at);
        let files = alloc::vec![
            (alloc::string::String::from("snapshot.0"), a.to_vec()),
            (alloc::string::String::from("log.100000001"), b.to_vec()),
            (alloc::string::String::from("currentEpoch"), b"1\n".to_vec()),
        ];
        let _ = crate::recovery::DiskState::from_files(&files);
    }
}

/// The security inputs: first byte even, the rest as a JAAS file (`digest_users`); odd, as a
/// client's SASL DIGEST-MD5 response to a fixed nonce for users bob / super. Never panics.
pub fn security(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(text) = core::str::from_utf8(rest) {
            let _ = crate::config::digest_users(text, "Server");
        }
    } else {
        let users: alloc::collections::BTreeMap<_, _> = [
            (
                alloc::string::String::from("bob"),
                alloc::string::String::from("secret"),
            ),
            (
                alloc::string::String::from("super"),
                alloc::string::String::from("x"),
            ),
        ]
        .into_iter()
        .collect();
        let _ = crate::server::sasl_verify(rest, "0123456789abcdef0123456789abcdef", &users);
    }
}

/// A standalone server's zoo.cfg for [`node_clients`].
const STANDALONE_CFG: &str =
    "tickTime=200\ndataDir=/d\nclientPort=2181\n4lw.commands.whitelist=*\n";

/// The whole ZooKeeper service of a standalone server fed arbitrary client traffic, the
/// stateful target: the input is records `[selector][length][length bytes]`. The selector's
/// low two bits pick one of three client connections or an HTTP connection (admin or metrics
/// endpoint by bit 2); bit 7 closes that connection first and opens it again; bit 6 has the
/// host report `length` KiB of that connection's replies written first. Time advances
/// 1 ms per record and by a session timeout every 64 records, so sessions expire and timers
/// fire; every durable write is acknowledged. Never panics.
pub fn node_clients(data: &[u8]) {
    let _ = node_clients_replies(data);
}

/// [`node_clients`], returning the bytes sent to each connection (for the seeds' tests).
fn node_clients_replies(data: &[u8]) -> [usize; 4] {
    let mut sent = [0usize; 4];
    let Ok(cfg) = Config::from_zoo_cfg(STANDALONE_CFG).and_then(|c| c.with_my_id(1)) else {
        return sent;
    };
    let Ok(mut node) = Node::new(cfg, Recovered::empty(), 7, Instant::ZERO, 1_700_000_000_000)
    else {
        return sent;
    };
    let mut now = Instant::ZERO;
    let addr = core::net::SocketAddr::from(([127, 0, 0, 1], 40_000));
    let open = |node: &mut Node, now, conn: u64, selector: u8| {
        let input = if conn == 3 {
            Input::HttpConnected {
                conn,
                endpoint: if selector & 4 == 0 {
                    HttpEndpoint::Admin
                } else {
                    HttpEndpoint::Metrics
                },
            }
        } else {
            Input::ClientConnected { conn, addr }
        };
        node.handle(now, input);
    };
    let drain = |node: &mut Node, now, sent: &mut [usize; 4]| {
        // Bounded: a node answers a finite amount per input; acks may release more.
        for _ in 0..10_000 {
            let mut acked = None;
            let mut any = false;
            while let Some(out) = node.poll_output() {
                any = true;
                match out {
                    Output::Persist { seq, .. } => acked = Some(seq),
                    Output::SendClient { conn, bytes } => {
                        sent[(conn & 3) as usize] += bytes.len();
                    }
                    _ => {}
                }
            }
            match acked {
                Some(seq) => node.handle(now, Input::Persisted { seq }),
                None if !any => break,
                None => {}
            }
        }
    };
    // A standalone server elects itself and makes its first durable writes before it
    // serves; clients connect after that.
    for _ in 0..10 {
        drain(&mut node, now, &mut sent);
        now = now.plus_millis(10);
        node.handle(now, Input::Timeout);
    }
    for conn in 0..4u64 {
        open(&mut node, now, conn, 0);
    }
    drain(&mut node, now, &mut sent);
    let mut rest = data;
    let mut records = 0u32;
    while let [selector, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (bytes, after) = tail.split_at(n);
        rest = after;
        records += 1;
        now = now.plus_millis(if records.is_multiple_of(64) { 5_000 } else { 1 });
        let conn = u64::from(selector & 3);
        if selector & 0x80 != 0 {
            node.handle(now, Input::ClientDisconnected { conn });
            open(&mut node, now, conn, *selector);
        }
        if selector & 0x40 != 0 {
            let bytes = usize::from(*len) << 10;
            node.handle(now, Input::ClientWritten { conn, bytes });
        }
        node.handle(
            now,
            Input::ClientBytes {
                conn,
                bytes: bytes.into(),
            },
        );
        if node.poll_timeout().is_some_and(|t| t <= now) {
            node.handle(now, Input::Timeout);
        }
        drain(&mut node, now, &mut sent);
    }
    drain(&mut node, now, &mut sent);
    sent
}

#[cfg(test)]
mod tests {
    /// The seeds reach the service: sessions, writes, the 4lw and HTTP answer (a target that
    /// only ever fed a closed node would fuzz nothing).
    #[test]
    fn node_clients_seeds_are_served() {
        let sent =
            super::node_clients_replies(include_bytes!("../fuzz/corpus/node_clients/session_ops"));
        // ConnectResponse (40) and eight replies, the create's and getData's with bodies.
        assert!(sent[0] > 40 + 8 * 16, "{sent:?}");
        let sent =
            super::node_clients_replies(include_bytes!("../fuzz/corpus/node_clients/http_admin"));
        assert!(sent[3] > 100, "{sent:?}");
        let sent =
            super::node_clients_replies(include_bytes!("../fuzz/corpus/node_clients/four_letter"));
        assert!(sent[1] > 20 && sent[2] > 20, "{sent:?}");
    }
}
