//! `brandpulse run`: the live job — Kafka in; Parquet, Kafka outputs (dead letters, alerts,
//! control) out; periodic checkpoints so a restart continues where the last checkpoint left off.
//!
//! Epochs: the first epoch reads the dimension topics (brands, ads) up to their end at start, so
//! facts of the backlog meet their dimension rows as replay does. The backlog of the fact topics
//! is then read in event-time epochs (catch-up, see `sources::kafka::catch_up`), so it gives
//! replay's results whatever order the partitions arrive in; after it, epochs are wall-clock
//! batches of `run.epoch_ms`. Each epoch, a worker reports its partitions' clocks for the
//! watermark; the operators process each epoch whole, in `(ts, partition, offset)` order.
//!
//! Delivery: Parquet rows are written at checkpoints (every `run.checkpoint_seconds`) together
//! with the operator state and the source offsets, so after a crash or `kill -9` the job resumes
//! from the last checkpoint and writes each final row exactly once. Kafka outputs are at least
//! once (keyed, see `sinks::kafka`). SIGINT/SIGTERM take a last checkpoint and exit.

use crate::checkpoint::{CheckpointStore, Restored, WorkerPart};
use crate::config::Config;
use crate::live::{Kept, Live};
use crate::metrics;
use crate::sinks::clickhouse::format::version;
use crate::sinks::clickhouse::{Buffers, ClickHouseSink};
use crate::sinks::kafka::KafkaOutputs;
use crate::sinks::parquet::ParquetTable;
use crate::sources::kafka::catch_up::{CatchUp, Ready};
use crate::sources::kafka::config::StartFrom;
use crate::sources::kafka::{self, Assigned, KafkaSource, PartitionCursor, PartitionId};
use crate::summary::Summary;
use operators::{Dim, Epoch, Fact, Inputs, Pos, WatermarkReport, NO_WATERMARK};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, DeadLetterRow, Event, TableRow};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

/// Records catch-up holds at most before it reads on in arrival order (see `lane_done`).
const MAX_HELD: usize = 500_000;

/// Raw bytes kept in a dead letter.
const MAX_RAW_BYTES: usize = 64 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunJob {
    /// Configuration.
    pub config: Config,
    /// Timely workers in this process.
    pub workers: usize,
    /// Stop when every partition reached the end it had at start, writing all state as final
    /// (the Kafka backlog as a bounded input, like replay).
    pub stop_at_end: bool,
}

/// Rows of one table, held by epoch until the checkpoint that covers them.
struct Held<R: TableRow> {
    by_epoch: BTreeMap<Epoch, Vec<R>>,
    table: Option<ParquetTable<R>>,
}

impl<R: TableRow> Held<R> {
    fn hold(&mut self, epoch: Epoch, rows: Vec<R>) {
        if self.table.is_some() {
            self.by_epoch.entry(epoch).or_default().extend(rows);
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
}

struct Tables {
    brand: Held<BrandMinuteRow>,
    ad: Held<AdMinuteRow>,
    cases: Held<CareCaseRow>,
    alerts: Held<AlertRow>,
    status: Held<BrandStatusRow>,
    dead: Held<DeadLetterRow>,
    /// This worker's ClickHouse buffers, when the sink is configured.
    ch: Option<Buffers>,
    /// The dashboard's live state.
    live: Option<Arc<Live>>,
    /// ClickHouse takes live changes too (`clickhouse.live`).
    ch_live: bool,
    summary: Summary,
    error: Option<anyhow::Error>,
}

impl Tables {
    fn open(out: Option<&std::path::Path>, worker: usize, seqs: &BTreeMap<String, u64>) -> anyhow::Result<Tables> {
        fn table<R: TableRow>(
            out: Option<&std::path::Path>,
            worker: usize,
            seqs: &BTreeMap<String, u64>,
        ) -> anyhow::Result<Held<R>> {
            let table = match out {
                None => None,
                Some(o) => Some(ParquetTable::resume(o, worker, seqs.get(R::TABLE).copied().unwrap_or(0))?),
            };
            Ok(Held { by_epoch: BTreeMap::new(), table })
        }
        Ok(Tables {
            brand: table(out, worker, seqs)?,
            ad: table(out, worker, seqs)?,
            cases: table(out, worker, seqs)?,
            alerts: table(out, worker, seqs)?,
            status: table(out, worker, seqs)?,
            dead: table(out, worker, seqs)?,
            ch: None,
            live: None,
            ch_live: false,
            summary: Summary::default(),
            error: None,
        })
    }
    fn write(&mut self, upto: Option<Epoch>) -> anyhow::Result<()> {
        self.brand.write(upto)?;
        self.ad.write(upto)?;
        self.cases.write(upto)?;
        self.alerts.write(upto)?;
        self.status.write(upto)?;
        self.dead.write(upto)
    }
    fn seqs(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            (BrandMinuteRow::TABLE.to_string(), self.brand.seq()),
            (AdMinuteRow::TABLE.to_string(), self.ad.seq()),
            (CareCaseRow::TABLE.to_string(), self.cases.seq()),
            (AlertRow::TABLE.to_string(), self.alerts.seq()),
            (BrandStatusRow::TABLE.to_string(), self.status.seq()),
            (DeadLetterRow::TABLE.to_string(), self.dead.seq()),
        ])
    }
    /// Hands live changes to the dashboard's live state, and to ClickHouse when it asks for
    /// them (`clickhouse.live`).
    fn send_live_rows<T: TableRow + Kept>(&mut self, rows: &[T], version: u64) {
        if let Some(live) = &self.live {
            live.keep(rows, version);
        }
        if !self.ch_live {
            return;
        }
        if let Some(ch) = self.ch.as_mut() {
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
    /// Hands rows to the dashboard's live state and to ClickHouse at once (when configured;
    /// blocks while its queue is full). Versions make a row sent again after a restart change
    /// nothing (`sinks::clickhouse`), and keep the live state's newest value.
    fn send_rows<T: TableRow + Kept>(&mut self, rows: &[T], version: u64) {
        if let Some(live) = &self.live {
            live.keep(rows, version);
        }
        if let Some(ch) = self.ch.as_mut() {
            if let Err(e) = ch.push(rows, version) {
                self.error.get_or_insert(e);
            }
        }
    }
}

fn dead_letter(p: &PartitionId, offset: i64, reason: String, detail: String, raw: &[u8]) -> DeadLetterRow {
    DeadLetterRow {
        topic: p.topic.name().to_string(),
        source: format!("kafka:{}", p.kafka_topic),
        partition: p.partition,
        offset,
        reason,
        detail,
        raw: raw[..raw.len().min(MAX_RAW_BYTES)].to_vec(),
        recorded_at: operators::system_clock(),
    }
}

/// Set by SIGINT/SIGTERM: take a last checkpoint and exit.
static STOP: AtomicBool = AtomicBool::new(false);
/// The epoch of the last checkpoint requested after a stop signal (0: none yet).
static FINAL_EPOCH: AtomicU64 = AtomicU64::new(0);

/// Runs the live job. With `stop_at_end` it returns the summary when the backlog is done;
/// otherwise it runs until SIGINT/SIGTERM, then checkpoints and exits the process.
///
/// # Errors
/// Configuration, the broker, the state directory or an output failed.
pub fn run(job: RunJob) -> anyhow::Result<Summary> {
    let config = job.config.clone();
    let mut params = config.params()?;
    // The dashboard shows windows as they fill, not only once final.
    params.live = true;
    let live = Live::new(config.http.retention_minutes);
    let counters = Arc::new(operators::driver::Counters::default());
    crate::metrics::set_job(&params, &counters);
    let scorer = params.scorer.clone();
    let gauges = params.gauges.clone();
    let workers = job.workers.max(1);
    let partitions = kafka::discover(&config.kafka)?;
    tracing::info!(
        brokers = %config.kafka.brokers,
        partitions = partitions.len(),
        workers,
        "input partitions discovered"
    );
    let store = Arc::new(CheckpointStore::new(&config.run.state_dir, workers, partitions.clone())?);
    let restored: Option<Restored> = match config.kafka.start {
        StartFrom::Stored => store.load()?,
        _ => None,
    };
    if let Some(r) = &restored {
        tracing::info!(epoch = r.current.epoch, state_dir = %config.run.state_dir.display(), "resuming from checkpoint");
    }
    let restored = Arc::new(restored);
    let outputs = Arc::new(KafkaOutputs::new(&config.kafka)?);
    // --- kill switch (issue 5): dispatcher + outbox, Kafka control topic, HTTP API ---
    let control: crate::actions::ControlHook = {
        let o = outputs.clone();
        Arc::new(move |brand: &str, json: &[u8]| o.control(brand, json))
    };
    let actions = crate::actions::Actions::new(&config.actions, true, Some(&config.run.state_dir), Some(control))?;
    if let Err(e) = crate::http::serve(&config.http, &actions, &live) {
        tracing::error!(error = %format!("{e:#}"), "HTTP API not started; the job runs without it");
    }
    crate::http::READY.store(true, Ordering::Relaxed);
    let actions_w = actions.clone();
    // --- end kill switch ---
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            eprintln!("second stop signal: exiting without a last checkpoint");
            std::process::exit(130);
        }
        eprintln!("stop requested: taking a last checkpoint");
    });
    {
        // Exits the process once the checkpoint requested after a stop signal is committed.
        let store = store.clone();
        let outputs = outputs.clone();
        std::thread::Builder::new().name("brandpulse-stop".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            let f = FINAL_EPOCH.load(Ordering::SeqCst);
            if STOP.load(Ordering::SeqCst) && f != 0 && store.committed() >= f {
                let _ = outputs.flush(Duration::from_secs(10));
                eprintln!("stopped after checkpoint {f}");
                std::process::exit(0);
            }
        })?;
    }
    let out_dir = (!config.run.parquet_dir.as_os_str().is_empty()).then(|| config.run.parquet_dir.clone());
    let stop_at_end = job.stop_at_end;
    let store_w = store.clone();
    let outputs_w = outputs.clone();
    let ch_sink = if config.clickhouse.enabled() {
        tracing::info!(url = %crate::config::redact::Redacted(&config.clickhouse.url), database = %config.clickhouse.database, live = config.clickhouse.live, "ClickHouse sink on");
        Some(Arc::new(ClickHouseSink::start(&config.clickhouse)?))
    } else {
        None
    };
    let ch_workers = ch_sink.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let outputs = outputs_w.clone();
        let actions = actions_w.clone(); // kill switch (issue 5)
        let counters = counters.clone();
        let part = restored.as_ref().as_ref().map(|r| r.parts[index].clone()).unwrap_or_default();
        let result = (|| -> anyhow::Result<Summary> {
            let mut opened = Tables::open(out_dir.as_deref(), index, &part.parquet_seq)?;
            opened.ch = ch_workers.as_ref().map(|s| s.buffers());
            opened.live = Some(live.clone());
            opened.ch_live = config.clickhouse.live;
            let tables = Rc::new(RefCell::new(opened));
            let snapshots = if restored.is_some() {
                operators::Snapshots::restoring(part.snapshots.clone())
            } else {
                operators::Snapshots::new()
            };
            let probe = ProbeHandle::new();
            let names = partitions.clone();
            let (mut facts_in, mut dims_in, mut reports_in) = worker.dataflow::<Epoch, _, _>(|scope| {
                let (facts_in, facts) = scope.new_input::<Fact>();
                let (dims_in, dims) = scope.new_input::<Dim>();
                let (reports_in, reports) = scope.new_input::<WatermarkReport>();
                let outs = operators::brandpulse_with(Inputs { facts, dims, reports }, params.clone(), &snapshots);
                macro_rules! sink {
                    ($stream:expr, $name:literal, |$t:ident, $epoch:ident, $rows:ident, $k:ident| $body:expr) => {{
                        let tables = tables.clone();
                        let kafka_out = outputs.clone();
                        $stream.probe_with(&probe).sink(Pipeline, $name, move |(input, _frontier)| {
                            input.for_each(|cap, data| {
                                let $epoch = *cap.least().expect("a time");
                                let $t = &mut *tables.borrow_mut();
                                let $rows = std::mem::take(data);
                                #[allow(unused_variables)]
                                let $k = &kafka_out;
                                $body
                            });
                        });
                    }};
                }
                sink!(outs.brand_minutes, "BrandMinutes", |t, e, rows, kout| {
                    t.summary.add_brand_minutes(&rows);
                    t.send_rows(&rows, version(e, true));
                    t.brand.hold(e, rows)
                });
                sink!(outs.ad_minutes, "AdMinutes", |t, e, rows, kout| {
                    t.send_rows(&rows, version(e, true));
                    t.ad.hold(e, rows)
                });
                sink!(outs.care_cases, "CareCases", |t, e, rows, kout| {
                    t.summary.add_cases(&rows);
                    t.send_rows(&rows, version(e, true));
                    t.cases.hold(e, rows)
                });
                // --- kill switch (issue 5): act as alerts open, annotate final rows, auto-resumes ---
                let (act_open, act_final, act_resumed) = (actions.clone(), actions.clone(), actions.clone());
                sink!(outs.alerts_opened, "AlertsOpened", |t, e, rows, kout| {
                    for a in &rows {
                        tracing::warn!(alert_id = %crate::ids::for_log(&a.alert_id), brand_id = %crate::ids::for_log(&a.brand_id), ad_id = %crate::ids::for_log(&a.ad_id), comments = a.comments, neg_share = a.neg_share, risk_share = a.risk_share, action = ?a.action, status = %a.action_status, "ad-comment crisis opened");
                        // When this epoch's records were read (noted by the reading loop).
                        act_open.on_alert_opened(a, act_open.read_at(e));
                        kout.alert(a);
                    }
                    t.send_rows(&rows, version(e, false));
                    t.summary.alerts_opened += rows.len() as u64;
                });
                sink!(outs.auto_resumed, "AutoResumed", |t, _e, rows, kout| {
                    let _ = &t;
                    for b in &rows {
                        act_resumed.on_auto_resume(b);
                    }
                });
                sink!(outs.alerts, "Alerts", |t, e, rows, kout| {
                    let mut rows = rows;
                    for a in rows.iter_mut() {
                        act_final.annotate_final(a);
                    }
                    // --- end kill switch ---
                    for a in &rows {
                        kout.alert(a);
                    }
                    t.summary.add_alerts(&rows);
                    t.send_rows(&rows, version(e, true));
                    t.alerts.hold(e, rows)
                });
                sink!(outs.brand_status, "BrandStatus", |t, e, rows, kout| {
                    t.send_rows(&rows, version(e, true));
                    t.status.hold(e, rows)
                });
                let names_dl = names.clone();
                let counters_dl = counters.clone();
                sink!(outs.rejected, "Rejected", |t, e, rows, kout| {
                    let rows: Vec<DeadLetterRow> = rows
                        .into_iter()
                        .map(|r| {
                            t.summary.count_dead(&r.reason);
                            if r.reason == "late" {
                                t.summary.late += 1;
                            }
                            counters_dl.dead(&r.reason);
                            let d = dead_letter(&names_dl[r.pos.partition as usize], r.pos.offset as i64, r.reason, r.detail, &r.raw);
                            kout.dead_letter(&d);
                            d
                        })
                        .collect();
                    t.send_rows(&rows, version(0, true));
                    t.dead.hold(e, rows)
                });
                // Live changes (only when the ClickHouse sink asks for them, `clickhouse.live`):
                // current values that a later live value or the final row replaces.
                sink!(outs.live_brand_minutes, "LiveBrandMinutes", |t, e, rows, kout| t.send_live_rows(&rows, version(e, false)));
                sink!(outs.live_ad_minutes, "LiveAdMinutes", |t, e, rows, kout| t.send_live_rows(&rows, version(e, false)));
                sink!(outs.live_care_cases, "LiveCareCases", |t, e, rows, kout| t.send_live_rows(&rows, version(e, false)));
                sink!(outs.live_brand_status, "LiveBrandStatus", |t, e, rows, kout| t.send_live_rows(&rows, version(e, false)));
                let counters_dup = counters.clone();
                sink!(outs.duplicates, "Duplicates", |t, _e, rows, kout| {
                    t.summary.duplicates += rows.len() as u64;
                    counters_dup.duplicates(rows.len() as u64);
                });
                (facts_in, dims_in, reports_in)
            });
            snapshots.check_restored().map_err(|e| anyhow::anyhow!("{e}; the checkpoint under {} is from another version of brandpulse: start without it (--start earliest or latest)", store_w.dir().display()))?;

            let mut source = KafkaSource::open(
                &config.kafka,
                &partitions,
                index,
                workers,
                &part.cursors,
                params.lateness_ms,
                params.jump,
                stop_at_end,
            )?;
            let epoch_ms = config.run.epoch_ms.max(1);
            let idle = Duration::from_secs(config.idle_timeout_seconds);
            let wall_epoch = || operators::system_clock() as u64 / epoch_ms;
            let restored_epoch = restored.as_ref().as_ref().map_or(0, |r| r.current.epoch);
            // The first epoch reads the dimension topics; the catch-up epochs after it are
            // `first + 1 + bucket` — the same numbers on every worker, so one event-time bucket
            // is one epoch job-wide; live epochs after catch-up are wall-clock batches.
            let first: Epoch = restored_epoch + 1;
            let mut epoch: Epoch = first;
            let mut catch_up = Some(CatchUp::new(
                source.partitions.iter().map(|p| p.id.topic.is_fact()),
                config.run.catch_up_epoch_seconds.max(1) as i64 * 1000,
                params.lateness_ms,
                params.jump,
            ));
            let max_future_ms = config.run.max_future_seconds as i64 * 1000;
            // The future bound of this epoch (SPEC §3): the wall clock is read once an epoch,
            // not once a record.
            let future_limit = std::cell::Cell::new(i64::MAX);
            // A partition no longer holds catch-up back once it has read its backlog (with
            // `--stop-at-end`: reached its end, quiet included, see `kafka::END_QUIET`).
            // Catch-up gives up (hands out what it holds, bucket by bucket, then reads in arrival
            // order) when it holds more than MAX_HELD records: a partition that does not deliver
            // must not make memory grow without bound.
            let gave_up = std::cell::Cell::new(false);
            let lane_done = |p: &Assigned| {
                gave_up.get() || if stop_at_end { p.at_end() } else { p.next_offset >= p.start_high || p.backlog_read() }
            };
            facts_in.advance_to(epoch);
            dims_in.advance_to(epoch);
            reports_in.advance_to(epoch);
            let defaults = params.defaults.clone();
            let max_records = config.run.max_records_per_epoch.max(1);
            let mut cursor_log: BTreeMap<Epoch, BTreeMap<u32, PartitionCursor>> = BTreeMap::new();
            let mut last_checkpoint = Instant::now();
            let checkpoint_every = Duration::from_secs(config.run.checkpoint_seconds.max(1));
            let started = Instant::now();
            let mut bootstrapping = true;

            // Sends one decoded record into the dataflow, or returns its dead letter.
            let deliver = |p: &mut Assigned, offset: i64, bytes: &[u8], decoded: schemas::Decoded, facts_in: &mut timely::dataflow::operators::vec::input::Handle<Epoch, Fact>, dims_in: &mut timely::dataflow::operators::vec::input::Handle<Epoch, Dim>, tables: &mut Tables| {
                metrics::KAFKA_RECORDS_READ.fetch_add(1, Ordering::Relaxed);
                counters.read(bytes.len() as u64);
                tables.summary.lines_read += 1;
                tables.summary.bytes_read += bytes.len() as u64;
                let pos = Pos { partition: p.number, offset: offset as u64 };
                let dead = |reason: String, detail: String| dead_letter(&p.id, offset, reason, detail, bytes);
                match decoded {
                    Err(e) => {
                        let d = dead(e.reason.code(), e.detail);
                        Some(d)
                    }
                    Ok(ev) => {
                        if let Some(ts) = ev.ts() {
                            if ts > future_limit.get() {
                                let detail = format!(
                                    "ts {} is more than run.max_future_seconds = {} ahead of the wall clock",
                                    schemas::time::format_rfc3339(ts),
                                    max_future_ms / 1000
                                );
                                return Some(dead("invalid_value:ts".into(), detail));
                            }
                            if !p.clock.admit(ts) {
                                let detail = format!(
                                    "ts {} is more than the allowed lateness behind the partition's max {}",
                                    schemas::time::format_rfc3339(ts),
                                    p.clock.max_ts().map(schemas::time::format_rfc3339).unwrap_or_default()
                                );
                                tables.summary.late += 1;
                                return Some(dead("late".into(), detail));
                            }
                        }
                        match ev {
                            Event::Mention(m) => facts_in.send(Fact::Mention(pos, m)),
                            Event::AdComment(c) => facts_in.send(Fact::Comment(pos, c, bytes.to_vec())),
                            Event::Care(e) => facts_in.send(Fact::Care(pos, e)),
                            Event::Brand(b) => {
                                actions.note_brand(&b);
                                dims_in.send(Dim::Brand(pos, b))
                            }
                            Event::Ad(a) => {
                                if let Some(l) = &tables.live {
                                    l.ad(&a.ad_id, a.info.as_ref().map(|i| (i.brand_id.as_str(), i.spend_per_hour)));
                                }
                                if let Some(ch) = tables.ch.as_mut() {
                                    // Latest wins in offset order within the ad's partition.
                                    if let Err(e) = ch.push_ad(&a, offset as u64) {
                                        tables.error.get_or_insert(e);
                                    }
                                }
                                dims_in.send(Dim::Ad(pos, a))
                            }
                        }
                        None
                    }
                }
            };

            let mut in_flight: std::collections::VecDeque<Epoch> = std::collections::VecDeque::new();
            loop {
                let deadline = Instant::now() + Duration::from_millis(epoch_ms);
                future_limit.set(operators::system_clock().saturating_add(max_future_ms));
                if catch_up.is_none() {
                    actions.note_read(epoch, crate::job::now_ms());
                }
                if index == 0 {
                    // Kill switch (issue 5): resumes through the API reach the brand state.
                    for (brand_id, _) in actions.take_resumes() {
                        dims_in.send(Dim::Resume { brand_id });
                    }
                }
                let stopping = STOP.load(Ordering::SeqCst);
                let mut dead_rows = Vec::new();
                loop {
                    let behind = in_flight.len() > config.run.max_epochs_in_flight.max(1);
                    if behind {
                        metrics::BACKPRESSURE_PAUSES.fetch_add(1, Ordering::Relaxed);
                    }
                    // Once every partition has read its backlog, catch-up only hands out what it
                    // holds; reading goes on after it, in live epochs.
                    let draining = catch_up.is_some()
                        && !bootstrapping
                        && source.partitions.iter().filter(|p| p.id.topic.is_fact()).all(|p| lane_done(p));
                    if !behind && !stopping && !draining {
                        let slice = (Instant::now() + Duration::from_millis(2)).min(deadline);
                        let t = &mut *tables.borrow_mut();
                        let held = &mut catch_up;
                        source.poll(slice, max_records, |p, rec| {
                            let decoded = schemas::decode(p.id.topic, &rec.bytes, &defaults);
                            match held.as_mut() {
                                Some(c) if p.id.topic.is_fact() => c.push(rec.local, rec.offset, rec.bytes.into_owned(), decoded),
                                _ => {
                                    if let Some(d) = deliver(p, rec.offset, &rec.bytes, decoded, &mut facts_in, &mut dims_in, t) {
                                        dead_rows.push(d);
                                    }
                                }
                            }
                        })?;
                    } else {
                        worker.step_or_park(Some(Duration::from_millis(1)));
                    }
                    worker.step();
                    while let Some(&e) = in_flight.front() {
                        if probe.less_equal(&e) {
                            break;
                        }
                        in_flight.pop_front();
                    }
                    let dims_done = source
                        .partitions
                        .iter()
                        .filter(|p| !p.id.topic.is_fact())
                        .all(|p| p.backlog_read());
                    if bootstrapping {
                        if dims_done || started.elapsed() > Duration::from_secs(config.kafka.metadata_timeout_seconds.max(1)) {
                            break;
                        }
                    } else if let (Some(c), false) = (catch_up.as_mut(), stopping) {
                        match c.ready(|i| lane_done(&source.partitions[i])) {
                            Ready::Wait => {
                                if c.held() > MAX_HELD && !gave_up.get() {
                                    let lagging: Vec<String> = source
                                        .partitions
                                        .iter()
                                        .filter(|p| p.id.topic.is_fact() && !lane_done(p))
                                        .map(|p| format!("{}/{}", p.id.kafka_topic, p.id.partition))
                                        .collect();
                                    tracing::warn!(worker = index, held = c.held(), lagging = ?lagging, "catch-up holds too many records while these partitions deliver nothing: reading on in arrival order");
                                    gave_up.set(true);
                                }
                            }
                            Ready::Bucket(b) => {
                                // This worker's records of bucket `b`: one epoch.
                                let e = (first + 1 + b).max(epoch);
                                epoch = e;
                                facts_in.advance_to(e);
                                dims_in.advance_to(e);
                                reports_in.advance_to(e);
                                actions.note_read(e, crate::job::now_ms());
                                let t = &mut *tables.borrow_mut();
                                let records = c.take(b);
                                tracing::trace!(worker = index, epoch = e, records = records.len(), still_held = c.held(), "catch-up epoch");
                                for (local, r) in records {
                                    let p = &mut source.partitions[local];
                                    if let Some(d) = deliver(p, r.offset, &r.bytes, r.decoded, &mut facts_in, &mut dims_in, t) {
                                        dead_rows.push(d);
                                    }
                                }
                                break;
                            }
                            Ready::Finished => {
                                tracing::info!(worker = index, epoch, "backlog read: live epochs from here");
                                catch_up = None;
                                break;
                            }
                        }
                    } else if Instant::now() >= deadline {
                        break;
                    }
                }
                {
                    let t = &mut *tables.borrow_mut();
                    for d in &dead_rows {
                        t.summary.count_dead(&d.reason);
                        counters.dead(&d.reason);
                        outputs.dead_letter(d);
                    }
                    t.send_rows(&dead_rows, version(0, true));
                    if let Some(ch) = t.ch.as_mut() {
                        let r = ch.flush_aged();
                        t.check(r);
                    }
                    t.dead.hold(epoch, dead_rows);
                }
                // The watermark report for this epoch (SPEC §3).
                let now = Instant::now();
                let mut active_min: Option<i64> = None;
                let mut any_active = !stop_at_end;
                let mut max_ts: Option<i64> = None;
                for (i, p) in source.partitions.iter().enumerate().filter(|(_, p)| p.id.topic.is_fact()) {
                    max_ts = max_ts.max(p.clock.seen_max());
                    // Records held by catch-up are still to come.
                    let backlog = !p.backlog_read() || catch_up.as_ref().is_some_and(|c| c.first_held(i).is_some());
                    let active = backlog || if stop_at_end {
                        !p.at_end()
                    } else {
                        backlog || p.last_data.is_some_and(|t| now.duration_since(t) < idle)
                    };
                    if active {
                        any_active = true;
                        // A partition with data to come but none read yet holds the watermark.
                        let m = p.clock.watermark_ts().unwrap_or(NO_WATERMARK);
                        active_min = Some(active_min.map_or(m, |a: i64| a.min(m)));
                    }
                }
                let finished = stop_at_end && !bootstrapping && catch_up.is_none() && source.all_at_end();
                if finished {
                    for p in &source.partitions {
                        tracing::debug!(topic = %p.id.kafka_topic, partition = p.id.partition, next_offset = p.next_offset, "partition at its end");
                    }
                    // The last report: every partition of this worker ended.
                    active_min = None;
                    any_active = false;
                }
                if bootstrapping {
                    // Facts read while bootstrapping belong to the next epoch: this epoch's
                    // report must not count their clocks.
                    active_min = Some(NO_WATERMARK);
                    any_active = true;
                }
                let checkpoint = index == 0
                    && !stop_at_end
                    && (last_checkpoint.elapsed() >= checkpoint_every || (stopping && FINAL_EPOCH.load(Ordering::SeqCst) == 0));
                if checkpoint {
                    last_checkpoint = Instant::now();
                    if stopping {
                        FINAL_EPOCH.store(epoch, Ordering::SeqCst);
                    }
                }
                reports_in.send(WatermarkReport { worker: index, active_min, any_active, max_ts, checkpoint });
                let mut cursors = source.cursors();
                if let Some(c) = &catch_up {
                    // A restart reads held records again.
                    for (i, p) in source.partitions.iter().enumerate() {
                        if let (Some(o), Some(cur)) = (c.first_held(i), cursors.get_mut(&p.number)) {
                            cur.next_offset = o;
                        }
                    }
                }
                cursor_log.insert(epoch, cursors);
                in_flight.push_back(epoch);
                if bootstrapping {
                    bootstrapping = false;
                }
                // Checkpoints whose epochs are complete on this worker.
                let done: Vec<Epoch> = cursor_log.keys().copied().filter(|e| !probe.less_equal(e)).collect();
                for e in done {
                    let cursors = cursor_log.remove(&e).expect("listed");
                    if let Some(snaps) = snapshots.take_epoch(e) {
                        let t = &mut *tables.borrow_mut();
                        t.write(Some(e))?;
                        outputs.flush(Duration::from_secs(30))?;
                        if let Some(ch) = t.ch.as_mut() {
                            ch.wait_written()?;
                        }
                        let part = WorkerPart { cursors, parquet_seq: t.seqs(), snapshots: snaps, operators: Vec::new() };
                        store_w.write_part(e, index, &part)?;
                    }
                }
                if let Some(e) = tables.borrow_mut().error.take() {
                    return Err(e);
                }
                if finished {
                    break;
                }
                let next = if catch_up.is_some() { epoch + 1 } else { wall_epoch().max(epoch + 1) };
                epoch = next;
                facts_in.advance_to(epoch);
                dims_in.advance_to(epoch);
                reports_in.advance_to(epoch);
            }
            drop(facts_in);
            drop(dims_in);
            drop(reports_in);
            worker.step_while(|| !probe.done());
            let mut t = tables.borrow_mut();
            let r = t.write(None);
            t.check(r);
            if let Some(mut ch) = t.ch.take() {
                let r = ch.flush();
                t.check(r);
            }
            t.summary.rows_brand_minutes = t.brand.table.as_ref().map_or(0, |x| x.written());
            t.summary.rows_ad_minutes = t.ad.table.as_ref().map_or(0, |x| x.written());
            t.summary.rows_cases = t.cases.table.as_ref().map_or(0, |x| x.written());
            t.summary.rows_alerts = t.alerts.table.as_ref().map_or(0, |x| x.written());
            t.summary.rows_dead = t.dead.table.as_ref().map_or(0, |x| x.written());
            match t.error.take() {
                Some(e) => Err(e),
                None => Ok(std::mem::take(&mut t.summary)),
            }
        })();
        result.map_err(|e| format!("{e:#}"))
    })
    .map_err(|e| anyhow::anyhow!("starting timely workers: {e}"))?;
    let mut total = Summary::default();
    for r in guards.join() {
        match r {
            Ok(Ok(s)) => total.merge(s),
            Ok(Err(e)) => anyhow::bail!(e),
            Err(e) => anyhow::bail!("a worker failed: {e}"),
        }
    }
    if let Some(sink) = ch_sink {
        // Waits until every batch is written (retrying while the server is away).
        let health = sink.finish()?;
        eprintln!("{}", health.describe());
    }
    actions.drain(Duration::from_secs(config.actions.deadline_seconds + 5)); // kill switch (issue 5)
    outputs.flush(Duration::from_secs(30))?;
    if stop_at_end {
        store.mark_finished()?;
    }
    total.langs = scorer.counts().snapshot();
    total.watermark_ms = crate::job::watermark_of(&gauges);
    Ok(total)
}
