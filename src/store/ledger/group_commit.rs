//! Group commit of the message log, whatever writes it: callers hand their batches to one queue,
//! a single writer (a SQLite file's thread, or a task writing through the pool) commits the
//! batches waiting together in one transaction and answers each caller with its own receipts.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::{Exchange, LogReceipt, MAX_BATCH, SubjectUse};
use crate::store::StoreError;

pub(super) type Batch = Vec<(Exchange, Option<SubjectUse>)>;
type Reply = oneshot::Sender<Result<Vec<LogReceipt>, String>>;

pub(super) enum Job {
    Write(Batch, Reply),
    Stop(oneshot::Sender<()>),
}

/// A writer's end of the queue.
pub(super) type Jobs = mpsc::UnboundedReceiver<Job>;

/// Starts a writer on a queue: the first batch starts it, and so does the first batch after the
/// writer died.
type Start = Box<dyn Fn(Jobs) -> Result<(), String> + Send + Sync>;

/// The callers' end of one writer.
pub(in crate::store) struct GroupCommit {
    /// The database as errors name it, e.g. "the SQLite database data/hromada.db".
    database: String,
    start: Start,
    /// `None` before the first batch and after [`GroupCommit::stop`].
    jobs: Mutex<Option<mpsc::UnboundedSender<Job>>>,
    stopped: AtomicBool,
}

impl GroupCommit {
    pub(super) fn new(database: String, start: Start) -> GroupCommit {
        GroupCommit {
            database,
            start,
            jobs: Mutex::new(None),
            stopped: AtomicBool::new(false),
        }
    }

    /// Writes `batch` ([`crate::store::Store::record_exchanges`]); resolves once it is committed. An
    /// empty batch resolves once every batch handed over before it is committed. A batch holds
    /// at most [`MAX_BATCH`] exchanges, so that those committed together stay far below the
    /// databases' limits on bound values.
    pub async fn write(&self, batch: Batch) -> Result<Vec<LogReceipt>, StoreError> {
        let count = batch.len();
        if count > MAX_BATCH {
            return Err(StoreError::new(format!(
                "cannot write {count} message log records in one batch: a batch holds at most \
                 {MAX_BATCH}; nothing of it was written"
            )));
        }
        let failed = |why: String| {
            StoreError::new(format!(
                "cannot write {count} message log record(s) (none of them was written) to {}: \
                 {why}",
                self.database
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
        let (reply, written) = oneshot::channel();
        let mut job = Job::Write(batch, reply);
        // A writer that died (it panicked) is started again once, for this very batch.
        for attempt in 0..2 {
            let jobs = self.jobs().map_err(failed)?;
            match jobs.send(job) {
                Ok(()) => break,
                Err(mpsc::error::SendError(back)) => {
                    self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if self.stopped.load(Ordering::SeqCst) {
                        return Err(failed("the store is closed".into()));
                    }
                    if attempt == 1 {
                        return Err(failed("its writer stops as soon as it starts".into()));
                    }
                    job = back;
                }
            }
        }
        written
            .await
            .map_err(|_| failed("its writer has stopped".into()))?
            .map_err(failed)
    }

    /// The writer's queue, started if need be.
    fn jobs(&self) -> Result<mpsc::UnboundedSender<Job>, String> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = jobs.as_ref() {
            return Ok(sender.clone());
        }
        if self.stopped.load(Ordering::SeqCst) {
            return Err("the store is closed".into());
        }
        let (sender, queue) = mpsc::unbounded_channel();
        (self.start)(queue)?;
        *jobs = Some(sender.clone());
        Ok(sender)
    }

    /// Lets the batches already handed over finish, then stops the writer; later writes fail.
    pub async fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let sender = self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(sender) = sender {
            let (done, finished) = oneshot::channel();
            if sender.send(Job::Stop(done)).is_ok() {
                let _ = finished.await;
            }
        }
    }
}

/// What a writer took from its queue at once: the batches to commit together (up to
/// [`MAX_BATCH`] exchanges) as one, whom to answer, and a stop request if one came.
pub(super) struct Gathered {
    pub batch: Batch,
    replies: Vec<(Reply, usize)>,
    pub stop: Option<oneshot::Sender<()>>,
}

impl Gathered {
    /// `first` and whatever waits behind it in `jobs`.
    pub fn from(first: Job, jobs: &mut Jobs) -> Gathered {
        let mut gathered = Gathered {
            batch: Vec::new(),
            replies: Vec::new(),
            stop: None,
        };
        let mut next = Some(first);
        while let Some(job) = next.take() {
            match job {
                Job::Write(batch, reply) => {
                    gathered.replies.push((reply, batch.len()));
                    gathered.batch.extend(batch);
                }
                Job::Stop(done) => {
                    gathered.stop = Some(done);
                    break;
                }
            }
            if gathered.batch.len() < MAX_BATCH {
                next = jobs.try_recv().ok();
            }
        }
        gathered
    }

    /// Answers each caller with the receipts of its own batch, or all with the error.
    pub fn answer(self, written: Result<Vec<LogReceipt>, String>) -> Option<oneshot::Sender<()>> {
        match written {
            Ok(receipts) => {
                let mut receipts = receipts.into_iter();
                for (reply, size) in self.replies {
                    let _ = reply.send(Ok(receipts.by_ref().take(size).collect()));
                }
            }
            Err(why) => {
                for (reply, _) in self.replies {
                    let _ = reply.send(Err(why.clone()));
                }
            }
        }
        self.stop
    }
}
