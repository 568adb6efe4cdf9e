//! JAAS files and SASL DIGEST-MD5 responses (first byte chooses).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::security(data));
