//! Control of execution (КМУ №55 п.171–175): a change of deadline with its reason by the
//! control service or the resolution's author (the executors' timers moved with it), removal
//! from control with who and why, "до справи" (closed without a task), and the control list.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::HashMap;

use super::deadline::{end_of, parse_date};
use super::write::{engine_refusal, stale};
use super::{
    MAX_TEXT, Opened, Refusal, begin, field, holds, official_of, open_card, participant_of,
};
use crate::portal::PortalState;
use crate::portal::forms::{posted_csrf, see_other};
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::unavailable;
use crate::spec::model::Permission;
use crate::store::{CardChange, CardRow, Tx, time_text};
use crate::workflow::calendar::Calendar;
use crate::workflow::requests::Actor;

/// Who acts, and for whom: `None` in their own right, `Some(principal)` as a deputy with
/// authority to decide for one who may. A refusal when neither may.
fn acting(
    opened: &Opened,
    official: &Official,
    may: impl Fn(&str) -> bool,
    why: &str,
) -> Result<Option<String>, Refusal> {
    if may(&official.id) {
        return Ok(None);
    }
    opened
        .reader
        .delegations
        .iter()
        .filter(|d| d.decide == 1)
        .find(|d| may(&d.principal))
        .map(|d| Some(d.principal.clone()))
        .ok_or_else(|| Refusal::new(StatusCode::FORBIDDEN, why))
}

/// Whether official `id` holds `permission` for the card's participant.
fn controls(opened: &Opened, id: &str, permission: Permission) -> bool {
    official_of(&opened.compiled, id).is_some_and(|o| {
        participant_of(&o.unit) == opened.card.participant && holds(&opened.compiled, o, permission)
    })
}

fn calendar(opened: &Opened) -> Calendar {
    Calendar::from_spec(
        &opened
            .compiled
            .spec
            .system()
            .map(|s| s.calendar.clone())
            .unwrap_or_default(),
    )
}

/// The card taken in `tx`, unchanged since the official saw it at `version`.
async fn take_card(
    portal: &PortalState,
    tx: &mut Tx,
    card: &CardRow,
    version: Option<i64>,
) -> Result<CardRow, Refusal> {
    let before = portal
        .store
        .card_in(tx, &card.id)
        .await?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Документа немає."))?;
    if version.is_some_and(|v| v != before.version) || before.version != card.version {
        return Err(stale());
    }
    if before.archived_at.is_some() || matches!(before.status.as_str(), "archived" | "destroyed") {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "Документ передано до архіву: змінювати його може лише архів.",
        ));
    }
    Ok(before)
}

/// Writes the card's change in `tx`; a refusal when another writer moved it first.
#[allow(clippy::too_many_arguments)]
async fn change(
    portal: &PortalState,
    tx: &mut Tx,
    before: &CardRow,
    mut after: CardRow,
    official: &Official,
    on_behalf: Option<&str>,
    (kind, note): (&str, Value),
    at: DateTime<Utc>,
) -> Result<(), Refusal> {
    after.version = before.version + 1;
    after.updated_at = time_text(&at);
    let written = portal
        .store
        .write_card(
            tx,
            &CardChange {
                before: Some(before),
                after: &after,
                actor: &official.actor().label(),
                on_behalf,
                kind,
                note,
                at,
            },
        )
        .await?;
    if written { Ok(()) } else { Err(stale()) }
}

/// Changes the card's deadline to `new` for `reason` (п.172): the control service or the author
/// of one of its resolutions (or their deputy); the open work of the card moves with it.
pub async fn change_deadline(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    (new, reason, version): (Option<&str>, Option<&str>, Option<i64>),
) -> Result<(), Refusal> {
    let card = &opened.card;
    let resolutions = portal.store.resolutions_of(&card.id).await?;
    let on_behalf = acting(
        opened,
        official,
        |who| {
            controls(opened, who, Permission::DocumentsControl)
                || resolutions.iter().any(|r| r.author == who)
        },
        "Змінити строк виконання може служба контролю (documents-control) або автор резолюції.",
    )?;
    let reason = reason
        .filter(|r| r.chars().count() <= MAX_TEXT)
        .ok_or_else(|| Refusal::invalid("Зміна строку потребує підстави: напишіть її (п.172)."))?;
    let new = new
        .and_then(parse_date)
        .ok_or_else(|| Refusal::invalid("Новий строк має бути датою у вигляді РРРР-ММ-ДД."))?;
    if card.control != "on" || card.status != "registered" {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "Документ не перебуває на контролі: строк його виконання не змінюється.",
        ));
    }
    if card
        .reg_date
        .as_deref()
        .and_then(parse_date)
        .is_some_and(|r| new < r)
    {
        return Err(Refusal::invalid(format!(
            "Строк {new} раніший за дату реєстрації документа."
        )));
    }
    let calendar = calendar(opened);
    let at = official.now();
    let behalf = on_behalf.as_ref().map(|p| format!("official:{p}"));
    let actor = official.actor();
    let mut tx = portal.store.begin().await?;
    let before = take_card(portal, &mut tx, card, version).await?;
    let old = before.deadline.clone();
    let mut after = before.clone();
    after.deadline = Some(new.to_string());
    if after
        .interim_deadline
        .as_deref()
        .and_then(parse_date)
        .is_some_and(|d| d > new)
    {
        after.interim_deadline = None;
    }
    change(
        portal,
        &mut tx,
        &before,
        after,
        official,
        behalf.as_deref(),
        (
            "deadline-changed",
            json!({"reason": reason, "old": old, "new": new.to_string()}),
        ),
        at,
    )
    .await?;
    let top: HashMap<&str, (bool, &str)> = resolutions
        .iter()
        .map(|r| (r.id.as_str(), (r.parent.is_none(), r.deadline.as_str())))
        .collect();
    let end = end_of(&calendar, new);
    for e in portal.store.card_executors_in(&mut tx, &card.id).await? {
        let moves = top
            .get(e.resolution_id.as_str())
            .is_some_and(|(is_top, d)| *is_top || parse_date(d).is_some_and(|d| d > new));
        if moves {
            portal
                .engine
                .move_deadline_in(
                    &mut tx,
                    &e.case_id,
                    end,
                    (&actor, behalf.as_deref()),
                    reason,
                )
                .await
                .map_err(engine_refusal)?;
        }
    }
    tx.commit().await?;
    tracing::info!(card = %card.id, official = %official.id, "a card's deadline was changed");
    Ok(())
}

/// Removes the card from control for `reason` (п.174–175): the control service (or its
/// deputy); the open work's reminders and escalations end.
pub async fn remove_from_control(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    (reason, version): (Option<&str>, Option<i64>),
) -> Result<(), Refusal> {
    let card = &opened.card;
    let on_behalf = acting(
        opened,
        official,
        |who| controls(opened, who, Permission::DocumentsControl),
        "Зняти документ з контролю може лише служба контролю (documents-control).",
    )?;
    let reason = reason
        .filter(|r| r.chars().count() <= MAX_TEXT)
        .ok_or_else(|| Refusal::invalid("Напишіть, чому документ знято з контролю (п.175)."))?;
    if card.control != "on" {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "Документ не перебуває на контролі.",
        ));
    }
    let at = official.now();
    let behalf = on_behalf.as_ref().map(|p| format!("official:{p}"));
    let actor = official.actor();
    let mut tx = portal.store.begin().await?;
    let before = take_card(portal, &mut tx, card, version).await?;
    let mut after = before.clone();
    after.control = "removed".into();
    change(
        portal,
        &mut tx,
        &before,
        after,
        official,
        behalf.as_deref(),
        ("removed-from-control", json!({"reason": reason})),
        at,
    )
    .await?;
    release_all(
        portal,
        &mut tx,
        &card.id,
        (&actor, behalf.as_deref()),
        reason,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(card = %card.id, official = %official.id, "a card was removed from control");
    Ok(())
}

/// Ends the timers of every open case of the card's work.
async fn release_all(
    portal: &PortalState,
    tx: &mut Tx,
    card_id: &str,
    who: (&Actor, Option<&str>),
    reason: &str,
) -> Result<(), Refusal> {
    for e in portal.store.card_executors_in(tx, card_id).await? {
        portal
            .engine
            .release_in(tx, &e.case_id, who, reason)
            .await
            .map_err(engine_refusal)?;
    }
    Ok(())
}

/// Files the card away ("до справи") for `reason`: closed without a task, into case `case_code`
/// if given; by one who may resolve or control its documents (or their deputy), and only while
/// no resolution put it to work.
pub async fn file_away(
    portal: &PortalState,
    opened: &Opened,
    official: &Official,
    (reason, case_code, version): (Option<&str>, Option<&str>, Option<i64>),
) -> Result<(), Refusal> {
    let card = &opened.card;
    let on_behalf = acting(
        opened,
        official,
        |who| {
            controls(opened, who, Permission::DocumentsResolve)
                || controls(opened, who, Permission::DocumentsControl)
        },
        "Списати документ до справи може посадова особа з правом резолюції або служба контролю.",
    )?;
    let reason = reason
        .filter(|r| r.chars().count() <= MAX_TEXT)
        .ok_or_else(|| Refusal::invalid("Напишіть, чому документ списано до справи."))?;
    if card.status != "registered" || card.control == "on" {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "До справи списують зареєстрований документ без доручень на контролі.",
        ));
    }
    if !portal.store.resolutions_of(&card.id).await?.is_empty() {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "Документ уже має резолюцію: його закриває виконання, а не списання до справи.",
        ));
    }
    let at = official.now();
    let behalf = on_behalf.as_ref().map(|p| format!("official:{p}"));
    let mut tx = portal.store.begin().await?;
    let before = take_card(portal, &mut tx, card, version).await?;
    let mut after = before.clone();
    after.status = "filed".into();
    after.execution_mark = Some(format!("До справи: {reason}"));
    if let Some(code) = case_code {
        after.case_code = Some(code.to_string());
    }
    change(
        portal,
        &mut tx,
        &before,
        after,
        official,
        behalf.as_deref(),
        ("filed", json!({"reason": reason})),
        at,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(card = %card.id, official = %official.id, "a card was filed away");
    Ok(())
}

/// Reads the posted form of a control action on card `id`: the opened card and the fields.
async fn posted(
    portal: &PortalState,
    official: &Official,
    id: &str,
    pairs: &[(String, String)],
) -> Result<Opened, Response> {
    let opened = open_card(portal, official, id).await?;
    official.check_csrf(posted_csrf(pairs))?;
    Ok(opened)
}

/// The answer to a control action: back to the card's resolutions, or the refusal.
async fn answer(
    portal: &PortalState,
    official: &Official,
    opened: &Opened,
    action: &str,
    done: Result<(), Refusal>,
) -> Response {
    let detail = match &done {
        Ok(()) => "done".to_string(),
        Err(r) => format!("refused {}", r.status.as_u16()),
    };
    if let Err(e) = access_log::record(
        &portal.store,
        official,
        action,
        Some(&opened.card.id),
        &detail,
    )
    .await
    {
        return unavailable(portal, &opened.chrome, &e.to_string());
    }
    match done {
        Ok(()) => see_other(&format!("/registry/cards/{}/resolutions", opened.card.id)),
        Err(r) => r.page(portal, &opened.chrome),
    }
}

fn version(pairs: &[(String, String)]) -> Option<i64> {
    field(pairs, "version").and_then(|v| v.parse().ok())
}

/// `POST /registry/cards/{id}/deadline` (`csrf`, `version`, `deadline`, `reason`).
pub async fn post_deadline(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match posted(&portal, &official, &id, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let done = change_deadline(
        &portal,
        &opened,
        &official,
        (
            field(&pairs, "deadline"),
            field(&pairs, "reason"),
            version(&pairs),
        ),
    )
    .await;
    answer(&portal, &official, &opened, "deadline-change", done).await
}

/// `POST /registry/cards/{id}/control/remove` (`csrf`, `version`, `reason`).
pub async fn post_remove(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match posted(&portal, &official, &id, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let done = remove_from_control(
        &portal,
        &opened,
        &official,
        (field(&pairs, "reason"), version(&pairs)),
    )
    .await;
    answer(&portal, &official, &opened, "control-remove", done).await
}

/// `POST /registry/cards/{id}/file-away` (`csrf`, `version`, `reason`, `case`).
pub async fn post_file_away(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match posted(&portal, &official, &id, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let done = file_away(
        &portal,
        &opened,
        &official,
        (
            field(&pairs, "reason"),
            field(&pairs, "case"),
            version(&pairs),
        ),
    )
    .await;
    answer(&portal, &official, &opened, "file-away", done).await
}

/// `GET /registry/control`: the participant's cards on control, nearest deadline first, the
/// overdue marked.
pub async fn page(State(portal): State<PortalState>, official: Official) -> Response {
    let (compiled, chrome, reader) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if let Err(page) = official
        .require(&portal, &compiled, Permission::DocumentsControl)
        .await
    {
        return page;
    }
    let cards = match portal
        .store
        .cards_on_control(&reader.participant, 500)
        .await
    {
        Ok(cards) => cards,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let rows: Vec<Value> = cards
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "number": c.reg_number.clone().unwrap_or_default(),
                "executor": c.executor.clone().unwrap_or_default(),
                "deadline": c.deadline.clone().unwrap_or_default(),
                "overdue": c.deadline.as_deref().is_some_and(|d| d < reader.today.as_str()),
            })
        })
        .collect();
    if let Err(e) = access_log::record(&portal.store, &official, "control", None, "").await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/control.html",
        &chrome,
        json!({"cards": rows, "today": reader.today}),
    )
}
