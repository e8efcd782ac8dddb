//! П.24: a message with no delivery notice within 6 hours of its posting (of its sending while
//! it is not posted) counts as not received; the card says so and its sender and executor are
//! told. A runner over the stored messages, on the engine's clock, so it survives restarts.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::notices::{card_event, tell_sender};
use super::status::Words;
use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::store::{Store, StoreError, parse_time, time_text};
use crate::workflow::clock::SharedClock;

/// How long after posting a message counts as not received without a delivery notice.
pub fn not_received_after() -> Duration {
    Duration::hours(6)
}

/// How often the runner looks.
const EVERY: std::time::Duration = std::time::Duration::from_secs(5);
/// The most messages one look reads.
const BATCH: i64 = 500;

/// Marks each message of a participant this node's registry serves whose 6 hours ran by
/// `now`: the number marked.
pub async fn sweep(
    store: &Store,
    compiled: &Compiled,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut marked = 0;
    // A message is posted after it is sent, so none sent later can be due.
    let due_by = time_text(&(now - not_received_after()));
    for row in store.exchange_sent_awaiting(&due_by, BATCH).await? {
        let posted = store.exchange_message_posted(&row.msg_id).await?;
        let since = match posted {
            Some(posted) => posted,
            None => parse_time(&row.sent_at).ok_or_else(|| {
                StoreError::new(format!(
                    "message {} sent holds a malformed time `{}`; the row was changed outside \
                     hromada",
                    row.msg_id, row.sent_at
                ))
            })?,
        };
        let served_here = compiled
            .spec
            .registry_of(&row.participant)
            .is_some_and(|r| r.node == compiled.node);
        if !served_here || since + not_received_after() > now {
            continue;
        }
        let mut tx = store.begin().await?;
        let at = time_text(&now);
        if !store
            .mark_exchange_not_received(&mut tx, &row.msg_id, &at)
            .await?
        {
            continue;
        }
        let mut after = row.clone();
        after.status = "not-received".into();
        after.not_received_at = Some(at);
        card_event(
            store,
            &mut tx,
            &row.card_id,
            "timer",
            "exchange-not-received",
            json!({"addressee": row.addressee, "msg_id": row.msg_id}),
            now,
        )
        .await?;
        let card = store.card(&row.card_id).await?;
        let words = Words::of(compiled, card.as_ref(), &row);
        let message = format!(
            "Документ {} вважається не отриманим {}: сповіщення про доставку не надійшло \
             протягом 6 годин після надсилання (п.24). Перевірте адресу обміну або надішліть \
             документ іншим способом.",
            words.document, words.addressee
        );
        tell_sender(
            store,
            &mut tx,
            compiled,
            &after,
            card.as_ref(),
            &message,
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            "message {} of card {} to participant {} counts as not received: no delivery \
             notice within 6 hours",
            row.msg_id,
            row.card_id,
            row.addressee
        );
        marked += 1;
    }
    Ok(marked)
}

/// The runner: a sweep every few seconds on a node where a registry runs, until `stopped`.
pub fn spawn(
    current: Current,
    store: Store,
    clock: SharedClock,
    mut stopped: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut failing = false;
        while !*stopped.borrow() {
            let here = current.load_full().filter(|c| {
                c.spec
                    .system()
                    .is_some_and(|s| s.registry_on(&c.node).is_some())
            });
            if let Some(compiled) = here {
                match sweep(&store, &compiled, clock.now()).await {
                    Ok(_) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(
                            "messages without a delivery notice could not be checked: {e}; \
                             the next attempt is in {} seconds",
                            EVERY.as_secs()
                        );
                    }
                    Err(_) => {}
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stopped.changed() => {}
            }
        }
    })
}
