//! The operations endpoints: `/healthz` (the process answers), `/readyz` (a revision is applied
//! and the store answers), `/metrics` (Prometheus text) and `/api/status` (the reconciler's
//! status as JSON). They read the shared state and never block on a reconcile.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::AppState;
use crate::http_error::error;

pub async fn healthz() -> &'static str {
    "ok\n"
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    let revision = app
        .shared
        .current
        .load()
        .as_ref()
        .map(|c| c.revision.id.clone());
    let store = app.store.ping().await;
    let stopping = app
        .shared
        .stopping
        .load(std::sync::atomic::Ordering::Relaxed);
    let ready = revision.is_some() && store.is_ok() && !stopping;
    let body = json!({
        "ready": ready,
        "revision": revision,
        "store": match &store { Ok(()) => "ok".to_string(), Err(e) => e.to_string() },
        "stopping": stopping,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.prometheus.render(),
    )
        .into_response()
}

pub async fn status(State(app): State<AppState>) -> Response {
    Json(app.shared.report(&app.store, &app.node_key).await).into_response()
}

pub async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; this appliance serves /healthz, /readyz, /metrics, /api/status, /api/subjects/{subject}/usage and /api/operational",
    )
}
