//! Shared helpers for the tree tests.
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::client::{
    Acl, CheckVersionRequest, CreateKind, CreateRequest, DeleteRequest, ErrorCode, Id, Request,
    SetDataRequest,
};
use crate::codec::TxnHeader;
use crate::ids::Zxid;

pub(crate) fn open() -> Vec<Acl> {
    vec![Acl::open_unsafe()]
}

pub(crate) fn create(path: &str, data: &[u8], flags: i32) -> Request {
    Request::Create(create_req(CreateKind::Create, path, data, flags))
}

pub(crate) fn create_req(kind: CreateKind, path: &str, data: &[u8], flags: i32) -> CreateRequest {
    CreateRequest {
        kind,
        path: path.into(),
        data: Some(data.to_vec()),
        acl: open(),
        flags,
    }
}

pub(crate) fn delete(path: &str, version: i32) -> Request {
    Request::Delete(DeleteRequest {
        path: path.into(),
        version,
    })
}

pub(crate) fn set_data(path: &str, data: &[u8], version: i32) -> Request {
    Request::SetData(SetDataRequest {
        path: path.into(),
        data: Some(data.to_vec()),
        version,
    })
}

pub(crate) fn check(path: &str, version: i32) -> Request {
    Request::Check(CheckVersionRequest {
        path: path.into(),
        version,
    })
}

pub(crate) fn header(zxid: u64, session_id: i64, kind: i32, time_ms: i64) -> TxnHeader {
    TxnHeader {
        zxid: Zxid(zxid),
        session_id,
        cxid: 0,
        time_ms,
        kind,
    }
}

/// A leader + replica in one: prep then apply immediately (or later, for pipelining).
pub(crate) struct Harness {
    pub(crate) tree: DataTree,
    pub(crate) pending: PendingChanges,
    pub(crate) zxid: u64,
    pub(crate) time: i64,
    pub(crate) log: Vec<(crate::codec::TxnHeader, ZkTxn)>,
    pub(crate) extended_types: bool,
    pub(crate) super_digest: Option<String>,
}

impl Harness {
    pub(crate) fn new() -> Harness {
        Harness {
            tree: DataTree::new(),
            pending: PendingChanges::new(),
            zxid: 0x1_0000_0000,
            time: 1_000,
            log: Vec::new(),
            extended_types: true,
            super_digest: None,
        }
    }

    /// Preps only; returns the header and txn (not applied).
    pub(crate) fn prep_as(
        &mut self,
        session: i64,
        auth: &[Id],
        req: &Request,
    ) -> Result<(TxnHeader, ZkTxn), ErrorCode> {
        self.zxid += 1;
        self.time += 10;
        let mut ctx = PrepCtx::new(session, auth, Zxid(self.zxid), self.time);
        ctx.extended_types = self.extended_types;
        ctx.super_digest = self.super_digest.as_deref();
        let txn = prep(req, &ctx, &self.tree, &mut self.pending)?;
        Ok((header(self.zxid, session, txn.kind(), self.time), txn))
    }

    pub(crate) fn apply(&mut self, h: &TxnHeader, txn: &ZkTxn) -> Applied {
        let a = self.tree.apply_txn(h, txn);
        self.pending.applied(h.zxid);
        self.log.push((*h, txn.clone()));
        a
    }

    pub(crate) fn run_as(&mut self, session: i64, auth: &[Id], req: &Request) -> Applied {
        let (h, txn) = self.prep_as(session, auth, req).expect("prep");
        self.apply(&h, &txn)
    }

    pub(crate) fn run(&mut self, req: &Request) -> Applied {
        self.run_as(1, &[], req)
    }

    pub(crate) fn ok(&mut self, req: &Request) -> TxnResult {
        let r = self.run(req).result;
        assert!(!matches!(r, TxnResult::Error(_)), "{req:?} -> {r:?}");
        r
    }

    pub(crate) fn err(&mut self, req: &Request) -> ErrorCode {
        self.err_as(1, &[], req)
    }

    pub(crate) fn err_as(&mut self, session: i64, auth: &[Id], req: &Request) -> ErrorCode {
        match self.run_as(session, auth, req).result {
            TxnResult::Error(e) => e,
            r => panic!("{req:?} succeeded: {r:?}"),
        }
    }

    pub(crate) fn stat(&self, path: &str) -> crate::client::Stat {
        self.tree.node(path).expect(path).stat()
    }
}

/// One node in a canonical dump.
pub(crate) type Dumped = (
    String,
    Option<Vec<u8>>,
    Vec<Acl>,
    StatPersisted,
    Vec<String>,
);

/// A canonical dump of the tree for equality checks (ACLs resolved); checks on the way that
/// every node's child count equals the children the map holds under it. In path order.
pub(crate) fn dump(t: &DataTree) -> Vec<Dumped> {
    let mut out = t
        .nodes()
        .map(|(p, n)| {
            let children = t.children(p);
            assert_eq!(
                n.num_children() as usize,
                children.len(),
                "{p}: {children:?}"
            );
            (
                String::from(p),
                n.data.map(<[u8]>::to_vec),
                n.acl.to_vec(),
                n.stat,
                children,
            )
        })
        .collect::<Vec<Dumped>>();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
