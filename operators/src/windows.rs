//! Brand-minute windows (SPEC §5) on differential dataflow: contributions and corrections are updates whose difference is a [`BrandAgg`].
//!
//! Every source of a brand-minute figure — the epoch's mention pre-aggregates, the ad-comment
//! counts of the ads operator, the care contributions of the brand store (cases opened, first
//! responses with their FRT, resolutions, answered sources) — is an update
//! `(((window_start, brand_id), frt), epoch, agg)` of one differential collection. A correction
//! (a late comment whose ad arrives, a case whose first response moves, a changed SLA target, a
//! source joined later) is the negated old contribution plus the new one; differential
//! exchanges the updates by window (`arrange_by_key`, key `(window_start, brand_id)`) and
//! consolidates each epoch's updates of a key by summing the monoid, so an insert and its
//! retraction cancel before anything downstream sees them.
//!
//! [`BrandWindows`] then adds each epoch's consolidated updates to the open windows of its worker,
//! emits the live value of every window that changed (`Params::live`), and emits a window's row
//! once it is final (SPEC §3), releasing its state. Updates for a window that is already final
//! are ignored: final rows never change. The window state lives here, not in a differential
//! trace: the differential arrangement only consolidates (its trace has no reader, so it keeps
//! no history), which `docs/architecture.md` measures against keeping the totals in a
//! `count_total` trace.
//!
//! The FRT percentiles need the window's FRTs, not only their sum: a first response's update
//! carries its FRT in the data (`frt`), all other updates carry [`NO_FRT`], and the multiplicity
//! of an FRT in a window is the `first_responses` of its accumulated difference.

use crate::agg::BrandAgg;
use crate::brand::BrandOut;
use crate::checkpoint::{decode, encode, Snapshots};
use crate::epoch::{epoch_operator_local, EpochInput, EpochLogic};
use crate::types::{Epoch, Millis, Params, Side};
use differential_dataflow::{AsCollection, VecCollection};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;

/// The data of a window update: `((window_start, brand_id), frt_ms)`.
pub type WindowKey = ((Millis, String), Millis);

/// The `frt` of an update that is not a first response.
pub const NO_FRT: Millis = -1;

/// Turns the records of `stream` into window updates at their epoch (records mapped to `None`
/// are dropped).
pub fn window_updates<'s, D: 'static>(
    stream: StreamVec<'s, Epoch, D>,
    logic: impl Fn(D) -> Option<(WindowKey, BrandAgg)> + 'static,
) -> VecCollection<'s, Epoch, WindowKey, BrandAgg> {
    stream
        .unary(Pipeline, "WindowUpdates", move |_cap, _info| {
            move |input, output| {
                input.for_each(|cap, data| {
                    let t = *cap.least().expect("a time");
                    output.session(&cap).give_iterator(data.drain(..).filter_map(&logic).map(|(d, r)| (d, t, r)));
                });
            }
        })
        .as_collection()
}

/// Keeps the brand-minute windows: consolidates `updates` per window and epoch in differential,
/// then emits `BrandOut::Minute` when a window is final and `BrandOut::LiveMinute` for windows
/// that changed (with `Params::live`).
///
/// # Examples
/// Two mentions in the minute at 0, one of them retracted in the next epoch (a correction); the
/// watermark of the second epoch makes the window final (lateness 0 here), so one row with one
/// mention comes out.
/// ```
/// use brandpulse_operators::agg::BrandAgg;
/// use brandpulse_operators::brand::BrandOut;
/// use brandpulse_operators::windows::{brand_windows, NO_FRT};
/// use brandpulse_operators::{Params, Side, Snapshots};
/// use differential_dataflow::input::Input as _;
/// use timely::dataflow::operators::capture::{Capture, Extract};
/// use timely::dataflow::operators::vec::Map;
/// use timely::dataflow::operators::Input as _;
///
/// let out = timely::example(|scope| {
///     let params = Params {
///         lateness_ms: 0,
///         jump: Default::default(),
///         case_ttl_ms: 86_400_000,
///         defaults: Default::default(),
///         scorer: brandpulse_operators::sentiment::Scorer::english_only(),
///         clock: || 0,
///         gauges: Default::default(),
///         live: false,
///     };
///     let (mut updates, collection) = scope.new_collection();
///     let (mut side, side_stream) = scope.new_input::<Vec<Side>>();
///     let rows = brand_windows(collection, side_stream, &Snapshots::new(), params)
///         .flat_map(|out| match out {
///             BrandOut::Minute(r) => Some((r.brand_id, r.mentions, r.mentions_positive, r.reach_sum)),
///             _ => None,
///         })
///         .capture();
///     let window = ((0i64, "acme".to_string()), NO_FRT);
///     let (a, b) = (BrandAgg::mention(Some(0.5), Some(10)), BrandAgg::mention(Some(-0.5), Some(5)));
///     updates.update_at(window.clone(), 0u64, a);
///     updates.update_at(window.clone(), 0u64, b);
///     let mut retract = BrandAgg::default();
///     retract.add(&b, -1);
///     updates.update_at(window, 1u64, retract);
///     side.send(Side::Watermark(30_000)); // epoch 0: the window is open
///     side.advance_to(1);
///     side.send(Side::Watermark(60_000)); // epoch 1: final (60 s past its start, L = 0)
///     rows
/// });
/// let rows: Vec<_> = out.extract().into_iter().flat_map(|(_, rows)| rows).collect();
/// assert_eq!(rows, vec![("acme".to_string(), 1, 1, 10)]);
/// ```
pub fn brand_windows<'s>(
    updates: VecCollection<'s, Epoch, WindowKey, BrandAgg>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    params: Params,
) -> StreamVec<'s, Epoch, BrandOut> {
    let consolidated = updates
        .arrange_by_key_named("BrandWindowUpdates")
        .as_collection(|window: &(Millis, String), frt: &Millis| (window.clone(), *frt));
    let logic =
        BrandWindows { params, windows: BTreeMap::new(), gauge: Default::default(), dirty: FxHashSet::default() };
    epoch_operator_local("BrandWindows", at_own_epoch(consolidated.inner), side, snapshots, logic)
}

/// Re-sends each update under a capability for its own epoch. An arrangement emits one batch for
/// every epoch its frontier passed at once, under the first of them; the epoch operator must see
/// each update in its own epoch, with that epoch's watermark.
fn at_own_epoch<'s, D: 'static, R: 'static>(
    stream: StreamVec<'s, Epoch, (D, Epoch, R)>,
) -> StreamVec<'s, Epoch, (D, Epoch, R)> {
    stream.unary(Pipeline, "AtOwnEpoch", |_cap, _info| {
        move |input, output| {
            input.for_each(|cap, data| {
                let least = *cap.least().expect("a time");
                data.sort_by_key(|(_, t, _)| *t);
                let mut updates = data.drain(..).peekable();
                while let Some(first) = updates.next() {
                    let t = first.1;
                    let at = cap.delayed(&t.max(least), 0);
                    let mut session = output.session(&at);
                    session.give(first);
                    while let Some(next) = updates.next_if(|(_, u, _)| *u == t) {
                        session.give(next);
                    }
                }
            });
        }
    })
}

/// One open window: the sum of its updates, and its first-response times with multiplicity.
#[derive(Default, Serialize, Deserialize)]
struct Window {
    agg: BrandAgg,
    frts: BTreeMap<Millis, i64>,
}

impl Window {
    fn row(&self, brand_id: &str, start: Millis) -> schemas::BrandMinuteRow {
        let mut frts = Vec::new();
        for (&f, &c) in &self.frts {
            frts.extend(std::iter::repeat_n(f, c.max(0) as usize));
        }
        self.agg.to_row(brand_id, start, &frts)
    }
}

struct BrandWindows {
    params: Params,
    windows: BTreeMap<(Millis, String), Window>,
    gauge: crate::types::GaugeShare,
    /// Windows changed in the current epoch (live changes only; empty between epochs).
    dirty: FxHashSet<(Millis, String)>,
}

impl EpochLogic<(WindowKey, Epoch, BrandAgg), BrandOut> for BrandWindows {
    fn on_epoch(&mut self, input: EpochInput<(WindowKey, Epoch, BrandAgg)>, out: &mut Vec<BrandOut>) {
        let prev_w = input.prev_watermark;
        for ((key, frt), _, agg) in input.data {
            if self.params.is_final(key.0, prev_w) {
                continue; // final rows never change
            }
            let w = self.windows.entry(key.clone()).or_default();
            w.agg.add(&agg, 1);
            if frt != NO_FRT {
                let c = w.frts.entry(frt).or_default();
                *c += agg.first_responses;
                if *c == 0 {
                    w.frts.remove(&frt);
                }
            }
            if self.params.live {
                self.dirty.insert(key);
            }
        }
        if self.params.live {
            let mut keys: Vec<(Millis, String)> = self.dirty.drain().collect();
            keys.sort();
            for key in keys {
                if let Some(w) = self.windows.get(&key) {
                    out.push(BrandOut::LiveMinute(w.row(&key.1, key.0)));
                }
            }
        }
        while let Some((&(minute, _), _)) = self.windows.first_key_value() {
            if !self.params.is_final(minute, input.watermark) {
                break;
            }
            let ((minute, brand_id), w) = self.windows.pop_first().expect("non-empty");
            emit(&brand_id, minute, w, out);
        }
        self.gauge.set(&self.params.gauges.windows, self.windows.len());
    }

    fn on_end(&mut self, _watermark: Millis, out: &mut Vec<BrandOut>) {
        while let Some(((minute, brand_id), w)) = self.windows.pop_first() {
            emit(&brand_id, minute, w, out);
        }
        self.gauge.set(&self.params.gauges.windows, 0);
    }

    fn snapshot(&self) -> Vec<u8> {
        encode(&self.windows)
    }

    fn restore(&mut self, state: &[u8]) -> Result<(), String> {
        self.windows = decode(state)?;
        self.gauge.set(&self.params.gauges.windows, self.windows.len());
        Ok(())
    }
}

/// Emits a final window unless every contribution to it was retracted.
fn emit(brand_id: &str, minute: Millis, w: Window, out: &mut Vec<BrandOut>) {
    if w.agg.is_zero() && w.frts.is_empty() {
        return;
    }
    out.push(BrandOut::Minute(w.row(brand_id, minute)));
}
