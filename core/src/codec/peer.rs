//! Messages between servers. One enum, postcard-encoded behind a version byte.
//!
//! Conclave servers talk to each other with their own protocol (not ZooKeeper's quorum
//! wire format): one link per server pair carries election and ZAB traffic alike.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::frame::{encode_record_frame, FrameError, FRAME_HEADER_BYTES};
use crate::codec::txn::Txn;
use crate::election::{PeerState, Vote};
use crate::ids::{ServerId, Zxid};

/// Version byte that leads every peer payload; bumped on any incompatible change.
pub const PEER_WIRE_VERSION: u8 = 1;

/// The link handshake: the first message each side sends on a new link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Peer protocol version the sender speaks.
    pub protocol: u16,
    /// The sender's server id.
    pub sid: ServerId,
    /// Fingerprint of the sender's ensemble membership; must equal ours.
    pub ensemble: u64,
    /// The sender's election address (`host:port`, as its configuration names it; empty when
    /// it has none): a member learns where to reach a server outside its membership (one about
    /// to join) from it.
    pub addr: String,
}

/// A Fast Leader Election notification (ZooKeeper's `Notification`, minus the config blob).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// The sender's state.
    pub state: PeerState,
    /// The vote the sender holds (leader, zxid, peer epoch).
    pub vote: Vote,
    /// The sender's logical clock, or the round in which it decided.
    pub round: u64,
    /// The version of the sender's membership (ZooKeeper sends the whole configuration): a
    /// peer that has a newer one sends it ([`PeerMessage::Membership`]).
    pub config_version: u64,
}

/// Everything one server can say to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerMessage {
    /// Link handshake, both directions.
    Hello(Hello),
    /// Keeps an idle link alive; a link silent for `syncLimit` ticks is closed.
    Heartbeat,
    /// An election notification.
    Notification(Notification),
    /// Learner → leader: start of discovery (ZooKeeper FOLLOWERINFO / OBSERVERINFO).
    FollowerInfo {
        /// The learner's persisted acceptedEpoch.
        accepted_epoch: u32,
        /// True for an observer, whose acks never count.
        observer: bool,
        /// Identifies this attempt to join: a resend carries the same value, a new attempt
        /// (after stepping down, even towards the same leader in the same round) another.
        attempt: u64,
    },
    /// Leader → learner: the new epoch (LEADERINFO).
    LeaderInfo {
        /// The epoch the leader proposes.
        epoch: u32,
    },
    /// Learner → leader: promise for the new epoch (ACKEPOCH).
    AckEpoch {
        /// The learner's currentEpoch, or `None` if it had already promised this epoch.
        current_epoch: Option<u32>,
        /// The learner's last logged zxid.
        last_zxid: Zxid,
    },
    /// Leader → learner: synchronization is complete; adopt the epoch (NEWLEADER).
    NewLeader {
        /// The new epoch.
        epoch: u32,
    },
    /// Learner → leader: acknowledgement of a zxid (`epoch << 32` acknowledges NEWLEADER).
    Ack {
        /// The acknowledged zxid.
        zxid: Zxid,
    },
    /// Leader → learner: the leader is serving; start serving too (UPTODATE).
    UpToDate,
    /// Leader → learner: the leader is alive and still leading (ZooKeeper PING).
    Ping,
    /// Leader → learner: how the learner's log is brought in line (DIFF / TRUNC / SNAP).
    SyncBegin(SyncMode),
    /// Leader → learner: a piece of the SNAP state.
    SnapChunk(#[serde(with = "crate::codec::bytes")] Vec<u8>),
    /// Leader → learner: the SNAP state is complete.
    SnapEnd,
    /// Leader → follower: log this txn (PROPOSAL); also carries sync history.
    Proposal(Txn),
    /// Leader → learner: everything up to `zxid` is committed (cumulative COMMIT).
    Commit {
        /// Highest committed zxid.
        zxid: Zxid,
    },
    /// Leader → observer: a committed txn (INFORM).
    Inform(Txn),
    /// Learner → leader: a write to propose on behalf of a client of the learner (REQUEST).
    Request {
        /// The issuing session.
        session_id: i64,
        /// The client's xid.
        cxid: i32,
        /// The state machine's txn type.
        kind: i32,
        /// The txn body.
        #[serde(with = "crate::codec::bytes")]
        body: Vec<u8>,
        /// The client's authenticated ids as (scheme, id), for the leader's ACL checks.
        auth: Vec<(String, String)>,
    },
    /// Learner → leader: sessions its clients touched since the last ping (reply to PING).
    Touch {
        /// (session id, timeout ms).
        sessions: Vec<(i64, u32)>,
    },
    /// Learner → leader: a client `sync`; answer once what is outstanding now is committed.
    SyncRequest {
        /// The learner's id for it.
        id: u64,
    },
    /// Leader → learner: the sync `id` is complete; every commit before it was sent.
    SyncDone {
        /// The learner's id for it.
        id: u64,
    },
    /// Learner → leader: this many bytes of the SNAP state have arrived. The leader keeps at
    /// most a window of chunks unacknowledged, so a snapshot of any size crosses a link whose
    /// send queue is bounded (the adapters close a link that queues 64 MiB).
    SnapAck {
        /// Bytes of the state received so far.
        received: u64,
    },
    /// The membership a committed reconfiguration installed at the sender, for a peer whose
    /// notification showed an older one (the text of `/zookeeper/config`).
    Membership(String),
}

/// How a leader synchronizes a learner's log (protocol reference §2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMode {
    /// The learner's log is a prefix of ours: only newer txns follow.
    Diff,
    /// The learner has txns we never had: cut its log after `to`, then newer txns follow.
    Trunc {
        /// Last zxid to keep.
        to: Zxid,
    },
    /// Replace the learner's state with a snapshot at `zxid`, then newer txns follow.
    Snap {
        /// Zxid the snapshot state reflects.
        zxid: Zxid,
    },
}

impl PeerMessage {
    /// A capacity that holds this message's frame without growing: the bulk bytes it
    /// carries plus room for its fixed fields (reserving it saves the reallocations a frame
    /// built from an empty buffer would go through).
    pub fn frame_capacity_hint(&self) -> usize {
        const FIXED: usize = 64;
        FRAME_HEADER_BYTES
            + FIXED
            + match self {
                PeerMessage::Proposal(t) | PeerMessage::Inform(t) => t.body.len(),
                PeerMessage::SnapChunk(b) => b.len(),
                PeerMessage::Request { body, auth, .. } => {
                    body.len()
                        + auth
                            .iter()
                            .map(|(s, i)| s.len() + i.len() + 2)
                            .sum::<usize>()
                }
                PeerMessage::Touch { sessions } => sessions.len() * 15,
                PeerMessage::Membership(m) => m.len(),
                _ => 0,
            }
    }
}

/// Appends the framed encoding of `msg` to `out`.
pub fn encode_peer_message(msg: &PeerMessage, out: &mut Vec<u8>) {
    out.reserve(msg.frame_capacity_hint());
    let encoded = encode_record_frame(PEER_WIRE_VERSION, msg, out);
    debug_assert!(encoded, "postcard refused a peer message");
}

/// Decodes one frame payload (version byte + postcard record).
pub fn decode_peer_message(payload: &[u8]) -> Result<PeerMessage, FrameError> {
    let (&version, body) = payload
        .split_first()
        .ok_or(FrameError::Malformed("empty payload"))?;
    if version != PEER_WIRE_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    match postcard::from_bytes::<PeerMessage>(body) {
        Ok(m) => Ok(m),
        Err(_) => Err(FrameError::Malformed("undecodable peer message")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::FrameDecoder;
    use crate::codec::TxnHeader;
    use alloc::vec;
    use proptest::prelude::*;

    fn arb_vote() -> impl Strategy<Value = Vote> {
        (any::<u64>(), any::<u64>(), any::<u32>()).prop_map(|(l, z, e)| Vote {
            leader: l,
            zxid: Zxid(z),
            peer_epoch: e,
        })
    }

    fn arb_state() -> impl Strategy<Value = PeerState> {
        prop_oneof![
            Just(PeerState::Looking),
            Just(PeerState::Following),
            Just(PeerState::Leading),
            Just(PeerState::Observing)
        ]
    }

    fn arb_msg() -> impl Strategy<Value = PeerMessage> {
        prop_oneof![
            (any::<u16>(), any::<u64>(), any::<u64>(), "[a-z0-9.:]{0,20}").prop_map(
                |(protocol, sid, ensemble, addr)| {
                    PeerMessage::Hello(Hello {
                        protocol,
                        sid,
                        ensemble,
                        addr,
                    })
                }
            ),
            Just(PeerMessage::Heartbeat),
            (arb_state(), arb_vote(), any::<u64>()).prop_map(|(state, vote, round)| {
                PeerMessage::Notification(Notification {
                    state,
                    vote,
                    round,
                    config_version: round / 3,
                })
            }),
            (any::<u32>(), any::<bool>(), any::<u64>()).prop_map(
                |(accepted_epoch, observer, attempt)| {
                    PeerMessage::FollowerInfo {
                        accepted_epoch,
                        observer,
                        attempt,
                    }
                }
            ),
            any::<u32>().prop_map(|epoch| PeerMessage::LeaderInfo { epoch }),
            (proptest::option::of(any::<u32>()), any::<u64>()).prop_map(|(current_epoch, z)| {
                PeerMessage::AckEpoch {
                    current_epoch,
                    last_zxid: Zxid(z),
                }
            }),
            any::<u32>().prop_map(|epoch| PeerMessage::NewLeader { epoch }),
            any::<u64>().prop_map(|z| PeerMessage::Ack { zxid: Zxid(z) }),
            Just(PeerMessage::UpToDate),
            Just(PeerMessage::Ping),
            Just(PeerMessage::SnapEnd),
            any::<u64>().prop_map(|received| PeerMessage::SnapAck { received }),
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(PeerMessage::SnapChunk),
            any::<u64>().prop_map(|z| PeerMessage::SyncBegin(SyncMode::Trunc { to: Zxid(z) })),
            any::<u64>().prop_map(|z| PeerMessage::SyncBegin(SyncMode::Snap { zxid: Zxid(z) })),
            Just(PeerMessage::SyncBegin(SyncMode::Diff)),
            any::<u64>().prop_map(|z| PeerMessage::Commit { zxid: Zxid(z) }),
            (
                any::<u64>(),
                any::<i64>(),
                any::<i32>(),
                any::<i64>(),
                any::<i32>(),
                proptest::collection::vec(any::<u8>(), 0..32)
            )
                .prop_map(|(z, s, c, t, k, body)| PeerMessage::Proposal(Txn {
                    header: TxnHeader {
                        zxid: Zxid(z),
                        session_id: s,
                        cxid: c,
                        time_ms: t,
                        kind: k
                    },
                    body: body.into()
                })),
            (any::<u64>(), proptest::collection::vec(any::<u8>(), 0..32)).prop_map(|(z, body)| {
                PeerMessage::Inform(Txn {
                    header: TxnHeader {
                        zxid: Zxid(z),
                        session_id: 1,
                        cxid: 2,
                        time_ms: 3,
                        kind: 4,
                    },
                    body: body.into(),
                })
            }),
            (
                any::<i64>(),
                any::<i32>(),
                any::<i32>(),
                proptest::collection::vec(any::<u8>(), 0..32)
            )
                .prop_map(|(session_id, cxid, kind, body)| PeerMessage::Request {
                    session_id,
                    cxid,
                    kind,
                    body,
                    auth: vec![("digest".into(), "u:x".into())],
                }),
            proptest::collection::vec((any::<i64>(), any::<u32>()), 0..8)
                .prop_map(|sessions| PeerMessage::Touch { sessions }),
            any::<u64>().prop_map(|id| PeerMessage::SyncRequest { id }),
            any::<u64>().prop_map(|id| PeerMessage::SyncDone { id }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(msgs in proptest::collection::vec(arb_msg(), 1..10)) {
            let mut stream = Vec::new();
            for m in &msgs { encode_peer_message(m, &mut stream); }
            let mut d = FrameDecoder::new(crate::codec::MAX_PEER_FRAME_BYTES);
            d.push(&stream);
            let mut got = Vec::new();
            while let Some(f) = d.next_frame() {
                got.push(decode_peer_message(f.unwrap()).unwrap());
            }
            prop_assert_eq!(got, msgs);
        }

        #[test]
        fn arbitrary_payload_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = decode_peer_message(&bytes);
        }
    }

    #[test]
    fn wrong_version_is_typed() {
        assert_eq!(
            decode_peer_message(&[9, 0]),
            Err(FrameError::UnknownVersion(9))
        );
        assert_eq!(
            decode_peer_message(&[]),
            Err(FrameError::Malformed("empty payload"))
        );
    }
}
