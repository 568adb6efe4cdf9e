//! The ZooKeeper data tree as a replicated state machine (§4): paths, znodes, txn bodies,
//! prep (leader: request → txn against projected state), apply (every replica: txn →
//! tree + reply + watch triggers), reads with ACL checks, the rolling digest, reaping
//! queries and snapshots.
//!
//! The flow on the leader: [`prep`] a write against the tree and [`PendingChanges`],
//! propose `ZkTxn::encode()` with `TxnHeader.kind = ZkTxn::kind()`, then on commit every
//! server runs [`DataTree::apply_txn`] (or `StateMachine::apply`) and the leader calls
//! [`PendingChanges::applied`]. Reads go to [`read`].

pub(crate) mod acl;
mod acl_pool;
pub(crate) mod apply;
mod create_ref;
pub(crate) mod data_tree;
pub(crate) mod digest;
mod node_set;
mod packed;
pub(crate) mod path;
pub(crate) mod prep;
pub(crate) mod read;
pub(crate) mod snapshot;
mod trigger;
pub(crate) mod txn;
pub(crate) mod znode;

#[cfg(test)]
mod acl_tests;
#[cfg(test)]
mod apply_tests;
#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod prep_tests;
#[cfg(test)]
mod read_tests;
#[cfg(test)]
mod test_util;

pub(crate) use acl::user_name;
/// The node that holds the membership (`/zookeeper/config`).
pub const CONFIG_PATH: &str = path::CONFIG;
pub use acl::{check_acl, digest_id, fixup_acl, Caller};
pub use apply::Applied;
pub use data_tree::DataTree;
pub use prep::{check_and_inc_version, prep, PendingChanges, PrepCtx, ReconfigView};
pub use read::{read, ReadCtx};
pub use trigger::{WatchKind, WatchTrigger};
pub use txn::{CreateTxn, SubResult, SubTxn, TxnDecodeError, TxnResult, ZkTxn};
pub use znode::{EphemeralType, NodeRef, StatPersisted, Znode};
