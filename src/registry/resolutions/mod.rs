//! Resolutions and control (REG-2; КМУ №55 п.64–75, п.171–175; 004 §5.1): the sealed
//! resolution tree of a card, each executor's work as a case of the engine, deadlines and their
//! changes, removal from control, "до справи", the executors' tasks, delegations and notices.

pub mod control;
pub mod deadline;
pub mod delegations;
pub mod notices;
pub mod pages;
pub mod tasks;
pub mod write;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::access::Reader;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::portal::pages::Chrome;
use crate::spec::model::{self, Permission};
use crate::store::CardRow;

/// What the engine's cases of a resolution's work are of, in place of an e-service.
pub const WORK_OF: &str = "registry";

/// The longest task, reason or mark an official may write.
pub const MAX_TEXT: usize = 4_000;

/// A card opened for an official: the revision, their page layout and read rule, the card and
/// the people it concerns.
pub struct Opened {
    pub compiled: Arc<Compiled>,
    pub chrome: Chrome,
    pub reader: Reader,
    pub card: CardRow,
    pub people: Vec<(String, String)>,
}

/// A refusal of something an official asked: the status and, for a person, what and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// A request that cannot be done as asked (422).
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }

    /// The page saying so; nothing was changed.
    pub fn page(&self, portal: &PortalState, chrome: &Chrome) -> Response {
        portal.pages.problem(
            self.status,
            chrome,
            "Не виконано",
            &format!("{} Нічого не змінено.", self.message),
        )
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Refusal {
        tracing::error!("the registry could not read or write the store: {e}");
        Refusal::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "Сховище даних тимчасово недоступне; спробуйте ще раз за кілька хвилин.",
        )
    }
}

/// The city's date at `at`, `YYYY-MM-DD`.
pub fn today(compiled: &Compiled, at: DateTime<Utc>) -> String {
    let zone = compiled.spec.system().map_or(chrono_tz::Europe::Kyiv, |s| {
        crate::portal::cabinet::words::zone_of(&s.calendar)
    });
    at.with_timezone(&zone).format("%Y-%m-%d").to_string()
}

/// The applied revision, the official's layout and read rule; a page when there is none yet.
#[allow(clippy::result_large_err)]
pub async fn begin(
    portal: &PortalState,
    official: &Official,
) -> Result<(Arc<Compiled>, Chrome, Reader), Response> {
    let Some(compiled) = portal.current.load_full() else {
        return Err(starting(portal));
    };
    let chrome = official.chrome(&compiled);
    let today = today(&compiled, official.now());
    let reader = Reader::of(&portal.store, &compiled, official, &today)
        .await
        .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?;
    Ok((compiled, chrome, reader))
}

/// Card `id` as `official` may read it; 404 with no data for a card they may not read.
#[allow(clippy::result_large_err)]
pub async fn open_card(
    portal: &PortalState,
    official: &Official,
    id: &str,
) -> Result<Opened, Response> {
    let (compiled, chrome, reader) = begin(portal, official).await?;
    if !Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(&compiled, *p))
        && reader.delegations.is_empty()
    {
        official
            .require(portal, &compiled, Permission::DocumentsRead)
            .await?;
    }
    let card = portal
        .store
        .card(id)
        .await
        .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?;
    let people = match &card {
        Some(_) => portal
            .store
            .card_people(id)
            .await
            .map_err(|e| unavailable(portal, &chrome, &e.to_string()))?,
        None => Vec::new(),
    };
    match card {
        Some(card) if reader.may_read(&card, &people) => Ok(Opened {
            compiled,
            chrome,
            reader,
            card,
            people,
        }),
        _ => Err(not_found(portal, &chrome)),
    }
}

/// The page for a card or task that does not exist or that the official may not read.
pub fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Не знайдено",
        "Такого документа немає або він вам недоступний.",
    )
}

/// The value of form field `name`, trimmed; `None` when absent or blank.
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Every value of form field `name`, trimmed and non-blank (checkboxes and multiple selects).
pub fn fields<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
        .collect()
}

/// Whether the spec's official `o` holds `permission` in `compiled`.
pub fn holds(compiled: &Compiled, o: &model::Official, permission: Permission) -> bool {
    o.roles.iter().any(|role| {
        model::by_id(&compiled.spec.roles, role)
            .is_some_and(|r| r.permissions.contains(&permission))
    })
}

/// The spec's official `id`.
pub fn official_of<'c>(compiled: &'c Compiled, id: &str) -> Option<&'c model::Official> {
    compiled.spec.officials.iter().find(|o| o.id == id)
}

/// The participant of a `participant/unit`.
pub fn participant_of(unit: &str) -> &str {
    unit.split_once('/').map_or(unit, |(p, _)| p)
}
