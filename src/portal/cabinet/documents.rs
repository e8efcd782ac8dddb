//! The documents issued on an application: each shown with its number, who sealed it, whether
//! its seals hold and whether it was revoked; viewed and printed as a page, and downloaded as its
//! PDF visual form and text with their detached `.p7s` seals, which anyone can check with
//! `openssl cms -verify`. A document that is no longer intact is never handed out.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use serde_json::{Value, json};

use super::{Owned, owned, words};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::portal::pages::Chrome;
use crate::portal::result_check::check_document;
use crate::portal::revocation::ground_words;
use crate::store::{DocumentRow, OriginalKind, RevocationRow, time_text};

/// How the seal suffix is written in a document's address.
const SEAL_SUFFIX: &str = ".p7s";
const PDF_SUFFIX: &str = ".pdf";

/// `document` of application `application` as its page lists it; `intact` says whether its
/// seals and original hold.
pub fn view(
    compiled: &Compiled,
    application: &str,
    document: &DocumentRow,
    intact: bool,
    revocation: Option<&RevocationRow>,
    zone: Tz,
) -> Value {
    let sealed_by = compiled
        .spec
        .participant(&document.sealed_by)
        .map_or_else(|| document.sealed_by.clone(), |p| p.name.clone());
    let link = format!(
        "/cabinet/applications/{application}/documents/{}",
        document.id
    );
    let has_pdf = document.pdf.is_some();
    json!({
        "id": document.id,
        "title": document.title,
        "number": document.number,
        "issued_at": words::when(&document.issued_at, zone),
        "sealed_by": sealed_by,
        "official": document.official_name.as_ref().map(|name| json!({
            "name": name,
            "position": document.official_position,
        })),
        "code": document.code,
        "verified": intact,
        "revoked": revocation.map(|r| json!({
            "at": words::when(&r.revoked_at, zone),
            "ground": ground_words(&r.ground).unwrap_or("з інших причин"),
            "reason": r.reason,
        })),
        "view_url": format!("{link}/view"),
        "pdf_url": has_pdf.then(|| format!("{link}{PDF_SUFFIX}")),
        "pdf_seal_url": has_pdf.then(|| format!("{link}{PDF_SUFFIX}{SEAL_SUFFIX}")),
        "text_url": link,
        "seal_url": format!("{link}{SEAL_SUFFIX}"),
    })
}

/// The documents of an owned application as its page lists them, each checked.
pub async fn views(
    portal: &PortalState,
    compiled: &Compiled,
    application: &str,
    issued: &[DocumentRow],
    zone: Tz,
) -> Result<Vec<Value>, String> {
    let mut views = Vec::with_capacity(issued.len());
    for document in issued {
        let intact = intact(portal, compiled, document).await;
        let revocation = portal
            .store
            .revocation(&document.id)
            .await
            .map_err(|e| e.to_string())?;
        views.push(view(
            compiled,
            application,
            document,
            intact,
            revocation.as_ref(),
            zone,
        ));
    }
    Ok(views)
}

/// Whether `document` is intact; why not goes to the log (no personal data: ids only).
async fn intact(portal: &PortalState, compiled: &Compiled, document: &DocumentRow) -> bool {
    match check_document(&portal.store, compiled, document).await {
        Ok(_) => true,
        Err(why) => {
            tracing::error!(
                document = %document.id,
                participant = %document.sealed_by,
                "an issued document is not intact, so it is not handed out: {why}; its row in \
                 the store was changed after it was issued, restore it from a backup"
            );
            false
        }
    }
}

/// Document `doc` of the signed-in person's application `id`, or the page to answer instead.
async fn owned_document(
    portal: &PortalState,
    citizen: &Citizen,
    chrome: &Chrome,
    id: &str,
    doc: &str,
) -> Result<(Owned, DocumentRow), Response> {
    let owned = owned(portal, citizen, chrome, id).await?;
    let Some((case, _)) = &owned.case else {
        return Err(no_document(portal, chrome));
    };
    if let Some(compiled) = portal.current.load_full()
        && let Some(unpaid) = crate::portal::payments::withheld::result_unpaid(
            portal,
            &compiled,
            chrome,
            &owned.application.e_service,
            &owned.application.draft_id,
        )
        .await
    {
        return Err(unpaid);
    }
    let issued = portal
        .store
        .documents_of_case(&case.id)
        .await
        .map_err(|e| super::unavailable(portal, chrome, &e.to_string()))?;
    match issued.into_iter().find(|d| d.id == doc) {
        Some(document) => Ok((owned, document)),
        None => Err(no_document(portal, chrome)),
    }
}

/// `GET /cabinet/applications/{id}/documents/{doc}` (the text), `…/{doc}.p7s` (its seal),
/// `…/{doc}.pdf` (the visual form) and `…/{doc}.pdf.p7s` (the PDF's seal).
pub async fn download(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let (doc, seal) = match doc.strip_suffix(SEAL_SUFFIX) {
        Some(doc) => (doc.to_string(), true),
        None => (doc, false),
    };
    let (doc, pdf) = match doc.strip_suffix(PDF_SUFFIX) {
        Some(doc) => (doc.to_string(), true),
        None => (doc, false),
    };
    let (_, document) = match owned_document(&portal, &citizen, &chrome, &id, &doc).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if !intact(&portal, &compiled, &document).await {
        return not_intact(&portal, &chrome);
    }
    let base = format!("document-{}", document.id);
    let (body, media_type, file) = match (pdf, seal) {
        (true, _) if document.pdf.is_none() => return no_document(&portal, &chrome),
        (true, false) => {
            let at = time_text(&portal.engine.clock().now());
            if let Err(e) = portal
                .store
                .original_delivered(OriginalKind::Document, &document.id, &at)
                .await
            {
                return super::unavailable(&portal, &chrome, &e.to_string());
            }
            (
                document.pdf.unwrap_or_default(),
                "application/pdf",
                format!("{base}.pdf"),
            )
        }
        (true, true) => (
            document.pdf_seal.unwrap_or_default(),
            "application/pkcs7-signature",
            format!("{base}.pdf.p7s"),
        ),
        (false, true) => (
            document.signature,
            "application/pkcs7-signature",
            format!("{base}.txt.p7s"),
        ),
        (false, false) => (
            document.text.into_bytes(),
            "text/plain; charset=utf-8",
            format!("{base}.txt"),
        ),
    };
    attachment(body, media_type, &file)
}

/// `GET /cabinet/applications/{id}/documents/{doc}/view`: the document as a page that also
/// prints cleanly.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((id, doc)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let (owned, document) = match owned_document(&portal, &citizen, &chrome, &id, &doc).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if !intact(&portal, &compiled, &document).await {
        return not_intact(&portal, &chrome);
    }
    let revocation = match portal.store.revocation(&document.id).await {
        Ok(revocation) => revocation,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = owned
        .case
        .as_ref()
        .map_or(chrono_tz::Europe::Kyiv, |(_, r)| {
            words::zone_of(&r.definition.calendar)
        });
    let mut view = view(
        &compiled,
        &owned.application.id,
        &document,
        true,
        revocation.as_ref(),
        zone,
    );
    view["application"] = json!({"id": owned.application.id, "number": owned.application.number});
    view["paragraphs"] = json!(
        document
            .text
            .trim()
            .split("\n\n")
            .map(str::trim)
            .collect::<Vec<_>>()
    );
    portal
        .pages
        .render(StatusCode::OK, "cabinet/document.html", &chrome, view)
}

/// A download of `body` as `file`, never cached or sniffed.
pub fn attachment(body: Vec<u8>, media_type: &'static str, file: &str) -> Response {
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

fn no_document(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Документ не знайдено",
        "За цією заявою немає такого документа. Відкрийте сторінку заяви, щоб побачити видані \
         документи.",
    )
}

/// The page of a stored original that no longer matches its seal or digest.
pub fn not_intact(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::CONFLICT,
        chrome,
        "Документ не можна видати",
        "Збережений документ не збігається з печаткою, якою його засвідчено, тому портал його не \
         видає. Адміністратора повідомлено; зверніться до надавача послуги.",
    )
}
