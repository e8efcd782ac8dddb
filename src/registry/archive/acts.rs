//! The archive's pages and acts of destruction: `/registry/archive` (acts, holds, cards to
//! transfer), the expert review of cards whose period ran, an act drawn up over selected cards,
//! and its approval by another official, which alone destroys.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::{Value, json};

use super::retention::{self, Fate};
use super::{no_card, refused, require_archive_or_control, see_other, today, unavailable};
use crate::portal::PortalState;
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::portal::sign_in::form_value;
use crate::spec::model::Permission;
use crate::store::{ActRefused, ActRow, Approval, CardRow, time_text};

/// The longest reason of an act.
const MAX_REASON: usize = 1000;
/// How many cards the overview offers for transfer at once.
const TRANSFER_PAGE: i64 = 200;

/// `GET /registry/archive`.
pub async fn overview(State(portal): State<PortalState>, official: Official) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refusal) = require_archive_or_control(&portal, &compiled, &official).await {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let participant = official.participant();
    let loaded = async {
        let acts = portal.store.acts(participant).await?;
        let holds = portal.store.holds(participant).await?;
        let transfer = portal
            .store
            .cards_to_transfer(participant, TRANSFER_PAGE)
            .await?;
        Ok::<_, crate::store::StoreError>((acts, holds, transfer))
    }
    .await;
    let (acts, holds, transfer) = match loaded {
        Ok(found) => found,
        Err(e) => return unavailable(&portal, &chrome, "read its overview", &e),
    };
    if let Err(e) = access_log::record(&portal.store, &official, "archive", None, "overview").await
    {
        return unavailable(&portal, &chrome, "record a view", &e);
    }
    let in_force = holds.iter().filter(|h| h.released_at.is_none()).count();
    portal.pages.render(
        StatusCode::OK,
        "registry/archive.html",
        &chrome,
        json!({
            "acts": acts,
            "holds_in_force": in_force,
            "transfer": transfer.iter().map(card_line).collect::<Vec<_>>(),
            "may_archive": official.may(&compiled, Permission::DocumentsArchive),
        }),
    )
}

/// `GET /registry/archive/review`: the cards whose period ran, by case; those a hold covers
/// apart, with the hold's name.
pub async fn review(State(portal): State<PortalState>, official: Official) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refusal) = official
        .require(&portal, &compiled, Permission::DocumentsArchive)
        .await
    {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let today = today(&portal, &compiled);
    let participant = official.participant();
    let in_acts = match portal.store.cards_in_open_acts(participant).await {
        Ok(ids) => ids,
        Err(e) => return unavailable(&portal, &chrome, "read the open acts", &e),
    };
    let mut cases = Vec::new();
    let mut held = Vec::new();
    for (year, case) in retention::expired_cases(&compiled.spec, participant, today) {
        let cards = match portal
            .store
            .closed_cards_of_case(participant, year, &case.code)
            .await
        {
            Ok(cards) => cards,
            Err(e) => return unavailable(&portal, &chrome, "read the cards of a case", &e),
        };
        let mut free = Vec::new();
        for card in cards.iter().filter(|c| !in_acts.contains(&c.id)) {
            let holds = match portal.store.holds_on(card).await {
                Ok(holds) => holds,
                Err(e) => return unavailable(&portal, &chrome, "read the legal holds", &e),
            };
            if holds.is_empty() {
                free.push(card_line(card));
            } else {
                let mut line = card_line(card);
                line["holds"] = json!(holds.iter().map(|h| h.name.clone()).collect::<Vec<_>>());
                held.push(line);
            }
        }
        if !free.is_empty() {
            let since = retention::period_end(year, &case.retention)
                .ok()
                .flatten()
                .map(|d| d.to_string());
            cases.push(json!({
                "year": year, "code": case.code, "title": case.title,
                "retention": case.retention, "since": since, "cards": free,
            }));
        }
    }
    if let Err(e) = access_log::record(&portal.store, &official, "archive-review", None, "").await {
        return unavailable(&portal, &chrome, "record a view", &e);
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/archive_review.html",
        &chrome,
        json!({"cases": cases, "held": held, "today": today.to_string()}),
    )
}

/// `POST /registry/archive/acts`: an act of destruction over the cards ticked, with a reason.
pub async fn draw(State(portal): State<PortalState>, official: Official, body: Bytes) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    if let Err(refusal) = official
        .require(&portal, &compiled, Permission::DocumentsArchive)
        .await
    {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let bad = |message: &str| {
        refused(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            "Акт не складено",
            message,
        )
    };
    let reason = form_value(&body, "reason").unwrap_or_default();
    let reason = reason.trim();
    if reason.is_empty() {
        return bad(
            "Напишіть підставу знищення (наприклад, «закінчився строк зберігання, документи втратили практичне значення»).",
        );
    }
    if reason.chars().count() > MAX_REASON {
        return bad(&format!(
            "Підстава має бути не довшою за {MAX_REASON} символів."
        ));
    }
    let mut ids = super::form_values(&body, "card");
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return bad("Позначте в переліку хоча б одну картку, строк зберігання якої минув.");
    }
    let today = today(&portal, &compiled);
    let mut cards = Vec::new();
    for id in &ids {
        let card = match portal.store.card(id).await {
            Ok(Some(card)) if card.participant == official.participant() => card,
            Ok(_) => return no_card(&portal, &chrome),
            Err(e) => return unavailable(&portal, &chrome, "read a card", &e),
        };
        let name = card_name(&card);
        match retention::fate(&compiled.spec, &card, today) {
            Fate::Expired { .. } => {}
            Fate::Kept { until } => {
                return bad(&format!(
                    "Строк зберігання картки {name} ще не минув: її можна буде включити до акта з {until}."
                ));
            }
            Fate::Permanent => {
                return bad(&format!(
                    "Картка {name} належить до справи постійного зберігання: її не знищують."
                ));
            }
            Fate::Unknown(why) => {
                tracing::warn!(card = %card.id, "a card's retention period is unknown: {why}");
                return bad(&format!(
                    "Строк зберігання картки {name} невідомий: її справи немає в номенклатурі справ за її рік."
                ));
            }
        }
        match portal.store.holds_on(&card).await {
            Ok(holds) if holds.is_empty() => {}
            Ok(holds) => {
                return bad(&format!(
                    "Картку {name} утримує «{}»: поки утримання не знято, її не знищують.",
                    holds[0].name
                ));
            }
            Err(e) => return unavailable(&portal, &chrome, "read the legal holds", &e),
        }
        let case = card.case_code.clone().unwrap_or_default();
        cards.push((card.id, case));
    }
    let now = portal.engine.clock().now();
    let act = ActRow {
        id: super::new_id("act"),
        participant: official.participant().to_string(),
        number: format!("0/{}", today.format("%Y")),
        reason: reason.to_string(),
        drawn_by: official.id.clone(),
        drawn_at: time_text(&now),
        approved_by: None,
        approved_at: None,
    };
    let act = match portal.store.draw_act(&act, &cards).await {
        Ok(Ok(act)) => act,
        Ok(Err(ActRefused::NotClosed(id))) => {
            return bad(&format!(
                "Картка {id} вже не виконана і не списана до справи: її не можна включити до акта."
            ));
        }
        Ok(Err(ActRefused::InAnotherAct(id))) => {
            return bad(&format!(
                "Картка {id} уже є в іншому акті, ще не затвердженому, або вже знищена."
            ));
        }
        Err(e) => return unavailable(&portal, &chrome, "write an act", &e),
    };
    let detail = format!("act {} over {} cards", act.number, cards.len());
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "archive-act",
        Some(&act.id),
        &detail,
    )
    .await
    {
        tracing::error!("the act {} is not in the access log: {e}", act.id);
    }
    tracing::info!(act = %act.id, cards = cards.len(), "act of destruction drawn up by {}", official.id);
    see_other(&format!("/registry/archive/acts/{}", act.id))
}

/// `GET /registry/archive/acts/{id}`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refusal) = require_archive_or_control(&portal, &compiled, &official).await {
        return refusal;
    }
    let chrome = official.chrome(&compiled);
    let act = match portal.store.act(&id).await {
        Ok(Some(act)) if act.participant == official.participant() => act,
        Ok(_) => {
            return refused(
                &portal,
                &chrome,
                StatusCode::NOT_FOUND,
                "Акт не знайдено",
                "Такого акта немає або він належить іншій установі.",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, "read an act", &e),
    };
    let lines = match portal.store.act_cards(&id).await {
        Ok(lines) => lines,
        Err(e) => return unavailable(&portal, &chrome, "read an act's cards", &e),
    };
    let mut by_case: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    for line in &lines {
        let entry = by_case.entry(&line.case_code).or_default();
        entry.0 += 1;
        match line.outcome.as_deref() {
            Some("destroyed") => entry.1 += 1,
            Some("held") => entry.2 += 1,
            _ => {}
        }
    }
    let cases: Vec<Value> = by_case
        .iter()
        .map(|(code, (n, destroyed, held))| {
            json!({"code": code, "count": n, "destroyed": destroyed, "held": held})
        })
        .collect();
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "archive-act-view",
        Some(&act.id),
        "",
    )
    .await
    {
        return unavailable(&portal, &chrome, "record a view", &e);
    }
    let may_approve = act.approved_at.is_none() && act.drawn_by != official.id;
    portal.pages.render(
        StatusCode::OK,
        "registry/archive_act.html",
        &chrome,
        json!({"act": act, "lines": lines, "cases": cases, "may_approve": may_approve}),
    )
}

/// `POST /registry/archive/acts/{id}/approve`: another official with the archive's or
/// control's permission approves the act, and its cards are destroyed (those a hold covers now
/// are kept, and the act says so).
pub async fn approve(
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
    match portal.store.act(&id).await {
        Ok(Some(act)) if act.participant == official.participant() => {}
        Ok(_) => {
            return refused(
                &portal,
                &chrome,
                StatusCode::NOT_FOUND,
                "Акт не знайдено",
                "Такого акта немає або він належить іншій установі.",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, "read an act", &e),
    }
    let now = portal.engine.clock().now();
    match portal.store.approve_act(&id, &official.id, now).await {
        Ok(Approval::Approved(lines)) => {
            let destroyed = lines
                .iter()
                .filter(|l| l.outcome.as_deref() == Some("destroyed"))
                .count();
            let held = lines.len() - destroyed;
            let detail = format!("destroyed {destroyed}, held {held}");
            if let Err(e) = access_log::record(
                &portal.store,
                &official,
                "archive-approve",
                Some(&id),
                &detail,
            )
            .await
            {
                tracing::error!("the approval of act {id} is not in the access log: {e}");
            }
            tracing::info!(act = %id, destroyed, held, "act of destruction approved by {}", official.id);
            see_other(&format!("/registry/archive/acts/{id}"))
        }
        Ok(Approval::SameOfficial) => refused(
            &portal,
            &chrome,
            StatusCode::FORBIDDEN,
            "Акт має затвердити інша особа",
            "Ви склали цей акт, тому не можете його затвердити: його затверджує інша посадова \
             особа з правом контролю або архіву.",
        ),
        Ok(Approval::AlreadyApproved) => refused(
            &portal,
            &chrome,
            StatusCode::CONFLICT,
            "Акт уже затверджено",
            "Цей акт затверджено раніше; повторне затвердження нічого не змінює.",
        ),
        Ok(Approval::NoSuchAct) => refused(
            &portal,
            &chrome,
            StatusCode::NOT_FOUND,
            "Акт не знайдено",
            "Такого акта немає.",
        ),
        Err(e) => unavailable(&portal, &chrome, "carry out an act", &e),
    }
}

/// A card as the archive's lists show it.
fn card_line(card: &CardRow) -> Value {
    json!({
        "id": card.id, "number": card.reg_number, "date": card.reg_date,
        "summary": card.summary, "status": card.status, "case": card.case_code,
        "journal": card.journal,
    })
}

/// How a message names a card: its number, else its id.
fn card_name(card: &CardRow) -> String {
    card.reg_number
        .as_deref()
        .map_or_else(|| card.id.clone(), |n| format!("№ {n}"))
}
