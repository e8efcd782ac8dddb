//! Prometheus metrics: the recorder behind the `metrics` facade, and the middleware that counts,
//! times and logs every HTTP request by its route pattern (never by its raw path, which can carry
//! identifiers of people). Reconcile metrics are recorded where reconciles happen.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the process-wide recorder; its handle renders `/metrics`.
pub fn install() -> Result<PrometheusHandle, String> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("duration_seconds".into()),
            &DURATION_BUCKETS,
        )
        .map_err(|e| format!("cannot configure the metrics buckets: {e}"))?
        .install_recorder()
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    metrics::gauge!("hromada_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}

/// Counts and times a request under its route pattern.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let code = response.status();
    // A 503 from /readyz is an answer, not a failure: the appliance is still starting.
    if code.is_server_error() && route != "/readyz" {
        tracing::warn!(%method, %route, status = code.as_u16(), "request failed");
    } else {
        tracing::debug!(%method, %route, status = code.as_u16(), elapsed_ms = elapsed.as_millis() as u64, "request");
    }
    let status = status_label(code);
    metrics::counter!(
        "hromada_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    metrics::histogram!(
        "hromada_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    response
}

/// The method as a label: one of the methods HTTP defines, else `other` (a client may send any
/// token as a method, and the endpoint is unauthenticated).
pub fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|known| *known == method)
        .map_or("other", Method::as_str)
}

/// The status as a label: a status code HTTP registers, else `other` (a provider's system
/// chooses the status of the answers passed on).
pub fn status_label(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(_) => status.as_str().to_string(),
        None => "other".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"X-SECRET-3012345678").unwrap()),
            "other"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "other");
        assert_eq!(status_label(StatusCode::NOT_FOUND), "404");
        assert_eq!(status_label(StatusCode::from_u16(599).unwrap()), "other");
    }
}
