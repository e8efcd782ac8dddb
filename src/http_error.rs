//! The JSON error response of the appliance's own endpoints (operations, catalogue, read APIs):
//! `{"type": "...", "message": "..."}` (and a `detail` where it helps) with its status, the
//! message saying what to do. The
//! gateway's X-Road errors have their own shape (`gateway::protocol`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer: a status, a stable machine-readable `kind` and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
}

impl HttpError {
    pub fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            kind,
            message: message.into(),
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"type": self.kind, "message": self.message})),
        )
            .into_response()
    }
}

/// The same answer with a `detail` that helps the caller act (the valid choices, the state seen).
pub fn error_with(
    status: StatusCode,
    kind: &'static str,
    message: impl Into<String>,
    detail: serde_json::Value,
) -> Response {
    (
        status,
        Json(json!({"type": kind, "message": message.into(), "detail": detail})),
    )
        .into_response()
}

/// The response of an [`HttpError`], for handlers that answer with a `Response`.
pub fn error(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Response {
    HttpError::new(status, kind, message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_body_names_the_kind_and_the_message() {
        let response = error(StatusCode::NOT_FOUND, "not_found", "no such service `a/b`");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "a JSON body"
        );
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            json!({"type": "not_found", "message": "no such service `a/b`"})
        );
    }
}
