//! `brandpulse run`: the live job — Kafka in; Parquet, Kafka outputs (dead letters, alerts,
//! control) out; periodic checkpoints so a restart continues where the last checkpoint left off.
//!
//! It runs on the one epoch driver ([`operators::driver::drive`]) like replay: the Kafka
//! partitions of each worker are its source ([`KafkaInput`], which documents the epochs:
//! bootstrap, catch-up buckets, live wall-clock batches), the output tables its sinks
//! ([`Tables`]) with the checkpoint commit policy.
//!
//! Delivery: Parquet rows are written at checkpoints (every `run.checkpoint_seconds`) together
//! with the operator state and the source offsets, so after a crash or `kill -9` the job resumes
//! from the last checkpoint and writes each final row exactly once. Kafka outputs are at least
//! once (keyed, see `sinks::kafka`). SIGINT/SIGTERM take a last checkpoint and exit.

use crate::checkpoint::{CheckpointStore, Restored, WorkerPart};
use crate::config::Config;
use crate::live::Live;
use crate::sinks::clickhouse::ClickHouseSink;
use crate::sinks::kafka::KafkaOutputs;
use crate::sinks::tables::{Commit, Origin, Outputs, Tables};
use crate::sources::kafka::config::StartFrom;
use crate::sources::kafka::input::{InputSetup, KafkaInput};
use crate::sources::kafka::{self, KafkaSource};
use crate::summary::Summary;
use operators::driver::{self, Setup};
use operators::Epoch;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// A stop request (SIGINT/SIGTERM) and the last checkpoint it asked for.
#[derive(Default)]
struct Stop {
    /// Set by the first signal: reading ends and a last checkpoint is taken.
    requested: Arc<AtomicBool>,
    /// The epoch of that last checkpoint (0: not yet asked for).
    final_epoch: AtomicU64,
}

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
    let stop = Arc::new(Stop::default());
    {
        let requested = stop.requested.clone();
        let _ = ctrlc::set_handler(move || {
            if requested.swap(true, Ordering::SeqCst) {
                eprintln!("second stop signal: exiting without a last checkpoint");
                std::process::exit(130);
            }
            eprintln!("stop requested: taking a last checkpoint");
        });
    }
    {
        // Exits the process once the checkpoint requested after a stop signal is committed.
        let store = store.clone();
        let outputs = outputs.clone();
        let stop = stop.clone();
        std::thread::Builder::new().name("brandpulse-stop".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            let f = stop.final_epoch.load(Ordering::SeqCst);
            if stop.requested.load(Ordering::SeqCst) && f != 0 && store.committed() >= f {
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
        let part = restored.as_ref().as_ref().map(|r| r.parts[index].clone()).unwrap_or_default();
        let result = (|| -> anyhow::Result<Summary> {
            let out = Outputs {
                ch: ch_workers.as_ref().map(|s| s.buffers()),
                ch_live: config.clickhouse.live,
                live: Some(live.clone()),
                actions: Some(actions_w.clone()),
                kafka: Some(outputs_w.clone()),
                resumes: true,
                stop_on_error: true,
            };
            let seqs = restored.is_some().then_some(&part.parquet_seq);
            let origin = Origin::Kafka(partitions.clone());
            let tables = Rc::new(RefCell::new(Tables::open(out_dir.as_deref(), index, seqs, Commit::AtCheckpoint, origin, out)?));
            let snapshots = if restored.is_some() {
                operators::Snapshots::restoring(part.snapshots.clone())
            } else {
                operators::Snapshots::new()
            };
            let source = KafkaSource::open(
                &config.kafka,
                &partitions,
                index,
                workers,
                &part.cursors,
                params.lateness_ms,
                params.jump,
                stop_at_end,
            )?;
            // The first epoch reads the dimension topics; after a restore, it follows the
            // checkpoint's.
            let first: Epoch = restored.as_ref().as_ref().map_or(0, |r| r.current.epoch) + 1;
            let input = KafkaInput::new(
                source,
                InputSetup {
                    epoch_ms: config.run.epoch_ms.max(1),
                    bucket_ms: config.run.catch_up_epoch_seconds.max(1) as i64 * 1000,
                    idle: Duration::from_secs(config.idle_timeout_seconds),
                    bootstrap_timeout: Duration::from_secs(config.kafka.metadata_timeout_seconds.max(1)),
                    max_records: config.run.max_records_per_epoch.max(1),
                    stop_at_end,
                    first,
                    lateness_ms: params.lateness_ms,
                    jump: params.jump,
                    defaults: params.defaults.clone(),
                },
                actions_w.clone(),
                stop.requested.clone(),
            );
            // Worker 0 asks for a checkpoint every `run.checkpoint_seconds`, and once more after
            // a stop request (the process exits when that one is committed).
            let checkpoint_due: Box<dyn FnMut(Epoch) -> bool> = if index != 0 || stop_at_end {
                Box::new(|_| false)
            } else {
                let every = Duration::from_secs(config.run.checkpoint_seconds.max(1));
                let mut last = Instant::now();
                let stop = stop.clone();
                Box::new(move |epoch| {
                    let stopping = stop.requested.load(Ordering::SeqCst);
                    let last_one = stopping && stop.final_epoch.load(Ordering::SeqCst) == 0;
                    if last.elapsed() < every && !last_one {
                        return false;
                    }
                    last = Instant::now();
                    if stopping {
                        stop.final_epoch.store(epoch, Ordering::SeqCst);
                    }
                    true
                })
            };
            let setup = Setup {
                params: params.clone(),
                snapshots,
                first_epoch: first,
                max_in_flight: config.run.max_epochs_in_flight.max(1),
                counters: counters.clone(),
                checkpoint_due,
                max_future_seconds: Some(config.run.max_future_seconds),
            };
            let store = store_w.clone();
            let driven = driver::drive(worker, setup, input, tables.clone(), &mut |e, cursors, snapshots, t: &mut Tables| {
                t.write(Some(e))?;
                let part = WorkerPart { cursors, parquet_seq: t.seqs(), snapshots, operators: Vec::new() };
                store.write_part(e, index, &part)?;
                Ok(())
            })
            .map_err(|e| {
                if let Some(r) = e.downcast_ref::<driver::RestoreError>() {
                    anyhow::anyhow!("{r}; the checkpoint under {} is from another version of brandpulse: start without it (--start earliest or latest)", store_w.dir().display())
                } else {
                    e
                }
            })?;
            let mut t = tables.borrow_mut();
            if let Some(e) = t.error.take() {
                return Err(e);
            }
            let mut summary = std::mem::take(&mut t.summary);
            summary.lines_read = driven.counts.records_read;
            summary.bytes_read = driven.counts.bytes_read;
            summary.late = driven.counts.late;
            summary.duplicates = driven.counts.duplicates;
            summary.dead_letters = driven.counts.dead_letters;
            Ok(summary)
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
