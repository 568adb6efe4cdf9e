//! Reply bodies and their framing: what follows a [`ReplyHeader`] when `err == 0`, the multi
//! result list (§4.7), and watch notifications.

use alloc::string::String;
use alloc::vec::Vec;

use super::frame::encode_frame_with;
use super::jute::{JuteError, JuteReader, JuteRecord, JuteWriter};
use super::ops::{ErrorCode, OpCode};
use super::records::{
    read_acl_list, write_acl_list, Acl, ClientInfo, MultiHeader, ReplyHeader, Stat, WatcherEvent,
    NOTIFICATION_XID,
};
use super::request::DecodeError;

/// One entry of a multi / multiRead response. The variant fixes the entry's MultiHeader type:
/// Java writes create2, createContainer and createTTL results all as type create2 (15).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiResult {
    /// Type create (1): `CreateResponse{path}`.
    Create {
        /// Actual path created.
        path: String,
    },
    /// Type create2 (15): `Create2Response{path, stat}`.
    Create2 {
        /// Actual path created.
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// Type delete (2), no body.
    Delete,
    /// Type setData (5): `SetDataResponse{stat}`.
    SetData {
        /// The node's new stat.
        stat: Stat,
    },
    /// Type check (13), no body.
    Check,
    /// Type getData (4): `GetDataResponse{data, stat}` (multiRead).
    GetData {
        /// The data; `None` is jute null.
        data: Option<Vec<u8>>,
        /// The node's stat.
        stat: Stat,
    },
    /// Type getChildren (8): `GetChildrenResponse{children}` (multiRead).
    GetChildren {
        /// Child names.
        children: Vec<String>,
    },
    /// Type error (−1) with `err = code`, then `ErrorResponse{code}`. In a failed multi the
    /// ops before the failing one carry [`ErrorCode::Ok`], the ones after it
    /// [`ErrorCode::RuntimeInconsistency`].
    Error(ErrorCode),
}

impl MultiResult {
    fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            MultiResult::Create { .. } => (OpCode::Create, 0),
            MultiResult::Create2 { .. } => (OpCode::Create2, 0),
            MultiResult::Delete => (OpCode::Delete, 0),
            MultiResult::SetData { .. } => (OpCode::SetData, 0),
            MultiResult::Check => (OpCode::Check, 0),
            MultiResult::GetData { .. } => (OpCode::GetData, 0),
            MultiResult::GetChildren { .. } => (OpCode::GetChildren, 0),
            MultiResult::Error(code) => (OpCode::Error, code.as_i32()),
        };
        MultiHeader {
            op: op.as_i32(),
            done: false,
            err,
        }
    }

    fn encode(&self, w: &mut JuteWriter<'_>) {
        self.header().encode(w);
        match self {
            MultiResult::Create { path } => w.write_str(path),
            MultiResult::Create2 { path, stat } => {
                w.write_str(path);
                stat.encode(w);
            }
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData { stat } => stat.encode(w),
            MultiResult::GetData { data, stat } => {
                w.write_buffer(data.as_deref());
                stat.encode(w);
            }
            MultiResult::GetChildren { children } => w.write_string_list(children),
            MultiResult::Error(code) => w.write_i32(code.as_i32()),
        }
    }

    /// Reads the body after `header`; an error entry's code comes from its ErrorResponse (the
    /// header's copy is not checked, as in Java).
    fn decode(header: MultiHeader, r: &mut JuteReader<'_>) -> Result<MultiResult, JuteError> {
        Ok(match OpCode::from_i32(header.op) {
            Some(OpCode::Create) => MultiResult::Create {
                path: r.read_string()?,
            },
            Some(OpCode::Create2) => MultiResult::Create2 {
                path: r.read_string()?,
                stat: Stat::decode(r)?,
            },
            Some(OpCode::Delete) => MultiResult::Delete,
            Some(OpCode::SetData) => MultiResult::SetData {
                stat: Stat::decode(r)?,
            },
            Some(OpCode::Check) => MultiResult::Check,
            Some(OpCode::GetData) => MultiResult::GetData {
                data: r.read_buffer_vec()?,
                stat: Stat::decode(r)?,
            },
            Some(OpCode::GetChildren) => MultiResult::GetChildren {
                children: r.read_string_list()?,
            },
            Some(OpCode::Error) => {
                let err = r.read_i32()?;
                MultiResult::Error(ErrorCode::from_i32(err).ok_or(JuteError::Invalid {
                    field: "multi error code",
                    value: err,
                })?)
            }
            _ => {
                return Err(JuteError::Invalid {
                    field: "multi result type",
                    value: header.op,
                })
            }
        })
    }
}

/// A reply body (what follows a ReplyHeader with `err == 0`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Response {
    /// No body: delete, ping, auth, setWatches(2), removeWatches, checkWatches, closeSession.
    Empty,
    /// create: `CreateResponse{path}`.
    Create {
        /// Actual path created (with any sequence suffix).
        path: String,
    },
    /// create2, createContainer, createTTL: `Create2Response{path, stat}`.
    Create2 {
        /// Actual path created.
        path: String,
        /// The new node's stat.
        stat: Stat,
    },
    /// exists, setData, setACL (and Java's standalone check): a bare `Stat`.
    Stat(Stat),
    /// getData and reconfig: `GetDataResponse{data, stat}`.
    GetData {
        /// The data; `None` is jute null (a node created with null data).
        data: Option<Vec<u8>>,
        /// The node's stat.
        stat: Stat,
    },
    /// getACL: `GetACLResponse{acl, stat}`.
    GetAcl {
        /// The ACL (digest hashes masked for non-admins by the caller).
        acl: Vec<Acl>,
        /// The node's stat.
        stat: Stat,
    },
    /// getChildren: `GetChildrenResponse{children}`.
    GetChildren {
        /// Child names, not paths.
        children: Vec<String>,
    },
    /// getChildren2: `GetChildren2Response{children, stat}`.
    GetChildren2 {
        /// Child names.
        children: Vec<String>,
        /// The parent's stat.
        stat: Stat,
    },
    /// getAllChildrenNumber: `GetAllChildrenNumberResponse{totalNumber}`.
    GetAllChildrenNumber {
        /// Number of descendants.
        total: i32,
    },
    /// sync: `SyncResponse{path}` (echoed).
    Sync {
        /// The request's path.
        path: String,
    },
    /// getEphemerals: `GetEphemeralsResponse{ephemerals}`.
    GetEphemerals {
        /// The session's ephemeral paths under the prefix.
        paths: Vec<String>,
    },
    /// whoAmI: `WhoAmIResponse{clientInfo}`.
    WhoAmI {
        /// The connection's identities.
        clients: Vec<ClientInfo>,
    },
    /// addWatch: the 4-byte `ErrorResponse{err = 0}` the client expects.
    AddWatch,
    /// sasl: `SetSASLResponse{token}`.
    Sasl {
        /// Server's SASL token (null reads as empty).
        token: Vec<u8>,
    },
    /// multi and multiRead: the result list, terminated by `MultiHeader{−1, true, −1}`.
    Multi(Vec<MultiResult>),
}

impl Response {
    /// Appends the body.
    pub fn encode_body(&self, w: &mut JuteWriter<'_>) {
        match self {
            Response::Empty => {}
            Response::Create { path } | Response::Sync { path } => w.write_str(path),
            Response::Create2 { path, stat } => {
                w.write_str(path);
                stat.encode(w);
            }
            Response::Stat(stat) => stat.encode(w),
            Response::GetData { data, stat } => {
                w.write_buffer(data.as_deref());
                stat.encode(w);
            }
            Response::GetAcl { acl, stat } => {
                write_acl_list(w, acl);
                stat.encode(w);
            }
            Response::GetChildren { children } => w.write_string_list(children),
            Response::GetChildren2 { children, stat } => {
                w.write_string_list(children);
                stat.encode(w);
            }
            Response::GetAllChildrenNumber { total } => w.write_i32(*total),
            Response::GetEphemerals { paths } => w.write_string_list(paths),
            Response::WhoAmI { clients } => w.write_vec(clients, |w, c| c.encode(w)),
            Response::AddWatch => w.write_i32(0),
            Response::Sasl { token } => w.write_bytes(token),
            Response::Multi(results) => {
                for result in results {
                    result.encode(w);
                }
                MultiHeader::END.encode(w);
            }
        }
    }
}

/// Appends one reply frame: length prefix, `header`, then `body` — only when `header.err` is
/// 0, except a multi result list, which is always written (§4.7: a failed multi has err 0 and
/// carries its errors per entry).
pub fn encode_reply(header: &ReplyHeader, body: Option<&Response>, out: &mut Vec<u8>) {
    encode_frame_with(out, |w| {
        header.encode(w);
        match body {
            Some(multi @ Response::Multi(_)) => multi.encode_body(w),
            Some(body) if header.err == 0 => body.encode_body(w),
            _ => {}
        }
    });
}

/// Appends one notification frame: `ReplyHeader{−1, zxid, 0}` + `WatcherEvent`.
pub fn encode_notification(zxid: i64, event: &WatcherEvent, out: &mut Vec<u8>) {
    encode_frame_with(out, |w| {
        ReplyHeader::ok(NOTIFICATION_XID, zxid).encode(w);
        event.encode(w);
    });
}

/// Decodes the body of a successful (`err == 0`) reply to a request with opcode `op`.
///
/// Opcodes with no client reply (notification, error, createSession, deleteContainer) are
/// [`DecodeError::Unimplemented`]; trailing bytes are ignored, as Java clients ignore them.
pub fn decode_response(
    op: OpCode,
    body: &[u8],
    max_buffer: usize,
) -> Result<Response, DecodeError> {
    let r = &mut JuteReader::new(body, max_buffer);
    let response = match op {
        OpCode::Notification | OpCode::Error | OpCode::CreateSession | OpCode::DeleteContainer => {
            return Err(DecodeError::Unimplemented(op.as_i32()))
        }
        OpCode::Delete
        | OpCode::Ping
        | OpCode::Auth
        | OpCode::SetWatches
        | OpCode::SetWatches2
        | OpCode::RemoveWatches
        | OpCode::CheckWatches
        | OpCode::CloseSession => Response::Empty,
        OpCode::Create => Response::Create {
            path: r.read_string()?,
        },
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => Response::Create2 {
            path: r.read_string()?,
            stat: Stat::decode(r)?,
        },
        OpCode::Exists | OpCode::SetData | OpCode::SetAcl | OpCode::Check => {
            Response::Stat(Stat::decode(r)?)
        }
        OpCode::GetData | OpCode::Reconfig => Response::GetData {
            data: r.read_buffer_vec()?,
            stat: Stat::decode(r)?,
        },
        OpCode::GetAcl => Response::GetAcl {
            acl: read_acl_list(r)?,
            stat: Stat::decode(r)?,
        },
        OpCode::GetChildren => Response::GetChildren {
            children: r.read_string_list()?,
        },
        OpCode::GetChildren2 => Response::GetChildren2 {
            children: r.read_string_list()?,
            stat: Stat::decode(r)?,
        },
        OpCode::GetAllChildrenNumber => Response::GetAllChildrenNumber {
            total: r.read_i32()?,
        },
        OpCode::Sync => Response::Sync {
            path: r.read_string()?,
        },
        OpCode::GetEphemerals => Response::GetEphemerals {
            paths: r.read_string_list()?,
        },
        OpCode::WhoAmI => Response::WhoAmI {
            clients: r.read_list(ClientInfo::MIN_BYTES, ClientInfo::decode)?,
        },
        OpCode::AddWatch => {
            r.read_i32()?;
            Response::AddWatch
        }
        OpCode::Sasl => Response::Sasl {
            token: r.read_bytes()?,
        },
        OpCode::Multi | OpCode::MultiRead => {
            let mut results = Vec::new();
            loop {
                let header = MultiHeader::decode(r)?;
                if header.done {
                    break;
                }
                results.push(MultiResult::decode(header, r)?);
            }
            Response::Multi(results)
        }
    };
    Ok(response)
}

#[cfg(test)]
pub(crate) mod strategies {
    //! proptest strategies for every response variant.
    use super::*;
    use crate::client::records::strategies::{acls, bytes, client_info, data, stat, strings, text};
    use alloc::vec;
    use proptest::prelude::*;

    pub(crate) fn multi_result() -> impl Strategy<Value = MultiResult> {
        prop_oneof![
            text().prop_map(|path| MultiResult::Create { path }),
            (text(), stat()).prop_map(|(path, stat)| MultiResult::Create2 { path, stat }),
            Just(MultiResult::Delete),
            stat().prop_map(|stat| MultiResult::SetData { stat }),
            Just(MultiResult::Check),
            (data(), stat()).prop_map(|(data, stat)| MultiResult::GetData { data, stat }),
            strings().prop_map(|children| MultiResult::GetChildren { children }),
            proptest::sample::select(ErrorCode::ALL).prop_map(MultiResult::Error),
        ]
    }

    /// A response together with an opcode whose reply has that shape.
    pub(crate) fn response() -> impl Strategy<Value = (OpCode, Response)> {
        let ops = |ops: &'static [OpCode]| proptest::sample::select(ops);
        prop_oneof![
            ops(&[
                OpCode::Delete,
                OpCode::Ping,
                OpCode::Auth,
                OpCode::SetWatches,
                OpCode::SetWatches2,
                OpCode::RemoveWatches,
                OpCode::CheckWatches,
                OpCode::CloseSession
            ])
            .prop_map(|op| (op, Response::Empty)),
            text().prop_map(|path| (OpCode::Create, Response::Create { path })),
            (
                ops(&[OpCode::Create2, OpCode::CreateContainer, OpCode::CreateTtl]),
                text(),
                stat()
            )
                .prop_map(|(op, path, stat)| (op, Response::Create2 { path, stat })),
            (
                ops(&[
                    OpCode::Exists,
                    OpCode::SetData,
                    OpCode::SetAcl,
                    OpCode::Check
                ]),
                stat()
            )
                .prop_map(|(op, stat)| (op, Response::Stat(stat))),
            (ops(&[OpCode::GetData, OpCode::Reconfig]), data(), stat())
                .prop_map(|(op, data, stat)| (op, Response::GetData { data, stat })),
            (acls(), stat())
                .prop_map(|(acl, stat)| (OpCode::GetAcl, Response::GetAcl { acl, stat })),
            strings()
                .prop_map(|children| (OpCode::GetChildren, Response::GetChildren { children })),
            (strings(), stat()).prop_map(|(children, stat)| (
                OpCode::GetChildren2,
                Response::GetChildren2 { children, stat }
            )),
            any::<i32>().prop_map(|total| (
                OpCode::GetAllChildrenNumber,
                Response::GetAllChildrenNumber { total }
            )),
            text().prop_map(|path| (OpCode::Sync, Response::Sync { path })),
            strings().prop_map(|paths| (OpCode::GetEphemerals, Response::GetEphemerals { paths })),
            proptest::collection::vec(client_info(), 0..4)
                .prop_map(|clients| (OpCode::WhoAmI, Response::WhoAmI { clients })),
            Just((OpCode::AddWatch, Response::AddWatch)),
            bytes().prop_map(|token| (OpCode::Sasl, Response::Sasl { token })),
            (
                ops(&[OpCode::Multi, OpCode::MultiRead]),
                proptest::collection::vec(multi_result(), 0..5)
            )
                .prop_map(|(op, results)| (op, Response::Multi(results))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::response;
    use super::*;
    use crate::client::jute::DEFAULT_MAX_BUFFER;
    use crate::client::ops::{EventType, KeeperState};
    use alloc::vec;
    use proptest::prelude::*;

    #[test]
    fn error_replies_carry_no_body() {
        let mut out = Vec::new();
        encode_reply(
            &ReplyHeader::error(2, 1, ErrorCode::NodeExists),
            Some(&Response::Create { path: "/x".into() }),
            &mut out,
        );
        assert_eq!(out.len(), 4 + ReplyHeader::BYTES);
    }

    #[test]
    fn multi_results_are_written_whatever_the_header() {
        let results = Response::Multi(vec![MultiResult::Error(ErrorCode::NoNode)]);
        let mut out = Vec::new();
        encode_reply(
            &ReplyHeader::error(2, 1, ErrorCode::SessionMoved),
            Some(&results),
            &mut out,
        );
        assert_eq!(out.len(), 4 + ReplyHeader::BYTES + 13 + 9);
    }

    #[test]
    fn add_watch_reply_is_four_zero_bytes() {
        let mut out = Vec::new();
        encode_reply(&ReplyHeader::ok(3, 7), Some(&Response::AddWatch), &mut out);
        assert_eq!(&out[4 + ReplyHeader::BYTES..], &[0, 0, 0, 0]);
    }

    #[test]
    fn create2_family_results_share_type_15() {
        let r = MultiResult::Create2 {
            path: "/c".into(),
            stat: Stat::default(),
        };
        assert_eq!(r.header().op, 15);
        assert_eq!(MultiResult::Error(ErrorCode::NoNode).header().err, -101);
    }

    #[test]
    fn unknown_multi_result_type_is_rejected() {
        let mut body = Vec::new();
        let mut w = JuteWriter::new(&mut body);
        MultiHeader {
            op: 21,
            done: false,
            err: 0,
        }
        .encode(&mut w);
        assert_eq!(
            decode_response(OpCode::Multi, &body, DEFAULT_MAX_BUFFER),
            Err(DecodeError::Marshalling(JuteError::Invalid {
                field: "multi result type",
                value: 21
            }))
        );
    }

    #[test]
    fn notification_frame() {
        let mut out = Vec::new();
        let ev = WatcherEvent {
            event_type: EventType::NodeDeleted,
            state: KeeperState::SyncConnected,
            path: "/a".into(),
        };
        encode_notification(-1, &ev, &mut out);
        let (h, body) = ReplyHeader::split(&out[4..]).unwrap();
        assert_eq!(h, ReplyHeader::ok(-1, -1));
        assert_eq!(WatcherEvent::from_bytes(body, DEFAULT_MAX_BUFFER), Ok(ev));
    }

    #[test]
    fn server_only_opcodes_have_no_response() {
        for op in [
            OpCode::Notification,
            OpCode::Error,
            OpCode::CreateSession,
            OpCode::DeleteContainer,
        ] {
            assert_eq!(
                decode_response(op, &[], DEFAULT_MAX_BUFFER),
                Err(DecodeError::Unimplemented(op.as_i32()))
            );
        }
    }

    #[test]
    fn huge_children_count_fails_fast() {
        let mut body = i32::MAX.to_be_bytes().to_vec();
        body.extend_from_slice(&[0; 8]);
        assert!(matches!(
            decode_response(OpCode::GetChildren, &body, usize::MAX),
            Err(DecodeError::Marshalling(JuteError::Truncated { .. }))
        ));
    }

    proptest! {
        #[test]
        fn responses_round_trip((op, resp) in response(), xid in any::<i32>(), zxid in any::<i64>()) {
            let mut frame = Vec::new();
            encode_reply(&ReplyHeader::ok(xid, zxid), Some(&resp), &mut frame);
            let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            prop_assert_eq!(len as usize, frame.len() - 4);
            let (h, body) = ReplyHeader::split(&frame[4..]).unwrap();
            prop_assert_eq!(h, ReplyHeader::ok(xid, zxid));
            prop_assert_eq!(decode_response(op, body, DEFAULT_MAX_BUFFER), Ok(resp.clone()));
            for cut in 0..body.len() {
                prop_assert!(decode_response(op, &body[..cut], DEFAULT_MAX_BUFFER).is_err());
            }
        }

        #[test]
        fn arbitrary_bodies_never_panic(
            op in proptest::sample::select(OpCode::ALL),
            body in proptest::collection::vec(any::<u8>(), 0..256),
            max in prop_oneof![Just(DEFAULT_MAX_BUFFER), 0usize..32],
        ) {
            if let Ok(resp) = decode_response(op, &body, max) {
                let mut again = Vec::new();
                resp.encode_body(&mut JuteWriter::new(&mut again));
                prop_assert_eq!(decode_response(op, &again, DEFAULT_MAX_BUFFER), Ok(resp));
            }
        }
    }
}
