//! Identifiers shared by every protocol layer.

use core::fmt;
use serde::{Deserialize, Serialize};

/// A server id (`myid`, the `N` of `server.N`). ZooKeeper calls it "sid".
pub type ServerId = u64;

/// A ZooKeeper transaction id: `epoch << 32 | counter`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Zxid(pub u64);

impl Zxid {
    /// The zxid before any transaction.
    pub const ZERO: Zxid = Zxid(0);

    /// The zxid made of `epoch` and `counter`.
    pub const fn new(epoch: u32, counter: u32) -> Zxid {
        Zxid(((epoch as u64) << 32) | counter as u64)
    }

    /// The epoch half (high 32 bits).
    pub const fn epoch(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The counter half (low 32 bits); 0 names no transaction but an epoch start.
    pub const fn counter(self) -> u32 {
        self.0 as u32
    }
}

impl fmt::Debug for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl fmt::Display for Zxid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// One TCP connection between two servers, named by whoever opened it.
///
/// The core names the links it dials (`Dialed`); the adapter names the links it accepts
/// (`Accepted`), from its own counter. The two spaces never collide.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum LinkId {
    /// A connection this node dialled (id chosen by the core in `Output::Dial`).
    Dialed(u64),
    /// A connection this node accepted (id chosen by the adapter).
    Accepted(u64),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zxid_halves() {
        let z = Zxid::new(3, 7);
        assert_eq!(z.0, 0x3_0000_0007);
        assert_eq!((z.epoch(), z.counter()), (3, 7));
        assert_eq!(alloc::format!("{z}"), "0x300000007");
    }
}
