//! Sentiment scoring throughput on the 4,200 human-rated tweets of the VADER paper.
//!
//! Reads `shared/data/vader-tweets/tweets_GroundTruth.txt` beside the workspace root. Reports
//! texts per second (`Throughput::Elements`) for VADER alone, for the [`Scorer`] given the
//! events' `lang` field, and for the [`Scorer`] detecting the language itself.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use operators::sentiment::{Scorer, Vader};

fn tweets() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/vader-tweets/tweets_GroundTruth.txt");
    let data = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the VADER ground-truth tweets ({e}): expected at {path}, i.e. \
             shared/data/vader-tweets/tweets_GroundTruth.txt beside the workspace root"
        )
    });
    data.lines().filter_map(|line| line.splitn(3, '\t').nth(2)).map(str::to_owned).collect()
}

fn sentiment(c: &mut Criterion) {
    let tweets = tweets();
    let vader = Vader::new();
    let scorer = Scorer::english_only();

    let mut group = c.benchmark_group("sentiment");
    group.throughput(Throughput::Elements(tweets.len() as u64));
    group.bench_function("vader_compound", |b| {
        b.iter(|| tweets.iter().map(|t| vader.compound(black_box(t))).sum::<f64>())
    });
    group.bench_function("scorer_lang_field", |b| {
        b.iter(|| tweets.iter().filter_map(|t| scorer.score(black_box(t), Some("en"))).sum::<f64>())
    });
    group.bench_function("scorer_detect_lang", |b| {
        b.iter(|| tweets.iter().filter_map(|t| scorer.score(black_box(t), None)).sum::<f64>())
    });
    group.finish();
}

criterion_group!(benches, sentiment);
criterion_main!(benches);
