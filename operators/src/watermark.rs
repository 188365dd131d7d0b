//! Event time (SPEC §3): per-partition lateness and the global watermark.

use crate::checkpoint::Snapshots;
use crate::types::{Epoch, Millis, Side, WatermarkReport, NO_WATERMARK};
use std::collections::BTreeMap;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::StreamVec;

/// The clock of one fact partition: its `M_p` and the lateness check.
///
/// # Examples
/// ```
/// use brandpulse_operators::watermark::PartitionClock;
/// let mut p = PartitionClock::new(1_000);
/// assert!(p.admit(5_000));
/// assert!(p.admit(4_000)); // 1 s behind: within lateness
/// assert!(!p.admit(3_999)); // late: ts < M_p − L
/// assert_eq!(p.max_ts(), Some(5_000));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct PartitionClock {
    lateness_ms: Millis,
    max_ts: Option<Millis>,
}

impl PartitionClock {
    /// A partition that has seen nothing yet.
    pub fn new(lateness_ms: Millis) -> Self {
        PartitionClock { lateness_ms, max_ts: None }
    }

    /// A partition whose `M_p` was saved in a checkpoint.
    pub fn restored(lateness_ms: Millis, max_ts: Millis) -> Self {
        PartitionClock { lateness_ms, max_ts: Some(max_ts) }
    }

    /// Checks an event against `M_p` (taken before it): `false` when late. Advances `M_p`.
    pub fn admit(&mut self, ts: Millis) -> bool {
        match self.max_ts {
            // Saturating: no `M_p` or `L` can wrap the bound (SPEC §3: no record can make others late).
            Some(m) if ts < m.saturating_sub(self.lateness_ms) => false,
            Some(m) => {
                self.max_ts = Some(m.max(ts));
                true
            }
            None => {
                self.max_ts = Some(ts);
                true
            }
        }
    }

    /// `M_p`, the largest accepted `ts`.
    pub fn max_ts(&self) -> Option<Millis> {
        self.max_ts
    }
}

/// Combines per-worker reports of one epoch into the global watermark (monotone).
///
/// While some fact partition is active, `W` is the minimum `M_p` over active partitions with
/// data; when none is active (end of a bounded input), `W` is the largest `ts` seen.
/// `max_seen` is the largest `ts` reported so far by any worker (also by workers that ended).
pub fn combine(prev: Millis, max_seen: Millis, reports: &[WatermarkReport]) -> Millis {
    let any_active = reports.iter().any(|r| r.any_active);
    let w =
        if any_active { reports.iter().filter_map(|r| r.active_min).min().unwrap_or(NO_WATERMARK) } else { max_seen };
    prev.max(w)
}

/// The state of the watermark operator: last `W`, largest `ts` seen, latest report per worker.
type WatermarkState = (Millis, Millis, Vec<WatermarkReport>);

/// The global watermark per epoch, from every worker's reports, broadcast to all workers.
///
/// Every worker reports at epoch 0 and at each epoch it reads data; its latest report stands
/// for it at the epochs it skips (a worker that has not reported yet counts as active without
/// data). Reports are gathered on worker 0, combined when the epoch is complete, and the result
/// is broadcast as [`Side::Watermark`] at the same epoch, followed by [`Side::Checkpoint`] when a
/// report of the epoch asked for one (worker 0 then snapshots this operator's state too).
pub fn global_watermark<'s>(
    reports: StreamVec<'s, Epoch, WatermarkReport>,
    snapshots: &Snapshots,
) -> StreamVec<'s, Epoch, Side> {
    const NAME: &str = "Watermark";
    // Reports all go to worker 0: only its instance has state.
    let snapshots = (reports.scope().index() == 0).then(|| snapshots.clone());
    let mut state: WatermarkState = (NO_WATERMARK, NO_WATERMARK, Vec::new());
    if let Some(bytes) = snapshots.as_ref().and_then(|s| s.register(NAME)) {
        match crate::checkpoint::decode(&bytes) {
            Ok(saved) => state = saved,
            Err(e) => snapshots.as_ref().expect("registered").restore_failed(NAME, e),
        }
    }
    reports
        .unary_frontier(Exchange::new(|_: &WatermarkReport| 0u64), NAME, move |_cap, _info| {
            let mut stash: BTreeMap<Epoch, (timely::dataflow::operators::Capability<Epoch>, Vec<WatermarkReport>)> =
                BTreeMap::new();
            let (mut last, mut max_seen, mut latest) = state;
            move |(input, frontier), output| {
                input.for_each_stamp(|cap, data| {
                    let t = *cap.least().expect("a time");
                    let entry =
                        stash.entry(t).or_insert_with(|| (cap.retain_least(0).expect("a capability"), Vec::new()));
                    for batch in data {
                        entry.1.append(batch);
                    }
                });
                while let Some((&t, _)) = stash.first_key_value() {
                    if frontier.frontier().less_equal(&t) {
                        break;
                    }
                    let (_, (cap, reports)) = stash.pop_first().expect("non-empty");
                    let checkpoint = reports.iter().any(|r| r.checkpoint);
                    for r in reports {
                        if latest.len() <= r.worker {
                            latest.resize(
                                r.worker + 1,
                                WatermarkReport {
                                    worker: 0,
                                    active_min: None,
                                    any_active: true,
                                    max_ts: None,
                                    checkpoint: false,
                                },
                            );
                        }
                        latest[r.worker] = WatermarkReport { checkpoint: false, ..r };
                    }
                    max_seen = latest.iter().filter_map(|r| r.max_ts).fold(max_seen, Millis::max);
                    last = combine(last, max_seen, &latest);
                    let mut session = output.session(&cap);
                    session.give(Side::Watermark(last));
                    if checkpoint {
                        session.give(Side::Checkpoint);
                        if let Some(s) = &snapshots {
                            s.put(t, NAME, crate::checkpoint::encode(&(last, max_seen, &latest)));
                        }
                    }
                }
            }
        })
        .broadcast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_is_min_of_active_then_max_at_the_end() {
        let a =
            WatermarkReport { worker: 0, active_min: Some(10), any_active: true, max_ts: Some(10), checkpoint: false };
        let b =
            WatermarkReport { worker: 0, active_min: Some(7), any_active: true, max_ts: Some(20), checkpoint: false };
        assert_eq!(combine(NO_WATERMARK, 20, &[a, b]), 7);
        let done =
            WatermarkReport { worker: 0, active_min: None, any_active: false, max_ts: Some(20), checkpoint: false };
        assert_eq!(combine(7, 20, &[done, a]), 10);
        // All ended: the largest ts ever seen, also from workers that stopped reporting.
        assert_eq!(combine(7, 25, &[done]), 25);
        // Never goes back.
        assert_eq!(combine(30, 30, &[a]), 30);
    }
}
