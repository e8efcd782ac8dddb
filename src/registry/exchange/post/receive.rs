//! The receiving end of an exchange service: a posted СЕВ ОВВ message is read (refused with
//! where and what is wrong when it does not read) and stored durably, once per sender and
//! `msg_id`, before the gateway answers the sender with its receipt.

use super::super::sev;
use crate::gateway::exchange_service::{BoxFuture, ExchangeReceiver, NotReceived, Receipt};
use crate::store::Store;

/// Stores the messages of this node's exchange services in the registry's store.
pub struct SevReceiver {
    store: Store,
}

impl SevReceiver {
    pub fn new(store: Store) -> SevReceiver {
        SevReceiver { store }
    }

    async fn store(
        &self,
        provider: &str,
        sender: &str,
        body: &[u8],
    ) -> Result<Receipt, NotReceived> {
        if body.len() > sev::MAX_MESSAGE {
            return Err(NotReceived::Unreadable(format!(
                "message: {} bytes, more than the {} a message may have",
                body.len(),
                sev::MAX_MESSAGE
            )));
        }
        let envelope = sev::read(body).map_err(|e| NotReceived::Unreadable(e.to_string()))?;
        if envelope.msg_id.is_nil() {
            return Err(NotReceived::Unreadable(
                "Header/@msg_id: the nil GUID names no message; give each message a GUID of its own"
                    .into(),
            ));
        }
        let msg_id = envelope.msg_id.to_string();
        let failed = |e: crate::store::StoreError| NotReceived::Failed(e.to_string());
        let (id, fresh) = self
            .store
            .receive_exchange_message(provider, sender, &msg_id, body)
            .await
            .map_err(failed)?;
        let stored = self
            .store
            .received_exchange_message(id)
            .await
            .map_err(failed)?
            .ok_or_else(|| {
                NotReceived::Failed(format!("the received message {id} is gone from the store"))
            })?;
        if fresh {
            tracing::info!(
                "the registry of `{provider}` received the message {msg_id} from `{sender}`"
            );
        } else {
            tracing::info!(
                "the registry of `{provider}` received the message {msg_id} from `{sender}` \
                 again; it was stored the first time and is answered with that receipt"
            );
        }
        Ok(Receipt {
            msg_id,
            received_at: stored.received_at,
        })
    }
}

impl ExchangeReceiver for SevReceiver {
    fn receive<'a>(
        &'a self,
        provider: &'a str,
        sender: &'a str,
        body: &'a [u8],
    ) -> BoxFuture<'a, Result<Receipt, NotReceived>> {
        Box::pin(self.store(provider, sender, body))
    }
}
