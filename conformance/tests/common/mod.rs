//! The scripted cluster the integration tests share now lives in the library
//! (`conclave_conformance::scripted`), where the conformance suite's simulator harness uses it.

pub(crate) use conclave_conformance::scripted::*;
