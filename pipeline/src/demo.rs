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

/// `brandpulse demo`: generate, replay with the whole job, print the summary.
///
/// # Errors
/// Writing the input or running the job failed.
pub fn demo(out: PathBuf, events: u64, workers: usize, config: Config) -> anyhow::Result<()> {
    let mut cfg = GenConfig::demo();
    cfg.events = events;
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
    let summary = run_replay(ReplayJob {
        input,
        out: out.clone(),
        workers,
        config,
        progress: true,
        actions: Some(actions.clone()),
        serve: false,
        // Its tables were cleared above.
        replace: false,
        rate: None,
        speed: None,
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
    actions.shutdown();
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
    Ok(())
}
