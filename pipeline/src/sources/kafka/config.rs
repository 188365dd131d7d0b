//! Kafka settings shared by the source, the Kafka outputs and `generate --kafka`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a partition starts reading when the job starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartFrom {
    /// The partition's first retained offset.
    Earliest,
    /// The partition's end at start (only records produced afterwards).
    Latest,
    /// The job's own stored checkpoint (state dir); partitions it has never seen start at the earliest offset.
    Stored,
}

/// Topic names: the five inputs and the three outputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicNames {
    /// Brands dimension (keyed by brand_id; a null value deletes).
    pub brands: String,
    /// Ads dimension (keyed by ad_id; a null value deletes).
    pub ads: String,
    /// Mentions.
    pub mentions: String,
    /// Ad comments.
    pub ad_comments: String,
    /// Care events.
    pub care_events: String,
    /// Dead letters (output).
    pub dlq: String,
    /// Alerts (output).
    pub alerts: String,
    /// Kill-switch actions (output).
    pub control: String,
}

impl Default for TopicNames {
    fn default() -> Self {
        TopicNames {
            brands: "brands".into(),
            ads: "ads".into(),
            mentions: "mentions".into(),
            ad_comments: "ad_comments".into(),
            care_events: "care_events".into(),
            dlq: "brandpulse.dlq".into(),
            alerts: "brandpulse.alerts".into(),
            control: "brandpulse.control".into(),
        }
    }
}

impl TopicNames {
    /// The Kafka topic of an input topic.
    pub fn input(&self, t: schemas::Topic) -> &str {
        match t {
            schemas::Topic::Brands => &self.brands,
            schemas::Topic::Ads => &self.ads,
            schemas::Topic::Mentions => &self.mentions,
            schemas::Topic::AdComments => &self.ad_comments,
            schemas::Topic::CareEvents => &self.care_events,
        }
    }
}

/// `[kafka]`: the broker connection. Secrets (passwords, private keys, PEM material, OAuth
/// secrets) are never read from the config file: librdkafka's secret settings
/// ([`ENV_SECRET_KEYS`]) come from `BRANDPULSE_KAFKA_<KEY>` variables ([`secret_env`], e.g.
/// `BRANDPULSE_KAFKA_SASL_PASSWORD`), and a secret-looking key in `kafka.client` is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Topic names.
    pub topics: TopicNames,
    /// Where partitions start: `earliest`, `latest` or `stored` (the job's checkpoint).
    pub start: StartFrom,
    /// Pass-through librdkafka settings for consumer and producer (e.g. `"security.protocol" =
    /// "SASL_SSL"`, `"sasl.mechanism" = "SCRAM-SHA-512"`, `"sasl.username" = "job"`). Secrets
    /// are refused here ([`crate::config::redact::is_secret_key`]): set them in the environment.
    pub client: BTreeMap<String, String>,
    /// Per-partition prefetch limit of the consumer in KiB (bounds memory while paused).
    pub fetch_queue_kib: u32,
    /// Seconds to wait for the broker's metadata at start before failing.
    pub metadata_timeout_seconds: u64,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            topics: TopicNames::default(),
            start: StartFrom::Stored,
            client: BTreeMap::new(),
            fetch_queue_kib: 4096,
            metadata_timeout_seconds: 10,
        }
    }
}

/// The librdkafka settings holding secrets that the job reads from the environment, each from
/// [`secret_env`] of its name (`ssl.key.pem` from `BRANDPULSE_KAFKA_SSL_KEY_PEM`). These are
/// librdkafka's own sensitive settings that hold a secret or key material (passwords, private
/// keys, PEM blocks, OAuth client secret and configuration); paths to key files
/// (`ssl.key.location`, `ssl.keystore.location`) are not secrets and stay in `kafka.client`.
pub const ENV_SECRET_KEYS: [&str; 11] = [
    "sasl.password",
    "ssl.key.password",
    "ssl.key.pem",
    "ssl.keystore.password",
    "ssl.certificate.pem",
    "ssl.ca.pem",
    "https.ca.pem",
    "sasl.oauthbearer.config",
    "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.assertion.private.key.pem",
    "sasl.oauthbearer.assertion.private.key.passphrase",
];

impl KafkaConfig {
    /// Checks the settings: numeric ranges, and no secret in `kafka.client`.
    ///
    /// # Errors
    /// Names the key, the value (never a secret's) and the allowed range or the variable to use.
    pub fn check(&self) -> anyhow::Result<()> {
        crate::config::check_range("kafka.fetch_queue_kib", u64::from(self.fetch_queue_kib), 64, 2_097_151)?;
        crate::config::check_range("kafka.metadata_timeout_seconds", self.metadata_timeout_seconds, 1, 3_600)?;
        for k in self.client.keys() {
            refuse_secret_key(k)?;
        }
        Ok(())
    }

    /// The librdkafka settings common to consumer and producer: brokers, the pass-through table,
    /// and secrets from the environment. librdkafka checks every setting here, and its refusal
    /// names the key and never shows a secret's value (librdkafka's own message echoes it).
    ///
    /// # Errors
    /// A secret was put in the config file, or librdkafka refuses a setting.
    pub fn client_config(&self) -> anyhow::Result<rdkafka::ClientConfig> {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.client {
            refuse_secret_key(k)?;
            c.set(k, v);
        }
        for k in ENV_SECRET_KEYS {
            if let Ok(v) = std::env::var(secret_env(k)) {
                c.set(k, v);
            }
        }
        if let Err(e) = c.create_native_config() {
            return Err(describe_conf_error(&e));
        }
        Ok(c)
    }
}

/// The error for a secret-looking key in `kafka.client`.
fn refuse_secret_key(k: &str) -> anyhow::Result<()> {
    if !crate::config::redact::is_secret_key(k) {
        return Ok(());
    }
    let lower = k.to_ascii_lowercase();
    if ENV_SECRET_KEYS.contains(&lower.as_str()) {
        anyhow::bail!(
            "key `kafka.client.\"{k}\"`: secrets are not read from the config file; set {} in the environment instead",
            secret_env(&lower)
        );
    }
    anyhow::bail!(
        "key `kafka.client.\"{k}\"` looks like a secret, and secrets are not read from the config file; \
         librdkafka's secret settings come from the environment: {} (a key file goes in `ssl.key.location`)",
        ENV_SECRET_KEYS.map(secret_env).join(", ")
    )
}

/// librdkafka's refusal of a setting, naming where it came from; the value is shown only when
/// it is not a secret (and then masked wherever librdkafka's description repeats it).
fn describe_conf_error(e: &rdkafka::error::KafkaError) -> anyhow::Error {
    use crate::config::redact::{is_secret_key, MASK};
    let rdkafka::error::KafkaError::ClientConfig(_, desc, key, value) = e else {
        return anyhow::anyhow!("librdkafka refused the Kafka settings: {e}");
    };
    if is_secret_key(key) || ENV_SECRET_KEYS.contains(&key.as_str()) {
        let desc = if value.is_empty() { desc.clone() } else { desc.replace(value.as_str(), MASK) };
        return anyhow::anyhow!(
            "variable {} (librdkafka setting `{key}`): librdkafka refused it: {desc} (value not shown: it is a secret)",
            secret_env(key)
        );
    }
    let origin = if key == "bootstrap.servers" {
        "key `kafka.brokers`".to_string()
    } else {
        format!("key `kafka.client.\"{key}\"`")
    };
    anyhow::anyhow!("{origin}: librdkafka refused {value:?}: {desc}")
}

/// The environment variable holding a librdkafka secret, e.g. `BRANDPULSE_KAFKA_SASL_PASSWORD`.
pub fn secret_env(key: &str) -> String {
    format!("BRANDPULSE_KAFKA_{}", key.replace('.', "_").to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_the_file_are_refused_and_named() {
        let mut k = KafkaConfig::default();
        k.client.insert("sasl.password".into(), "hunter2".into());
        let err = k.client_config().expect_err("refused").to_string();
        assert!(err.contains("kafka.client.\"sasl.password\""), "{err}");
        assert!(err.contains("BRANDPULSE_KAFKA_SASL_PASSWORD"), "{err}");
        assert!(k.check().is_err());
    }

    #[test]
    fn secret_looking_keys_are_refused_case_insensitively_without_their_value() {
        let cases = [
            ("SASL.PASSWORD", "BRANDPULSE_KAFKA_SASL_PASSWORD"),
            ("Ssl.Key.Password", "BRANDPULSE_KAFKA_SSL_KEY_PASSWORD"),
            ("ssl.key.pem", "BRANDPULSE_KAFKA_SSL_KEY_PEM"),
            ("ssl.keystore.password", "BRANDPULSE_KAFKA_SSL_KEYSTORE_PASSWORD"),
            ("sasl.oauthbearer.config", "BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CONFIG"),
            ("SASL.OAUTHBEARER.CLIENT.SECRET", "BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET"),
            // Not a setting the job reads from the environment: refused, listing the ones it does.
            ("sasl.oauthbearer.client.credentials.client.secret", "BRANDPULSE_KAFKA_SASL_PASSWORD"),
            ("sasl.jaas.config", "BRANDPULSE_KAFKA_SASL_PASSWORD"),
            ("my.private.key", "BRANDPULSE_KAFKA_SSL_KEY_PEM"),
        ];
        for (key, var) in cases {
            let mut k = KafkaConfig::default();
            k.client.insert(key.into(), "s3cr3t-value".into());
            let err = k.check().expect_err(key).to_string();
            assert!(err.contains(&format!("kafka.client.\"{key}\"")) && err.contains(var), "{key}: {err}");
            assert!(!err.contains("s3cr3t-value"), "{err}");
        }
        let mut k = KafkaConfig::default();
        for key in ["sasl.username", "security.protocol", "sasl.mechanism", "ssl.key.location", "ssl.ca.location"] {
            k.client.insert(key.into(), "x".into());
        }
        k.check().expect("plain settings and key-file paths are allowed");
    }

    #[test]
    fn librdkafka_refusals_name_the_key_and_hide_secret_values() {
        use rdkafka::error::KafkaError;
        use rdkafka::types::RDKafkaConfRes::RD_KAFKA_CONF_INVALID;
        let secret = KafkaError::ClientConfig(
            RD_KAFKA_CONF_INVALID,
            "Unsupported value \"oauth-s3cr3t\" for configuration property".into(),
            "sasl.oauthbearer.client.secret".into(),
            "oauth-s3cr3t".into(),
        );
        let m = describe_conf_error(&secret).to_string();
        assert!(m.contains("BRANDPULSE_KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET") && !m.contains("oauth-s3cr3t"), "{m}");
        let plain = KafkaError::ClientConfig(
            RD_KAFKA_CONF_INVALID,
            "Invalid value for configuration property \"security.protocol\"".into(),
            "security.protocol".into(),
            "SASL_NOPE".into(),
        );
        let m = describe_conf_error(&plain).to_string();
        assert!(m.contains("kafka.client.\"security.protocol\"") && m.contains("SASL_NOPE"), "{m}");
        // And the real librdkafka check runs in `client_config`.
        let mut k = KafkaConfig::default();
        k.client.insert("security.protocol".into(), "SASL_NOPE".into());
        let m = k.client_config().expect_err("refused").to_string();
        assert!(m.contains("kafka.client.\"security.protocol\"") && m.contains("SASL_NOPE"), "{m}");
    }

    #[test]
    fn numeric_keys_are_range_checked() {
        let cases = [
            (
                KafkaConfig { fetch_queue_kib: 63, ..Default::default() },
                "`kafka.fetch_queue_kib` is 63; allowed: 64 to 2097151",
            ),
            (
                KafkaConfig { fetch_queue_kib: 2_097_152, ..Default::default() },
                "`kafka.fetch_queue_kib` is 2097152; allowed: 64 to 2097151",
            ),
            (
                KafkaConfig { metadata_timeout_seconds: 0, ..Default::default() },
                "`kafka.metadata_timeout_seconds` is 0; allowed: 1 to 3600",
            ),
            (
                KafkaConfig { metadata_timeout_seconds: 3_601, ..Default::default() },
                "`kafka.metadata_timeout_seconds` is 3601; allowed: 1 to 3600",
            ),
        ];
        for (c, want) in cases {
            let e = c.check().expect_err(want).to_string();
            assert!(e.contains(want), "{e}");
        }
        KafkaConfig { fetch_queue_kib: 64, metadata_timeout_seconds: 3_600, ..Default::default() }.check().unwrap();
        KafkaConfig { fetch_queue_kib: 2_097_151, metadata_timeout_seconds: 1, ..Default::default() }.check().unwrap();
    }
}
