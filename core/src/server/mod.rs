//! The ZooKeeper server side that is not replicated: client connections, session expiry
//! on the leader, and the watches of locally connected clients.

pub(crate) mod fourlw;
pub(crate) mod sessions;
pub(crate) mod watches;
pub(crate) mod zk;

pub(crate) use watches::ConnId;
pub(crate) use zk::sasl_verify;
pub use zk::ZkService;
