//! Shared helpers of the end-to-end tests: run the real `brandpulse` binary, read its Parquet
//! output back into JSON rows, and compare them with hand-written expectations.
//!
//! Every row is a `serde_json::Map` keyed by column name. Values are normalised so that actual and
//! expected rows compare directly:
//! - strings -> JSON strings; integers -> JSON integers; floats -> JSON floats (non-finite floats
//!   become the strings "NaN" / "inf" / "-inf" so that they show up in failure messages);
//! - timestamps -> epoch milliseconds (JSON integer). Expected files write them as RFC 3339 strings;
//!   [`normalize_expected`] converts those;
//! - binary -> a JSON string when the bytes are UTF-8, else `{"hex": "..."}` (see [`bytes_value`]).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::launch::Launch;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, TimeUnit, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type, UInt32Type, UInt64Type,
    UInt8Type,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Map, Number, Value};

pub type Row = Map<String, Value>;

/// How long one replay may take before the test kills it and fails.
pub const REPLAY_TIMEOUT: Duration = super::launch::TIMEOUT;

/// Bytes kept of a dead-letter record's raw line.
/// The environment setting of `tests/golden/english_only.toml`: English alone scored, as the golden
/// scenario's hand-computed expectations assume (SPEC §4 as first written).
pub const ENGLISH_ONLY: (&str, &str) = ("BRANDPULSE_SENTIMENT__LANGUAGES", "[\"en\"]");

pub const RAW_LIMIT: usize = 64 * 1024;

/// Absolute path of a file under `pipeline/tests/`.
pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

// ---------------------------------------------------------------------------------------------
// Running the binary
// ---------------------------------------------------------------------------------------------

/// Runs `brandpulse replay --input INPUT --out OUT EXTRA...` and panics (printing the command,
/// stdout and stderr) on a non-zero exit, a crash or a time-out. Returns stdout + stderr.
pub fn run_replay(input: &Path, out: &Path, extra: &[&str]) -> String {
    try_run_replay(input, out, extra).unwrap_or_else(|message| panic!("{message}"))
}

/// Like [`run_replay`] but returns the failure message instead of panicking.
pub fn try_run_replay(input: &Path, out: &Path, extra: &[&str]) -> Result<String, String> {
    let mut args: Vec<String> =
        vec!["replay".into(), "--input".into(), input.display().to_string(), "--out".into(), out.display().to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Launch::new(&args).run(REPLAY_TIMEOUT).map(|o| o.all())
}

// ---------------------------------------------------------------------------------------------
// Table specifications (the fixed output contract)
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Str,
    U64,
    U32,
    I32,
    I64,
    F64,
    Ts,
    Bin,
}

impl Kind {
    fn matches(self, dt: &DataType) -> bool {
        match self {
            Kind::Str => *dt == DataType::Utf8,
            Kind::U64 => *dt == DataType::UInt64,
            Kind::U32 => *dt == DataType::UInt32,
            Kind::I32 => *dt == DataType::Int32,
            Kind::I64 => *dt == DataType::Int64,
            Kind::F64 => *dt == DataType::Float64,
            Kind::Ts => {
                matches!(dt, DataType::Timestamp(TimeUnit::Millisecond, Some(tz)) if tz.as_ref() == "UTC")
            }
            Kind::Bin => *dt == DataType::Binary,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Kind::Str => "Utf8",
            Kind::U64 => "UInt64",
            Kind::U32 => "UInt32",
            Kind::I32 => "Int32",
            Kind::I64 => "Int64",
            Kind::F64 => "Float64",
            Kind::Ts => "Timestamp(Millisecond, Some(\"UTC\"))",
            Kind::Bin => "Binary",
        }
    }
}

/// What the tests do with a column's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    /// Compared with the expected value.
    Compare,
    /// Wall clock (detected_at, recorded_at): must be non-null, not compared.
    WallClock,
    /// Not compared (dead_letter detail, source, partition: checked separately if at all).
    Ignore,
}

#[derive(Clone, Copy, Debug)]
pub struct Col {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    pub check: Check,
}

const fn c(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: false, check: Check::Compare }
}
const fn n(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: true, check: Check::Compare }
}
const fn wall(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: false, check: Check::WallClock }
}
const fn ign(name: &'static str, kind: Kind) -> Col {
    Col { name, kind, nullable: false, check: Check::Ignore }
}

#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub cols: &'static [Col],
    /// Columns identifying a row.
    pub key: &'static [&'static str],
}

use Kind::*;

pub const BRAND_METRICS: TableSpec = TableSpec {
    name: "brand_metrics_minute",
    key: &["brand_id", "window_start"],
    cols: &[
        c("brand_id", Str),
        c("window_start", Ts),
        c("mentions", U64),
        c("mentions_positive", U64),
        c("mentions_negative", U64),
        c("mentions_neutral", U64),
        c("mentions_unscored", U64),
        c("sentiment_sum", F64),
        c("sentiment_count", U64),
        c("reach_sum", U64),
        c("ad_comments", U64),
        c("ad_comments_negative", U64),
        c("ad_comments_risky", U64),
        c("cases_opened", U64),
        c("first_responses", U64),
        c("responses_within_sla", U64),
        c("responses_late", U64),
        c("frt_sum_seconds", F64),
        n("frt_p50_seconds", F64),
        n("frt_p90_seconds", F64),
        c("mentions_answered", U64),
        c("ad_comments_answered", U64),
        c("cases_resolved", U64),
        c("resolution_sum_seconds", F64),
    ],
};

pub const AD_METRICS: TableSpec = TableSpec {
    name: "ad_metrics_minute",
    key: &["ad_id", "window_start"],
    cols: &[
        c("ad_id", Str),
        c("window_start", Ts),
        c("brand_id", Str),
        n("campaign_id", Str),
        c("comments", U64),
        c("comments_negative", U64),
        c("comments_risky", U64),
        c("comments_unscored", U64),
        c("sentiment_sum", F64),
        c("sentiment_count", U64),
    ],
};

pub const CARE_CASES: TableSpec = TableSpec {
    name: "care_cases",
    key: &["case_id"],
    cols: &[
        c("case_id", Str),
        c("brand_id", Str),
        n("channel", Str),
        c("priority", Str),
        n("opened_at", Ts),
        n("first_response_at", Ts),
        n("frt_seconds", F64),
        c("sla_target_seconds", F64),
        c("sla_status", Str),
        n("resolved_at", Ts),
        c("reopen_count", U32),
        n("source_event_id", Str),
        n("source_kind", Str),
    ],
};

pub const ALERTS: TableSpec = TableSpec {
    name: "alerts",
    key: &["alert_id"],
    cols: &[
        c("alert_id", Str),
        c("brand_id", Str),
        c("ad_id", Str),
        c("kind", Str),
        c("window_start", Ts),
        c("opened_at", Ts),
        wall("detected_at", Ts),
        n("resolved_window", Ts),
        c("comments", U64),
        c("neg_share", F64),
        c("risk_share", F64),
        n("action", Str),
        c("action_status", Str),
        c("attempts", U32),
        n("action_latency_ms", F64),
    ],
};

pub const DEAD_LETTER: TableSpec = TableSpec {
    name: "dead_letter",
    key: &["topic", "offset"],
    cols: &[
        c("topic", Str),
        ign("source", Str),
        ign("partition", I32),
        c("offset", I64),
        c("reason", Str),
        ign("detail", Str),
        c("raw", Bin),
        wall("recorded_at", Ts),
    ],
};

pub const ALL_TABLES: [&TableSpec; 5] = [&BRAND_METRICS, &AD_METRICS, &CARE_CASES, &ALERTS, &DEAD_LETTER];

// ---------------------------------------------------------------------------------------------
// Reading Parquet output
// ---------------------------------------------------------------------------------------------

/// All rows of one output table plus what was noticed while reading it.
#[derive(Debug, Default)]
pub struct TableData {
    pub rows: Vec<Row>,
    /// Parquet files read (relative to the table directory).
    pub files: Vec<String>,
    /// Layout and schema problems (wrong directory, wrong column name/type/nullability).
    pub problems: Vec<String>,
}

/// Reads every `*.parquet` file under `OUT/<table>/` (a missing directory = no rows), checks the
/// `date=YYYY-MM-DD` layout and the schema against `spec`, and converts rows to JSON.
pub fn read_table(out: &Path, spec: &TableSpec) -> TableData {
    let mut data = TableData::default();
    let dir = out.join(spec.name);
    if !dir.exists() {
        return data;
    }
    let mut files = Vec::new();
    collect_parquet(&dir, &mut files);
    files.sort();
    for file in files {
        let rel = file.strip_prefix(&dir).unwrap_or(&file).display().to_string();
        check_layout(spec.name, &dir, &file, &mut data.problems);
        let builder = open_parquet(&file);
        check_schema(spec, &rel, builder.schema(), &mut data.problems);
        data.rows.extend(rows_of(&file, builder));
        data.files.push(rel);
    }
    data
}

/// Every row of every `*.parquet` file under `dir` (recursively, in path order) as JSON, with
/// no layout or schema checks (a missing directory = no rows).
pub fn read_rows(dir: &Path) -> Vec<Row> {
    let mut files = Vec::new();
    collect_parquet(dir, &mut files);
    files.sort();
    files.iter().flat_map(|f| rows_of(f, open_parquet(f))).collect()
}

fn open_parquet(file: &Path) -> ParquetRecordBatchReaderBuilder<File> {
    let reader = File::open(file).unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    ParquetRecordBatchReaderBuilder::try_new(reader)
        .unwrap_or_else(|e| panic!("{}: not a readable Parquet file: {e}", file.display()))
}

fn rows_of(file: &Path, builder: ParquetRecordBatchReaderBuilder<File>) -> Vec<Row> {
    let mut rows = Vec::new();
    let batches = builder.build().unwrap_or_else(|e| panic!("{}: cannot build reader: {e}", file.display()));
    for batch in batches {
        let batch = batch.unwrap_or_else(|e| panic!("{}: cannot read batch: {e}", file.display()));
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            let mut row = Row::new();
            for (field, column) in schema.fields().iter().zip(batch.columns()) {
                row.insert(field.name().clone(), cell(column, i));
            }
            rows.push(row);
        }
    }
    rows
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_parquet(&path, out);
        } else if path.extension().is_some_and(|e| e == "parquet") {
            out.push(path);
        }
    }
}

fn check_layout(table: &str, table_dir: &Path, file: &Path, problems: &mut Vec<String>) {
    let rel = file.strip_prefix(table_dir).unwrap_or(file);
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let ok = parts.len() == 2 && is_date_dir(&parts[0]);
    if !ok {
        problems
            .push(format!("{table}: file {} is not at <out>/{table}/date=YYYY-MM-DD/<file>.parquet", rel.display()));
    }
}

fn is_date_dir(s: &str) -> bool {
    let Some(d) = s.strip_prefix("date=") else {
        return false;
    };
    let b = d.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, ch)| if i == 4 || i == 7 { *ch == b'-' } else { ch.is_ascii_digit() })
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
}

fn check_schema(spec: &TableSpec, file: &str, schema: &arrow::datatypes::SchemaRef, problems: &mut Vec<String>) {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let want: Vec<&str> = spec.cols.iter().map(|c| c.name).collect();
    if names != want {
        problems.push(format!("{}: {file}: columns differ\n  expected: {want:?}\n  actual:   {names:?}", spec.name));
    }
    for col in spec.cols {
        let Some(field) = schema.fields().iter().find(|f| f.name() == col.name) else {
            continue;
        };
        if !col.kind.matches(field.data_type()) {
            problems.push(format!(
                "{}: {file}: column {} has type {:?}, expected {}",
                spec.name,
                col.name,
                field.data_type(),
                col.kind.describe()
            ));
        }
        if col.nullable && !field.is_nullable() {
            problems.push(format!(
                "{}: {file}: column {} must be nullable (the contract allows null)",
                spec.name, col.name
            ));
        }
    }
}

/// JSON form of bytes: a string when they are UTF-8, else `{"hex": "..."}`.
pub fn bytes_value(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut m = Map::new();
            m.insert("hex".into(), Value::String(hex));
            Value::Object(m)
        }
    }
}

fn float_value(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => Value::String("NaN".into()),
        None if f > 0.0 => Value::String("inf".into()),
        None => Value::String("-inf".into()),
    }
}

fn cell(col: &ArrayRef, i: usize) -> Value {
    if col.is_null(i) {
        return Value::Null;
    }
    match col.data_type() {
        DataType::Utf8 => Value::String(col.as_string::<i32>().value(i).to_string()),
        DataType::LargeUtf8 => Value::String(col.as_string::<i64>().value(i).to_string()),
        DataType::Utf8View => Value::String(col.as_string_view().value(i).to_string()),
        DataType::Binary => bytes_value(col.as_binary::<i32>().value(i)),
        DataType::LargeBinary => bytes_value(col.as_binary::<i64>().value(i)),
        DataType::BinaryView => bytes_value(col.as_binary_view().value(i)),
        DataType::Boolean => Value::Bool(col.as_boolean().value(i)),
        DataType::UInt8 => Value::from(col.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => Value::from(col.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => Value::from(col.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => Value::from(col.as_primitive::<UInt64Type>().value(i)),
        DataType::Int8 => Value::from(col.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => Value::from(col.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => Value::from(col.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => Value::from(col.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => float_value(col.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => float_value(col.as_primitive::<Float64Type>().value(i)),
        DataType::Timestamp(unit, _) => {
            let ms = match unit {
                TimeUnit::Second => col.as_primitive::<TimestampSecondType>().value(i) * 1000,
                TimeUnit::Millisecond => col.as_primitive::<TimestampMillisecondType>().value(i),
                TimeUnit::Microsecond => col.as_primitive::<TimestampMicrosecondType>().value(i).div_euclid(1000),
                TimeUnit::Nanosecond => col.as_primitive::<TimestampNanosecondType>().value(i).div_euclid(1_000_000),
            };
            Value::from(ms)
        }
        other => Value::String(format!("<unsupported type {other:?}>")),
    }
}

// ---------------------------------------------------------------------------------------------
// Expected files and comparison
// ---------------------------------------------------------------------------------------------

/// Parses an RFC 3339 timestamp into epoch milliseconds.
pub fn rfc3339_ms(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("bad RFC 3339 timestamp {s:?}: {e}"))
}

/// Epoch milliseconds as an RFC 3339 UTC string (for messages).
pub fn ms_rfc3339(ms: i64) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => format!("{ms}ms"),
    }
}

/// Loads `tests/golden/expected/<table>.json` style files (a JSON array of objects).
pub fn load_expected(path: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()));
    let Value::Array(items) = value else { panic!("{}: expected a JSON array", path.display()) };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => m,
            other => panic!("{}: element {i} is not an object: {other}", path.display()),
        })
        .collect()
}

/// Converts the expected rows' RFC 3339 timestamp strings to epoch ms and checks that every
/// compared column of the spec is present (and no unknown column is).
pub fn normalize_expected(spec: &TableSpec, rows: Vec<Row>) -> Vec<Row> {
    rows.into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            for key in row.keys() {
                assert!(
                    spec.cols.iter().any(|c| c.name == key),
                    "expected {} row {i}: unknown column {key:?}",
                    spec.name
                );
            }
            for col in spec.cols {
                if col.check != Check::Compare {
                    continue;
                }
                let v = row.get(col.name).unwrap_or_else(|| {
                    panic!(
                        "expected {} row {i}: column {:?} missing: {}",
                        spec.name,
                        col.name,
                        Value::Object(row.clone())
                    )
                });
                if col.kind == Kind::Ts {
                    if let Value::String(s) = v {
                        let ms = rfc3339_ms(s).unwrap_or_else(|e| panic!("expected {} row {i}: {e}", spec.name));
                        row.insert(col.name.to_string(), Value::from(ms));
                    }
                }
            }
            row
        })
        .collect()
}

fn render(spec: &TableSpec, name: &str, v: &Value) -> String {
    let is_ts = spec.cols.iter().any(|c| c.name == name && c.kind == Kind::Ts);
    match v {
        Value::Number(n) if is_ts => n.as_i64().map(ms_rfc3339).unwrap_or_else(|| n.to_string()),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn key_of(spec: &TableSpec, row: &Row) -> String {
    spec.key
        .iter()
        .map(|k| format!("{k}={}", render(spec, k, row.get(*k).unwrap_or(&Value::Null))))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row_for_message(spec: &TableSpec, row: &Row) -> String {
    let parts: Vec<String> = spec
        .cols
        .iter()
        .filter(|c| row.contains_key(c.name) && c.name != "raw")
        .map(|c| format!("{}={}", c.name, render(spec, c.name, &row[c.name])))
        .collect();
    parts.join(" ")
}

/// Compares one value. Floats (Float64 columns) with tolerance 1e-9 (relative above 1).
pub fn values_equal(kind: Kind, expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(e), Value::Number(a)) => {
            if kind == Kind::F64 {
                match (e.as_f64(), a.as_f64()) {
                    (Some(e), Some(a)) => (e - a).abs() <= 1e-9 * e.abs().max(1.0),
                    _ => false,
                }
            } else {
                match (e.as_i64(), a.as_i64(), e.as_u64(), a.as_u64()) {
                    (Some(x), Some(y), _, _) => x == y,
                    (_, _, Some(x), Some(y)) => x == y,
                    _ => e.as_f64().is_some_and(|x| a.as_f64() == Some(x) && x.fract() == 0.0),
                }
            }
        }
        (e, a) => e == a,
    }
}

/// Compares actual rows with expected rows of `spec`, matching by key. Returns human-readable
/// differences (empty = equal).
pub fn compare_rows(spec: &TableSpec, expected: &[Row], actual: &[Row]) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut actual_by_key: BTreeMap<String, &Row> = BTreeMap::new();
    for row in actual {
        for col in spec.cols {
            let v = row.get(col.name).unwrap_or(&Value::Null);
            if v.is_null() && !col.nullable {
                diffs.push(format!(
                    "{} row {{{}}}: column {} is null but the contract does not allow null",
                    spec.name,
                    key_of(spec, row),
                    col.name
                ));
            }
        }
        let k = key_of(spec, row);
        if actual_by_key.insert(k.clone(), row).is_some() {
            diffs.push(format!("{} has more than one row with key {{{k}}}", spec.name));
        }
    }
    let mut expected_keys = std::collections::BTreeSet::new();
    for exp in expected {
        let k = key_of(spec, exp);
        expected_keys.insert(k.clone());
        let Some(act) = actual_by_key.get(&k) else {
            diffs.push(format!("{}: missing row {{{k}}}; expected: {}", spec.name, row_for_message(spec, exp)));
            continue;
        };
        for col in spec.cols.iter().filter(|c| c.check == Check::Compare) {
            let e = exp.get(col.name).unwrap_or(&Value::Null);
            let a = act.get(col.name).unwrap_or(&Value::Null);
            if !values_equal(col.kind, e, a) {
                diffs.push(format!(
                    "{} row {{{k}}}: column {}: expected {} but got {}",
                    spec.name,
                    col.name,
                    render(spec, col.name, e),
                    render(spec, col.name, a)
                ));
            }
        }
    }
    for (k, row) in &actual_by_key {
        if !expected_keys.contains(k) {
            diffs.push(format!("{}: unexpected row {{{k}}}: {}", spec.name, row_for_message(spec, row)));
        }
    }
    diffs
}

/// Splits file bytes into lines as replay numbers them (1-based; `\n` terminated; a final line
/// without terminator counts; the empty remainder after the last `\n` does not).
pub fn split_lines(bytes: &[u8]) -> Vec<&[u8]> {
    let mut lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}

/// The raw bytes a dead-letter row keeps of a line.
pub fn raw_of(line: &[u8]) -> &[u8] {
    &line[..line.len().min(RAW_LIMIT)]
}

/// Sum of an unsigned integer column over rows (null/absent counts 0).
pub fn sum_u64(rows: &[Row], col: &str) -> u64 {
    rows.iter().filter_map(|r| r.get(col).and_then(Value::as_u64)).sum()
}

/// Panics with all differences, numbered, when there are any.
pub fn assert_no_diffs(context: &str, diffs: &[String]) {
    if diffs.is_empty() {
        return;
    }
    let mut msg = format!("{context}: {} difference(s)\n", diffs.len());
    for (i, d) in diffs.iter().enumerate() {
        msg.push_str(&format!("  {:>3}. {d}\n", i + 1));
    }
    panic!("{msg}");
}
