//! **Per-session FIFO.** On one connection, a client's replies arrive in the order it sent
//! its requests: the reply to xid `x` comes after the replies to every xid sent before `x`
//! on that connection, and no reply arrives for a request never sent.
//!
//! Source: ZooKeeper Programmer's Guide, *ZooKeeper guarantees*: "Sequential Consistency —
//! updates from a client will be applied in the order that they were sent", and the client
//! library's `SendThread`, which matches every reply to the head of its pending queue and
//! treats any other xid as a protocol error (`ClientCnxn.readResponse`).

/// The checker (stateless: the client keeps its pending queue).
#[derive(Clone, Copy, Debug, Default)]
pub struct SessionFifo;

impl SessionFifo {
    /// The invariant's name in reports.
    pub const NAME: &'static str = "session_fifo";

    /// Client `client` got a reply to `got` on `conn`; `expected` is the oldest request still
    /// waiting there (xid and what it was), if any.
    pub fn reply(
        &self,
        client: usize,
        conn: u64,
        expected: Option<(i32, &str)>,
        got: i32,
    ) -> Result<(), String> {
        match expected {
            Some((x, _)) if x == got => Ok(()),
            Some((x, what)) => Err(format!(
                "c{client} conn {conn}: reply to xid {got} arrived while xid {x} ({what}) was \
                 the oldest request waiting"
            )),
            None => Err(format!(
                "c{client} conn {conn}: reply to xid {got} with no request waiting"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_must_answer_the_oldest_request() {
        let f = SessionFifo;
        assert!(f.reply(0, 1, Some((3, "getData")), 3).is_ok());
        assert!(f.reply(0, 1, Some((3, "getData")), 4).is_err());
        assert!(f.reply(0, 1, None, 4).is_err());
    }
}
