//! Language detection + sentiment scoring on the generator's multilingual mix (issue 16).
//!
//! Reads the mentions and ad comments of a `brandpulse generate` directory named by
//! `BRANDPULSE_BENCH_MIX` (`benches/scripts/sentiment_mix.sh` makes one: 7 languages, 60 % of the
//! texts with `lang`, half with an upstream score). Reports texts per second
//! (`Throughput::Elements`, one core) for:
//! - `as_pipeline`: every text as the job treats it (upstream score wins, else `lang` or
//!   detection, then the language's scorer), with the per-language counts;
//! - `scored_here`: only the texts without an upstream score;
//! - `detect_and_score_all`: every text detected (its `lang` ignored) and scored;
//! - `detect_only`: detection alone on every text.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use operators::sentiment::{lang, Scorer};

struct Text {
    text: String,
    lang: Option<String>,
    upstream: Option<f64>,
}

fn texts() -> Vec<Text> {
    let dir = std::env::var("BRANDPULSE_BENCH_MIX")
        .unwrap_or_else(|_| panic!("set BRANDPULSE_BENCH_MIX to a `brandpulse generate` directory (benches/scripts/sentiment_mix.sh)"));
    let mut out = Vec::new();
    for file in ["mentions.ndjson", "ad_comments.ndjson"] {
        let path = std::path::Path::new(&dir).join(file);
        let data = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        for line in data.lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            let Some(text) = v.get("text").and_then(|t| t.as_str()) else { continue };
            out.push(Text {
                text: text.to_owned(),
                lang: v.get("lang").and_then(|l| l.as_str()).map(str::to_owned),
                upstream: v.get("sentiment").and_then(serde_json::Value::as_f64),
            });
        }
    }
    out
}

fn mix(c: &mut Criterion) {
    let texts = texts();
    let here: Vec<&Text> = texts.iter().filter(|t| t.upstream.is_none()).collect();
    let scorer = Scorer::builtin();
    eprintln!("{} texts, {} without an upstream score", texts.len(), here.len());

    let mut group = c.benchmark_group("sentiment_mix");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("as_pipeline", |b| {
        b.iter(|| {
            texts
                .iter()
                .filter_map(|t| scorer.score_mention(black_box(&t.text), t.lang.as_deref(), t.upstream))
                .sum::<f64>()
        })
    });
    group.bench_function("detect_and_score_all", |b| {
        b.iter(|| texts.iter().filter_map(|t| scorer.score(black_box(&t.text), None)).sum::<f64>())
    });
    group.bench_function("detect_only", |b| {
        b.iter(|| texts.iter().filter_map(|t| lang::detect(black_box(&t.text))).map(str::len).sum::<usize>())
    });
    group.throughput(Throughput::Elements(here.len() as u64));
    group.bench_function("scored_here", |b| {
        b.iter(|| here.iter().filter_map(|t| scorer.score(black_box(&t.text), t.lang.as_deref())).sum::<f64>())
    });
    group.finish();
    let counts = scorer.counts().snapshot();
    eprintln!("mentions by language over all iterations (lang, scored, unscored): {counts:?}");
}

criterion_group!(benches, mix);
criterion_main!(benches);
