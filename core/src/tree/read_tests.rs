//! Reads: results, ACL checks per op, getACL masking, multiRead.
use alloc::string::{String, ToString};
use alloc::vec;

use super::test_util::*;
use super::*;
use crate::client::{
    perms, Acl, CreateKind, CreateRequest, ErrorCode, Id, MultiReadOp, MultiResult, Request,
    Response,
};

fn ctx<'a>(session: i64, auth: &'a [Id]) -> ReadCtx<'a> {
    ReadCtx {
        session_id: session,
        caller: Caller {
            auth,
            super_digest: None,
        },
        static_config: None,
    }
}

#[test]
fn reads_with_acls() {
    let mut h = Harness::new();
    let bob = [Id {
        scheme: "digest".into(),
        id: digest_id("bob:pw"),
    }];
    let reader = [Id {
        scheme: "ip".into(),
        id: "10.0.0.1".into(),
    }];
    h.ok(&create("/a", b"data", 0));
    h.ok(&create("/a/b", b"", 0));
    h.ok(&create("/a/b/c", b"", 0));
    h.run_as(4, &[], &create("/a/e", b"", 1));
    h.ok(&Request::Create(CreateRequest {
        kind: CreateKind::Create,
        path: "/s".into(),
        data: None,
        acl: vec![
            Acl {
                perms: perms::ADMIN,
                id: bob[0].clone(),
            },
            Acl {
                perms: perms::READ,
                id: Id {
                    scheme: "ip".into(),
                    id: "10.0.0.0/8".into(),
                },
            },
        ],
        flags: 0,
    }));
    let anon = ctx(1, &[]);
    let r = |req: &Request, c: &ReadCtx<'_>| read(req, c, &h.tree);
    let exists = |p: &str| Request::Exists {
        path: p.into(),
        watch: true,
    };
    let get = |p: &str| Request::GetData {
        path: p.into(),
        watch: false,
    };
    assert!(matches!(r(&exists("/a"), &anon), Ok(Response::Stat(s)) if s.num_children == 2));
    assert_eq!(r(&exists("/zz"), &anon), Err(ErrorCode::NoNode));
    assert_eq!(r(&exists("/a\0"), &anon), Err(ErrorCode::BadArguments));
    // exists answers the stat without READ, as ZooKeeper 3.8 does (issue 17).
    assert!(r(&exists("/s"), &anon).is_ok());
    assert!(r(&exists("/s"), &ctx(1, &reader)).is_ok());
    assert!(
        matches!(r(&get("/a"), &anon), Ok(Response::GetData { data: Some(d), .. }) if d == b"data")
    );
    assert_eq!(r(&get("/s"), &anon), Err(ErrorCode::NoAuth));
    assert!(matches!(
        r(&get("/s"), &ctx(1, &reader)),
        Ok(Response::GetData { data: None, .. })
    ));
    assert_eq!(r(&get("bad"), &anon), Err(ErrorCode::NoNode));
    assert_eq!(
        r(
            &Request::GetChildren {
                path: "/a".into(),
                watch: false
            },
            &anon
        ),
        Ok(Response::GetChildren {
            children: vec!["b".into(), "e".into()]
        })
    );
    assert!(
        matches!(r(&Request::GetChildren2 { path: "/a".into(), watch: false }, &anon), Ok(Response::GetChildren2 { stat, .. }) if stat.cversion == 2)
    );
    assert_eq!(
        r(
            &Request::GetChildren {
                path: "/s".into(),
                watch: false
            },
            &anon
        ),
        Err(ErrorCode::NoAuth)
    );
    assert_eq!(
        r(&Request::GetAllChildrenNumber { path: "/a".into() }, &anon),
        Ok(Response::GetAllChildrenNumber { total: 3 })
    );
    assert_eq!(
        r(&Request::GetAllChildrenNumber { path: "/".into() }, &anon),
        Ok(Response::GetAllChildrenNumber {
            total: 3 + 5 + 1 - 1
        })
    );
    // getACL: READ or ADMIN; digests masked without ADMIN.
    assert_eq!(
        r(&Request::GetAcl { path: "/s".into() }, &anon),
        Err(ErrorCode::NoAuth)
    );
    let Ok(Response::GetAcl { acl, .. }) =
        r(&Request::GetAcl { path: "/s".into() }, &ctx(1, &reader))
    else {
        panic!()
    };
    assert_eq!(acl[0].id.id, "bob:x");
    let Ok(Response::GetAcl { acl, .. }) = r(&Request::GetAcl { path: "/s".into() }, &ctx(1, &bob))
    else {
        panic!()
    };
    assert_eq!(acl[0].id.id, bob[0].id);
    // getEphemerals: own session, raw prefix match.
    assert_eq!(
        r(&Request::GetEphemerals { prefix: "/".into() }, &ctx(4, &[])),
        Ok(Response::GetEphemerals {
            paths: vec!["/a/e".into()]
        })
    );
    assert_eq!(
        r(
            &Request::GetEphemerals {
                prefix: "/a/".into()
            },
            &ctx(4, &[])
        ),
        Ok(Response::GetEphemerals {
            paths: vec!["/a/e".into()]
        })
    );
    assert_eq!(
        r(
            &Request::GetEphemerals {
                prefix: "/b".into()
            },
            &ctx(4, &[])
        ),
        Ok(Response::GetEphemerals { paths: vec![] })
    );
    assert_eq!(
        r(&Request::GetEphemerals { prefix: "".into() }, &anon),
        Ok(Response::GetEphemerals { paths: vec![] })
    );
    // multiRead: independent entries.
    let mr = Request::MultiRead(vec![
        MultiReadOp::GetData {
            path: "/a/b".into(),
            watch: false,
        },
        MultiReadOp::GetChildren {
            path: "/nope".into(),
            watch: false,
        },
        MultiReadOp::GetData {
            path: "/s".into(),
            watch: false,
        },
        MultiReadOp::GetChildren {
            path: "/a/b".into(),
            watch: false,
        },
    ]);
    let Ok(Response::Multi(rs)) = r(&mr, &anon) else {
        panic!()
    };
    assert!(matches!(rs[0], MultiResult::GetData { .. }));
    assert_eq!(rs[1], MultiResult::Error(ErrorCode::NoNode));
    assert_eq!(rs[2], MultiResult::Error(ErrorCode::NoAuth));
    assert_eq!(
        rs[3],
        MultiResult::GetChildren {
            children: vec!["c".into()]
        }
    );
    assert_eq!(r(&Request::Ping, &anon), Err(ErrorCode::Unimplemented));
}

/// Differential run against ZooKeeper 3.8.0: its root sits under both `""` and `/` and reads
/// do not validate paths, so a read of the empty path reads the root (NONODE before).
#[test]
fn the_empty_path_reads_the_root() {
    let mut h = Harness::new();
    h.ok(&create("/a", b"x", 0));
    h.ok(&create("/a/b", b"", 0));
    let read = |req: &Request| read(req, &ctx(1, &[]), &h.tree);
    let root = read(&Request::GetData {
        path: "/".into(),
        watch: false,
    });
    assert_eq!(
        read(&Request::GetData {
            path: String::new(),
            watch: false
        }),
        root
    );
    assert!(matches!(
        read(&Request::GetChildren {
            path: String::new(),
            watch: false
        }),
        Ok(Response::GetChildren { ref children }) if children.contains(&"a".to_string())
    ));
    assert!(read(&Request::Exists {
        path: String::new(),
        watch: false
    })
    .is_ok());
    let total = |path: &str| match read(&Request::GetAllChildrenNumber { path: path.into() }) {
        Ok(Response::GetAllChildrenNumber { total }) => total,
        r => panic!("{r:?}"),
    };
    assert_eq!(total(""), total("/") + 1);
    assert_eq!(
        read(&Request::GetData {
            path: "a".into(),
            watch: false
        }),
        Err(ErrorCode::NoNode)
    );
}

/// Before any reconfig, `/zookeeper/config` shows the files' membership, with the same
/// length in every stat a read returns (review of the reconfig change: exists said 0).
#[test]
fn the_config_node_shows_the_files_membership_in_every_read() {
    let tree = DataTree::new();
    let text = "server.1=127.0.0.1:2888:3888:participant\nversion=0";
    let ctx = ReadCtx {
        static_config: Some(text),
        ..ctx(0, &[])
    };
    let get = Request::GetData {
        path: "/zookeeper/config".into(),
        watch: false,
    };
    let Ok(Response::GetData { data, stat }) = read(&get, &ctx, &tree) else {
        panic!("getData /zookeeper/config failed");
    };
    assert_eq!(data.as_deref(), Some(text.as_bytes()));
    assert_eq!(stat.data_length, text.len() as i32);
    let exists = Request::Exists {
        path: "/zookeeper/config".into(),
        watch: false,
    };
    assert_eq!(read(&exists, &ctx, &tree), Ok(Response::Stat(stat)));
    let kids = Request::GetChildren2 {
        path: "/zookeeper/config".into(),
        watch: false,
    };
    assert_eq!(
        read(&kids, &ctx, &tree),
        Ok(Response::GetChildren2 {
            children: vec![],
            stat
        })
    );
}
