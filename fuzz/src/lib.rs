//! The checks the fuzz targets run. They live in `checks.rs` so that a stable test
//! (`operators/tests/it/fuzz_regressions.rs`) replays the corpus and every regression input
//! through the very same code without nightly.
#[path = "checks.rs"]
pub mod checks;
