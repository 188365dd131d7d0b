//! Re-runs into an output directory (SPEC §9: a re-run never adds duplicate rows silently).
//!
//! A replay into a directory whose tables already hold Parquet files is refused, naming the
//! directory and the two ways out: another `--out`, or `--replace`. With `--replace` the job
//! writes into `OUT/.replacing/` and, only once it completed, swaps each table directory in by
//! a rename (the old one moves to `OUT/.replaced/` and is then removed). A failed or killed
//! replay leaves the old rows untouched; the leftovers of an interrupted swap are cleared by the
//! next `--replace`. Files of `OUT` that are not tables (an input directory, notes) stay.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// The table directories a job writes under its output directory.
pub const TABLES: [&str; 6] =
    ["brand_metrics_minute", "ad_metrics_minute", "care_cases", "alerts", "brand_status", "dead_letter"];

const STAGING: &str = ".replacing";
const OLD: &str = ".replaced";

/// The first Parquet file under `OUT/<table>/`, if any table holds one.
pub fn existing_rows(out: &Path) -> Option<PathBuf> {
    TABLES.iter().find_map(|t| first_parquet(&out.join(t)))
}

fn first_parquet(dir: &Path) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    entries.into_iter().find_map(|p| {
        if p.is_dir() {
            first_parquet(&p)
        } else {
            (p.extension().is_some_and(|e| e == "parquet")).then_some(p)
        }
    })
}

/// Where a replay into `out` writes: `out` itself when it holds no rows; its staging directory
/// with `replace`; else the error that refuses the re-run.
///
/// # Errors
/// `out` holds rows and `replace` is off, or the staging directory cannot be prepared.
pub fn prepare(out: &Path, replace: bool) -> anyhow::Result<PathBuf> {
    if !replace {
        if let Some(file) = existing_rows(out) {
            anyhow::bail!(
                "the output directory {} already holds rows of an earlier run ({}): writing there again would add \
                 duplicates. Choose another --out, or pass --replace to replace its tables once this run completes",
                out.display(),
                file.display()
            );
        }
        return Ok(out.to_path_buf());
    }
    let staging = out.join(STAGING);
    for leftover in [&staging, &out.join(OLD)] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).with_context(|| format!("removing {}", leftover.display()))?;
        }
    }
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    Ok(staging)
}

/// After a completed replay written to [`prepare`]'s staging directory: swaps every table in
/// (one rename per table) and removes the old rows. A table the new run did not write is
/// removed too: the output is exactly the new run's.
///
/// # Errors
/// A rename or removal failed (the message names the path).
pub fn commit(out: &Path) -> anyhow::Result<()> {
    let staging = out.join(STAGING);
    let old = out.join(OLD);
    std::fs::create_dir_all(&old).with_context(|| format!("creating {}", old.display()))?;
    for t in TABLES {
        let (current, new) = (out.join(t), staging.join(t));
        if current.exists() {
            std::fs::rename(&current, old.join(t)).with_context(|| format!("moving {} aside", current.display()))?;
        }
        if new.exists() {
            std::fs::rename(&new, &current).with_context(|| format!("moving {} into place", new.display()))?;
        }
    }
    std::fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
    std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn a_directory_with_rows_is_refused_and_replace_swaps_every_table() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        assert_eq!(prepare(out, false).unwrap(), out, "empty: written in place");
        touch(&out.join("alerts/date=2026-11-24/part-000-000000.parquet"));
        touch(&out.join("care_cases/date=2026-11-24/part-000-000000.parquet"));
        touch(&out.join("input/mentions.ndjson"));
        let e = prepare(out, false).unwrap_err().to_string();
        assert!(e.contains("--replace") && e.contains("already holds rows"), "{e}");
        let staging = prepare(out, true).unwrap();
        touch(&staging.join("alerts/date=2026-11-25/part-000-000000.parquet"));
        commit(out).unwrap();
        assert!(out.join("alerts/date=2026-11-25/part-000-000000.parquet").exists());
        assert!(!out.join("alerts/date=2026-11-24").exists(), "old rows gone");
        assert!(!out.join("care_cases").exists(), "a table the new run did not write is gone");
        assert!(out.join("input/mentions.ndjson").exists(), "other files stay");
        assert!(!out.join(STAGING).exists() && !out.join(OLD).exists());
    }
}
