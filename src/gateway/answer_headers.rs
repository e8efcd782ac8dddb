//! The response headers a consumer may see: a closed allow-list (content type and language,
//! caching, `Retry-After`, an OPTIONS answer's `Allow`) whose values must have their standard form,
//! so that none carries personal data, and the headers a service declares. Never a cookie, a
//! redirect, a content coding, a hop-by-hop, gateway or X-Road header.

use std::sync::LazyLock;

use axum::http::header::{CONTENT_ENCODING, CONTENT_TYPE, LOCATION};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use chrono::DateTime;
use regex::Regex;

use super::call::Call;
use super::redirect;
use crate::http_headers::never_passes;
use crate::spec::model::Service;

/// The caching directives a provider may send (RFC 9111, RFC 8246, RFC 5861).
const CACHE_DIRECTIVES: &[&str] = &[
    "no-cache",
    "no-store",
    "no-transform",
    "public",
    "private",
    "must-revalidate",
    "proxy-revalidate",
    "must-understand",
    "immutable",
    "max-age",
    "s-maxage",
    "stale-while-revalidate",
    "stale-if-error",
];

static TOKEN: &str = r"[A-Za-z0-9!#$&^_.+-]+";
static MEDIA_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"^({TOKEN}/{TOKEN})\s*(;\s*charset\s*=\s*(?:{TOKEN}|\x22{TOKEN}\x22)\s*)?(;.*)?$"
    ))
    .expect("media type pattern")
});
/// A language tag of language, script and region only: no private-use or extension subtags.
static LANGUAGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$")
        .expect("language tag pattern")
});

/// The provider's headers that pass to the consumer, in their order; the first `Content-Type`
/// only, reduced to its media type and charset if it has other parameters.
pub fn released(
    headers: &[(HeaderName, HeaderValue)],
    service: &Service,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out: Vec<(HeaderName, HeaderValue)> = Vec::new();
    for (name, value) in headers {
        if *name == CONTENT_TYPE && out.iter().any(|(n, _)| *n == CONTENT_TYPE) {
            continue;
        }
        let passed = if declared(name.as_str(), service) {
            Some(value.clone())
        } else {
            standard(name, value)
        };
        if let Some(value) = passed {
            out.push((name.clone(), value));
        }
    }
    out
}

/// The headers of an answer another gateway node released that pass on to the consumer: the
/// same allow-list, the coding that node encoded with, and a redirect it rewrote for `call`.
pub fn passed_on(
    headers: &axum::http::HeaderMap,
    status: StatusCode,
    call: &Call,
    service: &Service,
) -> Vec<(HeaderName, HeaderValue)> {
    let pairs: Vec<(HeaderName, HeaderValue)> = headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    let mut out = released(&pairs, service);
    for (name, value) in &pairs {
        let extra = (*name == CONTENT_ENCODING && value.as_bytes() == b"gzip")
            || (*name == LOCATION
                && status.is_redirection()
                && value
                    .to_str()
                    .is_ok_and(|to| redirect::is_rewritten(call, to)));
        if extra {
            out.push((name.clone(), value.clone()));
        }
    }
    out
}

fn declared(name: &str, service: &Service) -> bool {
    !never_passes(name)
        && service
            .response
            .headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
}

/// The value of an always-passing header if it has its standard form; `None` for any other
/// header or form.
fn standard(name: &HeaderName, value: &HeaderValue) -> Option<HeaderValue> {
    let text = value.to_str().ok()?.trim();
    let date = |t: &str| DateTime::parse_from_rfc2822(t).is_ok();
    // Up to nine digits (31 years): never a ten-digit RNOKPP.
    let seconds = |t: &str| !t.is_empty() && t.len() <= 9 && t.bytes().all(|b| b.is_ascii_digit());
    let fits = match name.as_str() {
        "content-type" => {
            let found = MEDIA_TYPE.captures(text)?;
            if found.get(3).is_some() {
                let essence = &found[1];
                let charset = found.get(2).map(|c| c.as_str().trim()).unwrap_or_default();
                return HeaderValue::from_str(&format!("{essence}{charset}")).ok();
            }
            true
        }
        "content-language" => text.split(',').all(|tag| LANGUAGE.is_match(tag.trim())),
        "cache-control" => text.split(',').all(|directive| {
            let (name, argument) = match directive.trim().split_once('=') {
                Some((n, a)) => (n, Some(a)),
                None => (directive.trim(), None),
            };
            CACHE_DIRECTIVES.contains(&name.to_ascii_lowercase().as_str())
                && argument.is_none_or(seconds)
        }),
        "expires" | "last-modified" => date(text),
        "age" => seconds(text),
        "retry-after" => seconds(text) || date(text),
        "pragma" => text.eq_ignore_ascii_case("no-cache"),
        // An OPTIONS answer's methods: only the ones the gateway carries.
        "allow" => text.split(',').all(|method| {
            matches!(
                method.trim(),
                "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS"
            )
        }),
        _ => false,
    };
    fits.then(|| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(declared: &[&str]) -> Service {
        serde_json::from_value(serde_json::json!({
            "id": "s", "title": "t", "description": "d", "upstream": "http://127.0.0.1:1",
            "response": {"headers": declared}
        }))
        .unwrap()
    }

    fn pass(pairs: &[(&str, &str)], declared: &[&str]) -> Vec<(String, String)> {
        let headers: Vec<(HeaderName, HeaderValue)> = pairs
            .iter()
            .map(|(n, v)| (n.parse().unwrap(), HeaderValue::from_str(v).unwrap()))
            .collect();
        released(&headers, &service(declared))
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn standard_headers_in_standard_form_pass_unmodified() {
        let sent = [
            ("content-type", "application/json; charset=utf-8"),
            ("content-language", "uk, en-GB, es-419"),
            ("cache-control", "private, max-age=60, must-revalidate"),
            ("expires", "Sun, 06 Dec 2026 08:49:37 GMT"),
            ("last-modified", "Sun, 06 Dec 2026 08:49:37 GMT"),
            ("age", "12"),
            ("retry-after", "120"),
            ("pragma", "no-cache"),
            ("allow", "GET, HEAD, OPTIONS"),
        ];
        let expected: Vec<(String, String)> = sent
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(pass(&sent, &[]), expected);
        assert_eq!(
            pass(&[("content-type", "application/problem+json")], &[]),
            [("content-type".into(), "application/problem+json".into())]
        );
    }

    #[test]
    fn personal_values_in_standard_headers_and_other_headers_never_pass() {
        let rnokpp = "3012345678";
        let sent = [
            ("set-cookie", "session=3012345678"),
            ("x-holder", rnokpp),
            ("etag", "\"3012345678\""),
            ("location", "/x?rnokpp=3012345678"),
            ("content-encoding", "gzip"),
            ("content-language", "x-3012345678"),
            ("cache-control", "private=\"3012345678\""),
            ("cache-control", "x-subject=3012345678"),
            ("expires", "3012345678"),
            ("retry-after", "16"),
            ("age", "3012345678"),
            ("pragma", "3012345678"),
            ("vary", "X-3012345678"),
            ("allow", "GET, X-3012345678"),
            ("x-road-id", "forged"),
        ];
        let passed = pass(&sent, &["ETag", "Set-Cookie", "Location", "X-Road-Id"]);
        assert_eq!(
            passed,
            [
                ("etag".into(), "\"3012345678\"".into()),
                ("retry-after".into(), "16".into())
            ],
            "only the declared ETag and a number of seconds pass"
        );
        assert_eq!(
            pass(
                &[
                    (
                        "content-type",
                        "application/json; profile=3012345678; charset=utf-8"
                    ),
                    ("content-type", "text/html")
                ],
                &[]
            ),
            [("content-type".into(), "application/json".into())]
        );
        assert_eq!(
            pass(
                &[("content-type", "application/json;charset=utf-8;x=1")],
                &[]
            ),
            [(
                "content-type".into(),
                "application/json;charset=utf-8".into()
            )]
        );
    }
}
