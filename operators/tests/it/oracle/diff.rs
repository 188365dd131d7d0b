//! Readable table diffs: rows as JSON objects, keyed by key columns, projected on the columns a
//! test is about.

use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A row as a JSON object.
pub type Row = Map<String, Value>;

/// Rows with their emission epoch in an `epoch` column.
pub fn rows<T: Serialize>(rows: &[(u64, T)]) -> Vec<Row> {
    rows.iter()
        .map(|(e, r)| {
            let mut m = match serde_json::to_value(r).expect("serializable") {
                Value::Object(m) => m,
                _ => unreachable!("rows are structs"),
            };
            m.insert("epoch".into(), Value::from(*e));
            m
        })
        .collect()
}

/// Rows without epochs.
pub fn plain<T: Serialize>(rows: &[T]) -> Vec<Row> {
    rows.iter()
        .map(|r| match serde_json::to_value(r).expect("serializable") {
            Value::Object(m) => m,
            _ => unreachable!("rows are structs"),
        })
        .collect()
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            if let (Some(x), Some(y)) = (x.as_i64(), y.as_i64()) {
                return x == y;
            }
            if let (Some(x), Some(y)) = (x.as_u64(), y.as_u64()) {
                return x == y;
            }
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-9 * x.abs().max(1.0)
        }
        _ => a == b,
    }
}

/// Compares the `cols` of rows keyed by `keys`; with `skip_zero`, rows whose projected columns
/// are all zero or null are left out on both sides (they belong to another test). Rows sharing
/// a key are matched in order of their projection. Appends one line per difference to `out`.
pub fn compare(
    table: &str,
    keys: &[&str],
    cols: &[&str],
    skip_zero: bool,
    expected: &[Row],
    got: &[Row],
    out: &mut Vec<String>,
) {
    let index = |rows: &[Row]| -> BTreeMap<String, Row> {
        let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
        for r in rows {
            let proj: Row = cols.iter().map(|c| (c.to_string(), r.get(*c).cloned().unwrap_or(Value::Null))).collect();
            if skip_zero && proj.values().all(is_zero) {
                continue;
            }
            let key: Vec<String> = keys.iter().map(|k| r.get(*k).map(|v| v.to_string()).unwrap_or_default()).collect();
            groups.entry(key.join(" ")).or_default().push(proj);
        }
        let mut out = BTreeMap::new();
        for (k, mut v) in groups {
            v.sort_by_cached_key(|p| serde_json::to_string(p).expect("json"));
            let n = v.len();
            for (i, p) in v.into_iter().enumerate() {
                let key = if n > 1 { format!("{k} #{i}") } else { k.clone() };
                out.insert(key, p);
            }
        }
        out
    };
    let exp = index(expected);
    let got = index(got);
    for (k, e) in &exp {
        match got.get(k) {
            None => out.push(format!("{table} [{k}]: missing, expected {}", Value::Object(e.clone()))),
            Some(g) => {
                for c in cols {
                    let (ev, gv) = (&e[*c], &g[*c]);
                    if !same(ev, gv) {
                        out.push(format!("{table} [{k}] {c}: expected {ev}, got {gv}"));
                    }
                }
            }
        }
    }
    for (k, g) in &got {
        if !exp.contains_key(k) {
            out.push(format!("{table} [{k}]: unexpected row {}", Value::Object(g.clone())));
        }
    }
}

/// Compares two plain values and reports a difference under `what`.
pub fn compare_value<T: PartialEq + std::fmt::Debug>(what: &str, expected: &T, got: &T, out: &mut Vec<String>) {
    if expected != got {
        out.push(format!("{what}: expected {expected:?}, got {got:?}"));
    }
}
