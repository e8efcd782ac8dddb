//! The documents the case engine issued: text, registration number and detached seal, their PDF
//! visual form with its own seal and verification code, one per idempotency key, written in the
//! issuing transaction and never changed after.

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "id, key, case_id, template, title, journal, period, seq, number, text, \
     signature, sealed_by, issued_at, pdf, pdf_seal, code, official_name, official_position";

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
    /// The visual form (PDF with a text layer); `None` for a document issued before results
    /// had one.
    pub pdf: Option<Vec<u8>>,
    /// CMS SignedData (DER), detached, by the same seal: the content is `pdf`.
    pub pdf_seal: Option<Vec<u8>>,
    /// The short code that, with the number, lets anyone verify the document.
    pub code: Option<String>,
    /// The official who issued it (name, position); `None` when it was issued automatically.
    pub official_name: Option<String>,
    pub official_position: Option<String>,
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18)"
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
            .bind(&document.pdf)
            .bind(&document.pdf_seal)
            .bind(&document.code)
            .bind(&document.official_name)
            .bind(&document.official_position)
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

    /// Document `id`, whoever it was issued to.
    pub async fn document(&self, id: &str) -> Result<Option<DocumentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM documents WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read an issued document from", e))
    }

    /// The documents registered under `number` (in any journal), or the one unnumbered document
    /// whose id it is, oldest first.
    pub async fn documents_numbered(&self, number: &str) -> Result<Vec<DocumentRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM documents WHERE number = $1 OR (number IS NULL AND id = $1) \
             ORDER BY issued_at, id"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(number).fetch_all(pool).await)
            .map_err(|e| self.failed("read documents by number from", e))
    }
}
