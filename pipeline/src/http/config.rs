//! `[http]`: the HTTP API and dashboard (SPEC §8).

use serde::{Deserialize, Serialize};

/// The HTTP server. Secrets are not here: the API token is read from the environment variable
/// named by `token_env`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address (`host:port`; port 0 picks a free one, logged at start).
    pub listen: String,
    /// Name of the environment variable holding the bearer token of the write API
    /// (`POST /api/brands/{brand_id}/resume`); unset or empty: that endpoint answers 403.
    pub token_env: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { listen: "127.0.0.1:8080".into(), token_env: "BRANDPULSE_API_TOKEN".into() }
    }
}
