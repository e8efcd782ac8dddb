//! The files citizens attach to their drafts: each content kept once, by its SHA-256, and the
//! draft's list of what it attaches as which of its form's attachments. A change takes the
//! draft's row first, so it waits for (and then refuses after) the signing that locks it.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, Tx, on_pool, on_tx, time_text};

const COLUMNS: &str = "draft_id, n, attachment, file_name, media_type, size, sha256, added_at";

/// One file of a draft.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentRow {
    pub draft_id: String,
    /// The file's number within the draft (the `{n}` of its URLs): one above the highest held.
    pub n: i64,
    /// The form's attachment id it is attached as.
    pub attachment: String,
    /// The name the citizen's device gave the file.
    pub file_name: String,
    /// What the content was recognised as (`application/pdf`, …).
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// SHA-256 of the content, hex: the key of [`Store::blob`].
    pub sha256: String,
    /// RFC 3339, as in reconciles.
    pub added_at: String,
}

/// A file to attach to a draft.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    pub owner: &'a str,
    pub draft_id: &'a str,
    pub attachment: &'a str,
    pub file_name: &'a str,
    pub media_type: &'a str,
    pub content: &'a [u8],
    /// Most files the draft may hold as this attachment.
    pub max_files: u32,
    pub now: DateTime<Utc>,
}

/// What became of a change to a draft's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentChange {
    Added(AttachmentRow),
    Removed,
    /// The draft already holds `max_files` files as this attachment.
    TooMany,
    /// No such file of the draft.
    NoSuchFile,
    /// The draft is signed: nothing of it changes any more.
    Locked,
    /// No such draft of this owner (never was, removed, or someone else's).
    Missing,
}

/// SHA-256 of `content`, hex.
pub fn content_hash(content: &[u8]) -> String {
    crate::crypto::sha256_hex(content)
}

impl Store {
    /// Attaches `new.content` to `owner`'s unlocked draft, storing the content unless the same
    /// bytes are stored already.
    pub async fn add_attachment(
        &self,
        new: &NewAttachment<'_>,
    ) -> Result<AttachmentChange, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(refused) = self
            .hold_draft(&mut tx, new.owner, new.draft_id, new.now)
            .await?
        {
            return Ok(refused);
        }
        let (held, last): (i64, Option<i64>) = on_tx!(&mut tx, t => sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM draft_attachments WHERE draft_id = $1 AND attachment = $2), \
                    (SELECT MAX(n) FROM draft_attachments WHERE draft_id = $1)")
            .bind(new.draft_id)
            .bind(new.attachment)
            .fetch_one(&mut **t)
            .await)
        .map_err(|e| self.failed("count a draft's files in", e))?;
        if held >= i64::from(new.max_files) {
            return Ok(AttachmentChange::TooMany);
        }
        let row = AttachmentRow {
            draft_id: new.draft_id.to_string(),
            n: last.unwrap_or(0) + 1,
            attachment: new.attachment.to_string(),
            file_name: new.file_name.to_string(),
            media_type: new.media_type.to_string(),
            size: new.content.len() as i64,
            sha256: content_hash(new.content),
            added_at: time_text(&new.now),
        };
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO attachment_blobs (sha256, size, content, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (sha256) DO NOTHING")
            .bind(&row.sha256)
            .bind(row.size)
            .bind(new.content)
            .bind(&row.added_at)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("store an attached file in", e))?;
        let sql = format!(
            "INSERT INTO draft_attachments ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        on_tx!(&mut tx, t => sqlx::query(&sql)
            .bind(&row.draft_id)
            .bind(row.n)
            .bind(&row.attachment)
            .bind(&row.file_name)
            .bind(&row.media_type)
            .bind(row.size)
            .bind(&row.sha256)
            .bind(&row.added_at)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("attach a file to a draft in", e))?;
        tx.commit().await?;
        Ok(AttachmentChange::Added(row))
    }

    /// Removes file `n` from `owner`'s unlocked draft `draft_id`, and its content once no draft
    /// attaches it.
    pub async fn remove_attachment(
        &self,
        owner: &str,
        draft_id: &str,
        n: i64,
        now: DateTime<Utc>,
    ) -> Result<AttachmentChange, StoreError> {
        let mut tx = self.begin().await?;
        if let Some(refused) = self.hold_draft(&mut tx, owner, draft_id, now).await? {
            return Ok(refused);
        }
        let hash: Option<String> = on_tx!(&mut tx, t => sqlx::query_scalar(
            "DELETE FROM draft_attachments WHERE draft_id = $1 AND n = $2 RETURNING sha256")
            .bind(draft_id)
            .bind(n)
            .fetch_optional(&mut **t)
            .await)
        .map_err(|e| self.failed("remove a draft's file from", e))?;
        let Some(hash) = hash else {
            return Ok(AttachmentChange::NoSuchFile);
        };
        on_tx!(&mut tx, t => sqlx::query(
            "DELETE FROM attachment_blobs WHERE sha256 = $1 \
             AND NOT EXISTS (SELECT 1 FROM draft_attachments WHERE sha256 = $1) \
             AND NOT EXISTS (SELECT 1 FROM case_attachments WHERE sha256 = $1) \
             AND NOT EXISTS (SELECT 1 FROM card_files WHERE sha256 = $1 AND destroyed_at IS NULL)")
            .bind(&hash)
            .execute(&mut **t)
            .await
            .map(drop))
        .map_err(|e| self.failed("remove an unused file from", e))?;
        tx.commit().await?;
        Ok(AttachmentChange::Removed)
    }

    /// The files of draft `draft_id`, in the order they were attached. The caller has made sure
    /// the draft is the reader's own.
    pub async fn attachments_of(&self, draft_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM draft_attachments WHERE draft_id = $1 ORDER BY n");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(draft_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a draft's files from", e))
    }

    /// The content whose SHA-256 is `sha256`; an error when the stored bytes no longer hash to
    /// it (the row was changed behind the portal's back).
    pub async fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let content: Option<Vec<u8>> = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT content FROM attachment_blobs WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(pool)
            .await)
        .map_err(|e| self.failed("read an attached file from", e))?;
        match content {
            Some(bytes) if content_hash(&bytes) != sha256 => Err(StoreError::new(format!(
                "the attached file {sha256} in the {} database no longer has the content it was \
                 stored with (its bytes hash to {}); it was changed outside the portal: restore \
                 it from a backup",
                self.backend().name(),
                content_hash(&bytes)
            ))),
            found => Ok(found),
        }
    }

    /// Removes stored contents no draft, case, registration card or received document waiting
    /// for its registrar holds (left by drafts removed with their files, or by uploads taken
    /// back); how many.
    pub async fn remove_unused_blobs(&self) -> Result<u64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query(
            "DELETE FROM attachment_blobs WHERE NOT EXISTS \
             (SELECT 1 FROM draft_attachments WHERE draft_attachments.sha256 = attachment_blobs.sha256) \
             AND NOT EXISTS \
             (SELECT 1 FROM case_attachments WHERE case_attachments.sha256 = attachment_blobs.sha256) \
             AND NOT EXISTS \
             (SELECT 1 FROM card_files WHERE card_files.sha256 = attachment_blobs.sha256 \
             AND card_files.destroyed_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM exchange_received_files f \
             JOIN exchange_received r ON r.id = f.message_id \
             WHERE f.sha256 = attachment_blobs.sha256 AND r.status = 'received')")
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("remove unused attached files from", e))
    }

    /// Takes `owner`'s draft row in `tx` (touching its `updated_at`), so that a signing that
    /// locks it waits for this change or this change for it; the refusal when it is not an
    /// unlocked draft of theirs.
    async fn hold_draft(
        &self,
        tx: &mut Tx,
        owner: &str,
        draft_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AttachmentChange>, StoreError> {
        let held = on_tx!(tx, t => sqlx::query(
            "UPDATE drafts SET updated_at = $1 WHERE id = $2 AND owner = $3 AND submitted_at IS NULL")
            .bind(time_text(&now))
            .bind(draft_id)
            .bind(owner)
            .execute(&mut **t)
            .await
            .map(|done| done.rows_affected()))
        .map_err(|e| self.failed("take a draft in", e))?;
        if held == 1 {
            return Ok(None);
        }
        let exists: Option<String> = on_tx!(tx, t => sqlx::query_scalar(
            "SELECT id FROM drafts WHERE id = $1 AND owner = $2")
            .bind(draft_id)
            .bind(owner)
            .fetch_optional(&mut **t)
            .await)
        .map_err(|e| self.failed("read a draft from", e))?;
        Ok(Some(match exists {
            Some(_) => AttachmentChange::Locked,
            None => AttachmentChange::Missing,
        }))
    }
}
