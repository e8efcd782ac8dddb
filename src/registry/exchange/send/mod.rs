//! Sending a registered outgoing document to other participants' registries (002 §3.1–3.3,
//! КМУ №55 п.22–28): its signatures judged, one СЕВ ОВВ message per addressee queued for the
//! transport, the addressees' notices applied to the sender's statuses, п.24's 6 hours.

pub mod addressees;
pub mod envelope;
pub mod not_received;
pub mod notices;
pub mod outgoing;
pub mod pages;
pub mod signatures;
pub mod status;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};

use crate::portal::PortalState;

/// The sender's routes: the send form's target and the exchange journal.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    Router::new()
        .route("/registry/cards/{id}/send", post(pages::post))
        .route("/registry/exchange", get(pages::journal))
}
