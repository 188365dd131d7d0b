//! The brand store: care contributions to the brand-minute windows, care_cases rows, alerts and
//! the kill-switch plan, brand status (SPEC §5, §6). The windows themselves are kept by
//! [`crate::windows`].

use crate::ads::CrisisEvent;
use crate::agg::BrandAgg;
use crate::care::{CaseMsg, CaseSummary, KindDiff};
use crate::checkpoint::{decode, encode, Snapshots};
use crate::dedup::SourceKind;
use crate::epoch::{epoch_operator, EpochInput, EpochLogic};
use crate::types::{route, Epoch, Millis, Params, Side, NO_WATERMARK};
use rustc_hash::{FxHashMap, FxHashSet};
use schemas::time::window_start;
use schemas::{AlertRow, BrandMinuteRow, BrandProfile, BrandStatusRow, CareCaseRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use timely::dataflow::StreamVec;

/// Input of [`brand_store`], routed by brand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum BrandIn {
    /// A case update.
    Case(CaseMsg),
    /// A case source change.
    Kind(KindDiff),
    /// A crisis event.
    Crisis(CrisisEvent),
    /// Publishing resumed through the API.
    Resume {
        /// Brand.
        brand_id: String,
    },
}

impl BrandIn {
    fn brand_id(&self) -> &str {
        match self {
            BrandIn::Case(c) => &c.brand_id,
            BrandIn::Kind(k) => &k.brand_id,
            BrandIn::Crisis(c) => c.brand_id(),
            BrandIn::Resume { brand_id } => brand_id,
        }
    }
}

/// Outputs of [`brand_store`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BrandOut {
    /// A signed contribution of a case to a brand-minute window (for [`crate::windows`]).
    Delta(crate::windows::WindowKey, BrandAgg),
    /// A final brand_metrics_minute row.
    Minute(BrandMinuteRow),
    /// A final care_cases row (evicted, or at the end of the input).
    Case(CareCaseRow),
    /// An alert as it opens (live, for actions and the alerts topic).
    AlertOpened(AlertRow),
    /// A final alert row (resolved, or at the end of the input).
    Alert(AlertRow),
    /// Brand status at the end of the input.
    Status(BrandStatusRow),
    /// Live change (`Params::live`): the current, not yet final, value of a window that changed.
    LiveMinute(BrandMinuteRow),
    /// Live change: the current row of a case that changed (or whose SLA status the watermark
    /// changed).
    LiveCase(CareCaseRow),
    /// Live change: a brand's current status.
    LiveStatus(BrandStatusRow),
    /// Publishing of a paused brand resumed by its `auto_resume` (no crisis active).
    AutoResumed {
        /// Brand.
        brand_id: String,
    },
}

/// Keeps the brand windows and cases of the brands routed here.
pub fn brand_store<'s>(
    input: StreamVec<'s, Epoch, BrandIn>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, BrandOut> {
    let logic = BrandStore {
        params,
        brands: FxHashMap::default(),
        cases: FxHashMap::default(),
        pauses: FxHashMap::default(),
        open_alerts: FxHashMap::default(),
        deltas: Vec::new(),
    };
    epoch_operator("BrandStore", input, |i: &BrandIn| route(i.brand_id()), side, snapshots, logic)
}

/// What a case contributes to the brand-minute windows (SPEC §5), in a few words: the updates
/// are derived from it ([`Contrib::updates`]) when they are sent or retracted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Contrib {
    /// Opened at (counts in `cases_opened`); `None`: the case contributes nothing.
    opened: Option<Millis>,
    /// The first response.
    first: Option<FirstResponse>,
    /// Resolved at (counts in `cases_resolved`, with the time since opened).
    resolved: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct FirstResponse {
    at: Millis,
    frt: Millis,
    within: bool,
    kind: Option<SourceKind>,
}

impl Contrib {
    /// The window updates: `(window_start, aggregate, frt)`.
    fn updates(&self) -> Vec<(Millis, BrandAgg, Option<Millis>)> {
        let Some(opened) = self.opened else { return Vec::new() };
        let mut v = vec![(window_start(opened), BrandAgg { cases_opened: 1, ..Default::default() }, None)];
        if let Some(f) = self.first {
            let a = BrandAgg {
                first_responses: 1,
                responses_within_sla: f.within as i64,
                responses_late: !f.within as i64,
                frt_sum_ms: f.frt,
                mentions_answered: (f.kind == Some(SourceKind::Mention)) as i64,
                ad_comments_answered: (f.kind == Some(SourceKind::AdComment)) as i64,
                ..Default::default()
            };
            v.push((window_start(f.at), a, Some(f.frt)));
        }
        if let Some(r) = self.resolved {
            let a = BrandAgg { cases_resolved: 1, resolution_sum_ms: (r - opened).max(0), ..Default::default() };
            v.push((window_start(r), a, None));
        }
        v
    }
}

#[derive(Serialize, Deserialize)]
struct CaseEntry {
    summary: CaseSummary,
    kinds: Vec<(SourceKind, i64)>,
    contrib: Contrib,
}

impl CaseEntry {
    fn kind(&self) -> Option<SourceKind> {
        let has = |k| self.kinds.iter().any(|(x, c)| *x == k && *c > 0);
        if has(SourceKind::Mention) {
            Some(SourceKind::Mention)
        } else if has(SourceKind::AdComment) {
            Some(SourceKind::AdComment)
        } else {
            None
        }
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Pause {
    paused_since: Option<Millis>,
    active: FxHashSet<String>,
}

struct BrandStore {
    params: Params,
    brands: FxHashMap<String, Arc<BrandProfile>>,
    /// Boxed: a table of 200,000 cases grows by copying its slots, so a slot is a pointer.
    cases: FxHashMap<String, Box<CaseEntry>>,
    pauses: FxHashMap<String, Pause>,
    open_alerts: FxHashMap<String, AlertRow>,
    /// Window updates of the current epoch (empty between epochs, not state).
    deltas: Vec<BrandOut>,
}

impl BrandStore {
    fn profile(&self, brand_id: &str) -> Arc<BrandProfile> {
        self.brands.get(brand_id).cloned().unwrap_or_else(|| self.params.defaults.clone())
    }

    /// Sends `sign` times a contribution to its window (the window ignores it once final).
    fn apply(&mut self, brand_id: &str, minute: Millis, agg: &BrandAgg, frt: Option<Millis>, sign: i64) {
        let mut diff = BrandAgg::default();
        diff.add(agg, sign);
        let key = ((minute, brand_id.to_string()), frt.unwrap_or(crate::windows::NO_FRT));
        self.deltas.push(BrandOut::Delta(key, diff));
    }

    fn contribution(&self, e: &CaseEntry) -> Contrib {
        let s = &e.summary;
        let Some(opened) = s.opened_at else { return Contrib::default() };
        let first = s.first_response_at.map(|fr| {
            let frt = (fr - opened).max(0);
            let target_ms = self.profile(&s.brand_id).sla_seconds.target(s.priority) as i64 * 1000;
            FirstResponse { at: fr, frt, within: frt <= target_ms, kind: e.kind() }
        });
        Contrib { opened: Some(opened), first, resolved: s.resolved_at }
    }

    fn recontribute(&mut self, case_id: &str) {
        let Some(entry) = self.cases.get(case_id) else { return };
        let new = self.contribution(entry);
        let brand = entry.summary.brand_id.clone();
        let old = std::mem::replace(&mut self.cases.get_mut(case_id).expect("exists").contrib, new);
        if old == new {
            return; // differential would consolidate the retraction and the insertion away
        }
        for (m, a, f) in old.updates() {
            self.apply(&brand, m, &a, f, -1);
        }
        for (m, a, f) in new.updates() {
            self.apply(&brand, m, &a, f, 1);
        }
    }

    fn case_row(&self, e: &CaseEntry, w: Millis) -> CareCaseRow {
        let s = &e.summary;
        let target = self.profile(&s.brand_id).sla_seconds.target(s.priority);
        let frt = match (s.opened_at, s.first_response_at) {
            (Some(o), Some(f)) => Some((f - o).max(0)),
            _ => None,
        };
        let status = match (frt, s.opened_at) {
            (Some(f), _) if f <= target as i64 * 1000 => "met",
            (Some(_), _) => "breached",
            (None, Some(o)) if w != NO_WATERMARK && w >= o + target as i64 * 1000 => "breached_unanswered",
            _ => "pending",
        };
        CareCaseRow {
            case_id: s.case_id.clone(),
            brand_id: s.brand_id.clone(),
            channel: s.channel.clone(),
            priority: s.priority.name().to_string(),
            opened_at: s.opened_at,
            first_response_at: s.first_response_at,
            frt_seconds: frt.map(|f| f as f64 / 1000.0),
            sla_target_seconds: target as f64,
            sla_status: status.to_string(),
            resolved_at: s.resolved_at,
            reopen_count: s.reopen_count,
            source_event_id: s.source_event_id.clone(),
            source_kind: e.kind().map(|k| k.name().to_string()),
        }
    }

    fn on_crisis(&mut self, c: CrisisEvent, out: &mut Vec<BrandOut>) {
        match c {
            CrisisEvent::Opened(o) => {
                let pause = self.pauses.entry(o.brand_id.clone()).or_default();
                let (action, status) = if !o.kill_switch.enabled {
                    (None, "disabled")
                } else if pause.paused_since.is_some() {
                    (None, "skipped_already_paused")
                } else {
                    pause.paused_since = Some(o.opened_at);
                    (Some("pause_all_publishing".to_string()), "dry_run")
                };
                pause.active.insert(o.alert_id.clone());
                let row = AlertRow {
                    alert_id: o.alert_id,
                    brand_id: o.brand_id,
                    ad_id: o.ad_id,
                    kind: "ad_comment_crisis".into(),
                    window_start: o.window_start,
                    opened_at: o.opened_at,
                    detected_at: o.detected_at,
                    resolved_window: None,
                    comments: o.comments,
                    neg_share: o.neg_share,
                    risk_share: o.risk_share,
                    action,
                    action_status: status.into(),
                    attempts: 0,
                    action_latency_ms: None,
                };
                out.push(BrandOut::AlertOpened(row.clone()));
                self.open_alerts.insert(row.alert_id.clone(), row);
            }
            CrisisEvent::Resolved { brand_id, alert_id, resolved_window } => {
                let auto_resume = self.profile(&brand_id).kill_switch.auto_resume;
                if let Some(p) = self.pauses.get_mut(&brand_id) {
                    p.active.remove(&alert_id);
                    if auto_resume && p.active.is_empty() && p.paused_since.is_some() {
                        p.paused_since = None;
                        out.push(BrandOut::AutoResumed { brand_id: brand_id.clone() });
                    }
                }
                if let Some(mut row) = self.open_alerts.remove(&alert_id) {
                    row.resolved_window = Some(resolved_window);
                    out.push(BrandOut::Alert(row));
                }
            }
        }
    }
}

impl BrandStore {
    /// Live changes of an epoch: current rows of the cases that changed, cases whose SLA status
    /// the watermark changed, and the brands' status (the windows' live values come from
    /// [`crate::windows`]).
    fn emit_live(&mut self, cases: &[String], prev_w: Millis, w: Millis, touched: bool, out: &mut Vec<BrandOut>) {
        let mut ids: FxHashSet<&str> = cases.iter().map(|c| c.as_str()).collect();
        if w != prev_w {
            for (id, e) in &self.cases {
                let s = &e.summary;
                if let (None, Some(o)) = (s.first_response_at, s.opened_at) {
                    let due = o + self.profile(&s.brand_id).sla_seconds.target(s.priority) as i64 * 1000;
                    if (prev_w == NO_WATERMARK || prev_w < due) && w >= due {
                        ids.insert(id.as_str());
                    }
                }
            }
        }
        let mut ids: Vec<&str> = ids.into_iter().collect();
        ids.sort();
        for id in ids {
            if let Some(e) = self.cases.get(id) {
                out.push(BrandOut::LiveCase(self.case_row(e, w)));
            }
        }
        if !(touched || w != prev_w) {
            return;
        }
        out.extend(self.status_rows(w).into_iter().map(BrandOut::LiveStatus));
    }

    /// One brand_status row per brand with cases or a pause, as of watermark `w`, by brand.
    fn status_rows(&self, w: Millis) -> Vec<BrandStatusRow> {
        let mut status: BTreeMap<&str, BrandStatusRow> = BTreeMap::new();
        let blank = |b: &str| BrandStatusRow {
            brand_id: b.to_string(),
            open_cases: 0,
            open_breaches: 0,
            active_crises: 0,
            publishing_paused: false,
            paused_since: None,
            watermark: (w != NO_WATERMARK).then_some(w),
        };
        for e in self.cases.values() {
            let b = e.summary.brand_id.as_str();
            let st = status.entry(b).or_insert_with(|| blank(b));
            if !e.summary.closed {
                st.open_cases += 1;
                if self.case_row(e, w).sla_status == "breached_unanswered" {
                    st.open_breaches += 1;
                }
            }
        }
        for (brand, p) in &self.pauses {
            let st = status.entry(brand.as_str()).or_insert_with(|| blank(brand));
            st.active_crises = p.active.len() as u64;
            st.publishing_paused = p.paused_since.is_some();
            st.paused_since = p.paused_since;
        }
        status.into_values().collect()
    }
}

fn crisis_order(c: &CrisisEvent) -> (Millis, u8, String) {
    match c {
        CrisisEvent::Resolved { alert_id, resolved_window, .. } => {
            (*resolved_window + schemas::time::MINUTE_MS, 0, alert_id.clone())
        }
        CrisisEvent::Opened(o) => (o.opened_at, 1, o.alert_id.clone()),
    }
}

impl EpochLogic<BrandIn, BrandOut> for BrandStore {
    fn on_epoch(&mut self, input: EpochInput<BrandIn>, out: &mut Vec<BrandOut>) {
        let prev_w = input.prev_watermark;
        let mut changed_brands: FxHashSet<String> = FxHashSet::default();
        for (_, row) in input.brands {
            match row.profile {
                Some(p) => self.brands.insert(row.brand_id.clone(), p),
                None => self.brands.remove(&row.brand_id),
            };
            changed_brands.insert(row.brand_id);
        }
        let mut cases = Vec::new();
        let mut kinds = Vec::new();
        let mut crises = Vec::new();
        for i in input.data {
            match i {
                BrandIn::Case(c) => cases.push(c),
                BrandIn::Kind(k) => kinds.push(k),
                BrandIn::Crisis(c) => crises.push(c),
                BrandIn::Resume { brand_id } => {
                    if let Some(p) = self.pauses.get_mut(&brand_id) {
                        p.paused_since = None;
                    }
                }
            }
        }
        let mut dirty: FxHashSet<String> = FxHashSet::default();
        let mut evicted = Vec::new();
        for msg in cases {
            match (msg.summary, msg.evicted) {
                (Some(summary), Some(_)) => {
                    // Applied after this epoch's other changes of the case (source, brand).
                    if let Some(e) = self.cases.get_mut(&msg.case_id) {
                        e.summary = summary;
                        dirty.insert(msg.case_id.clone());
                    }
                    evicted.push(msg.case_id);
                }
                (Some(summary), None) => {
                    match self.cases.get_mut(&msg.case_id) {
                        Some(e) => e.summary = summary,
                        None => {
                            self.cases.insert(
                                msg.case_id.clone(),
                                Box::new(CaseEntry { summary, kinds: Vec::new(), contrib: Contrib::default() }),
                            );
                        }
                    }
                    dirty.insert(msg.case_id);
                }
                (None, _) => {
                    if let Some(e) = self.cases.remove(&msg.case_id) {
                        for (m, a, f) in e.contrib.updates() {
                            self.apply(&msg.brand_id, m, &a, f, -1);
                        }
                    }
                    dirty.remove(&msg.case_id);
                }
            }
        }
        for k in kinds {
            if let Some(e) = self.cases.get_mut(&k.case_id) {
                match e.kinds.iter_mut().find(|(x, _)| *x == k.kind) {
                    Some((_, c)) => *c += k.diff,
                    None => e.kinds.push((k.kind, k.diff)),
                }
                dirty.insert(k.case_id);
            }
        }
        if !changed_brands.is_empty() {
            for (id, e) in &self.cases {
                if changed_brands.contains(&e.summary.brand_id) {
                    dirty.insert(id.clone());
                }
            }
        }
        let live_cases: Vec<String> = if self.params.live { dirty.iter().cloned().collect() } else { Vec::new() };
        let touched = !dirty.is_empty() || !evicted.is_empty() || !crises.is_empty();
        for case_id in dirty {
            self.recontribute(&case_id);
        }
        for case_id in evicted {
            if let Some(e) = self.cases.remove(&case_id) {
                out.push(BrandOut::Case(self.case_row(&e, input.watermark)));
            }
        }
        // Crises of one brand can come from several ad workers: order them by event time so that
        // which alert pauses the brand does not depend on arrival order.
        crises.sort_by(|a, b| crisis_order(a).partial_cmp(&crisis_order(b)).unwrap_or(std::cmp::Ordering::Equal));
        for c in crises {
            self.on_crisis(c, out);
        }
        if self.params.live {
            self.emit_live(&live_cases, prev_w, input.watermark, touched, out);
        }
        out.append(&mut self.deltas);
    }

    fn on_end(&mut self, watermark: Millis, out: &mut Vec<BrandOut>) {
        let status = self.status_rows(watermark);
        let mut cases: Vec<_> = self.cases.drain().collect();
        cases.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, e) in cases {
            out.push(BrandOut::Case(self.case_row(&e, watermark)));
        }
        for (_, row) in self.open_alerts.drain() {
            out.push(BrandOut::Alert(row));
        }
        out.extend(status.into_iter().map(BrandOut::Status));
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&(&self.brands, &self.cases, &self.pauses, &self.open_alerts))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.brands, self.cases, self.pauses, self.open_alerts) = decode(state)?;
        Ok(())
    }
}
