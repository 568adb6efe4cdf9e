//! ZAB (protocol reference §2): the leader and learner sides of discovery and
//! synchronization. Broadcast of transactions arrives with its own issue; today a leader is
//! established once a quorum has promised the new epoch and acknowledged NEWLEADER.

mod discovery;

pub use discovery::{AfterPersist, History, Leader, Learner, StepDown, ZabOutput};
