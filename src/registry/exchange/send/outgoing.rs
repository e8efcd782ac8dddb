//! Sending a registered outgoing card (002 §3.1–3.3, КМУ №55 п.22): its files' signatures
//! judged, one message per addressee written with `sev::write`, and in ONE transaction each
//! message queued for the transport, its row for the sender's statuses and the card's event.

use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::addressees;
use super::envelope::{Party, SendPurpose, Signer, envelope};
use super::signatures::{FileProblem, Unsigned, signed_files};
use crate::compile::Compiled;
use crate::registry::cards::editable;
use crate::registry::cards::sign::signer_of;
use crate::registry::exchange::sev;
use crate::spec::model;
use crate::store::{
    CardChange, CardRow, MessageKind, OutgoingMessage, SentRow, Store, StoreError, time_text,
};

/// What the registrar asked: card `card_id` at `version`, to `addressees` (participant ids),
/// for `purpose`, by `actor` (`official:<id>`) at `now`.
pub struct SendRequest<'a> {
    pub card_id: &'a str,
    pub version: i64,
    pub addressees: &'a [String],
    pub purpose: SendPurpose,
    pub actor: &'a str,
    pub now: DateTime<Utc>,
}

/// Why nothing was sent.
#[derive(Debug)]
pub enum SendRefused {
    /// There is no such card.
    NoCard,
    /// The card is not one that can be sent (in words).
    Card(String),
    /// No addressee, or one that cannot receive (in words, one each).
    Addressees(Vec<String>),
    /// A file without a valid signature or seal of its signer.
    Files(Vec<FileProblem>),
    /// Sent to these addressees (their names) already, and not refused by them.
    Again(Vec<String>),
    /// The card changed since the form was read.
    Stale,
    Store(StoreError),
}

impl From<StoreError> for SendRefused {
    fn from(e: StoreError) -> SendRefused {
        SendRefused::Store(e)
    }
}

/// Whether `card` may be sent at all: a registered outgoing card not in the archive.
pub fn sendable(card: &CardRow) -> Result<(), String> {
    if card.direction != "outgoing" {
        return Err(
            "Надіслати іншому учаснику можна лише вихідний документ; ця картка — \
                    не вихідного журналу."
                .into(),
        );
    }
    if card.status == "draft" || card.reg_number.is_none() {
        return Err(
            "Документ ще не зареєстровано: надсилають лише зареєстрований вихідний \
                    документ, підписаний підписувачем."
                .into(),
        );
    }
    editable(card).map_err(|why| format!("Документ не можна надіслати: {why}."))
}

/// Sends `request`: the rows written, one per addressee.
pub async fn send(
    store: &Store,
    compiled: &Compiled,
    request: &SendRequest<'_>,
) -> Result<Vec<SentRow>, SendRefused> {
    let card = store
        .card(request.card_id)
        .await?
        .ok_or(SendRefused::NoCard)?;
    sendable(&card).map_err(SendRefused::Card)?;
    let from = addressees::party(compiled, &card.participant).ok_or_else(|| {
        SendRefused::Card(format!(
            "Учасник «{}» не має служби обміну документами в специфікації: надсилати немає \
             через що.",
            card.participant
        ))
    })?;
    let mut wanted: Vec<&String> = request.addressees.iter().collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(SendRefused::Addressees(vec![
            "Позначте хоча б одного адресата.".into(),
        ]));
    }
    let mut to = Vec::new();
    let mut problems = Vec::new();
    for id in wanted {
        match addressees::party(compiled, id) {
            Some(party) if party.participant.id != card.participant => to.push(party),
            Some(_) => problems.push("Установа не надсилає документи сама собі.".into()),
            None => problems.push(format!(
                "«{id}» не є учасником, що приймає документи через службу обміну."
            )),
        }
    }
    if !problems.is_empty() {
        return Err(SendRefused::Addressees(problems));
    }
    let files = match signed_files(store, compiled, &card).await {
        Ok(files) => files,
        Err(Unsigned::Problems(p)) => return Err(SendRefused::Files(p)),
        Err(Unsigned::Store(e)) => return Err(SendRefused::Store(e)),
    };
    let kind_title = model::by_id(&compiled.spec.document_kinds, &card.kind)
        .map_or(card.kind.as_str(), |k| k.title.as_str());
    let mut messages = Vec::new();
    for party in &to {
        let msg_id = Uuid::now_v7();
        let signer = signer_of(compiled, &card).map(|official| Signer { official });
        let envelope = envelope(
            &card,
            kind_title,
            &from,
            party,
            signer,
            request.purpose,
            &files,
            (msg_id, request.now),
        )
        .map_err(|why| SendRefused::Store(StoreError::new(why)))?;
        messages.push((party, msg_id, sev::write(&envelope)));
    }
    write(store, &card, request, messages).await
}

/// The transaction: the card taken, each addressee checked for a live message, the messages
/// queued with their rows and the card's `sent` event.
async fn write(
    store: &Store,
    card: &CardRow,
    request: &SendRequest<'_>,
    messages: Vec<(&Party<'_>, Uuid, Vec<u8>)>,
) -> Result<Vec<SentRow>, SendRefused> {
    let mut tx = store.begin().await?;
    let Some(current) = store.card_in(&mut tx, &card.id).await? else {
        return Err(SendRefused::NoCard);
    };
    if current.version != request.version {
        return Err(SendRefused::Stale);
    }
    sendable(&current).map_err(SendRefused::Card)?;
    let mut again = Vec::new();
    for (party, _, _) in &messages {
        if store
            .exchange_sent_live(&mut tx, &card.id, &party.participant.id)
            .await?
            .is_some()
        {
            again.push(party.participant.name.clone());
        }
    }
    if !again.is_empty() {
        return Err(SendRefused::Again(again));
    }
    let at = time_text(&request.now);
    let mut rows = Vec::new();
    for (party, msg_id, xml) in messages {
        let row = SentRow {
            msg_id: msg_id.to_string(),
            card_id: card.id.clone(),
            participant: card.participant.clone(),
            addressee: party.participant.id.clone(),
            purpose: request.purpose.as_str().into(),
            status: "sent".into(),
            sent_at: at.clone(),
            sent_by: request.actor.to_string(),
            delivered_at: None,
            registered_number: None,
            registered_date: None,
            registered_at: None,
            refused_at: None,
            refused_ground: None,
            refused_by: None,
            refused_phone: None,
            not_received_at: None,
        };
        store.insert_exchange_sent(&mut tx, &row).await?;
        store
            .queue_exchange_message(
                &mut tx,
                &OutgoingMessage {
                    msg_id: row.msg_id.clone(),
                    from: card.participant.clone(),
                    to: row.addressee.clone(),
                    kind: MessageKind::Document,
                    card_id: Some(card.id.clone()),
                    xml,
                },
            )
            .await?;
        rows.push(row);
    }
    let after = CardRow {
        version: current.version + 1,
        updated_at: at,
        ..current.clone()
    };
    let sent: Vec<_> = rows
        .iter()
        .map(|r| json!({"addressee": r.addressee, "msg_id": r.msg_id, "purpose": r.purpose}))
        .collect();
    let written = store
        .write_card(
            &mut tx,
            &CardChange {
                before: Some(&current),
                after: &after,
                actor: request.actor,
                on_behalf: None,
                kind: "sent",
                note: json!({"sent": sent}),
                at: request.now,
            },
        )
        .await?;
    if !written {
        return Err(SendRefused::Stale);
    }
    tx.commit().await?;
    Ok(rows)
}
