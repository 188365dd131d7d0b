//! Seeded random scenarios for the oracle tests.
//!
//! A scenario is a list of partitions (partition number = index), each a topic and its decoded
//! records in read order, plus the job parameters. What the generator plants, so that every rule
//! of `docs/semantics.md` gets exercised:
//! - fact partitions of different lengths and speeds (so partitions end at different epochs and
//!   the watermark moves by their minimum), sometimes one that starts only after a few rounds
//!   (a Kafka partition that was idle: its old events land in windows that are already final);
//! - out-of-order `ts` (records arrive up to a few minutes after their `ts`), late records (more
//!   than `L` behind), exact duplicates within and across partitions of one topic, an event id
//!   re-sent with another `ts`, event ids shared between a mention and an ad comment;
//! - brand rows that change SLA targets, crisis thresholds, risk terms and kill switch settings,
//!   a brand whose row arrives late, a brand deletion, a brand that never has a row;
//! - ad rows that arrive after some of their comments, ads that move to another brand, an ad that
//!   never arrives;
//! - bursts of negative or risky comments on some ads (crises open and resolve);
//! - care cases with events out of order (response before opened, even `ts` before opened),
//!   reopen / resolve, unanswered cases, cases without `opened`, sources near / far / unknown.

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use schemas::{
    AdComment, AdInfo, AdRow, BrandProfile, BrandRow, CareEvent, CareKind, CrisisThresholds, Event, KillSwitch,
    Mention, Priority, SlaSeconds, Topic,
};
use std::sync::Arc;

/// One minute in ms.
pub const MIN: i64 = 60_000;
/// Start of event time: 2025-11-24T16:00:00Z (minute aligned).
pub const T0: i64 = 1_764_000_000_000;

/// How records are assigned to epochs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// Replay by line rounds: round `k` (epoch `k`) holds lines `k*B+1 ..= (k+1)*B` of every file.
    Rounds {
        /// Lines per partition and round (`B`).
        batch: usize,
    },
    /// Replay by event-time rounds: a fact line's epoch is `ts / width` (never less than the
    /// previous line's); dimension rows carry a time of their own.
    EventTime {
        /// Epoch width in ms.
        width_ms: i64,
    },
}

/// One partition: its topic and its records, each with the epoch in which it is read
/// (non-decreasing). The record at index `i` has offset `i + 1`.
#[derive(Debug, Clone)]
pub struct Partition {
    /// Topic.
    pub topic: Topic,
    /// Records in read order.
    pub records: Vec<Event>,
    /// The epoch of each record.
    pub epochs: Vec<u64>,
}

/// A generated input with its parameters.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// The seed.
    pub seed: u64,
    /// How records map to epochs.
    pub schedule: Schedule,
    /// Allowed lateness `L` in ms.
    pub lateness_ms: i64,
    /// Case TTL in ms.
    pub case_ttl_ms: i64,
    /// Brand defaults.
    pub defaults: BrandProfile,
    /// The partitions.
    pub partitions: Vec<Partition>,
}

impl Scenario {
    /// A one-line description for failure messages.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let span = match (p.epochs.first(), p.epochs.last()) {
                    (Some(a), Some(b)) => format!("epochs {a}..={b}"),
                    _ => "empty".into(),
                };
                format!("{i}:{}×{} {span}", p.topic.name(), p.records.len())
            })
            .collect();
        format!(
            "seed={} {:?} L={}min ttl={}min partitions [{}]",
            self.seed,
            self.schedule,
            self.lateness_ms / MIN,
            self.case_ttl_ms / MIN,
            parts.join(", ")
        )
    }
}

const RISK_POOL: [&str; 7] = ["scam", "boycott", "free download", "refund", "lawsuit", "pirate", "torrent"];
const CALM_TEXTS: [&str; 6] =
    ["love this", "great product", "meh", "where can I buy this?", "not sure about it", "nice colours"];
const RISKY_TEXTS: [&str; 8] = [
    "This is a SCAM",
    "free download link in bio",
    "BOYCOTT them now",
    "I want a Refund",
    "lawsuit incoming",
    "pirate copy here",
    "Torrent available",
    "scammers everywhere",
];

fn pick<'a, T>(rng: &mut SmallRng, v: &'a [T]) -> &'a T {
    v.choose(rng).expect("non-empty")
}

fn random_profile(rng: &mut SmallRng) -> BrandProfile {
    let mut terms: Vec<String> = RISK_POOL.iter().map(|s| s.to_string()).collect();
    terms.shuffle(rng);
    terms.truncate(rng.gen_range(1..=4));
    BrandProfile {
        name: None,
        sla_seconds: SlaSeconds {
            urgent: *pick(rng, &[60, 120, 300]),
            high: *pick(rng, &[300, 600, 900]),
            normal: *pick(rng, &[900, 1800, 3600]),
            low: *pick(rng, &[3600, 7200]),
        },
        crisis: CrisisThresholds {
            min_comments: rng.gen_range(3..=8),
            negative_share: *pick(rng, &[0.5, 0.6, 0.75]),
            risk_share: *pick(rng, &[0.2, 0.3, 0.4]),
        },
        risk_terms: terms,
        kill_switch: KillSwitch { enabled: rng.gen_bool(0.8), auto_resume: rng.gen_bool(0.35) },
    }
}

/// A sentiment as sent upstream: `None` means unscored (sent with `lang: "de"` and no score).
fn random_sentiment(rng: &mut SmallRng) -> Option<f64> {
    match rng.gen_range(0..100) {
        0..=14 => None,
        15..=19 => Some(*pick(rng, &[0.05, -0.05, 0.049, -0.049, 0.0, 1.0, -1.0])),
        _ => Some((rng.gen_range(-1000..=1000) as f64) / 1000.0),
    }
}

/// A fact being generated: its record, its partition (within its topic), and its arrival key
/// (records of a partition are read in arrival order).
struct Draft {
    part: usize,
    arrival: i64,
    seq: usize,
    event: Event,
}

fn arrival_delay(rng: &mut SmallRng, lateness: i64) -> i64 {
    match rng.gen_range(0..100) {
        // Far behind: late at the source (more than L behind the partition's max).
        0..=2 => lateness + rng.gen_range(MIN..20 * MIN),
        // A little behind: out of order but within lateness.
        3..=50 => rng.gen_range(0..4 * MIN),
        _ => rng.gen_range(0..20_000),
    }
}

/// Adds duplicates (exact copies) of some drafts, near or far in arrival, to any partition of the topic.
fn add_duplicates(rng: &mut SmallRng, drafts: &mut Vec<Draft>, parts: usize, share: f64, lateness: i64) {
    let n = drafts.len();
    for i in 0..n {
        if rng.gen_bool(share) {
            let arrival = if rng.gen_bool(0.8) {
                drafts[i].arrival + rng.gen_range(0..5 * MIN)
            } else {
                drafts[i].arrival + lateness + rng.gen_range(0..30 * MIN)
            };
            let part = if rng.gen_bool(0.5) { drafts[i].part } else { rng.gen_range(0..parts) };
            let seq = drafts.len();
            drafts.push(Draft { part, arrival, seq, event: drafts[i].event.clone() });
        }
        if rng.gen_bool(share / 4.0) {
            // The same event id again with another ts: a duplicate while the first copy's window
            // is open, a new event once it is final (ids are remembered until then).
            let mut event = drafts[i].event.clone();
            let shift = rng.gen_range(-5 * MIN..25 * MIN);
            let ts = match &mut event {
                Event::Mention(m) => &mut m.ts,
                Event::AdComment(c) => &mut c.ts,
                Event::Care(c) => &mut c.ts,
                _ => unreachable!("facts only"),
            };
            *ts += shift;
            let arrival = *ts + arrival_delay(rng, lateness);
            let part = rng.gen_range(0..parts);
            let seq = drafts.len();
            drafts.push(Draft { part, arrival, seq, event });
        }
    }
}

/// A partition being built: records in read order, and the round or time from which it is read.
struct Draft2 {
    topic: Topic,
    records: Vec<Event>,
    /// Dimension rows: the round of each row. Facts: empty.
    rounds: Vec<usize>,
    /// A partition that starts late: facts, the first round (or event time) at which it is read.
    start_round: u64,
    start_time: i64,
}

fn into_partitions(topic: Topic, parts: usize, mut drafts: Vec<Draft>) -> Vec<Draft2> {
    drafts.sort_by_key(|d| (d.arrival, d.seq));
    let mut out: Vec<Draft2> = (0..parts)
        .map(|_| Draft2 { topic, records: Vec::new(), rounds: Vec::new(), start_round: 0, start_time: i64::MIN })
        .collect();
    for d in drafts {
        out[d.part].records.push(d.event);
    }
    out
}

/// Builds the scenario of `seed`.
pub fn scenario(seed: u64) -> Scenario {
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_0f_b4a2d);
    let lateness = 10 * MIN;
    let case_ttl = if rng.gen_bool(0.3) { 20 * MIN } else { 7 * 24 * 60 * MIN };
    let batch = *pick(&mut rng, &[4usize, 6, 8, 12]);
    let schedule = if seed % 2 == 0 {
        Schedule::Rounds { batch }
    } else {
        Schedule::EventTime { width_ms: *pick(&mut rng, &[20_000i64, 60_000, 150_000]) }
    };
    let dur = rng.gen_range(60..=110i64) * MIN;
    let mut defaults = BrandProfile::default();
    defaults.crisis.min_comments = 4;

    let n_brands = rng.gen_range(2..=3);
    let brands: Vec<String> = ["acme", "globex", "initech"][..n_brands].iter().map(|s| s.to_string()).collect();
    // "umbrella" never gets a row: it always uses the defaults.
    let mut all_brands = brands.clone();
    all_brands.push("umbrella".to_string());
    let ads: Vec<String> = (0..6).map(|i| format!("ad-{i}")).collect(); // ad-5 never arrives

    // ---- mentions ------------------------------------------------------------------------
    let mention_parts = 2;
    let mut drafts = Vec::new();
    for part in 0..mention_parts {
        let span = (dur as f64 * rng.gen_range(0.7..=1.0)) as i64;
        let n = (span / MIN) as usize * rng.gen_range(2..=5);
        for _ in 0..n {
            let ts = T0 + rng.gen_range(0..span);
            let sentiment = random_sentiment(&mut rng);
            let seq = drafts.len();
            let brand_id = pick(&mut rng, &all_brands).clone();
            // The mention's author is no longer kept (`Mention` holds what the dataflow reads);
            // it is still drawn, in its old place, so that every seed makes the same scenario.
            let _author = rng.gen_range(0..50);
            let m = Mention {
                event_id: format!("m-{seq}"),
                ts,
                brand_id,
                text: "a mention".into(),
                lang: Some(if sentiment.is_some() { "en" } else { "de" }.into()),
                sentiment,
                reach: rng.gen_bool(0.8).then(|| rng.gen_range(0..5000)),
            };
            let arrival = ts + arrival_delay(&mut rng, lateness);
            drafts.push(Draft { part, arrival, seq, event: Event::Mention(m) });
        }
    }
    let mentions: Vec<Mention> = drafts
        .iter()
        .filter_map(|d| match &d.event {
            Event::Mention(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    add_duplicates(&mut rng, &mut drafts, mention_parts, 0.05, lateness);
    let mut mention_partitions = into_partitions(Topic::Mentions, mention_parts, drafts);

    // ---- ad comments ---------------------------------------------------------------------
    let comment_parts = 2;
    let mut drafts = Vec::new();
    let mut comment_seq = 0usize;
    let mut new_comment = |rng: &mut SmallRng, ts: i64, ad: &str, sentiment: Option<f64>, text: &str| {
        comment_seq += 1;
        AdComment {
            event_id: format!("c-{comment_seq}"),
            ts,
            ad_id: ad.to_string(),
            platform: "facebook".into(),
            author_id: format!("u-{}", rng.gen_range(0..50)),
            text: text.to_string(),
            lang: Some(if sentiment.is_some() { "en" } else { "de" }.into()),
            sentiment,
        }
    };
    for part in 0..comment_parts {
        let span = (dur as f64 * rng.gen_range(0.7..=1.0)) as i64;
        let n = (span / MIN) as usize * rng.gen_range(1..=3);
        for _ in 0..n {
            let ts = T0 + rng.gen_range(0..span);
            let ad = if rng.gen_bool(0.04) { ads[5].clone() } else { pick(&mut rng, &ads[..5]).clone() };
            let text = if rng.gen_bool(0.1) { *pick(&mut rng, &RISKY_TEXTS) } else { *pick(&mut rng, &CALM_TEXTS) };
            let s = random_sentiment(&mut rng);
            let mut c = new_comment(&mut rng, ts, &ad, s, text);
            if rng.gen_bool(0.04) && !mentions.is_empty() {
                // Same event id as a mention (another topic: not a duplicate), near its ts.
                let m = pick(&mut rng, &mentions);
                c.event_id = m.event_id.clone();
                c.ts = m.ts + rng.gen_range(-2 * MIN..2 * MIN);
            }
            let arrival = c.ts + arrival_delay(&mut rng, lateness);
            let seq = drafts.len();
            drafts.push(Draft { part, arrival, seq, event: Event::AdComment(c) });
        }
    }
    // Bursts: many negative or risky comments on one ad for a few minutes.
    for _ in 0..rng.gen_range(2..=4) {
        let ad = if rng.gen_bool(0.15) { ads[5].clone() } else { pick(&mut rng, &ads[..5]).clone() };
        let start = T0 + rng.gen_range(2 * MIN..(dur - 15 * MIN).max(3 * MIN));
        let len = rng.gen_range(2..=8) * MIN;
        let per_min = rng.gen_range(2..=7);
        let risky = rng.gen_bool(0.4);
        let part = rng.gen_range(0..comment_parts);
        for _ in 0..(len / MIN) * per_min {
            let ts = start + rng.gen_range(0..len);
            let (s, text) = if risky {
                (random_sentiment(&mut rng), *pick(&mut rng, &RISKY_TEXTS))
            } else if rng.gen_bool(0.1) {
                (None, *pick(&mut rng, &CALM_TEXTS))
            } else {
                (Some(-(rng.gen_range(100..=1000) as f64) / 1000.0), *pick(&mut rng, &CALM_TEXTS))
            };
            let c = new_comment(&mut rng, ts, &ad, s, text);
            let part = if rng.gen_bool(0.8) { part } else { rng.gen_range(0..comment_parts) };
            let arrival = ts + arrival_delay(&mut rng, lateness);
            let seq = drafts.len();
            drafts.push(Draft { part, arrival, seq, event: Event::AdComment(c) });
        }
    }
    let comments: Vec<AdComment> = drafts
        .iter()
        .filter_map(|d| match &d.event {
            Event::AdComment(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    add_duplicates(&mut rng, &mut drafts, comment_parts, 0.05, lateness);
    // Sometimes a burst at the very end: its crisis is still open when the input ends. (A
    // separate generator, so that the rest of the scenario stays as it was for each seed.)
    let mut end_rng = SmallRng::seed_from_u64(seed ^ 0xe4d_b125);
    if end_rng.gen_bool(0.5) {
        let ad = pick(&mut end_rng, &ads[..4]).clone();
        // After every other event (care events run up to ~1.5 h past `dur`).
        let start = T0 + dur + 120 * MIN;
        for _ in 0..end_rng.gen_range(8..=16) {
            let ts = start + end_rng.gen_range(0..3 * MIN);
            let c = new_comment(&mut end_rng, ts, &ad, Some(-0.8), "boycott this scam");
            let arrival = ts + end_rng.gen_range(0..20_000);
            let seq = drafts.len();
            drafts.push(Draft { part: end_rng.gen_range(0..comment_parts), arrival, seq, event: Event::AdComment(c) });
        }
    }
    let mut comment_partitions = into_partitions(Topic::AdComments, comment_parts, drafts);

    // ---- care events ---------------------------------------------------------------------
    let care_parts = rng.gen_range(1..=2);
    let mut drafts = Vec::new();
    let n_cases = (dur / MIN) as usize * rng.gen_range(4..=8) / 10;
    let mut eid = 0usize;
    for k in 0..n_cases {
        let case_id = format!("k-{k}");
        let brand = pick(&mut rng, &all_brands).clone();
        let priority = *pick(&mut rng, &[Priority::Urgent, Priority::High, Priority::Normal, Priority::Low]);
        let channel = pick(&mut rng, &["twitter", "email", "chat"]).to_string();
        let mut opened = T0 + rng.gen_range(0..dur - 5 * MIN);
        let near = |rng: &mut SmallRng, ts: i64| -> i64 {
            if rng.gen_bool(0.1) {
                ts + *pick(rng, &[-lateness, lateness])
            } else {
                ts + rng.gen_range(-lateness..=lateness)
            }
        };
        let far = |rng: &mut SmallRng, ts: i64| -> i64 {
            let d = lateness + rng.gen_range(1..10 * MIN);
            if rng.gen_bool(0.5) {
                ts + d
            } else {
                ts - d
            }
        };
        let source = match rng.gen_range(0..100) {
            0..=29 if !mentions.is_empty() => {
                let m = pick(&mut rng, &mentions);
                opened = near(&mut rng, m.ts);
                Some(m.event_id.clone())
            }
            30..=54 if !comments.is_empty() => {
                let c = pick(&mut rng, &comments);
                opened = near(&mut rng, c.ts);
                Some(c.event_id.clone())
            }
            55..=64 if !mentions.is_empty() => {
                let m = pick(&mut rng, &mentions);
                opened = far(&mut rng, m.ts);
                Some(m.event_id.clone())
            }
            65..=74 => Some(format!("x-{k}")),
            _ => None,
        };
        let mut events: Vec<(i64, CareKind, Option<String>)> = Vec::new();
        if rng.gen_bool(0.92) {
            events.push((opened, CareKind::Opened, source.clone()));
            if rng.gen_bool(0.05) {
                events.push((opened + rng.gen_range(-2 * MIN..2 * MIN), CareKind::Opened, source.clone()));
            }
        }
        if rng.gen_bool(0.7) {
            events.push((opened + rng.gen_range(0..5 * MIN), CareKind::CustomerMessage, None));
        }
        let mut last = opened;
        if rng.gen_bool(0.8) {
            let frt = match rng.gen_range(0..100) {
                0..=4 => -rng.gen_range(0..MIN),
                5..=44 => rng.gen_range(0..2 * MIN),
                45..=79 => rng.gen_range(2 * MIN..15 * MIN),
                _ => rng.gen_range(15 * MIN..40 * MIN),
            };
            let r = opened + frt;
            events.push((r, CareKind::AgentResponse, None));
            last = last.max(r);
            if rng.gen_bool(0.4) {
                let r2 = r + rng.gen_range(MIN..10 * MIN);
                events.push((r2, CareKind::AgentResponse, None));
                last = last.max(r2);
            }
        }
        if rng.gen_bool(0.6) {
            let resolved = last + rng.gen_range(MIN..30 * MIN);
            events.push((resolved, CareKind::Resolved, None));
            if rng.gen_bool(0.25) {
                let reopened = resolved + rng.gen_range(MIN..10 * MIN);
                events.push((reopened, CareKind::Reopened, None));
                if rng.gen_bool(0.5) {
                    events.push((reopened + rng.gen_range(MIN..10 * MIN), CareKind::Resolved, None));
                }
            }
        }
        for (ts, kind, source_event_id) in events {
            eid += 1;
            let e = CareEvent {
                event_id: format!("e-{eid}"),
                ts,
                case_id: case_id.clone(),
                brand_id: brand.clone(),
                kind,
                channel: channel.clone(),
                priority,
                source_event_id,
                agent_id: (kind == CareKind::AgentResponse).then(|| "a-1".to_string()),
            };
            let arrival = ts + arrival_delay(&mut rng, lateness);
            let seq = drafts.len();
            drafts.push(Draft { part: rng.gen_range(0..care_parts), arrival, seq, event: Event::Care(e) });
        }
    }
    add_duplicates(&mut rng, &mut drafts, care_parts, 0.04, lateness);
    let mut care_partitions = into_partitions(Topic::CareEvents, care_parts, drafts);

    // A fact partition that starts late (an idle Kafka partition): its first events are old.
    if rng.gen_bool(0.35) {
        let start = rng.gen_range(2..=8);
        let p = match rng.gen_range(0..3) {
            0 => &mut mention_partitions[1],
            1 => &mut comment_partitions[1],
            _ => care_partitions.last_mut().expect("a care partition"),
        };
        p.start_round = start;
        p.start_time = T0 + start as i64 * rng.gen_range(2..=5) * MIN;
    }

    // ---- dimensions: one change list per round ---------------------------------------------
    let fact_rounds = mention_partitions
        .iter()
        .chain(&comment_partitions)
        .chain(&care_partitions)
        .map(|p| p.start_round as usize + p.records.len().div_ceil(batch))
        .max()
        .unwrap_or(1);
    let dim_rounds = ((fact_rounds as f64) * rng.gen_range(0.4..=1.0)).ceil().max(2.0) as usize;

    // Brands.
    let mut brand_changes: Vec<Vec<BrandRow>> = vec![Vec::new(); dim_rounds];
    let late_brand = rng.gen_bool(0.5).then(|| brands.last().expect("a brand").clone());
    for b in &brands {
        let round = if Some(b) == late_brand.as_ref() { rng.gen_range(1..dim_rounds) } else { 0 };
        brand_changes[round].push(BrandRow { brand_id: b.clone(), profile: Some(Arc::new(random_profile(&mut rng))) });
    }
    for _ in 0..rng.gen_range(3..=7) {
        let round = rng.gen_range(1..dim_rounds);
        let b = pick(&mut rng, &brands).clone();
        let profile = if rng.gen_bool(0.1) { None } else { Some(Arc::new(random_profile(&mut rng))) };
        brand_changes[round].push(BrandRow { brand_id: b, profile });
    }
    let brand_records = dim_partition(
        &mut rng,
        batch,
        brand_changes,
        |row: &BrandRow| row.brand_id.clone(),
        Event::Brand,
        Topic::Brands,
    );

    // Ads.
    let mut ad_changes: Vec<Vec<AdRow>> = vec![Vec::new(); dim_rounds];
    let ad_row = |rng: &mut SmallRng, ad: &str| AdRow {
        ad_id: ad.to_string(),
        info: Some(Arc::new(AdInfo {
            brand_id: pick(rng, &brands).clone(),
            campaign_id: rng.gen_bool(0.8).then(|| format!("camp-{}", rng.gen_range(0..4))),
            platform: Some("facebook".into()),
            account_id: None,
            spend_per_hour: Some(100.0),
        })),
    };
    for ad in &ads[..4] {
        let row = ad_row(&mut rng, ad);
        ad_changes[0].push(row);
    }
    // ad-4 arrives after some of its comments; ad-5 never.
    let row = ad_row(&mut rng, &ads[4]);
    ad_changes[rng.gen_range(1..dim_rounds)].push(row);
    for _ in 0..rng.gen_range(1..=3) {
        let round = rng.gen_range(1..dim_rounds);
        let ad = pick(&mut rng, &ads[..4]).clone();
        let row = ad_row(&mut rng, &ad);
        ad_changes[round].push(row);
    }
    let ad_records = dim_partition(&mut rng, batch, ad_changes, |row: &AdRow| row.ad_id.clone(), Event::Ad, Topic::Ads);

    let mut drafts = vec![brand_records, ad_records];
    drafts.extend(mention_partitions);
    drafts.extend(comment_partitions);
    drafts.extend(care_partitions);
    // Event time of a dimension round, for the event-time schedule.
    let round_ms = (dur / dim_rounds as i64).max(1);
    let partitions = drafts
        .into_iter()
        .map(|d| {
            let epochs: Vec<u64> = match schedule {
                Schedule::Rounds { batch } => {
                    (0..d.records.len()).map(|i| d.start_round + (i / batch) as u64).collect()
                }
                Schedule::EventTime { width_ms } => {
                    let mut last = 0u64;
                    d.records
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            let t = match e.ts() {
                                Some(ts) => ts.max(d.start_time),
                                None => T0 + d.rounds[i] as i64 * round_ms,
                            };
                            last = last.max((t / width_ms) as u64);
                            last
                        })
                        .collect()
                }
            };
            Partition { topic: d.topic, records: d.records, epochs }
        })
        .collect();
    Scenario { seed, schedule, lateness_ms: lateness, case_ttl_ms: case_ttl, defaults, partitions }
}

/// A dimension partition whose round `r` holds the rows `changes[r]` (in that order), padded to
/// `batch` lines with repeats of current rows (which change nothing).
fn dim_partition<R: Clone>(
    rng: &mut SmallRng,
    batch: usize,
    changes: Vec<Vec<R>>,
    key: impl Fn(&R) -> String,
    wrap: impl Fn(R) -> Event,
    topic: Topic,
) -> Draft2 {
    let mut current: Vec<(String, R)> = Vec::new();
    let mut out = Draft2 { topic, records: Vec::new(), rounds: Vec::new(), start_round: 0, start_time: i64::MIN };
    for (r, round) in changes.into_iter().enumerate() {
        let mut lines: Vec<Option<R>> = round.into_iter().map(Some).collect();
        while lines.len() < batch {
            lines.push(None);
        }
        // Changes at random places of the round, repeats elsewhere (changes first while there is
        // nothing to repeat yet).
        lines.shuffle(rng);
        if current.is_empty() {
            lines.sort_by_key(|l| l.is_none());
        }
        for line in lines {
            let row = match line {
                Some(row) => {
                    let k = key(&row);
                    current.retain(|(c, _)| *c != k);
                    current.push((k, row.clone()));
                    row
                }
                None => match current.choose(rng) {
                    Some((_, row)) => row.clone(),
                    None => continue,
                },
            };
            out.records.push(wrap(row));
            out.rounds.push(r);
        }
    }
    out
}
