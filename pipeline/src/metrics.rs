//! Process-wide counters of the job, rendered in the Prometheus text format (`brandpulse_` prefix).
//!
//! Counters are plain atomics so hot paths pay one relaxed add; labels are fixed (topics,
//! outputs), never ids.

use std::fmt::Write;
use operators::driver::{Counters, Counts};
use operators::Gauges;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Kafka consumer errors (transient; librdkafka retries).
pub static KAFKA_CONSUMER_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Records read from Kafka.
pub static KAFKA_RECORDS_READ: AtomicU64 = AtomicU64::new(0);
/// Kafka output messages delivered, by output (dlq, alerts, control).
pub static KAFKA_DELIVERED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
/// Kafka output messages that failed delivery after librdkafka's retries, by output.
pub static KAFKA_DELIVERY_FAILED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
/// Sends retried because the producer queue was full, by output.
pub static KAFKA_SEND_RETRIED: [AtomicU64; 3] = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
/// Checkpoints committed.
pub static CHECKPOINTS: AtomicU64 = AtomicU64::new(0);

/// The running job's counts (records read, late, duplicates, dead letters by reason: kept once,
/// by the driver's workers) and gauges (the watermark), as [`set_job`] registered them.
static JOB: std::sync::Mutex<Option<(Arc<Gauges>, Arc<Counters>)>> = std::sync::Mutex::new(None);

/// Makes `/metrics` report the counts and gauges of the job about to run, and the mention
/// counts of its scorer: the same figures its summary reports.
pub fn set_job(params: &operators::Params, counters: &Arc<Counters>) {
    set_scorer(&params.scorer);
    *JOB.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((params.gauges.clone(), counters.clone()));
}

/// The scorer of the running job, whose counts `brandpulse_mentions_scored_total{lang}` and
/// `brandpulse_mentions_unscored_total{lang}` render ([`set_scorer`]).
static SCORER: std::sync::Mutex<Option<operators::sentiment::Scorer>> = std::sync::Mutex::new(None);

/// Makes `/metrics` report the mention counts of `scorer` (the job's, shared by its workers).
pub fn set_scorer(scorer: &operators::sentiment::Scorer) {
    *SCORER.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(scorer.clone());
}

/// The Kafka output names, in the order of the per-output arrays.
pub const OUTPUTS: [&str; 3] = ["dlq", "alerts", "control"];

/// Renders every counter.
pub fn render() -> String {
    let mut s = String::new();
    let mut one = |name: &str, help: &str, kind: &str, v: u64| {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}");
    };
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    one("brandpulse_kafka_records_read_total", "Records read from Kafka.", "counter", g(&KAFKA_RECORDS_READ));
    one(
        "brandpulse_kafka_consumer_errors_total",
        "Transient Kafka consumer errors.",
        "counter",
        g(&KAFKA_CONSUMER_ERRORS),
    );
    let (counts, pauses, watermark_ms) = match &*JOB.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
        Some((gauges, counters)) => {
            (counters.snapshot(), counters.backpressure_pauses(), gauges.watermark_ms.load(Ordering::Relaxed))
        }
        None => (Counts::default(), 0, 0),
    };
    one("brandpulse_records_read_total", "Input records read (lines, Kafka records).", "counter", counts.records_read);
    one("brandpulse_late_events_total", "Late events (dead-lettered).", "counter", counts.late);
    one("brandpulse_duplicate_events_total", "Dropped duplicate events.", "counter", counts.duplicates);
    one("brandpulse_checkpoints_total", "Checkpoints committed.", "counter", g(&CHECKPOINTS));
    one("brandpulse_backpressure_pauses_total", "Source pauses for backpressure.", "counter", pauses);
    let _ = writeln!(
        s,
        "# HELP brandpulse_dead_letters_total Dead-lettered records, by reason.\n# TYPE brandpulse_dead_letters_total counter"
    );
    for (reason, n) in &counts.dead_letters {
        let _ = writeln!(s, "brandpulse_dead_letters_total{{reason=\"{}\"}} {n}", label_value(reason));
    }
    for (name, arr, help) in [
        ("brandpulse_kafka_delivered_total", &KAFKA_DELIVERED, "Kafka output messages delivered."),
        (
            "brandpulse_kafka_delivery_failed_total",
            &KAFKA_DELIVERY_FAILED,
            "Kafka output messages that failed delivery.",
        ),
        ("brandpulse_kafka_send_retried_total", &KAFKA_SEND_RETRIED, "Kafka sends retried on a full queue."),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
        for (i, o) in OUTPUTS.iter().enumerate() {
            let _ = writeln!(s, "{name}{{output=\"{o}\"}} {}", arr[i].load(Ordering::Relaxed));
        }
    }
    let _ = writeln!(
        s,
        "# HELP brandpulse_watermark_seconds The global event-time watermark.\n# TYPE brandpulse_watermark_seconds gauge\nbrandpulse_watermark_seconds {}",
        watermark_ms as f64 / 1000.0
    );
    let langs = SCORER
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .as_ref()
        .map(|sc| sc.counts().snapshot())
        .unwrap_or_default();
    for (name, help, scored) in [
        ("brandpulse_mentions_scored_total", "Mentions with a sentiment (upstream or scored here), by language.", true),
        ("brandpulse_mentions_unscored_total", "Mentions left unscored (no scorer for their language), by language.", false),
    ] {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter");
        for &(lang, sc, un) in &langs {
            let _ = writeln!(s, "{name}{{lang=\"{lang}\"}} {}", if scored { sc } else { un });
        }
    }
    crate::actions::render_metrics(&mut s);
    s
}

/// `v` as a label value of the text format (backslash, quote and newline escaped).
fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_rendered_by_language() {
        let scorer = operators::sentiment::Scorer::builtin();
        set_scorer(&scorer);
        scorer.score_mention("Le service est génial", None, None);
        scorer.score_mention("Das ist super", Some("de-AT"), None);
        scorer.score_mention("Pésimo servicio", Some("es"), None);
        scorer.score_mention("whatever", None, Some(0.5));
        let text = render();
        for line in [
            "brandpulse_mentions_scored_total{lang=\"fr\"} 1",
            "brandpulse_mentions_scored_total{lang=\"de\"} 1",
            "brandpulse_mentions_scored_total{lang=\"es\"} 0",
            "brandpulse_mentions_unscored_total{lang=\"es\"} 1",
            "brandpulse_mentions_scored_total{lang=\"upstream\"} 1",
            "# TYPE brandpulse_mentions_scored_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
