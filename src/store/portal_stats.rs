//! The portal's quality statistics (PORTAL-10): counters per e-service and month (page views,
//! applications started) added as upserts, and aggregate reads of the case engine's tables by
//! time (cases submitted and overdue per hour, closed cases with their two moments), and the
//! citizens' ratings (the feedback repository's table) counted per month and number of stars.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, month_of, on_pool, on_tx, parse_time, time_text};

/// What one e-service's counters add up to, or add, for one month.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PortalCounters {
    pub e_service: String,
    /// `YYYY-MM` in the city's time zone.
    pub month: String,
    /// Views of the e-service's public page.
    pub views: i64,
    /// Applications started (drafts created).
    pub started: i64,
}

/// How many cases of an e-service something happened to within one hour (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourlyCount {
    pub e_service: String,
    /// The start of the hour.
    pub hour: DateTime<Utc>,
    pub count: i64,
}

/// A case that went overdue within one hour (UTC); a case overdue twice in an hour is one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCase {
    pub e_service: String,
    pub case_id: String,
    pub hour: DateTime<Utc>,
}

/// A closed case as the statistics read it: its outcome and its two moments, nothing of who.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedCase {
    pub case_id: String,
    pub e_service: String,
    pub outcome: String,
    pub submitted_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
}

/// How many ratings of `stars` an e-service was given in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthlyRatings {
    pub e_service: String,
    /// The first moment of the month (UTC), as the ratings are kept.
    pub month: DateTime<Utc>,
    pub stars: u8,
    pub count: i64,
}

#[derive(sqlx::FromRow)]
struct RatingsRow {
    e_service: String,
    month: String,
    stars: i64,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct HourRow {
    e_service: String,
    hour: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
struct OverdueRow {
    e_service: String,
    case_id: String,
    hour: String,
}

#[derive(sqlx::FromRow)]
struct ClosedRow {
    id: String,
    e_service: String,
    outcome: String,
    created_at: String,
    state_entered_at: String,
}

const ADD: &str = "INSERT INTO portal_counters (e_service, month, views, started) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (e_service, month) DO UPDATE SET \
     views = portal_counters.views + excluded.views, \
     started = portal_counters.started + excluded.started";

/// `AND <column> = $2` when one e-service is asked for, nothing for all of them.
fn of_one(column: &str, e_service: Option<&str>) -> String {
    e_service.map_or_else(String::new, |_| format!(" AND {column} = $2"))
}

impl Store {
    /// Adds `counts` to the counters in one transaction (a month's row made by the first).
    pub async fn add_portal_counts(&self, counts: &[PortalCounters]) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut tx: Tx = self.begin().await?;
        for c in counts {
            on_tx!(&mut tx, t => sqlx::query(ADD)
                .bind(&c.e_service)
                .bind(&c.month)
                .bind(c.views)
                .bind(c.started)
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(|e| {
                self.failed(
                    &format!(
                        "count the views and started applications of e-service {} in",
                        c.e_service
                    ),
                    e,
                )
            })?;
        }
        tx.commit().await
    }

    /// The counters of every month from `from_month` (`YYYY-MM`) on, of one e-service or all.
    pub async fn portal_counters(
        &self,
        e_service: Option<&str>,
        from_month: &str,
    ) -> Result<Vec<PortalCounters>, StoreError> {
        let sql = format!(
            "SELECT e_service, month, views, started FROM portal_counters WHERE month >= $1{} \
             ORDER BY e_service, month",
            of_one("e_service", e_service)
        );
        let rows: Vec<PortalCounters> = on_pool!(&self.pool, pool => {
            let q = sqlx::query_as(&sql).bind(from_month);
            let q = match e_service { Some(e) => q.bind(e), None => q };
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("read the portal's counters from", e))?;
        for row in &rows {
            if !is_month(&row.month) {
                return Err(self.malformed(
                    &format!("the portal counters of e-service {}", row.e_service),
                    "month",
                    &row.month,
                ));
            }
        }
        Ok(rows)
    }

    /// Cases submitted (started in the engine) since `from`, per e-service and hour.
    pub async fn cases_submitted_hourly(
        &self,
        e_service: Option<&str>,
        from: DateTime<Utc>,
    ) -> Result<Vec<HourlyCount>, StoreError> {
        let sql = format!(
            "SELECT e_service, substr(created_at, 1, 13) AS hour, COUNT(*) AS n FROM cases \
             WHERE created_at >= $1{} GROUP BY e_service, substr(created_at, 1, 13)",
            of_one("e_service", e_service)
        );
        let from = time_text(&from);
        let rows: Vec<HourRow> = on_pool!(&self.pool, pool => {
            let q = sqlx::query_as(&sql).bind(&from);
            let q = match e_service { Some(e) => q.bind(e), None => q };
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("count the submitted cases in", e))?;
        rows.into_iter()
            .map(|row| {
                let hour = self.hour(&row.hour, &row.e_service, "submission time")?;
                Ok(HourlyCount {
                    e_service: row.e_service,
                    hour,
                    count: row.n,
                })
            })
            .collect()
    }

    /// Cases closed (a final state entered: granted, refused, withdrawn) since `from`.
    pub async fn cases_closed_since(
        &self,
        e_service: Option<&str>,
        from: DateTime<Utc>,
    ) -> Result<Vec<ClosedCase>, StoreError> {
        let sql = format!(
            "SELECT id, e_service, outcome, created_at, state_entered_at FROM cases \
             WHERE outcome IS NOT NULL AND state_entered_at >= $1{}",
            of_one("e_service", e_service)
        );
        let from = time_text(&from);
        let rows: Vec<ClosedRow> = on_pool!(&self.pool, pool => {
            let q = sqlx::query_as(&sql).bind(&from);
            let q = match e_service { Some(e) => q.bind(e), None => q };
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("read the closed cases from", e))?;
        rows.into_iter()
            .map(|row| {
                let time = |text: &str, what: &str| {
                    parse_time(text)
                        .ok_or_else(|| self.malformed(&format!("case {}", row.id), what, text))
                };
                Ok(ClosedCase {
                    submitted_at: time(&row.created_at, "creation time")?,
                    closed_at: time(&row.state_entered_at, "time of entering its state")?,
                    case_id: row.id,
                    e_service: row.e_service,
                    outcome: row.outcome,
                })
            })
            .collect()
    }

    /// Cases that went overdue (a deadline passed) since `from`, once per case and hour.
    pub async fn cases_overdue_hourly(
        &self,
        e_service: Option<&str>,
        from: DateTime<Utc>,
    ) -> Result<Vec<OverdueCase>, StoreError> {
        let sql = format!(
            "SELECT c.e_service AS e_service, e.case_id AS case_id, substr(e.at, 1, 13) AS hour \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             WHERE e.kind = 'overdue' AND e.at >= $1{} \
             GROUP BY c.e_service, e.case_id, substr(e.at, 1, 13)",
            of_one("c.e_service", e_service)
        );
        let from = time_text(&from);
        let rows: Vec<OverdueRow> = on_pool!(&self.pool, pool => {
            let q = sqlx::query_as(&sql).bind(&from);
            let q = match e_service { Some(e) => q.bind(e), None => q };
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("read the overdue cases from", e))?;
        rows.into_iter()
            .map(|row| {
                let hour = self.hour(&row.hour, &row.e_service, "overdue event time")?;
                Ok(OverdueCase {
                    e_service: row.e_service,
                    case_id: row.case_id,
                    hour,
                })
            })
            .collect()
    }

    /// The ratings given since the month starting at `from` (UTC), counted per e-service, month
    /// and number of stars.
    pub async fn ratings_monthly(
        &self,
        e_service: Option<&str>,
        from: DateTime<Utc>,
    ) -> Result<Vec<MonthlyRatings>, StoreError> {
        let sql = format!(
            "SELECT e_service, month, stars, COUNT(*) AS n FROM ratings WHERE month >= $1{} \
             GROUP BY e_service, month, stars",
            of_one("e_service", e_service)
        );
        let from = time_text(&from);
        let rows: Vec<RatingsRow> = on_pool!(&self.pool, pool => {
            let q = sqlx::query_as(&sql).bind(&from);
            let q = match e_service { Some(e) => q.bind(e), None => q };
            q.fetch_all(pool).await
        })
        .map_err(|e| self.failed("count the ratings in", e))?;
        rows.into_iter()
            .map(|row| {
                let what = format!("a rating of e-service {}", row.e_service);
                let month = parse_time(&row.month)
                    .filter(|at| month_of(at) == row.month)
                    .ok_or_else(|| self.malformed(&what, "month", &row.month))?;
                let stars = u8::try_from(row.stars)
                    .ok()
                    .filter(|s| (1..=5).contains(s))
                    .ok_or_else(|| {
                        self.malformed(&what, "number of stars", &row.stars.to_string())
                    })?;
                Ok(MonthlyRatings {
                    e_service: row.e_service,
                    month,
                    stars,
                    count: row.n,
                })
            })
            .collect()
    }

    /// An hour as the grouping reads it from a stored time (`YYYY-MM-DDTHH`).
    fn hour(&self, text: &str, e_service: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
        parse_time(&format!("{text}:00:00Z"))
            .ok_or_else(|| self.malformed(&format!("a case of e-service {e_service}"), what, text))
    }
}

/// Whether `text` is a month as the counters store it (`YYYY-MM`).
fn is_month(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_digit())
        && matches!(
            &text[5..],
            "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
        )
}
