//! State is bounded by live windows: as event time advances at a constant rate, the keys held by
//! the operators stay flat, and they drop to zero at the end of the input.

use brandpulse_operators::{brandpulse, Dim, Fact, Gauges, Inputs, Params, Pos, WatermarkReport};
use schemas::{AdComment, AdInfo, AdRow, BrandProfile, CareEvent, CareKind, Mention, Priority};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

const MINUTE: i64 = 60_000;
const LATENESS: i64 = 5 * MINUTE;
// Closed cases keep a compact summary until the TTL (a reopen continues them): a short TTL shows
// that this state reaches its plateau too.
const CASE_TTL: i64 = 60 * MINUTE;
const T0: i64 = 1_795_514_400_000; // 2026-11-24T10:00:00Z

#[derive(Debug, Clone, Copy)]
struct Sample {
    minute: i64,
    windows: i64,
    cases: i64,
    dedup_ids: i64,
    join_entries: i64,
}

fn params(gauges: Arc<Gauges>) -> Params {
    Params {
        lateness_ms: LATENESS,
        jump: Default::default(),
        case_ttl_ms: CASE_TTL,
        defaults: Arc::new(BrandProfile::default()),
        scorer: brandpulse_operators::sentiment::Scorer::english_only(),
        clock: || 0,
        gauges,
        live: false,
    }
}

/// One epoch per minute of event time: per minute 3 brands × 10 mentions, 2 ads × 5 comments,
/// and one care case per brand that opens, is answered after 2 min and resolved after 4 min.
fn run(minutes: i64) -> (Vec<Sample>, Sample, usize) {
    let gauges = Arc::new(Gauges::default());
    let samples = Arc::new(Mutex::new(Vec::new()));
    let rows = Arc::new(Mutex::new(0usize));
    let (g, s, r) = (gauges.clone(), samples.clone(), rows.clone());
    timely::execute(timely::Config::thread(), move |worker| {
        let probe = ProbeHandle::new();
        let rows = r.clone();
        let (mut facts, mut dims, mut reports) = worker.dataflow::<u64, _, _>(|scope| {
            let (fi, facts) = scope.new_input::<Fact>();
            let (di, dims) = scope.new_input::<Dim>();
            let (ri, reports) = scope.new_input::<WatermarkReport>();
            let outs = brandpulse(Inputs { facts, dims, reports }, params(g.clone()));
            use timely::dataflow::operators::vec::Map;
            use timely::dataflow::operators::Inspect;
            outs.brand_minutes.map(|_| ()).inspect(move |_| *rows.lock().unwrap() += 1).probe_with(&probe);
            outs.care_cases.probe_with(&probe);
            outs.ad_minutes.probe_with(&probe);
            (fi, di, ri)
        });
        for (i, ad) in ["ad-1", "ad-2"].iter().enumerate() {
            let info = AdInfo {
                brand_id: format!("b{i}"),
                campaign_id: None,
                platform: None,
                account_id: None,
                spend_per_hour: None,
            };
            dims.send(Dim::Ad(
                Pos { partition: 0, offset: i as u64 },
                AdRow { ad_id: ad.to_string(), info: Some(Arc::new(info)) },
            ));
        }
        let mut offset = 0u64;
        for m in 0..minutes {
            let base = T0 + m * MINUTE;
            let mut pos = || {
                offset += 1;
                Pos { partition: 1, offset }
            };
            for b in 0..3 {
                for k in 0..10 {
                    let mention = Mention {
                        event_id: format!("m-{m}-{b}-{k}"),
                        ts: base + k * 5_000,
                        brand_id: format!("b{b}"),
                        text: "ok".into(),
                        lang: None,
                        sentiment: Some(0.3),
                        reach: Some(10),
                    };
                    let raw = serde_json::to_vec(&mention).expect("serializable");
                    facts.send(Fact::Mention(pos(), mention, raw));
                }
                let care = |kind, ts, n: i64| CareEvent {
                    event_id: format!("e-{m}-{b}-{n}"),
                    ts,
                    case_id: format!("k-{m}-{b}"),
                    brand_id: format!("b{b}"),
                    kind,
                    channel: "x".into(),
                    priority: Priority::High,
                    source_event_id: Some(format!("m-{m}-{b}-0")),
                    agent_id: None,
                };
                facts.send(Fact::Care(pos(), care(CareKind::Opened, base + 1_000, 0)));
                facts.send(Fact::Care(pos(), care(CareKind::AgentResponse, base + 2 * MINUTE, 1)));
                facts.send(Fact::Care(pos(), care(CareKind::Resolved, base + 4 * MINUTE, 2)));
            }
            for ad in ["ad-1", "ad-2"] {
                for k in 0..5 {
                    let c = AdComment {
                        event_id: format!("c-{m}-{ad}-{k}"),
                        ts: base + k * 10_000,
                        ad_id: ad.into(),
                        platform: "fb".into(),
                        author_id: "u".into(),
                        text: "nice".into(),
                        lang: None,
                        sentiment: Some(0.5),
                    };
                    facts.send(Fact::Comment(pos(), c, Vec::new()));
                }
            }
            let last = m + 1 == minutes;
            // Care events run 4 min ahead of the partition's other facts: M_p is the max ts.
            let max_ts = base + 4 * MINUTE;
            reports.send(WatermarkReport {
                worker: 0,
                active_min: Some(max_ts),
                any_active: !last,
                max_ts: Some(max_ts),
                checkpoint: false,
            });
            let next = m as u64 + 1;
            facts.advance_to(next);
            dims.advance_to(next);
            reports.advance_to(next);
            worker.step_while(|| probe.less_than(&next));
            s.lock().unwrap().push(Sample {
                minute: m,
                windows: g.windows.load(Ordering::Relaxed),
                cases: g.cases.load(Ordering::Relaxed),
                dedup_ids: g.dedup_ids.load(Ordering::Relaxed),
                join_entries: g.join_entries.load(Ordering::Relaxed),
            });
        }
        drop((facts, dims, reports));
        worker.step_while(|| !probe.done());
    })
    .unwrap()
    .join();
    let end = Sample {
        minute: minutes,
        windows: gauges.windows.load(Ordering::Relaxed),
        cases: gauges.cases.load(Ordering::Relaxed),
        dedup_ids: gauges.dedup_ids.load(Ordering::Relaxed),
        join_entries: gauges.join_entries.load(Ordering::Relaxed),
    };
    let samples = samples.lock().unwrap().clone();
    let rows = *rows.lock().unwrap();
    (samples, end, rows)
}

#[test]
fn live_state_stays_flat_as_event_time_advances_and_is_released_at_the_end() {
    let minutes = 6 * 60;
    let (samples, end, rows) = run(minutes);
    // Every minute of every brand produced a final row (resolutions run 4 minutes past the
    // last mention minute).
    assert_eq!(rows, 3 * (minutes as usize + 4));
    // Past the warm-up (L + case TTL + 10 min), the held keys reach a plateau: the largest count in the
    // last hour is no larger than in the first hour after warm-up.
    let warm = ((LATENESS + CASE_TTL) / MINUTE + 10) as usize;
    let max_of = |from: usize, to: usize, f: fn(&Sample) -> i64| samples[from..to].iter().map(f).max().unwrap();
    let last_hour = samples.len() - 60;
    eprintln!("after warm-up: {:?}\nlast hour:     {:?}\nend:           {:?}", samples[warm], samples[last_hour], end);
    for (name, f) in [
        ("windows", (|s: &Sample| s.windows) as fn(&Sample) -> i64),
        ("cases", |s: &Sample| s.cases),
        ("dedup_ids", |s: &Sample| s.dedup_ids),
        ("join_entries", |s: &Sample| s.join_entries),
    ] {
        let early = max_of(warm, warm + 60, f);
        let late = max_of(last_hour, samples.len() - 1, f);
        assert!(early > 0, "{name}: no state held at all? {:?}", &samples[warm]);
        assert!(late <= early, "{name} grows with event time: {early} in hour 1 vs {late} in hour 6");
    }
    // The windows held are those of the last L + 2 minutes or so (5 keys per minute), not all
    // 360 minutes of history.
    let w = samples[last_hour].windows;
    assert!(w <= 5 * (LATENESS / MINUTE + 6), "{w} windows held at minute {}", samples[last_hour].minute);
    // At the end of the input all state is flushed: the gauges return to their floor.
    assert_eq!((end.windows, end.cases, end.dedup_ids, end.join_entries), (0, 0, 0, 0), "{end:?}");
}
