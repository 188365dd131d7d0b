//! Care cases (SPEC §5): case state from care events, and the join of cases with their source.

use crate::checkpoint::{decode, encode, Snapshots};
use crate::dedup::SourceKind;
use crate::epoch::{epoch_operator, EpochInput, EpochLogic};
use crate::types::{route, Epoch, Millis, Params, Pos, Side};
use rustc_hash::{FxHashMap, FxHashSet};
use schemas::time::window_start;
use schemas::{CareEvent, CareKind, Priority};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use timely::dataflow::StreamVec;

/// A case as its events define it (docs/semantics.md, "Care cases").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// Case.
    pub case_id: String,
    /// Brand (of the earliest `opened`, else the earliest event).
    pub brand_id: String,
    /// Channel.
    pub channel: Option<String>,
    /// Priority.
    pub priority: Priority,
    /// Earliest `opened`.
    pub opened_at: Option<Millis>,
    /// Earliest `agent_response`.
    pub first_response_at: Option<Millis>,
    /// Earliest `resolved`.
    pub resolved_at: Option<Millis>,
    /// `reopened` events.
    pub reopen_count: u32,
    /// The mention or comment that started the case.
    pub source_event_id: Option<String>,
    /// Latest `resolved` after latest `reopened`.
    pub closed: bool,
    /// Latest event ts.
    pub last_ts: Millis,
}

impl CaseSummary {
    /// Summarizes a case's events, sorted by `(ts, pos)`.
    pub fn of(case_id: &str, events: &[(Millis, Pos, CareEvent)]) -> Option<CaseSummary> {
        let first = events.first()?;
        let opened = events.iter().find(|(_, _, e)| e.kind == CareKind::Opened);
        let head = opened.unwrap_or(first);
        let earliest = |k: CareKind| events.iter().find(|(_, _, e)| e.kind == k).map(|(ts, _, _)| *ts);
        let last = |k: CareKind| events.iter().rev().find(|(_, _, e)| e.kind == k).map(|(ts, p, _)| (*ts, *p));
        let closed = match (last(CareKind::Resolved), last(CareKind::Reopened)) {
            (Some(r), Some(o)) => r > o,
            (Some(_), None) => true,
            _ => false,
        };
        Some(CaseSummary {
            case_id: case_id.to_string(),
            brand_id: head.2.brand_id.clone(),
            channel: Some(head.2.channel.clone()),
            priority: head.2.priority,
            opened_at: opened.map(|(ts, _, _)| *ts),
            first_response_at: earliest(CareKind::AgentResponse),
            resolved_at: earliest(CareKind::Resolved),
            reopen_count: events.iter().filter(|(_, _, e)| e.kind == CareKind::Reopened).count() as u32,
            source_event_id: head
                .2
                .source_event_id
                .clone()
                .or_else(|| events.iter().find_map(|(_, _, e)| e.source_event_id.clone())),
            closed,
            last_ts: events.iter().map(|(ts, _, _)| *ts).max().unwrap_or(first.0),
        })
    }

    /// Continues `base` (a compacted case) with later events, sorted by `(ts, pos)`. Events that
    /// arrive after a case was compacted are all later than the events it summarizes.
    pub fn continue_with(base: &CaseSummary, events: &[(Millis, Pos, CareEvent)]) -> CaseSummary {
        let Some(new) = CaseSummary::of(&base.case_id, events) else { return base.clone() };
        let head = if base.opened_at.is_some() || new.opened_at.is_none() { base } else { &new };
        let changes_status = events.iter().any(|(_, _, e)| matches!(e.kind, CareKind::Resolved | CareKind::Reopened));
        CaseSummary {
            case_id: base.case_id.clone(),
            brand_id: head.brand_id.clone(),
            channel: head.channel.clone(),
            priority: head.priority,
            opened_at: base.opened_at.or(new.opened_at),
            first_response_at: base.first_response_at.or(new.first_response_at),
            resolved_at: base.resolved_at.or(new.resolved_at),
            reopen_count: base.reopen_count + new.reopen_count,
            source_event_id: head
                .source_event_id
                .clone()
                .or_else(|| base.source_event_id.clone())
                .or(new.source_event_id.clone()),
            closed: if changes_status { new.closed } else { base.closed },
            last_ts: base.last_ts.max(new.last_ts),
        }
    }

    fn request(&self) -> Option<(String, Millis)> {
        Some((self.source_event_id.clone()?, self.opened_at?))
    }
}

/// Why a case left the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Eviction {
    /// Closed and its windows final.
    Resolved,
    /// No event for the case TTL.
    Expired,
}

/// A case update for the brand that owns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseMsg {
    /// The brand worker this is for.
    pub brand_id: String,
    /// Case.
    pub case_id: String,
    /// The new summary, or `None` when the case moved to another brand.
    pub summary: Option<CaseSummary>,
    /// Set when the case is evicted: the final row is due.
    pub evicted: Option<Eviction>,
}

/// A case asking for its source: `diff` +1 adds, −1 retracts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRequest {
    /// The source's event id.
    pub source_event_id: String,
    /// Case.
    pub case_id: String,
    /// Case brand.
    pub brand_id: String,
    /// Case opened time.
    pub opened_at: Millis,
    /// +1 or −1.
    pub diff: i64,
}

/// Outputs of [`cases`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CareOut {
    /// For the brand store.
    Case(CaseMsg),
    /// For the source join.
    Request(SourceRequest),
}

/// Keeps case state from care events, emits case summaries and source requests, evicts cases.
pub fn cases<'s>(
    events: StreamVec<'s, Epoch, (Pos, CareEvent)>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, CareOut> {
    let logic = Cases { params, cases: FxHashMap::default(), due: BTreeMap::new(), gauge: Default::default() };
    epoch_operator("CareCases", events, |(_, e): &(Pos, CareEvent)| route(&e.case_id), side, snapshots, logic)
}

/// A case held in state. Once closed and final, its events are dropped and only its summary is
/// kept (`base`) until the case TTL: a later reopen continues the same case.
#[derive(Serialize, Deserialize)]
struct CaseState {
    events: Vec<(Millis, Pos, CareEvent)>,
    base: Option<CaseSummary>,
    summary: Option<CaseSummary>,
    due: Millis,
}

/// What happens to a case when its due time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Due {
    /// Closed and final: drop its events, keep its summary.
    Compact,
    /// Leaves the state: its row is final.
    Evict(Eviction),
}

struct Cases {
    params: Params,
    /// Boxed: a table of 200,000 cases grows by copying its slots, so a slot is a pointer.
    cases: FxHashMap<String, Box<CaseState>>,
    due: BTreeMap<Millis, Vec<String>>,
    gauge: crate::types::GaugeShare,
}

impl Cases {
    fn due_of(&self, s: &CaseSummary, compacted: bool) -> (Millis, Due) {
        let final_at = window_start(s.last_ts) + schemas::time::MINUTE_MS + self.params.lateness_ms;
        let ttl_at = s.last_ts.saturating_add(self.params.case_ttl_ms);
        if s.closed && !compacted && final_at < ttl_at {
            (final_at, Due::Compact)
        } else if s.closed {
            (ttl_at, Due::Evict(Eviction::Resolved))
        } else {
            (ttl_at, Due::Evict(Eviction::Expired))
        }
    }
}

impl EpochLogic<(Pos, CareEvent), CareOut> for Cases {
    fn on_epoch(&mut self, input: EpochInput<(Pos, CareEvent)>, out: &mut Vec<CareOut>) {
        let mut dirty: FxHashSet<String> = FxHashSet::default();
        for (pos, e) in input.data {
            let state = self.cases.entry(e.case_id.clone()).or_insert_with(|| {
                Box::new(CaseState { events: Vec::new(), base: None, summary: None, due: 0 })
            });
            dirty.insert(e.case_id.clone());
            state.events.push((e.ts, pos, e));
        }
        for case_id in dirty {
            let state = self.cases.get_mut(&case_id).expect("dirty cases exist");
            state.events.sort_by_key(|(ts, pos, _)| (*ts, *pos));
            let new = match &state.base {
                Some(base) => CaseSummary::continue_with(base, &state.events),
                None => CaseSummary::of(&case_id, &state.events).expect("a case has events"),
            };
            let old = state.summary.replace(new.clone());
            if old.as_ref() == Some(&new) {
                continue;
            }
            if let Some(old) = &old {
                if old.brand_id != new.brand_id {
                    out.push(CareOut::Case(CaseMsg {
                        brand_id: old.brand_id.clone(),
                        case_id: case_id.clone(),
                        summary: None,
                        evicted: None,
                    }));
                }
            }
            let old_req = old.as_ref().and_then(|s| s.request().map(|r| (r, s.brand_id.clone())));
            let new_req = new.request().map(|r| (r, new.brand_id.clone()));
            if old_req != new_req {
                for (req, diff) in [(old_req, -1), (new_req, 1)] {
                    if let Some(((source_event_id, opened_at), brand_id)) = req {
                        out.push(CareOut::Request(SourceRequest {
                            source_event_id,
                            case_id: case_id.clone(),
                            brand_id,
                            opened_at,
                            diff,
                        }));
                    }
                }
            }
            out.push(CareOut::Case(CaseMsg {
                brand_id: new.brand_id.clone(),
                case_id: case_id.clone(),
                summary: Some(new.clone()),
                evicted: None,
            }));
            let state = self.cases.get(&case_id).expect("exists");
            let (due, _) = self.due_of(&new, state.base.is_some() && state.events.is_empty());
            let state = self.cases.get_mut(&case_id).expect("exists");
            state.due = due;
            self.due.entry(due).or_default().push(case_id);
        }
        while let Some((&due, _)) = self.due.first_key_value() {
            if input.watermark == crate::types::NO_WATERMARK || due > input.watermark {
                break;
            }
            for case_id in self.due.pop_first().expect("non-empty").1 {
                let Some(state) = self.cases.get(&case_id) else { continue };
                if state.due != due {
                    continue; // rescheduled
                }
                let summary = state.summary.clone().expect("summarized");
                match self.due_of(&summary, state.base.is_some() && state.events.is_empty()).1 {
                    Due::Compact => {
                        let state = self.cases.get_mut(&case_id).expect("exists");
                        state.events = Vec::new();
                        state.base = Some(summary.clone());
                        let (next, _) = self.due_of(&summary, true);
                        self.cases.get_mut(&case_id).expect("exists").due = next;
                        self.due.entry(next).or_default().push(case_id);
                    }
                    Due::Evict(why) => {
                        self.cases.remove(&case_id);
                        out.push(CareOut::Case(CaseMsg {
                            brand_id: summary.brand_id.clone(),
                            case_id,
                            summary: Some(summary),
                            evicted: Some(why),
                        }));
                    }
                }
            }
        }
        self.gauge.set(&self.params.gauges.cases, self.cases.len());
    }

    fn on_end(&mut self, _watermark: Millis, _out: &mut Vec<CareOut>) {
        self.cases.clear();
        self.due.clear();
        self.gauge.set(&self.params.gauges.cases, 0);
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&(&self.cases, &self.due))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.cases, self.due) = decode(state)?;
        self.gauge.set(&self.params.gauges.cases, self.cases.len());
        Ok(())
    }
}

/// Input of [`source_join`], routed by event id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SourceIn {
    /// A counted mention or comment.
    Source {
        /// The event id's [`source_key`].
        key: u128,
        /// ts.
        ts: Millis,
        /// Kind.
        kind: SourceKind,
    },
    /// A case's request.
    Request(SourceRequest),
}

/// A change of a case's source kind, for the brand store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindDiff {
    /// Brand.
    pub brand_id: String,
    /// Case.
    pub case_id: String,
    /// Kind.
    pub kind: SourceKind,
    /// +1 or −1.
    pub diff: i64,
}

/// Joins cases with the counted mention or ad comment whose id is the case's `source_event_id`
/// and whose ts is within `L` of the case's opened time. Keeps sources and requests for `2L` of
/// watermark past their time (after that no partner can still arrive); matches already made stay.
pub fn source_join<'s>(
    input: StreamVec<'s, Epoch, SourceIn>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, KindDiff> {
    let logic = SourceJoin {
        params,
        sources: FxHashMap::default(),
        requests: FxHashMap::default(),
        emitted: FxHashMap::default(),
        expiry: BTreeMap::new(),
        gauge: Default::default(),
    };
    epoch_operator(
        "SourceJoin",
        input,
        |i: &SourceIn| match i {
            SourceIn::Source { key, .. } => *key as u64,
            SourceIn::Request(r) => source_key(&r.source_event_id) as u64,
        },
        side,
        snapshots,
        logic,
    )
}

type RequestKey = (String, String, Millis); // case, brand, opened

#[derive(Serialize, Deserialize)]
enum Expiring {
    Source(u128),
    Request(u128, RequestKey),
}

/// The key of a source event id in the join: a fingerprint, so the mentions and comments held
/// for `2L` and the exchange carry no strings.
pub fn source_key(event_id: &str) -> u128 {
    crate::types::fingerprint("source", event_id)
}

struct SourceJoin {
    params: Params,
    /// The counted mentions and comments of the last `2L`, by id; nearly every id has one, held
    /// inline (no allocation per mention).
    sources: FxHashMap<u128, SmallVec<[(Millis, SourceKind); 1]>>,
    requests: FxHashMap<u128, FxHashMap<RequestKey, i64>>,
    /// The kind emitted for each (case, brand) of a source id, with the request's opened time.
    emitted: FxHashMap<u128, FxHashMap<(String, String), (SourceKind, Millis)>>,
    expiry: BTreeMap<Millis, Vec<Expiring>>,
    gauge: crate::types::GaugeShare,
}

impl EpochLogic<SourceIn, KindDiff> for SourceJoin {
    fn on_epoch(&mut self, input: EpochInput<SourceIn>, out: &mut Vec<KindDiff>) {
        let l = self.params.lateness_ms;
        let mut touched: FxHashSet<u128> = FxHashSet::default();
        for i in input.data {
            match i {
                SourceIn::Source { key, ts, kind } => {
                    // Expiry by minute bucket: one entry list per minute, not per event time.
                    let at = window_start(ts.saturating_add(2 * l)) + schemas::time::MINUTE_MS;
                    self.expiry.entry(at).or_default().push(Expiring::Source(key));
                    self.sources.entry(key).or_default().push((ts, kind));
                    if self.requests.contains_key(&key) {
                        touched.insert(key);
                    }
                }
                SourceIn::Request(r) => {
                    let eid = source_key(&r.source_event_id);
                    let key = (r.case_id, r.brand_id, r.opened_at);
                    *self.requests.entry(eid).or_default().entry(key.clone()).or_default() += r.diff;
                    let at = window_start(r.opened_at.saturating_add(2 * l)) + schemas::time::MINUTE_MS;
                    self.expiry.entry(at).or_default().push(Expiring::Request(eid, key));
                    touched.insert(eid);
                }
            }
        }
        for eid in touched {
            let sources = self.sources.get(&eid).map(|v| v.as_slice()).unwrap_or(&[]);
            let before = self.emitted.remove(&eid).unwrap_or_default();
            let mut now: FxHashMap<(String, String), (SourceKind, Millis)> = FxHashMap::default();
            if let Some(reqs) = self.requests.get_mut(&eid) {
                reqs.retain(|_, c| *c != 0);
                for ((case_id, brand_id, opened), _) in reqs.iter() {
                    let near = |k: SourceKind| sources.iter().any(|(ts, kind)| *kind == k && (ts - opened).abs() <= l);
                    // A match once made stays while its request (same opened time) does: the
                    // source that made it may have left this state (2L after its ts), and a
                    // later fact with the same id (a copy read after dedup forgot the first)
                    // must not undo it. Counted facts are never uncounted, so the match holds.
                    let key = (case_id.clone(), brand_id.clone());
                    let kept = before.get(&key).filter(|(_, o)| o == opened).map(|(k, _)| *k);
                    let kind = if near(SourceKind::Mention) || kept == Some(SourceKind::Mention) {
                        Some(SourceKind::Mention)
                    } else if near(SourceKind::AdComment) || kept == Some(SourceKind::AdComment) {
                        Some(SourceKind::AdComment)
                    } else {
                        None
                    };
                    if let Some(k) = kind {
                        now.insert(key, (k, *opened));
                    }
                }
            }
            let kind_of = |m: &FxHashMap<(String, String), (SourceKind, Millis)>, key: &(String, String)| {
                m.get(key).map(|(k, _)| *k)
            };
            for (key, (kind, _)) in &before {
                if kind_of(&now, key) != Some(*kind) {
                    out.push(KindDiff { brand_id: key.1.clone(), case_id: key.0.clone(), kind: *kind, diff: -1 });
                }
            }
            for (key, (kind, _)) in &now {
                if kind_of(&before, key) != Some(*kind) {
                    out.push(KindDiff { brand_id: key.1.clone(), case_id: key.0.clone(), kind: *kind, diff: 1 });
                }
            }
            if !now.is_empty() {
                self.emitted.insert(eid, now);
            }
        }
        while let Some((&at, _)) = self.expiry.first_key_value() {
            if input.watermark == crate::types::NO_WATERMARK || at >= input.watermark {
                break;
            }
            for item in self.expiry.pop_first().expect("non-empty").1 {
                match item {
                    Expiring::Source(key) => {
                        if let Some(v) = self.sources.get_mut(&key) {
                            v.retain(|(ts, _)| ts.saturating_add(2 * l) >= input.watermark);
                            if v.is_empty() {
                                self.sources.remove(&key);
                            }
                        }
                    }
                    Expiring::Request(eid, key) => {
                        if let Some(reqs) = self.requests.get_mut(&eid) {
                            reqs.remove(&key);
                            if let Some(em) = self.emitted.get_mut(&eid) {
                                em.remove(&(key.0.clone(), key.1.clone()));
                                if em.is_empty() {
                                    self.emitted.remove(&eid);
                                }
                            }
                            if reqs.is_empty() {
                                self.requests.remove(&eid);
                            }
                        }
                    }
                }
            }
        }
        self.gauge.set(&self.params.gauges.join_entries, self.sources.len() + self.requests.len());
    }

    fn on_end(&mut self, _watermark: Millis, _out: &mut Vec<KindDiff>) {
        self.sources.clear();
        self.requests.clear();
        self.emitted.clear();
        self.expiry.clear();
        self.gauge.set(&self.params.gauges.join_entries, 0);
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&(&self.sources, &self.requests, &self.emitted, &self.expiry))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.sources, self.requests, self.emitted, self.expiry) = decode(state)?;
        self.gauge.set(&self.params.gauges.join_entries, self.sources.len() + self.requests.len());
        Ok(())
    }
}
