//! The output tables of a job's worker: the one [`Sinks`] set through which every mode (`replay`,
//! `demo`, `run`) writes Parquet, ClickHouse, the dashboard's live state, the Kafka outputs and
//! the kill switch's actions.
//!
//! The commit policy ([`Commit`]) is the only difference between the modes: replay writes rows
//! as their epochs complete; `run` holds them by epoch and writes those a checkpoint covers, with
//! the checkpoint ([`Tables::write`]), so that a restart from it writes each final row once.

use crate::actions::Actions;
use crate::live::{Kept, Live};
use crate::sinks::clickhouse::format::version;
use crate::sinks::clickhouse::Buffers;
use crate::sinks::kafka::KafkaOutputs;
use crate::sinks::parquet::ParquetTable;
use crate::sources::files::FileSpec;
use crate::sources::kafka::PartitionId;
use crate::summary::Summary;
use operators::driver::Sinks;
use operators::{Epoch, Pos, Rejected};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, DeadLetterRow, Event, TableRow};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Raw bytes kept in a dead-letter row.
const MAX_RAW_BYTES: usize = 64 * 1024;

/// When rows reach Parquet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// As their epochs complete (replay: the input is read again from the start after a
    /// failure).
    AsComplete,
    /// Held by epoch until a checkpoint covers them ([`Tables::write`]; `run`).
    AtCheckpoint,
}

/// Where the job's input partitions are, by partition number (a dead letter names its record).
#[derive(Debug, Clone)]
pub enum Origin {
    /// Input files.
    Files(Vec<FileSpec>),
    /// Kafka partitions.
    Kafka(Vec<PartitionId>),
}

impl Origin {
    fn dead_letter(&self, r: Rejected) -> DeadLetterRow {
        let (topic, source, partition) = match self {
            Origin::Files(files) => {
                let spec = &files[r.pos.partition as usize];
                (spec.topic, spec.path.display().to_string(), r.pos.partition as i32)
            }
            Origin::Kafka(parts) => {
                let p = &parts[r.pos.partition as usize];
                (p.topic, format!("kafka:{}", p.kafka_topic), p.partition)
            }
        };
        let raw = r.raw;
        DeadLetterRow {
            topic: topic.name().to_string(),
            source,
            partition,
            offset: r.pos.offset as i64,
            reason: r.reason,
            detail: r.detail,
            raw: raw[..raw.len().min(MAX_RAW_BYTES)].to_vec(),
            recorded_at: operators::system_clock(),
        }
    }
}

/// The rows of one table: written as epochs complete, or held by epoch until a checkpoint.
struct Held<R: TableRow> {
    /// `None`: this table is not written (`run` without `run.parquet_dir`).
    table: Option<ParquetTable<R>>,
    by_epoch: BTreeMap<Epoch, Vec<R>>,
    commit: Commit,
}

impl<R: TableRow> Held<R> {
    fn push(&mut self, epoch: Epoch, rows: Vec<R>) -> anyhow::Result<()> {
        let Some(t) = self.table.as_mut() else { return Ok(()) };
        match self.commit {
            Commit::AsComplete => t.push(rows),
            Commit::AtCheckpoint => {
                self.by_epoch.entry(epoch).or_default().extend(rows);
                Ok(())
            }
        }
    }
    /// Writes the rows of epochs `<= upto` (all with `None`).
    fn write(&mut self, upto: Option<Epoch>) -> anyhow::Result<()> {
        let Some(t) = self.table.as_mut() else { return Ok(()) };
        let rest = match upto {
            Some(e) => self.by_epoch.split_off(&(e + 1)),
            None => BTreeMap::new(),
        };
        for (_, rows) in std::mem::replace(&mut self.by_epoch, rest) {
            t.push_unflushed(rows);
        }
        t.flush()
    }
    fn seq(&self) -> u64 {
        self.table.as_ref().map_or(0, |t| t.seq())
    }
    fn written(&self) -> u64 {
        self.table.as_ref().map_or(0, |t| t.written())
    }
}

/// What a worker's [`Tables`] write to besides Parquet.
pub struct Outputs {
    /// This worker's ClickHouse buffers, when the sink is configured.
    pub ch: Option<Buffers>,
    /// ClickHouse takes live changes too (`clickhouse.live`).
    pub ch_live: bool,
    /// The dashboard's live state, when served.
    pub live: Option<Arc<Live>>,
    /// Kill-switch actions, when they are sent (`run`, `--fire-actions`, `--serve`).
    pub actions: Option<Actions>,
    /// The Kafka outputs (dead letters, alerts), under `run`.
    pub kafka: Option<Arc<KafkaOutputs>>,
    /// Resumes through the API enter the brand state as each epoch starts (`run`; a `--serve`
    /// replay hands them over from its source once its files are read).
    pub resumes: bool,
    /// An output error ends the worker's loop (`run`); off, the input is read to its end and
    /// the first error reported then (replay, so that no worker leaves its peers waiting).
    pub stop_on_error: bool,
}

/// The output tables of one worker.
pub struct Tables {
    brand: Held<BrandMinuteRow>,
    ad: Held<AdMinuteRow>,
    cases: Held<CareCaseRow>,
    alerts: Held<AlertRow>,
    status: Held<BrandStatusRow>,
    dead: Held<DeadLetterRow>,
    out: Outputs,
    origin: Origin,
    /// The summary's row figures (the counts come from the driver).
    pub summary: Summary,
    /// The first output error.
    pub error: Option<anyhow::Error>,
}

impl Tables {
    /// The tables of `worker` under `dir` (`None`: no Parquet), numbering each table's files
    /// from `seqs` (a restored checkpoint's, removing files written after it; empty: from 0).
    ///
    /// # Errors
    /// A table directory cannot be listed or cleaned.
    pub fn open(
        dir: Option<&Path>,
        worker: usize,
        seqs: Option<&BTreeMap<String, u64>>,
        commit: Commit,
        origin: Origin,
        out: Outputs,
    ) -> anyhow::Result<Tables> {
        fn table<R: TableRow>(
            dir: Option<&Path>,
            worker: usize,
            seqs: Option<&BTreeMap<String, u64>>,
            commit: Commit,
        ) -> anyhow::Result<Held<R>> {
            let table = match (dir, seqs) {
                (None, _) => None,
                (Some(d), None) => Some(ParquetTable::new(d, worker)),
                (Some(d), Some(s)) => Some(ParquetTable::resume(d, worker, s.get(R::TABLE).copied().unwrap_or(0))?),
            };
            Ok(Held { table, by_epoch: BTreeMap::new(), commit })
        }
        Ok(Tables {
            brand: table(dir, worker, seqs, commit)?,
            ad: table(dir, worker, seqs, commit)?,
            cases: table(dir, worker, seqs, commit)?,
            alerts: table(dir, worker, seqs, commit)?,
            status: table(dir, worker, seqs, commit)?,
            dead: table(dir, worker, seqs, commit)?,
            out,
            origin,
            summary: Summary::default(),
            error: None,
        })
    }

    /// Writes the held rows of epochs `<= upto` (all with `None`) and waits until ClickHouse and
    /// the Kafka outputs have everything handed to them so far (a checkpoint covers them).
    ///
    /// # Errors
    /// A write failed.
    pub fn write(&mut self, upto: Option<Epoch>) -> anyhow::Result<()> {
        self.brand.write(upto)?;
        self.ad.write(upto)?;
        self.cases.write(upto)?;
        self.alerts.write(upto)?;
        self.status.write(upto)?;
        self.dead.write(upto)?;
        if let Some(k) = &self.out.kafka {
            k.flush(std::time::Duration::from_secs(30))?;
        }
        if let Some(ch) = self.out.ch.as_mut() {
            ch.wait_written()?;
        }
        Ok(())
    }

    /// The next Parquet file number of each table (saved in checkpoints).
    pub fn seqs(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            (BrandMinuteRow::TABLE.to_string(), self.brand.seq()),
            (AdMinuteRow::TABLE.to_string(), self.ad.seq()),
            (CareCaseRow::TABLE.to_string(), self.cases.seq()),
            (AlertRow::TABLE.to_string(), self.alerts.seq()),
            (BrandStatusRow::TABLE.to_string(), self.status.seq()),
            (DeadLetterRow::TABLE.to_string(), self.dead.seq()),
        ])
    }

    /// Hands rows to the dashboard's live state and to ClickHouse (when configured; blocks
    /// while its queue is full). Versions make a row sent again after a restart change nothing
    /// (`sinks::clickhouse`), and keep the live state's newest value.
    fn send_rows<T: TableRow + Kept>(&mut self, rows: &[T], version: u64) {
        if let Some(live) = &self.out.live {
            live.keep(rows, version);
        }
        if let Some(ch) = self.out.ch.as_mut() {
            if let Err(e) = ch.push(rows, version) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Hands live changes to the dashboard's live state, and to ClickHouse when it asks for
    /// them (`clickhouse.live`): current values that a later live value or the final row
    /// replaces.
    fn send_live_rows<T: TableRow + Kept>(&mut self, rows: &[T], version: u64) {
        if let Some(live) = &self.out.live {
            live.keep(rows, version);
        }
        if !self.out.ch_live {
            return;
        }
        if let Some(ch) = self.out.ch.as_mut() {
            if let Err(e) = ch.push(rows, version) {
                self.error.get_or_insert(e);
            }
        }
    }

    fn check<T>(&mut self, r: anyhow::Result<T>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

impl Sinks for Tables {
    fn brand_minutes(&mut self, epoch: Epoch, rows: Vec<BrandMinuteRow>) {
        self.summary.add_brand_minutes(&rows);
        self.send_rows(&rows, version(epoch, true));
        let r = self.brand.push(epoch, rows);
        self.check(r)
    }

    fn ad_minutes(&mut self, epoch: Epoch, rows: Vec<AdMinuteRow>) {
        self.send_rows(&rows, version(epoch, true));
        let r = self.ad.push(epoch, rows);
        self.check(r)
    }

    fn care_cases(&mut self, epoch: Epoch, rows: Vec<CareCaseRow>) {
        self.summary.add_cases(&rows);
        self.send_rows(&rows, version(epoch, true));
        let r = self.cases.push(epoch, rows);
        self.check(r)
    }

    /// Kill-switch actions as alerts open (SPEC §6).
    fn alerts_opened(&mut self, epoch: Epoch, rows: Vec<AlertRow>) {
        for a in &rows {
            match &self.out.actions {
                Some(x) => {
                    tracing::warn!(alert_id = %crate::ids::for_log(&a.alert_id), brand_id = %crate::ids::for_log(&a.brand_id), ad_id = %crate::ids::for_log(&a.ad_id), comments = a.comments, neg_share = a.neg_share, risk_share = a.risk_share, action = ?a.action, status = %a.action_status, "ad-comment crisis opened");
                    // When this epoch's records were read (noted by the source).
                    x.on_alert_opened(a, x.read_at(epoch));
                }
                None => tracing::warn!(alert_id = %crate::ids::for_log(&a.alert_id), brand_id = %crate::ids::for_log(&a.brand_id), ad_id = %crate::ids::for_log(&a.ad_id), comments = a.comments, neg_share = a.neg_share, risk_share = a.risk_share, action = ?a.action, status = %a.action_status, "ad-comment crisis opened; replay is history: no action sent (--fire-actions sends them)"),
            }
            if let Some(k) = &self.out.kafka {
                k.alert(a);
            }
        }
        self.send_rows(&rows, version(epoch, false));
        self.summary.alerts_opened += rows.len() as u64;
    }

    fn alerts(&mut self, epoch: Epoch, mut rows: Vec<AlertRow>) {
        if let Some(x) = &self.out.actions {
            for r in rows.iter_mut() {
                x.annotate_final(r);
            }
        }
        if let Some(k) = &self.out.kafka {
            for a in &rows {
                k.alert(a);
            }
        }
        self.summary.add_alerts(&rows);
        self.send_rows(&rows, version(epoch, true));
        let r = self.alerts.push(epoch, rows);
        self.check(r)
    }

    fn brand_status(&mut self, epoch: Epoch, rows: Vec<BrandStatusRow>) {
        self.send_rows(&rows, version(epoch, true));
        let r = self.status.push(epoch, rows);
        self.check(r)
    }

    fn dead_letters(&mut self, epoch: Epoch, rows: Vec<Rejected>) {
        let rows: Vec<DeadLetterRow> = rows.into_iter().map(|r| self.origin.dead_letter(r)).collect();
        if let Some(k) = &self.out.kafka {
            for d in &rows {
                k.dead_letter(d);
            }
        }
        self.send_rows(&rows, version(0, true));
        let r = self.dead.push(epoch, rows);
        self.check(r)
    }

    fn live_brand_minutes(&mut self, epoch: Epoch, rows: Vec<BrandMinuteRow>) {
        self.send_live_rows(&rows, version(epoch, false))
    }

    fn live_ad_minutes(&mut self, epoch: Epoch, rows: Vec<AdMinuteRow>) {
        self.send_live_rows(&rows, version(epoch, false))
    }

    fn live_care_cases(&mut self, epoch: Epoch, rows: Vec<CareCaseRow>) {
        self.send_live_rows(&rows, version(epoch, false))
    }

    fn live_brand_status(&mut self, epoch: Epoch, rows: Vec<BrandStatusRow>) {
        self.send_live_rows(&rows, version(epoch, false))
    }

    fn auto_resumed(&mut self, _epoch: Epoch, brands: Vec<String>) {
        for b in &brands {
            match &self.out.actions {
                Some(x) => x.on_auto_resume(b),
                None => tracing::info!(brand_id = %crate::ids::for_log(b), "publishing auto-resumed (no crisis active); no action sent"),
            }
        }
    }

    fn dimension(&mut self, pos: Pos, event: &Event) {
        match event {
            Event::Brand(b) => {
                if let Some(x) = &self.out.actions {
                    x.note_brand(b);
                }
            }
            Event::Ad(a) => {
                if let Some(l) = &self.out.live {
                    l.ad(&a.ad_id, a.info.as_ref().map(|i| (i.brand_id.as_str(), i.spend_per_hour)));
                }
                if let Some(ch) = self.out.ch.as_mut() {
                    // Latest wins in position order within the ad's partition.
                    let r = ch.push_ad(a, pos.offset);
                    self.check(r);
                }
            }
            _ => {}
        }
    }

    fn take_resumes(&mut self) -> Vec<String> {
        match (&self.out.actions, self.out.resumes) {
            (Some(x), true) => x.take_resumes().into_iter().map(|(brand_id, _)| brand_id).collect(),
            _ => Vec::new(),
        }
    }

    fn epoch_read(&mut self, _epoch: Epoch) -> anyhow::Result<()> {
        if let Some(ch) = self.out.ch.as_mut() {
            let r = ch.flush_aged();
            self.check(r);
        }
        Ok(())
    }

    fn take_error(&mut self) -> Option<anyhow::Error> {
        if self.out.stop_on_error {
            self.error.take()
        } else {
            None
        }
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        for held in [
            self.brand.write(None),
            self.ad.write(None),
            self.cases.write(None),
            self.alerts.write(None),
            self.status.write(None),
            self.dead.write(None),
        ] {
            self.check(held);
        }
        if let Some(mut ch) = self.out.ch.take() {
            let r = ch.flush();
            self.check(r);
        }
        self.summary.rows_brand_minutes = self.brand.written();
        self.summary.rows_ad_minutes = self.ad.written();
        self.summary.rows_cases = self.cases.written();
        self.summary.rows_alerts = self.alerts.written();
        self.summary.rows_dead = self.dead.written();
        Ok(())
    }
}
