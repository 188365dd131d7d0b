//! Kafka source for `run`: the five input topics read by manual partition assignment.
//!
//! Protocol: Kafka (any broker speaking the Apache Kafka protocol; tested against tansu) through
//! librdkafka (bundled by the `rdkafka` crate). Each message value is one JSON record
//! (SPEC §2); on `brands` and `ads` a null value (tombstone) deletes the row named by the key.
//! Every partition of every input topic gets a job-wide **partition number** (topics in the
//! order brands, ads, mentions, ad_comments, care_events; partitions in id order), and partition
//! number `n` is read by worker `n mod workers` — manual assignment, no consumer group, no
//! rebalancing in the data path. The job tracks offsets itself: they are saved in its
//! checkpoints, never committed to the broker. Backpressure: the job simply stops polling; the
//! consumer's prefetch is bounded by `kafka.fetch_queue_kib`.
//!
//! Not supported: topics created while the job runs (restart to pick up new partitions),
//! transactional (read-committed) isolation, message headers.

pub mod catch_up;
pub mod config;
pub mod input;

use anyhow::Context;
use config::{KafkaConfig, StartFrom};
use operators::watermark::{JumpRule, PartitionClock};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use schemas::Topic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One input partition of the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionId {
    /// The input topic.
    pub topic: Topic,
    /// The Kafka topic name.
    pub kafka_topic: String,
    /// The Kafka partition id.
    pub partition: i32,
}

/// Every input partition of the job, numbered as in the module docs.
///
/// # Errors
/// The broker is unreachable, or an input topic does not exist.
pub fn discover(cfg: &KafkaConfig) -> anyhow::Result<Vec<PartitionId>> {
    let consumer: BaseConsumer =
        cfg.client_config()?.set("group.id", "brandpulse-metadata").create().context("creating the Kafka client")?;
    let timeout = Duration::from_secs(cfg.metadata_timeout_seconds.max(1));
    let meta = consumer.fetch_metadata(None, timeout).map_err(|e| {
        anyhow::anyhow!(
            "cannot reach the Kafka brokers `{}` within {} s ({e}); check key `kafka.brokers` and that the broker runs",
            cfg.brokers,
            timeout.as_secs()
        )
    })?;
    let mut out = Vec::new();
    for topic in Topic::ALL {
        let name = cfg.topics.input(topic);
        let Some(t) = meta.topics().iter().find(|t| t.name() == name && t.error().is_none()) else {
            anyhow::bail!(
                "input topic `{name}` does not exist on {}: create it, or set key `kafka.topics.{}` to the topic to read",
                cfg.brokers,
                topic.name()
            );
        };
        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        ids.sort_unstable();
        if ids.is_empty() {
            anyhow::bail!("input topic `{name}` has no partitions");
        }
        out.extend(ids.into_iter().map(|partition| PartitionId { topic, kafka_topic: name.to_string(), partition }));
    }
    Ok(out)
}

/// The saved state of one partition: where to resume and its `M_p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionCursor {
    /// The next offset to read.
    pub next_offset: i64,
    /// `M_p` (largest accepted ts), if any.
    pub max_ts: Option<i64>,
    /// The whole clock (`M_p` and the jump rule's state); checkpoints from before it had only
    /// `max_ts`.
    #[serde(default)]
    pub clock: Option<PartitionClock>,
}

/// A record read from Kafka.
pub struct KafkaRecord<'a> {
    /// Index into the worker's partitions ([`KafkaSource::partitions`]).
    pub local: usize,
    /// Offset.
    pub offset: i64,
    /// The value (a tombstone is already turned into a deletion record).
    pub bytes: std::borrow::Cow<'a, [u8]>,
}

/// One partition being read by this worker.
pub struct Assigned {
    /// Job-wide partition number.
    pub number: u32,
    /// Which partition.
    pub id: PartitionId,
    /// Next offset to read.
    pub next_offset: i64,
    /// The partition's end offset when the job started (its backlog ends there).
    pub start_high: i64,
    /// End offset captured at start (for `--stop-at-end`).
    pub end_offset: Option<i64>,
    /// Lateness clock (facts).
    pub clock: PartitionClock,
    /// Wall clock of the last record.
    pub last_data: Option<Instant>,
    /// When it was assigned.
    pub opened: Instant,
}

/// How long a partition must stay quiet after reaching its end offset before it counts as at
/// its end. Needed because tansu 0.6 reports the base offset of the last record batch (+1) as
/// the partition's end, so records of that last batch can lie past the reported end.
pub const END_QUIET: Duration = Duration::from_millis(300);

impl Assigned {
    /// The partition has read its backlog: it reached `end` and received nothing for
    /// [`END_QUIET`] (see there why both).
    fn reached(&self, end: i64) -> bool {
        self.next_offset >= end && self.last_data.unwrap_or(self.opened).elapsed() >= END_QUIET
    }

    /// The partition has reached its end (only with `stop_at_end`).
    pub fn at_end(&self) -> bool {
        self.end_offset.is_some_and(|e| self.reached(e))
    }

    /// The partition has read the backlog it had at start.
    pub fn backlog_read(&self) -> bool {
        self.reached(self.start_high)
    }
}

/// The Kafka consumer of one worker.
pub struct KafkaSource {
    consumer: Option<BaseConsumer>,
    /// The worker's partitions.
    pub partitions: Vec<Assigned>,
    lookup: BTreeMap<(String, i32), usize>,
}

/// A tombstone of `topic` as the deletion record of the NDJSON format.
fn tombstone(topic: Topic, key: &[u8]) -> Option<Vec<u8>> {
    let field = match topic {
        Topic::Brands => "brand_id",
        Topic::Ads => "ad_id",
        _ => return None,
    };
    let key = std::str::from_utf8(key).ok()?;
    Some(serde_json::json!({ field: key, "deleted": true }).to_string().into_bytes())
}

impl KafkaSource {
    /// Assigns this worker its partitions (`number mod workers == worker`) and positions them.
    ///
    /// `stored` holds the cursors of a restored checkpoint (by partition number); `stop_at_end`
    /// captures each partition's end offset so the job can finish there.
    ///
    /// # Errors
    /// The consumer cannot be created, or offsets cannot be queried.
    pub fn open(
        cfg: &KafkaConfig,
        all: &[PartitionId],
        worker: usize,
        workers: usize,
        stored: &BTreeMap<u32, PartitionCursor>,
        lateness_ms: i64,
        rule: JumpRule,
        stop_at_end: bool,
    ) -> anyhow::Result<KafkaSource> {
        let mut partitions = Vec::new();
        for (n, id) in all.iter().enumerate() {
            if n % workers.max(1) == worker {
                partitions.push(Assigned {
                    number: n as u32,
                    id: id.clone(),
                    next_offset: 0,
                    start_high: 0,
                    end_offset: None,
                    clock: PartitionClock::with_rule(lateness_ms, rule),
                    last_data: None,
                    opened: Instant::now(),
                });
            }
        }
        if partitions.is_empty() {
            return Ok(KafkaSource { consumer: None, partitions, lookup: BTreeMap::new() });
        }
        let consumer: BaseConsumer = cfg
            .client_config()?
            .set("group.id", "brandpulse")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "false")
            .set("queued.max.messages.kbytes", cfg.fetch_queue_kib.max(64).to_string())
            .set("fetch.wait.max.ms", "10")
            .create()
            .context("creating the Kafka consumer")?;
        let timeout = Duration::from_secs(cfg.metadata_timeout_seconds.max(1));
        let mut tpl = TopicPartitionList::new();
        for p in partitions.iter_mut() {
            let (low, high) = consumer
                .fetch_watermarks(&p.id.kafka_topic, p.id.partition, timeout)
                .with_context(|| format!("reading the offsets of {}/{}", p.id.kafka_topic, p.id.partition))?;
            let start = match (cfg.start, stored.get(&p.number)) {
                (StartFrom::Stored, Some(c)) => {
                    if let Some(clock) = c.clock {
                        p.clock = clock.with_params(lateness_ms, rule);
                    } else if let Some(m) = c.max_ts {
                        p.clock = PartitionClock::restored(lateness_ms, m).with_params(lateness_ms, rule);
                    }
                    if c.next_offset < low {
                        tracing::warn!(topic = %p.id.kafka_topic, partition = p.id.partition, stored = c.next_offset, low, "stored offset is no longer retained; records between were lost to retention");
                    }
                    c.next_offset.max(low)
                }
                (StartFrom::Latest, _) => high,
                _ => low,
            };
            p.next_offset = start;
            p.start_high = high;
            tracing::debug!(topic = %p.id.kafka_topic, partition = p.id.partition, low, high, start, "partition assigned");
            if stop_at_end {
                p.end_offset = Some(high);
            }
            tpl.add_partition_offset(&p.id.kafka_topic, p.id.partition, Offset::Offset(start))
                .context("building the assignment")?;
        }
        consumer.assign(&tpl).context("assigning partitions")?;
        let lookup =
            partitions.iter().enumerate().map(|(i, p)| ((p.id.kafka_topic.clone(), p.id.partition), i)).collect();
        Ok(KafkaSource { consumer: Some(consumer), partitions, lookup })
    }

    /// Whether every partition reached its end offset (never, without `stop_at_end`).
    pub fn all_at_end(&self) -> bool {
        self.partitions.iter().all(|p| p.at_end())
    }

    /// Reads records until `deadline` or `max` records, calling `f` for each.
    ///
    /// # Errors
    /// A fatal consumer error (partition errors are logged and retried by librdkafka).
    pub fn poll(
        &mut self,
        deadline: Instant,
        max: usize,
        mut f: impl FnMut(&mut Assigned, KafkaRecord<'_>),
    ) -> anyhow::Result<usize> {
        let Some(consumer) = &self.consumer else { return Ok(0) };
        let mut n = 0;
        while n < max {
            let wait = deadline.saturating_duration_since(Instant::now());
            let Some(msg) = consumer.poll(wait.min(Duration::from_millis(5))) else {
                if Instant::now() >= deadline {
                    break;
                }
                continue;
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "Kafka consumer error (retrying)");
                    metric_consumer_error();
                    if Instant::now() >= deadline {
                        break;
                    }
                    continue;
                }
            };
            let Some(&local) = self.lookup.get(&(msg.topic().to_string(), msg.partition())) else { continue };
            let p = &mut self.partitions[local];
            if msg.offset() < p.next_offset {
                continue; // re-delivered after a seek
            }
            p.next_offset = msg.offset() + 1;
            p.last_data = Some(Instant::now());
            let bytes: std::borrow::Cow<'_, [u8]> = match msg.payload() {
                Some(b) => std::borrow::Cow::Borrowed(b),
                None => match msg.key().and_then(|k| tombstone(p.id.topic, k)) {
                    Some(t) => std::borrow::Cow::Owned(t),
                    None => std::borrow::Cow::Borrowed(&[][..]),
                },
            };
            f(p, KafkaRecord { local, offset: msg.offset(), bytes });
            n += 1;
        }
        Ok(n)
    }

    /// The cursors of this worker's partitions, by partition number.
    pub fn cursors(&self) -> BTreeMap<u32, PartitionCursor> {
        self.partitions
            .iter()
            .map(|p| {
                (
                    p.number,
                    PartitionCursor { next_offset: p.next_offset, max_ts: p.clock.max_ts(), clock: Some(p.clock) },
                )
            })
            .collect()
    }
}

fn metric_consumer_error() {
    crate::metrics::KAFKA_CONSUMER_ERRORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}
