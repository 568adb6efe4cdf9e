//! Fuzz target: see `conclave_core::fuzzing::client_frames`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::client_frames(data));
