//! Data tree throughput: txns applied per second (create + setData mix) and prep + apply.
//!
//! `cargo bench -p conclave-core --bench tree`

use conclave_core::client::{Acl, CreateKind, CreateRequest, Request, SetDataRequest};
use conclave_core::codec::TxnHeader;
use conclave_core::tree::{prep, CreateTxn, DataTree, PendingChanges, PrepCtx, ZkTxn};
use conclave_core::StateMachine;
use conclave_core::Zxid;
use divan::counter::ItemsCount;
use divan::{black_box, Bencher};

fn main() {
    divan::main();
}

const TXNS: usize = 10_000;

fn header(z: u64, kind: i32) -> TxnHeader {
    TxnHeader {
        zxid: Zxid(z),
        session_id: 1,
        cxid: 0,
        time_ms: 1_700_000_000_000,
        kind,
    }
}

/// Half creates of `/n<i>`, half setData on an earlier node.
fn txns() -> Vec<(TxnHeader, ZkTxn)> {
    (0..TXNS)
        .map(|i| {
            let z = i as u64 + 1;
            let t = if i % 2 == 0 {
                ZkTxn::Create(CreateTxn {
                    path: format!("/n{i}"),
                    data: Some(vec![0xA5; 64]),
                    acl: vec![Acl::open_unsafe()],
                    ephemeral_owner: 0,
                    parent_cversion: (i / 2 + 1) as i32,
                    with_stat: false,
                })
            } else {
                ZkTxn::SetData {
                    path: format!("/n{}", i - 1),
                    data: Some(vec![0x5A; 64]),
                    version: 1,
                }
            };
            (header(z, t.kind()), t)
        })
        .collect()
}

#[divan::bench]
fn apply(bencher: Bencher) {
    let log = txns();
    bencher
        .counter(ItemsCount::new(TXNS))
        .with_inputs(DataTree::new)
        .bench_local_values(|mut tree| {
            for (h, t) in &log {
                black_box(tree.apply_txn(h, t));
            }
            tree
        });
}

/// The same txns applied from their encoded bodies, as every member applies them (creates
/// read in place, the rest decoded).
#[divan::bench]
fn apply_bodies(bencher: Bencher) {
    let log: Vec<(TxnHeader, Vec<u8>)> = txns().into_iter().map(|(h, t)| (h, t.encode())).collect();
    bencher
        .counter(ItemsCount::new(TXNS))
        .with_inputs(DataTree::new)
        .bench_local_values(|mut tree| {
            for (h, body) in &log {
                black_box(StateMachine::apply(&mut tree, h, body));
            }
            tree
        });
}

/// Preps and applies `requests` as the leader does, the first at zxid `first`.
fn prep_apply_all(
    requests: &[Request],
    first: u64,
    mut tree: DataTree,
    mut pending: PendingChanges,
) -> (DataTree, PendingChanges) {
    for (i, r) in requests.iter().enumerate() {
        let z = Zxid(i as u64 + first);
        let ctx = PrepCtx::new(1, &[], z, 1_700_000_000_000);
        let Ok(t) = prep(r, &ctx, &tree, &mut pending) else {
            continue;
        };
        black_box(tree.apply_txn(&header(z.0, t.kind()), &t));
        pending.applied(z);
    }
    (tree, pending)
}

#[divan::bench]
fn prep_and_apply(bencher: Bencher) {
    let requests: Vec<Request> = (0..TXNS)
        .map(|i| {
            if i % 2 == 0 {
                Request::Create(CreateRequest {
                    kind: CreateKind::Create,
                    path: format!("/n{i}"),
                    data: Some(vec![0xA5; 64]),
                    acl: vec![Acl::open_unsafe()],
                    flags: 0,
                })
            } else {
                Request::SetData(SetDataRequest {
                    path: format!("/n{}", i - 1),
                    data: Some(vec![0x5A; 64]),
                    version: -1,
                })
            }
        })
        .collect();
    bencher
        .counter(ItemsCount::new(TXNS))
        .with_inputs(|| (DataTree::new(), PendingChanges::new()))
        .bench_local_values(|(tree, pending)| prep_apply_all(&requests, 1, tree, pending));
}

/// A snapshot of 100 k znodes of 100 B: the member's event loop serialises it between two
/// inputs, so this is how long a snapshot holds up that member's requests.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn snapshot_100k_znodes(bencher: Bencher) {
    let mut tree = DataTree::new();
    for i in 0..100_000u64 {
        let t = ZkTxn::Create(CreateTxn {
            path: format!("/bench/c/w{}-{i}", i % 256),
            data: Some(vec![0xA5; 100]),
            acl: vec![Acl::open_unsafe()],
            ephemeral_owner: 0,
            parent_cversion: (i + 1) as i32,
            with_stat: false,
        });
        if i == 0 {
            for p in ["/bench", "/bench/c"] {
                let parent = ZkTxn::Create(CreateTxn {
                    path: p.into(),
                    data: None,
                    acl: vec![Acl::open_unsafe()],
                    ephemeral_owner: 0,
                    parent_cversion: 1,
                    with_stat: false,
                });
                tree.apply_txn(&header(0, parent.kind()), &parent);
            }
        }
        tree.apply_txn(&header(i + 1, t.kind()), &t);
    }
    bencher
        .counter(ItemsCount::new(100_000usize))
        .bench_local(|| black_box(tree.encode_snapshot()).len());
}

/// 100 k creates under one parent, prepped and applied as the leader does (bench's
/// create-many): what a create costs a member beyond the network and the disk.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn create_100k_under_one_parent(bencher: Bencher) {
    let requests: Vec<Request> = (0..100_000u64)
        .map(|i| {
            Request::Create(CreateRequest {
                kind: CreateKind::Create,
                path: format!("/c/w{}-{}", i % 256, i / 256),
                data: Some(vec![0xA5; 100]),
                acl: vec![Acl::open_unsafe()],
                flags: 0,
            })
        })
        .collect();
    let setup = || {
        let mut tree = DataTree::new();
        let parent = ZkTxn::Create(CreateTxn {
            path: "/c".into(),
            data: None,
            acl: vec![Acl::open_unsafe()],
            ephemeral_owner: 0,
            parent_cversion: 1,
            with_stat: false,
        });
        tree.apply_txn(&header(1, parent.kind()), &parent);
        (tree, PendingChanges::new())
    };
    bencher
        .counter(ItemsCount::new(requests.len()))
        .with_inputs(setup)
        .bench_local_values(|(tree, pending)| prep_apply_all(&requests, 2, tree, pending));
}
