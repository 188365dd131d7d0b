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
