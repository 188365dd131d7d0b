//! `brandpulse run` against a real Kafka-protocol broker (tansu, started by the test).
//!
//! - the golden scenario on single-partition topics gives the hand-computed rows of
//!   `tests/golden/expected/` (the same expectations as the replay golden test);
//! - on multi-partition topics, `run -w 2` writes the same rows as `replay -w 2` over the same
//!   partitions written as `<topic>.<n>.ndjson` files;
//! - malformed records land in the dead-letter topic with partition and offset, and the records
//!   after them are all counted;
//! - a job killed with SIGKILL and restarted from its checkpoint skips nothing and counts
//!   nothing twice (duplicates across the restart included).

use crate::support::common::*;
use crate::support::kafka::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const TOPICS: [&str; 5] = ["brands", "ads", "mentions", "ad_comments", "care_events"];

fn golden_input() -> PathBuf {
    tests_dir().join("golden").join("input")
}

fn lines(topic: &str) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(golden_input().join(format!("{topic}.ndjson"))).expect("golden input");
    split_lines(&bytes).into_iter().map(|l| raw_of(l).to_vec()).collect()
}

/// Partition of a line: by its key field (`brand_id`, `ad_id`, `case_id`, `event_id`), FNV-1a
/// hashed; lines without a key go to partition 0.
fn partition_of(topic: &str, line: &[u8], partitions: i32) -> i32 {
    let field = match topic {
        "brands" => "brand_id",
        "ads" => "ad_id",
        "care_events" => "case_id",
        _ => "event_id",
    };
    let key = serde_json::from_slice::<Value>(line)
        .ok()
        .and_then(|v| v.get(field).and_then(Value::as_str).map(str::to_string));
    match key {
        None => 0,
        Some(k) => {
            let mut h: u32 = 0x811c9dc5;
            for b in k.bytes() {
                h = (h ^ b as u32).wrapping_mul(0x01000193);
            }
            (h % partitions as u32) as i32
        }
    }
}

/// Splits the golden input into partitions: `parts[topic][p]` = lines in file order.
fn split(partitions: &BTreeMap<&str, i32>) -> BTreeMap<String, Vec<Vec<Vec<u8>>>> {
    let mut out = BTreeMap::new();
    for t in TOPICS {
        let n = partitions[t];
        let mut parts = vec![Vec::new(); n as usize];
        for l in lines(t) {
            parts[partition_of(t, &l, n) as usize].push(l);
        }
        out.insert(t.to_string(), parts);
    }
    out
}

/// Writes the partitions as replay files `<topic>.<p>.ndjson`.
fn write_files(dir: &Path, parts: &BTreeMap<String, Vec<Vec<Vec<u8>>>>) {
    std::fs::create_dir_all(dir).unwrap();
    for (t, ps) in parts {
        for (p, ls) in ps.iter().enumerate() {
            let mut body = Vec::new();
            for l in ls {
                body.extend_from_slice(l);
                body.push(b'\n');
            }
            std::fs::write(dir.join(format!("{t}.{p}.ndjson")), body).unwrap();
        }
    }
}

fn produce_all(
    broker: &Broker,
    parts: &BTreeMap<String, Vec<Vec<Vec<u8>>>>,
    range: impl Fn(&str, usize) -> std::ops::Range<usize>,
) {
    for (t, ps) in parts {
        let mut msgs = Vec::new();
        for (p, ls) in ps.iter().enumerate() {
            let r = range(t, ls.len());
            for l in &ls[r] {
                msgs.push((p as i32, None, l.clone()));
            }
        }
        broker.produce(t, &msgs);
    }
}

fn setup(broker: &Broker, partitions: &BTreeMap<&str, i32>) {
    for t in TOPICS {
        broker.create_topic(t, partitions[t]);
    }
    for t in ["brandpulse.dlq", "brandpulse.alerts", "brandpulse.control"] {
        broker.create_topic(t, 1);
    }
}

/// Rows of every table as canonical strings, sorted (wall-clock and location columns dropped;
/// dead letters are compared by topic, reason and raw bytes).
fn canonical(out: &Path) -> BTreeMap<&'static str, Vec<String>> {
    let mut m = BTreeMap::new();
    for spec in ALL_TABLES {
        let data = read_table(out, spec);
        assert!(data.problems.is_empty(), "{}: {:?}", spec.name, data.problems);
        let mut rows: Vec<String> = data
            .rows
            .into_iter()
            .map(|mut r| {
                for c in ["detected_at", "recorded_at", "source", "detail", "partition", "offset"] {
                    r.remove(c);
                }
                serde_json::to_string(&r).unwrap()
            })
            .collect();
        rows.sort();
        m.insert(spec.name, rows);
    }
    m
}

fn assert_same(
    context: &str,
    expected: &BTreeMap<&'static str, Vec<String>>,
    actual: &BTreeMap<&'static str, Vec<String>>,
) {
    for (table, e) in expected {
        let a = &actual[table];
        let missing: Vec<_> = e.iter().filter(|r| !a.contains(r)).collect();
        let extra: Vec<_> = a.iter().filter(|r| !e.contains(r)).collect();
        assert!(
            missing.is_empty() && extra.is_empty() && a.len() == e.len(),
            "{context}: table {table}: {} expected rows, {} actual\nmissing: {missing:#?}\nextra: {extra:#?}",
            e.len(),
            a.len()
        );
    }
}

#[test]
fn golden_over_single_partition_topics_gives_the_hand_computed_rows() {
    let broker = Broker::start();
    let parts_n: BTreeMap<&str, i32> = TOPICS.iter().map(|t| (*t, 1)).collect();
    setup(&broker, &parts_n);
    let parts = split(&parts_n);
    produce_all(&broker, &parts, |_, n| 0..n);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut env = job_env(&broker, &dir.path().join("state"), &out);
    env.push((ENGLISH_ONLY.0.into(), ENGLISH_ONLY.1.into())); // the hand-computed rows score English only
    run_bin(&["run", "--stop-at-end", "--start", "earliest", "-w", "2"], &env, &dir.path().join("log"));
    let mut diffs = Vec::new();
    for spec in ALL_TABLES {
        let mut data = read_table(&out, spec);
        diffs.extend(data.problems.iter().cloned());
        if spec.name == DEAD_LETTER.name {
            // Kafka offsets count from 0, the expectations number file lines from 1.
            for r in &mut data.rows {
                let o = r["offset"].as_i64().unwrap();
                r.insert("offset".into(), Value::from(o + 1));
                assert_eq!(r["source"], Value::from(format!("kafka:{}", r["topic"].as_str().unwrap())));
            }
        }
        let expected = normalize_expected(
            spec,
            load_expected(&tests_dir().join("golden/expected").join(format!("{}.json", spec.name))),
        );
        diffs.extend(compare_rows(spec, &expected, &data.rows));
    }
    assert_no_diffs("golden scenario over Kafka (run --stop-at-end -w 2)", &diffs);
}

#[test]
fn multi_partition_run_equals_replay_of_the_same_partitions() {
    let broker = Broker::start();
    let parts_n: BTreeMap<&str, i32> =
        [("brands", 2), ("ads", 2), ("mentions", 3), ("ad_comments", 3), ("care_events", 3)].into_iter().collect();
    setup(&broker, &parts_n);
    let parts = split(&parts_n);
    produce_all(&broker, &parts, |_, n| 0..n);
    let dir = tempfile::tempdir().unwrap();
    write_files(&dir.path().join("files"), &parts);
    let replay_out = dir.path().join("replay");
    run_replay(&dir.path().join("files"), &replay_out, &["-w", "2", "--quiet"]);
    let out = dir.path().join("out");
    let env = job_env(&broker, &dir.path().join("state"), &out);
    run_bin(&["run", "--stop-at-end", "--start", "earliest", "-w", "2"], &env, &dir.path().join("log"));
    let expected = canonical(&replay_out);
    assert!(expected["brand_metrics_minute"].len() > 10, "the scenario has brand rows");
    assert_same("run -w 2 vs replay -w 2 over 2/2/3/3/3 partitions", &expected, &canonical(&out));
}

#[test]
fn malformed_records_go_to_the_dead_letter_topic_and_the_rest_is_counted() {
    let broker = Broker::start();
    let mut parts_n: BTreeMap<&str, i32> = TOPICS.iter().map(|t| (*t, 1)).collect();
    parts_n.insert("mentions", 2);
    setup(&broker, &parts_n);
    // Partition 0 of mentions: the golden mentions. Partition 1: bad records among good ones.
    let golden: BTreeMap<&str, i32> = TOPICS.iter().map(|t| (*t, 1)).collect();
    let parts = split(&golden);
    produce_all(&broker, &parts, |_, n| 0..n);
    let good = |i: u32| {
        format!(r#"{{"event_id":"x-{i}","ts":"2026-11-24T10:30:0{i}Z","brand_id":"umbrella","platform":"x","author_id":"u","text":"ok","sentiment":0.5}}"#).into_bytes()
    };
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let tomorrow = format!(
        r#"{{"event_id":"x-8","ts":"{}","brand_id":"umbrella","platform":"x","author_id":"u","text":"ok"}}"#,
        ms_rfc3339(now_ms + 86_400_000)
    );
    let extra: Vec<(i32, Option<String>, Vec<u8>)> = vec![
        (1, None, good(1)),
        (1, None, b"{not json".to_vec()),
        (1, None, good(2)),
        (
            1,
            None,
            br#"{"event_id":"x-9","brand_id":"umbrella","platform":"x","author_id":"u","text":"no ts"}"#.to_vec(),
        ),
        (1, None, br#"[1,2]"#.to_vec()),
        (1, None, good(3)),
        // A day ahead of the wall clock: past `run.max_future_seconds` (900 s), invalid.
        (1, None, tomorrow.into_bytes()),
    ];
    broker.produce("mentions", &extra);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let env = job_env(&broker, &dir.path().join("state"), &out);
    run_bin(&["run", "--stop-at-end", "--start", "earliest", "-w", "2"], &env, &dir.path().join("log"));

    // Dead-letter topic: the golden scenario's own dead letters plus our four, with position.
    let golden_dead = load_expected(&tests_dir().join("golden/expected/dead_letter.json"));
    let want = golden_dead.len() + 4;
    let msgs = broker.consume_all("brandpulse.dlq", 1, want, Duration::from_secs(30));
    assert_eq!(msgs.len(), want, "dead letters on brandpulse.dlq: {msgs:#?}");
    let ours: Vec<(i64, i64, String, String)> = msgs
        .iter()
        .map(|(_, _, key, v)| {
            let j: Value = serde_json::from_slice(v).expect("DLQ message is JSON");
            (
                j["partition"].as_i64().unwrap(),
                j["offset"].as_i64().unwrap(),
                j["reason"].as_str().unwrap().to_string(),
                key.clone().unwrap_or_default(),
            )
        })
        .filter(|(p, ..)| *p == 1)
        .collect();
    let mut ours = ours;
    ours.sort();
    assert_eq!(
        ours,
        vec![
            (1, 1, "malformed_json".to_string(), "mentions/1/1".to_string()),
            (1, 3, "missing_field:ts".to_string(), "mentions/1/3".to_string()),
            (1, 4, "not_an_object".to_string(), "mentions/1/4".to_string()),
            (1, 6, "invalid_value:ts".to_string(), "mentions/1/6".to_string()),
        ]
    );
    // Every good record is counted: the golden mentions (hand-computed total) plus our three.
    let expected_total =
        sum_u64(&load_expected(&tests_dir().join("golden/expected/brand_metrics_minute.json")), "mentions");
    let rows = read_table(&out, &BRAND_METRICS).rows;
    assert_eq!(sum_u64(&rows, "mentions"), expected_total + 3);
    let umbrella_1030: u64 = rows
        .iter()
        .filter(|r| {
            r["brand_id"] == "umbrella"
                && r["window_start"].as_i64() == Some(rfc3339_ms("2026-11-24T10:30:00Z").unwrap())
        })
        .map(|r| r["mentions"].as_u64().unwrap())
        .sum();
    assert_eq!(umbrella_1030, 3, "x-1, x-2, x-3 in umbrella's [10:30] window");
}

/// Sum of `next_offset` over the fact partitions in the committed checkpoint, if any.
fn checkpointed_fact_offsets(state: &Path, fact_numbers: &[u32]) -> Option<i64> {
    let cur: Value = serde_json::from_slice(&std::fs::read(state.join("CURRENT")).ok()?).ok()?;
    let epoch = cur["epoch"].as_u64()?;
    let mut sum = 0;
    for w in 0..2 {
        let part: Value =
            serde_json::from_slice(&std::fs::read(state.join(format!("checkpoints/{epoch}/worker-{w}.json"))).ok()?)
                .ok()?;
        for (k, c) in part["cursors"].as_object()? {
            if fact_numbers.contains(&k.parse().ok()?) {
                sum += c["next_offset"].as_i64()?;
            }
        }
    }
    Some(sum)
}

#[test]
fn killed_and_restarted_from_the_checkpoint_skips_nothing_and_counts_once() {
    let broker = Broker::start();
    let parts_n: BTreeMap<&str, i32> =
        [("brands", 1), ("ads", 1), ("mentions", 2), ("ad_comments", 2), ("care_events", 2)].into_iter().collect();
    setup(&broker, &parts_n);
    let mut parts = split(&parts_n);
    // Run 1 gets every fact partition up to its first record at or after 10:20, run 2 the rest.
    // A cut at one event time keeps the order in which records arrive across partitions that of
    // the replay (a crisis opens on the comments received so far, SPEC §6): the ad-a1 crisis
    // opens before the restart and resolves after it.
    let cut = |ls: &[Vec<u8>]| -> usize {
        let after = |l: &Vec<u8>| {
            let v: Option<Value> = serde_json::from_slice(l).ok();
            v.and_then(|v| v.get("ts").and_then(Value::as_str).map(|ts| ts >= "2026-11-24T10:20:00Z")).unwrap_or(false)
        };
        ls.iter().position(after).unwrap_or(ls.len())
    };
    // Duplicates across the restart: copies of run-1 mentions, appended to their partition.
    for p in parts.get_mut("mentions").unwrap().iter_mut() {
        let copies: Vec<Vec<u8>> = p[..cut(p)].iter().rev().take(2).cloned().collect();
        assert_eq!(copies.len(), 2, "the partition has records before the cut");
        p.extend(copies);
    }
    let is_dim = |t: &str| TOPICS[..2].contains(&t);
    // KEEP_TEST_FILES=1 keeps the job's files for inspection.
    let dir =
        tempfile::Builder::new().disable_cleanup(std::env::var_os("KEEP_TEST_FILES").is_some()).tempdir().unwrap();
    eprintln!("job files: {}", dir.path().display());
    write_files(&dir.path().join("files"), &parts);
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    let env = job_env(&broker, &state, &out);

    // Run 1: live, over the facts before the cut and all dimension rows.
    let cuts: BTreeMap<(String, usize), usize> = parts
        .iter()
        .flat_map(|(t, ps)| {
            ps.iter().enumerate().map(move |(p, ls)| ((t.clone(), p), if is_dim(t) { ls.len() } else { cut(ls) }))
        })
        .collect();
    for (t, ps) in &parts {
        let msgs: Vec<_> = ps
            .iter()
            .enumerate()
            .flat_map(|(p, ls)| ls[..cuts[&(t.clone(), p)]].iter().map(move |l| (p as i32, None, l.clone())))
            .collect();
        broker.produce(t, &msgs);
    }
    let produced_facts: i64 = cuts.iter().filter(|((t, _), _)| !is_dim(t)).map(|(_, n)| *n as i64).sum();
    assert!(produced_facts > 0);
    // Partition numbers of the facts: brands 0, ads 1, then mentions 2-3, comments 4-5, care 6-7.
    let fact_numbers: Vec<u32> = (2..8).collect();
    let mut job = spawn_bin(&["run", "--start", "stored", "-w", "2"], &env, &dir.path().join("log1"));
    let started = Instant::now();
    loop {
        if checkpointed_fact_offsets(&state, &fact_numbers) == Some(produced_facts) {
            break;
        }
        if let Some(status) = job.try_wait() {
            panic!("run 1 exited early ({status}): {}", job.log());
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no checkpoint covered the first {produced_facts} facts within 60 s: {:?}\n{}",
            checkpointed_fact_offsets(&state, &fact_numbers),
            std::fs::read_to_string(dir.path().join("log1")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    job.kill(); // SIGKILL: no chance to flush anything

    // Run 2: the rest arrives; the job resumes from its checkpoint and finishes the backlog.
    for (t, ps) in &parts {
        let mut msgs = Vec::new();
        for (p, ls) in ps.iter().enumerate() {
            let from = cuts[&(t.clone(), p)];
            for l in &ls[from..] {
                msgs.push((p as i32, None, l.clone()));
            }
        }
        broker.produce(t, &msgs);
    }
    let log2 = run_bin(&["run", "--stop-at-end", "--start", "stored", "-w", "2"], &env, &dir.path().join("log2"));
    assert!(log2.contains("resuming from checkpoint"), "run 2 resumed from the checkpoint:\n{log2}");

    let replay_out = dir.path().join("replay");
    run_replay(&dir.path().join("files"), &replay_out, &["-w", "2", "--quiet"]);
    assert_same("run killed after a checkpoint + resumed vs one replay", &canonical(&replay_out), &canonical(&out));
}
