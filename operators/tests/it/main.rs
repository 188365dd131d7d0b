//! The integration tests of `brandpulse-operators`, in one test binary so that the dependency
//! graph is linked once. One module per area; run one area with
//! `cargo nextest run --cargo-profile fast -p brandpulse-operators --test it oracle::`.

// `fuzz/src/checks.rs` (included by `fuzz_regressions`) names the library `operators`.
extern crate brandpulse_operators as operators;

mod bounded_state;
mod fuzz_regressions;
mod oracle;
mod vader_reference;
