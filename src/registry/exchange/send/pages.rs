//! The sender's pages: the card's "Надсилання" section (each addressee's status, and the send
//! form of a registered outgoing card), `POST /registry/cards/{id}/send`, and the exchange
//! journal `/registry/exchange` (п.26), whose sent section is this module's.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::addressees;
use super::envelope::SendPurpose;
use super::outgoing::{SendRefused, SendRequest, send, sendable};
use super::status::shown;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::registry::cards::page::render_with;
use crate::registry::cards::{Opened, log_access, open, see_other};
use crate::spec::model::Permission;
use crate::store::{CardRow, SENT_PAGE, StoreError};

/// What the send form was posted with, shown again beside its errors.
#[derive(Debug, Default, Clone)]
pub struct Posted {
    pub addressees: Vec<String>,
    pub purpose: Option<String>,
    pub errors: Vec<String>,
}

/// Whether `official` may send `card`: the exchange permission, in the card's participant.
fn may_send(compiled: &Compiled, official: &Official, card: &CardRow) -> bool {
    official.may(compiled, Permission::DocumentsExchange)
        && card.participant == official.participant()
}

/// The card page's "Надсилання" section: each message's status and, for an official who may
/// send a registered outgoing card, the form (with `posted` when it is shown again).
pub async fn section(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    card: &CardRow,
    posted: Option<&Posted>,
) -> Result<Value, StoreError> {
    let rows = portal.store.exchange_sent_of_card(&card.id).await?;
    let shown_rows: Vec<Value> = rows.iter().map(|r| shown(compiled, r)).collect();
    let choices = addressees::all(compiled);
    let open = may_send(compiled, official, card)
        && sendable(card).is_ok()
        && choices.iter().any(|p| p.participant.id != card.participant);
    let form = open.then(|| {
        let named: Vec<String> = serde_json::from_str::<Vec<String>>(&card.addressees)
            .unwrap_or_default()
            .iter()
            .map(|a| a.trim().to_lowercase())
            .collect();
        let live: Vec<&str> = rows
            .iter()
            .filter(|r| r.status != "refused")
            .map(|r| r.addressee.as_str())
            .collect();
        let choices: Vec<Value> = choices
            .iter()
            .filter(|p| p.participant.id != card.participant)
            .map(|p| {
                let id = &p.participant.id;
                let checked = match posted {
                    Some(posted) => posted.addressees.contains(id),
                    None => named.contains(&p.participant.name.trim().to_lowercase()),
                };
                json!({
                    "id": id,
                    "name": p.participant.name,
                    "checked": checked && !live.contains(&id.as_str()),
                    "sent": live.contains(&id.as_str()),
                })
            })
            .collect();
        let purpose = posted
            .and_then(|p| p.purpose.as_deref())
            .unwrap_or("information");
        json!({
            "addressees": choices,
            "purposes": SendPurpose::ALL.iter().map(|p| json!({
                "value": p.as_str(), "words": p.words(), "checked": p.as_str() == purpose,
            })).collect::<Vec<_>>(),
        })
    });
    let errors = posted.map(|p| p.errors.clone()).unwrap_or_default();
    Ok(json!({
        "shown": !rows.is_empty() || form.is_some() || !errors.is_empty(),
        "rows": shown_rows,
        "form": form,
        "errors": errors,
    }))
}

/// `POST /registry/cards/{id}/send` (`csrf`, `version`, `addressee` (many), `purpose`).
pub async fn post(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if let Err(refused) = official.check_csrf(field("csrf")) {
        return refused;
    }
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsExchange)
        .await
    {
        return refused;
    }
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let mut posted = Posted {
        addressees: pairs
            .iter()
            .filter(|(k, _)| k == "addressee")
            .map(|(_, v)| v.clone())
            .collect(),
        purpose: field("purpose").map(str::to_string),
        errors: Vec::new(),
    };
    if !may_send(&compiled, &official, &opened.card) {
        return refuse(
            &portal,
            &compiled,
            &official,
            &opened,
            posted,
            "Надсилати документи може лише посадова особа установи, що веде цю картку.".into(),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    let Some(purpose) = field("purpose").and_then(SendPurpose::parse) else {
        return refuse(
            &portal,
            &compiled,
            &official,
            &opened,
            posted,
            "Виберіть, для чого надсилається документ: на виконання, до відома чи на \
             погодження."
                .into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let Some(version) = field("version").and_then(|v| v.parse().ok()) else {
        return refuse(
            &portal,
            &compiled,
            &official,
            &opened,
            posted,
            "Форма пошкоджена: у ній немає версії картки. Відкрийте картку ще раз.".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let actor = format!("official:{}", official.id);
    let request = SendRequest {
        card_id: &id,
        version,
        addressees: &posted.addressees,
        purpose,
        actor: &actor,
        now: official.now(),
    };
    let refused = match send(&portal.store, &compiled, &request).await {
        Ok(rows) => {
            tracing::info!(
                "official {} sent card {id} to {} addressees",
                official.id,
                rows.len()
            );
            log_access(&portal, &official, "card-send", &id).await;
            return see_other(&format!("/registry/cards/{id}#sending"));
        }
        Err(refused) => refused,
    };
    let (status, errors) = match refused {
        SendRefused::NoCard => {
            return crate::registry::cards::not_found(&portal, &compiled, &official);
        }
        SendRefused::Store(e) => {
            return unavailable(&portal, &official.chrome(&compiled), &e.to_string());
        }
        SendRefused::Card(why) => (StatusCode::CONFLICT, vec![why]),
        SendRefused::Stale => (
            StatusCode::CONFLICT,
            vec![
                "Поки ви заповнювали форму, картку змінили. Перевірте її і надішліть ще раз."
                    .into(),
            ],
        ),
        SendRefused::Addressees(problems) => (StatusCode::UNPROCESSABLE_ENTITY, problems),
        SendRefused::Again(names) => (
            StatusCode::CONFLICT,
            names
                .iter()
                .map(|n| {
                    format!(
                        "Документ уже надіслано до «{n}». Надіслати його знову можна, лише \
                         якщо адресат його відхилив."
                    )
                })
                .collect(),
        ),
        SendRefused::Files(problems) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            problems
                .iter()
                .map(|p| {
                    if p.file.is_empty() {
                        p.problem.clone()
                    } else {
                        format!("Файл «{}»: {}", p.file, p.problem)
                    }
                })
                .collect(),
        ),
    };
    tracing::info!(
        "official {} was refused sending card {id} ({} problems)",
        official.id,
        errors.len()
    );
    // Fresh: the version the form is shown again with is the card's now.
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    posted.errors = errors;
    render_with(
        &portal,
        &compiled,
        &official,
        &opened,
        &[],
        Some(&posted),
        status,
    )
    .await
}

async fn refuse(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    opened: &Opened,
    mut posted: Posted,
    error: String,
    status: StatusCode,
) -> Response {
    posted.errors = vec![error];
    render_with(
        portal,
        compiled,
        official,
        opened,
        &[],
        Some(&posted),
        status,
    )
    .await
}

/// The journal's query: its section and page (from 1).
#[derive(Debug, Default, Deserialize)]
pub struct JournalQuery {
    #[serde(default)]
    pub section: Option<String>,
    #[serde(default)]
    pub page: Option<i64>,
}

/// The journal's sections (п.26), by query value, name and page: the sent ones here, the
/// received ones on the receiving side's pages (`receive::pages`).
const SECTIONS: &[(&str, &str, &str)] = &[
    ("sent", "Надіслані", "/registry/exchange?section=sent"),
    (
        "waiting",
        "Чекають на реєстратора",
        "/registry/exchange/received?section=waiting",
    ),
    (
        "received",
        "Отримані",
        "/registry/exchange/received?section=received",
    ),
    (
        "registered",
        "Зареєстровані",
        "/registry/exchange/received?section=registered",
    ),
    (
        "refused",
        "Відхилені",
        "/registry/exchange/received?section=refused",
    ),
];

/// `GET /registry/exchange`: the exchange journal of the official's participant.
pub async fn journal(
    State(portal): State<PortalState>,
    official: Official,
    Query(query): Query<JournalQuery>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if !official.may(&compiled, Permission::DocumentsExchange)
        && let Err(refused) = official
            .require(&portal, &compiled, Permission::DocumentsRegister)
            .await
    {
        return refused;
    }
    let chrome = official.chrome(&compiled);
    let section = query.section.as_deref().unwrap_or("sent");
    let Some((section, title, href)) = SECTIONS.iter().find(|(s, _, _)| *s == section) else {
        return portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Такого розділу немає",
            "У журналі обміну є розділи: надіслані, отримані, зареєстровані і відхилені.",
        );
    };
    if *section != "sent" {
        return axum::response::Redirect::to(href).into_response();
    }
    let page = query.page.unwrap_or(1).max(1);
    let (rows, total) = match portal
        .store
        .exchange_sent_journal(official.participant(), page - 1)
        .await
    {
        Ok(read) => read,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let mut shown_rows = Vec::new();
    for row in &rows {
        let card = match portal.store.card(&row.card_id).await {
            Ok(card) => card,
            Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
        };
        let mut value = shown(&compiled, row);
        value["number"] = json!(card.as_ref().and_then(|c| c.reg_number.clone()));
        value["date"] = json!(card.as_ref().and_then(|c| c.reg_date.clone()));
        value["summary"] = json!(card.map(|c| c.summary).unwrap_or_default());
        shown_rows.push(value);
    }
    let last = (total + SENT_PAGE - 1) / SENT_PAGE;
    if let Err(e) = crate::portal::office::access_log::record(
        &portal.store,
        &official,
        "exchange-journal",
        None,
        section,
    )
    .await
    {
        tracing::error!("the access log did not take a view of the exchange journal: {e}");
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/exchange.html",
        &chrome,
        json!({
            "section": section,
            "title": title,
            "sections": SECTIONS.iter().map(|(s, t, h)| json!({"id": s, "title": t, "href": h}))
                .collect::<Vec<_>>(),
            "rows": shown_rows,
            "total": total,
            "page": page,
            "previous": (page > 1).then_some(page - 1),
            "next": (page < last).then_some(page + 1),
        }),
    )
}
