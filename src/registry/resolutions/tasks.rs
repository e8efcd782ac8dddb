//! The executors' work (004 §5.1): `/registry/tasks` lists what an official has to execute
//! (their own and, as a deputy, their principals'), what awaits their resolution and their
//! notices; `/registry/tasks/{case}` shows one task, takes it and reports it executed with a
//! mark: the case ends, and when every main executor's case has ended the card is executed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::write::{engine_refusal, stale};
use super::{MAX_TEXT, Refusal, begin, field, not_found};
use crate::portal::PortalState;
use crate::portal::forms::{posted_csrf, see_other};
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::unavailable;
use crate::spec::model::Permission;
use crate::store::{CardChange, TaskRow, time_text};
use crate::workflow::engine::Fire;

/// The state names of the execution workflow as officials read them.
fn state_label(state: &str, outcome: Option<&str>) -> &'static str {
    match (state, outcome) {
        (_, Some(_)) => "Виконано",
        ("assigned", _) => "Доручено",
        ("in-work", _) => "На виконанні",
        _ => "У роботі",
    }
}

fn task_view(t: &TaskRow, me: &str, today: &str) -> Value {
    json!({
        "case": t.case_id,
        "card": t.card_id,
        "number": t.reg_number.clone().unwrap_or_default(),
        "task": t.task,
        "deadline": t.deadline,
        "relation": if t.relation == "main" { "головний виконавець" } else { "співвиконавець" },
        "state": state_label(&t.state, t.outcome.as_deref()),
        "open": t.outcome.is_none(),
        "overdue": t.outcome.is_none() && t.deadline.as_str() < today,
        "for": if t.official == me { String::new() } else { t.official.clone() },
    })
}

/// `GET /registry/tasks`.
pub async fn list(State(portal): State<PortalState>, official: Official) -> Response {
    let (compiled, chrome, reader) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let mine = Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p));
    if !mine && reader.delegations.is_empty() {
        if let Err(page) = official
            .require(&portal, &compiled, Permission::DocumentsExecute)
            .await
        {
            return page;
        }
    }
    let principals: Vec<String> = reader
        .delegations
        .iter()
        .map(|d| d.principal.clone())
        .collect();
    let store = &portal.store;
    let tasks = match store.tasks_of(&official.id, &principals, 500).await {
        Ok(t) => t,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let to_resolve = if official.may(&compiled, Permission::DocumentsResolve) {
        match store
            .cards_awaiting_resolution(&reader.participant, 100)
            .await
        {
            Ok(cards) => cards
                .iter()
                .map(|c| {
                    json!({"id": c.id, "number": c.reg_number.clone().unwrap_or_default(),
                           "date": c.reg_date.clone().unwrap_or_default()})
                })
                .collect(),
            Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
        }
    } else {
        Vec::new()
    };
    let notices = match store.notices_for("official", &official.id, 20).await {
        Ok(n) => n
            .iter()
            .map(|n| json!({"message": n.message, "at": n.created_at}))
            .collect::<Vec<_>>(),
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let views: Vec<Value> = tasks
        .iter()
        .map(|t| task_view(t, &official.id, &reader.today))
        .collect();
    if let Err(e) = access_log::record(store, &official, "tasks", None, "").await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/tasks.html",
        &chrome,
        json!({"tasks": views, "to_resolve": to_resolve, "notices": notices}),
    )
}

/// Task `case` if `official` works it or acts for who does: the task, and the principal they
/// act for (`None` in their own right). `decide` asks for a delegation with authority to decide.
async fn task_of(
    portal: &PortalState,
    reader: &crate::registry::access::Reader,
    case: &str,
    decide: bool,
) -> Result<Option<(TaskRow, Option<String>)>, Refusal> {
    let Some(task) = portal.store.task(case).await? else {
        return Ok(None);
    };
    if task.official == reader.official {
        return Ok(Some((task, None)));
    }
    let deputy = reader
        .delegations
        .iter()
        .find(|d| d.principal == task.official && (!decide || d.decide == 1));
    Ok(deputy.map(|d| {
        let principal = d.principal.clone();
        (task, Some(principal))
    }))
}

/// `GET /registry/tasks/{case}`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(case): Path<String>,
) -> Response {
    let (_compiled, chrome, reader) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let (task, acting_for) = match task_of(&portal, &reader, &case, false).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(&portal, &chrome),
        Err(r) => return r.page(&portal, &chrome),
    };
    let history = match portal.engine.history(&case).await {
        Ok(h) => h,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let events: Vec<Value> = history
        .iter()
        .map(|e| {
            json!({"at": e.at, "kind": e.kind, "actor": e.actor,
                   "on_behalf": e.on_behalf.clone().unwrap_or_default()})
        })
        .collect();
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "view-task",
        Some(&task.card_id),
        &case,
    )
    .await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let mut view = task_view(&task, &official.id, &reader.today);
    view["raw_state"] = json!(task.state);
    portal.pages.render(
        StatusCode::OK,
        "registry/task.html",
        &chrome,
        json!({
            "task": view,
            "acting_for": acting_for.unwrap_or_default(),
            "events": events,
            "key": fresh_key(),
        }),
    )
}

/// A random key for a form, so that posting it twice does one thing.
pub fn fresh_key() -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    hex::encode(bytes)
}

/// `POST /registry/tasks/{case}` (`csrf`, `action` = `take` | `execute`, `state`, `key`,
/// `mark` for `execute`).
pub async fn post(
    State(portal): State<PortalState>,
    official: Official,
    Path(case): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (compiled, chrome, reader) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if let Err(page) = official.check_csrf(posted_csrf(&pairs)) {
        return page;
    }
    let (task, acting_for) = match task_of(&portal, &reader, &case, true).await {
        Ok(Some(t)) => t,
        Ok(None) => return not_found(&portal, &chrome),
        Err(r) => return r.page(&portal, &chrome),
    };
    let action = field(&pairs, "action").unwrap_or_default();
    let done = match (field(&pairs, "state"), field(&pairs, "key")) {
        (Some(state), Some(key)) => {
            report(
                &portal,
                &official,
                &task,
                acting_for.as_deref(),
                (action, state, key),
                field(&pairs, "mark"),
            )
            .await
        }
        _ => Err(Refusal::invalid(
            "У формі немає стану або ключа; відкрийте доручення знову.",
        )),
    };
    let _ = compiled;
    let detail = match &done {
        Ok(()) => action.to_string(),
        Err(r) => format!("{action} refused {}", r.status.as_u16()),
    };
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "task",
        Some(&task.card_id),
        &detail,
    )
    .await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    match done {
        Ok(()) => see_other(&format!("/registry/tasks/{case}")),
        Err(r) => r.page(&portal, &chrome),
    }
}

/// Takes the task, or reports it executed with `mark`: the case's transition and the card's
/// change in one transaction.
async fn report(
    portal: &PortalState,
    official: &Official,
    task: &TaskRow,
    acting_for: Option<&str>,
    (action, state, key): (&str, &str, &str),
    mark: Option<&str>,
) -> Result<(), Refusal> {
    let actor = official.actor();
    let behalf = acting_for.map(|p| format!("official:{p}"));
    let key = format!("registry:{}:{action}:{key}", official.id);
    let fire = |event| Fire {
        key: &key,
        case_id: &task.case_id,
        event,
        actor: &actor,
        on_behalf: behalf.as_deref(),
        seen_state: state,
    };
    match action {
        "take" => {
            portal
                .engine
                .fire(fire("take"))
                .await
                .map_err(engine_refusal)?;
            Ok(())
        }
        "execute" => {
            let mark = mark
                .filter(|m| m.chars().count() <= MAX_TEXT)
                .ok_or_else(|| Refusal::invalid("Напишіть відмітку про виконання: що зроблено."))?;
            let store = &portal.store;
            let at = official.now();
            let mut tx = store.begin().await?;
            let before = store
                .card_in(&mut tx, &task.card_id)
                .await?
                .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Документа немає."))?;
            portal
                .engine
                .fire_in(&mut tx, fire("execute"))
                .await
                .map_err(engine_refusal)?;
            let mut after = before.clone();
            let kind = if task.relation == "main" {
                after.execution_mark = Some(mark.to_string());
                if store.open_main_work_in(&mut tx, &task.card_id).await? == 0
                    && before.status == "registered"
                {
                    after.status = "executed".into();
                    after.executed_at = Some(time_text(&at));
                    if after.control == "on" {
                        after.control = "removed".into();
                    }
                    "executed"
                } else {
                    "work-reported"
                }
            } else {
                "work-reported"
            };
            after.version = before.version + 1;
            after.updated_at = time_text(&at);
            let written = store
                .write_card(
                    &mut tx,
                    &CardChange {
                        before: Some(&before),
                        after: &after,
                        actor: &actor.label(),
                        on_behalf: behalf.as_deref(),
                        kind,
                        note: json!({"case": task.case_id, "relation": task.relation, "mark": mark}),
                        at,
                    },
                )
                .await?;
            if !written {
                return Err(stale());
            }
            tx.commit().await?;
            tracing::info!(card = %task.card_id, case = %task.case_id, official = %official.id, "work on a card was reported executed");
            Ok(())
        }
        _ => Err(Refusal::invalid("Невідома дія з дорученням.")),
    }
}
