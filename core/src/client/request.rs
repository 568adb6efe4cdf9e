//! Client requests: one variant per opcode a 3.5–3.9 client sends, decoded from the body that
//! follows a [`RequestHeader`] and encoded back (for forwarding to the leader and for the
//! simulator's clients).
//!
//! Decoding follows the Java server where it matters to clients: an unknown opcode is
//! [`DecodeError::Unimplemented`] (answer UNIMPLEMENTED −6); a known opcode whose body does not
//! decode is [`DecodeError::Marshalling`] (answer MARSHALLINGERROR −5). Bytes after a complete
//! body are ignored, as Java's record readers ignore them.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::frame::encode_frame_with;
use super::jute::{JuteError, JuteReader, JuteRecord, JuteWriter};
use super::ops::{AddWatchMode, ErrorCode, OpCode, WatcherType};
use super::records::{read_acl_list, write_acl_list, Acl, MultiHeader, RequestHeader};

/// Why a request (or response) body was not turned into a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The opcode is unknown or not one clients send; answer UNIMPLEMENTED (−6).
    Unimplemented(i32),
    /// The body of a known opcode is malformed; answer MARSHALLINGERROR (−5).
    Marshalling(JuteError),
}

impl DecodeError {
    /// The error code the server answers with.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            DecodeError::Unimplemented(_) => ErrorCode::Unimplemented,
            DecodeError::Marshalling(_) => ErrorCode::MarshallingError,
        }
    }
}

impl From<JuteError> for DecodeError {
    fn from(e: JuteError) -> DecodeError {
        DecodeError::Marshalling(e)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Unimplemented(op) => write!(f, "unimplemented opcode {op}"),
            DecodeError::Marshalling(e) => write!(f, "malformed body: {e}"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Which of the three opcodes sharing `CreateRequest` was used; it fixes the response shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CreateKind {
    /// create (1): reply `CreateResponse{path}`.
    Create,
    /// create2 (15): reply `Create2Response{path, stat}`.
    Create2,
    /// createContainer (19): reply `Create2Response`; flags should be 4.
    Container,
}

impl CreateKind {
    /// The opcode in the RequestHeader or MultiHeader.
    pub const fn op_code(self) -> OpCode {
        match self {
            CreateKind::Create => OpCode::Create,
            CreateKind::Create2 => OpCode::Create2,
            CreateKind::Container => OpCode::CreateContainer,
        }
    }
}

/// `CreateRequest{path, data, acl, flags}`, tagged with the opcode that carried it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CreateRequest {
    /// The opcode (not part of the body).
    pub kind: CreateKind,
    /// Requested path (the sequence suffix is appended later).
    pub path: String,
    /// Initial data; `None` is jute null (Java clients may pass `null`).
    pub data: Option<Vec<u8>>,
    /// Initial ACL (null reads as empty; both are INVALIDACL).
    pub acl: Vec<Acl>,
    /// [`CreateMode`](super::ops::CreateMode) flag, raw: bad values are BADARGUMENTS later.
    pub flags: i32,
}

impl CreateRequest {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_str(&self.path);
        w.write_buffer(self.data.as_deref());
        write_acl_list(w, &self.acl);
        w.write_i32(self.flags);
    }

    fn decode(kind: CreateKind, r: &mut JuteReader<'_>) -> Result<CreateRequest, JuteError> {
        Ok(CreateRequest {
            kind,
            path: r.read_string()?,
            data: r.read_buffer_vec()?,
            acl: read_acl_list(r)?,
            flags: r.read_i32()?,
        })
    }
}

/// `CreateTTLRequest{path, data, acl, flags, ttl}` (createTTL, 21).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CreateTtlRequest {
    /// Requested path.
    pub path: String,
    /// Initial data; `None` is jute null.
    pub data: Option<Vec<u8>>,
    /// Initial ACL.
    pub acl: Vec<Acl>,
    /// Flag, raw; must be 5 or 6.
    pub flags: i32,
    /// Time to live (ms); must be in `(0, 2^40 − 1]`.
    pub ttl: i64,
}

impl CreateTtlRequest {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_str(&self.path);
        w.write_buffer(self.data.as_deref());
        write_acl_list(w, &self.acl);
        w.write_i32(self.flags);
        w.write_i64(self.ttl);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<CreateTtlRequest, JuteError> {
        Ok(CreateTtlRequest {
            path: r.read_string()?,
            data: r.read_buffer_vec()?,
            acl: read_acl_list(r)?,
            flags: r.read_i32()?,
            ttl: r.read_i64()?,
        })
    }
}

/// `DeleteRequest{path, version}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeleteRequest {
    /// Node to delete.
    pub path: String,
    /// Expected version, −1 for any.
    pub version: i32,
}

/// `SetDataRequest{path, data, version}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SetDataRequest {
    /// Node to write.
    pub path: String,
    /// New data; `None` is jute null.
    pub data: Option<Vec<u8>>,
    /// Expected version, −1 for any.
    pub version: i32,
}

impl SetDataRequest {
    fn encode(&self, w: &mut JuteWriter<'_>) {
        w.write_str(&self.path);
        w.write_buffer(self.data.as_deref());
        w.write_i32(self.version);
    }

    fn decode(r: &mut JuteReader<'_>) -> Result<SetDataRequest, JuteError> {
        Ok(SetDataRequest {
            path: r.read_string()?,
            data: r.read_buffer_vec()?,
            version: r.read_i32()?,
        })
    }
}

/// `CheckVersionRequest{path, version}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CheckVersionRequest {
    /// Node to check.
    pub path: String,
    /// Expected version, −1 for any.
    pub version: i32,
}

fn write_path_version(w: &mut JuteWriter<'_>, path: &str, version: i32) {
    w.write_str(path);
    w.write_i32(version);
}

fn read_path_version(r: &mut JuteReader<'_>) -> Result<(String, i32), JuteError> {
    Ok((r.read_string()?, r.read_i32()?))
}

/// `ReconfigRequest`; the three member strings are null in the forms that do not use them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReconfigRequest {
    /// Incremental: servers to add.
    pub joining_servers: Option<String>,
    /// Incremental: server ids to remove.
    pub leaving_servers: Option<String>,
    /// Non-incremental: the complete new membership.
    pub new_members: Option<String>,
    /// Expected current config version, −1 for any.
    pub cur_config_id: i64,
}

/// One write inside a multi (14).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiOp {
    /// create / create2 / createContainer.
    Create(CreateRequest),
    /// createTTL.
    CreateTtl(CreateTtlRequest),
    /// delete.
    Delete(DeleteRequest),
    /// setData.
    SetData(SetDataRequest),
    /// check.
    Check(CheckVersionRequest),
}

impl MultiOp {
    /// The opcode in this op's MultiHeader.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(c) => c.kind.op_code(),
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
        }
    }

    fn encode(&self, w: &mut JuteWriter<'_>) {
        match self {
            MultiOp::Create(c) => c.encode(w),
            MultiOp::CreateTtl(c) => c.encode(w),
            MultiOp::Delete(d) => write_path_version(w, &d.path, d.version),
            MultiOp::SetData(s) => s.encode(w),
            MultiOp::Check(c) => write_path_version(w, &c.path, c.version),
        }
    }

    fn decode(op: i32, r: &mut JuteReader<'_>) -> Result<MultiOp, JuteError> {
        let create =
            |kind, r: &mut JuteReader<'_>| CreateRequest::decode(kind, r).map(MultiOp::Create);
        match OpCode::from_i32(op) {
            Some(OpCode::Create) => create(CreateKind::Create, r),
            Some(OpCode::Create2) => create(CreateKind::Create2, r),
            Some(OpCode::CreateContainer) => create(CreateKind::Container, r),
            Some(OpCode::CreateTtl) => CreateTtlRequest::decode(r).map(MultiOp::CreateTtl),
            Some(OpCode::Delete) => {
                let (path, version) = read_path_version(r)?;
                Ok(MultiOp::Delete(DeleteRequest { path, version }))
            }
            Some(OpCode::SetData) => SetDataRequest::decode(r).map(MultiOp::SetData),
            Some(OpCode::Check) => {
                let (path, version) = read_path_version(r)?;
                Ok(MultiOp::Check(CheckVersionRequest { path, version }))
            }
            _ => Err(JuteError::Invalid {
                field: "multi op",
                value: op,
            }),
        }
    }
}

/// One read inside a multiRead (22).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultiReadOp {
    /// getData (the watch flag is carried but Java never registers it).
    GetData {
        /// Node to read.
        path: String,
        /// Watch flag as sent.
        watch: bool,
    },
    /// getChildren.
    GetChildren {
        /// Node to list.
        path: String,
        /// Watch flag as sent.
        watch: bool,
    },
}

impl MultiReadOp {
    /// The opcode in this op's MultiHeader.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiReadOp::GetData { .. } => OpCode::GetData,
            MultiReadOp::GetChildren { .. } => OpCode::GetChildren,
        }
    }

    fn encode(&self, w: &mut JuteWriter<'_>) {
        let (MultiReadOp::GetData { path, watch } | MultiReadOp::GetChildren { path, watch }) =
            self;
        w.write_str(path);
        w.write_bool(*watch);
    }

    fn decode(op: i32, r: &mut JuteReader<'_>) -> Result<MultiReadOp, JuteError> {
        match OpCode::from_i32(op) {
            Some(OpCode::GetData) => Ok(MultiReadOp::GetData {
                path: r.read_string()?,
                watch: r.read_bool()?,
            }),
            Some(OpCode::GetChildren) => Ok(MultiReadOp::GetChildren {
                path: r.read_string()?,
                watch: r.read_bool()?,
            }),
            _ => Err(JuteError::Invalid {
                field: "multiRead op",
                value: op,
            }),
        }
    }
}

/// Writes `MultiHeader{op, false, −1}` + body per op, then the terminator (§4.7).
fn write_multi<T>(
    w: &mut JuteWriter<'_>,
    ops: &[T],
    op_code: impl Fn(&T) -> OpCode,
    mut body: impl FnMut(&T, &mut JuteWriter<'_>),
) {
    for op in ops {
        MultiHeader {
            op: op_code(op).as_i32(),
            done: false,
            err: -1,
        }
        .encode(w);
        body(op, w);
    }
    MultiHeader::END.encode(w);
}

/// Reads ops until a header with `done` set (its type and err are not checked, as in Java).
/// Each op consumes at least a 9-byte header, so the op count is bounded by the input size.
fn read_multi<'a, T>(
    r: &mut JuteReader<'a>,
    mut op: impl FnMut(i32, &mut JuteReader<'a>) -> Result<T, JuteError>,
) -> Result<Vec<T>, JuteError> {
    let mut ops = Vec::new();
    loop {
        let header = MultiHeader::decode(r)?;
        if header.done {
            return Ok(ops);
        }
        ops.push(op(header.op, r)?);
    }
}

/// A decoded client request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Request {
    /// create (1), create2 (15) or createContainer (19); see [`CreateRequest::kind`].
    Create(CreateRequest),
    /// createTTL (21).
    CreateTtl(CreateTtlRequest),
    /// delete (2).
    Delete(DeleteRequest),
    /// exists (3).
    Exists {
        /// Node to stat.
        path: String,
        /// Leave a data/exist watch.
        watch: bool,
    },
    /// getData (4).
    GetData {
        /// Node to read.
        path: String,
        /// Leave a data watch.
        watch: bool,
    },
    /// setData (5).
    SetData(SetDataRequest),
    /// getACL (6).
    GetAcl {
        /// Node whose ACL to read.
        path: String,
    },
    /// setACL (7).
    SetAcl {
        /// Node whose ACL to replace.
        path: String,
        /// The new ACL.
        acl: Vec<Acl>,
        /// Expected aversion, −1 for any.
        version: i32,
    },
    /// getChildren (8).
    GetChildren {
        /// Node to list.
        path: String,
        /// Leave a child watch.
        watch: bool,
    },
    /// getChildren2 (12).
    GetChildren2 {
        /// Node to list.
        path: String,
        /// Leave a child watch.
        watch: bool,
    },
    /// getAllChildrenNumber (104).
    GetAllChildrenNumber {
        /// Subtree root.
        path: String,
    },
    /// sync (9).
    Sync {
        /// Echoed in the reply.
        path: String,
    },
    /// ping (11), no body.
    Ping,
    /// check (13) outside a multi.
    Check(CheckVersionRequest),
    /// multi (14).
    Multi(Vec<MultiOp>),
    /// multiRead (22).
    MultiRead(Vec<MultiReadOp>),
    /// auth (100), `AuthPacket`.
    Auth {
        /// Always 0 in practice.
        auth_type: i32,
        /// Scheme, e.g. `digest`.
        scheme: String,
        /// Credentials, e.g. `user:password` (null reads as empty).
        auth: Vec<u8>,
    },
    /// setWatches (101).
    SetWatches {
        /// The client's last seen zxid.
        relative_zxid: i64,
        /// Data watch paths.
        data: Vec<String>,
        /// Exist watch paths.
        exist: Vec<String>,
        /// Child watch paths.
        child: Vec<String>,
    },
    /// setWatches2 (105).
    SetWatches2 {
        /// The client's last seen zxid.
        relative_zxid: i64,
        /// Data watch paths.
        data: Vec<String>,
        /// Exist watch paths.
        exist: Vec<String>,
        /// Child watch paths.
        child: Vec<String>,
        /// Persistent watch paths.
        persistent: Vec<String>,
        /// Persistent recursive watch paths.
        persistent_recursive: Vec<String>,
    },
    /// addWatch (106).
    AddWatch {
        /// Watched path.
        path: String,
        /// Persistent or recursive.
        mode: AddWatchMode,
    },
    /// removeWatches (18).
    RemoveWatches {
        /// Watched path.
        path: String,
        /// Which watches.
        watcher_type: WatcherType,
    },
    /// checkWatches (17).
    CheckWatches {
        /// Watched path.
        path: String,
        /// Which watches.
        watcher_type: WatcherType,
    },
    /// getEphemerals (103).
    GetEphemerals {
        /// Path prefix; `""` or `"/"` for all.
        prefix: String,
    },
    /// whoAmI (107), no body.
    WhoAmI,
    /// closeSession (−11), no body.
    CloseSession,
    /// sasl (102), `GetSASLRequest`.
    Sasl {
        /// SASL token (null reads as empty).
        token: Vec<u8>,
    },
    /// reconfig (16).
    Reconfig(ReconfigRequest),
}

impl Request {
    /// The opcode this request travels under.
    pub fn op_code(&self) -> OpCode {
        match self {
            Request::Create(c) => c.kind.op_code(),
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::Delete(_) => OpCode::Delete,
            Request::Exists { .. } => OpCode::Exists,
            Request::GetData { .. } => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl { .. } => OpCode::GetAcl,
            Request::SetAcl { .. } => OpCode::SetAcl,
            Request::GetChildren { .. } => OpCode::GetChildren,
            Request::GetChildren2 { .. } => OpCode::GetChildren2,
            Request::GetAllChildrenNumber { .. } => OpCode::GetAllChildrenNumber,
            Request::Sync { .. } => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Auth { .. } => OpCode::Auth,
            Request::SetWatches { .. } => OpCode::SetWatches,
            Request::SetWatches2 { .. } => OpCode::SetWatches2,
            Request::AddWatch { .. } => OpCode::AddWatch,
            Request::RemoveWatches { .. } => OpCode::RemoveWatches,
            Request::CheckWatches { .. } => OpCode::CheckWatches,
            Request::GetEphemerals { .. } => OpCode::GetEphemerals,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
            Request::Sasl { .. } => OpCode::Sasl,
            Request::Reconfig(_) => OpCode::Reconfig,
        }
    }

    /// The header for sending this request with `xid`.
    pub fn header(&self, xid: i32) -> RequestHeader {
        RequestHeader {
            xid,
            op: self.op_code().as_i32(),
        }
    }

    /// Appends the body (everything after the RequestHeader).
    pub fn encode_body(&self, w: &mut JuteWriter<'_>) {
        match self {
            Request::Create(c) => c.encode(w),
            Request::CreateTtl(c) => c.encode(w),
            Request::Delete(d) => write_path_version(w, &d.path, d.version),
            Request::Exists { path, watch }
            | Request::GetData { path, watch }
            | Request::GetChildren { path, watch }
            | Request::GetChildren2 { path, watch } => {
                w.write_str(path);
                w.write_bool(*watch);
            }
            Request::SetData(s) => s.encode(w),
            Request::GetAcl { path }
            | Request::GetAllChildrenNumber { path }
            | Request::Sync { path }
            | Request::GetEphemerals { prefix: path } => w.write_str(path),
            Request::SetAcl { path, acl, version } => {
                w.write_str(path);
                write_acl_list(w, acl);
                w.write_i32(*version);
            }
            Request::Ping | Request::WhoAmI | Request::CloseSession => {}
            Request::Check(c) => write_path_version(w, &c.path, c.version),
            Request::Multi(ops) => write_multi(w, ops, MultiOp::op_code, MultiOp::encode),
            Request::MultiRead(ops) => {
                write_multi(w, ops, MultiReadOp::op_code, MultiReadOp::encode)
            }
            Request::Auth {
                auth_type,
                scheme,
                auth,
            } => {
                w.write_i32(*auth_type);
                w.write_str(scheme);
                w.write_bytes(auth);
            }
            Request::SetWatches {
                relative_zxid,
                data,
                exist,
                child,
            } => {
                w.write_i64(*relative_zxid);
                w.write_string_list(data);
                w.write_string_list(exist);
                w.write_string_list(child);
            }
            Request::SetWatches2 {
                relative_zxid,
                data,
                exist,
                child,
                persistent,
                persistent_recursive,
            } => {
                w.write_i64(*relative_zxid);
                w.write_string_list(data);
                w.write_string_list(exist);
                w.write_string_list(child);
                w.write_string_list(persistent);
                w.write_string_list(persistent_recursive);
            }
            Request::AddWatch { path, mode } => {
                w.write_str(path);
                w.write_i32(mode.as_i32());
            }
            Request::RemoveWatches { path, watcher_type }
            | Request::CheckWatches { path, watcher_type } => {
                w.write_str(path);
                w.write_i32(watcher_type.as_i32());
            }
            Request::Sasl { token } => w.write_bytes(token),
            Request::Reconfig(rc) => {
                w.write_ustring(rc.joining_servers.as_deref());
                w.write_ustring(rc.leaving_servers.as_deref());
                w.write_ustring(rc.new_members.as_deref());
                w.write_i64(rc.cur_config_id);
            }
        }
    }
}

/// Appends one length-prefixed request frame: `RequestHeader{xid, op}` + body.
pub fn encode_request(xid: i32, request: &Request, out: &mut Vec<u8>) {
    encode_frame_with(out, |w| {
        request.header(xid).encode(w);
        request.encode_body(w);
    });
}

fn read_path_watch(r: &mut JuteReader<'_>) -> Result<(String, bool), JuteError> {
    Ok((r.read_string()?, r.read_bool()?))
}

fn read_watcher_type(r: &mut JuteReader<'_>) -> Result<(String, WatcherType), JuteError> {
    let path = r.read_string()?;
    let t = r.read_i32()?;
    let watcher_type = WatcherType::from_i32(t).ok_or(JuteError::Invalid {
        field: "watcher type",
        value: t,
    })?;
    Ok((path, watcher_type))
}

/// Decodes the body that followed `header`.
///
/// Unknown opcodes, and the ones clients never send (notification 0, error −1,
/// createSession −10, deleteContainer 20), are [`DecodeError::Unimplemented`]; a malformed
/// body is [`DecodeError::Marshalling`]. No length or count in `body` may exceed
/// `max_buffer`.
pub fn decode_request(
    header: RequestHeader,
    body: &[u8],
    max_buffer: usize,
) -> Result<Request, DecodeError> {
    let Some(op) = OpCode::from_i32(header.op) else {
        return Err(DecodeError::Unimplemented(header.op));
    };
    let r = &mut JuteReader::new(body, max_buffer);
    let request = match op {
        OpCode::Notification | OpCode::Error | OpCode::CreateSession | OpCode::DeleteContainer => {
            return Err(DecodeError::Unimplemented(header.op))
        }
        OpCode::Create => Request::Create(CreateRequest::decode(CreateKind::Create, r)?),
        OpCode::Create2 => Request::Create(CreateRequest::decode(CreateKind::Create2, r)?),
        OpCode::CreateContainer => {
            Request::Create(CreateRequest::decode(CreateKind::Container, r)?)
        }
        OpCode::CreateTtl => Request::CreateTtl(CreateTtlRequest::decode(r)?),
        OpCode::Delete => {
            let (path, version) = read_path_version(r)?;
            Request::Delete(DeleteRequest { path, version })
        }
        OpCode::Exists => {
            let (path, watch) = read_path_watch(r)?;
            Request::Exists { path, watch }
        }
        OpCode::GetData => {
            let (path, watch) = read_path_watch(r)?;
            Request::GetData { path, watch }
        }
        OpCode::SetData => Request::SetData(SetDataRequest::decode(r)?),
        OpCode::GetAcl => Request::GetAcl {
            path: r.read_string()?,
        },
        OpCode::SetAcl => Request::SetAcl {
            path: r.read_string()?,
            acl: read_acl_list(r)?,
            version: r.read_i32()?,
        },
        OpCode::GetChildren => {
            let (path, watch) = read_path_watch(r)?;
            Request::GetChildren { path, watch }
        }
        OpCode::GetChildren2 => {
            let (path, watch) = read_path_watch(r)?;
            Request::GetChildren2 { path, watch }
        }
        OpCode::GetAllChildrenNumber => Request::GetAllChildrenNumber {
            path: r.read_string()?,
        },
        // ZooKeeper syncs whatever the path (kazoo sends `''` as null): no path, no error.
        OpCode::Sync => Request::Sync {
            path: r.read_ustring()?.unwrap_or_default(),
        },
        OpCode::Ping => Request::Ping,
        OpCode::Check => {
            let (path, version) = read_path_version(r)?;
            Request::Check(CheckVersionRequest { path, version })
        }
        OpCode::Multi => Request::Multi(read_multi(r, MultiOp::decode)?),
        OpCode::MultiRead => Request::MultiRead(read_multi(r, MultiReadOp::decode)?),
        OpCode::Auth => Request::Auth {
            auth_type: r.read_i32()?,
            scheme: r.read_string()?,
            auth: r.read_bytes()?,
        },
        OpCode::SetWatches => Request::SetWatches {
            relative_zxid: r.read_i64()?,
            data: r.read_string_list()?,
            exist: r.read_string_list()?,
            child: r.read_string_list()?,
        },
        OpCode::SetWatches2 => Request::SetWatches2 {
            relative_zxid: r.read_i64()?,
            data: r.read_string_list()?,
            exist: r.read_string_list()?,
            child: r.read_string_list()?,
            persistent: r.read_string_list()?,
            persistent_recursive: r.read_string_list()?,
        },
        OpCode::AddWatch => {
            let path = r.read_string()?;
            let m = r.read_i32()?;
            let mode = AddWatchMode::from_i32(m).ok_or(JuteError::Invalid {
                field: "addWatch mode",
                value: m,
            })?;
            Request::AddWatch { path, mode }
        }
        OpCode::RemoveWatches => {
            let (path, watcher_type) = read_watcher_type(r)?;
            Request::RemoveWatches { path, watcher_type }
        }
        OpCode::CheckWatches => {
            let (path, watcher_type) = read_watcher_type(r)?;
            Request::CheckWatches { path, watcher_type }
        }
        OpCode::GetEphemerals => Request::GetEphemerals {
            prefix: r.read_string()?,
        },
        OpCode::WhoAmI => Request::WhoAmI,
        OpCode::CloseSession => Request::CloseSession,
        OpCode::Sasl => Request::Sasl {
            token: r.read_bytes()?,
        },
        OpCode::Reconfig => Request::Reconfig(ReconfigRequest {
            joining_servers: r.read_ustring()?,
            leaving_servers: r.read_ustring()?,
            new_members: r.read_ustring()?,
            cur_config_id: r.read_i64()?,
        }),
    };
    Ok(request)
}

#[cfg(test)]
pub(crate) mod strategies {
    //! proptest strategies for every request variant.
    use super::*;
    use crate::client::records::strategies::{acls, bytes, data, strings, text};
    use alloc::vec;
    use proptest::prelude::*;

    fn create_kind() -> impl Strategy<Value = CreateKind> {
        prop_oneof![
            Just(CreateKind::Create),
            Just(CreateKind::Create2),
            Just(CreateKind::Container)
        ]
    }

    fn create() -> impl Strategy<Value = CreateRequest> {
        (create_kind(), text(), data(), acls(), any::<i32>()).prop_map(
            |(kind, path, data, acl, flags)| CreateRequest {
                kind,
                path,
                data,
                acl,
                flags,
            },
        )
    }

    fn create_ttl() -> impl Strategy<Value = CreateTtlRequest> {
        (text(), data(), acls(), any::<i32>(), any::<i64>()).prop_map(
            |(path, data, acl, flags, ttl)| CreateTtlRequest {
                path,
                data,
                acl,
                flags,
                ttl,
            },
        )
    }

    fn set_data() -> impl Strategy<Value = SetDataRequest> {
        (text(), data(), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest {
            path,
            data,
            version,
        })
    }

    pub(crate) fn multi_op() -> impl Strategy<Value = MultiOp> {
        prop_oneof![
            create().prop_map(MultiOp::Create),
            create_ttl().prop_map(MultiOp::CreateTtl),
            (text(), any::<i32>())
                .prop_map(|(path, version)| MultiOp::Delete(DeleteRequest { path, version })),
            set_data().prop_map(MultiOp::SetData),
            (text(), any::<i32>())
                .prop_map(|(path, version)| MultiOp::Check(CheckVersionRequest { path, version })),
        ]
    }

    pub(crate) fn multi_read_op() -> impl Strategy<Value = MultiReadOp> {
        prop_oneof![
            (text(), any::<bool>()).prop_map(|(path, watch)| MultiReadOp::GetData { path, watch }),
            (text(), any::<bool>())
                .prop_map(|(path, watch)| MultiReadOp::GetChildren { path, watch }),
        ]
    }

    pub(crate) fn request() -> impl Strategy<Value = Request> {
        let path_watch = || (text(), any::<bool>());
        let watcher_type = || proptest::sample::select(WatcherType::ALL);
        prop_oneof![
            create().prop_map(Request::Create),
            create_ttl().prop_map(Request::CreateTtl),
            (text(), any::<i32>())
                .prop_map(|(path, version)| Request::Delete(DeleteRequest { path, version })),
            path_watch().prop_map(|(path, watch)| Request::Exists { path, watch }),
            path_watch().prop_map(|(path, watch)| Request::GetData { path, watch }),
            set_data().prop_map(Request::SetData),
            text().prop_map(|path| Request::GetAcl { path }),
            (text(), acls(), any::<i32>()).prop_map(|(path, acl, version)| Request::SetAcl {
                path,
                acl,
                version
            }),
            path_watch().prop_map(|(path, watch)| Request::GetChildren { path, watch }),
            path_watch().prop_map(|(path, watch)| Request::GetChildren2 { path, watch }),
            text().prop_map(|path| Request::GetAllChildrenNumber { path }),
            text().prop_map(|path| Request::Sync { path }),
            Just(Request::Ping),
            (text(), any::<i32>())
                .prop_map(|(path, version)| Request::Check(CheckVersionRequest { path, version })),
            proptest::collection::vec(multi_op(), 0..4).prop_map(Request::Multi),
            proptest::collection::vec(multi_read_op(), 0..4).prop_map(Request::MultiRead),
            (any::<i32>(), text(), bytes()).prop_map(|(auth_type, scheme, auth)| Request::Auth {
                auth_type,
                scheme,
                auth
            }),
            (any::<i64>(), strings(), strings(), strings()).prop_map(
                |(relative_zxid, data, exist, child)| Request::SetWatches {
                    relative_zxid,
                    data,
                    exist,
                    child
                }
            ),
            (
                any::<i64>(),
                strings(),
                strings(),
                strings(),
                strings(),
                strings()
            )
                .prop_map(
                    |(relative_zxid, data, exist, child, persistent, persistent_recursive)| {
                        Request::SetWatches2 {
                            relative_zxid,
                            data,
                            exist,
                            child,
                            persistent,
                            persistent_recursive,
                        }
                    }
                ),
            (text(), proptest::sample::select(AddWatchMode::ALL))
                .prop_map(|(path, mode)| Request::AddWatch { path, mode }),
            (text(), watcher_type())
                .prop_map(|(path, watcher_type)| Request::RemoveWatches { path, watcher_type }),
            (text(), watcher_type())
                .prop_map(|(path, watcher_type)| Request::CheckWatches { path, watcher_type }),
            text().prop_map(|prefix| Request::GetEphemerals { prefix }),
            Just(Request::WhoAmI),
            Just(Request::CloseSession),
            bytes().prop_map(|token| Request::Sasl { token }),
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                any::<i64>()
            )
                .prop_map(
                    |(joining_servers, leaving_servers, new_members, cur_config_id)| {
                        Request::Reconfig(ReconfigRequest {
                            joining_servers,
                            leaving_servers,
                            new_members,
                            cur_config_id,
                        })
                    }
                ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::strategies::request;
    use super::*;
    use crate::client::jute::DEFAULT_MAX_BUFFER;
    use alloc::vec;
    use proptest::prelude::*;

    fn body(request: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        request.encode_body(&mut JuteWriter::new(&mut out));
        out
    }

    fn decode(op: OpCode, body: &[u8]) -> Result<Request, DecodeError> {
        decode_request(
            RequestHeader {
                xid: 1,
                op: op.as_i32(),
            },
            body,
            DEFAULT_MAX_BUFFER,
        )
    }

    #[test]
    fn unknown_and_server_only_opcodes_are_unimplemented() {
        for op in [10, 23, 99, 108, 1000, -2, -12, i32::MIN] {
            let got = decode_request(RequestHeader { xid: 1, op }, &[], DEFAULT_MAX_BUFFER);
            assert_eq!(got, Err(DecodeError::Unimplemented(op)));
            assert_eq!(got.unwrap_err().error_code(), ErrorCode::Unimplemented);
        }
        for op in [
            OpCode::Notification,
            OpCode::Error,
            OpCode::CreateSession,
            OpCode::DeleteContainer,
        ] {
            assert_eq!(
                decode(op, b"\x00\x00\x00\x02/a"),
                Err(DecodeError::Unimplemented(op.as_i32()))
            );
        }
    }

    #[test]
    fn every_client_opcode_decodes_or_marshals() {
        // An empty body is complete for the bodiless ops and malformed for all others.
        for &op in OpCode::ALL {
            let got = decode(op, &[]);
            match op {
                OpCode::Ping | OpCode::WhoAmI | OpCode::CloseSession => assert!(got.is_ok()),
                OpCode::Notification
                | OpCode::Error
                | OpCode::CreateSession
                | OpCode::DeleteContainer => {
                    assert_eq!(got, Err(DecodeError::Unimplemented(op.as_i32())))
                }
                _ => assert!(
                    matches!(
                        got,
                        Err(DecodeError::Marshalling(JuteError::Truncated { .. }))
                    ),
                    "{op:?}: {got:?}"
                ),
            }
        }
    }

    #[test]
    fn null_path_is_marshalling_error() {
        let got = decode(OpCode::GetData, &[0xff, 0xff, 0xff, 0xff, 0]);
        assert_eq!(
            got,
            Err(DecodeError::Marshalling(JuteError::UnexpectedNull))
        );
        assert_eq!(got.unwrap_err().error_code(), ErrorCode::MarshallingError);
    }

    #[test]
    fn null_data_is_kept_distinct_from_empty() {
        for data in [None, Some(vec![])] {
            let req = Request::SetData(SetDataRequest {
                path: "/a".into(),
                data: data.clone(),
                version: -1,
            });
            assert_eq!(decode(OpCode::SetData, &body(&req)), Ok(req));
        }
    }

    #[test]
    fn enum_fields_out_of_range_are_marshalling_errors() {
        let mut b = body(&Request::AddWatch {
            path: "/a".into(),
            mode: AddWatchMode::Persistent,
        });
        let n = b.len();
        b[n - 1] = 2;
        assert_eq!(
            decode(OpCode::AddWatch, &b),
            Err(DecodeError::Marshalling(JuteError::Invalid {
                field: "addWatch mode",
                value: 2
            }))
        );
        let mut b = body(&Request::RemoveWatches {
            path: "/a".into(),
            watcher_type: WatcherType::Any,
        });
        let n = b.len();
        b[n - 1] = 6;
        assert!(matches!(
            decode(OpCode::RemoveWatches, &b),
            Err(DecodeError::Marshalling(JuteError::Invalid {
                value: 6,
                ..
            }))
        ));
    }

    #[test]
    fn multi_rejects_reads_and_multiread_rejects_writes() {
        let reads = body(&Request::MultiRead(vec![MultiReadOp::GetData {
            path: "/a".into(),
            watch: false,
        }]));
        assert_eq!(
            decode(OpCode::Multi, &reads),
            Err(DecodeError::Marshalling(JuteError::Invalid {
                field: "multi op",
                value: 4
            }))
        );
        let writes = body(&Request::Multi(vec![MultiOp::Delete(DeleteRequest {
            path: "/a".into(),
            version: -1,
        })]));
        assert!(matches!(
            decode(OpCode::MultiRead, &writes),
            Err(DecodeError::Marshalling(JuteError::Invalid {
                value: 2,
                ..
            }))
        ));
        // A header that is not done but has type -1 is not an op either.
        let bad = [0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(decode(OpCode::Multi, &bad).is_err());
        // An empty multi is just the terminator.
        assert_eq!(
            decode(OpCode::Multi, &MultiHeader::END.to_bytes()),
            Ok(Request::Multi(vec![]))
        );
        // A multi without its terminator is truncated.
        let mut open = writes.clone();
        open.truncate(open.len() - MultiHeader::BYTES);
        assert!(matches!(
            decode(OpCode::Multi, &open),
            Err(DecodeError::Marshalling(JuteError::Truncated { .. }))
        ));
    }

    #[test]
    fn max_buffer_applies_to_request_fields() {
        let req = Request::SetData(SetDataRequest {
            path: "/a".into(),
            data: Some(vec![7; 100]),
            version: 0,
        });
        let b = body(&req);
        let header = RequestHeader { xid: 1, op: 5 };
        assert_eq!(decode_request(header, &b, 100), Ok(req));
        assert_eq!(
            decode_request(header, &b, 99),
            Err(DecodeError::Marshalling(JuteError::TooLong {
                len: 100,
                max: 99
            }))
        );
    }

    #[test]
    fn huge_acl_count_fails_without_allocating() {
        let mut b = Vec::new();
        let mut w = JuteWriter::new(&mut b);
        w.write_str("/a");
        w.write_buffer(None);
        w.write_i32(i32::MAX);
        assert!(matches!(
            decode_request(RequestHeader { xid: 1, op: 1 }, &b, usize::MAX),
            Err(DecodeError::Marshalling(JuteError::Truncated { .. }))
        ));
        let mut b = Vec::new();
        let mut w = JuteWriter::new(&mut b);
        w.write_i64(0);
        w.write_i32(i32::MAX);
        assert!(matches!(
            decode_request(RequestHeader { xid: -8, op: 101 }, &b, usize::MAX),
            Err(DecodeError::Marshalling(JuteError::Truncated { .. }))
        ));
    }

    /// kazoo sends an empty path as a null string; ZooKeeper syncs anyway (issue 17).
    #[test]
    fn a_sync_with_a_null_path_decodes_as_the_empty_path() {
        let mut b = Vec::new();
        JuteWriter::new(&mut b).write_i32(-1);
        assert_eq!(
            decode(OpCode::Sync, &b),
            Ok(Request::Sync { path: "".into() })
        );
    }

    #[test]
    fn trailing_bytes_are_ignored_like_java() {
        let mut b = body(&Request::Sync { path: "/".into() });
        b.push(0);
        assert_eq!(
            decode(OpCode::Sync, &b),
            Ok(Request::Sync { path: "/".into() })
        );
    }

    proptest! {
        #[test]
        fn requests_round_trip(req in request(), xid in any::<i32>()) {
            let mut frame = Vec::new();
            encode_request(xid, &req, &mut frame);
            let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            prop_assert_eq!(len as usize, frame.len() - 4);
            let (header, b) = RequestHeader::split(&frame[4..]).unwrap();
            prop_assert_eq!(header, req.header(xid));
            prop_assert_eq!(decode_request(header, b, DEFAULT_MAX_BUFFER), Ok(req.clone()));
            // Every strict prefix of the body is rejected (or, for bodiless ops, accepted).
            for cut in 0..b.len() {
                let got = decode_request(header, &b[..cut], DEFAULT_MAX_BUFFER);
                prop_assert!(got.is_err(), "prefix {} of {:?} decoded", cut, req);
            }
        }

        #[test]
        fn arbitrary_bodies_never_panic(
            op in prop_oneof![proptest::sample::select(OpCode::ALL).prop_map(OpCode::as_i32), any::<i32>()],
            b in proptest::collection::vec(any::<u8>(), 0..256),
            max in prop_oneof![Just(DEFAULT_MAX_BUFFER), 0usize..32],
        ) {
            if let Ok(req) = decode_request(RequestHeader { xid: 0, op }, &b, max) {
                prop_assert_eq!(req.op_code().as_i32(), op);
                let again = body(&req);
                prop_assert_eq!(decode_request(RequestHeader { xid: 0, op }, &again, DEFAULT_MAX_BUFFER), Ok(req));
            }
        }
    }
}
