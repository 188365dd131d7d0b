//! Dedup by `(topic, event_id)` (SPEC §3), sentiment enrichment (§4) and per-epoch mention pre-aggregation.

use crate::agg::BrandAgg;
use crate::care::source_key;
use crate::checkpoint::{decode, encode, Snapshots};
use crate::epoch::{epoch_operator, EpochInput, EpochLogic};
use crate::types::{route, Epoch, Fact, Millis, Params, Pos, Rejected, Side};
use rustc_hash::FxHashMap;
use schemas::time::window_start;
use schemas::{AdComment, CareEvent, Topic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use timely::dataflow::StreamVec;

/// What kind of event a case's source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SourceKind {
    /// A mention.
    Mention,
    /// An ad comment.
    AdComment,
}

impl SourceKind {
    /// The `source_kind` column value.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Mention => "mention",
            SourceKind::AdComment => "ad_comment",
        }
    }
}

/// An ad comment with its score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredComment {
    /// Where it was read.
    pub pos: Pos,
    /// The comment.
    pub comment: AdComment,
    /// Upstream or computed sentiment; `None` when unscored.
    pub sentiment: Option<f64>,
    /// The record as read.
    pub raw: Vec<u8>,
}

/// The outputs of [`dedup`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Accepted {
    /// The epoch's mentions of one (brand, minute), pre-aggregated.
    MentionAgg {
        /// Brand.
        brand_id: String,
        /// Window start.
        minute: Millis,
        /// Aggregate of the mentions.
        agg: BrandAgg,
    },
    /// A counted ad comment.
    Comment(ScoredComment),
    /// A counted care event.
    Care(Pos, CareEvent),
    /// A counted mention or comment, as a possible case source.
    Source {
        /// Its event id's key in the source join ([`crate::care::source_key`]).
        key: u128,
        /// Its ts.
        ts: Millis,
        /// Mention or comment.
        kind: SourceKind,
    },
    /// A dropped duplicate.
    Duplicate(Topic),
    /// A record rejected here (its window was already final).
    Rejected(Rejected),
}

/// Dedups facts by `(topic, event_id)`: the first copy by `(epoch, ts, partition, offset)` counts.
///
/// Also rejects facts whose window is already final (reason `late`), scores mentions and
/// comments, and pre-aggregates the epoch's mentions per (brand, minute). An id is remembered
/// until its window is final.
pub fn dedup<'s>(
    facts: StreamVec<'s, Epoch, Fact>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, Accepted> {
    let logic = Dedup { params, seen: FxHashMap::default(), expiry: BTreeMap::new(), gauge: Default::default() };
    epoch_operator("Dedup", facts, |f: &Fact| route(f.event_id()), side, snapshots, logic)
}

struct Dedup {
    params: Params,
    seen: FxHashMap<u128, ()>,
    expiry: BTreeMap<Millis, Vec<u128>>,
    gauge: crate::types::GaugeShare,
}

impl EpochLogic<Fact, Accepted> for Dedup {
    fn on_epoch(&mut self, input: EpochInput<Fact>, out: &mut Vec<Accepted>) {
        // Sort small keys, not the (large) facts themselves.
        let mut order: Vec<((Millis, Pos), usize)> =
            input.data.iter().enumerate().map(|(i, f)| (f.order_key(), i)).collect();
        order.sort_unstable();
        let mut slots: Vec<Option<Fact>> = input.data.into_iter().map(Some).collect();
        let facts = order.into_iter().map(|(_, i)| slots[i].take().expect("each fact once"));
        let mut mentions: BTreeMap<(String, Millis), BrandAgg> = BTreeMap::new();
        let mut langs = crate::sentiment::LocalLangCounts::default();
        for fact in facts {
            let ts = fact.ts();
            let minute = window_start(ts);
            if self.params.is_final(minute, input.prev_watermark) {
                out.push(Accepted::Rejected(Rejected {
                    topic: fact.topic(),
                    pos: fact.pos(),
                    reason: "late".into(),
                    detail: format!("the window {} is already final", schemas::time::format_rfc3339(minute)),
                    raw: raw_json(&fact),
                }));
                continue;
            }
            let key = crate::types::fingerprint(fact.topic().name(), fact.event_id());
            if self.seen.contains_key(&key) {
                out.push(Accepted::Duplicate(fact.topic()));
                continue;
            }
            self.seen.insert(key, ());
            self.expiry.entry(minute).or_default().push(key);
            match fact {
                Fact::Mention(_, m, _) => {
                    let (code, s) = self.params.scorer.score_mention_uncounted(&m.text, m.lang.as_deref(), m.sentiment);
                    langs.add(code, s.is_some());
                    let agg = mentions.entry((m.brand_id, minute)).or_default();
                    agg.add(&BrandAgg::mention(s, m.reach), 1);
                    out.push(Accepted::Source { key: source_key(&m.event_id), ts, kind: SourceKind::Mention });
                }
                Fact::Comment(pos, c, raw) => {
                    let s = c.sentiment.or_else(|| self.params.scorer.score(&c.text, c.lang.as_deref()));
                    out.push(Accepted::Source { key: source_key(&c.event_id), ts, kind: SourceKind::AdComment });
                    out.push(Accepted::Comment(ScoredComment { pos, comment: c, sentiment: s, raw }));
                }
                Fact::Care(pos, e) => out.push(Accepted::Care(pos, e)),
            }
        }
        langs.flush(self.params.scorer.counts());
        out.extend(mentions.into_iter().map(|((brand_id, minute), agg)| Accepted::MentionAgg {
            brand_id,
            minute,
            agg,
        }));
        while let Some((&minute, _)) = self.expiry.first_key_value() {
            if !self.params.is_final(minute, input.watermark) {
                break;
            }
            for key in self.expiry.pop_first().expect("non-empty").1 {
                self.seen.remove(&key);
            }
        }
        self.gauge.set(&self.params.gauges.dedup_ids, self.seen.len());
    }

    fn on_end(&mut self, _watermark: Millis, _out: &mut Vec<Accepted>) {
        self.seen.clear();
        self.expiry.clear();
        self.gauge.set(&self.params.gauges.dedup_ids, 0);
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&(&self.seen, &self.expiry))
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        (self.seen, self.expiry) = decode(state)?;
        self.gauge.set(&self.params.gauges.dedup_ids, self.seen.len());
        Ok(())
    }
}

/// A fact's bytes for a dead-letter record: mentions and comments keep the bytes read; care
/// events (rejected here only when their window was already final) are re-encoded as JSON.
pub fn raw_json(fact: &Fact) -> Vec<u8> {
    let r = match fact {
        Fact::Mention(_, _, raw) | Fact::Comment(_, _, raw) => return raw.clone(),
        Fact::Care(_, e) => serde_json::to_vec(e),
    };
    r.unwrap_or_default()
}
