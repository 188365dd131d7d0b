//! Bad-input corpus: each `tests/bad_input/<topic>__<case>.ndjson` holds good records around
//! exactly one bad line. `expected.tsv` (`file TAB line TAB reason TAB good_rows`) says which line
//! is bad, the dead-letter reason it must get, and how many good records the file holds.
//!
//! Every file is replayed on its own (as `<topic>.ndjson` in a temp input dir): the job must exit 0,
//! write exactly one dead-letter row (that topic, that line, that reason, the line's raw bytes), and
//! count every good record.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use crate::support::common::*;
use serde_json::Value;

const TOPICS: [&str; 5] = ["mentions", "ad_comments", "care_events", "brands", "ads"];

#[derive(Debug, Clone)]
struct Case {
    file: String,
    topic: String,
    line: usize,
    reason: String,
    good_rows: u64,
}

fn corpus_dir() -> PathBuf {
    tests_dir().join("bad_input")
}

fn load_expectations() -> BTreeMap<String, Case> {
    let path = corpus_dir().join("expected.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut cases = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || (i == 0 && trimmed.starts_with("file\t")) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 4, "expected.tsv line {}: want 4 tab-separated fields: {line:?}", i + 1);
        let file = fields[0].to_string();
        let topic = file
            .split_once("__")
            .map(|(t, _)| t.to_string())
            .unwrap_or_else(|| panic!("expected.tsv line {}: {file} is not named <topic>__<case>.ndjson", i + 1));
        assert!(TOPICS.contains(&topic.as_str()), "expected.tsv line {}: unknown topic {topic:?}", i + 1);
        let case = Case {
            topic,
            line: fields[1].parse().unwrap_or_else(|_| panic!("expected.tsv line {}: bad line number", i + 1)),
            reason: fields[2].to_string(),
            good_rows: fields[3].parse().unwrap_or_else(|_| panic!("expected.tsv line {}: bad good_rows", i + 1)),
            file: file.clone(),
        };
        assert!(cases.insert(file.clone(), case).is_none(), "expected.tsv: {file} listed twice");
    }
    cases
}

fn corpus_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("read tests/bad_input")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ndjson") || n.ends_with(".ndjson.gz"))
        .collect();
    files.sort();
    files
}

/// Guard: every corpus file has exactly one expectation line and vice versa, and each expectation
/// is consistent with its file (the bad line exists, and every other line is one good record).
#[test]
fn every_corpus_file_has_an_expectation() {
    let cases = load_expectations();
    let files = corpus_files();
    let mut problems = Vec::new();
    for f in &files {
        if !cases.contains_key(f) {
            problems.push(format!("corpus file {f} has no line in expected.tsv"));
        }
    }
    for (f, case) in &cases {
        if !files.contains(f) {
            problems.push(format!("expected.tsv names {f}, which is not in tests/bad_input/"));
            continue;
        }
        if !f.ends_with(".ndjson") {
            problems.push(format!("{f}: corpus files are plain .ndjson"));
            continue;
        }
        let bytes = std::fs::read(corpus_dir().join(f)).unwrap();
        let lines = split_lines(&bytes);
        if case.line == 0 || case.line > lines.len() {
            problems.push(format!("{f}: bad line {} outside the file's {} lines", case.line, lines.len()));
        }
        // SPEC §3 names the first and the last record of a partition (an absurd `ts` there):
        // cases named `*_first` / `*_last` put the bad line there, with good lines on the other side.
        let stem = f.trim_end_matches(".ndjson");
        let (first_ok, last_ok) = (stem.ends_with("_first"), stem.ends_with("_last"));
        if (case.line == 1 && !first_ok) || (case.line == lines.len() && !last_ok) {
            problems.push(format!("{f}: the bad line must have good lines before and after it"));
        }
        if (first_ok && case.line != 1) || (last_ok && case.line != lines.len()) || lines.len() < 2 {
            problems.push(format!("{f}: a *_first / *_last case has its bad line first / last, and good lines"));
        }
        if lines.len() as u64 - 1 != case.good_rows {
            problems.push(format!(
                "{f}: {} lines, so {} good rows around the one bad line, but expected.tsv says {}",
                lines.len(),
                lines.len() - 1,
                case.good_rows
            ));
        }
        for (i, l) in lines.iter().enumerate() {
            if i + 1 != case.line && serde_json::from_slice::<serde_json::Map<String, Value>>(l).is_err() {
                problems.push(format!("{f}: line {} should be a good record but is not a JSON object", i + 1));
            }
        }
    }
    assert_no_diffs("bad-input corpus vs expected.tsv", &problems);
}

fn field<'a>(row: &'a Row, name: &str) -> &'a Value {
    row.get(name).unwrap_or(&Value::Null)
}

/// A temp input dir holding `bytes` as `<topic>.ndjson`, plus what the topic needs, made from
/// the corpus file `corpus` (the ad of the comments; a comment per good ad of the corpus file).
fn input_for(case: &Case, bytes: &[u8], corpus: &[u8]) -> tempfile::TempDir {
    let lines = split_lines(corpus);
    let input = tempfile::tempdir().expect("temp dir");
    std::fs::write(input.path().join(format!("{}.ndjson", case.topic)), bytes).unwrap();

    match case.topic.as_str() {
        // Ad comments need their ad: every corpus ad comment is on ad-1.
        "ad_comments" => {
            std::fs::write(
                input.path().join("ads.ndjson"),
                "{\"ad_id\":\"ad-1\",\"brand_id\":\"acme\",\"campaign_id\":\"c-1\",\"platform\":\"facebook\",\"account_id\":\"acme-fb\",\"spend_per_hour\":10.0}\n",
            )
            .unwrap();
        }
        // Each good ad gets one comment, so that a lost ad row shows as an unknown_ad_expired
        // dead letter and a missing ad_metrics_minute row.
        "ads" => {
            let mut comments = String::new();
            for (i, l) in lines.iter().enumerate() {
                if i + 1 == case.line {
                    continue;
                }
                let ad: Value = serde_json::from_slice(l).expect("good ad line");
                let ad_id = ad["ad_id"].as_str().expect("good ad line has ad_id");
                comments.push_str(&format!(
                    "{{\"event_id\":\"c-{i}\",\"ts\":\"2026-11-24T10:00:{:02}Z\",\"ad_id\":\"{ad_id}\",\"platform\":\"facebook\",\"author_id\":\"v-{i}\",\"text\":\"hello\",\"lang\":\"en\",\"sentiment\":0.5}}\n",
                    i + 1
                ));
            }
            std::fs::write(input.path().join("ad_comments.ndjson"), comments).unwrap();
        }
        _ => {}
    }
    input
}

/// Replays one corpus file; returns the problems found.
fn check_case(case: &Case) -> Vec<String> {
    let mut problems = Vec::new();
    let label = &case.file;
    let bytes = std::fs::read(corpus_dir().join(&case.file)).unwrap();
    let lines = split_lines(&bytes);
    let input = input_for(case, &bytes, &bytes);

    let out = tempfile::tempdir().expect("temp dir");
    if let Err(e) = try_run_replay(input.path(), out.path(), &[]) {
        return vec![format!("{label}: {e}")];
    }

    let dl = read_table(out.path(), &DEAD_LETTER);
    problems.extend(dl.problems.iter().map(|p| format!("{label}: {p}")));
    if dl.rows.len() != 1 {
        let rows: Vec<String> = dl
            .rows
            .iter()
            .map(|r| {
                format!("(topic={} offset={} reason={})", field(r, "topic"), field(r, "offset"), field(r, "reason"))
            })
            .collect();
        problems.push(format!(
            "{label}: expected exactly 1 dead-letter row, got {}: {}",
            dl.rows.len(),
            rows.join(", ")
        ));
    }
    if let Some(row) = dl.rows.iter().find(|r| r.get("offset").and_then(Value::as_u64) == Some(case.line as u64)) {
        if row.get("topic").and_then(Value::as_str) != Some(case.topic.as_str()) {
            problems.push(format!("{label}: dead-letter topic {} (expected {})", field(row, "topic"), case.topic));
        }
        if row.get("reason").and_then(Value::as_str) != Some(case.reason.as_str()) {
            problems.push(format!(
                "{label}: line {}: reason {} (expected {:?}); detail: {}",
                case.line,
                row.get("reason").unwrap_or(&Value::Null),
                case.reason,
                row.get("detail").unwrap_or(&Value::Null)
            ));
        }
        let want_raw = bytes_value(raw_of(lines[case.line - 1]));
        if row.get("raw") != Some(&want_raw) {
            let shown = |v: Option<&Value>| {
                let s = v.map(|v| v.to_string()).unwrap_or_else(|| "absent".into());
                let n = s.chars().count();
                if n > 200 {
                    format!("{}… ({n} chars)", s.chars().take(200).collect::<String>())
                } else {
                    s
                }
            };
            problems.push(format!(
                "{label}: raw is {} but should be the line's bytes {}",
                shown(row.get("raw")),
                shown(Some(&want_raw))
            ));
        }
        let source = row.get("source").and_then(Value::as_str).unwrap_or("");
        if !source.ends_with(&format!("{}.ndjson", case.topic)) {
            problems.push(format!("{label}: dead-letter source {source:?} does not name {}.ndjson", case.topic));
        }
    } else {
        problems.push(format!("{label}: no dead-letter row for line {} (reason {})", case.line, case.reason));
    }

    // The good records all count.
    let counted = match case.topic.as_str() {
        "mentions" => Some((
            "sum of brand_metrics_minute.mentions",
            sum_u64(&read_table(out.path(), &BRAND_METRICS).rows, "mentions"),
        )),
        "ad_comments" | "ads" => {
            Some(("sum of ad_metrics_minute.comments", sum_u64(&read_table(out.path(), &AD_METRICS).rows, "comments")))
        }
        "care_events" => Some(("care_cases rows", read_table(out.path(), &CARE_CASES).rows.len() as u64)),
        _ => None, // brands: exit 0 and the single dead-letter row are the checks
    };
    if let Some((what, n)) = counted {
        if n != case.good_rows {
            problems.push(format!("{label}: {what} = {n}, expected {} (the good records)", case.good_rows));
        }
    }
    problems
}

#[test]
fn bad_input_corpus_is_dead_lettered_and_good_records_count() {
    let cases: Vec<Case> = load_expectations().into_values().collect();
    assert!(!cases.is_empty(), "no bad-input cases");
    let queue = Mutex::new(cases.into_iter());
    let problems = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 2);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let next = queue.lock().unwrap().next();
                let Some(case) = next else { break };
                let found = check_case(&case);
                problems.lock().unwrap().extend(found);
            });
        }
    });
    let mut problems = problems.into_inner().unwrap();
    problems.sort();
    assert_no_diffs("bad-input corpus", &problems);
}

/// Hostile timestamps (far future, i64::MIN / i64::MAX first, 1e16 ms last; a far-future ads
/// row): besides their own dead-letter row they change nothing. Every metric table equals that
/// of the same file without the hostile line.
#[test]
fn hostile_timestamps_leave_the_metrics_of_a_run_without_them() {
    let cases = load_expectations();
    let hostile = [
        "mentions__ts_year_2999.ndjson",
        "mentions__ts_9e15_ms.ndjson",
        "mentions__ts_i64_min_first.ndjson",
        "mentions__ts_i64_max_first.ndjson",
        "mentions__ts_1e16_ms_last.ndjson",
        "ads__ts_far_future.ndjson",
    ];
    let mut problems = Vec::new();
    for file in hostile {
        let case = cases.get(file).unwrap_or_else(|| panic!("{file} has no line in expected.tsv"));
        let bytes = std::fs::read(corpus_dir().join(file)).unwrap();
        let without: Vec<u8> = split_lines(&bytes)
            .iter()
            .enumerate()
            .filter(|(i, _)| i + 1 != case.line)
            .flat_map(|(_, l)| l.iter().copied().chain([b'\n']))
            .collect();
        let (with_out, without_out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        run_replay(input_for(case, &bytes, &bytes).path(), with_out.path(), &["--quiet"]);
        // The comments of the ads case are made from the corpus file's good ads: both runs get the same.
        run_replay(input_for(case, &without, &bytes).path(), without_out.path(), &["--quiet"]);
        for spec in [&BRAND_METRICS, &AD_METRICS, &CARE_CASES, &ALERTS] {
            let (a, b) = (read_table(with_out.path(), spec), read_table(without_out.path(), spec));
            problems.extend(a.problems.iter().map(|p| format!("{file}: {p}")));
            problems.extend(
                compare_rows(spec, &b.rows, &a.rows).into_iter().map(|d| format!("{file}: {}: {d}", spec.name)),
            );
        }
        let n = sum_u64(&read_table(with_out.path(), &BRAND_METRICS).rows, "mentions")
            + sum_u64(&read_table(with_out.path(), &AD_METRICS).rows, "comments");
        if n == 0 {
            problems.push(format!("{file}: nothing was counted at all"));
        }
    }
    assert_no_diffs("hostile timestamps vs runs without them", &problems);
}
