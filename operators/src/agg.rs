//! Signed, exactly retractable aggregates of one (brand, minute) and one (ad, minute) window.

use crate::types::{unfixed, Millis};
use schemas::{AdMinuteRow, BrandMinuteRow};
use serde::{Deserialize, Serialize};

macro_rules! signed_struct {
    ($(#[$m:meta])* $name:ident { $( $(#[$fm:meta])* $f:ident : $t:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
        pub struct $name { $( $(#[$fm])* pub $f: $t, )* }
        impl $name {
            /// Adds `other` times `sign` (+1 insert, −1 retract).
            pub fn add(&mut self, other: &Self, sign: i64) {
                $( self.$f += other.$f * (sign as $t); )*
            }
            /// Whether every field is zero.
            pub fn is_zero(&self) -> bool {
                *self == Self::default()
            }
        }
        // The aggregate is a differential dataflow *difference*: an update `(key, time, agg)`
        // adds `agg` to the key's window, a retraction adds its negation, and differential
        // consolidates the updates of a key and time by summing them.
        impl differential_dataflow::difference::IsZero for $name {
            fn is_zero(&self) -> bool {
                $name::is_zero(self)
            }
        }
        impl differential_dataflow::difference::Semigroup for $name {
            fn plus_equals(&mut self, rhs: &Self) {
                self.add(rhs, 1);
            }
        }
        impl differential_dataflow::difference::Monoid for $name {
            fn zero() -> Self {
                Self::default()
            }
        }
        impl differential_dataflow::difference::Abelian for $name {
            fn negate(&mut self) {
                $( self.$f = -self.$f; )*
            }
        }
        impl differential_dataflow::difference::Multiply<isize> for $name {
            type Output = Self;
            fn multiply(self, rhs: &isize) -> Self {
                let mut out = Self::default();
                out.add(&self, *rhs as i64);
                out
            }
        }
    };
}

signed_struct! {
    /// Contributions to one brand-minute window (SPEC §5); sentiment in 10⁻¹² units, times in ms.
    BrandAgg {
        /// Mentions.
        mentions: i64,
        /// Positive mentions.
        mentions_positive: i64,
        /// Negative mentions.
        mentions_negative: i64,
        /// Neutral mentions.
        mentions_neutral: i64,
        /// Unscored mentions.
        mentions_unscored: i64,
        /// Sentiment sum (fixed point).
        sentiment_sum: i128,
        /// Scored mentions.
        sentiment_count: i64,
        /// Reach.
        reach_sum: i64,
        /// Ad comments.
        ad_comments: i64,
        /// Negative ad comments.
        ad_comments_negative: i64,
        /// Risky ad comments.
        ad_comments_risky: i64,
        /// Cases opened.
        cases_opened: i64,
        /// First responses.
        first_responses: i64,
        /// Within SLA.
        responses_within_sla: i64,
        /// Late.
        responses_late: i64,
        /// FRT sum in ms.
        frt_sum_ms: i64,
        /// Answered mentions.
        mentions_answered: i64,
        /// Answered ad comments.
        ad_comments_answered: i64,
        /// Cases resolved.
        cases_resolved: i64,
        /// Resolution time sum in ms.
        resolution_sum_ms: i64,
    }
}

signed_struct! {
    /// Contributions to one ad-minute window; sentiment in 10⁻¹² units.
    AdAgg {
        /// Comments.
        comments: i64,
        /// Negative comments.
        comments_negative: i64,
        /// Risky comments.
        comments_risky: i64,
        /// Unscored comments.
        comments_unscored: i64,
        /// Scored comments.
        sentiment_count: i64,
        /// Sentiment sum (fixed point).
        sentiment_sum: i128,
    }
}

/// The sentiment label of SPEC §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// `s ≥ 0.05`.
    Positive,
    /// `s ≤ −0.05`.
    Negative,
    /// In between.
    Neutral,
    /// No score.
    Unscored,
}

/// Labels a score.
pub fn label(s: Option<f64>) -> Label {
    match s {
        None => Label::Unscored,
        Some(s) if s >= 0.05 => Label::Positive,
        Some(s) if s <= -0.05 => Label::Negative,
        Some(_) => Label::Neutral,
    }
}

impl BrandAgg {
    /// The contribution of one mention.
    pub fn mention(sentiment: Option<f64>, reach: Option<u64>) -> Self {
        let mut a = BrandAgg { mentions: 1, reach_sum: reach.unwrap_or(0) as i64, ..Default::default() };
        match label(sentiment) {
            Label::Positive => a.mentions_positive = 1,
            Label::Negative => a.mentions_negative = 1,
            Label::Neutral => a.mentions_neutral = 1,
            Label::Unscored => a.mentions_unscored = 1,
        }
        if let Some(s) = sentiment {
            a.sentiment_sum = crate::types::fixed(s);
            a.sentiment_count = 1;
        }
        a
    }

    /// The brand-side view of an ad window's aggregate.
    pub fn from_ad(a: &AdAgg) -> Self {
        BrandAgg {
            ad_comments: a.comments,
            ad_comments_negative: a.comments_negative,
            ad_comments_risky: a.comments_risky,
            ..Default::default()
        }
    }

    /// The output row; `frts` are the window's first-response times in ms, sorted.
    pub fn to_row(&self, brand_id: &str, window_start: Millis, frts: &[Millis]) -> BrandMinuteRow {
        let u = |v: i64| v.max(0) as u64;
        let rank = |p: f64| -> Option<f64> {
            if frts.is_empty() {
                return None;
            }
            let k = ((p * frts.len() as f64).ceil() as usize).clamp(1, frts.len());
            Some(frts[k - 1] as f64 / 1000.0)
        };
        BrandMinuteRow {
            brand_id: brand_id.to_string(),
            window_start,
            mentions: u(self.mentions),
            mentions_positive: u(self.mentions_positive),
            mentions_negative: u(self.mentions_negative),
            mentions_neutral: u(self.mentions_neutral),
            mentions_unscored: u(self.mentions_unscored),
            sentiment_sum: unfixed(self.sentiment_sum),
            sentiment_count: u(self.sentiment_count),
            reach_sum: u(self.reach_sum),
            ad_comments: u(self.ad_comments),
            ad_comments_negative: u(self.ad_comments_negative),
            ad_comments_risky: u(self.ad_comments_risky),
            cases_opened: u(self.cases_opened),
            first_responses: u(self.first_responses),
            responses_within_sla: u(self.responses_within_sla),
            responses_late: u(self.responses_late),
            frt_sum_seconds: self.frt_sum_ms as f64 / 1000.0,
            frt_p50_seconds: rank(0.5),
            frt_p90_seconds: rank(0.9),
            mentions_answered: u(self.mentions_answered),
            ad_comments_answered: u(self.ad_comments_answered),
            cases_resolved: u(self.cases_resolved),
            resolution_sum_seconds: self.resolution_sum_ms as f64 / 1000.0,
        }
    }
}

impl AdAgg {
    /// The contribution of one comment.
    pub fn comment(sentiment: Option<f64>, risky: bool) -> Self {
        let mut a = AdAgg { comments: 1, comments_risky: risky as i64, ..Default::default() };
        match label(sentiment) {
            Label::Negative => a.comments_negative = 1,
            Label::Unscored => a.comments_unscored = 1,
            _ => {}
        }
        if let Some(s) = sentiment {
            a.sentiment_count = 1;
            a.sentiment_sum = crate::types::fixed(s);
        }
        a
    }

    /// The output row.
    pub fn to_row(&self, ad_id: &str, window_start: Millis, brand_id: &str, campaign_id: Option<&str>) -> AdMinuteRow {
        let u = |v: i64| v.max(0) as u64;
        AdMinuteRow {
            ad_id: ad_id.to_string(),
            window_start,
            brand_id: brand_id.to_string(),
            campaign_id: campaign_id.map(str::to_string),
            comments: u(self.comments),
            comments_negative: u(self.comments_negative),
            comments_risky: u(self.comments_risky),
            comments_unscored: u(self.comments_unscored),
            sentiment_sum: unfixed(self.sentiment_sum),
            sentiment_count: u(self.sentiment_count),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let a = BrandAgg::default();
        let row = a.to_row("b", 0, &[1000, 2000, 3000, 4000]);
        assert_eq!(row.frt_p50_seconds, Some(2.0)); // ceil(0.5*4) = 2nd
        assert_eq!(row.frt_p90_seconds, Some(4.0)); // ceil(3.6) = 4th
        assert_eq!(a.to_row("b", 0, &[]).frt_p50_seconds, None);
    }

    #[test]
    fn retraction_is_exact() {
        let mut a = BrandAgg::default();
        let m = BrandAgg::mention(Some(0.1), Some(3));
        let n = BrandAgg::mention(Some(0.2), None);
        a.add(&m, 1);
        a.add(&n, 1);
        a.add(&n, -1);
        assert_eq!(a, m);
        assert_eq!(label(Some(0.05)), Label::Positive);
        assert_eq!(label(Some(-0.05)), Label::Negative);
        assert_eq!(label(Some(0.049)), Label::Neutral);
    }
}
