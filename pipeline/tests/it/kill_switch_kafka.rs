//! The kill switch on the live path (`brandpulse run` over a real tansu broker, SPEC §6, §9): the
//! golden scenario's crisis pauses brand `acme` once — one webhook request to a real receiver on
//! loopback and one message on the Kafka control topic `brandpulse.control` — and neither is sent
//! again when the job reads the same input again after a restart or after SIGKILL.
//!
//! Golden scenario (tests/golden/README.md): `crisis-ad-a1-20261124T1011` pauses `acme`;
//! `crisis-ad-a2-…` finds it paused; `globex` has its kill switch disabled. So the whole input
//! gives exactly one `pause_all_publishing`, for `acme`, keyed `crisis-ad-a1-20261124T1011`.

use crate::support::common;
use crate::support::kafka::{job_env, run_bin, spawn_bin, Broker};
use crate::support::kill_switch::{copy_input_replacing, http, parquet_rows, poll, Answer, Receiver};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

const A1: &str = "crisis-ad-a1-20261124T1011";
const TOPICS: [&str; 5] = ["brands", "ads", "mentions", "ad_comments", "care_events"];
const CONTROL: &str = "brandpulse.control";
const T: Duration = Duration::from_secs(120);

/// A broker with the golden input on single-partition topics.
fn broker_with_golden_input() -> Broker {
    broker_with_input(&common::tests_dir().join("golden/input"))
}

/// A broker with the input files of `dir` on single-partition topics.
fn broker_with_input(dir: &Path) -> Broker {
    let broker = Broker::start();
    for t in TOPICS {
        broker.create_topic(t, 1);
        let bytes = std::fs::read(dir.join(format!("{t}.ndjson"))).unwrap();
        let msgs: Vec<(i32, Option<String>, Vec<u8>)> =
            common::split_lines(&bytes).into_iter().map(|l| (0, None, common::raw_of(l).to_vec())).collect();
        broker.produce(t, &msgs);
    }
    for t in ["brandpulse.dlq", "brandpulse.alerts", CONTROL] {
        broker.create_topic(t, 1);
    }
    broker
}

/// The job's environment with actions on (`job_env` records them as `dry_run`), the webhook at
/// `url` (none when empty).
fn env(broker: &Broker, dir: &Path, url: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = job_env(broker, &dir.join("state"), &dir.join("out"))
        .into_iter()
        .filter(|(k, _)| k != "BRANDPULSE_ACTIONS__ENABLED")
        .collect();
    v.push(("BRANDPULSE_ACTIONS__URL".into(), url.into()));
    v.push(("BRANDPULSE_KILL_SWITCH_TOKEN".into(), "webhook-secret-3".into()));
    v.push(("BRANDPULSE_ACTIONS__BACKOFF_INITIAL_MS".into(), "20".into()));
    for (k, val) in extra {
        v.push((k.to_string(), val.to_string()));
    }
    v
}

/// Every message on the control topic as `(key, JSON body)`. The job has exited (and flushed
/// its producer) or acknowledged the message before this is called, so the topic is complete;
/// up to 10 are read, for 3 s, so that a second copy would be seen.
fn control_messages(broker: &Broker) -> Vec<(Option<String>, Value)> {
    broker
        .consume_all(CONTROL, 1, 10, Duration::from_secs(3))
        .into_iter()
        .map(|(_, _, k, v)| (k, serde_json::from_slice(&v).expect("control message is JSON")))
        .collect()
}

fn check_pause(body: &Value) {
    assert_eq!(body["action"], "pause_all_publishing", "{body}");
    assert_eq!(body["brand_id"], "acme", "{body}");
    assert_eq!(body["alert_id"], A1, "{body}");
    assert_eq!(body["evidence"]["comments"], 8, "{body}");
}

fn alert_a1(out: &Path) -> serde_json::Map<String, Value> {
    parquet_rows(out, "alerts").into_iter().find(|r| r["alert_id"] == A1).expect("alert A1 in Parquet")
}

const RUN: [&str; 6] = ["run", "--stop-at-end", "--start", "earliest", "-w", "2"];

#[test]
fn run_pauses_once_on_the_webhook_and_the_control_topic_and_not_again_after_a_restart() {
    let broker = broker_with_golden_input();
    let rx = Receiver::start(&[], Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let env = env(&broker, dir.path(), &rx.url(), &[]);
    run_bin(&RUN, &env, &dir.path().join("log1"));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].header("idempotency-key"), Some(A1));
    assert_eq!(reqs[0].header("authorization"), Some("Bearer webhook-secret-3"));
    check_pause(&reqs[0].json());
    let control = control_messages(&broker);
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(control[0].0.as_deref(), Some("acme"), "keyed by brand");
    assert_eq!(control[0].1, reqs[0].json(), "the control copy is the webhook's body");
    let a1 = alert_a1(&dir.path().join("out"));
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(1)), "{a1:?}");

    // The same input read again from the start, on the same state directory (its outbox): the
    // alert opens again, nothing is sent again.
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    run_bin(&RUN, &env, &dir.path().join("log2"));
    assert_eq!(rx.requests().len(), 1, "no second webhook request");
    assert_eq!(control_messages(&broker).len(), 1, "no second control message");
    let a1 = alert_a1(&dir.path().join("out"));
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(1)), "{a1:?}");
}

#[test]
fn kafka_only_pauses_through_the_control_topic_once() {
    let broker = broker_with_golden_input();
    let dir = tempfile::tempdir().unwrap();
    let env = env(&broker, dir.path(), "", &[]);
    run_bin(&RUN, &env, &dir.path().join("log1"));
    let control = control_messages(&broker);
    assert_eq!(control.len(), 1, "{control:?}");
    check_pause(&control[0].1);
    let a1 = alert_a1(&dir.path().join("out"));
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(1)), "{a1:?}");
    std::fs::remove_dir_all(dir.path().join("out")).unwrap();
    run_bin(&RUN, &env, &dir.path().join("log2"));
    assert_eq!(control_messages(&broker).len(), 1, "no second control message after the restart");
}

#[test]
fn sigkill_while_the_webhook_hangs_resends_the_request_but_not_the_control_copy() {
    let broker = broker_with_golden_input();
    // The first request is taken and never answered; the restart's is answered 200.
    let rx = Receiver::start(&[Answer::Hang], Answer::Status(200));
    let dir = tempfile::tempdir().unwrap();
    let env = env(&broker, dir.path(), &rx.url(), &[("BRANDPULSE_ACTIONS__REQUEST_TIMEOUT_MS", "60000")]);
    let log = dir.path().join("log1");
    let mut job = spawn_bin(&RUN, &env, &log);
    rx.wait_for(1, T);
    let api = poll(T, "the API address in the log", || {
        let text = std::fs::read_to_string(&log).ok()?;
        Some(text.split("HTTP API listening on http://").nth(1)?.split('/').next()?.to_string())
    });
    // The outbox has the control copy's acknowledgment once the API shows it (committed first).
    poll(T, "the control copy to be acknowledged", || {
        let (code, body) = http(&api, "GET", "/api/actions", None);
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200
            && v.as_array()?.iter().any(|a| a["key"] == A1 && a["status"] == "sending" && a["control"] == "delivered"))
        .then_some(())
    });
    job.kill();
    assert_eq!(control_messages(&broker).len(), 1);

    std::fs::remove_dir_all(dir.path().join("out")).ok();
    let text = run_bin(&RUN, &env, &dir.path().join("log2"));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "the webhook request is sent again after the restart: {reqs:?}\n{text}");
    assert_eq!(reqs[1].body, reqs[0].body, "the same request");
    assert_eq!(reqs[1].header("idempotency-key"), Some(A1));
    let control = control_messages(&broker);
    assert_eq!(control.len(), 1, "the acknowledged control copy is not published again: {control:?}");
    let a1 = alert_a1(&dir.path().join("out"));
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(2)), "{a1:?}");
}

/// Ids are data (docs/semantics.md, "Ids"): with acme's crisis ad and acme itself renamed to ids
/// holding LF, NUL, ESC (and CR), the live path sends one webhook request (key percent-encoded)
/// and one control message keyed by the brand id's own bytes (Kafka keys are bytes: not encoded),
/// and the alert is `sent` after one attempt.
#[test]
fn hostile_ids_pause_once_with_the_raw_brand_id_as_the_control_key() {
    const AD: &str = "ad-\n\0\x1b[31ma1";
    const BRAND: &str = "ac\r\n\x1b[2Jme\0";
    let alert_id = format!("crisis-{AD}-20261124T1011");
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    copy_input_replacing(
        &common::tests_dir().join("golden/input"),
        &input,
        &[(r#""ad-a1""#, r#""ad-\n\u0000\u001b[31ma1""#), (r#""acme""#, r#""ac\r\n\u001b[2Jme\u0000""#)],
    );
    let broker = broker_with_input(&input);
    let rx = Receiver::start(&[], Answer::Status(200));
    let env = env(&broker, dir.path(), &rx.url(), &[]);
    run_bin(&RUN, &env, &dir.path().join("log1"));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].header("idempotency-key"), Some("crisis-ad-%0A%00%1B[31ma1-20261124T1011"));
    let control = control_messages(&broker);
    assert_eq!(control.len(), 1, "{control:?}");
    assert_eq!(control[0].0.as_deref(), Some(BRAND), "keyed by the brand id's bytes");
    assert_eq!(control[0].1, reqs[0].json(), "the control copy is the webhook's body");
    assert_eq!(
        (control[0].1["alert_id"].as_str(), control[0].1["brand_id"].as_str()),
        (Some(alert_id.as_str()), Some(BRAND))
    );
    let a1 = parquet_rows(&dir.path().join("out"), "alerts")
        .into_iter()
        .find(|r| r["alert_id"] == alert_id.as_str())
        .expect("the hostile alert in Parquet");
    assert_eq!((a1["action_status"].as_str(), a1["attempts"].as_u64()), (Some("sent"), Some(1)), "{a1:?}");
}
