//! Withdrawing an application (`/cabinet/applications/{id}/withdraw`): a confirm page, then a
//! POST with the session's CSRF token and the state the applicant saw, which fires the
//! workflow's withdraw transition as the applicant; a repeated POST withdraws once.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::status::withdrawal;
use super::{owned, service_title};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::portal::pages::Chrome;
use crate::workflow::engine::{Actor, EngineError, Fire};

/// `GET /cabinet/applications/{id}/withdraw`: what withdrawing means, and the button.
pub async fn confirm(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    let Some((case, runnable)) = &owned.case else {
        return cannot(&portal, &chrome, &id);
    };
    let Some(t) = withdrawal(&runnable.definition.workflow, &case.state) else {
        return cannot(&portal, &chrome, &id);
    };
    portal.pages.render(
        StatusCode::OK,
        "cabinet/withdraw.html",
        &chrome,
        json!({
            "id": owned.application.id,
            "number": owned.application.number,
            "service": service_title(&compiled.spec, &owned.application.e_service),
            "title": t.label(),
            "state": case.state,
        }),
    )
}

/// `POST /cabinet/applications/{id}/withdraw` (`csrf`, `state`).
pub async fn submit(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = citizen.check_csrf(form.get("csrf").map(String::as_str)) {
        return refused;
    }
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    let Some(seen) = form.get("state").filter(|s| !s.is_empty()) else {
        return portal.pages.problem(
            StatusCode::BAD_REQUEST,
            &chrome,
            "Запит неповний",
            "У запиті на відкликання немає стану заяви, який ви бачили. Відкрийте сторінку \
             заяви і скористайтеся кнопкою «Відкликати заяву» ще раз.",
        );
    };
    let Some((case, runnable)) = &owned.case else {
        return cannot(&portal, &chrome, &id);
    };
    // The transition of the state the applicant saw: if the case moved on since, the engine
    // refuses it as stale rather than withdrawing from a state they never saw.
    let Some(t) = withdrawal(&runnable.definition.workflow, seen) else {
        return cannot(&portal, &chrome, &id);
    };
    let applicant = citizen
        .rnokpp
        .clone()
        .unwrap_or_else(|| citizen.owner.clone());
    let key = format!("portal-withdraw:{}:{seen}", case.id);
    let fired = portal
        .engine
        .fire(Fire {
            key: &key,
            case_id: &case.id,
            event: &t.event,
            actor: &Actor::Applicant(applicant),
            on_behalf: None,
            seen_state: seen,
        })
        .await;
    match fired {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/cabinet/applications/{id}"))],
        )
            .into_response(),
        Err(EngineError::Stale { .. }) => portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Стан заяви змінився",
            "Поки ви підтверджували відкликання, заяву вже перевели до іншого стану. Відкрийте \
             сторінку заяви, щоб побачити її новий стан.",
        ),
        Err(
            EngineError::Closed { .. }
            | EngineError::NotAllowed { .. }
            | EngineError::UnknownEvent { .. }
            | EngineError::GuardFailed { .. },
        ) => cannot(&portal, &chrome, &id),
        Err(e) => super::unavailable(&portal, &chrome, &e.to_string()),
    }
}

/// The page of an application that cannot be withdrawn (any more).
fn cannot(portal: &PortalState, chrome: &Chrome, id: &str) -> Response {
    tracing::info!(application = %id, "a withdrawal was asked where the workflow gives none");
    portal.pages.problem(
        StatusCode::CONFLICT,
        chrome,
        "Заяву не можна відкликати",
        "На цьому етапі розгляду заяву вже не можна відкликати. Стан заяви — на її сторінці в \
         кабінеті.",
    )
}
