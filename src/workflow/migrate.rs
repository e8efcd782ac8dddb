//! Moving open cases when a revision removes the state they sit in and the workflow's `migrate`
//! line says where they go: each case in its own transaction, onto the new revision's definition,
//! with a `migrated` event, its old timers cancelled and the new state's scheduled.

use serde_json::json;

use crate::compile::workflow::WorkflowSection;
use crate::store::{CaseMove, time_text};

use super::actions::{own_deadline, schedule};
use super::engine::{Actor, Engine, EngineError, new_event};

impl Engine {
    /// Moves the open cases that `section`'s `migrate` lines name into the states they name, on
    /// `revision` (which must be pinned already); returns how many moved. A case changed by
    /// someone else meanwhile (or moved by another replica) is left to them.
    pub async fn migrate_cases(
        &self,
        revision: &str,
        section: &WorkflowSection,
    ) -> Result<usize, EngineError> {
        let store = self.store();
        let mut moved = 0;
        for open in store.open_cases().await? {
            let Some(workflow) = section.definition(&open.workflow).map(|d| &d.workflow) else {
                continue;
            };
            let Some(to) = workflow.home_of(&open.state).filter(|to| *to != open.state) else {
                continue;
            };
            let runnable = self.runnable(revision, &workflow.id).await?;
            let state = runnable.definition.state(to).cloned().ok_or_else(|| {
                EngineError::Definition(format!(
                    "workflow `{}` of revision {revision} migrates to state `{to}`, which it does not declare",
                    workflow.id
                ))
            })?;
            for id in store.open_case_ids(&open.workflow, &open.state).await? {
                let mut tx = store.begin().await?;
                let Some(row) = store.case_in(&mut tx, &id).await? else {
                    continue;
                };
                if row.outcome.is_some() || row.state != open.state {
                    continue;
                }
                let at = self.clock().now();
                let now = time_text(&at);
                let version = row.version + 1;
                store.cancel_timers(&mut tx, &id).await?;
                let data: serde_json::Value =
                    serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null);
                let own = own_deadline(&runnable, &row.e_service, &data);
                let deadline =
                    schedule(self, &mut tx, &runnable, &id, &state, at, version, own).await?;
                let mut event = new_event(&id, &now, &Actor::Engine, None, "migrated");
                event.from_state = Some(open.state.clone());
                event.to_state = Some(state.id.clone());
                event.detail =
                    json!({"from_revision": row.revision, "to_revision": revision}).to_string();
                store.append_case_event(&mut tx, &event).await?;
                let assignee = if state.role == row.role {
                    row.assignee.clone()
                } else {
                    None
                };
                let to = CaseMove {
                    revision: revision.to_string(),
                    state: state.id.clone(),
                    outcome: state.outcome.map(|o| o.as_str().to_string()),
                    role: state.role.clone(),
                    assignee,
                    deadline_at: deadline.as_ref().map(time_text),
                    version,
                    at: now,
                };
                if store.move_case(&mut tx, &id, row.version, &to).await? {
                    tx.commit().await?;
                    moved += 1;
                }
            }
        }
        Ok(moved)
    }
}
