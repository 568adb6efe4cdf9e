//! Byte strings in postcard records, encoded and decoded in one piece.
//!
//! serde treats `Vec<u8>` as a sequence, so postcard decodes a txn body one element at a time
//! through a generic visitor (1.8 % of a member's CPU under setData load, with as much again
//! to encode). Postcard writes a sequence of `u8` and a byte string identically — a varint
//! length, then the bytes — so `#[serde(with = "crate::codec::bytes")]` changes no byte on the
//! wire or on disk (`the_encoding_is_the_same_as_a_sequence` holds it to that).

use alloc::vec::Vec;
use core::fmt;

use serde::de::{SeqAccess, Visitor};
use serde::{Deserializer, Serializer};

/// Serializes `bytes` as one byte string.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bytes(bytes)
}

/// Deserializes a byte string (or, from a format that has none, a sequence of bytes).
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    d.deserialize_bytes(BytesVisitor)
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Vec<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
        Ok(v.to_vec())
    }

    fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
        Ok(v)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
        // The hint comes from the input: never trust it for more than a small reservation.
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element()? {
            out.push(b);
        }
        Ok(out)
    }
}

/// The same for a shared byte string (`Arc<[u8]>`: a txn body, which the leader logs and
/// sends to each follower without copying it), decoded in one allocation.
pub(crate) mod shared {
    use super::*;
    use alloc::sync::Arc;

    /// Serializes a shared byte string.
    pub(crate) fn serialize<S: Serializer>(bytes: &Arc<[u8]>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    /// Deserializes a byte string (or a sequence of bytes) into a shared one.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<[u8]>, D::Error> {
        d.deserialize_bytes(SharedVisitor)
    }

    struct SharedVisitor;

    impl<'de> Visitor<'de> for SharedVisitor {
        type Value = Arc<[u8]>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }

        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Arc<[u8]>, E> {
            Ok(Arc::from(v))
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Arc<[u8]>, A::Error> {
            BytesVisitor.visit_seq(seq).map(Arc::from)
        }
    }
}

/// The same for `Option<Vec<u8>>` (a znode's data, absent or present).
pub(crate) mod option {
    use super::*;
    use serde::Serialize;

    struct Bytes<'a>(&'a [u8]);

    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    /// Serializes an optional byte string.
    pub(crate) fn serialize<S: Serializer, B: AsRef<[u8]>>(
        bytes: &Option<B>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&Bytes(b.as_ref())),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an optional byte string.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<Vec<u8>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an optional byte string")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct AsSeq {
        a: Vec<u8>,
        b: Option<Vec<u8>>,
        c: Option<Vec<u8>>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct AsBytes {
        #[serde(with = "super")]
        a: Vec<u8>,
        #[serde(with = "super::option")]
        b: Option<Vec<u8>>,
        #[serde(with = "super::option")]
        c: Option<Vec<u8>>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct AsShared {
        #[serde(with = "super::shared")]
        a: alloc::sync::Arc<[u8]>,
    }

    #[test]
    fn the_encoding_is_the_same_as_a_sequence() {
        for len in [0usize, 1, 127, 128, 300, 70_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let seq = AsSeq {
                a: data.clone(),
                b: Some(data.clone()),
                c: None,
            };
            let bytes = AsBytes {
                a: data.clone(),
                b: Some(data.clone()),
                c: None,
            };
            let old = postcard::to_allocvec(&seq).unwrap();
            let new = postcard::to_allocvec(&bytes).unwrap();
            assert_eq!(old, new, "len {len}");
            assert_eq!(postcard::from_bytes::<AsBytes>(&old).unwrap(), bytes);
            assert_eq!(postcard::from_bytes::<AsSeq>(&new).unwrap(), seq);
            // A shared body (a txn's) is the same bytes as an owned one.
            let shared = AsShared {
                a: data.clone().into(),
            };
            let encoded = postcard::to_allocvec(&shared).unwrap();
            assert_eq!(encoded, postcard::to_allocvec(&data).unwrap(), "len {len}");
            assert_eq!(postcard::from_bytes::<AsShared>(&encoded).unwrap(), shared);
        }
    }

    #[test]
    fn a_truncated_byte_string_is_an_error_not_a_panic() {
        let full = postcard::to_allocvec(&AsBytes {
            a: vec![1; 200],
            b: None,
            c: None,
        })
        .unwrap();
        for cut in 0..full.len() {
            assert!(postcard::from_bytes::<AsBytes>(&full[..cut]).is_err());
        }
    }
}
