//! Decode + validate throughput (SPEC §11 target: ≥ 2 M events/s per core) on a realistic mix of
//! mention, ad-comment and care-event lines.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use schemas::{decode, BrandProfile, Topic};

fn lines() -> Vec<(Topic, Vec<u8>)> {
    let mut v = Vec::new();
    for i in 0..3000u64 {
        let ts = 1_795_514_400_000u64 + i * 731;
        let line = match i % 20 {
            0..=12 => (
                Topic::Mentions,
                format!(
                    r#"{{"event_id":"m-{i}","ts":"2026-11-24T10:{:02}:{:02}.{:03}Z","brand_id":"acme","platform":"twitter","author_id":"u-{}","text":"Loving the new Acme phone, battery lasts forever! #{i}","lang":"en","sentiment":0.62,"reach":{},"country":"FR"}}"#,
                    (i / 60) % 60,
                    i % 60,
                    i % 1000,
                    i % 977,
                    100 + i * 7
                ),
            ),
            13..=16 => (
                Topic::AdComments,
                format!(
                    r#"{{"event_id":"c-{i}","ts":{ts},"ad_id":"ad-{}","platform":"facebook","author_id":"v-{i}","text":"Is this a scam? free download on torrent","sentiment":-0.7}}"#,
                    i % 7
                ),
            ),
            _ => (
                Topic::CareEvents,
                format!(
                    r#"{{"event_id":"e-{i}","ts":{ts},"case_id":"k-{}","brand_id":"acme","kind":"agent_response","channel":"twitter","priority":"high","source_event_id":"m-{}","agent_id":"a-2"}}"#,
                    i / 3,
                    i.saturating_sub(40)
                ),
            ),
        };
        v.push((line.0, line.1.into_bytes()));
    }
    v
}

fn bench(c: &mut Criterion) {
    let lines = lines();
    let defaults = BrandProfile::default();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("mixed_lines", |b| {
        b.iter(|| {
            let mut ok = 0usize;
            for (topic, bytes) in &lines {
                ok += decode(*topic, bytes, &defaults).is_ok() as usize;
            }
            assert_eq!(ok, lines.len());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
