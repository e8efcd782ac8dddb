//! The documents the case engine issued: text, registration number and detached seal, one per
//! idempotency key, written in the issuing transaction and never changed after.

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "id, key, case_id, template, title, journal, period, seq, number, text, \
     signature, sealed_by, issued_at";

/// One issued document as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: String,
    /// The idempotency key it was issued under.
    pub key: String,
    pub case_id: String,
    pub template: String,
    pub title: String,
    pub journal: Option<String>,
    /// The journal's numbering period (`2026`, or `` when it never resets).
    pub period: Option<String>,
    pub seq: Option<i64>,
    pub number: Option<String>,
    pub text: String,
    /// CMS SignedData (DER), detached: the content is `text` as UTF-8.
    pub signature: Vec<u8>,
    /// The participant whose seal signed it.
    pub sealed_by: String,
    /// RFC 3339, as in reconciles.
    pub issued_at: String,
}

impl Store {
    /// The document issued under `key`, read in `tx`.
    pub async fn document_by_key(
        &self,
        tx: &mut Tx,
        key: &str,
    ) -> Result<Option<DocumentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM documents WHERE key = $1");
        on_tx!(tx, t => sqlx::query_as(&sql).bind(key).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed("read an issued document from", e))
    }

    /// Stores `document` in `tx`.
    pub async fn insert_document(
        &self,
        tx: &mut Tx,
        document: &DocumentRow,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO documents ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        on_tx!(tx, t => sqlx::query(&sql)
            .bind(&document.id)
            .bind(&document.key)
            .bind(&document.case_id)
            .bind(&document.template)
            .bind(&document.title)
            .bind(&document.journal)
            .bind(&document.period)
            .bind(document.seq)
            .bind(&document.number)
            .bind(&document.text)
            .bind(&document.signature)
            .bind(&document.sealed_by)
            .bind(&document.issued_at)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("store an issued document in", e))
    }

    /// The documents issued for case `case_id`, oldest first.
    pub async fn documents_of_case(&self, case_id: &str) -> Result<Vec<DocumentRow>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM documents WHERE case_id = $1 ORDER BY issued_at, id");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read the documents of a case from", e))
    }
}
