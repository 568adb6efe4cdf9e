//! The conformance suite every adapter passes (`conclave_conformance::suite`, issue 14), on
//! conclave-smol's binary as real processes: one test per scenario.

use conclave_conformance::suite::process::ProcessHarness;

conclave_conformance::suite!(ProcessHarness::new(env!("CARGO_BIN_EXE_conclave-smol")));
