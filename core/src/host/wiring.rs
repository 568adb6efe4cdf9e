//! The bookkeeping between the node and the adapter's sockets: which socket an event is
//! about, what input it becomes, which dials the node has abandoned, what each output asks
//! of the adapter, and how each event is logged. The adapter keeps one handle per
//! [`Socket`] and does what [`Action`]s say; it decides nothing.

use alloc::collections::BTreeSet;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;

use crate::ids::{LinkId, ServerId};
use crate::io::{Input, Level, NodeEvent, Output, PersistOp};
use crate::observe::HttpEndpoint;

/// One socket of the member, named the way the node names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Socket {
    /// A peer link (dialled or accepted).
    Peer(LinkId),
    /// A ZooKeeper client or HTTP connection.
    Client(u64),
}

/// Which listener accepted a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// The client port.
    Client,
    /// The TLS client port: its sockets go through the driver's [`crate::host::SocketLayer`].
    SecureClient,
    /// The peer (election) port.
    Peer,
    /// The metrics or admin HTTP port.
    Http(HttpEndpoint),
}

/// What the adapter must do for one output of the node, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Dial `addr`; report the result with [`Wiring::dialed`].
    Dial {
        /// The link it will be.
        link: LinkId,
        /// The server it should reach (for log lines).
        peer: ServerId,
        /// `host:port`.
        addr: String,
    },
    /// Write `bytes` on `socket` after what was written before.
    Send {
        /// The socket.
        socket: Socket,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Close `socket` after the bytes already queued (or drop a dial in progress).
    Close(Socket),
    /// Close `socket` now, discarding what is queued for it; do not report it closed. The
    /// driver aborts a socket that owes the wire too much (it stopped reading).
    Abort(Socket),
    /// Stop (`false`) or resume (`true`) reading `socket`: back-pressure.
    Read {
        /// The socket.
        socket: Socket,
        /// Whether to read.
        read: bool,
    },
    /// Run the op on the disk thread, strictly in `seq` order; acknowledge with
    /// `Input::Persisted` (cumulatively) or `Input::PersistFailed`.
    Persist {
        /// Its sequence number.
        seq: u64,
        /// The op.
        op: PersistOp,
    },
    /// Log `line` at `level`.
    Log {
        /// How loud.
        level: Level,
        /// The line, in the core's words.
        line: String,
    },
}

/// The socket bookkeeping of one member.
#[derive(Debug, Default)]
pub struct Wiring {
    next_accepted: u64,
    next_conn: u64,
    open: BTreeSet<Socket>,
    dials: BTreeSet<LinkId>,
    stopping: bool,
    halted: Option<String>,
}

impl Wiring {
    /// No socket yet.
    pub fn new() -> Wiring {
        Wiring::default()
    }

    /// A listener accepted a socket from `addr`: its name, and the input to hand the node.
    pub fn accepted(&mut self, listener: Listener, addr: SocketAddr) -> (Socket, Input<'static>) {
        match listener {
            Listener::Peer => {
                self.next_accepted += 1;
                let link = LinkId::Accepted(self.next_accepted);
                self.open.insert(Socket::Peer(link));
                (Socket::Peer(link), Input::PeerAccepted { link })
            }
            Listener::Client | Listener::SecureClient | Listener::Http(_) => {
                self.next_conn += 1;
                let conn = self.next_conn;
                self.open.insert(Socket::Client(conn));
                let input = match listener {
                    Listener::Http(endpoint) => Input::HttpConnected { conn, endpoint },
                    _ => Input::ClientConnected { conn, addr },
                };
                (Socket::Client(conn), input)
            }
        }
    }

    /// A dial ended (`ok`: connected). `None`: the node abandoned it meanwhile — drop the
    /// socket without telling the node.
    pub fn dialed(&mut self, link: LinkId, ok: bool) -> Option<Input<'static>> {
        if !self.dials.remove(&link) {
            return None;
        }
        if ok {
            self.open.insert(Socket::Peer(link));
            Some(Input::PeerConnected { link })
        } else {
            Some(Input::PeerDisconnected { link })
        }
    }

    /// Bytes were read from `socket`; `None` if the node already closed it.
    pub fn read<'a>(&self, socket: Socket, bytes: &'a [u8]) -> Option<Input<'a>> {
        if !self.open.contains(&socket) {
            return None;
        }
        Some(match socket {
            Socket::Peer(link) => Input::PeerBytes {
                link,
                bytes: bytes.into(),
            },
            Socket::Client(conn) => Input::ClientBytes {
                conn,
                bytes: bytes.into(),
            },
        })
    }

    /// `socket` closed under us (EOF, error, or dropped by the adapter for not being read):
    /// the input to hand the node, `None` if the node had closed it itself.
    pub fn closed(&mut self, socket: Socket) -> Option<Input<'static>> {
        if !self.open.remove(&socket) {
            return None;
        }
        Some(match socket {
            Socket::Peer(link) => Input::PeerDisconnected { link },
            Socket::Client(conn) => Input::ClientDisconnected { conn },
        })
    }

    /// Whether the node still considers `socket` open.
    pub fn is_open(&self, socket: Socket) -> bool {
        self.open.contains(&socket)
    }

    /// The member was asked to stop: from now on a peer leaving is expected, and logged as
    /// information instead of a warning.
    pub fn stopping(&mut self) {
        self.stopping = true;
    }

    /// Whether [`Wiring::stopping`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Why the node halted, once it has (the adapter then stops the member with this error).
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// What the adapter must do for `out`.
    pub fn output(&mut self, out: Output) -> Action {
        match out {
            Output::Dial { link, peer, addr } => {
                self.dials.insert(link);
                Action::Dial { link, peer, addr }
            }
            Output::SendPeer { link, bytes } => Action::Send {
                socket: Socket::Peer(link),
                bytes,
            },
            Output::SendClient { conn, bytes } => Action::Send {
                socket: Socket::Client(conn),
                bytes,
            },
            Output::ClosePeer { link } => {
                self.dials.remove(&link);
                self.open.remove(&Socket::Peer(link));
                Action::Close(Socket::Peer(link))
            }
            Output::CloseClient { conn } => {
                self.open.remove(&Socket::Client(conn));
                Action::Close(Socket::Client(conn))
            }
            Output::ReadClient { conn, read } => Action::Read {
                socket: Socket::Client(conn),
                read,
            },
            Output::Persist { seq, op } => Action::Persist { seq, op },
            Output::Event(e) => {
                if let NodeEvent::Halted { reason } = &e {
                    self.halted.get_or_insert_with(|| reason.clone());
                }
                match e.level() {
                    Level::Warn if self.stopping => Action::Log {
                        level: Level::Info,
                        line: format!("{e} (shutting down)"),
                    },
                    level => Action::Log {
                        level,
                        line: format!("{e}"),
                    },
                }
            }
        }
    }

    /// A persist op failed: the input for the node; the member halts.
    pub fn disk_failed(&mut self, seq: u64, error: String) -> Input<'static> {
        self.halted
            .get_or_insert_with(|| format!("disk write failed: {error}"));
        Input::PersistFailed { seq, error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 5000))
    }

    #[test]
    fn accepted_sockets_get_fresh_names_and_the_right_input() {
        let mut w = Wiring::new();
        assert_eq!(
            w.accepted(Listener::Peer, addr()),
            (
                Socket::Peer(LinkId::Accepted(1)),
                Input::PeerAccepted {
                    link: LinkId::Accepted(1)
                }
            )
        );
        assert_eq!(
            w.accepted(Listener::Client, addr()),
            (
                Socket::Client(1),
                Input::ClientConnected {
                    conn: 1,
                    addr: addr()
                }
            )
        );
        assert_eq!(
            w.accepted(Listener::Http(HttpEndpoint::Metrics), addr()).1,
            Input::HttpConnected {
                conn: 2,
                endpoint: HttpEndpoint::Metrics
            }
        );
        assert_eq!(
            w.read(Socket::Client(2), &[1]),
            Some(Input::ClientBytes {
                conn: 2,
                bytes: alloc::vec![1].into()
            })
        );
    }

    #[test]
    fn an_abandoned_dial_is_dropped_silently_and_a_closed_socket_reported_once() {
        let mut w = Wiring::new();
        let link = LinkId::Dialed(7);
        let dial = Output::Dial {
            link,
            peer: 2,
            addr: "h:1".into(),
        };
        assert!(matches!(w.output(dial.clone()), Action::Dial { .. }));
        assert_eq!(
            w.output(Output::ClosePeer { link }),
            Action::Close(Socket::Peer(link))
        );
        assert_eq!(w.dialed(link, true), None, "the node gave it up");
        w.output(dial);
        assert_eq!(w.dialed(link, true), Some(Input::PeerConnected { link }));
        assert_eq!(
            w.closed(Socket::Peer(link)),
            Some(Input::PeerDisconnected { link })
        );
        assert_eq!(w.closed(Socket::Peer(link)), None);
        assert_eq!(w.read(Socket::Peer(link), &[1]), None);
    }

    #[test]
    fn warnings_soften_while_stopping_and_a_halt_is_remembered() {
        let mut w = Wiring::new();
        let down = Output::Event(NodeEvent::SteppedDown {
            reason: crate::io::StepDown::InitLimit,
        });
        assert!(matches!(
            w.output(down.clone()),
            Action::Log {
                level: Level::Warn,
                ..
            }
        ));
        w.stopping();
        assert!(
            matches!(w.output(down), Action::Log { level: Level::Info, line } if line.ends_with("(shutting down)"))
        );
        w.output(Output::Event(NodeEvent::Halted {
            reason: "disk".into(),
        }));
        assert_eq!(w.halted(), Some("disk"));
    }
}
