//! Format: encodes `schemas` Arrow batches as ClickHouse RowBinary rows (plus the `version` column).
//!
//! Types map as the DDL in `deploy/clickhouse/` declares them: Utf8 and Binary -> String,
//! UInt64/UInt32/Int32/Int64/Float64 -> the same, Boolean -> UInt8, Timestamp(ms, UTC) ->
//! DateTime (seconds, floored: ClickHouse 18.16 has no DateTime64), nullable columns ->
//! Nullable(T) (a 0/1 prefix byte).

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Float64Type, Int32Type, Int64Type, TimeUnit, TimestampMillisecondType, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;
use schemas::AdRow;

/// The version of a row: final rows have the top bit set, so they win over every live value of
/// the same key; otherwise later epochs win. A pure function of the dataflow's epoch, so a
/// replayed or retried batch carries the same versions.
pub fn version(epoch: u64, is_final: bool) -> u64 {
    ((is_final as u64) << 63) | (epoch & !(1 << 63))
}

/// The column list of an INSERT of `batch`'s schema plus `version`.
pub fn columns(batch: &RecordBatch) -> String {
    let mut cols: Vec<String> = batch.schema().fields().iter().map(|f| format!("`{}`", f.name())).collect();
    cols.push("`version`".into());
    cols.join(", ")
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn string(s: &[u8], out: &mut Vec<u8>) {
    varint(s.len() as u64, out);
    out.extend_from_slice(s);
}

fn datetime(ms: i64) -> u32 {
    ms.div_euclid(1000).clamp(0, u32::MAX as i64) as u32
}

/// Appends every row of `batch` as RowBinary, each followed by `version`.
///
/// # Panics
/// On a column type the `schemas` tables do not use (a bug).
pub fn encode(batch: &RecordBatch, version: u64, out: &mut Vec<u8>) {
    let cols = batch.columns();
    for row in 0..batch.num_rows() {
        for (col, field) in cols.iter().zip(batch.schema().fields()) {
            if field.is_nullable() {
                if col.is_null(row) {
                    out.push(1);
                    continue;
                }
                out.push(0);
            }
            match col.data_type() {
                DataType::Utf8 => string(col.as_string::<i32>().value(row).as_bytes(), out),
                DataType::Binary => string(col.as_binary::<i32>().value(row), out),
                DataType::UInt64 => out.extend_from_slice(&col.as_primitive::<UInt64Type>().value(row).to_le_bytes()),
                DataType::UInt32 => out.extend_from_slice(&col.as_primitive::<UInt32Type>().value(row).to_le_bytes()),
                DataType::Int32 => out.extend_from_slice(&col.as_primitive::<Int32Type>().value(row).to_le_bytes()),
                DataType::Int64 => out.extend_from_slice(&col.as_primitive::<Int64Type>().value(row).to_le_bytes()),
                DataType::Float64 => out.extend_from_slice(&col.as_primitive::<Float64Type>().value(row).to_le_bytes()),
                DataType::Boolean => out.push(col.as_boolean().value(row) as u8),
                DataType::Timestamp(TimeUnit::Millisecond, _) => out.extend_from_slice(
                    &datetime(col.as_primitive::<TimestampMillisecondType>().value(row)).to_le_bytes(),
                ),
                other => panic!("column {} of type {other} has no ClickHouse mapping", field.name()),
            }
        }
        out.extend_from_slice(&version.to_le_bytes());
    }
}

/// Columns of the `ads` dimension table.
pub const AD_COLUMNS: &str =
    "`ad_id`, `brand_id`, `campaign_id`, `platform`, `account_id`, `spend_per_hour`, `deleted`, `version`";

/// Appends one `ads` row (a deletion when the row has no fields).
pub fn encode_ad(row: &AdRow, version: u64, out: &mut Vec<u8>) {
    fn opt(s: Option<&str>, out: &mut Vec<u8>) {
        match s {
            Some(s) => {
                out.push(0);
                string(s.as_bytes(), out);
            }
            None => out.push(1),
        }
    }
    string(row.ad_id.as_bytes(), out);
    let info = row.info.as_deref();
    string(info.map(|i| i.brand_id.as_str()).unwrap_or("").as_bytes(), out);
    opt(info.and_then(|i| i.campaign_id.as_deref()), out);
    opt(info.and_then(|i| i.platform.as_deref()), out);
    opt(info.and_then(|i| i.account_id.as_deref()), out);
    match info.and_then(|i| i.spend_per_hour) {
        Some(v) => {
            out.push(0);
            out.extend_from_slice(&v.to_le_bytes());
        }
        None => out.push(1),
    }
    out.push(info.is_none() as u8);
    out.extend_from_slice(&version.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::{AdMinuteRow, TableRow};

    #[test]
    fn row_binary_layout() {
        let row = AdMinuteRow {
            ad_id: "a".into(),
            window_start: 61_999,
            brand_id: "b".into(),
            campaign_id: None,
            comments: 1,
            comments_negative: 0,
            comments_risky: 0,
            comments_unscored: 0,
            sentiment_sum: 0.5,
            sentiment_count: 1,
        };
        let mut out = Vec::new();
        encode(&AdMinuteRow::to_batch(&[row]), version(7, true), &mut out);
        let mut want = vec![1, b'a'];
        want.extend_from_slice(&61u32.to_le_bytes());
        want.extend_from_slice(&[1, b'b', 1]);
        for v in [1u64, 0, 0, 0] {
            want.extend_from_slice(&v.to_le_bytes());
        }
        want.extend_from_slice(&0.5f64.to_le_bytes());
        want.extend_from_slice(&1u64.to_le_bytes());
        want.extend_from_slice(&((1u64 << 63) | 7).to_le_bytes());
        assert_eq!(out, want);
        assert!(version(1, true) > version(u32::MAX as u64, false));
    }
}
