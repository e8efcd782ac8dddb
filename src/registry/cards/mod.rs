//! Registration-control cards (КМУ №55 п.41–59): a draft made and edited by a registrar, checked
//! for completeness and registered under its journal's next number, its files, the signature that
//! registers an outgoing document, its QR code, and the journals' pages.

pub mod edit;
pub mod fields;
pub mod files;
pub mod journals;
pub mod new;
pub mod numbering;
pub mod page;
pub mod qr;
pub mod sign;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::access::Reader;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::blocking;
use crate::portal::office::official::Official;
use crate::portal::office::users::unavailable;
use crate::spec::model::{self, DocumentKind, Journal};
use crate::store::CardRow;

/// Whether `card` may still be changed: a card transferred to the archive or destroyed is
/// read-only for every change but the archive's own.
pub fn editable(card: &CardRow) -> Result<(), &'static str> {
    match card.status.as_str() {
        "destroyed" => Err("картку знищено за затвердженим актом; її не можна змінити"),
        "archived" => Err("картку передано до архіву; змінити її може лише архів"),
        _ if card.archived_at.is_some() => {
            Err("картку передано до архіву; змінити її може лише архів")
        }
        _ => Ok(()),
    }
}

/// A new card id: `card-` and 32 random hex digits.
pub fn new_id() -> String {
    crate::workflow::document_cards::new_card_id()
}

/// The city's date of `at` (`YYYY-MM-DD`).
pub fn day_of(compiled: &Compiled, at: DateTime<Utc>) -> String {
    at.with_timezone(&blocking::zone(compiled))
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// The journal `id` of `participant`, if the spec declares it.
pub fn journal_of<'c>(compiled: &'c Compiled, participant: &str, id: &str) -> Option<&'c Journal> {
    model::by_id(&compiled.spec.journals, id).filter(|j| j.participant == participant)
}

/// The document kinds journal `j` registers: those it names, or every kind of its direction.
pub fn kinds_of<'c>(compiled: &'c Compiled, j: &Journal) -> Vec<&'c DocumentKind> {
    compiled
        .spec
        .document_kinds
        .iter()
        .filter(|k| {
            k.directions.contains(&j.direction) && (j.kinds.is_empty() || j.kinds.contains(&k.id))
        })
        .collect()
}

/// A card the official may read, with the people it concerns and the reader they are.
pub struct Opened {
    pub card: CardRow,
    pub people: Vec<(String, String)>,
    pub reader: Reader,
}

/// Card `id` as `official` may see it: 404 (nothing shown) when there is none or they may not
/// read it.
#[allow(clippy::result_large_err)]
pub async fn open(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
) -> Result<Opened, Response> {
    let chrome = official.chrome(compiled);
    let today = day_of(compiled, official.now());
    let reader = Reader::of(&portal.store, compiled, official, &today)
        .await
        .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?;
    let card = portal
        .store
        .card(id)
        .await
        .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?;
    let Some(card) = card else {
        return Err(not_found(portal, compiled, official));
    };
    let people = portal
        .store
        .card_people(id)
        .await
        .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?;
    if !reader.may_read(&card, &people) {
        return Err(not_found(portal, compiled, official));
    }
    Ok(Opened {
        card,
        people,
        reader,
    })
}

/// The page for a card that is not there, or not the official's to see.
pub fn not_found(portal: &PortalState, compiled: &Compiled, official: &Official) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        &official.chrome(compiled),
        "Картку не знайдено",
        "Такої реєстраційно-контрольної картки немає серед документів, які ви можете \
         переглядати. Перевірте посилання або знайдіть документ через пошук.",
    )
}

/// A refusal of a change (409): the card is not in a state that allows it, in plain words.
pub fn conflict(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    title: &str,
    message: &str,
) -> Response {
    portal.pages.problem(
        StatusCode::CONFLICT,
        &official.chrome(compiled),
        title,
        message,
    )
}

/// 303 to `to`.
pub fn see_other(to: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, to.to_string())],
    )
        .into_response()
}

/// Records an official's view or action on a card in the access log; a failure is logged.
pub async fn log_access(portal: &PortalState, official: &Official, action: &str, card: &str) {
    if let Err(e) =
        crate::portal::office::access_log::record(&portal.store, official, action, Some(card), "")
            .await
    {
        tracing::error!("the access log did not take {action} of card {card}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(status: &str, archived_at: Option<&str>) -> CardRow {
        CardRow {
            status: status.into(),
            archived_at: archived_at.map(str::to_string),
            ..CardRow::draft(
                "card-0",
                ("city-council", "council-internal", "internal"),
                "memo",
                "official:lysenko-t",
                &chrono::Utc::now(),
            )
        }
    }

    #[test]
    fn archived_and_destroyed_cards_are_read_only_with_a_reason() {
        for status in ["draft", "registered", "executed", "filed"] {
            assert_eq!(editable(&card(status, None)), Ok(()), "{status}");
        }
        assert!(
            editable(&card("archived", None))
                .unwrap_err()
                .contains("архів")
        );
        assert!(
            editable(&card("destroyed", None))
                .unwrap_err()
                .contains("знищено")
        );
        let transferred = card("registered", Some("2027-01-10T10:00:00Z"));
        assert!(editable(&transferred).unwrap_err().contains("архів"));
    }
}
