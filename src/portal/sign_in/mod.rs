//! Signing in and out (PORTAL-2): `/sign-in` sends the browser to the identity provider the
//! spec's `system { sign-in }` declares, `/sign-in/callback` checks what comes back and opens a
//! session, `POST /sign-out` ends every session of the person. Each outcome is a security event.

pub mod relying_party;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};

use super::PortalState;
use super::citizen::Citizen;
use super::home;
use super::pages::Chrome;
use super::security_log::{EventKind, SecurityLog};
use super::session::{self, Identity};
use crate::check::formats::{valid_edrpou, valid_rnokpp};
use crate::spec::model::SignIn;
use crate::store::{NewSession, PendingSignIn, SessionEnd};
use relying_party::{Failure, Verified};

/// `GET /sign-in?next=`: to the identity provider, coming back to `next` (a local path only).
pub async fn start(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    RawQuery(query): RawQuery,
) -> Response {
    let next = local_path(query_value(query.as_deref(), "next").as_deref());
    if citizen.is_some() {
        return see_other(&next, &[]);
    }
    begin(&portal, next, false).await
}

/// To the identity provider, the sign-in under way remembered (a citizen's, or an official's
/// when `office`) to come back to `next`.
pub(crate) async fn begin(portal: &PortalState, next: String, office: bool) -> Response {
    let (chrome, provider) = match provider(portal) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let Some(redirect) = redirect_uri(portal) else {
        return unavailable(portal, &chrome, "the portal's public URL is not known yet").await;
    };
    let started = match portal.sign_in.start(&provider, &redirect).await {
        Ok(started) => started,
        Err(failure) => return provider_failed(portal, &chrome, &failure).await,
    };
    let browser = session::random_token();
    let now = Utc::now();
    let pending = PendingSignIn {
        state: session::digest(&started.state),
        browser: session::digest(&browser),
        nonce: started.nonce,
        pkce_verifier: started.pkce_verifier,
        next,
        expires_at: crate::store::time_text(&(now + session::SIGN_IN_WINDOW)),
        office,
    };
    if let Err(e) = portal.store.begin_sign_in(&pending, now).await {
        tracing::error!("cannot start a sign-in: {e}");
        return unavailable(portal, &chrome, "the store cannot keep the sign-in").await;
    }
    let cookie = session::set_cookie(
        &portal.settings,
        session::sign_in_cookie_name(&portal.settings),
        &browser,
        session::SIGN_IN_WINDOW.num_seconds(),
    );
    see_other(&started.authorize_url, &[cookie])
}

/// `GET /sign-in/callback?code=&state=`: the provider's answer; a session when every check
/// holds, a refusal page and a security event otherwise.
pub async fn callback(
    State(portal): State<PortalState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let log = SecurityLog::new(portal.store.clone());
    let (chrome, provider) = match provider(&portal) {
        Ok(found) => found,
        Err(page) => return *page,
    };
    let query = query.as_deref();
    let refuse = |reason: String| refused(&portal, &chrome, &log, EventKind::SignInFailed, reason);
    if let Some(error) = query_value(query, "error") {
        let error: String = error
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(64)
            .collect();
        log.record(
            EventKind::SignInFailed,
            None,
            &format!("the identity provider answered `{error}`"),
        )
        .await;
        return portal.pages.problem(
            StatusCode::FORBIDDEN,
            &chrome,
            "Вхід не завершено",
            "Вхід скасовано, або сервіс ідентифікації не зміг підтвердити вашу особу. Щоб \
             продовжити, увійдіть ще раз із кнопки «Увійти».",
        );
    }
    // RFC 9207: a provider that names itself in the answer must be the one the spec declares.
    if let Some(iss) = query_value(query, "iss")
        && iss.trim_end_matches('/') != provider.issuer.trim_end_matches('/')
    {
        return refuse("the sign-in callback names another issuer than the spec's".into()).await;
    }
    let (Some(code), Some(state)) = (query_value(query, "code"), query_value(query, "state"))
    else {
        return refuse("the sign-in callback came without a code or state".into()).await;
    };
    let pending = match portal.store.take_sign_in(&session::digest(&state)).await {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return refuse(
                "the sign-in callback's state is unknown or already used (a forged or replayed \
                 callback)"
                    .into(),
            )
            .await;
        }
        Err(e) => {
            tracing::error!("cannot read a sign-in under way: {e}");
            return unavailable(&portal, &chrome, "the store cannot read the sign-in").await;
        }
    };
    let browser = session::read_cookie(&headers, session::sign_in_cookie_name(&portal.settings));
    if !browser.is_some_and(|b| session::same_secret(&session::digest(b), &pending.browser)) {
        return refuse(
            "the sign-in callback came to another browser than the one that started it".into(),
        )
        .await;
    }
    if crate::store::parse_time(&pending.expires_at).is_none_or(|t| t < Utc::now()) {
        return refuse("the sign-in took longer than its window".into()).await;
    }
    let Some(redirect) = redirect_uri(&portal) else {
        return unavailable(&portal, &chrome, "the portal's public URL is not known yet").await;
    };
    let verified = match portal
        .sign_in
        .finish(
            &provider,
            &redirect,
            &code,
            &pending.pkce_verifier,
            &pending.nonce,
        )
        .await
    {
        Ok(verified) => verified,
        Err(failure @ (Failure::Provider(_) | Failure::Secret(_))) => {
            return provider_failed(&portal, &chrome, &failure).await;
        }
        Err(Failure::Code(reason)) => return refuse(reason).await,
        Err(Failure::Token(reason)) => {
            return refused(&portal, &chrome, &log, EventKind::RefusedToken, reason).await;
        }
    };
    let identity = match identity(&provider, &verified) {
        Ok(identity) => identity,
        Err(reason) => {
            log.record(EventKind::SignInFailed, Some(&verified.subject), &reason)
                .await;
            return portal.pages.problem(
                StatusCode::FORBIDDEN,
                &chrome,
                "Вхід не вдався",
                "Сервіс ідентифікації передав дані, яких портал не може прийняти. Зверніться до \
                 адміністратора порталу.",
            );
        }
    };
    if pending.office {
        return super::office::sign_in::open_session(
            &portal,
            &chrome,
            &headers,
            verified.subject,
            identity,
            &pending.next,
        )
        .await;
    }
    open_session(
        &portal,
        &chrome,
        &log,
        &headers,
        verified.subject,
        identity,
        &pending.next,
    )
    .await
}

/// `POST /sign-out`: ends every session of the signed-in person, on all their devices.
pub async fn sign_out(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    body: Bytes,
) -> Response {
    let clear = session::set_cookie(
        &portal.settings,
        session::cookie_name(&portal.settings),
        "",
        0,
    );
    let chrome = portal
        .current
        .load_full()
        .map(|c| home::chrome(&c))
        .unwrap_or_default();
    let Some(citizen) = citizen else {
        let mut page = signed_out_page(&portal, &chrome, 0, false);
        page.headers_mut().append(header::SET_COOKIE, clear);
        return page;
    };
    if let Err(refusal) = citizen.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refusal;
    }
    let ended = match portal
        .store
        .end_sessions_of(&citizen.owner, Utc::now(), SessionEnd::SignedOut)
        .await
    {
        Ok(ended) => ended,
        Err(e) => {
            tracing::error!("cannot end the sessions of a person signing out: {e}");
            return portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &chrome,
                "Не вдалося вийти",
                "Портал не зміг завершити ваш сеанс. Спробуйте ще раз за кілька хвилин.",
            );
        }
    };
    SecurityLog::new(portal.store.clone())
        .record(
            EventKind::SignedOut,
            Some(&citizen.subject),
            &format!("signed out; {ended} session(s) ended on every device"),
        )
        .await;
    let mut page = signed_out_page(&portal, &chrome, ended, false);
    page.headers_mut().append(header::SET_COOKIE, clear);
    page
}

/// "You signed out": `ended` sessions ended, of a citizen or (`office`) an official.
pub(crate) fn signed_out_page(
    portal: &PortalState,
    chrome: &Chrome,
    ended: u64,
    office: bool,
) -> Response {
    portal.pages.render(
        StatusCode::OK,
        "signed-out.html",
        chrome,
        json!({ "ended": ended, "office": office }),
    )
}

/// The sign-in block of the applied revision, or the page that says why there is none.
pub(crate) fn provider(portal: &PortalState) -> Result<(Chrome, SignIn), Box<Response>> {
    let Some(compiled) = portal.current.load_full() else {
        return Err(Box::new(portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &Chrome::default(),
            "Портал ще запускається",
            "Вхід стане доступним за хвилину. Оновіть сторінку згодом.",
        )));
    };
    let chrome = home::chrome(&compiled);
    match compiled
        .spec
        .systems
        .first()
        .and_then(|s| s.sign_in.clone())
    {
        Some(provider) => Ok((chrome, provider)),
        None => Err(Box::new(portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &chrome,
            "Вхід не налаштовано",
            "Цей портал ще не підключено до сервісу ідентифікації, тож увійти зараз неможливо. \
             Послуги можна переглядати без входу.",
        ))),
    }
}

pub(crate) fn redirect_uri(portal: &PortalState) -> Option<String> {
    portal
        .settings
        .public_url
        .get()
        .map(|base| format!("{}/sign-in/callback", base.trim_end_matches('/')))
}

/// The person as the session keeps them, from the claims the spec names.
fn identity(provider: &SignIn, verified: &Verified) -> Result<Identity, String> {
    let claim = |name: &str| {
        verified
            .claims
            .get(name)
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    let names = &provider.claims;
    let rnokpp = claim(&names.rnokpp);
    if rnokpp.as_deref().is_some_and(|r| !valid_rnokpp(r)) {
        return Err(format!(
            "the ID token's `{}` claim is not a valid RNOKPP",
            names.rnokpp
        ));
    }
    let edrpou = claim(&names.edrpou);
    if edrpou.as_deref().is_some_and(|r| !valid_edrpou(r)) {
        return Err(format!(
            "the ID token's `{}` claim is not a valid EDRPOU code",
            names.edrpou
        ));
    }
    Ok(Identity {
        rnokpp,
        edrpou,
        family_name: claim(&names.family_name),
        given_name: claim(&names.given_name),
        middle_name: claim(&names.middle_name),
        email: claim(&names.email),
    })
}

async fn open_session(
    portal: &PortalState,
    chrome: &Chrome,
    log: &SecurityLog,
    headers: &HeaderMap,
    subject: String,
    identity: Identity,
    next: &str,
) -> Response {
    let now = Utc::now();
    // A session this browser had before is ended: a sign-in always gets a new token.
    if let Some(old) = session::read_cookie(headers, session::cookie_name(&portal.settings)) {
        let _ = portal
            .store
            .end_session(&session::digest(old), now, SessionEnd::SignedOut)
            .await;
    }
    let token = session::random_token();
    let new = NewSession {
        id: session::digest(&token),
        owner: Citizen::owner_of(identity.rnokpp.as_deref(), &subject),
        subject,
        claims: serde_json::to_string(&identity).unwrap_or_else(|_| "{}".into()),
        csrf: session::random_token(),
        created_at: now,
        expires_at: now + session::LIFETIME,
    };
    if let Err(e) = portal.store.open_session(&new).await {
        tracing::error!("cannot open a portal session: {e}");
        return unavailable(portal, chrome, "the store cannot keep the session").await;
    }
    log.record(EventKind::SignedIn, Some(&new.subject), "signed in")
        .await;
    if let Err(e) = portal
        .store
        .forget_sessions(now - session::KEEP_AFTER_EXPIRY)
        .await
    {
        tracing::warn!("old portal sessions could not be forgotten this time: {e}");
    }
    let settings = &portal.settings;
    see_other(
        next,
        &[
            session::set_cookie(
                settings,
                session::cookie_name(settings),
                &token,
                session::LIFETIME.num_seconds(),
            ),
            session::set_cookie(settings, session::sign_in_cookie_name(settings), "", 0),
        ],
    )
}

async fn refused(
    portal: &PortalState,
    chrome: &Chrome,
    log: &SecurityLog,
    kind: EventKind,
    reason: String,
) -> Response {
    log.record(kind, None, &reason).await;
    portal.pages.problem(
        StatusCode::FORBIDDEN,
        chrome,
        "Вхід не вдався",
        "Портал не зміг підтвердити вашу особу: відповідь сервісу ідентифікації не пройшла \
         перевірку або застаріла. Почніть вхід ще раз із кнопки «Увійти».",
    )
}

async fn provider_failed(portal: &PortalState, chrome: &Chrome, failure: &Failure) -> Response {
    tracing::error!(
        "sign-in cannot reach the identity provider: {}; citizens cannot sign in until it is fixed",
        failure.reason()
    );
    SecurityLog::new(portal.store.clone())
        .record(
            EventKind::SignInFailed,
            None,
            "the identity provider could not be used",
        )
        .await;
    portal.pages.problem(
        StatusCode::BAD_GATEWAY,
        chrome,
        "Сервіс ідентифікації недоступний",
        "Портал не зміг зв'язатися із сервісом ідентифікації. Спробуйте увійти за кілька хвилин.",
    )
}

pub(crate) async fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("sign-in is unavailable: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Вхід тимчасово недоступний",
        "Спробуйте увійти за кілька хвилин.",
    )
}

pub(crate) fn see_other(location: &str, cookies: &[HeaderValue]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, location);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie.clone());
    }
    response
}

/// `next` when it is a path on this site, else `/`: never another origin (no open redirect).
pub fn local_path(next: Option<&str>) -> String {
    let Some(next) = next else {
        return "/".into();
    };
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.is_ascii()
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
        && next.len() <= 2048
        && url::Url::parse("http://portal.invalid")
            .and_then(|base| base.join(next))
            .is_ok_and(|u| u.host_str() == Some("portal.invalid"));
    if local { next.into() } else { "/".into() }
}

pub(crate) fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A field of an `application/x-www-form-urlencoded` body.
pub fn form_value(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_keeps_local_paths_only() {
        assert_eq!(local_path(Some("/cabinet?x=1")), "/cabinet?x=1");
        assert_eq!(local_path(Some("/drafts/5/pages/2")), "/drafts/5/pages/2");
        for hostile in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example",
            "\\\\evil.example",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x=y",
            "evil.example",
            "/послуги",
            "",
        ] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
