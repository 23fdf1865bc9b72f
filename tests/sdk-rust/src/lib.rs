//! Nothing here: the tests under `tests/` drive a real `rampart serve` with the AWS SDK
//! for Rust.
