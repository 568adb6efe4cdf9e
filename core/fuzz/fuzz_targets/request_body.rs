//! Fuzz target: see `conclave_core::fuzzing::request_body`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::request_body(data));
