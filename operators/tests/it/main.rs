//! The integration tests of `brandpulse-operators`, in one test binary so that the dependency
//! graph is linked once. One module per area; run one area with
//! `cargo nextest run --cargo-profile fast -p brandpulse-operators --test it oracle::`.

mod bounded_state;
mod oracle;
mod vader_reference;
