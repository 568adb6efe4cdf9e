//! The suite's harness on the deterministic scripted cluster ([`crate::scripted`]): the
//! ZooKeeper service that ships, every member in one thread, instant in-order delivery,
//! simulated time (a `Sleep` of a minute costs microseconds), power-loss crashes, pauses that
//! hold a member's deliveries, disk and timers. Clients are byte streams the harness frames and
//! decodes with the core's jute codec, as a ZooKeeper client would.

use std::time::Duration;

use conclave_core::client::{
    decode_response, encode_record_frame, encode_request, ConnectRequest, ConnectResponse,
    JuteReader, JuteRecord, ReplyHeader, Request, WatcherEvent, DEFAULT_MAX_BUFFER,
};
use conclave_core::ZkService;

use super::{Answer, Harness, Setup, Unsupported};
use crate::scripted::{small_tuning, Cluster, Id};

/// How long (simulated) a client waits for a reply before it counts the connection lost.
const CLIENT_WAIT_MS: u64 = 5_000;
/// Steps a client wait may take, whatever the clock does (bounds every loop).
const MAX_STEPS: usize = 2_000_000;

/// One client session on a scripted member.
struct SimSession {
    conn: u64,
    /// The session's id, password and timeout, to resume it elsewhere.
    id: i64,
    passwd: Vec<u8>,
    timeout_ms: i32,
    next_xid: i32,
    /// Bytes of the connection's inbox already framed.
    read: usize,
    events: Vec<WatcherEvent>,
}

/// A scripted cluster of the ZooKeeper service.
#[derive(Default)]
pub struct SimHarness {
    cluster: Option<Cluster<ZkService>>,
    sessions: Vec<Option<SimSession>>,
    /// Connections of the last `Flood`.
    flood: Vec<u64>,
}

/// One frame read from a session's inbox.
enum Frame {
    Reply(i32, Vec<u8>),
    Event(WatcherEvent),
    Other,
}

impl SimHarness {
    /// A harness with no cluster yet (`Start` makes it).
    pub fn new() -> SimHarness {
        SimHarness::default()
    }

    fn id(i: usize) -> Id {
        i as Id + 1
    }

    /// Connects to member `i` with `hello`; the new session's handle.
    fn connect(&mut self, i: usize, hello: ConnectRequest) -> Result<usize, String> {
        let c = self.cluster.as_mut().ok_or("no cluster")?;
        if !c.nodes.contains_key(&Self::id(i)) {
            return Err(format!("member {i} is down"));
        }
        let conn = c.connect_client(Self::id(i));
        let mut bytes = Vec::new();
        encode_record_frame(&hello, &mut bytes);
        c.client_send(conn, bytes);
        self.sessions.push(Some(SimSession {
            conn,
            id: 0,
            passwd: Vec::new(),
            timeout_ms: hello.timeout_ms,
            next_xid: 1,
            read: 0,
            events: Vec::new(),
        }));
        let handle = self.sessions.len() - 1;
        let frame = self
            .wait_frame(handle, CLIENT_WAIT_MS)?
            .ok_or("no ConnectResponse")?;
        let resp = ConnectResponse::decode(&mut JuteReader::new(&frame, DEFAULT_MAX_BUFFER))
            .map_err(|e| format!("ConnectResponse: {e}"))?;
        match self.sessions.get_mut(handle) {
            Some(Some(s)) if resp.session_id != 0 => {
                s.id = resp.session_id;
                s.passwd = resp.passwd;
                s.timeout_ms = resp.timeout_ms;
                Ok(handle)
            }
            _ => {
                self.sessions[handle] = None;
                Err("the session was refused".into())
            }
        }
    }

    /// The next whole frame of session `handle`, if its inbox holds one.
    fn next_frame(&mut self, handle: usize) -> Result<Option<Vec<u8>>, String> {
        let (Some(c), Some(Some(s))) = (self.cluster.as_ref(), self.sessions.get_mut(handle))
        else {
            return Err("the session is closed".into());
        };
        let inbox = c.client_inbox.get(&s.conn).map_or(&[][..], |v| &v[..]);
        let rest = &inbox[s.read.min(inbox.len())..];
        let Some(len) = rest.get(..4) else {
            return Ok(None);
        };
        let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
        let len = usize::try_from(len).map_err(|_| format!("frame length {len}"))?;
        let Some(frame) = rest.get(4..4 + len) else {
            return Ok(None);
        };
        s.read += 4 + len;
        Ok(Some(frame.to_vec()))
    }

    fn closed(&self, handle: usize) -> bool {
        match (self.cluster.as_ref(), self.sessions.get(handle)) {
            (Some(c), Some(Some(s))) => c.client_closed.contains(&s.conn),
            _ => true,
        }
    }

    fn parse(frame: &[u8]) -> Result<Frame, String> {
        let (header, body) = ReplyHeader::split(frame).map_err(|e| format!("ReplyHeader: {e}"))?;
        Ok(match header.xid {
            -1 => Frame::Event(
                WatcherEvent::decode(&mut JuteReader::new(body, DEFAULT_MAX_BUFFER))
                    .map_err(|e| format!("WatcherEvent: {e}"))?,
            ),
            -2 => Frame::Other,
            xid => Frame::Reply(xid, frame.to_vec()),
        })
    }

    /// Steps the cluster until session `handle` has a frame; `None` after `wait_ms` simulated.
    fn wait_frame(&mut self, handle: usize, wait_ms: u64) -> Result<Option<Vec<u8>>, String> {
        let until = self
            .cluster
            .as_ref()
            .ok_or("no cluster")?
            .now
            .plus_millis(wait_ms);
        for _ in 0..MAX_STEPS {
            if let Some(f) = self.next_frame(handle)? {
                return Ok(Some(f));
            }
            if self.closed(handle) {
                self.sessions[handle] = None;
                return Err("the server closed the connection".into());
            }
            let c = self.cluster.as_mut().ok_or("no cluster")?;
            if c.now > until {
                return Ok(None);
            }
            c.step();
        }
        Ok(None)
    }
}

impl Harness for SimHarness {
    fn describe(&self) -> String {
        "the scripted simulator (ZkService, simulated time)".into()
    }

    fn start(&mut self, setup: &Setup) -> Result<(), String> {
        // The scripted cluster's zoo.cfg already names the same super user.
        let extra = if setup.reconfig {
            "reconfigEnabled=true\n"
        } else {
            ""
        };
        let members = setup.members as u64;
        let observers = setup.observers as u64;
        self.cluster = Some(Cluster::with_observers(
            members,
            observers,
            small_tuning(),
            extra,
        ));
        Ok(())
    }

    fn partitions(&self) -> Result<(), Unsupported> {
        Ok(())
    }

    fn isolate(&mut self, i: usize) -> Result<(), String> {
        // Peer messages only: clients reach the member as before.
        self.cluster
            .as_mut()
            .ok_or("no cluster")?
            .isolate(Self::id(i));
        Ok(())
    }

    fn heal(&mut self) -> Result<(), String> {
        self.cluster.as_mut().ok_or("no cluster")?.heal();
        Ok(())
    }

    fn is_up(&self, i: usize) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.nodes.contains_key(&Self::id(i)))
    }

    fn kill(&mut self, i: usize) {
        if let Some(c) = self.cluster.as_mut() {
            c.crash(Self::id(i));
        }
    }

    fn restart(&mut self, i: usize) -> Result<(), String> {
        let c = self.cluster.as_mut().ok_or("no cluster")?;
        c.crash(Self::id(i));
        c.start(Self::id(i));
        Ok(())
    }

    fn pause(&mut self, i: usize) -> Result<(), Unsupported> {
        match self.cluster.as_mut() {
            Some(c) if c.nodes.contains_key(&Self::id(i)) => {
                c.pause(Self::id(i));
                Ok(())
            }
            _ => Err(Unsupported(format!("member {i} is not running"))),
        }
    }

    fn resume(&mut self, i: usize) {
        if let Some(c) = self.cluster.as_mut() {
            c.resume(Self::id(i));
        }
    }

    fn leader(&mut self, except: &[usize]) -> Option<usize> {
        self.cluster
            .as_ref()?
            .leaders()
            .into_iter()
            .map(|id| id as usize - 1)
            .find(|i| !except.contains(i))
    }

    fn open(&mut self, i: usize, timeout_ms: i32) -> Result<usize, String> {
        self.connect(i, ConnectRequest::new_session(timeout_ms))
    }

    fn call(&mut self, handle: usize, request: &Request) -> Result<Answer, String> {
        let (conn, xid) = match self.sessions.get_mut(handle) {
            Some(Some(s)) => {
                s.next_xid += 1;
                (s.conn, s.next_xid - 1)
            }
            _ => return Err("the session is closed".into()),
        };
        let mut bytes = Vec::new();
        encode_request(xid, request, &mut bytes);
        self.cluster
            .as_mut()
            .ok_or("no cluster")?
            .client_send(conn, bytes);
        // Bounded: each frame read moves through the inbox; the wait is bounded in time.
        for _ in 0..MAX_STEPS {
            let Some(frame) = self.wait_frame(handle, CLIENT_WAIT_MS)? else {
                self.sessions[handle] = None;
                return Err(format!("no reply within {CLIENT_WAIT_MS} ms (simulated)"));
            };
            match Self::parse(&frame)? {
                Frame::Event(e) => {
                    if let Some(Some(s)) = self.sessions.get_mut(handle) {
                        s.events.push(e);
                    }
                }
                Frame::Reply(x, frame) if x == xid => {
                    let (header, body) =
                        ReplyHeader::split(&frame).map_err(|e| format!("ReplyHeader: {e}"))?;
                    let body = if body.is_empty() {
                        None
                    } else {
                        decode_response(request.op_code(), body, DEFAULT_MAX_BUFFER).ok()
                    };
                    return Ok(Answer {
                        err: header.err,
                        body,
                    });
                }
                Frame::Reply(x, _) => {
                    return Err(format!("a reply to xid {x} while waiting {xid}"))
                }
                Frame::Other => {}
            }
        }
        Err("no reply".into())
    }

    fn events(&mut self, handle: usize, wait: Duration) -> Result<Vec<WatcherEvent>, String> {
        let kept = match self.sessions.get_mut(handle) {
            Some(Some(s)) => std::mem::take(&mut s.events),
            _ => return Err("the session is closed".into()),
        };
        if !kept.is_empty() {
            return Ok(kept);
        }
        let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        let mut got = Vec::new();
        // Bounded: frames are finite within the wait.
        while let Some(frame) = self.wait_frame(handle, wait_ms)? {
            if let Frame::Event(e) = Self::parse(&frame)? {
                got.push(e);
                break;
            }
        }
        Ok(got)
    }

    fn close(&mut self, handle: usize) {
        if matches!(self.sessions.get(handle), Some(Some(_))) {
            let _ = self.call(handle, &Request::CloseSession);
        }
        if let (Some(c), Some(Some(s))) = (self.cluster.as_mut(), self.sessions.get(handle)) {
            c.client_disconnect(s.conn);
        }
        if let Some(s) = self.sessions.get_mut(handle) {
            *s = None;
        }
    }

    fn reconnect(&mut self, handle: usize, i: usize) -> Result<usize, String> {
        let old = self
            .sessions
            .get_mut(handle)
            .and_then(Option::take)
            .ok_or("the session is closed")?;
        // The old connection goes first, without closeSession: its server "went away".
        if let Some(c) = self.cluster.as_mut() {
            c.client_disconnect(old.conn);
        }
        let resume = ConnectRequest {
            session_id: old.id,
            passwd: old.passwd.clone(),
            ..ConnectRequest::new_session(old.timeout_ms)
        };
        let new = self.connect(i, resume)?;
        match self.sessions.get(new) {
            Some(Some(s)) if s.id == old.id => Ok(new),
            _ => Err(format!("session {:#x} was not resumed", old.id)),
        }
    }

    fn hostile(&mut self, i: usize, bytes: &[u8]) -> Result<bool, String> {
        let c = self.cluster.as_mut().ok_or("no cluster")?;
        let conn = c.connect_client(Self::id(i));
        c.client_send(conn, bytes.to_vec());
        let until = c.now.plus_millis(CLIENT_WAIT_MS);
        for _ in 0..MAX_STEPS {
            if c.client_closed.contains(&conn) {
                return Ok(true);
            }
            if c.now > until {
                break;
            }
            c.step();
        }
        Ok(false)
    }

    fn sleep(&mut self, ms: u64) {
        if let Some(c) = self.cluster.as_mut() {
            c.run_for(ms);
        }
    }

    fn abandon(&mut self, handle: usize) {
        if let Some(s) = self.sessions.get_mut(handle).and_then(Option::take) {
            if let Some(c) = self.cluster.as_mut() {
                c.client_disconnect(s.conn);
            }
        }
    }

    fn flood(&mut self, i: usize, n: usize) -> Result<(), String> {
        let c = self.cluster.as_mut().ok_or("no cluster")?;
        for _ in 0..n {
            self.flood.push(c.connect_client(Self::id(i)));
        }
        Ok(())
    }

    fn flood_open(&mut self, within: Duration) -> Result<usize, String> {
        let c = self.cluster.as_mut().ok_or("no cluster")?;
        let until = c.now.plus_millis(within.as_millis() as u64);
        let flood = std::mem::take(&mut self.flood);
        let open = |c: &Cluster<ZkService>| {
            flood
                .iter()
                .filter(|conn| !c.client_closed.contains(conn))
                .count()
        };
        for _ in 0..MAX_STEPS {
            if open(c) == 0 || c.now > until {
                break;
            }
            c.step();
        }
        let left = open(c);
        for conn in flood {
            c.client_disconnect(conn);
        }
        Ok(left)
    }
}
