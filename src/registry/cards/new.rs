//! `GET /registry/cards/new` (a journal of the official's participant and a document kind it
//! registers; then the form of the card's requisites) and `POST /registry/cards` (the draft card,
//! written with its first history event; 303 to it).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::fields::{self, Problem};
use super::{day_of, journal_of, kinds_of, log_access, see_other};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::spec::model::{self, Direction, DocumentKind, Journal, Permission};
use crate::store::{CardChange, CardRow};

#[derive(Debug, Default, Deserialize)]
pub struct Pick {
    pub journal: Option<String>,
    pub kind: Option<String>,
}

/// A direction in words.
pub fn direction_words(direction: Direction) -> &'static str {
    match direction {
        Direction::Incoming => "вхідний",
        Direction::Outgoing => "вихідний",
        Direction::Internal => "внутрішній",
    }
}

/// `GET /registry/cards/new`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Query(pick): Query<Pick>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsRegister)
        .await
    {
        return refused;
    }
    match chosen(&compiled, &official, &pick) {
        Some((journal, kind)) => render_card_form(
            &portal,
            &compiled,
            &official,
            journal,
            kind,
            None,
            &BTreeMap::new(),
            &[],
            StatusCode::OK,
        ),
        None => picker(&portal, &compiled, &official),
    }
}

/// The journal and kind picked, when the journal is the official's participant's and registers
/// the kind.
fn chosen<'c>(
    compiled: &'c Compiled,
    official: &Official,
    pick: &Pick,
) -> Option<(&'c Journal, &'c DocumentKind)> {
    let journal = journal_of(compiled, official.participant(), pick.journal.as_deref()?)?;
    let kind = kinds_of(compiled, journal)
        .into_iter()
        .find(|k| Some(k.id.as_str()) == pick.kind.as_deref())?;
    Some((journal, kind))
}

/// The journals of the official's participant, each with the kinds it registers.
fn picker(portal: &PortalState, compiled: &Compiled, official: &Official) -> Response {
    let journals: Vec<_> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == official.participant())
        .map(|j| {
            json!({
                "id": j.id,
                "title": j.title,
                "direction": direction_words(j.direction),
                "kinds": kinds_of(compiled, j).iter()
                    .map(|k| json!({"id": k.id, "title": k.title})).collect::<Vec<_>>(),
            })
        })
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/card_new.html",
        &official.chrome(compiled),
        json!({"journals": journals}),
    )
}

/// The form for a new card (`card` `None`) or to edit `card`.
#[allow(clippy::too_many_arguments)]
pub fn render_card_form(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    journal: &Journal,
    kind: &DocumentKind,
    card: Option<&CardRow>,
    values: &BTreeMap<String, String>,
    problems: &[Problem],
    status: StatusCode,
) -> Response {
    let form = fields::form(compiled, official.participant(), kind, values, problems);
    let errors: Vec<_> = problems
        .iter()
        .map(|p| json!({"field": p.field, "message": p.message}))
        .collect();
    portal.pages.render(
        status,
        "registry/card_form.html",
        &official.chrome(compiled),
        json!({
            "journal": {"id": journal.id, "title": journal.title,
                        "direction": direction_words(journal.direction)},
            "kind": {"id": kind.id, "title": kind.title},
            "card": card.map(|c| json!({"id": c.id, "version": c.version,
                                        "reg_number": c.reg_number})),
            "fields": form,
            "errors": errors,
        }),
    )
}

/// `POST /registry/cards` (`csrf`, `journal`, `kind` and the requisites).
pub async fn create(
    State(portal): State<PortalState>,
    official: Official,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let values = fields::values_posted(&pairs);
    if let Err(refused) = official.check_csrf(values.get("csrf").map(String::as_str)) {
        return refused;
    }
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsRegister)
        .await
    {
        return refused;
    }
    let pick = Pick {
        journal: values.get("journal").cloned(),
        kind: values.get("kind").cloned(),
    };
    let Some((journal, kind)) = chosen(&compiled, &official, &pick) else {
        return portal.pages.problem(
            StatusCode::BAD_REQUEST,
            &official.chrome(&compiled),
            "Журнал або вид документа не обрано",
            "Оберіть журнал своєї установи і вид документа, який він реєструє, на сторінці \
             «Зареєструвати документ».",
        );
    };
    let now = official.now();
    let direction = serde_json::to_value(journal.direction)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut card = CardRow::draft(
        &super::new_id(),
        (&journal.participant, &journal.id, &direction),
        &kind.id,
        &format!("official:{}", official.id),
        &now,
    );
    let problems = fields::apply(&compiled, &mut card, kind, &values);
    if !problems.is_empty() {
        return render_card_form(
            &portal,
            &compiled,
            &official,
            journal,
            kind,
            None,
            &values,
            &problems,
            StatusCode::BAD_REQUEST,
        );
    }
    let written = async {
        let mut tx = portal.store.begin().await?;
        portal
            .store
            .write_card(
                &mut tx,
                &CardChange {
                    before: None,
                    after: &card,
                    actor: &card.created_by,
                    on_behalf: None,
                    kind: "created",
                    note: json!(null),
                    at: now,
                },
            )
            .await?;
        tx.commit().await
    }
    .await;
    if let Err(e) = written {
        return unavailable(&portal, &official.chrome(&compiled), &e.to_string());
    }
    tracing::info!(
        "official {} drafted card {} in journal {} (today {})",
        official.id,
        card.id,
        journal.id,
        day_of(&compiled, now)
    );
    log_access(&portal, &official, "card-create", &card.id).await;
    see_other(&format!("/registry/cards/{}", card.id))
}

/// The kind `id` of the spec.
pub fn kind<'c>(compiled: &'c Compiled, id: &str) -> Option<&'c DocumentKind> {
    model::by_id(&compiled.spec.document_kinds, id)
}
