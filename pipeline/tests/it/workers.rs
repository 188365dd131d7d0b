//! `replay -w 2` writes the same rows as `replay -w 1`, on a realistic generated stream (several
//! brands and languages, duplicates, bad lines, care cases, the planted crisis), and the rows do
//! not depend on the epoch width either.

use crate::support::common::*;
use crate::support::launch::{Launch, TIMEOUT};

fn generate(dir: &std::path::Path, events: u64) {
    let dir = dir.display().to_string();
    let events = events.to_string();
    Launch::new(["generate", "--out", &dir, "--events", &events, "--hours", "3", "--seed", "7"]).run_ok(TIMEOUT);
}

#[test]
fn one_and_two_workers_and_any_epoch_width_write_the_same_rows() {
    let input = tempfile::tempdir().unwrap();
    generate(input.path(), 60_000);
    let runs: [(&str, &[&str]); 3] = [
        ("1 worker", &["-w", "1", "--quiet"]),
        ("2 workers", &["-w", "2", "--quiet"]),
        ("2 workers, 7 s epochs", &["-w", "2", "--quiet", "--epoch-seconds", "7"]),
    ];
    let mut outputs = Vec::new();
    for (name, flags) in runs {
        let out = tempfile::tempdir().unwrap();
        run_replay(input.path(), out.path(), flags);
        outputs.push((name, out));
    }
    let (base_name, base) = &outputs[0];
    for spec in ALL_TABLES {
        let expected = read_table(base.path(), spec);
        assert!(expected.problems.is_empty(), "{base_name}: {:?}", expected.problems);
        assert!(!expected.rows.is_empty() || spec.name == "alerts", "{base_name}: no {} rows", spec.name);
        for (name, out) in &outputs[1..] {
            let actual = read_table(out.path(), spec);
            assert!(actual.problems.is_empty(), "{name}: {:?}", actual.problems);
            let diffs = compare_rows(spec, &expected.rows, &actual.rows);
            assert_no_diffs(&format!("{} vs {base_name}, table {}", name, spec.name), &diffs);
        }
    }
    // The planted crisis is there.
    let alerts = read_table(base.path(), &ALERTS);
    assert_eq!(alerts.rows.len(), 1, "exactly the planted crisis: {:?}", alerts.rows);
}
