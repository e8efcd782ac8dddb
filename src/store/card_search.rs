//! The registry's search index (REG-3): per card the version indexed and its stemmed words
//! (SQLite FTS5 `card_words`, PostgreSQL tsvectors of the `simple` configuration, the same stems
//! on both), kept in the order a search shows them (the order key), and the queue the indexer
//! leases from. The query that reads it is `card_query.rs`.

use chrono::{DateTime, Utc};

use super::cards::CardRow;
use super::{Pool, Store, StoreError, on_pool, on_tx, parse_time, time_text};

/// Bits of an order key that tell apart the cards of one millisecond.
const SLOT_BITS: u32 = 19;
const SLOT_MASK: i64 = (1 << SLOT_BITS) - 1;
/// Drafts sit below every registered card: their keys are moved down by this.
const DRAFTS_BELOW: i64 = 1 << 62;

/// The order key of the first slot of time `at`'s millisecond (keys hold until the year 2248).
pub(super) fn order_at(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().max(0) << SLOT_BITS
}

/// Where `card` sits in the search index's order, newest registration first and drafts, newest
/// first, after every registered card: the millisecond of its registration (or creation), then
/// a slot taken from its id, moved to the next free one when another card holds it.
pub fn search_order(card: &CardRow) -> i64 {
    let slot = card.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    }) as i64
        & SLOT_MASK;
    let at = |text: &str| parse_time(text).map(order_at);
    match card.registered_at.as_deref().and_then(at) {
        Some(key) => key | slot,
        None => (at(&card.created_at).unwrap_or(0) | slot) - DRAFTS_BELOW,
    }
}

/// The index row of one card: the version it was made from, its order key (`search_order`) and
/// its stems (space-separated).
#[derive(Debug, Clone)]
pub struct CardWords {
    pub card_id: String,
    pub version: i64,
    pub order: i64,
    pub words: String,
    pub correspondent: String,
    pub signer: String,
}

impl Store {
    /// Takes up to `limit` queued cards for `holder` until `until` (leases of others expired by
    /// `now` are taken over): each card's id and the version queued, oldest first.
    pub async fn lease_index_queue(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let lock = match self.pool {
            Pool::Postgres(_) => " FOR UPDATE SKIP LOCKED",
            Pool::Sqlite(_) => "",
        };
        let sql = format!(
            "UPDATE card_index_queue SET leased_by = $1, leased_until = $2 WHERE card_id IN \
             (SELECT card_id FROM card_index_queue WHERE leased_until IS NULL \
             OR leased_until < $3 ORDER BY queued_at LIMIT $4{lock}) RETURNING card_id, version"
        );
        let _turn = self.write_turn_for_statement().await?;
        on_pool!(&self.pool, pool => sqlx::query_as(&sql)
            .bind(holder).bind(time_text(&until)).bind(time_text(&now)).bind(limit)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("take cards from the search queue in", e))
    }

    /// Records the text read from file `n` of card `card_id` (once: a text already there stays).
    pub async fn set_card_file_text(
        &self,
        card_id: &str,
        n: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_turn_for_statement().await?;
        on_pool!(&self.pool, pool => sqlx::query(
            "UPDATE card_files SET text = $3 WHERE card_id = $1 AND n = $2 AND text IS NULL")
            .bind(card_id).bind(n).bind(text).execute(pool).await.map(drop))
        .map_err(|e| self.failed("record a card file's text in", e))
    }

    /// Writes `words` as card's index row at its order key (unless a newer version is indexed
    /// already) and takes the card off the queue if `holder` leased it at version `queued`; a
    /// card queued again since stays queued, its lease released, to be indexed again.
    pub async fn write_card_words(
        &self,
        words: &CardWords,
        queued: i64,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        let at = time_text(&now);
        let failed = |e: sqlx::Error| self.failed(&format!("index card {} in", words.card_id), e);
        let key = match self.pool {
            Pool::Postgres(_) => "order_key",
            Pool::Sqlite(_) => "rowid",
        };
        let held: Option<(i64, i64)> = on_tx!(&mut tx, t => sqlx::query_as(&format!(
            "SELECT {key}, version FROM card_search WHERE card_id = $1"))
            .bind(&words.card_id).fetch_optional(&mut **t).await)
        .map_err(failed)?;
        let order = match held {
            Some((_, version)) if version > words.version => None,
            Some((order, _)) if order & !SLOT_MASK == words.order & !SLOT_MASK => Some(order),
            _ => {
                let mut order = words.order;
                loop {
                    let taken: Option<String> = on_tx!(&mut tx, t => sqlx::query_scalar(
                        &format!("SELECT card_id FROM card_search WHERE {key} = $1"))
                        .bind(order).fetch_optional(&mut **t).await)
                    .map_err(failed)?;
                    match taken {
                        Some(card) if card != words.card_id => {
                            order = (order & !SLOT_MASK) | ((order + 1) & SLOT_MASK);
                        }
                        _ => break Some(order),
                    }
                }
            }
        };
        match (&mut tx, order) {
            (_, None) => {}
            (super::Tx::Postgres(t), Some(order)) => {
                sqlx::query(
                    "INSERT INTO card_search (card_id, version, indexed_at, order_key, words, \
                     correspondent, signer) VALUES ($1, $2, $3, $4, \
                     strip(to_tsvector('simple', $5)), strip(to_tsvector('simple', $6)), \
                     strip(to_tsvector('simple', $7))) \
                     ON CONFLICT (card_id) DO UPDATE SET version = excluded.version, \
                     indexed_at = excluded.indexed_at, order_key = excluded.order_key, \
                     words = excluded.words, correspondent = excluded.correspondent, \
                     signer = excluded.signer WHERE card_search.version <= excluded.version",
                )
                .bind(&words.card_id)
                .bind(words.version)
                .bind(&at)
                .bind(order)
                .bind(&words.words)
                .bind(&words.correspondent)
                .bind(&words.signer)
                .execute(&mut **t)
                .await
                .map_err(failed)?;
            }
            (super::Tx::Sqlite(t, _), Some(order)) => {
                if let Some((old, _)) = held {
                    for table in ["card_words", "card_search"] {
                        sqlx::query(&format!("DELETE FROM {table} WHERE rowid = $1"))
                            .bind(old)
                            .execute(&mut **t)
                            .await
                            .map_err(failed)?;
                    }
                }
                sqlx::query(
                    "INSERT INTO card_search (rowid, card_id, version, indexed_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(order)
                .bind(&words.card_id)
                .bind(words.version)
                .bind(&at)
                .execute(&mut **t)
                .await
                .map_err(failed)?;
                sqlx::query(
                    "INSERT INTO card_words (rowid, card_id, words, correspondent, signer) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(order)
                .bind(&words.card_id)
                .bind(&words.words)
                .bind(&words.correspondent)
                .bind(&words.signer)
                .execute(&mut **t)
                .await
                .map_err(failed)?;
            }
        }
        if let Some(order) = order {
            on_tx!(&mut tx, t => sqlx::query(
                "UPDATE card_people SET order_key = $2 WHERE card_id = $1 \
                 AND (order_key IS NULL OR order_key <> $2)")
                .bind(&words.card_id).bind(order)
                .execute(&mut **t).await.map(drop))
            .map_err(failed)?;
        }
        on_tx!(&mut tx, t => sqlx::query(
            "DELETE FROM card_index_queue WHERE card_id = $1 AND version = $2 AND leased_by = $3")
            .bind(&words.card_id).bind(queued).bind(holder)
            .execute(&mut **t).await.map(drop))
        .map_err(failed)?;
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE card_index_queue SET leased_by = NULL, leased_until = NULL \
             WHERE card_id = $1 AND leased_by = $2")
            .bind(&words.card_id).bind(holder)
            .execute(&mut **t).await.map(drop))
        .map_err(failed)?;
        tx.commit().await
    }

    /// The version of card `card_id` the search index holds, if any.
    pub async fn indexed_version(&self, card_id: &str) -> Result<Option<i64>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT version FROM card_search WHERE card_id = $1")
            .bind(card_id).fetch_optional(pool).await)
        .map_err(|e| self.failed("read the search index of", e))
    }

    /// Wakes this process's search indexer: a card was written (or is about to be committed).
    pub fn wake_indexer(&self) {
        self.cards_changed.notify_one();
    }

    /// What [`Store::wake_indexer`] notifies.
    pub fn cards_changed(&self) -> &tokio::sync::Notify {
        &self.cards_changed
    }

    /// How many cards wait for the search index.
    pub async fn index_queue_length(&self) -> Result<i64, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT COUNT(*) FROM card_index_queue").fetch_one(pool).await)
        .map_err(|e| self.failed("count the search queue in", e))
    }
}
