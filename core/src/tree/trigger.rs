//! What applying a txn tells the watch manager: which path, which event, which watches.

use alloc::string::String;
use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::client::EventType;

/// Which standard watches on a path a trigger fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatchKind {
    /// Data/exist watches.
    Data,
    /// Child watches.
    Child,
    /// Both (delete of the node itself); a watcher gets the event once.
    Both,
}

/// One watch event to deliver, from applying a txn (§4.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchTrigger {
    /// The watched path.
    pub path: String,
    /// The event.
    pub event: EventType,
    /// Which watches on `path` fire.
    pub kind: WatchKind,
    /// For `NodeDeleted`, the deleted node's ACL: a watcher is told only if it could READ it
    /// (ZOOKEEPER-4799). Other events are checked against the node as it is.
    pub acl: Option<Arc<[crate::client::Acl]>>,
}
