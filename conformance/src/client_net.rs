//! A model of the TCP connections between ZooKeeper clients and servers.
//!
//! * **Dial.** A client dials one server's client port: if the server's machine is down the
//!   dial times out (50–500 ms); if only its process is down it is refused within 1 ms;
//!   otherwise the SYN travels one latency, the server gets `ClientConnected`, and the client
//!   learns the connection is up one latency later.
//! * **Streams.** Two FIFO byte streams per connection; delivery time = max(last delivery on
//!   that stream, now + latency + jitter). Latency per (client, server) pair is 0.1–2 ms
//!   plus up to 3 ms jitter. Different connections are independent, so replies on a new
//!   connection can overtake bytes still travelling on an old one.
//! * **Back-pressure.** While the server asked not to read a connection (`ReadClient`),
//!   arriving bytes wait in the kernel buffer and are handed over, in order, when it reads
//!   again.
//! * **Close.** A close from either end reaches the other after the bytes already in flight
//!   (FIN after data). A server process that dies closes its sockets the same way; a machine
//!   that goes down says nothing, and its clients find out by their own ping timeout or a TCP
//!   timeout 1–4 s later.
//! * **Faults** (chaos phase only): a send resets the connection (`reset_ppm`), both ends
//!   learn one latency later. Clients are never partitioned from servers: partitions cut
//!   servers from each other, which is what ZAB has to survive; a client whose server is cut
//!   off from the quorum sees it stop serving.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use conclave_core::rng::Prng;
use conclave_core::{Input, ServerId, Zxid};

use crate::events::{ClientNetEvent, Event};
use crate::queue::EventQueue;

const MS: u64 = 1_000_000;

#[derive(Clone, Copy, Debug)]
struct Host {
    inc: u64,
    process_up: bool,
    machine_up: bool,
}

#[derive(Clone, Debug)]
struct Conn {
    client: usize,
    server: ServerId,
    /// The server incarnation that accepted it (0 while the SYN travels).
    inc: u64,
    /// The server accepted it and has not been told it closed.
    server_open: bool,
    /// The client has not closed it nor been told it closed.
    client_open: bool,
    /// False while the server asked not to read it.
    reading: bool,
    /// Bytes that arrived while the server was not reading.
    held: Vec<Vec<u8>>,
    /// Closed or reset at one end: new writes go nowhere.
    dying: bool,
    to_server_last: u64,
    to_client_last: u64,
}

/// What a client-network event does.
#[derive(Debug)]
pub(crate) enum Arrival {
    /// An input for a server incarnation.
    Server {
        /// The server.
        node: ServerId,
        /// Its incarnation.
        inc: u64,
        /// The input.
        input: Input<'static>,
    },
    /// The client's connection is established.
    Established {
        /// The client.
        client: usize,
        /// The connection.
        conn: u64,
    },
    /// Bytes reach the client.
    Bytes {
        /// The client.
        client: usize,
        /// The connection.
        conn: u64,
        /// The bytes.
        bytes: Vec<u8>,
        /// The sending server's `last_applied` when it wrote them.
        applied: Zxid,
    },
    /// The client learns the connection is closed (or the dial failed).
    Closed {
        /// The client.
        client: usize,
        /// The connection.
        conn: u64,
    },
}

/// Counters for the run report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ClientNetStats {
    /// Connections dialled.
    pub(crate) dials: u64,
    /// Connections reset by the fault injector.
    pub(crate) resets: u64,
}

/// Every client connection of the run.
pub(crate) struct ClientNet {
    hosts: BTreeMap<ServerId, Host>,
    conns: BTreeMap<u64, Conn>,
    next_conn: u64,
    latency: BTreeMap<(usize, ServerId), (u64, u64)>,
    rng: Prng,
    reset_ppm: u32,
    pub(crate) stats: ClientNetStats,
}

impl ClientNet {
    /// No connection yet; `reset_ppm` per send during the chaos phase.
    pub(crate) fn new(rng: Prng, reset_ppm: u32) -> ClientNet {
        ClientNet {
            hosts: BTreeMap::new(),
            conns: BTreeMap::new(),
            next_conn: 1,
            latency: BTreeMap::new(),
            rng,
            reset_ppm,
            stats: ClientNetStats::default(),
        }
    }

    /// Faults end.
    pub(crate) fn heal(&mut self) {
        self.reset_ppm = 0;
    }

    /// The address a client's connections come from (one IP per client, so per-IP connection
    /// limits see several hosts).
    pub(crate) fn client_addr(client: usize, conn: u64) -> SocketAddr {
        let ip = Ipv4Addr::new(10, 0, (client / 250) as u8, (client % 250) as u8 + 1);
        SocketAddr::new(IpAddr::V4(ip), 20_000 + (conn % 40_000) as u16)
    }

    fn latency(&mut self, client: usize, server: ServerId) -> u64 {
        let (base, jitter) = match self.latency.get(&(client, server)) {
            Some(&l) => l,
            None => {
                let l = (
                    self.rng.range_inclusive(100_000, 2 * MS),
                    self.rng.range_inclusive(0, 3 * MS),
                );
                self.latency.insert((client, server), l);
                l
            }
        };
        base + self.rng.below(jitter + 1)
    }

    fn host(&self, id: ServerId) -> Host {
        self.hosts.get(&id).copied().unwrap_or(Host {
            inc: 0,
            process_up: false,
            machine_up: true,
        })
    }

    /// A server process (re)started as incarnation `inc`.
    pub(crate) fn host_started(&mut self, node: ServerId, inc: u64) {
        self.hosts.insert(
            node,
            Host {
                inc,
                process_up: true,
                machine_up: true,
            },
        );
    }

    /// A server went down (`machine`: power loss, silence; else its kernel closes sockets).
    pub(crate) fn host_crashed(
        &mut self,
        now: u64,
        node: ServerId,
        machine: bool,
        queue: &mut EventQueue,
    ) {
        let inc = self.host(node).inc;
        self.hosts.insert(
            node,
            Host {
                inc,
                process_up: false,
                machine_up: !machine,
            },
        );
        let ids: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.server == node && c.server_open)
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            let Some(c) = self.conns.get_mut(&id) else {
                continue;
            };
            c.server_open = false;
            c.dying = true;
            let (client, last) = (c.client, c.to_client_last);
            let at = if machine {
                now + self.rng.range_inclusive(1_000 * MS, 4_000 * MS)
            } else {
                last.max(now + self.latency(client, node))
            };
            queue.push(
                at,
                Event::ClientNet(ClientNetEvent::ClientSeesClose { conn: id }),
            );
        }
    }

    /// Client `client` dials `server`; returns the connection's id.
    pub(crate) fn dial(
        &mut self,
        now: u64,
        client: usize,
        server: ServerId,
        queue: &mut EventQueue,
    ) -> u64 {
        self.stats.dials += 1;
        let id = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            id,
            Conn {
                client,
                server,
                inc: 0,
                server_open: false,
                client_open: true,
                reading: true,
                held: Vec::new(),
                dying: false,
                to_server_last: 0,
                to_client_last: 0,
            },
        );
        let host = self.host(server);
        let (at, ev) = if !host.machine_up {
            (
                now + self.rng.range_inclusive(50 * MS, 500 * MS),
                ClientNetEvent::ClientSeesClose { conn: id },
            )
        } else if !host.process_up {
            (now + MS, ClientNetEvent::ClientSeesClose { conn: id })
        } else {
            (
                now + self.latency(client, server),
                ClientNetEvent::Syn { conn: id },
            )
        };
        queue.push(at, Event::ClientNet(ev));
        id
    }

    /// The client writes `bytes` on `conn`.
    pub(crate) fn client_send(
        &mut self,
        now: u64,
        conn: u64,
        bytes: Vec<u8>,
        queue: &mut EventQueue,
    ) {
        self.write(
            now,
            conn,
            true,
            ClientNetEvent::ToServer { conn, bytes },
            queue,
        );
    }

    /// One write on one direction of `conn` (`to_server`, or to the client), delivered after
    /// everything written before on that direction, unless that end may not write now or a
    /// fault resets the connection.
    fn write(
        &mut self,
        now: u64,
        conn: u64,
        to_server: bool,
        ev: ClientNetEvent,
        queue: &mut EventQueue,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let open = if to_server {
            c.client_open && c.inc != 0
        } else {
            c.server_open
        };
        if c.dying || !open {
            return;
        }
        let (client, server) = (c.client, c.server);
        if self.maybe_reset(now, conn, queue) {
            return;
        }
        let lat = self.latency(client, server);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let last = if to_server {
            &mut c.to_server_last
        } else {
            &mut c.to_client_last
        };
        let at = (*last).max(now + lat);
        *last = at;
        queue.push(at, Event::ClientNet(ev));
    }

    /// The client closes `conn`.
    pub(crate) fn client_close(&mut self, now: u64, conn: u64, queue: &mut EventQueue) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.client_open = false;
        let (client, server, server_open, last) =
            (c.client, c.server, c.server_open, c.to_server_last);
        if server_open {
            c.dying = true;
            let at = last.max(now + self.latency(client, server));
            queue.push(
                at,
                Event::ClientNet(ClientNetEvent::ServerSeesClose { conn }),
            );
        } else {
            self.collect(conn);
        }
    }

    /// The server writes `bytes` on `conn`; `applied` is its `last_applied` now.
    pub(crate) fn server_send(
        &mut self,
        now: u64,
        conn: u64,
        bytes: Vec<u8>,
        applied: Zxid,
        queue: &mut EventQueue,
    ) {
        let len = bytes.len();
        let ev = ClientNetEvent::ToClient {
            conn,
            bytes,
            applied,
        };
        self.write(now, conn, false, ev, queue);
        let wrote = ClientNetEvent::ServerWrote { conn, bytes: len };
        queue.push(now, Event::ClientNet(wrote));
    }

    /// The server closes `conn` (after the bytes it already wrote).
    pub(crate) fn server_close(&mut self, now: u64, conn: u64, queue: &mut EventQueue) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.server_open {
            return;
        }
        c.server_open = false;
        c.dying = true;
        let (client, server, last) = (c.client, c.server, c.to_client_last);
        if c.client_open {
            let at = last.max(now + self.latency(client, server));
            queue.push(
                at,
                Event::ClientNet(ClientNetEvent::ClientSeesClose { conn }),
            );
        } else {
            self.collect(conn);
        }
    }

    /// The server stops (`false`) or resumes (`true`) reading `conn`; resuming hands over
    /// what waited.
    pub(crate) fn server_read(&mut self, conn: u64, read: bool) -> Vec<Arrival> {
        let Some(c) = self.conns.get_mut(&conn) else {
            return Vec::new();
        };
        c.reading = read;
        if !read || !c.server_open {
            return Vec::new();
        }
        let (node, inc) = (c.server, c.inc);
        std::mem::take(&mut c.held)
            .into_iter()
            .map(|bytes| Arrival::Server {
                node,
                inc,
                input: Input::ClientBytes {
                    conn,
                    bytes: bytes.into(),
                },
            })
            .collect()
    }

    fn maybe_reset(&mut self, now: u64, conn: u64, queue: &mut EventQueue) -> bool {
        if self.reset_ppm == 0 || !self.rng.chance(self.reset_ppm) {
            return false;
        }
        self.stats.resets += 1;
        let Some(c) = self.conns.get_mut(&conn) else {
            return true;
        };
        c.dying = true;
        let (client, server) = (c.client, c.server);
        let (a, b) = (self.latency(client, server), self.latency(client, server));
        queue.push(
            now + a,
            Event::ClientNet(ClientNetEvent::ClientSeesClose { conn }),
        );
        queue.push(
            now + b,
            Event::ClientNet(ClientNetEvent::ServerSeesClose { conn }),
        );
        true
    }

    fn collect(&mut self, conn: u64) {
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| !c.client_open && !c.server_open)
        {
            self.conns.remove(&conn);
        }
    }

    /// A client-network event is due.
    pub(crate) fn on_event(
        &mut self,
        now: u64,
        ev: ClientNetEvent,
        queue: &mut EventQueue,
    ) -> Option<Arrival> {
        match ev {
            ClientNetEvent::Syn { conn } => {
                let c = self.conns.get(&conn)?;
                let (client, server) = (c.client, c.server);
                let host = self.host(server);
                if !c.client_open {
                    self.conns.remove(&conn);
                    return None;
                }
                if !host.process_up {
                    let at = if host.machine_up {
                        now + self.latency(client, server)
                    } else {
                        now + self.rng.range_inclusive(50 * MS, 500 * MS)
                    };
                    queue.push(
                        at,
                        Event::ClientNet(ClientNetEvent::ClientSeesClose { conn }),
                    );
                    return None;
                }
                let back = now + self.latency(client, server);
                let c = self.conns.get_mut(&conn)?;
                c.inc = host.inc;
                c.server_open = true;
                c.to_client_last = back;
                queue.push(back, Event::ClientNet(ClientNetEvent::Established { conn }));
                Some(Arrival::Server {
                    node: server,
                    inc: host.inc,
                    input: Input::ClientConnected {
                        conn,
                        addr: ClientNet::client_addr(client, conn),
                    },
                })
            }
            ClientNetEvent::Established { conn } => {
                let c = self.conns.get(&conn)?;
                (c.client_open && !c.dying).then_some(Arrival::Established {
                    client: c.client,
                    conn,
                })
            }
            ClientNetEvent::ToServer { conn, bytes } => {
                let c = self.conns.get_mut(&conn)?;
                if !c.server_open {
                    return None;
                }
                if !c.reading {
                    c.held.push(bytes);
                    return None;
                }
                Some(Arrival::Server {
                    node: c.server,
                    inc: c.inc,
                    input: Input::ClientBytes {
                        conn,
                        bytes: bytes.into(),
                    },
                })
            }
            ClientNetEvent::ToClient {
                conn,
                bytes,
                applied,
            } => {
                let c = self.conns.get(&conn)?;
                c.client_open.then_some(Arrival::Bytes {
                    client: c.client,
                    conn,
                    bytes,
                    applied,
                })
            }
            ClientNetEvent::ServerWrote { conn, bytes } => {
                let c = self.conns.get(&conn)?;
                c.server_open.then_some(Arrival::Server {
                    node: c.server,
                    inc: c.inc,
                    input: Input::ClientWritten { conn, bytes },
                })
            }
            ClientNetEvent::ServerSeesClose { conn } => {
                let c = self.conns.get_mut(&conn)?;
                if !c.server_open {
                    return None;
                }
                c.server_open = false;
                c.dying = true;
                let (node, inc) = (c.server, c.inc);
                self.collect(conn);
                Some(Arrival::Server {
                    node,
                    inc,
                    input: Input::ClientDisconnected { conn },
                })
            }
            ClientNetEvent::ClientSeesClose { conn } => {
                let c = self.conns.get_mut(&conn)?;
                if !c.client_open {
                    return None;
                }
                c.client_open = false;
                c.dying = true;
                let client = c.client;
                // The server end learns too if it does not know yet (an RST, or a dead peer).
                if c.server_open {
                    let server = c.server;
                    let at = now + self.latency(client, server);
                    queue.push(
                        at,
                        Event::ClientNet(ClientNetEvent::ServerSeesClose { conn }),
                    );
                } else {
                    self.collect(conn);
                }
                Some(Arrival::Closed { client, conn })
            }
        }
    }
}
