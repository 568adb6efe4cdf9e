//! A standalone server's whole ZooKeeper service fed arbitrary client and HTTP traffic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| conclave_core::fuzzing::node_clients(data));
