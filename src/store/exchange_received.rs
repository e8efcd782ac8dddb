//! Documents received from other participants' registries (issue 16): each handled document
//! message once, with its files (bytes in `attachment_blobs`) and their signatures' results, then
//! taken by a registrar (the incoming card made from it) or refused on a ground. The journal's
//! received, registered and refused sections read here.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "id, participant, sender, msg_id, out_number, out_date, content_digest, \
     summary, correspondent, header, requisites, status, received_at, ground_code, ground, \
     refusal_detail, refused_by, refused_at, card_id, taken_by, taken_at, reg_number, \
     registered_at";

const FILE_COLUMNS: &str =
    "message_id, n, idnumber, file_name, file_type, media_type, size, sha256, signatures";

/// Rows a page of a list or journal section holds.
pub const RECEIVED_PAGE: i64 = 50;

/// One received document as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ReceivedRow {
    /// The exchange inbox's id of the message.
    pub id: i64,
    /// Ours, the addressee.
    pub participant: String,
    /// The sending participant, as the gateway authenticated it.
    pub sender: String,
    pub msg_id: String,
    /// The sender's registration number and date (`YYYY-MM-DD`).
    pub out_number: String,
    pub out_date: String,
    pub content_digest: String,
    pub summary: String,
    pub correspondent: String,
    /// JSON: the envelope's parties, to address notices back.
    pub header: String,
    /// JSON: the document's requisites as the message page shows them.
    pub requisites: String,
    /// `received`, `taken` or `refused`.
    pub status: String,
    pub received_at: String,
    pub ground_code: Option<i64>,
    pub ground: Option<String>,
    pub refusal_detail: Option<String>,
    pub refused_by: Option<String>,
    pub refused_at: Option<String>,
    pub card_id: Option<String>,
    pub taken_by: Option<String>,
    pub taken_at: Option<String>,
    pub reg_number: Option<String>,
    pub registered_at: Option<String>,
}

/// One file of a received document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ReceivedFileRow {
    pub message_id: i64,
    pub n: i64,
    /// The file's id in the message.
    pub idnumber: String,
    pub file_name: String,
    /// As the envelope declares it (`pdf`).
    pub file_type: String,
    /// As its bytes showed it to be.
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    /// JSON array: each signature's bytes (`der`, base64), `signer` and `result`.
    pub signatures: String,
}

/// A file to store with a received document: its row and its bytes.
pub struct NewReceivedFile<'a> {
    pub row: ReceivedFileRow,
    pub content: &'a [u8],
}

/// A section of the received side of the exchange journal (п.26), or the registrar's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceivedSection {
    /// Accepted by the automatic checks and not yet taken or refused: the registrar's queue.
    Waiting,
    /// Every document accepted by the automatic checks (taken, waiting, or refused later by hand).
    Received,
    /// Those whose card was registered.
    Registered,
    /// Those refused, automatically or by hand.
    Refused,
}

impl ReceivedSection {
    fn condition(self) -> &'static str {
        match self {
            ReceivedSection::Waiting => "status = 'received'",
            ReceivedSection::Received => "(status <> 'refused' OR refused_by <> 'system')",
            ReceivedSection::Registered => "registered_at IS NOT NULL",
            ReceivedSection::Refused => "status = 'refused'",
        }
    }
}

impl Store {
    /// Writes `row` with its `files` in `tx`; `false` (nothing written) when message `row.id`
    /// was recorded already.
    pub async fn record_received(
        &self,
        tx: &mut Tx,
        row: &ReceivedRow,
        files: &[NewReceivedFile<'_>],
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "INSERT INTO exchange_received ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) \
             ON CONFLICT (id) DO NOTHING"
        );
        let written = on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(row.id).bind(&row.participant).bind(&row.sender).bind(&row.msg_id)
            .bind(&row.out_number).bind(&row.out_date).bind(&row.content_digest)
            .bind(&row.summary).bind(&row.correspondent).bind(&row.header)
            .bind(&row.requisites).bind(&row.status).bind(&row.received_at)
            .bind(row.ground_code).bind(&row.ground).bind(&row.refusal_detail)
            .bind(&row.refused_by).bind(&row.refused_at).bind(&row.card_id)
            .bind(&row.taken_by).bind(&row.taken_at).bind(&row.reg_number)
            .bind(&row.registered_at)
            .execute(&mut **t).await.map(|d| d.rows_affected()))
        .map_err(|e| self.failed("record a received document in", e))?;
        if written != 1 {
            return Ok(false);
        }
        let file_sql = format!(
            "INSERT INTO exchange_received_files ({FILE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, \
             $6, $7, $8, $9)"
        );
        for file in files {
            let f = &file.row;
            self.put_blob(tx, file.content, &row.received_at).await?;
            on_tx!(&mut *tx, t => sqlx::query(&file_sql)
                .bind(row.id).bind(f.n).bind(&f.idnumber).bind(&f.file_name)
                .bind(&f.file_type).bind(&f.media_type).bind(f.size).bind(&f.sha256)
                .bind(&f.signatures)
                .execute(&mut **t).await.map(drop))
            .map_err(|e| self.failed("record a received file in", e))?;
        }
        Ok(true)
    }

    async fn put_blob(&self, tx: &mut Tx, content: &[u8], at: &str) -> Result<(), StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO attachment_blobs (sha256, size, content, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING")
            .bind(super::content_hash(content)).bind(content.len() as i64).bind(content).bind(at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("store a received file in", e))
    }

    /// The earlier document `participant` received from `sender` under the same out-number and
    /// date with the same content, not refused: the one this one repeats.
    pub async fn received_before(
        &self,
        participant: &str,
        sender: &str,
        out_number: &str,
        out_date: &str,
        content_digest: &str,
    ) -> Result<Option<ReceivedRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_received WHERE participant = $1 AND sender = $2 \
             AND out_number = $3 AND out_date = $4 AND content_digest = $5 \
             AND status <> 'refused' ORDER BY id LIMIT 1"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(sender).bind(out_number).bind(out_date)
            .bind(content_digest).fetch_optional(pool).await)
        .map_err(|e| self.failed("look for a document received before in", e))
    }

    /// Received document `id`.
    pub async fn received_document(&self, id: i64) -> Result<Option<ReceivedRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM exchange_received WHERE id = $1");
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
            .map_err(|e| self.failed("read a received document from", e))
    }

    /// Received document `id` read in `tx` after taking its row, so that a second registrar's
    /// take or refusal waits for this transaction and then finds it decided.
    pub async fn received_document_in(
        &self,
        tx: &mut Tx,
        id: i64,
    ) -> Result<Option<ReceivedRow>, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query("UPDATE exchange_received SET id = id WHERE id = $1")
            .bind(id).execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("take a received document in", e))?;
        let sql = format!("SELECT {COLUMNS} FROM exchange_received WHERE id = $1");
        on_tx!(&mut *tx, t => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed("read a received document from", e))
    }

    /// The received document card `card_id` was made from, read in `tx`.
    pub async fn received_document_of_card(
        &self,
        tx: &mut Tx,
        card_id: &str,
    ) -> Result<Option<ReceivedRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM exchange_received WHERE card_id = $1");
        on_tx!(&mut *tx, t => sqlx::query_as(&sql).bind(card_id).fetch_optional(&mut **t).await)
            .map_err(|e| self.failed("read a received document from", e))
    }

    /// The files of received document `id`, in the message's order.
    pub async fn received_files(&self, id: i64) -> Result<Vec<ReceivedFileRow>, StoreError> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM exchange_received_files WHERE message_id = $1 ORDER BY n"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a received document's files from", e))
    }

    /// Marks document `id` taken into card `card_id` by `by` at `at`, in `tx`; `false` when it
    /// was no longer waiting.
    pub async fn take_received(
        &self,
        tx: &mut Tx,
        id: i64,
        card_id: &str,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE exchange_received SET status = 'taken', card_id = $2, taken_by = $3, \
             taken_at = $4 WHERE id = $1 AND status = 'received'")
            .bind(id).bind(card_id).bind(by).bind(at)
            .execute(&mut **t).await.map(|d| d.rows_affected() == 1))
        .map_err(|e| self.failed("record a received document taken in", e))
    }

    /// Marks document `id` refused on ground `code` (`ground` its text, `detail` what failed)
    /// by `by` at `at`, in `tx`; `false` when it was no longer waiting.
    #[allow(clippy::too_many_arguments)]
    pub async fn refuse_received(
        &self,
        tx: &mut Tx,
        id: i64,
        code: i64,
        ground: &str,
        detail: &str,
        by: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE exchange_received SET status = 'refused', ground_code = $2, ground = $3, \
             refusal_detail = $4, refused_by = $5, refused_at = $6 \
             WHERE id = $1 AND status = 'received'")
            .bind(id).bind(code).bind(ground).bind(detail).bind(by).bind(at)
            .execute(&mut **t).await.map(|d| d.rows_affected() == 1))
        .map_err(|e| self.failed("record a received document refused in", e))
    }

    /// Records in `tx` that the card made from document `id` was registered as `reg_number` at
    /// `at`; `false` when that was recorded already (its notice is queued once).
    pub async fn received_registered(
        &self,
        tx: &mut Tx,
        id: i64,
        reg_number: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE exchange_received SET reg_number = $2, registered_at = $3 \
             WHERE id = $1 AND registered_at IS NULL")
            .bind(id).bind(reg_number).bind(at)
            .execute(&mut **t).await.map(|d| d.rows_affected() == 1))
        .map_err(|e| self.failed("record a received document registered in", e))
    }

    /// Page `page` (from 0) of `section` of what `participant` received, the latest first.
    pub async fn exchange_received_journal(
        &self,
        participant: &str,
        section: ReceivedSection,
        page: u32,
    ) -> Result<Vec<ReceivedRow>, StoreError> {
        let order = match section {
            ReceivedSection::Registered => "registered_at DESC, id DESC",
            ReceivedSection::Refused => "refused_at DESC, id DESC",
            _ => "received_at DESC, id DESC",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_received WHERE participant = $1 AND {} \
             ORDER BY {order} LIMIT $2 OFFSET $3",
            section.condition()
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(RECEIVED_PAGE).bind(i64::from(page) * RECEIVED_PAGE)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the received documents from", e))
    }
}
