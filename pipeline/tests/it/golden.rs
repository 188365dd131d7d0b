//! Golden scenario: `tests/golden/input/*.ndjson` replayed by the real binary must produce exactly
//! the rows of `tests/golden/expected/<table>.json` (hand-computed; see tests/golden/README.md).
//!
//! The scenario is built so that the result does not depend on `--epoch-seconds` or the number of
//! workers, so the same expectations are checked for four configurations (plus gzip input).

use std::path::{Path, PathBuf};

use crate::support::common::*;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    tests_dir().join("golden")
}

const TOPICS: [&str; 5] = ["brands", "ads", "mentions", "ad_comments", "care_events"];

/// Runs replay over `input` with `extra` flags and compares every table with the expectations.
fn check_scenario(input: &Path, extra: &[&str], label: &str) {
    let out = tempfile::tempdir().expect("temp dir");
    let config = golden_dir().join("english_only.toml");
    let mut flags = vec!["--config", config.to_str().expect("UTF-8 path")];
    flags.extend_from_slice(extra);
    run_replay(input, out.path(), &flags);
    let diffs = compare_output(out.path());
    assert_no_diffs(&format!("golden scenario [{label}] (flags {extra:?})"), &diffs);
}

/// Differences between the Parquet output under `out` and `tests/golden/expected/`.
fn compare_output(out: &Path) -> Vec<String> {
    let mut diffs = Vec::new();
    for spec in ALL_TABLES {
        let data = read_table(out, spec);
        diffs.extend(data.problems.iter().cloned());
        let expected =
            normalize_expected(spec, load_expected(&golden_dir().join("expected").join(format!("{}.json", spec.name))));
        if spec.name == DEAD_LETTER.name {
            diffs.extend(check_dead_letter_extras(&data.rows));
        }
        diffs.extend(compare_rows(spec, &expected, &data.rows));
    }
    diffs
}

/// Dead-letter columns that are not compared with the expected file: `source` must name the input
/// file of the row's topic; wall-clock `recorded_at` and `detail` must be present.
fn check_dead_letter_extras(rows: &[Row]) -> Vec<String> {
    let mut diffs = Vec::new();
    for row in rows {
        let topic = row.get("topic").and_then(Value::as_str).unwrap_or("?");
        let offset = row.get("offset").cloned().unwrap_or(Value::Null);
        let source = row.get("source").and_then(Value::as_str).unwrap_or("");
        let plain = format!("{topic}.ndjson");
        let gz = format!("{topic}.ndjson.gz");
        if !(source.ends_with(&plain) || source.ends_with(&gz)) {
            diffs.push(format!(
                "dead_letter row {{topic={topic}, offset={offset}}}: source {source:?} does not name the file {plain}[.gz]"
            ));
        }
    }
    diffs
}

#[test]
fn golden_expected_files_are_well_formed() {
    // Guards the hand-written expectations themselves: every column present, keys unique,
    // timestamps parse, every dead-letter raw value is the named input line.
    for spec in ALL_TABLES {
        let path = golden_dir().join("expected").join(format!("{}.json", spec.name));
        let rows = normalize_expected(spec, load_expected(&path));
        let mut diffs = compare_rows(spec, &rows, &rows);
        diffs.retain(|d| !d.contains("null but the contract"));
        assert_no_diffs(&format!("{} compared with itself", spec.name), &diffs);
        if spec.name == DEAD_LETTER.name {
            for row in &rows {
                let topic = row["topic"].as_str().unwrap();
                let line = row["offset"].as_u64().unwrap() as usize;
                let bytes = std::fs::read(golden_dir().join("input").join(format!("{topic}.ndjson"))).unwrap();
                let lines = split_lines(&bytes);
                assert_eq!(
                    row["raw"],
                    bytes_value(raw_of(lines[line - 1])),
                    "dead_letter.json: raw of {topic} line {line} is not that input line"
                );
            }
        }
    }
}

#[test]
fn golden_epoch1s_workers1() {
    check_scenario(&golden_dir().join("input"), &["--epoch-seconds", "1", "-w", "1"], "epoch 1 s, 1 worker");
}

#[test]
fn golden_epoch1s_workers2() {
    check_scenario(&golden_dir().join("input"), &["--epoch-seconds", "1", "-w", "2"], "epoch 1 s, 2 workers");
}

#[test]
fn golden_epoch1h_workers1() {
    check_scenario(&golden_dir().join("input"), &["--epoch-seconds", "3600", "-w", "1"], "epoch 1 h, 1 worker");
}

#[test]
fn golden_epoch1h_workers2() {
    check_scenario(&golden_dir().join("input"), &["--epoch-seconds", "3600", "-w", "2"], "epoch 1 h, 2 workers");
}

/// The same scenario with the fact files gzip-compressed (`<topic>.ndjson.gz`).
#[test]
fn golden_gzip_input() {
    use std::io::Write;
    let input = tempfile::tempdir().expect("temp dir");
    for topic in TOPICS {
        let bytes = std::fs::read(golden_dir().join("input").join(format!("{topic}.ndjson"))).unwrap();
        if matches!(topic, "mentions" | "ad_comments" | "care_events") {
            let file = std::fs::File::create(input.path().join(format!("{topic}.ndjson.gz"))).unwrap();
            let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
            enc.write_all(&bytes).unwrap();
            enc.finish().unwrap();
        } else {
            std::fs::write(input.path().join(format!("{topic}.ndjson")), bytes).unwrap();
        }
    }
    check_scenario(input.path(), &["--epoch-seconds", "60", "-w", "2"], "gzip fact files, epoch 60 s, 2 workers");
}
