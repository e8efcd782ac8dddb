//! A registrar's refusal of a received document (КМУ №55 п.21, п.24): only on a ground of п.21's
//! closed list, the refusal notice carrying the ground and the registrar's name and phone,
//! queued in one transaction with the document marked refused.

use chrono::{DateTime, Utc};

use super::grounds::Ground;
use super::notices::{self, Registrar};
use crate::store::{ReceivedRow, Store, StoreError, time_text};

/// What to refuse: document `id` of `participant`, on `ground`, by official `by`.
pub struct Refuse<'a> {
    pub id: i64,
    pub participant: &'a str,
    pub ground: Ground,
    pub registrar: &'a Registrar,
    pub by: &'a str,
    pub at: DateTime<Utc>,
}

/// Why a document was not refused.
#[derive(Debug)]
pub enum NotRefused {
    /// There is no such document of the participant.
    Missing,
    /// The ground is not one of п.21's (a registrar may refuse on no other).
    NotListed,
    /// It was taken or refused already (the row as it is).
    Decided(Box<ReceivedRow>),
    Store(StoreError),
}

impl From<StoreError> for NotRefused {
    fn from(e: StoreError) -> NotRefused {
        NotRefused::Store(e)
    }
}

/// The п.21 ground a form posted as `code`, when it is one.
pub fn posted_ground(code: Option<&str>) -> Option<Ground> {
    let code: i64 = code?.trim().parse().ok()?;
    Ground::MANUAL.iter().copied().find(|g| g.code() == code)
}

/// Refuses document `r.id`: the row refused, the refusal notice queued.
pub async fn refuse(store: &Store, r: &Refuse<'_>) -> Result<ReceivedRow, NotRefused> {
    if !Ground::MANUAL.contains(&r.ground) {
        return Err(NotRefused::NotListed);
    }
    let mut tx = store.begin().await?;
    let Some(row) = store.received_document_in(&mut tx, r.id).await? else {
        return Err(NotRefused::Missing);
    };
    if row.participant != r.participant {
        return Err(NotRefused::Missing);
    }
    if row.status != "received" {
        return Err(NotRefused::Decided(Box::new(row)));
    }
    let actor = format!("official:{}", r.by);
    let line = r.registrar.line();
    let at = time_text(&r.at);
    if !store
        .refuse_received(
            &mut tx,
            row.id,
            r.ground.code(),
            r.ground.text(),
            &line,
            &actor,
            &at,
        )
        .await?
    {
        return Err(NotRefused::Decided(Box::new(row)));
    }
    let parties = notices::parties_of(&row)?;
    let notice = notices::refusal(&parties, r.ground, &line, r.at);
    notices::queue(store, &mut tx, &row, &notice, None).await?;
    tx.commit().await?;
    Ok(ReceivedRow {
        status: "refused".into(),
        ground_code: Some(r.ground.code()),
        ground: Some(r.ground.text().into()),
        refusal_detail: Some(line),
        refused_by: Some(actor),
        refused_at: Some(at),
        ..row
    })
}
