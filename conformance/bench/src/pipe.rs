//! The timed workloads' own client: one thread per session on a blocking socket, requests
//! pipelined on it with the core's jute codec, every reply read in batches.
//!
//! Why not the `zookeeper-client` crate here (it still opens the sessions that create the
//! workloads' znodes, and drives the election and failover figures): the load generator
//! shares the machine's two cores with the ensemble it measures, and that client spent
//! ~12 µs of CPU per request (a task, a channel and a timer per request, a `recvfrom` that
//! finds nothing for most wake-ups: 27 k calls a second, 93 % `EAGAIN`, under create-many).
//! Every microsecond the client burns is taken from the members on this machine, from
//! ZooKeeper's as from Conclave's. This client writes what is queued in one `write`, reads
//! what arrived in one `read`, and answers replies in order, as ZooKeeper sends them.
//! `--client crate` keeps the old driver for comparison.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use conclave_core::client::{
    encode_record_frame, encode_request, Acl, ConnectRequest, ConnectResponse, CreateKind,
    CreateRequest, JuteReader, JuteRecord, ReplyHeader, Request, SetDataRequest,
    DEFAULT_MAX_BUFFER,
};
use hdrhistogram::Histogram;

use crate::load::{histogram, Measured, Op, Shape, VALUE};

/// How long a request may go unanswered before its session gives up (as the crate driver's
/// per-request timeout).
const REPLY_WAIT: Duration = Duration::from_secs(10);
/// The session timeout asked for: longer than any quiet moment of a run.
const SESSION_TIMEOUT_MS: i32 = 30_000;
/// The xids ZooKeeper gives notifications and ping replies.
const NOTIFICATION_XID: i32 = -1;
const PING_XID: i32 = -2;
/// Largest reply frame accepted; anything bigger means the stream is out of step.
const MAX_FRAME: usize = 1 << 20;

/// A session's outcome: successes, errors, latencies of the successes (µs).
type Tally = (u64, u64, Histogram<u64>);

/// What one slot (one outstanding request of a session) works on.
struct Slot {
    /// `{root}/w{w}`: the znode setData and getData use.
    path: String,
    /// `{root}/c/w{w}-`: the prefix of the znodes it creates.
    prefix: String,
    /// Requests this slot has sent.
    sent: u64,
}

/// Runs `op` from `shape.sessions` sessions with `shape.inflight` requests outstanding on each
/// (slot `j` of session `s` is worker `w = s + j * sessions`, on `{root}/w{w}`, which the
/// caller created), session `s` on member `s mod n`, until the time bound or the create count.
pub(crate) fn run(hosts: &[String], root: &str, op: Op, shape: &Shape) -> Result<Measured, String> {
    let mut streams = Vec::new();
    for s in 0..shape.sessions {
        streams.push(open(&hosts[s % hosts.len()])?);
    }
    let created = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(shape.secs);
    let outcomes: Vec<Result<Tally, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(s, stream)| {
                let slots = (0..shape.inflight)
                    .map(|j| {
                        let w = s + j * shape.sessions;
                        Slot {
                            path: format!("{root}/w{w}"),
                            prefix: format!("{root}/c/w{w}-"),
                            sent: 0,
                        }
                    })
                    .collect();
                let created = &created;
                std::thread::Builder::new()
                    .name(format!("bench-session-{s}"))
                    .spawn_scoped(scope, move || {
                        Pipeline {
                            stream,
                            slots,
                            op,
                            deadline,
                            created,
                            limit: shape.creates,
                        }
                        .drive()
                    })
                    .map_err(|e| format!("session thread: {e}"))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h?.join()
                    .map_err(|_| "a session thread panicked".to_string())?
            })
            .collect()
    });
    let elapsed = start.elapsed();
    let mut total = Measured {
        ops: 0,
        errors: 0,
        elapsed,
        latency_us: histogram(),
    };
    for outcome in outcomes {
        let (ok, errors, h) = outcome?;
        total.ops += ok;
        total.errors += errors;
        let _ = total.latency_us.add(&h);
    }
    Ok(total)
}

/// Connects to `host` and opens a session on it.
fn open(host: &str) -> Result<TcpStream, String> {
    let err = |e: std::io::Error| format!("{host}: {e}");
    let addr = host
        .to_socket_addrs()
        .map_err(err)?
        .next()
        .ok_or_else(|| format!("{host}: no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(err)?;
    stream.set_nodelay(true).map_err(err)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(err)?;
    let mut out = Vec::new();
    encode_record_frame(
        &ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms: SESSION_TIMEOUT_MS,
            session_id: 0,
            passwd: vec![0; 16],
            read_only: Some(false),
        },
        &mut out,
    );
    stream.write_all(&out).map_err(err)?;
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).map_err(err)?;
    let n = usize::try_from(i32::from_be_bytes(len)).map_err(|_| format!("{host}: bad frame"))?;
    if n > MAX_FRAME {
        return Err(format!("{host}: a {n} B connect response"));
    }
    let mut frame = vec![0u8; n];
    stream.read_exact(&mut frame).map_err(err)?;
    let resp = ConnectResponse::decode(&mut JuteReader::new(&frame, DEFAULT_MAX_BUFFER))
        .map_err(|e| format!("{host}: ConnectResponse: {e}"))?;
    if resp.session_id == 0 {
        return Err(format!("{host}: the session was refused"));
    }
    Ok(stream)
}

/// One session's loop: keep every slot's request outstanding until the run ends.
struct Pipeline<'a> {
    stream: TcpStream,
    slots: Vec<Slot>,
    op: Op,
    deadline: Instant,
    created: &'a AtomicU64,
    limit: u64,
}

impl Pipeline<'_> {
    /// Runs the session to the end of the run: (successes, errors, latencies of successes).
    fn drive(mut self) -> Result<Tally, String> {
        let mut h = histogram();
        let (mut ok, mut errors) = (0u64, 0u64);
        let mut out = Vec::with_capacity(16 << 10);
        // (xid, slot, sent at), oldest first: ZooKeeper answers a session in request order.
        let mut waiting: VecDeque<(i32, usize, Instant)> = VecDeque::new();
        let mut next_xid = 1i32;
        for slot in 0..self.slots.len() {
            self.issue(slot, &mut next_xid, &mut out, &mut waiting);
        }
        let mut buf = vec![0u8; 64 << 10];
        let (mut start, mut end) = (0usize, 0usize);
        // Bounded: every pass either reads bytes or ends the session; the run's deadline and
        // the create count stop new requests, REPLY_WAIT bounds each read.
        while !waiting.is_empty() {
            if !out.is_empty() {
                if let Err(e) = self.stream.write_all(&out) {
                    eprintln!("bench: a session's write failed: {e}");
                    errors += waiting.len() as u64;
                    break;
                }
                out.clear();
            }
            if end == buf.len() {
                if start > 0 {
                    buf.copy_within(start..end, 0);
                    end -= start;
                    start = 0;
                } else {
                    buf.resize(buf.len() * 2, 0);
                }
            }
            match self.stream.read(&mut buf[end..]) {
                Ok(0) => {
                    eprintln!(
                        "bench: a member closed a session with {} outstanding",
                        waiting.len()
                    );
                    errors += waiting.len() as u64;
                    break;
                }
                Ok(n) => end += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e)
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                        && waiting.front().is_some_and(|w| w.2.elapsed() < REPLY_WAIT) =>
                {
                    eprintln!(
                        "bench: STALL: xid {:?} unanswered for {:?}",
                        waiting.front().map(|w| w.0),
                        waiting.front().map(|w| w.2.elapsed())
                    );
                    continue;
                }
                Err(e) => {
                    eprintln!(
                        "bench: a session's read failed ({e}) with {} outstanding (oldest xid {:?}, sent {:?} ago; {ok} answered; {} B of a frame buffered)",
                        waiting.len(),
                        waiting.front().map(|w| w.0),
                        waiting.front().map(|w| w.2.elapsed()),
                        end - start
                    );
                    errors += waiting.len() as u64;
                    break;
                }
            }
            let now = Instant::now();
            while end - start >= 4 {
                let len = i32::from_be_bytes([
                    buf[start],
                    buf[start + 1],
                    buf[start + 2],
                    buf[start + 3],
                ]);
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > MAX_FRAME {
                    return Err(format!("a reply frame of {len} B"));
                }
                if end - start < 4 + len {
                    break;
                }
                let frame = &buf[start + 4..start + 4 + len];
                start += 4 + len;
                let (header, _) =
                    ReplyHeader::split(frame).map_err(|e| format!("ReplyHeader: {e}"))?;
                if header.xid == NOTIFICATION_XID || header.xid == PING_XID {
                    continue;
                }
                let Some((xid, slot, sent)) = waiting.pop_front() else {
                    return Err(format!(
                        "a reply to xid {} with nothing outstanding",
                        header.xid
                    ));
                };
                if header.xid != xid {
                    return Err(format!(
                        "a reply to xid {} while {xid} is the oldest",
                        header.xid
                    ));
                }
                if header.err == 0 {
                    ok += 1;
                    let us = now.saturating_duration_since(sent).as_micros().max(1);
                    let _ = h.record(u64::try_from(us).unwrap_or(u64::MAX));
                } else {
                    errors += 1;
                }
                self.issue(slot, &mut next_xid, &mut out, &mut waiting);
            }
            if start == end {
                (start, end) = (0, 0);
            }
        }
        // A polite close; the run's figures do not wait for its answer.
        let mut bye = Vec::new();
        encode_request(next_xid, &Request::CloseSession, &mut bye);
        let _ = self.stream.write_all(&bye);
        Ok((ok, errors, h))
    }

    /// Queues slot `slot`'s next request in `out`, unless the run is over.
    fn issue(
        &mut self,
        slot: usize,
        next_xid: &mut i32,
        out: &mut Vec<u8>,
        waiting: &mut VecDeque<(i32, usize, Instant)>,
    ) {
        let now = Instant::now();
        if now >= self.deadline {
            return;
        }
        if self.op == Op::Create && self.created.fetch_add(1, Ordering::Relaxed) >= self.limit {
            return;
        }
        let s = &mut self.slots[slot];
        let write = match self.op {
            Op::SetData | Op::Create => true,
            Op::GetData => false,
            Op::Mixed => s.sent % 10 == 9,
        };
        let request = match (self.op, write) {
            (Op::Create, _) => Request::Create(CreateRequest {
                kind: CreateKind::Create2,
                path: format!("{}{}", s.prefix, s.sent),
                data: Some(VALUE.to_vec()),
                acl: vec![Acl::open_unsafe()],
                flags: 0,
            }),
            (_, true) => Request::SetData(SetDataRequest {
                path: s.path.clone(),
                data: Some(VALUE.to_vec()),
                version: -1,
            }),
            (_, false) => Request::GetData {
                path: s.path.clone(),
                watch: false,
            },
        };
        s.sent += 1;
        let xid = *next_xid;
        *next_xid = next_xid.wrapping_add(1).max(1);
        encode_request(xid, &request, out);
        waiting.push_back((xid, slot, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use conclave_core::client::{encode_reply, RequestHeader};
    use std::net::TcpListener;

    /// How the fake server answers the request it reads.
    #[derive(Clone, Copy)]
    enum Answer {
        /// In order; every fifth request (counting from 0) with NODEEXISTS (−110).
        InOrder,
        /// The second request's reply carries the wrong xid.
        WrongXid,
    }

    /// A server that opens any session and answers each request with an empty reply; the
    /// number of requests it read comes back when the client closes.
    fn fake_server(answer: Answer, sessions: usize) -> (String, std::thread::JoinHandle<u64>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let handle = std::thread::spawn(move || {
            let mut served = Vec::new();
            for _ in 0..sessions {
                let (mut s, _) = listener.accept().expect("accept");
                served.push(std::thread::spawn(move || {
                    s.set_read_timeout(Some(Duration::from_secs(10)))
                        .expect("timeout");
                    let read_frame = |s: &mut TcpStream| -> Option<Vec<u8>> {
                        let mut len = [0u8; 4];
                        s.read_exact(&mut len).ok()?;
                        let mut f = vec![0u8; i32::from_be_bytes(len) as usize];
                        s.read_exact(&mut f).ok()?;
                        Some(f)
                    };
                    read_frame(&mut s).expect("connect request");
                    let mut out = Vec::new();
                    encode_record_frame(
                        &ConnectResponse {
                            protocol_version: 0,
                            timeout_ms: SESSION_TIMEOUT_MS,
                            session_id: 7,
                            passwd: vec![0; 16],
                            read_only: Some(false),
                        },
                        &mut out,
                    );
                    s.write_all(&out).expect("connect response");
                    let mut n = 0u64;
                    while let Some(f) = read_frame(&mut s) {
                        let (h, _) = RequestHeader::split(&f).expect("request header");
                        if h.op == -11 {
                            break;
                        }
                        let (xid, err) = match answer {
                            Answer::InOrder => (h.xid, if n.is_multiple_of(5) { -110 } else { 0 }),
                            Answer::WrongXid if n == 1 => (h.xid + 1, 0),
                            Answer::WrongXid => (h.xid, 0),
                        };
                        out.clear();
                        encode_reply(&ReplyHeader { xid, zxid: 1, err }, None, &mut out);
                        if s.write_all(&out).is_err() {
                            break;
                        }
                        n += 1;
                    }
                    n
                }));
            }
            served.into_iter().map(|t| t.join().expect("served")).sum()
        });
        (addr, handle)
    }

    fn shape(sessions: usize, inflight: usize, creates: u64) -> Shape {
        Shape {
            sessions,
            inflight,
            secs: 20.0,
            creates,
        }
    }

    /// Every create of the count is sent once and counted once, as a success or an error.
    #[test]
    fn a_create_run_sends_exactly_the_count_and_tallies_every_answer() {
        let (addr, server) = fake_server(Answer::InOrder, 2);
        let m = run(&[addr], "/b", Op::Create, &shape(2, 4, 103)).expect("run");
        let served = server.join().expect("server");
        assert_eq!(served, 103, "the server read exactly the count");
        assert_eq!(m.ops + m.errors, 103);
        // Each session's every fifth answer was an error: sessions split the 103 between them.
        assert!(
            m.errors >= 103 / 5 && m.errors <= 103 / 5 + 2,
            "{} errors",
            m.errors
        );
        assert_eq!(m.latency_us.len(), m.ops);
    }

    /// A reply that is not to the oldest outstanding request ends the run with an error.
    #[test]
    fn a_reply_out_of_order_is_an_error() {
        let (addr, server) = fake_server(Answer::WrongXid, 1);
        let e = run(&[addr], "/b", Op::SetData, &shape(1, 2, 0)).expect_err("out of order");
        assert!(e.contains("while"), "{e}");
        drop(server);
    }

    /// A lone request at a time (write-seq's shape) runs until the time bound.
    #[test]
    fn one_in_flight_stops_at_the_time_bound() {
        let (addr, server) = fake_server(Answer::InOrder, 1);
        let mut s = shape(1, 1, 0);
        s.secs = 0.2;
        let m = run(&[addr], "/b", Op::Mixed, &s).expect("run");
        assert!(m.elapsed < Duration::from_secs(5));
        assert!(m.ops > 10, "{} ops", m.ops);
        assert_eq!(server.join().expect("server"), m.ops + m.errors);
    }
}
