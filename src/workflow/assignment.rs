//! Who works a case: an official of the case's role takes it, hands it to another official of
//! that role, or gives it back to the role's queue. Each change is an `assigned` event, made
//! once per idempotency key, and refused on a case that changed since the caller saw it.

use serde_json::json;

use crate::store::time_text;

use super::engine::{
    Actor, Engine, EngineError, Moved, check_key, draft_of, fingerprint, new_event,
};

/// A request to change a case's assignee.
#[derive(Debug, Clone, Copy)]
pub struct Assign<'a> {
    pub key: &'a str,
    pub case_id: &'a str,
    /// The official who is to work the case; `None` gives it back to the role's queue.
    pub assignee: Option<&'a str>,
    pub actor: &'a Actor,
    pub on_behalf: Option<&'a str>,
    /// The case's version the caller saw; if it changed since, the request is refused.
    pub seen_version: i64,
}

impl Engine {
    /// Assigns a case: the actor and the new assignee must hold the case's current role.
    pub async fn assign(&self, request: Assign<'_>) -> Result<Moved, EngineError> {
        check_key(request.key)?;
        let fingerprint = fingerprint(&json!({
            "assign": request.assignee, "case": request.case_id, "actor": request.actor,
            "on-behalf": request.on_behalf, "seen-version": request.seen_version,
        }));
        if let Some(done) = self.replay(request.key, &fingerprint).await? {
            return Ok(done);
        }
        let mut tx = self.store().begin().await?;
        if let Some(done) = self.replay_in(&mut tx, request.key, &fingerprint).await? {
            return Ok(done);
        }
        let row = self
            .store()
            .case_in(&mut tx, request.case_id)
            .await?
            .ok_or_else(|| EngineError::UnknownCase(request.case_id.to_string()))?;
        let denied = |message: String| EngineError::NotAllowed {
            case_id: row.id.clone(),
            message,
        };
        if let Some(outcome) = &row.outcome {
            return Err(EngineError::Closed {
                case_id: row.id.clone(),
                outcome: outcome.clone(),
            });
        }
        if row.version != request.seen_version {
            return Err(EngineError::Stale {
                case_id: row.id.clone(),
                seen: format!("{} (version {})", row.state, request.seen_version),
                now: format!("{} (version {})", row.state, row.version),
            });
        }
        let runnable = self
            .runnable_in(&mut tx, &row.revision, &row.workflow)
            .await?;
        let Some(role) = row.role.clone() else {
            return Err(denied(format!(
                "the case is in state `{}`, which no role works, so nobody is assigned to it",
                row.state
            )));
        };
        let Actor::Official(actor) = request.actor else {
            return Err(denied(format!(
                "only an official with role `{role}` assigns the case, not {}",
                request.actor.label()
            )));
        };
        if !self.holds_role(&runnable, actor, &role) {
            return Err(denied(format!(
                "official `{actor}` does not hold role `{role}`, which works the case now"
            )));
        }
        if let Some(assignee) = request.assignee
            && !self.holds_role(&runnable, assignee, &role)
        {
            return Err(denied(format!(
                "official `{assignee}` does not hold role `{role}`, so the case cannot be \
                 assigned to them"
            )));
        }
        let now = time_text(&self.clock().now());
        let mut draft = draft_of(row)?;
        let mut e = new_event(
            &draft.row.id,
            &now,
            request.actor,
            request.on_behalf,
            "assigned",
        );
        e.detail = json!({
            "from": draft.row.assignee, "to": request.assignee, "role": role,
        })
        .to_string();
        self.store().append_case_event(&mut tx, &e).await?;
        let expected = draft.row.version;
        draft.row.assignee = request.assignee.map(str::to_string);
        draft.row.version = expected + 1;
        draft.row.updated_at = now;
        if !self
            .store()
            .update_case(&mut tx, &draft.row, expected)
            .await?
        {
            return Err(self
                .moved_meanwhile(&mut tx, &draft.row.id, &draft.row.state)
                .await);
        }
        let moved = Moved {
            case_id: draft.row.id.clone(),
            state: draft.row.state.clone(),
            outcome: None,
            version: draft.row.version,
            steps: Vec::new(),
        };
        self.finish(tx, request.key, &fingerprint, &moved).await
    }
}
