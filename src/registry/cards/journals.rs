//! `GET /registry/journals` (the journals of the official's participant) and
//! `GET /registry/journals/{id}?year=&page=`: one journal's registered cards of a year in number
//! order, paged, only those the reader may read — whoever registered them (a registrar, the
//! portal or the engine).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::new::{direction_words, kind};
use super::page::status_words;
use super::{day_of, journal_of};
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::registry::access::Reader;
use crate::spec::model::{Permission, Reset};

/// Cards on one page of a journal.
pub const PAGE_SIZE: i64 = 50;

/// Whether the official holds any documents role; otherwise the refusal.
async fn documents_role(
    portal: &PortalState,
    compiled: &crate::compile::Compiled,
    official: &Official,
) -> Result<(), Response> {
    if Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(compiled, *p))
    {
        return Ok(());
    }
    official
        .require(portal, compiled, Permission::DocumentsRead)
        .await
}

/// `GET /registry/journals`.
pub async fn list(State(portal): State<PortalState>, official: Official) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = documents_role(&portal, &compiled, &official).await {
        return refused;
    }
    let journals: Vec<_> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == official.participant())
        .map(|j| json!({"id": j.id, "title": j.title, "direction": direction_words(j.direction)}))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/journals.html",
        &official.chrome(&compiled),
        json!({"journals": journals}),
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct JournalQuery {
    pub year: Option<String>,
    pub page: Option<String>,
}

/// `GET /registry/journals/{id}`.
pub async fn journal(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    Query(query): Query<JournalQuery>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = documents_role(&portal, &compiled, &official).await {
        return refused;
    }
    let chrome = official.chrome(&compiled);
    let Some(journal) = journal_of(&compiled, official.participant(), &id) else {
        return portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Журнал не знайдено",
            "Такого журналу немає серед журналів вашої установи. Оберіть журнал зі списку.",
        );
    };
    let today = day_of(&compiled, official.now());
    let period = match journal.reset {
        Reset::Never => String::new(),
        Reset::Yearly => query
            .year
            .as_deref()
            .filter(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(&today[..4])
            .to_string(),
    };
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let reader = match Reader::of(&portal.store, &compiled, &official, &today).await {
        Ok(r) => r,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let listed = portal
        .store
        .journal_cards(
            &journal.id,
            &period,
            &reader.binds(),
            &Reader::visible_sql(3),
            PAGE_SIZE,
            (page - 1) * PAGE_SIZE,
        )
        .await;
    let (cards, total) = match listed {
        Ok(listed) => listed,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let years = match portal.store.journal_periods(&journal.id).await {
        Ok(years) => years
            .into_iter()
            .filter(|y| !y.is_empty())
            .collect::<Vec<_>>(),
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let rows: Vec<_> = cards
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "number": c.reg_number,
                "date": c.reg_date,
                "kind": kind(&compiled, &c.kind).map_or(c.kind.clone(), |k| k.title.clone()),
                "summary": c.summary,
                "correspondent": c.correspondent,
                "status": status_words(&c.status),
            })
        })
        .collect();
    let pages = (total + PAGE_SIZE - 1) / PAGE_SIZE;
    if let Err(e) = crate::portal::office::access_log::record(
        &portal.store,
        &official,
        "journal-view",
        None,
        &format!("journal {} period {period} page {page}", journal.id),
    )
    .await
    {
        tracing::error!("the access log did not take a journal view: {e}");
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/journal.html",
        &chrome,
        json!({
            "journal": {"id": journal.id, "title": journal.title,
                        "direction": direction_words(journal.direction)},
            "year": period,
            "years": years,
            "cards": rows,
            "total": total,
            "page": page,
            "previous": (page > 1).then_some(page - 1),
            "next": (page < pages).then_some(page + 1),
        }),
    )
}
