//! Runs the real dataflow (`brandpulse_operators::brandpulse`) in process over a [`Scenario`],
//! feeding it like `pipeline/src/job.rs` feeds it from files, and captures every output.

use super::gen::Scenario;
use brandpulse_operators::watermark::PartitionClock;
use brandpulse_operators::{
    brandpulse_with, Dim, Epoch, Fact, Gauges, Inputs, Params, Pos, Snapshots, WatermarkReport,
};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, Event, Topic};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::Probe;
use timely::dataflow::{ProbeHandle, StreamVec};

/// The longest a waiting worker parks before it looks at its inputs again.
const PARK: std::time::Duration = std::time::Duration::from_millis(1);

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

fn capture<'s, D: Clone + 'static>(stream: StreamVec<'s, Epoch, D>, probe: &ProbeHandle<Epoch>, into: Sink<D>) {
    stream.probe_with(probe).sink(Pipeline, "OracleCapture", move |(input, _frontier)| {
        input.for_each(|cap, data| {
            let t = cap.least().copied().unwrap_or(Epoch::MAX);
            into.lock().expect("sink lock").extend(data.drain(..).map(|d| (t, d)));
        });
    });
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
        let resume = resume.clone();
        let mine = resume.as_ref().map(|c| c.workers[&index].clone());
        let snapshots = match &mine {
            Some((snaps, _)) => Snapshots::restoring(snaps.clone()),
            None => Snapshots::new(),
        };
        let peers = worker.peers();
        let scn = scn.clone();
        let sinks = s2.clone();
        let probe = ProbeHandle::new();
        let params = params(&scn);
        let (mut facts_in, mut dims_in, mut reports_in) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (facts_in, facts) = scope.new_input::<Fact>();
            let (dims_in, dims) = scope.new_input::<Dim>();
            let (reports_in, reports) = scope.new_input::<WatermarkReport>();
            let outs = brandpulse_with(Inputs { facts, dims, reports }, params, &snapshots);
            capture(outs.brand_minutes, &probe, sinks.brand_minutes.clone());
            capture(outs.ad_minutes, &probe, sinks.ad_minutes.clone());
            capture(outs.care_cases, &probe, sinks.care_cases.clone());
            capture(outs.alerts, &probe, sinks.alerts.clone());
            capture(outs.alerts_opened, &probe, sinks.alerts_opened.clone());
            capture(outs.brand_status, &probe, sinks.brand_status.clone());
            capture(outs.duplicates, &probe, sinks.duplicates.clone());
            use timely::dataflow::operators::vec::Map;
            let rejected = outs.rejected.map(|r| Dead {
                topic: r.topic,
                partition: r.pos.partition,
                offset: r.pos.offset,
                reason: r.reason,
                raw: r.raw,
            });
            capture(rejected, &probe, sinks.rejected.clone());
            (facts_in, dims_in, reports_in)
        });

        // This worker's partitions (worker `i % peers` owns partition `i`), read like the replay
        // job reads its files: at each epoch every record whose epoch has come; then one report;
        // then on to the next epoch with data in any of this worker's partitions.
        struct Part {
            p: usize,
            next: usize,
            finished: bool,
            clock: PartitionClock,
        }
        let mut parts: Vec<Part> = (0..scn.partitions.len())
            .filter(|i| i % peers == index)
            .map(|p| Part {
                p,
                next: 0,
                finished: scn.partitions[p].records.is_empty(),
                clock: PartitionClock::new(scn.lateness_ms),
            })
            .collect();
        snapshots.check_restored().expect("the checkpoint restores");
        let mut current: Epoch = 0;
        if let (Some(c), Some((_, at))) = (&resume, &mine) {
            for part in parts.iter_mut() {
                let (_, next, clock) = at.iter().find(|(p, _, _)| *p == part.p).copied().expect("saved");
                part.next = next;
                part.finished = next == scn.partitions[part.p].records.len();
                part.clock = clock;
            }
            let next = parts.iter().filter(|p| !p.finished).map(|p| scn.partitions[p.p].epochs[p.next]).min();
            current = next.unwrap_or(c.epoch + 1).max(c.epoch + 1);
            facts_in.advance_to(current);
            dims_in.advance_to(current);
            reports_in.advance_to(current);
        }
        // Where this worker's partitions stood after each epoch it read, for a checkpoint.
        let mut positions: BTreeMap<Epoch, Vec<(usize, usize, PartitionClock)>> = BTreeMap::new();
        let mut requested = false;
        let mut checked: Epoch = current;
        let mut sent: std::collections::VecDeque<Epoch> = std::collections::VecDeque::new();
        loop {
            let mut late = Vec::new();
            for part in parts.iter_mut() {
                let spec = &scn.partitions[part.p];
                while part.next < spec.records.len() && spec.epochs[part.next] <= current {
                    let i = part.next;
                    part.next += 1;
                    let pos = Pos { partition: part.p as u32, offset: i as u64 + 1 };
                    let ev = spec.records[i].clone();
                    if let Some(ts) = ev.ts() {
                        if !part.clock.admit(ts) {
                            late.push((
                                current,
                                Dead {
                                    topic: spec.topic,
                                    partition: pos.partition,
                                    offset: pos.offset,
                                    reason: "late".into(),
                                    raw: raw_of(&ev),
                                },
                            ));
                            continue;
                        }
                    }
                    match ev {
                        Event::Mention(m) => facts_in.send(Fact::Mention(pos, m)),
                        Event::AdComment(c) => {
                            let raw = serde_json::to_vec(&c).expect("serializable");
                            facts_in.send(Fact::Comment(pos, c, raw))
                        }
                        Event::Care(e) => facts_in.send(Fact::Care(pos, e)),
                        Event::Brand(b) => dims_in.send(Dim::Brand(pos, b)),
                        Event::Ad(a) => dims_in.send(Dim::Ad(pos, a)),
                    }
                }
                if part.next == spec.records.len() {
                    part.finished = true;
                }
            }
            let facts: Vec<&Part> = parts.iter().filter(|p| scn.partitions[p.p].topic.is_fact()).collect();
            let report = WatermarkReport {
                worker: index,
                active_min: facts.iter().filter(|p| !p.finished).filter_map(|p| p.clock.watermark_ts()).min(),
                any_active: facts.iter().any(|p| !p.finished),
                max_ts: facts.iter().filter_map(|p| p.clock.seen_max()).max(),
                checkpoint: index == 0 && !requested && checkpoint_at.is_some_and(|at| current >= at),
            };
            requested |= report.checkpoint;
            positions.insert(current, parts.iter().map(|p| (p.p, p.next, p.clock)).collect());
            reports_in.send(report);
            sinks.rejected.lock().expect("lock").extend(late);
            sent.push_back(current);
            let next = parts.iter().filter(|p| !p.finished).map(|p| scn.partitions[p.p].epochs[p.next]).min();
            // After the last epoch, advance once more so that rows written at the end of the
            // input carry the epoch after the last one.
            let done = next.is_none();
            current = next.unwrap_or(current + 1).max(current + 1);
            facts_in.advance_to(current);
            dims_in.advance_to(current);
            reports_in.advance_to(current);
            match pacing {
                // Park while waiting (woken by the other workers' messages, 1 ms at most) rather
                // than spin: tests run side by side on few cores, and a spinning worker holds the
                // core that the worker it waits for needs.
                Pacing::Replay => {
                    while sent.len() > 4 {
                        let oldest = sent.pop_front().expect("non-empty");
                        while probe.less_equal(&oldest) {
                            worker.step_or_park(Some(PARK));
                        }
                    }
                }
                Pacing::Sync => {
                    while probe.less_than(&current) {
                        worker.step_or_park(Some(PARK));
                    }
                }
            }
            // Every epoch before `current` is complete: take this worker's part of a checkpoint.
            for e in checked..current {
                if let Some(snaps) = snapshots.take_epoch(e) {
                    let at = positions.range(..=e).next_back().map(|(_, v)| v.clone()).expect("read before");
                    let mut t = taken_w.lock().expect("lock");
                    t.epoch = e;
                    t.workers.insert(index, (snaps, at));
                }
            }
            checked = current;
            if done {
                break;
            }
        }
        {
            let mut e = sinks.epochs.lock().expect("lock");
            *e = (*e).max(current);
        }
        drop(facts_in);
        drop(dims_in);
        drop(reports_in);
        worker.step_while(|| !probe.done());
        // A worker whose partitions ended before the checkpoint epoch takes its part now.
        if let Some((e, snaps)) = snapshots.take_latest() {
            let at = positions.range(..=e).next_back().map(|(_, v)| v.clone()).expect("read before");
            let mut t = taken_w.lock().expect("lock");
            t.epoch = e;
            t.workers.insert(index, (snaps, at));
        }
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
