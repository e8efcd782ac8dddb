//! `/office/feedback` (`audit-read`): the messages citizens sent the administrator from the
//! portal, newest first, in pages; each read is an entry of the access log.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::official::Official;
use super::{access_log, blocking, users};
use crate::portal::PortalState;
use crate::portal::cabinet::words;
use crate::portal::feedback::KINDS;
use crate::portal::sign_in::query_value;
use crate::spec::model::Permission;

/// Messages on one page.
const PAGE_SIZE: i64 = 30;

/// `GET /office/feedback?page=`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return users::starting(&portal);
    };
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::AuditRead)
        .await
    {
        return refused;
    }
    let chrome = official.chrome(&compiled);
    let page: i64 = query_value(query.as_deref(), "page")
        .and_then(|p| p.trim().parse().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "feedback",
        None,
        &format!("read the messages to the administrator, page {page}"),
    )
    .await
    {
        return users::unavailable(&portal, &chrome, &e.to_string());
    }
    let (rows, total) = match portal
        .store
        .feedback(PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await
    {
        Ok(read) => read,
        Err(e) => return users::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = blocking::zone(&compiled);
    let messages: Vec<Value> = rows
        .iter()
        .map(|row| {
            json!({
                "when": words::when(&row.received_at, zone),
                "kind": KINDS.iter().find(|(k, _)| *k == row.kind).map_or(row.kind.as_str(), |(_, w)| w),
                "page": row.page,
                "text": row.body,
                "email": row.email,
                "signed_in": row.signed_in,
            })
        })
        .collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64| format!("/office/feedback?page={p}");
    portal.pages.render(
        StatusCode::OK,
        "office/feedback.html",
        &chrome,
        json!({
            "messages": messages,
            "total": total,
            "page": page,
            "pages": pages,
            "previous": (page > 1).then(|| link(page - 1)),
            "next": (page < pages).then(|| link(page + 1)),
        }),
    )
}
