//! `/registry/cards/{id}/resolutions`: a card's resolution tree (each with its executors and
//! the state of their work, its canonical JSON and seal to download), the form of a new one
//! (`parent` for a co-executor's own), and the control forms: deadline, removal, до справи.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::tasks::fresh_key;
use super::write::{NewResolution, resolve};
use super::{Opened, field, fields, not_found, open_card, participant_of};
use crate::portal::PortalState;
use crate::portal::forms::{posted_csrf, see_other};
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::unavailable;
use crate::store::{ResolutionExecutorRow, ResolutionRow};

/// The resolutions as a tree: each with its children, depth first.
fn tree(
    all: &[ResolutionRow],
    executors: &[ResolutionExecutorRow],
    states: &[(String, String, bool)],
    parent: Option<&str>,
    depth: usize,
    out: &mut Vec<Value>,
) {
    for r in all.iter().filter(|r| r.parent.as_deref() == parent) {
        let work: Vec<Value> = executors
            .iter()
            .filter(|e| e.resolution_id == r.id)
            .map(|e| {
                let (state, open) = states
                    .iter()
                    .find(|(c, _, _)| *c == e.case_id)
                    .map(|(_, s, o)| (s.clone(), *o))
                    .unwrap_or_default();
                json!({"official": e.official, "relation": e.relation, "case": e.case_id,
                       "state": state, "open": open})
            })
            .collect();
        let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
        out.push(json!({
            "id": r.id,
            "depth": depth,
            "author": r.author,
            "acting_for": r.acting_for.clone().unwrap_or_default(),
            "main": r.main_executor,
            "co": list(&r.co_executors),
            "informed": list(&r.informed),
            "task": r.task,
            "deadline": r.deadline,
            "interim": r.interim_deadline.clone().unwrap_or_default(),
            "created_at": r.created_at,
            "work": work,
        }));
        tree(all, executors, states, Some(&r.id), depth + 1, out);
    }
}

/// `GET /registry/cards/{id}/resolutions`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let opened = match open_card(&portal, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    match render(&portal, &official, &opened).await {
        Ok(page) => page,
        Err(e) => unavailable(&portal, &opened.chrome, &e),
    }
}

async fn render(
    portal: &PortalState,
    official: &Official,
    opened: &Opened,
) -> Result<Response, String> {
    let store = &portal.store;
    let card = &opened.card;
    let all = store
        .resolutions_of(&card.id)
        .await
        .map_err(|e| e.to_string())?;
    let executors = store
        .card_executors(&card.id)
        .await
        .map_err(|e| e.to_string())?;
    let mut states = Vec::new();
    for e in &executors {
        if let Some(c) = store.case(&e.case_id).await.map_err(|e| e.to_string())? {
            states.push((c.id, c.state, c.outcome.is_none()));
        }
    }
    let mut rows = Vec::new();
    tree(&all, &executors, &states, None, 0, &mut rows);
    let colleagues: Vec<Value> = opened
        .compiled
        .spec
        .officials
        .iter()
        .filter(|o| participant_of(&o.unit) == card.participant)
        .map(|o| json!({"id": o.id, "name": o.name, "position": o.position}))
        .collect();
    let mine: Vec<Value> = executors
        .iter()
        .filter(|e| {
            e.official == official.id
                || opened
                    .reader
                    .delegations
                    .iter()
                    .any(|d| d.principal == e.official && d.decide == 1)
        })
        .map(|e| json!(e.resolution_id))
        .collect();
    access_log::record(store, official, "view-resolutions", Some(&card.id), "")
        .await
        .map_err(|e| e.to_string())?;
    Ok(portal.pages.render(
        StatusCode::OK,
        "registry/resolutions.html",
        &opened.chrome,
        json!({
            "card": {
                "id": card.id,
                "number": card.reg_number.clone().unwrap_or_default(),
                "date": card.reg_date.clone().unwrap_or_default(),
                "status": card.status,
                "control": card.control,
                "deadline": card.deadline.clone().unwrap_or_default(),
                "executor": card.executor.clone().unwrap_or_default(),
                "version": card.version,
            },
            "resolutions": rows,
            "officials": colleagues,
            "parents": mine,
            "key": fresh_key(),
        }),
    ))
}

/// `POST /registry/cards/{id}/resolutions` (`csrf`, `key`, `parent`, `main`, `co` (many),
/// `informed` (many), `task`, `deadline` or `days`, `interim`).
pub async fn post(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match open_card(&portal, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    if let Err(page) = official.check_csrf(posted_csrf(&pairs)) {
        return page;
    }
    let Some(key) = field(&pairs, "key") else {
        return super::Refusal::invalid("У формі немає ключа; відкрийте сторінку знову.")
            .page(&portal, &opened.chrome);
    };
    let request = NewResolution {
        key,
        parent: field(&pairs, "parent"),
        main: fields(&pairs, "main"),
        co: fields(&pairs, "co"),
        informed: fields(&pairs, "informed"),
        task: field(&pairs, "task").unwrap_or_default(),
        deadline: field(&pairs, "deadline"),
        days: field(&pairs, "days"),
        interim: field(&pairs, "interim"),
    };
    let done = resolve(&portal, &opened, &official, &request).await;
    let detail = match &done {
        Ok(r) => r.id.clone(),
        Err(r) => format!("refused {}", r.status.as_u16()),
    };
    if let Err(e) =
        access_log::record(&portal.store, &official, "resolve", Some(&id), &detail).await
    {
        return unavailable(&portal, &opened.chrome, &e.to_string());
    }
    match done {
        Ok(_) => see_other(&format!("/registry/cards/{id}/resolutions")),
        Err(r) => r.page(&portal, &opened.chrome),
    }
}

/// `GET /registry/cards/{id}/resolutions/{res}/canonical.json`: the bytes the seal covers.
pub async fn canonical(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, res)): Path<(String, String)>,
) -> Response {
    download(&portal, &official, &id, &res, false).await
}

/// `GET /registry/cards/{id}/resolutions/{res}/seal.p7s`: the detached CMS seal (DER).
pub async fn seal(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, res)): Path<(String, String)>,
) -> Response {
    download(&portal, &official, &id, &res, true).await
}

async fn download(
    portal: &PortalState,
    official: &Official,
    id: &str,
    res: &str,
    seal: bool,
) -> Response {
    let opened = match open_card(portal, official, id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let row = match portal.store.resolution(res).await {
        Ok(Some(r)) if r.card_id == opened.card.id => r,
        Ok(_) => return not_found(portal, &opened.chrome),
        Err(e) => return unavailable(portal, &opened.chrome, &e.to_string()),
    };
    if let Err(e) = access_log::record(
        &portal.store,
        official,
        "download-resolution",
        Some(id),
        res,
    )
    .await
    {
        return unavailable(portal, &opened.chrome, &e.to_string());
    }
    if seal {
        (
            [(header::CONTENT_TYPE, "application/pkcs7-signature")],
            row.seal,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/json")], row.canonical).into_response()
    }
}
