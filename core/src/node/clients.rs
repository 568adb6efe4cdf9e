//! Glue between the service and replication: client writes proposed or forwarded, `sync`s,
//! and what the service asks the node to do.

#[allow(unused_imports)]
use super::*;

impl<S: Service> Node<S> {
    #[cfg(any(test, feature = "sim"))]
    pub(super) fn submit(
        &mut self,
        now: Instant,
        session_id: i64,
        cxid: i32,
        kind: i32,
        body: Vec<u8>,
    ) {
        if self.local_writes.len() >= self.tuning.max_pending_writes {
            return self.write_failed(session_id, cxid, WriteFailure::Busy);
        }
        if !self.serving() || !self.local_writes.insert((session_id, cxid)) {
            return self.write_failed(session_id, cxid, WriteFailure::NotServing);
        }
        let w = WriteRequest {
            session_id,
            cxid,
            kind,
            body,
            auth: alloc::sync::Arc::default(),
        };
        if !self.replicate(now, w) {
            self.local_writes.remove(&(session_id, cxid));
            self.write_failed(session_id, cxid, WriteFailure::NotServing);
        }
    }

    #[cfg(any(test, feature = "sim"))]
    pub(super) fn write_failed(&mut self, session_id: i64, cxid: i32, reason: WriteFailure) {
        self.out.push_back(Output::Event(NodeEvent::WriteFailed {
            session_id,
            cxid,
            reason,
        }));
    }

    /// Leader: prep and propose; learner: forward to the leader. False if neither is possible.
    pub(super) fn replicate(&mut self, now: Instant, w: WriteRequest) -> bool {
        match &self.activity {
            Activity::Leading(_) => self.propose(now, &w).is_some(),
            Activity::Learning(l) => {
                let leader = l.leader();
                let msg = PeerMessage::Request {
                    session_id: w.session_id,
                    cxid: w.cxid,
                    kind: w.kind,
                    body: w.body,
                    auth: w
                        .auth
                        .iter()
                        .map(|id| (id.scheme.clone(), id.id.clone()))
                        .collect(),
                };
                self.transport.send(now, leader, &msg, &mut self.link_buf)
            }
            _ => false,
        }
    }

    /// Leader: turns a write into a txn through the service and proposes it.
    pub(super) fn propose(&mut self, now: Instant, w: &WriteRequest) -> Option<Zxid> {
        let time_ms = self.wall_ms(now);
        let Activity::Leading(l) = &self.activity else {
            return None;
        };
        let Some(zxid) = l.next_zxid(&self.log) else {
            if l.is_established() {
                // The counter is exhausted: a new epoch is needed (ZOOKEEPER-1277).
                self.zab_buf
                    .push(ZabOutput::StepDown(StepDown::CounterExhausted));
            }
            return None;
        };
        let (kind, body) = self.prep_write(w, zxid, time_ms)?;
        self.metrics
            .proposal_sizes
            .record(i32::try_from(body.len()).unwrap_or(i32::MAX));
        let header = TxnHeader {
            zxid,
            session_id: w.session_id,
            cxid: w.cxid,
            time_ms,
            kind,
        };
        let mut proposed = None;
        self.with_ctx(now, |activity, ctx| {
            if let Activity::Leading(l) = activity {
                proposed = l.propose(header, body, ctx);
            }
        });
        proposed
    }

    pub(super) fn with_service(
        &mut self,
        now: Instant,
        f: impl FnOnce(&mut S, &mut ServiceCx<'_>),
    ) {
        let wall_ms = self.wall_ms(now);
        let serving = self.serving();
        let Node {
            sm,
            svc_buf,
            config,
            role,
            my_id,
            log,
            ..
        } = self;
        let mut cx = ServiceCx {
            now,
            wall_ms,
            my_id: *my_id,
            role: *role,
            serving,
            last_applied: log.last_applied(),
            config,
            out: svc_buf,
        };
        f(sm, &mut cx);
    }

    pub(super) fn on_service_output(&mut self, now: Instant, o: ServiceOutput) {
        match o {
            ServiceOutput::SendClient { conn, bytes } => {
                self.metrics.client_bytes_sent += bytes.len() as u64;
                self.out.push_back(Output::SendClient { conn, bytes })
            }
            ServiceOutput::FourLetterWord {
                conn,
                word,
                argument,
            } => {
                use crate::server::fourlw::{effect, Effect, Whitelist};
                let whitelist = Whitelist::parse(&self.config.four_letter_words)
                    .with_read_only_mode(self.config.read_only_mode_enabled);
                match effect(word, self.serving(), &whitelist) {
                    Effect::None => {}
                    Effect::ResetServerStats => {
                        self.metrics = crate::Metrics::default();
                        self.sm.reset_stats(true);
                    }
                    Effect::ResetConnectionStats => self.sm.reset_stats(false),
                    Effect::SetTraceMask => {
                        self.trace_mask = argument.unwrap_or(self.trace_mask);
                    }
                }
                let mut text = String::new();
                self.with_view(now, &mut |v| {
                    text = crate::server::fourlw::render(word, v, &whitelist)
                });
                self.metrics.client_bytes_sent += text.len() as u64;
                self.out.push_back(Output::SendClient {
                    conn,
                    bytes: text.into_bytes(),
                });
                self.with_service(now, |s, cx| {
                    s.client(ClientEvent::Disconnected { conn }, cx)
                });
                self.out.push_back(Output::CloseClient { conn });
            }
            ServiceOutput::Event(e @ NodeEvent::SessionExpired { .. }) => {
                self.metrics.sessions_expired += 1;
                self.out.push_back(Output::Event(e))
            }
            ServiceOutput::CloseClient { conn } => self.out.push_back(Output::CloseClient { conn }),
            ServiceOutput::ReadClient { conn, read } => {
                self.out.push_back(Output::ReadClient { conn, read })
            }
            ServiceOutput::Event(e) => self.out.push_back(Output::Event(e)),
            ServiceOutput::Write(w) => {
                // A write that cannot be replicated now is dropped; the service's client times
                // out and retries elsewhere, as a ZooKeeper client does on connection loss.
                let _ = self.replicate(now, w);
            }
            ServiceOutput::Sync { id } => match &self.activity {
                Activity::Leading(l) => match l.last_proposed() {
                    Some(z) => self.syncs_waiting.push((z, self.my_id, id)),
                    None => self.syncs_done.push(id),
                },
                Activity::Learning(l) => {
                    let leader = l.leader();
                    if self.transport.send(
                        now,
                        leader,
                        &PeerMessage::SyncRequest { id },
                        &mut self.link_buf,
                    ) {
                        self.syncs_forwarded.insert(id, ());
                    }
                }
                _ => {}
            },
        }
    }

    /// Leader: syncs whose zxid is now committed complete (ours locally, a learner's by
    /// SyncDone, which follows the COMMITs on the same link). True if any was released.
    pub(super) fn release_syncs(&mut self, now: Instant) -> bool {
        let committed = self.log.last_committed();
        if self.syncs_waiting.iter().all(|(z, _, _)| *z > committed) {
            return false;
        }
        let (ready, waiting): (Vec<_>, Vec<_>) = self
            .syncs_waiting
            .drain(..)
            .partition(|(z, _, _)| *z <= committed);
        self.syncs_waiting = waiting;
        for (_, peer, id) in ready {
            if peer == self.my_id {
                self.syncs_done.push(id);
            } else {
                self.transport
                    .send(now, peer, &PeerMessage::SyncDone { id }, &mut self.link_buf);
            }
        }
        true
    }
}
