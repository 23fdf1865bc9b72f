//! Any bytes as REQUEST.json: parse and evaluate; plus the wildcard matcher.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_policy::fuzz::request_bytes(data));
