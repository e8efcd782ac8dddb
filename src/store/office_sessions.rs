//! Officials' sessions in the office (PORTAL-7), apart from citizens': looked up by the SHA-256
//! of their cookie's token together with the official's account state, in one indexed query, so
//! that a block takes effect at the official's next request.

use chrono::{DateTime, Utc};

use super::official_blocks::{StoredBlock, read_block};
use super::session_tables::SessionTable;
use super::{OfficialBlock, SessionEnd, Store, StoreError, on_pool, parse_time, time_text};

const OPEN: &str = "INSERT INTO office_sessions \
     (id, official, subject, csrf, created_at, last_seen_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $5, $6)";
const FIND: &str = "SELECT s.id, s.official, s.subject, s.csrf, s.created_at, s.last_seen_at, \
     s.expires_at, b.official AS block_official, b.state, b.until, b.reason, b.by_official, b.at \
     FROM office_sessions s LEFT JOIN official_blocks b ON b.official = s.official \
     WHERE s.id = $1 AND s.ended_at IS NULL";

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
        self.touch_session_in(SessionTable::Officials, id, now)
            .await
    }

    /// Ends the official's session `id`; whether it was open.
    pub async fn end_office_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<bool, StoreError> {
        self.end_session_in(SessionTable::Officials, id, now, why)
            .await
    }

    /// Ends every open session of `official`; how many there were.
    pub async fn end_office_sessions_of(
        &self,
        official: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<u64, StoreError> {
        self.end_sessions_in(SessionTable::Officials, official, now, why)
            .await
    }

    /// Forgets officials' sessions that expired before `before`; how many.
    pub async fn forget_office_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.forget_sessions_in(SessionTable::Officials, before)
            .await
    }
}
