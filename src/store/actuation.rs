//! Actuation: the store's revision-derived tables (roles, officials, health checks, retention)
//! made equal to one revision of the spec. Rows are kept per revision and never deleted; only the
//! head revision's rows are active. `actuate` locks the single `actuation_head` row first, so
//! replicas sharing a database converge and each switch of revision is written exactly once.

use chrono::Utc;
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, on_pool, time_text};
use crate::spec::Spec;
use crate::spec::model::parse_duration_days;

/// Timeout of a health check that does not state one.
const DEFAULT_HEALTH_TIMEOUT_MS: i64 = 5_000;
/// Interval of a health check whose interval does not parse (a spec that was never validated).
const FALLBACK_HEALTH_EVERY_MS: i64 = 30_000;

/// Everything the store derives from one revision, each list sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Actuation {
    pub roles: Vec<RoleRow>,
    pub officials: Vec<OfficialRow>,
    pub health_checks: Vec<HealthCheckRow>,
    pub retention: Vec<RetentionRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleRow {
    pub id: String,
    pub title: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OfficialRow {
    pub id: String,
    pub name: String,
    pub position: String,
    pub unit: String,
    pub email: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct HealthCheckRow {
    /// `participant/service`.
    pub service: String,
    pub upstream: String,
    pub path: String,
    pub every_ms: i64,
    pub timeout_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct RetentionRow {
    pub id: String,
    pub record: String,
    pub period: String,
    #[sqlx(rename = "trigger_event")]
    pub trigger: String,
    #[sqlx(rename = "end_action")]
    pub action: String,
    pub legal_hold: bool,
}

/// An `officials` row as stored: its roles still JSON text.
#[derive(sqlx::FromRow)]
struct StoredOfficial {
    id: String,
    name: String,
    position: String,
    unit: String,
    email: String,
    roles: String,
}

/// The kebab-case name a model enum has in the spec language.
fn spec_name(value: impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => unreachable!("a unit enum serialises to a string, got {other:?}"),
    }
}

/// A duration of the spec language (`30s`, `1m`, …) in milliseconds.
fn duration_ms(text: &str) -> Option<i64> {
    let days = parse_duration_days(text)?;
    let ms = (days * 86_400_000.0).round();
    (ms.is_finite() && ms >= 1.0 && ms <= i64::MAX as f64).then_some(ms as i64)
}

impl Actuation {
    /// The actuation of a spec. Durations are read as `validate` reads them; in a spec that never
    /// passed validation, an interval that does not parse becomes 30 s and a timeout 5 s.
    pub fn from_spec(spec: &Spec) -> Actuation {
        let mut roles: Vec<RoleRow> = spec
            .roles
            .iter()
            .map(|r| RoleRow {
                id: r.id.clone(),
                title: r.title.clone(),
                permissions: r.permissions.iter().map(spec_name).collect(),
            })
            .collect();
        roles.sort_by(|a, b| a.id.cmp(&b.id));
        let mut officials: Vec<OfficialRow> = spec
            .officials
            .iter()
            .map(|o| OfficialRow {
                id: o.id.clone(),
                name: o.name.clone(),
                position: o.position.clone(),
                unit: o.unit.clone(),
                email: o.email.clone(),
                roles: o.roles.clone(),
            })
            .collect();
        officials.sort_by(|a, b| a.id.cmp(&b.id));
        let mut health_checks: Vec<HealthCheckRow> = spec
            .participants
            .iter()
            .flat_map(|p| {
                p.services.iter().filter_map(move |s| {
                    let health = s.health.as_ref()?;
                    Some(HealthCheckRow {
                        service: format!("{}/{}", p.id, s.id),
                        upstream: s.upstream.clone()?,
                        path: health.path.clone(),
                        every_ms: duration_ms(&health.every).unwrap_or(FALLBACK_HEALTH_EVERY_MS),
                        timeout_ms: health
                            .timeout
                            .as_deref()
                            .and_then(duration_ms)
                            .unwrap_or(DEFAULT_HEALTH_TIMEOUT_MS),
                    })
                })
            })
            .collect();
        health_checks.sort_by(|a, b| a.service.cmp(&b.service));
        let mut retention: Vec<RetentionRow> = spec
            .retention
            .iter()
            .map(|r| RetentionRow {
                id: r.id.clone(),
                record: spec_name(r.record),
                period: r.period.clone(),
                trigger: spec_name(r.trigger),
                action: spec_name(r.action),
                legal_hold: r.legal_hold,
            })
            .collect();
        retention.sort_by(|a, b| a.id.cmp(&b.id));
        Actuation {
            roles,
            officials,
            health_checks,
            retention,
        }
    }
}

/// Takes the write lock on the head (first statement of the transaction) and reads it.
const LOCK_HEAD: &str =
    "UPDATE actuation_head SET revision = revision WHERE singleton = 1 RETURNING revision";
const SET_HEAD: &str =
    "UPDATE actuation_head SET revision = $1, actuated_at = $2 WHERE singleton = 1";
const READ_HEAD: &str = "SELECT revision FROM actuation_head WHERE singleton = 1";

const DEACTIVATE: [&str; 4] = [
    "UPDATE roles SET active = FALSE WHERE active",
    "UPDATE officials SET active = FALSE WHERE active",
    "UPDATE health_checks SET active = FALSE WHERE active",
    "UPDATE retention_rules SET active = FALSE WHERE active",
];

const UPSERT_ROLE: &str = "INSERT INTO roles (revision, id, title, permissions, active) \
     VALUES ($1, $2, $3, $4, TRUE) ON CONFLICT (revision, id) DO UPDATE SET \
     title = excluded.title, permissions = excluded.permissions, active = TRUE";
const UPSERT_OFFICIAL: &str = "INSERT INTO officials (revision, id, name, position, unit, email, roles, active) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE) ON CONFLICT (revision, id) DO UPDATE SET \
     name = excluded.name, position = excluded.position, unit = excluded.unit, \
     email = excluded.email, roles = excluded.roles, active = TRUE";
const UPSERT_HEALTH_CHECK: &str = "INSERT INTO health_checks (revision, service, upstream, path, every_ms, timeout_ms, active) \
     VALUES ($1, $2, $3, $4, $5, $6, TRUE) ON CONFLICT (revision, service) DO UPDATE SET \
     upstream = excluded.upstream, path = excluded.path, every_ms = excluded.every_ms, \
     timeout_ms = excluded.timeout_ms, active = TRUE";
const UPSERT_RETENTION: &str = "INSERT INTO retention_rules \
     (revision, id, record, period, trigger_event, end_action, legal_hold, active) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, TRUE) ON CONFLICT (revision, id) DO UPDATE SET \
     record = excluded.record, period = excluded.period, trigger_event = excluded.trigger_event, \
     end_action = excluded.end_action, legal_hold = excluded.legal_hold, active = TRUE";

const ACTIVE_OFFICIALS: &str = "SELECT id, name, position, unit, email, roles FROM officials \
     WHERE active ORDER BY id";
const ACTIVE_HEALTH_CHECKS: &str = "SELECT service, upstream, path, every_ms, timeout_ms \
     FROM health_checks WHERE active ORDER BY service";
const ACTIVE_RETENTION: &str = "SELECT id, record, period, trigger_event, end_action, legal_hold \
     FROM retention_rules WHERE active ORDER BY id";

fn list_text(list: &[String]) -> String {
    serde_json::Value::from(list).to_string()
}

impl Store {
    /// Makes the store's revision-derived tables (officials, roles, health-check schedules,
    /// retention schedules) equal to `actuation`, exactly once per switch of revision:
    /// returns Ok(true) when this call wrote, Ok(false) when the store already holds `revision`.
    pub async fn actuate(&self, revision: &str, actuation: &Actuation) -> Result<bool, StoreError> {
        let now = time_text(&Utc::now());
        on_pool!(&self.pool, pool => {
            async {
                let mut tx = pool.begin().await?;
                let head: Option<String> = sqlx::query(LOCK_HEAD)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                if head.as_deref() == Some(revision) {
                    tx.commit().await?;
                    return Ok(false);
                }
                for statement in DEACTIVATE {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                for r in &actuation.roles {
                    sqlx::query(UPSERT_ROLE)
                        .bind(revision)
                        .bind(&r.id)
                        .bind(&r.title)
                        .bind(list_text(&r.permissions))
                        .execute(&mut *tx)
                        .await?;
                }
                for o in &actuation.officials {
                    sqlx::query(UPSERT_OFFICIAL)
                        .bind(revision)
                        .bind(&o.id)
                        .bind(&o.name)
                        .bind(&o.position)
                        .bind(&o.unit)
                        .bind(&o.email)
                        .bind(list_text(&o.roles))
                        .execute(&mut *tx)
                        .await?;
                }
                for h in &actuation.health_checks {
                    sqlx::query(UPSERT_HEALTH_CHECK)
                        .bind(revision)
                        .bind(&h.service)
                        .bind(&h.upstream)
                        .bind(&h.path)
                        .bind(h.every_ms)
                        .bind(h.timeout_ms)
                        .execute(&mut *tx)
                        .await?;
                }
                for r in &actuation.retention {
                    sqlx::query(UPSERT_RETENTION)
                        .bind(revision)
                        .bind(&r.id)
                        .bind(&r.record)
                        .bind(&r.period)
                        .bind(&r.trigger)
                        .bind(&r.action)
                        .bind(r.legal_hold)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(SET_HEAD)
                    .bind(revision)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<bool, sqlx::Error>(true)
            }
            .await
        })
        .map_err(|e| {
            self.failed(
                &format!("actuate revision {revision} (nothing was changed) in"),
                e,
            )
        })
    }

    /// The revision whose actuation the store currently holds.
    pub async fn actuated_revision(&self) -> Result<Option<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(READ_HEAD).fetch_one(pool).await)
            .map_err(|e| self.failed("read the actuated revision from", e))
    }

    /// The officials of the actuated revision, by id.
    pub async fn active_officials(&self) -> Result<Vec<OfficialRow>, StoreError> {
        let rows: Vec<StoredOfficial> = on_pool!(
            &self.pool, pool => sqlx::query_as(ACTIVE_OFFICIALS).fetch_all(pool).await
        )
        .map_err(|e| self.failed("read the active officials from", e))?;
        rows.into_iter()
            .map(|row| {
                let roles = self.list(&row.roles, &format!("roles of official {}", row.id))?;
                Ok(OfficialRow {
                    id: row.id,
                    name: row.name,
                    position: row.position,
                    unit: row.unit,
                    email: row.email,
                    roles,
                })
            })
            .collect()
    }

    /// The health checks of the actuated revision, by service.
    pub async fn active_health_checks(&self) -> Result<Vec<HealthCheckRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(ACTIVE_HEALTH_CHECKS).fetch_all(pool).await)
            .map_err(|e| self.failed("read the active health checks from", e))
    }

    /// The retention rules of the actuated revision, by id.
    pub async fn active_retention(&self) -> Result<Vec<RetentionRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(ACTIVE_RETENTION).fetch_all(pool).await)
            .map_err(|e| self.failed("read the active retention rules from", e))
    }
}
