//! An addressee's status as the sender sees it, from what the notices set (a refusal over a
//! registration over a delivery), and in words for the card, the journal and the notices.

use chrono::DateTime;
use serde_json::{Value, json};

use super::envelope::SendPurpose;
use crate::compile::Compiled;
use crate::portal::office::blocking;
use crate::store::{CardRow, SentRow};

/// The status `row`'s fields amount to.
pub fn of(row: &SentRow) -> &'static str {
    if row.refused_at.is_some() {
        "refused"
    } else if row.registered_number.is_some() {
        "registered"
    } else if row.delivered_at.is_some() {
        "delivered"
    } else if row.not_received_at.is_some() {
        "not-received"
    } else {
        "sent"
    }
}

/// A stored time in the city's time zone, `DD.MM.YYYY HH:MM`; as stored if it does not parse.
pub fn local(compiled: &Compiled, at: &str) -> String {
    DateTime::parse_from_rfc3339(at).map_or_else(
        |_| at.to_string(),
        |t| {
            t.with_timezone(&blocking::zone(compiled))
                .format("%d.%m.%Y %H:%M")
                .to_string()
        },
    )
}

/// A `YYYY-MM-DD` date as `DD.MM.YYYY`.
fn day(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_or_else(|_| date.to_string(), |d| d.format("%d.%m.%Y").to_string())
}

/// The names a notice about `row` uses: the addressee, and the document by its number.
pub struct Words {
    pub addressee: String,
    pub document: String,
}

impl Words {
    pub fn of(compiled: &Compiled, card: Option<&CardRow>, row: &SentRow) -> Words {
        let addressee = compiled
            .spec
            .participant(&row.addressee)
            .map_or_else(|| row.addressee.clone(), |p| p.name.clone());
        let document = match card.and_then(|c| c.reg_number.as_ref().zip(c.reg_date.as_ref())) {
            Some((number, date)) => format!("№ {number} від {}", day(date)),
            None => format!("картки {}", row.card_id),
        };
        Words {
            addressee: format!("«{addressee}»"),
            document,
        }
    }
}

/// `row` as the card's section and the journal show it.
pub fn shown(compiled: &Compiled, row: &SentRow) -> Value {
    let addressee = compiled
        .spec
        .participant(&row.addressee)
        .map_or_else(|| row.addressee.clone(), |p| p.name.clone());
    let status = of(row);
    let words = match status {
        "refused" => format!(
            "Відхилено {}",
            row.refused_at
                .as_deref()
                .map(|t| local(compiled, t))
                .unwrap_or_default()
        ),
        "registered" => format!(
            "Зареєстровано адресатом за № {} від {}",
            row.registered_number.as_deref().unwrap_or_default(),
            row.registered_date.as_deref().map(day).unwrap_or_default()
        ),
        "delivered" => format!(
            "Доставлено {}",
            row.delivered_at
                .as_deref()
                .map(|t| local(compiled, t))
                .unwrap_or_default()
        ),
        "not-received" => "Не отримано: сповіщення про доставку не надійшло протягом 6 годин \
                           (п.24)"
            .to_string(),
        _ => "Надіслано, очікується сповіщення про доставку".to_string(),
    };
    json!({
        "msg_id": row.msg_id,
        "card_id": row.card_id,
        "addressee": addressee,
        "status": status,
        "words": words,
        "purpose": SendPurpose::parse(&row.purpose).map_or(row.purpose.as_str(), |p| p.words()),
        "sent_at": local(compiled, &row.sent_at),
        "delivered_at": row.delivered_at.as_deref().map(|t| local(compiled, t)),
        "refused": row.refused_at.as_ref().map(|_| json!({
            "ground": row.refused_ground,
            "by": row.refused_by,
            "phone": row.refused_phone,
        })),
    })
}
