//! The job's configuration: one TOML file, every key overridable by `BRANDPULSE_*` variables.

pub mod redact;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use schemas::{BrandProfile, CrisisThresholds, KillSwitch, SlaSeconds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole configuration. Secrets never live here: they come from the environment only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Allowed lateness `L` in seconds (SPEC §3).
    pub lateness_seconds: u64,
    /// A record more than this many seconds ahead of its partition's `M_p` does not move it
    /// alone (SPEC §3 "no record can make other records late"; `docs/semantics.md`).
    pub jump_seconds: u64,
    /// Consecutive records that far ahead that show a partition genuinely resumed after a gap
    /// (then `M_p` moves); 1 turns the rule off.
    pub jump_records: u64,
    /// Case TTL in seconds of event time (SPEC §5).
    pub case_ttl_seconds: u64,
    /// Idle timeout of a partition in seconds of wall clock (Kafka only).
    pub idle_timeout_seconds: u64,
    /// Defaults for brand fields a brand row does not set.
    pub defaults: BrandDefaults,
    /// Sentiment settings.
    pub sentiment: SentimentConfig,
    /// Replay settings.
    pub replay: ReplayConfig,
    /// The live job (`run`).
    pub run: RunConfig,
    /// Kafka connection and topics (`run`, `generate --kafka`).
    pub kafka: crate::sources::kafka::config::KafkaConfig,
    /// ClickHouse sink (`replay`, `run`) and `clickhouse migrate`.
    pub clickhouse: crate::sinks::clickhouse::config::ClickHouseConfig,
    /// Kill-switch actions: the webhook and its delivery (SPEC §6).
    pub actions: crate::actions::config::ActionsConfig,
    /// The HTTP API and dashboard (SPEC §8).
    pub http: crate::http::config::HttpConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lateness_seconds: 3600,
            jump_seconds: 6 * 3600,
            jump_records: 8,
            case_ttl_seconds: 7 * 24 * 3600,
            idle_timeout_seconds: 30,
            defaults: BrandDefaults::default(),
            sentiment: SentimentConfig::default(),
            replay: ReplayConfig::default(),
            run: RunConfig::default(),
            kafka: Default::default(),
            clickhouse: Default::default(),
            actions: Default::default(),
            http: Default::default(),
        }
    }
}

/// Brand defaults (SPEC §2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrandDefaults {
    /// SLA first-response targets per priority, seconds.
    pub sla_seconds: SlaSeconds,
    /// Crisis thresholds.
    pub crisis: CrisisThresholds,
    /// Risk terms (matched lower-cased, as substrings).
    pub risk_terms: Vec<String>,
    /// Kill switch.
    pub kill_switch: KillSwitch,
}

impl Default for BrandDefaults {
    fn default() -> Self {
        let p = BrandProfile::default();
        BrandDefaults {
            sla_seconds: p.sla_seconds,
            crisis: p.crisis,
            risk_terms: p.risk_terms,
            kill_switch: p.kill_switch,
        }
    }
}

impl BrandDefaults {
    /// The profile of a brand without a row.
    pub fn profile(&self) -> BrandProfile {
        BrandProfile {
            name: None,
            sla_seconds: self.sla_seconds,
            crisis: self.crisis,
            risk_terms: self.risk_terms.iter().map(|t| t.to_lowercase()).collect(),
            kill_switch: self.kill_switch,
        }
    }
}

/// Sentiment settings (SPEC §4).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentConfig {
    /// The built-in scorers to use, by ISO 639-1 code (default: all of
    /// `operators::sentiment::BUILTIN`); `["en"]` scores English only.
    pub languages: Vec<String>,
    /// Lexicon files (`word TAB valence`) per ISO 639-1 language code, e.g. `fr = "lexicons/fr.tsv"`;
    /// a lexicon replaces the built-in scorer of its language.
    pub lexicons: BTreeMap<String, PathBuf>,
}

impl Default for SentimentConfig {
    fn default() -> Self {
        SentimentConfig {
            languages: operators::sentiment::BUILTIN.iter().map(|s| s.to_string()).collect(),
            lexicons: BTreeMap::new(),
        }
    }
}

/// Replay settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// Width of a replay epoch in seconds of event time: every file is read up to the same
    /// event time per epoch (smaller: lower latency and memory; larger: less overhead).
    pub epoch_seconds: u64,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig { epoch_seconds: 60 }
    }
}

/// `[run]`: the live job.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Wall-clock length of an epoch (a batch of records processed together), milliseconds.
    /// Smaller: lower latency (alerts, kill switch); larger: less per-epoch overhead.
    pub epoch_ms: u64,
    /// Seconds between checkpoints (operator state + source offsets + Parquet files).
    pub checkpoint_seconds: u64,
    /// Directory of checkpoints (and of the kill-switch outbox).
    pub state_dir: PathBuf,
    /// Parquet output directory; empty string disables Parquet.
    pub parquet_dir: PathBuf,
    /// Epochs read ahead of the slowest operator before the sources pause (backpressure).
    pub max_epochs_in_flight: usize,
    /// Records a worker reads per epoch at most.
    pub max_records_per_epoch: usize,
    /// Event-time width, in seconds, of the epochs in which a worker reads the backlog of its
    /// partitions (catch-up, `sources::kafka::catch_up`): like `replay.epoch_seconds`, so a
    /// backlog gives replay's results whatever order the partitions arrive in.
    pub catch_up_epoch_seconds: u64,
    /// A fact more than this many seconds ahead of the wall clock is `invalid_value:ts`
    /// (SPEC §3; `run` only: a replay reads the past).
    pub max_future_seconds: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            epoch_ms: 20,
            checkpoint_seconds: 10,
            state_dir: PathBuf::from("brandpulse-state"),
            parquet_dir: PathBuf::from("brandpulse-out"),
            max_epochs_in_flight: 8,
            max_records_per_epoch: 50_000,
            catch_up_epoch_seconds: 60,
            max_future_seconds: 900,
        }
    }
}

impl Config {
    /// Loads defaults, then the TOML file (if given), then `BRANDPULSE_*` variables
    /// (`BRANDPULSE_LATENESS_SECONDS=600`, nested keys with `__`: `BRANDPULSE_REPLAY__EPOCH_SECONDS=10`).
    ///
    /// # Errors
    /// Names the file or variable and the key that is wrong.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                anyhow::bail!("config file {} does not exist (pass an existing TOML file to --config)", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(
            Env::prefixed("BRANDPULSE_")
                // Secrets (`BRANDPULSE_CLICKHOUSE_PASSWORD`, `BRANDPULSE_KAFKA_SASL_PASSWORD`,
                // `BRANDPULSE_KILL_SWITCH_TOKEN`, …: no `__`, secret-looking names) are read by
                // name where they are used, never as configuration keys.
                .filter(|k| !is_secret_variable(k.as_str()))
                .split("__")
                .ignore(&["LOG", "LOG_FORMAT"]),
        );
        fig.extract()
            .map_err(|e| {
                let mut msg = String::from("invalid configuration:");
                for err in e {
                    let key = err.path.join(".");
                    if err.path.iter().any(|p| redact::is_secret_key(p)) {
                        // The kind may quote the value (`invalid type: found "…"`): never a secret's.
                        msg.push_str(&format!("\n  key `{key}`: {SECRET_KEY_REFUSED}"));
                        continue;
                    }
                    msg.push_str(&format!("\n  key `{key}`: {}", err.kind));
                    if let Some(meta) = &err.metadata {
                        msg.push_str(&format!(" (from {})", meta.name));
                    }
                }
                msg.push_str("\n  see README.md, section Configuration, for every key and its default");
                anyhow::anyhow!(msg)
            })
            .and_then(|c: Config| c.check().map(|()| c))
    }

    /// Checks every numeric key against its allowed range; the error names the key, the value
    /// and the range. Called by [`Config::load`], and again after command-line flags that
    /// override a key.
    ///
    /// # Errors
    /// The first key out of range.
    pub fn check(&self) -> anyhow::Result<()> {
        const DAY: u64 = 86_400;
        let d = &self.defaults;
        let ints: [(&str, u64, u64, u64); 17] = [
            ("lateness_seconds", self.lateness_seconds, 0, 365 * DAY),
            ("jump_seconds", self.jump_seconds, 60, 365 * DAY),
            ("jump_records", self.jump_records, 1, 1_000_000),
            ("run.max_future_seconds", self.run.max_future_seconds, 0, 365 * DAY),
            ("case_ttl_seconds", self.case_ttl_seconds, 1, 366 * DAY),
            ("idle_timeout_seconds", self.idle_timeout_seconds, 1, DAY),
            ("defaults.sla_seconds.urgent", d.sla_seconds.urgent, 1, 365 * DAY),
            ("defaults.sla_seconds.high", d.sla_seconds.high, 1, 365 * DAY),
            ("defaults.sla_seconds.normal", d.sla_seconds.normal, 1, 365 * DAY),
            ("defaults.sla_seconds.low", d.sla_seconds.low, 1, 365 * DAY),
            ("defaults.crisis.min_comments", d.crisis.min_comments, 1, 1_000_000_000),
            ("replay.epoch_seconds", self.replay.epoch_seconds, 1, DAY),
            ("run.epoch_ms", self.run.epoch_ms, 1, 60_000),
            ("run.checkpoint_seconds", self.run.checkpoint_seconds, 1, DAY),
            ("run.max_epochs_in_flight", self.run.max_epochs_in_flight as u64, 1, 1_024),
            ("run.max_records_per_epoch", self.run.max_records_per_epoch as u64, 1, 100_000_000),
            ("run.catch_up_epoch_seconds", self.run.catch_up_epoch_seconds, 1, DAY),
        ];
        for (key, value, min, max) in ints {
            check_range(key, value, min, max)?;
        }
        self.http.check()?;
        for (key, value) in [
            ("defaults.crisis.negative_share", d.crisis.negative_share),
            ("defaults.crisis.risk_share", d.crisis.risk_share),
        ] {
            if !(0.0..=1.0).contains(&value) {
                anyhow::bail!("invalid configuration: key `{key}` is {value}; allowed: a share from 0 to 1 (e.g. 0.6)");
            }
        }
        // Connectors: numeric ranges, and secrets refused in the file, whether or not the
        // connector is used by this command.
        self.kafka.check()?;
        self.clickhouse.validate()?;
        self.actions.check()?;
        Ok(())
    }

    /// The effective configuration as TOML, secrets redacted ([`redact::redact_toml`]):
    /// what `--print-config` prints.
    ///
    /// # Errors
    /// The configuration cannot be serialised (a bug).
    pub fn to_redacted_toml(&self) -> anyhow::Result<String> {
        let mut v = toml::Value::try_from(self)?;
        redact::redact_toml(&mut v);
        Ok(toml::to_string_pretty(&v)?)
    }

    /// The environment variables this configuration reads secrets from: the ClickHouse
    /// password, librdkafka's secrets, the webhook and API tokens.
    pub fn secret_variables(&self) -> Vec<String> {
        let mut v = vec![crate::sinks::clickhouse::config::PASSWORD_ENV.to_string()];
        v.extend(crate::sources::kafka::config::ENV_SECRET_KEYS.map(crate::sources::kafka::config::secret_env));
        v.push(self.actions.token_env.clone());
        v.push(self.http.token_env.clone());
        v
    }

    /// The operators' parameters.
    pub fn params(&self) -> anyhow::Result<operators::Params> {
        let langs: Vec<&str> = self.sentiment.languages.iter().map(String::as_str).collect();
        let mut scorer = operators::sentiment::Scorer::for_languages(&langs)
            .map_err(|e| anyhow::anyhow!("invalid configuration: key `sentiment.languages`: {e}"))?;
        for (lang, path) in &self.sentiment.lexicons {
            let lex = operators::sentiment::Lexicon::from_file(path)
                .map_err(|e| anyhow::anyhow!("key `sentiment.lexicons.{lang}`: {e}"))?;
            scorer = scorer.with_lexicon(lang, lex);
        }
        Ok(operators::Params {
            lateness_ms: self.lateness_seconds as i64 * 1000,
            jump: operators::watermark::JumpRule {
                jump_ms: self.jump_seconds as i64 * 1000,
                confirm: self.jump_records as u32,
            },
            case_ttl_ms: self.case_ttl_seconds as i64 * 1000,
            defaults: std::sync::Arc::new(self.defaults.profile()),
            scorer,
            clock: operators::system_clock,
            gauges: Default::default(),
            live: self.clickhouse.enabled() && self.clickhouse.live,
        })
    }
}

/// Why a secret-looking key is refused.
const SECRET_KEY_REFUSED: &str = "holds a secret, and secrets are not read from the config file or BRANDPULSE_* keys; \
     remove it and set the secret's environment variable instead (README, Configuration)";

/// Whether `BRANDPULSE_<name>` holds a secret read by name (never a configuration key): a
/// top-level name (no `__`) that looks like a secret, e.g. `CLICKHOUSE_PASSWORD`,
/// `KAFKA_SSL_KEY_PEM`, `KILL_SWITCH_TOKEN`.
fn is_secret_variable(name: &str) -> bool {
    !name.contains("__") && (redact::is_secret_key(name) || redact::is_secret_key(&name.replace('_', ".")))
}

/// `value` within `min..=max`, or an error naming `key` and the range.
pub fn check_range(key: &str, value: u64, min: u64, max: u64) -> anyhow::Result<()> {
    if value < min || value > max {
        anyhow::bail!("invalid configuration: key `{key}` is {value}; allowed: {min} to {max}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        std::fs::write(&f, "latenes_seconds = 5\n").unwrap();
        let err = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(err.contains("latenes_seconds"), "{err}");
        std::fs::write(&f, "lateness_seconds = \"soon\"\n").unwrap();
        let err = Config::load(Some(&f)).unwrap_err().to_string();
        assert!(err.contains("lateness_seconds"), "{err}");
        std::fs::write(&f, "lateness_seconds = 60\n[replay]\nepoch_seconds = 7\n").unwrap();
        let c = Config::load(Some(&f)).unwrap();
        assert_eq!((c.lateness_seconds, c.replay.epoch_seconds), (60, 7));
    }

    #[test]
    fn numeric_keys_out_of_range_are_named_with_their_range() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let cases = [
            ("lateness_seconds = 9223372036854775807\n", "lateness_seconds", "0 to 31536000"),
            ("[defaults.crisis]\nnegative_share = 5.0\n", "defaults.crisis.negative_share", "from 0 to 1"),
            ("[defaults.crisis]\nmin_comments = 0\n", "defaults.crisis.min_comments", "1 to "),
            ("[replay]\nepoch_seconds = 0\n", "replay.epoch_seconds", "1 to 86400"),
            ("[run]\nepoch_ms = 0\n", "run.epoch_ms", "1 to 60000"),
            ("[defaults.sla_seconds]\nurgent = 0\n", "defaults.sla_seconds.urgent", "1 to "),
        ];
        for (toml, key, range) in cases {
            std::fs::write(&f, toml).unwrap();
            let err = Config::load(Some(&f)).unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")) && err.contains(range), "{toml}: {err}");
        }
        std::fs::write(&f, "lateness_seconds = 0\n[defaults.crisis]\nnegative_share = 1.0\nmin_comments = 1\n")
            .unwrap();
        Config::load(Some(&f)).expect("the ends of the ranges are allowed");
    }

    #[test]
    fn connector_keys_are_range_checked_at_load_even_when_unused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let cases = [
            ("[kafka]\nfetch_queue_kib = 1\n", "`kafka.fetch_queue_kib` is 1; allowed: 64 to 2097151"),
            ("[kafka]\nmetadata_timeout_seconds = 0\n", "`kafka.metadata_timeout_seconds` is 0; allowed: 1 to 3600"),
            ("[clickhouse]\nbatch_rows = 0\n", "`clickhouse.batch_rows` is 0; allowed: 1 to 10000000"),
            ("[clickhouse]\nqueue_batches = 0\n", "`clickhouse.queue_batches` is 0; allowed: 1 to 4096"),
            ("[actions]\nmax_in_flight = 0\n", "`actions.max_in_flight` is 0; allowed: 1 to 1024"),
            (
                "[actions]\ndeadline_seconds = 9223372036854775807\n",
                "`actions.deadline_seconds` is 9223372036854775807; allowed: 0 to 604800",
            ),
        ];
        for (toml, want) in cases {
            std::fs::write(&f, toml).unwrap();
            let err = Config::load(Some(&f)).unwrap_err().to_string();
            assert!(err.contains(want), "{toml}: {err}");
        }
    }

    #[test]
    fn secrets_in_the_file_are_refused_at_load_without_their_value() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.toml");
        let cases = [
            // The sink is off (no url): refused all the same.
            ("[clickhouse]\npassword = \"pw-s3cr3t\"\n", "`clickhouse.password`", "BRANDPULSE_CLICKHOUSE_PASSWORD"),
            ("[clickhouse]\npassword = 918273645\n", "`clickhouse.password`", "environment variable"),
            (
                "[kafka.client]\n\"SASL.PASSWORD\" = \"pw-s3cr3t\"\n",
                "\"SASL.PASSWORD\"",
                "BRANDPULSE_KAFKA_SASL_PASSWORD",
            ),
            ("[kafka.client]\n\"sasl.password\" = 918273645\n", "sasl.password", "environment variable"),
            ("[kafka.client]\n\"ssl.key.pem\" = \"pw-s3cr3t\"\n", "\"ssl.key.pem\"", "BRANDPULSE_KAFKA_SSL_KEY_PEM"),
        ];
        for (toml, key, var) in cases {
            std::fs::write(&f, toml).unwrap();
            let err = Config::load(Some(&f)).unwrap_err().to_string();
            assert!(err.contains(key) && err.contains(var), "{toml}: {err}");
            assert!(!err.contains("pw-s3cr3t") && !err.contains("918273645"), "{toml}: {err}");
        }
    }

    #[test]
    fn print_config_shows_urls_without_their_credentials() {
        let mut c = Config::default();
        c.clickhouse.url = "http://chuser:ch-pw@127.0.0.1:8123/ch?token=t0k&database=x".into();
        c.actions.url = "https://hook:hook-pw@hooks.example.com/hook/path?Signature=s1g&brand=acme".into();
        c.kafka.client.insert("sasl.username".into(), "job".into());
        let printed: toml::Value = toml::from_str(&c.to_redacted_toml().unwrap()).unwrap();
        assert_eq!(printed["clickhouse"]["url"].as_str(), Some("http://***@127.0.0.1:8123/ch?token=***&database=x"));
        assert_eq!(
            printed["actions"]["url"].as_str(),
            Some("https://***@hooks.example.com/hook/path?Signature=***&brand=acme")
        );
        assert_eq!(printed["actions"]["token_env"].as_str(), Some("BRANDPULSE_KILL_SWITCH_TOKEN"));
        assert_eq!(printed["kafka"]["client"]["sasl.username"].as_str(), Some("job"));
        assert_eq!(printed["lateness_seconds"].as_integer(), Some(3600));
    }

    #[test]
    fn secret_variables_are_not_configuration_keys() {
        for v in [
            "CLICKHOUSE_PASSWORD",
            "KAFKA_SASL_PASSWORD",
            "KAFKA_SSL_KEY_PEM",
            "KAFKA_SASL_OAUTHBEARER_CONFIG",
            "KILL_SWITCH_TOKEN",
            "API_TOKEN",
        ] {
            assert!(is_secret_variable(v), "{v}");
        }
        // Keys: a secret key is refused by `check` with the variable to use, never ignored.
        for v in ["CLICKHOUSE__PASSWORD", "ACTIONS__TOKEN_ENV", "ACTIONS__URL", "LATENESS_SECONDS", "KAFKA__BROKERS"] {
            assert!(!is_secret_variable(v), "{v}");
        }
    }
}
