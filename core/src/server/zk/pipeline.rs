//! The per-session pipeline: frames in, requests queued per connection, executed in order
//! (reads locally, writes through ZAB, syncs through the leader).

#[allow(unused_imports)]
use super::*;
use crate::client::FourLetterWord;

impl ZkService {
    pub(super) fn on_bytes(&mut self, conn: ConnId, bytes: &[u8], cx: &mut ServiceCx<'_>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.decoder.push(bytes);
        if c.stmk_pending {
            // stmk answers once its 8-byte mask has arrived (ZooKeeper reads it with the word).
            if let Some(mask) = c.decoder.four_letter_argument() {
                c.stmk_pending = false;
                cx.out.push(ServiceOutput::FourLetterWord {
                    conn,
                    word: FourLetterWord::Stmk,
                    argument: Some(mask),
                });
            }
            return;
        }
        // Bounded: every frame consumes at least its 4-byte length prefix.
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let frame = match c.decoder.next_frame() {
                None => break,
                Some(Err(_)) => return self.close(conn, cx),
                Some(Ok(Frame::FourLetter(w))) => {
                    // The node renders it from the whole server's view, then closes.
                    self.packets_received += 1;
                    let argument = c.decoder.four_letter_argument();
                    if w == FourLetterWord::Stmk && argument.is_none() {
                        c.stmk_pending = true;
                    } else {
                        cx.out.push(ServiceOutput::FourLetterWord {
                            conn,
                            word: w,
                            argument,
                        });
                    }
                    return;
                }
                Some(Ok(Frame::Connect(b))) => Err(b.to_vec()),
                // The header is parsed in place; only the body is copied, once.
                Some(Ok(Frame::Packet(b))) => Ok(RequestHeader::split(b)
                    .ok()
                    .map(|(header, body)| (header, body.to_vec()))),
            };
            self.packets_received += 1;
            if let Some(c) = self.conns.get_mut(&conn) {
                c.received += 1;
            }
            match frame {
                Err(connect) => self.on_connect(conn, &connect, cx),
                Ok(packet) => {
                    let Some((header, body)) = packet else {
                        return self.close(conn, cx);
                    };
                    let Some(c) = self.conns.get_mut(&conn) else {
                        return;
                    };
                    if !matches!(
                        c.state,
                        State::Ready { .. }
                            | State::Connecting { .. }
                            | State::Revalidating { .. }
                            | State::Parked { .. }
                    ) {
                        return self.close(conn, cx);
                    }
                    c.queue.push_back(Pending { header, body });
                    if c.queue.len() + c.writes.len() >= MAX_QUEUED_PER_CONN && !c.paused {
                        c.paused = true;
                        cx.out.push(ServiceOutput::ReadClient { conn, read: false });
                    }
                }
            }
        }
        self.process(conn, cx);
    }

    /// Runs the connection's queue in order. ZooKeeper's ordering rule: a session's writes go
    /// to ZAB back to back (they commit, and are answered, in that order); anything else waits
    /// until every earlier write is answered; a sync holds everything after it.
    pub(super) fn process(&mut self, conn: ConnId, cx: &mut ServiceCx<'_>) {
        // Bounded by the queue, which is bounded by MAX_QUEUED_PER_CONN plus one read batch.
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            let State::Ready { session } = c.state else {
                return;
            };
            if c.waiting.is_some() || c.unsent > PACE_BYTES {
                return;
            }
            let Some(next) = c.queue.front() else { break };
            let pipelined =
                goes_through_zab(next.header.op) && c.writes.len() < MAX_QUEUED_PER_CONN;
            if !c.writes.is_empty() && !pipelined {
                return;
            }
            let Some(p) = c.queue.pop_front() else { break };
            let local = c.read_only;
            if c.paused && c.queue.len() + c.writes.len() < MAX_QUEUED_PER_CONN / 2 {
                c.paused = false;
                cx.out.push(ServiceOutput::ReadClient { conn, read: true });
            }
            if local {
                // A local session: nobody else tracks it, nothing to touch.
                self.execute_read_only(conn, session, p, cx);
            } else {
                self.touch(session, cx);
                self.execute(conn, session, p, cx);
            }
        }
    }

    /// A request of a read-only session: state changes and sync are answered NOTREADONLY,
    /// closeSession ends the local session here, the rest runs as usual on the last state.
    fn execute_read_only(
        &mut self,
        conn: ConnId,
        session: i64,
        p: Pending,
        cx: &mut ServiceCx<'_>,
    ) {
        let (op, xid) = (p.header.op, p.header.xid);
        if refused_when_read_only(op) {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.current.push_back((op, cx.now));
            }
            return self.reply(conn, xid, cx.last_applied, Err(ErrorCode::NotReadOnly), cx);
        }
        if OpCode::from_i32(op) == Some(OpCode::CloseSession) {
            if let Some(c) = self.conns.get_mut(&conn) {
                c.current.push_back((op, cx.now));
            }
            self.reply(conn, xid, cx.last_applied, Ok(Response::Empty), cx);
            return self.close(conn, cx);
        }
        self.execute(conn, session, p, cx);
    }

    pub(super) fn execute(
        &mut self,
        conn: ConnId,
        session: i64,
        p: Pending,
        cx: &mut ServiceCx<'_>,
    ) {
        let xid = p.header.xid;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.current.push_back((p.header.op, cx.now));
        }
        let zxid = cx.last_applied;
        let max = cx.config.jute_max_buffer.max(1) as usize;
        let request = match decode_request(p.header, &p.body, max) {
            Ok(r) => r,
            Err(e) => {
                let code = match e {
                    DecodeError::Unimplemented(_) => ErrorCode::Unimplemented,
                    _ => ErrorCode::MarshallingError,
                };
                if self.conns.get(&conn).is_some_and(|c| !c.writes.is_empty()) {
                    // An undecodable "write" cannot be answered before the writes ahead of
                    // it: drop the connection, as ZooKeeper does on a bad packet.
                    return self.close(conn, cx);
                }
                return self.reply(conn, xid, zxid, Err(code), cx);
            }
        };
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.clone())
            .unwrap_or_default();
        match &request {
            Request::Ping => self.reply(conn, xid, zxid, Ok(Response::Empty), cx),
            Request::Auth {
                scheme,
                auth: bytes,
                ..
            } => {
                if scheme == "digest" {
                    let user_pass = String::from_utf8_lossy(bytes);
                    let id = Id {
                        scheme: String::from("digest"),
                        id: crate::tree::digest_id(&user_pass),
                    };
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.add_auth(id);
                    }
                    self.reply(conn, xid, zxid, Ok(Response::Empty), cx);
                } else if scheme == "ip" {
                    // ZooKeeper's IPAuthenticationProvider ignores the bytes and authenticates
                    // the connection's own address, which every connection holds from the
                    // start (`ip:<address>`): nothing to add, and no failure.
                    self.reply(conn, xid, zxid, Ok(Response::Empty), cx);
                } else {
                    self.reply(conn, xid, zxid, Err(ErrorCode::AuthFailed), cx);
                    self.close(conn, cx);
                }
            }
            Request::SetWatches {
                relative_zxid,
                data,
                exist,
                child,
            } => {
                self.set_watches(conn, *relative_zxid, data, exist, child, &[], &[], cx);
                self.reply(conn, xid, zxid, Ok(Response::Empty), cx);
            }
            Request::SetWatches2 {
                relative_zxid,
                data,
                exist,
                child,
                persistent,
                persistent_recursive,
            } => {
                self.set_watches(
                    conn,
                    *relative_zxid,
                    data,
                    exist,
                    child,
                    persistent,
                    persistent_recursive,
                    cx,
                );
                self.reply(conn, xid, zxid, Ok(Response::Empty), cx);
            }
            Request::AddWatch { path, mode } => {
                let kind = match mode {
                    AddWatchMode::Persistent => WatchKind::Persistent,
                    AddWatchMode::PersistentRecursive => WatchKind::Recursive,
                };
                self.watches.add(conn, path, kind);
                self.reply(conn, xid, zxid, Ok(Response::AddWatch), cx);
            }
            Request::RemoveWatches { path, watcher_type }
            | Request::CheckWatches { path, watcher_type } => {
                let remove = matches!(request, Request::RemoveWatches { .. });
                let found = if remove {
                    self.watches.remove(conn, path, *watcher_type)
                } else {
                    self.watches.has(conn, path, *watcher_type)
                };
                let result = if found {
                    Ok(Response::Empty)
                } else {
                    Err(ErrorCode::NoWatcher)
                };
                self.reply(conn, xid, zxid, result, cx);
            }
            Request::WhoAmI => {
                let infos = auth
                    .iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: crate::tree::user_name(id),
                    })
                    .collect();
                self.reply(conn, xid, zxid, Ok(Response::WhoAmI { clients: infos }), cx);
            }
            Request::Sync { path } => {
                self.next_sync += 1;
                let id = self.next_sync;
                self.syncs.insert(id, conn);
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.waiting = Some(Wait::Sync {
                        id,
                        xid,
                        path: path.clone(),
                    });
                }
                cx.out.push(ServiceOutput::Sync { id });
            }
            Request::Sasl { token } => self.sasl_step(conn, xid, zxid, token, cx),
            Request::Exists { .. }
            | Request::GetData { .. }
            | Request::GetChildren { .. }
            | Request::GetChildren2 { .. }
            | Request::GetAllChildrenNumber { .. }
            | Request::GetAcl { .. }
            | Request::GetEphemerals { .. }
            | Request::MultiRead(_) => {
                let result = read(
                    &request,
                    &ReadCtx {
                        session_id: session,
                        caller: Caller {
                            auth: &auth,
                            super_digest: self.super_digest.as_deref(),
                        },
                        static_config: self.static_config.as_deref(),
                    },
                    &self.tree,
                );
                match &request {
                    // An exists watch is left whether or not the node exists.
                    Request::Exists { path, watch: true }
                        if matches!(result, Ok(_) | Err(ErrorCode::NoNode)) =>
                    {
                        self.watches.add(conn, path, WatchKind::Data)
                    }
                    Request::GetData { path, watch: true } if result.is_ok() => {
                        self.watches.add(conn, path, WatchKind::Data)
                    }
                    Request::GetChildren { path, watch: true }
                    | Request::GetChildren2 { path, watch: true }
                        if result.is_ok() =>
                    {
                        self.watches.add(conn, path, WatchKind::Child)
                    }
                    _ => {}
                }
                self.reply(conn, xid, zxid, result, cx);
            }
            // Everything else changes state: it goes through ZAB, and the queue waits for it.
            _ => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.writes.push_back(xid);
                }
                cx.out.push(ServiceOutput::Write(WriteRequest {
                    session_id: session,
                    cxid: xid,
                    kind: p.header.op,
                    body: p.body,
                    auth,
                }));
            }
        }
    }
}

/// The opcodes that always become a txn: they may follow the session's other writes into ZAB
/// without waiting for their replies. Anything else (reads, sync, auth, watches, ping) is
/// answered here and must wait, or it would overtake an earlier write's reply.
fn goes_through_zab(op: i32) -> bool {
    matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::CloseSession
        )
    )
}
