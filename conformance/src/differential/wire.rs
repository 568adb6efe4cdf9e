//! A blocking ZooKeeper session over a plain TCP socket: one request at a time, its reply and
//! the notifications that arrived before it. Built on the core's jute codec, but the other
//! side of every comparison is Apache ZooKeeper, which decodes what this sends on its own.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use conclave_core::client::{
    decode_response, encode_record_frame, encode_request, ConnectRequest, ConnectResponse,
    JuteReader, JuteRecord, OpCode, ReplyHeader, Request, Response, WatcherEvent,
    DEFAULT_MAX_BUFFER,
};

/// Largest reply frame accepted; bigger means the stream is out of step.
const MAX_FRAME: usize = 16 << 20;

/// The xid ZooKeeper gives notifications.
const NOTIFICATION_XID: i32 = -1;
/// The xid of ping replies.
const PING_XID: i32 = -2;

/// What a server answered to one request.
#[derive(Debug)]
pub(crate) struct Reply {
    /// The ReplyHeader's `err`, raw.
    pub err: i32,
    /// The body, decoded for the request's opcode, when there was one to decode.
    pub body: Option<Response>,
    /// Notifications that arrived on this connection before the reply, in order.
    pub events: Vec<WatcherEvent>,
}

/// Why a session could not go on.
#[derive(Debug)]
pub(crate) enum WireError {
    /// The socket failed or timed out.
    Io(String),
    /// The server closed the connection.
    Closed,
    /// A frame that is not ZooKeeper's.
    Garbled(String),
}

/// Whether a read failed only because its timeout passed (the two kinds Linux reports).
pub(crate) fn timed_out(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "socket: {e}"),
            WireError::Closed => f.write_str("the server closed the connection"),
            WireError::Garbled(e) => write!(f, "unreadable reply: {e}"),
        }
    }
}

/// One client session.
pub(crate) struct Session {
    stream: TcpStream,
    next_xid: i32,
    /// The session id the server gave.
    pub id: i64,
    /// The negotiated timeout.
    pub timeout_ms: i32,
    /// The session password.
    pub passwd: Vec<u8>,
    /// Notifications read while waiting for something else (a close's reply).
    pending_events: Vec<WatcherEvent>,
}

impl Session {
    /// Opens a new session asking for `timeout_ms`, waiting at most `wait` for each step.
    pub(crate) fn connect(
        addr: SocketAddr,
        timeout_ms: i32,
        wait: Duration,
    ) -> Result<Session, WireError> {
        Session::resume(addr, timeout_ms, wait, 0, vec![0; 16])
    }

    /// Opens a connection to session `id` (0: a new one) with its password.
    pub(crate) fn resume(
        addr: SocketAddr,
        timeout_ms: i32,
        wait: Duration,
        id: i64,
        passwd: Vec<u8>,
    ) -> Result<Session, WireError> {
        let io = |e: std::io::Error| WireError::Io(e.to_string());
        let stream = TcpStream::connect_timeout(&addr, wait).map_err(io)?;
        Session::over(stream, timeout_ms, wait, id, passwd)
    }

    /// [`Session::resume`] over a connection opened elsewhere (from a network namespace).
    pub(crate) fn over(
        stream: TcpStream,
        timeout_ms: i32,
        wait: Duration,
        id: i64,
        passwd: Vec<u8>,
    ) -> Result<Session, WireError> {
        let io = |e: std::io::Error| WireError::Io(e.to_string());
        stream.set_read_timeout(Some(wait)).map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let mut s = Session {
            stream,
            next_xid: 1,
            id: 0,
            timeout_ms: 0,
            passwd: Vec::new(),
            pending_events: Vec::new(),
        };
        let mut out = Vec::new();
        encode_record_frame(
            &ConnectRequest {
                protocol_version: 0,
                last_zxid_seen: 0,
                timeout_ms,
                session_id: id,
                passwd,
                read_only: Some(false),
            },
            &mut out,
        );
        s.stream.write_all(&out).map_err(io)?;
        let frame = s.read_frame()?;
        let resp = ConnectResponse::decode(&mut JuteReader::new(&frame, DEFAULT_MAX_BUFFER))
            .map_err(|e| WireError::Garbled(format!("ConnectResponse: {e}")))?;
        if resp.session_id == 0 {
            return Err(WireError::Garbled("the session was refused".into()));
        }
        s.id = resp.session_id;
        s.timeout_ms = resp.timeout_ms;
        s.passwd = resp.passwd;
        Ok(s)
    }

    /// Sends `request` without waiting; [`Session::receive`] reads its reply.
    pub(crate) fn send(&mut self, request: &Request) -> Result<i32, WireError> {
        let xid = self.next_xid;
        self.next_xid += 1;
        let mut out = Vec::new();
        encode_request(xid, request, &mut out);
        self.stream
            .write_all(&out)
            .map_err(|e| WireError::Io(e.to_string()))?;
        Ok(xid)
    }

    /// Reads until the reply to `xid` (sent with opcode `op`), keeping notifications.
    pub(crate) fn receive(&mut self, xid: i32, op: OpCode) -> Result<Reply, WireError> {
        let mut events = std::mem::take(&mut self.pending_events);
        // Bounded: a server that sends nothing but notifications is out of step.
        for _ in 0..100_000 {
            let frame = self.read_frame()?;
            let (header, body) = ReplyHeader::split(&frame)
                .map_err(|e| WireError::Garbled(format!("ReplyHeader: {e}")))?;
            match header.xid {
                NOTIFICATION_XID => {
                    let event = WatcherEvent::decode(&mut JuteReader::new(body, MAX_FRAME))
                        .map_err(|e| WireError::Garbled(format!("WatcherEvent: {e}")))?;
                    events.push(event);
                }
                PING_XID => {}
                x if x == xid => {
                    // A failed reply may still carry a body (a failed multi's results).
                    let body = if body.is_empty() {
                        None
                    } else {
                        decode_response(op, body, MAX_FRAME).ok()
                    };
                    return Ok(Reply {
                        err: header.err,
                        body,
                        events,
                    });
                }
                other => {
                    return Err(WireError::Garbled(format!(
                        "a reply to xid {other} while waiting for {xid}"
                    )))
                }
            }
        }
        Err(WireError::Garbled(
            "100 000 frames without the reply".into(),
        ))
    }

    /// Sends `request` and waits for its reply.
    pub(crate) fn call(&mut self, request: &Request) -> Result<Reply, WireError> {
        let xid = self.send(request)?;
        self.receive(xid, request.op_code())
    }

    /// Notifications that arrive within `wait` (none is not an error), with any kept from
    /// before; stops at the first quiet moment after one arrived.
    pub(crate) fn wait_events(&mut self, wait: Duration) -> Result<Vec<WatcherEvent>, WireError> {
        let io = |e: std::io::Error| WireError::Io(e.to_string());
        let mut events = std::mem::take(&mut self.pending_events);
        let restore = self.stream.read_timeout().map_err(io)?;
        let deadline = std::time::Instant::now() + wait;
        // Bounded by the deadline.
        while events.is_empty() {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            self.stream.set_read_timeout(Some(left)).map_err(io)?;
            let mut len = [0u8; 1];
            match self.stream.peek(&mut len) {
                Ok(0) => return Err(WireError::Closed),
                Ok(_) => {}
                Err(e) if timed_out(&e) => break,
                Err(e) => return Err(io(e)),
            }
            self.stream.set_read_timeout(restore).map_err(io)?;
            let frame = self.read_frame()?;
            let (header, body) = ReplyHeader::split(&frame)
                .map_err(|e| WireError::Garbled(format!("ReplyHeader: {e}")))?;
            match header.xid {
                NOTIFICATION_XID => events.push(
                    WatcherEvent::decode(&mut JuteReader::new(body, MAX_FRAME))
                        .map_err(|e| WireError::Garbled(format!("WatcherEvent: {e}")))?,
                ),
                PING_XID => {}
                other => {
                    return Err(WireError::Garbled(format!(
                        "a reply to xid {other} with no request outstanding"
                    )))
                }
            }
        }
        self.stream.set_read_timeout(restore).map_err(io)?;
        Ok(events)
    }

    fn read_frame(&mut self) -> Result<Vec<u8>, WireError> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len)?;
        let n = i32::from_be_bytes(len);
        if n < 0 || n as usize > MAX_FRAME {
            return Err(WireError::Garbled(format!("frame length {n}")));
        }
        let mut buf = vec![0u8; n as usize];
        self.read_exact(&mut buf)?;
        Ok(buf)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), WireError> {
        match self.stream.read_exact(buf) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(WireError::Closed),
            Err(e) => Err(WireError::Io(e.to_string())),
        }
    }
}
