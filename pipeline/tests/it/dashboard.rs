//! The dashboard page (SPEC §8, issue 14) served by the real binary: its embedded assets over
//! plain HTTP, and the page itself in headless Chromium (`tests/e2e/dashboard.mjs`, Debian's
//! `chromium` driven by playwright-core; installed by `scripts/setup-e2e.sh`, which
//! `scripts/setup.sh` runs).
//!
//! The assets test replays the golden scenario with `--serve --fire-actions`
//! (tests/golden/README.md): acme's crisis `crisis-ad-a1-20261124T1011` pauses it, globex has its
//! kill switch disabled. The browser test loads a running `brandpulse demo`'s page: its planted
//! crisis pauses acme (the kill switch sends to a local webhook receiver), initech has its kill
//! switch disabled.

use crate::support::common;
use crate::support::kill_switch::{http, poll, Answer, Receiver};
use crate::support::launch::{tail, Job};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const A1: &str = "crisis-ad-a1-20261124T1011";
const G1: &str = "crisis-ad-g1-20261124T1038";
const WEBHOOK_TOKEN: &str = "webhook-secret-1";
const API_TOKEN: &str = "dashboard-api-token-3";
const T: Duration = Duration::from_secs(120);
/// How long the browser script may take (it waits at most 30 s for any one thing).
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);
const SETUP: &str = "bash scripts/setup-e2e.sh";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn e2e_dir() -> PathBuf {
    common::tests_dir().join("e2e")
}

fn chromium() -> PathBuf {
    std::env::var_os("BRANDPULSE_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Panics, naming the setup command, when node, chromium or the e2e package is missing: the
/// browser test never skips.
fn require_browser_tools() {
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.as_ref().is_ok_and(|o| o.status.success()),
        "`node` is missing or broken ({node:?}); install the browser test's tools with `{SETUP}`"
    );
    let chromium = chromium();
    assert!(chromium.is_file(), "{} is missing; install the browser test's tools with `{SETUP}`", chromium.display());
    let pw = e2e_dir().join("node_modules/playwright-core/package.json");
    assert!(pw.is_file(), "{} is missing; install the browser test's tools with `{SETUP}`", pw.display());
}

/// Replays the golden scenario with the API served and `API_TOKEN` set; returns the job and its
/// API address once acme is paused by A1 and G1 is recorded for globex.
fn serve_golden(rx: &Receiver, out: &Path, state: &Path) -> (Job, String) {
    let input = common::tests_dir().join("golden").join("input");
    let args = [
        "replay",
        "--input",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--fire-actions",
        "--serve",
        "--quiet",
    ];
    let url = rx.url();
    let env = [
        ("BRANDPULSE_ACTIONS__URL", url.as_str()),
        ("BRANDPULSE_KILL_SWITCH_TOKEN", WEBHOOK_TOKEN),
        ("BRANDPULSE_ACTIONS__BACKOFF_INITIAL_MS", "20"),
        ("BRANDPULSE_HTTP__LISTEN", "127.0.0.1:0"),
        ("BRANDPULSE_API_TOKEN", API_TOKEN),
    ];
    let mut job = Job::spawn(&args, &env);
    let api = job.api_addr(T);
    wait_alert_status(&api, A1, "sent");
    wait_alert_status(&api, G1, "disabled");
    (job, api)
}

/// Runs `brandpulse demo` (webhook `rx`, API token `API_TOKEN`) until it serves its finished run;
/// returns the job, its API address and the planted crisis's ad.
fn serve_demo(rx: &Receiver, out: &Path) -> (Job, String, String) {
    let args = ["demo", "--events", "60000", "--out", out.to_str().unwrap()];
    let url = rx.url();
    let env = [
        ("BRANDPULSE_ACTIONS__URL", url.as_str()),
        ("BRANDPULSE_KILL_SWITCH_TOKEN", WEBHOOK_TOKEN),
        ("BRANDPULSE_ACTIONS__BACKOFF_INITIAL_MS", "20"),
        ("BRANDPULSE_HTTP__LISTEN", "127.0.0.1:0"),
        ("BRANDPULSE_API_TOKEN", API_TOKEN),
    ];
    let mut job = Job::spawn(&args, &env);
    let api = job.api_addr(T);
    // The summary is printed, then the demo keeps serving: its stdout says so.
    let planted = poll(T, "the demo's summary and its `serving until Ctrl-C` line", || {
        let out = job.output().stdout;
        assert!(job.try_wait().is_none(), "the demo exited instead of serving:\n{out}\n{}", tail(&job.log()));
        let serving = out.lines().any(|l| l.starts_with(&format!("dashboard: http://{api}/")) && l.ends_with("serving until Ctrl-C"));
        let planted = out.lines().find_map(|l| l.strip_prefix("planted crisis: brand acme ad ")?.split(' ').next().map(str::to_owned));
        serving.then_some(planted).flatten()
    });
    (job, api, planted)
}

fn wait_alert_status(api: &str, id: &str, status: &str) {
    poll(T, &format!("{id} to be {status} in /api/alerts"), || {
        let (code, body) = http(api, "GET", "/api/alerts", None);
        let v: Value = serde_json::from_str(&body).ok()?;
        (code == 200 && v.as_array()?.iter().any(|a| a["alert_id"] == id && a["action_status"] == status)).then_some(())
    });
}

/// `(status, headers lower-cased, body)` of `GET path`.
fn get(addr: &str, path: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn the_page_and_its_assets_come_from_the_binary() {
    let rx = Receiver::start(&[], Answer::Status(200));
    let (out, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (_job, api) = serve_golden(&rx, out.path(), state.path());
    let (code, head, page) = get(&api, "/");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("content-type: text/html"), "{head}");
    // The page may load nothing but the job's own files and API.
    assert!(head.contains("content-security-policy: default-src 'self';"), "{head}");
    // Every file the page names is served, with its type; the files are the ones in assets/.
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/assets");
    for (file, ty) in [
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("uPlot.iife.min.js", "text/javascript"),
        ("uPlot.min.css", "text/css"),
        ("uPlot.LICENSE", "text/plain"),
    ] {
        assert!(page.contains(&format!("\"/assets/{file}\"")), "index.html does not load {file}");
        let (code, head, body) = get(&api, &format!("/assets/{file}"));
        assert_eq!(code, 200, "/assets/{file}: {head}");
        assert!(head.contains(&format!("content-type: {ty}")), "/assets/{file}: {head}");
        assert_eq!(body, std::fs::read_to_string(assets.join(file)).unwrap(), "/assets/{file}");
    }
    assert!(!page.contains("http://") && !page.contains("https://"), "the page names an external URL");
    assert_eq!(get(&api, "/assets/NOTICE").0, 404);
    assert_eq!(get(&api, "/assets/..%2Fmod.rs").0, 404);
}

#[test]
fn chromium_sees_every_brand_the_crisis_and_the_resume() {
    require_browser_tools();
    let rx = Receiver::start(&[], Answer::Status(200));
    let out = tempfile::tempdir().unwrap();
    let (mut job, api, planted_ad) = serve_demo(&rx, out.path());
    // The state the page must show, as the API has it: the planted crisis paused acme (its
    // pause reached the webhook), initech's kill switch is disabled.
    let (_, brands) = http(&api, "GET", "/api/brands", None);
    let brands: Value = serde_json::from_str(&brands).unwrap();
    let ids: Vec<&str> = brands.as_array().unwrap().iter().map(|b| b["brand_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme", "globex", "initech", "umbrella"], "the demo's four brands");
    let by_id = |id: &str| brands.as_array().unwrap().iter().find(|b| b["brand_id"] == id).cloned();
    let acme = by_id("acme").unwrap_or_else(|| panic!("{brands}"));
    let (_, alerts) = http(&api, "GET", "/api/alerts", None);
    let alerts: Value = serde_json::from_str(&alerts).unwrap();
    let planted = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["brand_id"] == "acme" && a["ad_id"] == planted_ad.as_str() && a["action"] == "pause_all_publishing")
        .unwrap_or_else(|| panic!("no pause for the planted crisis on {planted_ad}: {alerts}"));
    assert_eq!(planted["action_status"], "sent", "{planted}");
    assert_eq!((acme["publishing_paused"].as_bool(), acme["paused_by"].as_str()), (Some(true), planted["alert_id"].as_str()), "{acme}");
    let initech = by_id("initech").unwrap_or_else(|| panic!("{brands}"));
    assert_eq!(initech["kill_switch_enabled"].as_bool(), Some(false), "{initech}");
    let pauses_sent = rx.requests().len();
    assert!(pauses_sent >= 1, "the planted crisis's pause reached the webhook");

    let shot = workspace_root().join("target/e2e/dashboard.png");
    let _ = std::fs::remove_file(&shot);
    let script = e2e_dir().join("dashboard.mjs");
    let log_path = workspace_root().join("target/e2e/dashboard.log");
    std::fs::create_dir_all(log_path.parent().unwrap()).unwrap();
    let log = std::fs::File::create(&log_path).unwrap();
    let mut node = Command::new("node")
        .arg(&script)
        .arg(format!("http://{api}"))
        .arg(API_TOKEN)
        .arg(&shot)
        .current_dir(e2e_dir())
        .env("BRANDPULSE_CHROMIUM", chromium())
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node ({e}); install the browser test's tools with `{SETUP}`"));
    let started = Instant::now();
    let status = loop {
        if let Some(st) = node.try_wait().unwrap() {
            break st;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = node.kill();
            let _ = node.wait();
            panic!(
                "the browser test did not finish within {BROWSER_TIMEOUT:?}; killed.\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let printed = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        status.success(),
        "the browser test failed ({status}); failure screenshot beside {}\n{printed}\n--- job log ---\n{}",
        shot.display(),
        tail(&job.log())
    );
    assert!(shot.is_file(), "no screenshot at {}\n{printed}", shot.display());
    eprintln!("{printed}screenshot: {}", shot.display());
    // SAVE_DASHBOARD_SCREENSHOT=docs/dashboard.png (relative to the workspace) keeps a copy, for README.
    if let Some(keep) = std::env::var_os("SAVE_DASHBOARD_SCREENSHOT").filter(|p| !p.is_empty()) {
        let keep = workspace_root().join(keep);
        std::fs::copy(&shot, &keep).unwrap_or_else(|e| panic!("copy the screenshot to {}: {e}", keep.display()));
        eprintln!("screenshot copied to {}", keep.display());
    }

    // The page's Resume reached the job and the webhook: acme is live, its history says why.
    let reqs = rx.wait_for(pauses_sent + 1, T);
    assert_eq!(reqs.len(), pauses_sent + 1, "the pauses and one resume (the refused ones sent nothing): {reqs:?}");
    let b = reqs[pauses_sent].json();
    assert_eq!((b["action"].as_str(), b["brand_id"].as_str()), (Some("resume_publishing"), Some("acme")), "{b}");
    let (_, brands) = http(&api, "GET", "/api/brands", None);
    let brands: Value = serde_json::from_str(&brands).unwrap();
    let acme = brands.as_array().unwrap().iter().find(|b| b["brand_id"] == "acme").unwrap();
    assert_eq!(acme["publishing_paused"], false, "{acme}");
    let hist: Vec<&str> = acme["history"].as_array().unwrap().iter().map(|h| h["trigger"].as_str().unwrap()).collect();
    assert_eq!(hist, ["crisis", "api"], "{acme}");
    // Ctrl-C ends the demo's serving, cleanly.
    job.signal(2);
    let status = job.wait_exit(T);
    assert!(status.success(), "the demo did not exit cleanly on SIGINT ({status}):\n{}", tail(&job.log()));
}
