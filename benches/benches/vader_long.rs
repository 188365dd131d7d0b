//! VADER scoring time of long texts (64 KiB) with and without "but" (issue 15, row 6).
//!
//! Two sets of 200 deterministic texts of 64 KiB: words drawn from the VADER lexicon (half of them)
//! and from neutral words (the other half), with every 40th word "but" in one set and "and" in the
//! other, so both sets have the same tokens except the contrastive conjunction. Scoring is linear
//! in the text's length when the two take about the same time. Reports texts per second
//! (`Throughput::Elements`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use operators::sentiment::Vader;

/// The lexicon bundled with the operators crate: `token TAB valence TAB ...`.
const LEXICON: &str = include_str!("../../operators/data/vader_lexicon.txt");
/// Words that are not in the lexicon and trigger no rule (no booster, negation or rule word).
const NEUTRAL: &[&str] = &[
    "the", "phone", "battery", "is", "store", "order", "today", "app", "update", "screen", "delivery", "shop", "price",
    "box", "we", "they", "my", "new",
];
const TEXTS: usize = 200;
const TEXT_BYTES: usize = 64 * 1024;
/// Every `SLOT`-th word is the conjunction ("but" or "and").
const SLOT: usize = 40;

/// `TEXTS` texts of at most `TEXT_BYTES` bytes (at least `TEXT_BYTES` − 32), the same words for
/// both values of `conjunction` except the conjunction itself.
fn texts(conjunction: &str) -> Vec<String> {
    let lexicon: Vec<&str> = LEXICON.lines().filter_map(|l| l.split('\t').next()).filter(|w| !w.is_empty()).collect();
    (0..TEXTS)
        .map(|t| {
            // xorshift64*, seeded per text: the same texts on every run.
            let mut state = 0x9E37_79B9_7F4A_7C15_u64 ^ (t as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            let mut next = move || {
                state ^= state >> 12;
                state ^= state << 25;
                state ^= state >> 27;
                state.wrapping_mul(0x2545_F491_4F6C_DD1D)
            };
            let mut text = String::with_capacity(TEXT_BYTES);
            for i in 1.. {
                let r = next();
                let word = if i % SLOT == 0 {
                    conjunction
                } else if r & 1 == 0 {
                    lexicon[(r >> 1) as usize % lexicon.len()]
                } else {
                    NEUTRAL[(r >> 1) as usize % NEUTRAL.len()]
                };
                if text.len() + 1 + word.len() > TEXT_BYTES {
                    break;
                }
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(word);
            }
            text
        })
        .collect()
}

fn vader_long(c: &mut Criterion) {
    let vader = Vader::new();
    let mut group = c.benchmark_group("vader_64k");
    // Before the fix one pass over the texts with "but" took seconds: few, equal samples.
    group.sampling_mode(SamplingMode::Flat).sample_size(10).measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(TEXTS as u64));
    for (name, conjunction) in [("without_but", "and"), ("with_but", "but")] {
        let texts = texts(conjunction);
        group.bench_function(name, |b| b.iter(|| texts.iter().map(|t| vader.compound(black_box(t))).sum::<f64>()));
    }
    group.finish();
}

criterion_group!(benches, vader_long);
criterion_main!(benches);
