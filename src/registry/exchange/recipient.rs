//! The registry's side of the exchange as `serve` hands it to the poster: documents other
//! participants send go to `receive`, notices about the documents this node's participants
//! sent go to `send`, each under the revision applied when it is handled.

use super::post::{BoxFuture, Recipient};
use super::receive::Receiver;
use super::send::notices::apply_notice;
use super::sev::Envelope;
use crate::store::{ReceivedMessage, StoreError};

/// Both sides of the exchange, for the poster.
pub struct Exchange {
    pub receiver: Receiver,
}

impl Recipient for Exchange {
    fn document<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.receiver.document(message, envelope))
    }

    fn notice<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let Some(compiled) = self.receiver.current.load_full() else {
                return Err(StoreError::new(format!(
                    "notice message {} waits: no revision of the spec is applied yet",
                    message.id
                )));
            };
            apply_notice(&self.receiver.store, &compiled, message, envelope).await
        })
    }
}
