//! One-click unsubscribe (RFC 8058) from a notice's link, `/unsubscribe/{token}`: `GET` shows
//! what the link ends and a button, `POST` ends it without sign-in or CSRF token (the random
//! token is the secret, stored only as its SHA-256). An unknown token changes nothing: 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::json;

use super::PortalState;
use super::session::digest;
use crate::compile::Compiled;
use crate::store::{ANY_E_SERVICE, Topic, Unsubscribed};

/// `GET /unsubscribe/{token}`.
pub async fn confirm(State(portal): State<PortalState>, Path(token): Path<String>) -> Response {
    answer(&portal, &token, false).await
}

/// `POST /unsubscribe/{token}` (a mail client's `List-Unsubscribe=One-Click`, or the button).
pub async fn unsubscribe(State(portal): State<PortalState>, Path(token): Path<String>) -> Response {
    answer(&portal, &token, true).await
}

async fn answer(portal: &PortalState, token: &str, end: bool) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::home::starting(portal);
    };
    let chrome = super::home::chrome(&compiled);
    let well_formed = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
    let found = if !well_formed {
        Ok(None)
    } else if end {
        portal.store.unsubscribe(&digest(token), Utc::now()).await
    } else {
        portal.store.unsubscribe_token(&digest(token)).await
    };
    let found = match found {
        Ok(Some(found)) => found,
        Ok(None) => {
            return portal.pages.problem(
                StatusCode::NOT_FOUND,
                &chrome,
                "Посилання недійсне",
                "Такого посилання для відписки немає: можливо, його скопійовано не повністю. \
                 Керувати підписками можна в кабінеті, на сторінці «Розсилка сповіщень».",
            );
        }
        Err(e) => {
            tracing::error!("cannot answer an unsubscribe link: {e}");
            return portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &chrome,
                "Сторінка тимчасово недоступна",
                "Не вдалося прочитати ваші підписки. Спробуйте ще раз за кілька хвилин.",
            );
        }
    };
    if end && !found.already {
        tracing::info!(
            subscription = found.subscription,
            "subscription {} was ended by its one-click unsubscribe link",
            found.subscription
        );
    }
    let done = end || found.already;
    portal.pages.render(
        StatusCode::OK,
        "unsubscribe.html",
        &chrome,
        json!({
            "title": if done { "Ви відписалися" } else { "Відписатися від сповіщень" },
            "done": done,
            "topic": topic_words(&compiled, &found),
            "token": token,
        }),
    )
}

/// What a subscription is about, as the sentence «листи про …» ends.
pub fn topic_words(compiled: &Compiled, subscription: &Unsubscribed) -> String {
    match subscription.topic {
        Topic::EService if subscription.target == ANY_E_SERVICE => {
            "зміни в порядку надання будь-якої послуги".into()
        }
        Topic::EService => format!(
            "зміни в порядку надання послуги «{}»",
            super::cabinet::service_title(&compiled.spec, &subscription.target)
        ),
        Topic::Outages => {
            let name = compiled
                .spec
                .participants
                .iter()
                .find(|p| p.id == subscription.target)
                .map_or(subscription.target.as_str(), |p| p.name.as_str());
            format!("перерви в роботі реєстрів: {name}")
        }
    }
}
