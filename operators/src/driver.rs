//! The epoch driver: the one loop through which every mode feeds the dataflow — `replay` and
//! `demo` over files, `run` over Kafka, the oracle tests over an in-memory scenario.
//!
//! The driver builds the dataflow ([`crate::brandpulse_with`]) on its worker, wires every output
//! to a [`Sinks`] set, and then reads its [`Source`] epoch by epoch: decoded records pass the
//! lateness check of their partition ([`Feed::record`]) and enter the dataflow; after each
//! epoch the worker sends its watermark report; epochs complete in order behind a bound of
//! epochs in flight; complete epochs that a checkpoint covers are committed. The counts that
//! every mode reports (lines read, late, duplicates, dead letters by reason) and the watermark
//! are kept here, once ([`Counters`]).
//!
//! # The source protocol
//!
//! - **Epoch.** A timely timestamp: a batch of input that the operators process whole, in
//!   `(ts, partition, offset)` order. The source decides where epochs start and end (event-time
//!   rounds for files, wall-clock batches or catch-up buckets for Kafka); epochs only grow.
//!   Every record a source hands over during [`Source::poll`] belongs to the epoch being read.
//! - **Partitions and positions.** A record comes from a partition (a number unique in the job:
//!   a file, a Kafka partition) at an offset (a line, a Kafka offset); [`crate::Pos`]. The
//!   source owns each partition's lateness clock ([`PartitionClock`]) and hands it with the
//!   record, so the clock is saved with the partition's cursor.
//! - **Reading an epoch.** The driver calls [`Source::poll`] until it returns [`Poll::Sealed`].
//!   [`Poll::Again`] asks the driver to step the dataflow and poll again (a live source reading
//!   in time slices, a paced source waiting for the wall clock); [`Poll::Advance`] moves on to a
//!   later epoch without a report for the epochs in between (catch-up buckets).
//! - **Watermark.** After an epoch the driver reports [`Source::clocks`]: the smallest `M_p` of
//!   the worker's active fact partitions, whether any is active, the largest `ts` seen.
//! - **End of input.** [`Source::next_epoch`] returns `None`: the driver drops its inputs and
//!   the operators write every remaining state as final (a bounded input).
//! - **Errors.** An error from the source or a sink ends this worker's loop and is returned; a
//!   record that cannot be used is never an error: it is a dead letter (SPEC §9).
//! - **Restart.** [`Source::cursor`] says where reading resumes after the epoch just read; the
//!   driver keeps it per epoch and hands the cursor of a checkpointed epoch, with the operator
//!   snapshots, to the commit function once the epoch is complete.

use crate::checkpoint::Snapshots;
use crate::watermark::PartitionClock;
use crate::{brandpulse_with, Dim, Epoch, Fact, Inputs, Millis, Params, Pos, Rejected, WatermarkReport};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, Decoded, Event, Topic};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::{Handle, Input};
use timely::dataflow::operators::Probe;
use timely::dataflow::{ProbeHandle, StreamVec};
use timely::worker::Worker;

/// The longest a waiting worker parks before it looks at its inputs again: long enough not to
/// spin (tests and jobs share few cores), short enough to be woken promptly by the others.
const PARK: Duration = Duration::from_millis(1);

/// What a poll of a [`Source`] says about the epoch being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    /// More records of this epoch may come: step the dataflow (parking at most this long) and
    /// poll again.
    Again(Duration),
    /// The records that follow belong to this later epoch: advance the inputs to it (no report
    /// for the epochs in between) and poll again.
    Advance(Epoch),
    /// Every record of the epoch has been read.
    Sealed,
}

/// A worker's clocks for the watermark after an epoch (SPEC §3; see [`WatermarkReport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Clocks {
    /// Smallest `M_p` over the worker's active fact partitions (a partition with data still to
    /// come and none read yet holds it at [`crate::NO_WATERMARK`]).
    pub active_min: Option<Millis>,
    /// Whether any fact partition of the worker is active (has not ended).
    pub any_active: bool,
    /// Largest `ts` of any fact partition of the worker so far.
    pub max_ts: Option<Millis>,
}

/// The input of one worker (see the module documentation for the protocol).
pub trait Source {
    /// Where reading resumes after an epoch (saved with a checkpoint).
    type Cursor: Clone;
    /// Reads records of `epoch` into `feed`.
    ///
    /// # Errors
    /// The input failed (I/O, the broker): this worker stops.
    fn poll(&mut self, epoch: Epoch, feed: &mut Feed<'_>) -> anyhow::Result<Poll>;
    /// The worker's clocks after the records read so far.
    fn clocks(&self) -> Clocks;
    /// Where reading resumes after the records read so far.
    fn cursor(&self) -> Self::Cursor;
    /// The next epoch to read after `epoch` (greater than it), or `None` at the end of the input.
    ///
    /// # Errors
    /// The input failed.
    fn next_epoch(&mut self, epoch: Epoch) -> anyhow::Result<Option<Epoch>>;
}

/// Where the dataflow's outputs go, on the worker that produced them. Each method takes the
/// rows of one epoch; a method that fails records its error for [`Sinks::take_error`].
pub trait Sinks {
    /// Final brand_metrics_minute rows.
    fn brand_minutes(&mut self, epoch: Epoch, rows: Vec<BrandMinuteRow>);
    /// Final ad_metrics_minute rows.
    fn ad_minutes(&mut self, epoch: Epoch, rows: Vec<AdMinuteRow>);
    /// Final care_cases rows.
    fn care_cases(&mut self, epoch: Epoch, rows: Vec<CareCaseRow>);
    /// Alerts as they open (the kill switch acts on them).
    fn alerts_opened(&mut self, epoch: Epoch, rows: Vec<AlertRow>);
    /// Final alert rows.
    fn alerts(&mut self, epoch: Epoch, rows: Vec<AlertRow>);
    /// Brand status rows.
    fn brand_status(&mut self, epoch: Epoch, rows: Vec<BrandStatusRow>);
    /// Dead letters: records rejected by the source side of the driver (undecodable, late, too
    /// far in the future) and inside the dataflow. The driver has counted them.
    fn dead_letters(&mut self, epoch: Epoch, rows: Vec<Rejected>);
    /// Live changes (with [`Params::live`]): current brand_metrics_minute values.
    fn live_brand_minutes(&mut self, _epoch: Epoch, _rows: Vec<BrandMinuteRow>) {}
    /// Live changes: current ad_metrics_minute values.
    fn live_ad_minutes(&mut self, _epoch: Epoch, _rows: Vec<AdMinuteRow>) {}
    /// Live changes: current care_cases rows.
    fn live_care_cases(&mut self, _epoch: Epoch, _rows: Vec<CareCaseRow>) {}
    /// Live changes: current brand_status rows.
    fn live_brand_status(&mut self, _epoch: Epoch, _rows: Vec<BrandStatusRow>) {}
    /// Dropped duplicates, by topic (the driver has counted them).
    fn duplicates(&mut self, _epoch: Epoch, _topics: Vec<Topic>) {}
    /// Brands whose publishing resumed by `auto_resume`.
    fn auto_resumed(&mut self, _epoch: Epoch, _brands: Vec<String>) {}
    /// A dimension row (brand or ad) about to enter the dataflow.
    fn dimension(&mut self, _pos: Pos, _event: &Event) {}
    /// The worker starts reading `epoch` (also when a source advances to it).
    fn start_epoch(&mut self, _epoch: Epoch) {}
    /// Brands whose publishing resumed through the API since the last call, to enter the brand
    /// state (asked on worker 0 as it starts an epoch).
    fn take_resumes(&mut self) -> Vec<String> {
        Vec::new()
    }
    /// The worker has read `epoch` and reported it.
    ///
    /// # Errors
    /// An output failed.
    fn epoch_read(&mut self, _epoch: Epoch) -> anyhow::Result<()> {
        Ok(())
    }
    /// The first error a sink method recorded, if any.
    fn take_error(&mut self) -> Option<anyhow::Error>;
    /// The input ended and the dataflow is done: write everything still held.
    ///
    /// # Errors
    /// An output failed.
    fn finish(&mut self) -> anyhow::Result<()>;
}

/// Counts a worker keeps and every mode reports the same way (the summary, `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records read (lines, Kafka records).
    pub records_read: u64,
    /// Bytes of those records.
    pub bytes_read: u64,
    /// Late events (by the source side's lateness check and inside the dataflow).
    pub late: u64,
    /// Dropped duplicates.
    pub duplicates: u64,
    /// Dead letters by reason (late ones included).
    pub dead_letters: BTreeMap<String, u64>,
}

impl Counts {
    /// One dead letter of `reason` (`late` counts as a late event too).
    pub fn dead(&mut self, reason: &str) {
        if reason == "late" {
            self.late += 1;
        }
        match self.dead_letters.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                self.dead_letters.insert(reason.to_string(), 1);
            }
        }
    }

    /// Adds `o`.
    pub fn merge(&mut self, o: &Counts) {
        self.records_read += o.records_read;
        self.bytes_read += o.bytes_read;
        self.late += o.late;
        self.duplicates += o.duplicates;
        for (k, v) in &o.dead_letters {
            *self.dead_letters.entry(k.clone()).or_default() += v;
        }
    }
}

/// The process-wide counts of a job, summed over its workers as they go (for `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    records_read: AtomicU64,
    bytes_read: AtomicU64,
    late: AtomicU64,
    duplicates: AtomicU64,
    backpressure_pauses: AtomicU64,
    dead_letters: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// The counts so far.
    pub fn snapshot(&self) -> Counts {
        Counts {
            records_read: self.records_read.load(Ordering::Relaxed),
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            late: self.late.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            dead_letters: self.dead_letters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }
    /// One dead letter of `reason` (`late` counts as a late event too).
    pub fn dead(&self, reason: &str) {
        let mut c = Counts::default();
        c.dead(reason);
        self.add(&c);
    }
    /// `n` dropped duplicates.
    pub fn duplicates(&self, n: u64) {
        self.duplicates.fetch_add(n, Ordering::Relaxed);
    }
    /// One record of `bytes` read.
    pub fn read(&self, bytes: u64) {
        self.records_read.fetch_add(1, Ordering::Relaxed);
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }
    /// Times a source waited for the dataflow (epochs in flight at the bound).
    pub fn backpressure_pauses(&self) -> u64 {
        self.backpressure_pauses.load(Ordering::Relaxed)
    }
    /// Adds `c` (a mode that counts outside [`drive`]).
    pub fn add(&self, c: &Counts) {
        self.records_read.fetch_add(c.records_read, Ordering::Relaxed);
        self.bytes_read.fetch_add(c.bytes_read, Ordering::Relaxed);
        self.late.fetch_add(c.late, Ordering::Relaxed);
        self.duplicates.fetch_add(c.duplicates, Ordering::Relaxed);
        if !c.dead_letters.is_empty() {
            let mut d = self.dead_letters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for (k, v) in &c.dead_letters {
                *d.entry(k.clone()).or_default() += v;
            }
        }
    }
}

/// A worker's counts: the totals, and the part not yet added to the job's [`Counters`].
#[derive(Default)]
struct Tally {
    total: Counts,
    unpublished: Counts,
}

impl Tally {
    fn dead(&mut self, reason: &str) {
        self.total.dead(reason);
        self.unpublished.dead(reason);
    }
    fn duplicates(&mut self, n: u64) {
        self.total.duplicates += n;
        self.unpublished.duplicates += n;
    }
    fn read(&mut self, bytes: u64) {
        self.total.records_read += 1;
        self.total.bytes_read += bytes;
        self.unpublished.records_read += 1;
        self.unpublished.bytes_read += bytes;
    }
    fn publish(&mut self, to: &Counters) {
        to.add(&std::mem::take(&mut self.unpublished));
    }
}

/// Hands a source's records to the dataflow, during [`Source::poll`].
pub struct Feed<'a> {
    probe: &'a ProbeHandle<Epoch>,
    facts: &'a mut Handle<Epoch, Fact>,
    dims: &'a mut Handle<Epoch, Dim>,
    sinks: &'a mut dyn Sinks,
    tally: &'a mut Tally,
    rejected: &'a mut Vec<Rejected>,
    /// Records with a `ts` after this are rejected (`run.max_future_seconds`, SPEC §3).
    future: Option<(Millis, u64)>,
}

impl Feed<'_> {
    /// One record read at `pos` of a partition of `topic` whose lateness clock is `clock`:
    /// dead-lettered when it did not decode, is too far in the future or is late; otherwise
    /// sent into the dataflow.
    pub fn record(&mut self, clock: &mut PartitionClock, topic: Topic, pos: Pos, bytes: Vec<u8>, decoded: Decoded) {
        self.tally.read(bytes.len() as u64);
        let ev = match decoded {
            Ok(ev) => ev,
            Err(e) => return self.reject(topic, pos, e.reason.code(), e.detail, bytes),
        };
        if let Some(ts) = ev.ts() {
            if let Some((limit, seconds)) = self.future {
                if ts > limit {
                    let detail = format!(
                        "ts {} is more than run.max_future_seconds = {seconds} ahead of the wall clock",
                        schemas::time::format_rfc3339(ts)
                    );
                    return self.reject(topic, pos, "invalid_value:ts".into(), detail, bytes);
                }
            }
            if !clock.admit(ts) {
                let detail = format!(
                    "ts {} is more than the allowed lateness behind the partition's max {}",
                    schemas::time::format_rfc3339(ts),
                    clock.max_ts().map(schemas::time::format_rfc3339).unwrap_or_default()
                );
                return self.reject(topic, pos, "late".into(), detail, bytes);
            }
        }
        match ev {
            Event::Mention(m) => self.facts.send(Fact::Mention(pos, m, bytes)),
            Event::AdComment(c) => self.facts.send(Fact::Comment(pos, c, bytes)),
            Event::Care(e) => self.facts.send(Fact::Care(pos, e)),
            dim @ (Event::Brand(_) | Event::Ad(_)) => {
                self.sinks.dimension(pos, &dim);
                match dim {
                    Event::Brand(b) => self.dims.send(Dim::Brand(pos, b)),
                    Event::Ad(a) => self.dims.send(Dim::Ad(pos, a)),
                    _ => unreachable!("a dimension row"),
                }
            }
        }
    }

    fn reject(&mut self, topic: Topic, pos: Pos, reason: String, detail: String, raw: Vec<u8>) {
        self.tally.dead(&reason);
        self.rejected.push(Rejected { topic, pos, reason, detail, raw });
    }

    /// A brand's publishing resumed through the API: enters the brand state in this epoch.
    pub fn resume(&mut self, brand_id: String) {
        self.dims.send(Dim::Resume { brand_id });
    }

    /// Whether every output of the dataflow has passed `epoch` (all its rows handed to the sinks).
    pub fn complete(&self, epoch: Epoch) -> bool {
        !self.probe.less_equal(&epoch)
    }
}

/// How a worker drives its source.
pub struct Setup {
    /// The dataflow's parameters.
    pub params: Params,
    /// Operator snapshots: restored from a checkpoint, and taken at checkpoints.
    pub snapshots: Snapshots,
    /// The first epoch read (after a restore: after the checkpoint's).
    pub first_epoch: Epoch,
    /// Epochs read ahead of the oldest incomplete one before the source waits; 0 reads an epoch
    /// only once every earlier one is complete (and the input ends only once every epoch read
    /// is complete, so that rows written at the end carry [`Driven::end_epoch`]).
    pub max_in_flight: usize,
    /// The job's counts, summed over its workers.
    pub counters: Arc<Counters>,
    /// Asked on worker 0 after each epoch it reads: take a checkpoint of this epoch?
    pub checkpoint_due: Box<dyn FnMut(Epoch) -> bool>,
    /// `run.max_future_seconds` (SPEC §3): records more than this ahead of the wall clock
    /// (read once an epoch) are rejected; `None`: no bound (bounded inputs).
    pub max_future_seconds: Option<u64>,
}

/// The operator snapshots handed to [`drive`] do not restore (they are from another version of
/// the dataflow); [`drive`] returns it as its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreError(pub String);

impl std::fmt::Display for RestoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RestoreError {}

/// What [`drive`] did on one worker.
#[derive(Debug, Default)]
pub struct Driven {
    /// This worker's counts.
    pub counts: Counts,
    /// The epoch the inputs ended at: the one after the last epoch read (rows written at the
    /// end of the input carry it).
    pub end_epoch: Epoch,
}

/// Commits a complete checkpointed epoch: `(epoch, the source's cursor after it, the operator
/// snapshots, the sinks)`.
pub type Commit<'a, C, K> = dyn FnMut(Epoch, C, BTreeMap<String, Vec<u8>>, &mut K) -> anyhow::Result<()> + 'a;

/// Builds the dataflow on `worker`, reads `source` to its end into it, and returns this
/// worker's counts once the dataflow is done and `sinks` finished.
///
/// # Errors
/// The snapshots do not restore, the source failed, a sink failed, or a commit failed.
pub fn drive<S: Source, K: Sinks + 'static>(
    worker: &mut Worker,
    mut setup: Setup,
    mut source: S,
    sinks: Rc<RefCell<K>>,
    commit: &mut Commit<'_, S::Cursor, K>,
) -> anyhow::Result<Driven> {
    let index = worker.index();
    let probe = ProbeHandle::new();
    let tally = Rc::new(RefCell::new(Tally::default()));
    let (mut facts_in, mut dims_in, mut reports_in) = worker.dataflow::<Epoch, _, _>(|scope| {
        let (facts_in, facts) = scope.new_input::<Fact>();
        let (dims_in, dims) = scope.new_input::<Dim>();
        let (reports_in, reports) = scope.new_input::<WatermarkReport>();
        let outs = brandpulse_with(Inputs { facts, dims, reports }, setup.params.clone(), &setup.snapshots);
        wire(outs.brand_minutes, &probe, &sinks, |k, e, rows| k.brand_minutes(e, rows));
        wire(outs.ad_minutes, &probe, &sinks, |k, e, rows| k.ad_minutes(e, rows));
        wire(outs.care_cases, &probe, &sinks, |k, e, rows| k.care_cases(e, rows));
        wire(outs.alerts_opened, &probe, &sinks, |k, e, rows| k.alerts_opened(e, rows));
        wire(outs.alerts, &probe, &sinks, |k, e, rows| k.alerts(e, rows));
        wire(outs.brand_status, &probe, &sinks, |k, e, rows| k.brand_status(e, rows));
        wire(outs.auto_resumed, &probe, &sinks, |k, e, rows| k.auto_resumed(e, rows));
        wire(outs.live_brand_minutes, &probe, &sinks, |k, e, rows| k.live_brand_minutes(e, rows));
        wire(outs.live_ad_minutes, &probe, &sinks, |k, e, rows| k.live_ad_minutes(e, rows));
        wire(outs.live_care_cases, &probe, &sinks, |k, e, rows| k.live_care_cases(e, rows));
        wire(outs.live_brand_status, &probe, &sinks, |k, e, rows| k.live_brand_status(e, rows));
        {
            let tally = tally.clone();
            let counters = setup.counters.clone();
            wire(outs.rejected, &probe, &sinks, move |k, e, rows| {
                let mut t = tally.borrow_mut();
                for r in &rows {
                    t.dead(&r.reason);
                }
                t.publish(&counters);
                k.dead_letters(e, rows)
            });
        }
        {
            let tally = tally.clone();
            let counters = setup.counters.clone();
            wire(outs.duplicates, &probe, &sinks, move |k, e, topics| {
                let mut t = tally.borrow_mut();
                t.duplicates(topics.len() as u64);
                t.publish(&counters);
                k.duplicates(e, topics)
            });
        }
        (facts_in, dims_in, reports_in)
    });
    setup.snapshots.check_restored().map_err(RestoreError)?;

    let mut epoch = setup.first_epoch;
    let advance = |facts: &mut Handle<Epoch, Fact>, dims: &mut Handle<Epoch, Dim>, reports: &mut Handle<Epoch, WatermarkReport>, e: Epoch| {
        facts.advance_to(e);
        dims.advance_to(e);
        reports.advance_to(e);
    };
    advance(&mut facts_in, &mut dims_in, &mut reports_in, epoch);
    // Cursors of epochs read but not yet complete, for the checkpoint that may cover them.
    let mut cursors: BTreeMap<Epoch, S::Cursor> = BTreeMap::new();
    let mut in_flight: VecDeque<Epoch> = VecDeque::new();
    let retire = |in_flight: &mut VecDeque<Epoch>, probe: &ProbeHandle<Epoch>| {
        while in_flight.front().is_some_and(|e| !probe.less_equal(e)) {
            in_flight.pop_front();
        }
    };
    loop {
        {
            let mut k = sinks.borrow_mut();
            k.start_epoch(epoch);
            if index == 0 {
                for brand_id in k.take_resumes() {
                    dims_in.send(Dim::Resume { brand_id });
                }
            }
        }
        let future =
            setup.max_future_seconds.map(|s| ((setup.params.clock)().saturating_add((s as i64).saturating_mul(1000)), s));
        let mut rejected = Vec::new();
        loop {
            let poll = {
                let mut k = sinks.borrow_mut();
                let mut t = tally.borrow_mut();
                let mut feed = Feed {
                    probe: &probe,
                    facts: &mut facts_in,
                    dims: &mut dims_in,
                    sinks: &mut *k,
                    tally: &mut t,
                    rejected: &mut rejected,
                    future,
                };
                source.poll(epoch, &mut feed)?
            };
            match poll {
                Poll::Sealed => break,
                Poll::Again(park) => {
                    worker.step_or_park(Some(park));
                    retire(&mut in_flight, &probe);
                }
                Poll::Advance(e) => {
                    assert!(e > epoch, "a source advanced from epoch {epoch} to {e}: epochs only grow");
                    epoch = e;
                    advance(&mut facts_in, &mut dims_in, &mut reports_in, epoch);
                    sinks.borrow_mut().start_epoch(epoch);
                }
            }
        }
        let clocks = source.clocks();
        let checkpoint = index == 0 && (setup.checkpoint_due)(epoch);
        reports_in.send(WatermarkReport {
            worker: index,
            active_min: clocks.active_min,
            any_active: clocks.any_active,
            max_ts: clocks.max_ts,
            checkpoint,
        });
        cursors.insert(epoch, source.cursor());
        in_flight.push_back(epoch);
        {
            let mut k = sinks.borrow_mut();
            if !rejected.is_empty() {
                k.dead_letters(epoch, rejected);
            }
            k.epoch_read(epoch)?;
            tally.borrow_mut().publish(&setup.counters);
        }
        commit_complete(&probe, &setup.snapshots, &mut cursors, &sinks, commit)?;
        if let Some(e) = sinks.borrow_mut().take_error() {
            return Err(e);
        }
        let Some(next) = source.next_epoch(epoch)? else { break };
        assert!(next > epoch, "a source's next epoch {next} after {epoch}: epochs only grow");
        epoch = next;
        advance(&mut facts_in, &mut dims_in, &mut reports_in, epoch);
        retire(&mut in_flight, &probe);
        if setup.max_in_flight == 0 {
            // Every epoch before the next one completes first.
            while probe.less_than(&epoch) {
                worker.step_or_park(Some(PARK));
            }
            retire(&mut in_flight, &probe);
            commit_complete(&probe, &setup.snapshots, &mut cursors, &sinks, commit)?;
        } else if in_flight.len() > setup.max_in_flight {
            setup.counters.backpressure_pauses.fetch_add(1, Ordering::Relaxed);
            while in_flight.len() > setup.max_in_flight {
                worker.step_or_park(Some(PARK));
                retire(&mut in_flight, &probe);
            }
            commit_complete(&probe, &setup.snapshots, &mut cursors, &sinks, commit)?;
        }
    }
    // One epoch more, so that rows written at the end of the input carry the epoch after the
    // last one read.
    epoch += 1;
    advance(&mut facts_in, &mut dims_in, &mut reports_in, epoch);
    if setup.max_in_flight == 0 {
        // Every epoch read completes before the input ends: rows written at the end carry
        // `epoch`.
        while probe.less_than(&epoch) {
            worker.step_or_park(Some(PARK));
        }
        commit_complete(&probe, &setup.snapshots, &mut cursors, &sinks, commit)?;
    }
    drop(facts_in);
    drop(dims_in);
    drop(reports_in);
    while !probe.done() {
        worker.step_or_park(Some(PARK));
    }
    // Checkpoints of epochs after this worker's input ended take the cursor of its end.
    commit_complete(&probe, &setup.snapshots, &mut cursors, &sinks, commit)?;
    let mut k = sinks.borrow_mut();
    if let Some(e) = k.take_error() {
        return Err(e);
    }
    k.finish()?;
    let mut t = tally.borrow_mut();
    t.publish(&setup.counters);
    Ok(Driven { counts: t.total.clone(), end_epoch: epoch })
}

/// Commits the checkpoints of epochs now complete on this worker, each with the cursor of the
/// last epoch this worker read up to it.
fn commit_complete<C: Clone, K: Sinks>(
    probe: &ProbeHandle<Epoch>,
    snapshots: &Snapshots,
    cursors: &mut BTreeMap<Epoch, C>,
    sinks: &Rc<RefCell<K>>,
    commit: &mut Commit<'_, C, K>,
) -> anyhow::Result<()> {
    for (e, snaps) in snapshots.take_done(|e| !probe.less_equal(&e)) {
        let Some(cursor) = cursors.range(..=e).next_back().map(|(_, c)| c.clone()) else {
            anyhow::bail!("a checkpoint of epoch {e} on a worker that read no epoch up to it");
        };
        commit(e, cursor, snaps, &mut sinks.borrow_mut())?;
    }
    // Complete epochs: only the latest one's cursor can still be needed.
    while cursors.len() > 1 {
        let second = *cursors.keys().nth(1).expect("two entries");
        if probe.less_equal(&second) {
            break;
        }
        cursors.pop_first();
    }
    Ok(())
}

/// Hands the batches of `stream` to `f` with their epoch.
fn wire<'s, D: 'static, K: Sinks + 'static>(
    stream: StreamVec<'s, Epoch, D>,
    probe: &ProbeHandle<Epoch>,
    sinks: &Rc<RefCell<K>>,
    f: impl Fn(&mut K, Epoch, Vec<D>) + 'static,
) {
    let sinks = sinks.clone();
    stream.probe_with(probe).sink(Pipeline, "Sink", move |(input, _frontier)| {
        input.for_each(|cap, data| {
            let epoch = *cap.least().expect("a time");
            f(&mut sinks.borrow_mut(), epoch, std::mem::take(data));
        });
    });
}
