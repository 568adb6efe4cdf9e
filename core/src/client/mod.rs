//! ZooKeeper's client wire protocol (3.5–3.9 clients), as a hand-written jute codec.
//!
//! Layers, bottom up:
//!
//! - `jute`: the primitive encoding ([`JuteReader`], [`JuteWriter`], [`JuteRecord`]); every
//!   length and count is checked against the bytes left and `jute.maxbuffer` before anything
//!   is allocated.
//! - `ops`: opcodes, error codes and the other integer enumerations.
//! - `records`: headers, the session handshake, `Stat`, ACLs, watch notifications.
//! - `request` / `response`: one enum variant per operation, with
//!   [`decode_request`]/[`encode_request`] and [`encode_reply`]/[`decode_response`].
//! - `frame`: the `int length` framing of the client port and four-letter words.
//! - [`fuzz`]: entry points for cargo-fuzz and the corpus replay test.
//!
//! A server reads a connection as: [`ClientFrameDecoder::next_frame`] →
//! `Frame::Connect` → [`ConnectRequest`] (answer with [`ConnectResponse`], whose `read_only`
//! mirrors the request's), then `Frame::Packet` → [`RequestHeader::split`] →
//! [`decode_request`], answering a [`DecodeError`] with its [`DecodeError::error_code`].
//! Decoders never panic; a frame-level error closes the connection.

pub(crate) mod frame;
pub mod fuzz;
pub(crate) mod jute;
pub(crate) mod ops;
pub(crate) mod records;
pub(crate) mod request;
pub(crate) mod response;

#[cfg(test)]
mod vectors;

pub use frame::{
    encode_frame, encode_frame_with, encode_record_frame, ClientFrameDecoder, ClientFrameError,
    FourLetterWord, Frame,
};
pub use jute::{JuteError, JuteReader, JuteRecord, JuteWriter, DEFAULT_MAX_BUFFER};
pub use ops::{AddWatchMode, CreateMode, ErrorCode, EventType, KeeperState, OpCode, WatcherType};
pub use records::{
    perms, Acl, ClientInfo, ConnectRequest, ConnectResponse, Id, MultiHeader, ReplyHeader,
    RequestHeader, Stat, WatcherEvent, AUTH_XID, NOTIFICATION_XID, PING_XID, SET_WATCHES_XID,
};
pub use request::{
    decode_request, encode_request, CheckVersionRequest, CreateKind, CreateRequest,
    CreateTtlRequest, DecodeError, DeleteRequest, MultiOp, MultiReadOp, ReconfigRequest, Request,
    SetDataRequest,
};
pub use response::{decode_response, encode_notification, encode_reply, MultiResult, Response};
