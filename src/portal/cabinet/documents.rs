//! The documents issued on an application: each shown with its number, who sealed it and
//! whether the seal holds (checked against the applied revision's trust anchors), and downloaded
//! as its text and its detached `.p7s` seal, which anyone can check with `openssl cms -verify`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{owned, words};
use crate::compile::Compiled;
use crate::crypto::certs::parse_certificates;
use crate::crypto::document_seal::verify_detached;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::store::{DocumentRow, parse_time};

/// How the seal suffix is written in a document's address.
const SEAL_SUFFIX: &str = ".p7s";

/// `document` of application `application` as its page lists it.
pub fn view(compiled: &Compiled, application: &str, document: &DocumentRow, zone: Tz) -> Value {
    let sealed_by = compiled
        .spec
        .participant(&document.sealed_by)
        .map_or_else(|| document.sealed_by.clone(), |p| p.name.clone());
    let link = format!(
        "/cabinet/applications/{application}/documents/{}",
        document.id
    );
    let verified = match check_seal(compiled, document) {
        Ok(()) => true,
        Err(why) => {
            tracing::warn!(
                document = %document.id,
                participant = %document.sealed_by,
                "an issued document's seal does not verify: {why}"
            );
            false
        }
    };
    json!({
        "id": document.id,
        "title": document.title,
        "number": document.number,
        "issued_at": words::when(&document.issued_at, zone),
        "sealed_by": sealed_by,
        "verified": verified,
        "text_url": link,
        "seal_url": format!("{link}{SEAL_SUFFIX}"),
    })
}

/// Whether `document`'s seal is its sealing participant's, over its text, under an anchor.
pub fn check_seal(compiled: &Compiled, document: &DocumentRow) -> Result<(), String> {
    let participant = compiled
        .spec
        .participant(&document.sealed_by)
        .ok_or_else(|| format!("participant `{}` is not in the spec", document.sealed_by))?;
    let certificate = compiled
        .documents
        .get(&participant.seal.cert)
        .and_then(|pem| parse_certificates(pem).ok())
        .and_then(|certs| certs.into_iter().next())
        .ok_or_else(|| {
            format!(
                "the seal certificate of participant `{}` cannot be read",
                participant.id
            )
        })?;
    let sealed_at = parse_time(&document.issued_at)
        .ok_or_else(|| format!("the issue time `{}` does not parse", document.issued_at))?;
    verify_detached(
        &document.signature,
        document.text.as_bytes(),
        &certificate,
        &compiled.gateway.trust.anchors,
        sealed_at,
    )
}

/// `GET /cabinet/applications/{id}/documents/{doc}` (the text) and `…/{doc}.p7s` (its seal).
pub async fn download(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    let (doc, seal) = match doc.strip_suffix(SEAL_SUFFIX) {
        Some(doc) => (doc.to_string(), true),
        None => (doc, false),
    };
    let Some((case, _)) = &owned.case else {
        return no_document(&portal, &chrome);
    };
    let issued = match portal.store.documents_of_case(&case.id).await {
        Ok(issued) => issued,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let Some(document) = issued.into_iter().find(|d| d.id == doc) else {
        return no_document(&portal, &chrome);
    };
    let file = format!("document-{}.txt", document.id);
    let (body, media_type, file) = if seal {
        (
            document.signature,
            "application/pkcs7-signature",
            format!("{file}{SEAL_SUFFIX}"),
        )
    } else {
        (
            document.text.into_bytes(),
            "text/plain; charset=utf-8",
            file,
        )
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn no_document(portal: &PortalState, chrome: &crate::portal::pages::Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Документ не знайдено",
        "За цією заявою немає такого документа. Відкрийте сторінку заяви, щоб побачити видані \
         документи.",
    )
}
