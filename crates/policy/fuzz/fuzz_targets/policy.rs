//! Any bytes as a policy of every type: parse, validate, compile, evaluate.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| rampart_policy::fuzz::policy_bytes(data));
