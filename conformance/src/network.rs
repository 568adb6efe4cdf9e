//! A model of the TCP connections between servers.
//!
//! * **Dial.** If either direction is partitioned, or the target machine is down, the dial
//!   times out (50–500 ms). If the target machine is up but its process is not, the dial is
//!   refused within 1 ms. Otherwise the SYN travels one latency, the target gets
//!   `PeerAccepted`, and the dialer gets `PeerConnected` one latency later.
//! * **Streams.** Each connection has two byte streams (one per direction), each FIFO:
//!   delivery time = max(last delivery on that stream, now + latency + jitter). Latency per
//!   ordered pair of servers is 0.1–2 ms plus up to 5 ms jitter, raised by 50–400 ms during a
//!   slow spell.
//! * **Partitions** blackhole directions: bytes sent into one are lost and that stream is
//!   *broken* — a TCP stream cannot skip lost bytes, so everything after is lost too — and
//!   both ends are reset after 1–4 s (the retransmission timeout) unless they close first.
//! * **Close.** `ClosePeer` from one end: bytes already in flight from it are still
//!   delivered, then the other end gets `PeerDisconnected` (FIN after data).
//! * **Crash.** A killed process's kernel closes its sockets (peers get `PeerDisconnected`
//!   after the data in flight); a machine that goes down says nothing, its peers' bytes are
//!   lost and they only notice by their own idle timeout or a TCP reset 1–4 s later (or an
//!   RST as soon as the rebooted machine sees their next segment).
//! * **Message faults** (chaos phase only): duplicate a whole frame, corrupt one byte, reset
//!   the connection, or split a write into two deliveries.

use std::collections::BTreeMap;

use conclave_core::rng::Prng;
use conclave_core::{Input, LinkId, ServerId};

use crate::events::{Event, NetEvent};
use crate::options::FaultOptions;
use crate::queue::EventQueue;

const MS: u64 = 1_000_000;

/// How a server goes down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CrashMode {
    /// The process dies; the machine stays up: sockets are closed, dials are refused.
    Process,
    /// The machine goes down: silence; dials time out; peers find out by timeouts.
    Machine,
}

/// An input for one node incarnation, produced by a network event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Delivery {
    /// The server.
    pub(crate) node: ServerId,
    /// The incarnation it is meant for.
    pub(crate) inc: u64,
    /// The input.
    pub(crate) input: Input<'static>,
}

/// Counters of what the network did, for the run report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetStats {
    /// `SendPeer` outputs carried out.
    pub(crate) sends: u64,
    /// Writes lost in a partition, a dead machine or a broken stream.
    pub(crate) lost: u64,
    /// Frames delivered twice.
    pub(crate) duplicated: u64,
    /// Frames with one byte flipped.
    pub(crate) corrupted: u64,
    /// Connections reset by the fault injector.
    pub(crate) resets: u64,
    /// Writes delivered in two pieces.
    pub(crate) splits: u64,
    /// Dials attempted.
    pub(crate) dials: u64,
    /// Dials that failed (refused or timed out).
    pub(crate) dials_failed: u64,
}

#[derive(Clone, Copy, Debug)]
struct Host {
    inc: u64,
    process_up: bool,
    machine_up: bool,
}

#[derive(Clone, Copy, Debug)]
struct End {
    node: ServerId,
    inc: u64,
    link: LinkId,
    /// The node knows this link: it has not closed it nor been told it closed.
    open: bool,
}

#[derive(Clone, Copy, Debug, Default)]
struct Stream {
    last: u64,
    broken: bool,
}

#[derive(Clone, Debug)]
struct Conn {
    /// 0: the dialer; 1: the acceptor (meaningful once `accepted`).
    ends: [End; 2],
    /// The SYN is still travelling.
    connecting: bool,
    accepted: bool,
    /// Closed or reset at one end: new writes go nowhere.
    dying: bool,
    /// When a `Disconnect` is already scheduled for that end (the earliest one counts).
    told: [Option<u64>; 2],
    /// `streams[i]` carries what end `i` writes.
    streams: [Stream; 2],
}

impl Conn {
    fn side(&self, node: ServerId, link: LinkId) -> usize {
        usize::from(!(self.ends[0].node == node && self.ends[0].link == link))
    }
}

/// The simulated network between all servers.
pub(crate) struct Network {
    hosts: BTreeMap<ServerId, Host>,
    addresses: BTreeMap<String, ServerId>,
    conns: BTreeMap<u64, Conn>,
    by_link: BTreeMap<(ServerId, LinkId), u64>,
    next_conn: u64,
    next_accept: u64,
    /// (base latency, jitter bound) per ordered pair, ns.
    latency: BTreeMap<(ServerId, ServerId), (u64, u64)>,
    /// (until, extra latency) per ordered pair, ns.
    slow: BTreeMap<(ServerId, ServerId), (u64, u64)>,
    /// Blocked directions, with how many partitions block each.
    blocked: BTreeMap<(ServerId, ServerId), u32>,
    partitions: BTreeMap<u64, Vec<(ServerId, ServerId)>>,
    next_partition: u64,
    faults: FaultOptions,
    rng: Prng,
    stats: NetStats,
    /// Injected message faults, for the verbose log (kept only when `verbose`).
    notes: Option<Vec<String>>,
}

impl Network {
    /// The network between `ids` (all machines up, no process started yet).
    pub(crate) fn new(
        ids: &[ServerId],
        addresses: BTreeMap<String, ServerId>,
        faults: FaultOptions,
        mut rng: Prng,
        verbose: bool,
    ) -> Network {
        let mut latency = BTreeMap::new();
        for &a in ids {
            for &b in ids {
                if a != b {
                    let base = rng.range_inclusive(100_000, 2 * MS);
                    let jitter = rng.range_inclusive(0, 5 * MS);
                    latency.insert((a, b), (base, jitter));
                }
            }
        }
        let hosts = ids
            .iter()
            .map(|&id| {
                (
                    id,
                    Host {
                        inc: 0,
                        process_up: false,
                        machine_up: true,
                    },
                )
            })
            .collect();
        Network {
            hosts,
            addresses,
            conns: BTreeMap::new(),
            by_link: BTreeMap::new(),
            next_conn: 0,
            next_accept: 0,
            latency,
            slow: BTreeMap::new(),
            blocked: BTreeMap::new(),
            partitions: BTreeMap::new(),
            next_partition: 0,
            faults,
            rng,
            stats: NetStats::default(),
            notes: verbose.then(Vec::new),
        }
    }

    /// Takes the fault notes gathered since the last call.
    pub(crate) fn take_notes(&mut self) -> Vec<String> {
        self.notes.as_mut().map(std::mem::take).unwrap_or_default()
    }

    fn note(&mut self, what: impl FnOnce() -> String) {
        if let Some(notes) = &mut self.notes {
            notes.push(what());
        }
    }

    /// What the network did so far.
    pub(crate) fn stats(&self) -> &NetStats {
        &self.stats
    }

    fn host(&self, id: ServerId) -> Host {
        self.hosts.get(&id).copied().unwrap_or(Host {
            inc: 0,
            process_up: false,
            machine_up: false,
        })
    }

    fn path_ok(&self, from: ServerId, to: ServerId) -> bool {
        !self.blocked.contains_key(&(from, to))
    }

    /// One-way latency for a segment sent now.
    fn latency(&mut self, now: u64, from: ServerId, to: ServerId) -> u64 {
        let (base, jitter) = self.latency.get(&(from, to)).copied().unwrap_or((MS, 0));
        let mut l = base + self.rng.below(jitter + 1);
        if let Some(&(until, extra)) = self.slow.get(&(from, to)) {
            if now < until {
                l += extra;
            }
        }
        l
    }

    fn tcp_timeout(&mut self) -> u64 {
        self.rng.range_inclusive(1_000 * MS, 4_000 * MS)
    }

    fn connect_timeout(&mut self) -> u64 {
        self.rng.range_inclusive(50 * MS, 500 * MS)
    }

    /// Schedules `PeerDisconnected` for one end, unless an earlier one is already on its way
    /// (a FIN may overtake a pending TCP timeout; the later event then finds the end closed).
    fn tell(&mut self, cid: u64, end: usize, at: u64, queue: &mut EventQueue) {
        let Some(c) = self.conns.get_mut(&cid) else {
            return;
        };
        if c.ends[end].open && c.told[end].is_none_or(|t| at < t) {
            c.told[end] = Some(at);
            queue.push(at, Event::Net(NetEvent::Disconnect { conn: cid, end }));
        }
    }

    /// Forgets a connection nobody can hear from any more.
    fn collect(&mut self, cid: u64) {
        if self
            .conns
            .get(&cid)
            .is_some_and(|c| !c.connecting && !c.ends[0].open && !c.ends[1].open)
        {
            self.conns.remove(&cid);
        }
    }

    /// A server process (re)started as incarnation `inc`.
    pub(crate) fn host_started(
        &mut self,
        now: u64,
        node: ServerId,
        inc: u64,
        queue: &mut EventQueue,
    ) {
        self.hosts.insert(
            node,
            Host {
                inc,
                process_up: true,
                machine_up: true,
            },
        );
        // Segments still arriving for the dead incarnation's sockets are answered with RST.
        let stale: Vec<(u64, usize, ServerId)> =
            self.conns
                .iter()
                .filter(|(_, c)| c.accepted)
                .flat_map(|(&cid, c)| {
                    (0..2).filter_map(move |i| {
                        let (dead, alive) = (c.ends[i], c.ends[1 - i]);
                        (dead.node == node && dead.inc < inc && !dead.open && alive.open)
                            .then_some((cid, 1 - i, alive.node))
                    })
                })
                .collect();
        for (cid, end, to) in stale {
            let at = now + self.latency(now, node, to);
            if let Some(c) = self.conns.get_mut(&cid) {
                c.dying = true;
            }
            self.tell(cid, end, at, queue);
        }
    }

    /// A server goes down; its sockets die with it.
    pub(crate) fn crash(
        &mut self,
        now: u64,
        node: ServerId,
        mode: CrashMode,
        queue: &mut EventQueue,
    ) {
        let host = self.host(node);
        self.hosts.insert(
            node,
            Host {
                inc: host.inc,
                process_up: false,
                machine_up: mode == CrashMode::Process,
            },
        );
        let affected: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.ends.iter().any(|e| e.node == node && e.open))
            .map(|(&cid, _)| cid)
            .collect();
        for cid in affected {
            let Some(c) = self.conns.get_mut(&cid) else {
                continue;
            };
            let i = if c.ends[0].node == node && c.ends[0].open {
                0
            } else {
                1
            };
            c.ends[i].open = false;
            let link = c.ends[i].link;
            let r = 1 - i;
            let (accepted, peer_open, peer, broken, last) = (
                c.accepted,
                c.ends[r].open,
                c.ends[r].node,
                c.streams[i].broken,
                c.streams[i].last,
            );
            self.by_link.remove(&(node, link));
            if accepted && peer_open {
                match mode {
                    CrashMode::Process => {
                        // The kernel closes the socket: FIN after the data in flight.
                        let at = if broken || !self.path_ok(node, peer) {
                            now + self.tcp_timeout()
                        } else {
                            last.max(now + self.latency(now, node, peer))
                        };
                        if let Some(c) = self.conns.get_mut(&cid) {
                            c.dying = true;
                        }
                        self.tell(cid, r, at, queue);
                    }
                    CrashMode::Machine => {
                        // Silence: whatever the peer writes from now on is lost.
                        if let Some(c) = self.conns.get_mut(&cid) {
                            c.streams[r].broken = true;
                        }
                    }
                }
            }
            self.collect(cid);
        }
    }

    /// `Output::Dial` from `node` (incarnation `inc`).
    pub(crate) fn dial(
        &mut self,
        now: u64,
        node: ServerId,
        inc: u64,
        link: LinkId,
        addr: &str,
        queue: &mut EventQueue,
    ) {
        self.stats.dials += 1;
        let target = self.addresses.get(addr).copied();
        let cid = self.next_conn;
        self.next_conn += 1;
        let end = End {
            node,
            inc,
            link,
            open: true,
        };
        let other = End {
            node: target.unwrap_or(0),
            inc: 0,
            link: LinkId::Accepted(u64::MAX),
            open: false,
        };
        self.conns.insert(
            cid,
            Conn {
                ends: [end, other],
                connecting: true,
                accepted: false,
                dying: false,
                told: [None; 2],
                streams: [Stream::default(); 2],
            },
        );
        self.by_link.insert((node, link), cid);
        let at = match target {
            None => now + self.connect_timeout(),
            Some(to) => {
                let host = self.host(to);
                if !self.path_ok(node, to) || !self.path_ok(to, node) || !host.machine_up {
                    now + self.connect_timeout()
                } else if !host.process_up {
                    now + MS
                } else {
                    let at = now + self.latency(now, node, to);
                    queue.push(at, Event::Net(NetEvent::ConnectArrive { conn: cid }));
                    return;
                }
            }
        };
        queue.push(at, Event::Net(NetEvent::DialFailed { conn: cid }));
    }

    /// `Output::SendPeer` from `node`.
    pub(crate) fn send(
        &mut self,
        now: u64,
        node: ServerId,
        link: LinkId,
        bytes: Vec<u8>,
        queue: &mut EventQueue,
    ) {
        self.stats.sends += 1;
        let Some(&cid) = self.by_link.get(&(node, link)) else {
            return;
        };
        let Some(c) = self.conns.get(&cid) else {
            return;
        };
        let d = c.side(node, link);
        let r = 1 - d;
        if c.dying || !c.accepted {
            return;
        }
        let to = c.ends[r].node;
        if c.streams[d].broken || !self.path_ok(node, to) || !self.host(to).machine_up {
            self.stats.lost += 1;
            if let Some(c) = self.conns.get_mut(&cid) {
                c.streams[d].broken = true;
            }
            // Retransmissions go unanswered until TCP gives up, at each end on its own clock.
            for end in [d, r] {
                let at = now + self.tcp_timeout();
                self.tell(cid, end, at, queue);
            }
            return;
        }
        let mut pieces = vec![bytes];
        if self.faults.enabled {
            if self.rng.chance(self.faults.reset_ppm) {
                self.stats.resets += 1;
                let last = c.streams[d].last;
                self.note(|| format!("fault: reset the n{node}-n{to} connection"));
                if let Some(c) = self.conns.get_mut(&cid) {
                    c.dying = true;
                }
                let to_peer = last.max(now + self.latency(now, node, to));
                let to_self = now + self.latency(now, to, node);
                self.tell(cid, r, to_peer, queue);
                self.tell(cid, d, to_self, queue);
                return;
            }
            if self.rng.chance(self.faults.corrupt_ppm) && !pieces[0].is_empty() {
                self.stats.corrupted += 1;
                let at = self.rng.below(pieces[0].len() as u64) as usize;
                let flip = self.rng.range_inclusive(1, 255) as u8;
                pieces[0][at] ^= flip;
                let len = pieces[0].len();
                self.note(|| {
                    format!("fault: corrupt byte {at} of {len} (xor {flip:#04x}) n{node}->n{to}")
                });
            }
            if self.rng.chance(self.faults.duplicate_ppm) {
                self.stats.duplicated += 1;
                pieces.push(pieces[0].clone());
                self.note(|| format!("fault: duplicate a frame n{node}->n{to}"));
            }
            if self.rng.chance(self.faults.split_ppm) && pieces[0].len() >= 2 {
                self.stats.splits += 1;
                let at = self.rng.range_inclusive(1, pieces[0].len() as u64 - 1) as usize;
                let tail = pieces[0].split_off(at);
                pieces.insert(1, tail);
                self.note(|| format!("fault: split a write at byte {at} n{node}->n{to}"));
            }
        }
        for piece in pieces {
            let lat = self.latency(now, node, to);
            let Some(c) = self.conns.get_mut(&cid) else {
                return;
            };
            let at = c.streams[d].last.max(now + lat);
            c.streams[d].last = at;
            queue.push(
                at,
                Event::Net(NetEvent::Deliver {
                    conn: cid,
                    to: r,
                    bytes: piece,
                }),
            );
        }
    }

    /// `Output::ClosePeer` from `node`: close a link or abandon a dial.
    pub(crate) fn close(&mut self, now: u64, node: ServerId, link: LinkId, queue: &mut EventQueue) {
        let Some(cid) = self.by_link.remove(&(node, link)) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&cid) else {
            return;
        };
        let d = c.side(node, link);
        c.ends[d].open = false;
        if c.accepted {
            c.dying = true;
            let r = 1 - d;
            let (peer, peer_open, broken, last) = (
                c.ends[r].node,
                c.ends[r].open,
                c.streams[d].broken,
                c.streams[d].last,
            );
            if peer_open {
                let at = if broken || !self.path_ok(node, peer) {
                    now + self.tcp_timeout()
                } else {
                    last.max(now + self.latency(now, node, peer))
                };
                self.tell(cid, r, at, queue);
            }
        }
        self.collect(cid);
    }

    /// A network event is due; returns the input it gives a node, if any.
    pub(crate) fn on_event(
        &mut self,
        now: u64,
        ev: NetEvent,
        queue: &mut EventQueue,
    ) -> Option<Delivery> {
        match ev {
            NetEvent::ConnectArrive { conn } => self.on_connect_arrive(now, conn, queue),
            NetEvent::Connected { conn } => {
                let c = self.conns.get(&conn)?;
                let e = c.ends[0];
                e.open.then_some(Delivery {
                    node: e.node,
                    inc: e.inc,
                    input: Input::PeerConnected { link: e.link },
                })
            }
            NetEvent::DialFailed { conn } => {
                self.stats.dials_failed += 1;
                let c = self.conns.get_mut(&conn)?;
                c.connecting = false;
                let e = c.ends[0];
                let out = if e.open {
                    c.ends[0].open = false;
                    self.by_link.remove(&(e.node, e.link));
                    Some(Delivery {
                        node: e.node,
                        inc: e.inc,
                        input: Input::PeerDisconnected { link: e.link },
                    })
                } else {
                    None
                };
                self.collect(conn);
                out
            }
            NetEvent::Deliver { conn, to, bytes } => {
                let e = self.conns.get(&conn)?.ends[to];
                e.open.then_some(Delivery {
                    node: e.node,
                    inc: e.inc,
                    input: Input::PeerBytes {
                        link: e.link,
                        bytes: bytes.into(),
                    },
                })
            }
            NetEvent::Disconnect { conn, end } => {
                let c = self.conns.get_mut(&conn)?;
                let e = c.ends[end];
                if !e.open {
                    return None;
                }
                c.ends[end].open = false;
                c.dying = true;
                self.by_link.remove(&(e.node, e.link));
                self.collect(conn);
                Some(Delivery {
                    node: e.node,
                    inc: e.inc,
                    input: Input::PeerDisconnected { link: e.link },
                })
            }
        }
    }

    fn on_connect_arrive(
        &mut self,
        now: u64,
        cid: u64,
        queue: &mut EventQueue,
    ) -> Option<Delivery> {
        let c = self.conns.get_mut(&cid)?;
        c.connecting = false;
        let (dialer, to) = (c.ends[0], c.ends[1].node);
        let host = self.host(to);
        let dialer_alive =
            self.host(dialer.node).inc == dialer.inc && self.host(dialer.node).process_up;
        if !dialer.open && !dialer_alive {
            // The dialer died: nobody is left to answer the SYN-ACK.
            self.collect(cid);
            return None;
        }
        if !self.path_ok(dialer.node, to) || !self.path_ok(to, dialer.node) || !host.machine_up {
            let at = now + self.connect_timeout();
            queue.push(at, Event::Net(NetEvent::DialFailed { conn: cid }));
            return None;
        }
        if !host.process_up {
            let at = now + self.latency(now, to, dialer.node);
            queue.push(at, Event::Net(NetEvent::DialFailed { conn: cid }));
            return None;
        }
        let link = LinkId::Accepted(self.next_accept);
        self.next_accept += 1;
        let back = now + self.latency(now, to, dialer.node);
        let c = self.conns.get_mut(&cid)?;
        c.accepted = true;
        c.ends[1] = End {
            node: to,
            inc: host.inc,
            link,
            open: true,
        };
        // The dialer hears of the connection before any byte the acceptor writes on it.
        c.streams[1].last = back;
        self.by_link.insert((to, link), cid);
        if dialer.open {
            queue.push(back, Event::Net(NetEvent::Connected { conn: cid }));
        } else {
            // An abandoned dial: the acceptor sees the connection, then the dialer's RST.
            c.dying = true;
            let at = now + self.latency(now, dialer.node, to);
            self.tell(cid, 1, at, queue);
        }
        Some(Delivery {
            node: to,
            inc: host.inc,
            input: Input::PeerAccepted { link },
        })
    }

    /// Blocks every `(from, to)` direction listed; returns the partition's id.
    pub(crate) fn partition(&mut self, pairs: Vec<(ServerId, ServerId)>) -> u64 {
        for p in &pairs {
            *self.blocked.entry(*p).or_insert(0) += 1;
        }
        let id = self.next_partition;
        self.next_partition += 1;
        self.partitions.insert(id, pairs);
        id
    }

    /// Ends one partition (a no-op if it already healed).
    pub(crate) fn heal_partition(&mut self, id: u64) {
        let Some(pairs) = self.partitions.remove(&id) else {
            return;
        };
        for p in pairs {
            if let Some(n) = self.blocked.get_mut(&p) {
                *n -= 1;
                if *n == 0 {
                    self.blocked.remove(&p);
                }
            }
        }
    }

    /// Ends every partition, but leaves the other faults on.
    pub(crate) fn heal_partitions(&mut self) {
        self.partitions.clear();
        self.blocked.clear();
    }

    /// `heal_at`: no partition, no slow spell, no message fault from now on.
    pub(crate) fn heal_all(&mut self) {
        self.heal_partitions();
        self.slow.clear();
        self.faults = FaultOptions::none();
    }

    /// From now until `until`, segments from `from` to `to` take `extra` ns longer.
    pub(crate) fn slow_spell(&mut self, from: ServerId, to: ServerId, until: u64, extra: u64) {
        self.slow.insert((from, to), (until, extra));
    }

    /// The server at the other end of `node`'s `link`, while the link is known.
    pub(crate) fn peer_of(&self, node: ServerId, link: LinkId) -> Option<ServerId> {
        let c = self.conns.get(self.by_link.get(&(node, link))?)?;
        Some(c.ends[1 - c.side(node, link)].node)
    }

    /// Connections currently tracked (for tests of the model itself).
    #[cfg(test)]
    fn conn_count(&self) -> usize {
        self.conns.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net() -> (Network, EventQueue) {
        let addrs = [("a:1".to_string(), 1), ("b:2".to_string(), 2)]
            .into_iter()
            .collect();
        let mut n = Network::new(&[1, 2], addrs, FaultOptions::none(), Prng::new(9), false);
        let mut q = EventQueue::default();
        n.host_started(0, 1, 1, &mut q);
        n.host_started(0, 2, 1, &mut q);
        (n, q)
    }

    /// Runs the queue dry, returning every delivery.
    fn drain(n: &mut Network, q: &mut EventQueue) -> Vec<(u64, Delivery)> {
        let mut out = Vec::new();
        while let Some((t, ev)) = q.pop() {
            if let Event::Net(ev) = ev {
                if let Some(d) = n.on_event(t, ev, q) {
                    out.push((t, d));
                }
            }
        }
        out
    }

    #[test]
    fn connect_send_close_in_order() {
        let (mut n, mut q) = net();
        n.dial(0, 1, 1, LinkId::Dialed(0), "b:2", &mut q);
        let got = drain(&mut n, &mut q);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].1.input,
            Input::PeerAccepted {
                link: LinkId::Accepted(0)
            }
        );
        assert_eq!(
            got[1].1.input,
            Input::PeerConnected {
                link: LinkId::Dialed(0)
            }
        );
        let t = got[1].0;
        for i in 0..20u8 {
            n.send(t, 1, LinkId::Dialed(0), vec![i], &mut q);
        }
        n.close(t, 1, LinkId::Dialed(0), &mut q);
        let got = drain(&mut n, &mut q);
        let bytes: Vec<u8> = got
            .iter()
            .filter_map(|(_, d)| match &d.input {
                Input::PeerBytes { bytes, .. } => Some(bytes[0]),
                _ => None,
            })
            .collect();
        assert_eq!(bytes, (0..20).collect::<Vec<u8>>(), "FIFO per stream");
        assert_eq!(
            got.last().map(|(_, d)| d.input.clone()),
            Some(Input::PeerDisconnected {
                link: LinkId::Accepted(0)
            })
        );
        assert_eq!(n.conn_count(), 0);
    }

    #[test]
    fn partition_breaks_and_resets_both_ends() {
        let (mut n, mut q) = net();
        n.dial(0, 1, 1, LinkId::Dialed(0), "b:2", &mut q);
        drain(&mut n, &mut q);
        n.partition(vec![(1, 2)]);
        n.send(10 * MS, 1, LinkId::Dialed(0), vec![1], &mut q);
        let got = drain(&mut n, &mut q);
        assert_eq!(got.len(), 2);
        assert!(got
            .iter()
            .all(|(t, d)| *t >= 1_000 * MS && matches!(d.input, Input::PeerDisconnected { .. })));
    }

    #[test]
    fn dial_to_dead_process_is_refused_fast() {
        let (mut n, mut q) = net();
        n.crash(0, 2, CrashMode::Process, &mut q);
        n.dial(0, 1, 1, LinkId::Dialed(0), "b:2", &mut q);
        let got = drain(&mut n, &mut q);
        assert_eq!(
            got,
            vec![(
                MS,
                Delivery {
                    node: 1,
                    inc: 1,
                    input: Input::PeerDisconnected {
                        link: LinkId::Dialed(0)
                    }
                }
            )]
        );
    }
}
