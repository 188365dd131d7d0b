//! Kafka outputs: dead letters, alerts and kill-switch actions (SPEC §6–§7), JSON values.
//!
//! Protocol: one JSON object per message, produced through librdkafka with the pass-through
//! client settings of `[kafka]`. Keys: dead letters by `<topic>/<partition>/<offset>` of the
//! rejected record, alerts by `alert_id` (an alert is published when it opens and again when it
//! is final: a compacted topic keeps the latest), actions by `brand_id` (SPEC §6). A key is the
//! id's UTF-8 bytes as they are (a Kafka key is bytes: nothing to escape, nothing can fail;
//! docs/semantics.md, "Ids").
//! Delivery: librdkafka retries transient errors (`message.send.max.retries`); a full local queue
//! makes `send` wait and retry (counted in `brandpulse_kafka_send_retried_total`); a message that
//! still fails is counted in `brandpulse_kafka_delivery_failed_total{output}` and logged.
//! Guarantee: at least once — after a crash, outputs since the last checkpoint are produced again
//! with the same keys. Not supported: transactions.

use crate::metrics;
use crate::sources::kafka::config::KafkaConfig;
use anyhow::Context;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::ClientContext;
use schemas::{AlertRow, DeadLetterRow};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Which output a message belongs to (index into the per-output metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// Dead letters.
    Dlq = 0,
    /// Alerts.
    Alerts = 1,
    /// Kill-switch actions.
    Control = 2,
}

/// Counts deliveries per output and answers those who wait for one (kill-switch actions).
pub struct Deliveries;

/// A message's output, and who waits for its delivery.
pub struct Opaque {
    output: Output,
    done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = Box<Opaque>;
    fn delivery(&self, result: &DeliveryResult<'_>, opaque: Self::DeliveryOpaque) {
        let i = opaque.output as usize;
        let outcome = match result {
            Ok(_) => {
                metrics::KAFKA_DELIVERED[i].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err((e, _)) => {
                metrics::KAFKA_DELIVERY_FAILED[i].fetch_add(1, Ordering::Relaxed);
                tracing::error!(output = metrics::OUTPUTS[i], error = %e, "Kafka output message failed delivery");
                Err(e.to_string())
            }
        };
        if let Some(done) = opaque.done {
            let _ = done.send(outcome);
        }
    }
}

/// The job's Kafka producer and output topics. Cheap to share (`Arc`) across workers.
pub struct KafkaOutputs {
    producer: ThreadedProducer<Deliveries>,
    dlq: String,
    alerts: String,
    control: String,
}

/// A dead letter as published on the DLQ topic: the row's columns, `raw` as UTF-8 text when it
/// is valid UTF-8 (`raw_base64` otherwise).
#[derive(serde::Serialize)]
struct DlqMessage<'a> {
    topic: &'a str,
    source: &'a str,
    partition: i32,
    offset: i64,
    reason: &'a str,
    detail: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
    recorded_at: String,
}

impl KafkaOutputs {
    /// Creates the producer.
    ///
    /// # Errors
    /// Bad client settings.
    pub fn new(cfg: &KafkaConfig) -> anyhow::Result<KafkaOutputs> {
        let producer: ThreadedProducer<Deliveries> = cfg
            .client_config()?
            .set("linger.ms", "5")
            .set("message.timeout.ms", "120000")
            .create_with_context(Deliveries)
            .context("creating the Kafka producer")?;
        Ok(KafkaOutputs {
            producer,
            dlq: cfg.topics.dlq.clone(),
            alerts: cfg.topics.alerts.clone(),
            control: cfg.topics.control.clone(),
        })
    }

    fn send(
        &self,
        output: Output,
        key: &str,
        value: &[u8],
        done: Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
    ) {
        let topic = match output {
            Output::Dlq => &self.dlq,
            Output::Alerts => &self.alerts,
            Output::Control => &self.control,
        };
        let mut record = BaseRecord::with_opaque_to(topic, Box::new(Opaque { output, done })).key(key).payload(value);
        loop {
            match self.producer.send(record) {
                Ok(()) => return,
                Err((e, r)) => {
                    if matches!(e.rdkafka_error_code(), Some(rdkafka::types::RDKafkaErrorCode::QueueFull)) {
                        metrics::KAFKA_SEND_RETRIED[output as usize].fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(2));
                        record = r;
                        continue;
                    }
                    metrics::KAFKA_DELIVERY_FAILED[output as usize].fetch_add(1, Ordering::Relaxed);
                    tracing::error!(output = metrics::OUTPUTS[output as usize], error = %e, "Kafka output message not sent");
                    if let Some(done) = r.delivery_opaque.done {
                        let _ = done.send(Err(e.to_string()));
                    }
                    return;
                }
            }
        }
    }

    /// Publishes a dead letter.
    pub fn dead_letter(&self, row: &DeadLetterRow) {
        let text = std::str::from_utf8(&row.raw).ok();
        let msg = DlqMessage {
            topic: &row.topic,
            source: &row.source,
            partition: row.partition,
            offset: row.offset,
            reason: &row.reason,
            detail: &row.detail,
            raw: text,
            raw_base64: text.is_none().then(|| base64_encode(&row.raw)),
            recorded_at: schemas::time::format_rfc3339(row.recorded_at),
        };
        let key = format!("{}/{}/{}", row.topic, row.partition, row.offset);
        match serde_json::to_vec(&msg) {
            Ok(v) => self.send(Output::Dlq, &key, &v, None),
            Err(e) => tracing::error!(error = %e, "encoding a dead letter"),
        }
    }

    /// Publishes an alert (as it opens, and when final).
    pub fn alert(&self, row: &AlertRow) {
        match serde_json::to_vec(row) {
            Ok(v) => self.send(Output::Alerts, &row.alert_id, &v, None),
            Err(e) => tracing::error!(error = %e, "encoding an alert"),
        }
    }

    /// Publishes a kill-switch action, keyed by brand; the receiver gets the broker's answer.
    pub fn control(&self, brand_id: &str, action_json: &[u8]) -> crate::actions::ControlDelivery {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Output::Control, brand_id, action_json, Some(tx));
        rx
    }

    /// Waits until every queued message is delivered or failed.
    ///
    /// # Errors
    /// Messages still queued after `timeout`.
    pub fn flush(&self, timeout: Duration) -> anyhow::Result<()> {
        self.producer.flush(timeout).map_err(|e| anyhow::anyhow!("flushing the Kafka outputs: {e}"))
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(super::base64_encode(i.as_bytes()), o);
        }
    }
}
