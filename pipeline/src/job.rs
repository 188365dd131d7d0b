//! Runs the brandpulse dataflow on timely workers over file partitions, writing Parquet.

use crate::config::Config;
use crate::live::Live;
use crate::sinks::clickhouse::ClickHouseSink;
use crate::sinks::tables::{Commit, Origin, Outputs, Tables};
use crate::sources::files::{discover, FilePartition};
use crate::summary::Summary;
use operators::driver::{self, Clocks, Counters, Feed, Poll, Setup, Source};
use operators::{Epoch, Pos};
use schemas::BrandProfile;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Epochs in flight before the source waits for the dataflow (backpressure).
const MAX_EPOCHS_IN_FLIGHT: usize = 4;

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

pub(crate) fn now_ms() -> i64 {
    operators::system_clock()
}

/// How a replay paces its reading (benchmarks, `demo --follow`); shared by the workers.
#[derive(Clone)]
struct Pace {
    /// `--rate`: facts per second over all workers.
    rate: Option<f64>,
    /// Records read by all workers, against [`Pace::started`].
    paced_read: Arc<AtomicU64>,
    started: Instant,
    /// `--speed`: event time per wall-clock time, from the first data epoch every worker
    /// paces against ([`Pace::origin`]).
    speed: Option<f64>,
    origin: Arc<OnceLock<(Instant, Epoch)>>,
    /// `--follow`: an epoch is read once the wall clock has passed its end.
    follow: bool,
}

impl Pace {
    /// How long epoch `epoch` must still wait before it is read.
    fn epoch_wait(&self, epoch: Epoch, epoch_ms: i64) -> Duration {
        let mut left = Duration::ZERO;
        if let (Some(sp), true) = (self.speed, epoch > 0) {
            let (t0, e0) = *self.origin.get_or_init(|| (Instant::now(), epoch));
            let due = Duration::from_secs_f64(epoch.saturating_sub(e0) as f64 * epoch_ms as f64 / 1000.0 / sp);
            left = due.saturating_sub(t0.elapsed());
        }
        if self.follow {
            let until = (epoch as i64).saturating_add(1).saturating_mul(epoch_ms);
            left = left.max(Duration::from_millis(until.saturating_sub(now_ms()).max(0) as u64));
        }
        left
    }
}

/// The file partitions of one worker, read as a [`Source`]: epoch `e` holds each file's records
/// whose event time falls in `[e·width, (e+1)·width)` ([`FilePartition::peek`]), read file by
/// file; the next epoch is the earliest one with data in any of the worker's files. Pacing waits
/// are [`Poll::Again`]. Under `--serve`, worker 0 goes on after its files end, one epoch per
/// batch of resumes through the API, until [`STOP_SERVING`]. Replay takes no checkpoints: the
/// cursor is `()`.
struct FileSource {
    parts: Vec<FilePartition>,
    epoch_ms: i64,
    defaults: Arc<BrandProfile>,
    pace: Pace,
    /// Records read by this worker (`--rate` checks every 32).
    read: u64,
    /// `--rate`: reading waits until then.
    rate_due: Option<Duration>,
    /// The epoch whose pacing wait is over.
    waited: Option<Epoch>,
    actions: Option<crate::actions::Actions>,
    /// Worker 0 under `--serve`.
    serve: bool,
    /// `--serve` after the files ended: the last epoch with data, and whether that all input
    /// was read and processed has been said.
    serving: Option<(Epoch, bool)>,
    /// A stop signal ended the input (`--follow`, `--serve`).
    stopped: bool,
    /// A file failed to read; reported when the replay ends (the other files are read on).
    error: Rc<RefCell<Option<anyhow::Error>>>,
    /// Bytes of input read by all workers (the progress bar, the summary).
    bytes: Arc<AtomicU64>,
    bar: Option<indicatif::ProgressBar>,
}

impl FileSource {
    fn fail(&self, e: anyhow::Error) {
        self.error.borrow_mut().get_or_insert(e);
    }

    /// A poll once the files ended under `--serve`.
    fn poll_serving(&mut self, feed: &mut Feed<'_>) -> Poll {
        let Some((last, said)) = self.serving.as_mut() else { unreachable!("serving") };
        if !*said && feed.complete(*last) {
            *said = true;
            tracing::info!("all input read and processed; serving the API until Ctrl-C");
        }
        if STOP_SERVING.load(Ordering::SeqCst) {
            self.stopped = true;
            return Poll::Sealed;
        }
        let resumes = self.actions.as_ref().map(|x| x.take_resumes()).unwrap_or_default();
        if resumes.is_empty() {
            return Poll::Again(Duration::from_millis(5));
        }
        for (brand_id, _) in resumes {
            feed.resume(brand_id);
        }
        Poll::Sealed
    }
}

impl Source for FileSource {
    type Cursor = ();

    fn poll(&mut self, epoch: Epoch, feed: &mut Feed<'_>) -> anyhow::Result<Poll> {
        if self.serving.is_some() {
            return Ok(self.poll_serving(feed));
        }
        if self.waited != Some(epoch) {
            if self.pace.follow && STOP_SERVING.load(Ordering::SeqCst) {
                self.stopped = true;
                return Ok(Poll::Sealed);
            }
            let left = self.pace.epoch_wait(epoch, self.epoch_ms);
            if !left.is_zero() {
                return Ok(Poll::Again(left.min(Duration::from_millis(200))));
            }
            self.waited = Some(epoch);
            if let Some(x) = &self.actions {
                x.note_read(epoch, now_ms());
            }
        }
        if let Some(due) = self.rate_due {
            let left = due.saturating_sub(self.pace.started.elapsed());
            if !left.is_zero() {
                return Ok(Poll::Again(left));
            }
            self.rate_due = None;
        }
        for p in self.parts.iter_mut() {
            let before = p.bytes_read;
            loop {
                match p.peek(self.epoch_ms, &self.defaults) {
                    Ok(Some(pending)) if pending.epoch <= epoch => {}
                    Ok(_) => break,
                    Err(e) => {
                        self.error.borrow_mut().get_or_insert(e);
                        p.finished = true;
                        break;
                    }
                }
                let line = p.take().expect("peeked");
                let pos = Pos { partition: p.partition, offset: line.line };
                feed.record(&mut p.clock, p.spec.topic, pos, line.bytes, line.decoded);
                if let Some(r) = self.pace.rate {
                    // Paced reading (benchmarks): `rate` over all workers, the dataflow kept
                    // moving meanwhile. Checked every 32 records: parking per record costs
                    // more than the record itself.
                    self.read += 1;
                    if self.read % 32 == 0 {
                        let total = self.pace.paced_read.fetch_add(32, Ordering::Relaxed) + 32;
                        let due = Duration::from_secs_f64(total as f64 / r);
                        if due > self.pace.started.elapsed() {
                            self.rate_due = Some(due);
                            self.bytes.fetch_add(p.bytes_read - before, Ordering::Relaxed);
                            return Ok(Poll::Again(Duration::ZERO));
                        }
                    }
                }
            }
            self.bytes.fetch_add(p.bytes_read - before, Ordering::Relaxed);
        }
        Ok(Poll::Sealed)
    }

    fn clocks(&self) -> Clocks {
        let facts = || self.parts.iter().filter(|p| p.spec.topic.is_fact());
        Clocks {
            active_min: facts().filter(|p| !p.finished).filter_map(|p| p.clock.watermark_ts()).min(),
            any_active: facts().any(|p| !p.finished),
            max_ts: facts().filter_map(|p| p.clock.seen_max()).max(),
        }
    }

    fn cursor(&self) {}

    fn next_epoch(&mut self, epoch: Epoch) -> anyhow::Result<Option<Epoch>> {
        if self.stopped {
            return Ok(None);
        }
        if self.serving.is_some() {
            return Ok(Some(epoch + 1));
        }
        if let Some(bar) = &self.bar {
            bar.set_position(self.bytes.load(Ordering::Relaxed));
        }
        // The reading above peeked past each file's last line, so a file that ended is already
        // marked finished in the report just sent.
        let mut next: Option<Epoch> = None;
        let mut failed = Vec::new();
        for p in self.parts.iter_mut() {
            match p.peek(self.epoch_ms, &self.defaults) {
                Ok(Some(pending)) => next = Some(next.map_or(pending.epoch, |n| n.min(pending.epoch))),
                Ok(None) => {}
                Err(e) => {
                    failed.push(e);
                    p.finished = true;
                }
            }
        }
        for e in failed {
            self.fail(e);
        }
        Ok(match next {
            Some(n) => Some(n.max(epoch + 1)),
            None if self.serve => {
                self.serving = Some((epoch, false));
                Some(epoch + 1)
            }
            None => None,
        })
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
    let counters = Arc::new(Counters::default());
    crate::metrics::set_job(&params, &counters);
    let scorer = params.scorer.clone();
    let gauges = params.gauges.clone();
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
    let out = target.clone();
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
    let pace = Pace {
        rate: job.rate.filter(|r| *r > 0.0),
        paced_read: Arc::default(),
        started: Instant::now(),
        speed: job.speed.filter(|s| *s > 0.0),
        origin: Arc::default(),
        follow: job.follow,
    };
    let counters_workers = counters.clone();
    let read_bytes_workers = read_bytes.clone();
    let guards = timely::execute(timely::Config::process(job.workers.max(1)), move |worker| {
        let index = worker.index();
        let peers = worker.peers();
        let outputs = Outputs {
            ch: ch_workers.as_ref().map(|s| s.buffers()),
            ch_live,
            live: live.clone(),
            actions: actions.clone(),
            kafka: None,
            resumes: false,
            stop_on_error: false,
        };
        let opened = Tables::open(Some(&out), index, None, Commit::AsComplete, Origin::Files(files.clone()), outputs);
        let tables = Rc::new(RefCell::new(opened.map_err(|e| format!("{e:#}"))?));
        let error: Rc<RefCell<Option<anyhow::Error>>> = Rc::default();
        // This worker's partitions.
        let mut parts: Vec<FilePartition> = Vec::new();
        for (i, spec) in files.iter().enumerate() {
            if i % peers == index {
                match FilePartition::open(i as u32, spec.clone(), params.lateness_ms, params.jump) {
                    Ok(p) => parts.push(p),
                    Err(e) => {
                        error.borrow_mut().get_or_insert(e);
                    }
                }
            }
        }
        let source = FileSource {
            parts,
            epoch_ms,
            defaults: params.defaults.clone(),
            pace: pace.clone(),
            read: 0,
            rate_due: None,
            waited: None,
            actions: actions.clone(),
            serve: serve && index == 0 && actions.is_some(),
            serving: None,
            stopped: false,
            error: error.clone(),
            bytes: read_bytes_workers.clone(),
            bar: if index == 0 { bar_worker.clone() } else { None },
        };
        let setup = Setup {
            params: params.clone(),
            snapshots: operators::checkpoint::Snapshots::new(),
            // Every worker reports at epoch 0, so the watermark knows all of them from the start.
            first_epoch: 0,
            max_in_flight: MAX_EPOCHS_IN_FLIGHT,
            counters: counters_workers.clone(),
            checkpoint_due: Box::new(|_| false),
            max_future_seconds: None,
        };
        let driven = driver::drive(worker, setup, source, tables.clone(), &mut |_, (), _, _| Ok(()));
        let mut t = tables.borrow_mut();
        if let Err(e) = driven.as_ref() {
            t.error.get_or_insert(anyhow::anyhow!("{e:#}"));
        }
        if let Some(e) = error.borrow_mut().take() {
            t.error.get_or_insert(e);
        }
        match (t.error.take(), driven) {
            (Some(e), _) => Err(format!("{e:#}")),
            (None, Ok(d)) => {
                let mut summary = std::mem::take(&mut t.summary);
                summary.lines_read = d.counts.records_read;
                summary.late = d.counts.late;
                summary.duplicates = d.counts.duplicates;
                summary.dead_letters = d.counts.dead_letters;
                Ok(summary)
            }
            (None, Err(e)) => Err(format!("{e:#}")),
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
    total.watermark_ms = watermark_of(&gauges);
    if target != job.out {
        crate::sinks::parquet::rerun::commit(&job.out)?;
    }
    Ok(total)
}

/// The watermark a job's gauges hold, if an epoch with data completed.
pub(crate) fn watermark_of(gauges: &operators::Gauges) -> Option<i64> {
    Some(gauges.watermark_ms.load(Ordering::Relaxed)).filter(|&w| w != 0)
}
