//! Replays, on stable Rust and in every test run, what the cargo-fuzz targets check
//! (`fuzz/README.md`): every committed seed and regression input of both targets, and every line
//! of the bad-input corpus, through the very same checks the fuzzers run (`fuzz/src/checks.rs`,
//! included by path). A fixed fuzz finding goes into `fuzz/regressions/TARGET` and stays fixed here.

#[path = "../../../fuzz/src/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The files of the given directories, sorted; a missing directory is an error (the corpus is
/// part of the repository).
fn files(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in dirs {
        let entries = std::fs::read_dir(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for e in entries {
            let p = e.expect("read_dir").path();
            if p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn inputs(target: &str) -> Vec<PathBuf> {
    let fuzz = repo().join("fuzz");
    files(&[fuzz.join("seeds").join(target), fuzz.join("regressions").join(target)])
}

/// Runs `check` on `data`, naming the file when it panics.
fn replay(path: &Path, data: &[u8], check: fn(&[u8])) {
    if let Err(e) = std::panic::catch_unwind(|| check(data)) {
        let msg = e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()));
        panic!("{} fails the fuzz check: {}", path.display(), msg.unwrap_or_default());
    }
}

#[test]
fn decode_seeds_and_regressions_hold() {
    let inputs = inputs("decode");
    assert!(inputs.len() >= 100, "fuzz/seeds/decode holds only {} inputs", inputs.len());
    for p in &inputs {
        replay(p, &std::fs::read(p).expect("read"), checks::decode_one);
    }
}

#[test]
fn decode_dataflow_seeds_and_regressions_hold() {
    let inputs = inputs("decode_dataflow");
    assert!(inputs.len() >= 50, "fuzz/seeds/decode_dataflow holds only {} inputs", inputs.len());
    for p in &inputs {
        replay(p, &std::fs::read(p).expect("read"), checks::decode_dataflow);
    }
}

/// Every line of the bad-input corpus (`pipeline/tests/bad_input`, file `TOPIC__case.ndjson`),
/// under the topic its file names, through the decode check; and each whole file through the
/// dataflow check as `topic<TAB>record` lines.
#[test]
fn bad_input_corpus_holds_under_the_fuzz_checks() {
    let dir = repo().join("pipeline/tests/bad_input");
    let mut n = 0;
    for p in files(&[dir]) {
        let name = p.file_name().and_then(|n| n.to_str()).expect("utf-8 name");
        let Some((topic, _)) = name.strip_suffix(".ndjson").and_then(|s| s.split_once("__")) else { continue };
        let selector = schemas::Topic::ALL
            .iter()
            .position(|t| t.name() == topic)
            .unwrap_or_else(|| panic!("{name}: unknown topic {topic}")) as u8;
        let data = std::fs::read(&p).expect("read");
        let mut as_dataflow = Vec::new();
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let mut input = vec![selector];
            input.extend_from_slice(line);
            replay(&p, &input, checks::decode_one);
            if as_dataflow.len() < 200 * 1024 && !line.contains(&b'\t') {
                as_dataflow.extend_from_slice(topic.as_bytes());
                as_dataflow.push(b'\t');
                as_dataflow.extend_from_slice(line);
                as_dataflow.push(b'\n');
            }
        }
        replay(&p, &as_dataflow, checks::decode_dataflow);
        n += 1;
    }
    assert!(n >= 40, "only {n} bad-input files found");
}
