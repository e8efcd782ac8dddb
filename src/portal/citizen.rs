//! The signed-in citizen (`Citizen`) as handlers take it: an extractor that finds the session
//! behind the cookie (ending it when idle or expired), redirects a GET without one to sign-in
//! and refuses other methods; `check_csrf` refuses a POST without the session's token.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::PortalState;
use super::pages::{Chrome, Pages};
use super::security_log::{EventKind, SecurityLog};
use super::session::{self, Identity, Standing};
use crate::compile::Compiled;
use crate::store::SessionEnd;

/// A person signed in to the portal.
#[derive(Clone)]
pub struct Citizen {
    /// The store's id of the session (the SHA-256 of its token); never logged.
    pub session_id: String,
    /// The identity provider's pseudonymous `sub`: the only id the security log names.
    pub subject: String,
    /// Who owns drafts and applications: the RNOKPP when the provider gave one, else
    /// `sub:<sub>`.
    pub owner: String,
    pub rnokpp: Option<String>,
    /// The EDRPOU of the legal entity the person represents.
    pub edrpou: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub email: Option<String>,
    /// The session's CSRF token, which every POST form carries as `csrf`.
    pub csrf: String,
    refusals: Arc<Refusals>,
}

/// What a refused POST needs: the log and the page.
pub(super) struct Refusals {
    pub(super) log: SecurityLog,
    pub(super) pages: Arc<Pages>,
    pub(super) site_title: String,
}

impl fmt::Debug for Citizen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Citizen")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Citizen {
    /// The owner of drafts and applications for a person with `rnokpp` and subject `subject`.
    pub fn owner_of(rnokpp: Option<&str>, subject: &str) -> String {
        rnokpp.map_or_else(|| format!("sub:{subject}"), str::to_string)
    }

    /// Family, given and middle name, as Ukrainian documents write them.
    pub fn full_name(&self) -> String {
        [&self.family_name, &self.given_name, &self.middle_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// This person as the applicant of a case: their RNOKPP (the owner key when the provider
    /// gave none), full name and e-mail.
    pub fn applicant(&self) -> crate::workflow::requests::Applicant {
        crate::workflow::requests::Applicant {
            id: self.rnokpp.clone().unwrap_or_else(|| self.owner.clone()),
            name: self.full_name(),
            email: self.email.clone(),
        }
    }

    /// The layout of a page this person is signed in to, for revision `compiled`.
    pub fn chrome(&self, compiled: &Compiled) -> Chrome {
        let name = self.full_name();
        Chrome {
            signed_in_as: Some(if name.is_empty() {
                "Особа без зазначеного імені".into()
            } else {
                name
            }),
            csrf: Some(self.csrf.clone()),
            ..super::home::chrome(compiled)
        }
    }

    /// Whether `submitted` is this session's CSRF token; otherwise a refusal page (403) and a
    /// security event.
    #[allow(clippy::result_large_err)] // the shared contract: handlers return the refusal as is
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), Response> {
        let chrome = Chrome {
            site_title: self.refusals.site_title.clone(),
            signed_in_as: Some(self.full_name()),
            csrf: Some(self.csrf.clone()),
            ..Chrome::default()
        };
        self.refusals
            .check_csrf(&self.subject, submitted, &self.csrf, chrome)
    }
}

impl Refusals {
    pub(super) fn new(portal: &PortalState) -> Refusals {
        Refusals {
            log: SecurityLog::new(portal.store.clone()),
            pages: portal.pages.clone(),
            site_title: site_chrome(portal).site_title,
        }
    }

    /// Whether `submitted` is `expected`, a session's CSRF token; otherwise a refusal page (403)
    /// in `chrome` and a security event naming `subject`.
    #[allow(clippy::result_large_err)]
    pub(super) fn check_csrf(
        &self,
        subject: &str,
        submitted: Option<&str>,
        expected: &str,
        chrome: Chrome,
    ) -> Result<(), Response> {
        let reason = match submitted.filter(|s| !s.is_empty()) {
            Some(token) if session::same_secret(token, expected) => return Ok(()),
            Some(_) => "a form was sent with a CSRF token that is not its session's",
            None => "a form was sent without its CSRF token",
        };
        self.log
            .record_later(EventKind::RefusedCsrf, Some(subject.into()), reason.into());
        Err(self.pages.problem(
            StatusCode::FORBIDDEN,
            &chrome,
            "Форму не прийнято",
            "Форму надіслано не зі сторінки порталу або сторінка застаріла. Поверніться назад, \
             оновіть сторінку і надішліть форму ще раз.",
        ))
    }
}

impl<S> OptionalFromRequestParts<S> for Citizen
where
    S: Send + Sync,
    PortalState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Citizen>, Response> {
        let portal = PortalState::from_ref(state);
        find(&portal, parts).await
    }
}

impl<S> FromRequestParts<S> for Citizen
where
    S: Send + Sync,
    PortalState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Citizen, Response> {
        let portal = PortalState::from_ref(state);
        match find(&portal, parts).await? {
            Some(citizen) => Ok(citizen),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(to_sign_in(parts))
            }
            None => Err(portal.pages.problem(
                StatusCode::UNAUTHORIZED,
                &site_chrome(&portal),
                "Потрібно увійти",
                "Ваш сеанс завершився або ви ще не увійшли. Увійдіть і надішліть форму ще раз.",
            )),
        }
    }
}

/// 303 to `/sign-in?next=` this request's path and query.
fn to_sign_in(parts: &Parts) -> Response {
    to_sign_in_at(parts, "/sign-in")
}

/// 303 to `sign_in?next=` this request's path and query.
pub(super) fn to_sign_in_at(parts: &Parts, sign_in: &str) -> Response {
    let here = parts
        .uri
        .path_and_query()
        .map_or("/", |pq| pq.as_str())
        .to_string();
    let next: String = url::form_urlencoded::byte_serialize(here.as_bytes()).collect();
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{sign_in}?next={next}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

pub(super) fn site_chrome(portal: &PortalState) -> Chrome {
    portal
        .current
        .load_full()
        .map(|c| super::home::chrome(&c))
        .unwrap_or_default()
}

/// The citizen whose session the request's cookie names, if it is open and in time.
async fn find(portal: &PortalState, parts: &Parts) -> Result<Option<Citizen>, Response> {
    let Some(token) = session::read_cookie(&parts.headers, session::cookie_name(&portal.settings))
    else {
        return Ok(None);
    };
    let id = session::digest(token);
    let unavailable = |e: crate::store::StoreError| {
        tracing::error!("cannot read a portal session: {e}");
        portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &site_chrome(portal),
            "Портал тимчасово недоступний",
            "Не вдалося перевірити ваш вхід. Спробуйте ще раз за кілька хвилин.",
        )
    };
    let Some(row) = portal.store.session(&id).await.map_err(unavailable)? else {
        return Ok(None);
    };
    let now = Utc::now();
    let log = SecurityLog::new(portal.store.clone());
    match session::standing(&row, now) {
        Standing::Live { touch } => {
            if touch {
                portal
                    .store
                    .touch_session(&id, now)
                    .await
                    .map_err(unavailable)?;
            }
        }
        ended @ (Standing::Idle | Standing::Expired) => {
            let (why, reason) = if ended == Standing::Idle {
                (SessionEnd::Idle, "a session unused for too long was ended")
            } else {
                (SessionEnd::Expired, "a session past its lifetime was ended")
            };
            if portal
                .store
                .end_session(&id, now, why)
                .await
                .map_err(unavailable)?
            {
                log.record(EventKind::SessionEnded, Some(&row.subject), reason)
                    .await;
            }
            return Ok(None);
        }
    }
    let identity: Identity = match serde_json::from_str(&row.claims) {
        Ok(identity) => identity,
        Err(e) => {
            tracing::error!(
                "a portal session's stored identity does not read ({e}); the session is ended \
                 and its person must sign in again"
            );
            let _ = portal
                .store
                .end_session(&id, now, SessionEnd::Expired)
                .await;
            return Ok(None);
        }
    };
    Ok(Some(Citizen {
        session_id: row.id,
        subject: row.subject,
        owner: row.owner,
        rnokpp: identity.rnokpp,
        edrpou: identity.edrpou,
        family_name: identity.family_name,
        given_name: identity.given_name,
        middle_name: identity.middle_name,
        email: identity.email,
        csrf: row.csrf,
        refusals: Arc::new(Refusals::new(portal)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_that_needs_a_session_sends_the_browser_to_sign_in_and_back() {
        let (parts, ()) = axum::http::Request::get("/drafts/7/pages/2?x=1&y=2")
            .body(())
            .unwrap()
            .into_parts();
        let response = to_sign_in(&parts);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(
            response.headers()[header::LOCATION],
            "/sign-in?next=%2Fdrafts%2F7%2Fpages%2F2%3Fx%3D1%26y%3D2"
        );
    }

    #[test]
    fn the_owner_is_the_rnokpp_or_else_the_subject() {
        assert_eq!(Citizen::owner_of(Some("3184710691"), "abc"), "3184710691");
        assert_eq!(Citizen::owner_of(None, "abc"), "sub:abc");
    }
}
