//! The history of reconciles: one row per attempt of a node to apply a revision, never changed
//! afterwards. Diagnostics are kept as the JSON text they were given, with its sha256 as digest;
//! times as the store writes them (`time.rs`), so they read back exactly.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

// `super::time_text` is the one time encoding; it is also named here for repositories written
// before it moved (the lead removes this at merge).
pub(super) use super::time_text;
use super::{Store, StoreError, on_pool, parse_time};
use crate::crypto::sha256_hex;

/// What a reconcile did with the revision it looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Applied,
    Refused,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Refused => "refused",
            Outcome::Unchanged => "unchanged",
        }
    }

    fn parse(text: &str) -> Option<Outcome> {
        match text {
            "applied" => Some(Outcome::Applied),
            "refused" => Some(Outcome::Refused),
            "unchanged" => Some(Outcome::Unchanged),
            _ => None,
        }
    }
}

/// A reconcile to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReconcile {
    pub node: String,
    pub instance: String,
    pub revision: String,
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub errors: u32,
    pub warnings: u32,
    /// Stored as JSON text; the digest is the sha256 (hex) of that text.
    pub diagnostics: serde_json::Value,
}

/// A recorded reconcile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReconcileRecord {
    pub id: i64,
    pub node: String,
    pub instance: String,
    pub revision: String,
    pub source: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub errors: u32,
    pub warnings: u32,
    pub diagnostics: serde_json::Value,
    pub diagnostics_digest: String,
}

const INSERT: &str = "INSERT INTO reconciles (node, instance, revision, source, started_at, \
     finished_at, outcome, errors, warnings, diagnostics, diagnostics_digest) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

const RECENT: &str = "SELECT id, node, instance, revision, source, started_at, finished_at, \
     outcome, errors, warnings, diagnostics, diagnostics_digest \
     FROM reconciles WHERE node = $1 ORDER BY id DESC LIMIT $2";

const APPLIED: &str = "SELECT revision FROM reconciles WHERE node = $1 AND outcome = 'applied' \
     GROUP BY revision ORDER BY MAX(id) DESC LIMIT $2";

/// One `RECENT` row, before its text is interpreted.
#[derive(sqlx::FromRow)]
struct ReconcileRow {
    id: i64,
    node: String,
    instance: String,
    revision: String,
    source: String,
    started_at: String,
    finished_at: String,
    outcome: String,
    errors: i64,
    warnings: i64,
    diagnostics: String,
    diagnostics_digest: String,
}

impl Store {
    /// Records a finished reconcile; returns its id.
    pub async fn record_reconcile(&self, r: &NewReconcile) -> Result<i64, StoreError> {
        let diagnostics = r.diagnostics.to_string();
        let digest = sha256_hex(diagnostics.as_bytes());
        on_pool!(&self.pool, pool => {
            sqlx::query(INSERT)
                .bind(&r.node)
                .bind(&r.instance)
                .bind(&r.revision)
                .bind(&r.source)
                .bind(time_text(&r.started_at))
                .bind(time_text(&r.finished_at))
                .bind(r.outcome.as_str())
                .bind(i64::from(r.errors))
                .bind(i64::from(r.warnings))
                .bind(&diagnostics)
                .bind(&digest)
                .fetch_one(pool)
                .await
                .and_then(|row| row.try_get::<i64, _>(0))
        })
        .map_err(|e| {
            self.failed(
                &format!("record the reconcile of revision {} in", r.revision),
                e,
            )
        })
    }

    /// Newest first, this node only.
    pub async fn recent_reconciles(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Vec<ReconcileRecord>, StoreError> {
        let rows: Vec<ReconcileRow> = on_pool!(&self.pool, pool => {
            sqlx::query_as(RECENT)
                .bind(node)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.failed(&format!("read the reconciles of node {node} from"), e))?;
        rows.into_iter().map(|row| self.record(row)).collect()
    }

    /// Distinct revisions this node applied successfully, newest application first.
    pub async fn applied_revisions(
        &self,
        node: &str,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => {
            sqlx::query_scalar(APPLIED)
                .bind(node)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.failed(&format!("read the revisions node {node} applied from"), e))
    }

    fn record(&self, row: ReconcileRow) -> Result<ReconcileRecord, StoreError> {
        let what = format!("reconcile {}", row.id);
        let malformed = |field: &str, value: &str| self.malformed(&what, field, value);
        let time = |field: &str, text: &str| parse_time(text).ok_or_else(|| malformed(field, text));
        let count =
            |field: &str, n: i64| u32::try_from(n).map_err(|_| malformed(field, &n.to_string()));
        Ok(ReconcileRecord {
            id: row.id,
            started_at: time("start time", &row.started_at)?,
            finished_at: time("finish time", &row.finished_at)?,
            outcome: Outcome::parse(&row.outcome)
                .ok_or_else(|| malformed("outcome", &row.outcome))?,
            errors: count("error count", row.errors)?,
            warnings: count("warning count", row.warnings)?,
            diagnostics: serde_json::from_str(&row.diagnostics)
                .map_err(|_| malformed("diagnostics text", &row.diagnostics))?,
            node: row.node,
            instance: row.instance,
            revision: row.revision,
            source: row.source,
            diagnostics_digest: row.diagnostics_digest,
        })
    }
}
