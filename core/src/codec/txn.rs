//! A transaction as ZAB carries it: a header the leader stamps, and opaque state-machine bytes.

use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::ids::Zxid;

/// What the leader stamps on every transaction (ZooKeeper's `TxnHeader`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnHeader {
    /// Position in the replicated log.
    pub zxid: Zxid,
    /// Session that issued it (0 for server-internal transactions).
    pub session_id: i64,
    /// The client's request xid, echoed in its reply.
    pub cxid: i32,
    /// Leader wall-clock time in ms, so replicas never read a clock to apply it.
    pub time_ms: i64,
    /// The state machine's transaction type (ZooKeeper opcode, or −1 for an error txn).
    pub kind: i32,
}

/// One replicated transaction: header plus the state machine's encoded body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    /// The header.
    pub header: TxnHeader,
    /// Opaque to ZAB; meaningful to the state machine. Shared: the leader's log and each
    /// follower's PROPOSAL hold the same bytes (cloning a txn copies no body).
    #[serde(with = "crate::codec::bytes::shared")]
    pub body: Arc<[u8]>,
}
