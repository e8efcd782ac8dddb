//! What the engine does when a timer of a case fires (E2's runner calls it in the timer's own
//! transaction): a deadline passed leaves an `overdue` event; a reminder notifies the assignee
//! or a role; an escalation hands the case to the role it names and notifies its officials.

use serde_json::json;

use crate::spec::model::Notify;
use crate::store::{Timer, TimerKind, Tx, time_text};

use super::actions::notify;
use super::engine::{Actor, Engine, EngineError, draft_of, new_event};
use super::timers::{BoxFuture, TimerHandler};

impl TimerHandler for Engine {
    fn fire<'a>(&'a self, tx: &'a mut Tx, timer: &'a Timer) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { self.on_timer(tx, timer).await.map_err(|e| e.to_string()) })
    }
}

impl Engine {
    /// Applies `timer` to its case inside `tx`. A timer of a case that has left the state it
    /// was set for, or is closed or gone, does nothing.
    pub async fn on_timer(&self, tx: &mut Tx, timer: &Timer) -> Result<(), EngineError> {
        let store = self.store();
        let Some(row) = store.case_in(tx, &timer.case_id).await? else {
            return Ok(());
        };
        let Some((state_id, entry)) = timer.key.split_once('#') else {
            return Err(EngineError::Definition(format!(
                "timer {} of case {} has the key `{}`, which the engine did not write; the \
                 timers table was changed by hand",
                timer.id, timer.case_id, timer.key
            )));
        };
        if row.outcome.is_some() || row.state != state_id {
            return Ok(());
        }
        let runnable = self.runnable_in(tx, &row.revision, &row.workflow).await?;
        let Some(state) = runnable.definition.state(state_id).cloned() else {
            return Ok(());
        };
        let index = entry
            .split_once('/')
            .and_then(|(_, i)| i.parse::<usize>().ok());
        let at = self.clock().now();
        let now = time_text(&at);
        let mut draft = draft_of(row)?;
        let expected = draft.row.version;
        let case_id = draft.row.id.clone();
        let cause = format!("{case_id}/timer/{}", timer.id);
        let deadline = draft
            .row
            .deadline_at
            .clone()
            .unwrap_or_else(|| time_text(&timer.due_at));
        let deadline_day = deadline.get(..10).unwrap_or(&deadline).to_string();
        let title = state.label().to_string();
        // Work of no e-service (a resolution's executor): told of its document, not an application.
        let work = runnable
            .definition
            .e_service(&draft.row.e_service)
            .is_none();
        match timer.kind {
            TimerKind::Deadline => {
                let mut e = new_event(&case_id, &now, &Actor::Timer, None, "overdue");
                e.to_state = Some(state.id.clone());
                e.detail = json!({"deadline": deadline}).to_string();
                store.append_case_event(tx, &e).await?;
            }
            TimerKind::Remind => {
                let Some(r) = index.and_then(|i| state.reminders.get(i)) else {
                    return Ok(());
                };
                let mut e = new_event(&case_id, &now, &Actor::Timer, None, "reminded");
                e.to_state = Some(state.id.clone());
                e.detail = json!({"to": r.to, "deadline": deadline}).to_string();
                store.append_case_event(tx, &e).await?;
                let message = if work {
                    format!(
                        "Нагадування: строк виконання доручення за документом № {} спливає \
                         {deadline_day}",
                        draft.row.applicant_name
                    )
                } else {
                    format!(
                        "Нагадування: строк розгляду заяви {case_id} у стані «{title}» спливає \
                         {deadline_day}"
                    )
                };
                let n = Notify {
                    to: r.to.clone(),
                    message,
                };
                notify(self, tx, &runnable, &draft, &n, &cause, at).await?;
            }
            TimerKind::Escalate => {
                let Some(esc) = index.and_then(|i| state.escalations.get(i)) else {
                    return Ok(());
                };
                let mut e = new_event(&case_id, &now, &Actor::Timer, None, "escalated");
                e.to_state = Some(state.id.clone());
                e.detail = json!({
                    "role": esc.to, "from-role": draft.row.role, "from-assignee": draft.row.assignee,
                    "deadline": deadline,
                })
                .to_string();
                store.append_case_event(tx, &e).await?;
                draft.row.role = Some(esc.to.clone());
                draft.row.assignee = None;
                let message = if work {
                    format!(
                        "Доручення за документом № {} передано на контроль: строк його \
                         виконання сплив {deadline_day}",
                        draft.row.applicant_name
                    )
                } else {
                    format!(
                        "Заяву {case_id} передано вам: строк її розгляду у стані «{title}» сплив \
                         {deadline_day}"
                    )
                };
                let n = Notify {
                    to: esc.to.clone(),
                    message,
                };
                notify(self, tx, &runnable, &draft, &n, &cause, at).await?;
                draft.row.version = expected + 1;
                draft.row.updated_at = now;
                if !store.update_case(tx, &draft.row, expected).await? {
                    return Err(self.moved_meanwhile(tx, &case_id, state_id).await);
                }
            }
        }
        Ok(())
    }
}
