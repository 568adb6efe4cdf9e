//! A byte-stream layer between a socket and the node: TLS on the secure client port. The
//! core names the seam and drives it; the implementation (rustls, with the operating
//! system's randomness for handshakes) lives in the std half, so the core stays seeded and
//! every adapter gets the same layer without a line of its own.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// One socket's layer: bytes read from the socket in, plaintext for the node out; the node's
/// plaintext in, bytes to write out. Sans-IO, like the node.
pub trait SocketLayer: Send {
    /// `bytes` were read from the socket: appends the plaintext they carry to `plain` and
    /// what must be written back (handshake records, alerts) to `wire`. `Err` (with `wire`
    /// still to be written, e.g. an alert): the socket is closed.
    fn read(&mut self, bytes: &[u8], plain: &mut Vec<u8>, wire: &mut Vec<u8>)
        -> Result<(), String>;
    /// The node writes `plain`: appends the bytes to write on the socket to `wire`.
    fn write(&mut self, plain: &[u8], wire: &mut Vec<u8>) -> Result<(), String>;
    /// The node closes the socket: appends the last bytes to write (a close notification).
    fn close(&mut self, wire: &mut Vec<u8>);
    /// The socket has just connected: appends what the layer says first (a dialling TLS
    /// client's hello); nothing by default.
    fn start(&mut self, wire: &mut Vec<u8>) {
        let _ = wire;
    }
}

/// Makes the layer of each socket a secure listener accepts and, for peer links, of each
/// socket the member dials.
pub trait LayerFactory: Send {
    /// A layer for an accepted socket; `Err` refuses the socket (logged, closed).
    fn layer(&self) -> Result<Box<dyn SocketLayer>, String>;
    /// A layer for a socket dialled to `host` (the host part of the peer's address, whose
    /// certificate a TLS client checks); by default dialling is not layered and refused.
    fn dial_layer(&self, host: &str) -> Result<Box<dyn SocketLayer>, String> {
        let _ = host;
        Err(String::from("this layer does not dial"))
    }
}
