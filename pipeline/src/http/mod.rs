//! The HTTP API and dashboard (SPEC §6, §8), served with axum on the actions runtime.
//!
//! Routes: `GET /` (dashboard page), `GET /api/brands` (brands with pause state and their
//! history of pauses and resumes), `GET /api/alerts` (alerts with their action outcome),
//! `GET /api/actions` (every action and its delivery), `POST /api/brands/{brand_id}/resume`
//! (bearer token from `$http.token_env`: 202 accepted, 401 missing or wrong token, 403 no token
//! configured, 404 unknown brand, 409 not paused), `GET /metrics` (Prometheus text),
//! `GET /healthz` (the process is up), `GET /readyz` (the job has started its dataflow and, when
//! configured, the ClickHouse sink is writing; 503 with the sink's state otherwise).
//! Not supported: TLS (put a proxy in front), CORS.

pub mod config;

use self::config::HttpConfig;
use crate::actions::{Actions, ResumeError};
use anyhow::Context;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Set once the job's dataflow is running (`/readyz`).
pub static READY: AtomicBool = AtomicBool::new(false);

#[derive(Clone)]
struct App {
    actions: Actions,
    token: Option<Arc<str>>,
}

/// Binds `cfg.listen` and serves the API on the actions runtime (it stops with the runtime);
/// returns the bound address.
///
/// # Errors
/// The address cannot be bound.
pub fn serve(cfg: &HttpConfig, actions: &Actions) -> anyhow::Result<SocketAddr> {
    let token = std::env::var(&cfg.token_env).ok().filter(|t| !t.is_empty()).map(Arc::from);
    if token.is_none() {
        tracing::info!(token_env = %cfg.token_env, "no API token configured: POST /api/brands/{{id}}/resume answers 403");
    }
    let app = App { actions: actions.clone(), token };
    let router = Router::new()
        .route("/", get(dashboard))
        .route("/api/brands", get(brands))
        .route("/api/alerts", get(alerts))
        .route("/api/actions", get(list_actions))
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
    rt.spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    tracing::info!(%addr, "HTTP API listening on http://{addr}/");
    eprintln!("HTTP API listening on http://{addr}/");
    Ok(addr)
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
            tracing::info!(%brand_id, resume_id = %id, "publishing resumed through the API");
            (
                StatusCode::ACCEPTED,
                Json(serde_json::json!({"brand_id": brand_id, "resume_id": id, "action": crate::actions::RESUME})),
            )
                .into_response()
        }
        Err(ResumeError::NotPaused) => error(StatusCode::CONFLICT, "publishing of this brand is not paused"),
    }
}

async fn dashboard() -> Html<&'static str> {
    Html(DASHBOARD)
}

const DASHBOARD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>brandpulse</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.paused{color:#b00;font-weight:bold}</style></head>
<body><h1>brandpulse</h1>
<h2>Brands</h2><table id="brands"><tr><th>brand</th><th>publishing</th><th>paused since</th><th>crises</th><th>history</th></tr></table>
<h2>Alerts</h2><table id="alerts"><tr><th>alert</th><th>brand</th><th>ad</th><th>opened</th><th>comments</th><th>neg share</th><th>risk share</th><th>action</th><th>status</th><th>attempts</th><th>latency ms</th></tr></table>
<p><a href="/metrics">metrics</a> · <a href="/api/brands">/api/brands</a> · <a href="/api/alerts">/api/alerts</a> · <a href="/api/actions">/api/actions</a></p>
<script>
const t=ms=>ms==null?'':new Date(ms).toISOString();
function row(tb,cells,cls){const tr=document.createElement('tr');for(const c of cells){const td=document.createElement('td');td.textContent=c;tr.appendChild(td)}if(cls)tr.className=cls;tb.appendChild(tr)}
async function load(){
 const b=await (await fetch('/api/brands')).json();const tb=document.getElementById('brands');tb.querySelectorAll('tr+tr').forEach(r=>r.remove());
 for(const x of b)row(tb,[x.brand_id,x.publishing_paused?'PAUSED':'live',t(x.paused_since),x.crises,x.history.map(h=>h.action+' ('+h.trigger+') '+t(h.at)).join('; ')],x.publishing_paused?'paused':'');
 const a=await (await fetch('/api/alerts')).json();const ta=document.getElementById('alerts');ta.querySelectorAll('tr+tr').forEach(r=>r.remove());
 for(const x of a)row(ta,[x.alert_id,x.brand_id,x.ad_id,t(x.opened_at),x.comments,x.neg_share.toFixed(3),x.risk_share.toFixed(3),x.action||'',x.action_status,x.attempts,x.action_latency_ms??'']);
}
load();setInterval(load,2000);
</script></body></html>
"#;

#[cfg(test)]
mod tests {
    use super::bearer_token;

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
