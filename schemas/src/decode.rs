//! Decoding raw JSON bytes into typed events, with validation that names the reason of each reject.

use crate::error::{DecodeError, Reason};
use crate::events::*;
use crate::time::EventTime;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// The largest `text` accepted, in bytes (SPEC §2).
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// The largest record accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Where a record came from: enough to find it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// The topic.
    pub topic: Topic,
    /// File path, or `topic/partition` for Kafka.
    pub source: &'a str,
    /// Partition number (file index in replay).
    pub partition: i32,
    /// Offset in the partition (1-based line number for files).
    pub offset: i64,
}

/// The result of decoding one record.
pub type Decoded = Result<Event, DecodeError>;

/// Decodes one record of `topic` with the brand defaults used for missing brand fields.
///
/// # Errors
/// A [`DecodeError`] whose reason says what is wrong: `empty_record`, `too_large`,
/// `malformed_json`, `not_an_object`, `missing_field:<name>`, `invalid_value:<name>`.
pub fn decode(topic: Topic, bytes: &[u8], defaults: &BrandProfile) -> Decoded {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::new(Reason::EmptyRecord, "empty line"));
    }
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(DecodeError::new(
            Reason::TooLarge,
            format!("record of {} bytes exceeds {} bytes", bytes.len(), MAX_RECORD_BYTES),
        ));
    }
    match topic {
        Topic::Mentions => parse::<RawMention<'_>>(bytes)?.validate().map(Event::Mention),
        Topic::AdComments => parse::<RawAdComment>(bytes)?.validate().map(Event::AdComment),
        Topic::CareEvents => parse::<RawCare>(bytes)?.validate().map(Event::Care),
        Topic::Brands => parse::<RawBrand>(bytes)?.validate(defaults).map(Event::Brand),
        Topic::Ads => parse::<RawAd>(bytes)?.validate().map(Event::Ad),
    }
}

fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => DecodeError::new(Reason::NotAnObject, "the record is JSON but not an object"),
            Err(e) => DecodeError::new(Reason::MalformedJson, e.to_string()),
        });
    }
    // Fast path: most records are good. Only a failure pays for tracking the field path.
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        return Ok(v);
    }
    parse_slow(bytes)
}

/// [`parse`] of a record that failed: tracks the field path to name the reason.
#[cold]
fn parse_slow<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_data() {
            let field = path.split(['.', '[']).next().unwrap_or("");
            DecodeError::new(Reason::InvalidValue(field_name(field)), format!("{path}: {inner}"))
        } else {
            DecodeError::new(Reason::MalformedJson, inner.to_string())
        }
    })?;
    // Trailing garbage after the object is malformed too.
    Ok(value)
}

/// Maps a field name to its `'static` form (the set of known fields), so reasons stay cheap.
fn field_name(f: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "event_id",
        "ts",
        "brand_id",
        "platform",
        "author_id",
        "text",
        "lang",
        "sentiment",
        "reach",
        "country",
        "ad_id",
        "case_id",
        "kind",
        "channel",
        "priority",
        "source_event_id",
        "agent_id",
        "name",
        "sla_seconds",
        "crisis",
        "risk_terms",
        "kill_switch",
        "campaign_id",
        "account_id",
        "spend_per_hour",
        "deleted",
    ];
    KNOWN.iter().find(|k| **k == f).copied().unwrap_or("record")
}

fn required<T>(v: Option<T>, field: &'static str) -> Result<T, DecodeError> {
    v.ok_or_else(|| DecodeError::new(Reason::MissingField(field), format!("`{field}` is required")))
}

fn non_empty(s: String, field: &'static str) -> Result<String, DecodeError> {
    if s.is_empty() {
        Err(DecodeError::new(Reason::InvalidValue(field), format!("`{field}` must not be empty")))
    } else {
        Ok(s)
    }
}

fn check_text(text: &str) -> Result<(), DecodeError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(DecodeError::new(
            Reason::TooLarge,
            format!("text of {} bytes exceeds {} bytes", text.len(), MAX_TEXT_BYTES),
        ));
    }
    Ok(())
}

fn check_sentiment(s: Option<f64>) -> Result<Option<f64>, DecodeError> {
    match s {
        Some(v) if !(-1.0..=1.0).contains(&v) => {
            Err(DecodeError::new(Reason::InvalidValue("sentiment"), format!("sentiment {v} is outside [-1, 1]")))
        }
        other => Ok(other),
    }
}

/// A mention as read: the fields that are validated but not kept (and the text, kept only when
/// it must be scored) are borrowed from the record's bytes, not copied.
#[derive(Deserialize)]
struct RawMention<'a> {
    event_id: Option<String>,
    ts: Option<EventTime>,
    brand_id: Option<String>,
    #[serde(borrow)]
    platform: Option<Cow<'a, str>>,
    #[serde(borrow)]
    author_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    text: Option<Cow<'a, str>>,
    lang: Option<String>,
    sentiment: Option<f64>,
    reach: Option<u64>,
    #[serde(borrow, rename = "country")]
    _country: Option<Cow<'a, str>>,
}

impl RawMention<'_> {
    fn validate(self) -> Result<Mention, DecodeError> {
        let text = required(self.text, "text")?;
        check_text(&text)?;
        let event_id = non_empty(required(self.event_id, "event_id")?, "event_id")?;
        let ts = required(self.ts, "ts")?.0;
        let brand_id = non_empty(required(self.brand_id, "brand_id")?, "brand_id")?;
        required(self.platform, "platform")?;
        required(self.author_id, "author_id")?;
        let sentiment = check_sentiment(self.sentiment)?;
        let text = if sentiment.is_some() { String::new() } else { text.into_owned() };
        Ok(Mention { event_id, ts, brand_id, text, lang: self.lang, sentiment, reach: self.reach })
    }
}

#[derive(Deserialize)]
struct RawAdComment {
    event_id: Option<String>,
    ts: Option<EventTime>,
    ad_id: Option<String>,
    platform: Option<String>,
    author_id: Option<String>,
    text: Option<String>,
    lang: Option<String>,
    sentiment: Option<f64>,
}

impl RawAdComment {
    fn validate(self) -> Result<AdComment, DecodeError> {
        let text = required(self.text, "text")?;
        check_text(&text)?;
        Ok(AdComment {
            event_id: non_empty(required(self.event_id, "event_id")?, "event_id")?,
            ts: required(self.ts, "ts")?.0,
            ad_id: non_empty(required(self.ad_id, "ad_id")?, "ad_id")?,
            platform: required(self.platform, "platform")?,
            author_id: required(self.author_id, "author_id")?,
            text,
            lang: self.lang,
            sentiment: check_sentiment(self.sentiment)?,
        })
    }
}

#[derive(Deserialize)]
struct RawCare {
    event_id: Option<String>,
    ts: Option<EventTime>,
    case_id: Option<String>,
    brand_id: Option<String>,
    kind: Option<CareKind>,
    channel: Option<String>,
    priority: Option<Priority>,
    source_event_id: Option<String>,
    agent_id: Option<String>,
}

impl RawCare {
    fn validate(self) -> Result<CareEvent, DecodeError> {
        Ok(CareEvent {
            event_id: non_empty(required(self.event_id, "event_id")?, "event_id")?,
            ts: required(self.ts, "ts")?.0,
            case_id: non_empty(required(self.case_id, "case_id")?, "case_id")?,
            brand_id: non_empty(required(self.brand_id, "brand_id")?, "brand_id")?,
            kind: required(self.kind, "kind")?,
            channel: required(self.channel, "channel")?,
            priority: self.priority.unwrap_or_default(),
            source_event_id: self.source_event_id.filter(|s| !s.is_empty()),
            agent_id: self.agent_id,
        })
    }
}

#[derive(Deserialize, Default)]
struct RawSla {
    urgent: Option<u64>,
    high: Option<u64>,
    normal: Option<u64>,
    low: Option<u64>,
}

#[derive(Deserialize, Default)]
struct RawCrisis {
    min_comments: Option<u64>,
    negative_share: Option<f64>,
    risk_share: Option<f64>,
}

#[derive(Deserialize, Default)]
struct RawKillSwitch {
    enabled: Option<bool>,
    auto_resume: Option<bool>,
}

#[derive(Deserialize)]
struct RawBrand {
    brand_id: Option<String>,
    /// Optional; when present it must be a valid event time (SPEC §3), though decoding keeps
    /// no use for it (replay reads it to place the row in time).
    #[serde(rename = "ts")]
    _ts: Option<EventTime>,
    name: Option<String>,
    sla_seconds: Option<RawSla>,
    crisis: Option<RawCrisis>,
    risk_terms: Option<Vec<String>>,
    kill_switch: Option<RawKillSwitch>,
    #[serde(default)]
    deleted: bool,
}

impl RawBrand {
    fn validate(self, d: &BrandProfile) -> Result<BrandRow, DecodeError> {
        let brand_id = non_empty(required(self.brand_id, "brand_id")?, "brand_id")?;
        if self.deleted {
            return Ok(BrandRow { brand_id, profile: None });
        }
        let sla = self.sla_seconds.unwrap_or_default();
        let crisis = self.crisis.unwrap_or_default();
        for share in [crisis.negative_share, crisis.risk_share].into_iter().flatten() {
            if !(0.0..=1.0).contains(&share) {
                return Err(DecodeError::new(
                    Reason::InvalidValue("crisis"),
                    format!("crisis share {share} is outside [0, 1]"),
                ));
            }
        }
        let ks = self.kill_switch.unwrap_or_default();
        let profile = BrandProfile {
            name: self.name,
            sla_seconds: SlaSeconds {
                urgent: sla.urgent.unwrap_or(d.sla_seconds.urgent),
                high: sla.high.unwrap_or(d.sla_seconds.high),
                normal: sla.normal.unwrap_or(d.sla_seconds.normal),
                low: sla.low.unwrap_or(d.sla_seconds.low),
            },
            crisis: CrisisThresholds {
                min_comments: crisis.min_comments.unwrap_or(d.crisis.min_comments),
                negative_share: crisis.negative_share.unwrap_or(d.crisis.negative_share),
                risk_share: crisis.risk_share.unwrap_or(d.crisis.risk_share),
            },
            risk_terms: match self.risk_terms {
                Some(terms) => terms.into_iter().map(|t| t.to_lowercase()).collect(),
                None => d.risk_terms.clone(),
            },
            kill_switch: KillSwitch {
                enabled: ks.enabled.unwrap_or(d.kill_switch.enabled),
                auto_resume: ks.auto_resume.unwrap_or(d.kill_switch.auto_resume),
            },
        };
        Ok(BrandRow { brand_id, profile: Some(Arc::new(profile)) })
    }
}

#[derive(Deserialize)]
struct RawAd {
    ad_id: Option<String>,
    /// Optional; when present it must be a valid event time (SPEC §3), though decoding keeps
    /// no use for it (replay reads it to place the row in time).
    #[serde(rename = "ts")]
    _ts: Option<EventTime>,
    brand_id: Option<String>,
    campaign_id: Option<String>,
    platform: Option<String>,
    account_id: Option<String>,
    spend_per_hour: Option<f64>,
    #[serde(default)]
    deleted: bool,
}

impl RawAd {
    fn validate(self) -> Result<AdRow, DecodeError> {
        let ad_id = non_empty(required(self.ad_id, "ad_id")?, "ad_id")?;
        if self.deleted {
            return Ok(AdRow { ad_id, info: None });
        }
        if let Some(s) = self.spend_per_hour {
            if !(s >= 0.0 && s.is_finite()) {
                return Err(DecodeError::new(
                    Reason::InvalidValue("spend_per_hour"),
                    format!("spend_per_hour {s} must be a non-negative number"),
                ));
            }
        }
        Ok(AdRow {
            ad_id,
            info: Some(Arc::new(AdInfo {
                brand_id: non_empty(required(self.brand_id, "brand_id")?, "brand_id")?,
                campaign_id: self.campaign_id,
                platform: self.platform,
                account_id: self.account_id,
                spend_per_hour: self.spend_per_hour,
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(topic: Topic, s: &str) -> String {
        decode(topic, s.as_bytes(), &BrandProfile::default()).unwrap_err().reason.code()
    }

    #[test]
    fn good_mention_decodes_with_both_time_forms() {
        let a = r#"{"event_id":"m-1","ts":"2026-11-24T10:00:00.120Z","brand_id":"acme","platform":"x","author_id":"u","text":"hi","extra":[1]}"#;
        let b = r#"{"event_id":"m-1","ts":1795514400120,"brand_id":"acme","platform":"x","author_id":"u","text":"hi"}"#;
        let (Event::Mention(a), Event::Mention(b)) = (
            decode(Topic::Mentions, a.as_bytes(), &BrandProfile::default()).unwrap(),
            decode(Topic::Mentions, b.as_bytes(), &BrandProfile::default()).unwrap(),
        ) else {
            panic!("not mentions")
        };
        assert_eq!(a.ts, b.ts);
    }

    #[test]
    fn event_times_outside_2000_to_2100_are_invalid() {
        let line = |ts: &str| {
            format!(r#"{{"event_id":"m","ts":{ts},"brand_id":"a","platform":"x","author_id":"u","text":""}}"#)
        };
        for ts in [
            "\"2999-01-01T00:00:00Z\"",
            "\"2100-01-01T00:00:00Z\"",
            "\"1999-12-31T23:59:59.999Z\"",
            "4102444800000",
            "9000000000000000",
            "10000000000000000",
            "-9223372036854775808",
            "9223372036854775807",
            "18446744073709551615",
            "0",
            "1",
        ] {
            assert_eq!(reason(Topic::Mentions, &line(ts)), "invalid_value:ts", "ts {ts}");
            assert_eq!(
                reason(
                    Topic::CareEvents,
                    &line(ts).replace("\"text\":\"\"", "\"case_id\":\"k\",\"kind\":\"opened\",\"channel\":\"c\"")
                ),
                "invalid_value:ts",
                "care ts {ts}"
            );
        }
        for ts in ["\"2000-01-01T00:00:00Z\"", "\"2099-12-31T23:59:59.999Z\"", "946684800000", "4102444799999"] {
            assert!(decode(Topic::Mentions, line(ts).as_bytes(), &BrandProfile::default()).is_ok(), "ts {ts}");
        }
    }

    #[test]
    fn rejects_name_their_reason() {
        let m = Topic::Mentions;
        assert_eq!(reason(m, "   "), "empty_record");
        assert_eq!(reason(m, r#"{"event_id":"m-1","#), "malformed_json");
        assert_eq!(reason(m, "[1,2]"), "not_an_object");
        assert_eq!(
            reason(m, r#"{"ts":1795514400000,"brand_id":"a","platform":"x","author_id":"u","text":""}"#),
            "missing_field:event_id"
        );
        assert_eq!(
            reason(m, r#"{"event_id":"m","ts":null,"brand_id":"a","platform":"x","author_id":"u","text":""}"#),
            "missing_field:ts"
        );
        assert_eq!(
            reason(m, r#"{"event_id":"m","ts":1.5,"brand_id":"a","platform":"x","author_id":"u","text":""}"#),
            "invalid_value:ts"
        );
        assert_eq!(
            reason(
                m,
                r#"{"event_id":"m","ts":"2026-11-24T10:00:00","brand_id":"a","platform":"x","author_id":"u","text":""}"#
            ),
            "invalid_value:ts"
        );
        assert_eq!(
            reason(
                m,
                r#"{"event_id":"m","ts":1795514400000,"brand_id":"a","platform":"x","author_id":"u","text":"","reach":-3}"#
            ),
            "invalid_value:reach"
        );
        assert_eq!(
            reason(
                m,
                r#"{"event_id":"m","ts":1795514400000,"brand_id":"a","platform":"x","author_id":"u","text":"","sentiment":1.5}"#
            ),
            "invalid_value:sentiment"
        );
        assert_eq!(
            reason(
                Topic::CareEvents,
                r#"{"event_id":"e","ts":1795514400000,"case_id":"k","brand_id":"a","kind":"closed","channel":"x"}"#
            ),
            "invalid_value:kind"
        );
        assert_eq!(
            reason(Topic::Brands, r#"{"brand_id":"a","sla_seconds":{"urgent":"fast"}}"#),
            "invalid_value:sla_seconds"
        );
        assert_eq!(
            reason(Topic::Ads, r#"{"ad_id":"a","brand_id":"b","spend_per_hour":-1}"#),
            "invalid_value:spend_per_hour"
        );
        let big = format!(
            r#"{{"event_id":"m","ts":1795514400000,"brand_id":"a","platform":"x","author_id":"u","text":"{}"}}"#,
            "a".repeat(MAX_TEXT_BYTES + 1)
        );
        assert_eq!(reason(m, &big), "too_large");
        let bad_utf8 = decode(m, b"{\"event_id\":\"m\xff\"}", &BrandProfile::default());
        assert_eq!(bad_utf8.unwrap_err().reason.code(), "malformed_json");
    }

    #[test]
    fn brand_fields_take_defaults_and_deletion_has_no_profile() {
        let d = BrandProfile::default();
        let Event::Brand(b) =
            decode(Topic::Brands, br#"{"brand_id":"a","crisis":{"min_comments":5},"risk_terms":["SCAM"]}"#, &d)
                .unwrap()
        else {
            panic!()
        };
        let p = b.profile.unwrap();
        assert_eq!(p.crisis.min_comments, 5);
        assert_eq!(p.crisis.negative_share, 0.6);
        assert_eq!(p.risk_terms, vec!["scam"]);
        assert!(p.is_risky("What a SCAM!"));
        let Event::Brand(b) = decode(Topic::Brands, br#"{"brand_id":"a","deleted":true}"#, &d).unwrap() else {
            panic!()
        };
        assert!(b.profile.is_none());
    }
}
