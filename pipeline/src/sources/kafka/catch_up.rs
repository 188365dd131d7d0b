//! Catch-up order: a worker reads the backlog of its fact partitions in event-time epochs.
//!
//! Kafka delivers the partitions of one consumer in no defined order relative to each other, so
//! reading a backlog in wall-clock batches would put comments of different partitions into
//! different epochs depending on fetch timing — and a crisis, which opens on the data received
//! so far (SPEC §6), could open at a different comment from run to run. While a worker catches
//! up, it therefore holds each fact record back until its **bucket** (`ts / bucket_ms`, never
//! before the partition's previous record — the rule replay uses for files) is complete: every
//! partition still reading its backlog has delivered a record of a later bucket. The records of
//! one bucket then form one epoch, exactly as `replay` forms them from files, so a backlog gives
//! the results of replaying the same partitions, whatever the arrival order.
//!
//! Catch-up ends when every partition has read its backlog and nothing is held; from then on
//! the worker reads in wall-clock epochs (low latency for live data).

use operators::watermark::{JumpRule, PartitionClock};
use schemas::Decoded;
use std::collections::VecDeque;

/// A fact record held back until its bucket is complete.
pub struct HeldRecord {
    /// Offset in its partition.
    pub offset: i64,
    /// The value as read.
    pub bytes: Vec<u8>,
    /// The value decoded (decoded once, when read).
    pub decoded: Decoded,
    /// Its bucket.
    pub bucket: u64,
}

struct Lane {
    fact: bool,
    /// The jump rule over the lane's records: a record far ahead of its partition goes with
    /// the previous record instead of holding the lane back until its bucket.
    clock: PartitionClock,
    held: VecDeque<HeldRecord>,
    /// The bucket of the last record read (the running maximum), if any.
    last: Option<u64>,
}

/// What [`CatchUp::ready`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// A partition still reading its backlog may deliver records of the next bucket: read on.
    Wait,
    /// Every record of this bucket (and earlier) is read: [`CatchUp::take`] it.
    Bucket(u64),
    /// Every partition read its backlog and nothing is held: catch-up is over.
    Finished,
}

/// The catch-up state of one worker's partitions (indexed like `KafkaSource::partitions`).
pub struct CatchUp {
    bucket_ms: i64,
    lanes: Vec<Lane>,
    prev: Option<u64>,
    held: usize,
}

impl CatchUp {
    /// Catch-up over partitions whose topics are facts where `facts[i]`, in buckets of
    /// `bucket_ms` milliseconds of event time.
    pub fn new(facts: impl IntoIterator<Item = bool>, bucket_ms: i64, lateness_ms: i64, rule: JumpRule) -> CatchUp {
        let lanes = facts
            .into_iter()
            .map(|fact| Lane {
                fact,
                clock: PartitionClock::with_rule(lateness_ms, rule),
                held: VecDeque::new(),
                last: None,
            })
            .collect();
        CatchUp { bucket_ms: bucket_ms.max(1), lanes, prev: None, held: 0 }
    }

    /// Holds a fact record of partition `local` read at `offset`.
    pub fn push(&mut self, local: usize, offset: i64, bytes: Vec<u8>, decoded: Decoded) {
        let lane = &mut self.lanes[local];
        let ts = decoded.as_ref().ok().and_then(|e| e.ts()).map(|ts| {
            lane.clock.admit(ts);
            lane.clock.max_ts().map_or(ts, |m| ts.min(m))
        });
        let last = lane.last.unwrap_or(0);
        let bucket = ts.map_or(last, |ts| if ts <= 0 { 0 } else { (ts / self.bucket_ms) as u64 }).max(last);
        lane.last = Some(bucket);
        lane.held.push_back(HeldRecord { offset, bytes, decoded, bucket });
        self.held += 1;
    }

    /// The next complete bucket. `done(i)`: partition `i` has read its backlog (what it
    /// delivers from now on is live data, which does not hold catch-up back).
    pub fn ready(&self, done: impl Fn(usize) -> bool) -> Ready {
        let mut lowest: Option<u64> = None;
        for (i, lane) in self.lanes.iter().enumerate().filter(|(_, l)| l.fact) {
            let lower = match (lane.held.front(), done(i), lane.last) {
                (Some(r), _, _) => r.bucket,
                (None, true, _) => continue,
                (None, false, Some(last)) => last,
                // Nothing read yet from a partition with backlog: its first bucket is unknown.
                (None, false, None) => return Ready::Wait,
            };
            lowest = Some(lowest.map_or(lower, |l| l.min(lower)));
        }
        let Some(lowest) = lowest else { return Ready::Finished };
        let bucket = self.prev.map_or(lowest, |p| lowest.max(p + 1));
        let complete = self
            .lanes
            .iter()
            .enumerate()
            .filter(|(_, l)| l.fact)
            .all(|(i, l)| done(i) || l.last.is_some_and(|last| last > bucket));
        if complete {
            Ready::Bucket(bucket)
        } else {
            Ready::Wait
        }
    }

    /// Takes the held records of buckets `<= bucket` (the bucket [`ready`](Self::ready)
    /// returned), partition by partition in offset order.
    pub fn take(&mut self, bucket: u64) -> Vec<(usize, HeldRecord)> {
        let mut out = Vec::new();
        for (i, lane) in self.lanes.iter_mut().enumerate() {
            while lane.held.front().is_some_and(|r| r.bucket <= bucket) {
                out.push((i, lane.held.pop_front().expect("checked")));
            }
        }
        self.held -= out.len();
        self.prev = Some(bucket);
        out
    }

    /// The offset of the first record held for partition `local` (where a restart must
    /// resume reading it), if any.
    pub fn first_held(&self, local: usize) -> Option<i64> {
        self.lanes[local].held.front().map(|r| r.offset)
    }

    /// Records held in all.
    pub fn held(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{BrandProfile, Topic};

    fn mention(ts_min: u32) -> (Vec<u8>, Decoded) {
        let b = format!(
            r#"{{"event_id":"e{ts_min}","ts":"2026-11-24T10:{ts_min:02}:00Z","brand_id":"b","platform":"x","author_id":"u","text":"t"}}"#
        )
        .into_bytes();
        let d = schemas::decode(Topic::Mentions, &b, &BrandProfile::default());
        assert!(d.is_ok(), "{d:?}");
        (b, d)
    }

    fn push(c: &mut CatchUp, lane: usize, offset: i64, minute: u32) {
        let (b, d) = mention(minute);
        c.push(lane, offset, b, d);
    }

    const MIN: i64 = 60_000;

    #[test]
    fn a_bucket_is_complete_only_when_every_partition_with_backlog_read_past_it() {
        // Lane 0 is a dimension topic: it never holds catch-up back.
        let mut c = CatchUp::new([false, true, true], MIN, 3_600_000, Default::default());
        assert_eq!(c.ready(|_| false), Ready::Wait, "nothing read from lane 2 yet");
        push(&mut c, 1, 0, 1);
        push(&mut c, 1, 1, 2);
        assert_eq!(c.ready(|_| false), Ready::Wait, "lane 2 may still deliver minute 1");
        push(&mut c, 2, 0, 1);
        assert_eq!(c.ready(|_| false), Ready::Wait, "lane 2 may deliver more of minute 1");
        push(&mut c, 2, 1, 3);
        let Ready::Bucket(b) = c.ready(|_| false) else { panic!("minute 1 is complete") };
        let got: Vec<(usize, i64)> = c.take(b).into_iter().map(|(l, r)| (l, r.offset)).collect();
        assert_eq!(got, vec![(1, 0), (2, 0)], "minute 1 of both lanes, nothing later");
        assert_eq!((c.first_held(1), c.first_held(2), c.held()), (Some(1), Some(1), 2));
        // Minute 2 is complete only once lane 1 delivered a later minute, or read its backlog.
        assert_eq!(c.ready(|_| false), Ready::Wait);
        assert_eq!(c.ready(|i| i == 1), Ready::Bucket(b + 1));
        let got: Vec<(usize, i64)> = c.take(b + 1).into_iter().map(|(l, r)| (l, r.offset)).collect();
        assert_eq!(got, vec![(1, 1)]);
        assert_eq!(c.ready(|_| true), Ready::Bucket(b + 2));
        assert_eq!(c.take(b + 2).len(), 1);
        assert_eq!(c.ready(|_| true), Ready::Finished);
        assert_eq!(c.ready(|i| i != 2), Ready::Wait, "lane 2 still has backlog");
    }

    #[test]
    fn out_of_order_and_undecodable_records_go_with_the_previous_record() {
        let mut c = CatchUp::new([true], MIN, 3_600_000, Default::default());
        push(&mut c, 0, 0, 5);
        push(&mut c, 0, 1, 3); // older than its predecessor: read with it
        c.push(0, 2, b"{not json".to_vec(), schemas::decode(Topic::Mentions, b"{not json", &BrandProfile::default()));
        push(&mut c, 0, 3, 6);
        let Ready::Bucket(b) = c.ready(|_| false) else { panic!("minute 5 is complete") };
        assert_eq!(c.take(b).iter().map(|(_, r)| r.offset).collect::<Vec<_>>(), vec![0, 1, 2]);
    }

    #[test]
    fn buckets_never_repeat_even_when_a_partition_is_behind() {
        let mut c = CatchUp::new([true, true], MIN, 3_600_000, Default::default());
        push(&mut c, 0, 0, 4);
        push(&mut c, 1, 0, 9);
        assert_eq!(c.ready(|_| false), Ready::Wait, "lane 0 may deliver more of minute 4");
        let Ready::Bucket(b4) = c.ready(|i| i == 0) else { panic!() };
        assert_eq!(c.take(b4).len(), 1);
        // Lane 0 (done) later delivers a live record older than minute 4: it goes in a new epoch.
        push(&mut c, 0, 1, 2);
        assert_eq!(c.ready(|_| true), Ready::Bucket(b4 + 1));
    }
}
