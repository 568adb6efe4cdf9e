//! **Agreement and total order.** There is one global commit sequence `zxid → (session_id,
//! cxid)`, built from the first server to apply each zxid; every server's applied sequence is
//! a prefix of it: no gap, no divergence — a server's next applied txn is always the element
//! of the global sequence right after its last applied one. Servers at equal `last_applied`
//! have equal state-machine `digest`s.
//!
//! Source: Zab paper [Zab11] §III, *Agreement* ("if some process delivers ⟨v, z⟩ and another
//! delivers ⟨v', z'⟩, then either the first delivers ⟨v', z'⟩ or the second ⟨v, z⟩") and *Total
//! order* ("if some process delivers ⟨v, z⟩ before ⟨v', z'⟩, any process that delivers
//! ⟨v', z'⟩ delivers ⟨v, z⟩ before it"); protocol reference §2.9.
//!
//! A server's position is reset when its state is loaded from a snapshot (process start, SNAP
//! sync): the snapshot's zxid must then be a point of the global sequence (or zero), and its
//! digest the one recorded there.

use std::collections::{BTreeMap, HashMap};

use conclave_core::{ServerId, Zxid};

/// The global sequence and each server's position in it.
#[derive(Clone, Debug, Default)]
pub struct AgreementTotalOrder {
    global: Vec<(Zxid, i64, i32)>,
    index: HashMap<Zxid, usize>,
    /// Each running server's last applied zxid.
    cursor: BTreeMap<ServerId, Zxid>,
    /// Digest first seen at each `last_applied`, and who showed it.
    digests: HashMap<Zxid, (u64, ServerId)>,
    /// Resets that moved a server's applied state back (a snapshot older than its state).
    pub backward_resets: u64,
}

impl AgreementTotalOrder {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "agreement_total_order";

    /// The committed txn at `zxid`, if any server applied it.
    pub fn txn_at(&self, zxid: Zxid) -> Option<(i64, i32)> {
        self.index.get(&zxid).map(|&i| {
            let (_, s, c) = self.global[i];
            (s, c)
        })
    }

    /// Length of the global sequence.
    pub fn len(&self) -> usize {
        self.global.len()
    }

    /// True when nothing was committed yet.
    pub fn is_empty(&self) -> bool {
        self.global.is_empty()
    }

    /// The last zxid of the global sequence.
    pub fn last(&self) -> Zxid {
        self.global.last().map_or(Zxid::ZERO, |&(z, _, _)| z)
    }

    fn position(&self, zxid: Zxid) -> Option<usize> {
        if zxid == Zxid::ZERO {
            Some(0)
        } else {
            self.index.get(&zxid).map(|i| i + 1)
        }
    }

    /// `node`'s state was loaded from a snapshot at `zxid`.
    pub fn reset(&mut self, node: ServerId, zxid: Zxid) -> Result<(), String> {
        let Some(pos) = self.position(zxid) else {
            return Err(format!(
                "n{node} loaded a snapshot at zxid {zxid}, which is not in the global commit sequence \
                 (last {})",
                self.last()
            ));
        };
        if let Some(&old) = self.cursor.get(&node) {
            if self.position(old).is_some_and(|p| p > pos) {
                self.backward_resets += 1;
            }
        }
        self.cursor.insert(node, zxid);
        Ok(())
    }

    /// `node`'s process ended: it has no position until it starts again.
    pub fn stopped(&mut self, node: ServerId) {
        self.cursor.remove(&node);
    }

    /// `node` applied `zxid` carrying `(session_id, cxid)`.
    pub fn applied(
        &mut self,
        node: ServerId,
        zxid: Zxid,
        session_id: i64,
        cxid: i32,
    ) -> Result<(), String> {
        let cur = self.cursor.get(&node).copied().unwrap_or(Zxid::ZERO);
        let Some(next) = self.position(cur) else {
            return Err(format!(
                "n{node} applied zxid {zxid} after {cur}, which is not in the global sequence"
            ));
        };
        match self.global.get(next) {
            Some(&(z, s, c)) if (z, s, c) == (zxid, session_id, cxid) => {}
            Some(&(z, s, c)) => {
                let what = if z == zxid {
                    "divergence"
                } else if zxid > z {
                    "gap"
                } else {
                    "out of order"
                };
                return Err(format!(
                    "{what}: n{node} applied zxid {zxid} (session {session_id}, cxid {cxid}) after {cur}, \
                     but the global sequence continues with zxid {z} (session {s}, cxid {c})"
                ));
            }
            None => {
                if zxid <= cur {
                    return Err(format!(
                        "n{node} applied zxid {zxid} after {cur}: not after the end of the global sequence"
                    ));
                }
                self.index.insert(zxid, self.global.len());
                self.global.push((zxid, session_id, cxid));
            }
        }
        self.cursor.insert(node, zxid);
        Ok(())
    }

    /// `node`'s last applied zxid, while it runs.
    pub fn cursor(&self, node: ServerId) -> Option<Zxid> {
        self.cursor.get(&node).copied()
    }

    /// After draining `node`: its status says `last_applied` and `digest` (the caller first
    /// resets the server's position if `last_applied` is not where its `TxnApplied` events led:
    /// a state loaded from elsewhere).
    pub fn state(&mut self, node: ServerId, last_applied: Zxid, digest: u64) -> Result<(), String> {
        match self.digests.get(&last_applied) {
            Some(&(d, by)) if d != digest => Err(format!(
                "n{node} has digest {digest:016x} at last_applied {last_applied}, but n{by} had \
                 {d:016x} there"
            )),
            Some(_) => Ok(()),
            None => {
                self.digests.insert(last_applied, (digest, node));
                Ok(())
            }
        }
    }
}
