//! Peer links: dialing with back-off, the handshake, the one-link-per-pair rule, heartbeats
//! and idle detection. Pure bookkeeping; the adapter only moves bytes.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::codec::peer::Hello;
use crate::codec::{
    decode_peer_message, encode_peer_message, FrameDecoder, FrameError, PeerMessage,
    MAX_PEER_FRAME_BYTES,
};
use crate::ids::{LinkId, ServerId};
use crate::rng::Prng;
use crate::time::Instant;

/// Peer protocol version carried in the handshake.
pub(crate) const PEER_PROTOCOL: u16 = 3;

/// First reconnect delay after a failed dial or a lost link.
pub(crate) const RECONNECT_MIN_MS: u64 = 50;
/// Upper bound of the reconnect back-off; also bounds how fast a healed partition is noticed.
pub(crate) const RECONNECT_MAX_MS: u64 = 1_000;

/// What the transport tells the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// Open a TCP connection.
    Dial {
        /// The link id to use for it.
        link: LinkId,
        /// The server to reach.
        peer: ServerId,
        /// `host:port` to dial.
        addr: String,
    },
    /// Write bytes on a link.
    Send {
        /// The link.
        link: LinkId,
        /// Already framed bytes.
        bytes: Vec<u8>,
    },
    /// Close a link.
    Close {
        /// The link.
        link: LinkId,
    },
    /// A peer became reachable (handshake done on the surviving link).
    Up(ServerId),
    /// A peer became unreachable.
    Down(ServerId),
    /// A decoded message from an established peer.
    Message(ServerId, PeerMessage),
    /// A link was refused or dropped for a reason worth logging.
    Rejected {
        /// The link.
        link: LinkId,
        /// Why.
        reason: RejectReason,
    },
}

/// Why a link was closed by us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RejectReason {
    /// Bytes that are not a valid frame or message.
    Frame(FrameError),
    /// The first message was not a Hello.
    NoHandshake,
    /// A different peer protocol version.
    Protocol(u16),
    /// A different ensemble membership.
    Ensemble {
        /// Their fingerprint.
        theirs: u64,
        /// Ours.
        ours: u64,
    },
    /// A server id that is not in our configuration (or is our own).
    UnknownServer(ServerId),
    /// The dialled server answered with another id.
    WrongServer {
        /// Who we dialled.
        expected: ServerId,
        /// Who answered.
        actual: ServerId,
    },
    /// No traffic for longer than the idle limit.
    Idle,
    /// The peer sent more bytes than one link may buffer.
    Overflow,
}

#[derive(Debug)]
enum LinkState {
    Handshaking,
    Established(ServerId),
}

#[derive(Debug)]
struct Link {
    state: LinkState,
    /// For dialled links: who we meant to reach.
    target: Option<ServerId>,
    decoder: FrameDecoder,
    last_rx: Instant,
    last_tx: Instant,
}

#[derive(Debug)]
struct PeerSlot {
    /// Where to dial it; `None` for a server we only accept links from (one outside our
    /// membership that reached us, e.g. a server about to join).
    addr: Option<String>,
    /// Outside every membership we were given: it reached us (see [`MAX_STRANGERS`]).
    stranger: bool,
    active: Option<LinkId>,
    dialing: Option<LinkId>,
    backoff_ms: u64,
    next_dial: Option<Instant>,
}

/// Servers outside the membership that may hold a slot at once (servers about to join);
/// more are refused, so made-up server ids cannot grow the table.
pub(crate) const MAX_STRANGERS: usize = 16;

/// All peer links of one server.
#[derive(Debug)]
pub(crate) struct Transport {
    my_id: ServerId,
    /// Our election address, told to every peer in the handshake.
    my_addr: String,
    ensemble: u64,
    heartbeat_ms: u64,
    idle_ms: u64,
    peers: BTreeMap<ServerId, PeerSlot>,
    /// Accept links from servers outside the membership (`reconfigEnabled`).
    open: bool,
    links: BTreeMap<LinkId, Link>,
    next_link: u64,
    next_maintenance: Option<Instant>,
}

impl Transport {
    /// Links to `peers` (id → `host:port`), with heartbeats every `heartbeat_ms` and links
    /// closed after `idle_ms` of silence.
    pub(crate) fn new(
        my_id: ServerId,
        my_addr: String,
        ensemble: u64,
        peers: impl IntoIterator<Item = (ServerId, String)>,
        heartbeat_ms: u64,
        idle_ms: u64,
    ) -> Transport {
        let peers = peers
            .into_iter()
            .filter(|(id, _)| *id != my_id)
            .map(|(id, addr)| {
                (
                    id,
                    PeerSlot {
                        addr: Some(addr),
                        stranger: false,
                        active: None,
                        dialing: None,
                        backoff_ms: RECONNECT_MIN_MS,
                        next_dial: Some(Instant::ZERO),
                    },
                )
            })
            .collect();
        Transport {
            my_id,
            my_addr,
            ensemble,
            heartbeat_ms: heartbeat_ms.max(1),
            idle_ms: idle_ms.max(1),
            peers,
            open: false,
            links: BTreeMap::new(),
            next_link: 0,
            next_maintenance: None,
        }
    }

    /// Accepts links from servers outside the membership too (with `reconfigEnabled`, a
    /// server that is to join links to the members before the reconfig adds it).
    pub(crate) fn accept_strangers(mut self) -> Transport {
        self.open = true;
        self
    }

    /// A new membership: dial members we did not know, at their (new) addresses. Servers
    /// that left stay reachable: they run on as learners without a vote until stopped.
    pub(crate) fn set_peers(
        &mut self,
        now: Instant,
        peers: impl IntoIterator<Item = (ServerId, String)>,
    ) {
        for (id, addr) in peers.into_iter().filter(|(id, _)| *id != self.my_id) {
            let slot = self.peers.entry(id).or_insert(PeerSlot {
                addr: None,
                stranger: false,
                active: None,
                dialing: None,
                backoff_ms: RECONNECT_MIN_MS,
                next_dial: None,
            });
            slot.stranger = false;
            if slot.addr.as_deref() != Some(addr.as_str()) {
                slot.addr = Some(addr);
                if slot.active.is_none() && slot.dialing.is_none() {
                    slot.next_dial = Some(now);
                }
            }
        }
    }

    /// True if a handshaken link to `peer` is up.
    pub(crate) fn is_up(&self, peer: ServerId) -> bool {
        self.peers.get(&peer).is_some_and(|p| p.active.is_some())
    }

    /// Peers with a live link, ascending.
    pub(crate) fn up_peers(&self) -> Vec<ServerId> {
        self.peers
            .iter()
            .filter(|(_, p)| p.active.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// The next transport deadline (dial or link maintenance).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let dial = self
            .peers
            .values()
            .filter(|p| p.active.is_none() && p.dialing.is_none() && p.addr.is_some())
            .filter_map(|p| p.next_dial)
            .min();
        match (dial, self.next_maintenance) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Sends `msg` to `peer` if a link is up; returns whether it was sent.
    pub(crate) fn send(
        &mut self,
        now: Instant,
        peer: ServerId,
        msg: &PeerMessage,
        out: &mut Vec<LinkEvent>,
    ) -> bool {
        let Some(link) = self.peers.get(&peer).and_then(|p| p.active) else {
            return false;
        };
        self.send_on(now, link, msg, out);
        true
    }

    fn send_on(&mut self, now: Instant, link: LinkId, msg: &PeerMessage, out: &mut Vec<LinkEvent>) {
        if let Some(l) = self.links.get_mut(&link) {
            l.last_tx = now;
            let mut bytes = Vec::new();
            encode_peer_message(msg, &mut bytes);
            out.push(LinkEvent::Send { link, bytes });
        }
    }

    /// Makes every peer without a link eligible for an immediate dial.
    pub(crate) fn redial_now(&mut self, now: Instant) {
        for p in self.peers.values_mut() {
            if p.active.is_none() && p.dialing.is_none() {
                p.next_dial = Some(p.next_dial.map_or(now, |t| t.min(now)));
            }
        }
    }

    /// Timers: dial peers whose back-off expired, heartbeat quiet links, drop silent ones.
    pub(crate) fn on_timer(&mut self, now: Instant, rng: &mut Prng, out: &mut Vec<LinkEvent>) {
        let due: Vec<ServerId> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.active.is_none()
                    && p.dialing.is_none()
                    && p.addr.is_some()
                    && p.next_dial.is_some_and(|t| t <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for peer in due {
            self.dial(now, peer, out);
        }
        if self.next_maintenance.is_some_and(|t| t <= now) {
            self.maintain(now, rng, out);
        }
    }

    fn dial(&mut self, now: Instant, peer: ServerId, out: &mut Vec<LinkEvent>) {
        let Some(slot) = self.peers.get_mut(&peer) else {
            return;
        };
        let Some(addr) = slot.addr.clone() else {
            return;
        };
        let link = LinkId::Dialed(self.next_link);
        self.next_link += 1;
        slot.dialing = Some(link);
        slot.next_dial = None;
        out.push(LinkEvent::Dial { link, peer, addr });
        self.links.insert(
            link,
            Link {
                state: LinkState::Handshaking,
                target: Some(peer),
                decoder: FrameDecoder::new(MAX_PEER_FRAME_BYTES),
                last_rx: now,
                last_tx: now,
            },
        );
        self.arm_maintenance(now);
    }

    fn arm_maintenance(&mut self, now: Instant) {
        if self.next_maintenance.is_none() {
            self.next_maintenance = Some(now.plus_millis(self.heartbeat_ms));
        }
    }

    fn maintain(&mut self, now: Instant, rng: &mut Prng, out: &mut Vec<LinkEvent>) {
        let mut idle = Vec::new();
        let mut quiet = Vec::new();
        for (id, l) in &self.links {
            // Also bounds a dial that never connects or a handshake that never completes.
            if now.millis_since(l.last_rx) >= self.idle_ms {
                idle.push(*id);
            } else if matches!(l.state, LinkState::Established(_))
                && now.millis_since(l.last_tx) >= self.heartbeat_ms / 2
            {
                quiet.push(*id);
            }
        }
        for link in quiet {
            self.send_on(now, link, &PeerMessage::Heartbeat, out);
        }
        for link in idle {
            out.push(LinkEvent::Rejected {
                link,
                reason: RejectReason::Idle,
            });
            self.close(now, link, rng, out);
        }
        self.next_maintenance = if self.links.is_empty() {
            None
        } else {
            Some(now.plus_millis(self.heartbeat_ms))
        };
    }

    /// A dialled link connected: introduce ourselves.
    pub(crate) fn on_connected(&mut self, now: Instant, link: LinkId, out: &mut Vec<LinkEvent>) {
        if let Some(l) = self.links.get_mut(&link) {
            l.last_rx = now;
            self.hello(now, link, out);
        }
    }

    /// The adapter accepted a connection: track it and introduce ourselves.
    pub(crate) fn on_accepted(&mut self, now: Instant, link: LinkId, out: &mut Vec<LinkEvent>) {
        if self.links.contains_key(&link) {
            return;
        }
        self.links.insert(
            link,
            Link {
                state: LinkState::Handshaking,
                target: None,
                decoder: FrameDecoder::new(MAX_PEER_FRAME_BYTES),
                last_rx: now,
                last_tx: now,
            },
        );
        self.arm_maintenance(now);
        self.hello(now, link, out);
    }

    fn hello(&mut self, now: Instant, link: LinkId, out: &mut Vec<LinkEvent>) {
        let hello = PeerMessage::Hello(Hello {
            protocol: PEER_PROTOCOL,
            sid: self.my_id,
            ensemble: self.ensemble,
            addr: self.my_addr.clone(),
        });
        self.send_on(now, link, &hello, out);
    }

    /// The adapter saw the link close (or the dial fail).
    pub(crate) fn on_disconnected(
        &mut self,
        now: Instant,
        link: LinkId,
        rng: &mut Prng,
        out: &mut Vec<LinkEvent>,
    ) {
        self.forget(now, link, rng, out);
    }

    /// Bytes arrived on a link.
    pub(crate) fn on_bytes(
        &mut self,
        now: Instant,
        link: LinkId,
        bytes: &[u8],
        rng: &mut Prng,
        out: &mut Vec<LinkEvent>,
    ) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        l.decoder.push(bytes);
        // Bounded: each frame consumes at least FRAME_HEADER_BYTES + 1 of the bytes pushed.
        loop {
            let Some(l) = self.links.get_mut(&link) else {
                return;
            };
            let msg = match l.decoder.next_frame() {
                None => return,
                Some(Ok(payload)) => decode_peer_message(payload),
                Some(Err(e)) => Err(e),
            };
            // Liveness counts whole frames: a stream stuck inside a bogus length stays idle.
            if let Some(l) = self.links.get_mut(&link) {
                l.last_rx = now;
            }
            match msg {
                Err(e) => {
                    out.push(LinkEvent::Rejected {
                        link,
                        reason: RejectReason::Frame(e),
                    });
                    self.close(now, link, rng, out);
                    return;
                }
                Ok(m) => {
                    if !self.on_message(now, link, m, rng, out) {
                        return;
                    }
                }
            }
        }
    }

    /// Returns false if the link was closed.
    fn on_message(
        &mut self,
        now: Instant,
        link: LinkId,
        msg: PeerMessage,
        rng: &mut Prng,
        out: &mut Vec<LinkEvent>,
    ) -> bool {
        let Some(l) = self.links.get(&link) else {
            return false;
        };
        match (&l.state, msg) {
            (LinkState::Established(peer), PeerMessage::Hello(_)) => {
                // A second hello is a protocol error.
                let _ = peer;
                out.push(LinkEvent::Rejected {
                    link,
                    reason: RejectReason::NoHandshake,
                });
                self.close(now, link, rng, out);
                false
            }
            (LinkState::Established(_), PeerMessage::Heartbeat) => true,
            (LinkState::Established(peer), m) => {
                out.push(LinkEvent::Message(*peer, m));
                true
            }
            (LinkState::Handshaking, PeerMessage::Hello(h)) => {
                self.on_hello(now, link, h, rng, out)
            }
            (LinkState::Handshaking, _) => {
                out.push(LinkEvent::Rejected {
                    link,
                    reason: RejectReason::NoHandshake,
                });
                self.close(now, link, rng, out);
                false
            }
        }
    }

    fn on_hello(
        &mut self,
        now: Instant,
        link: LinkId,
        h: Hello,
        rng: &mut Prng,
        out: &mut Vec<LinkEvent>,
    ) -> bool {
        let target = self.links.get(&link).and_then(|l| l.target);
        let reject = if h.protocol != PEER_PROTOCOL {
            Some(RejectReason::Protocol(h.protocol))
        } else if h.ensemble != self.ensemble {
            Some(RejectReason::Ensemble {
                theirs: h.ensemble,
                ours: self.ensemble,
            })
        } else if h.sid == self.my_id
            || (!self.peers.contains_key(&h.sid)
                && (!self.open
                    || h.sid > crate::config::MAX_SERVER_ID
                    || self.peers.values().filter(|p| p.stranger).count() >= MAX_STRANGERS))
        {
            Some(RejectReason::UnknownServer(h.sid))
        } else if target.is_some_and(|t| t != h.sid) {
            Some(RejectReason::WrongServer {
                expected: target.unwrap_or_default(),
                actual: h.sid,
            })
        } else {
            None
        };
        if let Some(reason) = reject {
            out.push(LinkEvent::Rejected { link, reason });
            self.close(now, link, rng, out);
            return false;
        }
        let peer = h.sid;
        let slot = self.peers.entry(peer).or_insert(PeerSlot {
            addr: None,
            stranger: true,
            active: None,
            dialing: None,
            backoff_ms: RECONNECT_MIN_MS,
            next_dial: None,
        });
        if slot.addr.is_none() && !h.addr.is_empty() {
            // A server outside our membership: reach it where it says it listens.
            slot.addr = Some(h.addr);
        }
        // Only a link dialled by the larger id survives (protocol reference §1.9); a
        // server we cannot dial keeps whichever link it made.
        let dialer = if target.is_some() { self.my_id } else { peer };
        let rightful = dialer == self.my_id.max(peer) || slot.addr.is_none();
        if !rightful {
            self.close(now, link, rng, out);
            if target.is_none() {
                // A smaller id reached us: that is its way of asking us to dial it.
                if let Some(slot) = self.peers.get_mut(&peer) {
                    if slot.active.is_none() && slot.dialing.is_none() {
                        slot.next_dial = Some(now);
                        slot.backoff_ms = RECONNECT_MIN_MS;
                    }
                }
            }
            return false;
        }
        let Some(slot) = self.peers.get_mut(&peer) else {
            return false;
        };
        let old = slot.active.replace(link);
        if slot.dialing == Some(link) {
            slot.dialing = None;
        }
        slot.backoff_ms = RECONNECT_MIN_MS;
        slot.next_dial = None;
        if let Some(l) = self.links.get_mut(&link) {
            l.state = LinkState::Established(peer);
        }
        if let Some(old) = old {
            // The peer dialled anew, so it gave up the old link (or restarted): whatever
            // was built on the old link is gone too.
            self.links.remove(&old);
            out.push(LinkEvent::Close { link: old });
            out.push(LinkEvent::Down(peer));
        }
        out.push(LinkEvent::Up(peer));
        true
    }

    /// Closes a link at our initiative.
    fn close(&mut self, now: Instant, link: LinkId, rng: &mut Prng, out: &mut Vec<LinkEvent>) {
        if self.links.contains_key(&link) {
            out.push(LinkEvent::Close { link });
        }
        self.forget(now, link, rng, out);
    }

    fn forget(&mut self, now: Instant, link: LinkId, rng: &mut Prng, out: &mut Vec<LinkEvent>) {
        let Some(l) = self.links.remove(&link) else {
            return;
        };
        let peer = match l.state {
            LinkState::Established(p) => Some(p),
            LinkState::Handshaking => l.target,
        };
        let Some(peer) = peer else { return };
        let Some(slot) = self.peers.get_mut(&peer) else {
            return;
        };
        let was_active = slot.active == Some(link);
        if was_active {
            slot.active = None;
        }
        if slot.dialing == Some(link) {
            slot.dialing = None;
        }
        if slot.active.is_none() && slot.dialing.is_none() && slot.next_dial.is_none() {
            // Back off with jitter so a flapping peer is not hammered in lock-step.
            let jitter = rng.below(slot.backoff_ms / 2 + 1);
            slot.next_dial = Some(now.plus_millis(slot.backoff_ms + jitter));
            slot.backoff_ms = (slot.backoff_ms * 2).min(RECONNECT_MAX_MS);
        }
        if was_active {
            out.push(LinkEvent::Down(peer));
        }
    }

    /// Closes the link to `peer`, if any (e.g. it broke the protocol above the link layer).
    pub(crate) fn drop_peer(
        &mut self,
        now: Instant,
        peer: ServerId,
        rng: &mut Prng,
        out: &mut Vec<LinkEvent>,
    ) {
        if let Some(link) = self.peers.get(&peer).and_then(|p| p.active) {
            self.close(now, link, rng, out);
        }
    }
}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
