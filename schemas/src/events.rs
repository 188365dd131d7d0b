//! Typed input events (SPEC §2): dimensions (brands, ads) and facts (mentions, ad comments, care events).

use crate::time::Millis;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The five input topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Brand dimension rows.
    Brands,
    /// Ad dimension rows.
    Ads,
    /// Social mentions (facts).
    Mentions,
    /// Comments on ads (facts).
    AdComments,
    /// Customer-care case events (facts).
    CareEvents,
}

impl Topic {
    /// Every topic, dimensions first.
    pub const ALL: [Topic; 5] = [Topic::Brands, Topic::Ads, Topic::Mentions, Topic::AdComments, Topic::CareEvents];

    /// The topic's name as used in file names and configs.
    pub fn name(self) -> &'static str {
        match self {
            Topic::Brands => "brands",
            Topic::Ads => "ads",
            Topic::Mentions => "mentions",
            Topic::AdComments => "ad_comments",
            Topic::CareEvents => "care_events",
        }
    }

    /// Parses a topic name.
    pub fn from_name(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Whether the topic carries facts (subject to lateness and the watermark).
    pub fn is_fact(self) -> bool {
        matches!(self, Topic::Mentions | Topic::AdComments | Topic::CareEvents)
    }
}

/// Priority of a care case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Urgent.
    Urgent,
    /// High.
    High,
    /// Normal (the default).
    #[default]
    Normal,
    /// Low.
    Low,
}

impl Priority {
    /// The priority's name.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// Kind of a care event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareKind {
    /// The case was opened.
    Opened,
    /// The customer wrote.
    CustomerMessage,
    /// An agent answered.
    AgentResponse,
    /// The case was resolved.
    Resolved,
    /// The case was reopened.
    Reopened,
}

/// SLA first-response targets in seconds, per priority.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaSeconds {
    /// Target for urgent cases.
    pub urgent: u64,
    /// Target for high-priority cases.
    pub high: u64,
    /// Target for normal cases.
    pub normal: u64,
    /// Target for low-priority cases.
    pub low: u64,
}

impl Default for SlaSeconds {
    fn default() -> Self {
        SlaSeconds { urgent: 900, high: 3600, normal: 14400, low: 86400 }
    }
}

impl SlaSeconds {
    /// The target for a priority.
    pub fn target(&self, p: Priority) -> u64 {
        match p {
            Priority::Urgent => self.urgent,
            Priority::High => self.high,
            Priority::Normal => self.normal,
            Priority::Low => self.low,
        }
    }
}

/// Thresholds of the ad-comment crisis rule (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrisisThresholds {
    /// Minimum comments in the ten-bucket window.
    pub min_comments: u64,
    /// Negative share (negative / scored) that triggers.
    pub negative_share: f64,
    /// Risky share (risky / all) that triggers.
    pub risk_share: f64,
}

impl Default for CrisisThresholds {
    fn default() -> Self {
        CrisisThresholds { min_comments: 20, negative_share: 0.6, risk_share: 0.3 }
    }
}

/// Kill-switch settings of a brand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KillSwitch {
    /// Whether a crisis pauses the brand's publishing.
    pub enabled: bool,
    /// Whether publishing resumes by itself once no crisis is active.
    pub auto_resume: bool,
}

impl Default for KillSwitch {
    fn default() -> Self {
        KillSwitch { enabled: true, auto_resume: false }
    }
}

/// A brand's complete settings, after defaults are applied. Shared by reference count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandProfile {
    /// Display name.
    pub name: Option<String>,
    /// SLA targets.
    pub sla_seconds: SlaSeconds,
    /// Crisis thresholds.
    pub crisis: CrisisThresholds,
    /// Risk terms, lower-cased.
    pub risk_terms: Vec<String>,
    /// Kill switch settings.
    pub kill_switch: KillSwitch,
}

impl Default for BrandProfile {
    fn default() -> Self {
        BrandProfile {
            name: None,
            sla_seconds: SlaSeconds::default(),
            crisis: CrisisThresholds::default(),
            risk_terms: ["torrent", "free download", "pirate", "scam", "boycott"].map(String::from).to_vec(),
            kill_switch: KillSwitch::default(),
        }
    }
}

impl BrandProfile {
    /// Whether a text is risky: its lower-cased form contains one of the risk terms.
    pub fn is_risky(&self, text: &str) -> bool {
        if self.risk_terms.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        self.risk_terms.iter().any(|t| !t.is_empty() && lower.contains(t.as_str()))
    }
}

/// A brand row: `profile` is `None` for a deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrandRow {
    /// The key.
    pub brand_id: String,
    /// The settings with defaults applied, or `None` when the row deletes the brand.
    pub profile: Option<Arc<BrandProfile>>,
}

/// An ad's dimension fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdInfo {
    /// Owning brand.
    pub brand_id: String,
    /// Campaign.
    pub campaign_id: Option<String>,
    /// Platform.
    pub platform: Option<String>,
    /// Ad account.
    pub account_id: Option<String>,
    /// Spend per hour, for "spend protected while paused".
    pub spend_per_hour: Option<f64>,
}

/// An ad row: `info` is `None` for a deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdRow {
    /// The key.
    pub ad_id: String,
    /// The fields, or `None` when the row deletes the ad.
    pub info: Option<Arc<AdInfo>>,
}

/// A social mention: the fields the dataflow uses. `platform`, `author_id` and `country` are
/// validated by [`crate::decode`] (present where required, strings) but not kept: no metric
/// reads them, and the record's raw bytes travel with it for its dead letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// Unique id (dedup key).
    pub event_id: String,
    /// Event time.
    pub ts: Millis,
    /// Brand mentioned.
    pub brand_id: String,
    /// Text (at most 64 KiB), kept only when it must be scored: empty when the mention carries
    /// an upstream `sentiment`.
    pub text: String,
    /// Language, ISO 639-1, when given.
    pub lang: Option<String>,
    /// Upstream sentiment in [-1, 1], when given.
    pub sentiment: Option<f64>,
    /// Reach.
    pub reach: Option<u64>,
}

/// A comment on an ad.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdComment {
    /// Unique id (dedup key).
    pub event_id: String,
    /// Event time.
    pub ts: Millis,
    /// The ad commented on.
    pub ad_id: String,
    /// Platform.
    pub platform: String,
    /// Author.
    pub author_id: String,
    /// Text (at most 64 KiB).
    pub text: String,
    /// Language, ISO 639-1, when given.
    pub lang: Option<String>,
    /// Upstream sentiment in [-1, 1], when given.
    pub sentiment: Option<f64>,
}

/// A customer-care case event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CareEvent {
    /// Unique id (dedup key).
    pub event_id: String,
    /// Event time.
    pub ts: Millis,
    /// The case.
    pub case_id: String,
    /// Brand.
    pub brand_id: String,
    /// What happened.
    pub kind: CareKind,
    /// Channel.
    pub channel: String,
    /// Priority (default normal).
    pub priority: Priority,
    /// The mention or ad comment that started the case.
    pub source_event_id: Option<String>,
    /// Agent.
    pub agent_id: Option<String>,
}

/// Any decoded input record.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A brand row.
    Brand(BrandRow),
    /// An ad row.
    Ad(AdRow),
    /// A mention.
    Mention(Mention),
    /// An ad comment.
    AdComment(AdComment),
    /// A care event.
    Care(CareEvent),
}

impl Event {
    /// The event time of a fact; `None` for dimension rows.
    pub fn ts(&self) -> Option<Millis> {
        match self {
            Event::Mention(m) => Some(m.ts),
            Event::AdComment(c) => Some(c.ts),
            Event::Care(e) => Some(e.ts),
            Event::Brand(_) | Event::Ad(_) => None,
        }
    }
}
