//! Who may use the cases API, until sign-in (OIDC) arrives: a trusted front end that holds the
//! appliance's API token (`--api-token-file`, checked as for the ledger's read APIs) and names
//! the person it acts for in `X-Hromada-Actor` (`official:<id>` or `applicant:<rnokpp>`).

use axum::http::{HeaderMap, StatusCode};

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
                format!(
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
