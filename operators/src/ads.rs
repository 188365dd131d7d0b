//! The ads join, ad metrics and the crisis detector (SPEC §5 ad_metrics_minute, §6).

use crate::agg::{AdAgg, BrandAgg};
use crate::checkpoint::{decode, encode, Snapshots};
use crate::dedup::ScoredComment;
use crate::epoch::{epoch_operator, EpochInput, EpochLogic};
use crate::types::{route, Epoch, Millis, Params, Pos, Rejected, Side};
use rustc_hash::{FxHashMap, FxHashSet};
use schemas::time::{format_minute_id, window_start, MINUTE_MS};
use schemas::{AdInfo, AdMinuteRow, AdRow, BrandProfile, KillSwitch, Topic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use timely::dataflow::StreamVec;

/// Input of [`ads_and_crisis`]: counted comments and ad rows, routed by `ad_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdsIn {
    /// A counted comment.
    Comment(ScoredComment),
    /// An ad dimension row.
    Ad(Pos, AdRow),
}

impl AdsIn {
    fn ad_id(&self) -> &str {
        match self {
            AdsIn::Comment(c) => &c.comment.ad_id,
            AdsIn::Ad(_, a) => &a.ad_id,
        }
    }
}

/// A crisis that opened (SPEC §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrisisOpened {
    /// `crisis-<ad_id>-<YYYYMMDDTHHMM>` of the opening bucket.
    pub alert_id: String,
    /// The ad's brand when it opened.
    pub brand_id: String,
    /// The ad.
    pub ad_id: String,
    /// The opening bucket.
    pub window_start: Millis,
    /// ts of the triggering comment.
    pub opened_at: Millis,
    /// Wall clock of detection.
    pub detected_at: Millis,
    /// Comments in the ten-bucket window.
    pub comments: u64,
    /// Negative / scored.
    pub neg_share: f64,
    /// Risky / all.
    pub risk_share: f64,
    /// The brand's kill switch settings at opening.
    pub kill_switch: KillSwitch,
}

/// Crisis lifecycle messages, routed by brand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CrisisEvent {
    /// Opened.
    Opened(CrisisOpened),
    /// Resolved in `resolved_window`.
    Resolved {
        /// Brand.
        brand_id: String,
        /// Alert id.
        alert_id: String,
        /// The second calm bucket.
        resolved_window: Millis,
    },
}

impl CrisisEvent {
    /// The brand the event belongs to.
    pub fn brand_id(&self) -> &str {
        match self {
            CrisisEvent::Opened(o) => &o.brand_id,
            CrisisEvent::Resolved { brand_id, .. } => brand_id,
        }
    }
}

/// Outputs of [`ads_and_crisis`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AdsOut {
    /// A change of the comment columns of a brand window.
    BrandDelta {
        /// Brand.
        brand_id: String,
        /// Window start.
        minute: Millis,
        /// Signed change.
        agg: BrandAgg,
    },
    /// A final ad_metrics_minute row.
    AdMinute(AdMinuteRow),
    /// A crisis opened or resolved.
    Crisis(CrisisEvent),
    /// A comment whose ad never arrived.
    Rejected(Rejected),
    /// Live change (`Params::live`): the current, not yet final, value of an ad window that
    /// changed (zeros when its comments no longer count, e.g. the ad was deleted).
    LiveAdMinute(AdMinuteRow),
}

/// Joins comments with ads (comments wait for their ad), keeps ad-minute windows, and runs the
/// crisis detector per ad.
pub fn ads_and_crisis<'s>(
    input: StreamVec<'s, Epoch, AdsIn>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, AdsOut> {
    let logic = Ads {
        params,
        brands: FxHashMap::default(),
        ads: FxHashMap::default(),
        per_ad: FxHashMap::default(),
        finality: BTreeMap::new(),
        gauge: Default::default(),
    };
    epoch_operator("AdsCrisis", input, |i: &AdsIn| route(i.ad_id()), side, snapshots, logic)
}

#[derive(Default, Serialize, Deserialize)]
struct AdWindow {
    comments: Vec<ScoredComment>,
    agg: AdAgg,
    contributed: Option<(String, AdAgg)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Crisis {
    Calm { after: Option<Millis> },
    Open { alert_id: String, brand_id: String, checked_upto: Millis, calm_streak: u8 },
}

#[derive(Serialize, Deserialize)]
struct AdState {
    windows: BTreeMap<Millis, AdWindow>,
    recent: BTreeMap<Millis, AdAgg>,
    crisis: Crisis,
}

impl Default for AdState {
    fn default() -> Self {
        AdState { windows: BTreeMap::new(), recent: BTreeMap::new(), crisis: Crisis::Calm { after: None } }
    }
}

impl AdState {
    /// Sums the ten buckets ending at `b`.
    fn window_sum(&self, b: Millis) -> AdAgg {
        let lo = b - 9 * MINUTE_MS;
        let mut sum = AdAgg::default();
        for (_, w) in self.windows.range(lo..=b) {
            sum.add(&w.agg, 1);
        }
        for (_, a) in self.recent.range(lo..=b) {
            sum.add(a, 1);
        }
        sum
    }
}

fn shares(a: &AdAgg) -> (f64, f64) {
    let neg = if a.sentiment_count > 0 { a.comments_negative as f64 / a.sentiment_count as f64 } else { 0.0 };
    let risk = if a.comments > 0 { a.comments_risky as f64 / a.comments as f64 } else { 0.0 };
    (neg, risk)
}

struct Ads {
    params: Params,
    brands: FxHashMap<String, Arc<BrandProfile>>,
    ads: FxHashMap<String, Arc<AdInfo>>,
    per_ad: FxHashMap<String, AdState>,
    finality: BTreeMap<Millis, FxHashSet<String>>,
    gauge: crate::types::GaugeShare,
}

impl Ads {
    fn profile(&self, brand_id: &str) -> Arc<BrandProfile> {
        self.brands.get(brand_id).cloned().unwrap_or_else(|| self.params.defaults.clone())
    }

    /// Adds a comment to its window (counting it when the ad is known) and checks the crisis rule.
    fn add_comment(&mut self, c: ScoredComment, out: &mut Vec<AdsOut>, dirty: &mut FxHashSet<(String, Millis)>) {
        let ad_id = c.comment.ad_id.clone();
        let minute = window_start(c.comment.ts);
        let info = self.ads.get(&ad_id).cloned();
        let profile = info.as_ref().map(|i| self.profile(&i.brand_id));
        let state = self.per_ad.entry(ad_id.clone()).or_default();
        if !state.windows.contains_key(&minute) {
            self.finality.entry(minute).or_default().insert(ad_id.clone());
        }
        let window = state.windows.entry(minute).or_default();
        if let (Some(info), Some(profile)) = (info, profile) {
            window.agg.add(&AdAgg::comment(c.sentiment, profile.is_risky(&c.comment.text)), 1);
            dirty.insert((ad_id.clone(), minute));
            let ts = c.comment.ts;
            window.comments.push(c);
            check_open(&self.params, state, &ad_id, &info.brand_id, &profile, minute, ts, out);
        } else {
            window.comments.push(c);
        }
    }

    /// Recomputes every window of an ad under its current ad row and brand profile.
    fn recompute(&mut self, ad_id: &str, dirty: &mut FxHashSet<(String, Millis)>) {
        let profile = self.ads.get(ad_id).map(|i| self.profile(&i.brand_id));
        let Some(state) = self.per_ad.get_mut(ad_id) else { return };
        for (&minute, w) in state.windows.iter_mut() {
            let mut agg = AdAgg::default();
            if let Some(p) = &profile {
                for c in &w.comments {
                    agg.add(&AdAgg::comment(c.sentiment, p.is_risky(&c.comment.text)), 1);
                }
            }
            w.agg = agg;
            dirty.insert((ad_id.to_string(), minute));
        }
    }

    fn check_resolve(&mut self, ad_id: &str, w: Millis, out: &mut Vec<AdsOut>) {
        let min = self
            .ads
            .get(ad_id)
            .map(|i| self.profile(&i.brand_id).crisis.min_comments)
            .unwrap_or(self.params.defaults.crisis.min_comments);
        let Some(state) = self.per_ad.get_mut(ad_id) else { return };
        loop {
            let Crisis::Open { checked_upto, .. } = &state.crisis else { return };
            let b = *checked_upto + MINUTE_MS;
            if b + MINUTE_MS > w {
                return;
            }
            let sum = state.window_sum(b);
            let (neg, risk) = shares(&sum);
            let calm = (neg < 0.4 && risk < 0.15) || (sum.comments as f64) < min as f64 / 2.0;
            let Crisis::Open { alert_id, brand_id, checked_upto, calm_streak } = &mut state.crisis else { return };
            *checked_upto = b;
            if !calm {
                *calm_streak = 0;
                continue;
            }
            *calm_streak += 1;
            if *calm_streak >= 2 {
                out.push(AdsOut::Crisis(CrisisEvent::Resolved {
                    brand_id: brand_id.clone(),
                    alert_id: alert_id.clone(),
                    resolved_window: b,
                }));
                state.crisis = Crisis::Calm { after: Some(b) };
                return;
            }
        }
    }

    fn finalize(&mut self, minute: Millis, ads: FxHashSet<String>, keep_recent: bool, out: &mut Vec<AdsOut>) {
        for ad_id in ads {
            let info = self.ads.get(&ad_id).cloned();
            let Some(state) = self.per_ad.get_mut(&ad_id) else { continue };
            let Some(w) = state.windows.remove(&minute) else { continue };
            match &info {
                Some(info) => {
                    if w.agg.comments > 0 {
                        out.push(AdsOut::AdMinute(w.agg.to_row(
                            &ad_id,
                            minute,
                            &info.brand_id,
                            info.campaign_id.as_deref(),
                        )));
                    }
                    if keep_recent {
                        state.recent.insert(minute, w.agg);
                    }
                }
                None => {
                    for c in w.comments {
                        out.push(AdsOut::Rejected(Rejected {
                            topic: Topic::AdComments,
                            pos: c.pos,
                            reason: "unknown_ad_expired".into(),
                            detail: format!("ad {ad_id:?} was still unknown when the comment's window became final"),
                            raw: c.raw,
                        }));
                    }
                }
            }
            let floor = minute - 10 * MINUTE_MS;
            state.recent = state.recent.split_off(&floor);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn check_open(
    params: &Params,
    state: &mut AdState,
    ad_id: &str,
    brand_id: &str,
    profile: &BrandProfile,
    b: Millis,
    ts: Millis,
    out: &mut Vec<AdsOut>,
) {
    match state.crisis {
        Crisis::Calm { after } if after.is_none_or(|a| b > a) => {}
        _ => return,
    }
    let sum = state.window_sum(b);
    let (neg, risk) = shares(&sum);
    let t = &profile.crisis;
    if sum.comments as u64 >= t.min_comments && (neg >= t.negative_share || risk >= t.risk_share) {
        let alert_id = format!("crisis-{ad_id}-{}", format_minute_id(b));
        out.push(AdsOut::Crisis(CrisisEvent::Opened(CrisisOpened {
            alert_id: alert_id.clone(),
            brand_id: brand_id.to_string(),
            ad_id: ad_id.to_string(),
            window_start: b,
            opened_at: ts,
            detected_at: (params.clock)(),
            comments: sum.comments as u64,
            neg_share: neg,
            risk_share: risk,
            kill_switch: profile.kill_switch,
        })));
        state.crisis = Crisis::Open { alert_id, brand_id: brand_id.to_string(), checked_upto: b, calm_streak: 0 };
    }
}

impl EpochLogic<AdsIn, AdsOut> for Ads {
    fn on_epoch(&mut self, input: EpochInput<AdsIn>, out: &mut Vec<AdsOut>) {
        let mut dirty: FxHashSet<(String, Millis)> = FxHashSet::default();
        let mut recompute: FxHashSet<String> = FxHashSet::default();
        let mut newly_known: Vec<String> = Vec::new();
        for (_, row) in input.brands {
            match row.profile {
                Some(p) => self.brands.insert(row.brand_id.clone(), p),
                None => self.brands.remove(&row.brand_id),
            };
            for (ad_id, info) in &self.ads {
                if info.brand_id == row.brand_id && self.per_ad.contains_key(ad_id) {
                    recompute.insert(ad_id.clone());
                }
            }
        }
        let mut rows = Vec::new();
        let mut comments = Vec::new();
        for d in input.data {
            match d {
                AdsIn::Ad(pos, row) => rows.push((pos, row)),
                AdsIn::Comment(c) => comments.push(c),
            }
        }
        rows.sort_by_key(|(pos, _)| *pos);
        for (_, row) in rows {
            let was_known = self.ads.contains_key(&row.ad_id);
            match row.info {
                Some(info) => {
                    if !was_known {
                        newly_known.push(row.ad_id.clone());
                    }
                    self.ads.insert(row.ad_id.clone(), info);
                }
                None => {
                    self.ads.remove(&row.ad_id);
                }
            }
            recompute.insert(row.ad_id);
        }
        // Comments that waited for their ad are replayed in order, so the crisis rule sees them as
        // they would have been seen had the ad been known.
        for ad_id in newly_known {
            recompute.remove(&ad_id);
            let Some(state) = self.per_ad.get_mut(&ad_id) else { continue };
            let mut waiting: Vec<ScoredComment> = Vec::new();
            for w in state.windows.values_mut() {
                waiting.append(&mut w.comments);
                w.agg = AdAgg::default();
            }
            for m in state.windows.keys() {
                dirty.insert((ad_id.clone(), *m));
            }
            waiting.sort_by_key(|c| (c.comment.ts, c.pos));
            for c in waiting {
                self.add_comment(c, out, &mut dirty);
            }
        }
        for ad_id in recompute {
            self.recompute(&ad_id, &mut dirty);
        }
        comments.sort_by_key(|c| (c.comment.ts, c.pos));
        for c in comments {
            self.add_comment(c, out, &mut dirty);
        }
        if self.params.live {
            let mut keys: Vec<&(String, Millis)> = dirty.iter().collect();
            keys.sort();
            for (ad_id, minute) in keys {
                let Some(w) = self.per_ad.get(ad_id).and_then(|s| s.windows.get(minute)) else { continue };
                out.push(AdsOut::LiveAdMinute(match self.ads.get(ad_id) {
                    Some(info) => w.agg.to_row(ad_id, *minute, &info.brand_id, info.campaign_id.as_deref()),
                    None => AdAgg::default().to_row(ad_id, *minute, "", None),
                }));
            }
        }
        // Contributions to brand windows: retract what was sent, send what holds now.
        for (ad_id, minute) in dirty {
            let current = self.ads.get(&ad_id).map(|i| i.brand_id.clone());
            let Some(w) = self.per_ad.get_mut(&ad_id).and_then(|s| s.windows.get_mut(&minute)) else { continue };
            let new = current.map(|b| (b, w.agg));
            if new == w.contributed {
                continue;
            }
            if let Some((brand_id, agg)) = w.contributed.take() {
                let mut neg = BrandAgg::default();
                neg.add(&BrandAgg::from_ad(&agg), -1);
                out.push(AdsOut::BrandDelta { brand_id, minute, agg: neg });
            }
            if let Some((brand_id, agg)) = &new {
                if agg.comments != 0 {
                    out.push(AdsOut::BrandDelta { brand_id: brand_id.clone(), minute, agg: BrandAgg::from_ad(agg) });
                }
            }
            w.contributed = new;
        }
        let open: Vec<String> = self
            .per_ad
            .iter()
            .filter(|(_, s)| matches!(s.crisis, Crisis::Open { .. }))
            .map(|(a, _)| a.clone())
            .collect();
        for ad_id in open {
            self.check_resolve(&ad_id, input.watermark, out);
        }
        while let Some((&minute, _)) = self.finality.first_key_value() {
            if !self.params.is_final(minute, input.watermark) {
                break;
            }
            let ads = self.finality.pop_first().expect("non-empty").1;
            self.finalize(minute, ads, true, out);
        }
        // Forget ads with nothing left that a future comment could need: no open window, no open
        // crisis, no final bucket still inside a crisis window of a non-final bucket, and no
        // resolution bucket that is not final (no new crisis may open at or before it).
        let w = input.watermark;
        let params = &self.params;
        self.per_ad.retain(|_, st| {
            let needed_from = w - params.lateness_ms - MINUTE_MS - 10 * MINUTE_MS;
            st.recent.retain(|m, _| *m >= needed_from);
            let marker_live = matches!(st.crisis, Crisis::Calm { after: Some(a) } if !params.is_final(a, w));
            !(st.windows.is_empty() && st.recent.is_empty() && !marker_live && matches!(st.crisis, Crisis::Calm { .. }))
        });
        let live: usize = self.finality.values().map(|s| s.len()).sum();
        self.gauge.set(&self.params.gauges.windows, live);
    }

    fn on_end(&mut self, _watermark: Millis, out: &mut Vec<AdsOut>) {
        while let Some((minute, ads)) = self.finality.pop_first() {
            self.finalize(minute, ads, false, out);
        }
        self.gauge.set(&self.params.gauges.windows, 0);
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&(&self.brands, &self.ads, &self.per_ad, &self.finality))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.brands, self.ads, self.per_ad, self.finality) = decode(state)?;
        let live: usize = self.finality.values().map(|s| s.len()).sum();
        self.gauge.set(&self.params.gauges.windows, live);
        Ok(())
    }
}
