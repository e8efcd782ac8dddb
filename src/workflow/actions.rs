//! Writing a planned move inside its transaction: the transition events, the actions of each
//! transition (`decide`, `notify`, `issue`), the registry answers of each state entered, the
//! timers of its deadline, and the case row, written only if nobody changed it meanwhile.

use serde_json::{Value, json};

use crate::spec::model::{Action, Notify, Transition};
use crate::store::{NewNotice, Tx};

use super::calls::RegistryAnswer;
use super::definition::Person;
use super::engine::{
    Actor, Draft, Engine, EngineError, Moved, PlannedStep, Runnable, Step, new_event, time_text,
};

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
    let now = time_text(&engine.clock().now());
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
                let mut e = new_event(&case_id, &now, who, behalf, "transition");
                e.event = Some(t.event.clone());
                e.from_state = Some(left.clone());
                e.to_state = Some(t.to.clone());
                e.detail = json!({"automatic": step.automatic}).to_string();
                store.append_case_event(tx, &e).await?;
                transition_actions(engine, tx, runnable, draft, &t, &now, version, i).await?;
                made.push(Step {
                    event: t.event.clone(),
                    from: left,
                    to: t.to.clone(),
                    automatic: step.automatic,
                });
            }
        }
        enter(engine, tx, runnable, draft, step, &now).await?;
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
        return Err(engine.moved_meanwhile(&case_id, &seen).await);
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
    now: &str,
) -> Result<(), EngineError> {
    let store = engine.store();
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
    row.deadline_at = None;
    if let Some(role) = &state.role
        && row.role.as_deref() != Some(role)
    {
        row.role = Some(role.clone());
        if let Some(assignee) = row.assignee.clone()
            && !engine.holds_role(runnable, &assignee, role)
        {
            row.assignee = None;
        }
    }
    if let Some(outcome) = state.outcome {
        row.outcome = Some(
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        );
        row.role = None;
    }
    Ok(())
}

/// The actions of a fired transition, in the spec's order (its `call`s were made on entering the
/// state it leaves).
#[allow(clippy::too_many_arguments)]
async fn transition_actions(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &mut Draft,
    t: &Transition,
    now: &str,
    version: i64,
    step: usize,
) -> Result<(), EngineError> {
    let store = engine.store();
    let case_id = draft.row.id.clone();
    for (a, action) in t.actions.iter().enumerate() {
        match action {
            Action::Call(_) => {}
            Action::Decide(d) => {
                let decision = json!({"outcome": d.outcome, "reason": d.reason});
                draft.decision = Some(decision.clone());
                let mut e = new_event(&case_id, now, &Actor::Engine, None, "decided");
                e.event = Some(t.event.clone());
                e.detail = decision.to_string();
                store.append_case_event(tx, &e).await?;
            }
            Action::Notify(n) => {
                let cause = format!("{case_id}/{version}/{step}/{a}");
                notify(engine, tx, runnable, draft, n, &cause, now).await?;
            }
            Action::Issue(i) => {
                return Err(EngineError::Definition(format!(
                    "transition `{}` of case {case_id} issues document `{}`, and this build of \
                     the engine cannot issue documents yet; the case stays where it was",
                    t.event, i.template
                )));
            }
        }
    }
    Ok(())
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
                .officials_with(runnable, row.role.as_deref().unwrap_or_default())
                .into_iter()
                .chain(runnable.definition.officials.iter().cloned())
                .find(|p| p.id == *id)
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

/// Leaves a notice in each recipient's cabinet (once per `cause` and recipient) and records
/// whom it reached.
pub(super) async fn notify(
    engine: &Engine,
    tx: &mut Tx,
    runnable: &Runnable,
    draft: &Draft,
    n: &Notify,
    cause: &str,
    now: &str,
) -> Result<(), EngineError> {
    let store = engine.store();
    let case_id = &draft.row.id;
    let mut reached = Vec::new();
    for r in recipients(engine, runnable, draft, &n.to) {
        let (kind, id) = match &r {
            Recipient::Applicant { id, .. } => ("applicant", id.clone()),
            Recipient::Official(p) => ("official", p.id.clone()),
        };
        store
            .add_notice(
                tx,
                &NewNotice {
                    key: format!("{cause}/{kind}:{id}"),
                    case_id: case_id.clone(),
                    recipient_kind: kind.into(),
                    recipient: id.clone(),
                    message: n.message.clone(),
                    created_at: now.to_string(),
                },
            )
            .await?;
        reached.push(match r {
            Recipient::Applicant { .. } => "applicant".to_string(),
            Recipient::Official(p) => format!("official:{}", p.id),
        });
    }
    let mut e = new_event(case_id, now, &Actor::Engine, None, "notified");
    e.detail = json!({"to": n.to, "reached": reached}).to_string();
    store.append_case_event(tx, &e).await?;
    Ok(())
}
