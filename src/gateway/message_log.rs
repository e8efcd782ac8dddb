//! The gateway's handle on the store's message log: `record` resolves only once the
//! transaction holding its exchange is committed (the store commits concurrent records together),
//! so a response is acknowledged only after it is in the message log.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::checkpoints::Tally;
use crate::store::{Exchange, LogReceipt, Store, SubjectUse};

/// Why an exchange was not written to the message log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageLogError {
    message: String,
}

impl fmt::Display for MessageLogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MessageLogError {}

/// A handle on the message log; clones share it, and closing one closes them all.
#[derive(Clone)]
pub struct MessageLog {
    store: Store,
    closed: Arc<AtomicBool>,
    /// Counts the records written, for the checkpoints taken every N of them.
    tally: Option<Arc<Tally>>,
}

impl fmt::Debug for MessageLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageLog")
            .field("closed", &self.closed.load(Ordering::SeqCst))
            .finish()
    }
}

impl MessageLog {
    /// The store the message log is written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A handle on the message log of `store`.
    pub fn new(store: Store) -> MessageLog {
        MessageLog {
            store,
            closed: Arc::new(AtomicBool::new(false)),
            tally: None,
        }
    }

    /// This handle, counting the records it writes in `tally`.
    pub fn counting(self, tally: Arc<Tally>) -> MessageLog {
        MessageLog {
            tally: Some(tally),
            ..self
        }
    }

    /// Writes one exchange (and its data subject's record) to the ledger; resolves once the
    /// transaction holding it is committed, with where it landed in its node's chain.
    pub async fn record(
        &self,
        exchange: Exchange,
        subject: Option<SubjectUse>,
    ) -> Result<LogReceipt, MessageLogError> {
        let message_id = exchange.message_id.clone();
        let not_written = |why: String| MessageLogError {
            message: format!("message {message_id} was not written to the message log: {why}"),
        };
        if self.closed.load(Ordering::SeqCst) {
            return Err(not_written(
                "the ledger is closed (the appliance is shutting down)".into(),
            ));
        }
        let mut receipts = self
            .store
            .record_exchanges(vec![(exchange, subject)])
            .await
            .map_err(|e| not_written(e.to_string()))?;
        let receipt = receipts
            .pop()
            .ok_or_else(|| not_written("the store answered without a receipt".into()))?;
        if let Some(tally) = &self.tally {
            tally.add();
        }
        Ok(receipt)
    }

    /// Stops taking records (`record` calls that start later fail) and returns once every record
    /// handed over to the store before is written.
    pub async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // An empty batch resolves after every batch handed over before it.
        let _ = self.store.record_exchanges(Vec::new()).await;
    }
}
