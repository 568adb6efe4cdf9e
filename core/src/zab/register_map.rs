//! A map of u64 registers replicated by ZAB: the simulator's extra workload, with the least
//! service logic in the way. Compiled for tests and with the `sim` feature only.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::codec::TxnHeader;
use crate::zab::{ReplicatedState, StateMachine};

/// A map of u64 registers: the simulator's extra workload (ZAB with the least service logic
/// in the way), behind the `sim` feature.
///
/// A txn body is postcard `(key, value)`; applying it stores the value and replies with the
/// previous one (postcard `Option<u64>`), so a client can check linearizability.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterMap {
    registers: BTreeMap<u64, u64>,
}

impl RegisterMap {
    /// Encodes a write of `value` to register `key`.
    pub fn write(key: u64, value: u64) -> Vec<u8> {
        postcard::to_allocvec(&(key, value)).unwrap_or_default()
    }

    /// Reads a register.
    pub fn get(&self, key: u64) -> Option<u64> {
        self.registers.get(&key).copied()
    }

    /// Number of registers set.
    pub fn len(&self) -> usize {
        self.registers.len()
    }

    /// True when no register is set.
    pub fn is_empty(&self) -> bool {
        self.registers.is_empty()
    }
}

impl StateMachine for RegisterMap {
    /// The register's previous value, postcard-encoded.
    type Outcome = Vec<u8>;

    fn apply(&mut self, _header: &TxnHeader, body: &[u8]) -> Vec<u8> {
        let previous = match postcard::from_bytes::<(u64, u64)>(body) {
            Ok((k, v)) => self.registers.insert(k, v),
            // A body that does not decode is an error txn: it changes nothing.
            Err(_) => None,
        };
        postcard::to_allocvec(&previous).unwrap_or_default()
    }

    fn encode_outcome(outcome: &Vec<u8>) -> Vec<u8> {
        outcome.clone()
    }
}

impl ReplicatedState for RegisterMap {
    fn snapshot(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    fn restore(&mut self, bytes: &[u8]) -> Result<(), String> {
        *self = postcard::from_bytes(bytes)
            .map_err(|e| alloc::format!("register map snapshot: {e}"))?;
        Ok(())
    }

    fn digest(&self) -> u64 {
        // FNV-1a over the registers in key order.
        let mut h = crate::hash::Fnv1a64::new();
        for (k, v) in &self.registers {
            h.write(&k.to_be_bytes());
            h.write(&v.to_be_bytes());
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Zxid;

    fn header(z: u32) -> TxnHeader {
        TxnHeader {
            zxid: Zxid::new(1, z),
            session_id: 0,
            cxid: 0,
            time_ms: 0,
            kind: 0,
        }
    }

    #[test]
    fn apply_is_idempotent_and_snapshots_round_trip() {
        let mut a = RegisterMap::default();
        let prev: Option<u64> =
            postcard::from_bytes(&a.apply(&header(1), &RegisterMap::write(7, 1))).unwrap();
        assert_eq!(prev, None);
        let prev: Option<u64> =
            postcard::from_bytes(&a.apply(&header(2), &RegisterMap::write(7, 2))).unwrap();
        assert_eq!(prev, Some(1));
        let d = a.digest();
        a.apply(&header(2), &RegisterMap::write(7, 2));
        assert_eq!(a.digest(), d);
        let mut b = RegisterMap::default();
        b.restore(&a.snapshot()).unwrap();
        assert_eq!(b, a);
        assert!(b.restore(&[0xff, 0xff, 0xff]).is_err());
        // Garbage bodies change nothing.
        a.apply(&header(3), &[0xFF]);
        assert_eq!(a.digest(), d);
    }
}
