//! Arbitrary zoo.cfg text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::zoo_cfg(data));
