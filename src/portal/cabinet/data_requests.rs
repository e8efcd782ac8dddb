//! "Who asked for my data" (MIN-4; 003 §4.6): the gateway's records of what was released about
//! the signed-in person — when, to which body and system, from which register, why, on what
//! legal basis, which fields — newest first and paged; never the data itself, never another's.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::words;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::spec::Spec;
use crate::spec::model::ResponseField;
use crate::store::SubjectUseRecord;

/// Records on one page.
pub const PER_PAGE: i64 = 20;

/// `GET /cabinet/data-requests?page=`.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let page = match page_number(query.get("page").map(String::as_str)) {
        Ok(page) => page,
        Err(message) => {
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Такої сторінки немає",
                &message,
            );
        }
    };
    let Some(rnokpp) = citizen.rnokpp.as_deref() else {
        return portal.pages.render(
            StatusCode::OK,
            "cabinet/data-requests.html",
            &chrome,
            json!({"known": false, "uses": [], "page": 1, "pages": 1, "total": 0}),
        );
    };
    let found = match portal.store.subject_uses(rnokpp, page, PER_PAGE).await {
        Ok(found) => found,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar));
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let uses: Vec<Value> = found
        .uses
        .iter()
        .map(|u| view(&compiled.spec, u, zone))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "cabinet/data-requests.html",
        &chrome,
        json!({
            "known": true,
            "uses": uses,
            "page": page,
            "pages": pages,
            "total": found.total,
            "previous": (page > 1).then(|| page.min(pages + 1) - 1),
            "next": (page < pages).then_some(page + 1),
        }),
    )
}

/// The page asked for: 1 when none, else a whole number from 1.
fn page_number(text: Option<&str>) -> Result<i64, String> {
    let Some(text) = text else { return Ok(1) };
    match text.parse::<i64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(
            "Номер сторінки має бути цілим числом від 1. Перейдіть до першої сторінки переліку."
                .to_string(),
        ),
    }
}

/// One record as the person reads it, with the names the applied spec gives the bodies,
/// systems, register and fields.
fn view(spec: &Spec, u: &SubjectUseRecord, zone: chrono_tz::Tz) -> Value {
    let receiver = spec.subsystem(&u.receiver_system);
    let provider = spec.service(&u.provider);
    let fields: Vec<String> = u
        .fields
        .iter()
        .map(|f| {
            provider
                .and_then(|(_, s)| describe(&s.response.fields, f))
                .map_or_else(|| f.clone(), |d| format!("{d} ({f})"))
        })
        .collect();
    json!({
        "when": words::at(&u.logtime, zone),
        "receiver": receiver.map_or_else(|| u.receiver_name.clone(), |(p, _)| p.name.clone()),
        "receiver_system": receiver.map_or_else(|| u.receiver_system.clone(), |(_, s)| s.title.clone()),
        "provider": provider.map_or_else(|| u.provider.clone(), |(p, _)| p.name.clone()),
        "register": provider.map(|(_, s)| s.title.clone()),
        "purpose": u.purpose,
        "legal_basis": u.legal_basis,
        "fields": fields,
    })
}

/// What the field at dotted `path` holds, as its service declares it.
fn describe(fields: &[ResponseField], path: &str) -> Option<String> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let field = fields.iter().find(|f| f.name == head)?;
    match rest {
        Some(rest) => describe(&field.fields, rest),
        None => field.description.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_number_is_a_whole_number_from_one() {
        assert_eq!(page_number(None), Ok(1));
        assert_eq!(page_number(Some("3")), Ok(3));
        for wrong in ["0", "-1", "two", "1.5", "", "99999999999999999999"] {
            let refused = page_number(Some(wrong)).unwrap_err();
            assert!(refused.contains("цілим числом"), "{wrong}: {refused}");
        }
    }
}
