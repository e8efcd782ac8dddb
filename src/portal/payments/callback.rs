//! `POST /payments/callback/{provider}`: the provider's server-to-server report on a payment.
//! Its signature is checked before anything else (a forged one is a security event and 400);
//! an unknown order is 404; the same callback again changes nothing; everything else is
//! recorded in the payment's history and settles it as `settle::decide` says.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::settle::decide;
use super::{CallbackError, PaymentProvider};
use crate::http_error::HttpError;
use crate::portal::PortalState;
use crate::portal::security_log::{EventKind, SecurityLog};
use crate::store::{PaymentCallback, Recorded};

/// Counts a callback by what became of it (a closed set of outcomes).
fn counted(outcome: &'static str) {
    metrics::counter!("hromada_payment_callbacks_total", "outcome" => outcome).increment(1);
}

/// The largest callback body taken.
pub const MAX_BODY: usize = 32 * 1024;

/// `POST /payments/callback/{provider}` (form: `data`, `signature`).
pub async fn receive(
    State(portal): State<PortalState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return HttpError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "starting",
            "the portal is starting; send the callback again later",
        )
        .into_response();
    };
    let Some(payments) = compiled
        .spec
        .system()
        .and_then(|s| s.payments.clone())
        .filter(|p| p.provider.as_str() == name)
    else {
        return HttpError::new(
            StatusCode::NOT_FOUND,
            "unknown-provider",
            "this portal takes no payments through that provider",
        )
        .into_response();
    };
    let provider: Box<dyn PaymentProvider> = match portal.payments.provider(&payments) {
        Ok(provider) => provider,
        Err(why) => {
            tracing::error!("a payment callback cannot be checked: {why}");
            return HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-configured",
                "the portal cannot check payment callbacks now; send it again later",
            )
            .into_response();
        }
    };
    let fields: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    if fields.is_empty() {
        counted("malformed");
        return HttpError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            "the callback is not a form (application/x-www-form-urlencoded)",
        )
        .into_response();
    };
    let callback = match provider.callback(&fields) {
        Ok(callback) => callback,
        Err(CallbackError::Forged) => {
            counted("forged");
            SecurityLog::new(portal.store.clone())
                .record(
                    EventKind::ForgedPaymentCallback,
                    None,
                    &format!(
                        "a {name} payment callback whose signature is not the provider's was \
                         refused; nothing was changed"
                    ),
                )
                .await;
            return HttpError::new(
                StatusCode::BAD_REQUEST,
                "bad-signature",
                "the callback's signature does not match its data",
            )
            .into_response();
        }
        Err(CallbackError::Malformed(why)) => {
            counted("malformed");
            tracing::warn!("a {name} payment callback was refused: {why}");
            return HttpError::new(StatusCode::BAD_REQUEST, "malformed", &why).into_response();
        }
    };
    let now = portal.engine.clock().now();
    let recorded = portal
        .store
        .record_payment_callback(
            &PaymentCallback {
                payment_id: callback.order_id.clone(),
                at: now,
                provider_status: callback.said.clone(),
                amount: callback.amount,
                currency: callback.currency.clone(),
                transaction_id: callback.transaction_id.clone(),
                digest: callback.digest.clone(),
            },
            |payment, other_paid| decide(payment, other_paid, &callback),
        )
        .await;
    match recorded {
        Ok(Recorded::Unknown) => {
            counted("unknown-order");
            tracing::warn!(
                "a signed {name} payment callback names an order this portal never made"
            );
            HttpError::new(
                StatusCode::NOT_FOUND,
                "unknown-order",
                "no payment has that order_id",
            )
            .into_response()
        }
        Ok(Recorded::Replay(payment)) => {
            counted("replay");
            tracing::info!(payment = %payment.id, "a payment callback was received again; nothing changed");
            (StatusCode::OK, "ok").into_response()
        }
        Ok(Recorded::Applied { before, after }) => {
            counted("recorded");
            tracing::info!(
                payment = %after.id,
                provider_status = %callback.said,
                "payment {} → {}",
                before.status.as_str(),
                after.status.as_str()
            );
            (StatusCode::OK, "ok").into_response()
        }
        Err(e) => {
            counted("store-failed");
            tracing::error!("a payment callback cannot be recorded: {e}");
            HttpError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store",
                "the callback could not be recorded; send it again later",
            )
            .into_response()
        }
    }
}
