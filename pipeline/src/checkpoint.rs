//! Checkpoints of the live job: per-worker operator state, source cursors and Parquet numbering
//! at one epoch, committed together under the state directory.
//!
//! Layout: `<state_dir>/checkpoints/<epoch>/worker-<i>.json` (cursors, Parquet file numbers, the
//! names of the snapshot files) and `worker-<i>.<operator>.bin` (operator snapshots), then
//! `<state_dir>/CURRENT` (JSON: the committed epoch, worker count, partition list), written to a
//! temporary name and renamed once every worker's files are durable. A crash at any point leaves
//! the previous `CURRENT` intact; files of an uncommitted checkpoint are ignored and removed.
//! Restoring needs the same worker count and the same input partitions (the key routing and the
//! partition numbering depend on them).

use crate::sources::kafka::{PartitionCursor, PartitionId};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The committed checkpoint pointer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Current {
    /// The checkpoint epoch.
    pub epoch: u64,
    /// Workers of the job that wrote it.
    pub workers: usize,
    /// The input partitions, in partition-number order.
    pub partitions: Vec<PartitionId>,
    /// The run that wrote it finished its input (`--stop-at-end`): all state was written as final.
    #[serde(default)]
    pub finished: bool,
}

/// One worker's part of a checkpoint.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerPart {
    /// Cursors of the worker's partitions after the checkpoint epoch, by partition number.
    pub cursors: BTreeMap<u32, PartitionCursor>,
    /// Next Parquet file number per table.
    pub parquet_seq: BTreeMap<String, u64>,
    /// Operator snapshots (loaded from the `.bin` files; not in the JSON).
    #[serde(skip)]
    pub snapshots: BTreeMap<String, Vec<u8>>,
    /// Operator names that have a snapshot file.
    pub operators: Vec<String>,
}

/// A restored checkpoint.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The pointer.
    pub current: Current,
    /// Every worker's part, by worker index.
    pub parts: Vec<WorkerPart>,
}

/// The checkpoint store of one process, shared by its workers.
pub struct CheckpointStore {
    dir: PathBuf,
    workers: usize,
    partitions: Vec<PartitionId>,
    pending: Mutex<BTreeMap<u64, usize>>,
    committed: std::sync::atomic::AtomicU64,
}

fn write_durable(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

impl CheckpointStore {
    /// A store under `dir` for a job of `workers` workers reading `partitions`.
    ///
    /// # Errors
    /// The directory cannot be created.
    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn new(dir: &Path, workers: usize, partitions: Vec<PartitionId>) -> anyhow::Result<CheckpointStore> {
        std::fs::create_dir_all(dir.join("checkpoints"))
            .with_context(|| format!("creating the state directory {} (key `run.state_dir`)", dir.display()))?;
        Ok(CheckpointStore {
            dir: dir.to_path_buf(),
            workers,
            partitions,
            pending: Mutex::new(BTreeMap::new()),
            committed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Loads the committed checkpoint, if any.
    ///
    /// # Errors
    /// The checkpoint is unreadable, was written by a job of another shape, or by a finished run.
    pub fn load(&self) -> anyhow::Result<Option<Restored>> {
        let cur = self.dir.join("CURRENT");
        if !cur.exists() {
            return Ok(None);
        }
        let current: Current =
            serde_json::from_slice(&std::fs::read(&cur)?).with_context(|| format!("reading {}", cur.display()))?;
        if current.finished {
            anyhow::bail!(
                "the state directory {} belongs to a run that finished its input (--stop-at-end wrote every window as final); \
                 resuming from it would count records twice: use a new `run.state_dir`, or `kafka.start = \"earliest\"` with a new output directory",
                self.dir.display()
            );
        }
        if current.workers != self.workers {
            anyhow::bail!(
                "the checkpoint in {} was written by {} workers, this job has {}: restart with `-w {}` (state is routed by worker)",
                self.dir.display(),
                current.workers,
                self.workers,
                current.workers
            );
        }
        if current.partitions != self.partitions {
            anyhow::bail!(
                "the input partitions changed since the checkpoint in {} ({} then, {} now): restart with the same topics and partitions, or use a new `run.state_dir`",
                self.dir.display(),
                current.partitions.len(),
                self.partitions.len()
            );
        }
        let ck = self.dir.join("checkpoints").join(current.epoch.to_string());
        let mut parts = Vec::new();
        for w in 0..self.workers {
            let p = ck.join(format!("worker-{w}.json"));
            let mut part: WorkerPart =
                serde_json::from_slice(&std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?)
                    .with_context(|| format!("decoding {}", p.display()))?;
            for op in part.operators.clone() {
                let f = ck.join(format!("worker-{w}.{op}.bin"));
                let bytes = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
                part.snapshots.insert(op, bytes);
            }
            parts.push(part);
        }
        self.committed.store(current.epoch, std::sync::atomic::Ordering::SeqCst);
        Ok(Some(Restored { current, parts }))
    }

    /// Writes worker `worker`'s part of the checkpoint at `epoch`; the last worker of the
    /// process to write commits it (returns `true` then).
    ///
    /// # Errors
    /// A write failed (the checkpoint is not committed; the previous one stays).
    pub fn write_part(&self, epoch: u64, worker: usize, part: &WorkerPart) -> anyhow::Result<bool> {
        let ck = self.dir.join("checkpoints").join(epoch.to_string());
        std::fs::create_dir_all(&ck)?;
        let mut part = part.clone();
        part.operators = part.snapshots.keys().cloned().collect();
        for (op, bytes) in &part.snapshots {
            write_durable(&ck.join(format!("worker-{worker}.{op}.bin")), bytes)?;
        }
        write_durable(&ck.join(format!("worker-{worker}.json")), &serde_json::to_vec_pretty(&part)?)?;
        sync_dir(&ck);
        let done = {
            let mut pending = self.pending.lock().expect("checkpoint lock");
            let n = pending.entry(epoch).or_default();
            *n += 1;
            let done = *n == self.workers;
            if done {
                pending.remove(&epoch);
            }
            done
        };
        if done {
            self.commit(epoch, false)?;
        }
        Ok(done)
    }

    /// Writes `CURRENT` for `epoch` and removes older checkpoints.
    fn commit(&self, epoch: u64, finished: bool) -> anyhow::Result<()> {
        let current = Current { epoch, workers: self.workers, partitions: self.partitions.clone(), finished };
        write_durable(&self.dir.join("CURRENT"), &serde_json::to_vec_pretty(&current)?)?;
        sync_dir(&self.dir);
        self.committed.store(epoch, std::sync::atomic::Ordering::SeqCst);
        crate::metrics::CHECKPOINTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(entries) = std::fs::read_dir(self.dir.join("checkpoints")) {
            for e in entries.flatten() {
                let n: Option<u64> = e.file_name().to_string_lossy().parse().ok();
                if n.is_some_and(|n| n < epoch) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        tracing::debug!(epoch, "checkpoint committed");
        Ok(())
    }

    /// Marks the state as belonging to a finished run (every window written as final).
    ///
    /// # Errors
    /// The write failed.
    pub fn mark_finished(&self) -> anyhow::Result<()> {
        let epoch = self.committed();
        self.commit(epoch, true)
    }

    /// The last committed epoch (0: none).
    pub fn committed(&self) -> u64 {
        self.committed.load(std::sync::atomic::Ordering::SeqCst)
    }
}
