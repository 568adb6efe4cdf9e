//! What each socket owes the wire: bytes the driver handed to the adapter (`Action::Send`)
//! that the adapter has not yet reported written (`Driver::written`). Two bounds make the
//! adapters' buffers a finite amount of memory, however many peers or clients stop reading:
//!
//! - one socket never owes more than [`MAX_SOCKET_BYTES`]: past it, it is aborted (a peer
//!   the node reconnects; a client that reconnects elsewhere, as after any connection loss);
//! - client sockets together never owe more than `clientBacklogLimitMB` (default 256 MiB):
//!   past it, the client socket that owes most is aborted, whoever's send tipped it over.
//!
//! The ZooKeeper service paces each connection first (no request is executed while its
//! connection owes more than a mebibyte), so a client reaches these bounds only through the
//! notifications of its watches, or when very many of them stop reading at once.

use alloc::collections::BTreeMap;

use crate::host::wiring::Socket;

/// The most one socket may owe before it is aborted (the adapters' old per-socket bound).
pub(crate) const MAX_SOCKET_BYTES: u64 = 64 << 20;

/// What to do with bytes for a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Hand them to the adapter.
    Send,
    /// Abort this socket (it may be the one they were for: then they are dropped too).
    Abort(Socket),
}

/// One socket's debt.
#[derive(Debug, Default)]
struct Debt {
    unsent: u64,
    /// The node closed it: the entry goes once the adapter has written the rest.
    closing: bool,
}

/// The debts of every socket that owes something or is open.
#[derive(Debug)]
pub(crate) struct Backlog {
    debts: BTreeMap<Socket, Debt>,
    clients_total: u64,
    max_socket: u64,
    max_clients: u64,
}

impl Backlog {
    /// Nothing owed; sockets aborted past `max_socket` each, clients past `max_clients`.
    pub(crate) fn with_bounds(max_socket: u64, max_clients: u64) -> Backlog {
        Backlog {
            debts: BTreeMap::new(),
            clients_total: 0,
            max_socket,
            max_clients,
        }
    }

    /// `len` bytes are to be handed to the adapter for `socket` (`open`: the node still has
    /// it open; bytes for a socket it dropped that owes nothing, such as a refused TLS
    /// handshake's alert, are sent uncounted). What to do with them.
    pub(crate) fn sent(&mut self, socket: Socket, len: usize, open: bool) -> Verdict {
        let len = len as u64;
        let debt = match self.debts.get_mut(&socket) {
            Some(debt) => debt,
            None if open => self.debts.entry(socket).or_default(),
            None => return Verdict::Send,
        };
        debt.unsent += len;
        if matches!(socket, Socket::Client(_)) {
            self.clients_total += len;
        }
        if debt.unsent > self.max_socket {
            return Verdict::Abort(socket);
        }
        if self.clients_total > self.max_clients {
            let largest = self
                .debts
                .iter()
                .filter(|(s, _)| matches!(s, Socket::Client(_)))
                .max_by_key(|(_, d)| d.unsent);
            if let Some((victim, _)) = largest {
                return Verdict::Abort(*victim);
            }
        }
        Verdict::Send
    }

    /// The adapter wrote `len` bytes of `socket`'s.
    pub(crate) fn written(&mut self, socket: Socket, len: usize) {
        let Some(debt) = self.debts.get_mut(&socket) else {
            return;
        };
        let paid = debt.unsent.min(len as u64);
        debt.unsent -= paid;
        if matches!(socket, Socket::Client(_)) {
            self.clients_total -= paid;
        }
        if debt.closing && debt.unsent == 0 {
            self.debts.remove(&socket);
        }
    }

    /// The node closed `socket`: the adapter writes what it owes, then forgets it.
    pub(crate) fn closing(&mut self, socket: Socket) {
        match self.debts.get_mut(&socket) {
            Some(debt) if debt.unsent > 0 => debt.closing = true,
            _ => {
                self.debts.remove(&socket);
            }
        }
    }

    /// `socket` is gone (closed under the adapter, or aborted): its debt is void.
    pub(crate) fn forget(&mut self, socket: Socket) -> u64 {
        let unsent = self.debts.remove(&socket).map_or(0, |d| d.unsent);
        if matches!(socket, Socket::Client(_)) {
            self.clients_total -= unsent;
        }
        unsent
    }

    /// What `socket` owes now.
    #[cfg(test)]
    pub(crate) fn owed(&self, socket: Socket) -> u64 {
        self.debts.get(&socket).map_or(0, |d| d.unsent)
    }

    /// The bound on one socket's debt.
    pub(crate) fn max_socket(&self) -> u64 {
        self.max_socket
    }

    /// The bound on all client sockets' debts together.
    pub(crate) fn max_clients(&self) -> u64 {
        self.max_clients
    }

    /// What all client sockets owe now.
    pub(crate) fn clients_total(&self) -> u64 {
        self.clients_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::LinkId;

    const MIB: usize = 1 << 20;

    impl Default for Backlog {
        fn default() -> Backlog {
            Backlog::with_bounds(MAX_SOCKET_BYTES, 256 << 20)
        }
    }

    #[test]
    fn a_debt_grows_with_sends_and_shrinks_with_writes() {
        let mut b = Backlog::default();
        let c = Socket::Client(1);
        assert_eq!(b.sent(c, 100, true), Verdict::Send);
        assert_eq!(b.sent(c, 50, true), Verdict::Send);
        b.written(c, 120);
        assert_eq!((b.owed(c), b.clients_total()), (30, 30));
        // Over-reporting (TLS records are longer than what they carry) saturates at zero.
        b.written(c, 1000);
        assert_eq!((b.owed(c), b.clients_total()), (0, 0));
    }

    #[test]
    fn sends_to_a_socket_the_node_dropped_are_not_counted() {
        let mut b = Backlog::default();
        assert_eq!(b.sent(Socket::Client(7), 10 * MIB, false), Verdict::Send);
        assert_eq!(b.clients_total(), 0);
    }

    #[test]
    fn one_socket_past_its_bound_is_aborted_itself() {
        let mut b = Backlog::default();
        let peer = Socket::Peer(LinkId::Accepted(1));
        assert_eq!(b.sent(peer, 64 * MIB, true), Verdict::Send);
        assert_eq!(b.sent(peer, 1, true), Verdict::Abort(peer));
        assert_eq!(b.forget(peer), 64 * MIB as u64 + 1);
        assert_eq!(b.clients_total(), 0, "peers are not client debt");
    }

    #[test]
    fn clients_past_the_total_lose_the_one_owing_most() {
        let mut b = Backlog::default();
        for conn in 1..=4 {
            assert_eq!(b.sent(Socket::Client(conn), 60 * MIB, true), Verdict::Send);
        }
        // 240 MiB owed; client 3 owes 2 MiB more; client 9's small send tips the total over.
        assert_eq!(b.sent(Socket::Client(3), 2 * MIB, true), Verdict::Send);
        assert_eq!(
            b.sent(Socket::Client(9), 15 * MIB, true),
            Verdict::Abort(Socket::Client(3))
        );
        b.forget(Socket::Client(3));
        assert_eq!(b.clients_total(), (3 * 60 + 15) as u64 * MIB as u64);
    }

    #[test]
    fn a_closing_socket_counts_until_written_then_goes() {
        let mut b = Backlog::default();
        let c = Socket::Client(2);
        b.sent(c, 10, true);
        b.closing(c);
        assert_eq!(b.owed(c), 10);
        // A send after the close (a TLS close_notify) still counts: the adapter writes it.
        assert_eq!(b.sent(c, 5, false), Verdict::Send);
        b.written(c, 15);
        assert_eq!((b.owed(c), b.clients_total()), (0, 0));
        assert!(b.debts.is_empty());
        // Closing a socket that owes nothing forgets it at once.
        b.sent(c, 0, true);
        b.closing(c);
        assert!(b.debts.is_empty());
    }
}
