//! Sinks: where output rows go.
pub mod clickhouse;
pub mod kafka;
pub mod parquet;
pub mod tables;
