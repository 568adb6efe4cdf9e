//! **Sequential names are unique and increase with the txn order.** Under one parent, the
//! 10-digit counters of sequential nodes never repeat, and a node created at a higher zxid
//! carries a higher counter.
//!
//! Source: ZooKeeper Programmer's Guide, *Sequence Nodes -- Unique Naming*: "the sequence
//! number is unique and monotonically increasing for the parent"; the counter is the parent's
//! `cversion` at prep time (`PrepRequestProcessor`).

use std::collections::BTreeMap;

/// Counters per parent, by zxid.
#[derive(Clone, Debug, Default)]
pub struct SequentialNames {
    by_parent: BTreeMap<String, BTreeMap<i64, i64>>,
}

impl SequentialNames {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "sequential_names";

    /// A sequential create under `parent` named counter `seq` was acknowledged at `zxid`.
    pub fn created(&mut self, parent: &str, seq: i64, zxid: i64) -> Result<(), String> {
        let m = self.by_parent.entry(parent.to_string()).or_default();
        if let Some(&s) = m.get(&zxid) {
            if s != seq {
                return Err(format!(
                    "{parent}: zxid {zxid:#x} created counter {s} and {seq}"
                ));
            }
            return Ok(());
        }
        if let Some((z, s)) = m.range(..zxid).next_back() {
            if *s >= seq {
                return Err(format!(
                    "{parent}: counter {seq} at zxid {zxid:#x} is not above counter {s} at the \
                     earlier zxid {z:#x}"
                ));
            }
        }
        if let Some((z, s)) = m.range(zxid + 1..).next() {
            if *s <= seq {
                return Err(format!(
                    "{parent}: counter {seq} at zxid {zxid:#x} is not below counter {s} at the \
                     later zxid {z:#x}"
                ));
            }
        }
        m.insert(zxid, seq);
        Ok(())
    }
}

/// The counter of a sequential node's name (its last 10 characters), if it has one.
pub fn sequence_of(path: &str) -> Option<i64> {
    let tail = path.get(path.len().checked_sub(10)?..)?;
    tail.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_and_inversions_are_caught() {
        let mut s = SequentialNames::default();
        s.created("/q", 1, 10).unwrap();
        s.created("/q", 5, 20).unwrap();
        assert!(s.created("/q", 5, 30).is_err(), "repeat");
        assert!(s.created("/q", 3, 25).is_err(), "not above the earlier one");
        assert!(s.created("/q", 0, 5).is_ok());
        assert!(s.created("/s", 0, 5).is_ok(), "parents are independent");
        assert_eq!(sequence_of("/q/n-0000000042"), Some(42));
        assert_eq!(sequence_of("/q"), None);
    }
}
