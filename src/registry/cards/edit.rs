//! `GET/POST /registry/cards/{id}/edit`: a card's requisites changed by a registrar, only over
//! the version the form was made from (a stale form is refused with 409 and changes nothing),
//! and `POST /registry/cards/{id}/register`: the completeness check (п.59) and the number.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::fields::{self, Problem};
use super::new::{kind, render_card_form};
use super::numbering::{NumberError, register_in};
use super::{Opened, conflict, editable, journal_of, log_access, not_found, open, see_other};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::blocking;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::spec::model::{Direction, DocumentKind, Journal, Permission};
use crate::store::{CardChange, CardRow, StoreError, time_text};

/// The journal and kind of `card` in revision `compiled`, or the page saying they are gone.
#[allow(clippy::result_large_err)]
pub fn declared<'c>(
    portal: &PortalState,
    compiled: &'c Compiled,
    official: &Official,
    card: &CardRow,
) -> Result<(&'c Journal, &'c DocumentKind), Response> {
    match (
        journal_of(compiled, &card.participant, &card.journal),
        kind(compiled, &card.kind),
    ) {
        (Some(j), Some(k)) => Ok((j, k)),
        _ => Err(conflict(
            portal,
            compiled,
            official,
            "Журнал або вид документа більше не оголошено",
            "Журнал чи вид документа цієї картки прибрано зі специфікації, тож картку не можна \
             змінити. Зверніться до адміністратора.",
        )),
    }
}

/// The card `id` opened for a change by a registrar: permission, reading, `editable`.
async fn open_for_change(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
) -> Result<Opened, Response> {
    official
        .require(portal, compiled, Permission::DocumentsRegister)
        .await?;
    let opened = open(portal, compiled, official, id).await?;
    if opened.card.participant != official.participant() {
        return Err(not_found(portal, compiled, official));
    }
    if let Err(why) = editable(&opened.card) {
        return Err(conflict(
            portal,
            compiled,
            official,
            "Картку не можна змінити",
            &format!("{}.", capitalised(why)),
        ));
    }
    Ok(opened)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// `GET /registry/cards/{id}/edit`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let opened = match open_for_change(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let (journal, kind) = match declared(&portal, &compiled, &official, &opened.card) {
        Ok(d) => d,
        Err(page) => return page,
    };
    render_card_form(
        &portal,
        &compiled,
        &official,
        journal,
        kind,
        Some(&opened.card),
        &fields::values_of(&opened.card),
        &[],
        StatusCode::OK,
    )
}

/// The posted version, when it is a number.
fn posted_version(values: &std::collections::BTreeMap<String, String>) -> Option<i64> {
    values.get("version").and_then(|v| v.parse().ok())
}

fn stale(portal: &PortalState, compiled: &Compiled, official: &Official) -> Response {
    conflict(
        portal,
        compiled,
        official,
        "Картку вже змінили",
        "Поки ви заповнювали форму, картку змінив хтось інший, тож ваші зміни не збережено. \
         Відкрийте картку ще раз, перегляньте її і внесіть зміни знову.",
    )
}

/// `POST /registry/cards/{id}/edit` (`csrf`, `version` and the requisites).
pub async fn save(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let values = fields::values_posted(&pairs);
    if let Err(refused) = official.check_csrf(values.get("csrf").map(String::as_str)) {
        return refused;
    }
    let opened = match open_for_change(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let (journal, kind) = match declared(&portal, &compiled, &official, &opened.card) {
        Ok(d) => d,
        Err(page) => return page,
    };
    if posted_version(&values) != Some(opened.card.version) {
        return stale(&portal, &compiled, &official);
    }
    let mut after = opened.card.clone();
    let problems = fields::apply(&compiled, &mut after, kind, &values);
    if !problems.is_empty() {
        return render_card_form(
            &portal,
            &compiled,
            &official,
            journal,
            kind,
            Some(&opened.card),
            &values,
            &problems,
            StatusCode::BAD_REQUEST,
        );
    }
    let now = official.now();
    after.version = opened.card.version + 1;
    after.updated_at = time_text(&now);
    let actor = format!("official:{}", official.id);
    let written = async {
        let mut tx = portal.store.begin().await?;
        let Some(current) = portal.store.card_in(&mut tx, &id).await? else {
            return Ok(false);
        };
        if current.version != opened.card.version {
            return Ok(false);
        }
        let done = portal
            .store
            .write_card(
                &mut tx,
                &CardChange {
                    before: Some(&current),
                    after: &after,
                    actor: &actor,
                    on_behalf: None,
                    kind: "edited",
                    note: json!(null),
                    at: now,
                },
            )
            .await?;
        if done {
            tx.commit().await?;
        }
        Ok::<_, StoreError>(done)
    }
    .await;
    match written {
        Ok(true) => {
            log_access(&portal, &official, "card-edit", &id).await;
            see_other(&format!("/registry/cards/{id}"))
        }
        Ok(false) => stale(&portal, &compiled, &official),
        Err(e) => unavailable(&portal, &official.chrome(&compiled), &e.to_string()),
    }
}

/// What registering a card came to.
pub enum Registered {
    Done(Box<CardRow>),
    Stale,
    Incomplete(Vec<Problem>),
    NotDraft,
}

/// `POST /registry/cards/{id}/register` (`csrf`, `version`): an incoming or internal card
/// registered under its journal's next number with the system's date; an outgoing one is
/// registered only when signed (`…/sign`, п.55, п.84).
pub async fn register(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let values = fields::values_posted(&pairs);
    if let Err(refused) = official.check_csrf(values.get("csrf").map(String::as_str)) {
        return refused;
    }
    let opened = match open_for_change(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let (journal, kind) = match declared(&portal, &compiled, &official, &opened.card) {
        Ok(d) => d,
        Err(page) => return page,
    };
    if posted_version(&values) != Some(opened.card.version) {
        return stale(&portal, &compiled, &official);
    }
    if journal.direction == Direction::Outgoing {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Вихідний документ реєструється після підписання",
            "Вихідний документ реєструють у день його підписання (п. 55, 84 Типової інструкції): \
             завантажте підпис посадової особи на сторінці «Підписати і зареєструвати».",
        );
    }
    let outcome = register_card(
        &portal,
        &compiled,
        &official,
        journal,
        kind,
        &id,
        opened.card.version,
    )
    .await;
    match outcome {
        Ok(Registered::Done(card)) => {
            tracing::info!(
                "official {} registered card {} in journal {} as number {}",
                official.id,
                card.id,
                journal.id,
                card.reg_number.as_deref().unwrap_or("")
            );
            log_access(&portal, &official, "card-register", &id).await;
            see_other(&format!("/registry/cards/{id}"))
        }
        Ok(Registered::Stale) => stale(&portal, &compiled, &official),
        Ok(Registered::NotDraft) => conflict(
            &portal,
            &compiled,
            &official,
            "Картку вже зареєстровано",
            "Цю картку вже зареєстровано; її реєстраційний номер не змінюється.",
        ),
        Ok(Registered::Incomplete(problems)) => {
            super::page::render(
                &portal,
                &compiled,
                &official,
                &opened,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => unavailable(&portal, &official.chrome(&compiled), &e),
    }
}

/// Registers card `id` (still at `version`) in `journal`, checking its completeness in the same
/// transaction as the number is taken.
pub async fn register_card(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    journal: &Journal,
    kind: &DocumentKind,
    id: &str,
    version: i64,
) -> Result<Registered, String> {
    // Read before the transaction: adding a file moves the card's version, checked below.
    let files = portal
        .store
        .card_files(id)
        .await
        .map_err(|e| e.to_string())?;
    let mut tx = portal.store.begin().await.map_err(|e| e.to_string())?;
    let Some(current) = portal
        .store
        .card_in(&mut tx, id)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Registered::Stale);
    };
    if current.version != version {
        return Ok(Registered::Stale);
    }
    if current.status != "draft" {
        return Ok(Registered::NotDraft);
    }
    let problems = fields::missing(&current, journal, kind, &files);
    if !problems.is_empty() {
        return Ok(Registered::Incomplete(problems));
    }
    let now = official.now();
    let after = match register_in(
        &portal.store,
        &mut tx,
        journal,
        &current,
        now,
        blocking::zone(compiled),
    )
    .await
    {
        Ok(after) => after,
        Err(NumberError::Pattern(why)) => {
            return Ok(Registered::Incomplete(vec![Problem {
                field: "case_code".into(),
                message: format!("Номер не можна сформувати: {why}"),
            }]));
        }
        Err(NumberError::Store(e)) => return Err(e.to_string()),
    };
    let actor = format!("official:{}", official.id);
    let done = portal
        .store
        .write_card(
            &mut tx,
            &CardChange {
                before: Some(&current),
                after: &after,
                actor: &actor,
                on_behalf: None,
                kind: "registered",
                note: json!(null),
                at: now,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    if !done {
        return Ok(Registered::Stale);
    }
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(Registered::Done(Box::new(after)))
}
