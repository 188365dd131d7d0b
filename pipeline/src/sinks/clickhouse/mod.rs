//! The ClickHouse sink: current values of output rows, inserted over HTTP in RowBinary.
//!
//! Wire protocol: ClickHouse's HTTP interface through the `clickhouse` crate
//! (`INSERT INTO <table> (<columns>, version) FORMAT RowBinary`, body uncompressed, validation off
//! so that servers without `RowBinaryWithNamesAndTypes` work). Every row carries a `version`
//! ([`format::version`]); the tables are `ReplacingMergeTree(version)` (see the DDL's comment), so
//! a batch sent twice, a retried batch and a restarted job change nothing.
//!
//! Batching and backpressure: each worker buffers rows per table and hands a batch to the writer
//! thread when it holds `batch_rows` rows or its oldest row is `batch_ms` old. The hand-over queue
//! holds at most `queue_batches` batches; when it is full the worker blocks, so the dataflow and
//! its sources wait (nothing is dropped, memory stays bounded). The writer retries a batch until it
//! is written: on network errors, timeouts and server errors other than those listed in
//! [`retriable`], with exponential backoff (doubling, with jitter, up to `max_backoff_ms`). A
//! non-retriable error (bad data, unknown table or column, authentication) stops the sink and
//! fails the job with the server's message.
//!
//! Health: [`Health`] (also reachable through [`health`] for `/readyz`) says whether the server
//! answered the last attempt, how many batches wait, and what failed.
//!
//! Not supported: TLS client certificates, compression of the request body, the native protocol.

pub mod config;
pub mod format;
pub mod migrate;

use arrow::record_batch::RecordBatch;
use config::ClickHouseConfig;
use schemas::TableRow;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A ClickHouse client for `config` (database, user, password from the environment).
pub fn client(config: &ClickHouseConfig, with_database: bool) -> clickhouse::Client {
    let mut c = clickhouse::Client::default()
        .with_url(config.url.clone())
        .with_user(config.user.clone())
        .with_validation(false)
        .with_compression(clickhouse::Compression::None);
    if with_database {
        c = c.with_database(config.database.clone());
    }
    if let Some(p) = ClickHouseConfig::password_from_env() {
        c = c.with_password(p);
    }
    c
}

/// A single-threaded runtime for the crate's async API.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("starting the ClickHouse client runtime: {e}"))
}

/// The server's error code in a `clickhouse` crate error, if it has one.
pub fn server_code(e: &clickhouse::error::Error) -> Option<u32> {
    let clickhouse::error::Error::BadResponse(msg) = e else { return None };
    let at = msg.find("Code: ")? + 6;
    msg[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()
}

/// Server error codes that retrying cannot fix: the batch or the setup is wrong, not the weather.
/// Any other server error (too many parts, memory limit, timeouts, read-only replica, shutting
/// down, …) and every network error is retried.
pub const NON_RETRIABLE: &[(u32, &str)] = &[
    (6, "CANNOT_PARSE_TEXT"),
    (16, "NO_SUCH_COLUMN_IN_TABLE"),
    (26, "CANNOT_PARSE_QUOTED_STRING"),
    (27, "CANNOT_PARSE_INPUT_ASSERTION_FAILED"),
    (33, "CANNOT_READ_ALL_DATA (row does not match the table's columns)"),
    (38, "CANNOT_PARSE_DATE"),
    (41, "CANNOT_PARSE_DATETIME"),
    (47, "UNKNOWN_IDENTIFIER"),
    (53, "TYPE_MISMATCH"),
    (60, "UNKNOWN_TABLE (run `brandpulse clickhouse migrate`)"),
    (62, "SYNTAX_ERROR"),
    (70, "CANNOT_CONVERT_TYPE"),
    (81, "UNKNOWN_DATABASE (run `brandpulse clickhouse migrate`)"),
    (115, "UNKNOWN_SETTING"),
    (117, "INCORRECT_DATA"),
    (164, "READONLY (the user may not insert)"),
    (192, "UNKNOWN_USER"),
    (193, "WRONG_PASSWORD"),
    (194, "REQUIRED_PASSWORD"),
    (497, "ACCESS_DENIED"),
    (516, "AUTHENTICATION_FAILED"),
];

/// Whether an insert that failed with `e` should be tried again.
pub fn retriable(e: &clickhouse::error::Error) -> bool {
    use clickhouse::error::Error as E;
    match e {
        E::Network(_) | E::TimedOut => true,
        E::BadResponse(_) => match server_code(e) {
            Some(code) => !NON_RETRIABLE.iter().any(|(c, _)| *c == code),
            None => true, // an HTTP error without a ClickHouse code: a proxy or a restarting server
        },
        _ => false,
    }
}

/// What the sink reports about itself.
#[derive(Debug, Default)]
pub struct Health {
    /// The last insert attempt succeeded (or none was made yet).
    pub connected: AtomicBool,
    /// A non-retriable error stopped the sink.
    pub failed: AtomicBool,
    /// Batches handed to the writer and not yet written.
    pub pending: AtomicUsize,
    /// The most batches ever pending at once.
    pub max_pending: AtomicUsize,
    /// The queue bound (`queue_batches`).
    pub bound: AtomicUsize,
    /// Rows written.
    pub rows_written: AtomicU64,
    /// Batches written.
    pub batches_written: AtomicU64,
    /// Batches handed over (counted before the hand-over), for [`Buffers::wait_written`].
    pub batches_queued: AtomicU64,
    /// Failed attempts that were retried.
    pub retries: AtomicU64,
    /// Times a worker waited because the queue was full.
    pub waits: AtomicU64,
    /// The last error seen.
    pub last_error: Mutex<Option<String>>,
}

impl Health {
    /// Ready: not failed, the server answered the last attempt and the queue is not full.
    pub fn ready(&self) -> bool {
        !self.failed.load(Ordering::Relaxed)
            && self.connected.load(Ordering::Relaxed)
            && self.pending.load(Ordering::Relaxed) < self.bound.load(Ordering::Relaxed).max(1)
    }

    /// A one-line summary.
    pub fn describe(&self) -> String {
        format!(
            "clickhouse: {} rows in {} batches, {} retries, {} waits on a full queue, max {} batches pending (bound {}){}",
            self.rows_written.load(Ordering::Relaxed),
            self.batches_written.load(Ordering::Relaxed),
            self.retries.load(Ordering::Relaxed),
            self.waits.load(Ordering::Relaxed),
            self.max_pending.load(Ordering::Relaxed),
            self.bound.load(Ordering::Relaxed),
            match self.last_error.lock().ok().and_then(|e| e.clone()) {
                Some(e) => format!(", last error: {e}"),
                None => String::new(),
            }
        )
    }
}

static HEALTH: OnceLock<Arc<Health>> = OnceLock::new();

/// The health of this process's ClickHouse sink, when one was started (for `/readyz`).
pub fn health() -> Option<Arc<Health>> {
    HEALTH.get().cloned()
}

/// One INSERT: a table, its column list and RowBinary rows.
struct Batch {
    table: &'static str,
    columns: String,
    rows: usize,
    bytes: Vec<u8>,
}

/// The writer: owns the connection, writes batches in order, retrying.
pub struct ClickHouseSink {
    tx: Mutex<Option<SyncSender<Batch>>>,
    writer: Mutex<Option<std::thread::JoinHandle<anyhow::Result<()>>>>,
    health: Arc<Health>,
    config: ClickHouseConfig,
}

impl ClickHouseSink {
    /// Starts the writer thread.
    ///
    /// # Errors
    /// Invalid settings.
    pub fn start(config: &ClickHouseConfig) -> anyhow::Result<ClickHouseSink> {
        config.validate()?;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(config.queue_batches);
        let health = Arc::new(Health::default());
        health.bound.store(config.queue_batches, Ordering::Relaxed);
        health.connected.store(true, Ordering::Relaxed);
        let _ = HEALTH.set(health.clone());
        let cfg = config.clone();
        let h = health.clone();
        let writer = std::thread::Builder::new()
            .name("clickhouse-writer".into())
            .spawn(move || write_loop(cfg, rx, h))
            .map_err(|e| anyhow::anyhow!("starting the ClickHouse writer: {e}"))?;
        Ok(ClickHouseSink {
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(writer)),
            health,
            config: config.clone(),
        })
    }

    /// A buffer for one worker, feeding this sink.
    pub fn buffers(&self) -> Buffers {
        Buffers {
            tx: self.tx.lock().expect("not poisoned").clone().expect("sink not finished"),
            health: self.health.clone(),
            batch_rows: self.config.batch_rows,
            batch_age: Duration::from_millis(self.config.batch_ms),
            tables: BTreeMap::new(),
        }
    }

    /// The sink's health.
    #[allow(dead_code)] // the process-wide `health()` serves /readyz
    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Waits until every batch handed over was written (all [`Buffers`] must be flushed and
    /// dropped first).
    ///
    /// # Errors
    /// The writer stopped on a non-retriable error.
    pub fn finish(&self) -> anyhow::Result<Arc<Health>> {
        drop(self.tx.lock().expect("not poisoned").take());
        let writer = self.writer.lock().expect("not poisoned").take();
        match writer.map(|w| w.join()) {
            Some(Ok(r)) => r.map(|()| self.health.clone()),
            Some(Err(_)) => anyhow::bail!("the ClickHouse writer panicked"),
            None => Ok(self.health.clone()),
        }
    }
}

fn write_loop(config: ClickHouseConfig, rx: Receiver<Batch>, health: Arc<Health>) -> anyhow::Result<()> {
    let rt = runtime()?;
    let client = client(&config, true);
    let max_backoff = Duration::from_millis(config.max_backoff_ms.max(10));
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    while let Ok(batch) = rx.recv() {
        let sql = format!("INSERT INTO `{}` ({}) FORMAT RowBinary", batch.table, batch.columns);
        let mut backoff = Duration::from_millis(50);
        loop {
            let result = rt.block_on(async {
                let mut insert = client
                    .insert_formatted_with(sql.clone())
                    .with_timeouts(Some(Duration::from_secs(30)), Some(Duration::from_secs(60)));
                insert.send(bytes::Bytes::from(batch.bytes.clone())).await?;
                insert.end().await
            });
            match result {
                Ok(()) => {
                    health.connected.store(true, Ordering::Relaxed);
                    health.rows_written.fetch_add(batch.rows as u64, Ordering::Relaxed);
                    health.batches_written.fetch_add(1, Ordering::SeqCst);
                    health.pending.fetch_sub(1, Ordering::Relaxed);
                    break;
                }
                Err(e) if retriable(&e) => {
                    health.connected.store(false, Ordering::Relaxed);
                    health.retries.fetch_add(1, Ordering::Relaxed);
                    let msg = format!("insert into {} failed (will retry): {e}", batch.table);
                    tracing::warn!(table = batch.table, error = %e, backoff_ms = backoff.as_millis() as u64, "ClickHouse insert failed; retrying");
                    *health.last_error.lock().expect("not poisoned") = Some(msg);
                    // xorshift jitter: 50–100 % of the backoff, so restarted writers do not align.
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let jittered = backoff.mul_f64(0.5 + (seed % 1000) as f64 / 2000.0);
                    std::thread::sleep(jittered);
                    backoff = (backoff * 2).min(max_backoff);
                }
                Err(e) => {
                    health.connected.store(false, Ordering::Relaxed);
                    health.failed.store(true, Ordering::Relaxed);
                    let msg = format!("insert into {} failed and cannot be retried: {e}", batch.table);
                    *health.last_error.lock().expect("not poisoned") = Some(msg.clone());
                    anyhow::bail!(msg);
                }
            }
        }
    }
    Ok(())
}

struct TableBuffer {
    columns: String,
    rows: usize,
    bytes: Vec<u8>,
    since: Instant,
}

/// One worker's rows waiting to be batched, per table.
pub struct Buffers {
    tx: SyncSender<Batch>,
    health: Arc<Health>,
    batch_rows: usize,
    batch_age: Duration,
    tables: BTreeMap<&'static str, TableBuffer>,
}

impl Buffers {
    /// Adds rows of `T`'s table, all with `version`.
    ///
    /// # Errors
    /// The writer stopped (a non-retriable error).
    pub fn push<T: TableRow>(&mut self, rows: &[T], version: u64) -> anyhow::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        for chunk in rows.chunks(self.batch_rows) {
            let batch: RecordBatch = T::to_batch(chunk);
            let buf = self.table(T::TABLE, || format::columns(&batch));
            format::encode(&batch, version, &mut buf.bytes);
            buf.rows += chunk.len();
            if buf.rows >= self.batch_rows {
                self.send(T::TABLE)?;
            }
        }
        self.flush_aged()
    }

    /// Adds an `ads` dimension row.
    ///
    /// # Errors
    /// The writer stopped.
    pub fn push_ad(&mut self, row: &schemas::AdRow, version: u64) -> anyhow::Result<()> {
        let buf = self.table("ads", || format::AD_COLUMNS.to_string());
        format::encode_ad(row, version, &mut buf.bytes);
        buf.rows += 1;
        if buf.rows >= self.batch_rows {
            self.send("ads")?;
        }
        Ok(())
    }

    fn table(&mut self, table: &'static str, columns: impl FnOnce() -> String) -> &mut TableBuffer {
        let buf = self.tables.entry(table).or_insert_with(|| TableBuffer {
            columns: columns(),
            rows: 0,
            bytes: Vec::new(),
            since: Instant::now(),
        });
        if buf.rows == 0 {
            buf.since = Instant::now();
        }
        buf
    }

    fn send(&mut self, table: &'static str) -> anyhow::Result<()> {
        let Some(buf) = self.tables.get_mut(table) else { return Ok(()) };
        if buf.rows == 0 {
            return Ok(());
        }
        let batch = Batch {
            table,
            columns: buf.columns.clone(),
            rows: std::mem::take(&mut buf.rows),
            bytes: std::mem::take(&mut buf.bytes),
        };
        // Counted before the hand-over (the writer subtracts once written), so `pending` includes
        // a batch whose worker waits for room: at most `queue_batches` + 1 in flight + 1 per worker.
        let now = self.health.pending.fetch_add(1, Ordering::Relaxed) + 1;
        self.health.batches_queued.fetch_add(1, Ordering::SeqCst);
        self.health.max_pending.fetch_max(now, Ordering::Relaxed);
        let batch = match self.tx.try_send(batch) {
            Ok(()) => None,
            Err(std::sync::mpsc::TrySendError::Full(b)) => Some(b),
            Err(std::sync::mpsc::TrySendError::Disconnected(_)) => return Err(self.stopped()),
        };
        if let Some(b) = batch {
            // The queue is full: wait here, so the dataflow (and its sources) slow down.
            self.health.waits.fetch_add(1, Ordering::Relaxed);
            if self.tx.send(b).is_err() {
                return Err(self.stopped());
            }
        }
        Ok(())
    }

    fn stopped(&self) -> anyhow::Error {
        let e = self.health.last_error.lock().ok().and_then(|e| e.clone());
        anyhow::anyhow!("the ClickHouse sink stopped: {}", e.unwrap_or_else(|| "writer exited".into()))
    }

    /// Sends the tables whose oldest buffered row is older than `batch_ms`.
    ///
    /// # Errors
    /// The writer stopped.
    pub fn flush_aged(&mut self) -> anyhow::Result<()> {
        let aged: Vec<&'static str> = self
            .tables
            .iter()
            .filter(|(_, b)| b.rows > 0 && b.since.elapsed() >= self.batch_age)
            .map(|(t, _)| *t)
            .collect();
        for t in aged {
            self.send(t)?;
        }
        Ok(())
    }

    /// Sends everything buffered.
    ///
    /// # Errors
    /// The writer stopped.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        let all: Vec<&'static str> = self.tables.keys().copied().collect();
        for t in all {
            self.send(t)?;
        }
        Ok(())
    }

    /// Sends everything buffered and waits until the server has it (with every batch any worker
    /// handed over before): `run` calls this before it commits a checkpoint, so rows the
    /// checkpoint covers are never lost to a crash. Waits as long as the server is away.
    ///
    /// # Errors
    /// The writer stopped (a non-retriable error).
    pub fn wait_written(&mut self) -> anyhow::Result<()> {
        self.flush()?;
        // Batches are written in hand-over order, and every batch ahead of ours was counted
        // before ours was handed over: once this many are written, ours are too.
        let target = self.health.batches_queued.load(Ordering::SeqCst);
        let mut warned = Instant::now();
        while self.health.batches_written.load(Ordering::SeqCst) < target {
            if self.health.failed.load(Ordering::Relaxed) {
                return Err(self.stopped());
            }
            if warned.elapsed() > Duration::from_secs(10) {
                tracing::warn!(health = %self.health.describe(), "checkpoint waits for ClickHouse to accept rows");
                warned = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_are_decided_by_server_code() {
        let bad = |m: &str| clickhouse::error::Error::BadResponse(m.into());
        assert_eq!(server_code(&bad("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist")), Some(60));
        assert!(!retriable(&bad("Code: 60, e.displayText() = DB::Exception: Table x doesn't exist")));
        assert!(!retriable(&bad("Code: 516. DB::Exception: default: Authentication failed")));
        assert!(retriable(&bad("Code: 252, e.displayText() = DB::Exception: Too many parts")));
        assert!(retriable(&bad("Code: 241. DB::Exception: Memory limit exceeded")));
        assert!(retriable(&bad("503 Service Unavailable")));
        assert!(retriable(&clickhouse::error::Error::TimedOut));
    }
}
