//! The poster: leases the queued messages of this node's registries and posts each through the
//! gateway in-process, as the sender's registry subsystem, to the addressee's exchange service,
//! retrying with backoff until the addressee's node stored it; and hands each received message
//! not yet handled to the `Recipient`, again after an error or a crash, until it is handled.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::super::sev::{self, Body};
use super::Recipient;
use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::gateway::in_process::{InProcess, OwnMessage};
use crate::spec::model::{ExchangeProtocol, Spec};
use crate::store::{LeasedMessage, PostOutcome, ReceivedMessage, Store};

/// How long a message is leased to one poster or handler.
const LEASE: Duration = Duration::minutes(5);
/// How many messages one round takes.
const BATCH: i64 = 16;
/// How often the queue is looked at.
const POLL: StdDuration = StdDuration::from_secs(1);
/// The first retry of a failed post or handling, doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::seconds(10);
const MAX_BACKOFF: Duration = Duration::hours(1);
/// The media type messages are posted with.
pub const CONTENT_TYPE: &str = "application/xml";

/// What the poster works with.
pub struct Poster {
    pub current: Current,
    pub store: Store,
    /// The gateway, for calls made as the registries' subsystems.
    pub gateway: Arc<InProcess>,
    /// This poster's name in leases (one per process).
    pub holder: String,
    /// What handles received messages; with none, they wait unhandled (and the log says so).
    pub recipient: Option<Arc<dyn Recipient>>,
}

/// Runs `poster` until `stopped` turns true (or its sender is gone).
pub fn spawn(poster: Poster, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut told_waiting = false;
        while !*stopped.borrow() {
            let mut full = false;
            if let Some(compiled) = poster.current.load_full()
                && registry_runs_here(&compiled)
            {
                full = poster.post_due(&compiled).await == BATCH;
                poster.count_waiting().await;
                match &poster.recipient {
                    Some(recipient) => {
                        let handled =
                            hand_over(&poster.store, &poster.holder, recipient.as_ref()).await;
                        full |= handled == BATCH as usize;
                    }
                    None if !told_waiting => told_waiting = poster.tell_waiting().await,
                    None => {}
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = poster.store.exchange_changed().notified() => {}
                changed = stopped.changed() => if changed.is_err() { return },
            }
        }
    })
}

fn registry_runs_here(compiled: &Compiled) -> bool {
    compiled
        .spec
        .system()
        .is_some_and(|s| s.registry_on(&compiled.node).is_some())
}

/// Hands each received message due to `recipient`, leased as `holder`; how many it handled.
/// A message whose handling failed is tried again later, with backoff.
pub async fn hand_over(store: &Store, holder: &str, recipient: &dyn Recipient) -> usize {
    let now = Utc::now();
    let leased = match store
        .lease_received_messages(holder, now, now + LEASE, BATCH)
        .await
    {
        Ok(leased) => leased,
        Err(e) => {
            tracing::warn!("the registry cannot look for received messages to handle: {e}");
            return 0;
        }
    };
    let mut handled = 0;
    for message in leased {
        match handle(store, recipient, &message).await {
            Ok(()) => handled += 1,
            Err(error) => handling_failed(store, holder, &message, &error).await,
        }
    }
    handled
}

async fn handle(
    store: &Store,
    recipient: &dyn Recipient,
    message: &ReceivedMessage,
) -> Result<(), String> {
    let envelope = sev::read(&message.xml).map_err(|e| {
        format!("the stored message no longer reads ({e}): its row was changed outside hromada")
    })?;
    let handled = match envelope.body {
        Body::Document(_) => recipient.document(message, envelope).await,
        Body::Acknowledgement(_) => recipient.notice(message, envelope).await,
    };
    handled.map_err(|e| e.to_string())?;
    let finished = store
        .received_message_handling(message.id)
        .await
        .map_err(|e| e.to_string())?
        .is_some_and(|h| h.finished_at.is_some());
    if finished {
        Ok(())
    } else {
        Err(
            "the recipient returned without marking the message handled in its \
             transaction (`finish_received_message`)"
                .into(),
        )
    }
}

async fn handling_failed(store: &Store, holder: &str, message: &ReceivedMessage, error: &str) {
    let attempts = store
        .received_message_handling(message.id)
        .await
        .ok()
        .flatten()
        .map_or(0, |h| h.attempts);
    let at = retry_at(Utc::now(), attempts);
    tracing::warn!(
        "cannot handle the exchange message {} from `{}` to `{}` (attempt {}): {error}; \
         trying again at {at}",
        message.msg_id,
        message.sender,
        message.participant,
        attempts + 1
    );
    if let Err(e) = store
        .retry_received_message(message.id, holder, at, error)
        .await
    {
        tracing::error!(
            "cannot record the failed handling of the exchange message {}: {e}; it is \
             handled again once its lease runs out",
            message.msg_id
        );
    }
}

/// When a message that failed `attempts` times before is tried again.
fn retry_at(now: DateTime<Utc>, attempts: i64) -> DateTime<Utc> {
    let doublings = u32::try_from(attempts.clamp(0, 16)).unwrap_or(16);
    let wait = FIRST_BACKOFF
        .checked_mul(1 << doublings)
        .unwrap_or(MAX_BACKOFF)
        .min(MAX_BACKOFF);
    now + wait
}

/// The exchange service of participant `to`, `participant/service`.
pub fn exchange_service_of(spec: &Spec, to: &str) -> Option<String> {
    let participant = spec.participant(to)?;
    participant
        .services
        .iter()
        .find(|s| s.exchange == Some(ExchangeProtocol::Sev))
        .map(|s| format!("{}/{}", participant.id, s.id))
}

impl Poster {
    /// Posts the messages due, one leased batch; how many it leased.
    async fn post_due(&self, compiled: &Compiled) -> i64 {
        let now = Utc::now();
        let leased = match self
            .store
            .lease_exchange_messages(&self.holder, now, now + LEASE, BATCH)
            .await
        {
            Ok(leased) => leased,
            Err(e) => {
                tracing::warn!("the registry cannot look for messages to post: {e}");
                return 0;
            }
        };
        let count = leased.len() as i64;
        for message in leased {
            let outcome = match self.post(compiled, &message).await {
                Ok(at) => {
                    tracing::info!(
                        "posted the exchange message {} from `{}` to `{}`",
                        message.message.msg_id,
                        message.message.from,
                        message.message.to
                    );
                    PostOutcome::Posted { at }
                }
                Err(error) => {
                    let at = retry_at(Utc::now(), message.attempts);
                    tracing::warn!(
                        "cannot post the exchange message {} from `{}` to `{}` (attempt {}): \
                         {error}; trying again at {at}",
                        message.message.msg_id,
                        message.message.from,
                        message.message.to,
                        message.attempts + 1
                    );
                    PostOutcome::Retry { at, error }
                }
            };
            match self
                .store
                .finish_exchange_post(message.id, &self.holder, &outcome)
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::warn!(
                    "the lease on the exchange message {} ran out before its post was recorded; \
                     another poster may post it again, which its addressee receives once",
                    message.message.msg_id
                ),
                Err(e) => tracing::error!(
                    "cannot record the post of the exchange message {}: {e}; it is posted \
                     again once its lease runs out, which its addressee receives once",
                    message.message.msg_id
                ),
            }
        }
        count
    }

    /// Posts one message; when the addressee's node stored it, or what went wrong.
    async fn post(
        &self,
        compiled: &Compiled,
        leased: &LeasedMessage,
    ) -> Result<DateTime<Utc>, String> {
        let m = &leased.message;
        let spec = &compiled.spec;
        let registry = spec
            .registry_of(&m.from)
            .ok_or_else(|| format!("no registry serves `{}` in the applied revision", m.from))?;
        if registry.node != compiled.node {
            return Err(format!(
                "the registry of `{}` runs on node `{}`, not on this node `{}`, where the \
                 message is queued",
                m.from, registry.node, compiled.node
            ));
        }
        let service = exchange_service_of(spec, &m.to).ok_or_else(|| {
            format!(
                "`{}` declares no exchange service (`service … exchange=\"sev\"`) to receive \
                 the registry's messages",
                m.to
            )
        })?;
        let answer = self
            .gateway
            .post_message(OwnMessage {
                consumer: &registry.subsystem,
                service: &service,
                issue: &m.msg_id,
                path: ExchangeProtocol::OPERATION.1,
                content_type: CONTENT_TYPE,
                body: &m.xml,
            })
            .await
            .map_err(|failure| failure.reason)?;
        let received = answer.get("msg_id").and_then(|v| v.as_str());
        if received != Some(m.msg_id.as_str()) {
            return Err(format!(
                "the exchange service {service} received it as message {}, not as {}: the \
                 queued msg_id must be the envelope's",
                received.unwrap_or("(none)"),
                m.msg_id
            ));
        }
        Ok(answer
            .get("received_at")
            .and_then(|v| v.as_str())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map_or_else(Utc::now, |t| t.with_timezone(&Utc)))
    }

    /// Sets the gauges of what waits: messages to post, and received ones to handle.
    async fn count_waiting(&self) {
        if let Ok(unposted) = self.store.unposted_exchange_messages().await {
            metrics::gauge!("hromada_registry_exchange_unposted").set(unposted as f64);
        }
        if let Ok(unhandled) = self.store.unfinished_received_messages().await {
            metrics::gauge!("hromada_registry_exchange_unhandled").set(unhandled as f64);
        }
    }

    /// Says once that received messages wait with no recipient to handle them; whether it did.
    async fn tell_waiting(&self) -> bool {
        match self.store.unfinished_received_messages().await {
            Ok(0) | Err(_) => false,
            Ok(waiting) => {
                tracing::warn!(
                    "{waiting} received exchange message(s) wait unhandled: this node's \
                     registry has no recipient for them yet; they are kept and handled once it has"
                );
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_doubling_up_to_an_hour() {
        let now = Utc::now();
        assert_eq!(retry_at(now, 0) - now, Duration::seconds(10));
        assert_eq!(retry_at(now, 3) - now, Duration::seconds(80));
        assert_eq!(retry_at(now, 12) - now, Duration::hours(1));
        assert_eq!(retry_at(now, i64::MAX) - now, Duration::hours(1));
    }
}
