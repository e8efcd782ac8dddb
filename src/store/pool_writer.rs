//! The message log writer through the pool (PostgreSQL, in-memory SQLite): one task commits the
//! batches waiting for it together ([`GroupCommit`]). On PostgreSQL it keeps the heads it last
//! wrote, so that a commit is one statement unless another writer moved a head.

use std::collections::BTreeMap;

use chrono::Utc;
use sqlx::Row;

use super::batch_rows::{ChainedBatch, WriteRows, write_if_heads_unmoved};
use super::group_commit::{Batch, Gathered, GroupCommit, Jobs};
use super::head_cache::HeadCache;
use super::ledger::{GENESIS_HASH, LOCK_HEAD, LogReceipt, batch_nodes};
use super::reconciles::time_text;
use super::{Pool, failure_hint, on_pool};

/// The group commit of `pool` (named `database` in errors); its task starts with the first batch
/// on the runtime of that batch.
pub(super) fn group_commit(pool: Pool, database: String) -> GroupCommit {
    GroupCommit::new(
        database,
        Box::new(move |jobs| {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| "the message log writer needs a Tokio runtime".to_string())?;
            runtime.spawn(run(pool.clone(), jobs));
            Ok(())
        }),
    )
}

async fn run(pool: Pool, mut jobs: Jobs) {
    let mut heads = HeadCache::default();
    while let Some(first) = jobs.recv().await {
        let gathered = Gathered::from(first, &mut jobs);
        let written = if gathered.batch.is_empty() {
            Ok(Vec::new())
        } else {
            write(&pool, &mut heads, &gathered.batch)
                .await
                .map_err(|e| format!("{e}{}", failure_hint(&e)))
        };
        if let Some(done) = gathered.answer(written) {
            let _ = done.send(());
            return;
        }
    }
}

/// Writes `batch` in one transaction: in one statement on the cached heads (PostgreSQL), or
/// else, or if a head moved, under the lock of each node's head.
async fn write(
    pool: &Pool,
    cache: &mut HeadCache,
    batch: &Batch,
) -> Result<Vec<LogReceipt>, sqlx::Error> {
    let logged_at = time_text(&Utc::now());
    let nodes = batch_nodes(batch);
    if let (Pool::Postgres(pool), Some(from)) = (pool, cache.get(&nodes)) {
        let rows = ChainedBatch::new(batch, from, &logged_at);
        match write_if_heads_unmoved(pool, &rows).await {
            Ok(true) => {
                cache.set(&rows.heads);
                return Ok(rows.receipts());
            }
            // Another writer (a replica of the node) moved a head: lock and read them.
            Ok(false) => cache.forget(&nodes),
            Err(e) => {
                cache.forget(&nodes);
                return Err(e);
            }
        }
    }
    let locked = on_pool!(pool, pool => {
        async {
            let mut tx = pool.begin().await?;
            let mut from = BTreeMap::new();
            for node in &nodes {
                let row = sqlx::query(LOCK_HEAD)
                    .bind(*node)
                    .bind(GENESIS_HASH)
                    .fetch_one(&mut *tx)
                    .await?;
                from.insert(*node, (row.try_get(0)?, row.try_get(1)?));
            }
            let rows = ChainedBatch::new(batch, from, &logged_at);
            tx.write_rows(&rows).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(rows)
        }
        .await
    });
    match locked {
        Ok(rows) => {
            cache.set(&rows.heads);
            Ok(rows.receipts())
        }
        Err(e) => {
            cache.forget(&nodes);
            Err(e)
        }
    }
}
