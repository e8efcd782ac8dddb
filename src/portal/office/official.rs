//! The signed-in official (`Official`) as the office's handlers take it: the session behind the
//! office's own cookie, the spec's `official` it names, and their account read from the store on
//! every request, so that a block or a removal from the spec refuses the very next request.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::blocking;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::citizen::{Refusals, site_chrome, to_sign_in_at};
use crate::portal::pages::{Chrome, OfficeMenu};
use crate::portal::security_log::{EventKind, SecurityLog};
use crate::portal::session::{self, Standing};
use crate::spec::model::{self, Permission};
use crate::store::{OfficeSessionRow, SessionEnd, StoreError};
use crate::workflow::clock::SharedClock;
use crate::workflow::requests::Actor;

/// An official signed in to the office.
#[derive(Clone)]
pub struct Official {
    /// The spec's `official` id: their login.
    pub id: String,
    pub name: String,
    pub position: String,
    /// `participant/unit`.
    pub unit: String,
    pub roles: Vec<String>,
    /// The session's CSRF token, which every POST form carries as `csrf`.
    pub csrf: String,
    /// The store's id of the session (the SHA-256 of its token); never logged.
    pub session_id: String,
    /// The identity provider's pseudonymous subject: what the security log names.
    subject: String,
    clock: SharedClock,
    refusals: Arc<Refusals>,
}

impl fmt::Debug for Official {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Official")
            .field("id", &self.id)
            .field("unit", &self.unit)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl Official {
    /// The participant the official works for (the first part of their unit).
    pub fn participant(&self) -> &str {
        self.unit.split_once('/').map_or(&self.unit, |(p, _)| p)
    }

    /// Whether any of the official's roles grants `permission` in revision `compiled`.
    pub fn may(&self, compiled: &Compiled, permission: Permission) -> bool {
        self.roles.iter().any(|role| {
            model::by_id(&compiled.spec.roles, role)
                .is_some_and(|r| r.permissions.contains(&permission))
        })
    }

    /// The layout of an office page for this official in revision `compiled`.
    pub fn chrome(&self, compiled: &Compiled) -> Chrome {
        Chrome {
            signed_in_as: Some(format!("{}, {}", self.name, self.position)),
            csrf: Some(self.csrf.clone()),
            office: Some(OfficeMenu {
                users: self.may(compiled, Permission::UsersManage),
                audit: self.may(compiled, Permission::AuditRead),
                registry: Permission::DOCUMENTS.iter().any(|p| self.may(compiled, *p)),
            }),
            ..crate::portal::home::chrome(compiled)
        }
    }

    /// Whether `submitted` is this session's CSRF token; otherwise a refusal page (403) and a
    /// security event.
    #[allow(clippy::result_large_err)] // the shared contract: handlers return the refusal as is
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), Response> {
        let chrome = Chrome {
            site_title: self.refusals.site_title.clone(),
            signed_in_as: Some(self.name.clone()),
            csrf: Some(self.csrf.clone()),
            office: Some(OfficeMenu::default()),
        };
        self.refusals
            .check_csrf(&self.subject, submitted, &self.csrf, chrome)
    }

    /// The official as a case's actor.
    pub fn actor(&self) -> Actor {
        Actor::Official(self.id.clone())
    }

    /// The time as the case engine reads it (the access log's and the blocks' clock).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Records a security event of this official (by their pseudonymous subject) without
    /// waiting for it.
    pub fn security_event(&self, kind: EventKind, reason: &str) {
        self.refusals
            .log
            .record_later(kind, Some(self.subject.clone()), reason.into());
    }

    /// Nothing when the official's roles grant `permission`; otherwise a refusal page (403),
    /// a security event and an access-log entry.
    #[allow(clippy::result_large_err)]
    pub async fn require(
        &self,
        portal: &PortalState,
        compiled: &Compiled,
        permission: Permission,
    ) -> Result<(), Response> {
        if self.may(compiled, permission) {
            return Ok(());
        }
        let needed = serde_json::to_value(permission)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let reason = format!("an official without `{needed}` was refused a page that needs it");
        self.security_event(EventKind::RefusedOfficial, &reason);
        if let Err(e) =
            super::access_log::record(&portal.store, self, "refused", None, &reason).await
        {
            tracing::error!("the access log did not take a refusal: {e}");
        }
        Err(portal.pages.problem(
            StatusCode::FORBIDDEN,
            &self.chrome(compiled),
            "Немає доступу",
            "Ваша роль не дає права відкривати цю сторінку. Якщо вона потрібна вам для роботи, \
             зверніться до адміністратора.",
        ))
    }
}

impl<S> OptionalFromRequestParts<S> for Official
where
    S: Send + Sync,
    PortalState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Official>, Response> {
        let portal = PortalState::from_ref(state);
        find(&portal, parts).await
    }
}

impl<S> FromRequestParts<S> for Official
where
    S: Send + Sync,
    PortalState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Official, Response> {
        let portal = PortalState::from_ref(state);
        match find(&portal, parts).await? {
            Some(official) => Ok(official),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(to_sign_in_at(parts, "/office/sign-in"))
            }
            None => Err(portal.pages.problem(
                StatusCode::UNAUTHORIZED,
                &site_chrome(&portal),
                "Потрібно увійти",
                "Ваш сеанс у кабінеті посадової особи завершився або ви ще не увійшли. Увійдіть \
                 і надішліть форму ще раз.",
            )),
        }
    }
}

/// The official whose open, in-time session the request's office cookie names; a refusal page
/// when they are blocked or no longer declared.
async fn find(portal: &PortalState, parts: &Parts) -> Result<Option<Official>, Response> {
    let Some(token) = session::read_cookie(&parts.headers, super::cookie_name(&portal.settings))
    else {
        return Ok(None);
    };
    let id = session::digest(token);
    let unavailable = |e: StoreError| {
        tracing::error!("cannot read an official's session: {e}");
        portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &site_chrome(portal),
            "Кабінет тимчасово недоступний",
            "Не вдалося перевірити ваш вхід. Спробуйте ще раз за кілька хвилин.",
        )
    };
    let Some(row) = portal
        .store
        .office_session(&id)
        .await
        .map_err(unavailable)?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let log = SecurityLog::new(portal.store.clone());
    let touch = match session::standing_of(row.last_seen_at, row.expires_at, now) {
        Standing::Live { touch } => touch,
        ended @ (Standing::Idle | Standing::Expired) => {
            let (why, reason) = if ended == Standing::Idle {
                (
                    SessionEnd::Idle,
                    "an official's session unused for too long was ended",
                )
            } else {
                (
                    SessionEnd::Expired,
                    "an official's session past its lifetime was ended",
                )
            };
            if portal
                .store
                .end_office_session(&id, now, why)
                .await
                .map_err(unavailable)?
            {
                log.record(EventKind::SessionEnded, Some(&row.subject), reason)
                    .await;
            }
            return Ok(None);
        }
    };
    let Some(compiled) = portal.current.load_full() else {
        return Err(portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &Chrome::default(),
            "Кабінет ще запускається",
            "Оновіть сторінку за хвилину.",
        ));
    };
    let Some(declared) = model::by_id(&compiled.spec.officials, &row.official) else {
        return refuse(
            portal,
            &compiled,
            &row,
            "an official no longer declared in the spec was refused and their session ended",
            "Вашого облікового запису більше немає серед посадових осіб. Якщо це помилка, \
             зверніться до адміністратора.",
        )
        .await;
    };
    let clock = portal.engine.clock().clone();
    if blocking::held(
        declared,
        row.block.as_ref(),
        clock.now(),
        blocking::zone(&compiled),
    )
    .is_some()
    {
        return refuse(
            portal,
            &compiled,
            &row,
            "a blocked official was refused and their session ended",
            "Ваш обліковий запис заблоковано або анульовано. Щоб відновити доступ, зверніться до \
             адміністратора.",
        )
        .await;
    }
    if touch {
        portal
            .store
            .touch_office_session(&id, now)
            .await
            .map_err(unavailable)?;
    }
    Ok(Some(Official {
        id: declared.id.clone(),
        name: declared.name.clone(),
        position: declared.position.clone(),
        unit: declared.unit.clone(),
        roles: declared.roles.clone(),
        csrf: row.csrf,
        session_id: row.id,
        subject: row.subject,
        clock,
        refusals: Arc::new(Refusals::new(portal)),
    }))
}

/// Ends the session `row` of an official who may not use the office, records why, and the page
/// that tells them.
async fn refuse(
    portal: &PortalState,
    compiled: &Compiled,
    row: &OfficeSessionRow,
    reason: &str,
    message: &str,
) -> Result<Option<Official>, Response> {
    if let Err(e) = portal
        .store
        .end_office_session(&row.id, Utc::now(), SessionEnd::Refused)
        .await
    {
        tracing::error!("cannot end the session of an official refused the office: {e}");
    }
    SecurityLog::new(portal.store.clone())
        .record(EventKind::RefusedOfficial, Some(&row.subject), reason)
        .await;
    Err(portal.pages.problem(
        StatusCode::FORBIDDEN,
        &crate::portal::home::chrome(compiled),
        "Доступ до кабінету закрито",
        message,
    ))
}
