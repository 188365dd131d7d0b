//! Event time: epoch milliseconds (UTC), parsed from RFC 3339 or integer epoch ms, and minute windows.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// Event time in milliseconds since the Unix epoch (UTC).
pub type Millis = i64;

/// One minute in milliseconds: the width of every metric window.
pub const MINUTE_MS: Millis = 60_000;

/// The start of the minute window holding `ts`.
pub fn window_start(ts: Millis) -> Millis {
    ts.div_euclid(MINUTE_MS) * MINUTE_MS
}

/// Formats epoch milliseconds as RFC 3339 UTC with millisecond precision.
pub fn format_rfc3339(ms: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        None => ms.to_string(),
    }
}

/// Formats epoch milliseconds as `YYYY-MM-DD` (UTC), the Parquet date partition.
pub fn format_date(ms: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => "invalid".to_string(),
    }
}

/// Formats epoch milliseconds as `YYYYMMDDTHHMM` (UTC), used in alert ids.
pub fn format_minute_id(ms: Millis) -> String {
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) => t.format("%Y%m%dT%H%M").to_string(),
        None => ms.to_string(),
    }
}

/// Parses an RFC 3339 timestamp with offset to epoch milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp_millis())
}

/// The first valid event time, 2000-01-01T00:00:00Z (SPEC §3).
pub const MIN_VALID_TS: Millis = 946_684_800_000;
/// The first event time past the valid range, 2100-01-01T00:00:00Z (SPEC §3).
pub const END_VALID_TS: Millis = 4_102_444_800_000;

/// Whether `ts` lies in the valid range `[2000-01-01, 2100-01-01)`.
pub fn is_valid_ts(ts: Millis) -> bool {
    (MIN_VALID_TS..END_VALID_TS).contains(&ts)
}

fn in_range<E: de::Error>(ts: Millis) -> Result<EventTime, E> {
    if is_valid_ts(ts) {
        Ok(EventTime(ts))
    } else {
        Err(E::custom(format!("event time {} ms is outside 2000-01-01 to 2100-01-01", ts)))
    }
}

/// A `ts` field: RFC 3339 string with offset, or integer epoch milliseconds, from 2000-01-01
/// (inclusive) to 2100-01-01 (exclusive); anything else is `invalid_value:ts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTime(pub Millis);

impl<'de> serde::Deserialize<'de> for EventTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EventTime;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp with offset or integer epoch milliseconds, from 2000 to 2099")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<EventTime, E> {
                i64::try_from(v).map_err(|_| E::custom("epoch ms out of range")).and_then(in_range)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<EventTime, E> {
                in_range(v)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventTime, E> {
                parse_rfc3339(v)
                    .ok_or_else(|| E::custom(format!("not an RFC 3339 timestamp with offset: {v:?}")))
                    .and_then(in_range)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_floor_to_the_minute_also_before_1970() {
        assert_eq!(window_start(119_999), 60_000);
        assert_eq!(window_start(-1), -60_000);
    }

    #[test]
    fn rfc3339_with_offset_parses_and_without_fails() {
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00.5+01:00"), Some(500));
        assert_eq!(parse_rfc3339("2026-11-24T10:00:00"), None);
        assert_eq!(format_rfc3339(1_500), "1970-01-01T00:00:01.500Z");
        assert_eq!(format_minute_id(0), "19700101T0000");
    }
}
