//! **sync + read sees every write acknowledged before the sync.** A `getData` pipelined right
//! after a `sync` on the same path returns a node whose `mzxid` is at least the zxid of every
//! `setData` on that path acknowledged (to any client) before the `sync` was sent.
//!
//! Source: ZooKeeper Programmer's Guide, *sync* ("ensures that all operations that have
//! completed before the sync are visible"), and the leader's `sync` handling
//! (`Leader.processSync`): the reply follows every proposal committed before it.

use std::collections::BTreeMap;

/// The newest acknowledged write per path.
#[derive(Clone, Debug, Default)]
pub struct SyncThenRead {
    acked: BTreeMap<String, i64>,
}

impl SyncThenRead {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "sync_then_read";

    /// A write to `path` at `zxid` was acknowledged.
    pub fn write_acked(&mut self, path: &str, zxid: i64) {
        let z = self.acked.entry(path.to_string()).or_insert(zxid);
        *z = (*z).max(zxid);
    }

    /// A `sync` on `path` is sent now: the floor its read must reach.
    pub fn floor(&self, path: &str) -> i64 {
        self.acked.get(path).copied().unwrap_or(0)
    }

    /// The read after the sync returned `mzxid` (`None`: no node) for `path` from `server`.
    pub fn read(
        &self,
        server: u64,
        path: &str,
        floor: i64,
        mzxid: Option<i64>,
    ) -> Result<(), String> {
        match mzxid {
            Some(m) if m >= floor => Ok(()),
            _ if floor == 0 => Ok(()),
            Some(m) => Err(format!(
                "sync + getData {path} on n{server} returned mzxid {m:#x}, older than the write \
                 at {floor:#x} acknowledged before the sync"
            )),
            None => Err(format!(
                "sync + getData {path} on n{server} found no node, though a write at {floor:#x} \
                 was acknowledged before the sync"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_behind_the_floor_is_caught() {
        let mut s = SyncThenRead::default();
        s.write_acked("/r/k1", 10);
        s.write_acked("/r/k1", 7);
        let f = s.floor("/r/k1");
        assert_eq!(f, 10);
        assert!(s.read(1, "/r/k1", f, Some(10)).is_ok());
        assert!(s.read(1, "/r/k1", f, Some(9)).is_err());
        assert!(s.read(1, "/r/k1", f, None).is_err());
        assert!(s.read(1, "/r/k2", s.floor("/r/k2"), None).is_ok());
    }
}
