//! Registration numbers of the document journals: one counter row per journal and period,
//! moved in the issuing transaction, so numbers have no gaps (a rolled-back issue gives its
//! number back) and no duplicates (a second writer waits on the row, on any replica).

use super::{CardRow, Store, StoreError, Tx, on_pool, on_tx};

const NEXT: &str = "INSERT INTO journal_counters (journal, period, last) VALUES ($1, $2, 1) \
     ON CONFLICT (journal, period) DO UPDATE SET last = journal_counters.last + 1 \
     RETURNING last";

impl Store {
    /// The next number of `journal` in `period` (`2026` for a yearly reset, `` for none),
    /// starting at 1; taken for good only when `tx` commits.
    pub async fn next_number(
        &self,
        tx: &mut Tx,
        journal: &str,
        period: &str,
    ) -> Result<i64, StoreError> {
        on_tx!(tx, t => sqlx::query_scalar(NEXT)
            .bind(journal)
            .bind(period)
            .fetch_one(&mut **t)
            .await)
        .map_err(|e| {
            self.failed(
                &format!("take the next number of journal `{journal}` in"),
                e,
            )
        })
    }
}

/// Who reads a journal's page: the values `registry::access::Reader::binds` gives, in order.
pub type JournalReader = (String, i64, String, String);

impl Store {
    /// The registered cards of `journal` in `period` that `reader` may read, in number order:
    /// `limit` of them from `offset`, and how many there are in all.
    pub async fn journal_cards(
        &self,
        journal: &str,
        period: &str,
        reader: &JournalReader,
        visible_sql: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<CardRow>, i64), StoreError> {
        let filter = format!(
            "FROM cards c WHERE c.journal = $1 AND c.period = $2 AND c.seq IS NOT NULL AND {visible_sql}"
        );
        let (p, r, me, today) = reader;
        let list = format!("SELECT c.* {filter} ORDER BY c.seq LIMIT $7 OFFSET $8");
        let rows: Vec<CardRow> = on_pool!(&self.pool, pool => sqlx::query_as(&list)
            .bind(journal).bind(period).bind(p).bind(r).bind(me).bind(today)
            .bind(limit).bind(offset)
            .fetch_all(pool).await)
        .map_err(|e| self.failed(&format!("read journal `{journal}` from"), e))?;
        let count = format!("SELECT COUNT(*) {filter}");
        let total: i64 = on_pool!(&self.pool, pool => sqlx::query_scalar(&count)
            .bind(journal).bind(period).bind(p).bind(r).bind(me).bind(today)
            .fetch_one(pool).await)
        .map_err(|e| self.failed(&format!("count journal `{journal}` in"), e))?;
        Ok((rows, total))
    }

    /// The numbering periods of `journal` that have registered cards, newest first.
    pub async fn journal_periods(&self, journal: &str) -> Result<Vec<String>, StoreError> {
        on_pool!(&self.pool, pool => sqlx::query_scalar(
            "SELECT DISTINCT period FROM cards WHERE journal = $1 AND period IS NOT NULL \
             ORDER BY period DESC")
            .bind(journal).fetch_all(pool).await)
        .map_err(|e| self.failed(&format!("read the years of journal `{journal}` from"), e))
    }
}
