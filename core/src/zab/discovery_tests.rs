//! Discovery hand-shake, exact outputs on both sides.

use super::*;
use crate::quorum::Majority;
use alloc::vec;

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn h(accepted_epoch: u32, current_epoch: u32, last_zxid: Zxid) -> History {
    History {
        accepted_epoch,
        current_epoch,
        last_zxid,
    }
}

fn info(accepted_epoch: u32) -> PeerMessage {
    PeerMessage::FollowerInfo {
        accepted_epoch,
        observer: false,
    }
}

#[test]
fn leader_fixes_epoch_above_every_accepted_one_in_the_quorum() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(4, 4, Zxid::new(4, 9)), 2000, &q, &mut out);
    assert_eq!(out, vec![]);
    l.on_message(2, info(6), &q, &mut out);
    assert_eq!(
        out,
        vec![ZabOutput::PersistEpochs {
            accepted: 7,
            current: 4,
            then: AfterPersist::LeaderEpochAccepted
        }]
    );
    out.clear();
    // LEADERINFO waits for the promise to be durable.
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &q, &mut out);
    assert_eq!(
        out,
        vec![ZabOutput::Send(2, PeerMessage::LeaderInfo { epoch: 7 })]
    );
    out.clear();
    // A late learner gets the fixed epoch at once.
    l.on_message(1, info(9), &q, &mut out);
    assert_eq!(
        out,
        vec![ZabOutput::Send(1, PeerMessage::LeaderInfo { epoch: 7 })]
    );
}

#[test]
fn leader_establishes_after_quorum_of_ackepoch_and_newleader_acks() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(1, 1, Zxid::new(1, 5)), 2000, &q, &mut out);
    l.on_message(2, info(1), &q, &mut out);
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &q, &mut out);
    out.clear();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 4),
        },
        &q,
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 2,
            then: AfterPersist::LeaderEpochCurrent
        }]
    );
    out.clear();
    l.on_persisted(AfterPersist::LeaderEpochCurrent, &q, &mut out);
    assert_eq!(
        out,
        vec![ZabOutput::Send(2, PeerMessage::NewLeader { epoch: 2 })]
    );
    out.clear();
    // An ACK for another zxid is not the NEWLEADER ack.
    l.on_message(
        2,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 1),
        },
        &q,
        &mut out,
    );
    assert_eq!(out, vec![]);
    l.on_message(
        2,
        PeerMessage::Ack {
            zxid: Zxid::new(2, 0),
        },
        &q,
        &mut out,
    );
    assert_eq!(
        out,
        vec![
            ZabOutput::Established {
                epoch: 2,
                quorum: vec![2, 3]
            },
            ZabOutput::Send(2, PeerMessage::UpToDate),
        ]
    );
    assert!(l.is_established());
    out.clear();
    l.on_peer_down(2, &q, &mut out);
    assert_eq!(out, vec![ZabOutput::StepDown(StepDown::LostQuorum)]);
}

#[test]
fn leader_steps_down_when_a_follower_is_ahead() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(1, 1, Zxid::new(1, 5)), 2000, &q, &mut out);
    l.on_message(2, info(1), &q, &mut out);
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &q, &mut out);
    out.clear();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: Some(1),
            last_zxid: Zxid::new(1, 6),
        },
        &q,
        &mut out,
    );
    assert_eq!(out, vec![ZabOutput::StepDown(StepDown::FollowerAhead(2))]);
}

#[test]
fn ackepoch_without_current_epoch_is_not_counted() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(1, 1, Zxid::ZERO), 2000, &q, &mut out);
    l.on_message(2, info(1), &q, &mut out);
    l.on_persisted(AfterPersist::LeaderEpochAccepted, &q, &mut out);
    out.clear();
    l.on_message(
        2,
        PeerMessage::AckEpoch {
            current_epoch: None,
            last_zxid: Zxid::ZERO,
        },
        &q,
        &mut out,
    );
    assert_eq!(out, vec![]);
}

#[test]
fn observers_never_count_towards_any_quorum() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(1, 1, Zxid::ZERO), 2000, &q, &mut out);
    l.on_message(
        4,
        PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: true,
        },
        &q,
        &mut out,
    );
    // A voter that claims to be an observer does not count either.
    l.on_message(
        2,
        PeerMessage::FollowerInfo {
            accepted_epoch: 1,
            observer: true,
        },
        &q,
        &mut out,
    );
    assert_eq!(out, vec![]);
    assert_eq!(l.epoch(), None);
}

#[test]
fn leader_gives_up_after_init_limit() {
    let q = Majority::new([1, 2, 3]);
    let mut out = Vec::new();
    let mut l = Leader::new(ms(0), 3, h(1, 1, Zxid::ZERO), 2000, &q, &mut out);
    l.on_timer(ms(1999), &mut out);
    assert_eq!(out, vec![]);
    l.on_timer(ms(2000), &mut out);
    assert_eq!(out, vec![ZabOutput::StepDown(StepDown::InitLimit)]);
}

#[test]
fn learner_promises_durably_before_acking_and_adopts_epoch_before_ack() {
    let mut out = Vec::new();
    let mut f = Learner::new(ms(0), 3, false, 2000);
    f.on_leader_link_up(1, &mut out);
    assert_eq!(out, vec![ZabOutput::Send(3, info(1))]);
    out.clear();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 2 },
        1,
        1,
        Zxid::new(1, 4),
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 1,
            then: AfterPersist::LearnerEpochAccepted { current_epoch: 1 }
        }]
    );
    out.clear();
    f.on_persisted(
        AfterPersist::LearnerEpochAccepted { current_epoch: 1 },
        Zxid::new(1, 4),
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::Send(
            3,
            PeerMessage::AckEpoch {
                current_epoch: Some(1),
                last_zxid: Zxid::new(1, 4)
            }
        )]
    );
    out.clear();
    f.on_message(
        3,
        PeerMessage::NewLeader { epoch: 2 },
        2,
        1,
        Zxid::new(1, 4),
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::PersistEpochs {
            accepted: 2,
            current: 2,
            then: AfterPersist::LearnerEpochCurrent { epoch: 2 }
        }]
    );
    out.clear();
    f.on_persisted(
        AfterPersist::LearnerEpochCurrent { epoch: 2 },
        Zxid::new(1, 4),
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::Send(
            3,
            PeerMessage::Ack {
                zxid: Zxid::new(2, 0)
            }
        )]
    );
    out.clear();
    f.on_message(3, PeerMessage::UpToDate, 2, 2, Zxid::new(1, 4), &mut out);
    assert_eq!(
        out,
        vec![ZabOutput::Synced {
            leader: 3,
            epoch: 2
        }]
    );
    assert_eq!(f.synced_epoch(), Some(2));
}

#[test]
fn learner_rejects_an_epoch_older_than_its_promise() {
    let mut out = Vec::new();
    let mut f = Learner::new(ms(0), 3, false, 2000);
    f.on_leader_link_up(5, &mut out);
    out.clear();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 4 },
        5,
        5,
        Zxid::ZERO,
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::StepDown(StepDown::StaleEpoch {
            offered: 4,
            accepted: 5
        })]
    );
}

#[test]
fn learner_answers_an_already_promised_epoch_without_counting() {
    let mut out = Vec::new();
    let mut f = Learner::new(ms(0), 3, false, 2000);
    f.on_leader_link_up(5, &mut out);
    out.clear();
    f.on_message(
        3,
        PeerMessage::LeaderInfo { epoch: 5 },
        5,
        4,
        Zxid::new(4, 2),
        &mut out,
    );
    assert_eq!(
        out,
        vec![ZabOutput::Send(
            3,
            PeerMessage::AckEpoch {
                current_epoch: None,
                last_zxid: Zxid::new(4, 2)
            }
        )]
    );
}

#[test]
fn learner_ignores_other_peers_and_steps_down_when_the_leader_goes() {
    let mut out = Vec::new();
    let mut f = Learner::new(ms(0), 3, false, 2000);
    f.on_leader_link_up(1, &mut out);
    out.clear();
    f.on_message(
        2,
        PeerMessage::LeaderInfo { epoch: 9 },
        1,
        1,
        Zxid::ZERO,
        &mut out,
    );
    f.on_peer_down(2, &mut out);
    assert_eq!(out, vec![]);
    f.on_peer_down(3, &mut out);
    assert_eq!(out, vec![ZabOutput::StepDown(StepDown::LostLeader)]);
}
