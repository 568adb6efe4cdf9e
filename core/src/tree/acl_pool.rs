//! The tree's interned ACL lists, counted by the nodes that use them.
//!
//! Real trees use a handful of distinct ACLs over millions of nodes (ZooKeeper's reference-
//! counted ACL cache); a packed node stores a small index into this pool instead of a
//! pointer. A list leaves the pool when its last node goes, and its slot is reused.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::create_ref::WireAcls;
use crate::client::Acl;

/// Distinct ACL lists by index, each with the number of nodes that use it.
#[derive(Clone, Debug, Default)]
pub(crate) struct AclPool {
    /// Slot → list and its node count (0 = a free slot).
    slots: Vec<(Arc<[Acl]>, u32)>,
    /// List → slot, for interning.
    index: BTreeMap<Arc<[Acl]>, u32>,
    /// Free slots, reused before the table grows.
    free: Vec<u32>,
    /// What an unknown index reads as (never reached from a consistent tree).
    none: Arc<[Acl]>,
    /// The slot acquired last: creates in a row nearly always share their ACL, and a list
    /// read in place from a txn is matched against it before anything is allocated.
    last: Option<u32>,
}

impl AclPool {
    /// The pooled list equal to `acl`, or a fresh one (pooled when a node takes it).
    pub(crate) fn shared(&self, acl: &[Acl]) -> Arc<[Acl]> {
        match self.index.get(acl) {
            Some(&i) => self.get(i).clone(),
            None => Arc::from(acl),
        }
    }

    /// Counts one more node using `acl` and returns its index (a list new to the pool is
    /// copied in once; a known one costs one lookup and no allocation).
    pub(crate) fn acquire(&mut self, acl: &[Acl]) -> u32 {
        if let Some(&i) = self.index.get(acl) {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                slot.1 = slot.1.saturating_add(1);
            }
            self.last = Some(i);
            return i;
        }
        let acl: Arc<[Acl]> = Arc::from(acl);
        let i = match self.free.pop() {
            Some(i) => {
                if let Some(slot) = self.slots.get_mut(i as usize) {
                    *slot = (acl.clone(), 1);
                }
                i
            }
            None => {
                self.slots.push((acl.clone(), 1));
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index.insert(acl, i);
        self.last = Some(i);
        i
    }

    /// [`AclPool::acquire`] for a list read in place from a txn: the list acquired last, if
    /// it is this one, costs a comparison; any other is copied out and acquired.
    pub(crate) fn acquire_wire(&mut self, acl: &WireAcls<'_>) -> u32 {
        if let Some(i) = self.last {
            if let Some(slot) = self.slots.get_mut(i as usize) {
                // A count of 0 is a free slot, whatever list it still shows.
                if slot.1 > 0 && acl.matches(&slot.0) {
                    slot.1 = slot.1.saturating_add(1);
                    return i;
                }
            }
        }
        self.acquire(&acl.to_acls())
    }

    /// Counts one node less using list `i`; the list leaves the pool with its last node.
    pub(crate) fn release(&mut self, i: u32) {
        let Some(slot) = self.slots.get_mut(i as usize) else {
            return;
        };
        if slot.1 == 0 {
            return;
        }
        slot.1 -= 1;
        if slot.1 == 0 {
            let list = core::mem::replace(&mut slot.0, self.none.clone());
            self.index.remove(&*list);
            self.free.push(i);
        }
    }

    /// List `i`.
    pub(crate) fn get(&self, i: u32) -> &Arc<[Acl]> {
        self.slots.get(i as usize).map_or(&self.none, |s| &s.0)
    }

    /// Distinct lists in use.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// The lists in use with their indexes, in list order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &Arc<[Acl]>)> {
        self.index.iter().map(|(a, &i)| (i, a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{perms, Id};

    fn acl(p: i32) -> Arc<[Acl]> {
        Arc::from([Acl {
            perms: p,
            id: Id::anyone(),
        }])
    }

    #[test]
    fn lists_are_shared_counted_and_their_slots_reused() {
        let mut pool = AclPool::default();
        let a = acl(perms::ALL);
        let b = acl(perms::READ);
        assert_eq!(pool.acquire(&a), 0);
        assert_eq!(pool.acquire(&acl(perms::ALL)), 0);
        assert_eq!(pool.acquire(&b), 1);
        assert_eq!(pool.len(), 2);
        assert!(Arc::ptr_eq(&pool.shared(&a), pool.get(0)));
        pool.release(0);
        assert_eq!(pool.len(), 2, "one node still uses list 0");
        pool.release(0);
        assert_eq!(pool.len(), 1);
        assert!(pool.get(0).is_empty(), "a freed slot reads as no ACL");
        pool.release(0);
        assert_eq!(pool.len(), 1, "releasing a free slot changes nothing");
        let c = acl(perms::WRITE);
        assert_eq!(pool.acquire(&c), 0, "the freed slot is reused");
        assert_eq!(&**pool.get(0), &*c);
        assert_eq!(pool.get(99).len(), 0);
        let listed: Vec<u32> = pool.iter().map(|(i, _)| i).collect();
        assert_eq!(listed.len(), 2);
    }

    fn wire(list: &[Acl]) -> WireAcls<'_> {
        let bytes = postcard::to_allocvec(&alloc::vec::Vec::from_iter(
            list.iter().map(|a| (a.perms, &a.id.scheme, &a.id.id)),
        ))
        .unwrap();
        // Borrowed from a leaked copy: the test's lists live for the whole test.
        let bytes: &'static [u8] = alloc::boxed::Box::leak(bytes.into_boxed_slice());
        postcard::from_bytes(bytes).unwrap()
    }

    /// A list read in place lands in the slot of an equal pooled list, counted, whether or not
    /// it was the one acquired last, and never in a freed slot that still shows it.
    #[test]
    fn a_list_read_in_place_is_counted_in_the_slot_of_its_equal() {
        let mut pool = AclPool::default();
        let a = acl(perms::ALL);
        let b = acl(perms::READ);
        assert_eq!(pool.acquire(&a), 0);
        assert_eq!(
            pool.acquire_wire(&wire(&a)),
            0,
            "the last list, matched in place"
        );
        assert_eq!(pool.acquire(&b), 1);
        assert_eq!(
            pool.acquire_wire(&wire(&a)),
            0,
            "not the last list: found in the index"
        );
        assert_eq!(pool.acquire_wire(&wire(&a)), 0);
        for _ in 0..4 {
            pool.release(0);
        }
        assert_eq!(pool.len(), 1, "four acquisitions of list 0, four releases");
        // Slot 0, acquired last, is free and shows the empty list: an empty list read in
        // place must be pooled, not counted in the free slot.
        assert_eq!(pool.acquire_wire(&wire(&[])), 0, "the freed slot is reused");
        assert_eq!(pool.len(), 2, "the empty list is in the index");
        assert_eq!(pool.acquire_wire(&wire(&b)), 1);
        assert_eq!(
            pool.acquire_wire(&wire(&a)),
            2,
            "a list pooled no more is copied in"
        );
        assert_eq!(&**pool.get(2), &*a);
        assert_eq!(pool.len(), 3);
    }
}
