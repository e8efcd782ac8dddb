//! What a card's history needs beyond its own events: the chain's neighbours of those events
//! (to show each one is linked in), the events of the engine cases about the card, and every
//! card row with its events in pages, for `audit verify` to hold each row to its events.

use super::{CardRow, CaseEventRow, Store, StoreError, on_pool};

const EVENT_COLUMNS: &str = "seq, case_id, at, actor, on_behalf, kind, event, from_state, \
     to_state, detail, prev_hash, hash";

impl Store {
    /// The `(seq, prev_hash, hash)` of the chain's events right before and right after each
    /// event of `case_id` (another case's or its own), by seq.
    pub async fn case_event_neighbours(
        &self,
        case_id: &str,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT n.seq, n.prev_hash, n.hash FROM case_events n WHERE n.seq IN \
             (SELECT e.seq - 1 FROM case_events e WHERE e.case_id = $1 \
              UNION SELECT e.seq + 1 FROM case_events e WHERE e.case_id = $1) ORDER BY n.seq")
            .bind(case_id).fetch_all(pool).await)
        .map_err(|e| self.failed(&format!("read the chain around case {case_id} from"), e))
    }

    /// The events of the engine's cases about card `card_id` (the executors' work its
    /// resolutions started, each with the card as its subject), oldest first.
    pub async fn card_case_events(&self, card_id: &str) -> Result<Vec<CaseEventRow>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id IN \
             (SELECT id FROM cases WHERE applicant = $1) ORDER BY seq"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(card_id).fetch_all(pool).await)
            .map_err(|e| self.failed(&format!("read the work on card {card_id} from"), e))
    }

    /// Up to `limit` cards after `after_id`, by id.
    pub async fn card_rows(&self, after_id: &str, limit: i64) -> Result<Vec<CardRow>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_as(
            "SELECT * FROM cards WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id).bind(limit).fetch_all(pool).await)
        .map_err(|e| self.failed("read cards from", e))
    }

    /// The events of the cards with ids from `first` through `last`, in chain order.
    pub async fn card_events_between(
        &self,
        first: &str,
        last: &str,
    ) -> Result<Vec<CaseEventRow>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM case_events WHERE case_id >= $1 AND case_id <= $2 \
             AND case_id LIKE 'card-%' ORDER BY seq"
        );
        on_pool!(&self.pool, pool => sqlx::query_as(&sql).bind(first).bind(last)
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read cards' history from", e))
    }

    /// The card ids the chain holds events of but `cards` has no row for.
    pub async fn card_events_without_card(&self) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT DISTINCT e.case_id FROM case_events e WHERE e.case_id LIKE 'card-%' \
             AND NOT EXISTS (SELECT 1 FROM cards c WHERE c.id = e.case_id) ORDER BY e.case_id")
            .fetch_all(pool).await)
        .map_err(|e| self.failed("read cards' history from", e))
    }
}
