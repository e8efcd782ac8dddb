//! The ledger writer: a cloneable handle that writes exchanges to the store in batches (group
//! commit), through a task of its own unless the store gathers batches itself. `record` resolves
//! only once the batch holding its exchange is committed, so a response is acknowledged only
//! after it is in the message log.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, oneshot};

use super::record::{Exchange, SubjectUse};
use crate::store::{LogReceipt, MAX_BATCH, Store};

/// Exchanges that may wait for the writer before `record` itself waits (back-pressure).
const QUEUE: usize = 4 * MAX_BATCH;

/// Why an exchange was not written to the message log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerError {
    message: String,
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LedgerError {}

/// A batch's outcome for one exchange: where it landed, or why the batch was not written.
type Reply = oneshot::Sender<Result<LogReceipt, String>>;

enum Command {
    Record(Box<(Exchange, Option<SubjectUse>)>, Reply),
    Close(oneshot::Sender<()>),
}

/// A handle on the ledger's writer; clones share the writer.
#[derive(Clone)]
pub struct Ledger {
    writer: Writer,
}

#[derive(Clone)]
enum Writer {
    /// The store gathers concurrent records into one transaction itself (a SQLite file): each
    /// record goes straight to it, with no hand-over through a task of the ledger's.
    Store {
        store: Store,
        closed: Arc<AtomicBool>,
    },
    /// The ledger's own task gathers them (PostgreSQL, in-memory SQLite).
    Task(mpsc::Sender<Command>),
}

impl fmt::Debug for Ledger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let closed = match &self.writer {
            Writer::Store { closed, .. } => closed.load(Ordering::SeqCst),
            Writer::Task(commands) => commands.is_closed(),
        };
        f.debug_struct("Ledger").field("closed", &closed).finish()
    }
}

impl Ledger {
    /// Starts the writer (a task on the current Tokio runtime where the store needs one).
    pub fn start(store: Store) -> Ledger {
        if store.gathers_commits() {
            let closed = Arc::new(AtomicBool::new(false));
            return Ledger {
                writer: Writer::Store { store, closed },
            };
        }
        let (commands, queue) = mpsc::channel(QUEUE);
        tokio::spawn(write(store, queue));
        Ledger {
            writer: Writer::Task(commands),
        }
    }

    /// Writes one exchange (and its data subject's record) to the ledger; resolves once the
    /// transaction holding it is committed, with where it landed in its node's chain.
    pub async fn record(
        &self,
        exchange: Exchange,
        subject: Option<SubjectUse>,
    ) -> Result<LogReceipt, LedgerError> {
        let message_id = exchange.message_id.clone();
        let closed = || LedgerError {
            message: format!(
                "message {message_id} was not written to the message log: the ledger is closed \
                 (the appliance is shutting down)"
            ),
        };
        let written = match &self.writer {
            Writer::Store {
                store,
                closed: shut,
            } => {
                if shut.load(Ordering::SeqCst) {
                    return Err(closed());
                }
                match store.record_exchanges(vec![(exchange, subject)]).await {
                    Ok(mut receipts) => receipts
                        .pop()
                        .ok_or_else(|| "the store answered without a receipt".to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Writer::Task(commands) => {
                let (reply, receipt) = oneshot::channel();
                commands
                    .send(Command::Record(Box::new((exchange, subject)), reply))
                    .await
                    .map_err(|_| closed())?;
                receipt.await.map_err(|_| closed())?
            }
        };
        written.map_err(|e| LedgerError {
            message: format!("message {message_id} was not written to the message log: {e}"),
        })
    }

    /// Writes everything already handed over, then stops taking records; later `record` calls
    /// fail. Returns once what was handed over is written.
    pub async fn close(&self) {
        match &self.writer {
            Writer::Store { store, closed } => {
                closed.store(true, Ordering::SeqCst);
                // An empty batch resolves after every batch handed over before it.
                let _ = store.record_exchanges(Vec::new()).await;
            }
            Writer::Task(commands) => {
                let (done, stopped) = oneshot::channel();
                if commands.send(Command::Close(done)).await.is_ok() {
                    let _ = stopped.await;
                }
            }
        }
    }
}

/// The writer: takes whatever is queued (up to [`MAX_BATCH`]), writes it in one transaction and
/// answers every waiting `record`.
async fn write(store: Store, mut queue: mpsc::Receiver<Command>) {
    let mut closing: Vec<oneshot::Sender<()>> = Vec::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut replies: Vec<Reply> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        while let Some(command) = next.take() {
            match command {
                Command::Record(exchange, reply) => {
                    batch.push(*exchange);
                    replies.push(reply);
                }
                Command::Close(done) => {
                    // No new commands; the ones already queued are still received and written.
                    queue.close();
                    closing.push(done);
                }
            }
            if batch.len() < MAX_BATCH {
                next = queue.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            commit(&store, &mut batch, &mut replies).await;
        }
    }
    for done in closing {
        let _ = done.send(());
    }
}

async fn commit(
    store: &Store,
    batch: &mut Vec<(Exchange, Option<SubjectUse>)>,
    replies: &mut Vec<Reply>,
) {
    let count = batch.len();
    match store.record_exchanges(std::mem::take(batch)).await {
        Ok(receipts) => {
            for (reply, receipt) in replies.drain(..).zip(receipts) {
                let _ = reply.send(Ok(receipt));
            }
        }
        Err(e) => {
            tracing::error!("the message log could not write a batch of {count} exchange(s): {e}");
            for reply in replies.drain(..) {
                let _ = reply.send(Err(e.to_string()));
            }
        }
    }
}
