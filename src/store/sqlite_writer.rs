//! The message log writer of a SQLite file: one thread owning one connection (rusqlite) writes
//! the batches waiting for it in one transaction (group commit) with cached prepared statements,
//! and answers each caller directly: a batch costs one hand-over, its pages and a shared fsync.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use chrono::Utc;
use rusqlite::{
    Connection, OpenFlags, TransactionBehavior, named_params, params, params_from_iter,
};
use tokio::sync::oneshot;

use super::StoreError;
use super::ledger::{
    Chained, GENESIS_HASH, INSERT_LOG, INSERT_NOTICE, INSERT_OPERATIONAL, INSERT_SUBJECT_USE,
    LOCK_HEAD, LOG_COLUMN_COUNT, LogReceipt, MAX_BATCH, OPERATIONAL_COLUMN_COUNT, SET_HEAD,
    SUBJECT_USE_COLUMN_COUNT, batch_nodes, chain, insert_rows, log_row, operational_row,
    subject_row,
};
use super::reconciles::time_text;
use crate::gateway::record::{Exchange, SubjectUse};

type Batch = Vec<(Exchange, Option<SubjectUse>)>;
type Reply = oneshot::Sender<Result<Vec<LogReceipt>, String>>;

enum Job {
    Write(Batch, Reply),
    Stop(oneshot::Sender<()>),
}

/// The writer of one SQLite file; its thread starts with the first batch.
pub(super) struct SqliteWriter {
    path: PathBuf,
    busy_timeout: Duration,
    /// `None` before the first batch and after [`SqliteWriter::stop`].
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    stopped: std::sync::atomic::AtomicBool,
}

impl SqliteWriter {
    pub fn new(path: &Path, busy_timeout: Duration) -> SqliteWriter {
        SqliteWriter {
            path: path.to_path_buf(),
            busy_timeout,
            jobs: Mutex::new(None),
            stopped: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Writes `batch` ([`super::Store::record_exchanges`]); resolves once it is committed. Batches
    /// that wait for the thread together are committed together. An empty batch resolves once
    /// every batch handed over before it is committed.
    pub async fn write(&self, batch: Batch) -> Result<Vec<LogReceipt>, StoreError> {
        let count = batch.len();
        let failed = |why: String| {
            StoreError::new(format!(
                "cannot write {count} message log record(s) (none of them was written) to the \
                 SQLite database {}: {why}",
                self.path.display()
            ))
        };
        let running = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some();
        if batch.is_empty() && !running {
            // Nothing was handed over that an empty batch would have to wait for.
            return Ok(Vec::new());
        }
        let jobs = self.jobs().map_err(failed)?;
        let (reply, written) = oneshot::channel();
        if jobs.send(Job::Write(batch, reply)).is_err() {
            // The thread is gone: the store was closed meanwhile, or the thread panicked and
            // the next batch starts a new one.
            self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
            let why = if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                "the store is closed"
            } else {
                "its writer has stopped; the next batch restarts it"
            };
            return Err(failed(why.into()));
        }
        written
            .await
            .map_err(|_| failed("its writer has stopped".into()))?
            .map_err(failed)
    }

    /// The writer thread's queue, started if need be.
    fn jobs(&self) -> Result<mpsc::Sender<Job>, String> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = jobs.as_ref() {
            return Ok(sender.clone());
        }
        if self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            return Err("the store is closed".into());
        }
        let connection = open(&self.path, self.busy_timeout)
            .map_err(|e| format!("it cannot be opened for writing ({e})"))?;
        let (sender, queue) = mpsc::channel();
        std::thread::Builder::new()
            .name("hromada-ledger".into())
            .spawn(move || run(connection, queue))
            .map_err(|e| format!("the message log writer cannot start ({e})"))?;
        *jobs = Some(sender.clone());
        Ok(sender)
    }

    /// Lets the batches already handed over finish, then closes the connection; later writes
    /// fail.
    pub async fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let sender = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sender) = sender {
            let (done, finished) = oneshot::channel();
            if sender.send(Job::Stop(done)).is_ok() {
                let _ = finished.await;
            }
        }
    }
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
    Ok(connection)
}

fn run(mut connection: Connection, queue: mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut writes = Vec::new();
        let mut exchanges = 0;
        let mut stop = None;
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(batch, reply) => {
                    exchanges += batch.len();
                    writes.push((batch, reply));
                }
                Job::Stop(done) => {
                    stop = Some(done);
                    break;
                }
            }
            if exchanges < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        write_together(&mut connection, writes);
        if let Some(done) = stop {
            drop(connection);
            let _ = done.send(());
            return;
        }
    }
}

/// Group commit: the batches waiting together are written in one transaction, and each is
/// answered with its own receipts (or the transaction's error).
fn write_together(connection: &mut Connection, writes: Vec<(Batch, Reply)>) {
    let mut sizes = Vec::with_capacity(writes.len());
    let mut replies = Vec::with_capacity(writes.len());
    let mut all = Vec::new();
    for (batch, reply) in writes {
        sizes.push(batch.len());
        replies.push(reply);
        all.extend(batch);
    }
    if all.is_empty() {
        for reply in replies {
            let _ = reply.send(Ok(Vec::new()));
        }
        return;
    }
    match write(connection, &all) {
        Ok(receipts) => {
            let mut receipts = receipts.into_iter();
            for (reply, size) in replies.into_iter().zip(sizes) {
                let _ = reply.send(Ok(receipts.by_ref().take(size).collect()));
            }
        }
        Err(e) => {
            let why = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(why.clone()));
            }
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
    let chained = chain(batch, &mut heads);
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
