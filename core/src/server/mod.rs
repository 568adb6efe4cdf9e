//! The ZooKeeper server side that is not replicated: client connections, session expiry
//! on the leader, and the watches of locally connected clients.

pub mod fourlw;
pub mod sessions;
pub mod watches;
pub mod zk;

pub use sessions::SessionTracker;
pub use watches::{ConnId, WatchKind, Watches};
pub use zk::ZkService;
