//! Event time (SPEC §3): per-partition lateness and the global watermark.

use crate::checkpoint::Snapshots;
use crate::types::{Epoch, Millis, Side, WatermarkReport, NO_WATERMARK};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::StreamVec;

/// The rule that keeps one record (or a handful) far ahead of its partition from raising `M_p`
/// (SPEC §3, `docs/semantics.md` "Time"): a record more than `jump_ms` ahead of `M_p` is an
/// *outlier*. It is admitted (it is not late) but moves `M_p` only when `confirm` consecutive
/// records of the partition are outliers on the same side: the partition genuinely resumed after
/// a gap, and `M_p` becomes the largest of them. Until a second record confirms the first record
/// of a partition, a record more than `jump_ms` *behind* it is an outlier too (the first record
/// may be the one far ahead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JumpRule {
    /// How far ahead of `M_p` (ms) a record is an outlier.
    pub jump_ms: Millis,
    /// Consecutive outliers that confirm a gap (1: every record moves `M_p`, the plain rule).
    pub confirm: u32,
}

impl Default for JumpRule {
    /// Six hours, eight records.
    fn default() -> Self {
        JumpRule { jump_ms: 6 * 3_600_000, confirm: 8 }
    }
}

/// The clock of one partition: its `M_p`, the lateness check and the jump rule.
///
/// # Examples
/// ```
/// use brandpulse_operators::watermark::{JumpRule, PartitionClock};
/// let mut p = PartitionClock::new(1_000);
/// assert!(p.admit(5_000));
/// assert!(p.admit(4_000)); // 1 s behind: within lateness
/// assert!(!p.admit(3_999)); // late: ts < M_p − L
/// assert_eq!(p.max_ts(), Some(5_000));
/// let day = 86_400_000;
/// assert!(p.admit(5_000 + 40 * day)); // far ahead: admitted, but M_p stays
/// assert_eq!(p.max_ts(), Some(5_000));
/// assert!(p.admit(4_500)); // so the next record is not late
/// assert_eq!(p.seen_max(), Some(5_000 + 40 * day));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionClock {
    lateness_ms: Millis,
    rule: JumpRule,
    max_ts: Option<Millis>,
    /// `M_p` rests on more than the partition's first record.
    confirmed: bool,
    /// The smallest `ts` admitted while not confirmed (what the partition reports meanwhile).
    low: Millis,
    /// The current run of consecutive outliers: length, side, largest `ts`.
    run_len: u32,
    run_ahead: bool,
    run_max: Millis,
    /// The largest `ts` admitted, outliers included (the watermark at the end of the input).
    seen_max: Option<Millis>,
}

impl PartitionClock {
    /// A partition that has seen nothing yet, under the default [`JumpRule`].
    pub fn new(lateness_ms: Millis) -> Self {
        Self::with_rule(lateness_ms, JumpRule::default())
    }

    /// A partition that has seen nothing yet.
    pub fn with_rule(lateness_ms: Millis, rule: JumpRule) -> Self {
        PartitionClock {
            lateness_ms,
            rule,
            max_ts: None,
            confirmed: false,
            low: Millis::MAX,
            run_len: 0,
            run_ahead: false,
            run_max: Millis::MIN,
            seen_max: None,
        }
    }

    /// The same clock under other parameters (a restored checkpoint under this run's settings).
    pub fn with_params(mut self, lateness_ms: Millis, rule: JumpRule) -> Self {
        self.lateness_ms = lateness_ms;
        self.rule = rule;
        self
    }

    /// A partition whose `M_p` was saved in a checkpoint.
    pub fn restored(lateness_ms: Millis, max_ts: Millis) -> Self {
        let mut c = Self::new(lateness_ms);
        c.max_ts = Some(max_ts);
        c.confirmed = true;
        c.seen_max = Some(max_ts);
        c
    }

    /// Checks an event against `M_p` (taken before it): `false` when late. Advances `M_p` under
    /// the jump rule. All arithmetic saturates: no `ts`, `L` or jump can wrap a bound.
    pub fn admit(&mut self, ts: Millis) -> bool {
        let Some(m) = self.max_ts else {
            self.max_ts = Some(ts);
            self.low = ts;
            self.seen_max = Some(ts);
            return true;
        };
        let ahead = ts > m.saturating_add(self.rule.jump_ms);
        if ahead || (!self.confirmed && ts < m.saturating_sub(self.rule.jump_ms)) {
            if self.run_len > 0 && self.run_ahead == ahead {
                self.run_len += 1;
                self.run_max = self.run_max.max(ts);
            } else {
                (self.run_len, self.run_ahead, self.run_max) = (1, ahead, ts);
            }
            if self.run_len >= self.rule.confirm {
                self.max_ts = Some(self.run_max);
                self.confirmed = true;
                self.run_len = 0;
            } else if !self.confirmed {
                self.low = self.low.min(ts);
            }
            self.seen_max = self.seen_max.max(Some(ts));
            return true;
        }
        self.run_len = 0;
        if ts < m.saturating_sub(self.lateness_ms) {
            return false;
        }
        self.max_ts = Some(m.max(ts));
        self.confirmed = true;
        self.seen_max = self.seen_max.max(Some(ts));
        true
    }

    /// `M_p`, the largest `ts` that moved the partition's clock.
    pub fn max_ts(&self) -> Option<Millis> {
        self.max_ts
    }

    /// What the partition holds the watermark at: `M_p`, or while only the partition's first
    /// record stands for it, the smallest `ts` admitted so far (so that a first record far ahead
    /// cannot make every window final).
    pub fn watermark_ts(&self) -> Option<Millis> {
        self.max_ts.map(|m| if self.confirmed { m } else { m.min(self.low) })
    }

    /// The largest `ts` admitted, outliers included.
    pub fn seen_max(&self) -> Option<Millis> {
        self.seen_max
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
    gauges: std::sync::Arc<crate::Gauges>,
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
                    if last != NO_WATERMARK {
                        gauges.watermark_ms.store(last, std::sync::atomic::Ordering::Relaxed);
                    }
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

    const H: Millis = 3_600_000;
    const DAY: Millis = 24 * H;
    const T0: Millis = 1_764_000_000_000; // 2025-11-24

    /// Feeds `ts` one by one; the admitted ones.
    fn admitted(c: &mut PartitionClock, ts: impl IntoIterator<Item = Millis>) -> Vec<Millis> {
        ts.into_iter().filter(|&t| c.admit(t)).collect()
    }

    #[test]
    fn a_handful_of_records_far_ahead_make_no_record_late() {
        let mut c = PartitionClock::new(H);
        // In order, a minute apart, with 7 records 40 days ahead among them (one run of 7).
        let good: Vec<Millis> = (0..100).map(|i| T0 + i * 60_000).collect();
        let mut input = good[..50].to_vec();
        input.extend((0..7).map(|i| T0 + 40 * DAY + i));
        input.extend(&good[50..]);
        assert_eq!(admitted(&mut c, input).len(), 107, "nothing is late");
        assert_eq!(c.max_ts(), Some(T0 + 99 * 60_000), "M_p follows the good records");
        assert_eq!(c.watermark_ts(), c.max_ts());
        assert_eq!(c.seen_max(), Some(T0 + 40 * DAY + 6), "the end of input still covers the outliers");
    }

    #[test]
    fn a_partition_that_resumes_after_two_days_moves_m_p_after_eight_records() {
        let mut c = PartitionClock::new(H);
        admitted(&mut c, (0..10).map(|i| T0 + i * 60_000));
        let resumed: Vec<Millis> = (0..20).map(|i| T0 + 2 * DAY + i * 60_000).collect();
        assert_eq!(admitted(&mut c, resumed[..7].to_vec()).len(), 7);
        assert_eq!(c.max_ts(), Some(T0 + 9 * 60_000), "seven records do not move M_p yet");
        assert!(c.admit(resumed[7]));
        assert_eq!(c.max_ts(), Some(resumed[7]), "the eighth does: the largest of the run");
        assert_eq!(admitted(&mut c, resumed[8..].to_vec()).len(), 12);
        assert_eq!(c.max_ts(), Some(resumed[19]));
        // From there the partition's lateness is as usual: an old record is late.
        assert!(!c.admit(T0 + 10 * 60_000));
    }

    #[test]
    fn outliers_that_are_not_consecutive_never_confirm() {
        let mut c = PartitionClock::new(H);
        let mut input = Vec::new();
        for i in 0..40 {
            input.push(T0 + i * 60_000);
            input.push(T0 + 30 * DAY + i); // every other record far ahead
        }
        assert_eq!(admitted(&mut c, input).len(), 80);
        assert_eq!(c.max_ts(), Some(T0 + 39 * 60_000));
    }

    #[test]
    fn a_first_record_far_ahead_is_outvoted_by_the_records_after_it() {
        let mut c = PartitionClock::new(H);
        assert!(c.admit(T0 + 300 * DAY));
        assert_eq!(c.watermark_ts(), Some(T0 + 300 * DAY));
        let good: Vec<Millis> = (0..20).map(|i| T0 + i * 60_000).collect();
        assert_eq!(admitted(&mut c, good[..3].to_vec()).len(), 3, "behind the lone first record: not late");
        assert_eq!(c.watermark_ts(), Some(T0), "meanwhile the partition holds the watermark at its oldest record");
        assert_eq!(admitted(&mut c, good[3..].to_vec()).len(), 17);
        assert_eq!(c.max_ts(), Some(T0 + 19 * 60_000), "eight records behind it re-based M_p");
        assert!(!c.admit(T0 + 19 * 60_000 - H - 1), "then lateness is as usual");
    }

    #[test]
    fn one_confirming_record_is_the_plain_rule() {
        let mut c = PartitionClock::with_rule(H, JumpRule { jump_ms: H, confirm: 1 });
        admitted(&mut c, [T0, T0 + 40 * DAY]);
        assert_eq!(c.max_ts(), Some(T0 + 40 * DAY));
        assert!(!c.admit(T0));
    }

    #[test]
    fn extreme_values_saturate() {
        let mut c = PartitionClock::with_rule(Millis::MAX, JumpRule { jump_ms: Millis::MAX, confirm: 8 });
        assert!(c.admit(Millis::MIN));
        assert!(c.admit(Millis::MAX));
        assert!(c.admit(0));
        let mut c = PartitionClock::new(H);
        assert!(c.admit(Millis::MAX));
        assert!(c.admit(Millis::MIN));
    }

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
