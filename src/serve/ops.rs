//! The operations endpoints: `/healthz` (the process answers), `/readyz` (a revision is applied
//! and the store answers), `/metrics` (Prometheus text) and `/api/status` (the reconciler's
//! status as JSON). They read the shared state and never block on a reconcile.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;

use crate::http_error::error;
use crate::reconcile::Shared;
use crate::store::Store;

/// What the operations endpoints read.
#[derive(Clone)]
pub struct OpsState {
    pub shared: Arc<Shared>,
    pub store: Store,
    pub prometheus: PrometheusHandle,
    /// The key this process's reconciles are recorded under.
    pub node_key: Arc<str>,
}

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// What `/readyz` and the `hromada_ready` gauge judge: a revision is applied and the case engine
/// has taken one, the store answers and shutdown has not begun.
struct Readiness {
    revision: Option<String>,
    engine: bool,
    store: Result<(), String>,
    stopping: bool,
}

impl Readiness {
    async fn of(app: &OpsState) -> Readiness {
        Readiness {
            revision: app.shared.current.revision_id(),
            engine: app
                .shared
                .engine_ready
                .load(std::sync::atomic::Ordering::Relaxed),
            store: app.store.ping().await.map_err(|e| e.to_string()),
            stopping: app
                .shared
                .stopping
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    fn ready(&self) -> bool {
        self.revision.is_some() && self.engine && self.store.is_ok() && !self.stopping
    }
}

pub async fn readyz(State(app): State<OpsState>) -> Response {
    let readiness = Readiness::of(&app).await;
    let ready = readiness.ready();
    let body = json!({
        "ready": ready,
        "revision": readiness.revision,
        "engine": if readiness.engine { "ok" } else { "has not taken a revision yet" },
        "store": match &readiness.store { Ok(()) => "ok".to_string(), Err(e) => e.clone() },
        "stopping": readiness.stopping,
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

pub async fn metrics(State(app): State<OpsState>) -> Response {
    let ready = Readiness::of(&app).await.ready();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        format!(
            "{}{}# HELP hromada_ready 1 when /readyz answers 200.\n# TYPE hromada_ready gauge\nhromada_ready {}\n",
            app.prometheus.render(),
            app.shared.revision_series(),
            u8::from(ready)
        ),
    )
        .into_response()
}

pub async fn status(State(app): State<OpsState>) -> Response {
    Json(app.shared.report(&app.store, &app.node_key).await).into_response()
}

pub async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; this appliance serves /healthz, /readyz, /metrics, /api/status, /api/subjects/{subject}/usage, /api/operational, POST /api/hooks/git and POST /api/sync/{suspend|resume|pin}",
    )
}
