//! The HTTP API and dashboard (SPEC §6, §8), served with axum on the actions runtime.
//!
//! Routes: `GET /` (dashboard page, `assets/`), the dashboard's JSON (`GET /api/overview`,
//! `/api/series`, `/api/crisis`, `/api/cases`, `/api/value`: docs/dashboard-api.md, from the
//! job's [`Live`] state), `GET /api/brands` (brands with pause state and their
//! history of pauses and resumes), `GET /api/alerts` (alerts with their action outcome),
//! `GET /api/actions` (every action and its delivery), `POST /api/brands/{brand_id}/resume`
//! (bearer token from `$http.token_env`: 202 accepted, 401 missing or wrong token, 403 no token
//! configured, 404 unknown brand, 409 not paused), `GET /metrics` (Prometheus text),
//! `GET /healthz` (the process is up), `GET /readyz` (the job has started its dataflow and, when
//! configured, the ClickHouse sink is writing; 503 with the sink's state otherwise).
//! Not supported: TLS (put a proxy in front), CORS, HTTP/2.
//!
//! Limits (`[http]`, README "Configuration"), so that no client can hold a connection forever:
//! - `header_read_timeout_seconds` (hyper's header-read timer): a connection that has not sent a
//!   complete request header this long after it was accepted, or after its previous response
//!   (an idle keep-alive connection), is closed without an answer.
//! - `request_timeout_seconds` (tower-http's timeout): a request not answered this long after its
//!   header gets `408 Request Timeout`; a connection whose response is still not sent twice this
//!   long after the header (a client that does not read it) is closed. So an idle keep-alive
//!   connection is also closed twice this long after its last request's header at the latest.
//! - `max_connections`: connections served at once. Beyond it the server stops accepting: new
//!   connections wait in the kernel's listen backlog (the client sees its connect succeed and
//!   its request unanswered) and are taken in arrival order as served ones close; none is closed
//!   for being over the bound. A full backlog drops further connection attempts (the client's
//!   TCP retries them).

pub mod config;

use self::config::HttpConfig;
use crate::actions::{Actions, ResumeError};
use crate::live::Live;
use anyhow::Context;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tower_http::timeout::TimeoutLayer;

/// Set once the job's dataflow is running (`/readyz`).
pub static READY: AtomicBool = AtomicBool::new(false);

#[derive(Clone)]
struct App {
    actions: Actions,
    live: Arc<Live>,
    token: Option<Arc<str>>,
}

/// Binds `cfg.listen` and serves the API and dashboard on the actions runtime (it stops with the
/// runtime), reading the job's `live` state; returns the bound address.
///
/// # Errors
/// The address cannot be bound.
pub fn serve(cfg: &HttpConfig, actions: &Actions, live: &Arc<Live>) -> anyhow::Result<SocketAddr> {
    serve_with_token(cfg, actions, live, std::env::var(&cfg.token_env).ok())
}

/// [`serve`] with the write API's bearer token given (`None` or empty: resuming answers 403).
///
/// # Errors
/// The address cannot be bound.
pub fn serve_with_token(
    cfg: &HttpConfig,
    actions: &Actions,
    live: &Arc<Live>,
    token: Option<String>,
) -> anyhow::Result<SocketAddr> {
    let token = token.filter(|t| !t.is_empty()).map(Arc::from);
    if token.is_none() {
        tracing::info!(token_env = %cfg.token_env, "no API token configured: POST /api/brands/{{id}}/resume answers 403");
    }
    let app = App { actions: actions.clone(), live: live.clone(), token };
    let router = Router::new()
        .route("/", get(dashboard))
        .route("/assets/{file}", get(asset))
        .route("/api/brands", get(brands))
        .route("/api/alerts", get(alerts))
        .route("/api/actions", get(list_actions))
        .route("/api/overview", get(overview))
        .route("/api/series", get(series))
        .route("/api/crisis", get(crisis))
        .route("/api/cases", get(cases))
        .route("/api/value", get(value))
        .route("/api/brands/{brand_id}/resume", post(resume))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(app);
    let rt = actions.runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(&cfg.listen))
        .with_context(|| format!("binding the HTTP API to {} (key `http.listen`)", cfg.listen))?;
    let addr = listener.local_addr()?;
    rt.spawn(accept_loop(listener, router, Limits::of(cfg)));
    tracing::info!(%addr, "HTTP API listening on http://{addr}/");
    eprintln!("HTTP API listening on http://{addr}/");
    Ok(addr)
}

/// The connection limits of `[http]` (see the module documentation).
#[derive(Debug, Clone, Copy)]
struct Limits {
    header_read: Duration,
    request: Duration,
    max_connections: usize,
}

impl Limits {
    fn of(cfg: &HttpConfig) -> Limits {
        Limits {
            header_read: Duration::from_secs(cfg.header_read_timeout_seconds),
            request: Duration::from_secs(cfg.request_timeout_seconds),
            max_connections: usize::try_from(cfg.max_connections).unwrap_or(usize::MAX).max(1),
        }
    }
}

/// Accepts connections while fewer than `max_connections` are open (the others wait in the
/// listen backlog) and serves each on its own task with the limits.
async fn accept_loop(listener: tokio::net::TcpListener, router: Router, limits: Limits) {
    let router = router.layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request));
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new()).header_read_timeout(limits.header_read);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: the connection stays in the backlog.
                tracing::warn!(error = %e, "HTTP API: accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (h1, router) = (h1.clone(), router.clone());
        tokio::spawn(async move {
            serve_connection(&h1, stream, router, limits.request * 2).await;
            drop(slot);
        });
    }
}

/// Serves one connection until it ends, or until a request's response is still not sent
/// `write_deadline` after the request's header (then the connection is dropped, which closes it).
async fn serve_connection(
    h1: &http1::Builder,
    stream: tokio::net::TcpStream,
    router: Router,
    write_deadline: Duration,
) {
    let (deadline_tx, mut deadline_rx) = watch::channel(None::<Instant>);
    let svc = TowerToHyperService::new(router);
    let svc = hyper::service::service_fn(move |req| {
        deadline_tx.send_replace(Some(Instant::now() + write_deadline));
        hyper::service::Service::call(&svc, req)
    });
    let conn = h1.serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    loop {
        let deadline = *deadline_rx.borrow_and_update();
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "HTTP API connection ended");
                }
                return;
            }
            Ok(()) = deadline_rx.changed() => {}
            () = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                tracing::debug!("HTTP API connection closed: response not sent within twice http.request_timeout_seconds");
                return;
            }
        }
    }
}

async fn brands(State(app): State<App>) -> impl IntoResponse {
    Json(app.actions.brands())
}

async fn alerts(State(app): State<App>) -> impl IntoResponse {
    Json(app.actions.alerts())
}

async fn list_actions(State(app): State<App>) -> impl IntoResponse {
    Json(app.actions.actions())
}

/// `?brand=ID` (and the series' `resolution`, `from`, `to`).
#[derive(Debug, serde::Deserialize)]
struct BrandQuery {
    #[serde(default)]
    brand: String,
    resolution: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
}

/// The brand cards: the live figures, with the kill switch's own pause state (a resume through
/// the API shows at once, before the dataflow's next brand status row).
async fn overview(State(app): State<App>) -> impl IntoResponse {
    let brands = app.actions.brands();
    let mut cards = app.live.overview();
    for c in &mut cards {
        if let Some(b) = brands.iter().find(|b| b.brand_id == c.brand_id) {
            c.publishing_paused = b.publishing_paused;
            c.paused_since = b.paused_since;
            c.paused_by.clone_from(&b.paused_by);
        }
    }
    Json(cards)
}

async fn series(State(app): State<App>, Query(q): Query<BrandQuery>) -> Response {
    let hourly = match q.resolution.as_deref().unwrap_or("minute") {
        "minute" => false,
        "hour" => true,
        other => {
            return error(StatusCode::BAD_REQUEST, &format!("resolution must be `minute` or `hour`, not `{other}`"));
        }
    };
    let points = app.live.series(&q.brand, hourly, q.from, q.to);
    Json(serde_json::json!({
        "brand_id": q.brand,
        "resolution": if hourly { "hour" } else { "minute" },
        "points": points,
    }))
    .into_response()
}

/// The brand's ads' crisis timelines, each with its alerts and the actions they caused.
async fn crisis(State(app): State<App>, Query(q): Query<BrandQuery>) -> impl IntoResponse {
    let alerts = app.actions.alerts();
    let actions = app.actions.actions();
    let brands = app.actions.brands();
    let history = brands.iter().find(|b| b.brand_id == q.brand).map(|b| b.history.clone()).unwrap_or_default();
    let timelines: Vec<serde_json::Value> = app
        .live
        .crisis(&q.brand)
        .into_iter()
        .map(|t| {
            let mine: Vec<_> = alerts.iter().filter(|a| a.ad_id == t.ad_id && a.brand_id == q.brand).collect();
            let alert_rows: Vec<serde_json::Value> = mine
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "alert_id": a.alert_id,
                        "window_start": a.window_start,
                        "opened_at": a.opened_at,
                        "resolved_window": a.resolved_window,
                        "action": a.action,
                        "action_status": a.action_status,
                    })
                })
                .collect();
            // The pauses these alerts caused, and the brand's resumes after the first of them.
            let first = mine.iter().map(|a| a.opened_at).min();
            let acts: Vec<serde_json::Value> = history
                .iter()
                .filter(|h| {
                    mine.iter().any(|a| a.alert_id == h.key)
                        || (h.action == crate::actions::RESUME && first.is_some_and(|f| h.at >= f))
                })
                .map(|h| {
                    let status = actions.iter().find(|x| x.key == h.key).map_or("dry_run", |x| x.status.as_str());
                    // On the chart's event-time axis: a pause at its triggering comment.
                    let at = match mine.iter().find(|a| a.alert_id == h.key) {
                        Some(a) => a.opened_at,
                        None => app.live.event_time_of(&q.brand, &h.key, h.at),
                    };
                    serde_json::json!({"action": h.action, "at": at, "issued_at": h.at, "status": status, "trigger": h.trigger})
                })
                .collect();
            serde_json::json!({
                "ad_id": t.ad_id,
                "brand_id": t.brand_id,
                "points": t.points,
                "alerts": alert_rows,
                "actions": acts,
            })
        })
        .collect();
    Json(timelines)
}

async fn cases(State(app): State<App>, Query(q): Query<BrandQuery>) -> impl IntoResponse {
    Json(app.live.cases_past_sla(&q.brand))
}

async fn value(State(app): State<App>, Query(q): Query<BrandQuery>) -> impl IntoResponse {
    Json(app.live.value(&q.brand, &app.actions.alerts()))
}

async fn metrics() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::render())
}

async fn readyz() -> Response {
    if let Some(h) = crate::sinks::clickhouse::health().filter(|h| !h.ready()) {
        // The ClickHouse sink is down, failed or its queue is full: rows wait (SPEC §7).
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{}\n", h.describe())).into_response();
    }
    if READY.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
    }
}

fn error(code: StatusCode, msg: &str) -> Response {
    (code, Json(serde_json::json!({ "error": msg }))).into_response()
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive
/// (RFC 7235 §2.1: `bearer`, `BEARER` are the same), the token is taken as it is.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim_start())
}

async fn resume(State(app): State<App>, Path(brand_id): Path<String>, headers: HeaderMap) -> Response {
    let Some(token) = &app.token else {
        return error(StatusCode::FORBIDDEN, "resuming is disabled: no API token configured (http.token_env)");
    };
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer_token).unwrap_or("");
    if !same(given.as_bytes(), token.as_bytes()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(serde_json::json!({"error": "missing or wrong bearer token"})),
        )
            .into_response();
    }
    if !app.actions.brands().iter().any(|b| b.brand_id == brand_id) {
        return error(StatusCode::NOT_FOUND, "unknown brand");
    }
    match app.actions.resume(&brand_id) {
        Ok(id) => {
            app.live.note_resume(&brand_id, &id);
            tracing::info!(brand_id = %crate::ids::for_log(&brand_id), resume_id = %crate::ids::for_log(&id), "publishing resumed through the API");
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"brand_id": brand_id, "resume_id": id, "action": crate::actions::RESUME})),
            )
                .into_response()
        }
        Err(ResumeError::NotPaused) => error(StatusCode::CONFLICT, "publishing of this brand is not paused"),
    }
}

/// The dashboard page (`assets/index.html`, embedded). Its policy lets it load nothing but this
/// server's own assets and API, so no CDN or other network is ever reached.
async fn dashboard() -> Response {
    const CSP: &str = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";
    (
        [(header::CONTENT_SECURITY_POLICY, CSP), (header::CACHE_CONTROL, "no-cache")],
        Html(include_str!("assets/index.html")),
    )
        .into_response()
}

/// The dashboard's files (`assets/`, embedded in the binary; third-party ones in `assets/NOTICE`),
/// served at `GET /assets/{file}`: name, content type, content.
const ASSETS: [(&str, &str, &str); 5] = [
    ("app.js", "text/javascript; charset=utf-8", include_str!("assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_str!("assets/app.css")),
    ("uPlot.iife.min.js", "text/javascript; charset=utf-8", include_str!("assets/uPlot.iife.min.js")),
    ("uPlot.min.css", "text/css; charset=utf-8", include_str!("assets/uPlot.min.css")),
    ("uPlot.LICENSE", "text/plain; charset=utf-8", include_str!("assets/uPlot.LICENSE")),
];

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, ..)| *name == file) {
        Some(&(_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            body,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::{accept_loop, bearer_token, Limits};
    use axum::routing::get;
    use axum::Router;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    /// Serves `router` with `limits` on a runtime of its own (returned: dropping it stops).
    fn start(router: Router, limits: Limits) -> (tokio::runtime::Runtime, SocketAddr) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        rt.spawn(accept_loop(listener, router, limits));
        (rt, addr)
    }

    /// Reads until the server closes the connection (EOF or reset); the bytes read. Panics when
    /// nothing more comes for `timeout` without the connection closing.
    fn read_until_closed(s: &mut TcpStream, timeout: Duration) -> Vec<u8> {
        s.set_read_timeout(Some(timeout)).unwrap();
        let (mut got, mut buf) = (Vec::new(), vec![0; 1 << 16]);
        loop {
            match s.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
                Err(e) => panic!("connection still open after {} bytes: {e}", got.len()),
            }
        }
    }

    #[test]
    fn a_slow_handler_is_answered_408_at_the_request_timeout() {
        let router = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "late"
            }),
        );
        let limits =
            Limits { header_read: Duration::from_secs(60), request: Duration::from_millis(300), max_connections: 4 };
        let (_rt, addr) = start(router, limits);
        let mut s = TcpStream::connect(addr).unwrap();
        let t0 = Instant::now();
        s.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
        let resp = String::from_utf8(read_until_closed(&mut s, Duration::from_secs(10))).unwrap();
        let took = t0.elapsed();
        assert!(resp.starts_with("HTTP/1.1 408 "), "{resp}");
        assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "answered after {took:?}");
    }

    #[test]
    fn a_client_that_does_not_read_its_response_is_cut_off() {
        // 64 MiB: more than the kernel buffers of both ends of a loopback connection hold, so the
        // server's writes block while the client does not read.
        const BODY: usize = 64 << 20;
        let body = bytes::Bytes::from(vec![b'x'; BODY]);
        let router = Router::new().route("/big", get(move || std::future::ready(body.clone())));
        // Request timeout 250 ms: the response must be sent within 500 ms of the header.
        let limits =
            Limits { header_read: Duration::from_secs(60), request: Duration::from_millis(250), max_connections: 4 };
        let (_rt, addr) = start(router, limits);
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
        // The behaviour under test: a client that stops reading (here for three times the 500 ms).
        std::thread::sleep(Duration::from_millis(1500));
        // What the kernels buffered arrives, then the close; without the cut-off all 64 MiB would
        // arrive and the keep-alive connection would stay open (header timeout 60 s): a panic.
        let got = read_until_closed(&mut s, Duration::from_secs(10));
        assert!(got.starts_with(b"HTTP/1.1 200 "), "{:?}", String::from_utf8_lossy(&got[..got.len().min(100)]));
        assert!(got.len() < BODY, "the whole body arrived: {} bytes", got.len());
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_the_token_is_not() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER AbC"), Some("AbC"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
        assert_eq!(bearer_token(""), None);
    }
}
