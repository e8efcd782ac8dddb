//! How many open cases sit in each state of each workflow: what `/api/status` shows, `plan
//! --against` reads, and the reconciler consults before applying a revision that removes states.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, on_pool};

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
