//! Delegations within one unit (004 §5.1): who acts for whom, from when to when, and whether
//! the deputy may decide or only read. A delegation is never deleted: it ends or is revoked.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, on_pool, on_tx};

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

    /// Writes delegation `d` in `tx`.
    pub async fn insert_delegation(
        &self,
        tx: &mut Tx,
        d: &DelegationRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO delegations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13)"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(&d.id).bind(&d.participant).bind(&d.unit).bind(&d.principal).bind(&d.deputy)
            .bind(d.decide).bind(&d.starts_on).bind(&d.ends_on).bind(&d.reason)
            .bind(&d.created_by).bind(&d.created_at).bind(&d.revoked_at).bind(&d.revoked_by)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("write a delegation in", e))
    }

    /// Delegation `id`.
    pub async fn delegation(&self, id: &str) -> Result<Option<DelegationRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM delegations WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a delegation from", e))
    }

    /// Revokes delegation `id` in `tx` by `by` at `at`; `false` when it was revoked already.
    pub async fn revoke_delegation(
        &self,
        tx: &mut Tx,
        id: &str,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE delegations SET revoked_at = $2, revoked_by = $3 \
             WHERE id = $1 AND revoked_at IS NULL")
            .bind(id).bind(at).bind(by).execute(&mut **t).await.map(|d| d.rows_affected()))
        .map_err(|e| self.failed("revoke a delegation in", e))?;
        Ok(done == 1)
    }

    /// The delegations of `participant` that `official` gave or received, or (for `None`) all of
    /// the participant's, newest first; at most 200.
    pub async fn delegations_of(
        &self,
        participant: &str,
        official: Option<&str>,
    ) -> Result<Vec<DelegationRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM delegations WHERE participant = $1 AND (CAST($2 AS TEXT) IS NULL OR \
             principal = $2 OR deputy = $2) ORDER BY created_at DESC, id LIMIT 200"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(official).fetch_all(pool).await)
        .map_err(|e| self.failed("read delegations from", e))
    }
}
