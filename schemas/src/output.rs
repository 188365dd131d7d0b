//! Output tables (SPEC §5, §7): row types and their Arrow schemas, shared by the Parquet and ClickHouse sinks.

use arrow::array::{
    ArrayRef, BinaryArray, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray, TimestampMillisecondArray,
    UInt32Array, UInt64Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;
use serde::Serialize;
use std::sync::Arc;

/// A row of an output table.
pub trait TableRow: Sized {
    /// The table's name (directory in Parquet, table in ClickHouse).
    const TABLE: &'static str;
    /// The Arrow schema of the table.
    fn schema() -> SchemaRef;
    /// Builds one Arrow batch of rows.
    fn to_batch(rows: &[Self]) -> RecordBatch;
    /// The event time (epoch ms) whose UTC date partitions the row.
    fn date_ms(&self) -> i64;
}

macro_rules! col_ty {
    (str) => { String };
    (opt_str) => { Option<String> };
    (u64) => { u64 };
    (u32) => { u32 };
    (i32) => { i32 };
    (i64) => { i64 };
    (f64) => { f64 };
    (opt_f64) => { Option<f64> };
    (ts) => { i64 };
    (opt_ts) => { Option<i64> };
    (bool) => { bool };
    (bin) => { Vec<u8> };
}

macro_rules! col_field {
    ($n:expr, str) => {
        Field::new($n, DataType::Utf8, false)
    };
    ($n:expr, opt_str) => {
        Field::new($n, DataType::Utf8, true)
    };
    ($n:expr, u64) => {
        Field::new($n, DataType::UInt64, false)
    };
    ($n:expr, u32) => {
        Field::new($n, DataType::UInt32, false)
    };
    ($n:expr, i32) => {
        Field::new($n, DataType::Int32, false)
    };
    ($n:expr, i64) => {
        Field::new($n, DataType::Int64, false)
    };
    ($n:expr, f64) => {
        Field::new($n, DataType::Float64, false)
    };
    ($n:expr, opt_f64) => {
        Field::new($n, DataType::Float64, true)
    };
    ($n:expr, ts) => {
        Field::new($n, ts_type(), false)
    };
    ($n:expr, opt_ts) => {
        Field::new($n, ts_type(), true)
    };
    ($n:expr, bool) => {
        Field::new($n, DataType::Boolean, false)
    };
    ($n:expr, bin) => {
        Field::new($n, DataType::Binary, false)
    };
}

macro_rules! col_array {
    ($rows:expr, $f:ident, str) => {
        Arc::new(StringArray::from_iter_values($rows.iter().map(|r| r.$f.as_str()))) as ArrayRef
    };
    ($rows:expr, $f:ident, opt_str) => {
        Arc::new($rows.iter().map(|r| r.$f.as_deref()).collect::<StringArray>()) as ArrayRef
    };
    ($rows:expr, $f:ident, u64) => {
        Arc::new(UInt64Array::from_iter_values($rows.iter().map(|r| r.$f))) as ArrayRef
    };
    ($rows:expr, $f:ident, u32) => {
        Arc::new(UInt32Array::from_iter_values($rows.iter().map(|r| r.$f))) as ArrayRef
    };
    ($rows:expr, $f:ident, i32) => {
        Arc::new(Int32Array::from_iter_values($rows.iter().map(|r| r.$f))) as ArrayRef
    };
    ($rows:expr, $f:ident, i64) => {
        Arc::new(Int64Array::from_iter_values($rows.iter().map(|r| r.$f))) as ArrayRef
    };
    ($rows:expr, $f:ident, f64) => {
        Arc::new(Float64Array::from_iter_values($rows.iter().map(|r| r.$f))) as ArrayRef
    };
    ($rows:expr, $f:ident, opt_f64) => {
        Arc::new($rows.iter().map(|r| r.$f).collect::<Float64Array>()) as ArrayRef
    };
    ($rows:expr, $f:ident, ts) => {
        Arc::new(TimestampMillisecondArray::from_iter_values($rows.iter().map(|r| r.$f)).with_timezone("UTC"))
            as ArrayRef
    };
    ($rows:expr, $f:ident, opt_ts) => {
        Arc::new($rows.iter().map(|r| r.$f).collect::<TimestampMillisecondArray>().with_timezone("UTC")) as ArrayRef
    };
    ($rows:expr, $f:ident, bool) => {
        Arc::new($rows.iter().map(|r| Some(r.$f)).collect::<BooleanArray>()) as ArrayRef
    };
    ($rows:expr, $f:ident, bin) => {
        Arc::new(BinaryArray::from_iter_values($rows.iter().map(|r| r.$f.as_slice()))) as ArrayRef
    };
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

macro_rules! table {
    ($(#[$m:meta])* $name:ident = $table:literal, date: $date:expr, { $( $(#[$fm:meta])* $field:ident : $kind:ident ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, PartialEq, PartialOrd, Serialize, serde::Deserialize)]
        pub struct $name { $( $(#[$fm])* pub $field: col_ty!($kind), )* }
        impl TableRow for $name {
            const TABLE: &'static str = $table;
            fn schema() -> SchemaRef {
                Arc::new(Schema::new(vec![ $( col_field!(stringify!($field), $kind) ),* ]))
            }
            fn to_batch(rows: &[Self]) -> RecordBatch {
                let columns: Vec<ArrayRef> = vec![ $( col_array!(rows, $field, $kind) ),* ];
                RecordBatch::try_new(Self::schema(), columns).expect("columns match the schema")
            }
            fn date_ms(&self) -> i64 { ($date)(self) }
        }
    };
}

table! {
    /// brand_metrics_minute: one row per (brand_id, window_start) with any data.
    BrandMinuteRow = "brand_metrics_minute", date: |r: &BrandMinuteRow| r.window_start, {
        /// Brand.
        brand_id: str,
        /// Window start (UTC minute).
        window_start: ts,
        /// Mentions counted.
        mentions: u64,
        /// Mentions with sentiment ≥ 0.05.
        mentions_positive: u64,
        /// Mentions with sentiment ≤ −0.05.
        mentions_negative: u64,
        /// Scored mentions in between.
        mentions_neutral: u64,
        /// Mentions without a score.
        mentions_unscored: u64,
        /// Sum of scored mention sentiment.
        sentiment_sum: f64,
        /// Count of scored mentions.
        sentiment_count: u64,
        /// Sum of mention reach.
        reach_sum: u64,
        /// Ad comments on the brand's ads.
        ad_comments: u64,
        /// Negative ad comments.
        ad_comments_negative: u64,
        /// Risky ad comments.
        ad_comments_risky: u64,
        /// Cases opened in the window.
        cases_opened: u64,
        /// Cases whose first response is in the window.
        first_responses: u64,
        /// Of those, FRT ≤ target.
        responses_within_sla: u64,
        /// Of those, FRT > target.
        responses_late: u64,
        /// Sum of their FRT.
        frt_sum_seconds: f64,
        /// Nearest-rank median FRT.
        frt_p50_seconds: opt_f64,
        /// Nearest-rank 90th percentile FRT.
        frt_p90_seconds: opt_f64,
        /// First responses to cases whose source is a mention.
        mentions_answered: u64,
        /// First responses to cases whose source is an ad comment.
        ad_comments_answered: u64,
        /// Cases whose first `resolved` is in the window.
        cases_resolved: u64,
        /// Sum of their time since opened.
        resolution_sum_seconds: f64,
    }
}

table! {
    /// ad_metrics_minute: one row per (ad_id, window_start) with comments.
    AdMinuteRow = "ad_metrics_minute", date: |r: &AdMinuteRow| r.window_start, {
        /// Ad.
        ad_id: str,
        /// Window start (UTC minute).
        window_start: ts,
        /// The ad's brand.
        brand_id: str,
        /// The ad's campaign.
        campaign_id: opt_str,
        /// Comments counted.
        comments: u64,
        /// Negative comments.
        comments_negative: u64,
        /// Risky comments.
        comments_risky: u64,
        /// Comments without a score.
        comments_unscored: u64,
        /// Sum of scored sentiment.
        sentiment_sum: f64,
        /// Count of scored comments.
        sentiment_count: u64,
    }
}

table! {
    /// care_cases: one row per case.
    CareCaseRow = "care_cases", date: |r: &CareCaseRow| r.opened_at.or(r.first_response_at).or(r.resolved_at).unwrap_or(0), {
        /// Case.
        case_id: str,
        /// Brand.
        brand_id: str,
        /// Channel.
        channel: opt_str,
        /// Priority.
        priority: str,
        /// Earliest `opened`.
        opened_at: opt_ts,
        /// Earliest `agent_response`.
        first_response_at: opt_ts,
        /// First-response time.
        frt_seconds: opt_f64,
        /// SLA target of the brand for the priority.
        sla_target_seconds: f64,
        /// `pending`, `met`, `breached` or `breached_unanswered`.
        sla_status: str,
        /// Earliest `resolved`.
        resolved_at: opt_ts,
        /// Number of `reopened` events.
        reopen_count: u32,
        /// The mention or comment that started the case.
        source_event_id: opt_str,
        /// `mention`, `ad_comment` or null.
        source_kind: opt_str,
    }
}

table! {
    /// alerts: one row per ad-comment crisis.
    AlertRow = "alerts", date: |r: &AlertRow| r.window_start, {
        /// Deterministic id: `crisis-<ad_id>-<YYYYMMDDTHHMM>`.
        alert_id: str,
        /// Brand.
        brand_id: str,
        /// Ad.
        ad_id: str,
        /// `ad_comment_crisis`.
        kind: str,
        /// The opening bucket.
        window_start: ts,
        /// ts of the triggering comment.
        opened_at: ts,
        /// Wall clock of detection.
        detected_at: ts,
        /// The bucket in which it resolved.
        resolved_window: opt_ts,
        /// Comments in the window at opening.
        comments: u64,
        /// Negative share at opening.
        neg_share: f64,
        /// Risky share at opening.
        risk_share: f64,
        /// `pause_all_publishing` or null.
        action: opt_str,
        /// `sent`, `failed`, `dry_run`, `disabled`, `skipped_already_paused`.
        action_status: str,
        /// Delivery attempts.
        attempts: u32,
        /// From triggering comment read to request sent.
        action_latency_ms: opt_f64,
    }
}

table! {
    /// dead_letter: every rejected record.
    DeadLetterRow = "dead_letter", date: dead_letter_date, {
        /// Topic.
        topic: str,
        /// File path, or `topic/partition`.
        source: str,
        /// Partition.
        partition: i32,
        /// Offset (1-based line for files).
        offset: i64,
        /// Stable reason code.
        reason: str,
        /// Human-readable detail.
        detail: str,
        /// The raw bytes, truncated to 64 KiB.
        raw: bin,
        /// Wall clock when rejected.
        recorded_at: ts,
    }
}

table! {
    /// brand_status: per brand, live.
    BrandStatusRow = "brand_status", date: |r: &BrandStatusRow| r.watermark.unwrap_or(0), {
        /// Brand.
        brand_id: str,
        /// Cases not closed.
        open_cases: u64,
        /// Cases `breached_unanswered`.
        open_breaches: u64,
        /// Crises open.
        active_crises: u64,
        /// Whether publishing is paused.
        publishing_paused: bool,
        /// Since when.
        paused_since: opt_ts,
        /// The watermark.
        watermark: opt_ts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_follow_their_schema() {
        let row = AdMinuteRow {
            ad_id: "ad-1".into(),
            window_start: 60_000,
            brand_id: "acme".into(),
            campaign_id: None,
            comments: 2,
            comments_negative: 1,
            comments_risky: 0,
            comments_unscored: 0,
            sentiment_sum: -0.5,
            sentiment_count: 2,
        };
        let batch = AdMinuteRow::to_batch(&[row.clone(), row]);
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema().field(1).name(), "window_start");
        assert_eq!(batch.column(3).null_count(), 2);
    }
}

/// The date partition of a dead letter: the record's own event time when its raw bytes are a
/// JSON object with a valid `ts` (a late record, an ad comment whose ad never came, a
/// duplicate), else 1970-01-01 (no usable event time). Never the wall clock: a re-run of the same
/// input writes the same partitions.
pub fn dead_letter_date(r: &DeadLetterRow) -> i64 {
    #[derive(serde::Deserialize)]
    struct Ts {
        ts: Option<crate::time::EventTime>,
    }
    serde_json::from_slice::<Ts>(&r.raw).ok().and_then(|t| t.ts).map_or(0, |t| t.0)
}
