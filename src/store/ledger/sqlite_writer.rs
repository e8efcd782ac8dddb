//! The message log writer of a SQLite file: one thread owning one connection (rusqlite) writes
//! the batches waiting for it in one transaction ([`GroupCommit`]) with cached prepared
//! statements: a batch costs one hand-over, its pages and a shared fsync.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use rusqlite::{
    Connection, OpenFlags, TransactionBehavior, named_params, params, params_from_iter,
};

use super::chain::{Chained, GENESIS_HASH, LogReceipt, batch_nodes, chain};
use super::group_commit::{Gathered, GroupCommit, Jobs};
use super::rows::{
    INSERT_LOG, INSERT_NOTICE, INSERT_OPERATIONAL, INSERT_SUBJECT_USE, LOCK_HEAD, LOG_COLUMN_COUNT,
    OPERATIONAL_COLUMN_COUNT, SET_HEAD, SUBJECT_USE_COLUMN_COUNT, insert_rows, log_row,
    operational_row, subject_row,
};
use super::{Exchange, SubjectUse};
use crate::store::time_text;

/// The group commit of the SQLite file at `path`; its thread starts with the first batch.
pub(in crate::store) fn group_commit(path: &Path, busy_timeout: Duration) -> GroupCommit {
    let file = path.to_path_buf();
    GroupCommit::new(
        format!("the SQLite database {}", path.display()),
        Box::new(move |jobs| {
            let connection = open(&file, busy_timeout)
                .map_err(|e| format!("it cannot be opened for writing ({e})"))?;
            std::thread::Builder::new()
                .name("hromada-ledger".into())
                .spawn(move || run(connection, jobs))
                .map(drop)
                .map_err(|e| format!("the message log writer cannot start ({e})"))
        }),
    )
}

fn open(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(busy_timeout)?;
    // As the store's own connections: nothing acknowledged is lost (WAL is the file's mode).
    connection.pragma_update(None, "synchronous", "FULL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    // As the pool: the store checkpoints in the background, never inside a batch's commit.
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
    connection.pragma_update(None, "journal_size_limit", crate::store::WAL_SIZE_LIMIT)?;
    Ok(connection)
}

fn run(mut connection: Connection, mut jobs: Jobs) {
    while let Some(first) = jobs.blocking_recv() {
        let gathered = Gathered::from(first, &mut jobs);
        let written = if gathered.batch.is_empty() {
            Ok(Vec::new())
        } else {
            write(&mut connection, &gathered.batch).map_err(|e| e.to_string())
        };
        if let Some(done) = gathered.answer(written) {
            drop(connection);
            let _ = done.send(());
            return;
        }
    }
}

fn write(
    connection: &mut Connection,
    batch: &[(Exchange, Option<SubjectUse>)],
) -> rusqlite::Result<Vec<LogReceipt>> {
    let logged_at = time_text(&Utc::now());
    let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut heads = BTreeMap::new();
    for node in batch_nodes(batch) {
        let head = tx
            .prepare_cached(LOCK_HEAD)?
            .query_row(params![node, GENESIS_HASH], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
        heads.insert(node, head);
    }
    let chained = chain(batch, &mut heads, &logged_at);
    {
        let mut log = tx.prepare_cached(&insert_rows(INSERT_LOG, LOG_COLUMN_COUNT, 1))?;
        let mut operational = tx.prepare_cached(&insert_rows(
            INSERT_OPERATIONAL,
            OPERATIONAL_COLUMN_COUNT,
            1,
        ))?;
        let mut subject = tx.prepare_cached(&insert_rows(
            INSERT_SUBJECT_USE,
            SUBJECT_USE_COLUMN_COUNT,
            1,
        ))?;
        for ((exchange, use_), row) in batch.iter().zip(&chained) {
            log.execute(params_from_iter(log_row(exchange, row, &logged_at)))?;
            operational.execute(params_from_iter(operational_row(exchange)))?;
            if let Some(use_) = use_ {
                subject.execute(params_from_iter(subject_row(use_)))?;
                if use_.notify {
                    let id = tx.last_insert_rowid();
                    tx.prepare_cached(INSERT_NOTICE)?.execute(params![
                        use_.subject,
                        logged_at,
                        id
                    ])?;
                }
            }
        }
        let mut set_head = tx.prepare_cached(SET_HEAD)?;
        for (node, (seq, hash)) in &heads {
            // By name: SQLite numbers `$n` parameters in order of appearance, not by `n`.
            set_head.execute(named_params! {"$1": node, "$2": seq, "$3": hash})?;
        }
    }
    tx.commit()?;
    Ok(chained.into_iter().map(Chained::receipt).collect())
}
