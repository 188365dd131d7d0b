//! The kill switch end to end (SPEC §6, §9): the real binary replays the golden scenario with
//! `--fire-actions` against a real HTTP receiver on loopback.
//!
//! Golden scenario (tests/golden/README.md): brand `acme` (kill switch enabled) has two crises,
//! `crisis-ad-a1-20261124T1011` (8 comments, neg share 0.625, risk share 0.125) pauses it and
//! `crisis-ad-a2-20261124T1031` finds it paused (`skipped_already_paused`); brand `globex` has
//! its kill switch disabled, so `crisis-ad-g1-20261124T1038` is recorded as `disabled`.

use crate::support::common;
use crate::support::kill_switch::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

const A1: &str = "crisis-ad-a1-20261124T1011";
const A2: &str = "crisis-ad-a2-20261124T1031";
const G1: &str = "crisis-ad-g1-20261124T1038";
const WEBHOOK_TOKEN: &str = "webhook-secret-1";
const API_TOKEN: &str = "api-secret-2";
const T: Duration = Duration::from_secs(120);

fn golden_input() -> PathBuf {
    common::tests_dir().join("golden").join("input")
}

fn env(receiver: &Receiver, extra: &[(&str, &str)]) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("BRANDPULSE_ACTIONS__URL", receiver.url()),
        ("BRANDPULSE_KILL_SWITCH_TOKEN", WEBHOOK_TOKEN.into()),
        ("BRANDPULSE_ACTIONS__BACKOFF_INITIAL_MS", "20".into()),
        ("BRANDPULSE_HTTP__LISTEN", "127.0.0.1:0".into()),
    ];
    for (k, val) in extra {
        let k: &'static str = Box::leak(k.to_string().into_boxed_str());
        v.push((k, val.to_string()));
    }
    v
}

fn replay_args<'a>(out: &'a Path, state: &'a Path, input: &'a Path, extra: &[&'a str]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "replay".into(),
        "--input".into(),
        input.display().to_string(),
        "--out".into(),
        out.display().to_string(),
        "--state-dir".into(),
        state.display().to_string(),
        "--fire-actions".into(),
        "--quiet".into(),
    ];
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn run_to_end(args: &[String], env: &[(&str, String)]) -> String {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut job = Job::spawn(&refs, env);
    let ok = job.wait(T);
    let log = job.log();
    assert!(ok, "replay failed:\n{log}");
    log
}

fn alerts_by_id(out: &Path) -> std::collections::BTreeMap<String, serde_json::Map<String, Value>> {
    parquet_rows(out, "alerts").into_iter().map(|r| (r["alert_id"].as_str().unwrap().to_string(), r)).collect()
}

/// Checks the pause request of alert A1 against SPEC §6.
fn check_pause_request(r: &Received) {
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/hook");
    assert_eq!(r.header("idempotency-key"), Some(A1));
    assert_eq!(r.header("authorization").map(String::from), Some(format!("Bearer {WEBHOOK_TOKEN}")));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let b = r.json();
    assert_eq!(b["action"], "pause_all_publishing");
    assert_eq!(b["brand_id"], "acme");
    assert_eq!(b["alert_id"], A1);
    assert!(b["reason"].as_str().is_some_and(|s| !s.is_empty()), "reason: {b}");
    let e = &b["evidence"];
    assert_eq!(e["ad_id"], "ad-a1");
    assert_eq!(e["comments"], 8);
    assert_eq!(e["neg_share"], 0.625);
    assert_eq!(e["risk_share"], 0.125);
    // The crisis window of opening bucket 10:11 is the ten buckets 10:02 … 10:11.
    assert_eq!(e["window"]["start"], "2026-11-24T10:02:00.000Z");
    assert_eq!(e["window"]["end"], "2026-11-24T10:12:00.000Z");
    assert!(common::rfc3339_ms(b["issued_at"].as_str().unwrap()).is_ok(), "issued_at: {b}");
}

#[test]
fn golden_crisis_pauses_acme_once_and_not_globex() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let input = golden_input();
    for workers in ["1", "2"] {
        let out = out.path().join(workers);
        let state = state.path().join(workers);
        run_to_end(&replay_args(&out, &state, &input, &["-w", workers]), &env(&rx, &[]));
        let alerts = alerts_by_id(&out);
        assert_eq!(alerts.len(), 3, "{alerts:?}");
        let a1 = &alerts[A1];
        assert_eq!(
            (a1["action"].as_str(), a1["action_status"].as_str(), a1["attempts"].as_u64()),
            (Some("pause_all_publishing"), Some("sent"), Some(1))
        );
        assert!(a1["action_latency_ms"].as_f64().is_some_and(|l| l >= 0.0), "{a1:?}");
        let a2 = &alerts[A2];
        assert_eq!(
            (a2["action"].clone(), a2["action_status"].as_str(), a2["attempts"].as_u64()),
            (Value::Null, Some("skipped_already_paused"), Some(0))
        );
        let g1 = &alerts[G1];
        assert_eq!(
            (g1["brand_id"].as_str(), g1["action"].clone(), g1["action_status"].as_str(), g1["attempts"].as_u64()),
            (Some("globex"), Value::Null, Some("disabled"), Some(0))
        );
    }
    // One request per run (1 and 2 workers), both for acme's first alert; none for globex.
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in &reqs {
        check_pause_request(r);
    }
}

#[test]
fn plain_replay_sends_nothing() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let out = tempfile::tempdir().unwrap();
    let input = golden_input();
    let args: Vec<String> = vec![
        "replay".into(),
        "--input".into(),
        input.display().to_string(),
        "--out".into(),
        out.path().display().to_string(),
        "--quiet".into(),
    ];
    let log = run_to_end(&args, &env(&rx, &[]));
    assert!(log.contains("replay is history"), "{log}");
    assert_eq!(rx.requests().len(), 0);
    assert_eq!(alerts_by_id(out.path())[A1]["action_status"], "dry_run");
}

#[test]
fn retried_on_503_until_200() {
    let rx = Receiver::start(&[Answer::Status(503), Answer::Status(503)], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_to_end(&replay_args(out.path(), state.path(), &golden_input(), &[]), &env(&rx, &[]));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3, "{reqs:?}");
    for r in &reqs {
        check_pause_request(r);
        assert_eq!(r.body, reqs[0].body, "a retry sends the same body");
    }
    let a1 = &alerts_by_id(out.path())[A1];
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(3)));
}

#[test]
fn permanent_failure_on_400_is_not_retried() {
    let rx = Receiver::start(&[Answer::Status(400)], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let log = run_to_end(&replay_args(out.path(), state.path(), &golden_input(), &[]), &env(&rx, &[]));
    assert!(log.contains("failed permanently"), "{log}");
    assert_eq!(rx.requests().len(), 1);
    let a1 = &alerts_by_id(out.path())[A1];
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("failed"), Some(1)));
}

#[test]
fn deadline_ends_retries_as_failed() {
    let rx = Receiver::start(&[], Answer::Status(500));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_to_end(
        &replay_args(out.path(), state.path(), &golden_input(), &[]),
        &env(&rx, &[("BRANDPULSE_ACTIONS__DEADLINE_SECONDS", "1")]),
    );
    let n = rx.requests().len();
    assert!(n >= 2, "retried within the deadline: {n}");
    let a1 = &alerts_by_id(out.path())[A1];
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("failed"), Some(n as u64)));
}

/// Polls the job's `/api/alerts` until alert `id` has `status`.
fn wait_alert_status(api: &str, id: &str, status: &str) {
    poll(T, &format!("{id} to be {status} in /api/alerts"), || {
        let (code, body) = http(api, "GET", "/api/alerts", None);
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200 && v.as_array()?.iter().any(|a| a["alert_id"] == id && a["action_status"] == status)).then_some(())
    });
}

#[test]
fn sigkill_after_ack_never_sends_again() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let input = golden_input();
    let args = replay_args(out.path(), state.path(), &input, &["--serve"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut job = Job::spawn(&refs, &env(&rx, &[]));
    let api = job.api_addr(T);
    // The outbox has the ack once the API shows `sent` (the record is committed first).
    wait_alert_status(&api, A1, "sent");
    // No API token configured: the resume endpoint is refused.
    assert_eq!(http(&api, "POST", "/api/brands/acme/resume", Some("anything")).0, 403);
    job.signal(9);
    job.wait(T);
    assert_eq!(rx.requests().len(), 1);
    // Restart on the same input and state: the alert opens again, its action is not sent again.
    let out2 = tempfile::tempdir().unwrap();
    let log = run_to_end(&replay_args(out2.path(), state.path(), &input, &[]), &env(&rx, &[]));
    assert!(log.contains("already in the outbox"), "{log}");
    assert_eq!(rx.requests().len(), 1, "no second request after the restart");
    let a1 = &alerts_by_id(out2.path())[A1];
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(1)));
}

#[test]
fn sigkill_before_ack_sends_after_restart() {
    // The receiver takes the request and never answers: the job is killed with the intent
    // recorded and no ack.
    let rx = Receiver::start(&[Answer::Hang], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let input = golden_input();
    let args = replay_args(out.path(), state.path(), &input, &["--serve"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let extra = [("BRANDPULSE_ACTIONS__REQUEST_TIMEOUT_MS", "60000")];
    let mut job = Job::spawn(&refs, &env(&rx, &extra));
    rx.wait_for(1, T);
    job.signal(9);
    job.wait(T);
    assert_eq!(rx.requests().len(), 1);
    let out2 = tempfile::tempdir().unwrap();
    let log = run_to_end(&replay_args(out2.path(), state.path(), &input, &[]), &env(&rx, &extra));
    assert!(log.contains("sending them again"), "{log}");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "sent once more after the restart: {reqs:?}");
    check_pause_request(&reqs[1]);
    assert_eq!(reqs[1].body, reqs[0].body, "the re-delivery is the same request");
    let a1 = &alerts_by_id(out2.path())[A1];
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(2)));
}

#[test]
fn resume_needs_the_token_and_reaches_the_dataflow() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let input = golden_input();
    let args = replay_args(out.path(), state.path(), &input, &["--serve", "-w", "2"]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut job = Job::spawn(&refs, &env(&rx, &[("BRANDPULSE_API_TOKEN", API_TOKEN)]));
    let api = job.api_addr(T);
    wait_alert_status(&api, A1, "sent");
    wait_alert_status(&api, G1, "disabled");
    assert_eq!(http(&api, "GET", "/healthz", None).0, 200);
    assert_eq!(http(&api, "GET", "/readyz", None).0, 200);
    assert!(http(&api, "GET", "/metrics", None)
        .1
        .contains("brandpulse_actions_total{action=\"pause_all_publishing\",outcome=\"sent\"} 1"));
    // Without the token, or with a wrong one: 401 and nothing sent.
    assert_eq!(http(&api, "POST", "/api/brands/acme/resume", None).0, 401);
    assert_eq!(http(&api, "POST", "/api/brands/acme/resume", Some("wrong")).0, 401);
    assert_eq!(rx.requests().len(), 1);
    // A brand that is not paused: 409; one the input never named validly: 404 (hooli's row is
    // malformed, a dead letter).
    assert_eq!(http(&api, "POST", "/api/brands/globex/resume", Some(API_TOKEN)).0, 409);
    assert_eq!(http(&api, "POST", "/api/brands/hooli/resume", Some(API_TOKEN)).0, 404);
    let (_, brands) = http(&api, "GET", "/api/brands", None);
    let brands: Value = serde_json::from_str(&brands).unwrap();
    let ids: Vec<&str> = brands.as_array().unwrap().iter().map(|b| b["brand_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "acme and globex: {brands}");
    // Name and kill-switch setting come from the brand's dimension row.
    let globex = brands.as_array().unwrap().iter().find(|b| b["brand_id"] == "globex").unwrap();
    assert_eq!(
        (globex["kill_switch_enabled"].as_bool(), globex["name"].as_str()),
        (Some(false), Some("Globex")),
        "{globex}"
    );
    let (code, body) = http(&api, "POST", "/api/brands/acme/resume", Some(API_TOKEN));
    assert_eq!(code, 202, "{body}");
    let resume_id = serde_json::from_str::<Value>(&body).unwrap()["resume_id"].as_str().unwrap().to_string();
    let reqs = rx.wait_for(2, T);
    let r = &reqs[1];
    assert_eq!(r.header("idempotency-key"), Some(resume_id.as_str()));
    assert_eq!(r.header("authorization").map(String::from), Some(format!("Bearer {WEBHOOK_TOKEN}")));
    let b = r.json();
    assert_eq!((b["action"].as_str(), b["brand_id"].as_str()), (Some("resume_publishing"), Some("acme")));
    let (_, brands) = http(&api, "GET", "/api/brands", None);
    let brands: Value = serde_json::from_str(&brands).unwrap();
    let acme = brands.as_array().unwrap().iter().find(|b| b["brand_id"] == "acme").unwrap();
    assert_eq!(acme["publishing_paused"], false, "{acme}");
    let hist: Vec<&str> = acme["history"].as_array().unwrap().iter().map(|h| h["action"].as_str().unwrap()).collect();
    assert_eq!(hist, ["pause_all_publishing", "resume_publishing"]);
    assert_eq!(http(&api, "POST", "/api/brands/acme/resume", Some(API_TOKEN)).0, 409, "already resumed");
    // Stop: the dataflow writes its final rows; brand_status shows acme unpaused.
    job.signal(15);
    assert!(job.wait(T), "{}", job.log());
    assert_eq!(rx.requests().len(), 2);
    let status = parquet_rows(out.path(), "brand_status");
    let acme = status.iter().find(|r| r["brand_id"] == "acme").unwrap_or_else(|| panic!("{status:?}"));
    assert_eq!(
        (acme["publishing_paused"].clone(), acme["paused_since"].clone()),
        (Value::Bool(false), Value::Null),
        "{acme:?}"
    );
}

/// Without the resume, the same run ends with acme paused since its first crisis's comment.
#[test]
fn brand_status_shows_pause_without_resume() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_to_end(&replay_args(out.path(), state.path(), &golden_input(), &[]), &env(&rx, &[]));
    let status = parquet_rows(out.path(), "brand_status");
    let acme = status.iter().find(|r| r["brand_id"] == "acme").unwrap();
    assert_eq!(acme["publishing_paused"], true);
    assert_eq!(acme["paused_since"], common::rfc3339_ms("2026-11-24T10:11:30Z").unwrap());
}

/// Ids are data (docs/semantics.md, "Ids"): the golden scenario with acme's first crisis ad
/// `ad-a1` renamed to an id holding LF, NUL and ESC, and the brand `acme` to one holding CR, LF,
/// ESC and NUL. The crisis still sends exactly one pause, its `Idempotency-Key` percent-encoded,
/// the alert is `sent` after one attempt (not failed, not retried), the body carries the ids as
/// JSON strings, and neither the log nor the summary holds a raw CR, NUL or ESC.
#[test]
fn hostile_ids_send_one_percent_encoded_request_and_stay_out_of_the_log_syntax() {
    const AD: &str = "ad-\n\0\x1b[31ma1";
    const BRAND: &str = "ac\r\n\x1b[2Jme\0";
    let alert_id = format!("crisis-{AD}-20261124T1011");
    let rx = Receiver::start(&[], Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let (input, out, state) = (dir.path().join("in"), dir.path().join("out"), dir.path().join("state"));
    copy_input_replacing(
        &golden_input(),
        &input,
        &[(r#""ad-a1""#, r#""ad-\n\u0000\u001b[31ma1""#), (r#""acme""#, r#""ac\r\n\u001b[2Jme\u0000""#)],
    );
    // Without colours, any ESC in the output would come from an id.
    let log = run_to_end(&replay_args(&out, &state, &input, &[]), &env(&rx, &[("NO_COLOR", "1")]));

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    let r = &reqs[0];
    // Bytes outside visible ASCII as %XX: LF 0A, NUL 00, ESC 1B; `[31m` is visible ASCII.
    assert_eq!(r.header("idempotency-key"), Some("crisis-ad-%0A%00%1B[31ma1-20261124T1011"));
    assert_eq!(r.header("authorization").map(String::from), Some(format!("Bearer {WEBHOOK_TOKEN}")));
    let b = r.json();
    assert_eq!(
        (b["action"].as_str(), b["alert_id"].as_str(), b["brand_id"].as_str(), b["evidence"]["ad_id"].as_str()),
        (Some("pause_all_publishing"), Some(alert_id.as_str()), Some(BRAND), Some(AD))
    );
    assert_eq!(b["evidence"]["comments"], 8);

    let alerts = alerts_by_id(&out);
    let a1 = &alerts[&alert_id];
    assert_eq!(
        (a1["brand_id"].as_str(), a1["ad_id"].as_str(), a1["action_status"].as_str(), a1["attempts"].as_u64()),
        (Some(BRAND), Some(AD), Some("sent"), Some(1))
    );
    let a2 = &alerts[A2];
    assert_eq!((a2["brand_id"].as_str(), a2["action_status"].as_str()), (Some(BRAND), Some("skipped_already_paused")));
    let status = parquet_rows(&out, "brand_status");
    let brand = status.iter().find(|r| r["brand_id"] == BRAND).unwrap_or_else(|| panic!("{status:?}"));
    assert_eq!(brand["publishing_paused"], true, "{brand:?}");

    for (c, name) in [('\x1b', "ESC"), ('\r', "CR"), ('\0', "NUL")] {
        assert!(!log.contains(c), "raw {name} in the output:\n{log:?}");
    }
    // The ids, escaped, each on one line: the acknowledgement log line and the summary's alert line.
    let ack = log.lines().find(|l| l.contains("kill-switch action acknowledged")).unwrap_or_else(|| panic!("{log}"));
    assert!(ack.contains(r"key=crisis-ad-\n\0\x1b[31ma1-20261124T1011 "), "{ack}");
    assert!(ack.contains(r"brand_id=ac\r\n\x1b[2Jme\0 "), "{ack}");
    assert!(
        log.contains(r"  crisis-ad-\n\0\x1b[31ma1-20261124T1011 brand=ac\r\n\x1b[2Jme\0 ad=ad-\n\0\x1b[31ma1 opened 2026-11-24T10:11:30.000Z"),
        "{log}"
    );
    assert!(!log.lines().any(|l| l.starts_with("[31ma1") || l.starts_with("[2Jme")), "an id broke a line:\n{log}");
}
