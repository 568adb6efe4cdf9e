//! Model test: random request sequences (several sessions, ACLs, pipelined batches) through
//! prep + apply against a plain reference model of ZooKeeper's semantics.
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

use super::test_util::*;
use super::*;
use crate::client::{
    perms, Acl, CreateKind, CreateRequest, DeleteRequest, ErrorCode, Id, MultiOp, Request,
    SetDataRequest,
};

const PATHS: [&str; 6] = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z"];
const SESSIONS: [i64; 3] = [
    0x0100_0000_0000_0001,
    0x0100_0000_0000_0002,
    0x0100_0000_0000_0003,
];

fn bob() -> Id {
    Id {
        scheme: "digest".into(),
        id: digest_id("bob:pw"),
    }
}

fn acl_for(locked: bool) -> Vec<Acl> {
    if locked {
        vec![Acl {
            perms: perms::ALL,
            id: bob(),
        }]
    } else {
        vec![Acl::open_unsafe()]
    }
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        path: usize,
        data: u8,
        eph: bool,
        seq: bool,
        locked: bool,
    },
    Delete {
        path: usize,
        version: Option<i32>,
    },
    SetData {
        path: usize,
        data: u8,
        version: Option<i32>,
    },
    SetAcl {
        path: usize,
        locked: bool,
        version: Option<i32>,
    },
}

#[derive(Clone, Debug)]
enum Step {
    Write { session: usize, op: Op },
    Multi { session: usize, ops: Vec<Op> },
    Close { session: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PATHS.len();
    let v = proptest::option::of(0..3i32);
    prop_oneof![
        3 => (p.clone(), any::<u8>(), any::<bool>(), proptest::bool::weighted(0.2), proptest::bool::weighted(0.2))
            .prop_map(|(path, data, eph, seq, locked)| Op::Create { path, data, eph, seq, locked }),
        1 => (p.clone(), v.clone()).prop_map(|(path, version)| Op::Delete { path, version }),
        2 => (p.clone(), any::<u8>(), v.clone()).prop_map(|(path, data, version)| Op::SetData { path, data, version }),
        1 => (p, any::<bool>(), v).prop_map(|(path, locked, version)| Op::SetAcl { path, locked, version }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0..3usize, op()).prop_map(|(session, op)| Step::Write { session, op }),
        2 => (0..3usize, proptest::collection::vec(op(), 1..4)).prop_map(|(session, ops)| Step::Multi { session, ops }),
        1 => (0..3usize).prop_map(|session| Step::Close { session }),
    ]
}

fn request(op: &Op) -> MultiOp {
    match *op {
        Op::Create {
            path,
            data,
            eph,
            seq,
            locked,
        } => MultiOp::Create(CreateRequest {
            kind: CreateKind::Create,
            path: PATHS[path].into(),
            data: Some(vec![data]),
            acl: acl_for(locked),
            flags: i32::from(eph) | (i32::from(seq) << 1),
        }),
        Op::Delete { path, version } => MultiOp::Delete(DeleteRequest {
            path: PATHS[path].into(),
            version: version.unwrap_or(-1),
        }),
        Op::SetData {
            path,
            data,
            version,
        } => MultiOp::SetData(SetDataRequest {
            path: PATHS[path].into(),
            data: Some(vec![data]),
            version: version.unwrap_or(-1),
        }),
        // setACL is not a multi op; handled by `single`.
        Op::SetAcl { .. } => unreachable!(),
    }
}

fn single(op: &Op) -> Request {
    match *op {
        Op::SetAcl {
            path,
            locked,
            version,
        } => Request::SetAcl {
            path: PATHS[path].into(),
            acl: acl_for(locked),
            version: version.unwrap_or(-1),
        },
        _ => match request(op) {
            MultiOp::Create(c) => Request::Create(c),
            MultiOp::Delete(d) => Request::Delete(d),
            MultiOp::SetData(s) => Request::SetData(s),
            _ => unreachable!(),
        },
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MNode {
    data: Vec<u8>,
    version: i32,
    aversion: i32,
    cversion: i32,
    owner: i64,
    locked: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Out {
    Err(ErrorCode),
    Created(String),
    Done,
    Multi(Vec<Out>),
}

#[derive(Clone, Default)]
struct Model {
    nodes: BTreeMap<String, MNode>,
}

fn parent_of(p: &str) -> String {
    String::from(path::parent(p).unwrap_or("/"))
}

impl Model {
    fn node(&self, p: &str) -> Option<&MNode> {
        self.nodes.get(p)
    }
    fn locked_for(&self, p: &str, is_bob: bool) -> bool {
        self.node(p).is_some_and(|n| n.locked) && !is_bob
    }
    fn has_children(&self, p: &str) -> bool {
        self.nodes.keys().any(|k| path::parent(k) == Some(p))
    }
    fn version_ok(cur: i32, v: Option<i32>) -> bool {
        v.is_none_or(|v| v == cur)
    }

    fn apply(&mut self, op: &Op, session: i64, is_bob: bool) -> Out {
        use ErrorCode::{
            BadVersion, NoAuth, NoChildrenForEphemerals, NoNode, NodeExists, NotEmpty,
        };
        let r: Result<Out, ErrorCode> = (|| match *op {
            Op::Create {
                path,
                data,
                eph,
                seq,
                locked,
            } => {
                let p = PATHS[path];
                let parent = parent_of(p);
                let pn = self.node(&parent).cloned().ok_or(NoNode)?;
                if self.locked_for(&parent, is_bob) {
                    return Err(NoAuth);
                }
                let full = if seq {
                    alloc::format!("{p}{:010}", pn.cversion)
                } else {
                    p.into()
                };
                if self.nodes.contains_key(&full) {
                    return Err(NodeExists);
                }
                if pn.owner != 0 {
                    return Err(NoChildrenForEphemerals);
                }
                self.nodes.get_mut(&parent).unwrap().cversion += 1;
                self.nodes.insert(
                    full.clone(),
                    MNode {
                        data: vec![data],
                        version: 0,
                        aversion: 0,
                        cversion: 0,
                        owner: if eph { session } else { 0 },
                        locked,
                    },
                );
                Ok(Out::Created(full))
            }
            Op::Delete { path, version } => {
                let p = PATHS[path];
                let parent = parent_of(p);
                self.node(&parent).ok_or(NoNode)?;
                if self.locked_for(&parent, is_bob) {
                    return Err(NoAuth);
                }
                let n = self.node(p).ok_or(NoNode)?;
                if !Self::version_ok(n.version, version) {
                    return Err(BadVersion);
                }
                if self.has_children(p) {
                    return Err(NotEmpty);
                }
                self.nodes.remove(p);
                Ok(Out::Done)
            }
            Op::SetData {
                path,
                data,
                version,
            } => {
                let p = PATHS[path];
                let n = self.node(p).ok_or(NoNode)?;
                if self.locked_for(p, is_bob) {
                    return Err(NoAuth);
                }
                if !Self::version_ok(n.version, version) {
                    return Err(BadVersion);
                }
                let n = self.nodes.get_mut(p).unwrap();
                n.version += 1;
                n.data = vec![data];
                Ok(Out::Done)
            }
            Op::SetAcl {
                path,
                locked,
                version,
            } => {
                let p = PATHS[path];
                let n = self.node(p).ok_or(NoNode)?;
                if self.locked_for(p, is_bob) {
                    return Err(NoAuth);
                }
                if !Self::version_ok(n.aversion, version) {
                    return Err(BadVersion);
                }
                let n = self.nodes.get_mut(p).unwrap();
                n.aversion += 1;
                n.locked = locked;
                Ok(Out::Done)
            }
        })();
        r.unwrap_or_else(Out::Err)
    }
}

fn summarize(r: &TxnResult) -> Out {
    match r {
        TxnResult::Error(e) => Out::Err(*e),
        TxnResult::Create { path, .. } => Out::Created(path.clone()),
        TxnResult::Multi(rs) => Out::Multi(
            rs.iter()
                .map(|s| match s {
                    SubResult::Error(e) => Out::Err(*e),
                    SubResult::Create { path, .. } => Out::Created(path.clone()),
                    _ => Out::Done,
                })
                .collect(),
        ),
        _ => Out::Done,
    }
}

fn run(steps: &[(Step, bool)]) {
    let mut h = Harness::new();
    let mut model = Model::default();
    model.nodes.insert(
        "/".into(),
        MNode {
            data: vec![],
            version: 0,
            aversion: 0,
            cversion: 0,
            owner: 0,
            locked: false,
        },
    );
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    let bob_auth = [bob()];
    for (step, flush) in steps {
        let (session, req) = match step {
            Step::Write { session, op } => (*session, single(op)),
            Step::Multi { session, ops } => {
                let ops: Vec<Op> = ops
                    .iter()
                    .filter(|o| !matches!(o, Op::SetAcl { .. }))
                    .cloned()
                    .collect();
                (*session, Request::Multi(ops.iter().map(request).collect()))
            }
            Step::Close { session } => (*session, Request::CloseSession),
        };
        let sid = SESSIONS[session];
        let is_bob = session == 2;
        let auth: &[Id] = if is_bob { &bob_auth } else { &[] };
        // Model.
        let out = match step {
            Step::Write { op, .. } => model.apply(op, sid, is_bob),
            Step::Multi { ops, .. } => {
                let ops: Vec<&Op> = ops
                    .iter()
                    .filter(|o| !matches!(o, Op::SetAcl { .. }))
                    .collect();
                let saved = model.clone();
                let mut outs = Vec::new();
                let mut failed = None;
                for (i, o) in ops.iter().enumerate() {
                    match model.apply(o, sid, is_bob) {
                        Out::Err(e) => {
                            failed = Some((i, e));
                            break;
                        }
                        x => outs.push(x),
                    }
                }
                match failed {
                    None => Out::Multi(outs),
                    Some((i, e)) => {
                        model = saved;
                        Out::Multi(
                            (0..ops.len())
                                .map(|j| {
                                    Out::Err(if j < i {
                                        ErrorCode::Ok
                                    } else if j == i {
                                        e
                                    } else {
                                        ErrorCode::RuntimeInconsistency
                                    })
                                })
                                .collect(),
                        )
                    }
                }
            }
            Step::Close { .. } => {
                model.nodes.retain(|_, n| n.owner != sid);
                Out::Done
            }
        };
        expected.push(out);
        batch.push(h.prep_as(sid, auth, &req).unwrap());
        if *flush {
            for (hd, txn) in batch.drain(..) {
                let a = h.apply(&hd, &txn);
                let want = expected.remove(0);
                assert_eq!(summarize(&a.result), want, "{txn:?}");
            }
        }
    }
    for (hd, txn) in batch.drain(..) {
        let a = h.apply(&hd, &txn);
        assert_eq!(summarize(&a.result), expected.remove(0), "{txn:?}");
    }
    assert!(h.pending.is_empty());
    let got: BTreeMap<String, MNode> = h
        .tree
        .nodes()
        .filter(|(p, _)| !p.starts_with("/zookeeper"))
        .map(|(p, n)| {
            let cversion = n.stat.cversion;
            (
                String::from(p),
                MNode {
                    data: n.data.unwrap_or_default().to_vec(),
                    version: n.stat.version,
                    aversion: n.stat.aversion,
                    cversion,
                    owner: n.stat.ephemeral_owner,
                    locked: n.acl.iter().any(|a| a.id.scheme == "digest"),
                },
            )
        })
        .collect();
    assert_eq!(got, model.nodes);
    assert_eq!(h.tree.digest(), h.tree.recompute_digest());
    // The running totals the metrics read equal a full walk.
    let walk = |t: &DataTree| -> (u64, u64) {
        let size = t
            .nodes()
            .map(|(p, n)| p.len() as u64 + n.data.as_ref().map_or(0, |d| d.len() as u64))
            .sum();
        let eph = t.ephemerals.values().map(|s| s.len() as u64).sum();
        (size, eph)
    };
    let totals = |t: &DataTree| (t.approximate_data_size(), t.ephemerals_count());
    assert_eq!(totals(&h.tree), walk(&h.tree));
    // Snapshot round trip.
    let restored = DataTree::decode_snapshot(&h.tree.encode_snapshot()).unwrap();
    assert_eq!(dump(&restored), dump(&h.tree));
    assert_eq!(restored.digest(), h.tree.digest());
    assert_eq!(totals(&restored), walk(&h.tree));
    // Idempotent replay: every txn applied twice in a row gives the same tree and digest.
    let mut replayed = DataTree::new();
    for (hd, txn) in &h.log {
        replayed.apply_txn(hd, txn);
        replayed.apply_txn(hd, txn);
    }
    assert_eq!(dump(&replayed), dump(&h.tree));
    assert_eq!(replayed.digest(), h.tree.digest());
    assert_eq!(totals(&replayed), walk(&h.tree));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn prep_apply_matches_the_model(steps in proptest::collection::vec((step(), proptest::bool::weighted(0.6)), 1..60)) {
        run(&steps);
    }
}
