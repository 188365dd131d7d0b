//! `[clickhouse]`: where and how the ClickHouse sink writes.

use serde::{Deserialize, Serialize};

/// The environment variable holding the ClickHouse password (never the config file).
pub const PASSWORD_ENV: &str = "BRANDPULSE_CLICKHOUSE_PASSWORD";

/// ClickHouse connection and batching. The sink is on when `url` is not empty.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// HTTP interface of the server, e.g. `http://127.0.0.1:8123`; empty disables the sink.
    pub url: String,
    /// Database holding the brandpulse tables (created by `brandpulse clickhouse migrate`).
    pub database: String,
    /// User name (the password comes from `BRANDPULSE_CLICKHOUSE_PASSWORD` only).
    pub user: String,
    /// Rows per INSERT at most (per table and worker).
    pub batch_rows: usize,
    /// A table's buffered rows are sent at the latest this many milliseconds after the first.
    pub batch_ms: u64,
    /// Batches queued for the writer at most; when full the workers wait (the sources slow down).
    pub queue_batches: usize,
    /// Longest pause between two retries of a batch, milliseconds (backoff doubles up to it).
    pub max_backoff_ms: u64,
    /// Send the current value of every window and case that changed in an epoch (live
    /// changes), not only final rows.
    pub live: bool,
    /// Refused: passwords are read from `BRANDPULSE_CLICKHOUSE_PASSWORD` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

impl Default for ClickHouseConfig {
    fn default() -> Self {
        ClickHouseConfig {
            url: String::new(),
            database: "brandpulse".into(),
            user: "default".into(),
            batch_rows: 50_000,
            batch_ms: 500,
            queue_batches: 16,
            max_backoff_ms: 2_000,
            live: true,
            password: None,
        }
    }
}

impl ClickHouseConfig {
    /// Whether the sink is configured.
    pub fn enabled(&self) -> bool {
        !self.url.is_empty()
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// A password in the file, or a zero bound, naming the key.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.password.is_some() {
            anyhow::bail!("key `clickhouse.password`: passwords are not read from the config file; set {PASSWORD_ENV}");
        }
        if self.batch_rows == 0 || self.queue_batches == 0 {
            anyhow::bail!("keys `clickhouse.batch_rows` and `clickhouse.queue_batches` must be at least 1");
        }
        if !self.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || self.database.is_empty() {
            anyhow::bail!("key `clickhouse.database`: {:?} is not a plain identifier", self.database);
        }
        Ok(())
    }

    /// The password from the environment, if set.
    pub fn password_from_env() -> Option<String> {
        std::env::var(PASSWORD_ENV).ok().filter(|p| !p.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_in_the_file_is_refused() {
        let c = ClickHouseConfig { password: Some("x".into()), ..Default::default() };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains(PASSWORD_ENV), "{e}");
        assert!(ClickHouseConfig { url: "http://h:8123".into(), ..Default::default() }.validate().is_ok());
        let bad = ClickHouseConfig { database: "a;b".into(), ..Default::default() };
        assert!(bad.validate().is_err());
    }
}
