//! `/registry/cards/{id}/history` (REG-4): every change of a card from the case history chain —
//! when, who, acting for whom, what, each field's old and new value — with the work its
//! resolutions started, and a badge saying whether the chain holds these events intact.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::cards::{self, page::status_words};
use super::labels;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::words;
use crate::portal::office::access_log;
use crate::portal::office::blocking::zone;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::spec::model::{Permission, by_id};
use crate::store::{CardRow, CaseEventRow, GENESIS_HASH, Store, StoreError, case_event_hash};

/// `GET /registry/cards/{id}/history`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let zone = zone(&compiled);
    if !Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p))
        && let Err(refused) = official
            .require(&portal, &compiled, Permission::DocumentsRead)
            .await
    {
        return refused;
    }
    let card = match cards::open(&portal, &compiled, &official, &id).await {
        Ok(opened) => opened.card,
        Err(page) => return page,
    };
    let read = tokio::try_join!(
        portal.store.case_events(&card.id),
        portal.store.card_case_events(&card.id),
    );
    let (events, work) = match read {
        Ok(read) => read,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let check = match chain_check(&portal.store, &card, &events, &work).await {
        Ok(check) => check,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "view-card-history",
        Some(&card.id),
        "",
    )
    .await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    let rows: Vec<Value> = events
        .iter()
        .map(|e| card_row(e, &compiled, zone))
        .collect();
    let states = state_labels(&portal, &work).await;
    let work: Vec<Value> = work
        .iter()
        .map(|e| work_row(e, &compiled, &states, zone))
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "registry/history.html",
        &chrome,
        json!({
            "card": {
                "id": card.id,
                "number": card.reg_number.clone().unwrap_or_default(),
                "reg_date": card.reg_date.clone().unwrap_or_default(),
                "status": status_words(&card.status),
                "version": card.version,
            },
            "events": rows,
            "work": work,
            "check": check,
        }),
    )
}

/// One change of the card as the page shows it.
fn card_row(e: &CaseEventRow, compiled: &Compiled, zone: Tz) -> Value {
    let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
    let changes: Vec<Value> = detail["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| {
            let field = c["field"].as_str()?;
            Some(json!({
                "label": labels::field(field),
                "old": value_text(field, &c["old"], compiled),
                "new": value_text(field, &c["new"], compiled),
            }))
        })
        .collect();
    json!({
        "seq": e.seq,
        "when": words::when(&e.at, zone),
        "at": e.at,
        "who": who(&e.actor, compiled),
        "acting_for": e.on_behalf.as_deref().map(|p| who(p, compiled)).unwrap_or_default(),
        "what": labels::change(&e.kind),
        "note": note_text(&detail["note"]),
        "version": detail["version"].as_i64().unwrap_or_default(),
        "changes": changes,
    })
}

/// The titles of the states of the work's cases, by case and state, from each case's pinned
/// workflow; a case whose workflow cannot be read keeps its states' ids.
async fn state_labels(
    portal: &PortalState,
    work: &[CaseEventRow],
) -> HashMap<(String, String), String> {
    let mut labels = HashMap::new();
    let mut ids: Vec<&str> = work.iter().map(|e| e.case_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let Ok(Some(case)) = portal.store.case(id).await else {
            continue;
        };
        let Ok(runnable) = portal.engine.runnable(&case.revision, &case.workflow).await else {
            continue;
        };
        for state in &runnable.definition.workflow.states {
            if let Some(s) = runnable.definition.state(&state.id) {
                labels.insert((id.to_string(), state.id.clone()), s.label().to_string());
            }
        }
    }
    labels
}

/// One event of the executors' work on the card.
fn work_row(
    e: &CaseEventRow,
    compiled: &Compiled,
    states: &HashMap<(String, String), String>,
    zone: Tz,
) -> Value {
    let state = |s: &String| {
        states
            .get(&(e.case_id.clone(), s.clone()))
            .unwrap_or(s)
            .clone()
    };
    let what = match (e.kind.as_str(), &e.from_state, &e.to_state) {
        ("started", _, Some(to)) => format!("Розпочато виконання: «{}»", state(to)),
        ("transition", Some(from), Some(to)) => format!("«{}» → «{}»", state(from), state(to)),
        ("assigned", _, _) => "Доручення взято до виконання".to_string(),
        ("reminded", _, _) => "Нагадування про строк".to_string(),
        ("escalated", _, _) => "Строк під загрозою: повідомлено керівника".to_string(),
        ("overdue", _, _) => "Строк виконання минув".to_string(),
        (kind, _, _) => kind.to_string(),
    };
    json!({
        "seq": e.seq,
        "case": e.case_id,
        "when": words::when(&e.at, zone),
        "who": who(&e.actor, compiled),
        "acting_for": e.on_behalf.as_deref().map(|p| who(p, compiled)).unwrap_or_default(),
        "what": what,
    })
}

/// An actor as people read it: an official by name and position; the engine's own actors by
/// what they are; anyone else (an applicant) without their identity.
fn who(actor: &str, compiled: &Compiled) -> String {
    match actor.split_once(':') {
        Some(("official", id)) => official_name(id, compiled),
        _ if actor == "timer" => "Контроль строків (автоматично)".into(),
        _ if actor == "engine" => "Система".into(),
        Some(("applicant", _)) => "Заявник".into(),
        _ => "Система".into(),
    }
}

/// An official of the spec by name and position; their id when the spec no longer has them.
fn official_name(id: &str, compiled: &Compiled) -> String {
    by_id(&compiled.spec.officials, id)
        .map_or_else(|| id.to_string(), |o| format!("{}, {}", o.name, o.position))
}

/// A field's value as text: dates and words as they are, an executor by name, a status and
/// control in words, lists joined, nothing as a dash.
fn value_text(field: &str, value: &Value, compiled: &Compiled) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => match field {
            "status" => status_words(s).to_string(),
            "control" => labels::control(s).to_string(),
            "executor" => official_name(s, compiled),
            "executed_at" | "archived_at" => words::when(s, zone(compiled)),
            "addressees" | "related" | "extra" => json_text(s),
            _ => s.clone(),
        },
        Value::Number(n) if field == "paper" => if n.as_i64() == Some(1) {
            "так"
        } else {
            "ні"
        }
        .into(),
        other => other.to_string(),
    }
}

/// A JSON list or object kept as text, readably: `a; b` or `key: value; …`.
fn json_text(text: &str) -> String {
    let shown = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) if items.is_empty() => "—".into(),
        Ok(Value::Array(items)) => items.iter().map(shown).collect::<Vec<_>>().join("; "),
        Ok(Value::Object(map)) if map.is_empty() => "—".into(),
        Ok(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| format!("{k}: {}", shown(v)))
            .collect::<Vec<_>>()
            .join("; "),
        _ => text.to_string(),
    }
}

/// A change's note (a reason, a file added) as text.
fn note_text(note: &Value) -> String {
    match note {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Object(map) if map.is_empty() => String::new(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// Whether the chain holds the card's and its work's events intact: each event's hash
/// recomputed, linked to the event before it and by the one after it (or the head), the card's
/// versions one after another up to the row's. `{ok, text}` naming the first broken event.
async fn chain_check(
    store: &Store,
    card: &CardRow,
    events: &[CaseEventRow],
    work: &[CaseEventRow],
) -> Result<Value, StoreError> {
    let mut problem = versions_problem(card, events);
    if problem.is_none() {
        let head = store.case_events_head().await?;
        let mut ids: Vec<&str> = std::iter::once(card.id.as_str())
            .chain(work.iter().map(|e| e.case_id.as_str()))
            .collect();
        ids.dedup();
        for id in ids {
            let neighbours = store.case_event_neighbours(id).await?;
            let own: Vec<&CaseEventRow> = events
                .iter()
                .chain(work)
                .filter(|e| e.case_id == id)
                .collect();
            if let Some(p) = link_problem(&own, &neighbours, &head) {
                problem = Some(p);
                break;
            }
        }
    }
    Ok(match problem {
        None => json!({"ok": true, "text": "Цілісність підтверджено: кожен запис історії \
             збігається зі своїм хешем і зчеплений з ланцюгом історії."}),
        Some(text) => json!({"ok": false, "text": text}),
    })
}

/// A break in the card's versions: a deleted event, or a row moved without one.
fn versions_problem(card: &CardRow, events: &[CaseEventRow]) -> Option<String> {
    let mut version = 0;
    for e in events {
        let v = serde_json::from_str::<Value>(&e.detail)
            .ok()
            .and_then(|d| d["version"].as_i64());
        if v != Some(version + 1) {
            return Some(format!(
                "Цілісність порушено: запис {} не є наступною версією картки (очікувалася \
                 версія {}); записи історії видалено або змінено.",
                e.seq,
                version + 1
            ));
        }
        version += 1;
    }
    (version != card.version).then(|| {
        format!(
            "Цілісність порушено: картка має версію {}, а її історія закінчується версією \
             {version}; картку змінено поза історією або останні записи видалено.",
            card.version
        )
    })
}

/// The first of `own` (one case's events, by seq) whose hash, or link to its neighbours in the
/// chain (`neighbours` as `(seq, prev_hash, hash)`, and the head), does not hold.
fn link_problem(
    own: &[&CaseEventRow],
    neighbours: &[(i64, String, String)],
    head: &(i64, String),
) -> Option<String> {
    let at = |seq: i64| {
        own.iter()
            .find(|e| e.seq == seq)
            .map(|e| (e.prev_hash.as_str(), e.hash.as_str()))
            .or_else(|| {
                neighbours
                    .iter()
                    .find(|n| n.0 == seq)
                    .map(|n| (n.1.as_str(), n.2.as_str()))
            })
    };
    for e in own {
        let broken = |why: &str| {
            Some(format!(
                "Цілісність порушено: запис {} ({}) {why}.",
                e.seq, e.case_id
            ))
        };
        if case_event_hash(&e.prev_hash, e.seq, &e.as_new()) != e.hash {
            return broken("змінено після того, як його записали: хеш не збігається із вмістом");
        }
        let before = if e.seq == 1 {
            Some(GENESIS_HASH)
        } else {
            at(e.seq - 1).map(|(_, hash)| hash)
        };
        if before != Some(e.prev_hash.as_str()) {
            return broken("не зчеплений із попереднім записом ланцюга");
        }
        let linked_after = match at(e.seq + 1) {
            Some((prev, _)) => prev == e.hash,
            None => head.0 == e.seq && head.1 == e.hash,
        };
        if !linked_after {
            return broken("не зчеплений із наступним записом ланцюга");
        }
    }
    None
}
