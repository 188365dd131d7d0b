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

    /// Checks the settings (at load, whether or not the sink is on): no password in the
    /// configuration, numeric ranges, a plain database name.
    ///
    /// # Errors
    /// Names the key, the value (never a password) and the allowed range or the fix.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.password.is_some() {
            anyhow::bail!(
                "key `clickhouse.password`: passwords are not read from the config file or from BRANDPULSE_CLICKHOUSE__PASSWORD; \
                 remove the key and set {PASSWORD_ENV} in the environment instead"
            );
        }
        use crate::config::check_range;
        check_range("clickhouse.batch_rows", self.batch_rows as u64, 1, 10_000_000)?;
        check_range("clickhouse.batch_ms", self.batch_ms, 0, 3_600_000)?;
        check_range("clickhouse.queue_batches", self.queue_batches as u64, 1, 4_096)?;
        check_range("clickhouse.max_backoff_ms", self.max_backoff_ms, 10, 600_000)?;
        if !self.database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || self.database.is_empty() {
            anyhow::bail!(
                "key `clickhouse.database`: {:?} is not a plain identifier (letters, digits, `_`)",
                self.database
            );
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
    fn password_in_the_file_is_refused_even_with_the_sink_off() {
        let c = ClickHouseConfig { password: Some("pw-in-file".into()), ..Default::default() };
        assert!(!c.enabled());
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("`clickhouse.password`") && e.contains(PASSWORD_ENV), "{e}");
        assert!(!e.contains("pw-in-file"), "{e}");
        assert!(ClickHouseConfig { url: "http://h:8123".into(), ..Default::default() }.validate().is_ok());
        let bad = ClickHouseConfig { database: "a;b".into(), ..Default::default() };
        assert!(bad.validate().unwrap_err().to_string().contains("clickhouse.database"));
    }

    #[test]
    fn numeric_keys_are_range_checked() {
        let d = ClickHouseConfig::default;
        let cases = [
            (ClickHouseConfig { batch_rows: 0, ..d() }, "`clickhouse.batch_rows` is 0; allowed: 1 to 10000000"),
            (
                ClickHouseConfig { batch_rows: 10_000_001, ..d() },
                "`clickhouse.batch_rows` is 10000001; allowed: 1 to 10000000",
            ),
            (
                ClickHouseConfig { batch_ms: 3_600_001, ..d() },
                "`clickhouse.batch_ms` is 3600001; allowed: 0 to 3600000",
            ),
            (ClickHouseConfig { queue_batches: 0, ..d() }, "`clickhouse.queue_batches` is 0; allowed: 1 to 4096"),
            (
                ClickHouseConfig { queue_batches: 4_097, ..d() },
                "`clickhouse.queue_batches` is 4097; allowed: 1 to 4096",
            ),
            (ClickHouseConfig { max_backoff_ms: 9, ..d() }, "`clickhouse.max_backoff_ms` is 9; allowed: 10 to 600000"),
            (
                ClickHouseConfig { max_backoff_ms: 600_001, ..d() },
                "`clickhouse.max_backoff_ms` is 600001; allowed: 10 to 600000",
            ),
        ];
        for (c, want) in cases {
            let e = c.validate().expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        }
        let ends = ClickHouseConfig { batch_rows: 1, batch_ms: 0, queue_batches: 4_096, max_backoff_ms: 10, ..d() };
        ends.validate().expect("the ends of the ranges are allowed");
        ClickHouseConfig {
            batch_rows: 10_000_000,
            batch_ms: 3_600_000,
            queue_batches: 1,
            max_backoff_ms: 600_000,
            ..d()
        }
        .validate()
        .expect("the ends of the ranges are allowed");
    }
}
