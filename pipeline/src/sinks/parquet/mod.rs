//! Parquet sink (SPEC §7): final rows under `<out>/<table>/date=YYYY-MM-DD/part-<worker>-<seq>.parquet`.
//!
//! Each worker writes its own files. A file is written under a `.tmp` name and renamed when
//! complete, so a reader never sees a partial file. Rows are buffered per table and written when
//! the buffer is full or at the end; one file per (flush, date). Compression: Snappy.

pub mod rerun;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use schemas::time::format_date;
use schemas::TableRow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Rows buffered before a flush.
pub const DEFAULT_BUFFER_ROWS: usize = 256 * 1024;

/// Writes one output table of one worker.
pub struct ParquetTable<R: TableRow> {
    dir: PathBuf,
    worker: usize,
    seq: u64,
    rows: Vec<R>,
    buffer_rows: usize,
    written: u64,
}

impl<R: TableRow> ParquetTable<R> {
    /// A table under `out/<table>/`, written by `worker`.
    pub fn new(out: &Path, worker: usize) -> Self {
        ParquetTable {
            dir: out.join(R::TABLE),
            worker,
            seq: 0,
            rows: Vec::new(),
            buffer_rows: DEFAULT_BUFFER_ROWS,
            written: 0,
        }
    }

    /// A table resumed from a checkpoint: this worker's files numbered `seq` or later (written
    /// after the checkpoint, so their rows will be produced again) are removed, and numbering
    /// continues at `seq`.
    ///
    /// # Errors
    /// The table directory cannot be listed or a file cannot be removed.
    pub fn resume(out: &Path, worker: usize, seq: u64) -> anyhow::Result<Self> {
        let mut t = Self::new(out, worker);
        t.seq = seq;
        let prefix = format!("part-{worker:03}-");
        let tmp_prefix = format!(".part-{worker:03}-");
        if t.dir.is_dir() {
            for date in std::fs::read_dir(&t.dir)? {
                let date = date?.path();
                if !date.is_dir() {
                    continue;
                }
                for f in std::fs::read_dir(&date)? {
                    let f = f?.path();
                    let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                    let rest = name.strip_prefix(&prefix).or_else(|| name.strip_prefix(&tmp_prefix));
                    let n: Option<u64> = rest.and_then(|r| r.split('.').next()).and_then(|d| d.parse().ok());
                    if n.is_some_and(|n| n >= seq) {
                        std::fs::remove_file(&f)?;
                    }
                }
            }
        }
        Ok(t)
    }

    /// The number the next file will get (saved in checkpoints).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Buffers rows, flushing when the buffer is full.
    ///
    /// # Errors
    /// An I/O or encoding error of the flush.
    pub fn push(&mut self, rows: impl IntoIterator<Item = R>) -> anyhow::Result<()> {
        self.rows.extend(rows);
        if self.buffer_rows > 0 && self.rows.len() >= self.buffer_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Buffers rows without flushing (the caller flushes at checkpoints).
    pub fn push_unflushed(&mut self, rows: impl IntoIterator<Item = R>) {
        self.rows.extend(rows);
    }

    /// Rows written so far (flushed).
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes the buffered rows, one file per date, each complete before it is visible.
    ///
    /// # Errors
    /// An I/O or encoding error; the temporary file is removed.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let mut by_date: BTreeMap<String, Vec<R>> = BTreeMap::new();
        for r in self.rows.drain(..) {
            by_date.entry(format_date(r.date_ms())).or_default().push(r);
        }
        for (date, rows) in by_date {
            let dir = self.dir.join(format!("date={date}"));
            std::fs::create_dir_all(&dir)?;
            let name = format!("part-{:03}-{:06}.parquet", self.worker, self.seq);
            self.seq += 1;
            let tmp = dir.join(format!(".{name}.tmp"));
            let result = write_file(&tmp, &rows);
            if let Err(e) = result {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
            std::fs::rename(&tmp, dir.join(&name))?;
            self.written += rows.len() as u64;
        }
        Ok(())
    }
}

fn write_file<R: TableRow>(path: &Path, rows: &[R]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, R::schema(), Some(props))?;
    for chunk in rows.chunks(64 * 1024) {
        writer.write(&R::to_batch(chunk))?;
    }
    let file = writer.into_inner()?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use schemas::AdMinuteRow;

    #[test]
    fn rows_land_in_date_partitions_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = ParquetTable::<AdMinuteRow>::new(dir.path(), 1);
        let row = |ws: i64| AdMinuteRow {
            ad_id: "ad-1".into(),
            window_start: ws,
            brand_id: "acme".into(),
            campaign_id: Some("c".into()),
            comments: 3,
            comments_negative: 1,
            comments_risky: 0,
            comments_unscored: 0,
            sentiment_sum: 0.25,
            sentiment_count: 3,
        };
        t.push([row(0), row(86_400_000), row(60_000)]).unwrap();
        t.flush().unwrap();
        let f = dir.path().join("ad_metrics_minute/date=1970-01-01/part-001-000000.parquet");
        let reader =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&f).unwrap()).unwrap().build().unwrap();
        let n: usize = reader.map(|b| b.unwrap().num_rows()).sum();
        assert_eq!(n, 2);
        assert!(dir.path().join("ad_metrics_minute/date=1970-01-02").exists());
        assert_eq!(t.written(), 3);
        // No temporary files are left behind.
        let leftovers = std::fs::read_dir(f.parent().unwrap())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
            .count();
        assert_eq!(leftovers, 0);
    }
}
