//! A `before-result` fee withholds the result: the application's page lists no document and
//! says where to pay, and a document's download (wrapping the cabinet's own handler) answers
//! 402 with the pay link until the fee is paid.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{fee_due, hryvnias};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet::{self, owned};
use crate::portal::citizen::Citizen;
use crate::portal::pages::Chrome;
use crate::spec::model::{PayWhen, by_id};

/// `GET /cabinet/applications/{id}/documents/{doc}` (and its seal): the cabinet's download,
/// once a `before-result` fee of the application is paid.
pub async fn download(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return cabinet::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let application = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned.application,
        Err(refused) => return refused,
    };
    if let Some(unpaid) = result_unpaid(
        &portal,
        &compiled,
        &chrome,
        &application.e_service,
        &application.draft_id,
    )
    .await
    {
        return unpaid;
    }
    cabinet::documents::download(State(portal), citizen, Path((id, doc))).await
}

/// Where to pay when the result of the application made from `draft_id` for `e_service` is
/// withheld until a `before-result` fee is paid; `None` when it may be shown.
pub async fn result_withheld(
    portal: &PortalState,
    compiled: &Compiled,
    e_service: &str,
    draft_id: &str,
) -> Result<Option<String>, crate::store::StoreError> {
    let Some((_, PayWhen::BeforeResult)) =
        by_id(&compiled.spec.e_services, e_service).and_then(fee_due)
    else {
        return Ok(None);
    };
    Ok((!portal.store.payment_settled(draft_id).await?).then(|| format!("/drafts/{draft_id}/pay")))
}

/// The page that refuses a document of the application made from `draft_id` while its
/// `before-result` fee is unpaid; `None` when it may be handed out.
pub async fn result_unpaid(
    portal: &PortalState,
    compiled: &Compiled,
    chrome: &Chrome,
    e_service: &str,
    draft_id: &str,
) -> Option<Response> {
    match result_withheld(portal, compiled, e_service, draft_id).await {
        Ok(None) => None,
        Ok(Some(pay_url)) => {
            let service = by_id(&compiled.spec.e_services, e_service);
            Some(portal.pages.render(
                StatusCode::PAYMENT_REQUIRED,
                "payments/required.html",
                chrome,
                json!({
                    "service": service.map(|e| e.title.clone()),
                    "amount": service.and_then(fee_due).map(|(amount, _)| hryvnias(amount)),
                    "pay_url": pay_url,
                    "before_result": true,
                }),
            ))
        }
        Err(e) => Some(cabinet::unavailable(portal, chrome, &e.to_string())),
    }
}
