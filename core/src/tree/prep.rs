//! The leader's request → txn step (`PrepRequestProcessor`): checks a write against the
//! projected state (the tree plus outstanding changes), in ZooKeeper's check order (§4.5),
//! and turns it into an idempotent [`ZkTxn`]. Failed writes become [`ZkTxn::Error`] (§4.6).

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::acl::{check_acl, fixup_acl, Caller};
use super::data_tree::DataTree;
use super::path;
use super::txn::{CreateTxn, SubTxn, ZkTxn};
use super::znode::{EphemeralType, StatPersisted, CONTAINER_OWNER, MAX_TTL_MS};
use crate::client::{
    perms, Acl, CreateKind, CreateMode, ErrorCode, Id, MultiOp, ReconfigRequest, Request,
};
use crate::config::Membership;
use crate::ids::{ServerId, Zxid};

/// Who sends the request and what the leader stamps on its txn.
#[derive(Clone, Copy, Debug)]
pub struct PrepCtx<'a> {
    /// The issuing session (0 for server-internal requests).
    pub session_id: i64,
    /// The session's authenticated ids (incl. its `ip` id).
    pub auth: &'a [Id],
    /// The super user's digest id (`super:<hash>`), if configured.
    pub super_digest: Option<&'a str>,
    /// Leader wall clock (ms), the txn's time.
    pub time_ms: i64,
    /// The zxid the txn will get.
    pub zxid: Zxid,
    /// `zookeeper.extendedTypesEnabled` (TTL nodes); default true.
    pub extended_types: bool,
    /// Whether the session is local (ephemeral creation → EPHEMERALONLOCALSESSION).
    pub local_session: bool,
    /// What a `reconfig` is checked against; `None` refuses it (RECONFIGDISABLED).
    pub reconfig: Option<&'a ReconfigView<'a>>,
}

/// The leader's view of the ensemble that a `reconfig` is checked against.
#[derive(Clone, Debug)]
pub struct ReconfigView<'a> {
    /// `reconfigEnabled`.
    pub enabled: bool,
    /// `standaloneEnabled`: the new membership then needs two voters, as in ZooKeeper.
    pub standalone_enabled: bool,
    /// The membership in force.
    pub current: &'a Membership,
    /// A reconfiguration is proposed and not yet committed.
    pub in_progress: bool,
    /// The leader and the followers synchronized with it now.
    pub synced: &'a BTreeSet<ServerId>,
}

impl<'a> PrepCtx<'a> {
    /// A context with extended types enabled and a global session.
    pub fn new(session_id: i64, auth: &'a [Id], zxid: Zxid, time_ms: i64) -> PrepCtx<'a> {
        PrepCtx {
            session_id,
            auth,
            super_digest: None,
            time_ms,
            zxid,
            extended_types: true,
            local_session: false,
            reconfig: None,
        }
    }

    fn caller(&self) -> Caller<'a> {
        Caller {
            auth: self.auth,
            super_digest: self.super_digest,
        }
    }
}

/// A node as projected after the outstanding changes.
#[derive(Clone, Debug)]
struct Projected {
    stat: StatPersisted,
    acl: Arc<[Acl]>,
    child_count: i32,
}

#[derive(Clone, Debug)]
struct Change {
    zxid: Zxid,
    /// `None`: deleted.
    node: Option<Projected>,
}

/// The leader's outstanding changes (`outstandingChanges`): per path, the node as projected
/// by txns prepped but not yet applied, so pipelined writes see each other.
#[derive(Clone, Debug, Default)]
pub struct PendingChanges {
    /// Paths shared with `log` (one allocation per recorded change, not two).
    by_path: BTreeMap<Arc<str>, Change>,
    log: VecDeque<(Zxid, Arc<str>)>,
    undo: Option<Vec<(Arc<str>, Option<Change>)>>,
}

impl PendingChanges {
    /// No outstanding changes.
    pub fn new() -> PendingChanges {
        PendingChanges::default()
    }

    /// Drops the changes made by txns with zxid ≤ `zxid` (now reflected in the tree).
    pub fn applied(&mut self, zxid: Zxid) {
        while let Some((z, _)) = self.log.front() {
            if *z > zxid {
                break;
            }
            let Some((_, path)) = self.log.pop_front() else {
                break;
            };
            if self.by_path.get(&path).is_some_and(|c| c.zxid <= zxid) {
                self.by_path.remove(&path);
            }
        }
    }

    /// Forgets everything (e.g. when leadership is lost).
    pub fn clear(&mut self) {
        *self = PendingChanges::default();
    }

    /// Number of change records outstanding.
    pub fn len(&self) -> usize {
        self.log.len()
    }

    /// True when nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty()
    }

    fn get(&self, tree: &DataTree, path: &str) -> Option<Projected> {
        match self.by_path.get(path) {
            Some(c) => c.node.clone(),
            None => tree.node(path).map(|n| Projected {
                stat: n.stat,
                acl: n.acl.clone(),
                child_count: n.num_children(),
            }),
        }
    }

    fn record(&mut self, zxid: Zxid, path: &str, node: Option<Projected>) {
        let path: Arc<str> = Arc::from(path);
        let old = self.by_path.insert(path.clone(), Change { zxid, node });
        if let Some(undo) = &mut self.undo {
            undo.push((path.clone(), old));
        }
        self.log.push_back((zxid, path));
    }

    fn begin(&mut self) -> usize {
        self.undo = Some(Vec::new());
        self.log.len()
    }

    fn commit(&mut self) {
        self.undo = None;
    }

    fn rollback(&mut self, mark: usize) {
        self.log.truncate(mark);
        if let Some(undo) = self.undo.take() {
            for (path, old) in undo.into_iter().rev() {
                match old {
                    Some(c) => {
                        self.by_path.insert(path, c);
                    }
                    None => {
                        self.by_path.remove(&path);
                    }
                }
            }
        }
    }
}

/// The new version after a check: `expected` must be −1 or `current`; the result is
/// `current + 1`, skipping −1 after the wrap (ZOOKEEPER-4743).
pub fn check_and_inc_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    let next = current.wrapping_add(1);
    Ok(if next == -1 { 0 } else { next })
}

struct CreateArgs<'r> {
    path: &'r str,
    data: &'r Option<Vec<u8>>,
    acl: &'r [Acl],
    mode: CreateMode,
    ttl: i64,
    with_stat: bool,
    /// A createContainer: the node is a container whatever the flags.
    container: bool,
}

/// The parent of a create's path; the path may end in `/` when sequential.
fn create_parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => path::ROOT,
        Some(i) => &path[..i],
    }
}

/// Preps one client write into a txn. Failed checks give `Ok(ZkTxn::Error)` (to be proposed
/// like any txn); `Err` is for requests that must not be proposed: UNIMPLEMENTED for
/// non-writes (reads, session and watch management).
pub fn prep(
    request: &Request,
    ctx: &PrepCtx<'_>,
    tree: &DataTree,
    pending: &mut PendingChanges,
) -> Result<ZkTxn, ErrorCode> {
    let p = Prep { ctx, tree };
    let r = match request {
        Request::Create(c) => {
            create_mode(c.kind, c.flags).and_then(|(mode, with_stat, container)| {
                p.create(
                    &CreateArgs {
                        path: &c.path,
                        data: &c.data,
                        acl: &c.acl,
                        mode,
                        ttl: -1,
                        with_stat,
                        container,
                    },
                    pending,
                )
                .map(ZkTxn::Create)
            })
        }
        Request::CreateTtl(c) => ttl_mode(c.flags, c.ttl).and_then(|mode| {
            let mark = pending.begin();
            let created = p.create(
                &CreateArgs {
                    path: &c.path,
                    data: &c.data,
                    acl: &c.acl,
                    mode,
                    ttl: c.ttl,
                    with_stat: true,
                    container: false,
                },
                pending,
            );
            match created {
                // A createTTL that passed every check with a mode that is not a TTL mode (and
                // a negative TTL, see ttl_mode): ZooKeeper 3.8 would log a txn its own apply
                // cannot turn into a node (its TTL is invalid); refuse it instead.
                Ok(_) if !mode.is_ttl() => {
                    pending.rollback(mark);
                    Err(ErrorCode::BadArguments)
                }
                other => {
                    pending.commit();
                    other.map(ZkTxn::Create)
                }
            }
        }),
        Request::Delete(d) => p
            .delete(&d.path, d.version, pending)
            .map(|()| ZkTxn::Delete {
                path: d.path.clone(),
            }),
        Request::SetData(s) => {
            p.set_data(&s.path, s.version, pending)
                .map(|version| ZkTxn::SetData {
                    path: s.path.clone(),
                    data: s.data.clone(),
                    version,
                })
        }
        Request::SetAcl { path, acl, version } => {
            p.set_acl(path, acl, *version, pending)
                .map(|(acl, version)| ZkTxn::SetAcl {
                    path: path.clone(),
                    acl,
                    version,
                })
        }
        Request::Check(c) => p
            .check(&c.path, c.version, pending)
            .map(|version| ZkTxn::Check {
                path: c.path.clone(),
                version,
            }),
        Request::Multi(ops) => Ok(p.multi(ops, pending)),
        Request::CloseSession => Ok(p.close_session(pending)),
        Request::Reconfig(r) => p.reconfig(r, pending),
        _ => return Err(ErrorCode::Unimplemented),
    };
    Ok(r.unwrap_or_else(|code| ZkTxn::Error { code }))
}

/// The mode a create/create2/createContainer request is checked with, whether its reply has a
/// stat, and whether it makes a container. As in ZooKeeper 3.8, the opcode decides the node:
/// createContainer always logs a CreateContainerTxn, so any flag that passes the checks makes
/// a container; create and create2 (in a multi too) log a plain CreateTxn, so flag 4 makes a
/// persistent node. The flags decide the checks: the sequence suffix, the ephemeral session
/// check, and the TTL refusal in [`Prep::create`] (UNIMPLEMENTED without extended types,
/// else BADARGUMENTS: only createTTL carries a TTL).
fn create_mode(kind: CreateKind, flags: i32) -> Result<(CreateMode, bool, bool), ErrorCode> {
    let mode = CreateMode::from_flag(flags).ok_or(ErrorCode::BadArguments)?;
    Ok(match kind {
        CreateKind::Container => (mode, true, true),
        k => (mode, k == CreateKind::Create2, false),
    })
}

/// The mode of a createTTL request (outside a multi). ZooKeeper's `validateTTL` refuses a
/// non-TTL mode only when the TTL is not negative; with a negative one the request goes on
/// to the path, ACL and parent checks, whose answers clients see first.
fn ttl_mode(flags: i32, ttl: i64) -> Result<CreateMode, ErrorCode> {
    match CreateMode::from_flag(flags) {
        Some(m) if m.is_ttl() || ttl < 0 => Ok(m),
        _ => Err(ErrorCode::BadArguments),
    }
}

struct Prep<'c, 'a> {
    ctx: &'c PrepCtx<'a>,
    tree: &'c DataTree,
}

impl Prep<'_, '_> {
    fn get(&self, pending: &PendingChanges, path: &str) -> Option<Projected> {
        pending.get(self.tree, path)
    }

    fn create(
        &self,
        a: &CreateArgs<'_>,
        pending: &mut PendingChanges,
    ) -> Result<CreateTxn, ErrorCode> {
        let ctx = self.ctx;
        if a.mode.is_ttl() {
            if !ctx.extended_types {
                return Err(ErrorCode::Unimplemented);
            }
            if a.ttl <= 0 || a.ttl > MAX_TTL_MS {
                return Err(ErrorCode::BadArguments);
            }
        }
        if a.mode.is_ephemeral() {
            if ctx.local_session {
                return Err(ErrorCode::EphemeralOnLocalSession);
            }
            if ctx.session_id == 0 || EphemeralType::session_id_is_ambiguous(ctx.session_id) {
                return Err(ErrorCode::BadArguments);
            }
        }
        let seq = a.mode.is_sequential();
        // ZooKeeper's order: a path without a slash (or with a NUL) is refused first; any
        // other malformed path only after its parent was found and let the caller create.
        if !a.path.contains('/') || a.path.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        let acl = fixup_acl(a.acl, ctx.auth)?;
        let parent_path = create_parent(a.path);
        let mut parent = self.get(pending, parent_path).ok_or(ErrorCode::NoNode)?;
        check_acl(&parent.acl, perms::CREATE, &ctx.caller())?;
        path::validate_create_path(a.path, seq)?;
        let full: String = if seq {
            let mut s = String::from(a.path);
            s.push_str(&path::sequence_suffix(parent.stat.cversion));
            s
        } else {
            a.path.into()
        };
        if self.get(pending, &full).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        if matches!(
            EphemeralType::from_owner(parent.stat.ephemeral_owner),
            EphemeralType::Session(_)
        ) {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let owner = if a.container {
            CONTAINER_OWNER
        } else if a.mode.is_ttl() {
            EphemeralType::Ttl(a.ttl).to_owner()
        } else if a.mode.is_ephemeral() {
            ctx.session_id
        } else {
            0
        };
        let zxid = ctx.zxid;
        let new_cversion = parent.stat.cversion.wrapping_add(1);
        parent.stat.cversion = new_cversion;
        parent.stat.pzxid = zxid.0 as i64;
        parent.child_count = parent.child_count.saturating_add(1);
        pending.record(zxid, parent_path, Some(parent));
        pending.record(
            zxid,
            &full,
            Some(Projected {
                stat: StatPersisted::created(zxid.0 as i64, ctx.time_ms, owner),
                // The pool's list when the tree has it already (no copy of each entry).
                acl: self.tree.intern_acl(&acl),
                child_count: 0,
            }),
        );
        Ok(CreateTxn {
            path: full,
            data: a.data.clone(),
            acl,
            ephemeral_owner: owner,
            parent_cversion: new_cversion,
            with_stat: a.with_stat || a.container || a.mode.is_ttl(),
        })
    }

    fn delete(&self, p: &str, version: i32, pending: &mut PendingChanges) -> Result<(), ErrorCode> {
        // ZooKeeper's getParentPathAndValidate: BADARGUMENTS only without a slash, with a NUL
        // or for a special path; the parent is what precedes the last slash, and its lookup
        // and ACL come before the node's (a malformed path names no node: NONODE).
        let Some(last) = p.rfind('/') else {
            return Err(ErrorCode::BadArguments);
        };
        if p.contains('\0') || path::is_special(p) {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = if last == 0 { path::ROOT } else { &p[..last] };
        let mut parent = self.get(pending, parent_path).ok_or(ErrorCode::NoNode)?;
        check_acl(&parent.acl, perms::DELETE, &self.ctx.caller())?;
        let node = self.get(pending, p).ok_or(ErrorCode::NoNode)?;
        check_and_inc_version(node.stat.version, version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let zxid = self.ctx.zxid;
        parent.child_count = parent.child_count.saturating_sub(1);
        parent.stat.pzxid = zxid.0 as i64;
        pending.record(zxid, parent_path, Some(parent));
        pending.record(zxid, p, None);
        Ok(())
    }

    fn set_data(
        &self,
        p: &str,
        version: i32,
        pending: &mut PendingChanges,
    ) -> Result<i32, ErrorCode> {
        path::validate_path(p)?;
        let mut node = self.get(pending, p).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, perms::WRITE, &self.ctx.caller())?;
        let new = check_and_inc_version(node.stat.version, version)?;
        let zxid = self.ctx.zxid;
        node.stat.version = new;
        node.stat.mzxid = zxid.0 as i64;
        node.stat.mtime = self.ctx.time_ms;
        pending.record(zxid, p, Some(node));
        Ok(new)
    }

    /// A reconfig, checked in ZooKeeper's order: enabled, WRITE on `/zookeeper/config`
    /// (only the super user, under its default ACL), none in progress, `-from`, the new
    /// membership's form, and a synchronized quorum of its voters.
    fn reconfig(
        &self,
        r: &ReconfigRequest,
        pending: &mut PendingChanges,
    ) -> Result<ZkTxn, ErrorCode> {
        let view = match self.ctx.reconfig {
            Some(v) if v.enabled => v,
            _ => return Err(ErrorCode::ReconfigDisabled),
        };
        let mark = pending.begin();
        let checked = self.reconfig_checked(r, view, pending);
        match &checked {
            Ok(_) => pending.commit(),
            Err(_) => pending.rollback(mark),
        }
        checked
    }

    fn reconfig_checked(
        &self,
        r: &ReconfigRequest,
        view: &ReconfigView<'_>,
        pending: &mut PendingChanges,
    ) -> Result<ZkTxn, ErrorCode> {
        let servers = view.current.servers.len();
        if servers == 0 || (servers == 1 && view.standalone_enabled) {
            // A standalone server (no server line, or one with standaloneEnabled) has no
            // ensemble to change.
            return Err(ErrorCode::Unimplemented);
        }
        if view.in_progress {
            return Err(ErrorCode::ReconfigInProgress);
        }
        if r.cur_config_id != -1 && r.cur_config_id as u64 != view.current.version {
            return Err(ErrorCode::BadVersion);
        }
        let next = match &r.new_members {
            Some(members) => Membership::bulk(members),
            None => view
                .current
                .incremental(r.joining_servers.as_deref(), r.leaving_servers.as_deref()),
        }
        .and_then(|m| m.check_voters(view.standalone_enabled).map(|()| m))
        .map_err(|e| e.code())?;
        let synced = next.voters().filter(|v| view.synced.contains(v)).count();
        if synced <= next.voters().count() / 2 {
            return Err(ErrorCode::NewConfigNoQuorum);
        }
        // Last, as ZooKeeper: WRITE on the config node, which by default only the super
        // user passes. The node's version stays -1 (ZooKeeper's reconfig SetDataTxn).
        let mut node = self.get(pending, path::CONFIG).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, perms::WRITE, &self.ctx.caller())?;
        node.stat.version = -1;
        node.stat.mzxid = self.ctx.zxid.0 as i64;
        node.stat.mtime = self.ctx.time_ms;
        pending.record(self.ctx.zxid, path::CONFIG, Some(node));
        let next = Membership {
            version: self.ctx.zxid.0,
            ..next
        };
        Ok(ZkTxn::Reconfig {
            data: next.text().into_bytes(),
            version: -1,
        })
    }

    fn set_acl(
        &self,
        p: &str,
        acl: &[Acl],
        version: i32,
        pending: &mut PendingChanges,
    ) -> Result<(Vec<Acl>, i32), ErrorCode> {
        path::validate_path(p)?;
        let acl = fixup_acl(acl, self.ctx.auth)?;
        let mut node = self.get(pending, p).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, perms::ADMIN, &self.ctx.caller())?;
        let new = check_and_inc_version(node.stat.aversion, version)?;
        node.stat.aversion = new;
        node.acl = self.tree.intern_acl(&acl);
        pending.record(self.ctx.zxid, p, Some(node));
        Ok((acl, new))
    }

    fn check(&self, p: &str, version: i32, pending: &PendingChanges) -> Result<i32, ErrorCode> {
        path::validate_path(p)?;
        let node = self.get(pending, p).ok_or(ErrorCode::NoNode)?;
        check_acl(&node.acl, perms::READ, &self.ctx.caller())?;
        if version != -1 && version != node.stat.version {
            return Err(ErrorCode::BadVersion);
        }
        Ok(node.stat.version)
    }

    /// A create inside a multi, read as ZooKeeper 3.8 reads it: the multi decoder rebuilds each
    /// op from its flags (`Op.create`), so the opcode the client wrote does not count. Flag 4
    /// makes a container, TTL flags a TTL node, anything else a plain create (a create2
    /// answers without a stat); a createTTL with other flags loses its TTL. The strict flag
    /// check comes after: invalid flags are BADARGUMENTS.
    fn multi_create(
        &self,
        path: &str,
        data: &Option<Vec<u8>>,
        acl: &[Acl],
        flags: i32,
        ttl: Option<i64>,
        pending: &mut PendingChanges,
    ) -> Result<SubTxn, ErrorCode> {
        let typed = CreateMode::from_flag(flags).unwrap_or(CreateMode::Persistent);
        let mode = CreateMode::from_flag(flags).ok_or(ErrorCode::BadArguments)?;
        let (ttl, with_stat, container) = if typed.is_ttl() {
            (ttl.unwrap_or(-1), true, false)
        } else {
            (-1, typed.is_container(), typed.is_container())
        };
        self.create(
            &CreateArgs {
                path,
                data,
                acl,
                mode,
                ttl,
                with_stat,
                container,
            },
            pending,
        )
        .map(SubTxn::Create)
    }

    fn multi_op(&self, op: &MultiOp, pending: &mut PendingChanges) -> Result<SubTxn, ErrorCode> {
        match op {
            MultiOp::Create(c) => {
                self.multi_create(&c.path, &c.data, &c.acl, c.flags, None, pending)
            }
            MultiOp::CreateTtl(c) => {
                self.multi_create(&c.path, &c.data, &c.acl, c.flags, Some(c.ttl), pending)
            }
            MultiOp::Delete(d) => {
                self.delete(&d.path, d.version, pending)
                    .map(|()| SubTxn::Delete {
                        path: d.path.clone(),
                    })
            }
            MultiOp::SetData(s) => {
                self.set_data(&s.path, s.version, pending)
                    .map(|version| SubTxn::SetData {
                        path: s.path.clone(),
                        data: s.data.clone(),
                        version,
                    })
            }
            MultiOp::Check(c) => {
                self.check(&c.path, c.version, pending)
                    .map(|version| SubTxn::Check {
                        path: c.path.clone(),
                        version,
                    })
            }
        }
    }

    /// All-or-nothing: ops are checked in order against the projected state; at the first
    /// failure the projected changes are rolled back and every entry becomes an error.
    fn multi(&self, ops: &[MultiOp], pending: &mut PendingChanges) -> ZkTxn {
        let mark = pending.begin();
        let mut out = Vec::with_capacity(ops.len());
        for (i, op) in ops.iter().enumerate() {
            if let MultiOp::Create(c) = op {
                if CreateMode::from_flag(c.flags).is_some_and(|m| m.is_ttl()) {
                    // ZooKeeper 3.8 turns it into a createTTL op without a TTL record and
                    // fails the whole request on it (MARSHALLINGERROR) once it gets there.
                    pending.rollback(mark);
                    return ZkTxn::Error {
                        code: ErrorCode::MarshallingError,
                    };
                }
            }
            match self.multi_op(op, pending) {
                Ok(sub) => out.push(sub),
                Err(code) => {
                    pending.rollback(mark);
                    let entries = (0..ops.len())
                        .map(|j| SubTxn::Error {
                            code: match j.cmp(&i) {
                                core::cmp::Ordering::Less => ErrorCode::Ok,
                                core::cmp::Ordering::Equal => code,
                                core::cmp::Ordering::Greater => ErrorCode::RuntimeInconsistency,
                            },
                        })
                        .collect();
                    return ZkTxn::Multi(entries);
                }
            }
        }
        pending.commit();
        ZkTxn::Multi(out)
    }

    /// Collects the session's ephemerals from the tree and the outstanding changes and
    /// projects their deletion.
    fn close_session(&self, pending: &mut PendingChanges) -> ZkTxn {
        let s = self.ctx.session_id;
        let mut es: BTreeSet<String> = self.tree.ephemerals(s).map(String::from).collect();
        // The projected node at each changed path decides: the session's ephemeral, or not
        // (deleted, or deleted and re-created by someone else — found by the model test's
        // fresh cases: listing it would project a delete the apply never makes).
        for (p, c) in &pending.by_path {
            match &c.node {
                Some(n) if n.stat.ephemeral_owner == s && s != 0 => {
                    es.insert(String::from(&**p));
                }
                _ => {
                    es.remove(&**p);
                }
            }
        }
        let zxid = self.ctx.zxid;
        for p in &es {
            if let Some(parent_path) = path::parent(p) {
                if let Some(mut parent) = self.get(pending, parent_path) {
                    parent.child_count = parent.child_count.saturating_sub(1);
                    parent.stat.pzxid = zxid.0 as i64;
                    pending.record(zxid, parent_path, Some(parent));
                }
            }
            pending.record(zxid, p, None);
        }
        ZkTxn::CloseSession {
            ephemerals: es.into_iter().collect(),
        }
    }
}
