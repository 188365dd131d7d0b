//! `cargo fuzz run decode_dataflow`: a few records of every topic, decoded and fed through the
//! whole dataflow (`operators::brandpulse`) on one worker.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| brandpulse_fuzz::checks::decode_dataflow(data));
