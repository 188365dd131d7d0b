//! The whole brandpulse dataflow (SPEC §3–§6), from decoded inputs to output rows.

use crate::ads::{ads_and_crisis, AdsIn, AdsOut};
use crate::brand::{brand_store, BrandIn, BrandOut};
use crate::care::{cases, source_join, CareOut, SourceIn};
use crate::dedup::{dedup, Accepted};
use crate::types::{Dim, Epoch, Fact, Params, Rejected, Side, WatermarkReport};
use crate::watermark::global_watermark;
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, Topic};
use timely::dataflow::operators::vec::{Broadcast, Map};
use timely::dataflow::operators::Concat;
use timely::dataflow::StreamVec;

/// The dataflow's inputs, as each worker's sources produce them.
pub struct Inputs<'s> {
    /// Decoded facts that passed the lateness check of their partition.
    pub facts: StreamVec<'s, Epoch, Fact>,
    /// Dimension rows (brands, ads).
    pub dims: StreamVec<'s, Epoch, Dim>,
    /// One watermark report per worker and epoch.
    pub reports: StreamVec<'s, Epoch, WatermarkReport>,
}

/// The dataflow's outputs, on the worker that produced them.
pub struct Outputs<'s> {
    /// Final brand_metrics_minute rows.
    pub brand_minutes: StreamVec<'s, Epoch, BrandMinuteRow>,
    /// Final ad_metrics_minute rows.
    pub ad_minutes: StreamVec<'s, Epoch, AdMinuteRow>,
    /// Final care_cases rows.
    pub care_cases: StreamVec<'s, Epoch, CareCaseRow>,
    /// Alerts as they open (for actions).
    pub alerts_opened: StreamVec<'s, Epoch, AlertRow>,
    /// Final alert rows.
    pub alerts: StreamVec<'s, Epoch, AlertRow>,
    /// Brand status at the end of a bounded input.
    pub brand_status: StreamVec<'s, Epoch, BrandStatusRow>,
    /// Records rejected inside the dataflow.
    pub rejected: StreamVec<'s, Epoch, Rejected>,
    /// Dropped duplicates, by topic.
    pub duplicates: StreamVec<'s, Epoch, Topic>,
}

/// Builds the brandpulse dataflow.
pub fn brandpulse<'s>(inputs: Inputs<'s>, params: Params) -> Outputs<'s> {
    let watermark = global_watermark(inputs.reports);
    let brand_rows = inputs
        .dims
        .clone()
        .flat_map(|d| match d {
            Dim::Brand(pos, row) => Some(Side::Brand(pos, row)),
            Dim::Ad(..) => None,
        })
        .broadcast();
    let side = watermark.concat(brand_rows);

    let accepted = dedup(inputs.facts, side.clone(), params.clone());

    let ad_rows = inputs.dims.flat_map(|d| match d {
        Dim::Ad(pos, row) => Some(AdsIn::Ad(pos, row)),
        Dim::Brand(..) => None,
    });
    let comments = accepted.clone().flat_map(|a| match a {
        Accepted::Comment(c) => Some(AdsIn::Comment(c)),
        _ => None,
    });
    let ads_out = ads_and_crisis(comments.concat(ad_rows), side.clone(), params.clone());

    let care_events = accepted.clone().flat_map(|a| match a {
        Accepted::Care(pos, e) => Some((pos, e)),
        _ => None,
    });
    let care_out = cases(care_events, side.clone(), params.clone());

    let sources = accepted.clone().flat_map(|a| match a {
        Accepted::Source { event_id, ts, kind } => Some(SourceIn::Source { event_id, ts, kind }),
        _ => None,
    });
    let requests = care_out.clone().flat_map(|c| match c {
        CareOut::Request(r) => Some(SourceIn::Request(r)),
        CareOut::Case(_) => None,
    });
    let kinds = source_join(sources.concat(requests), side.clone(), params.clone());

    let brand_in = accepted
        .clone()
        .flat_map(|a| match a {
            Accepted::MentionAgg { brand_id, minute, agg } => Some(BrandIn::Delta { brand_id, minute, agg }),
            _ => None,
        })
        .concat(ads_out.clone().flat_map(|a| match a {
            AdsOut::BrandDelta { brand_id, minute, agg } => Some(BrandIn::Delta { brand_id, minute, agg }),
            AdsOut::Crisis(c) => Some(BrandIn::Crisis(c)),
            _ => None,
        }))
        .concat(care_out.flat_map(|c| match c {
            CareOut::Case(m) => Some(BrandIn::Case(m)),
            CareOut::Request(_) => None,
        }))
        .concat(kinds.map(BrandIn::Kind));
    let brand_out = brand_store(brand_in, side, params);

    let rejected = accepted
        .clone()
        .flat_map(|a| match a {
            Accepted::Rejected(r) => Some(r),
            _ => None,
        })
        .concat(ads_out.clone().flat_map(|a| match a {
            AdsOut::Rejected(r) => Some(r),
            _ => None,
        }));
    Outputs {
        brand_minutes: brand_out.clone().flat_map(|b| match b {
            BrandOut::Minute(r) => Some(r),
            _ => None,
        }),
        ad_minutes: ads_out.flat_map(|a| match a {
            AdsOut::AdMinute(r) => Some(r),
            _ => None,
        }),
        care_cases: brand_out.clone().flat_map(|b| match b {
            BrandOut::Case(r) => Some(r),
            _ => None,
        }),
        alerts_opened: brand_out.clone().flat_map(|b| match b {
            BrandOut::AlertOpened(r) => Some(r),
            _ => None,
        }),
        alerts: brand_out.clone().flat_map(|b| match b {
            BrandOut::Alert(r) => Some(r),
            _ => None,
        }),
        brand_status: brand_out.flat_map(|b| match b {
            BrandOut::Status(r) => Some(r),
            _ => None,
        }),
        rejected,
        duplicates: accepted.flat_map(|a| match a {
            Accepted::Duplicate(t) => Some(t),
            _ => None,
        }),
    }
}
