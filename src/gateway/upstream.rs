//! Calling a provider's information system: the request as the agreement allows it (asking only
//! for content codings the gateway decodes), redirects passed back rather than followed, a
//! deadline on the whole exchange and a bound on the response body. Failures become the X-Road
//! error families a consumer can act on.

use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::ACCEPT_ENCODING;
use axum::http::{HeaderName, HeaderValue, StatusCode};

use super::call::{Call, HEADER_ISSUE, HEADER_USER_ID};
use super::protocol::{ErrorKind, GatewayError};

/// A client for upstreams: no redirects followed, no proxy from the environment.
pub fn client(connect_timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .no_proxy()
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .expect("the upstream HTTP client needs only settings known to be valid")
}

/// The provider's response as it came, before anything of it is released.
pub struct Upstream {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
}

/// Calls `base` (the service's upstream) with the call's path, query, headers and body.
pub async fn call(
    http: &reqwest::Client,
    base: &str,
    call: &Call,
    timeout: Duration,
    max_body: usize,
) -> Result<Upstream, GatewayError> {
    let url = format!("{}{}", base.trim_end_matches('/'), call.path_and_query());
    let failed = |kind: ErrorKind, message: String| {
        GatewayError::new(kind, message, call.message_id.clone())
    };
    let method = reqwest::Method::from_bytes(call.method.as_str().as_bytes())
        .expect("the carried methods are valid HTTP methods");
    let service = call.service.to_string();
    let mut request = with_call_headers(http.request(method, &url).timeout(timeout), call)
        .body(call.body.clone())
        .build()
        .map_err(|_| {
            failed(
                ErrorKind::ServiceFailed,
                format!(
                    "the gateway cannot form the request to the provider's system of {service}"
                ),
            )
        })?;
    request.headers_mut().insert(
        ACCEPT_ENCODING,
        HeaderValue::from_static(super::encoding::DECODABLE),
    );
    let mut response = http.execute(request).await.map_err(|e| {
        if e.is_timeout() {
            failed(
                ErrorKind::ServiceTimeout,
                format!(
                    "the provider's system did not answer {service} within {}",
                    humantime::format_duration(timeout)
                ),
            )
        } else {
            failed(
                ErrorKind::NetworkError,
                format!("the provider's system of {service} cannot be reached"),
            )
        }
    })?;
    let status = response.status();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let body = match read_bounded(&mut response, max_body).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return Err(too_large(&failed, &service, max_body)),
        Err(BodyError::Timeout) => {
            return Err(failed(
                ErrorKind::ServiceTimeout,
                format!(
                    "the provider's system did not finish answering {service} within {}",
                    humantime::format_duration(timeout)
                ),
            ));
        }
        Err(BodyError::Broken) => {
            return Err(failed(
                ErrorKind::ServiceFailed,
                format!("the provider's system broke off its answer to {service}"),
            ));
        }
    };
    Ok(Upstream {
        status,
        headers,
        body,
    })
}

fn too_large(
    failed: &impl Fn(ErrorKind, String) -> GatewayError,
    service: &str,
    max: usize,
) -> GatewayError {
    failed(
        ErrorKind::ServiceFailed,
        format!(
            "the provider's answer to {service} is larger than the gateway carries ({max} bytes)"
        ),
    )
}

/// `request` with the call's carried headers and its X-Road headers, each once.
pub fn with_call_headers(
    mut request: reqwest::RequestBuilder,
    call: &Call,
) -> reqwest::RequestBuilder {
    for (name, value) in &call.headers {
        if !name.as_str().starts_with("x-road-") {
            request = request.header(name, value);
        }
    }
    request = request
        .header("x-road-client", call.client.to_string())
        .header("x-road-service", call.service.to_string())
        .header("x-road-id", &call.message_id)
        .header("x-road-request-id", &call.request_id);
    if let Some(user) = &call.user_id {
        request = request.header(HEADER_USER_ID, user);
    }
    if let Some(issue) = &call.issue {
        request = request.header(HEADER_ISSUE, issue);
    }
    request
}

/// Why an answer's body could not be read whole.
pub enum BodyError {
    TooLarge,
    Timeout,
    Broken,
}

/// Reads an answer's body of at most `max` bytes, refusing a longer one as soon as it shows.
pub async fn read_bounded(
    response: &mut reqwest::Response,
    max: usize,
) -> Result<Bytes, BodyError> {
    let declared = response.content_length().unwrap_or(0);
    if declared > max as u64 {
        return Err(BodyError::TooLarge);
    }
    // Room for the stated length at once, not a copy at every doubling; a stated length is only
    // a claim, so at most 1 MiB is taken before the bytes arrive.
    let mut body = Vec::with_capacity(declared.min(1 << 20) as usize);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() <= max => body.extend_from_slice(&chunk),
            Ok(Some(_)) => return Err(BodyError::TooLarge),
            Ok(None) => return Ok(Bytes::from(body)),
            Err(e) if e.is_timeout() => return Err(BodyError::Timeout),
            Err(_) => return Err(BodyError::Broken),
        }
    }
}
