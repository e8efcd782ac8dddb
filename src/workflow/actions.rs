//! Writing a planned move inside its transaction: the transition events, the actions of each
//! transition (`decide`, `notify`, `issue`), the registry answers of each state entered, the
//! timers of its deadline, and the case row, written only if nobody changed it meanwhile.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::spec::model::{Action, Issue, Notify, RecordClass, State, Transition};
use crate::store::{NewMail, NewNotice, NewTimer, TimerKind, Tx, time_text};

use super::calls::RegistryAnswer;
use super::documents::{self, IssueRequest};
use super::engine::{
    Actor, Draft, Engine, EngineError, Moved, PlannedStep, Runnable, Step, merge_decision,
    new_event,
};
use super::result_pdf::Signatory;
use super::retention_class::rule_for;
use crate::compile::workflow::Person;

/// Writes `steps` onto `draft` (the case as read inside `tx`). `from` is the state the first
/// step leaves; `None` when the first step is the case's start.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    actor: &Actor,
    on_behalf: Option<&str>,
    draft: &mut Draft,
    steps: &[PlannedStep],
    from: Option<String>,
) -> Result<Moved, EngineError> {
    let store = engine.store();
    let at = engine.clock().now();
    let now = time_text(&at);
    let expected = draft.row.version;
    let version = expected + 1;
    let case_id = draft.row.id.clone();
    let seen = from.clone().unwrap_or_default();
    let mut from = from;
    let mut made = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let who = if step.automatic {
            &Actor::Engine
        } else {
            actor
        };
        let behalf = if step.automatic { None } else { on_behalf };
        match from.clone() {
            None => {
                let mut e = new_event(&case_id, &now, who, behalf, "started");
                e.to_state = Some(step.state.clone());
                e.detail = json!({
                    "e-service": draft.row.e_service,
                    "revision": draft.row.revision,
                    "fields": draft.data.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()),
                })
                .to_string();
                store.append_case_event(tx, &e).await?;
            }
            Some(left) => {
                let t = runnable
                    .definition
                    .state(&left)
                    .and_then(|s| s.transitions.iter().find(|t| t.event == step.event))
                    .ok_or_else(|| {
                        EngineError::Definition(format!(
                            "workflow `{}` has no transition `{}` from state `{left}`",
                            runnable.definition.workflow.id, step.event
                        ))
                    })?
                    .clone();
                if let Some(details) = &step.details {
                    merge_decision(draft, details);
                }
                // Leaving the state ends its timers. Taken before the history's head, in the
                // order a timer's sweep takes them (its timer, then the head), so that the two
                // never wait on each other on PostgreSQL.
                store.cancel_timers(tx, &case_id).await?;
                let mut e = new_event(&case_id, &now, who, behalf, "transition");
                e.event = Some(t.event.clone());
                e.from_state = Some(left.clone());
                e.to_state = Some(t.to.clone());
                e.detail = match &step.details {
                    Some(details) => json!({"automatic": step.automatic, "details": details}),
                    None => json!({"automatic": step.automatic}),
                }
                .to_string();
                store.append_case_event(tx, &e).await?;
                let cause = format!("{case_id}/{version}/{i}");
                transition_actions(engine, tx, runnable, draft, &t, at, &cause, who).await?;
                made.push(Step {
                    event: t.event.clone(),
                    from: left,
                    to: t.to.clone(),
                    automatic: step.automatic,
                });
            }
        }
        enter(engine, tx, runnable, draft, step, at, version).await?;
        from = Some(step.state.clone());
    }
    let row = &mut draft.row;
    row.data = draft.data.to_string();
    row.registry = draft.registry.to_string();
    row.decision = draft.decision.as_ref().map(Value::to_string);
    row.version = version;
    row.updated_at = now;
    if expected == 0 {
        store.insert_case(tx, row).await?;
    } else if !store.update_case(tx, row, expected).await? {
        return Err(engine.moved_meanwhile(tx, &case_id, &seen).await);
    }
    Ok(Moved {
        case_id,
        state: row.state.clone(),
        outcome: row.outcome.clone(),
        version,
        steps: made,
    })
}

/// Enters the step's state: keeps its registry answers (an event per call), sets the state, its
/// role and (for a final state) the outcome.
async fn enter(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &mut Draft,
    step: &PlannedStep,
    at: DateTime<Utc>,
    version: i64,
) -> Result<(), EngineError> {
    let store = engine.store();
    let now = &time_text(&at);
    let case_id = draft.row.id.clone();
    for (service, key, answer) in &step.answers {
        let registry = draft
            .registry
            .as_object_mut()
            .expect("registry answers are an object");
        let detail = match answer {
            RegistryAnswer::Answered { data } => {
                registry.insert(key.clone(), data.clone());
                json!({"service": service, "answered": true})
            }
            RegistryAnswer::Failed { reason } => {
                registry.remove(key);
                json!({"service": service, "answered": false, "reason": reason})
            }
        };
        let mut e = new_event(&case_id, now, &Actor::Engine, None, "called");
        e.to_state = Some(step.state.clone());
        e.detail = detail.to_string();
        store.append_case_event(tx, &e).await?;
    }
    let state = runnable.definition.state(&step.state).ok_or_else(|| {
        EngineError::Definition(format!(
            "workflow `{}` has no state `{}`",
            runnable.definition.workflow.id, step.state
        ))
    })?;
    let row = &mut draft.row;
    row.state = state.id.clone();
    row.state_entered_at = now.to_string();
    let own = own_deadline(runnable, &row.e_service, &draft.data);
    row.deadline_at = schedule(engine, tx, runnable, &case_id, state, at, version, own)
        .await?
        .map(|d| time_text(&d));
    // The state's role works the case now; its assignee stays only if they hold that role (or
    // the state is worked by its assignee alone).
    row.role = state.role.clone();
    if let Some(assignee) = row.assignee.clone()
        && !state
            .role
            .as_deref()
            .is_some_and(|role| role == ASSIGNEE || engine.holds_role(runnable, &assignee, role))
    {
        row.assignee = None;
    }
    if let Some(outcome) = state.outcome {
        row.outcome = Some(outcome.as_str().to_string());
        row.role = None;
    }
    Ok(())
}

/// The actions of a fired transition, in the spec's order (its `call`s were made on entering the
/// state it leaves). `cause` names the transition within its request: with an action's index it
/// is the idempotency key of what the action makes, so a retried request makes nothing twice.
/// `who` fired the transition.
#[allow(clippy::too_many_arguments)]
async fn transition_actions(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &mut Draft,
    t: &Transition,
    at: DateTime<Utc>,
    cause: &str,
    who: &Actor,
) -> Result<(), EngineError> {
    let store = engine.store();
    let now = time_text(&at);
    let case_id = draft.row.id.clone();
    for (a, action) in t.actions.iter().enumerate() {
        let cause = format!("{cause}/{a}");
        match action {
            Action::Call(_) => {}
            Action::Decide(d) => {
                let decision = json!({"outcome": d.outcome, "reason": d.reason});
                merge_decision(draft, &decision);
                let mut e = new_event(&case_id, &now, &Actor::Engine, None, "decided");
                e.event = Some(t.event.clone());
                e.detail = decision.to_string();
                store.append_case_event(tx, &e).await?;
            }
            Action::Notify(n) => {
                notify(engine, tx, runnable, draft, n, &cause, at).await?;
            }
            Action::Issue(i) => {
                issue(engine, tx, runnable, draft, (t, who), i, &cause, at).await?;
            }
        }
    }
    Ok(())
}

/// Issues the document an `issue` action names, sealed by the journal's participant (or the
/// e-service's provider for a document no journal registers), in the name of the official who
/// fired transition `t` (automatically when the engine or a timer did).
#[allow(clippy::too_many_arguments)]
async fn issue(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &Draft,
    (t, who): (&Transition, &Actor),
    i: &Issue,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<(), EngineError> {
    let def = &runnable.definition;
    let case_id = &draft.row.id;
    let failed = |why: String| {
        EngineError::Definition(format!(
            "transition `{}` of case {case_id} cannot issue document `{}`: {why}; the case stays \
             where it was",
            t.event, i.template
        ))
    };
    let template = def
        .template(&i.template)
        .ok_or_else(|| failed("its template is not in the case's definition".into()))?;
    let journal = match &i.journal {
        Some(id) => Some(
            def.journal(id)
                .ok_or_else(|| failed(format!("journal `{id}` is not in the case's definition")))?,
        ),
        None => None,
    };
    let participant = journal
        .map(|j| j.participant.clone())
        .or_else(|| {
            def.e_service(&draft.row.e_service)
                .and_then(|e| e.provider.as_ref())
                .map(|p| p.participant.clone())
        })
        .ok_or_else(|| failed("neither a journal nor the e-service names who seals it".into()))?;
    let seal = engine.seals().seal(&participant).map_err(failed)?;
    let official = match who {
        Actor::Official(id) => Some(engine.official(runnable, id).ok_or_else(|| {
            failed(format!(
                "official `{id}` who fired it is not declared in the applied spec"
            ))
        })?),
        _ => None,
    };
    let retention = rule_for(
        &engine.retention(),
        RecordClass::Document,
        i.case.as_deref(),
    )
    .map(|r| r.id.clone());
    let verify_url = engine.verify_url();
    let context = json!({
        "application": application_view(draft),
        "applicant": {"id": draft.row.applicant, "name": draft.row.applicant_name},
        "registry": draft.registry,
        "decision": decision_view(draft, at.with_timezone(&city_zone(&def.calendar))),
        "case": {"id": case_id, "e-service": draft.row.e_service},
    });
    let document = documents::issue(
        engine.store(),
        tx,
        IssueRequest {
            key: cause,
            case_id,
            template,
            journal,
            filed_in: i.case.as_deref(),
            context: &context,
            seal: &seal,
            at,
            zone: city_zone(&def.calendar),
            official: official.as_ref().map(|p| Signatory {
                name: &p.name,
                position: &p.position,
            }),
            verify_url: &verify_url,
            destination: &draft.row.applicant,
            retention: retention.as_deref(),
        },
    )
    .await
    .map_err(failed)?;
    let mut e = new_event(case_id, &time_text(&at), &Actor::Engine, None, "issued");
    e.event = Some(t.event.clone());
    e.detail = json!({
        "document": document.id, "template": template.id, "number": document.number,
        "sealed-by": participant,
    })
    .to_string();
    engine.store().append_case_event(tx, &e).await?;
    Ok(())
}

/// The application as templates see it: its fields, and its registration number (the case id,
/// unless the application carries one).
fn application_view(draft: &Draft) -> Value {
    let mut application = draft.data.clone();
    if let Some(fields) = application.as_object_mut() {
        fields
            .entry("registration_number")
            .or_insert_with(|| Value::String(draft.row.id.clone()));
    }
    application
}

/// The city's time zone, by which documents and decisions are dated (a checked spec names a
/// valid one: H0314).
fn city_zone(calendar: &crate::spec::model::Calendar) -> chrono_tz::Tz {
    calendar.zone().unwrap_or(chrono_tz::Europe::Kyiv)
}

/// The decision as templates see it: its outcome and reason, and the date it is issued on (the
/// city's day at `at`).
fn decision_view(draft: &Draft, at: DateTime<chrono_tz::Tz>) -> Value {
    let mut decision = draft.decision.clone().unwrap_or_else(|| json!({}));
    if let Some(fields) = decision.as_object_mut() {
        fields
            .entry("date")
            .or_insert_with(|| Value::String(at.format("%d.%m.%Y").to_string()));
    }
    decision
}

/// The role of a state or transition worked by the case's assignee alone (a resolution's
/// executor), whatever roles they hold.
pub const ASSIGNEE: &str = "assignee";

/// Where a case's own deadline is kept in its data: set by whoever started a case of no
/// e-service (`Engine::start_work`), moved by `Engine::move_deadline_in`.
pub const OWN_DEADLINE: &str = "deadline_at";

/// The deadline a case carries of its own: only a case of no e-service of its workflow (its data
/// written by the engine's caller, never by an applicant) has one.
pub(super) fn own_deadline(
    runnable: &Runnable,
    e_service: &str,
    data: &Value,
) -> Option<DateTime<Utc>> {
    if runnable.definition.e_service(e_service).is_some() {
        return None;
    }
    let text = data.get(OWN_DEADLINE)?.as_str()?;
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Schedules the timers of a state entered at `at`: its deadline (the case's `own` one, or the
/// state's days by the definition's calendar), the reminders before it and the escalations
/// after it; the deadline, if the state has one.
#[allow(clippy::too_many_arguments)]
pub(super) async fn schedule(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    case_id: &str,
    state: &State,
    at: DateTime<Utc>,
    version: i64,
    own: Option<DateTime<Utc>>,
) -> Result<Option<DateTime<Utc>>, EngineError> {
    let (Some(days), None) = (&state.deadline, state.outcome) else {
        return Ok(None);
    };
    let calendar = &runnable.calendar;
    let deadline = own.unwrap_or_else(|| calendar.deadline(at, days));
    let entry = format!("{}#{version}", state.id);
    let mut timers = vec![NewTimer {
        case_id: case_id.to_string(),
        kind: TimerKind::Deadline,
        key: entry.clone(),
        due_at: deadline,
    }];
    for (i, r) in state.reminders.iter().enumerate() {
        timers.push(NewTimer {
            case_id: case_id.to_string(),
            kind: TimerKind::Remind,
            key: format!("{entry}/{i}"),
            due_at: calendar
                .working_days_before(deadline, r.days_before)
                .max(at),
        });
    }
    for (i, e) in state.escalations.iter().enumerate() {
        timers.push(NewTimer {
            case_id: case_id.to_string(),
            kind: TimerKind::Escalate,
            key: format!("{entry}/{i}"),
            due_at: calendar.working_days_after(deadline, e.days_after),
        });
    }
    for timer in &timers {
        engine.store().schedule_timer(tx, timer).await?;
    }
    Ok(Some(deadline))
}

/// Who a `notify` reaches: the applicant, the assignee (or, with none, the officials of the
/// case's role), or every official holding a role.
pub(super) enum Recipient {
    Applicant { id: String, email: Option<String> },
    Official(Person),
}

pub(super) fn recipients(
    engine: &Engine,
    runnable: &Runnable,
    draft: &Draft,
    to: &str,
) -> Vec<Recipient> {
    let row = &draft.row;
    match to {
        "applicant" => vec![Recipient::Applicant {
            id: row.applicant.clone(),
            email: row.applicant_email.clone(),
        }],
        "assignee" => match &row.assignee {
            Some(id) => engine
                .official(runnable, id)
                .map(Recipient::Official)
                .into_iter()
                .collect(),
            None => row
                .role
                .as_deref()
                .map(|role| engine.officials_with(runnable, role))
                .unwrap_or_default()
                .into_iter()
                .map(Recipient::Official)
                .collect(),
        },
        role => engine
            .officials_with(runnable, role)
            .into_iter()
            .map(Recipient::Official)
            .collect(),
    }
}

/// Leaves a notice in each recipient's cabinet and queues an e-mail to each whose address is
/// known (once per `cause` and recipient), and records whom it reached.
pub(super) async fn notify(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &Draft,
    n: &Notify,
    cause: &str,
    at: DateTime<Utc>,
) -> Result<(), EngineError> {
    let store = engine.store();
    let now = time_text(&at);
    let case_id = &draft.row.id;
    let e_service = runnable.definition.e_service(&draft.row.e_service);
    let subject = match e_service {
        Some(e) => format!("{}: заява {}", e.title, short(case_id)),
        None => format!("Документ № {}", draft.row.applicant_name),
    };
    let mut reached = Vec::new();
    for r in recipients(engine, runnable, draft, &n.to) {
        let (kind, id, email) = match &r {
            Recipient::Applicant { id, email } => ("applicant", id.clone(), email.clone()),
            Recipient::Official(p) => ("official", p.id.clone(), Some(p.email.clone())),
        };
        let key = format!("{cause}/{kind}:{id}");
        store
            .add_notice(
                tx,
                &NewNotice {
                    key: key.clone(),
                    case_id: case_id.clone(),
                    recipient_kind: kind.into(),
                    recipient: id.clone(),
                    message: n.message.clone(),
                    created_at: now.clone(),
                },
            )
            .await?;
        if let Some(to) = email.filter(|e| !e.trim().is_empty()) {
            store
                .enqueue_mail(
                    tx,
                    &NewMail {
                        key,
                        to,
                        subject: subject.clone(),
                        body: match e_service {
                            Some(_) => format!("{}\n\nЗаява {case_id}", n.message),
                            None => n.message.clone(),
                        },
                        case_id: Some(case_id.clone()),
                    },
                )
                .await?;
        }
        reached.push(match r {
            Recipient::Applicant { .. } => "applicant".to_string(),
            Recipient::Official(p) => format!("official:{}", p.id),
        });
    }
    let mut e = new_event(case_id, &now, &Actor::Engine, None, "notified");
    e.detail = json!({"to": n.to, "reached": reached}).to_string();
    store.append_case_event(tx, &e).await?;
    Ok(())
}

/// The first 8 characters of a case id, for subjects and messages.
fn short(case_id: &str) -> &str {
    case_id.get(..8).unwrap_or(case_id)
}
