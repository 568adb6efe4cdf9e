//! One znode: data, interned ACL, persisted stat, child count; the `ephemeralOwner` encoding.
//!
//! **ACL representation.** Real trees use a handful of distinct ACLs over millions of nodes:
//! the tree stores each list once in its pool (`tree::acl_pool`, like ZooKeeper's reference-
//! counted ACL cache) and a packed node stores the list's index. A [`NodeRef`] hands out the
//! pooled `Arc<[Acl]>` itself, so permission checks need no copy.

use alloc::boxed::Box;
use alloc::sync::Arc;
use serde::{Deserialize, Serialize};

use crate::client::{Acl, Stat};

/// `ephemeralOwner` of a container node (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`).
pub(crate) const CONTAINER_OWNER: i64 = i64::MIN;
/// Largest TTL in ms (40 bits).
pub(crate) const MAX_TTL_MS: i64 = 0x00FF_FFFF_FFFF;
const EXTENDED_MASK: u64 = 0xFF00_0000_0000_0000;
const EXTENDED_TYPE_MASK: u64 = 0x00FF_FF00_0000_0000;

/// What a node's `ephemeralOwner` says about it (§4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EphemeralType {
    /// A plain persistent node (owner 0).
    Persistent,
    /// An ephemeral node owned by this session.
    Session(i64),
    /// A container node.
    Container,
    /// A persistent node with this TTL (ms).
    Ttl(i64),
}

impl EphemeralType {
    /// Decodes an `ephemeralOwner`.
    pub const fn from_owner(owner: i64) -> EphemeralType {
        let bits = owner as u64;
        if owner == 0 {
            EphemeralType::Persistent
        } else if owner == CONTAINER_OWNER {
            EphemeralType::Container
        } else if bits & EXTENDED_MASK == EXTENDED_MASK && bits & EXTENDED_TYPE_MASK == 0 {
            EphemeralType::Ttl(owner & MAX_TTL_MS)
        } else {
            EphemeralType::Session(owner)
        }
    }

    /// Encodes as an `ephemeralOwner` (a TTL is truncated to 40 bits).
    pub const fn to_owner(self) -> i64 {
        match self {
            EphemeralType::Persistent => 0,
            EphemeralType::Session(s) => s,
            EphemeralType::Container => CONTAINER_OWNER,
            EphemeralType::Ttl(ttl) => (EXTENDED_MASK as i64) | (ttl & MAX_TTL_MS),
        }
    }

    /// Whether a session id would be misread as a container/TTL marker (top byte 0xFF).
    pub const fn session_id_is_ambiguous(session_id: i64) -> bool {
        session_id == CONTAINER_OWNER || (session_id as u64) & EXTENDED_MASK == EXTENDED_MASK
    }
}

/// The stat fields a node stores (`StatPersisted`); `cversion` is the *stored* creation count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatPersisted {
    /// zxid of the create.
    pub czxid: i64,
    /// zxid of the last setData.
    pub mzxid: i64,
    /// Creation time (ms).
    pub ctime: i64,
    /// Last setData time (ms).
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Stored child version: number of child creations.
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Raw owner: session, container marker, TTL marker or 0.
    pub ephemeral_owner: i64,
    /// zxid of the last child create/delete.
    pub pzxid: i64,
}

impl StatPersisted {
    /// The stat of a node created at `zxid`/`time_ms` with `owner`.
    pub const fn created(zxid: i64, time_ms: i64, owner: i64) -> StatPersisted {
        StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            ctime: time_ms,
            mtime: time_ms,
            version: 0,
            cversion: 0,
            aversion: 0,
            ephemeral_owner: owner,
            pzxid: zxid,
        }
    }

    /// The client-visible stat: cversion = 2·stored − numChildren; container/TTL report owner 0.
    pub fn to_stat(&self, data_length: i32, num_children: i32) -> Stat {
        let owner = match EphemeralType::from_owner(self.ephemeral_owner) {
            EphemeralType::Session(s) => s,
            _ => 0,
        };
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(num_children),
            aversion: self.aversion,
            ephemeral_owner: owner,
            data_length,
            num_children,
            pzxid: self.pzxid,
        }
    }
}

/// Whether `new` is later than `old` in i32 serial-number order (handles the cversion wrap).
pub(crate) const fn serial_gt(new: i32, old: i32) -> bool {
    new.wrapping_sub(old) > 0
}

/// A node, owned: what goes into the tree and comes out of it ([`NodeRef`] is how the tree
/// hands out the nodes it holds).
///
/// A node holds no child names: the tree indexes children by path key
/// (`DataTree::children`, D34), and the node keeps only their count for its stat and for
/// delete/reaper checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Znode {
    /// The data; `None` when created/set with jute null.
    pub data: Option<Box<[u8]>>,
    /// The ACL (interned in the tree's pool).
    pub acl: Arc<[Acl]>,
    /// Persisted stat (raw cversion).
    pub stat: StatPersisted,
    /// How many children the node has (kept by the tree on every create and delete).
    pub(crate) child_count: u32,
}

impl Znode {
    /// The node read in place, as the tree hands it out.
    pub fn view(&self) -> NodeRef<'_> {
        NodeRef {
            data: self.data.as_deref(),
            acl: &self.acl,
            stat: self.stat,
            child_count: self.child_count,
        }
    }

    /// Length of the data as the stat reports it.
    pub fn data_length(&self) -> i32 {
        self.view().data_length()
    }

    /// Number of children as the stat reports it.
    pub fn num_children(&self) -> i32 {
        self.view().num_children()
    }

    /// Whether the node has no children.
    pub fn is_leaf(&self) -> bool {
        self.child_count == 0
    }

    /// A fresh node without children.
    pub(crate) fn new(data: Option<Box<[u8]>>, acl: Arc<[Acl]>, stat: StatPersisted) -> Znode {
        Znode {
            data,
            acl,
            stat,
            child_count: 0,
        }
    }

    /// The stat clients see.
    pub fn stat(&self) -> Stat {
        self.view().stat()
    }

    /// What kind of node this is.
    pub fn kind(&self) -> EphemeralType {
        self.view().kind()
    }
}

/// A node of the tree read where it lives (the tree keeps nodes packed, `tree::packed`):
/// data and ACL borrowed, stat decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRef<'a> {
    /// The data; `None` when created/set with jute null.
    pub data: Option<&'a [u8]>,
    /// The ACL (interned in the tree's pool).
    pub acl: &'a Arc<[Acl]>,
    /// Persisted stat (raw cversion).
    pub stat: StatPersisted,
    /// How many children the node has.
    pub(crate) child_count: u32,
}

impl NodeRef<'_> {
    /// Length of the data as the stat reports it.
    pub fn data_length(&self) -> i32 {
        data_length(self.data)
    }

    /// Number of children as the stat reports it.
    pub fn num_children(&self) -> i32 {
        i32::try_from(self.child_count).unwrap_or(i32::MAX)
    }

    /// Whether the node has no children.
    pub fn is_leaf(&self) -> bool {
        self.child_count == 0
    }

    /// The stat clients see.
    pub fn stat(&self) -> Stat {
        self.stat.to_stat(self.data_length(), self.num_children())
    }

    /// What kind of node this is.
    pub fn kind(&self) -> EphemeralType {
        EphemeralType::from_owner(self.stat.ephemeral_owner)
    }

    /// An owned copy.
    pub fn to_znode(&self) -> Znode {
        Znode {
            data: self.data.map(Box::from),
            acl: self.acl.clone(),
            stat: self.stat,
            child_count: self.child_count,
        }
    }
}

/// The dataLength of optional data (saturating).
pub(crate) fn data_length(data: Option<&[u8]>) -> i32 {
    data.map_or(0, |d| i32::try_from(d.len()).unwrap_or(i32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_encoding() {
        assert_eq!(EphemeralType::from_owner(0), EphemeralType::Persistent);
        assert_eq!(
            EphemeralType::from_owner(i64::MIN),
            EphemeralType::Container
        );
        assert_eq!(
            EphemeralType::from_owner(0x0100_0000_0000_0001),
            EphemeralType::Session(0x0100_0000_0000_0001)
        );
        let ttl = EphemeralType::Ttl(1000).to_owner();
        assert_eq!(ttl as u64, 0xFF00_0000_0000_03E8);
        assert_eq!(EphemeralType::from_owner(ttl), EphemeralType::Ttl(1000));
        assert_eq!(
            EphemeralType::Ttl(MAX_TTL_MS).to_owner() as u64,
            0xFF00_00FF_FFFF_FFFF
        );
        // Extended type bits other than 0 are not TTL.
        let other = 0xFF01_0000_0000_0001u64 as i64;
        assert_eq!(
            EphemeralType::from_owner(other),
            EphemeralType::Session(other)
        );
        assert!(EphemeralType::session_id_is_ambiguous(
            0xFF00_0000_0000_0001u64 as i64
        ));
        assert!(!EphemeralType::session_id_is_ambiguous(
            0x0100_0000_0000_0001
        ));
    }

    #[test]
    fn reported_stat() {
        let mut s = StatPersisted::created(5, 10, CONTAINER_OWNER);
        s.cversion = 3;
        let st = s.to_stat(4, 1);
        assert_eq!(
            (
                st.cversion,
                st.ephemeral_owner,
                st.data_length,
                st.num_children
            ),
            (5, 0, 4, 1)
        );
        let s = StatPersisted::created(5, 10, EphemeralType::Ttl(5).to_owner());
        assert_eq!(s.to_stat(0, 0).ephemeral_owner, 0);
        let s = StatPersisted::created(5, 10, 77);
        assert_eq!(s.to_stat(0, 0).ephemeral_owner, 77);
        assert!(serial_gt(i32::MIN, i32::MAX));
        assert!(!serial_gt(i32::MAX, i32::MIN));
        assert!(serial_gt(1, 0) && !serial_gt(0, 0));
    }
}
