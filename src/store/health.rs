//! Results of the services' health checks: one row per check, by service (`participant/service`)
//! and the node that ran it. The catalogue reads every service's latest result and availability
//! over two windows in one query; the runner prunes what has aged out. Times are the store's time
//! text (`time.rs`), which sorts as time does, so windows are plain text comparisons.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreError, on_pool, parse_time, time_text};

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
/// Per service: its newest check (the one recorded last among equal times) and how many checks
/// ran and passed since `$1` (the short window) and since `$2` (the long one), in one scan.
const BY_SERVICE: &str = "SELECT service, node, checked_at, ok, status_code, latency_ms, error, \
     short_ok, short_total, long_ok, long_total FROM (SELECT service, node, checked_at, ok, \
     status_code, latency_ms, error, \
     ROW_NUMBER() OVER (PARTITION BY service ORDER BY checked_at DESC, id DESC) AS newest, \
     SUM(CASE WHEN checked_at >= $1 AND ok THEN 1 ELSE 0 END) OVER whole AS short_ok, \
     SUM(CASE WHEN checked_at >= $1 THEN 1 ELSE 0 END) OVER whole AS short_total, \
     SUM(CASE WHEN checked_at >= $2 AND ok THEN 1 ELSE 0 END) OVER whole AS long_ok, \
     SUM(CASE WHEN checked_at >= $2 THEN 1 ELSE 0 END) OVER whole AS long_total \
     FROM health_results WINDOW whole AS (PARTITION BY service)) AS ranked WHERE newest = 1";
const AFTER: &str = "SELECT id, service, node, checked_at, ok, status_code, latency_ms, error \
     FROM health_results WHERE id > $1 ORDER BY id LIMIT $2";
const PRUNE: &str = "DELETE FROM health_results WHERE checked_at < $1";

/// What the store knows of one service's health: its newest check and its availability over
/// the two windows [`Store::health_by_service`] was asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    pub latest: HealthResult,
    pub short: Availability,
    pub long: Availability,
}

/// One `BY_SERVICE` row: a service's newest check, as stored, and its counts.
/// One stored check as `health_after` reads it.
#[derive(sqlx::FromRow)]
struct CheckRow {
    id: i64,
    service: String,
    node: String,
    checked_at: String,
    ok: bool,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    service: String,
    node: String,
    checked_at: String,
    ok: bool,
    status_code: Option<i32>,
    latency_ms: i64,
    error: Option<String>,
    short_ok: i64,
    short_total: i64,
    long_ok: i64,
    long_total: i64,
}

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

    /// Every checked service's health (by `participant/service`), with its availability since
    /// `short` and since `long`: one query, whatever the number of services. A service whose
    /// newest row is malformed is left out (its health is unknown), with a warning.
    pub async fn health_by_service(
        &self,
        short: DateTime<Utc>,
        long: DateTime<Utc>,
    ) -> Result<BTreeMap<String, ServiceHealth>, StoreError> {
        let rows: Vec<ServiceRow> = on_pool!(&self.pool, pool => sqlx::query_as(BY_SERVICE)
            .bind(time_text(&short))
            .bind(time_text(&long))
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the services' health from", e))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                self.service_health(row)
                    .map_err(|e| tracing::warn!("{e}; its health shows as unknown"))
                    .ok()
            })
            .collect())
    }

    fn service_health(&self, row: ServiceRow) -> Result<(String, ServiceHealth), StoreError> {
        let what = format!("a health check of {}", row.service);
        let checked_at = parse_time(&row.checked_at)
            .ok_or_else(|| self.malformed(&what, "check time", &row.checked_at))?;
        let status_code = row
            .status_code
            .map(|code| {
                u16::try_from(code).map_err(|_| self.malformed(&what, "status", &code.to_string()))
            })
            .transpose()?;
        let health = ServiceHealth {
            latest: HealthResult {
                service: row.service.clone(),
                node: row.node,
                checked_at,
                ok: row.ok,
                status_code,
                latency_ms: row.latency_ms,
                error: row.error,
            },
            short: Availability {
                ok: row.short_ok,
                total: row.short_total,
            },
            long: Availability {
                ok: row.long_ok,
                total: row.long_total,
            },
        };
        Ok((row.service, health))
    }

    /// Up to `limit` checks recorded after row `after`, oldest first, each with its row id; a
    /// malformed row is an error naming it.
    pub async fn health_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, HealthResult)>, StoreError> {
        let rows: Vec<CheckRow> = on_pool!(&self.pool, pool => sqlx::query_as(AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the health checks from", e))?;
        rows.into_iter()
            .map(|row| {
                let what = format!("health check {} of {}", row.id, row.service);
                let checked_at = parse_time(&row.checked_at)
                    .ok_or_else(|| self.malformed(&what, "check time", &row.checked_at))?;
                let status_code = row
                    .status_code
                    .map(|code| {
                        u16::try_from(code)
                            .map_err(|_| self.malformed(&what, "status", &code.to_string()))
                    })
                    .transpose()?;
                Ok((
                    row.id,
                    HealthResult {
                        service: row.service,
                        node: row.node,
                        checked_at,
                        ok: row.ok,
                        status_code,
                        latency_ms: row.latency_ms,
                        error: row.error,
                    },
                ))
            })
            .collect()
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
