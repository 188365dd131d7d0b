//! `[actions]`: where and how kill-switch actions are delivered (SPEC §6).

use serde::{Deserialize, Serialize};

/// Kill-switch action delivery. Secrets are not here: the bearer token is read from the
/// environment variable named by `token_env`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionsConfig {
    /// Send actions at all; `false` records alerts with the action that would be sent (`dry_run`).
    pub enabled: bool,
    /// Webhook URL receiving `POST`s of `pause_all_publishing` / `resume_publishing`; empty: no
    /// webhook (actions are logged as "would send", and go to the Kafka control topic under `run`).
    pub url: String,
    /// Name of the environment variable holding the webhook's bearer token (unset: no
    /// `Authorization` header).
    pub token_env: String,
    /// Seconds a delivery may keep retrying (network errors, 408, 429, 5xx) before it fails.
    pub deadline_seconds: u64,
    /// Webhook requests in flight at most (further deliveries wait their turn).
    pub max_in_flight: usize,
    /// Timeout of one request, milliseconds (a timed-out request is retried).
    pub request_timeout_ms: u64,
    /// First retry delay, milliseconds; doubles per attempt, with jitter (50–100 % of it).
    pub backoff_initial_ms: u64,
    /// Largest retry delay, milliseconds.
    pub backoff_max_ms: u64,
}

impl Default for ActionsConfig {
    fn default() -> Self {
        ActionsConfig {
            enabled: true,
            url: String::new(),
            token_env: "BRANDPULSE_KILL_SWITCH_TOKEN".into(),
            deadline_seconds: 60,
            max_in_flight: 8,
            request_timeout_ms: 5000,
            backoff_initial_ms: 100,
            backoff_max_ms: 5000,
        }
    }
}

impl ActionsConfig {
    /// Checks the numeric keys against their ranges (`backoff_initial_ms` at most
    /// `backoff_max_ms`).
    ///
    /// # Errors
    /// Names the key, the value and the allowed range.
    pub fn check(&self) -> anyhow::Result<()> {
        use crate::config::check_range;
        check_range("actions.deadline_seconds", self.deadline_seconds, 0, 7 * 86_400)?;
        check_range("actions.max_in_flight", self.max_in_flight as u64, 1, 1_024)?;
        check_range("actions.request_timeout_ms", self.request_timeout_ms, 1, 600_000)?;
        check_range("actions.backoff_initial_ms", self.backoff_initial_ms, 1, 3_600_000)?;
        check_range("actions.backoff_max_ms", self.backoff_max_ms, 1, 3_600_000)?;
        if self.backoff_initial_ms > self.backoff_max_ms {
            anyhow::bail!(
                "invalid configuration: key `actions.backoff_initial_ms` is {}; allowed: 1 to `actions.backoff_max_ms` ({})",
                self.backoff_initial_ms,
                self.backoff_max_ms
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_are_range_checked() {
        let d = ActionsConfig::default;
        let cases = [
            (
                ActionsConfig { deadline_seconds: 604_801, ..d() },
                "`actions.deadline_seconds` is 604801; allowed: 0 to 604800",
            ),
            (ActionsConfig { max_in_flight: 0, ..d() }, "`actions.max_in_flight` is 0; allowed: 1 to 1024"),
            (ActionsConfig { max_in_flight: 1_025, ..d() }, "`actions.max_in_flight` is 1025; allowed: 1 to 1024"),
            (ActionsConfig { request_timeout_ms: 0, ..d() }, "`actions.request_timeout_ms` is 0; allowed: 1 to 600000"),
            (
                ActionsConfig { backoff_initial_ms: 0, ..d() },
                "`actions.backoff_initial_ms` is 0; allowed: 1 to 3600000",
            ),
            (
                ActionsConfig { backoff_max_ms: 3_600_001, ..d() },
                "`actions.backoff_max_ms` is 3600001; allowed: 1 to 3600000",
            ),
            (
                ActionsConfig { backoff_initial_ms: 200, backoff_max_ms: 100, ..d() },
                "`actions.backoff_initial_ms` is 200; allowed: 1 to `actions.backoff_max_ms` (100)",
            ),
        ];
        for (c, want) in cases {
            let e = c.check().expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        }
        let ends = ActionsConfig {
            deadline_seconds: 0,
            max_in_flight: 1_024,
            request_timeout_ms: 1,
            backoff_initial_ms: 3_600_000,
            backoff_max_ms: 3_600_000,
            ..d()
        };
        ends.check().expect("the ends of the ranges are allowed");
        ActionsConfig {
            deadline_seconds: 604_800,
            max_in_flight: 1,
            request_timeout_ms: 600_000,
            backoff_initial_ms: 1,
            backoff_max_ms: 1,
            ..d()
        }
        .check()
        .expect("the ends of the ranges are allowed");
    }
}
