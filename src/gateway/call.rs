//! A gateway request once parsed (`Call`) and the answer it gets (`Answer`): the X-Road
//! identifiers, the service path, the headers a gateway may carry on, the bounded body and the
//! times and hashes the message log needs. Parsing refuses what the protocol forbids.

use axum::body::{Body, Bytes};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::Limits;
use super::protocol::{
    ErrorKind, GatewayError, HEADER_CLIENT, HEADER_ID, as_sent, check_query, forwardable,
    in_request_hash, new_message_id, parse_client_header, parse_request_path, request_hash,
};
use crate::http_headers::INTERNAL_PREFIX;
use crate::identity::{ClientId, ServiceId};
use crate::spec::model::Method;

pub const HEADER_USER_ID: &str = "X-Road-UserId";
pub const HEADER_ISSUE: &str = "X-Road-Issue";
pub const HEADER_REQUEST_ID: &str = "X-Road-Request-Id";

/// The longest `X-Road-*` header value accepted; identifiers are short.
const MAX_XROAD_HEADER: usize = 1024;

/// One request as a gateway carries it.
#[derive(Debug, Clone)]
pub struct Call {
    pub message_id: String,
    /// This gateway's own id of the exchange (`X-Road-Request-Id`): made by the consumer's
    /// node, carried sealed to the provider's, never chosen by a client.
    pub request_id: String,
    pub client: ClientId,
    pub service: ServiceId,
    pub method: Method,
    /// The whole request path as received (`/r1/…`), percent-encoded.
    pub raw_path: String,
    /// The service path after the service code, starting with `/`.
    pub path: String,
    pub query: Option<String>,
    /// The request headers a gateway may carry on (no hop-by-hop, `Host`, `User-Agent`,
    /// `Content-Length` or internal ones), in the order received.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub user_id: Option<String>,
    pub issue: Option<String>,
    pub request_in: DateTime<Utc>,
    /// `X-Road-Request-Hash` of the request ([`exchanged_hash`]).
    pub request_hash: String,
}

impl Call {
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == CONTENT_TYPE)
            .and_then(|(_, v)| v.to_str().ok())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.to_str().ok())
    }

    /// Query parameters, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What a request that failed to parse still tells the message log.
#[derive(Debug, Clone)]
pub struct Unparsed {
    pub message_id: String,
    pub request_id: String,
    pub client: String,
    pub service: String,
    pub method: String,
    pub path: String,
    pub request_in: DateTime<Utc>,
    pub request_size: u64,
    pub request_hash: String,
}

/// Reads and parses a request within `limits` (target and header sizes, body size and time).
pub async fn parse(
    request: Request<Body>,
    limits: &Limits,
) -> Result<Call, Box<(GatewayError, Unparsed)>> {
    let max_body = limits.max_body;
    let request_in = Utc::now();
    let (parts, body) = request.into_parts();
    let (raw_path, query) = as_sent(parts.uri.path(), parts.uri.query());
    let message_id = header(&parts.headers, HEADER_ID)
        .filter(|v| !v.is_empty() && v.len() <= MAX_XROAD_HEADER)
        .map(str::to_string)
        .unwrap_or_else(new_message_id);
    let mut unparsed = Unparsed {
        message_id: message_id.clone(),
        request_id: new_message_id(),
        client: clip(header(&parts.headers, HEADER_CLIENT).unwrap_or_default()),
        service: clip(&raw_path),
        method: parts.method.as_str().to_string(),
        path: clip(&raw_path),
        request_in,
        request_size: 0,
        request_hash: String::new(),
    };
    let fail = |kind: ErrorKind, message: String, unparsed: &Unparsed| {
        Box::new((
            GatewayError::new(kind, message, unparsed.message_id.clone()),
            unparsed.clone(),
        ))
    };

    if let Some(refusal) = oversized_head(&parts, limits) {
        return Err(fail(ErrorKind::RequestTooLarge, refusal, &unparsed));
    }
    let declared =
        header(&parts.headers, CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max_body as u64) {
        return Err(fail(
            ErrorKind::RequestTooLarge,
            format!("the request body is larger than the gateway accepts ({max_body} bytes)"),
            &unparsed,
        ));
    }
    let body = match tokio::time::timeout(limits.body_timeout, axum::body::to_bytes(body, max_body))
        .await
    {
        Ok(Ok(body)) => body,
        Err(_) => {
            return Err(fail(
                ErrorKind::BadRequest,
                format!(
                    "the request body did not arrive within {}; send it at once after the headers",
                    humantime::format_duration(limits.body_timeout)
                ),
                &unparsed,
            ));
        }
        Ok(Err(_)) => {
            return Err(fail(
                ErrorKind::RequestTooLarge,
                format!(
                    "the request body is larger than the gateway accepts ({max_body} bytes) or was cut off"
                ),
                &unparsed,
            ));
        }
    };
    unparsed.request_size = body.len() as u64;

    let connection = header(&parts.headers, "connection").map(str::to_string);
    let headers: Vec<(HeaderName, HeaderValue)> = parts
        .headers
        .iter()
        .filter(|(name, _)| carried(name.as_str(), connection.as_deref()))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let hashed: Vec<(&str, &str)> = parts
        .headers
        .iter()
        .filter(|(n, _)| in_request_hash(n.as_str()))
        .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
        .collect();
    let path_and_query = match &query {
        Some(q) => format!("{raw_path}?{q}"),
        None => raw_path.clone(),
    };
    unparsed.request_hash = request_hash(parts.method.as_str(), &path_and_query, &hashed, &body);

    for (name, value) in parts.headers.iter() {
        if name.as_str().starts_with("x-road-") && value.len() > MAX_XROAD_HEADER {
            return Err(fail(
                ErrorKind::BadRequest,
                format!("the header {name} is longer than {MAX_XROAD_HEADER} bytes"),
                &unparsed,
            ));
        }
    }
    // The body is checked as the first type; a provider's system could read it as another.
    let types = parts.headers.get_all(CONTENT_TYPE).iter().count();
    if types > 1 {
        return Err(fail(
            ErrorKind::BadRequest,
            format!(
                "the request has {types} Content-Type headers; a provider's system could read \
                 the body as another type than the gateway checked, so send one"
            ),
            &unparsed,
        ));
    }
    let (service, path) =
        parse_request_path(&raw_path).map_err(|e| fail(e.kind(), e.to_string(), &unparsed))?;
    if let Some(query) = &query {
        check_query(query).map_err(|e| fail(e.kind(), e.to_string(), &unparsed))?;
    }
    let Some(client_header) = parts.headers.get(HEADER_CLIENT) else {
        return Err(fail(
            ErrorKind::MissingHeader,
            "the request has no X-Road-Client header; name the calling subsystem as instance/memberClass/memberCode/subsystemCode".into(),
            &unparsed,
        ));
    };
    let client_text = client_header.to_str().map_err(|_| {
        fail(
            ErrorKind::InvalidClientIdentifier,
            "the X-Road-Client header is not visible ASCII".into(),
            &unparsed,
        )
    })?;
    let client =
        parse_client_header(client_text).map_err(|e| fail(e.kind(), e.to_string(), &unparsed))?;
    let method = method_of(parts.method.as_str()).ok_or_else(|| {
        fail(
            ErrorKind::InvalidHttpMethod,
            format!(
                "the method {} is not carried; the gateway carries GET, HEAD, POST, PUT, PATCH, DELETE and OPTIONS",
                parts.method
            ),
            &unparsed,
        )
    })?;
    let mut call = Call {
        message_id,
        request_id: unparsed.request_id,
        client,
        service,
        method,
        raw_path,
        path,
        query,
        user_id: header(&parts.headers, HEADER_USER_ID).map(str::to_string),
        issue: header(&parts.headers, HEADER_ISSUE).map(str::to_string),
        headers,
        body,
        request_in,
        request_hash: unparsed.request_hash,
    };
    call.request_hash = exchanged_hash(&call);
    Ok(call)
}

/// The `X-Road-Request-Hash` of a call over the request as the gateway nodes exchange it, which
/// both nodes read alike: method, path and query as received, then the client, service, message
/// id, user id, issue and content type in that order, and the body. Headers a node adds or drops
/// on the way (hop-by-hop, client defaults, the seal) are left out, so the provider's node
/// computes the hash the consumer's node expects.
pub fn exchanged_hash(call: &Call) -> String {
    let client = call.client.to_string();
    let service = call.service.to_string();
    let mut headers = vec![
        ("x-road-client", client.as_str()),
        ("x-road-service", service.as_str()),
        ("x-road-id", call.message_id.as_str()),
    ];
    headers.extend(call.user_id.as_deref().map(|v| ("x-road-userid", v)));
    headers.extend(call.issue.as_deref().map(|v| ("x-road-issue", v)));
    headers.extend(call.content_type().map(|v| ("content-type", v)));
    let path_and_query = match &call.query {
        Some(q) => format!("{}?{q}", call.raw_path),
        None => call.raw_path.clone(),
    };
    request_hash(call.method.as_str(), &path_and_query, &headers, &call.body)
}

/// The most header fields a request may have. The HTTP layer reads up to
/// `connections::MAX_HEADER_FIELDS_READ`, so that a request with more than this gets an
/// X-Road error rather than the HTTP layer's bare 431.
pub const MAX_HEADER_FIELDS: usize = 100;

/// Why the request's target or headers are larger than `limits` allow, if they are.
fn oversized_head(parts: &axum::http::request::Parts, limits: &Limits) -> Option<String> {
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target > limits.max_uri {
        return Some(format!(
            "the request path and query are {target} bytes long; the gateway takes at most {}",
            limits.max_uri
        ));
    }
    let fields = parts.headers.len();
    if fields > MAX_HEADER_FIELDS {
        return Some(format!(
            "the request has {fields} header fields; the gateway takes at most {MAX_HEADER_FIELDS}"
        ));
    }
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    (headers > limits.max_headers).then(|| {
        format!(
            "the request headers are {headers} bytes in all; the gateway takes at most {}",
            limits.max_headers
        )
    })
}

/// Whether a request header travels on towards the provider.
fn carried(name: &str, connection: Option<&str>) -> bool {
    forwardable(name, connection)
        && !matches!(
            name,
            "user-agent" | "content-length" | "x-road-request-hash"
        )
        && !name.starts_with(INTERNAL_PREFIX)
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn clip(text: &str) -> String {
    text.chars().take(256).collect()
}

pub fn method_of(text: &str) -> Option<Method> {
    Some(match text {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        "OPTIONS" => Method::Options,
        _ => return None,
    })
}

/// A response on its way back: from the provider (projected) or a gateway's refusal.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    /// Set when a gateway refused or failed the call.
    pub error: Option<GatewayError>,
}

impl Answer {
    pub fn refusal(error: GatewayError) -> Answer {
        let body = Bytes::from(error.body().to_string());
        Answer {
            status: StatusCode::from_u16(error.status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            headers: vec![
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (
                    HeaderName::from_static("x-road-error"),
                    HeaderValue::from_static(error.header_value()),
                ),
            ],
            body,
            error: Some(error),
        }
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == CONTENT_TYPE)
            .and_then(|(_, v)| v.to_str().ok())
    }

    /// The HTTP response to the consumer's information system, with the X-Road headers.
    pub fn into_response(self, ids: &ResponseIds) -> Response {
        let mut response = Response::new(Body::from(self.body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        let mut set = |name: &'static str, value: &str| {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(HeaderName::from_static(name), value);
            }
        };
        set("x-road-id", &ids.message_id);
        set("x-road-request-id", &ids.request_id);
        if !ids.request_hash.is_empty() {
            set("x-road-request-hash", &ids.request_hash);
        }
        if let Some(client) = &ids.client {
            set("x-road-client", client);
        }
        if let Some(service) = &ids.service {
            set("x-road-service", service);
        }
        response
    }
}

/// The X-Road headers every gateway response carries.
pub struct ResponseIds {
    pub message_id: String,
    pub request_id: String,
    pub request_hash: String,
    pub client: Option<String>,
    pub service: Option<String>,
}
