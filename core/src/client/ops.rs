//! The integer enumerations of the client protocol: opcodes, error codes, watcher event
//! types and states, watcher types, persistent-watch modes and create modes.
//!
//! Each type converts to and from its wire value; an unknown value is `None`, so the caller
//! chooses the answer (UNIMPLEMENTED for an opcode, MARSHALLINGERROR or BADARGUMENTS for a
//! field).

/// Declares a fieldless `i32` enumeration with `ALL`, `as_i32` and `from_i32`.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value on the wire.
            pub const fn as_i32(self) -> i32 {
                match self {
                    $( $name::$variant => $value, )+
                }
            }

            /// The variant carried by a wire value; `None` if the value is unknown.
            pub const fn from_i32(value: i32) -> Option<$name> {
                match value {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }
        }
    };
}

wire_enum! {
    /// `ZooDefs.OpCode`: the `type` of a RequestHeader (and of a txn or multi entry).
    pub enum OpCode {
        /// Server-side marker for watch notifications; never sent by clients.
        Notification = 0,
        /// Create a node; reply `CreateResponse{path}`.
        Create = 1,
        /// Delete a node.
        Delete = 2,
        /// Stat a node, optionally leaving a data/exist watch.
        Exists = 3,
        /// Read a node's data and stat.
        GetData = 4,
        /// Replace a node's data.
        SetData = 5,
        /// Read a node's ACL.
        GetAcl = 6,
        /// Replace a node's ACL.
        SetAcl = 7,
        /// List a node's children.
        GetChildren = 8,
        /// Flush the leader's pending commits to the connected server.
        Sync = 9,
        /// Keep-alive (xid −2).
        Ping = 11,
        /// List children plus the parent's stat.
        GetChildren2 = 12,
        /// Version check (inside multi).
        Check = 13,
        /// Atomic batch of writes.
        Multi = 14,
        /// Create, replying with the new node's stat (3.5).
        Create2 = 15,
        /// Dynamic membership change (3.5).
        Reconfig = 16,
        /// Ask whether a watch is registered (3.5).
        CheckWatches = 17,
        /// Remove watches (3.5).
        RemoveWatches = 18,
        /// Create a container node (3.5.1).
        CreateContainer = 19,
        /// Delete an empty container; internal to the container manager (3.5.1).
        DeleteContainer = 20,
        /// Create a node with a time-to-live (3.5.3).
        CreateTtl = 21,
        /// Non-atomic batch of reads (3.6).
        MultiRead = 22,
        /// Add authentication (xid −4).
        Auth = 100,
        /// Re-register watches after reconnect (xid −8).
        SetWatches = 101,
        /// One SASL exchange step.
        Sasl = 102,
        /// List the session's own ephemeral nodes (3.6).
        GetEphemerals = 103,
        /// Count all descendants of a node (3.6).
        GetAllChildrenNumber = 104,
        /// Re-register watches including persistent ones (3.6, xid −8).
        SetWatches2 = 105,
        /// Add a persistent or recursive watch (3.6).
        AddWatch = 106,
        /// List the connection's authenticated identities (3.7).
        WhoAmI = 107,
        /// Txn type creating a session; never sent by clients.
        CreateSession = -10,
        /// End the session.
        CloseSession = -11,
        /// Txn type of a failed write; never sent by clients.
        Error = -1,
    }
}

impl OpCode {
    /// ZooKeeper's name of the operation (`Request.op2String`, lower camel case), used as the
    /// `op` label of request metrics.
    pub const fn name(self) -> &'static str {
        match self {
            OpCode::Notification => "notification",
            OpCode::Create => "create",
            OpCode::Delete => "delete",
            OpCode::Exists => "exists",
            OpCode::GetData => "getData",
            OpCode::SetData => "setData",
            OpCode::GetAcl => "getACL",
            OpCode::SetAcl => "setACL",
            OpCode::GetChildren => "getChildren",
            OpCode::Sync => "sync",
            OpCode::Ping => "ping",
            OpCode::GetChildren2 => "getChildren2",
            OpCode::Check => "check",
            OpCode::Multi => "multi",
            OpCode::Create2 => "create2",
            OpCode::Reconfig => "reconfig",
            OpCode::CheckWatches => "checkWatches",
            OpCode::RemoveWatches => "removeWatches",
            OpCode::CreateContainer => "createContainer",
            OpCode::DeleteContainer => "deleteContainer",
            OpCode::CreateTtl => "createTTL",
            OpCode::MultiRead => "multiRead",
            OpCode::Auth => "auth",
            OpCode::SetWatches => "setWatches",
            OpCode::Sasl => "sasl",
            OpCode::GetEphemerals => "getEphemerals",
            OpCode::GetAllChildrenNumber => "getAllChildrenNumber",
            OpCode::SetWatches2 => "setWatches2",
            OpCode::AddWatch => "addWatch",
            OpCode::WhoAmI => "whoAmI",
            OpCode::CreateSession => "createSession",
            OpCode::CloseSession => "closeSession",
            OpCode::Error => "error",
        }
    }

    /// True for the operations that change the tree or the sessions (replicated through ZAB).
    pub const fn is_write(self) -> bool {
        matches!(
            self,
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Multi
                | OpCode::Reconfig
                | OpCode::CloseSession
        )
    }
}

wire_enum! {
    /// `KeeperException.Code`: the `err` of a ReplyHeader and of failed multi entries.
    pub enum ErrorCode {
        /// Success.
        Ok = 0,
        /// Range marker for system errors.
        SystemError = -1,
        /// Multi entries after the failing one.
        RuntimeInconsistency = -2,
        /// Data inconsistency.
        DataInconsistency = -3,
        /// Client-side: the connection was lost.
        ConnectionLoss = -4,
        /// The request body could not be decoded.
        MarshallingError = -5,
        /// Unknown or disabled operation.
        Unimplemented = -6,
        /// Operation timed out.
        OperationTimeout = -7,
        /// Invalid arguments (bad flags, TTL, path …).
        BadArguments = -8,
        /// Internal: the session is unknown.
        UnknownSession = -12,
        /// No quorum of the new configuration is up to date.
        NewConfigNoQuorum = -13,
        /// Another reconfiguration is in progress.
        ReconfigInProgress = -14,
        /// Range marker for API errors.
        ApiError = -100,
        /// The node does not exist.
        NoNode = -101,
        /// Not authorised.
        NoAuth = -102,
        /// Version check failed.
        BadVersion = -103,
        /// Ephemeral nodes cannot have children.
        NoChildrenForEphemerals = -108,
        /// The node already exists.
        NodeExists = -110,
        /// The node has children.
        NotEmpty = -111,
        /// The session has expired.
        SessionExpired = -112,
        /// Invalid callback.
        InvalidCallback = -113,
        /// Invalid ACL.
        InvalidAcl = -114,
        /// Authentication failed.
        AuthFailed = -115,
        /// The session moved to another server.
        SessionMoved = -118,
        /// A write reached a read-only server.
        NotReadOnly = -119,
        /// Ephemeral creation on a local session.
        EphemeralOnLocalSession = -120,
        /// No matching watch.
        NoWatcher = -121,
        /// Client-side: the request timed out.
        RequestTimeout = -122,
        /// Reconfiguration is disabled.
        ReconfigDisabled = -123,
        /// The session was closed and requires SASL authentication (3.6).
        SessionClosedRequireSaslAuth = -124,
        /// A quota was exceeded (3.7).
        QuotaExceeded = -125,
        /// The operation was throttled (3.7).
        ThrottledOp = -127,
    }
}

impl ErrorCode {
    /// The Java enum constant's name (`KeeperException.Code`), e.g. `"NONODE"`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::Ok => "OK",
            ErrorCode::SystemError => "SYSTEMERROR",
            ErrorCode::RuntimeInconsistency => "RUNTIMEINCONSISTENCY",
            ErrorCode::DataInconsistency => "DATAINCONSISTENCY",
            ErrorCode::ConnectionLoss => "CONNECTIONLOSS",
            ErrorCode::MarshallingError => "MARSHALLINGERROR",
            ErrorCode::Unimplemented => "UNIMPLEMENTED",
            ErrorCode::OperationTimeout => "OPERATIONTIMEOUT",
            ErrorCode::BadArguments => "BADARGUMENTS",
            ErrorCode::UnknownSession => "UNKNOWNSESSION",
            ErrorCode::NewConfigNoQuorum => "NEWCONFIGNOQUORUM",
            ErrorCode::ReconfigInProgress => "RECONFIGINPROGRESS",
            ErrorCode::ApiError => "APIERROR",
            ErrorCode::NoNode => "NONODE",
            ErrorCode::NoAuth => "NOAUTH",
            ErrorCode::BadVersion => "BADVERSION",
            ErrorCode::NoChildrenForEphemerals => "NOCHILDRENFOREPHEMERALS",
            ErrorCode::NodeExists => "NODEEXISTS",
            ErrorCode::NotEmpty => "NOTEMPTY",
            ErrorCode::SessionExpired => "SESSIONEXPIRED",
            ErrorCode::InvalidCallback => "INVALIDCALLBACK",
            ErrorCode::InvalidAcl => "INVALIDACL",
            ErrorCode::AuthFailed => "AUTHFAILED",
            ErrorCode::SessionMoved => "SESSIONMOVED",
            ErrorCode::NotReadOnly => "NOTREADONLY",
            ErrorCode::EphemeralOnLocalSession => "EPHEMERALONLOCALSESSION",
            ErrorCode::NoWatcher => "NOWATCHER",
            ErrorCode::RequestTimeout => "REQUESTTIMEOUT",
            ErrorCode::ReconfigDisabled => "RECONFIGDISABLED",
            ErrorCode::SessionClosedRequireSaslAuth => "SESSIONCLOSEDREQUIRESASLAUTH",
            ErrorCode::QuotaExceeded => "QUOTAEXCEEDED",
            ErrorCode::ThrottledOp => "THROTTLEDOP",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

wire_enum! {
    /// `Watcher.Event.EventType`: what a notification reports.
    pub enum EventType {
        /// Session state change (client-side).
        None = -1,
        /// The watched node was created.
        NodeCreated = 1,
        /// The watched node was deleted.
        NodeDeleted = 2,
        /// The watched node's data changed.
        NodeDataChanged = 3,
        /// The watched node's children changed.
        NodeChildrenChanged = 4,
        /// A data watch was removed (client-side).
        DataWatchRemoved = 5,
        /// A child watch was removed (client-side).
        ChildWatchRemoved = 6,
        /// A persistent watch was removed (client-side).
        PersistentWatchRemoved = 7,
    }
}

wire_enum! {
    /// `Watcher.Event.KeeperState`: the session state in a notification.
    pub enum KeeperState {
        /// Deprecated.
        Unknown = -1,
        /// Disconnected (client-side).
        Disconnected = 0,
        /// Deprecated.
        NoSyncConnected = 1,
        /// Connected; the only state a server sends.
        SyncConnected = 3,
        /// Authentication failed (client-side).
        AuthFailed = 4,
        /// Connected to a read-only server (client-side).
        ConnectedReadOnly = 5,
        /// SASL authenticated (client-side).
        SaslAuthenticated = 6,
        /// The session expired (client-side).
        Expired = -112,
        /// The client closed (client-side).
        Closed = 7,
    }
}

wire_enum! {
    /// `Watcher.WatcherType`: which watches checkWatches/removeWatches address.
    pub enum WatcherType {
        /// Child watches.
        Children = 1,
        /// Data and exist watches.
        Data = 2,
        /// Every kind.
        Any = 3,
        /// Persistent watches (3.6).
        Persistent = 4,
        /// Persistent recursive watches (3.6).
        PersistentRecursive = 5,
    }
}

wire_enum! {
    /// `AddWatchMode`: the `mode` of an addWatch request.
    pub enum AddWatchMode {
        /// Data+exist and child watch on one path, kept after firing.
        Persistent = 0,
        /// Create/delete/data-change watch on a path and all descendants, kept after firing.
        PersistentRecursive = 1,
    }
}

wire_enum! {
    /// `CreateMode`: the `flags` of a create request.
    pub enum CreateMode {
        /// Plain persistent node.
        Persistent = 0,
        /// Deleted when the owning session ends.
        Ephemeral = 1,
        /// Persistent with a sequence suffix.
        PersistentSequential = 2,
        /// Ephemeral with a sequence suffix.
        EphemeralSequential = 3,
        /// Deleted once it had children and became empty (createContainer).
        Container = 4,
        /// Deleted when childless and unmodified for its TTL (createTTL).
        PersistentWithTtl = 5,
        /// Sequential TTL node (createTTL).
        PersistentSequentialWithTtl = 6,
    }
}

impl CreateMode {
    /// The mode for a create `flags` value; `None` (→ BADARGUMENTS) for any other value.
    pub const fn from_flag(flag: i32) -> Option<CreateMode> {
        CreateMode::from_i32(flag)
    }

    /// The `flags` value on the wire.
    pub const fn to_flag(self) -> i32 {
        self.as_i32()
    }

    /// Whether the node dies with its session.
    pub const fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// Whether the server appends a sequence suffix.
    pub const fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// Whether this is a container node.
    pub const fn is_container(self) -> bool {
        matches!(self, CreateMode::Container)
    }

    /// Whether this node carries a TTL.
    pub const fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<T: Copy + PartialEq + core::fmt::Debug>(
        all: &[T],
        to: fn(T) -> i32,
        from: fn(i32) -> Option<T>,
    ) {
        for &v in all {
            assert_eq!(from(to(v)), Some(v), "{v:?}");
        }
        let mut codes: alloc::vec::Vec<i32> = all.iter().map(|&v| to(v)).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "duplicate wire values");
    }

    #[test]
    fn every_enum_round_trips() {
        round_trips(OpCode::ALL, OpCode::as_i32, OpCode::from_i32);
        round_trips(ErrorCode::ALL, ErrorCode::as_i32, ErrorCode::from_i32);
        round_trips(EventType::ALL, EventType::as_i32, EventType::from_i32);
        round_trips(KeeperState::ALL, KeeperState::as_i32, KeeperState::from_i32);
        round_trips(WatcherType::ALL, WatcherType::as_i32, WatcherType::from_i32);
        round_trips(
            AddWatchMode::ALL,
            AddWatchMode::as_i32,
            AddWatchMode::from_i32,
        );
        round_trips(CreateMode::ALL, CreateMode::as_i32, CreateMode::from_i32);
    }

    #[test]
    fn opcode_table_matches_the_reference() {
        let expected: &[(i32, OpCode)] = &[
            (0, OpCode::Notification),
            (1, OpCode::Create),
            (2, OpCode::Delete),
            (3, OpCode::Exists),
            (4, OpCode::GetData),
            (5, OpCode::SetData),
            (6, OpCode::GetAcl),
            (7, OpCode::SetAcl),
            (8, OpCode::GetChildren),
            (9, OpCode::Sync),
            (11, OpCode::Ping),
            (12, OpCode::GetChildren2),
            (13, OpCode::Check),
            (14, OpCode::Multi),
            (15, OpCode::Create2),
            (16, OpCode::Reconfig),
            (17, OpCode::CheckWatches),
            (18, OpCode::RemoveWatches),
            (19, OpCode::CreateContainer),
            (20, OpCode::DeleteContainer),
            (21, OpCode::CreateTtl),
            (22, OpCode::MultiRead),
            (100, OpCode::Auth),
            (101, OpCode::SetWatches),
            (102, OpCode::Sasl),
            (103, OpCode::GetEphemerals),
            (104, OpCode::GetAllChildrenNumber),
            (105, OpCode::SetWatches2),
            (106, OpCode::AddWatch),
            (107, OpCode::WhoAmI),
            (-10, OpCode::CreateSession),
            (-11, OpCode::CloseSession),
            (-1, OpCode::Error),
        ];
        assert_eq!(expected.len(), OpCode::ALL.len());
        for &(code, op) in expected {
            assert_eq!(OpCode::from_i32(code), Some(op));
        }
        for unknown in [10, 23, 99, 108, -2, -12, i32::MIN, i32::MAX] {
            assert_eq!(OpCode::from_i32(unknown), None);
        }
    }

    #[test]
    fn error_codes_match_the_reference() {
        assert_eq!(ErrorCode::ALL.len(), 32);
        assert_eq!(
            ErrorCode::from_i32(-101).map(ErrorCode::name),
            Some("NONODE")
        );
        assert_eq!(ErrorCode::NodeExists.as_i32(), -110);
        assert_eq!(ErrorCode::ThrottledOp.as_i32(), -127);
        assert_eq!(ErrorCode::SessionClosedRequireSaslAuth.as_i32(), -124);
        for unused in [-9, -109, -116, -117, -126, -128, 1] {
            assert_eq!(ErrorCode::from_i32(unused), None);
        }
        let mut names: alloc::vec::Vec<&str> = ErrorCode::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert_eq!(alloc::format!("{}", ErrorCode::BadVersion), "BADVERSION");
    }

    #[test]
    fn create_mode_flags() {
        assert_eq!(CreateMode::from_flag(7), None);
        assert_eq!(CreateMode::from_flag(-1), None);
        let table = [
            (0, false, false, false, false),
            (1, true, false, false, false),
            (2, false, true, false, false),
            (3, true, true, false, false),
            (4, false, false, true, false),
            (5, false, false, false, true),
            (6, false, true, false, true),
        ];
        for (flag, eph, seq, container, ttl) in table {
            let m = CreateMode::from_flag(flag).unwrap();
            assert_eq!(m.to_flag(), flag);
            assert_eq!(
                (
                    m.is_ephemeral(),
                    m.is_sequential(),
                    m.is_container(),
                    m.is_ttl()
                ),
                (eph, seq, container, ttl),
                "{m:?}"
            );
        }
    }
}
