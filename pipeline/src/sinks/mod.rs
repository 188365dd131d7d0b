//! Sinks: where output rows go.
pub mod kafka;
pub mod parquet;
