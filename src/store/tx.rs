//! One write transaction on whichever database the store has, for repositories whose changes
//! must commit together (a case's transition with its events, notices, mail, numbers and timers).
//! On SQLite it begins IMMEDIATE, so two writers queue on the lock instead of failing to upgrade,
//! and the process's writers take turns first, in order, rather than SQLite's busy sleeps.

use sqlx::{Postgres, Sqlite, Transaction};

use super::{Pool, Store, StoreError};

/// An open transaction; dropped without `commit`, it rolls back.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, WriteTurn),
    Postgres(Transaction<'static, Postgres>),
}

/// This process's turn to write a SQLite database, held until the transaction ends: waiting
/// writers are woken in order the moment it ends, where SQLite's busy handler would sleep
/// for growing intervals (up to 100 ms) and try again.
pub struct WriteTurn {
    _held: tokio::sync::OwnedMutexGuard<()>,
}

/// Runs `$body` with `$t` bound to the transaction's connection (`&mut *$t` is an executor):
/// the same SQL text serves both databases.
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite($t, _) => $body,
            $crate::store::Tx::Postgres($t) => $body,
        }
    };
}
pub(crate) use on_tx;

impl Store {
    /// Begins a write transaction.
    pub async fn begin(&self) -> Result<Tx, StoreError> {
        match &self.pool {
            Pool::Sqlite(pool) => {
                let turn = self.write_turn().await?;
                pool.begin_with("BEGIN IMMEDIATE")
                    .await
                    .map(|t| Tx::Sqlite(t, turn))
            }
            Pool::Postgres(pool) => pool.begin().await.map(Tx::Postgres),
        }
        .map_err(|e| self.failed("begin a transaction on", e))
    }

    /// This process's turn to write a SQLite database, for a single statement written outside
    /// a transaction that is frequent enough to meet others (nothing on PostgreSQL).
    pub(super) async fn write_turn_for_statement(&self) -> Result<Option<WriteTurn>, StoreError> {
        match self.pool {
            Pool::Sqlite(_) => self.write_turn().await.map(Some),
            Pool::Postgres(_) => Ok(None),
        }
    }

    async fn write_turn(&self) -> Result<WriteTurn, StoreError> {
        let held = tokio::time::timeout(
            super::SQLITE_BUSY_TIMEOUT,
            self.write_turns.clone().lock_owned(),
        )
        .await
        .map_err(|_| {
            StoreError::new(format!(
                "cannot write to the SQLite database {}: another write held it for more than {} \
                 s; try again, and if it keeps happening, look in the log for what is holding it",
                self.target,
                super::SQLITE_BUSY_TIMEOUT.as_secs()
            ))
        })?;
        Ok(WriteTurn { _held: held })
    }
}

impl Tx {
    /// Makes every change of the transaction durable at once.
    pub async fn commit(self) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
        .map_err(|e| StoreError::new(format!("cannot commit a transaction to the store: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_transaction_dropped_without_commit_leaves_nothing() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        let mut tx = store.begin().await.unwrap();
        on_tx!(&mut tx, t => sqlx::query("CREATE TABLE scratch (x INTEGER)").execute(&mut **t).await.map(drop))
            .unwrap();
        drop(tx);
        let mut tx = store.begin().await.unwrap();
        let found: Option<i64> = on_tx!(&mut tx, t => sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE name = 'scratch'").fetch_optional(&mut **t).await)
        .unwrap();
        assert_eq!(found, None);
        tx.commit().await.unwrap();
    }
}
