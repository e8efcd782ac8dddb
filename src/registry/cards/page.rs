//! `GET /registry/cards/{id}`: the card as its reader sees it — number and date, requisites,
//! files, the QR code of a paper original — with what their roles let them do next.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::fields::{self, Problem};
use super::new::{direction_words, kind};
use super::{Opened, editable, log_access, open};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::registry::access::READER_PERMISSIONS;
use crate::registry::exchange::send::pages::{Posted, section};
use crate::spec::model::{self, Permission};

/// Names of a card's statuses.
pub fn status_words(status: &str) -> &str {
    match status {
        "draft" => "Чернетка (не зареєстровано)",
        "registered" => "Зареєстровано",
        "executed" => "Виконано",
        "filed" => "До справи",
        "archived" => "В архіві",
        "destroyed" => "Знищено за актом",
        other => other,
    }
}

/// Names of a file's roles.
pub fn role_words(role: &str) -> &str {
    match role {
        "original" => "Оригінал",
        "scan" => "Скан-копія паперового оригіналу",
        "annex" => "Додаток",
        "signature" => "Підпис (CMS)",
        other => other,
    }
}

/// `GET /registry/cards/{id}`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if !Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p))
        && let Err(refused) = official
            .require(&portal, &compiled, Permission::DocumentsRead)
            .await
    {
        return refused;
    }
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    log_access(&portal, &official, "card-view", &id).await;
    render(&portal, &compiled, &official, &opened, &[], StatusCode::OK).await
}

/// The card page, with `problems` (why it could not be registered) in its error summary.
pub async fn render(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    opened: &Opened,
    problems: &[Problem],
    status: StatusCode,
) -> Response {
    render_with(portal, compiled, official, opened, problems, None, status).await
}

/// As [`render`], with the send form shown again as `posted` (with why it was refused).
pub async fn render_with(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    opened: &Opened,
    problems: &[Problem],
    posted: Option<&Posted>,
    status: StatusCode,
) -> Response {
    let card = &opened.card;
    let sending = match section(portal, compiled, official, card, posted).await {
        Ok(sending) => sending,
        Err(e) => return unavailable(portal, &official.chrome(compiled), &e.to_string()),
    };
    let files = match portal.store.card_files(&card.id).await {
        Ok(files) => files,
        Err(e) => return unavailable(portal, &official.chrome(compiled), &e.to_string()),
    };
    let journal = model::by_id(&compiled.spec.journals, &card.journal);
    let kind = kind(compiled, &card.kind);
    let register = official.may(compiled, Permission::DocumentsRegister)
        && card.participant == official.participant()
        && editable(card).is_ok();
    let files: Vec<_> = files
        .iter()
        .map(|f| {
            json!({
                "n": f.n, "role": role_words(&f.role), "name": f.file_name, "size": f.size,
                "sha256": f.sha256, "destroyed": f.destroyed_at.is_some(),
                "href": format!("/registry/cards/{}/files/{}", card.id, f.n),
            })
        })
        .collect();
    let errors: Vec<_> = problems
        .iter()
        .map(|p| json!({"field": p.field, "message": p.message}))
        .collect();
    let reader = READER_PERMISSIONS
        .iter()
        .any(|p| official.may(compiled, *p));
    portal.pages.render(
        status,
        "registry/card.html",
        &official.chrome(compiled),
        json!({
            "card": {
                "id": card.id,
                "version": card.version,
                "status": status_words(&card.status),
                "draft": card.status == "draft",
                "outgoing": card.direction == "outgoing",
                "reg_number": card.reg_number,
                "reg_date": card.reg_date,
                "paper": card.paper == 1,
                "source": card.source,
            },
            "journal": journal.map_or(card.journal.clone(), |j| j.title.clone()),
            "journal_id": card.journal,
            "direction": journal.map_or("", |j| direction_words(j.direction)),
            "kind": kind.map_or(card.kind.clone(), |k| k.title.clone()),
            "requisites": fields::shown(compiled, card, kind),
            "related": fields::lines_of(&card.related),
            "files": files,
            "may_change": register,
            "may_read_more": reader,
            "errors": errors,
            "sending": sending,
        }),
    )
}
