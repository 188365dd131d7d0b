//! The job's live state for the dashboard (`/api/...`, docs/dashboard-api.md): the current value
//! of every brand-minute and ad-minute window, case and brand status the dataflow emitted (its
//! live changes, then the final row, which replaces them), and the ads' spend, kept for
//! `http.retention_minutes` of event time behind the newest window seen.
//!
//! One [`Live`] per serving job, shared (`Arc`) by the job's sinks, which upsert rows, and the
//! HTTP API, whose endpoints compute their figures on request. Each row is kept with its
//! version (the ClickHouse sink's: epoch, then final over live), so a live value never
//! replaces a newer one or the final row, whichever sink operator runs first. Figures follow the SQL views of
//! `deploy/clickhouse/migrations/0001_tables_and_views.sql` (hourly roll-ups, nearest-rank FRT
//! percentiles, `crisis_pauses_daily`, `value_realization_daily`), so the page and ClickHouse agree.

use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;
/// The crisis window (SPEC §6): ten minute buckets.
const CRISIS_BUCKETS: i64 = 10;

/// The live state.
#[derive(Debug)]
pub struct Live {
    retention_ms: i64,
    state: Mutex<State>,
}

/// A row and its version.
type Versioned<R> = (u64, R);

/// Keeps `row` under `key` unless a newer version is there.
fn upsert<K: Ord, R>(map: &mut BTreeMap<K, Versioned<R>>, key: K, version: u64, row: R) {
    match map.get(&key) {
        Some((v, _)) if *v > version => {}
        _ => {
            map.insert(key, (version, row));
        }
    }
}

#[derive(Debug, Default)]
struct State {
    brand: BTreeMap<(String, i64), Versioned<BrandMinuteRow>>,
    ad: BTreeMap<(String, i64), Versioned<AdMinuteRow>>,
    cases: BTreeMap<String, Versioned<CareCaseRow>>,
    status: BTreeMap<String, Versioned<BrandStatusRow>>,
    /// ad_id → (brand_id, spend_per_hour), the current ads dimension.
    ads: HashMap<String, (String, f64)>,
    /// Resume key → the brand's watermark when it was resumed through the API (event time).
    resumed: HashMap<String, i64>,
    newest: i64,
}


/// An output row the live state keeps (or not): the drivers hand every row they send to the
/// sinks to [`Live::keep`].
pub trait Kept: Sized {
    /// Keeps `rows` of `version` in `live` (nothing for rows the dashboard does not read).
    fn keep(_live: &Live, _rows: &[Self], _version: u64) {}
}

impl Kept for BrandMinuteRow {
    fn keep(live: &Live, rows: &[Self], version: u64) {
        live.brand_minutes(rows, version);
    }
}
impl Kept for AdMinuteRow {
    fn keep(live: &Live, rows: &[Self], version: u64) {
        live.ad_minutes(rows, version);
    }
}
impl Kept for CareCaseRow {
    fn keep(live: &Live, rows: &[Self], version: u64) {
        live.cases(rows, version);
    }
}
impl Kept for BrandStatusRow {
    fn keep(live: &Live, rows: &[Self], version: u64) {
        live.status(rows, version);
    }
}
/// Alerts come from the kill switch's own record (`Actions::alerts`), with their action outcome.
impl Kept for AlertRow {}
impl Kept for schemas::DeadLetterRow {}

/// Nearest-rank percentile (SPEC §5): the ceil(p·n)-th smallest.
fn nearest_rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[k - 1])
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b != 0.0).then(|| a / b)
}

/// One point of a brand's series (`/api/series`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Point {
    pub t: i64,
    pub mentions: u64,
    pub positive: u64,
    pub negative: u64,
    pub neutral: u64,
    pub unscored: u64,
    pub sentiment_sum: f64,
    pub sentiment_count: u64,
    pub sentiment_avg: Option<f64>,
    pub ad_comments: u64,
    pub ad_comments_negative: u64,
    pub cases_opened: u64,
    pub first_responses: u64,
    pub responses_within_sla: u64,
    pub frt_p50_seconds: Option<f64>,
    pub frt_p90_seconds: Option<f64>,
    pub mentions_answered: u64,
}

impl Point {
    fn add(&mut self, r: &BrandMinuteRow) {
        self.mentions += r.mentions;
        self.positive += r.mentions_positive;
        self.negative += r.mentions_negative;
        self.neutral += r.mentions_neutral;
        self.unscored += r.mentions_unscored;
        self.sentiment_sum += r.sentiment_sum;
        self.sentiment_count += r.sentiment_count;
        self.ad_comments += r.ad_comments;
        self.ad_comments_negative += r.ad_comments_negative;
        self.cases_opened += r.cases_opened;
        self.first_responses += r.first_responses;
        self.responses_within_sla += r.responses_within_sla;
        self.mentions_answered += r.mentions_answered;
        self.sentiment_avg = ratio(self.sentiment_sum, self.sentiment_count as f64);
    }
}

/// A brand's card figures (`/api/overview`), over the retained windows.
#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub brand_id: String,
    pub mentions: u64,
    pub sentiment_avg: Option<f64>,
    pub negative_share: Option<f64>,
    pub first_responses: u64,
    pub sla_attainment: Option<f64>,
    pub frt_p50_seconds: Option<f64>,
    pub frt_p90_seconds: Option<f64>,
    pub open_cases: u64,
    pub open_breaches: u64,
    pub unanswered_breaches: u64,
    pub answered_share: Option<f64>,
    pub active_crises: u64,
    pub publishing_paused: bool,
    pub paused_since: Option<i64>,
    /// The alert that paused the brand (the API overlays the kill switch's own state).
    pub paused_by: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// An ad's crisis timeline point (`/api/crisis`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CrisisPoint {
    pub t: i64,
    pub comments: u64,
    pub negative: u64,
    pub risky: u64,
    pub window_comments: u64,
    pub window_neg_share: Option<f64>,
    pub window_risk_share: Option<f64>,
}

/// An ad's crisis timeline.
#[derive(Debug, Clone, Serialize)]
pub struct AdTimeline {
    pub ad_id: String,
    pub brand_id: String,
    pub points: Vec<CrisisPoint>,
}

/// One `value_realization_daily` row (SPEC §7).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ValueDay {
    pub day: i64,
    pub mentions: u64,
    pub negative_share: Option<f64>,
    pub avg_sentiment: Option<f64>,
    pub cases_opened: u64,
    pub first_responses: u64,
    pub sla_attainment: Option<f64>,
    pub median_frt_seconds: Option<f64>,
    pub answered_share: Option<f64>,
    pub crises: u64,
    pub pauses: u64,
    pub minutes_to_pause: Option<f64>,
    pub spend_protected: f64,
}

impl Live {
    /// An empty live state keeping `retention_minutes` of event time.
    pub fn new(retention_minutes: u64) -> Arc<Live> {
        let minutes = i64::try_from(retention_minutes).unwrap_or(i64::MAX);
        Arc::new(Live { retention_ms: minutes.saturating_mul(MINUTE), state: Mutex::default() })
    }

    /// Keeps output rows of `version` (see [`Kept`]).
    pub fn keep<R: Kept>(&self, rows: &[R], version: u64) {
        R::keep(self, rows, version);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Upserts brand-minute rows (live values or final rows, of `version`) and drops windows
    /// past retention.
    pub fn brand_minutes(&self, rows: &[BrandMinuteRow], version: u64) {
        let mut s = self.lock();
        for r in rows {
            s.newest = s.newest.max(r.window_start);
            upsert(&mut s.brand, (r.brand_id.clone(), r.window_start), version, r.clone());
        }
        self.evict(&mut s);
    }

    /// Upserts ad-minute rows.
    pub fn ad_minutes(&self, rows: &[AdMinuteRow], version: u64) {
        let mut s = self.lock();
        for r in rows {
            s.newest = s.newest.max(r.window_start);
            upsert(&mut s.ad, (r.ad_id.clone(), r.window_start), version, r.clone());
        }
        self.evict(&mut s);
    }

    /// Upserts case rows.
    pub fn cases(&self, rows: &[CareCaseRow], version: u64) {
        let mut s = self.lock();
        for r in rows {
            upsert(&mut s.cases, r.case_id.clone(), version, r.clone());
        }
        self.evict(&mut s);
    }

    /// Upserts brand status rows.
    pub fn status(&self, rows: &[BrandStatusRow], version: u64) {
        let mut s = self.lock();
        for r in rows {
            upsert(&mut s.status, r.brand_id.clone(), version, r.clone());
        }
    }

    /// Records an ads dimension row (`None`: the ad was deleted).
    pub fn ad(&self, ad_id: &str, info: Option<(&str, Option<f64>)>) {
        let mut s = self.lock();
        match info {
            Some((brand, spend)) => {
                s.ads.insert(ad_id.to_owned(), (brand.to_owned(), spend.unwrap_or(0.0)));
            }
            None => {
                s.ads.remove(ad_id);
            }
        }
    }

    /// Notes that `brand` was resumed through the API (`key`): at its current watermark.
    pub fn note_resume(&self, brand: &str, key: &str) {
        let mut s = self.lock();
        let at = s.status.get(brand).and_then(|(_, r)| r.watermark).unwrap_or(s.newest);
        s.resumed.insert(key.to_owned(), at);
    }

    /// Where on the event-time axis a kill-switch action issued at wall time `issued_at`
    /// belongs: an API resume at the brand's watermark then; anything else no later than the
    /// brand's watermark now (a replay of the past is behind the wall clock).
    pub fn event_time_of(&self, brand: &str, key: &str, issued_at: i64) -> i64 {
        let s = self.lock();
        if let Some(at) = s.resumed.get(key) {
            return *at;
        }
        let watermark = s.status.get(brand).and_then(|(_, r)| r.watermark).unwrap_or(s.newest);
        issued_at.min(watermark)
    }

    fn evict(&self, s: &mut State) {
        let horizon = s.newest.saturating_sub(self.retention_ms);
        s.brand.retain(|&(_, w), _| w >= horizon);
        s.ad.retain(|&(_, w), _| w >= horizon);
        s.cases.retain(|_, (_, c)| c.opened_at.or(c.first_response_at).or(c.resolved_at).is_none_or(|t| t >= horizon));
    }

    /// A brand's series at minute or hour resolution between `from` and `to` (inclusive window starts).
    pub fn series(&self, brand: &str, hourly: bool, from: Option<i64>, to: Option<i64>) -> Vec<Point> {
        let s = self.lock();
        let (from, to) = (from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
        let mut points: BTreeMap<i64, Point> = BTreeMap::new();
        let range = (brand.to_owned(), from)..=(brand.to_owned(), to);
        for ((_, w), (_, r)) in s.brand.range(range) {
            let t = if hourly { w.div_euclid(HOUR) * HOUR } else { *w };
            let p = points.entry(t).or_insert_with(|| Point { t, ..Point::default() });
            p.add(r);
            if !hourly {
                p.frt_p50_seconds = r.frt_p50_seconds;
                p.frt_p90_seconds = r.frt_p90_seconds;
            }
        }
        points.into_values().collect()
    }

    /// Every brand with data or status.
    fn brand_ids(s: &State) -> Vec<String> {
        let mut ids: Vec<String> = s.brand.keys().map(|(b, _)| b.clone()).collect();
        ids.extend(s.status.keys().cloned());
        ids.sort();
        ids.dedup();
        ids
    }

    /// The brand cards.
    pub fn overview(&self) -> Vec<Overview> {
        let s = self.lock();
        Self::brand_ids(&s)
            .into_iter()
            .map(|b| {
                let mut p = Point::default();
                let mut span: Option<(i64, i64)> = None;
                for ((_, w), (_, r)) in s.brand.range((b.clone(), i64::MIN)..=(b.clone(), i64::MAX)) {
                    p.add(r);
                    span = Some(span.map_or((*w, *w), |(a, z)| (a.min(*w), z.max(*w))));
                }
                let cases = || s.cases.values().map(|(_, c)| c).filter(|c| c.brand_id == b);
                let mut frts: Vec<f64> = cases().filter(|c| c.opened_at.is_some()).filter_map(|c| c.frt_seconds).collect();
                frts.sort_by(f64::total_cmp);
                let open: Vec<&CareCaseRow> = cases().filter(|c| c.resolved_at.is_none()).collect();
                let st = s.status.get(&b).map(|(_, r)| r);
                Overview {
                    mentions: p.mentions,
                    sentiment_avg: p.sentiment_avg,
                    negative_share: ratio(p.negative as f64, p.mentions as f64),
                    first_responses: p.first_responses,
                    sla_attainment: ratio(p.responses_within_sla as f64, p.first_responses as f64),
                    frt_p50_seconds: nearest_rank(&frts, 0.5),
                    frt_p90_seconds: nearest_rank(&frts, 0.9),
                    open_cases: st.map_or(open.len() as u64, |s| s.open_cases),
                    open_breaches: st.map_or(0, |s| s.open_breaches),
                    unanswered_breaches: open.iter().filter(|c| c.sla_status == "breached_unanswered").count() as u64,
                    answered_share: ratio(p.mentions_answered as f64, p.mentions as f64),
                    active_crises: st.map_or(0, |s| s.active_crises),
                    publishing_paused: st.is_some_and(|s| s.publishing_paused),
                    paused_since: st.and_then(|s| s.paused_since),
                    paused_by: None,
                    from: span.map(|x| x.0),
                    to: span.map(|x| x.1),
                    brand_id: b,
                }
            })
            .collect()
    }

    /// The crisis timelines of a brand's ads: per minute, the bucket's comments and the shares
    /// over the ten buckets ending with it.
    pub fn crisis(&self, brand: &str) -> Vec<AdTimeline> {
        let s = self.lock();
        let mut by_ad: BTreeMap<&str, Vec<&AdMinuteRow>> = BTreeMap::new();
        for ((ad, _), (_, r)) in &s.ad {
            if r.brand_id == brand {
                by_ad.entry(ad.as_str()).or_default().push(r);
            }
        }
        by_ad
            .into_iter()
            .map(|(ad, rows)| {
                let points = rows
                    .iter()
                    .map(|r| {
                        let lo = r.window_start - (CRISIS_BUCKETS - 1) * MINUTE;
                        // neg_share = negative / scored, risk_share = risky / comments (SPEC §6).
                        let (mut n, mut scored, mut neg, mut risky) = (0u64, 0u64, 0u64, 0u64);
                        for w in rows.iter().filter(|w| w.window_start >= lo && w.window_start <= r.window_start) {
                            n += w.comments;
                            scored += w.comments.saturating_sub(w.comments_unscored);
                            neg += w.comments_negative;
                            risky += w.comments_risky;
                        }
                        CrisisPoint {
                            t: r.window_start,
                            comments: r.comments,
                            negative: r.comments_negative,
                            risky: r.comments_risky,
                            window_comments: n,
                            window_neg_share: ratio(neg as f64, scored as f64),
                            window_risk_share: ratio(risky as f64, n as f64),
                        }
                    })
                    .collect();
                AdTimeline { ad_id: ad.to_owned(), brand_id: brand.to_owned(), points }
            })
            .collect()
    }

    /// A brand's open cases past their SLA, by `opened_at`.
    pub fn cases_past_sla(&self, brand: &str) -> Vec<CareCaseRow> {
        let s = self.lock();
        let mut v: Vec<CareCaseRow> = s
            .cases
            .values()
            .map(|(_, c)| c)
            .filter(|c| c.brand_id == brand && c.resolved_at.is_none() && c.sla_status.starts_with("breached"))
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.opened_at, &a.case_id).cmp(&(b.opened_at, &b.case_id)));
        v
    }

    /// `value_realization_daily` of a brand (the SQL view's definitions), with `alerts` the
    /// job's alerts (annotated with their action outcome).
    pub fn value(&self, brand: &str, alerts: &[AlertRow]) -> Vec<ValueDay> {
        let s = self.lock();
        let mut days: BTreeMap<i64, Point> = BTreeMap::new();
        for ((_, w), (_, r)) in s.brand.range((brand.to_owned(), i64::MIN)..=(brand.to_owned(), i64::MAX)) {
            days.entry(w.div_euclid(DAY) * DAY).or_default().add(r);
        }
        let mut frts: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (_, c) in s.cases.values().filter(|(_, c)| c.brand_id == brand && c.opened_at.is_some()) {
            if let (Some(at), Some(f)) = (c.first_response_at, c.frt_seconds) {
                frts.entry(at.div_euclid(DAY) * DAY).or_default().push(f);
            }
        }
        let spend: f64 = s.ads.values().filter(|(b, _)| b == brand).map(|(_, x)| x).sum();
        let status = s.status.get(brand).map(|(_, r)| r);
        // crisis_pauses_daily: per day of the alert's opening bucket.
        let mut crises: BTreeMap<i64, (u64, u64, f64, f64)> = BTreeMap::new();
        for a in alerts.iter().filter(|a| a.brand_id == brand) {
            let e = crises.entry(a.window_start.div_euclid(DAY) * DAY).or_default();
            e.0 += 1;
            if a.action.as_deref() == Some(crate::actions::PAUSE) {
                let latency = a.action_latency_ms.unwrap_or(0.0);
                e.1 += 1;
                e.2 += (a.opened_at - a.window_start) as f64 / 60_000.0 + latency / 60_000.0;
                let from = a.opened_at as f64 / 1000.0 + latency / 1000.0;
                let until = match (status.is_some_and(|s| s.publishing_paused), a.resolved_window) {
                    (false, Some(r)) => r as f64 / 1000.0 + 60.0,
                    _ => status.and_then(|s| s.watermark).unwrap_or(0) as f64 / 1000.0,
                };
                e.3 += ((until - from) / 3600.0).max(0.0);
            }
        }
        days.into_iter()
            .map(|(day, p)| {
                let mut f = frts.remove(&day).unwrap_or_default();
                f.sort_by(f64::total_cmp);
                let (crises, pauses, to_pause, hours) = crises.get(&day).copied().unwrap_or_default();
                ValueDay {
                    day,
                    mentions: p.mentions,
                    negative_share: ratio(p.negative as f64, p.mentions as f64),
                    avg_sentiment: p.sentiment_avg,
                    cases_opened: p.cases_opened,
                    first_responses: p.first_responses,
                    sla_attainment: ratio(p.responses_within_sla as f64, p.first_responses as f64),
                    median_frt_seconds: nearest_rank(&f, 0.5),
                    answered_share: ratio(p.mentions_answered as f64, p.mentions as f64),
                    crises,
                    pauses,
                    minutes_to_pause: (pauses > 0).then(|| to_pause / pauses as f64),
                    spend_protected: hours * spend,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(brand: &str, w: i64, mentions: u64, neg: u64) -> BrandMinuteRow {
        BrandMinuteRow {
            brand_id: brand.into(),
            window_start: w,
            mentions,
            mentions_negative: neg,
            sentiment_sum: -(neg as f64) * 0.5,
            sentiment_count: neg,
            ..BrandMinuteRow::default()
        }
    }

    #[test]
    fn a_final_row_replaces_the_live_value_and_old_windows_leave() {
        let live = Live::new(60);
        live.brand_minutes(&[minute("a", 0, 1, 0)], 2);
        live.brand_minutes(&[minute("a", 0, 3, 1), minute("a", 5 * MINUTE, 2, 2)], 3);
        // An older live value arriving after the newer one changes nothing.
        live.brand_minutes(&[minute("a", 0, 9, 9)], 2);
        let s = live.series("a", false, None, None);
        assert_eq!(s.iter().map(|p| (p.t, p.mentions)).collect::<Vec<_>>(), [(0, 3), (5 * MINUTE, 2)]);
        let h = live.series("a", true, None, None);
        assert_eq!((h.len(), h[0].mentions, h[0].negative, h[0].sentiment_avg), (1, 5, 3, Some(-0.5)));
        live.brand_minutes(&[minute("a", 61 * MINUTE, 1, 0)], 4);
        let s = live.series("a", false, None, None);
        assert_eq!(s.iter().map(|p| p.t).collect::<Vec<_>>(), [5 * MINUTE, 61 * MINUTE], "0 is past 60 minutes");
        assert!(live.series("b", false, None, None).is_empty());
    }

    #[test]
    fn the_crisis_window_spans_ten_buckets() {
        let live = Live::new(1440);
        let ad = |w: i64, n: u64, neg: u64| AdMinuteRow {
            ad_id: "ad".into(),
            brand_id: "a".into(),
            window_start: w * MINUTE,
            comments: n,
            comments_negative: neg,
            ..AdMinuteRow::default()
        };
        live.ad_minutes(&[ad(0, 4, 0), ad(9, 4, 4), ad(10, 2, 2)], 1);
        let t = live.crisis("a");
        let p: Vec<(u64, Option<f64>)> = t[0].points.iter().map(|p| (p.window_comments, p.window_neg_share)).collect();
        assert_eq!(p, [(4, Some(0.0)), (8, Some(0.5)), (6, Some(1.0))], "minute 10's window is 1..=10");
    }
}
