//! The cases API's refusals, in the JSON error shape the rest of the appliance answers with:
//! `{"type", "message"}` and, where it helps, `detail`. Messages say what is wrong and what to do.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// A refusal on its way out of a handler, boxed (a `Response` is large for a `Result`).
pub type Refusal = Box<Response>;

pub fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (status, Json(json!({"type": kind, "message": message}))).into_response()
}

pub fn error_with(status: StatusCode, kind: &str, message: &str, detail: Value) -> Response {
    (
        status,
        Json(json!({"type": kind, "message": message, "detail": detail})),
    )
        .into_response()
}

pub fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

pub fn not_ready() -> Response {
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "not_ready",
        "no revision of the spec is applied yet; try again shortly",
    )
}

pub fn store_failed(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!("the cases API cannot {what}: {e}");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store cannot be reached right now; try again later",
    )
}
