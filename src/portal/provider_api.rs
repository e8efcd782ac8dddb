//! Reports of a provider's own system on an application delivered to it (003 §5.4):
//! `POST /api/providers/cases/{delivery}/status` and `…/results`, multipart with the report
//! (JSON) sealed by the participant, and a result (PDF) with its own seal. Both seals are checked
//! against the participant's seal certificate in the applied revision, so only the participant
//! the application was delivered to can move its case; a report id seen before is answered again.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::PortalState;
use super::result_check::seal_certificate;
use crate::compile::Compiled;
use crate::crypto::document_seal::verify_detached;
use crate::http_error::error;
use crate::store::{DeliveryRow, ProviderReportRow, time_text};
use crate::workflow::engine::{Actor, EngineError, Fire};

/// The largest report taken: a result PDF of a few pages with its seal and the report.
pub const MAX_BODY: usize = 8 * 1024 * 1024;
/// The longest report id taken.
const MAX_REPORT_ID: usize = 100;

/// What a report says, as the provider's system sealed it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    /// The system's own id of this report: the same id again is a replay.
    report_id: String,
    /// The delivery it reports on (the id the application came with).
    delivery_id: String,
    /// The workflow's transition the system reports (role `provider-system`).
    event: String,
    /// The result document's number in the provider's system, with a result.
    #[serde(default)]
    result_number: Option<String>,
}

/// The parts of a posted report.
#[derive(Default)]
struct Posted {
    report: Option<Vec<u8>>,
    seal: Option<Vec<u8>>,
    result: Option<Vec<u8>>,
    result_seal: Option<Vec<u8>>,
}

/// `POST /api/providers/cases/{delivery}/status`: a status change.
pub async fn status(
    State(portal): State<PortalState>,
    Path(delivery): Path<String>,
    multipart: Multipart,
) -> Response {
    receive(&portal, &delivery, multipart, false).await
}

/// `POST /api/providers/cases/{delivery}/results`: a status change with its result document.
pub async fn results(
    State(portal): State<PortalState>,
    Path(delivery): Path<String>,
    multipart: Multipart,
) -> Response {
    receive(&portal, &delivery, multipart, true).await
}

async fn receive(
    portal: &PortalState,
    delivery_id: &str,
    multipart: Multipart,
    with_result: bool,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_ready",
            "no revision of the spec is applied yet; try again shortly",
        );
    };
    let delivery = match portal.store.delivery(delivery_id).await {
        Ok(Some(delivery)) => delivery,
        Ok(None) => {
            return error(
                StatusCode::NOT_FOUND,
                "unknown_delivery",
                format!(
                    "no application was delivered with id `{delivery_id}`; report on the \
                     `delivery_id` the application came with"
                ),
            );
        }
        Err(e) => return store_failed(&e),
    };
    if let Err(why) = consistent(portal, &compiled, &delivery).await {
        tracing::error!("delivery {delivery_id} refuses reports: {why}");
        return error(
            StatusCode::CONFLICT,
            "delivery_inconsistent",
            format!(
                "delivery `{delivery_id}` no longer agrees with its application or the spec \
                 ({why}); no report is taken for it until an administrator restores it"
            ),
        );
    }
    let posted = match read(multipart).await {
        Ok(posted) => posted,
        Err(message) => return bad_request(message),
    };
    let now = portal.engine.clock().now();
    let accepted = match judge(&compiled, &delivery, posted, with_result, now) {
        Ok(accepted) => accepted,
        Err(refused) => return *refused,
    };
    apply(portal, &delivery, accepted, now).await
}

/// Whether `delivery` still names its application's case and a system of the e-service's
/// provider: a row rewritten to point elsewhere must not let another participant move a case.
async fn consistent(
    portal: &PortalState,
    compiled: &Compiled,
    delivery: &DeliveryRow,
) -> Result<(), String> {
    let application = portal
        .store
        .application_by_id(&delivery.application_id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "application {} is not in the store",
                delivery.application_id
            )
        })?;
    if application.case_id.as_deref() != Some(delivery.case_id.as_str())
        || application.e_service != delivery.e_service
    {
        return Err(format!(
            "it names case {} of `{}`, but its application's is {} of `{}`",
            delivery.case_id,
            delivery.e_service,
            application.case_id.as_deref().unwrap_or("(none)"),
            application.e_service
        ));
    }
    let provider = compiled
        .spec
        .e_services
        .iter()
        .find(|e| e.id == delivery.e_service)
        .and_then(|e| e.provider.as_ref())
        .map(|p| p.participant.as_str());
    let participant = delivery.subsystem.split('/').next().unwrap_or_default();
    if provider != Some(participant) {
        return Err(format!(
            "it names system `{}`, which is not the e-service's provider's",
            delivery.subsystem
        ));
    }
    Ok(())
}

/// A report whose seals hold, ready to be applied.
struct Accepted {
    report: Report,
    text: String,
    seal: Vec<u8>,
    result: Option<(Vec<u8>, Vec<u8>)>,
}

/// Checks the report's form, that it is about this delivery, and both seals.
fn judge(
    compiled: &Compiled,
    delivery: &DeliveryRow,
    posted: Posted,
    with_result: bool,
    now: DateTime<Utc>,
) -> Result<Accepted, Box<Response>> {
    let refuse = |response: Response| Box::new(response);
    let (Some(bytes), Some(seal)) = (posted.report, posted.seal) else {
        return Err(refuse(bad_request(
            "a report needs the parts `report` (its JSON) and `seal` (the participant's detached \
             CMS seal over exactly those bytes, DER)"
                .into(),
        )));
    };
    let text = String::from_utf8(bytes)
        .map_err(|_| refuse(bad_request("the part `report` is not UTF-8 text".into())))?;
    let report: Report = serde_json::from_str(&text).map_err(|e| {
        refuse(bad_request(format!(
            "the part `report` is not a report: {e}; send {{\"report_id\", \"delivery_id\", \
             \"event\"}} (and \"result_number\" with a result)"
        )))
    })?;
    let id = report.report_id.trim();
    if id.is_empty()
        || id.len() > MAX_REPORT_ID
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        return Err(refuse(bad_request(format!(
            "`report_id` must be 1 to {MAX_REPORT_ID} letters, digits or `-_.:`"
        ))));
    }
    if report.delivery_id != delivery.id {
        return Err(refuse(bad_request(format!(
            "the report names delivery `{}`, but it was posted for delivery `{}`",
            report.delivery_id, delivery.id
        ))));
    }
    let participant = delivery.subsystem.split('/').next().unwrap_or_default();
    let certificate = seal_certificate(compiled, participant).map_err(|e| {
        tracing::error!(
            "a report on delivery {} cannot be checked: {e}",
            delivery.id
        );
        refuse(error(
            StatusCode::SERVICE_UNAVAILABLE,
            "seal_unknown",
            format!("{e}; the report cannot be checked until the spec gives it"),
        ))
    })?;
    let anchors = &compiled.gateway.trust.anchors;
    verify_detached(&seal, text.as_bytes(), &certificate, anchors, now).map_err(|why| {
        tracing::warn!(
            "a report on delivery {} was refused: its seal is not `{participant}`'s ({why})",
            delivery.id
        );
        refuse(error(
            StatusCode::FORBIDDEN,
            "seal_refused",
            format!(
                "the report is not sealed by `{participant}`, the provider this application was \
                 delivered to: {why}"
            ),
        ))
    })?;
    let result = match (posted.result, posted.result_seal) {
        (Some(pdf), Some(pdf_seal)) => {
            if !pdf.starts_with(b"%PDF-") {
                return Err(refuse(bad_request(
                    "the part `result` is not a PDF document".into(),
                )));
            }
            verify_detached(&pdf_seal, &pdf, &certificate, anchors, now).map_err(|why| {
                refuse(error(
                    StatusCode::FORBIDDEN,
                    "seal_refused",
                    format!(
                        "the result document is not sealed by `{participant}`, the provider \
                         this application was delivered to: {why}"
                    ),
                ))
            })?;
            Some((pdf, pdf_seal))
        }
        (None, None) if !with_result => None,
        _ => {
            return Err(refuse(bad_request(
                "a result needs the parts `result` (the PDF) and `result_seal` (the \
                 participant's detached CMS seal over it, DER)"
                    .into(),
            )));
        }
    };
    if result.is_some() && !with_result {
        return Err(refuse(bad_request(
            "a result document is posted to `…/results`, not `…/status`".into(),
        )));
    }
    Ok(Accepted {
        report,
        text,
        seal,
        result,
    })
}

/// Fires the reported transition as the provider's system and keeps the report; a report id
/// already kept is answered as it was first.
async fn apply(
    portal: &PortalState,
    delivery: &DeliveryRow,
    accepted: Accepted,
    now: DateTime<Utc>,
) -> Response {
    let report_id = accepted.report.report_id.trim().to_string();
    match portal.store.provider_report(&delivery.id, &report_id).await {
        Ok(Some(kept)) => return replayed(&kept, &accepted),
        Ok(None) => {}
        Err(e) => return store_failed(&e),
    }
    let case = match portal.engine.case(&delivery.case_id).await {
        Ok(case) => case,
        Err(e) => return engine_refused(&e),
    };
    let key = format!("provider-report:{}:{report_id}", delivery.id);
    let actor = Actor::System(delivery.subsystem.clone());
    let fired = portal
        .engine
        .fire(Fire {
            key: &key,
            case_id: &case.id,
            event: &accepted.report.event,
            actor: &actor,
            on_behalf: None,
            seen_state: &case.state,
        })
        .await;
    let state_after = match fired {
        Ok(moved) => moved.state,
        // This report fired it before its row was kept (a cut-off request): the case holds it.
        Err(EngineError::KeyReused { .. }) => match portal.engine.case(&case.id).await {
            Ok(now) => now.state,
            Err(e) => return engine_refused(&e),
        },
        Err(e) => return engine_refused(&e),
    };
    let (result_pdf, result_seal) = accepted.result.clone().unzip();
    let row = ProviderReportRow {
        delivery_id: delivery.id.clone(),
        report_id,
        case_id: case.id.clone(),
        participant: delivery
            .subsystem
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        event: accepted.report.event.clone(),
        report: accepted.text.clone(),
        seal: accepted.seal.clone(),
        result_number: accepted.report.result_number.clone(),
        result_pdf,
        result_seal,
        state_after,
        received_at: time_text(&now),
    };
    match portal.store.insert_provider_report(&row).await {
        Ok(Some(kept)) => replayed(&kept, &accepted),
        Ok(None) => {
            tracing::info!(
                "`{}` reported `{}` on case {} (delivery {})",
                delivery.subsystem,
                row.event,
                row.case_id,
                delivery.id
            );
            answer(StatusCode::OK, &row)
        }
        Err(e) => store_failed(&e),
    }
}

/// The answer to a report id seen before: the first outcome when it is the same report, a
/// refusal when the id now comes with other content.
fn replayed(kept: &ProviderReportRow, accepted: &Accepted) -> Response {
    let same_result = match &accepted.result {
        Some((pdf, _)) => kept.result_pdf.as_ref() == Some(pdf),
        None => kept.result_pdf.is_none(),
    };
    if kept.report == accepted.text && same_result {
        answer(StatusCode::OK, kept)
    } else {
        error(
            StatusCode::CONFLICT,
            "report_id_reused",
            format!(
                "report `{}` on delivery `{}` was already received with other content; give a \
                 new report a new `report_id`",
                kept.report_id, kept.delivery_id
            ),
        )
    }
}

fn answer(status: StatusCode, row: &ProviderReportRow) -> Response {
    (
        status,
        axum::Json(json!({
            "delivery_id": row.delivery_id,
            "report_id": row.report_id,
            "event": row.event,
            "state": row.state_after,
            "received_at": row.received_at,
        })),
    )
        .into_response()
}

/// The posted parts, each at most once.
async fn read(mut multipart: Multipart) -> Result<Posted, String> {
    let mut posted = Posted::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(posted),
            Err(e) => return Err(format!("the body is not a readable multipart form: {e}")),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| format!("the part `{name}` cannot be read: {e}"))?
            .to_vec();
        let slot = match name.as_str() {
            "report" => &mut posted.report,
            "seal" => &mut posted.seal,
            "result" => &mut posted.result,
            "result_seal" => &mut posted.result_seal,
            other => {
                return Err(format!(
                    "unknown part `{other}`; a report has `report`, `seal`, `result` and \
                     `result_seal`"
                ));
            }
        };
        if slot.replace(bytes).is_some() {
            return Err(format!("the part `{name}` is given more than once"));
        }
    }
}

fn bad_request(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "bad_request", message)
}

fn store_failed(e: &dyn std::fmt::Display) -> Response {
    tracing::error!("a provider's report cannot be handled: {e}");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "store_unavailable",
        "the store cannot be reached right now; send the report again later",
    )
}

fn engine_refused(e: &EngineError) -> Response {
    let status = match e {
        EngineError::Store(_) | EngineError::NoRevision => StatusCode::SERVICE_UNAVAILABLE,
        EngineError::UnknownCase(_) => StatusCode::NOT_FOUND,
        EngineError::NotAllowed { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::CONFLICT,
    };
    error(status, e.code(), e.to_string())
}
