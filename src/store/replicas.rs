//! The fleet's heartbeats: one row per replica of a node sharing the store, with the revision it
//! serves, since when, and its last heartbeat. Each replica writes only its own row; rows whose
//! heartbeat is long gone are forgotten by whichever replica beats next.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, on_pool, parse_time, time_text};

/// One replica's heartbeat, as it writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub node: String,
    pub instance: String,
    /// The revision it serves; `None` while it serves none.
    pub revision: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub at: DateTime<Utc>,
}

/// A replica as the store holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaRow {
    pub instance: String,
    pub revision: Option<String>,
    pub applied_at: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    instance: String,
    revision: Option<String>,
    applied_at: Option<String>,
    started_at: String,
    heartbeat_at: String,
}

const BEAT: &str = "INSERT INTO replicas (node, instance, revision, applied_at, started_at, \
     heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (node, instance) DO UPDATE SET \
     revision = excluded.revision, applied_at = excluded.applied_at, \
     started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at";

const LIST: &str = "SELECT instance, revision, applied_at, started_at, heartbeat_at \
     FROM replicas WHERE node = $1 ORDER BY instance";

impl Store {
    /// Records `beat` as its replica's row, replacing the previous one.
    pub async fn heartbeat(&self, beat: &Heartbeat) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query(BEAT)
                .bind(&beat.node)
                .bind(&beat.instance)
                .bind(&beat.revision)
                .bind(beat.applied_at.as_ref().map(time_text))
                .bind(time_text(&beat.started_at))
                .bind(time_text(&beat.at))
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| {
            self.failed(
                &format!("record the heartbeat of replica {} in", beat.instance),
                e,
            )
        })
    }

    /// The replicas of `node`, by instance name.
    pub async fn replicas(&self, node: &str) -> Result<Vec<ReplicaRow>, StoreError> {
        let rows: Vec<Row> = on_pool!(&self.pool, pool => {
            sqlx::query_as(LIST).bind(node).fetch_all(pool).await
        })
        .map_err(|e| self.failed(&format!("read the replicas of node {node} from"), e))?;
        rows.into_iter()
            .map(|row| {
                let what = format!("the replica {} of node {node}", row.instance);
                let time = |field: &str, text: &str| {
                    parse_time(text).ok_or_else(|| self.malformed(&what, field, text))
                };
                Ok(ReplicaRow {
                    revision: row.revision,
                    applied_at: row
                        .applied_at
                        .as_deref()
                        .map(|t| time("time of applying", t))
                        .transpose()?,
                    started_at: time("start time", &row.started_at)?,
                    heartbeat_at: time("heartbeat time", &row.heartbeat_at)?,
                    instance: row.instance,
                })
            })
            .collect()
    }

    /// Forgets the replicas of `node` whose last heartbeat is older than `before`; how many.
    pub async fn forget_replicas(
        &self,
        node: &str,
        before: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("DELETE FROM replicas WHERE node = $1 AND heartbeat_at < $2")
                .bind(node)
                .bind(time_text(&before))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
        .map_err(|e| self.failed(&format!("forget the silent replicas of node {node} in"), e))
    }

    /// Removes `instance`'s own row, when it stops cleanly.
    pub async fn leave_replicas(&self, node: &str, instance: &str) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query("DELETE FROM replicas WHERE node = $1 AND instance = $2")
                .bind(node)
                .bind(instance)
                .execute(pool)
                .await
                .map(drop)
        })
        .map_err(|e| self.failed(&format!("remove replica {instance} of node {node} from"), e))
    }
}
