//! Arbitrary bytes on a peer link: frame decoder, handshake, election and discovery.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::peer_bytes(data));
