//! Cases of no e-service: work a caller gives one official (a resolution's executor) in a named
//! workflow, with a deadline of its own that the durable timers remind and escalate from. The
//! case is started, and its deadline moved, inside the caller's transaction with its own writes.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::store::{CaseRequestRow, CaseRow, Tx, time_text};

use super::actions::{self, OWN_DEADLINE, schedule};
use super::engine::{
    Actor, Applicant, Draft, Engine, EngineError, Fire, Moved, PlannedStep, check_key, draft_of,
    fingerprint, fire_fingerprint, new_case_id, new_event,
};

/// A request to start a case of work.
#[derive(Debug, Clone, Copy)]
pub struct Work<'a> {
    /// Idempotency key: the same key again starts nothing and answers the same.
    pub key: &'a str,
    pub workflow: &'a str,
    /// What the case is of, in place of an e-service (`registry`); never an e-service's id.
    pub of: &'a str,
    /// Whom or what the case is about, as its applicant (a card: its id and summary).
    pub subject: &'a Applicant,
    /// The case's data (a JSON object); the deadline is added to it.
    pub data: &'a Value,
    /// The one official who works it (states of role `assignee`).
    pub assignee: &'a str,
    /// The end of its last day.
    pub deadline: DateTime<Utc>,
    pub actor: &'a Actor,
    pub on_behalf: Option<&'a str>,
}

impl Engine {
    /// Starts `work` in `tx` on the applied revision: the case row, its events and timers, and
    /// the request under its key, all committed (or not) with the caller's own writes.
    pub async fn start_work(&self, tx: &mut Tx, work: Work<'_>) -> Result<Moved, EngineError> {
        check_key(work.key)?;
        let Value::Object(fields) = work.data else {
            return Err(EngineError::Invalid(
                "the data of a case of work must be a JSON object".into(),
            ));
        };
        let mut data = fields.clone();
        data.insert(OWN_DEADLINE.into(), json!(time_text(&work.deadline)));
        let data = Value::Object(data);
        let fingerprint = fingerprint(&json!({
            "work": work.workflow, "of": work.of, "subject": work.subject.id, "data": data,
            "assignee": work.assignee, "actor": work.actor, "on-behalf": work.on_behalf,
        }));
        if let Some(done) = self.replay_in(tx, work.key, &fingerprint).await? {
            return Ok(done);
        }
        let revision = self.revision().ok_or(EngineError::NoRevision)?;
        let runnable = self.runnable_in(tx, &revision, work.workflow).await?;
        let def = &runnable.definition;
        if def.e_service(work.of).is_some() || self.is_e_service(work.of) {
            return Err(EngineError::Invalid(format!(
                "`{}` is an e-service: start its cases as applications, not as work",
                work.of
            )));
        }
        let start = def.state(&def.workflow.start).ok_or_else(|| {
            EngineError::Definition(format!(
                "workflow `{}` starts in `{}`, which it does not declare",
                def.workflow.id, def.workflow.start
            ))
        })?;
        let now = time_text(&self.clock().now());
        let row = CaseRow {
            id: new_case_id(),
            workflow: def.workflow.id.clone(),
            revision: def.revision.clone(),
            e_service: work.of.to_string(),
            state: start.id.clone(),
            outcome: None,
            applicant: work.subject.id.clone(),
            applicant_name: work.subject.name.clone(),
            applicant_email: None,
            assignee: Some(work.assignee.to_string()),
            role: start.role.clone(),
            data: data.to_string(),
            registry: "{}".into(),
            decision: None,
            deadline_at: None,
            version: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
            state_entered_at: now.clone(),
        };
        let blank = Draft {
            row,
            data,
            registry: json!({}),
            decision: None,
        };
        let mut draft = blank.clone();
        let entered = self.enter(&runnable, &mut draft, &start.id).await;
        let mut steps = vec![PlannedStep {
            state: start.id.clone(),
            event: String::new(),
            automatic: false,
            answers: entered,
            details: None,
        }];
        self.follow(&runnable, &mut draft, &mut steps).await;
        let mut initial = blank;
        let moved = actions::write(
            self,
            tx,
            &runnable,
            work.actor,
            work.on_behalf,
            &mut initial,
            &steps,
            None,
        )
        .await?;
        let record = CaseRequestRow {
            key: work.key.to_string(),
            case_id: moved.case_id.clone(),
            fingerprint,
            result: serde_json::to_string(&moved).expect("a result serialises"),
            created_at: now,
        };
        if !self.store().record_case_request(tx, &record).await? {
            return Err(EngineError::KeyReused {
                key: work.key.into(),
            });
        }
        Ok(moved)
    }

    /// Fires `request` with the caller's own writes in `tx`: planned on the case as stored,
    /// written (if nobody moved the case meanwhile) and its key recorded, uncommitted.
    pub async fn fire_in(&self, tx: &mut Tx, request: Fire<'_>) -> Result<Moved, EngineError> {
        check_key(request.key)?;
        let fingerprint = fire_fingerprint(&request, None);
        if let Some(done) = self.replay_in(tx, request.key, &fingerprint).await? {
            return Ok(done);
        }
        let (runnable, draft, steps, state) = self.plan_fire(&request, None).await?;
        let mut current = draft_of(
            self.store()
                .case_in(tx, request.case_id)
                .await?
                .ok_or_else(|| EngineError::UnknownCase(request.case_id.to_string()))?,
        )?;
        if current.row.version != draft.row.version {
            return Err(EngineError::Stale {
                case_id: request.case_id.to_string(),
                seen: request.seen_state.to_string(),
                now: current.row.state,
            });
        }
        let moved = actions::write(
            self,
            tx,
            &runnable,
            request.actor,
            request.on_behalf,
            &mut current,
            &steps,
            Some(state),
        )
        .await?;
        let record = CaseRequestRow {
            key: request.key.to_string(),
            case_id: moved.case_id.clone(),
            fingerprint,
            result: serde_json::to_string(&moved).expect("a result serialises"),
            created_at: time_text(&self.clock().now()),
        };
        if !self.store().record_case_request(tx, &record).await? {
            return Err(EngineError::KeyReused {
                key: request.key.into(),
            });
        }
        Ok(moved)
    }

    /// Moves the own deadline of open case `case_id` to `deadline` in `tx`: its timers are
    /// cancelled and scheduled again from it, with a `deadline-moved` event naming the old and
    /// new deadline and `reason`. `None` (nothing written) for a case that is closed.
    pub async fn move_deadline_in(
        &self,
        tx: &mut Tx,
        case_id: &str,
        deadline: DateTime<Utc>,
        (actor, on_behalf): (&Actor, Option<&str>),
        reason: &str,
    ) -> Result<Option<String>, EngineError> {
        self.rework(tx, case_id, (actor, on_behalf), |draft| {
            if let Some(fields) = draft.data.as_object_mut() {
                fields.insert(OWN_DEADLINE.into(), json!(time_text(&deadline)));
            }
            (
                "deadline-moved",
                json!({"new": time_text(&deadline), "reason": reason}),
            )
        })
        .await
    }

    /// Ends the timers of open case `case_id` in `tx` (its work was removed from control): no
    /// reminder or escalation follows, with a `released` event giving `reason`.
    pub async fn release_in(
        &self,
        tx: &mut Tx,
        case_id: &str,
        (actor, on_behalf): (&Actor, Option<&str>),
        reason: &str,
    ) -> Result<Option<String>, EngineError> {
        self.rework(tx, case_id, (actor, on_behalf), |draft| {
            if let Some(fields) = draft.data.as_object_mut() {
                fields.remove(OWN_DEADLINE);
            }
            ("released", json!({"reason": reason}))
        })
        .await
    }

    /// Changes an open case's data by `change`, cancels its timers and schedules those of its
    /// state again (from its own deadline, if it still has one), in `tx`; the old deadline.
    async fn rework(
        &self,
        tx: &mut Tx,
        case_id: &str,
        (actor, on_behalf): (&Actor, Option<&str>),
        change: impl FnOnce(&mut Draft) -> (&'static str, Value),
    ) -> Result<Option<String>, EngineError> {
        let store = self.store();
        let row = store
            .case_in(tx, case_id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase(case_id.to_string()))?;
        if row.outcome.is_some() {
            return Ok(None);
        }
        let runnable = self.runnable_in(tx, &row.revision, &row.workflow).await?;
        let mut draft = draft_of(row)?;
        let old = draft.row.deadline_at.clone();
        let (kind, mut detail) = change(&mut draft);
        let expected = draft.row.version;
        let version = expected + 1;
        let at = self.clock().now();
        let now = time_text(&at);
        store.cancel_timers(tx, case_id).await?;
        let state = runnable
            .definition
            .state(&draft.row.state)
            .cloned()
            .ok_or_else(|| {
                EngineError::Definition(format!(
                    "workflow `{}` has no state `{}`",
                    draft.row.workflow, draft.row.state
                ))
            })?;
        let own = actions::own_deadline(&runnable, &draft.row.e_service, &draft.data);
        draft.row.deadline_at = match own {
            Some(_) => schedule(self, tx, &runnable, case_id, &state, at, version, own)
                .await?
                .map(|d| time_text(&d)),
            None => None,
        };
        if let Some(fields) = detail.as_object_mut() {
            fields.insert("old".into(), json!(old));
        }
        let mut e = new_event(case_id, &now, actor, on_behalf, kind);
        e.to_state = Some(draft.row.state.clone());
        e.detail = detail.to_string();
        store.append_case_event(tx, &e).await?;
        draft.row.data = draft.data.to_string();
        draft.row.version = version;
        draft.row.updated_at = now;
        if !store.update_case(tx, &draft.row, expected).await? {
            return Err(self.moved_meanwhile(tx, case_id, &draft.row.state).await);
        }
        Ok(old)
    }
}
