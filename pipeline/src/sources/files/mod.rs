//! File source for `replay`: `DIR/<topic>.ndjson[.gz]`, each file one partition.
//!
//! Protocol: one JSON record per line (`\n` or `\r\n`), UTF-8, optionally gzip-compressed
//! (`.gz`). Files are read in rounds: round `k` is lines `k*B+1 ..= (k+1)*B` of every file, so
//! results do not depend on how files are spread over workers. Not supported: directories of
//! several files per topic (one file per topic), other compressions.

use anyhow::Context;
use operators::watermark::PartitionClock;
use schemas::Topic;
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

/// Finds the topic files of `dir`, in topic order (this order numbers the partitions).
///
/// # Errors
/// The directory is missing or unreadable, or holds both `x.ndjson` and `x.ndjson.gz`.
pub fn discover(dir: &Path) -> anyhow::Result<Vec<FileSpec>> {
    if !dir.is_dir() {
        anyhow::bail!("input directory {} does not exist (replay expects DIR/<topic>.ndjson files)", dir.display());
    }
    let mut specs = Vec::new();
    for topic in Topic::ALL {
        let plain = dir.join(format!("{}.ndjson", topic.name()));
        let gz = dir.join(format!("{}.ndjson.gz", topic.name()));
        match (plain.exists(), gz.exists()) {
            (true, true) => anyhow::bail!("both {} and {} exist: keep one", plain.display(), gz.display()),
            (true, false) | (false, true) => {
                let path = if plain.exists() { plain } else { gz };
                let bytes = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?.len();
                specs.push(FileSpec { topic, path, bytes });
            }
            (false, false) => {}
        }
    }
    Ok(specs)
}

/// An open partition being read.
pub struct FilePartition {
    /// Partition number (index in [`discover`]'s list).
    pub partition: u32,
    /// Its file.
    pub spec: FileSpec,
    reader: Box<dyn BufRead>,
    line: u64,
    /// The file has no more lines.
    pub finished: bool,
    /// Lateness clock (facts only).
    pub clock: PartitionClock,
    buf: Vec<u8>,
    /// Bytes read so far (uncompressed).
    pub bytes_read: u64,
}

impl FilePartition {
    /// Opens a file.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub fn open(partition: u32, spec: FileSpec, lateness_ms: i64) -> anyhow::Result<Self> {
        let file = std::fs::File::open(&spec.path).with_context(|| format!("opening {}", spec.path.display()))?;
        let raw: Box<dyn Read> = if spec.path.extension().is_some_and(|e| e == "gz") {
            Box::new(flate2::read::MultiGzDecoder::new(file))
        } else {
            Box::new(file)
        };
        Ok(FilePartition {
            partition,
            spec,
            reader: Box::new(BufReader::with_capacity(1 << 20, raw)),
            line: 0,
            finished: false,
            clock: PartitionClock::new(lateness_ms),
            buf: Vec::with_capacity(4096),
            bytes_read: 0,
        })
    }

    /// Reads up to `n` lines, calling `f(line_number, bytes)` for each (without the line end).
    ///
    /// # Errors
    /// An I/O error (including a corrupt gzip stream).
    pub fn read_round(&mut self, n: usize, mut f: impl FnMut(&mut PartitionClock, u64, &[u8])) -> anyhow::Result<()> {
        for _ in 0..n {
            self.buf.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("reading {} after line {}", self.spec.path.display(), self.line))?;
            if read == 0 {
                self.finished = true;
                return Ok(());
            }
            self.bytes_read += read as u64;
            self.line += 1;
            let mut s = self.buf.as_slice();
            if s.last() == Some(&b'\n') {
                s = &s[..s.len() - 1];
            }
            if s.last() == Some(&b'\r') {
                s = &s[..s.len() - 1];
            }
            f(&mut self.clock, self.line, s);
        }
        // Peek: a file whose last line was just read is finished now, not one round later.
        if self.reader.fill_buf().map(|b| b.is_empty()).unwrap_or(false) {
            self.finished = true;
        }
        Ok(())
    }
}
