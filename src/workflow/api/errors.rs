//! The cases API's refusals, in the JSON error shape the rest of the appliance answers with:
//! `{"type", "message"}` and, where it helps, `detail`. Messages say what is wrong and what to do.

use axum::http::StatusCode;
use axum::response::Response;

/// A refusal on its way out of a handler, boxed (a `Response` is large for a `Result`).
pub type Refusal = Box<Response>;

pub use crate::http_error::{error, error_with};

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
