//! Kill-switch actions (SPEC §6): `pause_all_publishing` when a crisis opens, `resume_publishing`
//! through the API or `auto_resume`, delivered to a webhook and the Kafka control topic,
//! exactly once per alert across restarts (through the [`outbox`]).
//!
//! Wire protocol: `POST <actions.url>` with a JSON body
//! `{"action","brand_id","alert_id","reason","evidence":{"ad_id","window":{"start","end"},
//! "comments","neg_share","risk_share"},"issued_at"}` (resumes: `action`, `brand_id`,
//! `resume_id`, `reason`, `issued_at`), headers `Content-Type: application/json`,
//! `Idempotency-Key: <alert_id or resume_id>` and `Authorization: Bearer <$actions.token_env>`.
//! The key is percent-encoded ([`crate::ids::header_value`]: bytes outside visible ASCII and `%`
//! as `%XX`), so an id holding control characters or non-ASCII text is still one valid header;
//! ids in log lines are escaped ([`crate::ids::for_log`]).
//!
//! Retries, decided here and nowhere else:
//! - retried with exponential backoff and jitter until `actions.deadline_seconds`: network errors
//!   and timeouts (the request may not have arrived), `408 Request Timeout`, `429 Too Many
//!   Requests` and every `5xx` (the receiver is overloaded or failing, the request is valid);
//! - not retried (permanent failure, `failed`): every other status outside `2xx` — `400`, `401`,
//!   `403`, `404`, `422`… say the request or its credentials are wrong and will stay wrong, and
//!   `3xx` (redirects are not followed: a moved webhook is a configuration error);
//! - not retried either: a request that cannot be built (a header, the URL or the body refused by
//!   the HTTP client, reqwest's builder errors) would fail the same way every time — the action is
//!   `failed` at once with the reason, and no request is counted as sent.
//!
//! Not supported: TLS client certificates; `Retry-After` (the backoff ignores it).

pub mod config;
pub mod outbox;

use self::config::ActionsConfig;
use self::outbox::{Outbox, Phase, Record};
use crate::ids;
use anyhow::Context;
use schemas::time::{format_rfc3339, MINUTE_MS};
use schemas::AlertRow;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The pause action's name.
pub const PAUSE: &str = "pause_all_publishing";
/// The resume action's name.
pub const RESUME: &str = "resume_publishing";

/// Publishes an action on the Kafka control topic: `(brand_id, json)`; the receiver gets the
/// broker's answer (`Err` with the reason when the message could not be delivered).
pub type ControlHook = Arc<dyn Fn(&str, &[u8]) -> ControlDelivery + Send + Sync>;

/// The outcome of one control-topic message.
pub type ControlDelivery = tokio::sync::oneshot::Receiver<Result<(), String>>;

/// Why a resume was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResumeError {
    /// The brand's publishing is not paused.
    NotPaused,
}

/// A brand as the API shows it.
#[derive(Debug, Clone, Serialize, Default)]
pub struct BrandView {
    /// Brand.
    pub brand_id: String,
    /// Display name, from the brand's dimension row (when one was read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The brand's `kill_switch.enabled`, from its dimension row (when one was read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kill_switch_enabled: Option<bool>,
    /// Whether publishing is paused (as the dataflow's brand state has it).
    pub publishing_paused: bool,
    /// Since when, epoch ms (the opening comment's ts).
    pub paused_since: Option<i64>,
    /// The alert that paused it.
    pub paused_by: Option<String>,
    /// Crises opened so far.
    pub crises: u64,
    /// Pauses and resumes, oldest first.
    pub history: Vec<HistoryEntry>,
}

/// A pause or resume of a brand.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    /// `pause_all_publishing` or `resume_publishing`.
    pub action: String,
    /// Idempotency key (alert id or resume id).
    pub key: String,
    /// `crisis`, `api` or `auto_resume`.
    pub trigger: String,
    /// Wall clock, epoch ms.
    pub at: i64,
}

/// The delivery status of an action, as the API and the alert row show it.
#[derive(Debug, Clone, Serialize)]
pub struct ActionView {
    /// Idempotency key.
    pub key: String,
    /// Action.
    pub action: String,
    /// Brand.
    pub brand_id: String,
    /// `sending`, `sent`, `failed` or `dry_run`.
    pub status: String,
    /// Requests sent.
    pub attempts: u32,
    /// Last HTTP status.
    pub last_status: Option<u16>,
    /// Last error.
    pub error: Option<String>,
    /// Read → request leaving, ms.
    pub latency_ms: Option<f64>,
    /// The Kafka control topic's copy: `delivered` (broker acknowledged), `pending`, or absent
    /// when Kafka is not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<&'static str>,
}

#[derive(Default)]
struct State {
    /// Every action delivered or being delivered, by key.
    records: BTreeMap<String, Record>,
    /// Keys whose delivery has not ended (in this process).
    pending: std::collections::BTreeSet<String>,
    /// Actions not sent because actions are off or nothing is configured (`dry_run`).
    dry: std::collections::BTreeSet<String>,
    /// Alerts by id, latest version.
    alerts: BTreeMap<String, AlertRow>,
    /// Brands.
    brands: BTreeMap<String, BrandView>,
    /// Resumes for the dataflow (worker 0 takes them).
    resumes: VecDeque<(String, i64)>,
}

impl State {
    /// The brand's view, created on first sight.
    fn brand(&mut self, brand_id: &str) -> &mut BrandView {
        self.brands
            .entry(brand_id.to_string())
            .or_insert_with(|| BrandView { brand_id: brand_id.to_string(), ..Default::default() })
    }

    /// Keeps a control-topic acknowledgment that another task recorded for `r` meanwhile.
    fn keep_control_ack(&self, r: &mut Record) {
        if self.records.get(&r.key).is_some_and(|old| old.control_delivered == Some(true)) {
            r.control_delivered = Some(true);
        }
    }
}

struct Inner {
    cfg: ActionsConfig,
    /// Requests are sent (`--fire-actions`, `run`); otherwise alerts are recorded only.
    fire: bool,
    url: Option<reqwest::Url>,
    token: Option<String>,
    client: reqwest::Client,
    outbox: Option<Outbox>,
    sem: tokio::sync::Semaphore,
    control: Option<ControlHook>,
    /// Serializes outbox writes of a record by the webhook task and the control-topic task, so
    /// the last write has both parts' latest values.
    write: Mutex<()>,
    state: Mutex<State>,
    changed: Condvar,
    /// Epoch → wall ms when its reading started (replay), for latencies.
    read_at: Mutex<BTreeMap<u64, i64>>,
}

/// The action dispatcher, shared by the workers, the sinks and the HTTP API (cheap to clone).
#[derive(Clone)]
pub struct Actions {
    inner: Arc<Inner>,
    rt: Arc<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Actions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = crate::config::redact::Redacted(&self.inner.cfg.url).to_string();
        f.debug_struct("Actions").field("fire", &self.inner.fire).field("url", &url).finish()
    }
}

fn now_ms() -> i64 {
    operators::system_clock()
}

/// The pause body of an alert (SPEC §6).
pub fn pause_body(a: &AlertRow, issued_at: i64) -> String {
    let window_start = a.window_start - 9 * MINUTE_MS;
    serde_json::json!({
        "action": PAUSE,
        "brand_id": a.brand_id,
        "alert_id": a.alert_id,
        "reason": format!(
            "ad_comment_crisis on ad {}: {} comments in the 10 minutes to {}, negative share {:.3}, risky share {:.3}",
            a.ad_id, a.comments, format_rfc3339(a.window_start + MINUTE_MS), a.neg_share, a.risk_share
        ),
        "evidence": {
            "ad_id": a.ad_id,
            "window": {"start": format_rfc3339(window_start), "end": format_rfc3339(a.window_start + MINUTE_MS)},
            "comments": a.comments,
            "neg_share": a.neg_share,
            "risk_share": a.risk_share,
        },
        "issued_at": format_rfc3339(issued_at),
    })
    .to_string()
}

impl Actions {
    /// Creates the dispatcher. With `fire`, actions are sent and `state_dir` (if given) holds the
    /// outbox, whose undelivered records are sent again now. `control`: every action is also
    /// published on the Kafka control topic (`run` with Kafka).
    ///
    /// # Errors
    /// Bad URL, the outbox cannot be opened, the runtime cannot start.
    pub fn new(
        cfg: &ActionsConfig,
        fire: bool,
        state_dir: Option<&Path>,
        control: Option<ControlHook>,
    ) -> anyhow::Result<Actions> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("brandpulse-actions")
            .enable_all()
            .build()
            .context("starting the actions runtime")?;
        let url = if cfg.url.is_empty() {
            None
        } else {
            Some(reqwest::Url::parse(&cfg.url).map_err(|e| anyhow::anyhow!("key `actions.url`: {e}"))?)
        };
        let token = std::env::var(&cfg.token_env).ok().filter(|t| !t.is_empty());
        // A token that is no header value would make every request unbuildable: a config error.
        if let Some(t) = token.as_ref().filter(|_| fire && url.is_some()) {
            if reqwest::header::HeaderValue::from_str(&format!("Bearer {t}")).is_err() {
                anyhow::bail!(
                    "${} (key `actions.token_env`) holds a character not allowed in an HTTP header (a control character such as a line break): set it to the token alone",
                    cfg.token_env
                );
            }
        }
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(cfg.request_timeout_ms.max(1)))
            .tcp_nodelay(true)
            .build()
            .context("building the webhook client")?;
        let outbox = match (fire, state_dir) {
            (true, Some(dir)) => Some(Outbox::open(&dir.join("outbox.redb"))?),
            _ => None,
        };
        let mut state = State::default();
        let mut resend = Vec::new();
        if let Some(o) = &outbox {
            for r in o.load()? {
                if r.phase == Phase::Sending || r.control_delivered == Some(false) {
                    resend.push(r.key.clone());
                    state.pending.insert(r.key.clone());
                }
                state.records.insert(r.key.clone(), r);
            }
        }
        let inner = Arc::new(Inner {
            cfg: cfg.clone(),
            fire,
            url,
            token,
            client,
            outbox,
            sem: tokio::sync::Semaphore::new(cfg.max_in_flight.max(1)),
            control,
            write: Mutex::new(()),
            state: Mutex::new(state),
            changed: Condvar::new(),
            read_at: Mutex::new(BTreeMap::new()),
        });
        let actions = Actions { inner, rt: Arc::new(rt) };
        if !resend.is_empty() {
            tracing::warn!(
                actions = resend.len(),
                "kill-switch actions not acknowledged before a restart: sending them again (same Idempotency-Key, same body)"
            );
        }
        for key in resend {
            actions.spawn_delivery(key, None);
        }
        Ok(actions)
    }

    /// The runtime the HTTP server runs on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.rt
    }

    /// Notes that reading epoch `epoch` started at `ms` (wall clock); the first note wins.
    pub fn note_read(&self, epoch: u64, ms: i64) {
        let mut m = self.inner.read_at.lock().expect("not poisoned");
        m.entry(epoch).or_insert(ms);
        while m.len() > 4096 {
            m.pop_first();
        }
    }

    /// A brand's dimension row was read: lists the brand (`GET /api/brands`, resume) before it
    /// has any alert. A row deleting the brand keeps its history.
    pub fn note_brand(&self, row: &schemas::events::BrandRow) {
        let Some(p) = &row.profile else { return };
        let mut st = self.inner.state.lock().expect("not poisoned");
        let b = st.brand(&row.brand_id);
        b.name = p.name.clone();
        b.kill_switch_enabled = Some(p.kill_switch.enabled);
    }

    /// When reading `epoch` started, if noted.
    pub fn read_at(&self, epoch: u64) -> Option<i64> {
        self.inner.read_at.lock().expect("not poisoned").get(&epoch).copied()
    }

    /// An alert opened (the `alerts_opened` output): records it and, when its action is
    /// `pause_all_publishing` and actions fire, delivers it — unless the outbox already has it
    /// (a restart replaying the same input). `read_at_ms`: wall clock when the triggering
    /// comment's batch was read.
    pub fn on_alert_opened(&self, row: &AlertRow, read_at_ms: Option<i64>) {
        let now = now_ms();
        let mut st = self.inner.state.lock().expect("not poisoned");
        st.alerts.insert(row.alert_id.clone(), row.clone());
        let b = st.brand(&row.brand_id);
        b.crises += 1;
        if row.action.as_deref() != Some(PAUSE) {
            tracing::warn!(alert_id = %ids::for_log(&row.alert_id), brand_id = %ids::for_log(&row.brand_id), ad_id = %ids::for_log(&row.ad_id), status = %row.action_status, "ad-comment crisis opened; no action");
            return;
        }
        b.publishing_paused = true;
        b.paused_since = Some(row.opened_at);
        b.paused_by = Some(row.alert_id.clone());
        b.history.push(HistoryEntry {
            action: PAUSE.into(),
            key: row.alert_id.clone(),
            trigger: "crisis".into(),
            at: now,
        });
        if st.records.contains_key(&row.alert_id) {
            tracing::info!(alert_id = %ids::for_log(&row.alert_id), "pause_all_publishing already in the outbox: not sent again");
            return;
        }
        let body = pause_body(row, now);
        if !self.inner.fire || !self.inner.cfg.enabled || (self.inner.url.is_none() && self.control().is_none()) {
            tracing::warn!(alert_id = %ids::for_log(&row.alert_id), brand_id = %ids::for_log(&row.brand_id), body = %body, "ad-comment crisis opened; would send pause_all_publishing (no webhook configured or actions not fired)");
            st.dry.insert(row.alert_id.clone());
            return;
        }
        let record = Record {
            key: row.alert_id.clone(),
            action: PAUSE.into(),
            brand_id: row.brand_id.clone(),
            body,
            phase: Phase::Sending,
            attempts: 0,
            last_status: None,
            error: None,
            latency_ms: None,
            updated_at: now,
            control_delivered: self.control().is_some().then_some(false),
        };
        st.pending.insert(record.key.clone());
        st.records.insert(record.key.clone(), record);
        drop(st);
        self.spawn_delivery(row.alert_id.clone(), read_at_ms);
    }

    fn control(&self) -> Option<&ControlHook> {
        self.inner.control.as_ref()
    }

    /// Publishing of `brand_id` resumed automatically (its `auto_resume`, no crisis active).
    pub fn on_auto_resume(&self, brand_id: &str) {
        let _ = self.resume_with(brand_id, "auto_resume", false);
    }

    /// Resumes publishing of a paused brand (the API): sends `resume_publishing` and queues the
    /// resume for the dataflow. Returns the resume id.
    ///
    /// # Errors
    /// [`ResumeError::NotPaused`] when the brand's publishing is not paused.
    pub fn resume(&self, brand_id: &str) -> Result<String, ResumeError> {
        self.resume_with(brand_id, "api", true)
    }

    fn resume_with(&self, brand_id: &str, trigger: &str, to_dataflow: bool) -> Result<String, ResumeError> {
        let now = now_ms();
        let mut st = self.inner.state.lock().expect("not poisoned");
        let b = match st.brands.get_mut(brand_id) {
            Some(b) if b.publishing_paused => b,
            _ => return Err(ResumeError::NotPaused),
        };
        let key = format!("resume-{brand_id}-{now}");
        b.publishing_paused = false;
        b.paused_since = None;
        b.paused_by = None;
        b.history.push(HistoryEntry { action: RESUME.into(), key: key.clone(), trigger: trigger.into(), at: now });
        if to_dataflow {
            st.resumes.push_back((brand_id.to_string(), now));
        }
        let body = serde_json::json!({
            "action": RESUME,
            "brand_id": brand_id,
            "resume_id": key,
            "reason": if trigger == "api" { "resumed through the API" } else { "auto_resume: no crisis active" },
            "issued_at": format_rfc3339(now),
        })
        .to_string();
        if !self.inner.fire || !self.inner.cfg.enabled || (self.inner.url.is_none() && self.control().is_none()) {
            tracing::warn!(brand_id = %ids::for_log(brand_id), body = %body, "would send resume_publishing (no webhook configured or actions not fired)");
            st.dry.insert(key.clone());
            return Ok(key);
        }
        let record = Record {
            key: key.clone(),
            action: RESUME.into(),
            brand_id: brand_id.into(),
            body,
            phase: Phase::Sending,
            attempts: 0,
            last_status: None,
            error: None,
            latency_ms: None,
            updated_at: now,
            control_delivered: self.control().is_some().then_some(false),
        };
        st.pending.insert(key.clone());
        st.records.insert(key.clone(), record);
        drop(st);
        self.spawn_delivery(key.clone(), None);
        Ok(key)
    }

    /// Resumes queued for the dataflow since the last call: `(brand_id, wall ms)`.
    pub fn take_resumes(&self) -> Vec<(String, i64)> {
        self.inner.state.lock().expect("not poisoned").resumes.drain(..).collect()
    }

    /// Fills a final alert row's action outcome (`action_status`, `attempts`,
    /// `action_latency_ms`), waiting while its delivery is still under way (at most the
    /// delivery deadline plus one request timeout). Rows of alerts without an action, and of
    /// runs that do not fire actions, keep the dataflow's status.
    pub fn annotate_final(&self, row: &mut AlertRow) {
        let limit = Duration::from_secs(self.inner.cfg.deadline_seconds)
            + Duration::from_millis(self.inner.cfg.request_timeout_ms)
            + Duration::from_secs(1);
        let until = Instant::now() + limit;
        let mut st = self.inner.state.lock().expect("not poisoned");
        while st.pending.contains(&row.alert_id) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = self.inner.changed.wait_timeout(st, left).expect("not poisoned").0;
        }
        if let Some(r) = st.records.get(&row.alert_id) {
            Self::apply(r, row);
        }
        st.alerts.insert(row.alert_id.clone(), row.clone());
    }

    fn apply(r: &Record, row: &mut AlertRow) {
        row.action = Some(r.action.clone());
        row.action_status = match r.phase {
            Phase::Acked => "sent",
            Phase::Failed => "failed",
            Phase::Sending => "sending",
        }
        .into();
        row.attempts = r.attempts;
        row.action_latency_ms = r.latency_ms;
    }

    /// Waits until no delivery is under way (or `timeout`); returns whether none is.
    pub fn drain(&self, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        let mut st = self.inner.state.lock().expect("not poisoned");
        while !st.pending.is_empty() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            st = self.inner.changed.wait_timeout(st, left).expect("not poisoned").0;
        }
        true
    }

    /// Brands known to the API, with their pause history.
    pub fn brands(&self) -> Vec<BrandView> {
        self.inner.state.lock().expect("not poisoned").brands.values().cloned().collect()
    }

    /// Alerts (latest version of each, with the action outcome so far).
    pub fn alerts(&self) -> Vec<AlertRow> {
        let st = self.inner.state.lock().expect("not poisoned");
        st.alerts
            .values()
            .map(|a| {
                let mut a = a.clone();
                if let Some(r) = st.records.get(&a.alert_id) {
                    Self::apply(r, &mut a);
                }
                a
            })
            .collect()
    }

    /// Every action and its delivery.
    pub fn actions(&self) -> Vec<ActionView> {
        let st = self.inner.state.lock().expect("not poisoned");
        let mut v: Vec<ActionView> = st
            .records
            .values()
            .map(|r| ActionView {
                key: r.key.clone(),
                action: r.action.clone(),
                brand_id: r.brand_id.clone(),
                status: match r.phase {
                    Phase::Acked => "sent",
                    Phase::Failed => "failed",
                    Phase::Sending => "sending",
                }
                .into(),
                attempts: r.attempts,
                last_status: r.last_status,
                error: r.error.clone(),
                latency_ms: r.latency_ms,
                control: r.control_delivered.map(|d| if d { "delivered" } else { "pending" }),
            })
            .collect();
        v.extend(st.dry.iter().map(|k| ActionView {
            key: k.clone(),
            action: if k.starts_with("resume-") { RESUME } else { PAUSE }.into(),
            brand_id: String::new(),
            status: "dry_run".into(),
            attempts: 0,
            last_status: None,
            error: None,
            latency_ms: None,
            control: None,
        }));
        v
    }

    /// Waits for the runtime's tasks to stop (deliveries still running are abandoned; their
    /// records stay `sending` and are sent again on the next start).
    pub fn shutdown(self) {
        if let Ok(rt) = Arc::try_unwrap(self.rt) {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }

    fn spawn_delivery(&self, key: String, read_at_ms: Option<i64>) {
        let inner = self.inner.clone();
        self.rt.spawn(async move {
            deliver(&inner, &key, read_at_ms).await;
            let mut st = inner.state.lock().expect("not poisoned");
            st.pending.remove(&key);
            inner.changed.notify_all();
        });
    }
}

/// How one attempt ended.
enum Attempt {
    Ok(u16),
    Retry(Option<u16>, String),
    /// Not retried: the status (none when no request could be built or sent) and why.
    Permanent(Option<u16>, String),
}

/// The retry rule of the module docs for one attempt's outcome.
fn classify(r: Result<reqwest::Response, reqwest::Error>) -> Attempt {
    match r {
        Ok(resp) => {
            let s = resp.status();
            let code = s.as_u16();
            if s.is_success() {
                Attempt::Ok(code)
            } else if code == 408 || code == 429 || s.is_server_error() {
                Attempt::Retry(Some(code), format!("HTTP {s}"))
            } else {
                Attempt::Permanent(Some(code), format!("HTTP {s}"))
            }
        }
        // The request itself is invalid (a header, the URL, the body): the same every time.
        Err(e) if e.is_builder() => Attempt::Permanent(None, unbuildable(&e)),
        // reqwest's message quotes the URL, query (tokens) included: shown redacted.
        Err(e) => {
            let url = e.url().map(|u| format!(" for url ({})", crate::config::redact::Redacted(u.as_str())));
            Attempt::Retry(None, format!("network error: {}{}", e.without_url(), url.unwrap_or_default()))
        }
    }
}

/// The reason of a request that cannot be built, with the error's causes.
fn unbuildable(e: &reqwest::Error) -> String {
    let mut why = format!("the request cannot be built: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        why.push_str(&format!(": {c}"));
        cause = c.source();
    }
    why
}

fn backoff(cfg: &ActionsConfig, attempt: u32) -> Duration {
    use rand::Rng;
    let base = cfg.backoff_initial_ms.max(1).saturating_mul(1u64 << (attempt.saturating_sub(1)).min(20));
    let d = base.min(cfg.backoff_max_ms.max(1));
    Duration::from_millis(rand::thread_rng().gen_range(d / 2..=d))
}

fn record_of(inner: &Inner, key: &str) -> Option<Record> {
    inner.state.lock().expect("not poisoned").records.get(key).cloned()
}

/// Durably stores `r` (keeping a control-topic acknowledgment another task recorded meanwhile).
fn store(inner: &Inner, mut r: Record) {
    let _w = inner.write.lock().expect("not poisoned");
    inner.state.lock().expect("not poisoned").keep_control_ack(&mut r);
    put(inner, r);
}

fn put(inner: &Inner, r: Record) {
    if let Some(o) = &inner.outbox {
        if let Err(e) = o.put(&r) {
            tracing::error!(key = %ids::for_log(&r.key), error = %format!("{e:#}"), "writing the kill-switch outbox failed");
            ACTION_OUTBOX_ERRORS.fetch_add(1, Ordering::Relaxed);
        }
    }
    inner.state.lock().expect("not poisoned").records.insert(r.key.clone(), r);
    inner.changed.notify_all();
}

/// Delivers one action: the webhook (while the record is `sending`) and the Kafka control topic's
/// copy (while it is not acknowledged), each durable in the outbox before it leaves; the copy is
/// published once the intent is stored and its acknowledgment recorded as soon as it comes.
async fn deliver(inner: &Arc<Inner>, key: &str, read_at_ms: Option<i64>) {
    let Some(mut r) = record_of(inner, key) else { return };
    let mut control = match (r.control_delivered, &inner.control) {
        (Some(false), Some(c)) => Some(c.clone()),
        (Some(false), None) => {
            tracing::warn!(key = %ids::for_log(key), action = %r.action, "the control-topic copy of this action was never acknowledged, and Kafka is not configured now: not published");
            None
        }
        _ => None,
    };
    if r.phase == Phase::Sending && inner.url.is_none() && r.control_delivered.is_none() {
        tracing::warn!(key = %ids::for_log(key), action = %r.action, "this action was being sent to a webhook before the restart, and `actions.url` is empty now: not sent");
    }
    let mut watcher = None;
    if r.phase == Phase::Sending && inner.url.is_some() {
        deliver_http(inner, &mut r, read_at_ms, &mut control, &mut watcher).await;
    }
    if let Some(c) = control.take() {
        // Kafka only, or the webhook already answered before a restart: the intent is durable
        // before the message leaves.
        if inner.url.is_none() && r.phase == Phase::Sending {
            r.attempts += 1;
            note_latency(&mut r, read_at_ms);
        }
        r.updated_at = now_ms();
        store(inner, r.clone());
        watcher = Some(publish_control(inner, &c, &r));
    }
    if let Some(w) = watcher {
        let _ = w.await;
    }
}

/// Publishes the control-topic copy of `r` and records the broker's answer (a task).
fn publish_control(inner: &Arc<Inner>, c: &ControlHook, r: &Record) -> tokio::task::JoinHandle<()> {
    let rx = c(&r.brand_id, r.body.as_bytes());
    let (inner, key) = (inner.clone(), r.key.clone());
    tokio::spawn(async move {
        let outcome = rx.await.unwrap_or_else(|_| Err("the Kafka producer stopped before answering".into()));
        let _w = inner.write.lock().expect("not poisoned");
        if let Some(mut r) = record_of(&inner, &key) {
            control_outcome(&inner, &mut r, outcome);
            put(&inner, r);
        }
    })
}

/// The first time an action leaves: read → leaving, in the record and the histogram.
fn note_latency(r: &mut Record, read_at_ms: Option<i64>) {
    if r.latency_ms.is_none() {
        if let Some(read) = read_at_ms {
            let l = (now_ms() - read).max(0) as f64;
            r.latency_ms = Some(l);
            LATENCY.observe(l / 1000.0);
        }
    }
}

/// Records the broker's answer for an action's control-topic copy. Kafka only (no webhook): the
/// action's outcome.
fn control_outcome(inner: &Inner, r: &mut Record, outcome: Result<(), String>) {
    let key = r.key.as_str();
    let ai = action_index(&r.action);
    let kafka_only = inner.url.is_none();
    match outcome {
        Ok(()) => {
            r.control_delivered = Some(true);
            tracing::info!(key = %ids::for_log(key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), latency_ms = r.latency_ms.unwrap_or(-1.0), "kill-switch action published on the control topic");
            if kafka_only && r.phase != Phase::Acked {
                r.phase = Phase::Acked;
                r.error = None;
                ACTIONS[ai][0].fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(e) => {
            tracing::error!(key = %ids::for_log(key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), error = %e, "kill-switch action not delivered to the control topic; it is published again on the next start");
            if kafka_only && r.phase == Phase::Sending {
                r.phase = Phase::Failed;
                ACTIONS[ai][1].fetch_add(1, Ordering::Relaxed);
            }
            r.error = Some(format!("control topic: {e}"));
        }
    }
    r.updated_at = now_ms();
}

/// The webhook requests of one action, until 2xx, a permanent failure or the deadline. The
/// control-topic copy (`control`) leaves right after the first attempt is durable.
async fn deliver_http(
    inner: &Arc<Inner>,
    r: &mut Record,
    read_at_ms: Option<i64>,
    control: &mut Option<ControlHook>,
    watcher: &mut Option<tokio::task::JoinHandle<()>>,
) {
    let Some(url) = inner.url.clone() else { return };
    let ai = action_index(&r.action);
    let _permit = inner.sem.acquire().await;
    let deadline = Instant::now() + Duration::from_secs(inner.cfg.deadline_seconds);
    loop {
        let mut req = inner
            .client
            .post(url.clone())
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", ids::header_value(&r.key))
            .body(r.body.clone());
        if let Some(t) = &inner.token {
            req = req.bearer_auth(t);
        }
        // A request that cannot be built never leaves, now or on a retry: failed at once, no
        // attempt counted (the control-topic copy, if any, is still published by `deliver`).
        let req = match req.build() {
            Ok(req) => req,
            Err(e) => {
                let why = unbuildable(&e);
                r.phase = Phase::Failed;
                r.error = Some(why.clone());
                r.updated_at = now_ms();
                tracing::error!(key = %ids::for_log(&r.key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), attempts = r.attempts, error = %why, "kill-switch action failed permanently: its request cannot be built (not retried)");
                ACTIONS[ai][1].fetch_add(1, Ordering::Relaxed);
                store(inner, r.clone());
                return;
            }
        };
        // The attempt, durable before it leaves (the first one is the intent): a restart
        // sends a `sending` record again and counts on from here.
        r.attempts += 1;
        r.updated_at = now_ms();
        store(inner, r.clone());
        if let Some(c) = control.take() {
            *watcher = Some(publish_control(inner, &c, r));
        }
        note_latency(r, read_at_ms);
        ATTEMPTS.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let outcome = classify(inner.client.execute(req).await);
        let took = started.elapsed().as_secs_f64() * 1000.0;
        match outcome {
            Attempt::Ok(code) => {
                r.phase = Phase::Acked;
                r.last_status = Some(code);
                r.error = None;
                r.updated_at = now_ms();
                tracing::info!(key = %ids::for_log(&r.key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), attempts = r.attempts, status = code, latency_ms = r.latency_ms.unwrap_or(-1.0), request_ms = took, "kill-switch action acknowledged");
                ACTIONS[ai][0].fetch_add(1, Ordering::Relaxed);
                store(inner, r.clone());
                return;
            }
            Attempt::Permanent(code, why) => {
                r.phase = Phase::Failed;
                r.last_status = code;
                r.error = Some(why.clone());
                r.updated_at = now_ms();
                tracing::error!(key = %ids::for_log(&r.key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), attempts = r.attempts, status = code, error = %why, "kill-switch action failed permanently (not retried)");
                ACTIONS[ai][1].fetch_add(1, Ordering::Relaxed);
                store(inner, r.clone());
                return;
            }
            Attempt::Retry(code, why) => {
                let wait = backoff(&inner.cfg, r.attempts);
                r.last_status = code;
                r.error = Some(why.clone());
                if Instant::now() + wait >= deadline {
                    r.phase = Phase::Failed;
                    r.updated_at = now_ms();
                    tracing::error!(key = %ids::for_log(&r.key), action = %r.action, brand_id = %ids::for_log(&r.brand_id), attempts = r.attempts, error = %why, "kill-switch action failed: deadline exceeded");
                    ACTIONS[ai][1].fetch_add(1, Ordering::Relaxed);
                    store(inner, r.clone());
                    return;
                }
                tracing::warn!(key = %ids::for_log(&r.key), attempts = r.attempts, error = %why, retry_in_ms = wait.as_millis() as u64, "kill-switch action attempt failed; retrying");
                RETRIES.fetch_add(1, Ordering::Relaxed);
                {
                    let _w = inner.write.lock().expect("not poisoned");
                    let mut st = inner.state.lock().expect("not poisoned");
                    st.keep_control_ack(r);
                    st.records.insert(r.key.clone(), r.clone());
                }
                tokio::time::sleep(wait).await;
            }
        }
    }
}

fn action_index(action: &str) -> usize {
    (action == RESUME) as usize
}

/// Actions ended, by action (pause, resume) and outcome (sent, failed).
static ACTIONS: [[AtomicU64; 2]; 2] = [[AtomicU64::new(0), AtomicU64::new(0)], [AtomicU64::new(0), AtomicU64::new(0)]];
/// Webhook requests sent.
static ATTEMPTS: AtomicU64 = AtomicU64::new(0);
/// Attempts retried.
static RETRIES: AtomicU64 = AtomicU64::new(0);
/// Outbox writes that failed.
static ACTION_OUTBOX_ERRORS: AtomicU64 = AtomicU64::new(0);
/// Read → request leaving.
static LATENCY: Histogram = Histogram::new();

/// A fixed-bucket histogram of seconds.
struct Histogram {
    counts: [AtomicU64; 12],
    sum_us: AtomicU64,
}

const BUCKETS: [f64; 11] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

impl Histogram {
    const fn new() -> Histogram {
        #[allow(clippy::declare_interior_mutable_const)]
        const Z: AtomicU64 = AtomicU64::new(0);
        Histogram { counts: [Z; 12], sum_us: AtomicU64::new(0) }
    }
    fn observe(&self, s: f64) {
        let i = BUCKETS.iter().position(|b| s <= *b).unwrap_or(BUCKETS.len());
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((s * 1e6) as u64, Ordering::Relaxed);
    }
}

/// Renders the action metrics (Prometheus text format).
pub fn render_metrics(s: &mut String) {
    let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let _ = writeln!(s, "# HELP brandpulse_actions_total Kill-switch actions ended, by action and outcome.\n# TYPE brandpulse_actions_total counter");
    for (ai, a) in [PAUSE, RESUME].iter().enumerate() {
        for (oi, o) in ["sent", "failed"].iter().enumerate() {
            let _ = writeln!(s, "brandpulse_actions_total{{action=\"{a}\",outcome=\"{o}\"}} {}", g(&ACTIONS[ai][oi]));
        }
    }
    let _ = writeln!(s, "# HELP brandpulse_action_requests_total Kill-switch webhook requests sent.\n# TYPE brandpulse_action_requests_total counter\nbrandpulse_action_requests_total {}", g(&ATTEMPTS));
    let _ = writeln!(s, "# HELP brandpulse_action_retries_total Kill-switch webhook attempts retried.\n# TYPE brandpulse_action_retries_total counter\nbrandpulse_action_retries_total {}", g(&RETRIES));
    let _ = writeln!(s, "# HELP brandpulse_action_outbox_errors_total Failed writes of the kill-switch outbox.\n# TYPE brandpulse_action_outbox_errors_total counter\nbrandpulse_action_outbox_errors_total {}", g(&ACTION_OUTBOX_ERRORS));
    let name = "brandpulse_action_latency_seconds";
    let _ =
        writeln!(s, "# HELP {name} Triggering comment read to kill-switch request leaving.\n# TYPE {name} histogram");
    let mut cum = 0;
    for (i, b) in BUCKETS.iter().enumerate() {
        cum += g(&LATENCY.counts[i]);
        let _ = writeln!(s, "{name}_bucket{{le=\"{b}\"}} {cum}");
    }
    cum += g(&LATENCY.counts[BUCKETS.len()]);
    let _ = writeln!(
        s,
        "{name}_bucket{{le=\"+Inf\"}} {cum}\n{name}_sum {}\n{name}_count {cum}",
        g(&LATENCY.sum_us) as f64 / 1e6
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let cfg = ActionsConfig { backoff_initial_ms: 100, backoff_max_ms: 1000, ..Default::default() };
        for _ in 0..50 {
            let d = |n| backoff(&cfg, n).as_millis() as u64;
            assert!((50..=100).contains(&d(1)));
            assert!((100..=200).contains(&d(2)));
            assert!((200..=400).contains(&d(3)));
            assert!((500..=1000).contains(&d(10)));
        }
    }

    #[test]
    fn a_request_that_cannot_be_built_is_a_permanent_failure() {
        // A raw line break in a header value: reqwest refuses to build the request.
        let e = reqwest::Client::new()
            .post("http://127.0.0.1:9/hook")
            .header("Idempotency-Key", "a\nb")
            .build()
            .unwrap_err();
        assert!(e.is_builder());
        match classify(Err(e)) {
            Attempt::Permanent(None, why) => assert!(why.starts_with("the request cannot be built"), "{why}"),
            Attempt::Permanent(..) | Attempt::Retry(..) | Attempt::Ok(_) => {
                panic!("not a permanent failure without status")
            }
        }
        // The same id through `ids::header_value` builds.
        let req = reqwest::Client::new()
            .post("http://127.0.0.1:9/hook")
            .header("Idempotency-Key", ids::header_value("a\nb"))
            .build()
            .unwrap();
        assert_eq!(req.headers()["idempotency-key"], "a%0Ab");
    }

    #[test]
    fn a_token_that_is_no_header_value_is_refused_at_start_naming_the_variable() {
        let var = "BRANDPULSE_TEST_TOKEN_WITH_LF";
        std::env::set_var(var, "secret\nInjected: yes");
        let cfg = ActionsConfig { token_env: var.into(), url: "http://127.0.0.1:9/hook".into(), ..Default::default() };
        // Not firing (a plain replay): the token is never used, so it is not checked.
        Actions::new(&cfg, false, None, None).unwrap().shutdown();
        let err = Actions::new(&cfg, true, None, None).unwrap_err().to_string();
        std::env::remove_var(var);
        assert!(err.contains(&format!("${var}")) && err.contains("actions.token_env"), "{err}");
        assert!(!err.contains("secret"), "the token is not shown: {err}");
    }

    #[test]
    fn a_brand_row_lists_the_brand_before_any_alert_and_a_deletion_keeps_it() {
        use schemas::events::{BrandProfile, BrandRow, KillSwitch};
        let a = Actions::new(&ActionsConfig::default(), false, None, None).unwrap();
        let profile = BrandProfile {
            name: Some("Initech".into()),
            kill_switch: KillSwitch { enabled: false, auto_resume: false },
            ..Default::default()
        };
        a.note_brand(&BrandRow { brand_id: "initech".into(), profile: Some(std::sync::Arc::new(profile)) });
        let b = a.brands();
        assert_eq!(b.len(), 1);
        assert_eq!(
            (
                b[0].brand_id.as_str(),
                b[0].name.as_deref(),
                b[0].kill_switch_enabled,
                b[0].crises,
                b[0].publishing_paused
            ),
            ("initech", Some("Initech"), Some(false), 0, false)
        );
        a.note_brand(&BrandRow { brand_id: "initech".into(), profile: None });
        assert_eq!(a.brands().len(), 1, "history is kept");
        assert_eq!(a.resume("initech"), Err(ResumeError::NotPaused));
        a.shutdown();
    }
}
