//! Applications delivered to a provider's own system (003 §5.4): the delivery of each (pending
//! until the system takes it, leased by one runner at a time, every attempt kept with its reason)
//! and the reports the system sent back, one per report id so that a replay finds the first.

use chrono::{DateTime, Utc};

use super::ApplicationRow;
use super::applications::COLUMNS as APPLICATION_COLUMNS;
use super::time::time_text;
use super::{Store, StoreError, on_pool, on_tx};

const COLUMNS: &str = "id, application_id, case_id, e_service, subsystem, service, status, \
     attempts, next_attempt_at, last_error, provider_reference, created_at, delivered_at";
const INSERT: &str = "INSERT INTO deliveries (id, application_id, case_id, e_service, subsystem, \
     service, status, attempts, next_attempt_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7) ON CONFLICT (application_id) DO NOTHING";
/// Leases up to `$4` due deliveries to `$1` until `$2`; the outer conditions hold a row another
/// runner leased meanwhile back (as the outbox's claim does).
const CLAIM: &str = "UPDATE deliveries SET leased_by = $1, lease_until = $2 \
     WHERE id IN (SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= $3 \
         AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_attempt_at, id LIMIT $4) \
     AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)";
const LEASED: &str = "SELECT id, application_id, case_id, e_service, subsystem, service, status, \
     attempts, next_attempt_at, last_error, provider_reference, created_at, delivered_at \
     FROM deliveries WHERE leased_by = $1 AND status = 'pending' ORDER BY next_attempt_at, id";
const DELIVERED: &str = "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, \
     delivered_at = $3, provider_reference = $4, last_error = NULL, leased_by = NULL, \
     lease_until = NULL WHERE id = $1 AND leased_by = $2 AND status = 'pending'";
const RETRY: &str = "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $3, \
     last_error = $4, leased_by = NULL, lease_until = NULL \
     WHERE id = $1 AND leased_by = $2 AND status = 'pending'";
const ATTEMPT: &str = "INSERT INTO delivery_attempts (delivery_id, n, at, outcome, reason) \
     VALUES ($1, (SELECT attempts FROM deliveries WHERE id = $1), $2, $3, $4)";
const REPORT_COLUMNS: &str = "delivery_id, report_id, case_id, participant, event, report, seal, \
     result_number, result_pdf, result_seal, state_after, received_at";

/// One application's delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// The id the provider's system dedupes on; sent with every attempt.
    pub id: String,
    pub application_id: String,
    pub case_id: String,
    pub e_service: String,
    /// The provider's system, `participant/subsystem`.
    pub subsystem: String,
    /// The receiving service, `participant/service`.
    pub service: String,
    /// `pending` or `delivered`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    /// Why the last attempt failed, in words.
    pub last_error: Option<String>,
    /// The provider's own number of the application, from its answer.
    pub provider_reference: Option<String>,
    pub created_at: String,
    pub delivered_at: Option<String>,
}

/// A delivery to record for an application whose case was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery<'a> {
    pub id: &'a str,
    pub application_id: &'a str,
    pub case_id: &'a str,
    pub e_service: &'a str,
    pub subsystem: &'a str,
    pub service: &'a str,
    pub at: DateTime<Utc>,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryAttempt {
    pub n: i64,
    pub at: String,
    /// `delivered` or `failed`.
    pub outcome: String,
    pub reason: Option<String>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The provider's system took it, answering with its reference.
    Delivered { reference: Option<String> },
    /// Try again at `at`; `reason` says what went wrong.
    Retry { at: DateTime<Utc>, reason: String },
}

/// A report of the provider's system on a delivered application.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProviderReportRow {
    pub delivery_id: String,
    /// The system's own id of the report; a second report with it is a replay.
    pub report_id: String,
    pub case_id: String,
    /// The participant whose seal it carries: the one the application was delivered to.
    pub participant: String,
    /// The workflow's transition it fired.
    pub event: String,
    /// The report's JSON, exactly the bytes sealed.
    pub report: String,
    /// The participant's detached CMS seal (DER) over `report`.
    pub seal: Vec<u8>,
    /// The result document's number in the provider's system, where a result came with it.
    pub result_number: Option<String>,
    pub result_pdf: Option<Vec<u8>>,
    /// The participant's detached CMS seal (DER) over `result_pdf`.
    pub result_seal: Option<Vec<u8>>,
    /// The case's state once the transition was fired.
    pub state_after: String,
    pub received_at: String,
}

impl Store {
    /// Application `id`, whoever it belongs to (the runner delivering it).
    pub async fn application_by_id(&self, id: &str) -> Result<Option<ApplicationRow>, StoreError> {
        let sql = format!("SELECT {APPLICATION_COLUMNS} FROM applications WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read an application from", e))
    }

    /// Applications of `e_service` whose case is open and that have no delivery yet, oldest
    /// first, at most `limit`.
    pub async fn applications_awaiting_delivery(
        &self,
        e_service: &str,
        limit: i64,
    ) -> Result<Vec<ApplicationRow>, StoreError> {
        let columns = APPLICATION_COLUMNS
            .split(", ")
            .map(|c| format!("a.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT {columns} FROM applications a JOIN cases c ON c.id = a.case_id \
             WHERE a.e_service = $1 AND c.outcome IS NULL \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.application_id = a.id) \
             ORDER BY a.received_at, a.id LIMIT $2"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(e_service)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the applications awaiting delivery from", e))
    }

    /// Records a delivery for its application; `false` (nothing changed) when the application
    /// already has one.
    pub async fn insert_delivery(&self, new: &NewDelivery<'_>) -> Result<bool, StoreError> {
        let done = on_pool!(&self.pool, pool => sqlx::query(INSERT)
            .bind(new.id)
            .bind(new.application_id)
            .bind(new.case_id)
            .bind(new.e_service)
            .bind(new.subsystem)
            .bind(new.service)
            .bind(time_text(&new.at))
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| self.failed("record a delivery in", e))?;
        Ok(done == 1)
    }

    /// Leases up to `limit` deliveries due at `now` to `holder` until `until`; one leased to
    /// another holder is left alone until its lease ends.
    pub async fn lease_deliveries(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(CLAIM)
            .bind(holder)
            .bind(time_text(&until))
            .bind(time_text(&now))
            .bind(limit)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("lease deliveries from", e))?;
        on_pool!(&self.pool, pool => sqlx::query_as(LEASED).bind(holder).fetch_all(pool).await)
            .map_err(|e| self.failed("read leased deliveries from", e))
    }

    /// Records the outcome of `holder`'s attempt at delivery `id`, with the attempt itself;
    /// `false` when the lease was no longer `holder`'s.
    pub async fn finish_delivery(
        &self,
        id: &str,
        holder: &str,
        now: DateTime<Utc>,
        outcome: &DeliveryOutcome,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let at = time_text(&now);
        let (updated, word, reason) = match outcome {
            DeliveryOutcome::Delivered { reference } => {
                let updated = on_tx!(&mut tx, t => sqlx::query(DELIVERED)
                    .bind(id)
                    .bind(holder)
                    .bind(&at)
                    .bind(reference)
                    .execute(&mut **t)
                    .await
                    .map(|r| r.rows_affected()));
                (updated, "delivered", None)
            }
            DeliveryOutcome::Retry { at: next, reason } => {
                let updated = on_tx!(&mut tx, t => sqlx::query(RETRY)
                    .bind(id)
                    .bind(holder)
                    .bind(time_text(next))
                    .bind(reason)
                    .execute(&mut **t)
                    .await
                    .map(|r| r.rows_affected()));
                (updated, "failed", Some(reason.as_str()))
            }
        };
        let updated = updated.map_err(|e| self.failed("record a delivery's attempt in", e))?;
        if updated != 1 {
            return Ok(false);
        }
        on_tx!(&mut tx, t => sqlx::query(ATTEMPT)
            .bind(id)
            .bind(&at)
            .bind(word)
            .bind(reason)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("record a delivery's attempt in", e))?;
        tx.commit().await?;
        Ok(true)
    }

    /// Delivery `id`.
    pub async fn delivery(&self, id: &str) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a delivery from", e))
    }

    /// The delivery of application `application_id`.
    pub async fn delivery_of_application(
        &self,
        application_id: &str,
    ) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM deliveries WHERE application_id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(application_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a delivery from", e))
    }

    /// The attempts at delivery `id`, first first.
    pub async fn delivery_attempts(&self, id: &str) -> Result<Vec<DeliveryAttempt>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT n, at, outcome, reason FROM delivery_attempts WHERE delivery_id = $1 ORDER BY n")
            .bind(id)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read a delivery's attempts from", e))
    }

    /// Stores `report`; the report already stored under its delivery and report id when there
    /// is one (then nothing changes).
    pub async fn insert_provider_report(
        &self,
        report: &ProviderReportRow,
    ) -> Result<Option<ProviderReportRow>, StoreError> {
        let sql = format!(
            "INSERT INTO provider_reports ({REPORT_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (delivery_id, report_id) DO NOTHING"
        );
        let inserted = on_pool!(&self.pool, pool => sqlx::query(&sql)
            .bind(&report.delivery_id)
            .bind(&report.report_id)
            .bind(&report.case_id)
            .bind(&report.participant)
            .bind(&report.event)
            .bind(&report.report)
            .bind(&report.seal)
            .bind(&report.result_number)
            .bind(&report.result_pdf)
            .bind(&report.result_seal)
            .bind(&report.state_after)
            .bind(&report.received_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))
        .map_err(|e| self.failed("store a provider's report in", e))?;
        if inserted == 1 {
            return Ok(None);
        }
        self.provider_report(&report.delivery_id, &report.report_id)
            .await
    }

    /// Report `report_id` of delivery `delivery_id`.
    pub async fn provider_report(
        &self,
        delivery_id: &str,
        report_id: &str,
    ) -> Result<Option<ProviderReportRow>, StoreError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM provider_reports WHERE delivery_id = $1 AND report_id = $2"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(delivery_id)
            .bind(report_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read a provider's report from", e))
    }

    /// The reports on case `case_id`, oldest first.
    pub async fn provider_reports_of_case(
        &self,
        case_id: &str,
    ) -> Result<Vec<ProviderReportRow>, StoreError> {
        let sql = format!(
            "SELECT {REPORT_COLUMNS} FROM provider_reports WHERE case_id = $1 \
             ORDER BY received_at, report_id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a case's provider reports from", e))
    }
}
