//! What the citizens' sessions (`portal_sessions`) and the officials' (`office_sessions`) have
//! in common: a session is touched, ended alone or with every other of its person, and
//! forgotten once expired, by the same statements over either table.

use chrono::{DateTime, Utc};

use super::{SessionEnd, Store, StoreError, on_pool, time_text};

/// One of the two session tables.
#[derive(Debug, Clone, Copy)]
pub(super) enum SessionTable {
    Citizens,
    Officials,
}

impl SessionTable {
    fn touch(self) -> &'static str {
        match self {
            SessionTable::Citizens => {
                "UPDATE portal_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL"
            }
            SessionTable::Officials => {
                "UPDATE office_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL"
            }
        }
    }

    fn end_one(self) -> &'static str {
        match self {
            SessionTable::Citizens => {
                "UPDATE portal_sessions SET ended_at = $2, ended_why = $3 \
                 WHERE id = $1 AND ended_at IS NULL"
            }
            SessionTable::Officials => {
                "UPDATE office_sessions SET ended_at = $2, ended_why = $3 \
                 WHERE id = $1 AND ended_at IS NULL"
            }
        }
    }

    fn end_all(self) -> &'static str {
        match self {
            SessionTable::Citizens => {
                "UPDATE portal_sessions SET ended_at = $2, ended_why = $3 \
                 WHERE owner = $1 AND ended_at IS NULL"
            }
            SessionTable::Officials => {
                "UPDATE office_sessions SET ended_at = $2, ended_why = $3 \
                 WHERE official = $1 AND ended_at IS NULL"
            }
        }
    }

    fn forget(self) -> &'static str {
        match self {
            SessionTable::Citizens => "DELETE FROM portal_sessions WHERE expires_at < $1",
            SessionTable::Officials => "DELETE FROM office_sessions WHERE expires_at < $1",
        }
    }

    /// Whose sessions, as an error message names them.
    fn whose(self) -> &'static str {
        match self {
            SessionTable::Citizens => "portal",
            SessionTable::Officials => "officials'",
        }
    }
}

impl Store {
    /// Records that session `id` of `table` was used at `now`.
    pub(super) async fn touch_session_in(
        &self,
        table: SessionTable,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn_for_statement().await?;
        on_pool!(&self.pool, pool => sqlx::query(table.touch())
            .bind(id)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| {
            self.failed(
                &format!("record the use of a {} session in", table.whose()),
                e,
            )
        })
    }

    /// Ends session `id` of `table`; whether it was open.
    pub(super) async fn end_session_in(
        &self,
        table: SessionTable,
        id: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<bool, StoreError> {
        let ended = on_pool!(&self.pool, pool => sqlx::query(table.end_one())
            .bind(id)
            .bind(time_text(&now))
            .bind(why.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed(&format!("end a {} session in", table.whose()), e))?;
        Ok(ended == 1)
    }

    /// Ends every open session of `person` in `table`; how many there were.
    pub(super) async fn end_sessions_in(
        &self,
        table: SessionTable,
        person: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(table.end_all())
            .bind(person)
            .bind(time_text(&now))
            .bind(why.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed(&format!("end {} sessions in", table.whose()), e))
    }

    /// Forgets the sessions of `table` that expired before `before`, ended or not; how many.
    pub(super) async fn forget_sessions_in(
        &self,
        table: SessionTable,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(table.forget())
            .bind(time_text(&before))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed(&format!("forget old {} sessions in", table.whose()), e))
    }
}
