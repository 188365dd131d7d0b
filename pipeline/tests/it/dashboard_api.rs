//! The dashboard's JSON API (`docs/dashboard-api.md`, issue 14) over the golden scenario: the
//! series, crisis timelines, cases past SLA, brand cards and value-realization figures equal the
//! hand-computed numbers of `tests/golden/README.md`, and the Parquet rows the job writes at its
//! stop; `/metrics` parses as Prometheus text.
//!
//! The job replays the golden input with `--serve` (no `--fire-actions`: the pause is recorded
//! `dry_run`, with no latency) and English alone scored, as the README's numbers assume.

use crate::support::common::{self, ENGLISH_ONLY};
use crate::support::kill_switch::{http, parquet_rows};
use crate::support::launch::{tail, Job};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(120);
const A1: &str = "crisis-ad-a1-20261124T1011";
const A2: &str = "crisis-ad-a2-20261124T1031";
const G1: &str = "crisis-ad-g1-20261124T1038";
/// 2026-11-24T10:00:00Z.
const TEN: i64 = 1_795_514_400_000;
/// 2026-11-24T00:00:00Z.
const DAY: i64 = 1_795_478_400_000;

/// Epoch ms of `h:mm[:ss]` on 2026-11-24 (UTC).
fn at(hms: &str) -> i64 {
    let p: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    TEN + (p[0] - 10) * 3_600_000 + p[1] * 60_000 + p.get(2).copied().unwrap_or(0) * 1000
}

fn get(api: &str, path: &str) -> Value {
    let (code, body) = http(api, "GET", path, None);
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// Polls `get` until it equals `want` (the job reads its input in the background); on time-out
/// the last answer is compared, so the failure shows the difference.
fn settles<T: PartialEq + std::fmt::Debug>(what: &str, want: &T, mut get: impl FnMut() -> T) {
    let until = Instant::now() + T;
    loop {
        let got = get();
        if &got == want {
            return;
        }
        if Instant::now() > until {
            assert_eq!(&got, want, "{what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn num(v: &Value, k: &str) -> f64 {
    v[k].as_f64().unwrap_or_else(|| panic!("{k} is not a number in {v}"))
}

/// A share or average rounded to 1e-9, `None` for null.
fn r9(v: &Value) -> Option<i64> {
    v.as_f64().map(|x| (x * 1e9).round() as i64)
}

fn q9(x: f64) -> Option<i64> {
    Some((x * 1e9).round() as i64)
}

/// One brand-minute as the page reads it (the sentiment sum in thousandths).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Minute {
    t: i64,
    mentions: u64,
    positive: u64,
    negative: u64,
    neutral: u64,
    unscored: u64,
    sum_milli: i64,
    scored: u64,
    ad_comments: u64,
    ad_negative: u64,
    opened: u64,
    first_responses: u64,
    within_sla: u64,
    p50: Option<f64>,
    p90: Option<f64>,
    answered: u64,
}

fn minute_of(p: &Value) -> Minute {
    let u = |k: &str| p[k].as_u64().unwrap_or_else(|| panic!("{k} in {p}"));
    Minute {
        t: p["t"].as_i64().unwrap(),
        mentions: u("mentions"),
        positive: u("positive"),
        negative: u("negative"),
        neutral: u("neutral"),
        unscored: u("unscored"),
        sum_milli: (num(p, "sentiment_sum") * 1000.0).round() as i64,
        scored: u("sentiment_count"),
        ad_comments: u("ad_comments"),
        ad_negative: u("ad_comments_negative"),
        opened: u("cases_opened"),
        first_responses: u("first_responses"),
        within_sla: u("responses_within_sla"),
        p50: p["frt_p50_seconds"].as_f64(),
        p90: p["frt_p90_seconds"].as_f64(),
        answered: u("mentions_answered"),
    }
}

/// The same projection of a Parquet `brand_metrics_minute` row.
fn minute_of_parquet(r: &serde_json::Map<String, Value>) -> Minute {
    let v = Value::Object(r.clone());
    let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    Minute {
        t: v["window_start"].as_i64().unwrap(),
        mentions: u("mentions"),
        positive: u("mentions_positive"),
        negative: u("mentions_negative"),
        neutral: u("mentions_neutral"),
        unscored: u("mentions_unscored"),
        sum_milli: (num(&v, "sentiment_sum") * 1000.0).round() as i64,
        scored: u("sentiment_count"),
        ad_comments: u("ad_comments"),
        ad_negative: u("ad_comments_negative"),
        opened: u("cases_opened"),
        first_responses: u("first_responses"),
        within_sla: u("responses_within_sla"),
        p50: v["frt_p50_seconds"].as_f64(),
        p90: v["frt_p90_seconds"].as_f64(),
        answered: u("mentions_answered"),
    }
}

/// acme's 23 minutes (README §5 mentions, §6 ad comments, §7 care, §8 the union).
fn acme_minutes() -> Vec<Minute> {
    let mut m: BTreeMap<i64, Minute> = BTreeMap::new();
    let row = |m: &mut BTreeMap<i64, Minute>, t: &str| -> i64 {
        let t = at(t);
        m.entry(t).or_insert(Minute { t, ..Minute::default() });
        t
    };
    // §5: (minute, mentions, P, N, 0, U, sum, scored)
    for (t, n, p, neg, z, u, sum, cnt) in [
        ("10:00", 2, 1, 1, 0, 0, 200, 2),
        ("10:01", 2, 0, 0, 1, 1, 0, 1),
        ("10:05", 2, 1, 0, 1, 0, 90, 2),
        ("10:07", 1, 0, 1, 0, 0, -50, 1),
        ("10:10", 2, 0, 2, 0, 0, -1100, 2),
        ("10:12", 2, 1, 1, 0, 0, 600, 2),
        ("10:16", 2, 2, 0, 0, 0, 1000, 2),
        ("10:24", 3, 1, 1, 0, 1, 500, 2),
        ("10:30", 3, 1, 2, 0, 0, -800, 3),
        ("10:35", 2, 1, 1, 0, 0, -700, 2),
        ("10:40", 2, 2, 0, 0, 0, 550, 2),
        ("10:44", 2, 1, 1, 0, 0, 0, 2),
    ] {
        let k = row(&mut m, t);
        let e = m.get_mut(&k).unwrap();
        (e.mentions, e.positive, e.negative, e.neutral, e.unscored, e.sum_milli, e.scored) = (n, p, neg, z, u, sum, cnt);
    }
    // §6: ad comments in brand_metrics_minute (comments, negative).
    for (t, n, neg) in [
        ("10:02", 2, 0),
        ("10:03", 1, 0),
        ("10:05", 1, 0),
        ("10:10", 3, 2),
        ("10:11", 3, 3),
        ("10:12", 2, 2),
        ("10:18", 1, 0),
        ("10:19", 1, 1),
        ("10:29", 3, 2),
        ("10:30", 2, 1),
        ("10:31", 1, 1),
    ] {
        let k = row(&mut m, t);
        let e = m.get_mut(&k).unwrap();
        (e.ad_comments, e.ad_negative) = (n, neg);
    }
    // §7: cases opened, one each.
    for t in ["10:01", "10:03", "10:05", "10:06", "10:08", "10:09", "10:11", "10:30"] {
        let k = row(&mut m, t);
        m.get_mut(&k).unwrap().opened = 1;
    }
    // §7: first responses (n, within, p50, p90, mentions answered).
    for (t, n, within, p50, p90, ans) in [
        ("10:06", 1, 1, 330.5, 330.5, 1),
        ("10:09", 2, 2, 90.0, 250.0, 1),
        ("10:16", 3, 2, 420.0, 780.0, 1),
        ("10:30", 1, 1, 0.0, 0.0, 0),
    ] {
        let k = row(&mut m, t);
        let e = m.get_mut(&k).unwrap();
        (e.first_responses, e.within_sla, e.p50, e.p90, e.answered) = (n, within, Some(p50), Some(p90), ans);
    }
    // §7: resolutions only (10:20, 10:35 has mentions already).
    row(&mut m, "10:20");
    m.into_values().collect()
}

/// An ad's crisis timeline as (minute, comments, window comments, window neg share, window
/// risk share).
fn timeline(t: &Value) -> Vec<(i64, u64, u64, Option<i64>, Option<i64>)> {
    t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["t"].as_i64().unwrap(),
                p["comments"].as_u64().unwrap(),
                p["window_comments"].as_u64().unwrap(),
                r9(&p["window_neg_share"]),
                r9(&p["window_risk_share"]),
            )
        })
        .collect()
}

fn serve_golden(out: &Path, state: &Path) -> (Job, String) {
    let input = common::tests_dir().join("golden").join("input");
    let args = [
        "replay",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--serve",
        "--quiet",
    ];
    let env = [ENGLISH_ONLY, ("BRANDPULSE_HTTP__LISTEN", "127.0.0.1:0")];
    let mut job = Job::spawn(&args, &env);
    let api = job.api_addr(T);
    (job, api)
}

#[test]
fn the_api_serves_the_golden_numbers_and_the_parquet_rows() {
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut job, api) = serve_golden(out.path(), state.path());

    // Minute series: README §8's 23 acme rows.
    let want = acme_minutes();
    assert_eq!(want.len(), 23);
    let series = |brand: &str, res: &str| get(&api, &format!("/api/series?brand={brand}&resolution={res}"));
    settles("acme's minute series", &want, || {
        series("acme", "minute")["points"].as_array().unwrap().iter().map(minute_of).collect::<Vec<_>>()
    });
    // Every brand's input has been read once the three brands' minute counts are complete:
    // README §8 counts 23 + 12 + 5 rows.
    settles("minute rows per brand", &vec![23, 12, 5], || {
        ["acme", "globex", "initech"].iter().map(|b| series(b, "minute")["points"].as_array().unwrap().len()).collect()
    });

    // Hour resolution: acme's one hour sums its minutes (§5: 25 mentions, 11 P, 10 N, 2 neutral,
    // 2 unscored, sum 0.29 over 23 scored; §6: 20 ad comments, 12 negative; §7: 8 opened,
    // 7 first responses, 6 within SLA, 3 answered); percentiles are not summed.
    let hour = series("acme", "hour");
    assert_eq!(hour["resolution"], "hour");
    let pts = hour["points"].as_array().unwrap();
    assert_eq!(pts.len(), 1, "{hour}");
    let want_hour = Minute {
        t: TEN,
        mentions: 25,
        positive: 11,
        negative: 10,
        neutral: 2,
        unscored: 2,
        sum_milli: 290,
        scored: 23,
        ad_comments: 20,
        ad_negative: 12,
        opened: 8,
        first_responses: 7,
        within_sla: 6,
        p50: None,
        p90: None,
        answered: 3,
    };
    assert_eq!(minute_of(&pts[0]), want_hour, "{hour}");
    assert_eq!(r9(&pts[0]["sentiment_avg"]), q9(0.29 / 23.0));
    // A range: from/to are inclusive window starts.
    let part = get(&api, &format!("/api/series?brand=acme&resolution=minute&from={}&to={}", at("10:10"), at("10:12")));
    let ts: Vec<i64> = part["points"].as_array().unwrap().iter().map(|p| p["t"].as_i64().unwrap()).collect();
    assert_eq!(ts, [at("10:10"), at("10:11"), at("10:12")]);
    let (code, body) = http(&api, "GET", "/api/series?brand=acme&resolution=day", None);
    assert_eq!(code, 400, "{body}");

    // Crisis timelines (§9): windows of ten buckets; neg share over scored comments.
    let crisis = get(&api, "/api/crisis?brand=acme");
    let ads: Vec<&str> = crisis.as_array().unwrap().iter().map(|t| t["ad_id"].as_str().unwrap()).collect();
    assert_eq!(ads, ["ad-a1", "ad-a2", "ad-a3"]);
    let a1 = &crisis[0];
    assert_eq!(
        timeline(a1),
        [
            (at("10:02"), 1, 1, q9(0.0), q9(0.0)),
            (at("10:05"), 1, 2, q9(0.0), q9(0.0)),
            (at("10:10"), 3, 5, q9(2.0 / 5.0), q9(0.0)),
            (at("10:11"), 3, 8, q9(5.0 / 8.0), q9(1.0 / 8.0)),
            (at("10:12"), 2, 9, q9(7.0 / 9.0), q9(1.0 / 9.0)),
            (at("10:18"), 1, 9, q9(7.0 / 9.0), q9(1.0 / 9.0)),
        ],
        "{a1}"
    );
    let alerts = a1["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{a1}");
    assert_eq!(
        (&alerts[0]["alert_id"], alerts[0]["window_start"].as_i64(), alerts[0]["opened_at"].as_i64()),
        (&Value::from(A1), Some(at("10:11")), Some(at("10:11:30")))
    );
    assert_eq!((alerts[0]["action"].as_str(), alerts[0]["resolved_window"].as_i64()), (Some("pause_all_publishing"), Some(at("10:23"))));
    let marks: Vec<(&str, Option<i64>)> =
        a1["actions"].as_array().unwrap().iter().map(|x| (x["action"].as_str().unwrap(), x["at"].as_i64())).collect();
    assert_eq!(marks, [("pause_all_publishing", Some(at("10:11:30")))], "the pause at its triggering comment");
    let a2 = &crisis[1];
    assert_eq!(
        timeline(a2),
        [
            (at("10:03"), 1, 1, q9(0.0), q9(0.0)),
            // c-19 is unscored: 2 of 2 scored negative, 2 of 3 risky.
            (at("10:29"), 3, 3, q9(1.0), q9(2.0 / 3.0)),
            (at("10:30"), 2, 5, q9(3.0 / 4.0), q9(3.0 / 5.0)),
            (at("10:31"), 1, 6, q9(4.0 / 5.0), q9(4.0 / 6.0)),
        ],
        "{a2}"
    );
    assert_eq!(a2["alerts"][0]["alert_id"], A2);
    assert_eq!(a2["alerts"][0]["action_status"], "skipped_already_paused");
    let g = get(&api, "/api/crisis?brand=globex");
    assert_eq!(g[0]["ad_id"], "ad-g1");
    assert_eq!(timeline(&g[0]).last().unwrap(), &(at("10:38"), 1, 4, q9(0.25), q9(0.75)), "{g}");
    assert_eq!(g[0]["alerts"][0]["alert_id"], G1);
    assert_eq!(g[0]["alerts"][0]["resolved_window"], Value::Null);

    // Open cases past their SLA (§7): k-2 (breached, answered late) and k-4 (unanswered).
    let cases = get(&api, "/api/cases?brand=acme");
    let ids: Vec<(&str, &str)> =
        cases.as_array().unwrap().iter().map(|c| (c["case_id"].as_str().unwrap(), c["sla_status"].as_str().unwrap())).collect();
    assert_eq!(ids, [("k-2", "breached"), ("k-4", "breached_unanswered")]);
    assert_eq!(get(&api, "/api/cases?brand=globex"), Value::Array(vec![]), "k-7 is still pending");

    // Brand cards.
    let overview = get(&api, "/api/overview");
    let card = |b: &str| overview.as_array().unwrap().iter().find(|c| c["brand_id"] == b).cloned().unwrap();
    let acme = card("acme");
    // FRTs of acme's answered cases: 0, 90, 250, 320, 330.5, 420, 780 → p50 the 4th, p90 the 7th.
    assert_eq!((acme["mentions"].as_u64(), acme["first_responses"].as_u64()), (Some(25), Some(7)), "{acme}");
    assert_eq!((num(&acme, "frt_p50_seconds"), num(&acme, "frt_p90_seconds")), (320.0, 780.0), "{acme}");
    assert_eq!((r9(&acme["negative_share"]), r9(&acme["sla_attainment"]), r9(&acme["answered_share"])), (q9(0.4), q9(6.0 / 7.0), q9(0.12)));
    // Not closed: k-2, k-3, k-4, k-10, k-11; k-4 breached unanswered.
    assert_eq!(
        (acme["open_cases"].as_u64(), acme["open_breaches"].as_u64(), acme["unanswered_breaches"].as_u64()),
        (Some(5), Some(1), Some(1)),
        "{acme}"
    );
    assert_eq!((acme["publishing_paused"].as_bool(), acme["paused_by"].as_str()), (Some(true), Some(A1)), "{acme}");
    assert_eq!((acme["from"].as_i64(), acme["to"].as_i64()), (Some(at("10:00")), Some(at("10:44"))));
    let globex = card("globex");
    assert_eq!((globex["active_crises"].as_u64(), globex["publishing_paused"].as_bool()), (Some(1), Some(false)), "{globex}");

    // value_realization_daily (SPEC §7), one day.
    let value = |b: &str| get(&api, &format!("/api/value?brand={b}"));
    let v = value("acme");
    assert_eq!(v.as_array().unwrap().len(), 1, "{v}");
    let d = &v[0];
    assert_eq!(d["day"].as_i64(), Some(DAY));
    assert_eq!(
        (d["mentions"].as_u64(), d["cases_opened"].as_u64(), d["first_responses"].as_u64(), d["crises"].as_u64(), d["pauses"].as_u64()),
        (Some(25), Some(8), Some(7), Some(2), Some(1)),
        "{d}"
    );
    assert_eq!(
        (r9(&d["negative_share"]), r9(&d["avg_sentiment"]), r9(&d["sla_attainment"]), r9(&d["answered_share"])),
        (q9(0.4), q9(0.29 / 23.0), q9(6.0 / 7.0), q9(0.12)),
        "{d}"
    );
    // Median FRT: the 4th of the 7 above. Onset to pause: 10:11:00 → 10:11:30 with no latency.
    assert_eq!((num(d, "median_frt_seconds"), num(d, "minutes_to_pause")), (320.0, 0.5), "{d}");
    // acme stays paused (auto_resume false): 10:11:30 → the watermark 10:44:50 = 2000 s, at
    // acme's ads' 120 + 80.5 + 10 + 40 = 250.5 per hour.
    assert_eq!(r9(&d["spend_protected"]), q9(250.5 * 2000.0 / 3600.0), "{d}");
    let g = &value("globex")[0];
    // §5: globex 8 mentions, 3 negative, sum 0.2 over 8; k-6 and k-7 opened; k-6 answered in 150 s.
    assert_eq!((g["mentions"].as_u64(), g["cases_opened"].as_u64(), g["crises"].as_u64(), g["pauses"].as_u64()), (Some(8), Some(2), Some(1), Some(0)), "{g}");
    assert_eq!((r9(&g["negative_share"]), r9(&g["avg_sentiment"]), num(g, "median_frt_seconds")), (q9(0.375), q9(0.025), 150.0), "{g}");
    assert_eq!((&g["minutes_to_pause"], num(g, "spend_protected")), (&Value::Null, 0.0), "{g}");
    assert_eq!(value("nobody"), Value::Array(vec![]));

    // Consistent with the Parquet rows, written final at the stop (SIGTERM).
    let mut api_minutes: Vec<(String, Minute)> = Vec::new();
    for b in ["acme", "globex", "initech"] {
        api_minutes.extend(series(b, "minute")["points"].as_array().unwrap().iter().map(|p| (b.to_string(), minute_of(p))));
    }
    let mut api_ads: Vec<(String, i64, u64)> = Vec::new();
    for b in ["acme", "globex"] {
        for t in get(&api, &format!("/api/crisis?brand={b}")).as_array().unwrap() {
            for p in t["points"].as_array().unwrap() {
                api_ads.push((t["ad_id"].as_str().unwrap().to_string(), p["t"].as_i64().unwrap(), p["comments"].as_u64().unwrap()));
            }
        }
    }
    job.signal(15);
    assert!(job.wait(T), "the job did not stop cleanly on SIGTERM:\n{}", tail(&job.log()));
    let mut pq: Vec<(String, Minute)> = parquet_rows(out.path(), "brand_metrics_minute")
        .iter()
        .map(|r| (r["brand_id"].as_str().unwrap().to_string(), minute_of_parquet(r)))
        .collect();
    pq.sort_by(|a, b| (&a.0, a.1.t).cmp(&(&b.0, b.1.t)));
    assert_eq!(api_minutes, pq, "the API's minute series and the brand_metrics_minute rows");
    let mut pq_ads: Vec<(String, i64, u64)> = parquet_rows(out.path(), "ad_metrics_minute")
        .iter()
        .map(|r| (r["ad_id"].as_str().unwrap().to_string(), r["window_start"].as_i64().unwrap(), r["comments"].as_u64().unwrap()))
        .filter(|(ad, ..)| ad != "ad-x9")
        .collect();
    pq_ads.sort();
    assert_eq!(api_ads, pq_ads, "the API's crisis timelines and the ad_metrics_minute rows");
}

#[test]
fn metrics_parse_as_prometheus_text() {
    use openmetrics_parser::{PrometheusType, PrometheusValue};
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (mut job, api) = serve_golden(out.path(), state.path());
    // The golden mentions in German without an upstream score (README §3), unscored under
    // English only.
    let input = common::tests_dir().join("golden/input/mentions.ndjson");
    let german = std::fs::read_to_string(input)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["lang"] == "de" && v.get("sentiment").is_none())
        .count();
    assert!(german > 0);
    // README §5: 36 mentions counted (bad, duplicate and late lines excluded).
    let families = |text: &str| {
        openmetrics_parser::prometheus::parse_prometheus(text)
            .unwrap_or_else(|e| panic!("/metrics is not Prometheus text: {e:?}\n{text}"))
            .families
    };
    let total = |fams: &std::collections::HashMap<String, openmetrics_parser::MetricFamily<PrometheusType, PrometheusValue>>, name: &str| -> f64 {
        fams.get(name).map_or(0.0, |f| {
            f.iter_samples()
                .map(|s| match &s.value {
                    PrometheusValue::Counter(c) => c.value.as_f64(),
                    other => panic!("{name}: not a counter: {other:?}"),
                })
                .sum()
        })
    };
    let mut text = String::new();
    settles("mentions counted by language in /metrics", &36.0, || {
        let (code, body) = http(&api, "GET", "/metrics", None);
        assert_eq!(code, 200, "{body}");
        text = body;
        let f = families(&text);
        total(&f, "brandpulse_mentions_scored_total") + total(&f, "brandpulse_mentions_unscored_total")
    });
    let f = families(&text);
    let unscored = &f["brandpulse_mentions_unscored_total"];
    assert_eq!(unscored.family_type, PrometheusType::Counter);
    assert_eq!(unscored.get_label_names(), ["lang"]);
    let de = unscored.get_sample_by_label_values(&["de".to_string()]).unwrap_or_else(|| panic!("no lang=de sample:\n{text}"));
    match &de.value {
        PrometheusValue::Counter(c) => assert_eq!(c.value.as_f64(), german as f64),
        other => panic!("{other:?}"),
    }
    // Every family is typed, and the latency histogram is consistent (cumulative buckets, +Inf =
    // count).
    for (name, fam) in &f {
        assert_ne!(fam.family_type, PrometheusType::Unknown, "{name} has no TYPE");
    }
    let h = &f["brandpulse_action_latency_seconds"];
    assert_eq!(h.family_type, PrometheusType::Histogram);
    for s in h.iter_samples() {
        let PrometheusValue::Histogram(v) = &s.value else { panic!("{:?}", s.value) };
        let counts: Vec<f64> = v.buckets.iter().map(|b| b.count.as_f64()).collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
        let inf = v.buckets.iter().find(|b| b.upper_bound.is_infinite()).expect("+Inf bucket");
        assert_eq!(Some(inf.count.as_f64() as u64), v.count);
    }
    job.kill();
}

/// The counts of a job as `/metrics` or the summary report them.
#[derive(Debug, PartialEq)]
struct Reported {
    records_read: u64,
    late: u64,
    duplicates: u64,
    dead_letters: BTreeMap<String, u64>,
    watermark_ms: i64,
}

/// Issue 12: `/metrics` under `replay --serve` reports the same records read, late events,
/// duplicates, dead letters by reason and watermark as the summary printed at the stop, and both
/// equal the scenario's own figures: the dead letters of the golden `expected/dead_letter.json`,
/// the four duplicate lines of its README §4 (mentions 8 and 19, ad_comments 8, care_events 15),
/// every line of the input read, and the watermark at the end of the input = the largest fact
/// `ts`. `/metrics` is read once all input is read and processed, while serving: the windows
/// still open then become final only at the stop, so the one dead letter that a final window
/// writes (ad_comments line 5, `unknown_ad_expired`) is left out of the input here.
#[test]
fn metrics_under_serve_report_what_the_summary_reports() {
    use openmetrics_parser::{PrometheusType, PrometheusValue};
    let golden = common::tests_dir().join("golden");
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("input");
    std::fs::create_dir(&input).unwrap();
    let mut dead: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(golden.join("expected/dead_letter.json")).unwrap()).unwrap();
    let left_out: Vec<(String, u64)> = dead
        .iter()
        .filter(|d| d["reason"] == "unknown_ad_expired")
        .map(|d| (d["topic"].as_str().unwrap().to_string(), d["offset"].as_u64().unwrap()))
        .collect();
    assert_eq!(left_out, [("ad_comments".to_string(), 5)], "README §4");
    dead.retain(|d| d["reason"] != "unknown_ad_expired");
    let mut by_reason = BTreeMap::new();
    for d in &dead {
        *by_reason.entry(d["reason"].as_str().unwrap().to_string()).or_insert(0u64) += 1;
    }
    let (mut lines, mut max_ts) = (0u64, i64::MIN);
    for f in ["brands", "ads", "mentions", "ad_comments", "care_events"] {
        let text = std::fs::read(golden.join(format!("input/{f}.ndjson"))).unwrap();
        let mut kept = Vec::new();
        for (i, line) in common::split_lines(&text).into_iter().enumerate() {
            if left_out.contains(&(f.to_string(), i as u64 + 1)) {
                continue;
            }
            kept.extend_from_slice(line);
            kept.push(b'\n');
            lines += 1;
            let fact = matches!(f, "mentions" | "ad_comments" | "care_events");
            if let (true, Ok(v)) = (fact, serde_json::from_slice::<Value>(line)) {
                if let Some(ts) = v["ts"].as_str().and_then(|s| common::rfc3339_ms(s).ok()) {
                    max_ts = max_ts.max(ts);
                }
            }
        }
        std::fs::write(input.join(format!("{f}.ndjson")), kept).unwrap();
    }
    let want = Reported {
        records_read: lines,
        late: by_reason.get("late").copied().unwrap_or(0),
        duplicates: 4,
        dead_letters: by_reason,
        watermark_ms: max_ts,
    };

    let (out, state) = (tmp.path().join("out"), tmp.path().join("state"));
    let args = ["replay", "--input", input.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let args = [&args[..], &["--state-dir", state.to_str().unwrap(), "--serve", "--quiet"]].concat();
    let mut job = Job::spawn(&args, &[ENGLISH_ONLY, ("BRANDPULSE_HTTP__LISTEN", "127.0.0.1:0")]);
    let api = job.api_addr(T);
    let until = Instant::now() + T;
    while !job.log().contains("all input read and processed") {
        assert!(job.try_wait().is_none(), "the job ended while serving:\n{}", tail(&job.log()));
        assert!(Instant::now() < until, "the input was not processed within {T:?}:\n{}", tail(&job.log()));
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, text) = http(&api, "GET", "/metrics", None);
    assert_eq!(code, 200, "{text}");
    let fams = openmetrics_parser::prometheus::parse_prometheus(&text)
        .unwrap_or_else(|e| panic!("/metrics is not Prometheus text: {e:?}\n{text}"))
        .families;
    let value = |name: &str, labels: &[String]| -> f64 {
        let f = fams.get(name).unwrap_or_else(|| panic!("{name} missing in\n{text}"));
        let s = f.get_sample_by_label_values(labels).unwrap_or_else(|| panic!("{name}{labels:?} missing in\n{text}"));
        match &s.value {
            PrometheusValue::Counter(c) => c.value.as_f64(),
            PrometheusValue::Gauge(g) => g.as_f64(),
            other => panic!("{name}: {other:?}"),
        }
    };
    let reasons = &fams["brandpulse_dead_letters_total"];
    assert_eq!(reasons.family_type, PrometheusType::Counter);
    assert_eq!(reasons.get_label_names(), ["reason"]);
    let metrics = Reported {
        records_read: value("brandpulse_records_read_total", &[]) as u64,
        late: value("brandpulse_late_events_total", &[]) as u64,
        duplicates: value("brandpulse_duplicate_events_total", &[]) as u64,
        dead_letters: reasons
            .iter_samples()
            .map(|s| {
                let reason = s.get_labelset().unwrap().get_label_value("reason").unwrap().to_string();
                let PrometheusValue::Counter(c) = &s.value else { panic!("not a counter") };
                (reason, c.value.as_f64() as u64)
            })
            .collect(),
        watermark_ms: (value("brandpulse_watermark_seconds", &[]) * 1000.0).round() as i64,
    };

    job.signal(2);
    assert!(job.wait_exit(T).success(), "the job did not exit cleanly on SIGINT:\n{}", tail(&job.log()));
    let log = job.log();
    let line = |prefix: &str| {
        log.lines().find_map(|l| l.strip_prefix(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line in\n{log}"))
    };
    let figures = line("duplicates dropped: ");
    let field = |after: &str| -> u64 {
        figures.split(after).nth(1).and_then(|r| r.split_whitespace().next()).and_then(|n| n.parse().ok()).unwrap()
    };
    let mut dead_lines = BTreeMap::new();
    let after = log.split("duplicates dropped: ").nth(1).unwrap();
    for l in after.lines().skip(1).take_while(|l| l.starts_with("    ")) {
        let mut p = l.split_whitespace();
        dead_lines.insert(p.next().unwrap().to_string(), p.next().unwrap().parse::<u64>().unwrap());
    }
    let summary = Reported {
        records_read: line("read ").split_whitespace().next().unwrap().parse().unwrap(),
        late: field("late: "),
        duplicates: figures.split_whitespace().next().unwrap().parse().unwrap(),
        dead_letters: dead_lines,
        watermark_ms: common::rfc3339_ms(line("watermark: ").trim()).unwrap(),
    };
    assert_eq!(field("dead letters: "), summary.dead_letters.values().sum::<u64>(), "{figures}");
    assert_eq!(metrics, summary, "/metrics (left) and the summary (right) disagree");
    assert_eq!(summary, want, "the summary (left) against the golden scenario's figures (right)");
}
