//! File source for `replay`: `DIR/<topic>.ndjson[.gz]`, each file one partition.
//!
//! Protocol: one JSON record per line (`\n` or `\r\n`), UTF-8, optionally gzip-compressed
//! (`.gz`). Files are read in event-time rounds: the epoch of a line is its `ts` divided by the
//! epoch width (never less than the previous line's), so every file advances through event time
//! together. A line's epoch is decided once the file's next [`JumpRule::confirm`] lines have
//! been read: a line far ahead of its file (the jump rule, `docs/semantics.md` "Time") is read
//! with its neighbours instead of holding the rest of the file back until its epoch, and the rows do not depend on how files are spread over workers. A topic may be
//! split into partition files `<topic>.<n>.ndjson[.gz]` (e.g. one per Kafka partition), each its
//! own partition. Not supported: other compressions.
//!
//! A file is read in order by the worker that owns it, but its lines are decoded in batches on
//! every core (rayon): one large file (the usual replay of one topic) does not leave the other
//! cores idle. Decoding is a pure function of the line, so the batches change nothing but speed:
//! each line still enters the jump rule's look-ahead one at a time, in file order.

use anyhow::Context;
use operators::watermark::{JumpRule, PartitionClock};
use operators::Epoch;
use schemas::{BrandProfile, Decoded, Topic};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One input file.
#[derive(Debug, Clone)]
pub struct FileSpec {
    /// The topic, from the file name.
    pub topic: Topic,
    /// The path.
    pub path: PathBuf,
    /// Size in bytes (compressed size for `.gz`).
    pub bytes: u64,
}

/// Finds the topic files of `dir`, in topic order, then partition number (this order numbers
/// the partitions).
///
/// # Errors
/// The directory is missing or unreadable, or holds both `x.ndjson` and `x.ndjson.gz`.
pub fn discover(dir: &Path) -> anyhow::Result<Vec<FileSpec>> {
    if !dir.is_dir() {
        anyhow::bail!("input directory {} does not exist (replay expects DIR/<topic>.ndjson files)", dir.display());
    }
    let names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().to_string()))
        .collect();
    let mut specs = Vec::new();
    for topic in Topic::ALL {
        // `<topic>.ndjson` first, then `<topic>.<n>.ndjson` by n; each optionally `.gz`.
        let mut found: Vec<(Option<u64>, String)> = Vec::new();
        for name in &names {
            let base = name.strip_suffix(".gz").unwrap_or(name);
            let Some(stem) = base.strip_suffix(".ndjson") else { continue };
            if stem == topic.name() {
                found.push((None, name.clone()));
            } else if let Some(n) = stem.strip_prefix(topic.name()).and_then(|r| r.strip_prefix('.')) {
                if let Ok(n) = n.parse::<u64>() {
                    found.push((Some(n), name.clone()));
                }
            }
        }
        found.sort();
        for w in found.windows(2) {
            if w[0].0 == w[1].0 {
                anyhow::bail!(
                    "both {} and {} exist: keep one",
                    dir.join(&w[0].1).display(),
                    dir.join(&w[1].1).display()
                );
            }
        }
        for (_, name) in found {
            let path = dir.join(name);
            let bytes = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.len();
            specs.push(FileSpec { topic, path, bytes });
        }
    }
    Ok(specs)
}

/// A line read ahead: decoded, with the epoch it belongs to.
pub struct Pending {
    /// 1-based line number.
    pub line: u64,
    /// The line without its end.
    pub bytes: Vec<u8>,
    /// The decoded record or why it was rejected.
    pub decoded: Decoded,
    /// The epoch the line is read in.
    pub epoch: Epoch,
}

/// An open partition being read.
pub struct FilePartition {
    /// Partition number (index in [`discover`]'s list).
    pub partition: u32,
    /// Its file.
    pub spec: FileSpec,
    reader: Box<dyn BufRead>,
    line: u64,
    /// The file has no more lines (and nothing is pending).
    pub finished: bool,
    /// Lateness clock (facts only).
    pub clock: PartitionClock,
    /// The jump rule over every line with a `ts` (dimension rows too), run
    /// [`JumpRule::confirm`] lines ahead of the line being placed.
    placement: PartitionClock,
    /// Lines read and decoded whose epoch is not decided yet, with their `ts`.
    ahead: VecDeque<(Pending, Option<i64>)>,
    look_ahead: usize,
    at_eof: bool,
    read_error: Option<anyhow::Error>,
    pending: Option<Pending>,
    last_epoch: Epoch,
    /// Bytes read so far (uncompressed).
    pub bytes_read: u64,
    /// The line being read.
    scratch: Vec<u8>,
    /// Lines read and decoded (in a batch) that have not entered the look-ahead yet.
    decoded: VecDeque<Decoded1>,
    /// A read error met while filling a batch: reported once the lines before it are taken.
    batch_error: Option<anyhow::Error>,
    /// No more lines in the file (the batches may still hold some).
    raw_eof: bool,
}

/// A line decoded in a batch: number, bytes, record, `ts`.
type Decoded1 = (u64, Vec<u8>, Decoded, Option<i64>);

/// Lines decoded together (on every core); also bounded by [`BATCH_BYTES`].
const BATCH_LINES: usize = 8192;
const BATCH_BYTES: usize = 4 << 20;
/// Lines one rayon task decodes at least (a task per line would cost more than the line).
const MIN_LINES_PER_TASK: usize = 512;

/// The replay epoch of an event time: `ts / epoch_ms`, never before the file's previous line.
fn epoch_of(ts: i64, epoch_ms: i64, last: Epoch) -> Epoch {
    let e = if ts <= 0 { 0 } else { (ts / epoch_ms.max(1)) as Epoch };
    e.max(last)
}

#[derive(serde::Deserialize)]
struct TsOnly {
    ts: Option<schemas::time::EventTime>,
}

impl FilePartition {
    /// Opens a file.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(partition: u32, spec: FileSpec, lateness_ms: i64, rule: JumpRule) -> anyhow::Result<Self> {
        let file = std::fs::File::open(&spec.path).with_context(|| format!("opening {}", spec.path.display()))?;
        let raw: Box<dyn Read> = if spec.path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        let fact = spec.topic.is_fact();
        Ok(FilePartition {
            partition,
            spec,
            reader: Box::new(BufReader::with_capacity(1 << 20, raw)),
            line: 0,
            finished: false,
            clock: PartitionClock::with_rule(lateness_ms, rule),
            placement: PartitionClock::with_rule(if fact { lateness_ms } else { i64::MAX }, rule),
            ahead: VecDeque::new(),
            look_ahead: rule.confirm as usize,
            at_eof: false,
            read_error: None,
            pending: None,
            last_epoch: 0,
            bytes_read: 0,
            scratch: Vec::with_capacity(1024),
            decoded: VecDeque::new(),
            batch_error: None,
            raw_eof: false,
        })
    }

    /// The next line, read and decoded ahead, or `None` at the end of the file.
    ///
    /// A fact line's epoch is its `ts / epoch_ms`; a dimension row's is that of its optional
    /// `ts` field (rows without one are read at the start); a line without a usable time, older
    /// than the previous line, or far ahead of the file under the jump rule, is read with the
    /// previous line.
    ///
    /// # Errors
    /// An I/O error (including a corrupt gzip stream).
    pub fn peek(&mut self, epoch_ms: i64, defaults: &BrandProfile) -> anyhow::Result<Option<&Pending>> {
        if self.pending.is_none() && !self.finished {
            while !self.at_eof && self.ahead.len() <= self.look_ahead {
                if let Err(e) = self.read_line(defaults) {
                    // The lines read before the error are still delivered, then the error.
                    self.at_eof = true;
                    self.read_error = Some(e);
                }
            }
            let Some((mut line, ts)) = self.ahead.pop_front() else {
                if let Some(e) = self.read_error.take() {
                    return Err(e);
                }
                self.finished = true;
                return Ok(None);
            };
            // `M_p` as it stands `look_ahead` lines later: an outlier is placed at it.
            let at = ts.map(|ts| self.placement.max_ts().map_or(ts, |m| ts.min(m)));
            line.epoch = at.map_or(self.last_epoch, |ts| epoch_of(ts, epoch_ms, self.last_epoch));
            self.last_epoch = line.epoch;
            self.pending = Some(line);
        }
        Ok(self.pending.as_ref())
    }

    /// Moves the next decoded line into the look-ahead, admitting its `ts` to the placement
    /// clock (or notes the end of the file).
    ///
    /// # Errors
    /// A read error, after every line read before it was moved.
    fn read_line(&mut self, defaults: &BrandProfile) -> anyhow::Result<()> {
        if self.decoded.is_empty() && !self.raw_eof {
            self.fill_batch(defaults);
        }
        let Some((line, bytes, decoded, ts)) = self.decoded.pop_front() else {
            self.at_eof = true;
            return match self.batch_error.take() {
                Some(e) => Err(e),
                None => Ok(()),
            };
        };
        if let Some(ts) = ts {
            self.placement.admit(ts);
        }
        self.ahead.push_back((Pending { line, bytes, decoded, epoch: 0 }, ts));
        Ok(())
    }

    /// Reads the next batch of lines and decodes them on every core.
    fn fill_batch(&mut self, defaults: &BrandProfile) {
        let mut lines: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut size = 0;
        while lines.len() < BATCH_LINES && size < BATCH_BYTES {
            // Read into a reused scratch buffer, then copy the line once at its exact size
            // (growing a fresh `Vec` per line reallocates it several times).
            let scratch = &mut self.scratch;
            scratch.clear();
            let read = match self.reader.read_until(b'\n', scratch) {
                Ok(n) => n,
                Err(e) => {
                    let at = format!("reading {} after line {}", self.spec.path.display(), self.line);
                    self.batch_error = Some(anyhow::Error::new(e).context(at));
                    self.raw_eof = true;
                    break;
                }
            };
            if read == 0 {
                self.raw_eof = true;
                break;
            }
            self.bytes_read += read as u64;
            self.line += 1;
            if scratch.last() == Some(&b'\n') {
                scratch.pop();
            }
            if scratch.last() == Some(&b'\r') {
                scratch.pop();
            }
            size += scratch.len();
            lines.push((self.line, scratch.to_vec()));
        }
        let topic = self.spec.topic;
        let decode = |(line, bytes): (u64, Vec<u8>)| -> Decoded1 {
            let decoded = schemas::decode(topic, &bytes, defaults);
            let ts = match &decoded {
                Ok(ev) if topic.is_fact() => ev.ts(),
                Ok(_) => serde_json::from_slice::<TsOnly>(&bytes).ok().and_then(|t| t.ts).map(|t| t.0),
                Err(_) => None,
            };
            (line, bytes, decoded, ts)
        };
        if lines.len() < 2 * MIN_LINES_PER_TASK {
            self.decoded.extend(lines.into_iter().map(decode));
        } else {
            let batch: Vec<Decoded1> = lines.into_par_iter().with_min_len(MIN_LINES_PER_TASK).map(decode).collect();
            self.decoded.extend(batch);
        }
    }

    /// Takes the line returned by the last [`peek`](Self::peek).
    pub fn take(&mut self) -> Option<Pending> {
        self.pending.take()
    }
}
