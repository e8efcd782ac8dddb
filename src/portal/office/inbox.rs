//! `/office`: the official's inbox — the open cases their roles may act on now, or assigned to
//! them, of the e-services their participant provides; filtered by e-service, state and due
//! (today, overdue, escalated), paged, each with its deadline in working days in words.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::access_log;
use super::case::{person, unavailable};
use super::deadlines;
use super::official::Official;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::{service_title, words};
use crate::spec::Spec;
use crate::spec::model::by_id;
use crate::store::{Due, InboxQuery, InboxRow, parse_time};
use crate::workflow::engine::{Engine, EngineError, Runnable};

/// Cases a page shows.
pub const PER_PAGE: i64 = 25;

/// The inbox's filters as the query string gives them; each is checked before use.
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    pub provider: Option<String>,
    pub state: Option<String>,
    pub due: Option<String>,
    pub page: Option<String>,
}

/// The filters checked: what the store is asked, or what is wrong with them in plain words.
struct Checked {
    e_service: Option<String>,
    state: Option<String>,
    due: Option<Due>,
    page: i64,
}

/// `GET /office`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Query(filters): Query<Filters>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::cabinet::starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let services = e_services_of(&compiled, official.participant());
    let states = states_of(&compiled, &services);
    let checked = match check(&filters, &services, &states) {
        Ok(c) => c,
        Err(why) => {
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Неправильний фільтр",
                &format!("{why}. Відкрийте перелік справ без фільтрів і виберіть їх знову."),
            );
        }
    };
    let now = portal.engine.clock().now();
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar));
    let query = InboxQuery {
        official: official.id.clone(),
        roles: official.roles.clone(),
        e_services: services.iter().map(|(id, _)| id.clone()).collect(),
        e_service: checked.e_service.clone(),
        state: checked.state.clone(),
        due: checked.due,
        now,
        end_of_today: deadlines::end_of_today(zone, now),
        page: checked.page,
        per_page: PER_PAGE,
    };
    let found = match portal.store.inbox(&query).await {
        Ok(found) => found,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let detail = format!(
        "page {}{}{}{}",
        checked.page,
        checked
            .e_service
            .as_deref()
            .map(|s| format!(", e-service {s}"))
            .unwrap_or_default(),
        checked
            .state
            .as_deref()
            .map(|s| format!(", state {s}"))
            .unwrap_or_default(),
        filters
            .due
            .as_deref()
            .map(|d| format!(", due {d}"))
            .unwrap_or_default(),
    );
    if let Err(e) = access_log::record(&portal.store, &official, "inbox", None, &detail).await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let rows = match rows(
        &portal.engine,
        &compiled.spec,
        &official.id,
        &found.cases,
        zone,
        now,
    )
    .await
    {
        Ok(rows) => rows,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |page: i64| {
        let mut q: Vec<String> = Vec::new();
        for (k, v) in [
            ("provider", &checked.e_service),
            ("state", &checked.state),
            ("due", &filters.due.clone().filter(|d| !d.is_empty())),
        ] {
            if let Some(v) = v {
                q.push(format!(
                    "{k}={}",
                    percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
                ));
            }
        }
        q.push(format!("page={page}"));
        format!("/office?{}", q.join("&"))
    };
    let view = json!({
        "name": official.name,
        "cases": rows,
        "total": found.total,
        "page": checked.page,
        "pages": pages,
        "previous": (checked.page > 1).then(|| link(checked.page - 1)),
        "next": (checked.page < pages).then(|| link(checked.page + 1)),
        "first": link(1),
        "filters": {
            "provider": checked.e_service,
            "state": checked.state,
            "due": filters.due.clone().unwrap_or_default(),
        },
        "services": services.iter().map(|(id, title)| json!({"id": id, "title": title})).collect::<Vec<_>>(),
        "states": states.iter().map(|(id, title)| json!({"id": id, "title": title})).collect::<Vec<_>>(),
        "dues": [
            {"id": "today", "title": "Строк спливає сьогодні"},
            {"id": "overdue", "title": "Прострочені"},
            {"id": "escalated", "title": "Передані через сплив строку"},
        ],
    });
    portal
        .pages
        .render(StatusCode::OK, "office/inbox.html", &chrome, view)
}

/// The inbox's rows of `cases` as `official` sees them at `now`: number, e-service, state
/// title, deadline in words, escalation and assignee, each case's pinned workflow read once.
pub async fn rows(
    engine: &Engine,
    spec: &Spec,
    official: &str,
    cases: &[InboxRow],
    zone: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> Result<Vec<Value>, EngineError> {
    let mut runnables: HashMap<(&str, &str), Arc<Runnable>> = HashMap::new();
    let mut rows = Vec::with_capacity(cases.len());
    for c in cases {
        let key = (c.revision.as_str(), c.workflow.as_str());
        let runnable = match runnables.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = engine.runnable(&c.revision, &c.workflow).await?;
                runnables.insert(key, r.clone());
                r
            }
        };
        let deadline = c
            .deadline_at
            .as_deref()
            .and_then(parse_time)
            .map(|d| deadlines::tell(&runnable.calendar, zone, d, now));
        rows.push(json!({
            "href": format!("/office/cases/{}", c.id),
            "number": c.number.clone().unwrap_or_else(|| c.id.clone()),
            "service": service_title(spec, &c.e_service),
            "state": runnable.definition.state(&c.state).map_or(c.state.as_str(), |s| s.label()),
            "deadline": deadline,
            "escalated": c.escalated == 1,
            "assignee": c.assignee.as_deref().map(|a| person(spec, a)),
            "mine": c.assignee.as_deref() == Some(official),
        }));
    }
    Ok(rows)
}

/// The e-services `participant` provides, as `(id, title)`, in the spec's order.
pub fn e_services_of(compiled: &Compiled, participant: &str) -> Vec<(String, String)> {
    compiled
        .spec
        .e_services
        .iter()
        .filter(|s| {
            s.provider
                .as_ref()
                .is_some_and(|p| p.participant == participant)
        })
        .map(|s| (s.id.clone(), service_title(&compiled.spec, &s.id)))
        .collect()
}

/// The open states of those e-services' workflows, as `(id, title)`, each id once.
fn states_of(compiled: &Compiled, services: &[(String, String)]) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = Vec::new();
    for (id, _) in services {
        let workflow = by_id(&compiled.spec.e_services, id)
            .and_then(|s| by_id(&compiled.spec.workflows, &s.workflow));
        for s in workflow.iter().flat_map(|w| &w.states) {
            if s.outcome.is_none() && !states.iter().any(|(known, _)| *known == s.id) {
                states.push((s.id.clone(), s.label().to_string()));
            }
        }
    }
    states
}

fn check(
    filters: &Filters,
    services: &[(String, String)],
    states: &[(String, String)],
) -> Result<Checked, String> {
    let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let e_service = given(&filters.provider);
    if let Some(s) = &e_service
        && !services.iter().any(|(id, _)| id == s)
    {
        return Err("Серед послуг вашої установи немає вибраної послуги".into());
    }
    let state = given(&filters.state);
    if let Some(s) = &state
        && !states.iter().any(|(id, _)| id == s)
    {
        return Err("Вибраного стану немає в порядку розгляду послуг вашої установи".into());
    }
    let due = match given(&filters.due).as_deref() {
        None => None,
        Some("today") => Some(Due::Today),
        Some("overdue") => Some(Due::Overdue),
        Some("escalated") => Some(Due::Escalated),
        Some(_) => {
            return Err(
                "Фільтр строку може бути лише «сьогодні», «прострочені» або «передані»".into(),
            );
        }
    };
    let page = match given(&filters.page) {
        None => 1,
        Some(p) => match p.parse::<i64>() {
            Ok(n) if (1..=100_000).contains(&n) => n,
            _ => return Err("Номер сторінки має бути цілим числом від 1".into()),
        },
    };
    Ok(Checked {
        e_service,
        state,
        due,
        page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Named = Vec<(String, String)>;

    fn lists() -> (Named, Named) {
        (
            vec![("material-aid".into(), "Допомога".into())],
            vec![("received".into(), "Отримано".into())],
        )
    }

    #[test]
    fn filters_are_checked_against_the_officials_own_services_and_states() {
        let (services, states) = lists();
        let f = |provider: &str, state: &str, due: &str, page: &str| Filters {
            provider: Some(provider.into()),
            state: Some(state.into()),
            due: Some(due.into()),
            page: Some(page.into()),
        };
        let ok = check(
            &f("material-aid", "received", "overdue", "2"),
            &services,
            &states,
        )
        .unwrap();
        assert_eq!(ok.e_service.as_deref(), Some("material-aid"));
        assert_eq!((ok.due, ok.page), (Some(Due::Overdue), 2));
        let empty = check(&f("", "", "", ""), &services, &states).unwrap();
        assert_eq!(
            (empty.e_service, empty.state, empty.due, empty.page),
            (None, None, None, 1)
        );
        for (bad, says) in [
            (f("water-connection", "", "", ""), "послуги"),
            (f("", "granted", "", ""), "стану"),
            (f("", "", "soon", ""), "строку"),
            (f("", "", "", "0"), "сторінки"),
            (f("", "", "", "two"), "сторінки"),
            (f("", "", "", "-1"), "сторінки"),
        ] {
            let why = check(&bad, &services, &states).err().unwrap();
            assert!(why.contains(says), "{why}");
        }
    }
}
