//! The registries' messages on the wire (issue 16): each СЕВ ОВВ message a registry queued is
//! posted through the gateway to the addressee's exchange service, and each one this node's
//! exchange services received is handed, once, to the `Recipient` that handles it.

pub mod receive;
pub mod runner;

use std::future::Future;
use std::pin::Pin;

use super::sev::Envelope;
use crate::store::{ReceivedMessage, StoreError};

pub use receive::SevReceiver;
pub use runner::{Poster, exchange_service_of, hand_over, spawn};

/// A boxed future that may cross threads.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What this node's registries do with a message received from another participant's. Each
/// method handles the message in its own transaction, which must include
/// `Store::finish_received_message(tx, message.id)`: a message is handled once that commits,
/// and handed over again (after a crash, or an error) until it does. An error's text is logged,
/// so it must hold no personal data.
pub trait Recipient: Send + Sync {
    /// A document message addressed to one of this node's participants (receiving implements it).
    fn document<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// A notice about a document one of this node's participants sent (sending implements it).
    fn notice<'a>(
        &'a self,
        message: &'a ReceivedMessage,
        envelope: Envelope,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}
