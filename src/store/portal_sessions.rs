//! The portal's sessions and the sign-ins under way (PORTAL-2). A session is looked up by the
//! SHA-256 of its cookie's token; ending is by one session or by every session of a person.
//! A sign-in under way is taken once: a replayed callback finds nothing.

use chrono::{DateTime, Utc};

use super::session_tables::SessionTable;
use super::{Store, StoreError, on_pool, parse_time, time_text};

const OPEN: &str = "INSERT INTO portal_sessions \
     (id, subject, owner, claims, csrf, created_at, last_seen_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6, $7)";
const FIND: &str = "SELECT id, subject, owner, claims, csrf, created_at, last_seen_at, expires_at \
     FROM portal_sessions WHERE id = $1 AND ended_at IS NULL";
const BEGIN_SIGN_IN: &str = "INSERT INTO portal_sign_ins \
     (state, browser, nonce, pkce_verifier, next, expires_at, office) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const TAKE_SIGN_IN: &str = "DELETE FROM portal_sign_ins WHERE state = $1 \
     RETURNING state, browser, nonce, pkce_verifier, next, expires_at, office";
const FORGET_SIGN_INS: &str = "DELETE FROM portal_sign_ins WHERE expires_at < $1";

/// A session to open.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 (hex) of the cookie's token.
    pub id: String,
    pub subject: String,
    pub owner: String,
    /// JSON text of the person's identity as the portal keeps it.
    pub claims: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    /// The absolute end of the session.
    pub expires_at: DateTime<Utc>,
}

/// A `portal_sessions` row as stored.
#[derive(sqlx::FromRow)]
struct StoredSession {
    id: String,
    subject: String,
    owner: String,
    claims: String,
    csrf: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
}

/// A session that has not been ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    pub subject: String,
    pub owner: String,
    pub claims: String,
    pub csrf: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why a session ended, as `ended_why` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEnd {
    SignedOut,
    Idle,
    Expired,
    /// An official's session ended because their account is blocked or no longer declared.
    Refused,
}

impl SessionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEnd::SignedOut => "signed-out",
            SessionEnd::Idle => "idle",
            SessionEnd::Expired => "expired",
            SessionEnd::Refused => "refused",
        }
    }
}

/// A sign-in sent to the identity provider and not yet back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingSignIn {
    /// SHA-256 (hex) of the `state` sent.
    pub state: String,
    /// SHA-256 (hex) of the cookie of the browser that started it.
    pub browser: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// The local path to return to.
    pub next: String,
    pub expires_at: String,
    /// An official's sign-in to the office, not a citizen's.
    pub office: bool,
}

impl Store {
    /// Opens a session.
    pub async fn open_session(&self, session: &NewSession) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(OPEN)
            .bind(&session.id)
            .bind(&session.subject)
            .bind(&session.owner)
            .bind(&session.claims)
            .bind(&session.csrf)
            .bind(time_text(&session.created_at))
            .bind(time_text(&session.expires_at))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("open a portal session in", e))
    }

    /// The session `id` (a token's hash) unless it has been ended; its expiry is the caller's
    /// to judge.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<StoredSession> = on_pool!(&self.pool, pool => sqlx::query_as(FIND)
            .bind(id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a portal session from", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let time = |what: &str, text: &str| {
            parse_time(text).ok_or_else(|| self.malformed("a portal session", what, text))
        };
        Ok(Some(SessionRow {
            created_at: time("start time", &row.created_at)?,
            last_seen_at: time("last-seen time", &row.last_seen_at)?,
            expires_at: time("expiry", &row.expires_at)?,
            id: row.id,
            subject: row.subject,
            owner: row.owner,
            claims: row.claims,
            csrf: row.csrf,
        }))
    }

    /// Records that session `id` was used at `now`.
    pub async fn touch_session(&self, id: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.touch_session_in(SessionTable::Citizens, id, now).await
    }

    /// Ends session `id`; whether it was open.
    pub async fn end_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<bool, StoreError> {
        self.end_session_in(SessionTable::Citizens, id, now, why)
            .await
    }

    /// Ends every open session of `owner` (all their devices); how many there were.
    pub async fn end_sessions_of(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        why: SessionEnd,
    ) -> Result<u64, StoreError> {
        self.end_sessions_in(SessionTable::Citizens, owner, now, why)
            .await
    }

    /// Forgets the sessions that expired before `before`, ended or not (with the identity they
    /// kept); how many.
    pub async fn forget_sessions(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.forget_sessions_in(SessionTable::Citizens, before)
            .await
    }

    /// Remembers a sign-in sent to the identity provider; those expired before `now` are
    /// forgotten on the way.
    pub async fn begin_sign_in(
        &self,
        pending: &PendingSignIn,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(FORGET_SIGN_INS)
            .bind(time_text(&now))
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("forget expired sign-ins in", e))?;
        on_pool!(&self.pool, pool => sqlx::query(BEGIN_SIGN_IN)
            .bind(&pending.state)
            .bind(&pending.browser)
            .bind(&pending.nonce)
            .bind(&pending.pkce_verifier)
            .bind(&pending.next)
            .bind(&pending.expires_at)
            .bind(pending.office)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("remember a sign-in in", e))
    }

    /// Takes the sign-in whose `state` hashes to `state`: the first caller gets it, every later
    /// one `None`.
    pub async fn take_sign_in(&self, state: &str) -> Result<Option<PendingSignIn>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(TAKE_SIGN_IN)
            .bind(state)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("take a sign-in from", e))
    }
}
