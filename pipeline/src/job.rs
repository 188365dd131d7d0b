//! Runs the brandpulse dataflow on timely workers over file partitions, writing Parquet.

use crate::config::Config;
use crate::live::{Kept, Live};
use crate::sinks::clickhouse::format::version;
use crate::sinks::clickhouse::{Buffers, ClickHouseSink};
use crate::sinks::parquet::ParquetTable;
use crate::sources::files::{discover, FilePartition, FileSpec};
use crate::summary::Summary;
use operators::{Dim, Epoch, Fact, Inputs, Pos, WatermarkReport};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, DeadLetterRow, Event, Topic};
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

/// Epochs in flight before the source waits for the dataflow (backpressure).
const MAX_EPOCHS_IN_FLIGHT: usize = 4;
/// Raw bytes kept in a dead-letter row.
const MAX_RAW_BYTES: usize = 64 * 1024;

/// What to run.
#[derive(Debug, Clone)]
pub struct ReplayJob {
    /// Directory of `<topic>.ndjson[.gz]` files.
    pub input: PathBuf,
    /// Output directory.
    pub out: PathBuf,
    /// Timely workers in this process.
    pub workers: usize,
    /// Configuration.
    pub config: Config,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Kill-switch actions (`--fire-actions` or `--serve`); `None`: alerts are only recorded.
    pub actions: Option<crate::actions::Actions>,
    /// Keep the dataflow open after the input ends, for resumes through the API, until
    /// [`STOP_SERVING`] is set (`--serve`); the final rows are written then.
    pub serve: bool,
    /// Replace the tables of an output directory that already holds rows (`--replace`; see
    /// [`crate::sinks::parquet::rerun`]); off: such a directory is refused.
    pub replace: bool,
    /// Facts read per second at most, over all workers (`--rate`, for latency benchmarks).
    pub rate: Option<f64>,
    /// Event time read per wall-clock time (`--speed`): epoch `e` is read no earlier than
    /// `(e - e0) * epoch width / speed` after the first data epoch `e0`, by every worker, as a
    /// live feed arrives (latency benchmarks).
    pub speed: Option<f64>,
    /// The dashboard's live state (`--serve`, `demo`): every row sent to the sinks, live
    /// changes included, is also kept there.
    pub live: Option<Arc<Live>>,
    /// Read as a live feed (`demo --follow`): an epoch is read once the wall clock has passed
    /// its end, until [`STOP_SERVING`] is set (then reading stops and the final rows are
    /// written).
    pub follow: bool,
}

/// Ends a `--serve` replay (SIGINT/SIGTERM).
pub static STOP_SERVING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Tables {
    brand: ParquetTable<BrandMinuteRow>,
    ad: ParquetTable<AdMinuteRow>,
    cases: ParquetTable<CareCaseRow>,
    alerts: ParquetTable<AlertRow>,
    status: ParquetTable<BrandStatusRow>,
    dead: ParquetTable<DeadLetterRow>,
    /// This worker's ClickHouse buffers, when a ClickHouse sink is configured.
    ch: Option<Buffers>,
    /// The dashboard's live state, when served.
    live: Option<Arc<Live>>,
    /// ClickHouse takes live changes too (`clickhouse.live`).
    ch_live: bool,
    summary: Summary,
    error: Option<anyhow::Error>,
}

impl Tables {
    /// Hands rows to the dashboard's live state and the ClickHouse buffers (when configured);
    /// blocks while ClickHouse's queue is full.
    fn send_rows<T: schemas::TableRow + Kept>(&mut self, rows: &[T], version: u64) {
        if let Some(live) = &self.live {
            live.keep(rows, version);
        }
        if let Some(ch) = self.ch.as_mut() {
            if let Err(e) = ch.push(rows, version) {
                self.error.get_or_insert(e);
            }
        }
    }

    /// Hands live changes to the dashboard's live state, and to ClickHouse when it asks for
    /// them (`clickhouse.live`).
    fn send_live_rows<T: schemas::TableRow + Kept>(&mut self, rows: &[T], version: u64) {
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
}

pub(crate) fn now_ms() -> i64 {
    operators::system_clock()
}

fn dead_letter(
    spec: &FileSpec,
    partition: u32,
    line: u64,
    reason: String,
    detail: String,
    raw: &[u8],
) -> DeadLetterRow {
    DeadLetterRow {
        topic: spec.topic.name().to_string(),
        source: spec.path.display().to_string(),
        partition: partition as i32,
        offset: line as i64,
        reason,
        detail,
        raw: raw[..raw.len().min(MAX_RAW_BYTES)].to_vec(),
        recorded_at: now_ms(),
    }
}

/// Steps the dataflow until the wall clock reaches `until_ms`; false when a stop signal came
/// first ([`STOP_SERVING`]).
fn wait_for_wall_clock(worker: &mut timely::worker::Worker, until_ms: i64) -> bool {
    loop {
        if STOP_SERVING.load(Ordering::SeqCst) {
            return false;
        }
        let left = until_ms.saturating_sub(now_ms());
        if left <= 0 {
            return true;
        }
        worker.step_or_park(Some(std::time::Duration::from_millis(left.min(200) as u64)));
    }
}

/// Runs a replay to completion and returns the merged summary.
///
/// # Errors
/// Input discovery, configuration, or an output write failed.
pub fn run_replay(job: ReplayJob) -> anyhow::Result<Summary> {
    let files = discover(&job.input)?;
    if files.is_empty() {
        anyhow::bail!("no input files in {}: expected some of brands.ndjson, ads.ndjson, mentions.ndjson, ad_comments.ndjson, care_events.ndjson (optionally .gz)", job.input.display());
    }
    let mut params = job.config.params()?;
    // The dashboard shows windows as they fill, not only once final.
    params.live |= job.live.is_some();
    crate::metrics::set_scorer(&params.scorer);
    let scorer = params.scorer.clone();
    // Refused before anything is read when `out` holds rows (SPEC §9), unless replacing.
    let target = crate::sinks::parquet::rerun::prepare(&job.out, job.replace)?;
    let total_bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let read_bytes = Arc::new(AtomicU64::new(0));
    let bar = job.progress.then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} replay [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let bar_worker = bar.clone();
    let epoch_ms = (job.config.replay.epoch_seconds.max(1) * 1000) as i64;
    let lateness_ms = params.lateness_ms;
    let jump = params.jump;
    let defaults = params.defaults.clone();
    let out = target.clone();
    let counter = read_bytes.clone();
    let ch_sink = if job.config.clickhouse.enabled() {
        Some(Arc::new(ClickHouseSink::start(&job.config.clickhouse)?))
    } else {
        None
    };
    let ch_workers = ch_sink.clone();
    let actions = job.actions.clone();
    let live = job.live.clone();
    let ch_live = job.config.clickhouse.live;
    let serve = job.serve;
    let rate = job.rate.filter(|r| *r > 0.0);
    // Paced reading: records read by all workers, against one clock, so the total rate is
    // `rate` whatever the partitions' sizes.
    let paced_read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = std::time::Instant::now();
    let speed = job.speed.filter(|s| *s > 0.0);
    let follow = job.follow;
    // `--speed`: the wall clock and the first data epoch every worker paces against.
    let paced_origin: Arc<std::sync::OnceLock<(std::time::Instant, Epoch)>> = Arc::default();
    let guards = timely::execute(timely::Config::process(job.workers.max(1)), move |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let tables = Rc::new(RefCell::new(Tables {
            brand: ParquetTable::new(&out, index),
            ad: ParquetTable::new(&out, index),
            cases: ParquetTable::new(&out, index),
            alerts: ParquetTable::new(&out, index),
            status: ParquetTable::new(&out, index),
            dead: ParquetTable::new(&out, index),
            ch: ch_workers.as_ref().map(|s| s.buffers()),
            live: live.clone(),
            ch_live,
            summary: Summary::default(),
            error: None,
        }));
        let names: Vec<FileSpec> = files.clone();
        let probe = ProbeHandle::new();
        let (mut facts_in, mut dims_in, mut reports_in) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (facts_in, facts) = scope.new_input::<Fact>();
            let (dims_in, dims) = scope.new_input::<Dim>();
            let (reports_in, reports) = scope.new_input::<WatermarkReport>();
            let outs = operators::brandpulse(Inputs { facts, dims, reports }, params.clone());
            macro_rules! sink {
                ($stream:expr, $name:literal, |$t:ident, $rows:ident, $epoch:ident| $body:expr) => {{
                    let tables = tables.clone();
                    $stream.probe_with(&probe).sink(Pipeline, $name, move |(input, _frontier)| {
                        input.for_each(|cap, data| {
                            let $epoch: Epoch = *cap.least().expect("a time");
                            let $t = &mut *tables.borrow_mut();
                            let $rows = std::mem::take(data);
                            $body
                        });
                    });
                }};
            }
            sink!(outs.brand_minutes, "ParquetBrandMinutes", |t, rows, epoch| {
                t.summary.add_brand_minutes(&rows);
                t.send_rows(&rows, version(epoch, true));
                let r = t.brand.push(rows);
                t.check(r)
            });
            sink!(outs.ad_minutes, "ParquetAdMinutes", |t, rows, epoch| {
                t.send_rows(&rows, version(epoch, true));
                let r = t.ad.push(rows);
                t.check(r)
            });
            sink!(outs.care_cases, "ParquetCareCases", |t, rows, epoch| {
                t.summary.add_cases(&rows);
                t.send_rows(&rows, version(epoch, true));
                let r = t.cases.push(rows);
                t.check(r)
            });
            {
                // Kill-switch actions as alerts open (SPEC §6).
                let tables = tables.clone();
                let actions = actions.clone();
                outs.alerts_opened.probe_with(&probe).sink(Pipeline, "AlertsOpened", move |(input, _frontier)| {
                    input.for_each(|cap, data| {
                        let epoch = *cap.least().expect("a time");
                        for a in data.iter() {
                            match &actions {
                                Some(x) => x.on_alert_opened(a, x.read_at(epoch)),
                                None => tracing::warn!(alert_id = %crate::ids::for_log(&a.alert_id), brand_id = %crate::ids::for_log(&a.brand_id), ad_id = %crate::ids::for_log(&a.ad_id), comments = a.comments, neg_share = a.neg_share, risk_share = a.risk_share, action = ?a.action, status = %a.action_status, "ad-comment crisis opened; replay is history: no action sent (--fire-actions sends them)"),
                            }
                        }
                        let t = &mut *tables.borrow_mut();
                        t.send_rows(data, version(epoch, false));
                        t.summary.alerts_opened += data.len() as u64;
                    });
                });
            }
            {
                let actions = actions.clone();
                outs.auto_resumed.probe_with(&probe).sink(Pipeline, "AutoResumed", move |(input, _frontier)| {
                    input.for_each(|_cap, data| {
                        for b in data.iter() {
                            match &actions {
                                Some(x) => x.on_auto_resume(b),
                                None => tracing::info!(brand_id = %crate::ids::for_log(b), "publishing auto-resumed (no crisis active); no action sent"),
                            }
                        }
                    });
                });
            }
            let actions_final = actions.clone();
            sink!(outs.alerts, "ParquetAlerts", |t, rows, epoch| {
                let mut rows = rows;
                if let Some(x) = &actions_final {
                    for r in rows.iter_mut() {
                        x.annotate_final(r);
                    }
                }
                t.summary.add_alerts(&rows);
                t.send_rows(&rows, version(epoch, true));
                let r = t.alerts.push(rows);
                t.check(r)
            });
            sink!(outs.brand_status, "ParquetBrandStatus", |t, rows, epoch| {
                t.send_rows(&rows, version(epoch, true));
                let r = t.status.push(rows);
                t.check(r)
            });
            let names_dl = names.clone();
            sink!(outs.rejected, "ParquetRejected", |t, rows, _epoch| {
                let rows: Vec<DeadLetterRow> = rows
                    .into_iter()
                    .map(|r| {
                        let spec = &names_dl[r.pos.partition as usize];
                        t.summary.count_dead(&r.reason);
                        dead_letter(spec, r.pos.partition, r.pos.offset, r.reason, r.detail, &r.raw)
                    })
                    .collect();
                t.send_rows(&rows, version(0, true));
                let r = t.dead.push(rows);
                t.check(r)
            });
            // Live changes (only when the ClickHouse sink or the dashboard asks for them):
            // current values that a later live value or the final row replaces.
            sink!(outs.live_brand_minutes, "LiveBrandMinutes", |t, rows, epoch| {
                t.send_live_rows(&rows, version(epoch, false))
            });
            sink!(outs.live_ad_minutes, "LiveAdMinutes", |t, rows, epoch| {
                t.send_live_rows(&rows, version(epoch, false))
            });
            sink!(outs.live_care_cases, "LiveCareCases", |t, rows, epoch| {
                t.send_live_rows(&rows, version(epoch, false))
            });
            sink!(outs.live_brand_status, "LiveBrandStatus", |t, rows, epoch| {
                t.send_live_rows(&rows, version(epoch, false))
            });
            sink!(outs.duplicates, "Duplicates", |t, rows, _epoch| {
                t.summary.duplicates += rows.len() as u64;
            });
            (facts_in, dims_in, reports_in)
        });

        // This worker's partitions.
        let mut parts: Vec<FilePartition> = Vec::new();
        for (i, spec) in files.iter().enumerate() {
            if i % peers == index {
                match FilePartition::open(i as u32, spec.clone(), lateness_ms, jump) {
                    Ok(p) => parts.push(p),
                    Err(e) => {
                        tables.borrow_mut().error.get_or_insert(e);
                    }
                }
            }
        }
        // Every worker reports at epoch 0, so the watermark knows all of them from the start.
        let mut current: Epoch = 0;
        let mut sent: std::collections::VecDeque<Epoch> = std::collections::VecDeque::new();
        let mut facts_read = 0u64;
        let mut last_report =
            WatermarkReport { worker: index, active_min: None, any_active: false, max_ts: None, checkpoint: false };
        loop {
            if let (Some(sp), true) = (speed, current > 0) {
                let (t0, e0) = *paced_origin.get_or_init(|| (std::time::Instant::now(), current));
                let due = std::time::Duration::from_secs_f64(current.saturating_sub(e0) as f64 * epoch_ms as f64 / 1000.0 / sp);
                loop {
                    let left = due.saturating_sub(t0.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    worker.step_or_park(Some(left));
                }
            }
            if follow && !wait_for_wall_clock(worker, (current as i64 + 1).saturating_mul(epoch_ms)) {
                break;
            }
            if let Some(x) = &actions {
                x.note_read(current, now_ms());
            }
            let mut dead = Vec::new();
            let mut read_lines = 0u64;
            let mut late = 0u64;
            for p in parts.iter_mut() {
                let before = p.bytes_read;
                loop {
                    match p.peek(epoch_ms, &defaults) {
                        Ok(Some(pending)) if pending.epoch <= current => {}
                        Ok(_) => break,
                        Err(e) => {
                            tables.borrow_mut().error.get_or_insert(e);
                            p.finished = true;
                            break;
                        }
                    }
                    let line = p.take().expect("peeked");
                    read_lines += 1;
                    if let Some(r) = rate {
                        // Paced reading (benchmarks): `rate` over all workers, the dataflow
                        // kept moving meanwhile.
                        // Checked every 32 records: parking per record costs more than the
                        // record itself.
                        facts_read += 1;
                        if facts_read % 32 == 0 {
                            let total = paced_read.fetch_add(32, std::sync::atomic::Ordering::Relaxed) + 32;
                            let due = std::time::Duration::from_secs_f64(total as f64 / r);
                            loop {
                                let left = due.saturating_sub(started.elapsed());
                                if left.is_zero() {
                                    break;
                                }
                                worker.step_or_park(Some(left));
                            }
                        }
                    }
                    let pos = Pos { partition: p.partition, offset: line.line };
                    match line.decoded {
                        Err(e) => dead.push(dead_letter(&p.spec, p.partition, line.line, e.reason.code(), e.detail, &line.bytes)),
                        Ok(ev) => {
                            if let Some(ts) = ev.ts() {
                                if !p.clock.admit(ts) {
                                    late += 1;
                                    let detail = format!(
                                        "ts {} is more than the allowed lateness behind the partition's max {}",
                                        schemas::time::format_rfc3339(ts),
                                        p.clock.max_ts().map(schemas::time::format_rfc3339).unwrap_or_default()
                                    );
                                    dead.push(dead_letter(&p.spec, p.partition, line.line, "late".into(), detail, &line.bytes));
                                    continue;
                                }
                            }
                            match ev {
                                Event::Mention(m) => facts_in.send(Fact::Mention(pos, m)),
                                Event::AdComment(c) => facts_in.send(Fact::Comment(pos, c, line.bytes)),
                                Event::Care(e) => facts_in.send(Fact::Care(pos, e)),
                                Event::Brand(b) => {
                                    if let Some(x) = &actions {
                                        x.note_brand(&b);
                                    }
                                    dims_in.send(Dim::Brand(pos, b))
                                }
                                Event::Ad(a) => {
                                    let mut t = tables.borrow_mut();
                                    if let Some(l) = &t.live {
                                        l.ad(&a.ad_id, a.info.as_ref().map(|i| (i.brand_id.as_str(), i.spend_per_hour)));
                                    }
                                    if let Some(ch) = t.ch.as_mut() {
                                        // Latest wins in position order within the ad's partition.
                                        let r = ch.push_ad(&a, line.line);
                                        t.check(r);
                                    }
                                    drop(t);
                                    dims_in.send(Dim::Ad(pos, a))
                                }
                            }
                        }
                    }
                }
                counter.fetch_add(p.bytes_read - before, Ordering::Relaxed);
            }
            let facts: Vec<&FilePartition> = parts.iter().filter(|p| p.spec.topic.is_fact()).collect();
            let report = WatermarkReport {
                worker: index,
                active_min: facts.iter().filter(|p| !p.finished).filter_map(|p| p.clock.watermark_ts()).min(),
                any_active: facts.iter().any(|p| !p.finished),
                max_ts: facts.iter().filter_map(|p| p.clock.seen_max()).max(),
                checkpoint: false,
            };
            reports_in.send(report);
            last_report = report;
            {
                let mut t = tables.borrow_mut();
                t.summary.lines_read += read_lines;
                t.summary.late += late;
                for d in &dead {
                    t.summary.count_dead(&d.reason);
                }
                t.send_rows(&dead, version(0, true));
                if let Some(ch) = t.ch.as_mut() {
                    let r = ch.flush_aged();
                    t.check(r);
                }
                let r = t.dead.push(dead);
                t.check(r);
            }
            sent.push_back(current);
            if index == 0 {
                if let Some(bar) = &bar_worker {
                    bar.set_position(counter.load(Ordering::Relaxed));
                }
            }
            // The next epoch with data in any of this worker's files. (The consume loop above
            // peeks past each file's last line, so a file that ended is already marked finished
            // in the report just sent.)
            let mut next: Option<Epoch> = None;
            for p in parts.iter_mut() {
                match p.peek(epoch_ms, &defaults) {
                    Ok(Some(pending)) => next = Some(next.map_or(pending.epoch, |n: Epoch| n.min(pending.epoch))),
                    Ok(None) => {}
                    Err(e) => {
                        tables.borrow_mut().error.get_or_insert(e);
                        p.finished = true;
                    }
                }
            }
            let Some(next) = next else { break };
            let next = next.max(current + 1);
            current = next;
            facts_in.advance_to(current);
            dims_in.advance_to(current);
            reports_in.advance_to(current);
            while sent.len() > MAX_EPOCHS_IN_FLIGHT {
                let oldest = sent.pop_front().expect("non-empty");
                worker.step_while(|| probe.less_equal(&oldest));
            }
        }
        if let (0, true, Some(x)) = (index, serve, &actions) {
            // `--serve`: worker 0 keeps the dataflow open for resumes through the API (each
            // in an epoch of its own) until a stop signal; then every state is written final.
            loop {
                let resumes = x.take_resumes();
                if !resumes.is_empty() || current == sent.back().copied().unwrap_or(0) {
                    current += 1;
                    facts_in.advance_to(current);
                    dims_in.advance_to(current);
                    reports_in.advance_to(current);
                    for (brand_id, _) in resumes {
                        dims_in.send(Dim::Resume { brand_id });
                    }
                    reports_in.send(last_report);
                }
                if STOP_SERVING.load(Ordering::SeqCst) {
                    break;
                }
                worker.step_or_park(Some(std::time::Duration::from_millis(5)));
            }
        }
        drop(facts_in);
        drop(dims_in);
        drop(reports_in);
        worker.step_while(|| !probe.done());
        let mut t = tables.borrow_mut();
        for r in [t.brand.flush(), t.ad.flush(), t.cases.flush(), t.alerts.flush(), t.status.flush(), t.dead.flush()] {
            t.check(r);
        }
        if let Some(mut ch) = t.ch.take() {
            let r = ch.flush();
            t.check(r);
        }
        t.summary.rows_brand_minutes = t.brand.written();
        t.summary.rows_ad_minutes = t.ad.written();
        t.summary.rows_cases = t.cases.written();
        t.summary.rows_alerts = t.alerts.written();
        t.summary.rows_dead = t.dead.written();
        match t.error.take() {
            Some(e) => Err(format!("{e:#}")),
            None => Ok(std::mem::take(&mut t.summary)),
        }
    })
    .map_err(|e| anyhow::anyhow!("starting timely workers: {e}"))?;
    let mut total = Summary::default();
    let mut failure = None;
    for r in guards.join() {
        match r {
            Ok(Ok(s)) => total.merge(s),
            Ok(Err(e)) => failure = failure.or(Some(anyhow::anyhow!(e))),
            Err(e) => failure = failure.or(Some(anyhow::anyhow!("a worker failed: {e}"))),
        }
    }
    if let Some(sink) = ch_sink {
        // Waits until every batch is written (retrying while the server is away).
        let health = sink.finish()?;
        eprintln!("{}", health.describe());
    }
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    total.bytes_read = read_bytes.load(Ordering::Relaxed);
    total.langs = scorer.counts().snapshot();
    if target != job.out {
        crate::sinks::parquet::rerun::commit(&job.out)?;
    }
    let _ = Topic::ALL;
    Ok(total)
}
