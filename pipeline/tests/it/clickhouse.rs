//! The ClickHouse sink against a real server (Debian's clickhouse-server, started by the test on
//! free ports): migrations, the golden scenario's views equal to hand-computed values, repeated
//! batches and restarts changing nothing, a server outage during a run, and `run` over Kafka
//! (a real tansu broker) writing the same views.

use crate::support::clickhouse::Server;
use crate::support::common::*;
use crate::support::kafka as kafka_support;
use crate::support::launch::{Job, Launch, TIMEOUT};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn golden_input() -> PathBuf {
    tests_dir().join("golden").join("input")
}

/// Runs the binary to completion (panics with its output on failure); returns stderr.
/// The golden scenario's expectations score English only (tests/golden/english_only.toml).
fn run_ok(args: &[&str]) -> String {
    Launch::new(args).env(ENGLISH_ONLY.0, ENGLISH_ONLY.1).run_ok(TIMEOUT).stderr
}

fn migrate(config: &Path) -> String {
    run_ok(&["--config", &config.display().to_string(), "clickhouse", "migrate"])
}

/// `YYYY-MM-DD hh:mm:ss` (UTC) or `YYYY-MM-DD` to epoch ms.
fn ch_time_ms(s: &str) -> i64 {
    let full = if s.len() == 10 { format!("{s}T00:00:00Z") } else { format!("{}Z", s.replacen(' ', "T", 1)) };
    rfc3339_ms(&full).unwrap_or_else(|e| panic!("ClickHouse time {s:?}: {e}"))
}

fn hex_bytes(h: &str) -> Vec<u8> {
    (0..h.len()).step_by(2).map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex")).collect()
}

/// The rows of `view` with the columns of `spec`, normalised like Parquet rows: times to epoch ms,
/// binary through [`bytes_value`], UInt8 booleans left as numbers.
fn fetch(server: &Server, db: &str, view: &str, spec: &TableSpec) -> Vec<Row> {
    let cols: Vec<String> = spec
        .cols
        .iter()
        .map(|c| if c.kind == Kind::Bin { format!("hex({0}) AS {0}", c.name) } else { c.name.to_string() })
        .collect();
    normalize(spec, server.rows(&format!("SELECT {} FROM {db}.{view}", cols.join(", "))))
}

/// ClickHouse JSON rows (binary columns as hex) normalised like Parquet rows.
fn normalize(spec: &TableSpec, rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .map(|mut r| {
            for c in spec.cols {
                let v = r.get(c.name).cloned().unwrap_or(Value::Null);
                let nv = match (c.kind, &v) {
                    (Kind::Ts, Value::String(s)) => Value::from(ch_time_ms(s)),
                    (Kind::Bin, Value::String(s)) => bytes_value(&hex_bytes(s)),
                    _ => v,
                };
                r.insert(c.name.to_string(), nv);
            }
            r
        })
        .collect()
}

/// Expected rows with timestamps floored to seconds (ClickHouse `DateTime`).
fn floor_times(spec: &TableSpec, rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            for c in spec.cols.iter().filter(|c| c.kind == Kind::Ts) {
                if let Some(ms) = r.get(c.name).and_then(Value::as_i64) {
                    r.insert(c.name.to_string(), Value::from(ms.div_euclid(1000) * 1000));
                }
            }
            r
        })
        .collect()
}

fn expected(spec: &TableSpec) -> Vec<Row> {
    let path = tests_dir().join("golden").join("expected").join(format!("{}.json", spec.name));
    normalize_expected(spec, load_expected(&path))
}

// ---- views, computed independently from the hand-checked minute rows and case rows ----------

use Kind::*;

const SUMS: [(&str, Kind); 20] = [
    ("mentions", U64),
    ("mentions_positive", U64),
    ("mentions_negative", U64),
    ("mentions_neutral", U64),
    ("mentions_unscored", U64),
    ("sentiment_sum", F64),
    ("sentiment_count", U64),
    ("reach_sum", U64),
    ("ad_comments", U64),
    ("ad_comments_negative", U64),
    ("ad_comments_risky", U64),
    ("cases_opened", U64),
    ("first_responses", U64),
    ("responses_within_sla", U64),
    ("responses_late", U64),
    ("frt_sum_seconds", F64),
    ("mentions_answered", U64),
    ("ad_comments_answered", U64),
    ("cases_resolved", U64),
    ("resolution_sum_seconds", F64),
];

macro_rules! rollup_spec {
    ($name:literal, $period:literal) => {
        TableSpec {
            name: $name,
            key: &["brand_id", $period],
            cols: &[
                col("brand_id", Str, false),
                col($period, Ts, false),
                col("mentions", U64, false),
                col("mentions_positive", U64, false),
                col("mentions_negative", U64, false),
                col("mentions_neutral", U64, false),
                col("mentions_unscored", U64, false),
                col("sentiment_sum", F64, false),
                col("sentiment_count", U64, false),
                col("reach_sum", U64, false),
                col("ad_comments", U64, false),
                col("ad_comments_negative", U64, false),
                col("ad_comments_risky", U64, false),
                col("cases_opened", U64, false),
                col("first_responses", U64, false),
                col("responses_within_sla", U64, false),
                col("responses_late", U64, false),
                col("frt_sum_seconds", F64, false),
                col("frt_p50_seconds", F64, true),
                col("frt_p90_seconds", F64, true),
                col("mentions_answered", U64, false),
                col("ad_comments_answered", U64, false),
                col("cases_resolved", U64, false),
                col("resolution_sum_seconds", F64, false),
            ],
        }
    };
}

const fn col(name: &'static str, kind: Kind, nullable: bool) -> Col {
    Col { name, kind, nullable, check: Check::Compare }
}

const HOURLY: TableSpec = rollup_spec!("brand_metrics_hourly", "hour");
const DAILY: TableSpec = rollup_spec!("brand_metrics_daily", "day");
const VALUE: TableSpec = TableSpec {
    name: "value_realization_daily",
    key: &["brand_id", "day"],
    cols: &[
        col("brand_id", Str, false),
        col("day", Ts, false),
        col("mentions", U64, false),
        col("negative_share", F64, true),
        col("avg_sentiment", F64, true),
        col("cases_opened", U64, false),
        col("first_responses", U64, false),
        col("sla_attainment", F64, true),
        col("median_frt_seconds", F64, true),
        col("answered_share", F64, true),
        col("crises", U64, false),
        col("pauses", U64, false),
        col("minutes_to_pause", F64, true),
        col("spend_protected", F64, false),
    ],
};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// The ⌈p·n⌉-th smallest (SPEC §5 nearest rank).
fn nearest_rank(sorted: &[f64], p: f64) -> Value {
    if sorted.is_empty() {
        return Value::Null;
    }
    let k = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Value::from(sorted[k - 1])
}

fn num(r: &Row, c: &str) -> f64 {
    r.get(c).and_then(Value::as_f64).unwrap_or(0.0)
}

/// Sums of the minute rows per (brand, period) and nearest-rank FRT percentiles over the cases
/// whose first response falls in the period.
fn rollup(minutes: &[Row], cases: &[Row], period_ms: i64, period: &str) -> BTreeMap<(String, i64), Row> {
    let mut out: BTreeMap<(String, i64), Row> = BTreeMap::new();
    for m in minutes {
        let brand = m["brand_id"].as_str().unwrap().to_string();
        let p = m["window_start"].as_i64().unwrap().div_euclid(period_ms) * period_ms;
        let row = out.entry((brand.clone(), p)).or_insert_with(|| {
            let mut r = Row::new();
            r.insert("brand_id".into(), Value::from(brand.clone()));
            r.insert(period.into(), Value::from(p));
            for (c, k) in SUMS {
                r.insert(c.into(), if k == F64 { Value::from(0.0) } else { Value::from(0u64) });
            }
            r
        });
        for (c, k) in SUMS {
            let v = if k == F64 {
                Value::from(num(row, c) + num(m, c))
            } else {
                Value::from(row[c].as_u64().unwrap() + m[c].as_u64().unwrap())
            };
            row.insert(c.into(), v);
        }
    }
    let mut frts: BTreeMap<(String, i64), Vec<f64>> = BTreeMap::new();
    for c in cases {
        let (Some(fr), Some(_)) = (c["first_response_at"].as_i64(), c["opened_at"].as_i64()) else { continue };
        let key = (c["brand_id"].as_str().unwrap().to_string(), fr.div_euclid(period_ms) * period_ms);
        frts.entry(key).or_default().push(c["frt_seconds"].as_f64().unwrap());
    }
    for (key, row) in out.iter_mut() {
        let mut v = frts.get(key).cloned().unwrap_or_default();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        row.insert("frt_p50_seconds".into(), nearest_rank(&v, 0.5));
        row.insert("frt_p90_seconds".into(), nearest_rank(&v, 0.9));
    }
    out
}

fn ratio(a: f64, b: f64) -> Value {
    if b == 0.0 {
        Value::Null
    } else {
        Value::from(a / b)
    }
}

/// The largest `ts` of the fact lines that were counted or deduplicated (not dead-lettered).
fn final_watermark(input: &Path, dead: &[Row]) -> i64 {
    let mut max = i64::MIN;
    for topic in ["mentions", "ad_comments", "care_events"] {
        let bytes = std::fs::read(input.join(format!("{topic}.ndjson"))).unwrap();
        for (i, line) in split_lines(&bytes).iter().enumerate() {
            let line_no = (i + 1) as i64;
            if dead.iter().any(|d| d["topic"] == topic && d["offset"].as_i64() == Some(line_no)) {
                continue;
            }
            let Ok(v) = serde_json::from_slice::<Value>(line) else { continue };
            let ts = match &v["ts"] {
                Value::String(s) => rfc3339_ms(s).ok(),
                Value::Number(n) => n.as_i64(),
                _ => None,
            };
            if let Some(ts) = ts {
                max = max.max(ts);
            }
        }
    }
    max
}

/// value_realization_daily from the daily roll-up, the alerts, the ads and brands inputs.
fn value_rows(daily: &BTreeMap<(String, i64), Row>, alerts: &[Row], input: &Path, watermark: i64) -> Vec<Row> {
    let mut spend: BTreeMap<String, f64> = BTreeMap::new();
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for line in std::fs::read_to_string(input.join("ads.ndjson")).unwrap().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        latest.insert(v["ad_id"].as_str().unwrap().to_string(), v);
    }
    for v in latest.values() {
        *spend.entry(v["brand_id"].as_str().unwrap().to_string()).or_default() +=
            v["spend_per_hour"].as_f64().unwrap_or(0.0);
    }
    let mut auto_resume: BTreeMap<String, bool> = BTreeMap::new();
    for line in std::fs::read_to_string(input.join("brands.ndjson")).unwrap().lines() {
        if let Ok(v) = serde_json::from_str::<Value>(line) {
            if let Some(b) = v["brand_id"].as_str() {
                auto_resume.insert(b.to_string(), v["kill_switch"]["auto_resume"].as_bool().unwrap_or(false));
            }
        }
    }
    daily
        .iter()
        .map(|((brand, day), d)| {
            let mine: Vec<&Row> = alerts
                .iter()
                .filter(|a| {
                    a["brand_id"] == brand.as_str()
                        && a["window_start"].as_i64().unwrap().div_euclid(DAY_MS) * DAY_MS == *day
                })
                .collect();
            let paused: Vec<&&Row> = mine.iter().filter(|a| a["action"] == "pause_all_publishing").collect();
            let minutes: f64 = paused
                .iter()
                .map(|a| (a["opened_at"].as_i64().unwrap() - a["window_start"].as_i64().unwrap()) as f64 / 60_000.0)
                .sum();
            let hours: f64 = paused
                .iter()
                .map(|a| {
                    let end = match (auto_resume.get(brand).copied().unwrap_or(false), a["resolved_window"].as_i64()) {
                        (true, Some(r)) => r + 60_000,
                        _ => watermark,
                    };
                    ((end / 1000 - a["opened_at"].as_i64().unwrap() / 1000) as f64 / 3600.0).max(0.0)
                })
                .sum();
            let mut r = Row::new();
            r.insert("brand_id".into(), Value::from(brand.clone()));
            r.insert("day".into(), Value::from(*day));
            r.insert("mentions".into(), d["mentions"].clone());
            r.insert("negative_share".into(), ratio(num(d, "mentions_negative"), num(d, "mentions")));
            r.insert("avg_sentiment".into(), ratio(num(d, "sentiment_sum"), num(d, "sentiment_count")));
            r.insert("cases_opened".into(), d["cases_opened"].clone());
            r.insert("first_responses".into(), d["first_responses"].clone());
            r.insert("sla_attainment".into(), ratio(num(d, "responses_within_sla"), num(d, "first_responses")));
            r.insert("median_frt_seconds".into(), d["frt_p50_seconds"].clone());
            r.insert("answered_share".into(), ratio(num(d, "mentions_answered"), num(d, "mentions")));
            r.insert("crises".into(), Value::from(mine.len() as u64));
            r.insert("pauses".into(), Value::from(paused.len() as u64));
            r.insert(
                "minutes_to_pause".into(),
                if paused.is_empty() { Value::Null } else { Value::from(minutes / paused.len() as f64) },
            );
            r.insert("spend_protected".into(), Value::from(hours * spend.get(brand).copied().unwrap_or(0.0)));
            r
        })
        .collect()
}

/// Compares every `*_current` table view and every roll-up view of `db` with the golden
/// expectations (and values computed from them).
fn golden_diffs(server: &Server, db: &str) -> Vec<String> {
    golden_diffs_of(|view, spec| fetch(server, db, view, spec))
}

/// [`golden_diffs`] over rows that `fetch(view, spec)` returns.
fn golden_diffs_of(fetch: impl Fn(&str, &TableSpec) -> Vec<Row>) -> Vec<String> {
    let mut diffs = Vec::new();
    for spec in ALL_TABLES {
        let exp = floor_times(spec, &expected(spec));
        let act = fetch(&format!("{}_current", spec.name), spec);
        diffs.extend(compare_rows(spec, &exp, &act));
    }
    let minutes = expected(&BRAND_METRICS);
    let cases = floor_times(&CARE_CASES, &expected(&CARE_CASES));
    let hourly: Vec<Row> = rollup(&minutes, &cases, HOUR_MS, "hour").into_values().collect();
    diffs.extend(compare_rows(&HOURLY, &hourly, &fetch("brand_metrics_hourly", &HOURLY)));
    let daily = rollup(&minutes, &cases, DAY_MS, "day");
    diffs.extend(compare_rows(
        &DAILY,
        &daily.values().cloned().collect::<Vec<_>>(),
        &fetch("brand_metrics_daily", &DAILY),
    ));
    let alerts = floor_times(&ALERTS, &expected(&ALERTS));
    let w = final_watermark(&golden_input(), &expected(&DEAD_LETTER));
    let value = value_rows(&daily, &alerts, &golden_input(), w);
    diffs.extend(compare_rows(&VALUE, &value, &fetch("value_realization_daily", &VALUE)));
    diffs
}

fn count(server: &Server, sql: &str) -> u64 {
    server.query(sql).trim().parse().unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn migrate_is_idempotent_and_recorded() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = server.config_file(dir.path(), "bp_migrate", "");
    let first = migrate(&cfg);
    assert!(first.contains("applied migrations [1]"), "{first}");
    let second = migrate(&cfg);
    assert!(second.contains("applied migrations [], already applied [1]"), "{second}");
    assert_eq!(count(&server, "SELECT count() FROM bp_migrate.brandpulse_migrations FINAL"), 1);
    let tables = server.query("SELECT name FROM system.tables WHERE database = 'bp_migrate' ORDER BY name");
    for t in [
        "ad_metrics_minute",
        "alerts",
        "brand_metrics_daily",
        "brand_metrics_hourly",
        "brand_metrics_minute",
        "brand_status",
        "care_cases",
        "dead_letter",
        "value_realization_daily",
    ] {
        assert!(tables.lines().any(|l| l == t), "{t} missing from {tables}");
    }
}

#[test]
fn golden_scenario_views_equal_hand_computed_values() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = server.config_file(dir.path(), "bp_golden", "batch_rows = 7\nbatch_ms = 20");
    migrate(&cfg);
    let out = dir.path().join("out");
    let cfg_s = cfg.display().to_string();
    let input = golden_input().display().to_string();
    let stderr = run_ok(&[
        "--config",
        &cfg_s,
        "replay",
        "--input",
        &input,
        "--out",
        &out.display().to_string(),
        "--epoch-seconds",
        "1",
        "-w",
        "2",
        "--quiet",
    ]);
    assert!(stderr.contains("clickhouse: "), "{stderr}");
    assert_no_diffs("golden scenario in ClickHouse", &golden_diffs(&server, "bp_golden"));
    // Live changes are additive: the Parquet output of the same run is still the final rows.
    let mut parquet_diffs = Vec::new();
    let mut final_rows = 0;
    for spec in ALL_TABLES {
        let data = read_table(&out, spec);
        final_rows += data.rows.len();
        parquet_diffs.extend(data.problems.clone());
        parquet_diffs.extend(compare_rows(spec, &expected(spec), &data.rows));
    }
    assert_no_diffs("Parquet output with the ClickHouse sink on", &parquet_diffs);
    // Rows were corrected while the run went on (live values, late data within L, a dimension
    // change): the sink sent more rows than the final ones, and the views still show exactly one
    // value per key. (The raw tables cannot show it: background merges collapse versions.)
    let sent: usize = stderr
        .split("clickhouse: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the sink's summary line in:\n{stderr}"));
    eprintln!("clickhouse sink: {sent} rows sent for {final_rows} final rows");
    assert!(sent > final_rows, "expected live changes besides the final rows ({sent} sent, {final_rows} final)");
}

/// Spawns a replay writing to ClickHouse.
fn spawn_replay(cfg: &Path, input: &Path, out: &Path, extra: &[&str]) -> Job {
    let (cfg, input, out) = (cfg.display().to_string(), input.display().to_string(), out.display().to_string());
    let mut args = vec!["--config", &cfg, "replay", "--input", &input, "--out", &out, "--quiet"];
    args.extend_from_slice(extra);
    Launch::new(args).env(ENGLISH_ONLY.0, ENGLISH_ONLY.1).spawn()
}

fn wait_until(what: &str, deadline: Duration, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(started.elapsed() < deadline, "timed out after {deadline:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn repeated_batches_and_restarts_change_nothing() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // Small batches and a short queue slow the job to the server's pace, so it can be killed
    // while it is writing.
    let cfg = server.config_file(dir.path(), "bp_repeat", "batch_rows = 3\nbatch_ms = 5\nqueue_batches = 1");
    migrate(&cfg);
    let input = golden_input();
    let mut first = spawn_replay(&cfg, &input, &dir.path().join("o1"), &["--epoch-seconds", "1", "-w", "2"]);
    wait_until("the first rows in ClickHouse", Duration::from_secs(60), || {
        count(&server, "SELECT count() FROM bp_repeat.brand_metrics_minute")
            + count(&server, "SELECT count() FROM bp_repeat.care_cases")
            > 0
    });
    let killed_mid_stream = first.try_wait().is_none();
    first.kill();
    assert!(killed_mid_stream, "the first run finished before it could be killed: {}", first.log());
    // Restart: the whole input again (the rows already written are sent again with the same
    // versions), then a third full run, then every stored row inserted once more.
    for run in ["second", "third"] {
        let mut c = spawn_replay(&cfg, &input, &dir.path().join(run), &["--epoch-seconds", "1", "-w", "2"]);
        let status = c.wait_exit(Duration::from_secs(300));
        assert!(status.success(), "{run} run failed: {}", c.log());
    }
    assert_no_diffs("after a kill, a restart and a repeated run", &golden_diffs(&server, "bp_repeat"));
    for t in ["brand_metrics_minute", "ad_metrics_minute", "care_cases", "brand_status", "alerts", "dead_letter", "ads"]
    {
        server.query(&format!("INSERT INTO bp_repeat.{t} SELECT * FROM bp_repeat.{t}"));
    }
    server.query("OPTIMIZE TABLE bp_repeat.brand_metrics_minute FINAL");
    assert_no_diffs("after every batch was inserted twice", &golden_diffs(&server, "bp_repeat"));
}

/// Peak resident memory of a process so far, KiB.
fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn server_outage_loses_nothing_and_bounds_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input");
    run_ok(&["generate", "--out", &input.display().to_string(), "--events", "150000", "--hours", "6"]);
    let mut server = Server::start();
    let queue = 2usize;
    let workers = 2usize;
    let cfg = server.config_file(
        dir.path(),
        "bp_outage",
        &format!("batch_rows = 500\nbatch_ms = 50\nqueue_batches = {queue}"),
    );
    migrate(&cfg);
    let out = dir.path().join("out");
    let mut job = spawn_replay(&cfg, &input, &out, &["--epoch-seconds", "60", "-w", "2"]);
    wait_until("the first rows in ClickHouse", Duration::from_secs(120), || {
        server.try_query("SELECT count() FROM bp_outage.brand_metrics_minute").map(|s| s.trim() != "0").unwrap_or(false)
    });
    server.stop();
    assert!(job.try_wait().is_none(), "the job finished before the outage");
    // While the server is down the job retries and its workers wait on the full queue.
    wait_until("the job to retry", Duration::from_secs(60), || job.log().matches("retrying").count() >= 6);
    let hwm_during = vm_hwm_kib(job.id()).unwrap_or(0);
    assert!(job.try_wait().is_none(), "the job finished while ClickHouse was down");
    server.start_again();
    let status = job.wait_exit(Duration::from_secs(600));
    let stderr = job.log();
    assert!(status.success(), "job failed after the outage: {stderr}");
    let line =
        stderr.lines().find(|l| l.starts_with("clickhouse: ")).unwrap_or_else(|| panic!("no sink summary: {stderr}"));
    eprintln!("{line}; peak RSS during the outage {} MiB", hwm_during / 1024);
    let field = |after: &str| -> u64 {
        let at = line.find(after).unwrap_or_else(|| panic!("{after:?} not in {line}")) + after.len();
        line[at..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    };
    let retries = field("batches, ");
    let max_pending = field("max ");
    assert!(retries > 0, "{line}");
    assert!(line.contains("waits on a full queue") && field("retries, ") > 0, "the workers never waited: {line}");
    assert!(max_pending as usize <= queue + 1 + workers, "queue bound exceeded: {line}");
    assert!(hwm_during < 400 * 1024, "peak RSS {} MiB during the outage", hwm_during / 1024);
    // Nothing lost: ClickHouse's current rows equal the run's own final Parquet rows.
    let mut diffs = Vec::new();
    for spec in [&BRAND_METRICS, &AD_METRICS, &CARE_CASES, &ALERTS] {
        let parquet = read_table(&out, spec);
        diffs.extend(parquet.problems.clone());
        let exp = floor_times(spec, &parquet.rows);
        let act = fetch(&server, "bp_outage", &format!("{}_current", spec.name), spec);
        let mut d = compare_rows(spec, &exp, &act);
        d.retain(|d| !d.contains("detected_at"));
        diffs.extend(d);
    }
    diffs.truncate(40);
    assert_no_diffs("ClickHouse after an outage vs the run's Parquet rows", &diffs);
}

/// The SQL blocks of the analyst guide.
fn guide_queries() -> Vec<String> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/clickhouse/README.md")).unwrap();
    text.split("```sql\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().trim().trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn guide_queries_run_on_the_test_server() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = server.config_file(dir.path(), "bp_guide", "");
    migrate(&cfg);
    let out = dir.path().join("out");
    let input = golden_input().display().to_string();
    run_ok(&[
        "--config",
        &cfg.display().to_string(),
        "replay",
        "--input",
        &input,
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    let queries = guide_queries();
    assert!(queries.len() >= 5, "{queries:?}");
    for (i, q) in queries.iter().enumerate() {
        let rows = server.rows_in("bp_guide", q);
        assert!(i == 5 || !rows.is_empty(), "guide query {i} returned no rows:\n{q}");
    }
    // The crisis timeline shows the opening minute of each of the three crises.
    let timeline = server.rows_in("bp_guide", &queries[1]);
    let openings: Vec<&str> =
        timeline.iter().filter(|r| r["opening_minute"] == 1).map(|r| r["alert_id"].as_str().unwrap()).collect();
    assert_eq!(openings, ["crisis-ad-a1-20261124T1011", "crisis-ad-a2-20261124T1031", "crisis-ad-g1-20261124T1038"]);
}

/// Current ClickHouse (chdb, in process): the same DDL, views and guide queries over the golden
/// scenario's Parquet output give the hand-computed values.
#[test]
fn current_clickhouse_via_chdb_runs_ddl_views_and_guide_queries() {
    let ok = Command::new("python3").args(["-c", "import chdb"]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok, "python3 with chdb is missing: run `python3 -m pip install chdb` (scripts/test.sh does this)");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = golden_input();
    let english_only = tests_dir().join("golden").join("english_only.toml");
    let english_only = english_only.to_str().expect("UTF-8 path");
    run_replay(&input, &out, &["--config", english_only, "--epoch-seconds", "60", "-w", "2", "--quiet"]);
    let results = dir.path().join("results");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/clickhouse_chdb.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(root.join("../deploy/clickhouse/migrations/0001_tables_and_views.sql"))
        .arg(root.join("../deploy/clickhouse/README.md"))
        .arg(&out)
        .arg(&input)
        .arg(&results)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "chdb script failed:\n{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    eprintln!("{stdout}");
    assert!(stdout.contains(&format!("{} guide queries ok", guide_queries().len())), "{stdout}");
    let read = |view: &str, spec: &TableSpec| -> Vec<Row> {
        let text = std::fs::read_to_string(results.join(format!("{view}.jsonl"))).unwrap_or_default();
        let rows = text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| match serde_json::from_str(l).unwrap() {
                Value::Object(m) => m,
                other => panic!("{other}"),
            })
            .collect();
        normalize(spec, rows)
    };
    assert_no_diffs("golden scenario on current ClickHouse (chdb)", &golden_diffs_of(read));
}

#[test]
fn run_over_kafka_writes_the_hand_computed_views() {
    let server = Server::start();
    let broker = kafka_support::Broker::start();
    for t in [
        "brands",
        "ads",
        "mentions",
        "ad_comments",
        "care_events",
        "brandpulse.dlq",
        "brandpulse.alerts",
        "brandpulse.control",
    ] {
        broker.create_topic(t, 1);
    }
    for t in ["brands", "ads", "mentions", "ad_comments", "care_events"] {
        let bytes = std::fs::read(golden_input().join(format!("{t}.ndjson"))).expect("golden input");
        let msgs: Vec<(i32, Option<String>, Vec<u8>)> =
            split_lines(&bytes).into_iter().map(|l| (0, None, raw_of(l).to_vec())).collect();
        broker.produce(t, &msgs);
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = server.config_file(dir.path(), "bp_run", "batch_rows = 7\nbatch_ms = 20");
    migrate(&cfg);
    let out = dir.path().join("out");
    let mut env = kafka_support::job_env(&broker, &dir.path().join("state"), &out);
    env.push((ENGLISH_ONLY.0.into(), ENGLISH_ONLY.1.into())); // the hand-computed views score English only
    let cfg_s = cfg.display().to_string();
    let log = kafka_support::run_bin(
        &["--config", &cfg_s, "run", "--stop-at-end", "--start", "earliest", "-w", "2"],
        &env,
        &dir.path().join("log"),
    );
    assert!(log.contains("clickhouse: "), "the sink's summary line in:\n{log}");
    // Kafka offsets count from 0, the expectations number file lines from 1.
    let diffs = golden_diffs_of(|view, spec| {
        let mut rows = fetch(&server, "bp_run", view, spec);
        if spec.name == DEAD_LETTER.name {
            for r in &mut rows {
                let o = r["offset"].as_i64().or_else(|| r["offset"].as_str().and_then(|s| s.parse().ok()));
                r.insert("offset".into(), Value::from(o.expect("an offset") + 1));
            }
        }
        rows
    });
    assert_no_diffs("golden scenario through run (Kafka) into ClickHouse", &diffs);
}
