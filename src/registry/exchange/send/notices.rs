//! The addressee's notices applied to the sender's statuses (КМУ №55 п.28): delivered (date
//! and time), registered (the receiver's number and date), refused (date, time, ground, the
//! registrar's name and phone), each in one transaction with the received message finished.
//!
//! A refusal names its registrar in the notice's `AckResult` texts, one line each:
//! `Реєстратор: <name>` and `Телефон: <phone>`; every other line is the ground.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::status::{self, Words};
use crate::compile::Compiled;
use crate::registry::cards::editable;
use crate::registry::exchange::sev::{AckType, Acknowledgement, Envelope};
use crate::registry::resolutions::notices::{Recipient, tell};
use crate::store::{
    CardChange, CardRow, ReceivedMessage, SentRow, Store, StoreError, TakenNotice, Tx, time_text,
};

/// The line of a refusal's results that names its registrar.
pub const REGISTRAR_LINE: &str = "Реєстратор:";
/// The line of a refusal's results that gives the registrar's phone.
pub const PHONE_LINE: &str = "Телефон:";

/// Applies notice `envelope` (received as `message`) to the message it names, and finishes
/// `message`, in one transaction. A notice about no message this participant sent to its
/// sender is recorded as ignored; a notice taken before changes nothing.
pub async fn apply_notice(
    store: &Store,
    compiled: &Compiled,
    message: &ReceivedMessage,
    envelope: Envelope,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let taken_at = time_text(&message.received_at);
    let Some(ack) = envelope.body.acknowledgement() else {
        tracing::warn!(
            "received message {} from participant {} to {} is a document, not a notice; \
             recorded as ignored",
            message.id,
            message.sender,
            message.participant
        );
        store
            .take_exchange_notice(
                &mut tx,
                &TakenNotice {
                    participant: &message.participant,
                    sender: &message.sender,
                    notice_msg_id: &message.msg_id,
                    about_msg_id: "",
                    ack_type: 0,
                    ignored: Some("not a notice"),
                    taken_at: &taken_at,
                },
            )
            .await?;
        store.finish_received_message(&mut tx, message.id).await?;
        return tx.commit().await;
    };
    let about = ack.msg_id.to_string();
    let sent = store
        .exchange_sent_in(&mut tx, &message.participant, &message.sender, &about)
        .await?;
    let ignored = match (&sent, ack.ack_type) {
        (None, _) => Some("no message of this participant to the notice's sender has its msg_id"),
        (Some(_), AckType::Registered) if ack.reg_number.is_none() => {
            Some("a registration notice without the receiver's RegNumber")
        }
        _ => None,
    };
    let fresh = store
        .take_exchange_notice(
            &mut tx,
            &TakenNotice {
                participant: &message.participant,
                sender: &message.sender,
                notice_msg_id: &message.msg_id,
                about_msg_id: &about,
                ack_type: i64::from(ack.ack_type.code()),
                ignored,
                taken_at: &taken_at,
            },
        )
        .await?;
    if let Some(why) = ignored.filter(|_| fresh) {
        tracing::info!(
            "notice {} (ack_type {}) from participant {} about message {about} ignored: {why}",
            message.msg_id,
            ack.ack_type.code(),
            message.sender
        );
    }
    if let (Some(before), true, None) = (sent, fresh, ignored) {
        let at = envelope
            .time
            .instant()
            .map_or(message.received_at, |t| t.with_timezone(&Utc));
        let after = applied(&before, ack, at);
        if after != before {
            store.update_exchange_sent(&mut tx, &after).await?;
            record(store, &mut tx, compiled, &before, &after, message).await?;
        }
    }
    store.finish_received_message(&mut tx, message.id).await?;
    tx.commit().await
}

/// `row` with what `ack`, made at `at`, says of it; what a notice set before is kept.
pub fn applied(row: &SentRow, ack: &Acknowledgement, at: DateTime<Utc>) -> SentRow {
    let mut after = row.clone();
    let at = time_text(&at);
    match ack.ack_type {
        AckType::Delivered => {
            after.delivered_at.get_or_insert(at);
        }
        AckType::Registered => {
            if let (None, Some(number)) = (&after.registered_number, &ack.reg_number) {
                after.registered_number = Some(number.number.clone());
                after.registered_date = Some(number.date.format("%Y-%m-%d").to_string());
                after.registered_at = Some(at);
            }
        }
        AckType::Refused => {
            if after.refused_at.is_none() {
                let (ground, by, phone) = refusal(ack);
                after.refused_at = Some(at);
                after.refused_ground = Some(ground);
                after.refused_by = by;
                after.refused_phone = phone;
            }
        }
        AckType::Accepted | AckType::Closed => {}
    }
    after.status = status::of(&after).into();
    after
}

/// A refusal's ground, registrar and phone, from its results' texts.
fn refusal(ack: &Acknowledgement) -> (String, Option<String>, Option<String>) {
    let (mut ground, mut by, mut phone) = (Vec::new(), None, None);
    for line in ack.results.iter().flat_map(|r| r.errortext.lines()) {
        let line = line.trim();
        if let Some(name) = line.strip_prefix(REGISTRAR_LINE) {
            by = Some(name.trim().to_string()).filter(|n| !n.is_empty());
        } else if let Some(number) = line.strip_prefix(PHONE_LINE) {
            phone = Some(number.trim().to_string()).filter(|n| !n.is_empty());
        } else if !line.is_empty() {
            ground.push(line);
        }
    }
    let ground = if ground.is_empty() {
        "підставу не зазначено".to_string()
    } else {
        ground.join("\n")
    };
    (ground, by, phone)
}

/// The card's event for a status a notice changed, and, on a refusal, the sender told.
async fn record(
    store: &Store,
    tx: &mut Tx,
    compiled: &Compiled,
    before: &SentRow,
    after: &SentRow,
    message: &ReceivedMessage,
) -> Result<(), StoreError> {
    let kind = match (before.status.as_str(), after.status.as_str()) {
        (b, a) if b == a => return Ok(()),
        (_, "delivered") => "exchange-delivered",
        (_, "registered") => "exchange-registered",
        (_, "refused") => "exchange-refused",
        _ => return Ok(()),
    };
    let at = message.received_at;
    let actor = format!("exchange:{}", message.sender);
    card_event(
        store,
        tx,
        &after.card_id,
        &actor,
        kind,
        json!({"addressee": after.addressee, "msg_id": after.msg_id, "status": after.status,
               "registered_number": after.registered_number,
               "registered_date": after.registered_date,
               "refused_ground": after.refused_ground}),
        at,
    )
    .await?;
    if after.status == "refused" {
        let card = store.card(&after.card_id).await?;
        let words = Words::of(compiled, card.as_ref(), after);
        let message = format!(
            "{} відхилив документ {}: {}",
            words.addressee,
            words.document,
            after.refused_ground.as_deref().unwrap_or_default()
        );
        tell_sender(store, tx, compiled, after, card.as_ref(), &message, at).await?;
    }
    Ok(())
}

/// Writes an event of `kind` on card `card_id` (no field changed) in `tx`, unless the card
/// is in the archive (its status there stays the row's alone).
pub async fn card_event(
    store: &Store,
    tx: &mut Tx,
    card_id: &str,
    actor: &str,
    kind: &str,
    note: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let Some(current) = store.card_in(tx, card_id).await? else {
        return Ok(());
    };
    if editable(&current).is_err() {
        return Ok(());
    }
    let after = CardRow {
        version: current.version + 1,
        updated_at: time_text(&at),
        ..current.clone()
    };
    let written = store
        .write_card(
            tx,
            &CardChange {
                before: Some(&current),
                after: &after,
                actor,
                on_behalf: None,
                kind,
                note,
                at,
            },
        )
        .await?;
    if written {
        Ok(())
    } else {
        Err(StoreError::new(format!(
            "card {card_id} changed while its exchange status was recorded; the notice is \
             applied again on the next attempt"
        )))
    }
}

/// Tells the official who sent `row` and the card's executor `message`, in their cabinet and
/// by mail, once per message and status.
pub async fn tell_sender(
    store: &Store,
    tx: &mut Tx,
    compiled: &Compiled,
    row: &SentRow,
    card: Option<&CardRow>,
    message: &str,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut officials: Vec<&str> = Vec::new();
    if let Some(id) = row.sent_by.strip_prefix("official:") {
        officials.push(id);
    }
    if let Some(executor) = card.and_then(|c| c.executor.as_deref()) {
        officials.push(executor);
    }
    officials.sort();
    officials.dedup();
    let to: Vec<Recipient> = officials
        .iter()
        .map(|official| Recipient {
            official,
            case_id: &row.card_id,
        })
        .collect();
    let cause = format!("exchange/{}/{}", row.msg_id, row.status);
    tell(
        store,
        tx,
        compiled,
        &to,
        (&cause, "Надсилання документа", message),
        at,
    )
    .await
}
