//! Applying committed txns to the tree (`DataTree.processTxn`), with the idempotent replay
//! rules of §3.4 and the watch triggers of §4.8; and `impl StateMachine for DataTree`.

use alloc::string::String;
use alloc::vec::Vec;

use super::create_ref::{CreateTxnRef, NewNode};
use super::data_tree::DataTree;
use super::path;
pub(crate) use super::trigger::{WatchKind, WatchTrigger};
use super::txn::{SubResult, SubTxn, TxnResult, ZkTxn};
use super::znode::{serial_gt, EphemeralType, StatPersisted};
use crate::client::{Acl, ErrorCode, EventType, Stat};
use crate::codec::TxnHeader;
use crate::zab::{ReplicatedState, StateMachine};

/// What applying a txn did: the reply's content and the watches to fire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// What the reply needs.
    pub result: TxnResult,
    /// Watch events, in order.
    pub triggers: Vec<WatchTrigger>,
}

fn trigger(out: &mut Vec<WatchTrigger>, path: &str, event: EventType, kind: WatchKind) {
    out.push(WatchTrigger {
        path: path.into(),
        event,
        kind,
        acl: None,
    });
}

impl DataTree {
    /// Applies one committed txn. Pure function of the tree, header and txn; replaying a txn
    /// already reflected in the tree leaves it unchanged (§3.4).
    pub fn apply_txn(&mut self, header: &TxnHeader, txn: &ZkTxn) -> Applied {
        let zxid = header.zxid.0 as i64;
        let time = header.time_ms;
        let mut triggers = Vec::new();
        let t = &mut triggers;
        let result = match txn {
            ZkTxn::Create(c) => self.create_result(c.into(), c.with_stat, zxid, time, t),
            ZkTxn::Delete { path } => match self.apply_delete(path, zxid, t) {
                Ok(()) => TxnResult::Delete,
                Err(e) => TxnResult::Error(e),
            },
            ZkTxn::SetData {
                path,
                data,
                version,
            } => match self.apply_set_data(path, data, *version, zxid, time, t) {
                Ok(stat) => TxnResult::SetData { stat },
                Err(e) => TxnResult::Error(e),
            },
            ZkTxn::SetAcl { path, acl, version } => match self.apply_set_acl(path, acl, *version) {
                Ok(stat) => TxnResult::SetAcl { stat },
                Err(e) => TxnResult::Error(e),
            },
            ZkTxn::Check { path, .. } => match self.node(path) {
                Some(n) => TxnResult::Check { stat: n.stat() },
                None => TxnResult::Error(ErrorCode::NoNode),
            },
            ZkTxn::Multi(ops) => TxnResult::Multi(self.apply_multi(ops, zxid, time, t)),
            ZkTxn::CreateSession { timeout_ms } => {
                self.put_session(header.session_id, *timeout_ms);
                TxnResult::CreateSession {
                    timeout_ms: *timeout_ms,
                }
            }
            ZkTxn::CloseSession { ephemerals } => TxnResult::CloseSession {
                deleted: self.apply_close_session(header.session_id, ephemerals, zxid, t),
            },
            ZkTxn::Error { code } => TxnResult::Error(*code),
            ZkTxn::Reconfig { data, version } => {
                let new = Some(data.clone());
                match self.apply_set_data(path::CONFIG, &new, *version, zxid, time, t) {
                    Ok(stat) => TxnResult::Reconfig {
                        data: data.clone(),
                        stat,
                    },
                    Err(e) => TxnResult::Error(e),
                }
            }
        };
        self.applied(header, result, triggers)
    }

    /// [`DataTree::apply_txn`] of a create read in place from its body.
    fn apply_create_in_place(&mut self, header: &TxnHeader, c: &CreateTxnRef<'_>) -> Applied {
        let mut triggers = Vec::new();
        let (zxid, time) = (header.zxid.0 as i64, header.time_ms);
        let result = self.create_result(c.into(), c.with_stat, zxid, time, &mut triggers);
        self.applied(header, result, triggers)
    }

    /// The tree has applied the txn of `header`.
    fn applied(
        &mut self,
        header: &TxnHeader,
        result: TxnResult,
        triggers: Vec<WatchTrigger>,
    ) -> Applied {
        if header.zxid > self.last_zxid {
            self.last_zxid = header.zxid;
        }
        Applied { result, triggers }
    }

    /// A create applied, as its reply will read: the path and stat, or why it failed.
    fn create_result(
        &mut self,
        n: NewNode<'_>,
        with_stat: bool,
        zxid: i64,
        time: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> TxnResult {
        match self.apply_create(n, zxid, time, t) {
            Ok(stat) => TxnResult::Create {
                path: n.path.into(),
                stat,
                with_stat,
            },
            Err(e) => TxnResult::Error(e),
        }
    }

    fn apply_create(
        &mut self,
        c: NewNode<'_>,
        zxid: i64,
        time: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> Result<Stat, ErrorCode> {
        let parent = path::parent(c.path).ok_or(ErrorCode::NodeExists)?;
        let new_cversion = c.parent_cversion;
        // A node there already has its parent (the tree keeps no orphans): a replay.
        if self.contains(c.path) {
            // Replay: the node is there already; still raise the parent's cversion/pzxid.
            self.edit_node(parent, None, |s, _| {
                if serial_gt(new_cversion, s.cversion) {
                    s.cversion = new_cversion;
                    s.pzxid = s.pzxid.max(zxid);
                }
            });
            return Err(ErrorCode::NodeExists);
        }
        self.edit_node(parent, None, |s, children| {
            if serial_gt(new_cversion, s.cversion) {
                s.cversion = new_cversion;
            }
            s.pzxid = s.pzxid.max(zxid);
            *children += 1;
        })
        .ok_or(ErrorCode::NoNode)?;
        let stat = self.insert_created(
            c.path,
            c.data,
            c.acl,
            StatPersisted::created(zxid, time, c.ephemeral_owner),
        );
        if self.watched {
            trigger(t, c.path, EventType::NodeCreated, WatchKind::Data);
            trigger(t, parent, EventType::NodeChildrenChanged, WatchKind::Child);
        }
        Ok(stat)
    }

    fn apply_delete(
        &mut self,
        path: &str,
        zxid: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> Result<(), ErrorCode> {
        let parent = path::parent(path).ok_or(ErrorCode::BadArguments)?;
        if !self.contains(parent) {
            return Err(ErrorCode::NoNode);
        }
        let missing = match self.node(path) {
            None => true,
            Some(n) if !n.is_leaf() => return Err(ErrorCode::NotEmpty),
            Some(_) => false,
        };
        // Even a replayed delete of a missing node bumps the parent's pzxid (§3.4).
        self.edit_node(parent, None, |s, children| {
            if !missing {
                *children = children.saturating_sub(1);
            }
            s.pzxid = s.pzxid.max(zxid);
        });
        if missing {
            return Err(ErrorCode::NoNode);
        }
        let acl = self.remove_node(path).map(|node| node.acl);
        if self.watched {
            t.push(WatchTrigger {
                path: path.into(),
                event: EventType::NodeDeleted,
                kind: WatchKind::Both,
                acl,
            });
            trigger(t, parent, EventType::NodeChildrenChanged, WatchKind::Child);
        }
        Ok(())
    }

    fn apply_set_data(
        &mut self,
        path: &str,
        data: &Option<Vec<u8>>,
        version: i32,
        zxid: i64,
        time: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> Result<Stat, ErrorCode> {
        let stat = self
            .edit_node(path, Some(data.as_deref()), |s, _| {
                s.version = version;
                s.mzxid = zxid;
                s.mtime = time;
            })
            .ok_or(ErrorCode::NoNode)?;
        if self.watched {
            trigger(t, path, EventType::NodeDataChanged, WatchKind::Data);
        }
        Ok(stat)
    }

    fn apply_set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ErrorCode> {
        if !self.contains(path) {
            return Err(ErrorCode::NoNode);
        }
        let new = self.intern_acl(acl);
        let stat = self
            .update_node(path, |n| {
                n.acl = new;
                n.stat.aversion = version;
                n.stat()
            })
            .ok_or(ErrorCode::NoNode)?;
        Ok(stat)
    }

    fn apply_multi(
        &mut self,
        ops: &[SubTxn],
        zxid: i64,
        time: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> Vec<SubResult> {
        if ops.iter().any(|o| matches!(o, SubTxn::Error { .. })) {
            // A failed multi changes nothing; its entries are the per-op codes.
            return ops
                .iter()
                .map(|o| match o {
                    SubTxn::Error { code } => SubResult::Error(*code),
                    _ => SubResult::Error(ErrorCode::RuntimeInconsistency),
                })
                .collect();
        }
        ops.iter()
            .map(|op| {
                let r = match op {
                    SubTxn::Create(c) => {
                        self.apply_create(c.into(), zxid, time, t)
                            .map(|stat| SubResult::Create {
                                path: c.path.clone(),
                                stat,
                                with_stat: c.with_stat,
                            })
                    }
                    SubTxn::Delete { path } => {
                        self.apply_delete(path, zxid, t).map(|()| SubResult::Delete)
                    }
                    SubTxn::SetData {
                        path,
                        data,
                        version,
                    } => self
                        .apply_set_data(path, data, *version, zxid, time, t)
                        .map(|stat| SubResult::SetData { stat }),
                    SubTxn::Check { path, .. } => {
                        if self.contains(path) {
                            Ok(SubResult::Check)
                        } else {
                            Err(ErrorCode::NoNode)
                        }
                    }
                    SubTxn::Error { code } => Err(*code),
                };
                r.unwrap_or_else(SubResult::Error)
            })
            .collect()
    }

    fn apply_close_session(
        &mut self,
        session: i64,
        listed: &[String],
        zxid: i64,
        t: &mut Vec<WatchTrigger>,
    ) -> Vec<String> {
        let mut deleted = Vec::new();
        let owned_by = |tree: &DataTree, p: &str| {
            tree.node(p)
                .is_some_and(|n| n.kind() == EphemeralType::Session(session))
        };
        for p in listed {
            if owned_by(self, p) && self.apply_delete(p, zxid, t).is_ok() {
                deleted.push(p.clone());
            }
        }
        // Whatever the tree still tracks for the session goes too (ZooKeeper's killSession).
        let rest: Vec<String> = self.ephemerals(session).map(String::from).collect();
        for p in rest {
            if self.apply_delete(&p, zxid, t).is_ok() {
                deleted.push(p);
            }
        }
        self.drop_session(session);
        deleted
    }
}

/// The tree as ZAB's state machine: bodies are postcard [`ZkTxn`]s, outcomes
/// [`TxnResult`]s. The watch triggers of the last `apply` are kept for
/// [`DataTree::take_triggers`].
impl StateMachine for DataTree {
    type Outcome = TxnResult;

    fn apply(&mut self, header: &TxnHeader, body: &[u8]) -> TxnResult {
        // Creates, the most common txn that carries data and an ACL, are read in place.
        let applied = match CreateTxnRef::read(header.kind, body) {
            Some(read) => read.map(|c| self.apply_create_in_place(header, &c)),
            None => ZkTxn::decode(header.kind, body).map(|txn| self.apply_txn(header, &txn)),
        };
        match applied {
            Ok(applied) => {
                self.last_triggers = applied.triggers;
                applied.result
            }
            Err(_) => {
                self.last_triggers.clear();
                if header.zxid > self.last_zxid {
                    self.last_zxid = header.zxid;
                }
                TxnResult::Error(ErrorCode::MarshallingError)
            }
        }
    }

    fn encode_outcome(outcome: &TxnResult) -> Vec<u8> {
        outcome.encode()
    }
}

impl ReplicatedState for DataTree {
    fn snapshot(&self) -> Vec<u8> {
        self.encode_snapshot()
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        *self = DataTree::decode_snapshot_keyed(bytes, self.path_key_seed())?;
        Ok(())
    }

    fn digest(&self) -> u64 {
        self.digest
    }

    fn seed(&mut self, entropy: u64) {
        self.reseed(entropy);
    }
}

impl DataTree {
    /// The watch triggers of the most recent [`StateMachine::apply`] (drained).
    pub fn take_triggers(&mut self) -> Vec<WatchTrigger> {
        core::mem::take(&mut self.last_triggers)
    }
}
