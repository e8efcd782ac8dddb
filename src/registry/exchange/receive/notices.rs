//! The notices a receiving registry sends back (КМУ №55 п.24–27): delivered (ack 1) when a
//! registrar takes the document, registered (ack 3, with our number) when its card is
//! registered, refused (ack 4, the ground first) — each written with `Envelope::acknowledging`
//! and queued for the sender in the caller's transaction.

use crate::registry::exchange::send::notices::{PHONE_SEPARATOR, REGISTRAR_LINE};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::grounds::Ground;
use crate::registry::exchange::sev::{
    self, AckResult, AckType, Acknowledgement, Body, Envelope, MsgAcknow, MsgType, RegNumber,
    SevTime,
};
use crate::store::{CardRow, MessageKind, OutgoingMessage, ReceivedRow, Store, StoreError, Tx};

/// The envelope's parties as stored with a received document, to address notices back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parties {
    /// The received message's GUID.
    pub msg_id: String,
    pub from_org_id: String,
    pub from_organization: String,
    pub from_department: Option<String>,
    pub from_sys_id: String,
    pub from_system: String,
    pub from_system_details: Option<String>,
    pub to_org_id: String,
    pub to_organization: String,
    pub to_department: Option<String>,
    pub to_sys_id: String,
    pub to_system: String,
    pub to_system_details: Option<String>,
}

impl Parties {
    pub fn of(envelope: &Envelope) -> Parties {
        Parties {
            msg_id: envelope.msg_id.to_string(),
            from_org_id: envelope.from_org_id.clone(),
            from_organization: envelope.from_organization.clone(),
            from_department: envelope.from_department.clone(),
            from_sys_id: envelope.from_sys_id.clone(),
            from_system: envelope.from_system.clone(),
            from_system_details: envelope.from_system_details.clone(),
            to_org_id: envelope.to_org_id.clone(),
            to_organization: envelope.to_organization.clone(),
            to_department: envelope.to_department.clone(),
            to_sys_id: envelope.to_sys_id.clone(),
            to_system: envelope.to_system.clone(),
            to_system_details: envelope.to_system_details.clone(),
        }
    }

    /// The received message's GUID (stored as it was read, so it parses).
    fn guid(&self) -> Uuid {
        Uuid::parse_str(&self.msg_id).unwrap_or_default()
    }

    /// The received envelope's header again, carrying `body`: what `acknowledging` answers.
    fn envelope(&self, body: Body) -> Envelope {
        Envelope {
            time: SevTime::utc(Utc::now()),
            msg_type: MsgType::DOCUMENT,
            msg_id: self.guid(),
            msg_acknow: MsgAcknow::ALL,
            from_org_id: self.from_org_id.clone(),
            from_organization: self.from_organization.clone(),
            from_department: self.from_department.clone(),
            from_sys_id: self.from_sys_id.clone(),
            from_system: self.from_system.clone(),
            from_system_details: self.from_system_details.clone(),
            to_org_id: self.to_org_id.clone(),
            to_organization: self.to_organization.clone(),
            to_department: self.to_department.clone(),
            to_sys_id: self.to_sys_id.clone(),
            to_system: self.to_system.clone(),
            to_system_details: self.to_system_details.clone(),
            body,
        }
    }
}

/// Who refused a document by hand, as the refusal notice names them (п.27).
#[derive(Debug, Clone)]
pub struct Registrar {
    pub name: String,
    pub phone: Option<String>,
}

impl Registrar {
    /// The notice's line naming them.
    pub fn line(&self) -> String {
        match &self.phone {
            Some(phone) => format!("{REGISTRAR_LINE} {}{PHONE_SEPARATOR}{phone}", self.name),
            None => format!("{REGISTRAR_LINE} {}", self.name),
        }
    }
}

/// The notice `ack` about the document of `parties`, made at `at`.
pub fn notice(parties: &Parties, ack: Acknowledgement, at: DateTime<Utc>) -> Envelope {
    let placeholder = Body::Acknowledgement(ack.clone());
    let received = parties.envelope(placeholder);
    Envelope::acknowledging(&received, ack, Uuid::now_v7(), SevTime::utc(at))
}

/// The refusal notice: the ground (its code and words) first, then what failed or who refused.
pub fn refusal(parties: &Parties, ground: Ground, second: &str, at: DateTime<Utc>) -> Envelope {
    let mut results = vec![AckResult {
        errorcode: ground.code(),
        errortext: ground.text().to_string(),
    }];
    if !second.trim().is_empty() {
        results.push(AckResult {
            errorcode: 0,
            errortext: second.to_string(),
        });
    }
    notice(
        parties,
        Acknowledgement {
            msg_id: parties.guid(),
            ack_type: AckType::Refused,
            reg_number: None,
            results,
            file: None,
        },
        at,
    )
}

/// The delivery notice (ack 1).
pub fn delivered(parties: &Parties, at: DateTime<Utc>) -> Envelope {
    notice(
        parties,
        Acknowledgement {
            msg_id: parties.guid(),
            ack_type: AckType::Delivered,
            reg_number: None,
            results: vec![AckResult {
                errorcode: 0,
                errortext: "Документ доставлено".into(),
            }],
            file: None,
        },
        at,
    )
}

/// The registration notice (ack 3) with our number and date.
pub fn registered(parties: &Parties, number: RegNumber, at: DateTime<Utc>) -> Envelope {
    notice(
        parties,
        Acknowledgement {
            msg_id: parties.guid(),
            ack_type: AckType::Registered,
            reg_number: Some(number),
            results: vec![AckResult {
                errorcode: 0,
                errortext: "Документ зареєстровано".into(),
            }],
            file: None,
        },
        at,
    )
}

/// Queues `notice` about `row` back to its sender in `tx`.
pub async fn queue(
    store: &Store,
    tx: &mut Tx,
    row: &ReceivedRow,
    notice: &Envelope,
    card_id: Option<&str>,
) -> Result<(), StoreError> {
    store
        .queue_exchange_message(
            tx,
            &OutgoingMessage {
                msg_id: notice.msg_id.to_string(),
                from: row.participant.clone(),
                to: row.sender.clone(),
                kind: MessageKind::Notice,
                card_id: card_id.map(str::to_string),
                xml: sev::write(notice),
            },
        )
        .await
}

/// The parties stored with `row`.
pub fn parties_of(row: &ReceivedRow) -> Result<Parties, StoreError> {
    serde_json::from_str(&row.header).map_err(|e| {
        StoreError::new(format!(
            "the stored header of received document {} does not read ({e}); restore the \
             exchange_received row from a backup",
            row.id
        ))
    })
}

/// In the registering transaction `tx`: when `card` (just numbered) was made from a received
/// document, records its number there and queues the registration notice, once.
pub async fn on_registered(store: &Store, tx: &mut Tx, card: &CardRow) -> Result<(), StoreError> {
    if card.source != super::CARD_SOURCE {
        return Ok(());
    }
    let Some(row) = store.received_document_of_card(tx, &card.id).await? else {
        return Ok(());
    };
    let (Some(number), Some(date), Some(at)) =
        (&card.reg_number, &card.reg_date, &card.registered_at)
    else {
        return Ok(());
    };
    if !store.received_registered(tx, row.id, number, at).await? {
        return Ok(());
    }
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| {
        StoreError::new(format!("card {} has no date of registration: {e}", card.id))
    })?;
    let at = crate::store::parse_time(at).unwrap_or_else(Utc::now);
    let parties = parties_of(&row)?;
    let notice = registered(
        &parties,
        RegNumber {
            number: number.clone(),
            date,
        },
        at,
    );
    queue(store, tx, &row, &notice, Some(&card.id)).await?;
    tracing::info!(
        "card {} made from received document {} was registered as {number}; the registration \
         notice to {} is queued",
        card.id,
        row.id,
        row.sender
    );
    Ok(())
}
