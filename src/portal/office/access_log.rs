//! The officials' access log (003 §6.4): every view and every action of an official, with the
//! official and the engine's time, in the store's `official_access`. Its readers are those with
//! `audit-read` (`audit.rs`).

use super::official::Official;
use crate::store::{OfficialAccess, Store, StoreError};

/// Records that `official` did `action` (a short fixed word: `inbox`, `view-case`, `take`,
/// `transition`, `download`, `revoke`, `block`, …), on `case` if any; `detail` never holds an
/// applicant's data.
pub async fn record(
    store: &Store,
    official: &Official,
    action: &str,
    case: Option<&str>,
    detail: &str,
) -> Result<(), StoreError> {
    store
        .record_official_access(&OfficialAccess {
            at: official.now(),
            official: official.id.clone(),
            action: action.into(),
            case_id: case.map(str::to_string),
            detail: detail.into(),
        })
        .await
}
