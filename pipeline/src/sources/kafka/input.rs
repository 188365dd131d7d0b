//! The Kafka partitions of one worker, read as a [`Source`] of the epoch driver (`run`).
//!
//! Epochs, in the order they are read:
//! - **Bootstrap** (the first epoch): the dimension topics (brands, ads) up to the end they had
//!   at start, so that facts of the backlog meet their dimension rows as replay does. Facts read
//!   meanwhile are held by catch-up.
//! - **Catch-up**: the backlog of the fact topics in event-time buckets
//!   ([`super::catch_up`]); bucket `b` is epoch `first + 1 + b`, the same number on every
//!   worker, so one event-time bucket is one epoch job-wide and the results are replay's
//!   whatever order the partitions arrive in ([`Poll::Advance`] moves to a bucket's epoch).
//! - **Live**: wall-clock batches of `run.epoch_ms`, read in time slices ([`Poll::Again`]).
//!
//! A stop request (SIGINT/SIGTERM) ends reading: epochs go on empty until the last checkpoint
//! is committed. With `--stop-at-end` the input ends once every partition reached the end it
//! had at start. The cursor is every partition's next offset and lateness clock; records held
//! by catch-up are read again after a restart.

use super::catch_up::{CatchUp, Ready};
use super::{Assigned, KafkaSource, PartitionCursor};
use crate::actions::Actions;
use operators::driver::{Clocks, Feed, Poll, Source};
use operators::{Epoch, Pos, NO_WATERMARK};
use schemas::BrandProfile;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Records catch-up holds at most before it reads on in arrival order (see [`KafkaInput::lane_done`]).
const MAX_HELD: usize = 500_000;

/// How a worker reads its partitions.
pub struct InputSetup {
    /// `run.epoch_ms`: a live epoch's wall-clock length.
    pub epoch_ms: u64,
    /// `run.catch_up_epoch_seconds`, in ms: a catch-up bucket's event-time width.
    pub bucket_ms: i64,
    /// `idle_timeout_seconds`: a partition without data this long no longer holds the watermark.
    pub idle: Duration,
    /// How long the bootstrap epoch waits at most for the dimension topics
    /// (`kafka.metadata_timeout_seconds`).
    pub bootstrap_timeout: Duration,
    /// `run.max_records_per_epoch`: records read per time slice at most.
    pub max_records: usize,
    /// End the input once every partition reached the end it had at start (`--stop-at-end`).
    pub stop_at_end: bool,
    /// The first epoch (the bootstrap epoch; after a restore, the one after the checkpoint's).
    pub first: Epoch,
    /// Lateness and the jump rule (the catch-up lanes use the partitions' rule).
    pub lateness_ms: i64,
    /// The jump rule.
    pub jump: operators::watermark::JumpRule,
    /// Defaults for brand profiles, to decode with.
    pub defaults: Arc<BrandProfile>,
}

/// One worker's Kafka partitions as a [`Source`] (see the module documentation).
pub struct KafkaInput {
    source: KafkaSource,
    setup: InputSetup,
    actions: Actions,
    stop: Arc<AtomicBool>,
    catch_up: Option<CatchUp>,
    bootstrapping: bool,
    started: Instant,
    /// Catch-up gave up holding (it held more than [`MAX_HELD`] records while some partition
    /// delivered nothing): it hands out what it holds, then reading goes on in arrival order.
    gave_up: bool,
    /// The epoch being read, its wall-clock deadline, and whether a stop was requested when it
    /// started.
    reading: Option<(Epoch, Instant, bool)>,
    /// A catch-up bucket whose epoch the driver advances to ([`Poll::Advance`]).
    pending: Option<u64>,
    /// Every partition reached its end (`--stop-at-end`), as of the epoch just sealed.
    finished: bool,
}

impl KafkaInput {
    /// Reads `source` (opened at the cursors of a restored checkpoint, or at the start offsets);
    /// `stop` is set by a stop request.
    pub fn new(source: KafkaSource, setup: InputSetup, actions: Actions, stop: Arc<AtomicBool>) -> KafkaInput {
        let catch_up = CatchUp::new(
            source.partitions.iter().map(|p| p.id.topic.is_fact()),
            setup.bucket_ms.max(1),
            setup.lateness_ms,
            setup.jump,
        );
        KafkaInput {
            source,
            setup,
            actions,
            stop,
            catch_up: Some(catch_up),
            bootstrapping: true,
            started: Instant::now(),
            gave_up: false,
            reading: None,
            pending: None,
            finished: false,
        }
    }

    /// A partition no longer holds catch-up back once it has read its backlog (with
    /// `--stop-at-end`: reached its end, quiet included, see `END_QUIET`), or once
    /// catch-up gave up.
    fn lane_done(gave_up: bool, stop_at_end: bool, p: &Assigned) -> bool {
        gave_up || if stop_at_end { p.at_end() } else { p.next_offset >= p.start_high || p.backlog_read() }
    }

    fn read_slice(&mut self, deadline: Instant, feed: &mut Feed<'_>) -> anyhow::Result<usize> {
        let slice = (Instant::now() + Duration::from_millis(2)).min(deadline);
        let defaults = &self.setup.defaults;
        let held = &mut self.catch_up;
        self.source.poll(slice, self.setup.max_records.max(1), |p, rec| {
            let decoded = schemas::decode(p.id.topic, &rec.bytes, defaults);
            match held.as_mut() {
                Some(c) if p.id.topic.is_fact() => c.push(rec.local, rec.offset, rec.bytes.into_owned(), decoded),
                _ => deliver(p, rec.offset, rec.bytes.into_owned(), decoded, feed),
            }
        })
    }

    fn poll_epoch(&mut self, epoch: Epoch, feed: &mut Feed<'_>) -> anyhow::Result<Poll> {
        let (deadline, stopping) = match self.reading {
            Some((e, deadline, stopping)) if e == epoch => (deadline, stopping),
            _ => {
                if self.catch_up.is_none() {
                    self.actions.note_read(epoch, operators::system_clock());
                }
                let deadline = Instant::now() + Duration::from_millis(self.setup.epoch_ms.max(1));
                let stopping = self.stop.load(Ordering::SeqCst);
                self.reading = Some((epoch, deadline, stopping));
                (deadline, stopping)
            }
        };
        if let Some(b) = self.pending.take() {
            // This worker's records of bucket `b`: one epoch.
            let c = self.catch_up.as_mut().expect("a pending bucket is catch-up's");
            let records = c.take(b);
            tracing::trace!(epoch, records = records.len(), still_held = c.held(), "catch-up epoch");
            for (local, r) in records {
                deliver(&mut self.source.partitions[local], r.offset, r.bytes, r.decoded, feed);
            }
            return Ok(Poll::Sealed);
        }
        let (gave_up, stop_at_end) = (self.gave_up, self.setup.stop_at_end);
        // Once every partition has read its backlog, catch-up only hands out what it holds;
        // reading goes on after it, in live epochs.
        let draining = self.catch_up.is_some()
            && !self.bootstrapping
            && self.source.partitions.iter().filter(|p| p.id.topic.is_fact()).all(|p| Self::lane_done(gave_up, stop_at_end, p));
        let read = if stopping || draining { 0 } else { self.read_slice(deadline, feed)? };
        if self.bootstrapping {
            let dims_done = self.source.partitions.iter().filter(|p| !p.id.topic.is_fact()).all(|p| p.backlog_read());
            if dims_done || self.started.elapsed() > self.setup.bootstrap_timeout {
                return Ok(Poll::Sealed);
            }
        } else if let (Some(c), false) = (self.catch_up.as_mut(), stopping) {
            let parts = &self.source.partitions;
            match c.ready(|i| Self::lane_done(gave_up, stop_at_end, &parts[i])) {
                Ready::Wait => {
                    if c.held() > MAX_HELD && !self.gave_up {
                        let lagging: Vec<String> = parts
                            .iter()
                            .filter(|p| p.id.topic.is_fact() && !Self::lane_done(gave_up, stop_at_end, p))
                            .map(|p| format!("{}/{}", p.id.kafka_topic, p.id.partition))
                            .collect();
                        tracing::warn!(held = c.held(), lagging = ?lagging, "catch-up holds too many records while these partitions deliver nothing: reading on in arrival order");
                        self.gave_up = true;
                    }
                }
                Ready::Bucket(b) => {
                    let e = (self.setup.first + 1 + b).max(epoch);
                    self.actions.note_read(e, operators::system_clock());
                    self.pending = Some(b);
                    if e > epoch {
                        self.reading = Some((e, deadline, stopping));
                        return Ok(Poll::Advance(e));
                    }
                    return self.poll_epoch(epoch, feed);
                }
                Ready::Finished => {
                    tracing::info!(epoch, "backlog read: live epochs from here");
                    self.catch_up = None;
                    return Ok(Poll::Sealed);
                }
            }
        } else if Instant::now() >= deadline {
            return Ok(Poll::Sealed);
        }
        let park = if read > 0 { Duration::ZERO } else { Duration::from_millis(1) };
        Ok(Poll::Again(park))
    }
}

/// Hands one record of `p` to the dataflow (the driver dead-letters what it cannot use).
fn deliver(p: &mut Assigned, offset: i64, bytes: Vec<u8>, decoded: schemas::Decoded, feed: &mut Feed<'_>) {
    crate::metrics::KAFKA_RECORDS_READ.fetch_add(1, Ordering::Relaxed);
    let pos = Pos { partition: p.number, offset: offset as u64 };
    feed.record(&mut p.clock, p.id.topic, pos, bytes, decoded);
}

impl Source for KafkaInput {
    type Cursor = BTreeMap<u32, PartitionCursor>;

    fn poll(&mut self, epoch: Epoch, feed: &mut Feed<'_>) -> anyhow::Result<Poll> {
        let poll = self.poll_epoch(epoch, feed)?;
        if poll == Poll::Sealed {
            self.finished = self.setup.stop_at_end
                && !self.bootstrapping
                && self.catch_up.is_none()
                && self.source.all_at_end();
            if self.finished {
                for p in &self.source.partitions {
                    tracing::debug!(topic = %p.id.kafka_topic, partition = p.id.partition, next_offset = p.next_offset, "partition at its end");
                }
            }
        }
        Ok(poll)
    }

    fn clocks(&self) -> Clocks {
        if self.bootstrapping {
            // Facts read while bootstrapping belong to the next epoch: this epoch's report must
            // not count their clocks.
            return Clocks { active_min: Some(NO_WATERMARK), any_active: true, max_ts: None };
        }
        if self.finished {
            // The last report: every partition of this worker ended.
            let max_ts = self.source.partitions.iter().filter(|p| p.id.topic.is_fact()).filter_map(|p| p.clock.seen_max()).max();
            return Clocks { active_min: None, any_active: false, max_ts };
        }
        let now = Instant::now();
        let stop_at_end = self.setup.stop_at_end;
        let mut clocks = Clocks { active_min: None, any_active: !stop_at_end, max_ts: None };
        for (i, p) in self.source.partitions.iter().enumerate().filter(|(_, p)| p.id.topic.is_fact()) {
            clocks.max_ts = clocks.max_ts.max(p.clock.seen_max());
            // Records held by catch-up are still to come.
            let backlog = !p.backlog_read() || self.catch_up.as_ref().is_some_and(|c| c.first_held(i).is_some());
            let active = backlog
                || if stop_at_end { !p.at_end() } else { p.last_data.is_some_and(|t| now.duration_since(t) < self.setup.idle) };
            if active {
                clocks.any_active = true;
                // A partition with data to come but none read yet holds the watermark.
                let m = p.clock.watermark_ts().unwrap_or(NO_WATERMARK);
                clocks.active_min = Some(clocks.active_min.map_or(m, |a| a.min(m)));
            }
        }
        clocks
    }

    fn cursor(&self) -> Self::Cursor {
        let mut cursors = self.source.cursors();
        if let Some(c) = &self.catch_up {
            // A restart reads held records again.
            for (i, p) in self.source.partitions.iter().enumerate() {
                if let (Some(o), Some(cur)) = (c.first_held(i), cursors.get_mut(&p.number)) {
                    cur.next_offset = o;
                }
            }
        }
        cursors
    }

    fn next_epoch(&mut self, epoch: Epoch) -> anyhow::Result<Option<Epoch>> {
        if self.finished {
            return Ok(None);
        }
        self.bootstrapping = false;
        if self.catch_up.is_some() {
            return Ok(Some(epoch + 1));
        }
        let wall = operators::system_clock() as u64 / self.setup.epoch_ms.max(1);
        Ok(Some(wall.max(epoch + 1)))
    }
}
