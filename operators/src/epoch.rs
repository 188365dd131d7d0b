//! The epoch operator: keyed state that processes each epoch whole, in order, with its watermark.
//!
//! Every stateful brandpulse operator is built on [`epoch_operator`]: records are routed to the
//! worker that owns their key; a broadcast side input carries brand rows and the watermark of
//! each epoch. An epoch is processed once both inputs have passed it, so the operator sees all of
//! the epoch's records at once and can order them deterministically. At the end of the input the
//! operator's `on_end` flushes its remaining state.

use crate::checkpoint::{decode, encode, Snapshots};
use crate::types::{Epoch, Millis, Pos, Side, NO_WATERMARK};
use schemas::BrandRow;
use std::collections::BTreeMap;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::StreamVec;
use timely::ExchangeData;

/// One epoch's input to an [`EpochLogic`].
pub struct EpochInput<D> {
    /// The epoch.
    pub epoch: Epoch,
    /// Records routed to this worker, in arrival order.
    pub data: Vec<D>,
    /// Brand rows of the epoch, in position order.
    pub brands: Vec<(Pos, BrandRow)>,
    /// The watermark after this epoch.
    pub watermark: Millis,
    /// The watermark after the previous epoch.
    pub prev_watermark: Millis,
}

/// The state machine of an epoch operator.
pub trait EpochLogic<D, O>: 'static {
    /// Processes one whole epoch.
    fn on_epoch(&mut self, input: EpochInput<D>, out: &mut Vec<O>);
    /// Flushes remaining state at the end of the input; `watermark` is the last one.
    fn on_end(&mut self, watermark: Millis, out: &mut Vec<O>);
    /// Encodes the state held between epochs (see [`crate::checkpoint`]).
    fn snapshot(&self) -> Vec<u8>;
    /// Replaces the state with one encoded by [`EpochLogic::snapshot`].
    fn restore(&mut self, state: &[u8]) -> Result<(), String>;
}

/// An epoch's records, brand rows, watermark and checkpoint request, gathered until the epoch
/// is complete.
type Stashed<D> = (Vec<D>, Vec<(Pos, BrandRow)>, Millis, bool);

/// Builds an epoch operator named `name` over `data` (routed by `route`) and `side` (broadcast).
///
/// The operator restores its state from `snapshots` when resuming, and puts its state there
/// after every epoch that carries [`Side::Checkpoint`]; `name` identifies it in checkpoints.
pub fn epoch_operator<'s, D, O, L>(
    name: &str,
    data: StreamVec<'s, Epoch, D>,
    route: impl Fn(&D) -> u64 + 'static,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    logic: L,
) -> StreamVec<'s, Epoch, O>
where
    D: ExchangeData + Clone,
    O: Clone + 'static,
    L: EpochLogic<D, O>,
{
    let exchange = Exchange::new(move |d: &D| route(d));
    epoch_operator_core(name, data, exchange, side, snapshots, logic)
}

/// As [`epoch_operator`], for records that are already on the worker that owns their key (the
/// output of a differential arrangement, which exchanged them by key): no exchange.
pub fn epoch_operator_local<'s, D, O, L>(
    name: &str,
    data: StreamVec<'s, Epoch, D>,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    logic: L,
) -> StreamVec<'s, Epoch, O>
where
    D: Clone + 'static,
    O: Clone + 'static,
    L: EpochLogic<D, O>,
{
    epoch_operator_core(name, data, Pipeline, side, snapshots, logic)
}

fn epoch_operator_core<'s, D, O, L, P>(
    name: &str,
    data: StreamVec<'s, Epoch, D>,
    pact: P,
    side: StreamVec<'s, Epoch, Side>,
    snapshots: &Snapshots,
    mut logic: L,
) -> StreamVec<'s, Epoch, O>
where
    D: Clone + 'static,
    O: Clone + 'static,
    L: EpochLogic<D, O>,
    P: ParallelizationContract<Epoch, Vec<D>>,
{
    let mut restored_wm = NO_WATERMARK;
    if let Some(bytes) = snapshots.register(name) {
        let restored = decode::<(Millis, Vec<u8>)>(&bytes).and_then(|(wm, state)| {
            restored_wm = wm;
            logic.restore(&state)
        });
        if let Err(e) = restored {
            snapshots.restore_failed(name, e);
        }
    }
    let snapshots = snapshots.clone();
    let op_name = name.to_string();
    data.binary_frontier(side, pact, Pipeline, name, move |cap, _info| {
        let mut keep = Some(cap);
        let mut stash: BTreeMap<Epoch, Stashed<D>> = BTreeMap::new();
        let mut last_wm = restored_wm;
        let mut out = Vec::new();
        move |(in1, f1), (in2, f2), output| {
            in1.for_each_stamp(|cap, data| {
                let entry = stash
                    .entry(*cap.least().expect("a time"))
                    .or_insert_with(|| (Vec::new(), Vec::new(), NO_WATERMARK, false));
                for batch in data {
                    entry.0.append(batch);
                }
            });
            in2.for_each_stamp(|cap, data| {
                let entry = stash
                    .entry(*cap.least().expect("a time"))
                    .or_insert_with(|| (Vec::new(), Vec::new(), NO_WATERMARK, false));
                for batch in data {
                    for side in batch.drain(..) {
                        match side {
                            Side::Watermark(w) => entry.2 = entry.2.max(w),
                            Side::Brand(pos, row) => entry.1.push((pos, row)),
                            Side::Checkpoint => entry.3 = true,
                        }
                    }
                }
            });
            let passed = |t: &Epoch| !f1.frontier().less_equal(t) && !f2.frontier().less_equal(t);
            while let Some((&t, _)) = stash.first_key_value() {
                if !passed(&t) {
                    break;
                }
                let (_, (data, mut brands, w, checkpoint)) = stash.pop_first().expect("non-empty");
                brands.sort_by_key(|(pos, _)| *pos);
                let watermark = last_wm.max(w);
                let input = EpochInput { epoch: t, data, brands, watermark, prev_watermark: last_wm };
                last_wm = watermark;
                logic.on_epoch(input, &mut out);
                if checkpoint {
                    snapshots.put(t, &op_name, encode(&(last_wm, logic.snapshot())));
                }
                if !out.is_empty() {
                    let cap = keep.as_ref().expect("held until the end").delayed(&t);
                    output.session(&cap).give_iterator(out.drain(..));
                }
            }
            let lower = f1.frontier().iter().chain(f2.frontier().iter()).min().copied();
            match lower {
                Some(t) => {
                    if let Some(k) = keep.as_mut() {
                        if *k.time() < t {
                            k.downgrade(&t);
                        }
                    }
                }
                None => {
                    if let Some(k) = keep.take() {
                        logic.on_end(last_wm, &mut out);
                        if !out.is_empty() {
                            output.session(&k).give_iterator(out.drain(..));
                        }
                    }
                }
            }
        }
    })
}
