//! Our txn bodies: idempotent state deltas computed by prep (§3.4), postcard-encoded, with
//! `TxnHeader.kind` = the ZooKeeper txn type number; and the results applying them yields.
//!
//! A multi holds [`SubTxn`]s, which cannot themselves be multis: the types are not
//! recursive, so decoding hostile bytes cannot recurse without bound.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use super::znode::EphemeralType;
use crate::client::{Acl, ErrorCode, MultiResult, Response, Stat};

/// Txn type numbers (`ZooDefs.OpCode`) carried in `TxnHeader.kind`.
pub(crate) mod kind {
    /// create (1).
    pub(crate) const CREATE: i32 = 1;
    /// delete (2).
    pub(crate) const DELETE: i32 = 2;
    /// setData (5).
    pub(crate) const SET_DATA: i32 = 5;
    /// setACL (7).
    pub(crate) const SET_ACL: i32 = 7;
    /// check (13).
    pub(crate) const CHECK: i32 = 13;
    /// multi (14).
    pub(crate) const MULTI: i32 = 14;
    /// create2 (15).
    pub(crate) const CREATE2: i32 = 15;
    /// createContainer (19).
    pub(crate) const CREATE_CONTAINER: i32 = 19;
    /// createTTL (21).
    pub(crate) const CREATE_TTL: i32 = 21;
    /// reconfig (16): the new membership, set as the data of `/zookeeper/config`.
    pub(crate) const RECONFIG: i32 = crate::client::OpCode::Reconfig.as_i32();
    /// createSession (−10).
    pub(crate) const CREATE_SESSION: i32 = -10;
    /// closeSession (−11).
    pub(crate) const CLOSE_SESSION: i32 = -11;
    /// error (−1).
    pub(crate) const ERROR: i32 = -1;
}

/// serde adapters for the client codec types (which are jute, not serde).
pub(crate) mod wire {
    use super::*;
    use serde::de::Error as _;
    use serde::{Deserializer, Serializer};

    pub(crate) mod acl_list {
        use super::*;
        pub(crate) fn serialize<S: Serializer>(acl: &[Acl], s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(acl.iter().map(|a| (a.perms, &a.id.scheme, &a.id.id)))
        }
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Acl>, D::Error> {
            let raw = Vec::<(i32, String, String)>::deserialize(d)?;
            Ok(raw
                .into_iter()
                .map(|(perms, scheme, id)| Acl {
                    perms,
                    id: crate::client::Id { scheme, id },
                })
                .collect())
        }
    }

    pub(crate) mod stat {
        use super::*;
        type Raw = (i64, i64, i64, i64, i32, i32, i32, i64, i32, i32, i64);
        pub(crate) fn serialize<S: Serializer>(st: &Stat, s: S) -> Result<S::Ok, S::Error> {
            let raw: Raw = (
                st.czxid,
                st.mzxid,
                st.ctime,
                st.mtime,
                st.version,
                st.cversion,
                st.aversion,
                st.ephemeral_owner,
                st.data_length,
                st.num_children,
                st.pzxid,
            );
            raw.serialize(s)
        }
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Stat, D::Error> {
            let r = Raw::deserialize(d)?;
            Ok(Stat {
                czxid: r.0,
                mzxid: r.1,
                ctime: r.2,
                mtime: r.3,
                version: r.4,
                cversion: r.5,
                aversion: r.6,
                ephemeral_owner: r.7,
                data_length: r.8,
                num_children: r.9,
                pzxid: r.10,
            })
        }
    }

    pub(crate) mod code {
        use super::*;
        pub(crate) fn serialize<S: Serializer>(c: &ErrorCode, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_i32(c.as_i32())
        }
        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ErrorCode, D::Error> {
            let v = i32::deserialize(d)?;
            ErrorCode::from_i32(v).ok_or_else(|| D::Error::custom("unknown error code"))
        }
    }
}

/// A create delta: the final path (sequence suffix included) and the parent's new stored
/// cversion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateTxn {
    /// The node's full path.
    pub path: String,
    /// Initial data (`None` = jute null).
    #[serde(with = "crate::codec::bytes::option")]
    pub data: Option<Vec<u8>>,
    /// The ACL after `auth` expansion.
    #[serde(with = "wire::acl_list")]
    pub acl: Vec<Acl>,
    /// Raw `ephemeralOwner`: session, container marker, TTL marker or 0.
    pub ephemeral_owner: i64,
    /// The parent's new *stored* cversion.
    pub parent_cversion: i32,
    /// Whether the reply carries the stat (create2/createContainer/createTTL).
    pub with_stat: bool,
}

impl CreateTxn {
    /// The txn type: createContainer, createTTL, create2 or create.
    pub fn kind(&self) -> i32 {
        create_kind(self.ephemeral_owner, self.with_stat)
    }
}

/// The txn type of a create with this `ephemeralOwner` and reply shape.
pub(crate) fn create_kind(ephemeral_owner: i64, with_stat: bool) -> i32 {
    match EphemeralType::from_owner(ephemeral_owner) {
        EphemeralType::Container => kind::CREATE_CONTAINER,
        EphemeralType::Ttl(_) => kind::CREATE_TTL,
        _ if with_stat => kind::CREATE2,
        _ => kind::CREATE,
    }
}

/// One op of a multi txn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubTxn {
    /// Create a node.
    Create(CreateTxn),
    /// Delete a node.
    Delete {
        /// The node.
        path: String,
    },
    /// Replace data.
    SetData {
        /// The node.
        path: String,
        /// New data.
        #[serde(with = "crate::codec::bytes::option")]
        data: Option<Vec<u8>>,
        /// The new version.
        version: i32,
    },
    /// A version check that passed.
    Check {
        /// The node.
        path: String,
        /// The version checked.
        version: i32,
    },
    /// A failed multi's entry: OK before the failure, the error, RUNTIMEINCONSISTENCY after.
    Error {
        /// The code.
        #[serde(with = "wire::code")]
        code: ErrorCode,
    },
}

/// A txn body: a ZooKeeper txn as an idempotent state delta.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ZkTxn {
    /// create / create2 / createContainer / createTTL.
    Create(CreateTxn),
    /// delete.
    Delete {
        /// The node.
        path: String,
    },
    /// setData with the new version.
    SetData {
        /// The node.
        path: String,
        /// New data.
        #[serde(with = "crate::codec::bytes::option")]
        data: Option<Vec<u8>>,
        /// The new version.
        version: i32,
    },
    /// setACL with the new aversion.
    SetAcl {
        /// The node.
        path: String,
        /// The ACL after `auth` expansion.
        #[serde(with = "wire::acl_list")]
        acl: Vec<Acl>,
        /// The new aversion.
        version: i32,
    },
    /// A standalone check that passed.
    Check {
        /// The node.
        path: String,
        /// The version checked.
        version: i32,
    },
    /// multi: all succeed, or every entry is [`SubTxn::Error`] (§4.7).
    Multi(Vec<SubTxn>),
    /// createSession; the session id is `TxnHeader.session_id`.
    CreateSession {
        /// Negotiated timeout (ms).
        timeout_ms: i32,
    },
    /// closeSession with the ephemerals to delete (tree + pending at prep time).
    CloseSession {
        /// Paths to delete.
        ephemerals: Vec<String>,
    },
    /// A failed write (§4.6).
    Error {
        /// Why it failed.
        #[serde(with = "wire::code")]
        code: ErrorCode,
    },
    /// reconfig: the new membership's text becomes the data of `/zookeeper/config` (as
    /// ZooKeeper's SetDataTxn under the reconfig type). Last, so older logs still decode.
    Reconfig {
        /// The membership text ([`crate::config::Membership::text`]).
        data: Vec<u8>,
        /// The config node's new version.
        version: i32,
    },
}

/// Why a txn body was not decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxnDecodeError {
    /// The body is not a postcard `ZkTxn`.
    Malformed,
    /// The body decoded but does not match the header's type.
    KindMismatch {
        /// `TxnHeader.kind`.
        header: i32,
        /// The body's type.
        body: i32,
    },
}

impl ZkTxn {
    /// The ZooKeeper txn type number for `TxnHeader.kind`.
    pub fn kind(&self) -> i32 {
        match self {
            ZkTxn::Create(c) => c.kind(),
            ZkTxn::Delete { .. } => kind::DELETE,
            ZkTxn::SetData { .. } => kind::SET_DATA,
            ZkTxn::SetAcl { .. } => kind::SET_ACL,
            ZkTxn::Check { .. } => kind::CHECK,
            ZkTxn::Multi(_) => kind::MULTI,
            ZkTxn::CreateSession { .. } => kind::CREATE_SESSION,
            ZkTxn::CloseSession { .. } => kind::CLOSE_SESSION,
            ZkTxn::Error { .. } => kind::ERROR,
            ZkTxn::Reconfig { .. } => kind::RECONFIG,
        }
    }

    /// Encodes the body (postcard), into a buffer sized for the common txns up front (grown
    /// from empty, a 100-byte setData went through four reallocations).
    pub fn encode(&self) -> Vec<u8> {
        const FIXED: usize = 32;
        let bulk = match self {
            ZkTxn::Create(c) => {
                c.path.len()
                    + c.data.as_ref().map_or(0, Vec::len)
                    + c.acl
                        .iter()
                        .map(|a| a.id.scheme.len() + a.id.id.len() + 8)
                        .sum::<usize>()
            }
            ZkTxn::SetData { path, data, .. } => path.len() + data.as_ref().map_or(0, Vec::len),
            ZkTxn::Delete { path } => path.len(),
            _ => 0,
        };
        postcard::to_extend(self, Vec::with_capacity(FIXED + bulk)).unwrap_or_default()
    }

    /// Decodes a body and checks it against the header's `kind`; never panics.
    pub fn decode(kind: i32, body: &[u8]) -> Result<ZkTxn, TxnDecodeError> {
        let txn: ZkTxn = postcard::from_bytes(body).map_err(|_| TxnDecodeError::Malformed)?;
        if txn.kind() != kind {
            return Err(TxnDecodeError::KindMismatch {
                header: kind,
                body: txn.kind(),
            });
        }
        Ok(txn)
    }
}

/// The result of one op of an applied multi.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubResult {
    /// Created `path`.
    Create {
        /// The actual path.
        path: String,
        /// The new node's stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
        /// Whether the reply entry is create2-shaped.
        with_stat: bool,
    },
    /// Deleted.
    Delete,
    /// Data set.
    SetData {
        /// The node's new stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
    },
    /// Check passed.
    Check,
    /// Failed (or OK / RUNTIMEINCONSISTENCY in a failed multi).
    Error(#[serde(with = "wire::code")] ErrorCode),
}

impl SubResult {
    /// The multi response entry.
    pub fn to_multi_result(&self) -> MultiResult {
        match self {
            SubResult::Create {
                path,
                stat,
                with_stat: true,
            } => MultiResult::Create2 {
                path: path.clone(),
                stat: *stat,
            },
            SubResult::Create { path, .. } => MultiResult::Create { path: path.clone() },
            SubResult::Delete => MultiResult::Delete,
            SubResult::SetData { stat } => MultiResult::SetData { stat: *stat },
            SubResult::Check => MultiResult::Check,
            SubResult::Error(code) => MultiResult::Error(*code),
        }
    }
}

/// What applying a txn produced: everything the reply needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnResult {
    /// A node was created.
    Create {
        /// The actual path.
        path: String,
        /// Its stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
        /// create2-shaped reply.
        with_stat: bool,
    },
    /// A node was deleted.
    Delete,
    /// setData: the node's new stat.
    SetData {
        /// The stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
    },
    /// setACL: the node's new stat.
    SetAcl {
        /// The stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
    },
    /// Standalone check: the node's stat.
    Check {
        /// The stat.
        #[serde(with = "wire::stat")]
        stat: Stat,
    },
    /// multi: one result per op.
    Multi(Vec<SubResult>),
    /// A session was created.
    CreateSession {
        /// Its timeout (ms).
        timeout_ms: i32,
    },
    /// A session was closed; its ephemerals were deleted.
    CloseSession {
        /// The deleted paths.
        deleted: Vec<String>,
    },
    /// The write failed (error txn, or a replayed txn that no longer applies).
    Error(#[serde(with = "wire::code")] ErrorCode),
    /// reconfig: the new membership and the config node's stat (the reply is getData's).
    Reconfig {
        /// The membership text.
        data: Vec<u8>,
        /// The stat of `/zookeeper/config`.
        #[serde(with = "wire::stat")]
        stat: Stat,
    },
}

impl TxnResult {
    /// Encodes (postcard), for `StateMachine::apply`'s reply bytes.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// Decodes what [`TxnResult::encode`] produced; never panics.
    pub fn decode(bytes: &[u8]) -> Option<TxnResult> {
        postcard::from_bytes(bytes).ok()
    }

    /// The reply: `Ok(body)` or `Err(code)` for the ReplyHeader (a multi is always `Ok`).
    pub fn to_response(&self) -> Result<Response, ErrorCode> {
        Ok(match self {
            TxnResult::Create {
                path,
                stat,
                with_stat: true,
            } => Response::Create2 {
                path: path.clone(),
                stat: *stat,
            },
            TxnResult::Create { path, .. } => Response::Create { path: path.clone() },
            TxnResult::Delete
            | TxnResult::CloseSession { .. }
            | TxnResult::CreateSession { .. } => Response::Empty,
            TxnResult::SetData { stat }
            | TxnResult::SetAcl { stat }
            | TxnResult::Check { stat } => Response::Stat(*stat),
            TxnResult::Multi(rs) => {
                Response::Multi(rs.iter().map(SubResult::to_multi_result).collect())
            }
            TxnResult::Reconfig { data, stat } => Response::GetData {
                data: Some(data.clone()),
                stat: *stat,
            },
            TxnResult::Error(code) => return Err(*code),
        })
    }
}
