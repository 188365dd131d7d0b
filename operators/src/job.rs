//! The whole brandpulse dataflow (SPEC §3–§6), from decoded inputs to output rows.

use crate::ads::{ads_and_crisis, AdsIn, AdsOut};
use crate::brand::{brand_store, BrandIn, BrandOut};
use crate::care::{cases, source_join, CareOut, SourceIn};
use crate::checkpoint::Snapshots;
use crate::dedup::{dedup, Accepted};
use crate::types::{Dim, Epoch, Fact, Params, Rejected, Side, WatermarkReport};
use crate::watermark::global_watermark;
use crate::windows::{brand_windows, window_updates, NO_FRT};
use schemas::{AdMinuteRow, AlertRow, BrandMinuteRow, BrandStatusRow, CareCaseRow, Topic};
use timely::dataflow::operators::vec::{Broadcast, Map, Partition};
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
    /// Live changes (only with `Params::live`): current brand_metrics_minute values.
    pub live_brand_minutes: StreamVec<'s, Epoch, BrandMinuteRow>,
    /// Live changes: current ad_metrics_minute values.
    pub live_ad_minutes: StreamVec<'s, Epoch, AdMinuteRow>,
    /// Live changes: current care_cases rows.
    pub live_care_cases: StreamVec<'s, Epoch, CareCaseRow>,
    /// Live changes: current brand_status rows.
    pub live_brand_status: StreamVec<'s, Epoch, BrandStatusRow>,
    /// Brands whose publishing resumed by `auto_resume` (for `resume_publishing`).
    pub auto_resumed: StreamVec<'s, Epoch, String>,
}

/// Splits a stream into `N` streams by `route`, so each part has one consumer (timely clones a
/// stream's batches for every extra consumer).
fn split<'s, D: 'static, const N: usize>(
    stream: StreamVec<'s, Epoch, D>,
    route: impl Fn(&D) -> usize + 'static,
) -> [StreamVec<'s, Epoch, D>; N] {
    let parts = stream.partition(N as u64, move |d| (route(&d) as u64, d));
    parts.try_into().unwrap_or_else(|_| unreachable!("partition returns N streams"))
}

/// Builds the brandpulse dataflow, starting from empty state.
pub fn brandpulse<'s>(inputs: Inputs<'s>, params: Params) -> Outputs<'s> {
    brandpulse_with(inputs, params, &Snapshots::new())
}

/// Builds the brandpulse dataflow with checkpoints: operators restore their state from
/// `snapshots` and put it there at every epoch a report asked for a checkpoint.
pub fn brandpulse_with<'s>(inputs: Inputs<'s>, params: Params, snapshots: &Snapshots) -> Outputs<'s> {
    let watermark = global_watermark(inputs.reports, snapshots, params.gauges.clone());
    let [brand_dims, ad_dims, resume_dims] = split(inputs.dims, |d: &Dim| match d {
        Dim::Brand(..) => 0,
        Dim::Ad(..) => 1,
        Dim::Resume { .. } => 2,
    });
    let brand_rows = brand_dims
        .flat_map(|d| match d {
            Dim::Brand(pos, row) => Some(Side::Brand(pos, row)),
            _ => None,
        })
        .broadcast();
    let side = watermark.concat(brand_rows);

    let accepted = dedup(inputs.facts, side.clone(), snapshots, params.clone());
    let [comments, care_events, sources, mention_aggs, rejected, duplicates] =
        split(accepted, |a: &Accepted| match a {
            Accepted::Comment(_) => 0,
            Accepted::Care(..) => 1,
            Accepted::Source { .. } => 2,
            Accepted::MentionAgg { .. } => 3,
            Accepted::Rejected(_) => 4,
            Accepted::Duplicate(_) => 5,
        });

    let ad_rows = ad_dims.flat_map(|d| match d {
        Dim::Ad(pos, row) => Some(AdsIn::Ad(pos, row)),
        _ => None,
    });
    let comments = comments.flat_map(|a| match a {
        Accepted::Comment(c) => Some(AdsIn::Comment(c)),
        _ => None,
    });
    let ads_out = ads_and_crisis(comments.concat(ad_rows), side.clone(), snapshots, params.clone());
    let [ads_to_windows, crises, ad_minutes, ads_rejected, live_ad_minutes] = split(ads_out, |a: &AdsOut| match a {
        AdsOut::BrandDelta { .. } => 0,
        AdsOut::Crisis(_) => 1,
        AdsOut::AdMinute(_) => 2,
        AdsOut::Rejected(_) => 3,
        AdsOut::LiveAdMinute(_) => 4,
    });

    let care_events = care_events.flat_map(|a| match a {
        Accepted::Care(pos, e) => Some((pos, e)),
        _ => None,
    });
    let [case_msgs, requests] =
        split(cases(care_events, side.clone(), snapshots, params.clone()), |c: &CareOut| match c {
            CareOut::Case(_) => 0,
            CareOut::Request(_) => 1,
        });

    let sources = sources.flat_map(|a| match a {
        Accepted::Source { key, ts, kind } => Some(SourceIn::Source { key, ts, kind }),
        _ => None,
    });
    let requests = requests.flat_map(|c| match c {
        CareOut::Request(r) => Some(SourceIn::Request(r)),
        CareOut::Case(_) => None,
    });
    let kinds = source_join(sources.concat(requests), side.clone(), snapshots, params.clone());

    let brand_in = crises
        .flat_map(|a| match a {
            AdsOut::Crisis(c) => Some(BrandIn::Crisis(c)),
            _ => None,
        })
        .concat(case_msgs.flat_map(|c| match c {
            CareOut::Case(m) => Some(BrandIn::Case(m)),
            CareOut::Request(_) => None,
        }))
        .concat(kinds.map(BrandIn::Kind))
        .concat(resume_dims.flat_map(|d| match d {
            Dim::Resume { brand_id } => Some(BrandIn::Resume { brand_id }),
            _ => None,
        }));
    let [care_deltas, store_out] = split(brand_store(brand_in, side.clone(), snapshots, params.clone()), |b| match b {
        BrandOut::Delta(..) => 0,
        _ => 1,
    });

    // The brand-minute windows on differential dataflow: mentions, ad comments and care
    // contributions are updates of one collection (see `windows.rs`).
    let window_updates = window_updates(mention_aggs, |a| match a {
        Accepted::MentionAgg { brand_id, minute, agg } => Some((((minute, brand_id), NO_FRT), agg)),
        _ => None,
    })
    .concat(window_updates(ads_to_windows, |a| match a {
        AdsOut::BrandDelta { brand_id, minute, agg } => Some((((minute, brand_id), NO_FRT), agg)),
        _ => None,
    }))
    .concat(window_updates(care_deltas, |b| match b {
        BrandOut::Delta(key, agg) => Some((key, agg)),
        _ => None,
    }));
    let brand_out = store_out.concat(brand_windows(window_updates, side, snapshots, params));

    let [minutes, care_rows, opened, alerts, status, live_brand, resumed] =
        split(brand_out, |b: &BrandOut| match b {
            BrandOut::Delta(..) | BrandOut::Minute(_) => 0,
            BrandOut::Case(_) => 1,
            BrandOut::AlertOpened(_) => 2,
            BrandOut::Alert(_) => 3,
            BrandOut::Status(_) => 4,
            BrandOut::LiveMinute(_) | BrandOut::LiveCase(_) | BrandOut::LiveStatus(_) => 5,
            BrandOut::AutoResumed { .. } => 6,
        });
    let [live_brand_minutes, live_care_cases, live_brand_status] = split(live_brand, |b: &BrandOut| match b {
        BrandOut::LiveMinute(_) => 0,
        BrandOut::LiveCase(_) => 1,
        _ => 2,
    });

    let rejected = rejected
        .flat_map(|a| match a {
            Accepted::Rejected(r) => Some(r),
            _ => None,
        })
        .concat(ads_rejected.flat_map(|a| match a {
            AdsOut::Rejected(r) => Some(r),
            _ => None,
        }));
    Outputs {
        brand_minutes: minutes.flat_map(|b| match b {
            BrandOut::Minute(r) => Some(r),
            _ => None,
        }),
        ad_minutes: ad_minutes.flat_map(|a| match a {
            AdsOut::AdMinute(r) => Some(r),
            _ => None,
        }),
        care_cases: care_rows.flat_map(|b| match b {
            BrandOut::Case(r) => Some(r),
            _ => None,
        }),
        alerts_opened: opened.flat_map(|b| match b {
            BrandOut::AlertOpened(r) => Some(r),
            _ => None,
        }),
        alerts: alerts.flat_map(|b| match b {
            BrandOut::Alert(r) => Some(r),
            _ => None,
        }),
        brand_status: status.flat_map(|b| match b {
            BrandOut::Status(r) => Some(r),
            _ => None,
        }),
        rejected,
        duplicates: duplicates.flat_map(|a| match a {
            Accepted::Duplicate(t) => Some(t),
            _ => None,
        }),
        live_brand_minutes: live_brand_minutes.flat_map(|b| match b {
            BrandOut::LiveMinute(r) => Some(r),
            _ => None,
        }),
        live_ad_minutes: live_ad_minutes.flat_map(|a| match a {
            AdsOut::LiveAdMinute(r) => Some(r),
            _ => None,
        }),
        live_care_cases: live_care_cases.flat_map(|b| match b {
            BrandOut::LiveCase(r) => Some(r),
            _ => None,
        }),
        live_brand_status: live_brand_status.flat_map(|b| match b {
            BrandOut::LiveStatus(r) => Some(r),
            _ => None,
        }),
        auto_resumed: resumed.flat_map(|b| match b {
            BrandOut::AutoResumed { brand_id } => Some(brand_id),
            _ => None,
        }),
    }
}
