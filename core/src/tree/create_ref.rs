//! A create txn read in place from its body: the path, data and ACL borrowed, not copied.
//!
//! **Why.** Every member applies every create. Decoded as a [`CreateTxn`], one allocated its
//! path, its data, the ACL list and two strings per ACL entry, only to pack the node and drop
//! them: under create-many those were a quarter of a member's `malloc` calls. Read in place,
//! applying a create allocates the packed node and the reply's path, and an ACL list the
//! tree already holds (nearly every create's) is matched where it lies.
//!
//! The layout is [`CreateTxn`]'s postcard encoding behind `ZkTxn::Create`'s discriminant,
//! so the two decoders read the same bytes (a test pins it).

use alloc::vec::Vec;
use core::fmt;
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::txn::{create_kind, TxnDecodeError};
use crate::client::Acl;

/// `ZkTxn::Create`'s postcard discriminant: the first byte of every create body.
const CREATE_DISCRIMINANT: u8 = 0;

/// One ACL entry as it lies in a txn body: perms, scheme, id.
pub(crate) type WireAcl<'a> = (i32, &'a str, &'a str);

/// An ACL list as it lies in a txn body. The first entry is held inline: lists of one
/// entry (`world:anyone`, or one `auth` id) allocate nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct WireAcls<'a> {
    first: Option<WireAcl<'a>>,
    rest: Vec<WireAcl<'a>>,
}

impl<'a> WireAcls<'a> {
    /// The entries, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &WireAcl<'a>> {
        self.first.iter().chain(self.rest.iter())
    }

    /// Number of entries.
    pub(crate) fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }

    /// Whether `list` holds the same entries in the same order.
    pub(crate) fn matches(&self, list: &[Acl]) -> bool {
        self.len() == list.len()
            && self.iter().zip(list).all(|(&(perms, scheme, id), a)| {
                perms == a.perms && scheme == a.id.scheme && id == a.id.id
            })
    }

    /// The entries, owned.
    pub(crate) fn to_acls(&self) -> Vec<Acl> {
        self.iter()
            .map(|&(perms, scheme, id)| Acl {
                perms,
                id: crate::client::Id {
                    scheme: scheme.into(),
                    id: id.into(),
                },
            })
            .collect()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for WireAcls<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = WireAcls<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of (perms, scheme, id)")
            }
            // Grown one decoded entry at a time: a hostile length with nothing behind it
            // reserves nothing.
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                let mut rest = Vec::new();
                if first.is_some() {
                    while let Some(e) = seq.next_element()? {
                        rest.push(e);
                    }
                }
                Ok(WireAcls { first, rest })
            }
        }
        d.deserialize_seq(ListVisitor)
    }
}

/// A create txn's fields, borrowed from its body.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct CreateTxnRef<'a> {
    /// The node's full path.
    #[serde(borrow)]
    pub path: &'a str,
    /// Initial data (`None` = jute null).
    #[serde(borrow)]
    pub data: Option<&'a [u8]>,
    /// The ACL after `auth` expansion.
    #[serde(borrow)]
    pub acl: WireAcls<'a>,
    /// Raw `ephemeralOwner`.
    pub ephemeral_owner: i64,
    /// The parent's new *stored* cversion.
    pub parent_cversion: i32,
    /// Whether the reply carries the stat.
    pub with_stat: bool,
}

impl<'a> CreateTxnRef<'a> {
    /// Reads `body` in place if it is a create: `None` for any other txn (decode it whole),
    /// an error for a create that is malformed or does not match the header's `kind`.
    pub(crate) fn read(kind: i32, body: &'a [u8]) -> Option<Result<Self, TxnDecodeError>> {
        let (&first, rest) = body.split_first()?;
        if first != CREATE_DISCRIMINANT {
            return None;
        }
        let c: CreateTxnRef<'a> = match postcard::from_bytes(rest) {
            Ok(c) => c,
            Err(_) => return Some(Err(TxnDecodeError::Malformed)),
        };
        let body_kind = create_kind(c.ephemeral_owner, c.with_stat);
        if body_kind != kind {
            return Some(Err(TxnDecodeError::KindMismatch {
                header: kind,
                body: body_kind,
            }));
        }
        Some(Ok(c))
    }
}

/// The ACL of a node being created: decoded with its txn, or read in place from it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NewAcl<'a> {
    /// Owned by a decoded [`CreateTxn`](super::txn::CreateTxn).
    Decoded(&'a [Acl]),
    /// Borrowed from the txn body.
    InPlace(&'a WireAcls<'a>),
}

/// What applying a create needs, from either decoder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewNode<'a> {
    /// The node's full path.
    pub path: &'a str,
    /// Initial data (`None` = jute null).
    pub data: Option<&'a [u8]>,
    /// The ACL after `auth` expansion.
    pub acl: NewAcl<'a>,
    /// Raw `ephemeralOwner`.
    pub ephemeral_owner: i64,
    /// The parent's new *stored* cversion.
    pub parent_cversion: i32,
}

impl<'a> From<&'a super::txn::CreateTxn> for NewNode<'a> {
    fn from(c: &'a super::txn::CreateTxn) -> NewNode<'a> {
        NewNode {
            path: &c.path,
            data: c.data.as_deref(),
            acl: NewAcl::Decoded(&c.acl),
            ephemeral_owner: c.ephemeral_owner,
            parent_cversion: c.parent_cversion,
        }
    }
}

impl<'a> From<&'a CreateTxnRef<'a>> for NewNode<'a> {
    fn from(c: &'a CreateTxnRef<'a>) -> NewNode<'a> {
        NewNode {
            path: c.path,
            data: c.data,
            acl: NewAcl::InPlace(&c.acl),
            ephemeral_owner: c.ephemeral_owner,
            parent_cversion: c.parent_cversion,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Id;
    use crate::tree::txn::{CreateTxn, ZkTxn};
    use alloc::string::String;
    use alloc::vec;
    use proptest::prelude::*;

    fn acl(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }
    }

    fn create(data: Option<Vec<u8>>, acl: Vec<Acl>, owner: i64, with_stat: bool) -> CreateTxn {
        CreateTxn {
            path: "/a/b-0000000007".into(),
            data,
            acl,
            ephemeral_owner: owner,
            parent_cversion: 8,
            with_stat,
        }
    }

    /// Both decoders read the same bytes to the same fields.
    fn same_as_owned(c: &CreateTxn) {
        let txn = ZkTxn::Create(c.clone());
        let body = txn.encode();
        assert_eq!(body[0], CREATE_DISCRIMINANT, "the discriminant moved");
        let r = CreateTxnRef::read(txn.kind(), &body)
            .expect("a create")
            .expect("decodes");
        assert_eq!(r.path, c.path);
        assert_eq!(r.data, c.data.as_deref());
        assert!(r.acl.matches(&c.acl));
        assert_eq!(r.acl.to_acls(), c.acl);
        assert_eq!(r.ephemeral_owner, c.ephemeral_owner);
        assert_eq!(r.parent_cversion, c.parent_cversion);
        assert_eq!(r.with_stat, c.with_stat);
    }

    #[test]
    fn a_create_reads_in_place_to_what_the_owned_decoder_gives() {
        same_as_owned(&create(None, vec![], 0, false));
        same_as_owned(&create(
            Some(vec![]),
            vec![acl(31, "world", "anyone")],
            0,
            true,
        ));
        same_as_owned(&create(
            Some(b"x".repeat(300)),
            vec![
                acl(31, "digest", "u:h"),
                acl(1, "world", "anyone"),
                acl(3, "ip", "10.0.0.1"),
            ],
            0x0100_0000_0000_0001,
            false,
        ));
    }

    #[test]
    fn other_txns_are_left_to_the_owned_decoder() {
        let del = ZkTxn::Delete { path: "/a".into() };
        assert!(CreateTxnRef::read(del.kind(), &del.encode()).is_none());
        assert!(CreateTxnRef::read(1, &[]).is_none());
    }

    #[test]
    fn a_malformed_or_mismatched_create_is_an_error_not_a_panic() {
        let c = ZkTxn::Create(create(
            Some(vec![1, 2]),
            vec![acl(31, "world", "anyone")],
            0,
            true,
        ));
        let body = c.encode();
        assert_eq!(
            CreateTxnRef::read(1, &body),
            Some(Err(TxnDecodeError::KindMismatch {
                header: 1,
                body: c.kind()
            }))
        );
        for cut in 1..body.len() {
            assert_eq!(
                CreateTxnRef::read(c.kind(), &body[..cut]),
                Some(Err(TxnDecodeError::Malformed)),
                "cut at {cut}"
            );
        }
        // A list claiming 2^32 entries with none behind it reserves nothing and fails.
        let mut hostile = vec![CREATE_DISCRIMINANT, 2, b'/', b'a', 0];
        hostile.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(
            CreateTxnRef::read(1, &hostile),
            Some(Err(TxnDecodeError::Malformed))
        );
    }

    #[test]
    fn an_acl_list_matches_only_the_same_entries_in_order() {
        let body = ZkTxn::Create(create(
            None,
            vec![acl(31, "world", "anyone"), acl(1, "ip", "1.2.3.4")],
            0,
            false,
        ))
        .encode();
        let r = CreateTxnRef::read(1, &body).unwrap().unwrap();
        assert!(r
            .acl
            .matches(&[acl(31, "world", "anyone"), acl(1, "ip", "1.2.3.4")]));
        assert!(!r
            .acl
            .matches(&[acl(1, "ip", "1.2.3.4"), acl(31, "world", "anyone")]));
        assert!(!r.acl.matches(&[acl(31, "world", "anyone")]));
        assert!(!r
            .acl
            .matches(&[acl(31, "world", "anyone"), acl(3, "ip", "1.2.3.4")]));
    }

    proptest! {
        #[test]
        fn any_create_reads_in_place_as_it_decodes(
            data in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..64)),
            acls in proptest::collection::vec((any::<i32>(), "[a-z]{0,6}", "[a-z:0-9]{0,9}"), 0..4),
            owner: i64,
            with_stat: bool,
        ) {
            let acl: Vec<Acl> = acls.iter().map(|(p, s, i)| acl(*p, s, i)).collect();
            let mut c = create(data, acl, owner, with_stat);
            c.path = String::from("/p/") + &"q".repeat(usize::from(with_stat) * 40);
            same_as_owned(&c);
        }
    }
}
