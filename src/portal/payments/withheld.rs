//! A `before-result` fee withholds the result: the application's page lists no document and
//! says where to pay, and every route to a document (its page, text, PDF and seals, through
//! `cabinet::documents`) answers 402 with the pay link until the fee is paid.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{fee_due, hryvnias};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::cabinet;
use crate::portal::pages::Chrome;
use crate::spec::model::{PayWhen, by_id};

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
