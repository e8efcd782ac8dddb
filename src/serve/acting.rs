//! Operators acting on the GitOps loop: `POST /api/sync/suspend|resume|pin` with a bearer token
//! from `--operator-tokens`. Each act is recorded in the store with who and why before it takes
//! effect, so every replica sharing the store follows it and the status shows it.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::mpsc;

use super::operators::Operators;
use crate::gateway::ledger_api::bearer_token;
use crate::http_error::error;
use crate::reconcile::Shared;
use crate::reconcile::control::ControlReport;
use crate::reconcile::pull::Remote;
use crate::store::{ActKind, NewOperatorAct, Store};

/// The largest act request read.
const MAX_ACT_BODY: usize = 16 * 1024;
/// The longest reason kept.
const MAX_WHY: usize = 2000;

/// What the webhook and the operators' acts share.
#[derive(Clone)]
pub struct ActingState {
    pub shared: Arc<Shared>,
    pub store: Store,
    pub node_key: Arc<str>,
    pub remote: Option<Remote>,
    /// The Git host's webhook secret; the webhook answers 503 without one.
    pub webhook_secret: Option<Arc<[u8]>>,
    pub operators: Option<Arc<Operators>>,
    /// Triggers a reconcile (a folder source has no pull loop to wake).
    pub triggers: mpsc::UnboundedSender<()>,
}

impl ActingState {
    /// Pull now rather than at the next interval (the pull triggers the reconcile once the
    /// checkout is moved); a folder source is reconciled at once.
    pub fn wake(&self) {
        if self.remote.is_some() {
            self.shared.control.wake.notify_one();
        } else {
            let _ = self.triggers.send(());
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActRequest {
    why: Option<String>,
    #[serde(default, rename = "ref")]
    reference: Option<String>,
}

/// `POST /api/sync/{act}`.
pub async fn act(
    State(acting): State<ActingState>,
    Path(act): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(kind) = ActKind::parse(&act) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no act `{act}`; the acts are suspend, resume and pin"),
        );
    };
    let Some(operators) = &acting.operators else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "operators_not_configured",
            "this appliance lists no operators: start `hromada serve` with --operator-tokens FILE \
             (or HROMADA_OPERATOR_TOKENS), one `name:sha256-hex-of-token` a line",
        );
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let Some(actor) = given.and_then(|token| operators.who(token)) else {
        tracing::warn!("refused an operator act `{act}`: no or an unknown bearer token");
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send an operator's token as `Authorization: Bearer TOKEN`; its SHA-256 must be \
             listed in the appliance's --operator-tokens file",
        );
    };
    let actor = actor.to_string();
    let request = match read_request(body).await {
        Ok(request) => request,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    let why = request.why.as_deref().map(str::trim).unwrap_or_default();
    if why.is_empty() || why.chars().count() > MAX_WHY {
        return error(
            StatusCode::BAD_REQUEST,
            "why_required",
            format!(
                "say why in `why` (1 to {MAX_WHY} characters): it is recorded with your name and \
                 shown in the status"
            ),
        );
    }
    let reference = request
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if kind != ActKind::Pin && reference.is_some() {
        return error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("`ref` belongs to pin only, not to {act}"),
        );
    }
    let commit = match (kind, reference) {
        (ActKind::Pin, Some(reference)) => {
            let Some(remote) = &acting.remote else {
                return error(
                    StatusCode::CONFLICT,
                    "not_pulling",
                    "this appliance reads a folder, not a Git remote: pinning needs `serve --git`",
                );
            };
            match remote.resolve(reference).await {
                Ok(commit) => Some(commit),
                Err(e) => return error(StatusCode::UNPROCESSABLE_ENTITY, "unknown_ref", e),
            }
        }
        _ => None,
    };
    let new = NewOperatorAct {
        node: acting.node_key.to_string(),
        instance: acting.shared.instance.clone(),
        actor,
        act: kind,
        reference: commit.as_ref().and(reference.map(str::to_string)),
        commit,
        why: why.to_string(),
        acted_at: chrono::Utc::now(),
    };
    let id = match acting.store.record_operator_act(&new).await {
        Ok(id) => id,
        Err(e) => {
            tracing::error!("{e}");
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                format!("{e}; nothing was changed, try again"),
            );
        }
    };
    tracing::warn!(
        act = kind.as_str(),
        operator = %new.actor,
        node = %new.node,
        "operator {} {} reconciling of node {}{} (act {id}; the reason is in the status)",
        new.actor,
        match kind {
            ActKind::Suspend => "suspended",
            ActKind::Resume => "resumed",
            ActKind::Pin if new.commit.is_some() => "pinned",
            ActKind::Pin => "unpinned",
        },
        new.node,
        new.commit
            .as_deref()
            .map(|c| format!(" to {}", crate::identity::short(c)))
            .unwrap_or_default(),
    );
    acting.shared.control.refresh().await;
    acting.wake();
    let (control, _) = acting.shared.control.report().await.unwrap_or_else(|_| {
        (
            ControlReport::of(None, acting.shared.control.fetched()),
            Vec::new(),
        )
    });
    (StatusCode::OK, Json(json!({"id": id, "control": control}))).into_response()
}

async fn read_request(body: Body) -> Result<ActRequest, String> {
    let bytes = axum::body::to_bytes(body, MAX_ACT_BODY)
        .await
        .map_err(|_| format!("the request body is larger than {MAX_ACT_BODY} bytes"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "the body must be JSON `{{\"why\": \"…\", \"ref\": \"…\"}}` (ref for pin only): {e}"
        )
    })
}
