//! The server process the simulator runs: `Node<ZkService>` — the type every adapter's binary
//! runs — or, for the register-map workload only, `Node<RegisterMap>`.

use conclave_core::RegisterMap;
use conclave_core::Tuning;
use conclave_core::ZkService;
use conclave_core::{Config, ConfigError, Input, Instant, Node, Output, Recovered, Status};

/// Which replicated service the servers of a run carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// ZooKeeper (sessions, znodes, watches, the jute client protocol): what ships.
    ZooKeeper,
    /// The test register map, driven through `Input::Submit` (simulator-only workload).
    RegisterMap,
}

/// One running server process.
#[derive(Debug)]
pub(crate) enum ServerNode {
    /// The production service.
    Zk(Box<Node<ZkService>>),
    /// The register-map workload's service.
    Map(Box<Node<RegisterMap>>),
}

impl ServerNode {
    /// Starts a process of `kind` from what recovery read.
    pub(crate) fn start(
        kind: ServiceKind,
        config: Config,
        recovered: Recovered,
        seed: u64,
        now: Instant,
        unix_ms: i64,
        tuning: Tuning,
    ) -> Result<ServerNode, ConfigError> {
        Ok(match kind {
            ServiceKind::ZooKeeper => ServerNode::Zk(Box::new(Node::with_state_machine(
                config, recovered, seed, now, unix_ms, tuning,
            )?)),
            ServiceKind::RegisterMap => ServerNode::Map(Box::new(Node::with_state_machine(
                config, recovered, seed, now, unix_ms, tuning,
            )?)),
        })
    }

    /// [`Node::handle`].
    pub(crate) fn handle(&mut self, now: Instant, input: Input) {
        match self {
            ServerNode::Zk(n) => n.handle(now, input),
            ServerNode::Map(n) => n.handle(now, input),
        }
    }

    /// [`Node::poll_output`].
    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        match self {
            ServerNode::Zk(n) => n.poll_output(),
            ServerNode::Map(n) => n.poll_output(),
        }
    }

    /// [`Node::poll_timeout`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        match self {
            ServerNode::Zk(n) => n.poll_timeout(),
            ServerNode::Map(n) => n.poll_timeout(),
        }
    }

    /// [`Node::status`].
    pub(crate) fn status(&self) -> Status {
        match self {
            ServerNode::Zk(n) => n.status(),
            ServerNode::Map(n) => n.status(),
        }
    }
}
