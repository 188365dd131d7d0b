//! `generate --kafka`: writes the synthetic stream to the input topics at a chosen rate.
//!
//! Keys: brands by `brand_id`, ads by `ad_id`, care events by `case_id` (a case's events stay in
//! one partition, in order), mentions and ad comments by `event_id`; a line without its key
//! field (the generator's deliberately bad lines) goes without a key. Topics missing on the
//! broker are created with `--partitions` partitions.

use crate::generate::{GenConfig, Generator};
use crate::sources::kafka::config::KafkaConfig;
use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use schemas::Topic;
use std::time::{Duration, Instant};

#[derive(serde::Deserialize)]
struct Keys<'a> {
    #[serde(borrow, default)]
    brand_id: Option<&'a str>,
    #[serde(borrow, default)]
    ad_id: Option<&'a str>,
    #[serde(borrow, default)]
    case_id: Option<&'a str>,
    #[serde(borrow, default)]
    event_id: Option<&'a str>,
}

/// The message key of a record of `topic` (see the module docs).
pub fn key_of(topic: Topic, line: &[u8]) -> Option<String> {
    let k: Keys<'_> = serde_json::from_slice(line).ok()?;
    let key = match topic {
        Topic::Brands => k.brand_id,
        Topic::Ads => k.ad_id,
        Topic::CareEvents => k.case_id,
        Topic::Mentions | Topic::AdComments => k.event_id,
    };
    key.map(str::to_string)
}

/// Creates the input topics that do not exist yet, with `partitions` partitions each.
///
/// # Errors
/// The broker is unreachable or refuses.
pub fn ensure_topics(cfg: &KafkaConfig, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> =
        cfg.client_config()?.create().context("creating the Kafka admin client")?;
    let timeout = Duration::from_secs(cfg.metadata_timeout_seconds.max(1));
    let meta = admin.inner().fetch_metadata(None, timeout).map_err(|e| {
        anyhow::anyhow!("cannot reach the Kafka brokers `{}` ({e}); check key `kafka.brokers`", cfg.brokers)
    })?;
    let names: Vec<String> = Topic::ALL
        .iter()
        .map(|t| cfg.topics.input(*t).to_string())
        .chain([cfg.topics.dlq.clone(), cfg.topics.alerts.clone(), cfg.topics.control.clone()])
        .filter(|n| !meta.topics().iter().any(|t| t.name() == n && t.error().is_none()))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let new: Vec<NewTopic<'_>> =
        names.iter().map(|n| NewTopic::new(n, partitions.max(1), TopicReplication::Fixed(1))).collect();
    let rt =
        futures_executor::block_on(admin.create_topics(&new, &AdminOptions::new().operation_timeout(Some(timeout))));
    for r in rt.context("creating topics")? {
        match r {
            Ok(t) => tracing::info!(topic = %t, partitions, "topic created"),
            Err((t, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                tracing::debug!(topic = %t, "topic exists")
            }
            Err((t, e)) => anyhow::bail!("creating topic `{t}`: {e}"),
        }
    }
    Ok(())
}

/// What `generate --kafka` did.
#[derive(Debug, Default)]
pub struct Produced {
    /// Records per topic.
    pub per_topic: std::collections::BTreeMap<&'static str, u64>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Produces the generator's stream: dimension rows first, then facts at `rate` facts/s
/// (0: as fast as the broker takes them). With `live`, event times start now and advance with
/// the wall clock (`span = events / rate`), as a live feed would.
///
/// # Errors
/// The broker is unreachable, or delivery failed.
pub fn generate_to_kafka(
    cfg: &KafkaConfig,
    mut gen: GenConfig,
    rate: f64,
    partitions: i32,
    live: bool,
) -> anyhow::Result<Produced> {
    ensure_topics(cfg, partitions)?;
    if live {
        gen.start_ms = operators::system_clock();
        if rate > 0.0 {
            gen.span_ms = ((gen.events as f64 / rate) * 1000.0) as i64;
        }
    }
    let producer: ThreadedProducer<DefaultProducerContext> = cfg
        .client_config()?
        .set("linger.ms", "5")
        .set("batch.num.messages", "10000")
        .set("queue.buffering.max.messages", "200000")
        .create()
        .context("creating the Kafka producer")?;
    let started = Instant::now();
    let mut out = Produced::default();
    let mut facts = 0u64;
    let mut last_report = Instant::now();
    for rec in Generator::new(gen.clone()) {
        let topic = Topic::from_name(rec.topic).ok_or_else(|| anyhow::anyhow!("unknown topic {}", rec.topic))?;
        if topic.is_fact() {
            facts += 1;
            if rate > 0.0 {
                let due = started + Duration::from_secs_f64(facts as f64 / rate);
                let now = Instant::now();
                if due > now + Duration::from_millis(1) {
                    std::thread::sleep(due - now);
                }
            }
        }
        let key = key_of(topic, &rec.line);
        let mut record = BaseRecord::<String, Vec<u8>>::to(cfg.topics.input(topic)).payload(&rec.line);
        if let Some(k) = key.as_ref() {
            record = record.key(k);
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((e, r)) if matches!(e.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::QueueFull)) => {
                    std::thread::sleep(Duration::from_millis(1));
                    record = r;
                }
                Err((e, _)) => anyhow::bail!("producing to `{}`: {e}", cfg.topics.input(topic)),
            }
        }
        *out.per_topic.entry(rec.topic).or_default() += 1;
        if last_report.elapsed() > Duration::from_secs(5) {
            last_report = Instant::now();
            eprintln!(
                "generate: {facts} facts in {:.1} s ({:.0}/s)",
                started.elapsed().as_secs_f64(),
                facts as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    producer.flush(Duration::from_secs(60)).map_err(|e| anyhow::anyhow!("flushing to Kafka: {e}"))?;
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_topic() {
        let l = br#"{"event_id":"e-1","case_id":"k-3","brand_id":"acme","kind":"opened","ts":1}"#;
        assert_eq!(key_of(Topic::CareEvents, l).as_deref(), Some("k-3"));
        assert_eq!(key_of(Topic::Mentions, l).as_deref(), Some("e-1"));
        assert_eq!(key_of(Topic::Brands, l).as_deref(), Some("acme"));
        assert_eq!(key_of(Topic::Ads, b"{not json"), None);
    }
}
