//! The run's fingerprint: a running FNV-1a over a compact encoding of every delivered input
//! and every output (time, node, variant, payload), plus the human-readable log of
//! `--verbose`.

use std::fmt::{self, Write};

use conclave_core::codec::{decode_peer_message, PeerMessage, FRAME_HEADER_BYTES};
use conclave_core::{Input, LinkId, Output, PersistOp, ServerId};

use conclave_core::hash::Fnv1a64;

/// Formats a simulated time as seconds with microseconds.
pub(crate) fn secs(ns: u64) -> String {
    format!(
        "{:>4}.{:06}s",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1_000
    )
}

pub(crate) struct Trace {
    hash: Fnv1a64,
    log: Option<Vec<String>>,
}

impl Trace {
    pub(crate) fn new(verbose: bool) -> Trace {
        Trace {
            hash: Fnv1a64::new(),
            log: verbose.then(Vec::new),
        }
    }

    pub(crate) fn hash(&self) -> u64 {
        self.hash.finish()
    }

    pub(crate) fn take_log(&mut self) -> Vec<String> {
        self.log.take().unwrap_or_default()
    }

    fn head(&mut self, now: u64, node: ServerId, tag: u8) {
        self.hash.write_u64(now);
        self.hash.write_u64(node);
        self.hash.write_u8(tag);
    }

    fn link(&mut self, link: LinkId) {
        match link {
            LinkId::Dialed(n) => {
                self.hash.write_u8(0);
                self.hash.write_u64(n);
            }
            LinkId::Accepted(n) => {
                self.hash.write_u8(1);
                self.hash.write_u64(n);
            }
        }
    }

    /// An input handed to `node` (incarnation `inc`).
    pub(crate) fn input(&mut self, now: u64, node: ServerId, inc: u64, input: &Input) {
        let tag = match input {
            Input::Timeout => 0,
            Input::PeerAccepted { .. } => 1,
            Input::PeerConnected { .. } => 2,
            Input::PeerBytes { .. } => 3,
            Input::PeerDisconnected { .. } => 4,
            Input::Persisted { .. } => 5,
            Input::PersistFailed { .. } => 6,
            Input::WallClock { .. } => 7,
            Input::Submit { .. } => 8,
            Input::ClientConnected { .. } => 9,
            Input::ClientBytes { .. } => 10,
            Input::ClientDisconnected { .. } => 11,
            Input::HttpConnected { .. } => 12,
            Input::ClientWritten { .. } => 13,
        };
        self.head(now, node, tag);
        self.hash.write_u64(inc);
        match input {
            Input::Timeout => {}
            Input::PeerAccepted { link }
            | Input::PeerConnected { link }
            | Input::PeerDisconnected { link } => self.link(*link),
            Input::PeerBytes { link, bytes } => {
                self.link(*link);
                self.hash.write_bytes(bytes);
            }
            Input::Persisted { seq } => self.hash.write_u64(*seq),
            Input::PersistFailed { seq, error } => {
                self.hash.write_u64(*seq);
                self.hash.write_bytes(error.as_bytes());
            }
            Input::WallClock { unix_ms } => self.hash.write_u64(*unix_ms as u64),
            Input::Submit {
                session_id,
                cxid,
                kind,
                body,
            } => {
                self.hash.write_u64(*session_id as u64);
                self.hash.write_u64(*cxid as u64);
                self.hash.write_u64(*kind as u64);
                self.hash.write_bytes(body);
            }
            Input::ClientConnected { conn, addr } => {
                self.hash.write_u64(*conn);
                self.hash.write_bytes(addr.to_string().as_bytes());
            }
            Input::HttpConnected { conn, endpoint } => {
                self.hash.write_u64(*conn);
                self.hash.write_u64(*endpoint as u64);
            }
            Input::ClientBytes { conn, bytes } => {
                self.hash.write_u64(*conn);
                self.hash.write_bytes(bytes);
            }
            Input::ClientDisconnected { conn } => self.hash.write_u64(*conn),
            Input::ClientWritten { conn, bytes } => {
                self.hash.write_u64(*conn);
                self.hash.write_u64(*bytes as u64);
            }
        }
    }

    /// An output drained from `node`.
    pub(crate) fn output(&mut self, now: u64, node: ServerId, out: &Output) {
        match out {
            Output::Dial { link, peer, addr } => {
                self.head(now, node, 10);
                self.link(*link);
                self.hash.write_u64(*peer);
                self.hash.write_bytes(addr.as_bytes());
            }
            Output::SendPeer { link, bytes } => {
                self.head(now, node, 11);
                self.link(*link);
                self.hash.write_bytes(bytes);
            }
            Output::ClosePeer { link } => {
                self.head(now, node, 12);
                self.link(*link);
            }
            Output::Persist { seq, op } => {
                self.head(now, node, 13);
                self.hash.write_u64(*seq);
                self.persist_op(op);
                if let Some(log) = &mut self.log {
                    log.push(format!(
                        "{} n{node} persist #{seq} {}",
                        secs(now),
                        describe(op)
                    ));
                }
            }
            Output::SendClient { conn, bytes } => {
                self.head(now, node, 15);
                self.hash.write_u64(*conn);
                self.hash.write_bytes(bytes);
            }
            Output::CloseClient { conn } => {
                self.head(now, node, 16);
                self.hash.write_u64(*conn);
            }
            Output::ReadClient { conn, read } => {
                self.head(now, node, 17);
                self.hash.write_u64(*conn);
                self.hash.write_u8(u8::from(*read));
            }
            Output::Event(ev) => {
                self.head(now, node, 14);
                // Events are rare next to bytes: their Debug text is a fine encoding.
                let _ = write!(self.hash, "{ev:?}");
                if let Some(log) = &mut self.log {
                    log.push(format!("{} n{node} {ev:?}", secs(now)));
                }
            }
        }
    }

    fn persist_op(&mut self, op: &PersistOp) {
        match op {
            PersistOp::WriteEpochs { accepted, current } => {
                self.hash.write_u8(0);
                self.hash.write_u64(u64::from(*accepted));
                self.hash.write_u64(u64::from(*current));
            }
            PersistOp::Create { file } => {
                self.hash.write_u8(1);
                self.hash.write_bytes(file.as_bytes());
            }
            PersistOp::Append { file, bytes } => {
                self.hash.write_u8(2);
                self.hash.write_bytes(file.as_bytes());
                self.hash.write_bytes(bytes);
            }
            PersistOp::Sync { file } => {
                self.hash.write_u8(3);
                self.hash.write_bytes(file.as_bytes());
            }
            PersistOp::Truncate { file, len } => {
                self.hash.write_u8(4);
                self.hash.write_bytes(file.as_bytes());
                self.hash.write_u64(*len);
            }
            PersistOp::Rename { from, to } => {
                self.hash.write_u8(5);
                self.hash.write_bytes(from.as_bytes());
                self.hash.write_bytes(to.as_bytes());
            }
            PersistOp::Preallocate { file, len } => {
                self.hash.write_u8(7);
                self.hash.write_bytes(file.as_bytes());
                self.hash.write_u64(*len);
            }
            PersistOp::Remove { file } => {
                self.hash.write_u8(6);
                self.hash.write_bytes(file.as_bytes());
            }
        }
    }

    /// Whether the human-readable log is kept.
    pub(crate) fn verbose(&self) -> bool {
        self.log.is_some()
    }

    /// Logs one peer message written (`->`) or read (`<-`), heartbeats excepted.
    pub(crate) fn message(
        &mut self,
        now: u64,
        node: ServerId,
        arrow: &str,
        peer: Option<ServerId>,
        bytes: &[u8],
    ) {
        let Some(log) = &mut self.log else { return };
        let peer = peer.map_or_else(|| String::from("?"), |p| format!("n{p}"));
        match decode_frame(bytes) {
            Some(PeerMessage::Heartbeat) => {}
            Some(msg) => log.push(format!("{} n{node} {arrow} {peer} {msg:?}", secs(now))),
            None => log.push(format!(
                "{} n{node} {arrow} {peer} {} bytes (not one whole frame)",
                secs(now),
                bytes.len()
            )),
        }
    }

    /// Something the simulator did (a fault, a crash, a restart): hashed and logged.
    /// A line for the verbose log only: not hashed, because it is gathered only when verbose
    /// (a run must not change with `--verbose`).
    pub(crate) fn log_only(&mut self, now: u64, what: fmt::Arguments<'_>) {
        if let Some(log) = &mut self.log {
            log.push(format!("{} sim {what}", secs(now)));
        }
    }

    pub(crate) fn note(&mut self, now: u64, what: fmt::Arguments<'_>) {
        self.hash.write_u64(now);
        self.hash.write_u8(20);
        let _ = self.hash.write_fmt(what);
        if let Some(log) = &mut self.log {
            log.push(format!("{} sim {what}", secs(now)));
        }
    }
}

/// A short description of a persist op (appended bytes are summarised by their length).
fn describe(op: &PersistOp) -> String {
    match op {
        PersistOp::Append { file, bytes } => format!("Append {file} +{}B", bytes.len()),
        other => format!("{other:?}"),
    }
}

/// The message in `bytes` if they are exactly one valid frame.
fn decode_frame(bytes: &[u8]) -> Option<PeerMessage> {
    let len = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let payload = bytes.get(FRAME_HEADER_BYTES..)?;
    (payload.len() == len)
        .then(|| decode_peer_message(payload).ok())
        .flatten()
}
