//! Result documents a provider's own system reported on an application (003 §5.4): listed with
//! the issued documents, their seals checked again against the participant's certificate, and
//! downloaded as the PDF and its detached `.p7s` seal.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{owned, words};
use crate::compile::Compiled;
use crate::crypto::document_seal::verify_detached;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::portal::result_check::seal_certificate;
use crate::store::{ProviderReportRow, parse_time};

const PDF: &str = ".pdf";
const SEAL: &str = ".pdf.p7s";

/// The result documents among `reports` of application `application`, as its page lists
/// documents.
pub fn views(
    compiled: &Compiled,
    application: &str,
    e_service: &str,
    reports: &[ProviderReportRow],
    zone: Tz,
) -> Vec<Value> {
    let title = compiled
        .spec
        .e_services
        .iter()
        .find(|e| e.id == e_service)
        .and_then(|e| e.result.as_ref())
        .map_or("Рішення надавача послуги", |r| {
            r.description.as_str()
        });
    reports
        .iter()
        .filter(|r| r.result_pdf.is_some())
        .map(|report| {
            let participant = &report.participant;
            let sealed_by = compiled
                .spec
                .participant(participant)
                .map_or_else(|| participant.clone(), |p| p.name.clone());
            let link = format!(
                "/cabinet/applications/{application}/provider-results/{}",
                report.report_id
            );
            json!({
                "id": report.report_id,
                "title": title,
                "number": report.result_number,
                "issued_at": words::when(&report.received_at, zone),
                "sealed_by": sealed_by,
                "verified": check(compiled, participant, report).is_ok(),
                "official": null,
                "code": null,
                "revoked": null,
                "view_url": null,
                "pdf_url": format!("{link}{PDF}"),
                "pdf_seal_url": format!("{link}{SEAL}"),
                "text_url": null,
                "seal_url": null,
            })
        })
        .collect()
}

/// Where application `application` stands in its provider's own system, if it was handed there.
pub async fn delivery(
    portal: &PortalState,
    compiled: &Compiled,
    application: &str,
    zone: Tz,
) -> Result<Value, String> {
    let Some(delivery) = portal
        .store
        .delivery_of_application(application)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(Value::Null);
    };
    let system = compiled
        .spec
        .subsystem(&delivery.subsystem)
        .map_or_else(|| delivery.subsystem.clone(), |(_, s)| s.title.clone());
    Ok(json!({
        "system": system,
        "delivered_at": delivery.delivered_at.as_deref().map(|t| words::when(t, zone)),
        "reference": delivery.provider_reference,
    }))
}

/// Whether the result's seal is `participant`'s, over its bytes, under an anchor.
fn check(compiled: &Compiled, participant: &str, report: &ProviderReportRow) -> Result<(), String> {
    let (Some(pdf), Some(seal)) = (&report.result_pdf, &report.result_seal) else {
        return Err("the report holds no result".into());
    };
    let certificate = seal_certificate(compiled, participant)?;
    let at = parse_time(&report.received_at)
        .ok_or_else(|| format!("the time `{}` does not parse", report.received_at))?;
    verify_detached(seal, pdf, &certificate, &compiled.gateway.trust.anchors, at).inspect_err(
        |why| {
            tracing::warn!(
                report = %report.report_id,
                participant = %participant,
                "a provider's result document's seal does not verify: {why}"
            );
        },
    )
}

/// `GET /cabinet/applications/{id}/provider-results/{file}`: `{report}.pdf` or `{report}.pdf.p7s`.
pub async fn download(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    let (report_id, seal) = match file.strip_suffix(SEAL) {
        Some(report) => (report, true),
        None => (file.strip_suffix(PDF).unwrap_or(&file), false),
    };
    let Some((case, _)) = &owned.case else {
        return super::not_found(&portal, &chrome);
    };
    let reports = match portal.store.provider_reports_of_case(&case.id).await {
        Ok(reports) => reports,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let Some(report) = reports.into_iter().find(|r| r.report_id == report_id) else {
        return super::not_found(&portal, &chrome);
    };
    let (Some(pdf), Some(signature)) = (report.result_pdf, report.result_seal) else {
        return super::not_found(&portal, &chrome);
    };
    let (body, media_type, name) = if seal {
        (
            signature,
            "application/pkcs7-signature",
            format!("result-{report_id}{SEAL}"),
        )
    } else {
        (pdf, "application/pdf", format!("result-{report_id}{PDF}"))
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}
