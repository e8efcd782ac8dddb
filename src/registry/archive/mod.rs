//! The registry's archive (REG-8; КМУ №55 п.180–217): the expert review of cards whose
//! retention period ran, acts of destruction drawn up and approved by another official, legal
//! holds, transfer to the archive, and each card's original package, restorable byte for byte.

pub mod acts;
pub mod holds;
pub mod original;
pub mod retention;
pub mod transfer;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;

use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::words::zone_of;
use crate::portal::office::official::Official;
use crate::portal::pages::Chrome;
use crate::spec::model::Permission;

/// Who may see the archive's pages and approve acts: the archive, and control of execution.
const ARCHIVE_READERS: &[Permission] =
    &[Permission::DocumentsArchive, Permission::DocumentsControl];

/// Today in the city's time zone, by the engine's clock.
pub fn today(portal: &PortalState, compiled: &Compiled) -> NaiveDate {
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| zone_of(&s.calendar));
    portal
        .engine
        .clock()
        .now()
        .with_timezone(&zone)
        .date_naive()
}

/// Nothing when `official` holds the archive's or control's permission; else the refusal.
#[allow(clippy::result_large_err)]
async fn require_archive_or_control(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
) -> Result<(), Response> {
    if ARCHIVE_READERS.iter().any(|p| official.may(compiled, *p)) {
        return Ok(());
    }
    official
        .require(portal, compiled, Permission::DocumentsArchive)
        .await
}

/// Every value of form field `name`, in order (checkboxes send one per box ticked).
fn form_values(body: &[u8], name: &str) -> Vec<String> {
    url::form_urlencoded::parse(body)
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `prefix-` and 32 random hex digits.
fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    format!("{prefix}-{}", hex::encode(bytes))
}

/// The store failed: logged with what was being done, a page that says to try again.
fn unavailable(
    portal: &PortalState,
    chrome: &Chrome,
    doing: &str,
    e: &dyn std::fmt::Display,
) -> Response {
    tracing::error!("the registry's archive cannot {doing}: {e}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Архів тимчасово недоступний",
        "Не вдалося прочитати або записати дані архіву. Спробуйте ще раз за кілька хвилин.",
    )
}

/// A refusal of a form: what is wrong, as a page with the status given.
fn refused(
    portal: &PortalState,
    chrome: &Chrome,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    portal.pages.problem(status, chrome, title, message)
}

/// After a form: on to `to` (303).
fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The card is not there or not the reader's to see: the same answer for both.
fn no_card(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Картку не знайдено",
        "Такої картки немає або вона вам недоступна.",
    )
}
