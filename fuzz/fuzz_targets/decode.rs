//! `cargo fuzz run decode`: one record of any topic through `schemas::decode::decode`.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brandpulse_fuzz::checks::decode_one(data));
