//! The conformance suite every adapter passes (`conclave_conformance::suite`, issue 14), on
//! conclave-mio four ways: its binary as real processes, its members inside this test process
//! (their event-loop threads frozen and killed through the member's own handle), and the processes
//! again with kazoo, then with the `zookeeper-client` crate, as every client (the client families).
//! One test per scenario and harness.

use conclave_conformance::suite::live::{Host, Launch, Running};
use conclave_conformance::suite::{netns, Unsupported};
use conclave_mio::Member;

conclave_conformance::adapter_suites!(env!("CARGO_BIN_EXE_conclave-mio"), InProcess);

/// Members of conclave-mio in this process, started from a thread in the member's network
/// namespace when it has one (the loop and disk threads it spawns live there too).
struct InProcess;

impl Host for InProcess {
    fn describe(&self) -> String {
        "conclave-mio members in the test process".into()
    }

    fn launch(&self, member: Launch<'_>) -> Result<Box<dyn Running>, String> {
        let cfg = member.cfg.to_path_buf();
        let m = match member.netns {
            Some(ns) => netns::within(ns, move || conclave_mio::start_from_cfg(&cfg))??,
            None => conclave_mio::start_from_cfg(&cfg)?,
        };
        Ok(Box::new(MioMember(m)))
    }
}

struct MioMember(Member);

impl Running for MioMember {
    fn kill(self: Box<Self>) {
        self.0.kill();
    }

    fn pause(&mut self) -> Result<(), Unsupported> {
        self.0.freeze();
        Ok(())
    }

    fn resume(&mut self) {
        self.0.thaw();
    }
}
