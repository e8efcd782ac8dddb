//! Who may read a card: the readers of the card's participant (any documents role but
//! execution alone), the people the card concerns (`card_people`: executors, those informed,
//! authors), and whoever those people delegated to for today. The one rule, in Rust for a card
//! on a page and in SQL for lists and search, so that nothing is ever found that cannot be read.

use crate::compile::Compiled;
use crate::portal::office::official::Official;
use crate::spec::model::Permission;
use crate::store::{CardRow, DelegationRow, Store, StoreError};

/// The permissions that make an official a reader of every card of their participant.
pub const READER_PERMISSIONS: &[Permission] = &[
    Permission::DocumentsRead,
    Permission::DocumentsRegister,
    Permission::DocumentsResolve,
    Permission::DocumentsControl,
    Permission::DocumentsArchive,
];

/// An official as the read rule sees them on one day.
#[derive(Debug, Clone)]
pub struct Reader {
    pub official: String,
    pub participant: String,
    /// Reads every card of `participant`.
    pub participant_reader: bool,
    /// The delegations to them in force today: they read what each principal reads.
    pub delegations: Vec<DelegationRow>,
    /// `YYYY-MM-DD` in the city's time zone.
    pub today: String,
}

impl Reader {
    /// `official` as a reader in revision `compiled` on `today`, with the delegations to them.
    pub async fn of(
        store: &Store,
        compiled: &Compiled,
        official: &Official,
        today: &str,
    ) -> Result<Reader, StoreError> {
        Ok(Reader {
            official: official.id.clone(),
            participant: official.participant().to_string(),
            participant_reader: READER_PERMISSIONS
                .iter()
                .any(|p| official.may(compiled, *p)),
            delegations: store.delegations_to(&official.id, today).await?,
            today: today.to_string(),
        })
    }

    /// Whether they may read `card`, given who it concerns (`people`, from `card_people`).
    pub fn may_read(&self, card: &CardRow, people: &[(String, String)]) -> bool {
        (self.participant_reader && card.participant == self.participant)
            || people.iter().any(|(who, _)| {
                *who == self.official || self.delegations.iter().any(|d| d.principal == *who)
            })
    }

    /// The principal `official` acts for when they act on `people`'s card as a deputy with
    /// authority to decide; `None` when they act in their own right or may not decide.
    pub fn acting_for(&self, people: &[(String, String)]) -> Option<&str> {
        if people.iter().any(|(who, _)| *who == self.official) {
            return None;
        }
        self.delegations
            .iter()
            .filter(|d| d.decide == 1)
            .find(|d| people.iter().any(|(who, _)| *who == d.principal))
            .map(|d| d.principal.as_str())
    }

    /// The SQL condition on a card aliased `c` that this rule admits, with its parameters
    /// numbered from `$first`: bind `self.binds()` in order after the query's own.
    pub fn visible_sql(first: usize) -> String {
        let (p, r, me, today) = (first, first + 1, first + 2, first + 3);
        format!(
            "((c.participant = ${p} AND ${r} = 1) OR EXISTS (SELECT 1 FROM card_people cp \
             WHERE cp.card_id = c.id AND (cp.official = ${me} OR cp.official IN \
             (SELECT d.principal FROM delegations d WHERE d.deputy = ${me} \
             AND d.revoked_at IS NULL AND d.starts_on <= ${today} AND d.ends_on >= ${today}))))"
        )
    }

    /// The values `visible_sql` binds, in order: participant, reader flag, official, today.
    pub fn binds(&self) -> (String, i64, String, String) {
        (
            self.participant.clone(),
            i64::from(self.participant_reader),
            self.official.clone(),
            self.today.clone(),
        )
    }
}
