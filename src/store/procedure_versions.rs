//! Since when each e-service's procedure applies (003 §7.5–7.6): per e-service, the hashes of
//! its procedure in the order they were applied, each with the moment it first applied. A new
//! version follows exactly one earlier row, so replicas recording the same change write it once.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, parse_time, time_text};

/// One version of an e-service's procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcedureVersion {
    pub e_service: String,
    /// The hash of what the procedure is (hex).
    pub hash: String,
    /// The revision that first applied it.
    pub revision: String,
    /// When it first applied.
    pub since: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    e_service: String,
    hash: String,
    revision: String,
    since: String,
}

const NEWEST: &str = "SELECT id, e_service, hash, revision, since FROM procedure_versions \
     WHERE e_service = $1 ORDER BY id DESC LIMIT 1";
const INSERT: &str = "INSERT INTO procedure_versions (e_service, hash, revision, since, follows) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (e_service, follows) DO NOTHING";

const AFTER: &str = "SELECT id, e_service, hash, revision, since, follows FROM procedure_versions \
     WHERE id > $1 ORDER BY id LIMIT $2";

/// A recorded version in the order of recording, as the mailing of changes reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedProcedure {
    pub id: i64,
    pub version: ProcedureVersion,
    /// Whether it replaced an earlier version (the first of an e-service changes nothing).
    pub is_change: bool,
}

#[derive(sqlx::FromRow)]
struct RecordedRow {
    id: i64,
    e_service: String,
    hash: String,
    revision: String,
    since: String,
    follows: i64,
}

/// How often a change is tried again when another replica recorded one at the same moment.
const ATTEMPTS: usize = 3;

impl Store {
    /// Records that the procedure of `e_service` is `hash` as of revision `revision`, applied at
    /// `at`, unless it already is: whether a new version was recorded.
    pub async fn record_procedure(
        &self,
        e_service: &str,
        hash: &str,
        revision: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = time_text(&at);
        for _ in 0..ATTEMPTS {
            let newest = self.newest_procedure_row(e_service).await?;
            if newest.as_ref().is_some_and(|row| row.hash == hash) {
                return Ok(false);
            }
            let follows = newest.map_or(0, |row| row.id);
            let inserted = on_pool!(&self.pool, pool => sqlx::query(INSERT)
                .bind(e_service)
                .bind(hash)
                .bind(revision)
                .bind(&at)
                .bind(follows)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() == 1))
            .map_err(|e| {
                self.failed(
                    &format!("record the procedure of e-service {e_service} in"),
                    e,
                )
            })?;
            if inserted {
                return Ok(true);
            }
        }
        Err(StoreError::new(format!(
            "cannot record the procedure of e-service {e_service}: other writers changed it {ATTEMPTS} \
             times in a row; it is recorded again with the next revision"
        )))
    }

    /// The procedure of `e_service` applied last, `None` before one is recorded.
    pub async fn current_procedure(
        &self,
        e_service: &str,
    ) -> Result<Option<ProcedureVersion>, StoreError> {
        let Some(row) = self.newest_procedure_row(e_service).await? else {
            return Ok(None);
        };
        let since = parse_time(&row.since).ok_or_else(|| {
            self.malformed(
                &format!(
                    "the procedure version {} of e-service {}",
                    row.id, row.e_service
                ),
                "start time",
                &row.since,
            )
        })?;
        Ok(Some(ProcedureVersion {
            e_service: row.e_service,
            hash: row.hash,
            revision: row.revision,
            since,
        }))
    }

    /// Up to `limit` versions recorded after row `after`, oldest first.
    pub async fn procedures_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<RecordedProcedure>, StoreError> {
        let rows: Vec<RecordedRow> = on_pool!(&self.pool, pool => sqlx::query_as(AFTER)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("read the recorded procedures from", e))?;
        rows.into_iter()
            .map(|row| {
                let since = parse_time(&row.since).ok_or_else(|| {
                    self.malformed(
                        &format!(
                            "the procedure version {} of e-service {}",
                            row.id, row.e_service
                        ),
                        "start time",
                        &row.since,
                    )
                })?;
                Ok(RecordedProcedure {
                    id: row.id,
                    is_change: row.follows != 0,
                    version: ProcedureVersion {
                        e_service: row.e_service,
                        hash: row.hash,
                        revision: row.revision,
                        since,
                    },
                })
            })
            .collect()
    }

    async fn newest_procedure_row(
        &self,
        e_service: &str,
    ) -> Result<Option<VersionRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(NEWEST)
            .bind(e_service)
            .fetch_optional(pool)
            .await)
        .map_err(|e| {
            self.failed(
                &format!("read the procedure of e-service {e_service} from"),
                e,
            )
        })
    }
}
