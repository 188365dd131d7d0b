//! `brandpulse`: the stream-processing job's command line (SPEC §8).

mod actions;
mod checkpoint;
mod config;
mod demo;
mod generate;
mod http;
mod ids;
mod job;
mod live;
mod metrics;
mod produce;
mod run;
mod sinks;
mod sources;
mod summary;

use clap::{Args, Parser, Subcommand};

// The job allocates many small strings per event; mimalloc is markedly faster than glibc here.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::time::Instant;

/// brandpulse: live brand metrics, care SLAs and ad-comment crisis detection.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Configuration file (TOML); every key can be overridden by BRANDPULSE_* variables.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value = "text", env = "BRANDPULSE_LOG_FORMAT")]
    log_format: LogFormat,
    /// Print the effective configuration and exit.
    #[arg(long, global = true)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
struct Cluster {
    /// Timely worker threads in this process.
    #[arg(short = 'w', long, default_value_t = 1)]
    workers: usize,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a realistic multi-brand stream in process, run the full job, write Parquet, and
    /// serve the dashboard (`http.listen`) until Ctrl-C.
    Demo {
        /// Output directory.
        #[arg(long, default_value = "brandpulse-out")]
        out: PathBuf,
        /// Fact events to generate.
        #[arg(long, default_value_t = 200_000)]
        events: u64,
        /// Exit after the summary instead of serving the dashboard until Ctrl-C.
        #[arg(long)]
        no_serve: bool,
        /// Make the history end now and keep generating for HOURS more at wall-clock pace (new
        /// mentions, cases, the occasional crisis), so the dashboard moves; Ctrl-C stops it.
        #[arg(long, value_name = "HOURS", num_args = 0..=1, default_missing_value = "8")]
        follow: Option<f64>,
        #[command(flatten)]
        cluster: Cluster,
    },
    /// Run the dataflow over DIR/<topic>.ndjson[.gz] files (history: no kill-switch actions).
    Replay {
        /// Input directory.
        #[arg(long)]
        input: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Event-time width of an epoch in seconds (overrides replay.epoch_seconds).
        #[arg(long)]
        epoch_seconds: Option<u64>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Send the kill-switch actions of the replayed alerts (replay is history: by default
        /// they are only recorded), through the outbox of `--state-dir`.
        #[arg(long)]
        fire_actions: bool,
        /// Directory of the kill-switch outbox (overrides `run.state_dir`; with `--fire-actions`).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Serve the HTTP API (`http.listen`) and keep the job open after the input ends, for
        /// resumes, until SIGINT/SIGTERM; then write the final rows.
        #[arg(long)]
        serve: bool,
        /// `--out` already holds rows of an earlier run: replace its tables once this run
        /// completes (default: refuse, so that a re-run never adds duplicates).
        #[arg(long)]
        replace: bool,
        /// Read at most this many records per second (latency benchmarks; default: unpaced).
        #[arg(long)]
        rate: Option<f64>,
        /// Read at this many times real time: every worker reads an event-time epoch when its
        /// time has come, as a live feed arrives (latency benchmarks; default: unpaced).
        #[arg(long)]
        speed: Option<f64>,
        #[command(flatten)]
        cluster: Cluster,
    },
    /// The live job: Kafka in (config `[kafka]`); Parquet, alerts, dead letters, control out.
    Run {
        /// Stop when every partition reached the end it had at start, writing all state as final
        /// (process a Kafka backlog like `replay`).
        #[arg(long)]
        stop_at_end: bool,
        /// Where partitions start (overrides `kafka.start`): earliest, latest or stored.
        #[arg(long, value_parser = ["earliest", "latest", "stored"])]
        start: Option<String>,
        #[command(flatten)]
        cluster: Cluster,
    },
    /// ClickHouse administration (`[clickhouse]` in the config).
    Clickhouse {
        #[command(subcommand)]
        command: ClickhouseCommand,
    },
    /// Write the synthetic stream to NDJSON files (DIR/<topic>.ndjson) or to Kafka (`--kafka`).
    Generate {
        /// Output directory for the NDJSON files.
        #[arg(long, required_unless_present = "kafka")]
        out: Option<PathBuf>,
        /// Produce to the Kafka input topics of `[kafka]` instead of files.
        #[arg(long)]
        kafka: bool,
        /// Facts per second (Kafka; 0 = as fast as possible).
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// Partitions of topics that `--kafka` creates.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// Event times start now and follow the wall clock (a live feed, with `--rate`).
        #[arg(long)]
        live: bool,
        /// Fact events to generate.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// RNG seed.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Fraction of mentions and comments with upstream sentiment.
        #[arg(long, default_value_t = 0.5)]
        upstream_sentiment: f64,
        /// Event-time span in hours.
        #[arg(long, default_value_t = 24.0)]
        hours: f64,
    },
}

#[derive(Subcommand, Debug)]
enum ClickhouseCommand {
    /// Create the database, tables and views (deploy/clickhouse/migrations), recording each
    /// applied migration in `brandpulse_migrations`; safe to run again.
    Migrate,
}

/// Logs to stderr, every line redacted ([`config::redact::Secrets`]): the secret values read from
/// the environment and URL credentials never reach the log, whatever a library puts in a message.
fn init_logging(format: LogFormat, secrets: std::sync::Arc<config::redact::Secrets>) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BRANDPULSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(config::redact::RedactingStderr(secrets));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A panic in a timely worker (or the main thread) ends the process with status 101: the other
/// workers would otherwise wait forever for the dead one's progress. A restart resumes from the
/// last checkpoint (`run`) or starts over (`replay`); the outbox keeps actions exactly once.
fn exit_on_worker_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let name = std::thread::current().name().map(str::to_owned).unwrap_or_default();
        if name == "main" || name.starts_with("timely:work") {
            eprintln!("error: thread `{name}` panicked; stopping the job (exit status 101)");
            std::process::exit(101);
        }
    }));
}

fn main() {
    let cli = Cli::parse();
    // The secrets of the environment are known before anything can print them; the config adds
    // the token variables it names.
    let defaults = config::Config::default();
    let mut secrets = config::redact::Secrets::from_env(defaults.secret_variables());
    let config = match config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {}", secrets.redact(&format!("{e:#}")));
            std::process::exit(1);
        }
    };
    for name in config.secret_variables() {
        if let Ok(v) = std::env::var(&name) {
            secrets.add(v);
        }
    }
    let secrets = std::sync::Arc::new(secrets);
    init_logging(cli.log_format, secrets.clone());
    exit_on_worker_panic();
    if let Err(e) = run(cli, config) {
        eprintln!("error: {}", secrets.redact(&format!("{e:#}")));
        std::process::exit(1);
    }
}

fn run(cli: Cli, mut config: config::Config) -> anyhow::Result<()> {
    if cli.print_config {
        println!("{}", config.to_redacted_toml()?);
        return Ok(());
    }
    let Some(command) = cli.command else {
        anyhow::bail!("no command given: try `brandpulse demo`, or `brandpulse --help`");
    };
    match command {
        Command::Replay {
            input,
            out,
            epoch_seconds,
            quiet,
            fire_actions,
            state_dir,
            serve,
            replace,
            rate,
            speed,
            cluster,
        } => {
            if let Some(e) = epoch_seconds {
                config::check_range("--epoch-seconds (replay.epoch_seconds)", e, 1, 86_400)?;
                config.replay.epoch_seconds = e;
            }
            if let Some(d) = state_dir {
                config.run.state_dir = d;
            }
            let started = Instant::now();
            let actions = if fire_actions || serve {
                Some(actions::Actions::new(&config.actions, fire_actions, Some(&config.run.state_dir), None)?)
            } else {
                None
            };
            let live = serve.then(|| live::Live::new(config.http.retention_minutes));
            if let Some(live) = &live {
                let a = actions.as_ref().expect("created for --serve");
                http::serve(&config.http, a, live)?;
                let _ = ctrlc::set_handler(|| job::STOP_SERVING.store(true, std::sync::atomic::Ordering::SeqCst));
            }
            http::READY.store(true, std::sync::atomic::Ordering::Relaxed);
            let summary = job::run_replay(job::ReplayJob {
                input,
                out: out.clone(),
                workers: cluster.workers,
                config: config.clone(),
                progress: !quiet,
                actions: actions.clone(),
                serve,
                replace,
                rate,
                speed,
                live,
                follow: false,
            })?;
            if let Some(a) = actions {
                if !a.drain(std::time::Duration::from_secs(config.actions.deadline_seconds + 5)) {
                    eprintln!("kill-switch actions still being delivered at exit: they are sent again on the next start (outbox)");
                }
                a.shutdown();
            }
            eprintln!("{}", summary.render(started.elapsed().as_secs_f64()));
            eprintln!("Parquet written under {}", out.display());
            Ok(())
        }
        Command::Clickhouse { command: ClickhouseCommand::Migrate } => {
            let m = sinks::clickhouse::migrate::migrate(&config.clickhouse)?;
            eprintln!(
                "ClickHouse {} at {}: database {}; applied migrations {:?}, already applied {:?}",
                m.server_version,
                config::redact::Redacted(&config.clickhouse.url),
                config.clickhouse.database,
                m.applied,
                m.already
            );
            Ok(())
        }
        Command::Demo { out, events, no_serve, follow, cluster } => {
            if let Some(h) = follow {
                anyhow::ensure!(h.is_finite() && h > 0.0 && h <= 8760.0, "--follow HOURS must be in (0, 8760], not {h}");
            }
            let job = demo::DemoJob { out, events, workers: cluster.workers, serve: !no_serve, follow_hours: follow };
            demo::demo(job, config)
        }
        Command::Run { stop_at_end, start, cluster } => {
            if let Some(s) = start {
                config.kafka.start = match s.as_str() {
                    "earliest" => sources::kafka::config::StartFrom::Earliest,
                    "latest" => sources::kafka::config::StartFrom::Latest,
                    _ => sources::kafka::config::StartFrom::Stored,
                };
            }
            let started = Instant::now();
            let summary = run::run(run::RunJob { config: config.clone(), workers: cluster.workers, stop_at_end })?;
            eprintln!("{}", summary.render(started.elapsed().as_secs_f64()));
            if !config.run.parquet_dir.as_os_str().is_empty() {
                eprintln!("Parquet written under {}", config.run.parquet_dir.display());
            }
            Ok(())
        }
        Command::Generate { out, kafka, rate, partitions, live, events, seed, upstream_sentiment, hours } => {
            if kafka {
                let mut g = generate::GenConfig::demo();
                g.seed = seed;
                g.events = events;
                g.upstream_sentiment = upstream_sentiment.clamp(0.0, 1.0);
                g.span_ms = (hours * 3_600_000.0) as i64;
                let p = produce::generate_to_kafka(&config.kafka, g, rate, partitions, live)?;
                let total: u64 = p.per_topic.values().sum();
                eprintln!(
                    "produced {total} records to {} in {:.2} s ({:.0} records/s): {:?}",
                    config.kafka.brokers,
                    p.seconds,
                    total as f64 / p.seconds.max(1e-9),
                    p.per_topic
                );
                return Ok(());
            }
            let out = out.ok_or_else(|| anyhow::anyhow!("generate needs --out DIR (or --kafka)"))?;
            generate_cmd(out, events, seed, upstream_sentiment, hours)
        }
    }
}

fn generate_cmd(out: PathBuf, events: u64, seed: u64, upstream: f64, hours: f64) -> anyhow::Result<()> {
    demo::generate(out, events, seed, upstream, hours)
}
