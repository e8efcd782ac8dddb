//! Files an applicant adds to a case after signing (documents an official asked for): kept once
//! per content with the drafts' files, numbered after the application's own files, and known by
//! the upload that added them, so that an upload whose transition was refused takes them back.

use chrono::{DateTime, Utc};

use super::attachments::content_hash;
use super::{Store, StoreError, on_pool, on_tx, time_text};

const COLUMNS: &str =
    "case_id, n, file_name, media_type, size, sha256, added_at, added_by, request";

/// One file added to a case.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseFileRow {
    pub case_id: String,
    /// Numbered after the files of the case's application (the `{n}` of its URL).
    pub n: i64,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub added_at: String,
    /// Who added it, as the case history names actors (`applicant:<id>`).
    pub added_by: String,
    /// The upload's key.
    pub request: String,
}

/// A file to add.
#[derive(Debug, Clone, Copy)]
pub struct NewCaseFile<'a> {
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
}

impl Store {
    /// Adds `files` to case `case_id` in one transaction, numbered after the files of the
    /// case's application and those added before; the rows written.
    pub async fn add_case_files(
        &self,
        case_id: &str,
        files: &[NewCaseFile<'_>],
        added_by: &str,
        request: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<CaseFileRow>, StoreError> {
        let mut tx = self.begin().await?;
        // Taking the case's row first queues two uploads to one case instead of numbering both
        // the same.
        on_tx!(&mut tx, t => sqlx::query("UPDATE cases SET id = id WHERE id = $1")
            .bind(case_id)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("take a case in", e))?;
        let (own, added): (Option<i64>, Option<i64>) = on_tx!(&mut tx, t => sqlx::query_as(
            "SELECT (SELECT MAX(d.n) FROM draft_attachments d \
                     JOIN applications a ON a.draft_id = d.draft_id WHERE a.case_id = $1), \
                    (SELECT MAX(n) FROM case_attachments WHERE case_id = $1)")
            .bind(case_id)
            .fetch_one(&mut **t)
            .await)
        .map_err(|e| self.failed("count a case's files in", e))?;
        let last = own.unwrap_or(0).max(added.unwrap_or(0));
        let mut rows = Vec::new();
        let sql = format!(
            "INSERT INTO case_attachments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        for (n, file) in (last + 1..).zip(files) {
            let row = CaseFileRow {
                case_id: case_id.to_string(),
                n,
                file_name: file.file_name.to_string(),
                media_type: file.media_type.to_string(),
                size: file.content.len() as i64,
                sha256: content_hash(file.content),
                added_at: time_text(&now),
                added_by: added_by.to_string(),
                request: request.to_string(),
            };
            on_tx!(&mut tx, t => sqlx::query(
                "INSERT INTO attachment_blobs (sha256, size, content, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
                .bind(&row.sha256)
                .bind(row.size)
                .bind(file.content)
                .bind(&row.added_at)
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(|e| self.failed("store a case's file in", e))?;
            on_tx!(&mut tx, t => sqlx::query(&sql)
                .bind(&row.case_id)
                .bind(row.n)
                .bind(&row.file_name)
                .bind(&row.media_type)
                .bind(row.size)
                .bind(&row.sha256)
                .bind(&row.added_at)
                .bind(&row.added_by)
                .bind(&row.request)
                .execute(&mut **t)
                .await
                .map(drop))
            .map_err(|e| self.failed("add a file to a case in", e))?;
            rows.push(row);
        }
        tx.commit().await?;
        Ok(rows)
    }

    /// Takes back the files upload `request` added to case `case_id` (its transition was
    /// refused); how many. Their contents go with the next sweep of unused files.
    pub async fn remove_case_files(&self, case_id: &str, request: &str) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "DELETE FROM case_attachments WHERE case_id = $1 AND request = $2")
            .bind(case_id)
            .bind(request)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("take back a case's files in", e))
    }

    /// The files added to case `case_id`, in the order they were added.
    pub async fn case_files(&self, case_id: &str) -> Result<Vec<CaseFileRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM case_attachments WHERE case_id = $1 ORDER BY n");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a case's files from", e))
    }
}
