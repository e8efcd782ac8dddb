//! Officials' sessions in the office (PORTAL-7), apart from citizens': looked up by the SHA-256
//! of their cookie's token together with the official's account state, in one indexed query, so
//! that a block takes effect at the official's next request.

use chrono::{DateTime, Utc};

use super::official_blocks::{StoredBlock, read_block};
use super::{OfficialBlock, SessionEnd, Store, StoreError, on_pool, parse_time, time_text};

const OPEN: &str = "INSERT INTO office_sessions \
     (id, official, subject, csrf, created_at, last_seen_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $5, $6)";
const FIND: &str = "SELECT s.id, s.official, s.subject, s.csrf, s.created_at, s.last_seen_at, \
     s.expires_at, b.official AS block_official, b.state, b.until, b.reason, b.by_official, b.at \
     FROM office_sessions s LEFT JOIN official_blocks b ON b.official = s.official \
     WHERE s.id = $1 AND s.ended_at IS NULL";
const TOUCH: &str =
    "UPDATE office_sessions SET last_seen_at = $2 WHERE id = $1 AND ended_at IS NULL";
const END_ONE: &str = "UPDATE office_sessions SET ended_at = $2, ended_why = $3 \
     WHERE id = $1 AND ended_at IS NULL";
const END_ALL: &str = "UPDATE office_sessions SET ended_at = $2, ended_why = $3 \
     WHERE official = $1 AND ended_at IS NULL";
const FORGET: &str = "DELETE FROM office_sessions WHERE expires_at < $1";

/// An official's session to open.
#[derive(Debug, Clone)]
pub struct NewOfficeSession {
    /// SHA-256 (hex) of the cookie's token.
    pub id: String,
    /// The spec's official id.
    pub official: String,
    /// The identity provider's pseudonymous subject.
    pub subject: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct StoredSession {
    id: String,
    official: String,
    subject: String,
    csrf: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    #[sqlx(flatten)]
    block: StoredBlock,
}

/// An official's session that has not been ended, with their account's block if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeSessionRow {
    pub id: String,
    pub official: String,
    pub subject: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// What the store says of the account (the spec may say more).
    pub block: Option<OfficialBlock>,
}

impl Store {
    pub async fn open_office_session(&self, session: &NewOfficeSession) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(OPEN)
            .bind(&session.id)
            .bind(&session.official)
            .bind(&session.subject)
            .bind(&session.csrf)
            .bind(time_text(&session.created_at))
            .bind(time_text(&session.expires_at))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("open an official's session in", e))
    }

    /// The official's session `id` (a token's hash) unless ended, with the account's block.
    pub async fn office_session(&self, id: &str) -> Result<Option<OfficeSessionRow>, StoreError> {
        let row: Option<StoredSession> = on_pool!(&self.pool, pool => sqlx::query_as(FIND)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an official's session from", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let time = |what: &str, text: &str| {
            parse_time(text).ok_or_else(|| self.malformed("an official's session", what, text))
        };
        Ok(Some(OfficeSessionRow {
            created_at: time("start time", &row.created_at)?,
            last_seen_at: time("last-seen time", &row.last_seen_at)?,
            expires_at: time("expiry", &row.expires_at)?,
            block: read_block(self, row.block)?,
            id: row.id,
            official: row.official,
            subject: row.subject,
            csrf: row.csrf,
        }))
    }

    pub async fn touch_office_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(TOUCH)
            .bind(id)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("record the use of an official's session in", e))
    }

    /// Ends the official's session `id`; whether it was open.
    pub async fn end_office_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<bool, StoreError> {
        let ended = on_pool!(&self.pool, pool => sqlx::query(END_ONE)
            .bind(id)
            .bind(time_text(&now))
            .bind(why.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("end an official's session in", e))?;
        Ok(ended == 1)
    }

    /// Ends every open session of `official`; how many there were.
    pub async fn end_office_sessions_of(
        &self,
        official: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(END_ALL)
            .bind(official)
            .bind(time_text(&now))
            .bind(why.as_str())
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("end an official's sessions in", e))
    }

    /// Forgets officials' sessions that expired before `before`; how many.
    pub async fn forget_office_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(FORGET)
            .bind(time_text(&before))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("forget old officials' sessions in", e))
    }
}
