//! The ledger's read API: a data subject's records shaped after the Data Tracker's `findUsage`
//! (`/api/subjects/{subject}/usage`) and the operational records (`/api/operational`). Both need
//! the bearer token of `--api-token-file`, compared in constant time; none is logged.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::GatewayState;
use crate::http_error::error;
use crate::store::time_text;

/// Records per page when the caller does not say.
const DEFAULT_PER_PAGE: i64 = 20;
const MAX_PER_PAGE: i64 = 100;
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 1000;

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    GatewayState: FromRef<S>,
{
    Router::new()
        .route("/api/subjects/{subject}/usage", get(subject_usage))
        .route("/api/operational", get(operational))
}

/// The response refusing the request, unless it carries the configured token.
fn refusal(app: &GatewayState, headers: &HeaderMap) -> Option<Response> {
    token_refusal(app.api_token.as_deref(), headers)
}

/// The response refusing a request to a token-guarded API (these and the case engine's), unless
/// it carries `token`; `None` for `token` means the appliance has none configured.
pub fn token_refusal(token: Option<&str>, headers: &HeaderMap) -> Option<Response> {
    let Some(token) = token else {
        return Some(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_not_configured",
            "this appliance has no API token: start `hromada serve` with --api-token-file FILE \
             (or HROMADA_API_TOKEN_FILE) naming a file that holds the token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    // Digests of equal length, so that the comparison takes the same time whatever was sent.
    let matches = given.is_some_and(|given| {
        openssl::memcmp::eq(
            &crate::crypto::sha256(given.as_bytes()),
            &crate::crypto::sha256(token.as_bytes()),
        )
    });
    if matches {
        None
    } else {
        let mut response = error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the appliance's API token as `Authorization: Bearer TOKEN`",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        Some(response)
    }
}

/// The token of an `Authorization: Bearer TOKEN` value; the scheme is case-insensitive
/// (RFC 7235 §2.1).
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// A whole number query parameter within `1..=max`, or `default` when absent; else what is wrong.
fn number(
    query: &HashMap<String, String>,
    name: &str,
    default: i64,
    max: i64,
) -> Result<i64, String> {
    let Some(text) = query.get(name) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{name}` must be a whole number from 1 to {max}, not `{text}`"
        )),
    }
}

async fn subject_usage(
    State(app): State<GatewayState>,
    Path(subject): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&app, &headers) {
        return refused;
    }
    let (page, per_page) = match (
        number(&query, "page", 1, i64::MAX / MAX_PER_PAGE),
        number(&query, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE),
    ) {
        (Ok(page), Ok(per_page)) => (page, per_page),
        (Err(wrong), _) | (_, Err(wrong)) => return bad_request(&wrong),
    };
    match app.store().subject_uses(&subject, page, per_page).await {
        Ok(found) => {
            let usage: Vec<Value> = found
                .uses
                .into_iter()
                .map(|u| {
                    json!({
                        "logtime": time_text(&u.logtime),
                        "action": u.action,
                        "receiverCode": u.receiver_code,
                        "receiverName": u.receiver_name,
                        "receiverSystem": u.receiver_system,
                        "purpose": u.purpose,
                        "legalBasis": u.legal_basis,
                        "fields": u.fields,
                        "agreement": u.agreement,
                        "messageId": u.message_id,
                    })
                })
                .collect();
            Json(json!({
                "subject": subject,
                "page": page,
                "per_page": per_page,
                "total": found.total,
                "usage": usage,
            }))
            .into_response()
        }
        Err(e) => store_failed(&e),
    }
}

async fn operational(
    State(app): State<GatewayState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = refusal(&app, &headers) {
        return refused;
    }
    let limit = match number(&query, "limit", DEFAULT_LIMIT, MAX_LIMIT) {
        Ok(limit) => limit,
        Err(wrong) => return bad_request(&wrong),
    };
    let since = match query.get("since") {
        None => DateTime::<Utc>::UNIX_EPOCH,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => t.with_timezone(&Utc),
            Err(_) => {
                return bad_request(&format!(
                    "`since` must be an RFC 3339 time such as 2026-11-23T10:00:00Z, not \
                         `{text}`"
                ));
            }
        },
    };
    match app.store().operational_records(since, limit).await {
        Ok(records) => Json(json!({
            "since": since.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "limit": limit,
            "records": records,
        }))
        .into_response(),
        Err(e) => store_failed(&e),
    }
}

fn store_failed(e: &crate::store::StoreError) -> Response {
    tracing::error!("the ledger's read API cannot read the store: {e}");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store cannot be read right now; try again later",
    )
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", " bEaReR t0k"] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value:?}");
        }
        assert_eq!(bearer_token("Basic t0k"), None);
        assert_eq!(bearer_token("Bearert0k"), None);
    }
}
