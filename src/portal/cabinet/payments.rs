//! `/cabinet/payments`: the citizen's payment history, newest first: each fee paid or tried,
//! its status, the receipt, and the application it was for.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{service_title, words};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::portal::payments::checkout::view;

/// `GET /cabinet/payments`.
pub async fn page(State(portal): State<PortalState>, citizen: Citizen) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    // A draft the citizen deleted after paying shows its fee as due for refund at once.
    if let Err(e) = portal
        .store
        .flag_orphaned_payments(portal.engine.clock().now())
        .await
    {
        tracing::warn!("paid fees of removed drafts could not be flagged: {e}");
    }
    let read = tokio::try_join!(
        portal.store.payments_of_owner(&citizen.owner),
        portal.store.applications_of(&citizen.owner),
    );
    let (payments, applications) = match read {
        Ok(read) => read,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar));
    let shown: Vec<_> = payments
        .iter()
        .map(|p| {
            let mut shown = view(p, zone);
            shown["service"] = json!(service_title(&compiled.spec, &p.e_service));
            shown["application"] = json!(
                applications
                    .iter()
                    .find(|a| a.draft_id == p.draft_id)
                    .map(|a| json!({"id": a.id, "number": a.number}))
            );
            shown
        })
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "cabinet/payments.html",
        &chrome,
        json!({ "payments": shown }),
    )
}
