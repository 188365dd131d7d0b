//! Oracle tests: the real dataflow against a plain sequential reference of `docs/semantics.md`,
//! on seeded random scenarios (out-of-order, late and duplicate events; dimension rows that
//! change), at 1 and 2 workers.
//!
//! - `oracle/gen.rs`: the scenario generator;
//! - `oracle/harness.rs`: runs `brandpulse_operators::brandpulse` in process, fed like the replay;
//! - `oracle/reference.rs`: the sequential reference;
//! - `oracle/diff.rs`: readable table diffs.
//!
//! Seeds: `ORACLE_SEEDS` (`1..=20` by default; e.g. `ORACLE_SEEDS=7` or `ORACLE_SEEDS=1..=200`).
//! A failure prints the seed, the worker count, the scenario's shape and per table the key,
//! column, expected and actual values.

#[path = "oracle/diff.rs"]
mod diff;
#[path = "oracle/gen.rs"]
mod gen;
#[path = "oracle/harness.rs"]
mod harness;
#[path = "oracle/reference.rs"]
mod reference;

use brandpulse_operators::watermark::combine;
use brandpulse_operators::{WatermarkReport, NO_WATERMARK};
use diff::{compare, compare_value, plain, rows, Row};
use harness::{Dead, Outputs, Pacing};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use reference::Expected;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// One seed: the scenario, the reference's answer and the dataflow's runs.
struct Case {
    scenario: Arc<gen::Scenario>,
    expected: Expected,
    /// Runs at 1 and 2 workers, each epoch completed before the next round is read.
    runs: Vec<(usize, Outputs)>,
    /// A run at 2 workers paced like the replay job (up to 4 epochs in flight).
    replay_paced: Outputs,
}

fn seeds() -> Vec<u64> {
    let spec = std::env::var("ORACLE_SEEDS").unwrap_or_else(|_| "1..=20".into());
    if let Some((a, b)) = spec.split_once("..=") {
        (a.trim().parse().expect("seed")..=b.trim().parse().expect("seed")).collect()
    } else if let Some((a, b)) = spec.split_once("..") {
        (a.trim().parse().expect("seed")..b.trim().parse().expect("seed")).collect()
    } else {
        spec.split(',').map(|s| s.trim().parse().expect("seed")).collect()
    }
}

/// The case of `seed`, computed once and shared by the tests.
fn case(seed: u64) -> Arc<Case> {
    type Cache = Mutex<HashMap<u64, Arc<OnceLock<Arc<Case>>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cell = CACHE.get_or_init(Default::default).lock().expect("cache").entry(seed).or_default().clone();
    cell.get_or_init(|| {
        let scenario = Arc::new(gen::scenario(seed));
        let expected = reference::expected(&scenario);
        let runs = [1, 2].into_iter().map(|w| (w, harness::run(&scenario, w, Pacing::Sync))).collect();
        let replay_paced = harness::run(&scenario, 2, Pacing::Replay);
        Arc::new(Case { scenario, expected, runs, replay_paced })
    })
    .clone()
}

/// Runs `check` on every seed and worker count; panics with every difference found.
fn check_all(test: &str, check: impl Fn(&Expected, &Outputs, &mut Vec<String>)) {
    let mut failures = Vec::new();
    let seeds = seeds();
    for &seed in &seeds {
        let c = case(seed);
        for (workers, got) in &c.runs {
            let mut d = Vec::new();
            check(&c.expected, got, &mut d);
            if !d.is_empty() {
                let n = d.len();
                d.truncate(30);
                failures.push(format!(
                    "--- {test}: seed {seed}, {workers} worker(s), {n} difference(s); scenario {}; (epoch:W in s after T0) {:?}\n  {}",
                    c.scenario.describe(),
                    c.expected.watermarks.iter().map(|(e, w)| format!("{e}:{}", if *w == i64::MIN { "-".into() } else { ((w - gen::T0) / 1000).to_string() })).collect::<Vec<_>>(),
                    d.join("\n  ")
                ));
            }
        }
    }
    if !failures.is_empty() {
        panic!("{test}: {} of {} runs differ from the reference\n{}", failures.len(), seeds.len() * 2, failures.join("\n"));
    }
}

fn dead_rows(dead: &[Dead], reason: &str) -> Vec<Row> {
    dead.iter()
        .filter(|d| d.reason == reason)
        .map(|d| {
            let mut r = Row::new();
            r.insert("topic".into(), Value::from(d.topic.name()));
            r.insert("partition".into(), Value::from(d.partition));
            r.insert("offset".into(), Value::from(d.offset));
            r.insert("reason".into(), Value::from(d.reason.clone()));
            r.insert("raw".into(), Value::from(String::from_utf8_lossy(&d.raw).into_owned()));
            r
        })
        .collect()
}

const DEAD_KEYS: [&str; 3] = ["topic", "partition", "offset"];
const BRAND_KEYS: [&str; 2] = ["brand_id", "window_start"];
const AD_KEYS: [&str; 2] = ["ad_id", "window_start"];
const MENTION_COLS: [&str; 8] = [
    "mentions",
    "mentions_positive",
    "mentions_negative",
    "mentions_neutral",
    "mentions_unscored",
    "sentiment_sum",
    "sentiment_count",
    "reach_sum",
];
const BRAND_COMMENT_COLS: [&str; 3] = ["ad_comments", "ad_comments_negative", "ad_comments_risky"];
const AD_COLS: [&str; 8] = [
    "brand_id",
    "campaign_id",
    "comments",
    "comments_negative",
    "comments_risky",
    "comments_unscored",
    "sentiment_sum",
    "sentiment_count",
];
const CARE_COLS: [&str; 11] = [
    "cases_opened",
    "first_responses",
    "responses_within_sla",
    "responses_late",
    "frt_sum_seconds",
    "frt_p50_seconds",
    "frt_p90_seconds",
    "mentions_answered",
    "ad_comments_answered",
    "cases_resolved",
    "resolution_sum_seconds",
];
const CASE_COLS: [&str; 12] = [
    "brand_id",
    "channel",
    "priority",
    "opened_at",
    "first_response_at",
    "frt_seconds",
    "sla_target_seconds",
    "sla_status",
    "resolved_at",
    "reopen_count",
    "source_event_id",
    "source_kind",
];
const ALERT_COLS: [&str; 11] = [
    "alert_id",
    "brand_id",
    "ad_id",
    "window_start",
    "opened_at",
    "resolved_window",
    "comments",
    "neg_share",
    "risk_share",
    "action",
    "action_status",
];

#[test]
fn dedup_and_lateness() {
    check_all("dedup_and_lateness", |exp, got, d| {
        compare_value("duplicates per topic", &exp.duplicates, &got.duplicates, d);
        compare("dead_letter(late)", &DEAD_KEYS, &["reason", "raw"], false, &dead_rows(&exp.dead, "late"), &dead_rows(&got.dead, "late"), d);
        compare("brand_metrics_minute", &BRAND_KEYS, &MENTION_COLS, true, &rows(&exp.brand_minutes), &rows(&got.brand_minutes), d);
    });
}

/// The reference rule for one epoch's watermark, from the partitions themselves: the minimum
/// `M_p` over fact partitions that have not ended and have data; when all have ended, the
/// largest `ts` ever seen; never below the previous watermark.
fn watermark_from_partitions(prev: i64, max_seen_before: i64, workers: &[Vec<(bool, Option<i64>)>]) -> i64 {
    let parts: Vec<&(bool, Option<i64>)> = workers.iter().flatten().collect();
    let max_seen = parts.iter().filter_map(|(_, m)| *m).fold(max_seen_before, i64::max);
    let w = if parts.iter().any(|(active, _)| *active) {
        parts.iter().filter(|(active, _)| *active).filter_map(|(_, m)| *m).min().unwrap_or(NO_WATERMARK)
    } else {
        max_seen
    };
    prev.max(w)
}

#[test]
fn watermark() {
    // Unit level: `combine` over random per-worker reports.
    let mut rng = SmallRng::seed_from_u64(42);
    let mut failures = Vec::new();
    for case in 0..20_000 {
        let n_workers = rng.gen_range(0..4);
        let workers: Vec<Vec<(bool, Option<i64>)>> = (0..n_workers)
            .map(|_| {
                (0..rng.gen_range(0..4))
                    .map(|_| (rng.gen_bool(0.6), rng.gen_bool(0.8).then(|| rng.gen_range(-50..100))))
                    .collect()
            })
            .collect();
        let prev = if rng.gen_bool(0.2) { NO_WATERMARK } else { rng.gen_range(-50..100) };
        let max_seen_before = if rng.gen_bool(0.3) { NO_WATERMARK } else { rng.gen_range(-50..100).max(prev) };
        let reports: Vec<WatermarkReport> = workers
            .iter()
            .map(|parts| WatermarkReport {
                worker: 0,
                active_min: parts.iter().filter(|(a, _)| *a).filter_map(|(_, m)| *m).min(),
                any_active: parts.iter().any(|(a, _)| *a),
                max_ts: parts.iter().filter_map(|(_, m)| *m).max(),
            })
            .collect();
        // The dataflow folds the reports' max_ts into max_seen before combining.
        let max_seen = reports.iter().filter_map(|r| r.max_ts).fold(max_seen_before, i64::max);
        let want = watermark_from_partitions(prev, max_seen_before, &workers);
        let got = combine(prev, max_seen, &reports);
        if want != got {
            failures.push(format!("case {case}: prev {prev} max_seen {max_seen} workers {workers:?}: expected {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "watermark::combine differs from the reference:\n{}", failures[..failures.len().min(20)].join("\n"));

    // End to end: the epoch at which each row becomes final (windows, evicted cases, resolved
    // alerts), and the final watermark.
    check_all("watermark", |exp, got, d| {
        compare_value("epochs", &exp.epochs, &got.epochs, d);
        compare("brand_metrics_minute(epoch)", &BRAND_KEYS, &["epoch"], false, &rows(&exp.brand_minutes), &rows(&got.brand_minutes), d);
        compare("ad_metrics_minute(epoch)", &AD_KEYS, &["epoch"], false, &rows(&exp.ad_minutes), &rows(&got.ad_minutes), d);
        compare("care_cases(epoch)", &["case_id"], &["epoch"], false, &rows(&exp.care_cases), &rows(&got.care_cases), d);
        compare("alerts(epoch)", &["alert_id"], &["epoch"], false, &rows(&exp.alerts), &rows(&got.alerts), d);
        compare("alerts_opened(epoch)", &["alert_id"], &["epoch"], false, &rows(&exp.alerts_opened), &rows(&got.alerts_opened), d);
        compare("brand_status", &["brand_id"], &["watermark"], false, &plain(&exp.brand_status), &plain(&got.brand_status), d);
    });
}

#[test]
fn ads_join_and_ad_metrics() {
    check_all("ads_join_and_ad_metrics", |exp, got, d| {
        compare("ad_metrics_minute", &AD_KEYS, &AD_COLS, false, &rows(&exp.ad_minutes), &rows(&got.ad_minutes), d);
        compare("brand_metrics_minute", &BRAND_KEYS, &BRAND_COMMENT_COLS, true, &rows(&exp.brand_minutes), &rows(&got.brand_minutes), d);
        compare(
            "dead_letter(unknown_ad_expired)",
            &DEAD_KEYS,
            &["reason", "raw"],
            false,
            &dead_rows(&exp.dead, "unknown_ad_expired"),
            &dead_rows(&got.dead, "unknown_ad_expired"),
            d,
        );
    });
}

#[test]
fn crisis_detector() {
    check_all("crisis_detector", |exp, got, d| {
        compare("alerts", &["alert_id"], &ALERT_COLS, false, &rows(&exp.alerts), &rows(&got.alerts), d);
        compare("alerts_opened", &["alert_id"], &ALERT_COLS, false, &rows(&exp.alerts_opened), &rows(&got.alerts_opened), d);
        compare(
            "brand_status",
            &["brand_id"],
            &["active_crises", "publishing_paused", "paused_since"],
            true,
            &plain(&exp.brand_status),
            &plain(&got.brand_status),
            d,
        );
    });
}

#[test]
fn care_sla_and_source_join() {
    check_all("care_sla_and_source_join", |exp, got, d| {
        compare("care_cases", &["case_id"], &CASE_COLS, false, &rows(&exp.care_cases), &rows(&got.care_cases), d);
        compare("brand_metrics_minute", &BRAND_KEYS, &CARE_COLS, true, &rows(&exp.brand_minutes), &rows(&got.brand_minutes), d);
        compare("brand_status", &["brand_id"], &["open_cases", "open_breaches"], true, &plain(&exp.brand_status), &plain(&got.brand_status), d);
    });
}

/// Every output of a run, without `detected_at` (wall clock), optionally without epochs.
fn everything(o: &Outputs, with_epochs: bool) -> Vec<(String, Vec<Row>)> {
    let strip = |mut rs: Vec<Row>| -> Vec<Row> {
        for r in &mut rs {
            r.remove("detected_at");
            if !with_epochs {
                r.remove("epoch");
            }
        }
        rs
    };
    let mut dead: Vec<Row> = Vec::new();
    for reason in ["late", "unknown_ad_expired"] {
        dead.extend(dead_rows(&o.dead, reason));
    }
    vec![
        ("brand_metrics_minute".into(), strip(rows(&o.brand_minutes))),
        ("ad_metrics_minute".into(), strip(rows(&o.ad_minutes))),
        ("care_cases".into(), strip(rows(&o.care_cases))),
        ("alerts".into(), strip(rows(&o.alerts))),
        ("alerts_opened".into(), strip(rows(&o.alerts_opened))),
        ("brand_status".into(), strip(plain(&o.brand_status))),
        ("dead_letter".into(), dead),
        ("duplicates".into(), vec![[("per_topic".to_string(), Value::from(format!("{:?}", o.duplicates)))].into_iter().collect()]),
    ]
}

fn compare_runs(a: &Outputs, b: &Outputs, with_epochs: bool, d: &mut Vec<String>) {
    for ((table, ra), (_, rb)) in everything(a, with_epochs).into_iter().zip(everything(b, with_epochs)) {
        let cols: Vec<String> = ra.iter().chain(&rb).flat_map(|r| r.keys().cloned()).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
        // Key on every column: any difference shows as a missing and an unexpected row.
        compare(&table, &cols, &[], false, &ra, &rb, d);
    }
}

#[test]
fn one_and_two_workers_agree() {
    let mut failures = Vec::new();
    for seed in seeds() {
        let c = case(seed);
        let mut d = Vec::new();
        compare_runs(&c.runs[0].1, &c.runs[1].1, true, &mut d);
        // Paced like the replay job, rows at the end may carry another epoch: compare contents.
        compare_runs(&c.runs[0].1, &c.replay_paced, false, &mut d);
        if !d.is_empty() {
            d.truncate(30);
            failures.push(format!("--- seed {seed}: 1 worker vs 2 workers\n  {}", d.join("\n  ")));
        }
    }
    assert!(failures.is_empty(), "runs at 1 and 2 workers differ:\n{}", failures.join("\n"));
}

/// The generated scenarios do exercise what they should (over all seeds), checked on the
/// reference's output; prints a summary per seed.
#[test]
fn scenarios_cover_the_rules() {
    let mut total: std::collections::BTreeMap<String, u64> = Default::default();
    for seed in seeds() {
        let c = case(seed);
        let e = &c.expected;
        let mut n: std::collections::BTreeMap<String, u64> = Default::default();
        let mut add = |k: &str, v: u64| *n.entry(k.to_string()).or_default() += v;
        add("epochs", c.expected.watermarks.len() as u64);
        add("brand_rows", e.brand_minutes.len() as u64);
        add("brand_rows_at_end", e.brand_minutes.iter().filter(|(ep, _)| *ep == e.epochs).count() as u64);
        add("ad_rows", e.ad_minutes.len() as u64);
        add("duplicates", e.duplicates.values().sum());
        let sched_late = e.dead.iter().filter(|d| d.reason == "late").count() as u64;
        add("late", sched_late);
        add("unknown_ad_expired", e.dead.iter().filter(|d| d.reason == "unknown_ad_expired").count() as u64);
        add("alerts", e.alerts.len() as u64);
        add("alerts_resolved", e.alerts.iter().filter(|(_, a)| a.resolved_window.is_some()).count() as u64);
        for (_, a) in &e.alerts {
            add(&format!("action_{}", a.action_status), 1);
        }
        add("cases", e.care_cases.len() as u64);
        add("cases_evicted_before_end", e.care_cases.iter().filter(|(ep, _)| *ep < e.epochs).count() as u64);
        for (_, r) in &e.care_cases {
            add(&format!("sla_{}", r.sla_status), 1);
            add(&format!("source_{}", r.source_kind.as_deref().unwrap_or("none")), 1);
        }
        add("answered_mentions", e.brand_minutes.iter().map(|(_, r)| r.mentions_answered).sum());
        add("answered_comments", e.brand_minutes.iter().map(|(_, r)| r.ad_comments_answered).sum());
        add("risky", e.ad_minutes.iter().map(|(_, r)| r.comments_risky).sum());
        // Dedup-time late rejections: the record passed its partition's check (it is not behind
        // its partition's max by more than L) but its window was final.
        println!("seed {seed}: {}", n.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "));
        for (k, v) in n {
            *total.entry(k).or_default() += v;
        }
    }
    println!("total: {total:?}");
    for k in ["duplicates", "late", "unknown_ad_expired", "alerts", "alerts_resolved", "action_dry_run", "action_skipped_already_paused", "action_disabled", "cases_evicted_before_end", "sla_met", "sla_breached", "sla_breached_unanswered", "sla_pending", "source_mention", "source_ad_comment", "answered_mentions", "answered_comments", "risky", "brand_rows_at_end"] {
        assert!(total.get(k).copied().unwrap_or(0) > 0, "no seed exercises {k}: {total:?}");
    }
}

#[test]
#[ignore]
fn debug_dump() {
    if let (Ok(ad), Ok(from), Ok(to)) = (std::env::var("DUMP_AD"), std::env::var("DUMP_FROM"), std::env::var("DUMP_TO")) {
        let (from, to): (i64, i64) = (from.parse().unwrap(), to.parse().unwrap());
        for seed in seeds() {
            let c = case(seed);
            for (p, part) in c.scenario.partitions.iter().enumerate() {
                for (i, r) in part.records.iter().enumerate() {
                    match r {
                        schemas::Event::AdComment(cm) if cm.ad_id == ad && (cm.ts - gen::T0) / 1000 >= from && (cm.ts - gen::T0) / 1000 <= to => {
                            println!("p{p} o{} epoch {} ts {:.3} bucket {} id {} s {:?} text {:?}", i + 1, part.epochs[i], (cm.ts - gen::T0) as f64 / 1000.0, (cm.ts - gen::T0).div_euclid(60_000), cm.event_id, cm.sentiment, cm.text);
                        }
                        schemas::Event::Ad(a) if a.ad_id == ad && part.epochs[i] <= 29400045 => {}
                        _ => {}
                    }
                }
            }
            for (e, r) in &c.expected.ad_minutes {
                if r.ad_id == ad {
                    println!("expected ad row epoch {e} bucket {} comments {} neg {} risky {} scored {}", (r.window_start - gen::T0) / 60_000, r.comments, r.comments_negative, r.comments_risky, r.sentiment_count);
                }
            }
        }
        return;
    }
    for seed in seeds() {
        let c = case(seed);
        for (e, r) in &c.expected.care_cases {
            if r.sla_status == "breached_unanswered" && *e == c.expected.epochs {
                println!("seed {seed} expected end case {r:?}");
            }
        }
    }
}
