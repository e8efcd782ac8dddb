//! The history of reconciles: one row per attempt of a node to apply a revision, never changed
//! afterwards. Diagnostics are kept as the JSON text they were given, with its sha256 as digest;
//! times are RFC 3339 UTC text with nanoseconds, so they read back exactly.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Store, StoreError, on_pool};
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

pub(super) fn time_text(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

const INSERT: &str = "INSERT INTO reconciles (node, instance, revision, source, started_at, \
     finished_at, outcome, errors, warnings, diagnostics, diagnostics_digest) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

const RECENT: &str = "SELECT id, node, instance, revision, source, started_at, finished_at, \
     outcome, errors, warnings, diagnostics, diagnostics_digest \
     FROM reconciles WHERE node = $1 ORDER BY id DESC LIMIT $2";

const APPLIED: &str = "SELECT revision FROM reconciles WHERE node = $1 AND outcome = 'applied' \
     GROUP BY revision ORDER BY MAX(id) DESC LIMIT $2";

/// The columns of one `RECENT` row, before their text is interpreted.
type RawRecord = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
);

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
        let raw: Vec<RawRecord> = on_pool!(&self.pool, pool => {
            sqlx::query_as(RECENT)
                .bind(node)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(|e| self.failed(&format!("read the reconciles of node {node} from"), e))?;
        raw.into_iter().map(|raw| self.record(raw)).collect()
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

    fn record(&self, raw: RawRecord) -> Result<ReconcileRecord, StoreError> {
        let (
            id,
            node,
            instance,
            revision,
            source,
            started_at,
            finished_at,
            outcome,
            errors,
            warnings,
            diagnostics,
            diagnostics_digest,
        ) = raw;
        let malformed = |what: &str, value: &str| {
            StoreError::new(format!(
                "reconcile {id} in the {} database {} holds a malformed {what} `{value}`; \
                 the row was changed outside hromada",
                self.backend().name(),
                self.target
            ))
        };
        let time = |what: &str, text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| malformed(what, text))
        };
        let count =
            |what: &str, n: i64| u32::try_from(n).map_err(|_| malformed(what, &n.to_string()));
        Ok(ReconcileRecord {
            id,
            started_at: time("start time", &started_at)?,
            finished_at: time("finish time", &finished_at)?,
            outcome: Outcome::parse(&outcome).ok_or_else(|| malformed("outcome", &outcome))?,
            errors: count("error count", errors)?,
            warnings: count("warning count", warnings)?,
            diagnostics: serde_json::from_str(&diagnostics)
                .map_err(|_| malformed("diagnostics text", &diagnostics))?,
            node,
            instance,
            revision,
            source,
            diagnostics_digest,
        })
    }
}
