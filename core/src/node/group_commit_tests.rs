//! Group commit: at most one log `Sync` in flight; what is appended meanwhile goes out in one
//! `Sync` as soon as the first is acknowledged, with no timer.

use super::*;
use crate::node::{Node, Recovered, Tuning};
use crate::{Config, Input, Instant, Output, PersistOp};
use alloc::vec::Vec;

fn standalone() -> Node {
    let config = Config::from_zoo_cfg("clientPort=2181\n")
        .unwrap()
        .with_my_id(1)
        .unwrap();
    Node::with_state_machine(
        config,
        Recovered::empty(),
        1,
        Instant::ZERO,
        0,
        Tuning::default(),
    )
    .unwrap()
}

fn submit(node: &mut Node, cxid: i32) {
    let body = postcard::to_allocvec(&(cxid as u64, 7u64)).unwrap();
    node.handle(
        Instant::ZERO,
        Input::Submit {
            session_id: 1,
            cxid,
            kind: 1,
            body,
        },
    );
}

/// (log syncs with their seq, cxids acknowledged) among the outputs drained now.
fn drain(node: &mut Node) -> (Vec<u64>, Vec<i32>, Option<u64>) {
    let (mut syncs, mut acked, mut last) = (Vec::new(), Vec::new(), None);
    while let Some(out) = node.poll_output() {
        match out {
            Output::Persist { seq, op } => {
                if matches!(&op, PersistOp::Sync { file } if file.starts_with("log.")) {
                    syncs.push(seq);
                }
                last = Some(seq);
            }
            Output::Event(NodeEvent::WriteCommitted { cxid, .. }) => acked.push(cxid),
            _ => {}
        }
    }
    (syncs, acked, last)
}

#[test]
fn appends_made_while_a_sync_runs_share_the_next_sync() {
    let mut node = standalone();
    // Serve: acknowledge everything until the node is synced and idle.
    let mut now = Instant::ZERO;
    for _ in 0..500 {
        if node.status().synced {
            break;
        }
        let (_, _, last) = drain(&mut node);
        if let Some(seq) = last {
            node.handle(now, Input::Persisted { seq });
        }
        now = now.plus_millis(10);
        node.handle(now, Input::Timeout);
    }
    assert!(node.status().synced);
    drain(&mut node);
    submit(&mut node, 1);
    let (syncs, _, last) = drain(&mut node);
    assert_eq!(syncs.len(), 1, "an idle log syncs at once");
    let first = syncs[0];
    submit(&mut node, 2);
    submit(&mut node, 3);
    let (syncs, acked, _) = drain(&mut node);
    assert!(syncs.is_empty(), "a second Sync while one runs: {syncs:?}");
    assert!(acked.is_empty());
    node.handle(
        Instant::ZERO,
        Input::Persisted {
            seq: last.unwrap().max(first),
        },
    );
    let (syncs, acked, last) = drain(&mut node);
    assert_eq!(acked, [1]);
    assert_eq!(syncs.len(), 1, "writes 2 and 3 share one Sync");
    node.handle(Instant::ZERO, Input::Persisted { seq: last.unwrap() });
    let (syncs, acked, _) = drain(&mut node);
    assert_eq!(acked, [2, 3]);
    assert!(syncs.is_empty());
}
