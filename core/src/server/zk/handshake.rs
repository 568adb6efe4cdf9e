//! The session handshake: ConnectRequest to ConnectResponse, new sessions through ZAB,
//! reconnects with id and password, session ids and passwords.

#[allow(unused_imports)]
use super::*;

impl ZkService {
    pub(super) fn password(&self, session: i64) -> Vec<u8> {
        let a = crate::hash::splitmix64(
            (session as u64 ^ self.secret).wrapping_add(crate::hash::GOLDEN_GAMMA),
        );
        let b = crate::hash::splitmix64((a ^ 0xB341_5C00).wrapping_add(crate::hash::GOLDEN_GAMMA));
        let mut p = Vec::with_capacity(16);
        p.extend_from_slice(&a.to_be_bytes());
        p.extend_from_slice(&b.to_be_bytes());
        p
    }

    /// ZooKeeper's session id layout: creating server's id in the top byte, then time.
    pub(super) fn new_session_id(&mut self, cx: &ServiceCx<'_>) -> i64 {
        self.session_counter += 1;
        let base = (((cx.wall_ms as u64) << 24) >> 8) | (cx.my_id << 56);
        // A restarted server whose clock did not move would hand out live ids again: skip them.
        for _ in 0..1024 {
            let id = base.wrapping_add(self.session_counter) as i64;
            if id != i64::MIN && id != 0 && !self.tree.sessions().contains_key(&id) {
                return id;
            }
            self.session_counter += 1;
        }
        base.wrapping_add(self.session_counter) as i64
    }

    pub(super) fn on_connect(&mut self, conn: ConnId, bytes: &[u8], cx: &mut ServiceCx<'_>) {
        let max = cx.config.jute_max_buffer as usize;
        let Ok(req) = ConnectRequest::decode(&mut JuteReader::new(bytes, max)) else {
            return self.close(conn, cx);
        };
        if !cx.serving && !self.read_only_serving && self.park(conn, bytes, cx) {
            return;
        }
        // A server that is not serving, or behind what the client has seen, refuses silently;
        // the client tries another server.
        if req.last_zxid_seen > cx.last_applied.0 as i64 {
            return self.close(conn, cx);
        }
        let min = cx.config.min_session_timeout() as i32;
        let maxt = cx.config.max_session_timeout() as i32;
        let timeout_ms = req.timeout_ms.clamp(min, maxt.max(min));
        if !cx.serving {
            return self.connect_read_only(conn, &req, timeout_ms, cx);
        }
        if req.session_id == 0 {
            let session = self.new_session_id(cx);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.state = State::Connecting {
                    session,
                    timeout_ms,
                    read_only: req.read_only,
                };
            }
            self.by_session.insert(session, conn);
            cx.out.push(ServiceOutput::Write(WriteRequest {
                session_id: session,
                cxid: 0,
                kind: OpCode::CreateSession.as_i32(),
                body: timeout_ms.to_be_bytes().to_vec(),
                auth: alloc::sync::Arc::default(),
            }));
            return;
        }
        let password_ok = req.passwd == self.password(req.session_id);
        if password_ok && !self.tree.sessions().contains_key(&req.session_id) {
            // Issued by this ensemble but unknown here: we may simply be behind. Sync first.
            self.next_sync += 1;
            let id = self.next_sync;
            self.syncs.insert(id, conn);
            if let Some(c) = self.conns.get_mut(&conn) {
                c.state = State::Revalidating {
                    request: req,
                    timeout_ms,
                };
            }
            cx.out.push(ServiceOutput::Sync { id });
            return;
        }
        self.finish_connect(conn, req, timeout_ms, cx);
    }

    /// Holds the handshake of `conn` if this member stopped serving less than
    /// [`HANDSHAKE_HOLD_MS`] ago; false if it has been out of service longer (refuse).
    fn park(&mut self, conn: ConnId, connect: &[u8], cx: &ServiceCx<'_>) -> bool {
        let since = *self.not_serving_since.get_or_insert(cx.now);
        let until = since.plus_millis(HANDSHAKE_HOLD_MS);
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        if until <= cx.now {
            return false;
        }
        c.state = State::Parked {
            connect: connect.to_vec(),
        };
        self.parked.push_back((until, conn));
        true
    }

    /// The member serves again: every held handshake runs now, then the requests its client
    /// sent behind it.
    pub(super) fn unpark(&mut self, cx: &mut ServiceCx<'_>) {
        for (_, conn) in core::mem::take(&mut self.parked) {
            let Some(c) = self.conns.get_mut(&conn) else {
                continue;
            };
            let State::Parked { connect } = core::mem::replace(&mut c.state, State::New) else {
                continue;
            };
            self.on_connect(conn, &connect, cx);
            self.process(conn, cx);
        }
    }

    /// A connection to a member that is not serving: refused, unless the member is a read-only
    /// server and the client allows one (`canBeReadOnly`). Then a new session is local to this
    /// member and never replicated; a session of the ensemble is refused, as ZooKeeper refuses
    /// a global session in read-only mode, and so is a client without the flag.
    fn connect_read_only(
        &mut self,
        conn: ConnId,
        req: &ConnectRequest,
        timeout_ms: i32,
        cx: &mut ServiceCx<'_>,
    ) {
        if !self.read_only_serving || req.read_only != Some(true) || req.session_id != 0 {
            return self.close(conn, cx);
        }
        let session = self.new_session_id(cx);
        self.by_session.insert(session, conn);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.read_only = true;
        }
        self.accept(conn, session, timeout_ms, req.read_only, cx);
    }

    /// Accepts a reconnect to a session this server knows and the leader still tracks, or
    /// refuses it the way ZooKeeper does (timeout 0, id 0, zero password).
    pub(super) fn finish_connect(
        &mut self,
        conn: ConnId,
        req: ConnectRequest,
        timeout_ms: i32,
        cx: &mut ServiceCx<'_>,
    ) {
        let valid = req.passwd == self.password(req.session_id)
            && self.tree.sessions().contains_key(&req.session_id)
            && self
                .tracker
                .as_ref()
                .is_none_or(|t| t.is_live(req.session_id));
        if !valid {
            let mut out = Vec::new();
            crate::client::encode_record_frame(&ConnectResponse::refused(&req), &mut out);
            self.send(conn, out, cx);
            return self.close(conn, cx);
        }
        // The session moves here: a connection of ours that still holds it is stale.
        if let Some(old) = self.by_session.insert(req.session_id, conn) {
            if old != conn {
                self.close(old, cx);
                self.by_session.insert(req.session_id, conn);
            }
        }
        self.touch(req.session_id, cx);
        self.accept(conn, req.session_id, timeout_ms, req.read_only, cx);
    }

    pub(super) fn accept(
        &mut self,
        conn: ConnId,
        session: i64,
        timeout_ms: i32,
        read_only: Option<bool>,
        cx: &mut ServiceCx<'_>,
    ) {
        let local = self.conns.get(&conn).is_some_and(|c| c.read_only);
        let resp = ConnectResponse {
            protocol_version: 0,
            timeout_ms,
            session_id: session,
            passwd: self.password(session),
            // The flag comes back only to clients that sent it (3.3 clients did not).
            read_only: read_only.map(|_| local),
        };
        let mut out = Vec::new();
        crate::client::encode_record_frame(&resp, &mut out);
        self.send(conn, out, cx);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.state = State::Ready { session };
        }
        self.process(conn, cx);
    }
}
