//! `demo` and `generate`: the synthetic stream written as NDJSON files, and the demo run over it.

use crate::config::Config;
use crate::generate::{GenConfig, Generator};
use crate::job::{run_replay, ReplayJob};
use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Writes the generator's records to `dir/<topic>.ndjson`; returns records per topic.
///
/// # Errors
/// The directory or a file cannot be written.
pub fn write_ndjson(cfg: GenConfig, dir: &Path) -> anyhow::Result<BTreeMap<&'static str, u64>> {
    std::fs::create_dir_all(dir)?;
    let mut files: BTreeMap<&'static str, BufWriter<std::fs::File>> = BTreeMap::new();
    let mut counts = BTreeMap::new();
    for topic in ["brands", "ads", "mentions", "ad_comments", "care_events"] {
        let f = std::fs::File::create(dir.join(format!("{topic}.ndjson")))?;
        files.insert(topic, BufWriter::with_capacity(1 << 20, f));
    }
    for rec in Generator::new(cfg) {
        let w = files
            .get_mut(rec.topic)
            .ok_or_else(|| anyhow::anyhow!("generator produced unknown topic {}", rec.topic))?;
        w.write_all(&rec.line)?;
        w.write_all(b"\n")?;
        *counts.entry(rec.topic).or_default() += 1;
    }
    for (_, mut w) in files {
        w.flush()?;
    }
    Ok(counts)
}

/// `brandpulse generate`: NDJSON files for replay.
///
/// # Errors
/// Writing failed.
pub fn generate(out: PathBuf, events: u64, seed: u64, upstream: f64, hours: f64) -> anyhow::Result<()> {
    let mut cfg = GenConfig::demo();
    cfg.seed = seed;
    cfg.events = events;
    cfg.upstream_sentiment = upstream.clamp(0.0, 1.0);
    cfg.span_ms = (hours * 3_600_000.0) as i64;
    let started = Instant::now();
    let counts = write_ndjson(cfg, &out)?;
    let total: u64 = counts.values().sum();
    eprintln!("wrote {total} records to {} in {:.2} s: {counts:?}", out.display(), started.elapsed().as_secs_f64());
    Ok(())
}

/// What `brandpulse demo` does.
#[derive(Debug, Clone)]
pub struct DemoJob {
    /// Output directory (Parquet under it, the generated input in `input/`).
    pub out: PathBuf,
    /// Fact events of the history (4 h of event time).
    pub events: u64,
    /// Timely workers.
    pub workers: usize,
    /// Serve the dashboard (`http.listen`) while the demo runs and after its summary, until
    /// Ctrl-C; off (`--no-serve`): exit after the summary.
    pub serve: bool,
    /// `--follow HOURS`: the history ends now, and the stream goes on for HOURS more at
    /// wall-clock pace (new mentions, cases, the occasional crisis), read as a live feed.
    pub follow_hours: Option<f64>,
}

/// Epoch width under `--follow`: the page moves every few seconds.
const FOLLOW_EPOCH_SECONDS: u64 = 5;

/// `brandpulse demo`: generate, replay with the whole job, print the summary, serve the
/// dashboard.
///
/// # Errors
/// Writing the input, binding the HTTP address or running the job failed.
pub fn demo(job: DemoJob, mut config: Config) -> anyhow::Result<()> {
    let DemoJob { out, events, workers, serve, follow_hours } = job;
    let mut cfg = GenConfig::demo();
    cfg.events = events;
    if let Some(hours) = follow_hours {
        // The history's 4 h end now; the generator goes on at the same rate for `hours` more.
        let history_ms = cfg.span_ms;
        let follow_ms = (hours.clamp(0.0, 24.0 * 365.0) * 3_600_000.0) as i64;
        cfg.start_ms = crate::job::now_ms() - history_ms;
        cfg.span_ms = history_ms + follow_ms;
        cfg.events = (events as f64 * cfg.span_ms as f64 / history_ms as f64) as u64;
        config.replay.epoch_seconds = FOLLOW_EPOCH_SECONDS;
    }
    let input = out.join("input");
    if out.exists() {
        // A previous demo's output: start clean so rows are not mixed with an older run.
        for table in crate::sinks::parquet::rerun::TABLES.into_iter().chain(["input", "state"]) {
            let p = out.join(table);
            if p.exists() {
                std::fs::remove_dir_all(&p)?;
            }
        }
    }
    let planted = Generator::new(cfg.clone()).planted();
    eprintln!(
        "brandpulse demo: generating {events} events over {:.1} h of event time into {}",
        cfg.span_ms as f64 / 3.6e6,
        input.display()
    );
    let counts = write_ndjson(cfg, &input)?;
    eprintln!("generated {counts:?}");
    let started = Instant::now();
    // The demo fires its kill switch: to `actions.url` when configured, else logged as
    // "would send" (its outbox lives under OUT/state, cleared above).
    let actions = crate::actions::Actions::new(&config.actions, true, Some(&out.join("state")), None)?;
    if config.actions.url.is_empty() {
        eprintln!("no actions.url configured: kill-switch actions are logged as \"would send\" (set BRANDPULSE_ACTIONS__URL to send them)");
    }
    let deadline = std::time::Duration::from_secs(config.actions.deadline_seconds + 5);
    let live = crate::live::Live::new(config.http.retention_minutes);
    let stop = stop_signal();
    let dashboard = if serve {
        let token = std::env::var(&config.http.token_env).ok().filter(|t| !t.is_empty());
        let (token, generated) = match token {
            Some(t) => (t, false),
            None => (format!("{:032x}", rand::random::<u128>()), true),
        };
        let addr = crate::http::serve_with_token(&config.http, &actions, &live, Some(token.clone()))?;
        crate::http::READY.store(true, std::sync::atomic::Ordering::Relaxed);
        let how = if generated {
            format!("the Resume button's API token for this demo is {token} (set {} to choose one)", config.http.token_env)
        } else {
            format!("the Resume button's API token is the value of {}", config.http.token_env)
        };
        eprintln!("dashboard: http://{addr}/ ({how})");
        Some((addr, how))
    } else {
        None
    };
    let summary = run_replay(ReplayJob {
        input,
        out: out.clone(),
        workers,
        config,
        progress: follow_hours.is_none(),
        actions: Some(actions.clone()),
        serve: false,
        // Its tables were cleared above.
        replace: false,
        rate: None,
        speed: None,
        live: Some(live),
        follow: follow_hours.is_some(),
    })?;
    actions.drain(deadline);
    for a in actions.actions() {
        println!(
            "kill-switch action {} {} for {}: {} after {} attempt(s)",
            a.action,
            crate::ids::for_log(&a.key),
            crate::ids::for_log(if a.brand_id.is_empty() { "-" } else { &a.brand_id }),
            a.status,
            a.attempts
        );
    }
    println!("{}", summary.render(started.elapsed().as_secs_f64()));
    println!(
        "planted crisis: brand {} ad {} from {}; {}",
        planted.crisis_brand,
        planted.crisis_ad,
        schemas::time::format_rfc3339(planted.crisis_start_ms),
        if summary.alerts.iter().any(|a| a.ad_id == planted.crisis_ad) {
            "detected (see alerts above)"
        } else {
            "NOT detected"
        }
    );
    if let Some(b) = &planted.disabled_brand {
        println!("brand {b} has its kill switch disabled: its alerts are recorded with action_status `disabled`");
    }
    println!("Parquet written under {}/ (tables: brand_metrics_minute, ad_metrics_minute, care_cases, alerts, brand_status, dead_letter)", out.display());
    if let Some((addr, how)) = dashboard {
        if !crate::job::STOP_SERVING.load(std::sync::atomic::Ordering::SeqCst) {
            println!("dashboard: http://{addr}/ ({how}); serving until Ctrl-C");
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            // Until SIGINT/SIGTERM: the page keeps serving the finished run, and Resume works.
            let _ = stop.recv();
        }
    }
    actions.shutdown();
    Ok(())
}

/// A channel that receives once SIGINT or SIGTERM arrives (which also ends a `--follow` feed
/// through [`crate::job::STOP_SERVING`]).
fn stop_signal() -> std::sync::mpsc::Receiver<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = ctrlc::set_handler(move || {
        crate::job::STOP_SERVING.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = tx.send(());
    });
    rx
}
