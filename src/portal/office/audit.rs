//! `/office/audit` (`audit-read`): the officials' access log newest first, in pages, by official
//! and by case; every read of it is itself an entry of the log.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::official::Official;
use super::{access_log, blocking, users};
use crate::portal::PortalState;
use crate::portal::cabinet::words;
use crate::portal::sign_in::query_value;
use crate::spec::model::{self, Permission};
use crate::store::AccessFilter;

/// Entries on one page.
const PAGE_SIZE: i64 = 50;

/// `GET /office/audit?official=&case=&page=`.
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
    let asked = |name: &str| {
        query_value(query.as_deref(), name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && v.len() <= 200)
    };
    let filter = AccessFilter {
        official: asked("official"),
        case_id: asked("case"),
    };
    let page: i64 = asked("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| (1..=1_000_000).contains(p))
        .unwrap_or(1);
    let detail = format!(
        "read the access log{}{}, page {page}",
        filter
            .official
            .as_deref()
            .map(|o| format!(" of official {o}"))
            .unwrap_or_default(),
        filter
            .case_id
            .as_deref()
            .map(|_| " of one case")
            .unwrap_or_default(),
    );
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "audit",
        filter.case_id.as_deref(),
        &detail,
    )
    .await
    {
        return users::unavailable(&portal, &chrome, &e.to_string());
    }
    let (rows, total) = match portal
        .store
        .official_access(&filter, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        .await
    {
        Ok(read) => read,
        Err(e) => return users::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = blocking::zone(&compiled);
    let name_of = |id: &str| {
        model::by_id(&compiled.spec.officials, id)
            .map_or_else(|| id.to_string(), |o| o.name.clone())
    };
    let entries: Vec<Value> = rows
        .iter()
        .map(|row| {
            let e = &row.entry;
            json!({
                "when": words::at(&e.at, zone),
                "official": name_of(&e.official),
                "login": e.official,
                "action": e.action,
                "case": e.case_id,
                "detail": e.detail,
            })
        })
        .collect();
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64| {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(o) = &filter.official {
            query.append_pair("official", o);
        }
        if let Some(c) = &filter.case_id {
            query.append_pair("case", c);
        }
        query.append_pair("page", &p.to_string());
        format!("/office/audit?{}", query.finish())
    };
    let officials: Vec<Value> = compiled
        .spec
        .officials
        .iter()
        .map(|o| json!({ "id": o.id, "name": o.name, "selected": filter.official.as_deref() == Some(&o.id) }))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "office/audit.html",
        &chrome,
        json!({
            "entries": entries,
            "total": total,
            "page": page,
            "pages": pages,
            "previous": (page > 1).then(|| link(page - 1)),
            "next": (page < pages).then(|| link(page + 1)),
            "officials": officials,
            "case": filter.case_id,
            "filtered": filter.official.is_some() || filter.case_id.is_some(),
        }),
    )
}
