//! Runs the real dataflow (`brandpulse_operators::brandpulse`) in process over a [`Scenario`],
//! through the job's own epoch driver (`brandpulse_operators::driver::drive`, as `replay` runs
//! it over files), and captures every output.

use super::gen::Scenario;
use brandpulse_operators::driver::{self, Clocks, Counters, Feed, Poll, Setup, Source};
use brandpulse_operators::watermark::PartitionClock;
use brandpulse_operators::{Epoch, Gauges, Params, Pos, Rejected, Snapshots};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, Event, Topic};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

/// How the source paces the dataflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// Like the replay job: up to 4 epochs in flight. Rows written at the end of the input may
    /// then carry any epoch the operators last saw.
    Replay,
    /// Each epoch completes before the next round is read: rows written at the end of the input
    /// carry the epoch after the last one, so emission epochs compare exactly.
    Sync,
}

/// A dead-letter record, from the source (late) or from the dataflow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Dead {
    /// Topic.
    pub topic: Topic,
    /// Partition.
    pub partition: u32,
    /// Offset (1-based).
    pub offset: u64,
    /// Reason code.
    pub reason: String,
    /// The record's bytes.
    pub raw: Vec<u8>,
}

/// Everything a run produced. Rows carry the epoch at which they were emitted; rows emitted
/// at the end of the input carry the last epoch or the one after it.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct Outputs {
    /// The epoch after the last one fed (rows written at the end of the input carry it).
    pub epochs: u64,
    /// brand_metrics_minute.
    pub brand_minutes: Vec<(Epoch, BrandMinuteRow)>,
    /// ad_metrics_minute.
    pub ad_minutes: Vec<(Epoch, AdMinuteRow)>,
    /// care_cases.
    pub care_cases: Vec<(Epoch, CareCaseRow)>,
    /// Final alert rows.
    pub alerts: Vec<(Epoch, AlertRow)>,
    /// Alerts as they opened.
    pub alerts_opened: Vec<(Epoch, AlertRow)>,
    /// brand_status at the end.
    pub brand_status: Vec<BrandStatusRow>,
    /// Dead letters (source lateness and the dataflow's rejections).
    pub dead: Vec<Dead>,
    /// Dropped duplicates per topic.
    pub duplicates: BTreeMap<Topic, u64>,
}

type Sink<T> = Arc<Mutex<Vec<(Epoch, T)>>>;

#[derive(Default, Clone)]
struct Sinks {
    brand_minutes: Sink<BrandMinuteRow>,
    ad_minutes: Sink<AdMinuteRow>,
    care_cases: Sink<CareCaseRow>,
    alerts: Sink<AlertRow>,
    alerts_opened: Sink<AlertRow>,
    brand_status: Sink<BrandStatusRow>,
    rejected: Sink<Dead>,
    duplicates: Sink<Topic>,
    epochs: Arc<Mutex<u64>>,
}

/// Serialized bytes of a fact record, as the dead letter and `Fact::Comment` carry them.
pub fn raw_of(e: &Event) -> Vec<u8> {
    match e {
        Event::Mention(m) => serde_json::to_vec(m),
        Event::AdComment(c) => serde_json::to_vec(c),
        Event::Care(c) => serde_json::to_vec(c),
        Event::Brand(_) | Event::Ad(_) => Ok(Vec::new()),
    }
    .expect("serializable")
}

/// The job parameters of a scenario.
pub fn params(s: &Scenario) -> Params {
    Params {
        lateness_ms: s.lateness_ms,
        jump: Default::default(),
        case_ttl_ms: s.case_ttl_ms,
        defaults: Arc::new(s.defaults.clone()),
        scorer: brandpulse_operators::sentiment::Scorer::english_only(),
        clock: || 0,
        gauges: Arc::new(Gauges::default()),
        live: false,
    }
}

/// Runs the dataflow over `scenario` on `workers` timely workers and returns its sorted outputs.
pub fn run(scenario: &Arc<Scenario>, workers: usize, pacing: Pacing) -> Outputs {
    let (sinks, _) = run_raw(scenario, workers, pacing, None, None);
    collect(&sinks)
}

/// A checkpoint taken by [`run_restarted`]: per worker, its operator snapshots and where each
/// of its partitions stood (next record, `M_p`).
#[derive(Clone, Default)]
struct Checkpoint {
    epoch: Epoch,
    workers: BTreeMap<usize, (BTreeMap<String, Vec<u8>>, Vec<(usize, usize, PartitionClock)>)>,
}

/// Runs `scenario` uninterrupted with a checkpoint at the first epoch `>= at`, then again from
/// that checkpoint, as a restarted job would: returns the uninterrupted outputs and those of the
/// restart (rows up to the checkpoint from the first run, the rest from the second).
pub fn run_restarted(scenario: &Arc<Scenario>, workers: usize, at: Epoch) -> (Outputs, Outputs, Epoch) {
    let (first, checkpoint) = run_raw(scenario, workers, Pacing::Sync, Some(at), None);
    let checkpoint = checkpoint.expect("the checkpoint was taken");
    assert_eq!(checkpoint.workers.len(), workers, "every worker took its part of the checkpoint");
    let e = checkpoint.epoch;
    let (second, _) = run_raw(scenario, workers, Pacing::Sync, None, Some(Arc::new(checkpoint)));
    let upto = Sinks::default();
    fn keep<T: Clone>(from: &Sink<T>, into: &Sink<T>, f: impl Fn(Epoch) -> bool) {
        let rows = from.lock().expect("lock");
        into.lock().expect("lock").extend(rows.iter().filter(|(t, _)| f(*t)).cloned());
    }
    macro_rules! merge {
        ($($f:ident),*) => {$(
            keep(&first.$f, &upto.$f, |t| t <= e);
            keep(&second.$f, &upto.$f, |_| true);
        )*};
    }
    merge!(brand_minutes, ad_minutes, care_cases, alerts, alerts_opened, brand_status, rejected, duplicates);
    *upto.epochs.lock().expect("lock") = *second.epochs.lock().expect("lock");
    (collect(&first), collect(&upto), e)
}

/// The scenario's partitions of one worker, as a [`Source`] of the driver: read like the replay
/// job reads its files (at each epoch every record whose epoch has come; then the next epoch with
/// data in any of this worker's partitions). The cursor is where each partition stands.
struct ScenarioSource {
    scn: Arc<Scenario>,
    parts: Vec<Part>,
}

/// Partition `p` of a scenario: the next record to read and its lateness clock.
#[derive(Clone, Copy)]
struct Part {
    p: usize,
    next: usize,
    finished: bool,
    clock: PartitionClock,
}

/// Where each partition of a worker stood: (partition, next record, clock).
type Cursor = Vec<(usize, usize, PartitionClock)>;

impl Source for ScenarioSource {
    type Cursor = Cursor;

    fn poll(&mut self, epoch: Epoch, feed: &mut Feed<'_>) -> anyhow::Result<Poll> {
        for part in self.parts.iter_mut() {
            let spec = &self.scn.partitions[part.p];
            while part.next < spec.records.len() && spec.epochs[part.next] <= epoch {
                let i = part.next;
                part.next += 1;
                let pos = Pos { partition: part.p as u32, offset: i as u64 + 1 };
                let ev = spec.records[i].clone();
                feed.record(&mut part.clock, spec.topic, pos, raw_of(&ev), Ok(ev));
            }
            if part.next == spec.records.len() {
                part.finished = true;
            }
        }
        Ok(Poll::Sealed)
    }

    fn clocks(&self) -> Clocks {
        let facts = || self.parts.iter().filter(|p| self.scn.partitions[p.p].topic.is_fact());
        Clocks {
            active_min: facts().filter(|p| !p.finished).filter_map(|p| p.clock.watermark_ts()).min(),
            any_active: facts().any(|p| !p.finished),
            max_ts: facts().filter_map(|p| p.clock.seen_max()).max(),
        }
    }

    fn cursor(&self) -> Cursor {
        self.parts.iter().map(|p| (p.p, p.next, p.clock)).collect()
    }

    fn next_epoch(&mut self, epoch: Epoch) -> anyhow::Result<Option<Epoch>> {
        let next = self.parts.iter().filter(|p| !p.finished).map(|p| self.scn.partitions[p.p].epochs[p.next]).min();
        Ok(next.map(|n| n.max(epoch + 1)))
    }
}

impl driver::Sinks for Sinks {
    fn brand_minutes(&mut self, epoch: Epoch, rows: Vec<BrandMinuteRow>) {
        keep(&self.brand_minutes, epoch, rows)
    }
    fn ad_minutes(&mut self, epoch: Epoch, rows: Vec<AdMinuteRow>) {
        keep(&self.ad_minutes, epoch, rows)
    }
    fn care_cases(&mut self, epoch: Epoch, rows: Vec<CareCaseRow>) {
        keep(&self.care_cases, epoch, rows)
    }
    fn alerts_opened(&mut self, epoch: Epoch, rows: Vec<AlertRow>) {
        keep(&self.alerts_opened, epoch, rows)
    }
    fn alerts(&mut self, epoch: Epoch, rows: Vec<AlertRow>) {
        keep(&self.alerts, epoch, rows)
    }
    fn brand_status(&mut self, epoch: Epoch, rows: Vec<BrandStatusRow>) {
        keep(&self.brand_status, epoch, rows)
    }
    fn dead_letters(&mut self, epoch: Epoch, rows: Vec<Rejected>) {
        let rows = rows
            .into_iter()
            .map(|r| Dead { topic: r.topic, partition: r.pos.partition, offset: r.pos.offset, reason: r.reason, raw: r.raw })
            .collect();
        keep(&self.rejected, epoch, rows)
    }
    fn duplicates(&mut self, epoch: Epoch, topics: Vec<Topic>) {
        keep(&self.duplicates, epoch, topics)
    }
    fn take_error(&mut self) -> Option<anyhow::Error> {
        None
    }
    fn finish(&mut self) -> anyhow::Result<()> {
        Ok(())
    }
}

fn keep<T>(into: &Sink<T>, epoch: Epoch, rows: Vec<T>) {
    into.lock().expect("sink lock").extend(rows.into_iter().map(|r| (epoch, r)));
}

/// Runs the dataflow through the job's epoch driver ([`driver::drive`]), as `replay` does.
fn run_raw(
    scenario: &Arc<Scenario>,
    workers: usize,
    pacing: Pacing,
    checkpoint_at: Option<Epoch>,
    resume: Option<Arc<Checkpoint>>,
) -> (Sinks, Option<Checkpoint>) {
    let sinks = Sinks::default();
    let s2 = sinks.clone();
    let scn = scenario.clone();
    let taken: Arc<Mutex<Checkpoint>> = Arc::default();
    let taken_w = taken.clone();
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let mine = resume.as_ref().map(|c| c.workers[&index].clone());
        let snapshots = match &mine {
            Some((snaps, _)) => Snapshots::restoring(snaps.clone()),
            None => Snapshots::new(),
        };
        let peers = worker.peers();
        // Worker `i % peers` owns partition `i`.
        let mut parts: Vec<Part> = (0..scn.partitions.len())
            .filter(|i| i % peers == index)
            .map(|p| Part {
                p,
                next: 0,
                finished: scn.partitions[p].records.is_empty(),
                clock: PartitionClock::new(scn.lateness_ms),
            })
            .collect();
        let mut first_epoch: Epoch = 0;
        if let (Some(c), Some((_, at))) = (&resume, &mine) {
            for part in parts.iter_mut() {
                let (_, next, clock) = at.iter().find(|(p, _, _)| *p == part.p).copied().expect("saved");
                part.next = next;
                part.finished = next == scn.partitions[part.p].records.len();
                part.clock = clock;
            }
            let next = parts.iter().filter(|p| !p.finished).map(|p| scn.partitions[p.p].epochs[p.next]).min();
            first_epoch = next.unwrap_or(c.epoch + 1).max(c.epoch + 1);
        }
        let mut requested = false;
        let setup = Setup {
            params: params(&scn),
            snapshots,
            first_epoch,
            // Replay: up to 4 epochs in flight, like the replay job; Sync: each epoch completes
            // before the next is read (and rows written at the end of the input carry the
            // epoch after the last one).
            max_in_flight: match pacing {
                Pacing::Replay => 4,
                Pacing::Sync => 0,
            },
            counters: Arc::new(Counters::default()),
            checkpoint_due: Box::new(move |e| {
                let due = !requested && checkpoint_at.is_some_and(|at| e >= at);
                requested |= due;
                due
            }),
            max_future_seconds: None,
        };
        let source = ScenarioSource { scn: scn.clone(), parts };
        let taken = taken_w.clone();
        let driven = driver::drive(worker, setup, source, Rc::new(RefCell::new(s2.clone())), &mut |e, at, snaps, _| {
            let mut t = taken.lock().expect("lock");
            t.epoch = e;
            t.workers.insert(index, (snaps, at));
            Ok(())
        })
        .expect("the driver runs the scenario");
        let mut e = s2.epochs.lock().expect("lock");
        *e = (*e).max(driven.end_epoch);
    })
    .expect("timely starts");
    for r in guards.join() {
        r.expect("a worker panicked");
    }
    let taken = std::mem::take(&mut *taken.lock().expect("lock"));
    (sinks, (!taken.workers.is_empty()).then_some(taken))
}

/// The sorted outputs captured in `sinks`.
fn collect(sinks: &Sinks) -> Outputs {
    fn take<T>(s: &Sink<T>) -> Vec<(Epoch, T)> {
        std::mem::take(&mut *s.lock().expect("lock"))
    }
    let mut out = Outputs {
        epochs: *sinks.epochs.lock().expect("lock"),
        brand_minutes: take(&sinks.brand_minutes),
        ad_minutes: take(&sinks.ad_minutes),
        care_cases: take(&sinks.care_cases),
        alerts: take(&sinks.alerts),
        alerts_opened: take(&sinks.alerts_opened),
        brand_status: take(&sinks.brand_status).into_iter().map(|(_, r)| r).collect(),
        dead: take(&sinks.rejected).into_iter().map(|(_, d)| d).collect(),
        duplicates: BTreeMap::new(),
    };
    for (_, t) in take(&sinks.duplicates) {
        *out.duplicates.entry(t).or_default() += 1;
    }
    sort_outputs(&mut out);
    out
}

fn json_key<T: serde::Serialize>(t: &T) -> String {
    serde_json::to_string(t).expect("serializable")
}

/// Sorts the reference's tables like [`sort_outputs`].
pub fn sort_expected(out: &mut super::reference::Expected) {
    out.brand_minutes.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.ad_minutes.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.care_cases.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.alerts.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.alerts_opened.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.brand_status.sort_by_cached_key(json_key);
    out.dead.sort();
}

/// Sorts every table of `out` (rows by their JSON form), so that runs compare directly.
pub fn sort_outputs(out: &mut Outputs) {
    out.brand_minutes.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.ad_minutes.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.care_cases.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.alerts.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.alerts_opened.sort_by_cached_key(|(e, r)| (json_key(r), *e));
    out.brand_status.sort_by_cached_key(json_key);
    out.dead.sort();
}
