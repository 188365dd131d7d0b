//! The end-of-run summary: counts of what was read, rejected and written, and per-brand figures.
//! Ids are shown through [`crate::ids::for_log`] (escaped: the summary is read on a terminal).

use schemas::{AlertRow, BrandMinuteRow, CareCaseRow};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Per-brand figures for the summary.
#[derive(Debug, Clone, Default)]
pub struct BrandFigures {
    /// Mentions.
    pub mentions: u64,
    /// Negative mentions.
    pub negative: u64,
    /// Sum of scored sentiment.
    pub sentiment_sum: f64,
    /// Scored mentions.
    pub sentiment_count: u64,
    /// Ad comments.
    pub ad_comments: u64,
    /// Cases opened.
    pub cases_opened: u64,
    /// First responses.
    pub first_responses: u64,
    /// Within SLA.
    pub within_sla: u64,
    /// Cases with status breached or breached_unanswered.
    pub breaches: u64,
    /// Of which never answered.
    pub unanswered_breaches: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Input lines read.
    pub lines_read: u64,
    /// Input bytes read.
    pub bytes_read: u64,
    /// Late events.
    pub late: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Dead letters by reason.
    pub dead_letters: BTreeMap<String, u64>,
    /// Alerts opened.
    pub alerts_opened: u64,
    /// Final alert rows.
    pub alerts: Vec<AlertRow>,
    /// Per brand.
    pub brands: BTreeMap<String, BrandFigures>,
    /// Rows written.
    pub rows_brand_minutes: u64,
    /// Rows written.
    pub rows_ad_minutes: u64,
    /// Rows written.
    pub rows_cases: u64,
    /// Rows written.
    pub rows_alerts: u64,
    /// Rows written.
    pub rows_dead: u64,
    /// Mentions (language, scored, unscored), from the scorer's counts
    /// ([`operators::sentiment::LangCounts`]); set once for the whole run, not per worker.
    pub langs: Vec<(&'static str, u64, u64)>,
    /// The global watermark at the end (epoch ms; `brandpulse_watermark_seconds`), when an
    /// epoch with data completed; set once for the whole run.
    pub watermark_ms: Option<i64>,
}

impl Summary {
    /// Adds final brand-minute rows.
    pub fn add_brand_minutes(&mut self, rows: &[BrandMinuteRow]) {
        for r in rows {
            let b = self.brands.entry(r.brand_id.clone()).or_default();
            b.mentions += r.mentions;
            b.negative += r.mentions_negative;
            b.sentiment_sum += r.sentiment_sum;
            b.sentiment_count += r.sentiment_count;
            b.ad_comments += r.ad_comments;
            b.cases_opened += r.cases_opened;
            b.first_responses += r.first_responses;
            b.within_sla += r.responses_within_sla;
        }
    }

    /// Adds final case rows.
    pub fn add_cases(&mut self, rows: &[CareCaseRow]) {
        for r in rows {
            let b = self.brands.entry(r.brand_id.clone()).or_default();
            match r.sla_status.as_str() {
                "breached" => b.breaches += 1,
                "breached_unanswered" => {
                    b.breaches += 1;
                    b.unanswered_breaches += 1;
                }
                _ => {}
            }
        }
    }

    /// Adds final alert rows.
    pub fn add_alerts(&mut self, rows: &[AlertRow]) {
        self.alerts.extend(rows.iter().cloned());
    }

    /// Merges another worker's summary.
    pub fn merge(&mut self, o: Summary) {
        self.lines_read += o.lines_read;
        self.bytes_read += o.bytes_read;
        self.late += o.late;
        self.duplicates += o.duplicates;
        for (k, v) in o.dead_letters {
            *self.dead_letters.entry(k).or_default() += v;
        }
        self.alerts_opened += o.alerts_opened;
        self.alerts.extend(o.alerts);
        for (k, v) in o.brands {
            let b = self.brands.entry(k).or_default();
            b.mentions += v.mentions;
            b.negative += v.negative;
            b.sentiment_sum += v.sentiment_sum;
            b.sentiment_count += v.sentiment_count;
            b.ad_comments += v.ad_comments;
            b.cases_opened += v.cases_opened;
            b.first_responses += v.first_responses;
            b.within_sla += v.within_sla;
            b.breaches += v.breaches;
            b.unanswered_breaches += v.unanswered_breaches;
        }
        self.rows_brand_minutes += o.rows_brand_minutes;
        self.rows_ad_minutes += o.rows_ad_minutes;
        self.rows_cases += o.rows_cases;
        self.rows_alerts += o.rows_alerts;
        self.rows_dead += o.rows_dead;
        self.watermark_ms = self.watermark_ms.max(o.watermark_ms);
        for (lang, scored, unscored) in o.langs {
            match self.langs.iter_mut().find(|(l, _, _)| *l == lang) {
                Some(e) => {
                    e.1 += scored;
                    e.2 += unscored;
                }
                None => self.langs.push((lang, scored, unscored)),
            }
        }
    }

    /// The sentiment-by-language table of the report: mentions, scored, scored share.
    pub fn render_langs(&self) -> String {
        let mut s = String::new();
        let total: u64 = self.langs.iter().map(|&(_, a, b)| a + b).sum();
        let _ = writeln!(s, "\nsentiment by language (mentions; `upstream`: scored upstream, no `lang`; `und`: undetectable):");
        let _ = writeln!(s, "  {:<6} {:>10} {:>7} {:>10} {:>8}", "lang", "mentions", "share", "scored", "scored %");
        let mut langs = self.langs.clone();
        langs.sort_by(|a, b| (b.1 + b.2).cmp(&(a.1 + a.2)).then(a.0.cmp(b.0)));
        for (lang, scored, unscored) in langs {
            let n = scored + unscored;
            let _ = writeln!(
                s,
                "  {:<6} {:>10} {:>6.1}% {:>10} {:>7.1}%",
                lang,
                n,
                100.0 * n as f64 / total.max(1) as f64,
                scored,
                100.0 * scored as f64 / n.max(1) as f64
            );
        }
        s
    }

    /// A readable report.
    pub fn render(&self, seconds: f64) -> String {
        let mut s = String::new();
        let rate = if seconds > 0.0 { self.lines_read as f64 / seconds } else { 0.0 };
        let _ = writeln!(
            s,
            "read {} records ({:.1} MiB) in {:.2} s: {:.0} records/s",
            self.lines_read,
            self.bytes_read as f64 / 1048576.0,
            seconds,
            rate
        );
        let dead: u64 = self.dead_letters.values().sum();
        let _ = writeln!(s, "duplicates dropped: {}   late: {}   dead letters: {}", self.duplicates, self.late, dead);
        for (reason, n) in &self.dead_letters {
            let _ = writeln!(s, "    {reason:<28} {n}");
        }
        if let Some(w) = self.watermark_ms {
            let _ = writeln!(s, "watermark: {}", schemas::time::format_rfc3339(w));
        }
        let _ = writeln!(s, "\nper brand:");
        let _ = writeln!(
            s,
            "  {:<12} {:>9} {:>8} {:>9} {:>8} {:>7} {:>9} {:>8} {:>10}",
            "brand", "mentions", "neg %", "avg sent", "ad cmts", "cases", "SLA met", "breaches", "unanswered"
        );
        for (brand, b) in &self.brands {
            let neg = if b.mentions > 0 { 100.0 * b.negative as f64 / b.mentions as f64 } else { 0.0 };
            let avg = if b.sentiment_count > 0 { b.sentiment_sum / b.sentiment_count as f64 } else { 0.0 };
            let sla = if b.first_responses > 0 {
                format!("{:.1}%", 100.0 * b.within_sla as f64 / b.first_responses as f64)
            } else {
                "-".into()
            };
            let _ = writeln!(
                s,
                "  {:<12} {:>9} {:>7.1}% {:>9.3} {:>8} {:>7} {:>9} {:>8} {:>10}",
                crate::ids::for_log(brand),
                b.mentions,
                neg,
                avg,
                b.ad_comments,
                b.cases_opened,
                sla,
                b.breaches,
                b.unanswered_breaches
            );
        }
        if !self.langs.is_empty() {
            s.push_str(&self.render_langs());
        }
        let _ = writeln!(s, "\ncrisis alerts: {}", self.alerts.len());
        let mut alerts = self.alerts.clone();
        alerts.sort_by(|a, b| a.alert_id.cmp(&b.alert_id));
        for a in &alerts {
            let resolved = a.resolved_window.map(schemas::time::format_rfc3339).unwrap_or_else(|| "still open".into());
            let _ = writeln!(
                s,
                "  {} brand={} ad={} opened {} with {} comments (negative {:.0}%, risky {:.0}%), resolved {}; action {} ({})",
                crate::ids::for_log(&a.alert_id),
                crate::ids::for_log(&a.brand_id),
                crate::ids::for_log(&a.ad_id),
                schemas::time::format_rfc3339(a.opened_at),
                a.comments,
                100.0 * a.neg_share,
                100.0 * a.risk_share,
                resolved,
                a.action.as_deref().unwrap_or("none"),
                a.action_status
            );
        }
        let _ = writeln!(
            s,
            "\nrows written: brand_metrics_minute {}, ad_metrics_minute {}, care_cases {}, alerts {}, dead_letter {}",
            self.rows_brand_minutes, self.rows_ad_minutes, self.rows_cases, self.rows_alerts, self.rows_dead
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_the_workers_reads() {
        let mut a = Summary { lines_read: 3, bytes_read: 100, ..Default::default() };
        a.merge(Summary { lines_read: 2, bytes_read: 2 * 1048576, ..Default::default() });
        assert_eq!((a.lines_read, a.bytes_read), (5, 2 * 1048576 + 100));
        assert!(a.render(1.0).starts_with("read 5 records (2.0 MiB)"), "{}", a.render(1.0));
    }

    fn alert(alert_id: &str, brand_id: &str, ad_id: &str) -> AlertRow {
        AlertRow {
            alert_id: alert_id.into(),
            brand_id: brand_id.into(),
            ad_id: ad_id.into(),
            kind: "ad_comment_crisis".into(),
            window_start: 0,
            opened_at: 0,
            detected_at: 0,
            resolved_window: None,
            comments: 8,
            neg_share: 0.5,
            risk_share: 0.25,
            action: Some("pause_all_publishing".into()),
            action_status: "sent".into(),
            attempts: 1,
            action_latency_ms: None,
        }
    }

    #[test]
    fn ids_are_escaped_and_cannot_add_lines_or_terminal_codes() {
        let (brand, ad) = ("ac\r\n\u{1b}[2Jme\0", "ad-\n\u{0}\u{1b}[31ma1");
        let mut s = Summary::default();
        s.brands.insert(brand.into(), BrandFigures { mentions: 2, ..Default::default() });
        s.add_alerts(&[alert(&format!("crisis-{ad}-19700101T0000"), brand, ad)]);
        let mut plain = Summary::default();
        plain.brands.insert("acme".into(), BrandFigures { mentions: 2, ..Default::default() });
        plain.add_alerts(&[alert("crisis-ad-a1-19700101T0000", "acme", "ad-a1")]);
        let (text, plain) = (s.render(1.0), plain.render(1.0));
        assert_eq!(text.lines().count(), plain.lines().count(), "{text}");
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(
            text.contains("  crisis-ad-\\n\\0\\x1b[31ma1-19700101T0000 brand=ac\\r\\n\\x1b[2Jme\\0 ad=ad-\\n\\0\\x1b[31ma1 opened 1970-01-01T00:00:00.000Z"),
            "{text}"
        );
        assert!(text.contains("\n  ac\\r\\n\\x1b[2Jme\\0 "), "the brand's row: {text}");
    }
}
