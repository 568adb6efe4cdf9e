//! Reads against the local tree (`FinalRequestProcessor`), with ACL checks (§4.13).
//!
//! Like ZooKeeper, reads do not validate paths (a malformed path simply does not exist),
//! except that exists rejects NUL with BADARGUMENTS. Watch registration is the caller's:
//! exists registers on `Ok` and on `Err(NONODE)`; getData/getChildren(2) only on `Ok`.

use alloc::string::String;
use alloc::vec::Vec;

use super::acl::{check_acl, has_admin, mask_digests, Caller};
use super::data_tree::DataTree;
use super::znode::NodeRef;
use crate::client::{perms, ErrorCode, MultiReadOp, MultiResult, Request, Response};

/// Who reads: session and identities.
#[derive(Clone, Copy, Debug)]
pub struct ReadCtx<'a> {
    /// The reading session (getEphemerals lists its nodes).
    pub session_id: i64,
    /// Its identities and the super digest.
    pub caller: Caller<'a>,
    /// The membership from this server's configuration files, shown as `/zookeeper/config`
    /// until a reconfig writes that node (ZooKeeper sets it from its own files at start, a
    /// local change; here the replicated tree stays equal on every member).
    pub static_config: Option<&'a str>,
}

/// Answers a read request from the tree. Non-read requests are UNIMPLEMENTED here.
pub fn read(request: &Request, ctx: &ReadCtx<'_>, tree: &DataTree) -> Result<Response, ErrorCode> {
    let caller = &ctx.caller;
    match request {
        Request::Exists { path, .. } => {
            if path.contains('\0') {
                return Err(ErrorCode::BadArguments);
            }
            // No ACL check: ZooKeeper 3.8 answers `exists` with the stat whatever the
            // node's ACL (FinalRequestProcessor), and clients rely on it to probe nodes.
            let n = tree.node(lookup(path)).ok_or(ErrorCode::NoNode)?;
            Ok(Response::Stat(shown_stat(path, n, ctx).0))
        }
        Request::GetData { path, .. } => {
            get_data(tree, path, ctx).map(|(data, stat)| Response::GetData { data, stat })
        }
        Request::GetChildren { path, .. } => {
            get_children(tree, path, ctx).map(|(children, _)| Response::GetChildren { children })
        }
        Request::GetChildren2 { path, .. } => get_children(tree, path, ctx)
            .map(|(children, stat)| Response::GetChildren2 { children, stat }),
        Request::GetAllChildrenNumber { path } => {
            let n = tree.node(lookup(path)).ok_or(ErrorCode::NoNode)?;
            check_acl(n.acl, perms::READ, caller)?;
            // ZooKeeper counts the keys under `path + "/"`: for the empty path that is every
            // node but its `""` key, the root's `/` key included, one more than for `/`.
            let total = if path.is_empty() {
                all_children_number(tree, "/").saturating_add(1)
            } else {
                all_children_number(tree, path)
            };
            Ok(Response::GetAllChildrenNumber { total })
        }
        Request::GetAcl { path } => {
            let n = tree.node(lookup(path)).ok_or(ErrorCode::NoNode)?;
            check_acl(n.acl, perms::READ | perms::ADMIN, caller)?;
            let acl = if has_admin(n.acl, caller) {
                n.acl.to_vec()
            } else {
                mask_digests(n.acl)
            };
            Ok(Response::GetAcl {
                acl,
                stat: n.stat(),
            })
        }
        Request::GetEphemerals { prefix } => {
            let prefix = prefix.trim();
            let all = prefix.is_empty() || prefix == "/";
            Ok(Response::GetEphemerals {
                paths: tree
                    .ephemerals(ctx.session_id)
                    .filter(|p| all || p.starts_with(prefix))
                    .map(String::from)
                    .collect(),
            })
        }
        Request::Sync { path } => Ok(Response::Sync { path: path.clone() }),
        Request::MultiRead(ops) => Ok(Response::Multi(
            ops.iter()
                .map(|op| match op {
                    MultiReadOp::GetData { path, .. } => match get_data(tree, path, ctx) {
                        Ok((data, stat)) => MultiResult::GetData { data, stat },
                        Err(e) => MultiResult::Error(e),
                    },
                    MultiReadOp::GetChildren { path, .. } => match get_children(tree, path, ctx) {
                        Ok((children, _)) => MultiResult::GetChildren { children },
                        Err(e) => MultiResult::Error(e),
                    },
                })
                .collect(),
        )),
        _ => Err(ErrorCode::Unimplemented),
    }
}

type DataAndStat = (Option<Vec<u8>>, crate::client::Stat);

/// The node a read of `path` looks up: ZooKeeper keeps its root under both `""` and `/`, and
/// its reads do not validate paths, so a read of the empty path reads the root.
fn lookup(path: &str) -> &str {
    if path.is_empty() {
        "/"
    } else {
        path
    }
}

fn get_data(tree: &DataTree, path: &str, ctx: &ReadCtx<'_>) -> Result<DataAndStat, ErrorCode> {
    let n = tree.node(lookup(path)).ok_or(ErrorCode::NoNode)?;
    check_acl(n.acl, perms::READ, &ctx.caller)?;
    let (stat, shown) = shown_stat(path, n, ctx);
    match shown {
        Some(text) => Ok((Some(text.as_bytes().to_vec()), stat)),
        None => Ok((n.data.map(<[u8]>::to_vec), stat)),
    }
}

/// A node's stat as readers see it, and the data shown for `/zookeeper/config` before any
/// reconfig wrote it (the files' membership, [`ReadCtx::static_config`]).
fn shown_stat<'a>(
    path: &str,
    n: NodeRef<'_>,
    ctx: &ReadCtx<'a>,
) -> (crate::client::Stat, Option<&'a str>) {
    let mut stat = n.stat();
    if let (super::path::CONFIG, 0, Some(text)) = (path, stat.mzxid, ctx.static_config) {
        stat.data_length = text.len() as i32;
        return (stat, Some(text));
    }
    (stat, None)
}

fn get_children(
    tree: &DataTree,
    path: &str,
    ctx: &ReadCtx<'_>,
) -> Result<(Vec<String>, crate::client::Stat), ErrorCode> {
    let n = tree.node(lookup(path)).ok_or(ErrorCode::NoNode)?;
    check_acl(n.acl, perms::READ, &ctx.caller)?;
    Ok((tree.children(lookup(path)), shown_stat(path, n, ctx).0))
}

/// Number of descendants of `path` (not counting it).
pub(crate) fn all_children_number(tree: &DataTree, path: &str) -> i32 {
    let count = if path == "/" {
        tree.node_count().saturating_sub(1)
    } else {
        tree.descendant_count(path)
    };
    i32::try_from(count).unwrap_or(i32::MAX)
}
