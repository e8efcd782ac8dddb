//! What the cases API shows of a case and its history: the stored rows turned into the JSON the
//! OpenAPI document declares (`docs/api/cases.openapi.json`), states named by the case's own
//! pinned definition.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::compile::workflow::Definition;
use crate::store::{CaseEventRow, CaseRow};

/// A case as lists show it.
pub fn summary(case: &CaseRow, definition: Option<&Definition>, now: DateTime<Utc>) -> Value {
    let state = definition.and_then(|d| d.state(&case.state));
    json!({
        "id": case.id,
        "workflow": case.workflow,
        "e_service": case.e_service,
        "revision": case.revision,
        "state": {
            "id": case.state,
            "title": state.map_or(case.state.as_str(), |s| s.label()),
            "role": state.and_then(|s| s.role.clone()),
            "final": case.outcome.is_some() || state.is_some_and(|s| s.outcome.is_some()),
        },
        "outcome": case.outcome,
        "applicant": case.applicant,
        "role": case.role,
        "assignee": case.assignee,
        "deadline_at": case.deadline_at,
        "overdue": overdue(case, now),
        "version": case.version,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
    })
}

/// A case whole: its data, what its calls fetched, its decision and the transitions out of the
/// state it is in.
pub fn case(case: &CaseRow, definition: Option<&Definition>, now: DateTime<Utc>) -> Value {
    let mut view = summary(case, definition, now);
    let transitions: Vec<Value> = definition
        .and_then(|d| d.state(&case.state))
        .map(|state| {
            state
                .transitions
                .iter()
                .map(|t| {
                    json!({
                        "event": t.event,
                        "title": t.label(),
                        "to": t.to,
                        "role": t.role,
                        "automatic": t.role.is_none(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let fields = view.as_object_mut().expect("a summary is an object");
    fields.insert("applicant_name".into(), json!(case.applicant_name));
    fields.insert("applicant_email".into(), json!(case.applicant_email));
    fields.insert("state_entered_at".into(), json!(case.state_entered_at));
    fields.insert("data".into(), object(&case.data));
    fields.insert("registry".into(), object(&case.registry));
    fields.insert(
        "decision".into(),
        case.decision.as_deref().map_or(Value::Null, parsed),
    );
    fields.insert("transitions".into(), Value::Array(transitions));
    view
}

/// One event of a case's history.
pub fn event(e: &CaseEventRow) -> Value {
    json!({
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "on_behalf": e.on_behalf,
        "kind": e.kind,
        "event": e.event,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "detail": parsed(&e.detail),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    })
}

/// Whether an open case is past its state's deadline at `now`.
pub fn overdue(case: &CaseRow, now: DateTime<Utc>) -> bool {
    case.outcome.is_none()
        && case
            .deadline_at
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .is_some_and(|deadline| deadline < now)
}

/// Stored JSON text; text that is not JSON (a row written by hand) is shown as the string it is.
fn parsed(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()))
}

fn object(text: &str) -> Value {
    match parsed(text) {
        Value::Object(map) => Value::Object(map),
        _ => Value::Object(Map::new()),
    }
}
