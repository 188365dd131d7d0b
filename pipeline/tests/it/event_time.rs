//! The jump rule (SPEC §3 "no record can make other records late", `docs/semantics.md` "Time"),
//! tested both ways on the real binary: records far ahead of their partition but inside the valid
//! range make no other record late and leave every other window as a run without them; a
//! partition that resumes after a genuine gap of two days is read in full.
//!
//! Expected values come from the input itself (how many records were written into which
//! minute), and from a second run over the same input without the records far ahead.

use crate::support::common::*;
use std::path::Path;

/// 2026-11-24T08:00:00Z.
const T0: i64 = 1_795_507_200_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// 2099-06-01T00:00:00Z: inside the valid range, 73 years ahead.
const FAR: i64 = 4_083_955_200_000;

fn mention(id: &str, ts: i64) -> String {
    format!(
        "{{\"event_id\":\"{id}\",\"ts\":\"{}\",\"brand_id\":\"acme\",\"platform\":\"x\",\"author_id\":\"u-{id}\",\"text\":\"great service\",\"lang\":\"en\"}}\n",
        ms_rfc3339(ts)
    )
}

/// 7,200 in-order mentions, one a second from 08:00.
fn in_order() -> Vec<String> {
    (0..7_200).map(|i| mention(&format!("m{i}"), T0 + i * 1_000)).collect()
}

fn replay(lines: &[String], out: &Path) {
    let input = tempfile::tempdir().expect("temp dir");
    std::fs::write(input.path().join("mentions.ndjson"), lines.concat()).unwrap();
    run_replay(input.path(), out, &["--quiet"]);
}

fn window(row: &Row) -> i64 {
    row["window_start"].as_i64().expect("window_start")
}

/// Mentions per minute window.
fn per_minute(rows: &[Row]) -> std::collections::BTreeMap<i64, u64> {
    rows.iter().map(|r| (window(r), r["mentions"].as_u64().expect("mentions"))).collect()
}

#[test]
fn records_far_ahead_within_the_valid_range_make_no_record_late() {
    let base = in_order();
    let without = tempfile::tempdir().unwrap();
    replay(&base, without.path());
    let expected = read_table(without.path(), &BRAND_METRICS).rows;
    assert_eq!(sum_u64(&expected, "mentions"), 7_200, "the run without outliers counts every mention");

    // (name, the input, how many mentions it holds far ahead)
    let one_in_the_middle = {
        let mut l = base.clone();
        l.insert(3_600, mention("far-1", FAR));
        l
    };
    let five_in_a_row = {
        let mut l = base.clone();
        for i in 0..5 {
            l.insert(3_600 + i, mention(&format!("far-{i}"), FAR + i as i64 * 1_000));
        }
        l
    };
    let sprinkled = {
        // Twenty records far ahead, every 300th line: never eight in a row.
        let mut l = base.clone();
        for i in (0..20).rev() {
            l.insert(300 * (i + 1), mention(&format!("far-{i}"), FAR + i as i64 * 1_000));
        }
        l
    };
    let first_line = {
        let mut l = base.clone();
        l.insert(0, mention("far-first", FAR));
        l
    };
    let mut problems = Vec::new();
    for (name, lines, far) in [
        ("one in the middle", one_in_the_middle, 1u64),
        ("five in a row", five_in_a_row, 5),
        ("twenty sprinkled", sprinkled, 20),
        ("the first line", first_line, 1),
    ] {
        let out = tempfile::tempdir().unwrap();
        replay(&lines, out.path());
        let rows = read_table(out.path(), &BRAND_METRICS).rows;
        let (ahead, rest): (Vec<Row>, Vec<Row>) = rows.into_iter().partition(|r| window(r) >= FAR);
        problems.extend(compare_rows(&BRAND_METRICS, &expected, &rest).into_iter().map(|d| format!("{name}: {d}")));
        if sum_u64(&ahead, "mentions") != far {
            problems.push(format!(
                "{name}: the records far ahead count {} mentions, want {far}",
                sum_u64(&ahead, "mentions")
            ));
        }
        let dead = read_table(out.path(), &DEAD_LETTER).rows;
        if !dead.is_empty() {
            problems.push(format!("{name}: {} dead letters, want none: {:?}", dead.len(), dead.first()));
        }
    }
    assert_no_diffs("records far ahead vs the run without them", &problems);
}

#[test]
fn a_partition_that_resumes_after_two_days_is_read_in_full() {
    // 300 mentions a minute apart, two days of silence, 300 more; then one record from before
    // the gap, which the resumed partition's M_p makes late (lateness 1 h).
    let mut lines: Vec<String> = (0..300).map(|i| mention(&format!("a{i}"), T0 + i * MIN)).collect();
    let resume = T0 + 300 * MIN + 2 * DAY;
    lines.extend((0..300).map(|i| mention(&format!("b{i}"), resume + i * MIN)));
    lines.push(mention("old", T0 + 299 * MIN));
    let out = tempfile::tempdir().unwrap();
    replay(&lines, out.path());

    let rows = read_table(out.path(), &BRAND_METRICS).rows;
    let minutes = per_minute(&rows);
    let want: std::collections::BTreeMap<i64, u64> =
        (0..300).map(|i| (T0 + i * MIN, 1)).chain((0..300).map(|i| (resume + i * MIN, 1))).collect();
    assert_eq!(minutes, want, "every minute before and after the gap holds its one mention");
    let dead = read_table(out.path(), &DEAD_LETTER).rows;
    let reasons: Vec<(&str, i64)> =
        dead.iter().map(|r| (r["reason"].as_str().unwrap(), r["offset"].as_i64().unwrap())).collect();
    assert_eq!(reasons, vec![("late", 601)], "only the record from before the gap is late (line 601)");
}

#[test]
fn an_ad_row_far_ahead_within_the_valid_range_holds_no_ad_back() {
    // Fifty ads from 09:59, one of them dated 2099 on line 2; ten comments on each good ad, one
    // every 18 minutes from 10:00 to 12:42 (well past the 1 h lateness, so that a comment whose ad
    // was held back would expire). Every comment finds its ad: ten ad_metrics_minute rows per
    // good ad, one comment each, no dead letter.
    let mut ads = String::new();
    let mut comments = String::new();
    let at_ten = T0 + 2 * 3_600_000;
    for i in 0..50i64 {
        let ts = if i == 1 { FAR } else { at_ten - MIN + i * 1_000 };
        ads.push_str(&format!(
            "{{\"ad_id\":\"ad-{i}\",\"brand_id\":\"acme\",\"campaign_id\":\"c-1\",\"platform\":\"facebook\",\"account_id\":\"acme-fb\",\"spend_per_hour\":10.0,\"ts\":\"{}\"}}\n",
            ms_rfc3339(ts)
        ));
    }
    for k in 0..10i64 {
        for i in (0..50i64).filter(|&i| i != 1) {
            comments.push_str(&format!(
                "{{\"event_id\":\"c-{i}-{k}\",\"ts\":\"{}\",\"ad_id\":\"ad-{i}\",\"platform\":\"facebook\",\"author_id\":\"v-{i}\",\"text\":\"hello\",\"lang\":\"en\",\"sentiment\":0.5}}\n",
                ms_rfc3339(at_ten + k * 18 * MIN + i * 1_000)
            ));
        }
    }
    let input = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("ads.ndjson"), ads).unwrap();
    std::fs::write(input.path().join("ad_comments.ndjson"), comments).unwrap();
    let out = tempfile::tempdir().unwrap();
    run_replay(input.path(), out.path(), &["--quiet"]);
    let dead = read_table(out.path(), &DEAD_LETTER).rows;
    assert!(dead.is_empty(), "no dead letter, got {} (first {:?})", dead.len(), dead.first());
    let rows = read_table(out.path(), &AD_METRICS).rows;
    assert_eq!(rows.len(), 490, "ten minutes with a comment for each of 49 good ads");
    assert_eq!(sum_u64(&rows, "comments"), 490);
}
