//! `brandpulse clickhouse migrate`: applies `deploy/clickhouse/migrations/*.sql` in order, once.
//!
//! Each migration is a numbered file embedded in the binary. Applied versions are recorded in
//! `<database>.brandpulse_migrations`; a migration is applied when its version is not recorded.
//! Every statement is `CREATE … IF NOT EXISTS`, so a migration interrupted half-way is simply
//! applied again.

use super::config::ClickHouseConfig;
use super::{client, runtime};

/// The migrations: (version, name, SQL).
pub const MIGRATIONS: &[(u32, &str, &str)] =
    &[(1, "0001_tables_and_views", include_str!("../../../../deploy/clickhouse/migrations/0001_tables_and_views.sql"))];

/// Splits a migration into statements: a statement ends with a line ending in `;`; comment lines
/// between statements are dropped.
pub fn statements(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in sql.lines() {
        if cur.is_empty() && (line.trim().is_empty() || line.trim_start().starts_with("--")) {
            continue;
        }
        cur.push(line);
        if line.trim_end().ends_with(';') {
            let s = cur.join("\n");
            out.push(s.trim_end().trim_end_matches(';').to_string());
            cur.clear();
        }
    }
    out
}

/// The outcome of a migration run.
#[derive(Debug, Clone, PartialEq)]
pub struct Migrated {
    /// `SELECT version()` of the server.
    pub server_version: String,
    /// Versions applied by this run.
    pub applied: Vec<u32>,
    /// Versions that were already recorded.
    pub already: Vec<u32>,
}

/// Settings a server needs for the DDL, by its version: none today (the DDL avoids
/// `LowCardinality`, which 18.x accepts only with `allow_experimental_low_cardinality_type=1`
/// and current releases reject that setting as unknown).
pub fn settings_for(server_version: &str) -> Vec<(&'static str, &'static str)> {
    let _major: u32 = server_version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Vec::new()
}

/// Applies the migrations that are not recorded yet.
///
/// # Errors
/// The server is unreachable or refused a statement (named in the message).
pub fn migrate(config: &ClickHouseConfig) -> anyhow::Result<Migrated> {
    config.validate()?;
    if !config.enabled() {
        anyhow::bail!("no ClickHouse configured: set `clickhouse.url` (or BRANDPULSE_CLICKHOUSE__URL)");
    }
    let rt = runtime()?;
    let db = &config.database;
    rt.block_on(async {
        let root = client(config, false);
        let server_version = root
            .query_raw("SELECT version()")
            .fetch_one::<String>()
            .await
            .map_err(|e| {
                anyhow::anyhow!("ClickHouse at {} (key `clickhouse.url`): {e}", crate::config::redact::Redacted(&config.url))
            })?;
        let mut root = root;
        for (k, v) in settings_for(&server_version) {
            root = root.with_setting(k, v);
        }
        root.query_raw(&format!("CREATE DATABASE IF NOT EXISTS `{db}`"))
            .execute()
            .await
            .map_err(|e| anyhow::anyhow!("creating database {db}: {e}"))?;
        let dbc = root.clone().with_database(db.clone());
        dbc.query_raw(
            "CREATE TABLE IF NOT EXISTS brandpulse_migrations (version UInt32, name String, applied_at DateTime('UTC')) \
             ENGINE = ReplacingMergeTree ORDER BY version",
        )
        .execute()
        .await
        .map_err(|e| anyhow::anyhow!("creating {db}.brandpulse_migrations: {e}"))?;
        let done: Vec<u32> = dbc
            .query_raw("SELECT DISTINCT version FROM brandpulse_migrations")
            .fetch_all::<u32>()
            .await
            .map_err(|e| anyhow::anyhow!("reading {db}.brandpulse_migrations: {e}"))?;
        let mut out = Migrated { server_version, applied: Vec::new(), already: Vec::new() };
        for (version, name, sql) in MIGRATIONS {
            if done.contains(version) {
                out.already.push(*version);
                continue;
            }
            for (i, stmt) in statements(sql).iter().enumerate() {
                dbc.query_raw(stmt)
                    .execute()
                    .await
                    .map_err(|e| anyhow::anyhow!("migration {name}, statement {}: {e}\n{stmt}", i + 1))?;
            }
            dbc.query_raw(&format!(
                "INSERT INTO brandpulse_migrations (version, name, applied_at) VALUES ({version}, '{name}', now())"
            ))
            .execute()
            .await
            .map_err(|e| anyhow::anyhow!("recording migration {name}: {e}"))?;
            out.applied.push(*version);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_on_semicolon_lines() {
        let s = statements(MIGRATIONS[0].2);
        assert!(s.len() >= 15, "{}", s.len());
        assert!(s.iter().all(|s| s.starts_with("CREATE ")), "{:?}", s.iter().find(|s| !s.starts_with("CREATE ")));
        assert!(s.iter().all(|s| !s.contains('?')), "the crate binds `?`");
    }
}
