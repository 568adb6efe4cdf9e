//! The client workload: a few simulated clients, each with at most one write outstanding,
//! submitting to a random live server every 5–50 ms (simulated). A client waits for that
//! server's `WriteCommitted` or `WriteFailed`, gives up after
//! [`crate::options::CLIENT_TIMEOUT_MS`] (the write's fate is then unknown), and also gives up
//! at once when the server's process dies (the connection resets). `session_id` is the client's
//! id (1..), `cxid` a per-client counter (1..), so every write is unique.

use conclave_core::rng::Prng;
use conclave_core::RegisterMap;
use conclave_core::{Input, ServerId};

const MS: u64 = 1_000_000;

/// How a write ended, for the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// `WriteCommitted`.
    Committed,
    /// `WriteFailed` with `NotServing` or `Busy`: not accepted.
    Rejected,
    /// `WriteFailed { Unknown }`, a timeout, or the server died.
    Unknown,
}

#[derive(Clone, Debug)]
struct Client {
    next_cxid: i32,
    /// (server, incarnation, cxid) of the outstanding write.
    waiting: Option<(ServerId, u64, i32)>,
}

/// Counters of the workload.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Writes submitted.
    pub submitted: u64,
    /// Writes acknowledged to their client.
    pub committed: u64,
    /// Writes refused (not serving, busy).
    pub rejected: u64,
    /// Writes whose fate the client never learned.
    pub unknown: u64,
}

/// Every client of the run.
#[derive(Clone, Debug)]
pub(crate) struct Clients {
    clients: Vec<Client>,
    rng: Prng,
    stop_at: u64,
    pub(crate) stats: WorkloadStats,
}

/// A write to hand to a server.
pub(crate) struct Submission {
    pub(crate) server: ServerId,
    pub(crate) inc: u64,
    pub(crate) session_id: i64,
    pub(crate) cxid: i32,
    pub(crate) input: Input<'static>,
}

impl Clients {
    /// `count` clients (session ids `1..=count`) that stop submitting at `stop_at` ns.
    pub(crate) fn new(count: usize, rng: Prng, stop_at: u64) -> Clients {
        Clients {
            clients: vec![
                Client {
                    next_cxid: 1,
                    waiting: None,
                };
                count
            ],
            rng,
            stop_at,
            stats: WorkloadStats::default(),
        }
    }

    /// A think time before the next write, ns.
    pub(crate) fn gap(&mut self) -> u64 {
        self.rng.range_inclusive(5 * MS, 50 * MS)
    }

    /// Client `client` (index) is ready at `now`; `live` are the running servers and their
    /// incarnations. `None` if the workload is over or nobody runs (retry after a gap then).
    pub(crate) fn submit(
        &mut self,
        client: usize,
        now: u64,
        live: &[(ServerId, u64)],
    ) -> Result<Option<Submission>, ()> {
        if now >= self.stop_at {
            return Err(());
        }
        if live.is_empty() || self.clients[client].waiting.is_some() {
            return Ok(None);
        }
        let (server, inc) = live[self.rng.below(live.len() as u64) as usize];
        let key = self.rng.below(16);
        let c = &mut self.clients[client];
        let cxid = c.next_cxid;
        c.next_cxid += 1;
        c.waiting = Some((server, inc, cxid));
        self.stats.submitted += 1;
        let session_id = client as i64 + 1;
        let value = ((client as u64 + 1) << 32) | cxid as u64;
        Ok(Some(Submission {
            server,
            inc,
            session_id,
            cxid,
            input: Input::Submit {
                session_id,
                cxid,
                kind: 0,
                body: RegisterMap::write(key, value),
            },
        }))
    }

    /// `server` reported the end of `(session_id, cxid)`; the client index if it was waiting.
    pub(crate) fn answered(
        &mut self,
        server: ServerId,
        session_id: i64,
        cxid: i32,
        outcome: Outcome,
    ) -> Option<usize> {
        let client = usize::try_from(session_id).ok()?.checked_sub(1)?;
        let c = self.clients.get_mut(client)?;
        match c.waiting {
            Some((s, _, x)) if s == server && x == cxid => {
                c.waiting = None;
                self.count(outcome);
                Some(client)
            }
            _ => None,
        }
    }

    /// The timeout of `client`'s write `cxid` expired: true if it was still waiting.
    pub(crate) fn timed_out(&mut self, client: usize, cxid: i32) -> bool {
        let Some(c) = self.clients.get_mut(client) else {
            return false;
        };
        if c.waiting.is_some_and(|(_, _, x)| x == cxid) {
            c.waiting = None;
            self.count(Outcome::Unknown);
            return true;
        }
        false
    }

    /// Incarnation `inc` of `server` died: its clients give up; returns them.
    pub(crate) fn server_died(&mut self, server: ServerId, inc: u64) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, c) in self.clients.iter_mut().enumerate() {
            if c.waiting.is_some_and(|(s, n, _)| s == server && n == inc) {
                c.waiting = None;
                out.push(i);
            }
        }
        for _ in &out {
            self.count(Outcome::Unknown);
        }
        out
    }

    fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Committed => self.stats.committed += 1,
            Outcome::Rejected => self.stats.rejected += 1,
            Outcome::Unknown => self.stats.unknown += 1,
        }
    }
}
