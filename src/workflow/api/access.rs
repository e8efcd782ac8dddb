//! Who may use the cases API, until sign-in (OIDC) arrives: a trusted front end that holds the
//! appliance's API token (`--api-token-file`) and names the person it acts for in
//! `X-Hromada-Actor` (`official:<id>` of the spec's officials, or `applicant:<rnokpp>`).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::directory::Directory;
use super::errors::{Refusal, error};

/// The header naming the person a request acts for.
pub const ACTOR_HEADER: &str = "x-hromada-actor";

/// The person a request acts for, as the front end named them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An official of the spec, by id.
    Official(String),
    /// An applicant, by their RNOKPP (valid check digit).
    Applicant(String),
}

/// The refusal of a request that does not carry the configured token.
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
            &openssl::sha::sha256(given.as_bytes()),
            &openssl::sha::sha256(token.as_bytes()),
        )
    });
    if matches {
        return None;
    }
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

/// The token of an `Authorization: Bearer TOKEN` value; the scheme is case-insensitive
/// (RFC 7235 §2.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The caller named in `X-Hromada-Actor`, checked against the spec; else the refusal.
pub(super) fn caller(headers: &HeaderMap, directory: &Directory) -> Result<Caller, Refusal> {
    let bad = |message: String| Box::new(error(StatusCode::BAD_REQUEST, "bad_actor", &message));
    let Some(value) = headers.get(ACTOR_HEADER) else {
        return Err(bad(
            "name the person this request acts for in `X-Hromada-Actor`: `official:<id>` or \
             `applicant:<rnokpp>`"
                .into(),
        ));
    };
    let Ok(value) = value.to_str() else {
        return Err(bad("`X-Hromada-Actor` must be ASCII".into()));
    };
    match value.trim().split_once(':') {
        Some(("official", id)) => match directory.is_official(id) {
            true => Ok(Caller::Official(id.to_string())),
            false => Err(Box::new(error(
                StatusCode::FORBIDDEN,
                "unknown_official",
                &format!(
                    "`{id}` is not an official of the applied revision; officials are declared \
                     in the spec's `official` nodes"
                ),
            ))),
        },
        Some(("applicant", rnokpp)) if crate::check::formats::valid_rnokpp(rnokpp) => {
            Ok(Caller::Applicant(rnokpp.to_string()))
        }
        Some(("applicant", _)) => Err(bad(
            "the applicant in `X-Hromada-Actor` must be a valid RNOKPP (10 digits with its \
             check digit)"
                .into(),
        )),
        _ => Err(bad(
            "`X-Hromada-Actor` must be `official:<id>` or `applicant:<rnokpp>`".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER  t0k ", " bEaReR t0k"] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value:?}");
        }
        assert_eq!(bearer_token("Basic t0k"), None);
    }
}
