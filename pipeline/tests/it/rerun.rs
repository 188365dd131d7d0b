//! Re-runs into an output directory (SPEC §9, issue row 7): a replay into a directory that
//! already holds rows is refused with a clear error and leaves the rows as they were; with
//! `--replace` the directory ends up holding exactly one run's rows, whatever the worker count
//! of either run; dead letters land in the same date partitions on every run.

use crate::support::common::*;
use std::collections::BTreeSet;

/// Every row of every table, canonical (sorted JSON lines per table); wall-clock columns dropped.
fn tables(out: &std::path::Path) -> Vec<(String, Vec<String>)> {
    ALL_TABLES
        .iter()
        .map(|spec| {
            let mut rows: Vec<String> = read_table(out, spec)
                .rows
                .into_iter()
                .map(|mut r| {
                    r.remove("recorded_at");
                    r.remove("detected_at");
                    serde_json::to_string(&r).unwrap()
                })
                .collect();
            rows.sort();
            (spec.name.to_string(), rows)
        })
        .collect()
}

/// The `date=` directories of the dead-letter table.
fn dead_letter_dates(out: &std::path::Path) -> BTreeSet<String> {
    std::fs::read_dir(out.join("dead_letter"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default()
}

#[test]
fn a_rerun_into_a_directory_with_rows_is_refused_or_replaces_them() {
    let input = tests_dir().join("golden").join("input");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    run_replay(&input, &out, &["--quiet", "-w", "2"]);
    let first = tables(&out);
    let mentions: u64 = sum_u64(&read_table(&out, &BRAND_METRICS).rows, "mentions");
    assert!(mentions > 0, "the golden scenario counts mentions");

    // Again, one worker, same directory: refused, with the way out named; rows untouched.
    let err = try_run_replay(&input, &out, &["--quiet", "-w", "1"]).expect_err("a re-run into rows is refused");
    assert!(err.contains("already holds rows") && err.contains("--replace"), "{err}");
    assert_eq!(tables(&out), first, "the refused run wrote nothing");

    // With --replace: exactly one run's rows, not two.
    run_replay(&input, &out, &["--quiet", "-w", "1", "--replace"]);
    assert_eq!(tables(&out), first, "replaced: the same rows as one run");
    assert_eq!(sum_u64(&read_table(&out, &BRAND_METRICS).rows, "mentions"), mentions);
    let names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "no staging left behind: {names:?}");

    // Dead letters are partitioned by their record's event time (or 1970-01-01 without one), not
    // by the wall clock: the golden dead letters are all from 2026-11-24 or have no usable ts.
    let dates = dead_letter_dates(&out);
    assert!(!dates.is_empty(), "the golden scenario has dead letters");
    assert!(
        dates.iter().all(|d| d == "date=2026-11-24" || d == "date=1970-01-01"),
        "dead-letter partitions: {dates:?}"
    );
}
