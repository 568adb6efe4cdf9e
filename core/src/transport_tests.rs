//! Link rules: handshake, one link per pair, rejection of bad peers, back-off, idle links.

use super::*;
use crate::codec::encode_frame;
use alloc::string::ToString;
use alloc::vec;

const ENSEMBLE: u64 = 0xC0FFEE;

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn transport(me: ServerId) -> Transport {
    let peers = [1u64, 2, 3].map(|id| (id, alloc::format!("127.0.0.1:{}", 3887 + id)));
    Transport::new(
        me,
        alloc::format!("127.0.0.1:{}", 3887 + me),
        ENSEMBLE,
        peers,
        100,
        1000,
    )
}

fn hello_bytes(sid: ServerId, ensemble: u64, protocol: u16) -> Vec<u8> {
    let mut b = Vec::new();
    encode_peer_message(
        &PeerMessage::Hello(Hello {
            protocol,
            sid,
            ensemble,
            addr: alloc::format!("127.0.0.1:{}", 3887 + sid),
        }),
        &mut b,
    );
    b
}

fn sends(out: &[LinkEvent]) -> Vec<(LinkId, PeerMessage)> {
    out.iter()
        .filter_map(|e| match e {
            LinkEvent::Send { link, bytes } => {
                let mut d = FrameDecoder::new(MAX_PEER_FRAME_BYTES);
                d.push(bytes);
                let m = decode_peer_message(d.next_frame()?.ok()?).ok()?;
                Some((*link, m))
            }
            _ => None,
        })
        .collect()
}

fn non_sends(out: &[LinkEvent]) -> Vec<LinkEvent> {
    out.iter()
        .filter(|e| !matches!(e, LinkEvent::Send { .. }))
        .cloned()
        .collect()
}

#[test]
fn dials_every_peer_at_start_and_says_hello_on_connect() {
    let mut t = transport(2);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    t.on_timer(ms(0), &mut rng, &mut out);
    assert_eq!(
        out,
        vec![
            LinkEvent::Dial {
                link: LinkId::Dialed(0),
                peer: 1,
                addr: "127.0.0.1:3888".to_string()
            },
            LinkEvent::Dial {
                link: LinkId::Dialed(1),
                peer: 3,
                addr: "127.0.0.1:3890".to_string()
            },
        ]
    );
    out.clear();
    t.on_connected(ms(1), LinkId::Dialed(0), &mut out);
    assert_eq!(
        sends(&out),
        vec![(
            LinkId::Dialed(0),
            PeerMessage::Hello(Hello {
                protocol: PEER_PROTOCOL,
                sid: 2,
                ensemble: ENSEMBLE,
                addr: String::from("127.0.0.1:3889"),
            })
        )]
    );
}

#[test]
fn link_dialled_by_the_larger_id_survives() {
    let mut t = transport(2);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    t.on_timer(ms(0), &mut rng, &mut out);
    t.on_connected(ms(1), LinkId::Dialed(0), &mut out);
    out.clear();
    // We (2) dialled 1: our link is the rightful one.
    t.on_bytes(
        ms(2),
        LinkId::Dialed(0),
        &hello_bytes(1, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    assert_eq!(out, vec![LinkEvent::Up(1)]);
    assert!(t.is_up(1));
    out.clear();
    // We dialled 3 too: 3 is larger, so our link to it is closed and 3 must dial us.
    t.on_connected(ms(1), LinkId::Dialed(1), &mut out);
    out.clear();
    t.on_bytes(
        ms(2),
        LinkId::Dialed(1),
        &hello_bytes(3, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out,
        vec![LinkEvent::Close {
            link: LinkId::Dialed(1)
        }]
    );
    assert!(!t.is_up(3));
    out.clear();
    // 3 dials us: accepted and kept.
    t.on_accepted(ms(3), LinkId::Accepted(7), &mut out);
    out.clear();
    t.on_bytes(
        ms(4),
        LinkId::Accepted(7),
        &hello_bytes(3, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    assert_eq!(out, vec![LinkEvent::Up(3)]);
    assert_eq!(t.up_peers(), vec![1, 3]);
}

#[test]
fn smaller_id_dialling_us_is_closed_and_dialled_back() {
    let mut t = transport(3);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    t.on_accepted(ms(0), LinkId::Accepted(0), &mut out);
    out.clear();
    t.on_bytes(
        ms(1),
        LinkId::Accepted(0),
        &hello_bytes(1, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    assert_eq!(
        out,
        vec![LinkEvent::Close {
            link: LinkId::Accepted(0)
        }]
    );
    out.clear();
    t.on_timer(ms(1), &mut rng, &mut out);
    assert!(out.contains(&LinkEvent::Dial {
        link: LinkId::Dialed(0),
        peer: 1,
        addr: "127.0.0.1:3888".to_string()
    }));
}

#[test]
fn a_newer_rightful_link_replaces_the_old_one_as_down_then_up() {
    let mut t = transport(1);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    for (i, at) in [(0u64, 0u64), (1, 10)] {
        t.on_accepted(ms(at), LinkId::Accepted(i), &mut out);
        t.on_bytes(
            ms(at + 1),
            LinkId::Accepted(i),
            &hello_bytes(2, ENSEMBLE, PEER_PROTOCOL),
            &mut rng,
            &mut out,
        );
    }
    assert_eq!(
        non_sends(&out),
        vec![
            LinkEvent::Up(2),
            LinkEvent::Close {
                link: LinkId::Accepted(0)
            },
            LinkEvent::Down(2),
            LinkEvent::Up(2),
        ]
    );
}

#[test]
fn wrong_ensemble_protocol_or_unknown_server_is_rejected() {
    let cases = [
        (
            hello_bytes(2, 0xBAD, PEER_PROTOCOL),
            RejectReason::Ensemble {
                theirs: 0xBAD,
                ours: ENSEMBLE,
            },
        ),
        (hello_bytes(2, ENSEMBLE, 99), RejectReason::Protocol(99)),
        (
            hello_bytes(9, ENSEMBLE, PEER_PROTOCOL),
            RejectReason::UnknownServer(9),
        ),
        (
            hello_bytes(1, ENSEMBLE, PEER_PROTOCOL),
            RejectReason::UnknownServer(1),
        ),
    ];
    for (bytes, reason) in cases {
        let mut t = transport(1);
        let mut rng = Prng::new(1);
        let mut out = Vec::new();
        t.on_accepted(ms(0), LinkId::Accepted(0), &mut out);
        out.clear();
        t.on_bytes(ms(1), LinkId::Accepted(0), &bytes, &mut rng, &mut out);
        assert_eq!(
            out,
            vec![
                LinkEvent::Rejected {
                    link: LinkId::Accepted(0),
                    reason
                },
                LinkEvent::Close {
                    link: LinkId::Accepted(0)
                },
            ]
        );
    }
}

#[test]
fn a_message_before_hello_or_a_corrupt_frame_closes_only_that_link() {
    let mut t = transport(1);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    t.on_accepted(ms(0), LinkId::Accepted(0), &mut out);
    t.on_bytes(
        ms(1),
        LinkId::Accepted(0),
        &hello_bytes(2, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    t.on_accepted(ms(0), LinkId::Accepted(1), &mut out);
    out.clear();
    let mut hb = Vec::new();
    encode_peer_message(&PeerMessage::Heartbeat, &mut hb);
    t.on_bytes(ms(2), LinkId::Accepted(1), &hb, &mut rng, &mut out);
    assert_eq!(
        out,
        vec![
            LinkEvent::Rejected {
                link: LinkId::Accepted(1),
                reason: RejectReason::NoHandshake
            },
            LinkEvent::Close {
                link: LinkId::Accepted(1)
            },
        ]
    );
    out.clear();
    let mut bad = Vec::new();
    encode_frame(&[PEER_WIRE_VERSION_FOR_TEST, 0xFF, 0xFF], &mut bad);
    bad[8] ^= 0x55;
    t.on_bytes(ms(3), LinkId::Accepted(0), &bad, &mut rng, &mut out);
    assert!(matches!(
        out[0],
        LinkEvent::Rejected {
            link: LinkId::Accepted(0),
            reason: RejectReason::Frame(FrameError::Checksum { .. })
        }
    ));
    assert_eq!(
        out[1..],
        [
            LinkEvent::Close {
                link: LinkId::Accepted(0)
            },
            LinkEvent::Down(2)
        ]
    );
}

const PEER_WIRE_VERSION_FOR_TEST: u8 = crate::codec::PEER_WIRE_VERSION;

#[test]
fn reconnect_back_off_doubles_with_jitter_up_to_the_cap() {
    let mut t = transport(2);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    let mut now = 0;
    let mut delays = Vec::new();
    t.on_timer(ms(now), &mut rng, &mut out);
    let mut link = LinkId::Dialed(0);
    for _ in 0..8 {
        // The dial to 1 fails at once; measure when the next one happens.
        out.clear();
        t.on_disconnected(ms(now), link, &mut rng, &mut out);
        let failed_at = now;
        let mut redial = None;
        for _ in 0..100 {
            now = t.next_deadline().unwrap().as_millis();
            out.clear();
            t.on_timer(ms(now), &mut rng, &mut out);
            redial = out.iter().find_map(|e| match e {
                LinkEvent::Dial { link, peer: 1, .. } => Some(*link),
                _ => None,
            });
            if redial.is_some() {
                break;
            }
        }
        link = redial.unwrap();
        delays.push(now - failed_at);
    }
    let floors = [50, 100, 200, 400, 800, 1000, 1000, 1000];
    for (d, f) in delays.iter().zip(floors) {
        assert!(
            *d >= f && *d <= f + f / 2,
            "delay {d} outside [{f}, {}]",
            f + f / 2
        );
    }
}

#[test]
fn quiet_links_heartbeat_and_silent_links_are_closed() {
    let mut t = transport(1);
    let mut rng = Prng::new(1);
    let mut out = Vec::new();
    t.on_accepted(ms(0), LinkId::Accepted(0), &mut out);
    t.on_bytes(
        ms(0),
        LinkId::Accepted(0),
        &hello_bytes(2, ENSEMBLE, PEER_PROTOCOL),
        &mut rng,
        &mut out,
    );
    out.clear();
    t.on_timer(ms(100), &mut rng, &mut out);
    assert!(sends(&out).contains(&(LinkId::Accepted(0), PeerMessage::Heartbeat)));
    out.clear();
    for at in (200..=1000).step_by(100) {
        t.on_timer(ms(at), &mut rng, &mut out);
    }
    assert_eq!(
        non_sends(&out)
            .iter()
            .filter(|e| !matches!(e, LinkEvent::Dial { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            LinkEvent::Rejected {
                link: LinkId::Accepted(0),
                reason: RejectReason::Idle
            },
            LinkEvent::Close {
                link: LinkId::Accepted(0)
            },
            LinkEvent::Down(2),
        ]
    );
}

/// Accepts link `link` at `at` and delivers `sid`'s Hello on it: what the transport says.
fn accept_hello(
    t: &mut Transport,
    at: u64,
    link: LinkId,
    sid: ServerId,
    rng: &mut Prng,
) -> Vec<LinkEvent> {
    let mut out = Vec::new();
    t.on_accepted(ms(at), link, &mut out);
    out.clear();
    t.on_bytes(
        ms(at),
        link,
        &hello_bytes(sid, ENSEMBLE, PEER_PROTOCOL),
        rng,
        &mut out,
    );
    out
}

#[test]
fn strangers_are_refused_unless_membership_is_open_then_dialled_back_where_they_say() {
    let mut rng = Prng::new(1);
    let refused = |out: &[LinkEvent]| {
        out.iter().any(|e| {
            matches!(
                e,
                LinkEvent::Rejected {
                    reason: RejectReason::UnknownServer(_),
                    ..
                }
            )
        })
    };
    // Server 2 is outside the membership of 3, which knows no peer at all.
    let mut closed = Transport::new(3, "127.0.0.1:3890".into(), ENSEMBLE, [], 100, 1000);
    assert!(refused(&accept_hello(
        &mut closed,
        0,
        LinkId::Accepted(0),
        2,
        &mut rng
    )));

    let mut open =
        Transport::new(3, "127.0.0.1:3890".into(), ENSEMBLE, [], 100, 1000).accept_strangers();
    // The smaller id dialled: closed, and dialled back at the address its Hello gave.
    assert_eq!(
        accept_hello(&mut open, 1, LinkId::Accepted(0), 2, &mut rng),
        vec![LinkEvent::Close {
            link: LinkId::Accepted(0)
        }]
    );
    let mut out = Vec::new();
    open.on_timer(ms(2), &mut rng, &mut out);
    assert!(
        out.iter().any(
            |e| matches!(e, LinkEvent::Dial { peer: 2, addr, .. } if addr == "127.0.0.1:3889")
        ),
        "{out:?}"
    );
    // Made-up ids cannot grow the table: past MAX_STRANGERS (and above 255), refused.
    let mut refused_ids = Vec::new();
    for (k, sid) in (10..40).chain([1000]).enumerate() {
        let link = LinkId::Accepted(100 + k as u64);
        if refused(&accept_hello(&mut open, 3, link, sid, &mut rng)) {
            refused_ids.push(sid);
        }
    }
    let first_refused = 10 + (MAX_STRANGERS as u64 - 1);
    assert_eq!(
        refused_ids,
        (first_refused..40).chain([1000]).collect::<Vec<_>>()
    );
}
