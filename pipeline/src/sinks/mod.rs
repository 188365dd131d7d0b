//! Sinks: where output rows go.
pub mod parquet;
