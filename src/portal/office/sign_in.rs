//! Officials sign in to the office through the citizens' identity provider: `/office/sign-in`
//! starts the flow (the sign-in under way marked as an official's), the shared callback ends in
//! `open_session` (the ID token's RNOKPP matched to the spec's `official … rnokpp`, a block
//! refused), `POST /office/sign-out` ends the official's sessions.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::Utc;

use super::official::Official;
use super::{blocking, cookie_name};
use crate::portal::PortalState;
use crate::portal::pages::Chrome;
use crate::portal::security_log::{EventKind, SecurityLog};
use crate::portal::session::{self, Identity};
use crate::portal::sign_in::{
    begin, form_value, local_path, query_value, see_other, signed_out_page, unavailable,
};
use crate::store::{NewOfficeSession, OfficialAccess, SessionEnd};

/// Where an official lands after signing in when no `next` says otherwise.
const HOME: &str = "/office";

/// `GET /office/sign-in?next=`: to the identity provider, back to `next` (a local path).
pub async fn start(
    State(portal): State<PortalState>,
    official: Option<Official>,
    RawQuery(query): RawQuery,
) -> Response {
    // Only a path on this site; anything else (another origin) lands on the inbox.
    let next = query_value(query.as_deref(), "next")
        .filter(|next| local_path(Some(next)) == *next)
        .unwrap_or_else(|| HOME.into());
    if official.is_some() {
        return see_other(&next, &[]);
    }
    begin(&portal, next, true).await
}

/// The end of an official's sign-in: the person the provider vouched for is the spec's
/// official with their RNOKPP, not blocked; a session in the office's cookie, or a refusal page
/// and a security event.
pub async fn open_session(
    portal: &PortalState,
    chrome: &Chrome,
    headers: &HeaderMap,
    subject: String,
    identity: Identity,
    next: &str,
) -> Response {
    let log = SecurityLog::new(portal.store.clone());
    let Some(compiled) = portal.current.load_full() else {
        return unavailable(portal, chrome, "no revision is applied yet").await;
    };
    let declared = identity.rnokpp.as_deref().and_then(|rnokpp| {
        compiled
            .spec
            .officials
            .iter()
            .find(|o| o.rnokpp.as_deref() == Some(rnokpp))
    });
    let Some(declared) = declared else {
        log.record(
            EventKind::RefusedOfficial,
            Some(&subject),
            "a person who is no official of the spec tried to sign in to the office",
        )
        .await;
        return portal.pages.problem(
            StatusCode::FORBIDDEN,
            chrome,
            "Вхід до кабінету посадової особи не дозволено",
            "Серед посадових осіб немає нікого з вашим РНОКПП. Кабінет посадової особи \
             відкривається лише працівникам, яких внесено до переліку посадових осіб. Якщо ви \
             хотіли подати заяву, увійдіть на портал як громадянин.",
        );
    };
    let stored = match portal.store.official_block(&declared.id).await {
        Ok(stored) => stored,
        Err(e) => {
            tracing::error!("cannot read an official's account: {e}");
            return unavailable(
                portal,
                chrome,
                "the store cannot read the official's account",
            )
            .await;
        }
    };
    let now_engine = portal.engine.clock().now();
    if blocking::held(
        declared,
        stored.as_ref(),
        now_engine,
        blocking::zone(&compiled),
    )
    .is_some()
    {
        log.record(
            EventKind::RefusedOfficial,
            Some(&subject),
            "a blocked official tried to sign in to the office",
        )
        .await;
        return portal.pages.problem(
            StatusCode::FORBIDDEN,
            chrome,
            "Доступ до кабінету закрито",
            "Ваш обліковий запис заблоковано або анульовано. Щоб відновити доступ, зверніться до \
             адміністратора.",
        );
    }
    let now = Utc::now();
    let settings = &portal.settings;
    // A session this browser had before is ended: a sign-in always gets a new token.
    if let Some(old) = session::read_cookie(headers, cookie_name(settings)) {
        let _ = portal
            .store
            .end_office_session(&session::digest(old), now, SessionEnd::SignedOut)
            .await;
    }
    let token = session::random_token();
    let new = NewOfficeSession {
        id: session::digest(&token),
        official: declared.id.clone(),
        subject,
        csrf: session::random_token(),
        created_at: now,
        expires_at: now + session::LIFETIME,
    };
    if let Err(e) = portal.store.open_office_session(&new).await {
        tracing::error!("cannot open an official's session: {e}");
        return unavailable(portal, chrome, "the store cannot keep the session").await;
    }
    log.record(
        EventKind::SignedIn,
        Some(&new.subject),
        "an official signed in to the office",
    )
    .await;
    let entry = OfficialAccess {
        at: now_engine,
        official: declared.id.clone(),
        action: "sign-in".into(),
        case_id: None,
        detail: "signed in".into(),
    };
    if let Err(e) = portal.store.record_official_access(&entry).await {
        tracing::error!("the access log did not take an official's sign-in: {e}");
    }
    if let Err(e) = portal
        .store
        .forget_office_sessions(now - session::KEEP_AFTER_EXPIRY)
        .await
    {
        tracing::warn!("old officials' sessions could not be forgotten this time: {e}");
    }
    see_other(
        next,
        &[
            session::set_cookie(
                settings,
                cookie_name(settings),
                &token,
                session::LIFETIME.num_seconds(),
            ),
            session::set_cookie(settings, session::sign_in_cookie_name(settings), "", 0),
        ],
    )
}

/// `POST /office/sign-out` (`csrf`): ends every session of the official, on all devices.
pub async fn sign_out(
    State(portal): State<PortalState>,
    official: Option<Official>,
    body: Bytes,
) -> Response {
    let clear = session::set_cookie(&portal.settings, cookie_name(&portal.settings), "", 0);
    let chrome = portal
        .current
        .load_full()
        .map(|c| crate::portal::home::chrome(&c))
        .unwrap_or_default();
    let Some(official) = official else {
        let mut page = signed_out_page(&portal, &chrome, 0, true);
        page.headers_mut().append(header::SET_COOKIE, clear);
        return page;
    };
    if let Err(refusal) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refusal;
    }
    let ended = match portal
        .store
        .end_office_sessions_of(&official.id, Utc::now(), SessionEnd::SignedOut)
        .await
    {
        Ok(ended) => ended,
        Err(e) => {
            tracing::error!("cannot end the sessions of an official signing out: {e}");
            return portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &chrome,
                "Не вдалося вийти",
                "Кабінет не зміг завершити ваш сеанс. Спробуйте ще раз за кілька хвилин.",
            );
        }
    };
    official.security_event(
        EventKind::SignedOut,
        &format!("an official signed out of the office; {ended} session(s) ended"),
    );
    if let Err(e) =
        super::access_log::record(&portal.store, &official, "sign-out", None, "signed out").await
    {
        tracing::error!("the access log did not take an official's sign-out: {e}");
    }
    let mut page = signed_out_page(&portal, &chrome, ended, true);
    page.headers_mut().append(header::SET_COOKIE, clear);
    page
}
