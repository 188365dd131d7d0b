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
    /// A connection must deliver a request's complete header within this many seconds of being
    /// accepted, or of its previous response (an idle keep-alive connection waits for the next
    /// header), or it is closed.
    pub header_read_timeout_seconds: u64,
    /// A request must be answered within this many seconds of its header (else `408 Request
    /// Timeout`); a connection whose response is still unsent twice this long after the header
    /// (a client that does not read) is closed.
    pub request_timeout_seconds: u64,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    pub max_connections: u64,
    /// Minutes of event time the dashboard's live state keeps behind the newest window
    /// (docs/dashboard-api.md); older windows and cases leave memory.
    pub retention_minutes: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "127.0.0.1:8080".into(),
            token_env: "BRANDPULSE_API_TOKEN".into(),
            header_read_timeout_seconds: 10,
            request_timeout_seconds: 30,
            max_connections: 256,
            retention_minutes: 1440,
        }
    }
}

impl HttpConfig {
    /// Range checks of the numeric `http.*` keys (called by `Config::check`).
    ///
    /// # Errors
    /// The first key out of range, named with its allowed range.
    pub fn check(&self) -> anyhow::Result<()> {
        use crate::config::check_range;
        check_range("http.header_read_timeout_seconds", self.header_read_timeout_seconds, 1, 3_600)?;
        check_range("http.request_timeout_seconds", self.request_timeout_seconds, 1, 3_600)?;
        check_range("http.max_connections", self.max_connections, 1, 65_536)?;
        check_range("http.retention_minutes", self.retention_minutes, 1, 525_600)?;
        Ok(())
    }
}
