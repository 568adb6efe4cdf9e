//! A broken invariant: what, where, when, and how to replay it.

use std::fmt;

use conclave_core::ServerId;

/// One invariant violation; the run that found it stops there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The master seed of the run.
    pub seed: u64,
    /// Simulated time of the violation, ns.
    pub at_ns: u64,
    /// The server whose output (or state) broke the invariant, when there is one.
    pub node: Option<ServerId>,
    /// The invariant's name (its file name under `src/invariants/`).
    pub invariant: &'static str,
    /// What exactly was wrong.
    pub detail: String,
}

impl fmt::Display for Violation {
    /// `t=12.345s: <invariant>: [n3] <detail>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={:.3}s: {}: ", self.at_ns as f64 / 1e9, self.invariant)?;
        if let Some(n) = self.node {
            write!(f, "n{n}: ")?;
        }
        write!(f, "{}", self.detail)
    }
}
