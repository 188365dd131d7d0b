//! Checks the VADER port against the reference implementation, PyPI `vaderSentiment` 3.3.2, on the
//! 4,200 human-rated tweets of the VADER paper.
//!
//! `tests/data/vader_reference.tsv` holds the reference's compound score of each tweet, written by
//! `tests/data/make_vader_reference.py` with the real `vaderSentiment` 3.3.2. The tweets themselves
//! are read from `shared/data/vader-tweets/tweets_GroundTruth.txt` beside the workspace.

use std::collections::HashMap;

use brandpulse_operators::sentiment::Vader;

/// Largest accepted difference from the reference's compound score.
const TOLERANCE: f64 = 0.01;

struct Tweet {
    id: String,
    rating: f64,
    text: String,
}

fn tweets() -> Vec<Tweet> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/vader-tweets/tweets_GroundTruth.txt");
    let data = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the VADER ground-truth tweets ({e}): expected at {path}, i.e. \
             shared/data/vader-tweets/tweets_GroundTruth.txt beside the workspace root"
        )
    });
    // Lines end in CRLF; split them exactly as make_vader_reference.py does.
    data.split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| {
            let mut fields = line.splitn(3, '\t');
            let (Some(id), Some(rating), Some(text)) = (fields.next(), fields.next(), fields.next()) else {
                panic!("malformed tweet line {line:?}");
            };
            Tweet { id: id.to_owned(), rating: rating.parse().expect("rating"), text: text.to_owned() }
        })
        .collect()
}

fn reference() -> HashMap<String, f64> {
    include_str!("../data/vader_reference.tsv")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (id, compound) = line.split_once('\t').expect("id TAB compound");
            (id.to_owned(), compound.parse().expect("compound"))
        })
        .collect()
}

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len() as f64;
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx) * (x - mx);
        syy += (y - my) * (y - my);
    }
    sxy / (sxx * syy).sqrt()
}

#[test]
fn compound_matches_vader_sentiment_3_3_2() {
    let tweets = tweets();
    let reference = reference();
    assert_eq!(tweets.len(), 4200, "expected the 4,200 tweets of the VADER ground truth");
    assert_eq!(reference.len(), tweets.len(), "reference TSV and tweets differ in count");

    let vader = Vader::new();
    let mut mismatches = Vec::new();
    let mut exact = 0;
    let (mut compounds, mut ratings) = (Vec::new(), Vec::new());
    for tweet in &tweets {
        let expected = *reference.get(&tweet.id).unwrap_or_else(|| panic!("tweet {} not in the reference", tweet.id));
        let got = vader.compound(&tweet.text);
        let diff = (got - expected).abs();
        if diff > TOLERANCE {
            mismatches.push((diff, tweet, got, expected));
        }
        if diff < 5e-5 {
            exact += 1;
        }
        compounds.push(got);
        ratings.push(tweet.rating);
    }

    let matched = tweets.len() - mismatches.len();
    let r = pearson(&compounds, &ratings);
    println!(
        "within {TOLERANCE} of vaderSentiment 3.3.2: {matched}/{} (identical to 4 decimals: {exact})",
        tweets.len()
    );
    println!("Pearson r of compound with the mean human rating: {r:.4}");
    mismatches.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (diff, tweet, got, expected) in mismatches.iter().take(10) {
        println!("  id {}: got {got:.4}, reference {expected:.4} (diff {diff:.4}): {:?}", tweet.id, tweet.text);
    }

    assert!(matched * 100 >= tweets.len() * 99, "only {matched}/{} tweets within {TOLERANCE}", tweets.len());
    assert!(r >= 0.85, "correlation with human ratings {r:.4} < 0.85");
}
