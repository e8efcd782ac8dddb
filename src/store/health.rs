//! Results of the services' health checks: one row per check, by service (`participant/service`)
//! and the node that ran it. The catalogue reads the latest result and the availability over a
//! window; the runner prunes what has aged out. Times are RFC 3339 UTC text with nanoseconds,
//! which sorts as time does, so windows are plain text comparisons on both databases.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::reconciles::time_text;
use super::{Store, StoreError, on_pool};

/// One health check of a service's upstream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthResult {
    /// `participant/service`.
    pub service: String,
    /// The gateway node that ran the check.
    pub node: String,
    pub checked_at: DateTime<Utc>,
    /// The upstream answered 2xx within the timeout.
    pub ok: bool,
    /// The HTTP status, when the upstream answered at all.
    pub status_code: Option<u16>,
    pub latency_ms: i64,
    /// Why the check failed without an answer (never holds the upstream's address).
    pub error: Option<String>,
}

/// How many checks of a service passed since some time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub ok: i64,
    pub total: i64,
}

impl Availability {
    /// The share of checks that passed, 0.0–1.0; `None` when there were none.
    pub fn ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.ok as f64 / self.total as f64)
    }
}

const INSERT: &str = "INSERT INTO health_results \
     (service, node, checked_at, ok, status_code, latency_ms, error) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const LATEST: &str = "SELECT service, node, checked_at, ok, status_code, latency_ms, error \
     FROM health_results WHERE service = $1 ORDER BY checked_at DESC, id DESC LIMIT 1";
const AVAILABILITY: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN ok THEN 1 ELSE 0 END), 0) \
     FROM health_results WHERE service = $1 AND checked_at >= $2";
const PRUNE: &str = "DELETE FROM health_results WHERE checked_at < $1";

type Row = (
    String,
    String,
    String,
    bool,
    Option<i32>,
    i64,
    Option<String>,
);

impl Store {
    /// Records one health check.
    pub async fn record_health(&self, result: &HealthResult) -> Result<(), StoreError> {
        let checked_at = time_text(&result.checked_at);
        on_pool!(&self.pool, pool => sqlx::query(INSERT)
            .bind(&result.service)
            .bind(&result.node)
            .bind(&checked_at)
            .bind(result.ok)
            .bind(result.status_code.map(i32::from))
            .bind(result.latency_ms.max(0))
            .bind(&result.error)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| {
            self.failed(
                &format!("record a health check of {} in", result.service),
                e,
            )
        })
    }

    /// The newest health check of `service` (`participant/service`), by whichever node ran it.
    pub async fn latest_health(&self, service: &str) -> Result<Option<HealthResult>, StoreError> {
        let row: Option<Row> = on_pool!(&self.pool, pool => sqlx::query_as(LATEST)
            .bind(service)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed(&format!("read the health of {service} from"), e))?;
        let Some((service, node, checked_at, ok, status_code, latency_ms, error)) = row else {
            return Ok(None);
        };
        let malformed = |what: &str, value: &str| {
            StoreError::new(format!(
                "a health check of {service} in the {} database {} holds a malformed {what} \
                 `{value}`; the row was changed outside hromada",
                self.backend().name(),
                self.target
            ))
        };
        let checked_at = DateTime::parse_from_rfc3339(&checked_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| malformed("check time", &checked_at))?;
        let status_code = status_code
            .map(|code| u16::try_from(code).map_err(|_| malformed("status", &code.to_string())))
            .transpose()?;
        Ok(Some(HealthResult {
            service,
            node,
            checked_at,
            ok,
            status_code,
            latency_ms,
            error,
        }))
    }

    /// How many checks of `service` ran since `since`, and how many passed.
    pub async fn availability(
        &self,
        service: &str,
        since: DateTime<Utc>,
    ) -> Result<Availability, StoreError> {
        let (total, ok): (i64, i64) = on_pool!(&self.pool, pool => sqlx::query_as(AVAILABILITY)
            .bind(service)
            .bind(time_text(&since))
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed(&format!("read the availability of {service} from"), e))?;
        Ok(Availability { ok, total })
    }

    /// Deletes the health checks older than `before`; returns how many.
    pub async fn prune_health(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(PRUNE)
            .bind(time_text(&before))
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("prune old health checks in", e))
    }
}
