//! Types that flow between the dataflow's operators: positioned facts, deltas, messages.

use schemas::{AdComment, AdRow, BrandProfile, BrandRow, CareEvent, Mention, Topic};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// The timely timestamp: an ingest round (replay) or batch (Kafka).
pub type Epoch = u64;
/// Event time in epoch milliseconds (UTC).
pub type Millis = i64;
/// The watermark before any fact was seen.
pub const NO_WATERMARK: Millis = i64::MIN;

/// A stable hash for routing keys to workers (the same in every process).
pub fn route(key: &str) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    key.hash(&mut h);
    h.finish()
}

/// A 128-bit fingerprint of `(namespace, id)`: two independent 64-bit hashes, so state can hold
/// ids without their strings. Two ids are confused only on a 128-bit collision among the ids
/// alive at once.
pub fn fingerprint(namespace: &str, id: &str) -> u128 {
    use std::hash::BuildHasher;
    let mut a = rustc_hash::FxHasher::default();
    (namespace, id).hash(&mut a);
    let b =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one((id, namespace));
    ((a.finish() as u128) << 64) | b as u128
}

/// Where a record was read: partition (file index or Kafka partition id) and offset (line or offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct Pos {
    /// Partition number, unique across topics within a job.
    pub partition: u32,
    /// Offset within the partition.
    pub offset: u64,
}

/// A decoded fact with its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Fact {
    /// A mention, with its raw bytes (for its dead letter should its window be final).
    Mention(Pos, Mention, Vec<u8>),
    /// An ad comment, with its raw bytes (kept for the dead letter should its ad never arrive).
    Comment(Pos, AdComment, Vec<u8>),
    /// A care event.
    Care(Pos, CareEvent),
}

impl Fact {
    /// Event time.
    pub fn ts(&self) -> Millis {
        match self {
            Fact::Mention(_, m, _) => m.ts,
            Fact::Comment(_, c, _) => c.ts,
            Fact::Care(_, e) => e.ts,
        }
    }
    /// Position.
    pub fn pos(&self) -> Pos {
        match self {
            Fact::Mention(p, _, _) | Fact::Comment(p, _, _) | Fact::Care(p, _) => *p,
        }
    }
    /// Dedup id.
    pub fn event_id(&self) -> &str {
        match self {
            Fact::Mention(_, m, _) => &m.event_id,
            Fact::Comment(_, c, _) => &c.event_id,
            Fact::Care(_, e) => &e.event_id,
        }
    }
    /// Topic.
    pub fn topic(&self) -> Topic {
        match self {
            Fact::Mention(..) => Topic::Mentions,
            Fact::Comment(..) => Topic::AdComments,
            Fact::Care(..) => Topic::CareEvents,
        }
    }
    /// The order in which facts of one epoch are processed: `(ts, partition, offset)`.
    pub fn order_key(&self) -> (Millis, Pos) {
        (self.ts(), self.pos())
    }
}

/// A dimension row with its position (rows of one epoch apply in position order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Dim {
    /// A brand row.
    Brand(Pos, BrandRow),
    /// An ad row.
    Ad(Pos, AdRow),
    /// Publishing of a brand resumed through the API (SPEC §6): the brand is no longer paused,
    /// so its next crisis pauses it again.
    Resume {
        /// Brand.
        brand_id: String,
    },
}

/// Side input of stateful operators, broadcast to every worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Side {
    /// The watermark after this epoch.
    Watermark(Millis),
    /// A brand row.
    Brand(Pos, BrandRow),
    /// Operators snapshot their state after this epoch (see [`crate::checkpoint`]).
    Checkpoint,
}

/// A record rejected inside the dataflow (lateness against a final window, unknown ad expired).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    /// Topic.
    pub topic: Topic,
    /// Where it was read.
    pub pos: Pos,
    /// Reason code (`late`, `unknown_ad_expired`).
    pub reason: String,
    /// Human-readable detail.
    pub detail: String,
    /// The record re-encoded as JSON.
    pub raw: Vec<u8>,
}

/// A worker's report for the watermark (SPEC §3), sent at every epoch the worker reads, and at
/// epoch 0 by every worker. A worker's latest report stands for it until it sends another.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct WatermarkReport {
    /// The reporting worker's index.
    pub worker: usize,
    /// Minimum `M_p` over the worker's active fact partitions that have data.
    pub active_min: Option<Millis>,
    /// Whether the worker has any fact partition that has not ended.
    pub any_active: bool,
    /// Largest `ts` of any fact partition of the worker so far.
    pub max_ts: Option<Millis>,
    /// Requests a checkpoint of this epoch (see [`crate::checkpoint`]).
    #[serde(default)]
    pub checkpoint: bool,
}

/// Job parameters shared by every operator.
#[derive(Clone)]
pub struct Params {
    /// Allowed lateness `L` in ms.
    pub lateness_ms: Millis,
    /// The rule against records far ahead of their partition (SPEC §3).
    pub jump: crate::watermark::JumpRule,
    /// Case TTL in ms of event time.
    pub case_ttl_ms: Millis,
    /// Defaults for brands without a row.
    pub defaults: std::sync::Arc<BrandProfile>,
    /// The sentiment scorer.
    pub scorer: crate::sentiment::Scorer,
    /// Wall clock in epoch ms (for `detected_at`); injectable for tests.
    pub clock: fn() -> Millis,
    /// Live-state gauges, summed over the workers of this process.
    pub gauges: std::sync::Arc<Gauges>,
    /// Also emit live changes: the current value of every window, case and brand status that
    /// changed in an epoch (`Outputs::live_*`), for sinks that keep current values (ClickHouse).
    /// Off for replay-to-Parquet: the final rows do not depend on it.
    pub live: bool,
}

/// Sizes of live operator state (keys held), for metrics and the bounded-state guarantee.
#[derive(Debug, Default)]
pub struct Gauges {
    /// Open brand-minute and ad-minute windows.
    pub windows: std::sync::atomic::AtomicI64,
    /// Cases held (case state and brand store).
    pub cases: std::sync::atomic::AtomicI64,
    /// Event ids remembered for dedup.
    pub dedup_ids: std::sync::atomic::AtomicI64,
    /// Sources and requests held by the source join.
    pub join_entries: std::sync::atomic::AtomicI64,
    /// The global watermark `W` (epoch ms) of the latest complete epoch; 0 until the first one
    /// with data (set on worker 0, which combines the reports).
    pub watermark_ms: std::sync::atomic::AtomicI64,
}

/// One operator instance's share of a gauge: reports changes of its own count.
#[derive(Debug, Default)]
pub struct GaugeShare(i64);

impl GaugeShare {
    /// Sets this instance's count to `now`.
    pub fn set(&mut self, gauge: &std::sync::atomic::AtomicI64, now: usize) {
        let now = now as i64;
        gauge.fetch_add(now - self.0, std::sync::atomic::Ordering::Relaxed);
        self.0 = now;
    }
}

impl Params {
    /// Whether the minute window starting at `start` is final under watermark `w`.
    pub fn is_final(&self, start: Millis, w: Millis) -> bool {
        w != NO_WATERMARK && w >= start + schemas::time::MINUTE_MS + self.lateness_ms
    }
}

/// The wall clock in epoch ms.
pub fn system_clock() -> Millis {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as Millis).unwrap_or(0)
}

/// Sentiment in fixed point (10⁻¹² units) so that sums and retractions are exact.
pub fn fixed(s: f64) -> i128 {
    (s * 1e12).round() as i128
}

/// Converts a fixed-point sentiment sum back to a float.
pub fn unfixed(s: i128) -> f64 {
    s as f64 / 1e12
}
