//! `/office/cases/{id}`: one case as an official works it — the application's fields with their
//! labels, its files and those the applicant added later, the registry data the case fetched,
//! the history and notices — with the actions the official may take now: take the case, and
//! each transition their roles may fire from its state, with the fields it asks for.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::access_log;
use super::deadlines;
use super::official::Official;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::application::{answer_pages, plain};
use crate::portal::attachments::size_text;
use crate::portal::cabinet::{service_title, words};
use crate::portal::forms::judge::FieldError;
use crate::portal::pages::Chrome;
use crate::spec::model::{Action, Form, Transition, by_id};
use crate::store::{CaseRow, parse_time};
use crate::workflow::engine::Runnable;

/// A case the official may see, with its pinned workflow.
pub struct Seen {
    pub case: CaseRow,
    pub runnable: Arc<Runnable>,
}

/// Case `id` if `official` may see it: a case of an e-service their participant provides, that
/// one of their roles works in its workflow, or that is assigned to them. Any other case, or
/// none, is the same 404 page, which says nothing of whether it exists.
pub async fn seen(
    portal: &PortalState,
    official: &Official,
    compiled: &Compiled,
    chrome: &Chrome,
    id: &str,
) -> Result<Seen, Response> {
    let case = match portal.store.case(id).await {
        Ok(Some(case)) => case,
        Ok(None) => return Err(not_found(portal, chrome)),
        Err(e) => return Err(unavailable(portal, chrome, &e.to_string())),
    };
    let runnable = match portal.engine.runnable(&case.revision, &case.workflow).await {
        Ok(r) => r,
        Err(e) => return Err(unavailable(portal, chrome, &e.to_string())),
    };
    let provider = by_id(&compiled.spec.e_services, &case.e_service)
        .or_else(|| runnable.definition.e_service(&case.e_service))
        .and_then(|s| s.provider.as_ref())
        .map(|p| p.participant.as_str());
    let theirs = provider == Some(official.participant());
    let works = case.assignee.as_deref() == Some(official.id.as_str())
        || roles_of(&runnable.definition.workflow)
            .iter()
            .any(|r| official.roles.contains(r));
    if !(theirs && works) {
        return Err(not_found(portal, chrome));
    }
    Ok(Seen { case, runnable })
}

/// The roles a workflow's states and transitions name (the applicant's aside).
fn roles_of(workflow: &crate::spec::model::Workflow) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    for s in &workflow.states {
        let named = s
            .role
            .iter()
            .chain(s.transitions.iter().filter_map(|t| t.role.as_ref()));
        for r in named {
            if r != "applicant" && !roles.contains(r) {
                roles.push(r.clone());
            }
        }
    }
    roles
}

/// `GET /office/cases/{id}`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::cabinet::starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let seen = match seen(&portal, &official, &compiled, &chrome, &id).await {
        Ok(seen) => seen,
        Err(page) => return page,
    };
    if let Err(e) = access_log::record(&portal.store, &official, "view-case", Some(&id), "").await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    render(&portal, &official, &compiled, &seen, &Posted::default()).await
}

/// A transition's form as it was posted, when the page is shown again with its errors.
#[derive(Default)]
pub struct Posted {
    pub event: Option<String>,
    pub values: Vec<(String, String)>,
    pub errors: Vec<FieldError>,
}

/// The case page of `seen`, with a refused form's values and errors.
pub async fn render(
    portal: &PortalState,
    official: &Official,
    compiled: &Compiled,
    seen: &Seen,
    posted: &Posted,
) -> Response {
    let chrome = official.chrome(compiled);
    let case = &seen.case;
    let definition = &seen.runnable.definition;
    let zone = words::zone_of(&definition.calendar);
    let read = tokio::try_join!(
        portal.store.application_of_case(&case.id),
        portal.store.case_files(&case.id),
        portal.store.case_events(&case.id),
        portal.store.case_notices(&case.id),
        portal.store.documents_of_case(&case.id),
    );
    let (application, added, history, notices, issued) = match read {
        Ok(read) => read,
        Err(e) => return unavailable(portal, &chrome, &e.to_string()),
    };
    let own_files = match &application {
        Some(a) => match portal.store.attachments_of(&a.draft_id).await {
            Ok(files) => files,
            Err(e) => return unavailable(portal, &chrome, &e.to_string()),
        },
        None => Vec::new(),
    };
    let document: Value = application
        .as_ref()
        .and_then(|a| serde_json::from_str(&a.document).ok())
        .unwrap_or(Value::Null);
    let form = document
        .pointer("/form/id")
        .and_then(Value::as_str)
        .and_then(|f| by_id(&compiled.spec.forms, f));
    let label_of = |attachment: &str| {
        form.and_then(|f| f.attachments.iter().find(|a| a.id == attachment))
            .map_or_else(|| attachment.to_string(), |a| a.label.clone())
    };
    let base = format!("/office/cases/{}", case.id);
    let mut files: Vec<Value> = own_files
        .iter()
        .map(|f| {
            json!({"label": label_of(&f.attachment), "name": f.file_name, "size": size_text(f.size),
                "href": format!("{base}/attachments/{}", f.n), "added": Value::Null})
        })
        .collect();
    files.extend(added.iter().map(|f| {
        json!({"label": "Додано заявником після подання", "name": f.file_name,
            "size": size_text(f.size), "href": format!("{base}/attachments/{}", f.n),
            "added": words::when(&f.added_at, zone)})
    }));
    let state = definition.state(&case.state);
    let now = portal.engine.clock().now();
    let deadline = case
        .deadline_at
        .as_deref()
        .and_then(parse_time)
        .map(|d| deadlines::tell(&seen.runnable.calendar, zone, d, now));
    let open = case.outcome.is_none();
    let take = open
        && case.assignee.as_deref() != Some(official.id.as_str())
        && case
            .role
            .as_ref()
            .is_some_and(|r| official.roles.contains(r));
    let transitions: Vec<Value> = if open {
        state
            .map(|s| s.transitions.iter().collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| {
                t.role
                    .as_ref()
                    .is_some_and(|r| r != "applicant" && official.roles.contains(r))
            })
            .map(|t| transition_view(compiled, definition, t, posted))
            .collect()
    } else {
        Vec::new()
    };
    let view = json!({
        "id": case.id,
        "number": application.as_ref().map(|a| a.number.clone()),
        "received_at": application.as_ref().map(|a| words::when(&a.received_at, zone)),
        "service": service_title(&compiled.spec, &case.e_service),
        "state": state.map_or(case.state.as_str(), |s| s.label()),
        "outcome": case.outcome,
        "applicant": case.applicant_name,
        "assignee": case.assignee.as_deref().map(|a| person(&compiled.spec, a)),
        "mine": case.assignee.as_deref() == Some(official.id.as_str()),
        "deadline": deadline,
        "answers": form.map(|f| answers(f, &document)).unwrap_or_default(),
        "raw_answers": if form.is_none() { case_data(&case.data) } else { Vec::new() },
        "files": files,
        "registry": registry(&case.registry),
        "history": history_view(&history, compiled, definition, zone),
        "notices": notices.iter().map(|n| json!({
            "when": words::when(&n.created_at, zone),
            "to": if n.recipient_kind == "applicant" { "заявнику".to_string() } else { person(&compiled.spec, &n.recipient) },
            "message": n.message,
        })).collect::<Vec<_>>(),
        "documents": issued_view(compiled, official, &issued, zone),
        "take": take,
        "version": case.version,
        "case_state": case.state,
        "key": uuid::Uuid::now_v7().to_string(),
        "transitions": transitions,
        "errors": posted.errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
    });
    let status = if posted.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    portal
        .pages
        .render(status, "office/case.html", &chrome, view)
}

/// An official by name and position, or their id when the spec no longer names them.
pub fn person(spec: &crate::spec::Spec, id: &str) -> String {
    by_id(&spec.officials, id)
        .map_or_else(|| id.to_string(), |o| format!("{}, {}", o.name, o.position))
}

fn answers(form: &Form, document: &Value) -> Vec<Value> {
    let data = document.get("data").cloned().unwrap_or(Value::Null);
    answer_pages(form, &data)
        .into_iter()
        .map(|p| {
            json!({"title": p.title, "rows": p.rows.into_iter()
                .map(|(label, value)| json!({"label": label, "value": value}))
                .collect::<Vec<_>>()})
        })
        .collect()
}

/// A case's data by field id, where no application gives the form's labels.
fn case_data(data: &str) -> Vec<Value> {
    let data: Value = serde_json::from_str(data).unwrap_or(Value::Null);
    flatten(&data, "")
        .into_iter()
        .map(|(label, value)| json!({"label": label, "value": value}))
        .collect()
}

/// The registry answers the case keeps, one section per service, each field by its path.
fn registry(text: &str) -> Vec<Value> {
    let registry: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    registry
        .as_object()
        .map(|services| {
            services
                .iter()
                .map(|(service, answer)| {
                    json!({"service": service, "rows": flatten(answer, "").into_iter()
                        .map(|(label, value)| json!({"label": label, "value": value}))
                        .collect::<Vec<_>>()})
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Every leaf of `value` as `(path, text)`.
fn flatten(value: &Value, prefix: &str) -> Vec<(String, String)> {
    match value {
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(v, &path)
            })
            .collect(),
        Value::Array(items) if items.iter().any(|v| v.is_object()) => items
            .iter()
            .enumerate()
            .flat_map(|(i, v)| flatten(v, &format!("{prefix}[{}]", i + 1)))
            .collect(),
        leaf => vec![(prefix.to_string(), plain(leaf))],
    }
}

/// The whole history as an official reads it: every event, who made it, and what was given.
fn history_view(
    events: &[crate::store::CaseEventRow],
    compiled: &Compiled,
    definition: &crate::compile::workflow::Definition,
    zone: chrono_tz::Tz,
) -> Vec<Value> {
    let title = |state: Option<&str>| {
        state.map_or_else(String::new, |s| {
            definition
                .state(s)
                .map_or_else(|| s.to_string(), |st| st.label().to_string())
        })
    };
    events
        .iter()
        .map(|e| {
            let detail: Value = serde_json::from_str(&e.detail).unwrap_or(Value::Null);
            let what = match e.kind.as_str() {
                "started" => format!("Справу розпочато: «{}»", title(e.to_state.as_deref())),
                "transition" => {
                    let t = e
                        .from_state
                        .as_deref()
                        .and_then(|s| definition.state(s))
                        .and_then(|s| s.transitions.iter().find(|t| Some(&t.event) == e.event.as_ref()))
                        .map_or_else(|| e.event.clone().unwrap_or_default(), |t| t.label().to_string());
                    format!("{t}: «{}» → «{}»", title(e.from_state.as_deref()), title(e.to_state.as_deref()))
                }
                "called" => format!(
                    "Запит до реєстру {}: {}",
                    detail["service"].as_str().unwrap_or_default(),
                    if detail["answered"] == true { "отримано відповідь" } else { "відповіді не отримано" }
                ),
                "decided" => format!("Рішення: {}", detail["reason"].as_str().unwrap_or_default()),
                "issued" => format!("Видано документ № {}", detail["number"].as_str().unwrap_or_default()),
                "assigned" => match detail["to"].as_str() {
                    Some(to) => format!("Виконавець: {}", person(&compiled.spec, to)),
                    None => "Справу повернуто в чергу ролі".to_string(),
                },
                "reminded" => "Нагадування про строк".to_string(),
                "overdue" => "Сплив строк розгляду в цьому стані".to_string(),
                "escalated" => format!(
                    "Строк сплив: справу передано ролі «{}»",
                    detail["role"].as_str().unwrap_or_default()
                ),
                "migrated" => format!("Порядок розгляду оновлено: «{}»", title(e.to_state.as_deref())),
                other => other.to_string(),
            };
            let given = detail
                .get("details")
                .and_then(Value::as_object)
                .map(|d| {
                    d.iter()
                        .filter(|(k, _)| k.as_str() != "outcome")
                        .map(|(k, v)| format!("{}: {}", field_label(k), plain(v)))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            json!({"when": words::when(&e.at, zone), "what": what, "who": who(compiled, &e.actor), "given": given})
        })
        .collect()
}

fn who(compiled: &Compiled, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("applicant", _)) => "Заявник".to_string(),
        Some(("official", id)) => person(&compiled.spec, id),
        _ => "Система".to_string(),
    }
}

/// What a transition asks the official: a comment or reason always; the message to the
/// applicant where it leads to a state in which the applicant acts (a request for documents);
/// the decision's fields its documents' templates use.
pub struct Asked {
    pub message: bool,
    /// `decision.<field>` names the transition's templates use, besides the outcome and date
    /// the engine sets.
    pub fields: Vec<String>,
    /// Which of those (and `reason`) must be given.
    pub required: Vec<String>,
}

/// What transition `t` of `definition` asks.
pub fn asked(
    compiled: &Compiled,
    definition: &crate::compile::workflow::Definition,
    t: &Transition,
) -> Asked {
    let target = definition.state(&t.to);
    let message = target.is_some_and(|s| {
        s.outcome.is_none()
            && s.transitions.iter().any(|x| {
                x.role.as_deref() == Some("applicant")
                    && definition
                        .state(&x.to)
                        .is_none_or(|to| to.outcome != Some(crate::spec::model::Outcome::Withdrawn))
            })
    });
    let mut fields: Vec<String> = Vec::new();
    for a in &t.actions {
        let Action::Issue(issue) = a else { continue };
        let template = definition
            .template(&issue.template)
            .or_else(|| by_id(&compiled.spec.templates, &issue.template));
        for f in template
            .map(|t| decision_fields(&t.body))
            .unwrap_or_default()
        {
            if !fields.contains(&f) {
                fields.push(f);
            }
        }
    }
    let outcome = target.and_then(|s| s.outcome);
    let required = match outcome {
        Some(crate::spec::model::Outcome::Granted) => fields
            .iter()
            .filter(|f| f.as_str() != "reason")
            .cloned()
            .collect(),
        Some(crate::spec::model::Outcome::Refused) => vec!["reason".to_string()],
        _ => Vec::new(),
    };
    Asked {
        message,
        fields,
        required,
    }
}

/// The `decision.<name>` fields a template's body reads, in order, without `outcome` and `date`.
pub fn decision_fields(body: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find("decision.") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "decision.".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() && name != "outcome" && name != "date" && !found.contains(&name) {
            found.push(name);
        }
    }
    found
}

/// How the page names a decision's field.
pub fn field_label(name: &str) -> String {
    match name {
        "reason" => "Підстава, коментар".into(),
        "amount" => "Сума, грн".into(),
        "documents_requested" => "Які документи потрібні".into(),
        other => other.replace('_', " "),
    }
}

fn transition_view(
    compiled: &Compiled,
    definition: &crate::compile::workflow::Definition,
    t: &Transition,
    posted: &Posted,
) -> Value {
    let asked = asked(compiled, definition, t);
    let this = posted.event.as_deref() == Some(t.event.as_str());
    let value = |name: &str| {
        this.then(|| {
            posted
                .values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
        .flatten()
        .unwrap_or_default()
    };
    let error = |name: &str| {
        let id = input_id(&t.event, name);
        posted
            .errors
            .iter()
            .find(|e| e.field == id)
            .map(|e| e.message.clone())
    };
    let mut inputs: Vec<Value> = Vec::new();
    if asked.message {
        inputs.push(json!({"name": "documents_requested", "id": input_id(&t.event, "documents_requested"),
            "label": field_label("documents_requested"), "hint": "Заявник побачить це в особистому кабінеті",
            "required": true, "multiline": true, "value": value("documents_requested"),
            "error": error("documents_requested")}));
    }
    for f in asked.fields.iter().filter(|f| f.as_str() != "reason") {
        let name = format!("decision.{f}");
        inputs.push(
            json!({"name": name, "id": input_id(&t.event, &name), "label": field_label(f),
            "hint": "", "required": asked.required.contains(f), "multiline": false,
            "value": value(&name), "error": error(&name)}),
        );
    }
    inputs.push(
        json!({"name": "reason", "id": input_id(&t.event, "reason"), "label": field_label("reason"),
        "hint": "", "required": asked.required.iter().any(|r| r == "reason"), "multiline": true,
        "value": value("reason"), "error": error("reason")}),
    );
    json!({"event": t.event, "title": t.label(), "inputs": inputs,
        "action": format!("transitions/{}", t.event)})
}

/// The HTML id of a transition form's input.
pub fn input_id(event: &str, name: &str) -> String {
    format!("{event}-{}", name.replace('.', "-"))
}

/// The page of a case the official may not see, or of none at all.
pub fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Справу не знайдено",
        "Серед справ, які ви можете розглядати, такої немає. Перевірте посилання або відкрийте \
         перелік справ.",
    )
}

/// The page shown when the store or the engine fails; `why` goes to the log, not to the page.
pub fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("the officials' cabinet cannot show a page: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Кабінет тимчасово недоступний",
        "Не вдалося прочитати дані справи. Спробуйте ще раз за кілька хвилин.",
    )
}

/// The documents the case issued, each with the way to revoke it where this official may: an
/// official of the participant that sealed it, with `applications-decide`.
fn issued_view(
    compiled: &Compiled,
    official: &Official,
    issued: &[crate::store::DocumentRow],
    zone: chrono_tz::Tz,
) -> Vec<Value> {
    let may_revoke = official.may(compiled, crate::spec::model::Permission::ApplicationsDecide);
    issued
        .iter()
        .map(|d| {
            json!({
                "title": d.title,
                "number": d.number,
                "issued_at": words::when(&d.issued_at, zone),
                "revoke_url": (may_revoke && d.sealed_by == official.participant())
                    .then(|| format!("/office/documents/{}/revoke", d.id)),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_templates_decision_fields_are_found_once_in_order() {
        let body = "Сума {{ decision.amount }} грн {% if decision.outcome == \"granted\" %}\
                    {{ decision.reason }} {{ decision.date }} {{ decision.amount }} \
                    {{ mydecision.x }} {{ registry.decision.y }}";
        assert_eq!(decision_fields(body), ["amount", "reason"]);
        assert!(decision_fields("Без рішення").is_empty());
    }

    #[test]
    fn registry_answers_read_as_paths() {
        let mut rows = flatten(
            &json!({"registered": true, "address": {"street": "Соборний", "flat": 7},
                    "members": [{"name": "А"}, {"name": "Б"}], "codes": ["x", "y"]}),
            "",
        );
        rows.sort();
        assert_eq!(
            rows,
            [
                ("address.flat".to_string(), "7".to_string()),
                ("address.street".into(), "Соборний".into()),
                ("codes".into(), "x, y".into()),
                ("members[1].name".into(), "А".into()),
                ("members[2].name".into(), "Б".into()),
                ("registered".into(), "так".into()),
            ]
        );
    }
}
