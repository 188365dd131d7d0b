//! The core dataflow on decoded events (SPEC §11 "core dataflow, events already decoded, all of
//! §5–§6"): the whole `operators::brandpulse` dataflow fed in-memory facts, no decoding, no sinks.
//!
//! The input is built before the clock starts, one share per worker (as file partitions are):
//! per minute of event time ~1,389 mentions with upstream sentiment over 100 brands (workload
//! W's rate: 2 M a day), ~139 care cases (opened, answered 5 min later) and 150 comments on 20
//! ads, in epochs of one minute with one watermark report per worker and epoch. The clock stops
//! when every output has been produced (the end of the input flushes every window and case).
//!
//! `cargo bench -p brandpulse-benches --bench core_dataflow` (env: `CORE_MINUTES`, default 1440;
//! `CORE_WORKERS`, default `1,2`). Prints events/s per worker count; figures in `benches/README.md`.

use operators::{brandpulse, Dim, Fact, Gauges, Inputs, Params, Pos, WatermarkReport};
use schemas::{AdComment, AdInfo, AdRow, BrandProfile, CareEvent, CareKind, Mention, Priority};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::vec::Map;
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::ProbeHandle;

// The allocator of the shipped binary (`pipeline/src/main.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MINUTE: i64 = 60_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const BRANDS: usize = 100;
const ADS: usize = 20;

/// One worker's input: per epoch (minute), its facts.
type Share = Vec<Vec<Fact>>;

/// A small deterministic generator (xorshift), so the bench needs no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Builds the input, split over `workers` shares (round robin by event, as partitions would
/// spread it), and counts the events.
fn input(minutes: i64, workers: usize) -> (Vec<Share>, usize) {
    let mut rng = Rng(0x5eed_cafe);
    let mut shares: Vec<Share> = (0..workers).map(|_| (0..minutes).map(|_| Vec::new()).collect()).collect();
    let mut n = 0usize;
    let mut offset = 0u64;
    let mut case = 0u64;
    for m in 0..minutes {
        let base = T0 + m * MINUTE;
        // Each fact at the next offset of its worker's share.
        let mut put = |f: Fact, n: &mut usize| {
            offset += 1;
            let p = Pos { partition: 1 + (offset as usize % workers) as u32, offset };
            let f = match f {
                Fact::Mention(_, m, raw) => Fact::Mention(p, m, raw),
                Fact::Comment(_, c, raw) => Fact::Comment(p, c, raw),
                Fact::Care(_, e) => Fact::Care(p, e),
            };
            shares[offset as usize % workers][m as usize].push(f);
            *n += 1;
        };
        let pos = |_: ()| Pos::default();
        for k in 0..1389u64 {
            let mention = Mention {
                event_id: format!("m-{m}-{k}"),
                ts: base + (k as i64 * 43) % MINUTE,
                brand_id: format!("b{}", rng.below(BRANDS as u64)),
                text: String::new(),
                lang: None,
                sentiment: Some((rng.below(2001) as f64 - 1000.0) / 1000.0),
                reach: Some(rng.below(100_000)),
            };
            put(Fact::Mention(pos(()), mention, Vec::new()), &mut n);
        }
        for k in 0..139u64 {
            case += 1;
            let brand = format!("b{}", rng.below(BRANDS as u64));
            let care = |kind, ts, e: u64| CareEvent {
                event_id: format!("e-{case}-{e}"),
                ts,
                case_id: format!("k-{case}"),
                brand_id: brand.clone(),
                kind,
                channel: "twitter".into(),
                priority: Priority::Normal,
                source_event_id: None,
                agent_id: None,
            };
            let opened = base + (k as i64 * 431) % MINUTE;
            put(Fact::Care(pos(()), care(CareKind::Opened, opened, 0)), &mut n);
            put(Fact::Care(pos(()), care(CareKind::AgentResponse, opened + 5 * MINUTE, 1)), &mut n);
        }
        for k in 0..150u64 {
            let c = AdComment {
                event_id: format!("c-{m}-{k}"),
                ts: base + (k as i64 * 397) % MINUTE,
                ad_id: format!("ad-{}", rng.below(ADS as u64)),
                platform: "facebook".into(),
                author_id: "u".into(),
                text: "love it".into(),
                lang: None,
                sentiment: Some((rng.below(2001) as f64 - 1000.0) / 1000.0),
            };
            put(Fact::Comment(pos(()), c, Vec::new()), &mut n);
        }
    }
    (shares, n)
}

fn params() -> Params {
    Params {
        lateness_ms: 60 * MINUTE,
        jump: Default::default(),
        case_ttl_ms: 7 * 24 * 60 * MINUTE,
        defaults: Arc::new(BrandProfile::default()),
        scorer: operators::sentiment::Scorer::english_only(),
        clock: || 0,
        gauges: Arc::new(Gauges::default()),
        live: false,
    }
}

/// Runs the dataflow on `workers` threads; returns (events, seconds, output rows).
fn run(minutes: i64, workers: usize) -> (usize, f64, usize) {
    let (shares, events) = input(minutes, workers);
    let shares: Arc<Vec<Mutex<Option<Share>>>> = Arc::new(shares.into_iter().map(|s| Mutex::new(Some(s))).collect());
    let barrier = Arc::new(Barrier::new(workers));
    let started = Arc::new(Mutex::new(None::<Instant>));
    let rows = Arc::new(AtomicUsize::new(0));
    let (st, r) = (started.clone(), rows.clone());
    timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let share = shares[index].lock().unwrap().take().expect("each share once");
        let probe = ProbeHandle::new();
        let rows = r.clone();
        let (mut facts, mut dims, mut reports) = worker.dataflow::<u64, _, _>(|scope| {
            let (fi, facts) = scope.new_input::<Fact>();
            let (di, dims) = scope.new_input::<Dim>();
            let (ri, reports) = scope.new_input::<WatermarkReport>();
            let outs = brandpulse(Inputs { facts, dims, reports }, params());
            let count = |rows: &Arc<AtomicUsize>| {
                let rows = rows.clone();
                move |_: &()| {
                    rows.fetch_add(1, Ordering::Relaxed);
                }
            };
            outs.brand_minutes.map(|_| ()).inspect(count(&rows)).probe_with(&probe);
            outs.ad_minutes.map(|_| ()).inspect(count(&rows)).probe_with(&probe);
            outs.care_cases.map(|_| ()).inspect(count(&rows)).probe_with(&probe);
            outs.alerts.probe_with(&probe);
            outs.rejected.probe_with(&probe);
            (fi, di, ri)
        });
        if index == 0 {
            for a in 0..ADS {
                let info = AdInfo {
                    brand_id: format!("b{}", a % BRANDS),
                    campaign_id: None,
                    platform: None,
                    account_id: None,
                    spend_per_hour: None,
                };
                let row = AdRow { ad_id: format!("ad-{a}"), info: Some(Arc::new(info)) };
                dims.send(Dim::Ad(Pos { partition: 0, offset: a as u64 }, row));
            }
        }
        barrier.wait();
        if index == 0 {
            *st.lock().unwrap() = Some(Instant::now());
        }
        let epochs = share.len();
        for (m, batch) in share.into_iter().enumerate() {
            let max_ts = T0 + (m as i64 + 1) * MINUTE - 1;
            for f in batch {
                facts.send(f);
            }
            reports.send(WatermarkReport {
                worker: index,
                active_min: Some(max_ts),
                any_active: m + 1 < epochs,
                max_ts: Some(max_ts + 5 * MINUTE),
                checkpoint: false,
            });
            let next = m as u64 + 1;
            facts.advance_to(next);
            dims.advance_to(next);
            reports.advance_to(next);
            // At most a few epochs in flight, as the driver allows.
            let behind = next.saturating_sub(4);
            worker.step_while(|| probe.less_than(&behind));
        }
        drop((facts, dims, reports));
        worker.step_while(|| !probe.done());
    })
    .expect("timely runs")
    .join()
    .into_iter()
    .for_each(|r| r.expect("a worker finished"));
    let secs = started.lock().unwrap().expect("started").elapsed().as_secs_f64();
    (events, secs, rows.load(Ordering::Relaxed))
}

fn main() {
    let minutes: i64 = std::env::var("CORE_MINUTES").ok().and_then(|s| s.parse().ok()).unwrap_or(1440);
    let workers: Vec<usize> = std::env::var("CORE_WORKERS")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .filter_map(|w| w.trim().parse().ok())
        .collect();
    for w in workers {
        let (events, secs, rows) = run(minutes, w);
        println!(
            "core dataflow, {w} worker(s): {events} decoded events over {minutes} min of event time in {secs:.2} s = {:.0} events/s ({rows} rows)",
            events as f64 / secs
        );
    }
}
