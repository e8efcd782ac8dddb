//! How many open cases sit in each state of each workflow: what `/api/status` shows, `plan
//! --against` reads, and the reconciler consults before applying a revision that removes states.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, on_pool, on_tx};

/// The open cases of one workflow in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct OpenCases {
    pub workflow: String,
    pub state: String,
    pub open: i64,
}

const OPEN_CASES: &str = "SELECT workflow, state, COUNT(*) AS open FROM cases \
     WHERE outcome IS NULL GROUP BY workflow, state ORDER BY workflow, state";

impl Store {
    /// Open cases (those without an outcome) per workflow and state.
    pub async fn open_cases(&self) -> Result<Vec<OpenCases>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(OPEN_CASES).fetch_all(pool).await)
            .map_err(|e| self.failed("count the open cases in", e))
    }
}

/// Where a `migrate` line moves an open case: onto another revision's definition, in another
/// state, with that state's role, deadline and outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseMove {
    pub revision: String,
    pub state: String,
    pub outcome: Option<String>,
    pub role: Option<String>,
    pub assignee: Option<String>,
    pub deadline_at: Option<String>,
    pub version: i64,
    pub at: String,
}

impl Store {
    /// The ids of the open cases of `workflow` in `state`.
    pub async fn open_case_ids(
        &self,
        workflow: &str,
        state: &str,
    ) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT id FROM cases WHERE workflow = $1 AND state = $2 AND outcome IS NULL ORDER BY id")
            .bind(workflow).bind(state).fetch_all(pool).await)
        .map_err(|e| self.failed(&format!("list the open cases of workflow {workflow} in"), e))
    }

    /// Moves case `id` as `to` says if it is still at `expected_version`; `false` when someone
    /// else changed it first (nothing written then).
    pub async fn move_case(
        &self,
        tx: &mut Tx,
        id: &str,
        expected_version: i64,
        to: &CaseMove,
    ) -> Result<bool, StoreError> {
        let changed = on_tx!(tx, t => sqlx::query(
            "UPDATE cases SET revision = $1, state = $2, outcome = $3, role = $4, assignee = $5, \
             deadline_at = $6, version = $7, updated_at = $8, state_entered_at = $8 \
             WHERE id = $9 AND version = $10")
            .bind(&to.revision).bind(&to.state).bind(&to.outcome).bind(&to.role)
            .bind(&to.assignee).bind(&to.deadline_at).bind(to.version).bind(&to.at)
            .bind(id).bind(expected_version)
            .execute(&mut **t).await.map(|r| r.rows_affected()))
        .map_err(|e| self.failed(&format!("move case {id} in"), e))?;
        Ok(changed == 1)
    }
}
