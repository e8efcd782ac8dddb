//! The message log writer through the pool (PostgreSQL, in-memory SQLite): one task commits the
//! batches waiting for it together ([`GroupCommit`]). On PostgreSQL it keeps its connection and
//! the heads it last wrote, so that a commit is one round trip unless another writer moved a head.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;
use sqlx::{Acquire, Connection, Postgres, Row};

use super::batch_rows::{ChainedBatch, WriteRows, write_if_heads_unmoved};
use super::chain::{GENESIS_HASH, LogReceipt, batch_nodes};
use super::group_commit::{Batch, Gathered, GroupCommit, Jobs};
use super::head_cache::HeadCache;
use super::rows::LOCK_HEAD;
use crate::store::{Pool, failure_hint, time_text};

/// The group commit of `pool` (named `database` in errors); its task starts with the first batch
/// on the runtime of that batch.
pub(in crate::store) fn group_commit(pool: Pool, database: String) -> GroupCommit {
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
    let mut held = Held::default();
    while let Some(first) = jobs.recv().await {
        let gathered = Gathered::from(first, &mut jobs);
        let written = if gathered.batch.is_empty() {
            Ok(Vec::new())
        } else {
            let written = match &pool {
                Pool::Postgres(pool) => {
                    write_postgres(pool, &mut held, &mut heads, &gathered.batch).await
                }
                Pool::Sqlite(pool) => write_sqlite(pool, &gathered.batch).await,
            };
            written.map_err(|e| format!("{e}{}", failure_hint(&e)))
        };
        if let Some(done) = gathered.answer(written) {
            let _ = done.send(());
            return;
        }
    }
}

/// The writer's own PostgreSQL connection. The pool tests a connection with a round trip each
/// time it is taken and given back; the writer keeps one instead, tests it only after
/// [`IDLE_TEST`] without use, and replaces it once a write on it failed.
#[derive(Default)]
struct Held {
    connection: Option<PoolConnection<Postgres>>,
    used: Option<Instant>,
}

/// How long the writer's connection may stay unused before it is tested again.
const IDLE_TEST: Duration = Duration::from_secs(10);

impl Held {
    async fn connection(
        &mut self,
        pool: &PgPool,
    ) -> Result<&mut PoolConnection<Postgres>, sqlx::Error> {
        let idle = self.used.is_none_or(|used| used.elapsed() > IDLE_TEST);
        self.used = Some(Instant::now());
        if let Some(mut connection) = self.connection.take()
            && (!idle || connection.ping().await.is_ok())
        {
            return Ok(self.connection.insert(connection));
        }
        Ok(self.connection.insert(pool.acquire().await?))
    }
}

/// Chains `$batch` under the lock of each of its nodes' heads and writes it in the transaction
/// `$tx`, which it commits; evaluates to the written [`ChainedBatch`].
macro_rules! under_lock {
    ($tx:expr, $batch:expr, $nodes:expr, $logged_at:expr) => {{
        let mut tx = $tx;
        let mut from = BTreeMap::new();
        for node in $nodes {
            let row = sqlx::query(LOCK_HEAD)
                .bind(*node)
                .bind(GENESIS_HASH)
                .fetch_one(&mut *tx)
                .await?;
            from.insert(*node, (row.try_get(0)?, row.try_get(1)?));
        }
        let rows = ChainedBatch::new($batch, from, $logged_at);
        tx.write_rows(&rows).await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(rows)
    }};
}

/// Writes a batch of one node in one statement on its cached head, or, if the head is not
/// cached or has moved (another writer, e.g. a replica of the node), or the batch holds several
/// nodes, under the lock of each node's head.
async fn write_postgres(
    pool: &PgPool,
    held: &mut Held,
    cache: &mut HeadCache,
    batch: &Batch,
) -> Result<Vec<LogReceipt>, sqlx::Error> {
    let connection = held.connection(pool).await?;
    let logged_at = time_text(&Utc::now());
    let nodes = batch_nodes(batch);
    let written = async {
        // One node only: the statement's guard then either moves the one head and writes, or
        // does nothing; with several, it could move some heads and write no rows.
        if let (1, Some(from)) = (nodes.len(), cache.get(&nodes)) {
            let rows = ChainedBatch::new(batch, from, &logged_at);
            if write_if_heads_unmoved(connection, &rows).await? {
                return Ok(rows);
            }
        }
        under_lock!(connection.begin().await?, batch, &nodes, &logged_at)
    }
    .await;
    match written {
        Ok(rows) => {
            cache.set(&rows.heads);
            Ok(rows.receipts())
        }
        Err(e) => {
            cache.forget(&nodes);
            held.connection = None;
            Err(e)
        }
    }
}

/// Writes `batch` under the lock of each node's head (SQLite in memory: one writer anyway).
async fn write_sqlite(pool: &SqlitePool, batch: &Batch) -> Result<Vec<LogReceipt>, sqlx::Error> {
    let logged_at = time_text(&Utc::now());
    let nodes = batch_nodes(batch);
    let rows = under_lock!(pool.begin().await?, batch, &nodes, &logged_at)?;
    Ok(rows.receipts())
}
