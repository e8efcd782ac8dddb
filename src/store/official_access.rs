//! The officials' access log (003 §6.4): every view and every action of an official, with the
//! time, read newest first in pages, by official and by case. Only appended to.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, parse_time, time_text};

const RECORD: &str = "INSERT INTO official_access (at, official, action, case_id, detail) \
     VALUES ($1, $2, $3, $4, $5)";
const PAGE: &str = "SELECT id, at, official, action, case_id, detail FROM official_access \
     WHERE ($1 IS NULL OR official = $1) AND ($2 IS NULL OR case_id = $2) \
     ORDER BY id DESC LIMIT $3 OFFSET $4";
const COUNT: &str = "SELECT COUNT(*) FROM official_access \
     WHERE ($1 IS NULL OR official = $1) AND ($2 IS NULL OR case_id = $2)";

/// One entry of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialAccess {
    pub at: DateTime<Utc>,
    /// The spec's official id.
    pub official: String,
    /// A short fixed word: `inbox`, `view-case`, `take`, `block`, `audit`, …
    pub action: String,
    pub case_id: Option<String>,
    /// What else the entry needs, never an applicant's data.
    pub detail: String,
}

/// A recorded entry with its number in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialAccessRow {
    pub id: i64,
    pub entry: OfficialAccess,
}

/// Which entries to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessFilter {
    pub official: Option<String>,
    pub case_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct StoredAccess {
    id: i64,
    at: String,
    official: String,
    action: String,
    case_id: Option<String>,
    detail: String,
}

impl Store {
    pub async fn record_official_access(&self, entry: &OfficialAccess) -> Result<(), StoreError> {
        let _turn = self.write_turn_for_statement().await?;
        on_pool!(&self.pool, pool => sqlx::query(RECORD)
            .bind(time_text(&entry.at))
            .bind(&entry.official)
            .bind(&entry.action)
            .bind(&entry.case_id)
            .bind(&entry.detail)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("record an official's access in", e))
    }

    /// The entries `filter` selects, newest first: `limit` of them after skipping `offset`, and
    /// how many there are in all.
    pub async fn official_access(
        &self,
        filter: &AccessFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<OfficialAccessRow>, i64), StoreError> {
        let rows: Vec<StoredAccess> = on_pool!(&self.pool, pool => sqlx::query_as(PAGE)
            .bind(&filter.official)
            .bind(&filter.case_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the officials' access log from", e))?;
        let total: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(COUNT)
            .bind(&filter.official)
            .bind(&filter.case_id)
            .fetch_one(pool)
            .await)
        .map_err(|e| self.failed("count the officials' access log in", e))?;
        let rows = rows
            .into_iter()
            .map(|row| {
                Ok(OfficialAccessRow {
                    entry: OfficialAccess {
                        at: parse_time(&row.at).ok_or_else(|| {
                            self.malformed(&format!("access log entry {}", row.id), "time", &row.at)
                        })?,
                        official: row.official,
                        action: row.action,
                        case_id: row.case_id,
                        detail: row.detail,
                    },
                    id: row.id,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((rows, total))
    }
}
