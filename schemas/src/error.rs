//! Why a record was rejected: stable reason codes used in dead letters, logs and metric labels.

use std::fmt;

/// The reason a record goes to the dead letter. `code()` is the stable short form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// Not valid JSON (truncated, invalid UTF-8, syntax error).
    MalformedJson,
    /// Valid JSON, but not an object.
    NotAnObject,
    /// An empty or whitespace-only record.
    EmptyRecord,
    /// A required field is absent or null.
    MissingField(&'static str),
    /// A field has the wrong type or an out-of-range value.
    InvalidValue(&'static str),
    /// The record or its `text` is larger than the limit (64 KiB of text).
    TooLarge,
    /// The event is later than the allowed lateness in its partition, or its window is final.
    Late,
    /// An ad comment whose ad was still unknown when its window became final.
    UnknownAdExpired,
}

impl Reason {
    /// The stable reason code, e.g. `missing_field:ts`.
    pub fn code(&self) -> String {
        match self {
            Reason::MalformedJson => "malformed_json".into(),
            Reason::NotAnObject => "not_an_object".into(),
            Reason::EmptyRecord => "empty_record".into(),
            Reason::MissingField(f) => format!("missing_field:{f}"),
            Reason::InvalidValue(f) => format!("invalid_value:{f}"),
            Reason::TooLarge => "too_large".into(),
            Reason::Late => "late".into(),
            Reason::UnknownAdExpired => "unknown_ad_expired".into(),
        }
    }

    /// The reason's kind without its field, for metric labels (bounded cardinality).
    pub fn kind(&self) -> &'static str {
        match self {
            Reason::MalformedJson => "malformed_json",
            Reason::NotAnObject => "not_an_object",
            Reason::EmptyRecord => "empty_record",
            Reason::MissingField(_) => "missing_field",
            Reason::InvalidValue(_) => "invalid_value",
            Reason::TooLarge => "too_large",
            Reason::Late => "late",
            Reason::UnknownAdExpired => "unknown_ad_expired",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code())
    }
}

/// A record that could not be decoded: the user's input is at fault, never the job.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct DecodeError {
    /// The stable reason.
    pub reason: Reason,
    /// A human-readable explanation.
    pub detail: String,
}

impl DecodeError {
    /// Builds an error.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        DecodeError { reason, detail: detail.into() }
    }
}
