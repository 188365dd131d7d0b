//! The integration tests of the `brandpulse` binary, in one test binary so that the dependency
//! graph is linked once. One module per area; run one area with
//! `scripts/test.sh -E 'binary(it) & test(/^golden::/)'` (nextest filter) or
//! `cargo nextest run --cargo-profile fast -p brandpulse --test it golden::`.
//!
//! Shared harness code (free ports, launching the binary, reading Parquet, the test services)
//! lives in [`support`].

mod support;

mod bad_input;
mod clickhouse;
mod config;
mod dashboard;
mod dashboard_api;
mod event_time;
mod golden;
mod http;
mod kafka;
mod kill_switch;
mod kill_switch_kafka;
mod languages;
mod rerun;
mod workers;
