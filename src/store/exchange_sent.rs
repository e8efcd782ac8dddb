//! The sender's side of the exchange between registries: one row per message sent (a card to
//! one addressee) with what the addressee's notices said of it, and each notice taken once, by
//! its own message id, applied or ignored. Written in the caller's transaction.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, Tx, on_pool, on_tx};

const COLUMNS: &str = "msg_id, card_id, participant, addressee, purpose, status, sent_at, \
     sent_by, delivered_at, registered_number, registered_date, registered_at, refused_at, \
     refused_ground, refused_by, refused_phone, not_received_at";

/// The rows a page of the sent section shows.
pub const SENT_PAGE: i64 = 50;

/// One message sent, as stored. Times are the store's RFC 3339 text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SentRow {
    /// The message's GUID (the envelope's `msg_id`).
    pub msg_id: String,
    pub card_id: String,
    /// The sending participant (ours).
    pub participant: String,
    /// The addressee participant.
    pub addressee: String,
    /// `execution`, `information` or `approval`.
    pub purpose: String,
    /// `sent`, `delivered`, `registered`, `refused` or `not-received`.
    pub status: String,
    pub sent_at: String,
    /// Who sent it, as the case history names actors (`official:<id>`).
    pub sent_by: String,
    pub delivered_at: Option<String>,
    /// The addressee's registration number and date (`YYYY-MM-DD`), and when the notice came.
    pub registered_number: Option<String>,
    pub registered_date: Option<String>,
    pub registered_at: Option<String>,
    /// When the addressee refused it, on what ground, by whom, their phone (п.28).
    pub refused_at: Option<String>,
    pub refused_ground: Option<String>,
    pub refused_by: Option<String>,
    pub refused_phone: Option<String>,
    /// When it was found not received (п.24).
    pub not_received_at: Option<String>,
}

/// A notice taken by the sender's registry: about which message, of what kind, and whether it
/// was applied or ignored (with why, in words without personal data).
#[derive(Debug, Clone)]
pub struct TakenNotice<'a> {
    pub participant: &'a str,
    pub sender: &'a str,
    pub notice_msg_id: &'a str,
    pub about_msg_id: &'a str,
    pub ack_type: i64,
    pub ignored: Option<&'a str>,
    pub taken_at: &'a str,
}

impl Store {
    /// Writes message `row` in `tx`. The caller holds the card's row (`card_in`), so a second
    /// sender of the same card waits; the database refuses a second live message to one
    /// addressee.
    pub async fn insert_exchange_sent(&self, tx: &mut Tx, row: &SentRow) -> Result<(), StoreError> {
        let sql = format!(
            "INSERT INTO exchange_sent ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
             $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        on_tx!(&mut *tx, t => sqlx::query(&sql)
            .bind(&row.msg_id).bind(&row.card_id).bind(&row.participant).bind(&row.addressee)
            .bind(&row.purpose).bind(&row.status).bind(&row.sent_at).bind(&row.sent_by)
            .bind(&row.delivered_at).bind(&row.registered_number).bind(&row.registered_date)
            .bind(&row.registered_at).bind(&row.refused_at).bind(&row.refused_ground)
            .bind(&row.refused_by).bind(&row.refused_phone).bind(&row.not_received_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("record a message sent in", e))
    }

    /// The messages of card `card_id` to `addressee` not refused, read in `tx`.
    pub async fn exchange_sent_live(
        &self,
        tx: &mut Tx,
        card_id: &str,
        addressee: &str,
    ) -> Result<Option<SentRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_sent WHERE card_id = $1 AND addressee = $2 \
             AND status <> 'refused'"
        );
        on_tx!(&mut *tx, t => sqlx::query_as(&sql)
            .bind(card_id).bind(addressee).fetch_optional(&mut **t).await)
        .map_err(|e| self.failed("read a card's messages sent from", e))
    }

    /// Every message sent of card `card_id`, in the order sent.
    pub async fn exchange_sent_of_card(&self, card_id: &str) -> Result<Vec<SentRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_sent WHERE card_id = $1 ORDER BY sent_at, addressee"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(card_id).fetch_all(pool).await)
            .map_err(|e| self.failed("read a card's messages sent from", e))
    }

    /// Message `msg_id` that `participant` sent to `addressee`, read in `tx` after taking its
    /// row, so that two notices about it apply one after the other.
    pub async fn exchange_sent_in(
        &self,
        tx: &mut Tx,
        participant: &str,
        addressee: &str,
        msg_id: &str,
    ) -> Result<Option<SentRow>, StoreError> {
        on_tx!(&mut *tx, t => sqlx::query("UPDATE exchange_sent SET msg_id = msg_id \
             WHERE msg_id = $1")
            .bind(msg_id).execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("take a message sent in", e))?;
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_sent WHERE msg_id = $1 AND participant = $2 \
             AND addressee = $3"
        );
        on_tx!(&mut *tx, t => sqlx::query_as(&sql)
            .bind(msg_id).bind(participant).bind(addressee).fetch_optional(&mut **t).await)
        .map_err(|e| self.failed("read a message sent from", e))
    }

    /// Writes what a notice changed of message `row` (its status and the notice's fields).
    pub async fn update_exchange_sent(&self, tx: &mut Tx, row: &SentRow) -> Result<(), StoreError> {
        on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE exchange_sent SET status = $2, delivered_at = $3, registered_number = $4, \
             registered_date = $5, registered_at = $6, refused_at = $7, refused_ground = $8, \
             refused_by = $9, refused_phone = $10, not_received_at = $11 WHERE msg_id = $1")
            .bind(&row.msg_id).bind(&row.status).bind(&row.delivered_at)
            .bind(&row.registered_number).bind(&row.registered_date).bind(&row.registered_at)
            .bind(&row.refused_at).bind(&row.refused_ground).bind(&row.refused_by)
            .bind(&row.refused_phone).bind(&row.not_received_at)
            .execute(&mut **t).await.map(drop))
        .map_err(|e| self.failed("record a notice about a message sent in", e))
    }

    /// Records `notice` as taken, in `tx`; `false` when it was taken before (nothing written).
    pub async fn take_exchange_notice(
        &self,
        tx: &mut Tx,
        notice: &TakenNotice<'_>,
    ) -> Result<bool, StoreError> {
        let outcome = if notice.ignored.is_some() {
            "ignored"
        } else {
            "applied"
        };
        let written = on_tx!(&mut *tx, t => sqlx::query(
            "INSERT INTO exchange_sent_notices (participant, sender, notice_msg_id, about_msg_id, \
             ack_type, outcome, reason, taken_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (participant, sender, notice_msg_id) DO NOTHING")
            .bind(notice.participant).bind(notice.sender).bind(notice.notice_msg_id)
            .bind(notice.about_msg_id).bind(notice.ack_type).bind(outcome).bind(notice.ignored)
            .bind(notice.taken_at)
            .execute(&mut **t).await.map(|d| d.rows_affected()))
        .map_err(|e| self.failed("record a notice taken in", e))?;
        Ok(written == 1)
    }

    /// How notice `notice_msg_id` from `sender` to `participant` was taken: `applied` or
    /// `ignored`, or `None` when it was not.
    pub async fn exchange_notice_outcome(
        &self,
        participant: &str,
        sender: &str,
        notice_msg_id: &str,
    ) -> Result<Option<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT outcome FROM exchange_sent_notices WHERE participant = $1 AND sender = $2 \
             AND notice_msg_id = $3")
            .bind(participant).bind(sender).bind(notice_msg_id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read a notice taken from", e))
    }

    /// Up to `limit` messages sent at or before `sent_by` (store time text) still waiting for
    /// their delivery notice, oldest first.
    pub async fn exchange_sent_awaiting(
        &self,
        sent_by: &str,
        limit: i64,
    ) -> Result<Vec<SentRow>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_sent WHERE status = 'sent' AND sent_at <= $1 \
             ORDER BY sent_at, msg_id LIMIT $2"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(sent_by).bind(limit).fetch_all(pool).await)
        .map_err(|e| self.failed("read the messages awaiting delivery from", e))
    }

    /// Marks message `msg_id` not received at `at`, in `tx`, if it still waits for its delivery
    /// notice; `false` when a notice came first (nothing written).
    pub async fn mark_exchange_not_received(
        &self,
        tx: &mut Tx,
        msg_id: &str,
        at: &str,
    ) -> Result<bool, StoreError> {
        let done = on_tx!(&mut *tx, t => sqlx::query(
            "UPDATE exchange_sent SET status = 'not-received', not_received_at = $2 \
             WHERE msg_id = $1 AND status = 'sent'")
            .bind(msg_id).bind(at).execute(&mut **t).await.map(|d| d.rows_affected()))
        .map_err(|e| self.failed("mark a message not received in", e))?;
        Ok(done == 1)
    }

    /// Page `page` (from 0) of the messages `participant` sent, newest first, and how many
    /// there are in all.
    pub async fn exchange_sent_journal(
        &self,
        participant: &str,
        page: i64,
    ) -> Result<(Vec<SentRow>, i64), StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM exchange_sent WHERE participant = $1 \
             ORDER BY sent_at DESC, msg_id LIMIT $2 OFFSET $3"
        );
        let rows = on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(participant).bind(SENT_PAGE).bind(page.max(0) * SENT_PAGE)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read the messages sent from", e))?;
        let total: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM exchange_sent WHERE participant = $1")
            .bind(participant).fetch_one(pool).await)
        .map_err(|e| self.failed("count the messages sent in", e))?;
        Ok((rows, total))
    }
}
