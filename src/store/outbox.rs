//! The case engine's outgoing mail: queued in a transition's transaction (one per idempotency
//! key), leased by a deliverer before it is sent so that replicas never send one mail at once,
//! then marked sent, due again later with the error of the attempt, or failed for good.

use chrono::{DateTime, Utc};

use super::reconciles::time_text;
use super::{Store, StoreError, Tx, on_pool, on_tx};

const ENQUEUE: &str = "INSERT INTO outbox (key, case_id, recipient, subject, body) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING";
const ENQUEUE_LIST: &str = "INSERT INTO outbox (key, case_id, recipient, subject, body, \
     list_unsubscribe) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING";
/// Leases up to `$4` due rows to `$1` until `$2`. The outer conditions are checked again on a
/// row another replica leased meanwhile (PostgreSQL re-reads a row it waited for), so only one
/// of them gets it.
const CLAIM: &str = "UPDATE outbox SET leased_by = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM outbox WHERE status = 'queued' AND next_attempt_at <= $3 \
         AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4) \
     AND status = 'queued' AND (lease_until IS NULL OR lease_until < $3) \
     RETURNING id, key, case_id, recipient, subject, body, attempts, list_unsubscribe";
const SENT: &str = "UPDATE outbox SET status = 'sent', attempts = attempts + 1, finished_at = $3, \
     last_error = NULL, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND status = 'queued'";
const RETRY: &str = "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3, \
     last_error = $4, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND status = 'queued'";
const FAILED: &str = "UPDATE outbox SET status = 'failed', attempts = attempts + 1, \
     finished_at = $3, last_error = $4, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND status = 'queued'";
const BY_KEY: &str = "SELECT id, key, case_id, recipient, subject, status, attempts, \
     next_attempt_at, last_error, finished_at FROM outbox WHERE key = $1";
const QUEUED: &str = "SELECT COUNT(*) FROM outbox WHERE status = 'queued'";

/// A mail to queue; `key` makes it idempotent (a second one with the same key is not queued).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    pub key: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub case_id: Option<String>,
}

/// A mail leased to one deliverer, to be sent now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LeasedMail {
    pub id: i64,
    pub key: String,
    pub case_id: Option<String>,
    #[sqlx(rename = "recipient")]
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// The one-click unsubscribe address of a list's mail (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Sent,
    /// Try again at `at`; `error` says what went wrong (no address, no body).
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Never try again.
    Failed {
        error: String,
    },
}

/// Where a mail stands, without its body.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MailStatus {
    pub id: i64,
    pub key: String,
    pub case_id: Option<String>,
    #[sqlx(rename = "recipient")]
    pub to: String,
    pub subject: String,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    /// When a queued mail is due ('' for at once).
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub finished_at: Option<String>,
}

impl Store {
    /// Queues `mail` in `tx`; nothing happens when a mail with its key is already queued or sent.
    pub async fn enqueue_mail(&self, tx: &mut Tx, mail: &NewMail) -> Result<(), StoreError> {
        on_tx!(tx, t => sqlx::query(ENQUEUE)
            .bind(&mail.key)
            .bind(&mail.case_id)
            .bind(&mail.to)
            .bind(&mail.subject)
            .bind(&mail.body)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("queue a mail in", e))
    }

    /// Queues `mail` in `tx` as a mailing list's, with the one-click unsubscribe address its
    /// `List-Unsubscribe` header gives; nothing happens when its key is already queued or sent.
    pub async fn enqueue_list_mail(
        &self,
        tx: &mut Tx,
        mail: &NewMail,
        list_unsubscribe: &str,
    ) -> Result<(), StoreError> {
        on_tx!(tx, t => sqlx::query(ENQUEUE_LIST)
            .bind(&mail.key)
            .bind(&mail.case_id)
            .bind(&mail.to)
            .bind(&mail.subject)
            .bind(&mail.body)
            .bind(list_unsubscribe)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("queue a mailing list's mail in", e))
    }

    /// Leases up to `limit` mails due at `now` to `holder` until `until`; a mail leased to
    /// another holder is left alone until its lease ends.
    pub async fn lease_mail(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LeasedMail>, StoreError> {
        let mut mails: Vec<LeasedMail> = on_pool!(&self.pool, pool => sqlx::query_as(CLAIM)
            .bind(holder)
            .bind(time_text(&until))
            .bind(time_text(&now))
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("lease mail to send from", e))?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    /// Records the outcome of `holder`'s attempt at mail `id`; `false` when the lease was no
    /// longer `holder`'s (it ran out and another deliverer took the mail).
    pub async fn finish_mail(
        &self,
        id: i64,
        holder: &str,
        now: DateTime<Utc>,
        outcome: &MailOutcome,
    ) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => {
            let query = match outcome {
                MailOutcome::Sent => sqlx::query(SENT).bind(id).bind(holder).bind(time_text(&now)),
                MailOutcome::Retry { at, error } => sqlx::query(RETRY)
                    .bind(id)
                    .bind(holder)
                    .bind(time_text(at))
                    .bind(error),
                MailOutcome::Failed { error } => sqlx::query(FAILED)
                    .bind(id)
                    .bind(holder)
                    .bind(time_text(&now))
                    .bind(error),
            };
            query.execute(pool).await.map(|done| done.rows_affected())
        })
        .map_err(|e| self.failed("record a mail delivery in", e))?;
        Ok(done == 1)
    }

    /// The mail queued with `key`, if any.
    pub async fn mail_status(&self, key: &str) -> Result<Option<MailStatus>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(BY_KEY).bind(key).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a queued mail from", e))
    }

    /// How many mails wait to be sent.
    pub async fn queued_mail(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(QUEUED).fetch_one(pool).await)
            .map_err(|e| self.failed("count the queued mail in", e))
    }
}
