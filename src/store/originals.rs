//! Originals kept in their format (003 §5.12): for each signed application and issued document,
//! the SHA-256 of its bytes, origin, destination, times and the retention rule that keeps it;
//! and the revocations of issued documents. The bytes stay in `applications` and `documents`.

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "kind, record_id, media_type, digest, origin, destination, created_at, \
     delivered_at, retention";

/// What an original is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginalKind {
    /// A citizen's signed application (canonical JSON).
    Application,
    /// A document the case engine issued (its PDF visual form).
    Document,
}

impl OriginalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OriginalKind::Application => "application",
            OriginalKind::Document => "document",
        }
    }
}

/// One kept original as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OriginalRow {
    /// `application` or `document`.
    pub kind: String,
    /// The application's or document's id.
    pub record_id: String,
    pub media_type: String,
    /// SHA-256 of the original's bytes, lowercase hex.
    pub digest: String,
    /// Who it came from: `applicant:<owner>` or `participant:<id>`.
    pub origin: String,
    /// Whom it is for: `participant:<id>` or `applicant:<id>`.
    pub destination: String,
    /// When it was received (an application) or issued (a document), store time.
    pub created_at: String,
    /// When it reached its destination; `None` until then.
    pub delivered_at: Option<String>,
    /// The retention rule of the applied policy that keeps it; `None` when no rule names its
    /// class.
    pub retention: Option<String>,
}

/// A document revoked by its provider.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RevocationRow {
    pub document_id: String,
    pub revoked_at: String,
    /// The official who revoked it (their id in the spec).
    pub revoked_by: String,
    /// One of a fixed few grounds, in words anyone verifying the document may read.
    pub ground: String,
    /// The official's own words, for the applicant.
    pub reason: String,
}

/// SHA-256 of `bytes`, lowercase hex, as `originals.digest` holds it.
pub fn original_digest(bytes: &[u8]) -> String {
    crate::crypto::sha256_hex(bytes)
}

impl Store {
    /// Records `original` in `tx`; a second record of the same one keeps the first.
    pub async fn insert_original(
        &self,
        tx: &mut Tx,
        original: &OriginalRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO originals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (kind, record_id) DO NOTHING"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&original.kind)
            .bind(&original.record_id)
            .bind(&original.media_type)
            .bind(&original.digest)
            .bind(&original.origin)
            .bind(&original.destination)
            .bind(&original.created_at)
            .bind(&original.delivered_at)
            .bind(&original.retention)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("record an original in", e))
    }

    /// The original of `kind` with id `record_id`.
    pub async fn original(
        &self,
        kind: OriginalKind,
        record_id: &str,
    ) -> Result<Option<OriginalRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM originals WHERE kind = $1 AND record_id = $2");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(kind.as_str())
            .bind(record_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an original from", e))
    }

    /// The originals of `kind` whose bytes have SHA-256 `digest`.
    pub async fn originals_with_digest(
        &self,
        kind: OriginalKind,
        digest: &str,
    ) -> Result<Vec<OriginalRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM originals WHERE kind = $1 AND digest = $2 ORDER BY record_id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(kind.as_str())
            .bind(digest)
            .fetch_all(pool)
            .await)
        .map_err(|e| self.failed("look up an original by its digest in", e))
    }

    /// Records that the original reached its destination at `at`; the first time stays.
    pub async fn original_delivered(
        &self,
        kind: OriginalKind,
        record_id: &str,
        at: &str,
    ) -> Result<(), StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE originals SET delivered_at = $1 \
             WHERE kind = $2 AND record_id = $3 AND delivered_at IS NULL")
            .bind(at)
            .bind(kind.as_str())
            .bind(record_id)
            .execute(pool)
            .await
            .map(drop))
        .map_err(|e| self.failed("record the delivery of an original in", e))
    }

    /// Revokes document `revocation.document_id`: `false`, and nothing changed, when it was
    /// revoked before.
    pub async fn revoke_document(&self, revocation: &RevocationRow) -> Result<bool, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "INSERT INTO document_revocations \
             (document_id, revoked_at, revoked_by, ground, reason) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (document_id) DO NOTHING")
            .bind(&revocation.document_id)
            .bind(&revocation.revoked_at)
            .bind(&revocation.revoked_by)
            .bind(&revocation.ground)
            .bind(&revocation.reason)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1))
        .map_err(|e| self.failed("record the revocation of a document in", e))
    }

    /// The revocation of document `document_id`, if it was revoked.
    pub async fn revocation(&self, document_id: &str) -> Result<Option<RevocationRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT document_id, revoked_at, revoked_by, ground, reason \
             FROM document_revocations \
             WHERE document_id = $1")
            .bind(document_id)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read the revocation of a document from", e))
    }
}
