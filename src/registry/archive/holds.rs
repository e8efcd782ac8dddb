//! Legal holds: named (name, reason, who, when), covering a case code, a journal or listed
//! cards of the official's participant; while in force, no act destroys what they cover.
//! Released with who, when and why; nothing of a hold is deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::{refused, require_archive_or_control, see_other, unavailable};
use crate::portal::PortalState;
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::portal::sign_in::form_value;
use crate::store::{HoldRow, time_text};

/// The longest name and reason of a hold.
const MAX_NAME: usize = 200;
const MAX_REASON: usize = 1000;

/// `GET /registry/archive/holds`.
pub async fn list(State(portal): State<PortalState>, official: Official) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refusal) = require_archive_or_control(&portal, &compiled, &official).await {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let holds = match portal.store.holds(official.participant()).await {
        Ok(holds) => holds,
        Err(e) => return unavailable(&portal, &chrome, "read the legal holds", &e),
    };
    let mut shown = Vec::new();
    for hold in &holds {
        let cards = match portal.store.hold_cards(&hold.id).await {
            Ok(cards) => cards,
            Err(e) => return unavailable(&portal, &chrome, "read a hold's cards", &e),
        };
        shown.push(json!({"hold": hold, "cards": cards}));
    }
    if let Err(e) = access_log::record(&portal.store, &official, "archive-holds", None, "").await {
        return unavailable(&portal, &chrome, "record a view", &e);
    }
    let journals: Vec<_> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == official.participant())
        .map(|j| json!({"id": j.id, "title": j.title}))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/archive_holds.html",
        &chrome,
        json!({"holds": shown, "journals": journals}),
    )
}

/// `POST /registry/archive/holds`: `name`, `reason`, `scope` (`case`, `journal`, `cards`) and
/// `case`, `journal` or `cards` (card ids, separated by spaces or lines).
pub async fn place(State(portal): State<PortalState>, official: Official, body: Bytes) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    if let Err(refusal) = require_archive_or_control(&portal, &compiled, &official).await {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let bad = |message: &str| {
        refused(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            "Утримання не встановлено",
            message,
        )
    };
    let field = |name: &str| {
        form_value(&body, name)
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let (name, reason, scope) = (field("name"), field("reason"), field("scope"));
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return bad(&format!(
            "Дайте утриманню назву до {MAX_NAME} символів, наприклад «Судова справа № 540/123/26»."
        ));
    }
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return bad(&format!(
            "Напишіть підставу утримання (до {MAX_REASON} символів): запит суду, перевірка, розслідування."
        ));
    }
    let participant = official.participant().to_string();
    let (mut case_code, mut journal, mut cards) = (None, None, Vec::new());
    match scope.as_str() {
        "case" => {
            let code = field("case");
            let known = compiled
                .spec
                .case_indexes
                .iter()
                .filter(|ci| ci.participant == participant)
                .any(|ci| ci.cases.iter().any(|c| c.code == code));
            if !known {
                return bad(&format!(
                    "Справи «{code}» немає в номенклатурі справ вашої установи: вкажіть індекс справи, наприклад 01-25."
                ));
            }
            case_code = Some(code);
        }
        "journal" => {
            let id = field("journal");
            if !compiled
                .spec
                .journals
                .iter()
                .any(|j| j.id == id && j.participant == participant)
            {
                return bad("Виберіть один із журналів вашої установи.");
            }
            journal = Some(id);
        }
        "cards" => {
            let listed = field("cards");
            cards = listed.split_whitespace().map(str::to_string).collect();
            cards.sort();
            cards.dedup();
            if cards.is_empty() {
                return bad("Перелічіть ідентифікатори карток (card-…), кожен з нового рядка.");
            }
            for id in &cards {
                match portal.store.card(id).await {
                    Ok(Some(card)) if card.participant == participant => {}
                    Ok(_) => {
                        return bad(&format!("Картки «{id}» немає серед карток вашої установи."));
                    }
                    Err(e) => return unavailable(&portal, &chrome, "read a card", &e),
                }
            }
        }
        _ => return bad("Виберіть, що утримується: справа, журнал чи окремі картки."),
    }
    let hold = HoldRow {
        id: super::new_id("hold"),
        participant,
        name,
        reason,
        scope,
        case_code,
        journal,
        created_by: official.id.clone(),
        created_at: time_text(&portal.engine.clock().now()),
        released_by: None,
        released_at: None,
        release_reason: None,
    };
    if let Err(e) = portal.store.place_hold(&hold, &cards).await {
        return unavailable(&portal, &chrome, "place a legal hold", &e);
    }
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "archive-hold",
        Some(&hold.id),
        &hold.scope,
    )
    .await
    {
        tracing::error!("the legal hold {} is not in the access log: {e}", hold.id);
    }
    tracing::info!(hold = %hold.id, scope = %hold.scope, "legal hold placed by {}", official.id);
    see_other("/registry/archive/holds")
}

/// `POST /registry/archive/holds/{id}/release`: with `reason`.
pub async fn release(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    if let Err(refusal) = require_archive_or_control(&portal, &compiled, &official).await {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let reason = form_value(&body, "reason").unwrap_or_default();
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return refused(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            "Утримання не знято",
            &format!("Напишіть, чому утримання знято (до {MAX_REASON} символів)."),
        );
    }
    let now = portal.engine.clock().now();
    match portal
        .store
        .release_hold(&id, official.participant(), &official.id, reason, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                &portal,
                &chrome,
                StatusCode::NOT_FOUND,
                "Утримання не знайдено",
                "Такого чинного утримання у вашій установі немає: можливо, його вже знято.",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, "release a legal hold", &e),
    }
    if let Err(e) =
        access_log::record(&portal.store, &official, "archive-release", Some(&id), "").await
    {
        tracing::error!("the release of hold {id} is not in the access log: {e}");
    }
    tracing::info!(hold = %id, "legal hold released by {}", official.id);
    see_other("/registry/archive/holds")
}
