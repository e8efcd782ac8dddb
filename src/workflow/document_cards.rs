//! Registration cards for what the portal and the engine number themselves: an application
//! registered in an incoming journal, a document a case issued in an outgoing one. Written in the
//! transaction that takes the number, so a journal's page has every number its counter gave.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::json;

use crate::spec::model::{Direction, Journal};
use crate::store::{CardChange, CardRow, NewCardFile, Store, StoreError, Tx, time_text};

/// A new card id: `card-` and 32 random hex digits.
pub fn new_card_id() -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    format!("card-{}", hex::encode(bytes))
}

/// `card` with the number `seq` of `period` (`number` as the pattern sets it out), registered at
/// `at`: status `registered`, the version moved.
pub fn numbered(
    card: &CardRow,
    period: String,
    seq: i64,
    number: String,
    at: DateTime<Utc>,
    zone: Tz,
) -> CardRow {
    CardRow {
        status: "registered".into(),
        period: Some(period),
        seq: Some(seq),
        reg_number: Some(number),
        reg_date: Some(
            at.with_timezone(&zone)
                .date_naive()
                .format("%Y-%m-%d")
                .to_string(),
        ),
        registered_at: Some(time_text(&at)),
        version: card.version + 1,
        updated_at: time_text(&at),
        ..card.clone()
    }
}

/// A number the portal or the engine took, and what it numbered.
pub struct Sourced<'a> {
    /// `portal` or `engine`.
    pub source: &'a str,
    /// The application's or the document's id.
    pub source_ref: &'a str,
    pub journal: &'a Journal,
    pub period: &'a str,
    pub seq: i64,
    pub number: &'a str,
    pub at: DateTime<Utc>,
    pub zone: Tz,
    pub summary: String,
    pub case_code: Option<&'a str>,
    pub correspondent: Option<&'a str>,
    pub signer: Option<&'a str>,
    pub addressees: &'a [&'a str],
    /// The files, in order (the original first).
    pub files: &'a [NewCardFile<'a>],
}

/// The kind of card a journal gives what the portal or engine registers: `preferred` when the
/// journal registers it (or names no kinds), else the journal's first kind.
pub fn kind_for(journal: &Journal, preferred: &str) -> String {
    if journal.kinds.is_empty() || journal.kinds.iter().any(|k| k == preferred) {
        preferred.to_string()
    } else {
        journal.kinds[0].clone()
    }
}

/// Writes in `tx` the registered card of `s` with its files; the card.
pub async fn write(store: &Store, tx: &mut Tx, s: &Sourced<'_>) -> Result<CardRow, StoreError> {
    let (direction, preferred) = match s.journal.direction {
        Direction::Incoming => ("incoming", "application"),
        Direction::Outgoing => ("outgoing", "decision"),
        Direction::Internal => ("internal", "order"),
    };
    let actor = s.source.to_string();
    let draft = CardRow {
        case_code: s.case_code.map(str::to_string),
        summary: s.summary.clone(),
        correspondent: s.correspondent.map(str::to_string),
        signer: s.signer.map(str::to_string),
        addressees: json!(s.addressees).to_string(),
        source: s.source.into(),
        source_ref: Some(s.source_ref.into()),
        version: 0,
        ..CardRow::draft(
            &new_card_id(),
            (&s.journal.participant, &s.journal.id, direction),
            &kind_for(s.journal, preferred),
            &actor,
            &s.at,
        )
    };
    let card = numbered(
        &draft,
        s.period.to_string(),
        s.seq,
        s.number.to_string(),
        s.at,
        s.zone,
    );
    store
        .write_card(
            tx,
            &CardChange {
                before: None,
                after: &card,
                actor: &actor,
                on_behalf: None,
                kind: "registered",
                note: json!({"source": s.source, "source_ref": s.source_ref}),
                at: s.at,
            },
        )
        .await?;
    for file in s.files {
        store
            .add_card_file(tx, &card.id, file, &actor, s.at)
            .await?;
    }
    Ok(card)
}
