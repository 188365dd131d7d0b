//! The kill-switch outbox: one durable record per action, so that an action is delivered once
//! per alert across restarts (SPEC §6, §9).
//!
//! Protocol: before the first request of an action its record is committed in phase `sending`
//! (fsynced, redb's `Durability::Immediate`); after the receiver's 2xx it is committed as
//! `acked`, after a permanent failure or the deadline as `failed`. On start every `sending`
//! record is delivered again with the same body and `Idempotency-Key` (the receiver dedupes),
//! `acked` and `failed` ones never. A crash between the receiver's answer and the `acked` commit
//! is the one case where the receiver sees a request twice — with the same key.
//!
//! The Kafka control topic's copy follows the same rule: it is published after the `sending`
//! commit and marked delivered once the broker acknowledged it; a record whose copy is not
//! marked is published again on start (same key, same bytes).

use anyhow::Context;
use redb::{Database, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Records by idempotency key, as JSON.
const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("actions");

/// Where an action's delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Intent recorded; requests may have left, no 2xx yet.
    Sending,
    /// The receiver answered 2xx.
    Acked,
    /// Permanent failure (4xx other than 408/429) or deadline exceeded.
    Failed,
}

/// One action and its delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Idempotency key: the alert id for a pause, `resume-<brand>-<ms>` for a resume.
    pub key: String,
    /// `pause_all_publishing` or `resume_publishing`.
    pub action: String,
    /// Brand.
    pub brand_id: String,
    /// The JSON body, exactly as sent (a re-delivery sends the same bytes).
    pub body: String,
    /// Delivery phase.
    pub phase: Phase,
    /// Requests sent so far (across restarts).
    pub attempts: u32,
    /// HTTP status of the last answer, if any.
    pub last_status: Option<u16>,
    /// Why the last attempt failed (network error text, status line), if it did.
    pub error: Option<String>,
    /// Triggering comment read → first request leaving, ms (unknown after a restart).
    pub latency_ms: Option<f64>,
    /// Wall clock of the last change, epoch ms.
    pub updated_at: i64,
    /// The Kafka control topic's copy: `None` when the action has none (no Kafka), `Some(false)`
    /// until the broker acknowledged it (published again on the next start), `Some(true)` after.
    #[serde(default)]
    pub control_delivered: Option<bool>,
}

/// The outbox file (`<state_dir>/outbox.redb`).
pub struct Outbox {
    db: Database,
}

impl Outbox {
    /// Opens (or creates) the outbox at `path`.
    ///
    /// # Errors
    /// The file cannot be created or is not a redb database (or another process holds it).
    pub fn open(path: &Path) -> anyhow::Result<Outbox> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let db =
            Database::create(path).with_context(|| format!("opening the kill-switch outbox {}", path.display()))?;
        let tx = db.begin_write()?;
        tx.open_table(TABLE)?;
        tx.commit()?;
        Ok(Outbox { db })
    }

    /// Every record.
    ///
    /// # Errors
    /// The database cannot be read.
    pub fn load(&self) -> anyhow::Result<Vec<Record>> {
        let tx = self.db.begin_read()?;
        let table = tx.open_table(TABLE)?;
        let mut out = Vec::new();
        for item in table.iter()? {
            let (k, v) = item?;
            let r: Record = serde_json::from_slice(v.value())
                .with_context(|| format!("outbox record {} is not valid", crate::ids::for_log(k.value())))?;
            out.push(r);
        }
        Ok(out)
    }

    /// Durably stores `record` (replacing the one with its key).
    ///
    /// # Errors
    /// The write or its fsync failed.
    pub fn put(&self, record: &Record) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(record)?;
        let tx = self.db.begin_write()?;
        {
            let mut table = tx.open_table(TABLE)?;
            table.insert(record.key.as_str(), bytes.as_slice())?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.redb");
        let r = Record {
            key: "crisis-ad-1-20261124T1011".into(),
            action: "pause_all_publishing".into(),
            brand_id: "acme".into(),
            body: "{}".into(),
            phase: Phase::Sending,
            attempts: 0,
            last_status: None,
            error: None,
            latency_ms: None,
            updated_at: 1,
            control_delivered: Some(false),
        };
        {
            let o = Outbox::open(&path).unwrap();
            o.put(&r).unwrap();
            o.put(&Record { phase: Phase::Acked, attempts: 1, ..r.clone() }).unwrap();
        }
        let o = Outbox::open(&path).unwrap();
        assert_eq!(o.load().unwrap(), vec![Record { phase: Phase::Acked, attempts: 1, ..r }]);
    }
}
