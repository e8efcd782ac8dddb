//! The addressee's notices applied to the sender's statuses (КМУ №55 п.28): delivered (date
//! and time), registered (the receiver's number and date), refused (date, time, ground, the
//! registrar's name and phone), each in one transaction with the received message finished.
//!
//! A refusal by hand names its registrar in a line of the notice's `AckResult` texts,
//! `Відхилив: <name>, тел. <phone>` (the receiver's `Registrar::line`); every other line is the
//! ground. An automatic refusal names none.

use chrono::{DateTime, Utc};
use serde_json::json;

use super::status::{self, Words};
use crate::compile::Compiled;
use crate::registry::cards::editable;
use crate::registry::exchange::sev::{AckType, Acknowledgement, Envelope};
use crate::registry::resolutions::notices::{Recipient, tell_linking};
use crate::store::{
    CardChange, CardRow, ReceivedMessage, SentRow, Store, StoreError, TakenNotice, Tx, time_text,
};

/// How the line of a refusal's results that names its registrar starts.
pub const REGISTRAR_LINE: &str = "Відхилив:";
/// What stands between the registrar's name and phone in that line.
pub const PHONE_SEPARATOR: &str = ", тел. ";

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

/// A refusal's ground, registrar and phone, from its results' texts: the ground is the first
/// result's words (the receiver's technical detail, if it sent one, is not for the sender's
/// officials), the registrar the line that names them.
fn refusal(ack: &Acknowledgement) -> (String, Option<String>, Option<String>) {
    let (mut ground, mut by, mut phone) = (None, None, None);
    for line in ack.results.iter().flat_map(|r| r.errortext.lines()) {
        let line = line.trim();
        if let Some(registrar) = line.strip_prefix(REGISTRAR_LINE) {
            let (name, number) = registrar
                .rsplit_once(PHONE_SEPARATOR)
                .map_or((registrar, None), |(n, p)| (n, Some(p)));
            by = Some(name.trim().to_string()).filter(|n| !n.is_empty());
            phone = number
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty());
        } else if ground.is_none() && !line.is_empty() {
            ground = Some(line.to_string());
        }
    }
    let ground = ground.unwrap_or_else(|| "підставу не зазначено".to_string());
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
    let link = format!("Картка документа: /registry/cards/{}#sending", row.card_id);
    tell_linking(
        store,
        tx,
        compiled,
        &to,
        (&cause, "Надсилання документа", message),
        &link,
        at,
    )
    .await
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};
    use uuid::Uuid;

    use super::*;
    use crate::registry::exchange::sev::{AckResult, RegNumber};

    fn sent() -> SentRow {
        SentRow {
            msg_id: Uuid::nil().to_string(),
            card_id: "card-1".into(),
            participant: "city-council".into(),
            addressee: "legal-dept".into(),
            purpose: "information".into(),
            status: "sent".into(),
            sent_at: "2026-12-21T09:00:00.000000000Z".into(),
            sent_by: "official:bondar-a".into(),
            delivered_at: None,
            registered_number: None,
            registered_date: None,
            registered_at: None,
            refused_at: None,
            refused_ground: None,
            refused_by: None,
            refused_phone: None,
            not_received_at: None,
        }
    }

    fn ack(ack_type: AckType, text: &str) -> Acknowledgement {
        Acknowledgement {
            msg_id: Uuid::nil(),
            ack_type,
            reg_number: (ack_type == AckType::Registered).then(|| RegNumber {
                number: "15/207".into(),
                date: NaiveDate::from_ymd_opt(2026, 12, 21).unwrap(),
            }),
            results: vec![AckResult {
                errorcode: 0,
                errortext: text.into(),
            }],
            file: None,
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 21, hour, 0, 0).unwrap()
    }

    #[test]
    fn each_notice_sets_its_fields_once_and_a_refusal_outranks_the_rest() {
        let delivered = applied(&sent(), &ack(AckType::Delivered, ""), at(10));
        assert_eq!(delivered.status, "delivered");
        let again = applied(&delivered, &ack(AckType::Delivered, ""), at(12));
        assert_eq!(again, delivered, "a second delivery notice changes nothing");
        let registered = applied(&delivered, &ack(AckType::Registered, ""), at(11));
        assert_eq!(registered.status, "registered");
        assert_eq!(registered.registered_number.as_deref(), Some("15/207"));
        assert_eq!(registered.registered_date.as_deref(), Some("2026-12-21"));
        let late = applied(&registered, &ack(AckType::Delivered, ""), at(13));
        assert_eq!(late, registered, "a late delivery keeps the registration");
        let closed = applied(&registered, &ack(AckType::Closed, ""), at(14));
        assert_eq!(closed, registered);
        let refused = applied(
            &registered,
            &ack(
                AckType::Refused,
                "Не за належністю\nВідхилив: Ковальчук І. П., тел. +380 61 222 33 44",
            ),
            at(15),
        );
        assert_eq!(refused.status, "refused");
        assert_eq!(refused.refused_ground.as_deref(), Some("Не за належністю"));
        assert_eq!(refused.refused_by.as_deref(), Some("Ковальчук І. П."));
        assert_eq!(refused.refused_phone.as_deref(), Some("+380 61 222 33 44"));
        let twice = applied(&refused, &ack(AckType::Refused, "інша підстава"), at(16));
        assert_eq!(twice, refused, "the first refusal stands");
    }

    #[test]
    fn a_registrar_without_a_phone_is_named_alone() {
        let refused = applied(
            &sent(),
            &ack(AckType::Refused, "Не за належністю\nВідхилив: Лисенко Т."),
            at(10),
        );
        assert_eq!(refused.refused_by.as_deref(), Some("Лисенко Т."));
        assert_eq!(refused.refused_phone, None);
    }

    #[test]
    fn a_refusal_without_ground_or_registrar_says_so() {
        let refused = applied(&sent(), &ack(AckType::Refused, "  "), at(10));
        assert_eq!(
            refused.refused_ground.as_deref(),
            Some("підставу не зазначено")
        );
        assert_eq!((refused.refused_by, refused.refused_phone), (None, None));
    }

    #[test]
    fn a_delivery_after_not_received_counts() {
        let mut lost = sent();
        lost.status = "not-received".into();
        lost.not_received_at = Some("2026-12-21T15:00:00.000000000Z".into());
        let delivered = applied(&lost, &ack(AckType::Delivered, ""), at(16));
        assert_eq!(delivered.status, "delivered");
        assert!(
            delivered.not_received_at.is_some(),
            "when it was missed stays"
        );
    }
}
