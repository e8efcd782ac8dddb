//! Registration numbers of the document journals: one counter row per journal and period,
//! moved in the issuing transaction, so numbers have no gaps (a rolled-back issue gives its
//! number back) and no duplicates (a second writer waits on the row, on any replica).

use super::{Store, StoreError, Tx, on_tx};

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
