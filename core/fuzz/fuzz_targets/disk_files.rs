//! Fuzz target: see `conclave_core::fuzzing::disk_files`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::disk_files(data));
