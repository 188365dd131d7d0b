//! The reference: a plain, sequential implementation of `docs/semantics.md`, written without the
//! operators' code. It simulates the replay epoch by epoch and, at each epoch, recomputes what
//! it needs from the sets of records seen so far. Slow and simple on purpose.
//!
//! The epoch of each record is given by the scenario (line rounds or event-time epochs, as the
//! replay assigns them); the epochs that exist are 0 and those of the records. Per epoch `e`, in
//! this order:
//! 1. dimension rows of epoch `e` apply in position order (latest row per key wins);
//! 2. each fact partition reads its records of epoch `e`; a record is **late** when
//!    `ts < M_p − L` (`M_p` the largest accepted `ts` of its partition so far);
//! 3. the watermark `W_e`: min `M_p` over the fact partitions that have not ended (a partition
//!    ends with the epoch of its last record) and have data; when every fact partition has ended,
//!    the largest `ts` of any fact partition; never goes back;
//! 4. dedup: the epoch's accepted facts in `(ts, partition, offset)` order; a fact whose window is
//!    final under `W_{e−1}` is `late`; else the first copy of `(topic, event_id)` counts and later
//!    copies are duplicates; an id is forgotten once its window is final (under `W_e`);
//! 5. crisis detector, per ad: when an ad becomes known, its waiting comments are replayed in
//!    `(ts, partition, offset)` order; then the epoch's counted comments of known ads in that order
//!    (comments of unknown ads wait). After each comment the open rule is checked; then open
//!    crises check their closed buckets (`W_e ≥ b + 60 s`) for the resolve rule. Buckets final
//!    under `W_{e−1}` count as frozen at their finalization (their ad_metrics row: final rows never
//!    change), later buckets are computed from the comments added so far under the current brand.
//!    Alerts of the epoch then take their action in event-time order (an opening at its comment's
//!    `ts`, a resolution at the close of its bucket, resolutions first);
//! 6. care events join their case (a case that left the state earlier starts anew); a case's
//!    summary is that of all its events (semantics.md's compaction of closed, final cases changes
//!    nothing visible: events arriving later are later than all of its events);
//! 7. windows `[s, s+60 s)` that became final (`W_e ≥ s + 60 s + L`) produce their brand and ad rows
//!    from the counted facts in them, with dimension state, case summaries and case sources as of
//!    the end of this epoch; comments of an ad still unknown go to the dead letter;
//! 8. cases idle for the TTL (`W_e ≥ last_ts + case_ttl`) are evicted with their row (status
//!    under `W_e`).
//!
//! At the end every remaining window is final, remaining cases and open alerts are written.

use super::gen::Scenario;
use super::harness::{raw_of, Dead};
use schemas::time::window_start;
use schemas::{
    AdComment, AdInfo, AdMinuteRow, AlertRow, BrandMinuteRow, BrandProfile, BrandStatusRow, CareCaseRow, CareEvent,
    CareKind, Event, KillSwitch, Mention, Priority, Topic,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

const MINUTE: i64 = 60_000;
/// The watermark before any fact.
pub const NO_W: i64 = i64::MIN;

/// What the dataflow should produce. Rows carry the epoch at which they become final; rows
/// written at the end of the input carry `epochs`.
#[derive(Debug, Default, Clone)]
pub struct Expected {
    /// The epoch after the last one: rows written at the end of the input carry it.
    pub epochs: u64,
    /// `(e, W_e)` per epoch.
    pub watermarks: Vec<(u64, i64)>,
    /// brand_metrics_minute.
    pub brand_minutes: Vec<(u64, BrandMinuteRow)>,
    /// ad_metrics_minute.
    pub ad_minutes: Vec<(u64, AdMinuteRow)>,
    /// care_cases.
    pub care_cases: Vec<(u64, CareCaseRow)>,
    /// Final alert rows.
    pub alerts: Vec<(u64, AlertRow)>,
    /// Alerts when they open.
    pub alerts_opened: Vec<(u64, AlertRow)>,
    /// brand_status at the end.
    pub brand_status: Vec<BrandStatusRow>,
    /// Dead letters.
    pub dead: Vec<Dead>,
    /// Duplicates per topic.
    pub duplicates: BTreeMap<Topic, u64>,
    /// Facts that passed their partition's lateness check but whose window was already final.
    pub late_final_window: u64,
}

type Pos = (u32, u64);

/// A counted (not late, not duplicate) fact with its position.
#[derive(Debug, Clone)]
struct Counted<T> {
    pos: Pos,
    rec: T,
}

// ------------------------------------------------------------------------------------------
// Small definitions, re-implemented from SPEC §4 and semantics.md
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum Label {
    Positive,
    Negative,
    Neutral,
    Unscored,
}

fn label(s: Option<f64>) -> Label {
    match s {
        None => Label::Unscored,
        Some(s) if s >= 0.05 => Label::Positive,
        Some(s) if s <= -0.05 => Label::Negative,
        Some(_) => Label::Neutral,
    }
}

fn risky(profile: &BrandProfile, text: &str) -> bool {
    let lower = text.to_lowercase();
    profile.risk_terms.iter().any(|t| !t.is_empty() && lower.contains(&t.to_lowercase()))
}

fn sla_target_s(profile: &BrandProfile, p: Priority) -> u64 {
    let s = &profile.sla_seconds;
    match p {
        Priority::Urgent => s.urgent,
        Priority::High => s.high,
        Priority::Normal => s.normal,
        Priority::Low => s.low,
    }
}

/// The ⌈p·n⌉-th smallest (nearest rank), p = num/den, in seconds.
fn nearest_rank(sorted_ms: &[i64], num: usize, den: usize) -> Option<f64> {
    if sorted_ms.is_empty() {
        return None;
    }
    let n = sorted_ms.len();
    let k = (num * n).div_ceil(den).clamp(1, n);
    Some(sorted_ms[k - 1] as f64 / 1000.0)
}

/// `YYYYMMDDTHHMM` of a minute (UTC), from the civil calendar.
fn minute_id(ms: i64) -> String {
    let mins = ms.div_euclid(MINUTE);
    let days = mins.div_euclid(1440);
    let (h, mi) = (mins.rem_euclid(1440) / 60, mins.rem_euclid(60));
    // Howard Hinnant's days -> civil date.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}{m:02}{d:02}T{h:02}{mi:02}")
}

/// Comment counts of a set of comments (one ad bucket, or a ten-bucket crisis window).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct CommentCounts {
    comments: u64,
    negative: u64,
    scored: u64,
    risky: u64,
    unscored: u64,
    sentiment_sum: f64,
}

impl CommentCounts {
    fn add(&mut self, c: &AdComment, profile: &BrandProfile) {
        self.comments += 1;
        match label(c.sentiment) {
            Label::Negative => self.negative += 1,
            Label::Unscored => self.unscored += 1,
            _ => {}
        }
        if let Some(s) = c.sentiment {
            self.scored += 1;
            self.sentiment_sum += s;
        }
        if risky(profile, &c.text) {
            self.risky += 1;
        }
    }
    fn plus(&mut self, o: &CommentCounts) {
        self.comments += o.comments;
        self.negative += o.negative;
        self.scored += o.scored;
        self.risky += o.risky;
        self.unscored += o.unscored;
        self.sentiment_sum += o.sentiment_sum;
    }
    /// (neg_share, risk_share): negative / scored and risky / all, 0 when the divisor is 0.
    fn shares(&self) -> (f64, f64) {
        let neg = if self.scored > 0 { self.negative as f64 / self.scored as f64 } else { 0.0 };
        let risk = if self.comments > 0 { self.risky as f64 / self.comments as f64 } else { 0.0 };
        (neg, risk)
    }
}

/// One brand-minute window being summed.
#[derive(Debug, Default)]
struct BrandAcc {
    any: bool,
    mentions: u64,
    pos: u64,
    neg: u64,
    neu: u64,
    unscored: u64,
    sentiment_sum: f64,
    sentiment_count: u64,
    reach: u64,
    ad_comments: u64,
    ad_comments_negative: u64,
    ad_comments_risky: u64,
    cases_opened: u64,
    frts_ms: Vec<i64>,
    within: u64,
    late: u64,
    mentions_answered: u64,
    ad_comments_answered: u64,
    cases_resolved: u64,
    resolution_sum_ms: i64,
}

// ------------------------------------------------------------------------------------------
// Care cases
// ------------------------------------------------------------------------------------------

/// A case as its counted events define it (semantics.md, "Care cases").
#[derive(Debug, Clone)]
struct Summary {
    case_id: String,
    brand_id: String,
    channel: String,
    priority: Priority,
    opened_at: Option<i64>,
    first_response_at: Option<i64>,
    resolved_at: Option<i64>,
    reopen_count: u32,
    source_event_id: Option<String>,
    closed: bool,
    last_ts: i64,
}

fn summarize(case_id: &str, events: &[(i64, Pos, CareEvent)]) -> Summary {
    let mut ev: Vec<&(i64, Pos, CareEvent)> = events.iter().collect();
    ev.sort_by_key(|(ts, pos, _)| (*ts, *pos));
    let of_kind = |k: CareKind| ev.iter().filter(move |(_, _, e)| e.kind == k);
    let first_opened = of_kind(CareKind::Opened).next();
    // Brand, channel, priority: the earliest `opened`, else the earliest event.
    let head = first_opened.copied().unwrap_or(ev[0]);
    let latest = |k: CareKind| of_kind(k).map(|(ts, pos, _)| (*ts, *pos)).max();
    let closed = match (latest(CareKind::Resolved), latest(CareKind::Reopened)) {
        (Some(r), Some(o)) => r > o,
        (Some(_), None) => true,
        (None, _) => false,
    };
    Summary {
        case_id: case_id.to_string(),
        brand_id: head.2.brand_id.clone(),
        channel: head.2.channel.clone(),
        priority: head.2.priority,
        opened_at: first_opened.map(|(ts, _, _)| *ts),
        first_response_at: of_kind(CareKind::AgentResponse).next().map(|(ts, _, _)| *ts),
        resolved_at: of_kind(CareKind::Resolved).next().map(|(ts, _, _)| *ts),
        reopen_count: of_kind(CareKind::Reopened).count() as u32,
        // The head's source, else the earliest event that names one (the generator puts a
        // source only on `opened` events).
        source_event_id: head
            .2
            .source_event_id
            .clone()
            .or_else(|| ev.iter().find_map(|(_, _, e)| e.source_event_id.clone())),
        closed,
        last_ts: ev.iter().map(|(ts, _, _)| *ts).max().expect("events"),
    }
}

// ------------------------------------------------------------------------------------------
// Crisis state
// ------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Crisis {
    Calm { after: Option<i64> },
    Open { alert_id: String, brand_id: String, checked_upto: i64, calm_streak: u32 },
}

#[derive(Debug, Clone)]
enum CrisisEv {
    Open(AlertRow, KillSwitch),
    Resolve { brand_id: String, alert_id: String, resolved_window: i64 },
}

impl CrisisEv {
    fn order(&self) -> (i64, u8, String) {
        match self {
            CrisisEv::Resolve { alert_id, resolved_window, .. } => (resolved_window + MINUTE, 0, alert_id.clone()),
            CrisisEv::Open(row, _) => (row.opened_at, 1, row.alert_id.clone()),
        }
    }
}

#[derive(Debug, Default)]
struct Pause {
    paused_since: Option<i64>,
    active: BTreeSet<String>,
}

// ------------------------------------------------------------------------------------------
// The simulation
// ------------------------------------------------------------------------------------------

struct Ref<'a> {
    s: &'a Scenario,
    l: i64,
    defaults: Arc<BrandProfile>,
    epoch: u64,
    /// Dimension state.
    brands: HashMap<String, Option<Arc<BrandProfile>>>,
    ads: HashMap<String, Arc<AdInfo>>,
    /// `M_p` per partition.
    clocks: Vec<Clock>,
    /// Current and previous watermark.
    w: i64,
    prev_w: i64,
    /// Dedup memory: (topic, id) -> window.
    seen: HashMap<(Topic, String), i64>,
    /// Counted facts.
    mentions: Vec<Counted<Mention>>,
    comments: Vec<Counted<AdComment>>,
    /// Windows with counted facts, not yet final.
    open_minutes: BTreeSet<i64>,
    /// Crisis: comments added per ad, comments waiting for their ad, frozen final buckets.
    added: HashMap<String, Vec<Counted<AdComment>>>,
    waiting: HashMap<String, Vec<Counted<AdComment>>>,
    frozen: HashMap<(String, i64), CommentCounts>,
    crisis: BTreeMap<String, Crisis>,
    pauses: BTreeMap<String, Pause>,
    open_alerts: BTreeMap<String, AlertRow>,
    /// Live cases: case_id -> its counted events.
    cases: BTreeMap<String, Vec<(i64, Pos, CareEvent)>>,
    out: Expected,
}

impl<'a> Ref<'a> {
    fn profile(&self, brand_id: &str) -> Arc<BrandProfile> {
        match self.brands.get(brand_id) {
            Some(Some(p)) => p.clone(),
            _ => self.defaults.clone(),
        }
    }

    fn is_final(&self, minute: i64, w: i64) -> bool {
        w != NO_W && w >= minute + MINUTE + self.l
    }

    fn dead(&mut self, topic: Topic, pos: Pos, reason: &str, e: &Event) {
        self.out.dead.push(Dead { topic, partition: pos.0, offset: pos.1, reason: reason.into(), raw: raw_of(e) });
    }

    /// Epoch `self.epoch`; `reads` are the (partition, record index) read in it, in position order;
    /// `ended[p]`: partition `p` has no records after this epoch.
    fn step(&mut self, reads: &[(usize, usize)], ended: &[bool]) {
        let s = self.s;
        // 1. dimensions, in position order.
        let known_before: BTreeSet<String> = self.ads.keys().cloned().collect();
        for &(p, i) in reads {
            match &s.partitions[p].records[i] {
                Event::Brand(b) => {
                    self.brands.insert(b.brand_id.clone(), b.profile.clone());
                }
                Event::Ad(a) => match &a.info {
                    Some(info) => {
                        self.ads.insert(a.ad_id.clone(), info.clone());
                    }
                    None => {
                        self.ads.remove(&a.ad_id);
                    }
                },
                _ => {}
            }
        }
        // 2. the partitions' lateness check.
        let mut accepted: Vec<(i64, Pos, Topic, Event)> = Vec::new();
        for &(p, i) in reads {
            let part = &s.partitions[p];
            let ev = &part.records[i];
            let Some(ts) = ev.ts() else { continue };
            let pos = (p as u32, i as u64 + 1);
            if self.clocks[p].late(ts, self.l) {
                self.dead(part.topic, pos, "late", ev);
            } else {
                accepted.push((ts, pos, part.topic, ev.clone()));
            }
        }
        // 3. the watermark.
        let facts: Vec<usize> = (0..s.partitions.len()).filter(|&p| s.partitions[p].topic.is_fact()).collect();
        let w = if facts.iter().any(|&p| !ended[p]) {
            facts.iter().filter(|&&p| !ended[p]).filter_map(|&p| self.clocks[p].holds()).min().unwrap_or(NO_W)
        } else {
            facts.iter().filter_map(|&p| self.clocks[p].admitted.iter().max().copied()).max().unwrap_or(NO_W)
        };
        self.prev_w = self.w;
        self.w = self.w.max(w);
        self.out.watermarks.push((self.epoch, self.w));
        // 4. dedup.
        accepted.sort_by_key(|(ts, pos, _, _)| (*ts, *pos));
        let mut new_comments = Vec::new();
        let mut new_care = Vec::new();
        for (ts, pos, topic, ev) in accepted {
            let minute = window_start(ts);
            if self.is_final(minute, self.prev_w) {
                self.dead(topic, pos, "late", &ev);
                self.out.late_final_window += 1;
                continue;
            }
            let id = match &ev {
                Event::Mention(m) => m.event_id.clone(),
                Event::AdComment(c) => c.event_id.clone(),
                Event::Care(c) => c.event_id.clone(),
                _ => unreachable!(),
            };
            if self.seen.contains_key(&(topic, id.clone())) {
                *self.out.duplicates.entry(topic).or_default() += 1;
                continue;
            }
            self.seen.insert((topic, id), minute);
            self.open_minutes.insert(minute);
            match ev {
                Event::Mention(m) => self.mentions.push(Counted { pos, rec: m }),
                Event::AdComment(c) => {
                    self.comments.push(Counted { pos, rec: c.clone() });
                    new_comments.push(Counted { pos, rec: c });
                }
                Event::Care(c) => new_care.push((ts, pos, c)),
                _ => unreachable!(),
            }
        }
        let w_now = self.w;
        self.seen.retain(|_, m| !(w_now != NO_W && w_now >= *m + MINUTE + self.l));
        // 5. ads and crises.
        let mut crisis_events = Vec::new();
        let newly_known: Vec<String> = self.ads.keys().filter(|a| !known_before.contains(*a)).cloned().collect();
        for ad in newly_known {
            let mut waiting = self.waiting.remove(&ad).unwrap_or_default();
            waiting.sort_by_key(|c| (c.rec.ts, c.pos));
            for c in waiting {
                self.add_comment(c, &mut crisis_events);
            }
        }
        for c in new_comments {
            if self.ads.contains_key(&c.rec.ad_id) {
                self.add_comment(c, &mut crisis_events);
            } else {
                self.waiting.entry(c.rec.ad_id.clone()).or_default().push(c);
            }
        }
        let open: Vec<String> =
            self.crisis.iter().filter(|(_, c)| matches!(c, Crisis::Open { .. })).map(|(a, _)| a.clone()).collect();
        for ad in open {
            self.check_resolve(&ad, &mut crisis_events);
        }
        self.take_actions(crisis_events);
        // 6. care events.
        for (ts, pos, e) in new_care {
            self.cases.entry(e.case_id.clone()).or_default().push((ts, pos, e));
        }
        // 7. windows that became final.
        let finalizing: Vec<i64> = self.open_minutes.iter().copied().filter(|m| self.is_final(*m, self.w)).collect();
        for m in finalizing {
            self.finalize(m, self.epoch);
            self.open_minutes.remove(&m);
        }
        // 8. evictions: a case leaves when `W ≥ last_ts + case_ttl` (a closed case whose windows
        // are final keeps only its summary until then, which changes nothing visible: events
        // arriving later are later than all of its events).
        let ids: Vec<String> = self.cases.keys().cloned().collect();
        for id in ids {
            let sm = summarize(&id, &self.cases[&id]);
            if self.w != NO_W && sm.last_ts.saturating_add(self.s.case_ttl_ms) <= self.w {
                let row = self.case_row(&sm, self.w);
                self.out.care_cases.push((self.epoch, row));
                self.cases.remove(&id);
            }
        }
    }

    /// The crisis window `b−9 … b` of an ad: final buckets as frozen, others from added comments.
    fn window(&self, ad: &str, b: i64) -> CommentCounts {
        let mut sum = CommentCounts::default();
        let profile = self.ads.get(ad).map(|i| self.profile(&i.brand_id)).unwrap_or_else(|| self.defaults.clone());
        for k in 0..10 {
            let bucket = b - k * MINUTE;
            if self.is_final(bucket, self.prev_w) {
                if let Some(f) = self.frozen.get(&(ad.to_string(), bucket)) {
                    sum.plus(f);
                }
            } else {
                for c in self.added.get(ad).into_iter().flatten() {
                    if window_start(c.rec.ts) == bucket {
                        sum.add(&c.rec, &profile);
                    }
                }
            }
        }
        sum
    }

    fn add_comment(&mut self, c: Counted<AdComment>, events: &mut Vec<CrisisEv>) {
        let ad = c.rec.ad_id.clone();
        let b = window_start(c.rec.ts);
        let ts = c.rec.ts;
        self.added.entry(ad.clone()).or_default().push(c);
        let state = self.crisis.entry(ad.clone()).or_insert(Crisis::Calm { after: None }).clone();
        match state {
            Crisis::Calm { after: Some(a) } if b <= a => return,
            Crisis::Open { .. } => return,
            Crisis::Calm { .. } => {}
        }
        let info = self.ads[&ad].clone();
        let profile = self.profile(&info.brand_id);
        let sum = self.window(&ad, b);
        let (neg, risk) = sum.shares();
        let t = &profile.crisis;
        if sum.comments >= t.min_comments && (neg >= t.negative_share || risk >= t.risk_share) {
            let alert_id = format!("crisis-{ad}-{}", minute_id(b));
            let row = AlertRow {
                alert_id: alert_id.clone(),
                brand_id: info.brand_id.clone(),
                ad_id: ad.clone(),
                kind: "ad_comment_crisis".into(),
                window_start: b,
                opened_at: ts,
                detected_at: 0,
                resolved_window: None,
                comments: sum.comments,
                neg_share: neg,
                risk_share: risk,
                action: None,
                action_status: String::new(),
                attempts: 0,
                action_latency_ms: None,
            };
            events.push(CrisisEv::Open(row, profile.kill_switch));
            self.crisis.insert(
                ad,
                Crisis::Open { alert_id, brand_id: info.brand_id.clone(), checked_upto: b, calm_streak: 0 },
            );
        }
    }

    fn check_resolve(&mut self, ad: &str, events: &mut Vec<CrisisEv>) {
        let min = self
            .ads
            .get(ad)
            .map(|i| self.profile(&i.brand_id))
            .unwrap_or_else(|| self.defaults.clone())
            .crisis
            .min_comments;
        loop {
            let Some(Crisis::Open { alert_id, brand_id, checked_upto, calm_streak }) = self.crisis.get(ad).cloned()
            else {
                return;
            };
            let b = checked_upto + MINUTE;
            // Bucket b is closed when W ≥ b + 60 s.
            if self.w == NO_W || self.w < b + MINUTE {
                return;
            }
            let sum = self.window(ad, b);
            let (neg, risk) = sum.shares();
            let calm = (neg < 0.4 && risk < 0.15) || (sum.comments as f64) < min as f64 / 2.0;
            let streak = if calm { calm_streak + 1 } else { 0 };
            if streak >= 2 {
                events.push(CrisisEv::Resolve { brand_id, alert_id, resolved_window: b });
                self.crisis.insert(ad.to_string(), Crisis::Calm { after: Some(b) });
                return;
            }
            self.crisis
                .insert(ad.to_string(), Crisis::Open { alert_id, brand_id, checked_upto: b, calm_streak: streak });
        }
    }

    /// Kill-switch actions of one epoch's crisis events, in event-time order.
    fn take_actions(&mut self, mut events: Vec<CrisisEv>) {
        events.sort_by_key(CrisisEv::order);
        for ev in events {
            match ev {
                CrisisEv::Open(mut row, ks) => {
                    let pause = self.pauses.entry(row.brand_id.clone()).or_default();
                    if !ks.enabled {
                        row.action_status = "disabled".into();
                    } else if pause.paused_since.is_some() {
                        row.action_status = "skipped_already_paused".into();
                    } else {
                        pause.paused_since = Some(row.opened_at);
                        row.action = Some("pause_all_publishing".into());
                        row.action_status = "dry_run".into();
                    }
                    pause.active.insert(row.alert_id.clone());
                    self.out.alerts_opened.push((self.epoch, row.clone()));
                    self.open_alerts.insert(row.alert_id.clone(), row);
                }
                CrisisEv::Resolve { brand_id, alert_id, resolved_window } => {
                    let auto_resume = self.profile(&brand_id).kill_switch.auto_resume;
                    if let Some(p) = self.pauses.get_mut(&brand_id) {
                        p.active.remove(&alert_id);
                        if auto_resume && p.active.is_empty() {
                            p.paused_since = None;
                        }
                    }
                    if let Some(mut row) = self.open_alerts.remove(&alert_id) {
                        row.resolved_window = Some(resolved_window);
                        self.out.alerts.push((self.epoch, row));
                    }
                }
            }
        }
    }

    /// The source kind of a case now: a counted mention, else a counted ad comment, with the
    /// case's `source_event_id` and `ts` within `L` of its opened time.
    fn source_kind(&self, sm: &Summary) -> Option<&'static str> {
        let (Some(sid), Some(opened)) = (&sm.source_event_id, sm.opened_at) else { return None };
        let near = |ts: i64| (ts - opened).abs() <= self.l;
        if self.mentions.iter().any(|m| &m.rec.event_id == sid && near(m.rec.ts)) {
            Some("mention")
        } else if self.comments.iter().any(|c| &c.rec.event_id == sid && near(c.rec.ts)) {
            Some("ad_comment")
        } else {
            None
        }
    }

    fn case_row(&self, sm: &Summary, w: i64) -> CareCaseRow {
        let target = sla_target_s(&self.profile(&sm.brand_id), sm.priority);
        let frt_ms = match (sm.opened_at, sm.first_response_at) {
            (Some(o), Some(f)) => Some((f - o).max(0)),
            _ => None,
        };
        let status = match (frt_ms, sm.opened_at) {
            (Some(f), _) if f <= target as i64 * 1000 => "met",
            (Some(_), _) => "breached",
            (None, Some(o)) if w != NO_W && w >= o + target as i64 * 1000 => "breached_unanswered",
            _ => "pending",
        };
        CareCaseRow {
            case_id: sm.case_id.clone(),
            brand_id: sm.brand_id.clone(),
            channel: Some(sm.channel.clone()),
            priority: sm.priority.name().to_string(),
            opened_at: sm.opened_at,
            first_response_at: sm.first_response_at,
            frt_seconds: frt_ms.map(|f| f as f64 / 1000.0),
            sla_target_seconds: target as f64,
            sla_status: status.to_string(),
            resolved_at: sm.resolved_at,
            reopen_count: sm.reopen_count,
            source_event_id: sm.source_event_id.clone(),
            source_kind: self.source_kind(sm).map(str::to_string),
        }
    }

    /// Rows of window `m`, final at `epoch`, from the state as of now.
    fn finalize(&mut self, m: i64, epoch: u64) {
        // Ad rows; comments of unknown ads expire.
        let mut per_ad: BTreeMap<String, Vec<Counted<AdComment>>> = BTreeMap::new();
        for c in &self.comments {
            if window_start(c.rec.ts) == m {
                per_ad.entry(c.rec.ad_id.clone()).or_default().push(c.clone());
            }
        }
        let mut brand: BTreeMap<String, BrandAcc> = BTreeMap::new();
        for (ad, cs) in per_ad {
            match self.ads.get(&ad).cloned() {
                Some(info) => {
                    let profile = self.profile(&info.brand_id);
                    let mut counts = CommentCounts::default();
                    for c in &cs {
                        counts.add(&c.rec, &profile);
                    }
                    self.out.ad_minutes.push((
                        epoch,
                        AdMinuteRow {
                            ad_id: ad.clone(),
                            window_start: m,
                            brand_id: info.brand_id.clone(),
                            campaign_id: info.campaign_id.clone(),
                            comments: counts.comments,
                            comments_negative: counts.negative,
                            comments_risky: counts.risky,
                            comments_unscored: counts.unscored,
                            sentiment_sum: counts.sentiment_sum,
                            sentiment_count: counts.scored,
                        },
                    ));
                    self.frozen.insert((ad.clone(), m), counts);
                    let acc = brand.entry(info.brand_id.clone()).or_default();
                    acc.any = true;
                    acc.ad_comments += counts.comments;
                    acc.ad_comments_negative += counts.negative;
                    acc.ad_comments_risky += counts.risky;
                }
                None => {
                    for c in &cs {
                        self.dead(Topic::AdComments, c.pos, "unknown_ad_expired", &Event::AdComment(c.rec.clone()));
                    }
                    if let Some(w) = self.waiting.get_mut(&ad) {
                        w.retain(|c| window_start(c.rec.ts) != m);
                    }
                }
            }
        }
        // Mentions.
        for c in &self.mentions {
            let mn = &c.rec;
            if window_start(mn.ts) != m {
                continue;
            }
            let acc = brand.entry(mn.brand_id.clone()).or_default();
            acc.any = true;
            acc.mentions += 1;
            match label(mn.sentiment) {
                Label::Positive => acc.pos += 1,
                Label::Negative => acc.neg += 1,
                Label::Neutral => acc.neu += 1,
                Label::Unscored => acc.unscored += 1,
            }
            if let Some(s) = mn.sentiment {
                acc.sentiment_sum += s;
                acc.sentiment_count += 1;
            }
            acc.reach += mn.reach.unwrap_or(0);
        }
        // Cases, as of now.
        for (id, events) in &self.cases {
            let sm = summarize(id, events);
            let Some(opened) = sm.opened_at else { continue };
            let profile = self.profile(&sm.brand_id);
            let in_m = |ts: i64| window_start(ts) == m;
            if in_m(opened) {
                let acc = brand.entry(sm.brand_id.clone()).or_default();
                acc.any = true;
                acc.cases_opened += 1;
            }
            if let Some(fr) = sm.first_response_at.filter(|fr| in_m(*fr)) {
                let frt = (fr - opened).max(0);
                let target_ms = sla_target_s(&profile, sm.priority) as i64 * 1000;
                let kind = self.source_kind(&sm);
                let acc = brand.entry(sm.brand_id.clone()).or_default();
                acc.any = true;
                acc.frts_ms.push(frt);
                if frt <= target_ms {
                    acc.within += 1;
                } else {
                    acc.late += 1;
                }
                match kind {
                    Some("mention") => acc.mentions_answered += 1,
                    Some("ad_comment") => acc.ad_comments_answered += 1,
                    _ => {}
                }
            }
            if let Some(r) = sm.resolved_at.filter(|r| in_m(*r)) {
                let acc = brand.entry(sm.brand_id.clone()).or_default();
                acc.any = true;
                acc.cases_resolved += 1;
                acc.resolution_sum_ms += (r - opened).max(0);
            }
        }
        for (brand_id, mut a) in brand {
            if !a.any {
                continue;
            }
            a.frts_ms.sort_unstable();
            self.out.brand_minutes.push((
                epoch,
                BrandMinuteRow {
                    brand_id,
                    window_start: m,
                    mentions: a.mentions,
                    mentions_positive: a.pos,
                    mentions_negative: a.neg,
                    mentions_neutral: a.neu,
                    mentions_unscored: a.unscored,
                    sentiment_sum: a.sentiment_sum,
                    sentiment_count: a.sentiment_count,
                    reach_sum: a.reach,
                    ad_comments: a.ad_comments,
                    ad_comments_negative: a.ad_comments_negative,
                    ad_comments_risky: a.ad_comments_risky,
                    cases_opened: a.cases_opened,
                    first_responses: a.frts_ms.len() as u64,
                    responses_within_sla: a.within,
                    responses_late: a.late,
                    frt_sum_seconds: a.frts_ms.iter().sum::<i64>() as f64 / 1000.0,
                    frt_p50_seconds: nearest_rank(&a.frts_ms, 1, 2),
                    frt_p90_seconds: nearest_rank(&a.frts_ms, 9, 10),
                    mentions_answered: a.mentions_answered,
                    ad_comments_answered: a.ad_comments_answered,
                    cases_resolved: a.cases_resolved,
                    resolution_sum_seconds: a.resolution_sum_ms as f64 / 1000.0,
                },
            ));
        }
    }

    fn finish(mut self) -> Expected {
        let end = self.epoch + 1;
        self.out.epochs = end;
        // The input has ended: every window is final; no crisis rule runs any more.
        self.prev_w = self.w;
        let minutes: Vec<i64> = std::mem::take(&mut self.open_minutes).into_iter().collect();
        for m in minutes {
            self.finalize(m, end);
        }
        let mut status: BTreeMap<String, BrandStatusRow> = BTreeMap::new();
        let w = self.w;
        let blank = |b: &str| BrandStatusRow {
            brand_id: b.to_string(),
            open_cases: 0,
            open_breaches: 0,
            active_crises: 0,
            publishing_paused: false,
            paused_since: None,
            watermark: (w != NO_W).then_some(w),
        };
        let cases = std::mem::take(&mut self.cases);
        for (id, events) in &cases {
            let sm = summarize(id, events);
            let row = self.case_row(&sm, w);
            let st = status.entry(sm.brand_id.clone()).or_insert_with(|| blank(&sm.brand_id));
            if !sm.closed {
                st.open_cases += 1;
                if row.sla_status == "breached_unanswered" {
                    st.open_breaches += 1;
                }
            }
            self.out.care_cases.push((end, row));
        }
        for (_, row) in std::mem::take(&mut self.open_alerts) {
            self.out.alerts.push((end, row));
        }
        for (brand, p) in &self.pauses {
            let st = status.entry(brand.clone()).or_insert_with(|| blank(brand));
            st.active_crises = p.active.len() as u64;
            st.publishing_paused = p.paused_since.is_some();
            st.paused_since = p.paused_since;
        }
        self.out.brand_status = status.into_values().collect();
        self.out
    }
}

/// Computes what the dataflow should output for `s`.
pub fn expected(s: &Scenario) -> Expected {
    // The epochs that exist: 0 (every worker reports) and every epoch in which a record is read.
    let mut reads: BTreeMap<u64, Vec<(usize, usize)>> = BTreeMap::new();
    reads.insert(0, Vec::new());
    for (p, part) in s.partitions.iter().enumerate() {
        for (i, &e) in part.epochs.iter().enumerate() {
            reads.entry(e).or_default().push((p, i));
        }
    }
    // A partition has ended at the end of the epoch of its last record (an empty one at once).
    let ends: Vec<u64> = s.partitions.iter().map(|p| p.epochs.last().copied().unwrap_or(0)).collect();
    let mut r = Ref {
        s,
        l: s.lateness_ms,
        defaults: Arc::new(s.defaults.clone()),
        epoch: 0,
        brands: HashMap::new(),
        ads: HashMap::new(),
        clocks: vec![Clock::default(); s.partitions.len()],
        w: NO_W,
        prev_w: NO_W,
        seen: HashMap::new(),
        mentions: Vec::new(),
        comments: Vec::new(),
        open_minutes: BTreeSet::new(),
        added: HashMap::new(),
        waiting: HashMap::new(),
        frozen: HashMap::new(),
        crisis: BTreeMap::new(),
        pauses: BTreeMap::new(),
        open_alerts: BTreeMap::new(),
        cases: BTreeMap::new(),
        out: Expected::default(),
    };
    for (e, mut rs) in reads {
        rs.sort();
        let ended: Vec<bool> = ends.iter().map(|&end| end <= e).collect();
        r.epoch = e;
        r.step(&rs, &ended);
    }
    let mut out = r.finish();
    super::harness::sort_expected(&mut out);
    out
}

/// One partition's `M_p` under SPEC §3 as `docs/semantics.md` "Time" states it, written from the
/// text (not from `PartitionClock`): outliers are more than `JUMP` ahead of `M_p`, or more than
/// `JUMP` behind it while only the first record stands for it; `CONFIRM` consecutive outliers on
/// one side move `M_p` to the largest of them.
#[derive(Clone, Default)]
struct Clock {
    m: Option<i64>,
    /// Records that moved or kept `M_p` other than the first one: none means `M_p` rests on the
    /// partition's first record alone.
    backed: bool,
    /// The current run of consecutive outliers (their `ts`, and whether they are ahead).
    run: Vec<i64>,
    run_ahead: bool,
    /// Every admitted `ts`.
    admitted: Vec<i64>,
}

const JUMP: i64 = 6 * 3_600_000;
const CONFIRM: usize = 8;

impl Clock {
    /// Whether `ts` is late; otherwise it is admitted and `M_p` moves as the rule says.
    fn late(&mut self, ts: i64, l: i64) -> bool {
        let m = match self.m {
            None => {
                self.m = Some(ts);
                self.admitted.push(ts);
                return false;
            }
            Some(m) => m,
        };
        let side = if ts - m > JUMP {
            Some(true)
        } else if !self.backed && m - ts > JUMP {
            Some(false)
        } else {
            None
        };
        if let Some(ahead) = side {
            if self.run_ahead != ahead {
                self.run.clear();
            }
            self.run_ahead = ahead;
            self.run.push(ts);
            if self.run.len() == CONFIRM {
                self.m = self.run.iter().max().copied();
                self.backed = true;
                self.run.clear();
            }
            self.admitted.push(ts);
            return false;
        }
        self.run.clear();
        if m - ts > l {
            return true;
        }
        self.m = Some(m.max(ts));
        self.backed = true;
        self.admitted.push(ts);
        false
    }

    /// What the partition holds the watermark at.
    fn holds(&self) -> Option<i64> {
        if self.backed {
            self.m
        } else {
            self.admitted.iter().min().copied()
        }
    }
}
