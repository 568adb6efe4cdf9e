//! The conformance suite every adapter passes (`conclave_conformance::suite`, issue 14), on the
//! deterministic scripted simulator running the ZooKeeper service: one test per scenario.

use conclave_conformance::suite::sim::SimHarness;

conclave_conformance::suite!(SimHarness::new());
