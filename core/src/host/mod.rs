//! What every adapter's binary does besides moving bytes, written once: the command line
//! (`cli`), turning a `zoo.cfg`, a `myid` and a data directory's files into a node's inputs
//! (`load`), and the socket bookkeeping between the node's outputs and the adapter's
//! sockets (`wiring`). Pure: the adapter reads the files, owns the sockets and logs the
//! lines; every decision is here, so that every adapter behaves alike.

pub(crate) mod backlog;
pub(crate) mod cli;
pub(crate) mod driver;
pub(crate) mod layer;
pub(crate) mod load;
pub(crate) mod wiring;

pub use cli::{parse_args, CliError, Command, USAGE};
pub use driver::Driver;
pub use layer::{LayerFactory, SocketLayer};
pub use load::{load_member, HostFs, Loaded};
pub use wiring::{Action, Listener, Socket, Wiring};
