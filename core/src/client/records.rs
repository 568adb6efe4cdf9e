//! The fixed jute records of the client protocol: headers, the session handshake, `Stat`,
//! ACLs and watch notifications (layouts from `zookeeper.jute`).

use alloc::string::String;
use alloc::vec::Vec;

use super::jute::{JuteError, JuteReader, JuteRecord, JuteWriter};
use super::ops::{ErrorCode, EventType, KeeperState};

/// xid of a watch notification (server → client).
pub const NOTIFICATION_XID: i32 = -1;
/// xid of a ping and its reply.
pub const PING_XID: i32 = -2;
/// xid of an auth packet and its reply.
pub const AUTH_XID: i32 = -4;
/// xid of setWatches / setWatches2 and their replies.
pub const SET_WATCHES_XID: i32 = -8;

/// ACL permission bits (`ZooDefs.Perms`).
pub mod perms {
    /// Read data and list children.
    pub const READ: i32 = 1;
    /// Set data.
    pub const WRITE: i32 = 2;
    /// Create children.
    pub const CREATE: i32 = 4;
    /// Delete children.
    pub const DELETE: i32 = 8;
    /// Set the ACL.
    pub const ADMIN: i32 = 16;
    /// Every permission.
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

/// Bytes of an encoded [`Stat`].
#[cfg(test)]
pub(crate) const STAT_BYTES: usize = 68;

/// A node's metadata as clients see it (§4.2; `pzxid` is last on the wire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stat {
    /// zxid of the create.
    pub czxid: i64,
    /// zxid of the last data change.
    pub mzxid: i64,
    /// Creation time (leader wall clock, ms).
    pub ctime: i64,
    /// Last data change time (ms).
    pub mtime: i64,
    /// Data version.
    pub version: i32,
    /// Child version as reported (creations + deletions).
    pub cversion: i32,
    /// ACL version.
    pub aversion: i32,
    /// Owning session of an ephemeral node, else 0.
    pub ephemeral_owner: i64,
    /// Length of the data.
    pub data_length: i32,
    /// Number of children.
    pub num_children: i32,
    /// zxid of the last child create/delete.
    pub pzxid: i64,
}

impl JuteRecord for Stat {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i64(self.czxid);
        w.write_i64(self.mzxid);
        w.write_i64(self.ctime);
        w.write_i64(self.mtime);
        w.write_i32(self.version);
        w.write_i32(self.cversion);
        w.write_i32(self.aversion);
        w.write_i64(self.ephemeral_owner);
        w.write_i32(self.data_length);
        w.write_i32(self.num_children);
        w.write_i64(self.pzxid);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<Stat, JuteError> {
        Ok(Stat {
            czxid: r.read_i64()?,
            mzxid: r.read_i64()?,
            ctime: r.read_i64()?,
            mtime: r.read_i64()?,
            version: r.read_i32()?,
            cversion: r.read_i32()?,
            aversion: r.read_i32()?,
            ephemeral_owner: r.read_i64()?,
            data_length: r.read_i32()?,
            num_children: r.read_i32()?,
            pzxid: r.read_i64()?,
        })
    }
}

/// An identity: `scheme` (world, digest, ip, sasl, x509, super, auth) and its id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id {
    /// The authentication scheme.
    pub scheme: String,
    /// The scheme-specific id (e.g. `anyone`, `user:hash`, an address).
    pub id: String,
}

impl Id {
    /// Fewest bytes an encoded `Id` occupies (two empty strings).
    pub const MIN_BYTES: usize = 8;

    /// `world:anyone`, the identity every connection has.
    pub fn anyone() -> Id {
        Id {
            scheme: "world".into(),
            id: "anyone".into(),
        }
    }
}

impl JuteRecord for Id {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_str(&self.scheme);
        w.write_str(&self.id);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<Id, JuteError> {
        // Null strings read as empty: kazoo writes `''` as null (its CREATOR_ALL_ACL is
        // `auth` with id `''`), and ZooKeeper accepts it (the id of `auth` is ignored).
        Ok(Id {
            scheme: r.read_ustring()?.unwrap_or_default(),
            id: r.read_ustring()?.unwrap_or_default(),
        })
    }
}

/// One ACL entry: permission bits ([`perms`]) granted to an [`Id`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Acl {
    /// Permission bits.
    pub perms: i32,
    /// Who they are granted to.
    pub id: Id,
}

impl Acl {
    /// Fewest bytes an encoded `Acl` occupies.
    pub const MIN_BYTES: usize = 4 + Id::MIN_BYTES;

    /// `[ALL, world:anyone]`, ZooKeeper's `OPEN_ACL_UNSAFE` entry.
    pub fn open_unsafe() -> Acl {
        Acl {
            perms: perms::ALL,
            id: Id::anyone(),
        }
    }
}

impl JuteRecord for Acl {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.perms);
        self.id.encode(w);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<Acl, JuteError> {
        Ok(Acl {
            perms: r.read_i32()?,
            id: Id::decode(r)?,
        })
    }
}

/// Writes a `vector<ACL>`.
pub(crate) fn write_acl_list(w: &mut JuteWriter<'_>, acl: &[Acl]) {
    w.write_vec(acl, |w, a| a.encode(w));
}

/// Reads a `vector<ACL>`; null reads as empty (both are INVALIDACL to the server).
pub(crate) fn read_acl_list(r: &mut JuteReader<'_>) -> Result<Vec<Acl>, JuteError> {
    r.read_list(Acl::MIN_BYTES, Acl::decode)
}

/// The body of a watch notification (`ReplyHeader.xid == −1`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WatcherEvent {
    /// What happened.
    pub event_type: EventType,
    /// Session state; servers always send SyncConnected.
    pub state: KeeperState,
    /// The node the event is about.
    pub path: String,
}

impl JuteRecord for WatcherEvent {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.event_type.as_i32());
        w.write_i32(self.state.as_i32());
        w.write_str(&self.path);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<WatcherEvent, JuteError> {
        let t = r.read_i32()?;
        let event_type = EventType::from_i32(t).ok_or(JuteError::Invalid {
            field: "event type",
            value: t,
        })?;
        let s = r.read_i32()?;
        let state = KeeperState::from_i32(s).ok_or(JuteError::Invalid {
            field: "keeper state",
            value: s,
        })?;
        Ok(WatcherEvent {
            event_type,
            state,
            path: r.read_string()?,
        })
    }
}

/// The first frame from a client (no RequestHeader).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectRequest {
    /// Always 0.
    pub protocol_version: i32,
    /// Highest zxid the client has seen (a server behind it refuses the session).
    pub last_zxid_seen: i64,
    /// Requested session timeout (ms).
    pub timeout_ms: i32,
    /// 0 for a new session, else the session to resume.
    pub session_id: i64,
    /// Session password (16 bytes; zeros for a new session). Null reads as empty.
    pub passwd: Vec<u8>,
    /// The trailing readOnly flag; `None` when the client (3.3) omitted the byte, in which
    /// case the ConnectResponse must omit it too.
    pub read_only: Option<bool>,
}

impl ConnectRequest {
    /// What a client's first connect sends: a new session asking for `timeout_ms`, nothing
    /// seen yet, a zero password, not read-only.
    pub fn new_session(timeout_ms: i32) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            timeout_ms,
            session_id: 0,
            passwd: alloc::vec![0; 16],
            read_only: Some(false),
        }
    }
}

impl JuteRecord for ConnectRequest {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.protocol_version);
        w.write_i64(self.last_zxid_seen);
        w.write_i32(self.timeout_ms);
        w.write_i64(self.session_id);
        w.write_bytes(&self.passwd);
        if let Some(ro) = self.read_only {
            w.write_bool(ro);
        }
    }

    /// Reads the five mandatory fields, then `readOnly` only if a byte remains (any further
    /// bytes are ignored, as the Java server does).
    fn decode(r: &mut JuteReader<'_>) -> Result<ConnectRequest, JuteError> {
        Ok(ConnectRequest {
            protocol_version: r.read_i32()?,
            last_zxid_seen: r.read_i64()?,
            timeout_ms: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: r.read_bytes()?,
            read_only: if r.remaining() > 0 {
                Some(r.read_bool()?)
            } else {
                None
            },
        })
    }
}

/// The first frame from the server (no ReplyHeader).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectResponse {
    /// Always 0.
    pub protocol_version: i32,
    /// Negotiated session timeout (ms); 0 when the session is refused.
    pub timeout_ms: i32,
    /// The session id; 0 when refused.
    pub session_id: i64,
    /// The session password (16 bytes).
    pub passwd: Vec<u8>,
    /// Written only when `Some`: mirror whether the ConnectRequest carried the byte.
    pub read_only: Option<bool>,
}

impl ConnectResponse {
    /// The answer to a bad password or expired session: timeout 0, session 0, 16 zero bytes;
    /// `read_only` mirrors the request.
    pub fn refused(request: &ConnectRequest) -> ConnectResponse {
        ConnectResponse {
            protocol_version: 0,
            timeout_ms: 0,
            session_id: 0,
            passwd: alloc::vec![0; 16],
            read_only: request.read_only.map(|_| false),
        }
    }
}

impl JuteRecord for ConnectResponse {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.protocol_version);
        w.write_i32(self.timeout_ms);
        w.write_i64(self.session_id);
        w.write_bytes(&self.passwd);
        if let Some(ro) = self.read_only {
            w.write_bool(ro);
        }
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<ConnectResponse, JuteError> {
        Ok(ConnectResponse {
            protocol_version: r.read_i32()?,
            timeout_ms: r.read_i32()?,
            session_id: r.read_i64()?,
            passwd: r.read_bytes()?,
            read_only: if r.remaining() > 0 {
                Some(r.read_bool()?)
            } else {
                None
            },
        })
    }
}

/// Precedes every request body after the handshake.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequestHeader {
    /// Client-chosen id echoed in the reply (or a special xid, e.g. [`PING_XID`]).
    pub xid: i32,
    /// The opcode, raw: unknown values must still reach the UNIMPLEMENTED answer.
    pub op: i32,
}

impl RequestHeader {
    /// Bytes of an encoded header.
    pub const BYTES: usize = 8;

    /// Splits a packet into its header and body.
    pub fn split(packet: &[u8]) -> Result<(RequestHeader, &[u8]), JuteError> {
        let mut r = JuteReader::new(packet, packet.len());
        let header = RequestHeader::decode(&mut r)?;
        Ok((header, r.rest()))
    }
}

impl JuteRecord for RequestHeader {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.xid);
        w.write_i32(self.op);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<RequestHeader, JuteError> {
        Ok(RequestHeader {
            xid: r.read_i32()?,
            op: r.read_i32()?,
        })
    }
}

/// Precedes every reply body and every notification.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReplyHeader {
    /// The request's xid (or a special xid).
    pub xid: i32,
    /// The server's last processed zxid (for a write, at least the write's zxid).
    pub zxid: i64,
    /// 0 or a [`ErrorCode`] value, raw as on the wire.
    pub err: i32,
}

impl ReplyHeader {
    /// Bytes of an encoded header.
    pub const BYTES: usize = 16;

    /// A successful reply header.
    pub fn ok(xid: i32, zxid: i64) -> ReplyHeader {
        ReplyHeader { xid, zxid, err: 0 }
    }

    /// A failed reply header carrying `code`.
    pub fn error(xid: i32, zxid: i64, code: ErrorCode) -> ReplyHeader {
        ReplyHeader {
            xid,
            zxid,
            err: code.as_i32(),
        }
    }

    /// The error code, `None` if the value is not one ZooKeeper defines.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_i32(self.err)
    }

    /// Splits a reply frame's payload into its header and body.
    pub fn split(payload: &[u8]) -> Result<(ReplyHeader, &[u8]), JuteError> {
        let mut r = JuteReader::new(payload, payload.len());
        let header = ReplyHeader::decode(&mut r)?;
        Ok((header, r.rest()))
    }
}

impl JuteRecord for ReplyHeader {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.xid);
        w.write_i64(self.zxid);
        w.write_i32(self.err);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<ReplyHeader, JuteError> {
        Ok(ReplyHeader {
            xid: r.read_i32()?,
            zxid: r.read_i64()?,
            err: r.read_i32()?,
        })
    }
}

/// Precedes each op of a multi request and each result of a multi response (§4.7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MultiHeader {
    /// The op's opcode, or −1 for an error result / the terminator.
    pub op: i32,
    /// True only on the terminator.
    pub done: bool,
    /// −1 in requests; the result's error code in responses.
    pub err: i32,
}

impl MultiHeader {
    /// Bytes of an encoded header.
    pub const BYTES: usize = 9;

    /// The terminator `{−1, true, −1}` ending every multi request and response.
    pub const END: MultiHeader = MultiHeader {
        op: -1,
        done: true,
        err: -1,
    };
}

impl JuteRecord for MultiHeader {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_i32(self.op);
        w.write_bool(self.done);
        w.write_i32(self.err);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<MultiHeader, JuteError> {
        Ok(MultiHeader {
            op: r.read_i32()?,
            done: r.read_bool()?,
            err: r.read_i32()?,
        })
    }
}

/// One authenticated identity of a connection, as whoAmI reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ClientInfo {
    /// The scheme (e.g. `ip`, `digest`).
    pub auth_scheme: String,
    /// The identity within it.
    pub user: String,
}

impl ClientInfo {
    /// Fewest bytes an encoded `ClientInfo` occupies.
    pub const MIN_BYTES: usize = 8;
}

impl JuteRecord for ClientInfo {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_str(&self.auth_scheme);
        w.write_str(&self.user);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<ClientInfo, JuteError> {
        Ok(ClientInfo {
            auth_scheme: r.read_string()?,
            user: r.read_string()?,
        })
    }
}

#[cfg(test)]
pub(crate) mod strategies {
    //! proptest strategies for the records, shared with the request/response tests.
    use super::*;
    use alloc::string::ToString;
    use proptest::prelude::*;

    pub(crate) fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z/]{0,10}".prop_map(|s| s.to_string()),
            "\\PC{0,8}".prop_map(|s| s.to_string()),
        ]
    }

    pub(crate) fn bytes() -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..24)
    }

    pub(crate) fn data() -> impl Strategy<Value = Option<Vec<u8>>> {
        proptest::option::of(bytes())
    }

    pub(crate) fn strings() -> impl Strategy<Value = Vec<String>> {
        proptest::collection::vec(text(), 0..5)
    }

    pub(crate) fn stat() -> impl Strategy<Value = Stat> {
        (
            (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
            (any::<i32>(), any::<i32>(), any::<i32>(), any::<i64>()),
            (any::<i32>(), any::<i32>(), any::<i64>()),
        )
            .prop_map(
                |(
                    (czxid, mzxid, ctime, mtime),
                    (version, cversion, aversion, ephemeral_owner),
                    (data_length, num_children, pzxid),
                )| Stat {
                    czxid,
                    mzxid,
                    ctime,
                    mtime,
                    version,
                    cversion,
                    aversion,
                    ephemeral_owner,
                    data_length,
                    num_children,
                    pzxid,
                },
            )
    }

    pub(crate) fn id() -> impl Strategy<Value = Id> {
        (text(), text()).prop_map(|(scheme, id)| Id { scheme, id })
    }

    pub(crate) fn acl() -> impl Strategy<Value = Acl> {
        (any::<i32>(), id()).prop_map(|(perms, id)| Acl { perms, id })
    }

    pub(crate) fn acls() -> impl Strategy<Value = Vec<Acl>> {
        proptest::collection::vec(acl(), 0..4)
    }

    pub(crate) fn client_info() -> impl Strategy<Value = ClientInfo> {
        (text(), text()).prop_map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
    }

    pub(crate) fn watcher_event() -> impl Strategy<Value = WatcherEvent> {
        (
            proptest::sample::select(EventType::ALL),
            proptest::sample::select(KeeperState::ALL),
            text(),
        )
            .prop_map(|(event_type, state, path)| WatcherEvent {
                event_type,
                state,
                path,
            })
    }

    pub(crate) fn connect_request() -> impl Strategy<Value = ConnectRequest> {
        (
            any::<i32>(),
            any::<i64>(),
            any::<i32>(),
            any::<i64>(),
            bytes(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(
                |(protocol_version, last_zxid_seen, timeout_ms, session_id, passwd, read_only)| {
                    ConnectRequest {
                        protocol_version,
                        last_zxid_seen,
                        timeout_ms,
                        session_id,
                        passwd,
                        read_only,
                    }
                },
            )
    }

    pub(crate) fn connect_response() -> impl Strategy<Value = ConnectResponse> {
        (
            any::<i32>(),
            any::<i32>(),
            any::<i64>(),
            bytes(),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(
                |(protocol_version, timeout_ms, session_id, passwd, read_only)| ConnectResponse {
                    protocol_version,
                    timeout_ms,
                    session_id,
                    passwd,
                    read_only,
                },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::*;
    use super::*;
    use crate::client::jute::DEFAULT_MAX_BUFFER;
    use proptest::prelude::*;

    /// kazoo's CREATOR_ALL_ACL is `auth` with id `''`, which it writes as a null string;
    /// ZooKeeper reads it (and ignores the id of `auth`). It was a MARSHALLINGERROR (issue 17).
    #[test]
    fn a_null_id_decodes_as_empty() {
        let mut b = Vec::new();
        let mut w = JuteWriter::new(&mut b);
        w.write_i32(31);
        w.write_str("auth");
        w.write_i32(-1);
        let acl = Acl::decode(&mut JuteReader::new(&b, DEFAULT_MAX_BUFFER)).unwrap();
        assert_eq!(acl.perms, 31);
        assert_eq!((acl.id.scheme.as_str(), acl.id.id.as_str()), ("auth", ""));
    }

    #[test]
    fn stat_layout_is_exact() {
        let stat = Stat {
            czxid: 0x0101_0101_0101_0101,
            mzxid: 0x0202_0202_0202_0202,
            ctime: 0x0303_0303_0303_0303,
            mtime: 0x0404_0404_0404_0404,
            version: 0x0505_0505,
            cversion: 0x0606_0606,
            aversion: 0x0707_0707,
            ephemeral_owner: 0x0808_0808_0808_0808,
            data_length: 0x0909_0909,
            num_children: 0x0a0a_0a0a,
            pzxid: 0x0b0b_0b0b_0b0b_0b0b,
        };
        let bytes = stat.to_bytes();
        assert_eq!(bytes.len(), STAT_BYTES);
        let mut expected = Vec::new();
        for (value, width) in [
            (1u8, 8),
            (2, 8),
            (3, 8),
            (4, 8),
            (5, 4),
            (6, 4),
            (7, 4),
            (8, 8),
            (9, 4),
            (10, 4),
            (11, 8),
        ] {
            expected.extend(core::iter::repeat_n(value, width));
        }
        assert_eq!(bytes, expected);
        assert_eq!(Stat::from_bytes(&bytes, DEFAULT_MAX_BUFFER), Ok(stat));
        assert!(matches!(
            Stat::from_bytes(&bytes[..67], DEFAULT_MAX_BUFFER),
            Err(JuteError::Truncated { .. })
        ));
    }

    #[test]
    fn acl_layout_is_exact() {
        assert_eq!(
            Acl::open_unsafe().to_bytes(),
            b"\x00\x00\x00\x1f\x00\x00\x00\x05world\x00\x00\x00\x06anyone".to_vec()
        );
        assert_eq!(perms::ALL, 31);
    }

    #[test]
    fn connect_request_read_only_byte_is_optional() {
        let mut req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 5,
            timeout_ms: 30_000,
            session_id: 0,
            passwd: alloc::vec![0; 16],
            read_only: None,
        };
        let without = req.to_bytes();
        assert_eq!(without.len(), 44);
        let decoded = ConnectRequest::from_bytes(&without, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(decoded.read_only, None);
        let refused = ConnectResponse::refused(&decoded);
        assert_eq!(
            refused.to_bytes().len(),
            36,
            "no readOnly byte for a 3.3 client"
        );

        req.read_only = Some(true);
        let with = req.to_bytes();
        assert_eq!(with.len(), 45);
        let decoded = ConnectRequest::from_bytes(&with, DEFAULT_MAX_BUFFER).unwrap();
        assert_eq!(decoded.read_only, Some(true));
        let refused = ConnectResponse::refused(&decoded);
        assert_eq!(refused.read_only, Some(false));
        assert_eq!(refused.to_bytes().len(), 37);
        assert_eq!(refused.to_bytes()[36], 0);
    }

    #[test]
    fn connect_request_ignores_bytes_after_read_only() {
        let mut bytes = ConnectRequest {
            read_only: Some(false),
            ..ConnectRequest::default()
        }
        .to_bytes();
        bytes.extend_from_slice(b"junk");
        let mut r = JuteReader::new(&bytes, DEFAULT_MAX_BUFFER);
        assert_eq!(
            ConnectRequest::decode(&mut r).unwrap().read_only,
            Some(false)
        );
    }

    #[test]
    fn unknown_event_type_is_invalid() {
        let mut bytes = WatcherEvent {
            event_type: EventType::NodeCreated,
            state: KeeperState::SyncConnected,
            path: "/a".into(),
        }
        .to_bytes();
        bytes[3] = 9;
        assert_eq!(
            WatcherEvent::from_bytes(&bytes, DEFAULT_MAX_BUFFER),
            Err(JuteError::Invalid {
                field: "event type",
                value: 9
            })
        );
    }

    #[test]
    fn headers_split_off_the_body() {
        let mut packet = RequestHeader { xid: 7, op: 4 }.to_bytes();
        packet.push(0xaa);
        assert_eq!(
            RequestHeader::split(&packet),
            Ok((RequestHeader { xid: 7, op: 4 }, &[0xaa][..]))
        );
        assert!(RequestHeader::split(&packet[..7]).is_err());
        let h = ReplyHeader::error(3, 9, ErrorCode::NoNode);
        assert_eq!(h.error_code(), Some(ErrorCode::NoNode));
        assert_eq!(ReplyHeader::split(&h.to_bytes()), Ok((h, &[][..])));
        assert_eq!(
            MultiHeader::END.to_bytes(),
            [0xff, 0xff, 0xff, 0xff, 1, 0xff, 0xff, 0xff, 0xff]
        );
    }

    fn round_trip<R: JuteRecord + PartialEq + core::fmt::Debug>(
        r: &R,
    ) -> Result<(), TestCaseError> {
        let bytes = r.to_bytes();
        let decoded = R::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
        prop_assert_eq!(decoded.as_ref(), Ok(r));
        // Every strict prefix fails cleanly (records with an optional tail excepted).
        for cut in 0..bytes.len() {
            let _ = R::from_bytes(&bytes[..cut], DEFAULT_MAX_BUFFER);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn records_round_trip(
            stat in stat(),
            id in id(),
            acl in acl(),
            ev in watcher_event(),
            creq in connect_request(),
            cresp in connect_response(),
            info in client_info(),
            (xid, op, zxid, err, done) in (any::<i32>(), any::<i32>(), any::<i64>(), any::<i32>(), any::<bool>()),
        ) {
            round_trip(&stat)?;
            round_trip(&id)?;
            round_trip(&acl)?;
            round_trip(&ev)?;
            round_trip(&creq)?;
            round_trip(&cresp)?;
            round_trip(&info)?;
            round_trip(&RequestHeader { xid, op })?;
            round_trip(&ReplyHeader { xid, zxid, err })?;
            round_trip(&MultiHeader { op, done, err })?;
        }

        #[test]
        fn record_decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
            let _ = Stat::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = Acl::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = WatcherEvent::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = ConnectRequest::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = ConnectResponse::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = ClientInfo::from_bytes(&bytes, DEFAULT_MAX_BUFFER);
            let _ = ReplyHeader::split(&bytes);
            let _ = RequestHeader::split(&bytes);
            let mut r = JuteReader::new(&bytes, 64);
            let _ = read_acl_list(&mut r);
        }
    }
}
