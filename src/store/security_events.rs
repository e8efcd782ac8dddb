//! The security-event log (001 §2.2.3): what happened to sign-ins and sessions, and what was
//! refused, with the identity provider's pseudonymous subject at most: never a name, RNOKPP or
//! token.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, parse_time, time_text};

const RECORD: &str =
    "INSERT INTO security_events (at, kind, subject, reason) VALUES ($1, $2, $3, $4)";
const LATEST: &str =
    "SELECT id, at, kind, subject, reason FROM security_events ORDER BY id DESC LIMIT $1";

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    pub at: DateTime<Utc>,
    /// `signed-in`, `sign-in-failed`, `signed-out`, `refused-csrf`, `refused-token`, …
    pub kind: String,
    /// The identity provider's pseudonymous subject, when known.
    pub subject: Option<String>,
    /// A short reason without personal data.
    pub reason: String,
}

#[derive(sqlx::FromRow)]
struct StoredEvent {
    id: i64,
    at: String,
    kind: String,
    subject: Option<String>,
    reason: String,
}

/// A recorded event with its number in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEventRow {
    pub id: i64,
    pub event: SecurityEvent,
}

impl Store {
    pub async fn record_security_event(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(RECORD)
            .bind(time_text(&event.at))
            .bind(&event.kind)
            .bind(&event.subject)
            .bind(&event.reason)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("record a security event in", e))
    }

    /// The latest `limit` events, newest first.
    pub async fn security_events(&self, limit: i64) -> Result<Vec<SecurityEventRow>, StoreError> {
        let rows: Vec<StoredEvent> = on_pool!(&self.pool, pool => sqlx::query_as(LATEST)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the security events from", e))?;
        rows.into_iter()
            .map(|row| {
                let at = parse_time(&row.at).ok_or_else(|| {
                    self.malformed(&format!("security event {}", row.id), "time", &row.at)
                })?;
                Ok(SecurityEventRow {
                    id: row.id,
                    event: SecurityEvent {
                        at,
                        kind: row.kind,
                        subject: row.subject,
                        reason: row.reason,
                    },
                })
            })
            .collect()
    }
}
