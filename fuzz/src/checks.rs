//! What the fuzz targets check. Shared with the stable regression test
//! (`operators/tests/it/fuzz_regressions.rs`, which includes this file by path), so keep it to
//! the dependencies both have: `schemas`, `operators`, `timely`, `serde_json`.
//!
//! Input format, for both targets, so that a corpus file can be written by hand:
//! - `decode`: the first byte picks the topic (`byte % 5`, in [`Topic::ALL`] order), the rest is
//!   the record.
//! - `decode_dataflow`: lines (`\n`). A line `topic<TAB>record` names its topic (`mentions`,
//!   `ad_comments`, `care_events`, `brands`, `ads`); any other line picks it by its first byte as
//!   above. Each topic is one partition; records are read three lines to an epoch, in order.

use operators::watermark::PartitionClock;
use operators::{brandpulse, Dim, Epoch, Fact, Gauges, Inputs, Params, Pos, WatermarkReport};
use schemas::decode::{decode, MAX_TEXT_BYTES};
use schemas::time::is_valid_ts;
use schemas::{BrandMinuteRow, BrandProfile, Event, Topic};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::input::Input;
use timely::dataflow::operators::Probe;
use timely::dataflow::ProbeHandle;

/// The topic a selector byte picks.
fn topic_of(b: u8) -> Topic {
    Topic::ALL[usize::from(b) % Topic::ALL.len()]
}

/// Checks on what one decoded record may be.
fn check_event(topic: Topic, ev: &Event) {
    let kind_matches = matches!(
        (topic, ev),
        (Topic::Mentions, Event::Mention(_))
            | (Topic::AdComments, Event::AdComment(_))
            | (Topic::CareEvents, Event::Care(_))
            | (Topic::Brands, Event::Brand(_))
            | (Topic::Ads, Event::Ad(_))
    );
    assert!(kind_matches, "{topic:?} decoded to {ev:?}");
    if let Some(ts) = ev.ts() {
        assert!(is_valid_ts(ts), "a decoded fact's ts {ts} is outside the valid range (SPEC §3)");
    }
    let text = match ev {
        Event::Mention(m) => Some(&m.text),
        Event::AdComment(c) => Some(&c.text),
        _ => None,
    };
    if let Some(t) = text {
        assert!(t.len() <= MAX_TEXT_BYTES, "a decoded text of {} bytes exceeds {MAX_TEXT_BYTES}", t.len());
    }
    let sentiment = match ev {
        Event::Mention(m) => m.sentiment,
        Event::AdComment(c) => c.sentiment,
        _ => None,
    };
    if let Some(s) = sentiment {
        assert!((-1.0..=1.0).contains(&s), "a decoded sentiment {s} is outside [-1, 1]");
    }
}

/// `decode`: never panics; deterministic; what it accepts obeys SPEC §2–§3; what it rejects has a
/// reason code of the documented shape.
pub fn decode_one(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else { return };
    let topic = topic_of(selector);
    let defaults = BrandProfile::default();
    let first = decode(topic, bytes, &defaults);
    let again = decode(topic, bytes, &defaults);
    match (&first, &again) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "decode is not deterministic"),
        (Err(a), Err(b)) => assert_eq!(a.reason.code(), b.reason.code(), "decode is not deterministic"),
        _ => panic!("decode is not deterministic: {first:?} then {again:?}"),
    }
    match first {
        Ok(ev) => check_event(topic, &ev),
        Err(e) => {
            let code = e.reason.code();
            assert!(!code.is_empty(), "empty reason code");
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':' || b == b'.'),
                "reason code {code:?} is not of the documented shape"
            );
        }
    }
}

/// One record of the `decode_dataflow` input.
struct Record {
    topic: Topic,
    bytes: Vec<u8>,
}

fn records(data: &[u8]) -> Vec<Record> {
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|line| {
            if let Some(tab) = line.iter().position(|&b| b == b'\t') {
                if let Some(t) = std::str::from_utf8(&line[..tab]).ok().and_then(Topic::from_name) {
                    return Record { topic: t, bytes: line[tab + 1..].to_vec() };
                }
            }
            Record { topic: topic_of(line[0]), bytes: line[1..].to_vec() }
        })
        .collect()
}

/// The lateness of the `decode_dataflow` job: five minutes.
const LATENESS_MS: i64 = 5 * 60_000;
/// Records per epoch.
const PER_EPOCH: usize = 3;

/// `decode_dataflow`: decodes every record and feeds the accepted ones through the whole dataflow
/// on one worker, as the replay job does (per-partition lateness, one watermark report per
/// epoch). Checks that it never panics and ends, that every dead letter names a record that was
/// fed and none twice, and that the brand-minute rows add up: each window's sentiment classes sum
/// to its mentions, and no more mentions are counted than were admitted.
pub fn decode_dataflow(data: &[u8]) {
    let records = records(data);
    if records.is_empty() || records.len() > 256 {
        return;
    }
    type Shared<T> = Arc<Mutex<Vec<T>>>;
    let brand_rows: Shared<BrandMinuteRow> = Arc::default();
    let rejected: Shared<(Topic, Pos, String)> = Arc::default();
    let (rows_w, rejected_w) = (brand_rows.clone(), rejected.clone());
    // (topic, offset) of every record fed to the dataflow, and how many of them were mentions.
    let (fed, admitted_mentions) = timely::execute_directly(move |worker| {
        let defaults = BrandProfile::default();
        let mut fed: BTreeSet<(Topic, u64)> = BTreeSet::new();
        let mut admitted_mentions = 0u64;
        let probe = ProbeHandle::new();
        let params = Params {
            lateness_ms: LATENESS_MS,
            jump: Default::default(),
            case_ttl_ms: 7 * 24 * 3_600_000,
            defaults: Arc::new(defaults.clone()),
            scorer: operators::sentiment::Scorer::english_only(),
            clock: || 0,
            gauges: Arc::new(Gauges::default()),
            live: false,
        };
        let (mut facts_in, mut dims_in, mut reports_in) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (facts_in, facts) = scope.new_input::<Fact>();
            let (dims_in, dims) = scope.new_input::<Dim>();
            let (reports_in, reports) = scope.new_input::<WatermarkReport>();
            let outs = brandpulse(Inputs { facts, dims, reports }, params);
            outs.brand_minutes.probe_with(&probe).sink(Pipeline, "FuzzBrandMinutes", move |(input, _)| {
                input.for_each(|_, data| rows_w.lock().expect("lock").extend(data.drain(..)));
            });
            outs.rejected.probe_with(&probe).sink(Pipeline, "FuzzRejected", move |(input, _)| {
                input.for_each(|_, data| rejected_w.lock().expect("lock").extend(data.drain(..).map(|r| (r.topic, r.pos, r.reason))));
            });
            // The other tables are only run, not checked.
            macro_rules! run_only {
                ($($s:expr),*) => {$(
                    $s.probe_with(&probe).sink(Pipeline, "FuzzRun", |(input, _)| input.for_each(|_, _| {}));
                )*};
            }
            run_only!(outs.ad_minutes, outs.care_cases, outs.alerts, outs.alerts_opened, outs.brand_status, outs.duplicates);
            (facts_in, dims_in, reports_in)
        });
        let mut clocks: BTreeMap<Topic, PartitionClock> = BTreeMap::new();
        let mut offsets: BTreeMap<Topic, u64> = BTreeMap::new();
        for (epoch, chunk) in records.chunks(PER_EPOCH).enumerate() {
            let epoch = epoch as Epoch;
            facts_in.advance_to(epoch);
            dims_in.advance_to(epoch);
            reports_in.advance_to(epoch);
            for r in chunk {
                let offset = {
                    let o = offsets.entry(r.topic).or_default();
                    *o += 1;
                    *o
                };
                let pos = Pos { partition: r.topic as u32, offset };
                let Ok(ev) = decode(r.topic, &r.bytes, &defaults) else { continue };
                check_event(r.topic, &ev);
                if let Some(ts) = ev.ts() {
                    if !clocks.entry(r.topic).or_insert_with(|| PartitionClock::new(LATENESS_MS)).admit(ts) {
                        continue;
                    }
                }
                fed.insert((r.topic, offset));
                match ev {
                    Event::Mention(m) => {
                        admitted_mentions += 1;
                        facts_in.send(Fact::Mention(pos, m, r.bytes.clone()))
                    }
                    Event::AdComment(c) => facts_in.send(Fact::Comment(pos, c, r.bytes.clone())),
                    Event::Care(e) => facts_in.send(Fact::Care(pos, e)),
                    Event::Brand(b) => dims_in.send(Dim::Brand(pos, b)),
                    Event::Ad(a) => dims_in.send(Dim::Ad(pos, a)),
                }
            }
            let last = (epoch as usize + 1) * PER_EPOCH >= records.len();
            let facts = clocks.iter().filter(|(t, _)| t.is_fact()).map(|(_, c)| c);
            reports_in.send(WatermarkReport {
                worker: 0,
                active_min: if last { None } else { facts.clone().filter_map(|c| c.watermark_ts()).min() },
                any_active: !last,
                max_ts: facts.filter_map(|c| c.seen_max()).max(),
                checkpoint: false,
            });
        }
        drop((facts_in, dims_in, reports_in));
        worker.step_while(|| !probe.done());
        (fed, admitted_mentions)
    });

    let mut seen = BTreeSet::new();
    for (topic, pos, reason) in rejected.lock().expect("lock").iter() {
        assert!(fed.contains(&(*topic, pos.offset)), "dead letter {reason} for {topic:?} offset {} that was never fed", pos.offset);
        assert!(seen.insert((*topic, pos.offset)), "{topic:?} offset {} dead-lettered twice", pos.offset);
    }
    // The last row of each window is its final value (a correction replaces the row).
    let mut last: BTreeMap<(String, i64), BrandMinuteRow> = BTreeMap::new();
    for r in brand_rows.lock().expect("lock").iter() {
        last.insert((r.brand_id.clone(), r.window_start), r.clone());
    }
    let mut counted = 0u64;
    for r in last.values() {
        let classes = r.mentions_positive + r.mentions_negative + r.mentions_neutral + r.mentions_unscored;
        assert_eq!(classes, r.mentions, "sentiment classes do not add up to mentions in {r:?}");
        assert_eq!(r.sentiment_count + r.mentions_unscored, r.mentions, "scored + unscored != mentions in {r:?}");
        counted += r.mentions;
    }
    assert!(counted <= admitted_mentions, "{counted} mentions counted but only {admitted_mentions} admitted");
}
