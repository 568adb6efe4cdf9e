//! The leader's side of a write: turning a client request into a txn (or an error txn)
//! against the tree plus the changes still in flight.

#[allow(unused_imports)]
use super::*;
use crate::tree::ReconfigView;

impl ZkService {
    pub(super) fn leader_prep(
        &mut self,
        w: &WriteRequest,
        zxid: Zxid,
        time_ms: i64,
        reconfig: Option<&ReconfigView<'_>>,
    ) -> ZkTxn {
        if w.kind == OpCode::CreateSession.as_i32() {
            let timeout_ms = match <[u8; 4]>::try_from(w.body.as_slice()) {
                Ok(b) => i32::from_be_bytes(b),
                Err(_) => {
                    return ZkTxn::Error {
                        code: ErrorCode::MarshallingError,
                    }
                }
            };
            // The tracker starts timing the session when the txn is applied.
            return ZkTxn::CreateSession { timeout_ms };
        }
        // Requests of a session the leader has expired (or never knew) fail in order.
        let live = self
            .tracker
            .as_ref()
            .is_none_or(|t| t.is_live(w.session_id))
            || w.kind == OpCode::CloseSession.as_i32()
            || w.session_id == 0;
        if !live {
            return ZkTxn::Error {
                code: ErrorCode::SessionExpired,
            };
        }
        let request = if w.kind == OpCode::CloseSession.as_i32() {
            Request::CloseSession
        } else {
            let header = RequestHeader {
                xid: w.cxid,
                op: w.kind,
            };
            match decode_request(header, &w.body, DEFAULT_MAX_BUFFER) {
                Ok(r) => r,
                Err(DecodeError::Unimplemented(_)) => {
                    return ZkTxn::Error {
                        code: ErrorCode::Unimplemented,
                    }
                }
                Err(_) => {
                    return ZkTxn::Error {
                        code: ErrorCode::MarshallingError,
                    }
                }
            }
        };
        let mut ctx = PrepCtx::new(w.session_id, &w.auth, zxid, time_ms);
        ctx.super_digest = self.super_digest.as_deref();
        ctx.reconfig = reconfig;
        match prep(&request, &ctx, &self.tree, &mut self.pending) {
            Ok(txn) => txn,
            Err(code) => ZkTxn::Error { code },
        }
    }
}
