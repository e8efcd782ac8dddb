//! Delegations within one unit (004 §5.1): who acts for whom, from when to when, and whether
//! the deputy may decide or only read. A delegation is never deleted: it ends or is revoked.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, on_pool};

const COLUMNS: &str = "id, participant, unit, principal, deputy, decide, starts_on, ends_on, \
     reason, created_by, created_at, revoked_at, revoked_by";

/// One delegation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct DelegationRow {
    pub id: String,
    pub participant: String,
    /// `participant/unit`: principal and deputy both work in it.
    pub unit: String,
    pub principal: String,
    pub deputy: String,
    /// 1 when the deputy may decide for the principal, 0 for access alone.
    pub decide: i64,
    /// `YYYY-MM-DD`, first and last day, in the city's time zone.
    pub starts_on: String,
    pub ends_on: String,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
    pub revoked_by: Option<String>,
}

impl Store {
    /// The delegations to `deputy` in force on `today` (`YYYY-MM-DD`).
    pub async fn delegations_to(
        &self,
        deputy: &str,
        today: &str,
    ) -> Result<Vec<DelegationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delegations WHERE deputy = $1 AND revoked_at IS NULL \
             AND starts_on <= $2 AND ends_on >= $2 ORDER BY starts_on, id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(deputy).bind(today).fetch_all(pool).await)
        .map_err(|e| self.failed("read the delegations to an official from", e))
    }
}
