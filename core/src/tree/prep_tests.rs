//! prep: create modes, the §4.5 check order, version checks, multi, pipelining.
use alloc::vec;

use super::test_util::*;
use super::*;
use crate::client::{
    perms, Acl, CreateKind, CreateRequest, CreateTtlRequest, ErrorCode, Id, MultiOp, Request,
};

fn digest_acl(perm: i32, id: &str) -> Vec<Acl> {
    vec![Acl {
        perms: perm,
        id: Id {
            scheme: "digest".into(),
            id: id.into(),
        },
    }]
}
use alloc::vec::Vec;

fn ttl(flags: i32, ttl: i64) -> Request {
    Request::CreateTtl(CreateTtlRequest {
        path: "/t".into(),
        data: None,
        acl: open(),
        flags,
        ttl,
    })
}

#[test]
fn create_mode_errors() {
    let mut h = Harness::new();
    assert_eq!(h.err(&create("/a", b"", 7)), ErrorCode::BadArguments);
    assert_eq!(h.err(&create("/a", b"", -1)), ErrorCode::BadArguments);
    // TTL only via createTTL: a plain create has no TTL (BADARGUMENTS with extended types,
    // UNIMPLEMENTED without, below). Checked against ZooKeeper 3.8.0.
    assert_eq!(h.err(&create("/a", b"", 5)), ErrorCode::BadArguments);
    assert_eq!(h.err(&create("/a", b"", 6)), ErrorCode::BadArguments);
    assert_eq!(h.err(&ttl(0, 10)), ErrorCode::BadArguments);
    assert_eq!(h.err(&ttl(5, 0)), ErrorCode::BadArguments);
    assert_eq!(h.err(&ttl(6, 0x100_0000_0000)), ErrorCode::BadArguments);
    assert!(
        matches!(h.ok(&ttl(6, 0xFF_FFFF_FFFF)), TxnResult::Create { ref path, .. } if path == "/t0000000000")
    );
    h.extended_types = false;
    assert_eq!(h.err(&ttl(5, 10)), ErrorCode::Unimplemented);
    assert_eq!(h.err(&create("/a", b"", 5)), ErrorCode::Unimplemented);
    assert_eq!(h.err(&create("/a", b"", 6)), ErrorCode::Unimplemented);
    h.extended_types = true;
    // Flag 4 through a plain create makes a persistent node, not a container: ZooKeeper 3.8
    // logs a plain CreateTxn, which has no container marker (issue 17's differential run).
    assert!(matches!(
        h.ok(&create("/c4", b"", 4)),
        TxnResult::Create { ref path, .. } if path == "/c4"
    ));
    // Ephemeral needs a real session.
    assert_eq!(
        h.err_as(0, &[], &create("/e", b"", 1)),
        ErrorCode::BadArguments
    );
    let mut ctx = PrepCtx::new(3, &[], crate::ids::Zxid(99), 0);
    ctx.local_session = true;
    let t = prep(&create("/e", b"", 1), &ctx, &h.tree, &mut h.pending).unwrap();
    assert_eq!(
        t,
        ZkTxn::Error {
            code: ErrorCode::EphemeralOnLocalSession
        }
    );
    // Non-writes are not proposed.
    let r = prep(
        &Request::GetAcl { path: "/".into() },
        &ctx,
        &h.tree,
        &mut h.pending,
    );
    assert_eq!(r, Err(ErrorCode::Unimplemented));
}

#[test]
fn create_check_order() {
    let mut h = Harness::new();
    let alice = [Id {
        scheme: "digest".into(),
        id: digest_id("alice:pw"),
    }];
    // /locked: only alice may do anything.
    h.ok(&Request::Create(crate::client::CreateRequest {
        kind: CreateKind::Create,
        path: "/locked".into(),
        data: None,
        acl: digest_acl(perms::ALL, &alice[0].id),
        flags: 0,
    }));
    h.run_as(5, &[], &create("/eph", b"", 1));
    // A path without a slash beats everything; any other malformed path is checked after
    // the ACL and the parent (ZooKeeper's order, found by the differential run).
    let mut bad = create("missing", b"", 0);
    if let Request::Create(c) = &mut bad {
        c.acl = vec![];
    }
    assert_eq!(h.err(&bad), ErrorCode::BadArguments);
    let mut bad = create("/missing/x/", b"", 0);
    if let Request::Create(c) = &mut bad {
        c.acl = vec![];
    }
    assert_eq!(h.err(&bad), ErrorCode::InvalidAcl);
    // Invalid ACL next (before the parent lookup, as fixupACL runs first).
    let mut no_acl = create("/missing/x", b"", 0);
    if let Request::Create(c) = &mut no_acl {
        c.acl = vec![];
    }
    assert_eq!(h.err(&no_acl), ErrorCode::InvalidAcl);
    // Parent missing.
    assert_eq!(h.err(&create("/missing/x", b"", 0)), ErrorCode::NoNode);
    // ACL on the parent, before existence.
    assert_eq!(h.err(&create("/locked", b"", 0)), ErrorCode::NodeExists);
    assert_eq!(h.err(&create("/locked/x", b"", 0)), ErrorCode::NoAuth);
    h.run_as(1, &alice, &create("/locked/x", b"", 0));
    assert_eq!(
        h.err_as(1, &[], &create("/locked/x", b"", 0)),
        ErrorCode::NoAuth
    );
    assert_eq!(
        h.err_as(1, &alice, &create("/locked/x", b"", 0)),
        ErrorCode::NodeExists
    );
    // Ephemeral parent last.
    assert_eq!(
        h.err(&create("/eph/c", b"", 0)),
        ErrorCode::NoChildrenForEphemerals
    );
    assert_eq!(h.err(&create("/", b"", 0)), ErrorCode::NodeExists);
}

#[test]
fn delete_set_data_set_acl_check_order() {
    let mut h = Harness::new();
    let alice = [Id {
        scheme: "digest".into(),
        id: digest_id("alice:pw"),
    }];
    let locked = |path: &str| {
        Request::Create(crate::client::CreateRequest {
            kind: CreateKind::Create,
            path: path.into(),
            data: None,
            acl: digest_acl(perms::ALL, &alice[0].id),
            flags: 0,
        })
    };
    h.ok(&locked("/l"));
    h.run_as(1, &alice, &locked("/l/c"));
    h.run_as(1, &alice, &locked("/l/c/g"));
    // delete: path → special → parent → ACL(parent) → node → version → not empty.
    // A malformed path names no node (NONODE, as ZooKeeper answers) once the parent (what
    // precedes the last slash) was found and let the caller delete; only a path without a
    // slash or with a NUL is BADARGUMENTS.
    assert_eq!(h.err(&delete("/l/", -1)), ErrorCode::NoAuth);
    assert_eq!(h.err(&delete("/l//c", -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&delete("/l/.", -1)), ErrorCode::NoAuth);
    assert_eq!(h.err(&delete("/nope/.", -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&delete("l", -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&delete("/l\0", -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&delete("/", -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&delete("/zookeeper", -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&delete("/nope/x", -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&delete("/l/nope", -1)), ErrorCode::NoAuth);
    assert_eq!(
        h.err_as(1, &alice, &delete("/l/nope", -1)),
        ErrorCode::NoNode
    );
    assert_eq!(
        h.err_as(1, &alice, &delete("/l/c", 3)),
        ErrorCode::BadVersion
    );
    assert_eq!(h.err_as(1, &alice, &delete("/l/c", 0)), ErrorCode::NotEmpty);
    // setData: path → node → ACL → version.
    assert_eq!(h.err(&set_data("bad", b"", -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&set_data("/nope", b"", -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&set_data("/l", b"", 5)), ErrorCode::NoAuth);
    assert_eq!(
        h.err_as(1, &alice, &set_data("/l", b"", 5)),
        ErrorCode::BadVersion
    );
    // setACL: path → ACL validity → node → ADMIN → aversion.
    let set_acl = |p: &str, acl: Vec<Acl>, v: i32| Request::SetAcl {
        path: p.into(),
        acl,
        version: v,
    };
    assert_eq!(h.err(&set_acl("/l/", open(), -1)), ErrorCode::BadArguments);
    assert_eq!(h.err(&set_acl("/nope", vec![], -1)), ErrorCode::InvalidAcl);
    assert_eq!(h.err(&set_acl("/nope", open(), -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&set_acl("/l", open(), 7)), ErrorCode::NoAuth);
    assert_eq!(
        h.err_as(1, &alice, &set_acl("/l", open(), 7)),
        ErrorCode::BadVersion
    );
    assert!(
        matches!(h.run_as(1, &alice, &set_acl("/l", open(), 0)).result, TxnResult::SetAcl { stat } if stat.aversion == 1)
    );
    // check: path → node → READ → version.
    assert_eq!(h.err(&check("/nope", -1)), ErrorCode::NoNode);
    assert_eq!(h.err(&check("/l/c", -1)), ErrorCode::NoAuth);
    assert_eq!(
        h.err_as(1, &alice, &check("/l/c", 1)),
        ErrorCode::BadVersion
    );
    assert!(matches!(
        h.run_as(1, &alice, &check("/l/c", 0)).result,
        TxnResult::Check { .. }
    ));
}

#[test]
fn version_checks_and_wrap() {
    assert_eq!(check_and_inc_version(0, -1), Ok(1));
    assert_eq!(check_and_inc_version(4, 4), Ok(5));
    assert_eq!(check_and_inc_version(4, 3), Err(ErrorCode::BadVersion));
    assert_eq!(check_and_inc_version(i32::MAX, -1), Ok(i32::MIN));
    assert_eq!(check_and_inc_version(-2, -2), Ok(0));
    assert_eq!(check_and_inc_version(-2, -1), Ok(0));
    let mut h = Harness::new();
    h.ok(&create("/v", b"", 0));
    h.tree.update_node("/v", |n| n.stat.version = -2);
    assert!(
        matches!(h.ok(&set_data("/v", b"", -2)), TxnResult::SetData { stat } if stat.version == 0)
    );
}

#[test]
fn multi_all_or_nothing() {
    let mut h = Harness::new();
    h.ok(&create("/x", b"", 0));
    let before = dump(&h.tree);
    let mc = |p: &str| MultiOp::Create(create_req(CreateKind::Create, p, b"", 0));
    let req = Request::Multi(vec![
        mc("/m"),
        MultiOp::SetData(crate::client::SetDataRequest {
            path: "/m".into(),
            data: None,
            version: 0,
        }),
        MultiOp::Delete(crate::client::DeleteRequest {
            path: "/x".into(),
            version: 5,
        }),
        mc("/n"),
    ]);
    let (hd, txn) = h.prep_as(1, &[], &req).unwrap();
    assert_eq!(
        txn,
        ZkTxn::Multi(vec![
            SubTxn::Error {
                code: ErrorCode::Ok
            },
            SubTxn::Error {
                code: ErrorCode::Ok
            },
            SubTxn::Error {
                code: ErrorCode::BadVersion
            },
            SubTxn::Error {
                code: ErrorCode::RuntimeInconsistency
            },
        ])
    );
    assert!(h.pending.is_empty(), "rolled back");
    let a = h.apply(&hd, &txn);
    assert!(a.triggers.is_empty());
    assert_eq!(dump(&h.tree), before);
    let resp = a.result.to_response().unwrap();
    assert_eq!(
        resp,
        crate::client::Response::Multi(vec![
            crate::client::MultiResult::Error(ErrorCode::Ok),
            crate::client::MultiResult::Error(ErrorCode::Ok),
            crate::client::MultiResult::Error(ErrorCode::BadVersion),
            crate::client::MultiResult::Error(ErrorCode::RuntimeInconsistency),
        ])
    );
    // Success: later ops see earlier ones.
    let req = Request::Multi(vec![
        mc("/m"),
        MultiOp::SetData(crate::client::SetDataRequest {
            path: "/m".into(),
            data: None,
            version: 0,
        }),
        MultiOp::Check(crate::client::CheckVersionRequest {
            path: "/m".into(),
            version: 1,
        }),
        MultiOp::Create(create_req(CreateKind::Create2, "/m/s", b"", 2)),
        MultiOp::Create(create_req(CreateKind::Create, "/c", b"", 4)),
        MultiOp::Delete(crate::client::DeleteRequest {
            path: "/x".into(),
            version: 0,
        }),
    ]);
    let a = h.run(&req);
    let TxnResult::Multi(rs) = &a.result else {
        panic!("{:?}", a.result)
    };
    assert!(matches!(&rs[0], SubResult::Create { path, with_stat: false, .. } if path == "/m"));
    assert!(matches!(&rs[1], SubResult::SetData { stat } if stat.version == 1));
    assert_eq!(rs[2], SubResult::Check);
    assert!(
        matches!(&rs[3], SubResult::Create { path, with_stat: false, .. } if path == "/m/s0000000000")
    );
    assert!(matches!(
        &rs[4],
        SubResult::Create {
            with_stat: true,
            ..
        }
    ));
    assert_eq!(h.tree.node("/c").unwrap().kind(), EphemeralType::Container);
    assert_eq!(rs[5], SubResult::Delete);
    assert_eq!(a.triggers.len(), 2 + 1 + 2 + 2 + 2);
}

#[test]
fn pipelined_writes_see_each_other() {
    let mut h = Harness::new();
    let mut batch = Vec::new();
    for req in [
        create("/p", b"", 0),
        create("/p/", b"", 2),
        create("/p/", b"", 2),
        set_data("/p", b"v", 0),
        set_data("/p", b"w", 1),
        delete("/p/0000000000", -1),
        create("/p/0000000000", b"", 0),
        delete("/p", -1),
    ] {
        batch.push(h.prep_as(1, &[], &req).unwrap());
    }
    assert!(matches!(&batch[2].1, ZkTxn::Create(c) if c.path == "/p/0000000001"));
    assert!(matches!(&batch[4].1, ZkTxn::SetData { version: 2, .. }));
    assert!(matches!(
        &batch[7].1,
        ZkTxn::Error {
            code: ErrorCode::NotEmpty
        }
    ));
    assert_eq!(h.pending.len(), 2 + 2 + 2 + 1 + 1 + 2 + 2);
    h.pending.applied(batch[3].0.zxid);
    assert_eq!(h.pending.len(), 5);
    for (hd, t) in &batch {
        let r = h.tree.apply_txn(hd, t);
        if !matches!(t, ZkTxn::Error { .. }) {
            assert!(!matches!(r.result, TxnResult::Error(_)), "{t:?}");
        }
    }
    h.pending.applied(batch[7].0.zxid);
    assert!(h.pending.is_empty());
    assert_eq!(h.stat("/p").cversion, 2 * 3 - 2);
}

/// Found by the model property test's fresh cases (.ci/test's second pass): session 1's
/// ephemeral `/b` is deleted and re-created as a persistent node by session 0 while both
/// changes are still outstanding; session 1's closeSession must not list `/b`, or prep
/// projects a delete that the apply never makes and the next create of `/b` is prepped
/// against a tree that does not exist (NodeExists at apply, parent cversion off by one).
#[test]
fn close_session_skips_an_ephemeral_deleted_and_recreated_by_another_session() {
    let mut h = Harness::new();
    let (hd, t) = h.prep_as(1, &[], &create("/b", b"", 1)).unwrap();
    h.tree.apply_txn(&hd, &t);
    h.pending.applied(hd.zxid);
    let mut batch = Vec::new();
    for (session, req) in [
        (2, delete("/b", -1)),
        (2, create("/b", b"", 0)),
        (1, Request::CloseSession),
        (2, create("/b", b"", 0)),
    ] {
        batch.push(h.prep_as(session, &[], &req).unwrap());
    }
    assert!(
        matches!(&batch[2].1, ZkTxn::CloseSession { ephemerals } if ephemerals.is_empty()),
        "{:?}",
        batch[2].1
    );
    assert!(matches!(
        &batch[3].1,
        ZkTxn::Error {
            code: ErrorCode::NodeExists
        }
    ));
    for (hd, t) in &batch {
        h.tree.apply_txn(hd, t);
    }
    assert_eq!(h.stat("/b").ephemeral_owner, 0);
}

fn owner(h: &Harness, path: &str) -> i64 {
    h.tree.node(path).expect(path).stat.ephemeral_owner
}

/// Differential run against ZooKeeper 3.8.0: createContainer makes a container whatever its
/// flags (BADARGUMENTS before); the flags still add a sequence suffix.
#[test]
fn create_container_ignores_the_container_flag() {
    let mut h = Harness::new();
    let container =
        |path: &str, flags| Request::Create(create_req(CreateKind::Container, path, b"", flags));
    assert!(matches!(
        h.ok(&container("/k", 0)),
        TxnResult::Create {
            with_stat: true,
            ..
        }
    ));
    assert_eq!(owner(&h, "/k"), i64::MIN);
    assert!(matches!(
        h.ok(&container("/s", 2)),
        TxnResult::Create { ref path, .. } if path == "/s0000000001"
    ));
    assert_eq!(owner(&h, "/s0000000001"), i64::MIN);
    assert_eq!(h.err(&container("/b", 7)), ErrorCode::BadArguments);
    // TTL flags without a TTL: BADARGUMENTS, as validateTTL answers.
    assert_eq!(h.err(&container("/t", 5)), ErrorCode::BadArguments);
}

/// Differential run: ZooKeeper refuses before the parent lookup only a path without a slash
/// or with a NUL; a malformed path under a missing parent is NONODE, under an existing one
/// BADARGUMENTS after the parent's ACL check.
#[test]
fn create_checks_the_parent_before_the_path() {
    let mut h = Harness::new();
    h.ok(&create("/a", b"", 0));
    assert_eq!(h.err(&create("a", b"", 0)), ErrorCode::BadArguments);
    assert_eq!(h.err(&create("/a\0b", b"", 0)), ErrorCode::BadArguments);
    assert_eq!(h.err(&create("x/b", b"", 0)), ErrorCode::NoNode);
    assert_eq!(h.err(&create("/x//a", b"", 0)), ErrorCode::NoNode);
    assert_eq!(h.err(&create("/a/../b", b"", 0)), ErrorCode::NoNode);
    assert_eq!(h.err(&create("/a/.", b"", 0)), ErrorCode::BadArguments);
    assert_eq!(h.err(&create("/a/", b"", 0)), ErrorCode::BadArguments);
    // Sequential: the suffix makes `/a/` a valid path.
    assert!(matches!(
        h.ok(&create("/a/", b"", 2)),
        TxnResult::Create { ref path, .. } if path == "/a/0000000000"
    ));
    // The parent's ACL answers before the path's shape.
    h.ok(&Request::Create(CreateRequest {
        acl: vec![Acl {
            perms: perms::READ,
            id: Id::anyone(),
        }],
        ..create_req(CreateKind::Create, "/ro", b"", 0)
    }));
    assert_eq!(h.err(&create("/ro/.", b"", 0)), ErrorCode::NoAuth);
}

/// Differential run: inside a multi, ZooKeeper 3.8 rebuilds each create op from its flags.
#[test]
fn multi_creates_are_typed_by_their_flags() {
    let mut h = Harness::new();
    let multi = |ops: Vec<MultiOp>| Request::Multi(ops);
    let op = |kind, path: &str, flags| MultiOp::Create(create_req(kind, path, b"", flags));
    // Flag 4 through a plain create op: a container, answered with a stat.
    match h.ok(&multi(vec![op(CreateKind::Create, "/m", 4)])) {
        TxnResult::Multi(r) => assert!(matches!(
            r[..],
            [SubResult::Create {
                with_stat: true,
                ..
            }]
        )),
        r => panic!("{r:?}"),
    }
    assert_eq!(owner(&h, "/m"), i64::MIN);
    // create2 and createContainer ops with flag 0: a plain create, answered without a stat.
    match h.ok(&multi(vec![
        op(CreateKind::Create2, "/p", 0),
        op(CreateKind::Container, "/q", 0),
    ])) {
        TxnResult::Multi(r) => assert!(matches!(
            r[..],
            [
                SubResult::Create {
                    with_stat: false,
                    ..
                },
                SubResult::Create {
                    with_stat: false,
                    ..
                }
            ]
        )),
        r => panic!("{r:?}"),
    }
    assert_eq!(owner(&h, "/q"), 0);
    // A createTTL op with a non-TTL flag loses its TTL.
    let ttl_op = |flags, ttl| {
        MultiOp::CreateTtl(CreateTtlRequest {
            path: "/u".into(),
            data: None,
            acl: open(),
            flags,
            ttl,
        })
    };
    h.ok(&multi(vec![ttl_op(0, 5000)]));
    assert_eq!(owner(&h, "/u"), 0);
    // A create op with TTL flags fails the whole request once reached…
    let (_, txn) = h
        .prep_as(
            1,
            &[],
            &multi(vec![
                op(CreateKind::Create, "/v", 0),
                op(CreateKind::Create, "/w", 5),
            ]),
        )
        .unwrap();
    assert_eq!(
        txn,
        ZkTxn::Error {
            code: ErrorCode::MarshallingError
        }
    );
    // …and nothing of it is projected: /v can still be created.
    h.pending = PendingChanges::new();
    h.ok(&create("/v", b"", 0));
    // Not reached after an earlier failure: the usual multi error entries.
    match h
        .run(&multi(vec![
            op(CreateKind::Create, "/v", 0),
            op(CreateKind::Create, "/w", 5),
        ]))
        .result
    {
        TxnResult::Multi(r) => assert_eq!(
            r,
            vec![
                SubResult::Error(ErrorCode::NodeExists),
                SubResult::Error(ErrorCode::RuntimeInconsistency)
            ]
        ),
        r => panic!("{r:?}"),
    }
}

/// Differential run: a createTTL with a non-TTL flag and a negative TTL passes ZooKeeper's
/// validateTTL, gets the usual answers from the later checks, and — when they pass — makes
/// ZooKeeper 3.8.0 log a txn that kills it at apply time. Conclave answers the same checks
/// and BADARGUMENTS instead of the crash, projecting nothing.
#[test]
fn a_create_ttl_without_a_ttl_mode_is_refused_after_the_checks() {
    let mut h = Harness::new();
    let req = |path: &str, flags, ttl| {
        Request::CreateTtl(CreateTtlRequest {
            path: path.into(),
            data: None,
            acl: open(),
            flags,
            ttl,
        })
    };
    assert_eq!(h.err(&req("/none/x", 1, -5)), ErrorCode::NoNode);
    assert_eq!(h.err(&req("/x", 0, 10)), ErrorCode::BadArguments);
    assert_eq!(h.err(&req("/x", 0, -5)), ErrorCode::BadArguments);
    assert!(h.pending.is_empty());
    assert!(h.tree.node("/x").is_none());
    h.ok(&create("/x", b"", 0));
    assert_eq!(h.err(&req("/x", 0, -5)), ErrorCode::NodeExists);
}
