//! A card's registration number: the next of its journal's counter, taken in the transaction
//! that registers the card (a rolled-back registration gives it back, a second registrar waits
//! on the counter's row on any replica), set out by the journal's pattern on the city's date.
//! A card made from a received document queues its registration notice in that transaction.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::spec::model::Journal;
use crate::store::{CardRow, Store, StoreError, Tx};
use crate::workflow::document_cards::numbered;
use crate::workflow::documents::{number_text, period};

/// Why a card could not be numbered.
#[derive(Debug)]
pub enum NumberError {
    /// The journal's pattern cannot be filled for this card (e.g. `{case}` with no case).
    Pattern(String),
    Store(StoreError),
}

impl std::fmt::Display for NumberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NumberError::Pattern(why) => f.write_str(why),
            NumberError::Store(e) => write!(f, "{e}"),
        }
    }
}

/// `card` registered in `journal` at `at` (the system's time, the city's date in `zone`) with
/// the next number of the journal's counter, taken in `tx`: the row to write (version moved).
pub async fn register_in(
    store: &Store,
    tx: &mut Tx,
    journal: &Journal,
    card: &CardRow,
    at: DateTime<Utc>,
    zone: Tz,
) -> Result<CardRow, NumberError> {
    let day = at.with_timezone(&zone).date_naive();
    // Checked before a number is taken, though the transaction would give it back anyway.
    number_text(journal, 1, day, card.case_code.as_deref()).map_err(NumberError::Pattern)?;
    let period = period(journal, day);
    let seq = store
        .next_number(tx, &journal.id, &period)
        .await
        .map_err(NumberError::Store)?;
    let number =
        number_text(journal, seq, day, card.case_code.as_deref()).map_err(NumberError::Pattern)?;
    let after = numbered(card, period, seq, number, at, zone);
    crate::registry::exchange::receive::notices::on_registered(store, tx, &after)
        .await
        .map_err(NumberError::Store)?;
    Ok(after)
}
