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

/// `[kafka]`: the broker connection. Secrets (SASL password, SSL key password) come from the
/// environment: `BRANDPULSE_KAFKA_SASL_PASSWORD` and `BRANDPULSE_KAFKA_SSL_KEY_PASSWORD`.
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
    /// "SASL_SSL"`, `"sasl.mechanism" = "SCRAM-SHA-512"`, `"sasl.username" = "job"`). Passwords
    /// are refused here: set them in the environment.
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

/// Settings that must never sit in the config file.
const SECRET_KEYS: [&str; 4] =
    ["sasl.password", "ssl.key.password", "ssl.keystore.password", "sasl.oauthbearer.client.secret"];

impl KafkaConfig {
    /// The librdkafka settings common to consumer and producer: brokers, the pass-through table,
    /// and secrets from the environment.
    ///
    /// # Errors
    /// A secret was put in the config file.
    pub fn client_config(&self) -> anyhow::Result<rdkafka::ClientConfig> {
        let mut c = rdkafka::ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.client {
            if SECRET_KEYS.contains(&k.as_str()) {
                anyhow::bail!(
                    "key `kafka.client.\"{k}\"`: secrets are not read from the config file; set {} in the environment instead",
                    secret_env(k)
                );
            }
            c.set(k, v);
        }
        for k in SECRET_KEYS {
            if let Ok(v) = std::env::var(secret_env(k)) {
                c.set(k, v);
            }
        }
        Ok(c)
    }
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
        let err = k.client_config().err().expect("refused").to_string();
        assert!(err.contains("kafka.client.\"sasl.password\""), "{err}");
        assert!(err.contains("BRANDPULSE_KAFKA_SASL_PASSWORD"), "{err}");
    }
}
