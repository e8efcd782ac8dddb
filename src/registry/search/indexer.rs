//! The search indexer: drains `card_index_queue` in leased batches (so that two replicas on one
//! PostgreSQL never index a card at once), reads the text of files not read yet and writes each
//! card's stems for the version queued; woken when this node writes a card, polling for others'.

use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::text::{self, Format};
use super::words;
use crate::store::{CardFileRow, CardRow, CardWords, Store, StoreError};

/// How often the indexer looks for cards other replicas queued.
const POLL: Duration = Duration::from_secs(2);
/// How many queued cards one lease takes.
const BATCH: i64 = 50;
/// How long a lease holds: a replica that stops mid-batch leaves its cards to others after it.
const LEASE: Duration = Duration::from_secs(120);

/// Runs until `stopped` turns true.
pub fn spawn(store: Store, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    let holder = uuid::Uuid::now_v7().to_string();
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            match pass(&store, &holder).await {
                Ok(full) => {
                    if failing {
                        tracing::info!("the registry's search index is kept up to date again");
                    }
                    failing = false;
                    if full && !*stopped.borrow() {
                        continue;
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(
                            "cannot bring the registry's search index up to date: {e}; trying \
                             again, the cards stay queued meanwhile"
                        );
                    }
                    failing = true;
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = store.cards_changed().notified() => {}
                changed = stopped.changed() => {
                    if changed.is_err() || *stopped.borrow() {
                        return;
                    }
                }
            }
        }
    })
}

/// Indexes one leased batch; whether it was full (more may wait).
pub async fn pass(store: &Store, holder: &str) -> Result<bool, StoreError> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
    let leased = store.lease_index_queue(holder, now, until, BATCH).await?;
    for (card_id, queued) in &leased {
        index_card(store, holder, card_id, *queued).await?;
    }
    metrics::gauge!("hromada_registry_index_queue").set(store.index_queue_length().await? as f64);
    Ok(leased.len() as i64 == BATCH)
}

/// Reads the text of `card_id`'s files not read yet and writes its index row.
async fn index_card(
    store: &Store,
    holder: &str,
    card_id: &str,
    queued: i64,
) -> Result<(), StoreError> {
    let Some(card) = store.card(card_id).await? else {
        return Ok(());
    };
    let mut files = store.card_files(card_id).await?;
    for file in files
        .iter_mut()
        .filter(|f| f.text.is_none() && f.destroyed_at.is_none())
    {
        let text = read_text(store, file).await?;
        store.set_card_file_text(card_id, file.n, &text).await?;
        file.text = Some(text);
    }
    store
        .write_card_words(&card_words(&card, &files), queued, holder, Utc::now())
        .await
}

/// The text of `file`, or nothing (a format search does not read, or a file it cannot read:
/// logged by card and file number, never its content).
async fn read_text(store: &Store, file: &CardFileRow) -> Result<String, StoreError> {
    let Some(format) = Format::of(&file.media_type, &file.file_name) else {
        return Ok(String::new());
    };
    let Some(content) = store.blob(&file.sha256).await? else {
        tracing::warn!(
            "file {} of card {} has no content in the store; it is not found by its words",
            file.n,
            file.card_id
        );
        return Ok(String::new());
    };
    let read = tokio::task::spawn_blocking(move || text::extract(format, &content))
        .await
        .unwrap_or_else(|_| Err("its reader stopped".to_string()));
    Ok(read.unwrap_or_else(|why| {
        tracing::warn!(
            "cannot read the text of file {} of card {}: {why}; the card is found by its \
             requisites and other files, not by this file's words",
            file.n,
            file.card_id
        );
        String::new()
    }))
}

/// The stems a card is found by: its requisites, its files' names and text.
pub fn card_words(card: &CardRow, files: &[CardFileRow]) -> CardWords {
    let mut text = String::new();
    for part in [
        Some(card.kind.as_str()),
        card.reg_number.as_deref(),
        Some(card.summary.as_str()),
        card.correspondent.as_deref(),
        card.correspondent_number.as_deref(),
        card.signer.as_deref(),
        card.case_code.as_deref(),
        card.execution_mark.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        text.push_str(part);
        text.push('\n');
    }
    for json in [&card.addressees, &card.extra] {
        if let Ok(value) = serde_json::from_str::<Value>(json) {
            strings_of(&value, &mut text);
        }
    }
    for file in files.iter().filter(|f| f.destroyed_at.is_none()) {
        text.push_str(&file.file_name);
        text.push('\n');
        text.push_str(file.text.as_deref().unwrap_or(""));
        text.push('\n');
    }
    CardWords {
        card_id: card.id.clone(),
        version: card.version,
        order: crate::store::search_order(card),
        words: words::index_text(&text),
        correspondent: words::index_text(card.correspondent.as_deref().unwrap_or("")),
        signer: words::index_text(card.signer.as_deref().unwrap_or("")),
    }
}

/// Every string in `value`, a line each.
fn strings_of(value: &Value, text: &mut String) {
    match value {
        Value::String(s) => {
            text.push_str(s);
            text.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|v| strings_of(v, text)),
        Value::Object(fields) => fields.values().for_each(|v| strings_of(v, text)),
        _ => {}
    }
}
