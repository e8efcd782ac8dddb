//! `POST /office/documents/{doc}/revoke` (PORTAL-8): an official of the provider that sealed a
//! document, holding `applications-decide`, revokes it on one of the fixed grounds with their own
//! reason; recorded once, logged in the officials' access log, and shown in the applicant's
//! cabinet and on `/verify`. The document itself never changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;

use super::access_log;
use super::official::Official;
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::pages::Chrome;
use crate::portal::revocation::{GROUNDS, ground_words};
use crate::portal::sign_in::form_value;
use crate::spec::model::Permission;
use crate::store::{DocumentRow, RevocationRow, time_text};

/// The longest reason an official may give.
const MAX_REASON: usize = 1000;

/// What the revocation form sends (`csrf` apart).
#[derive(Debug, Default)]
pub struct Posted {
    ground: Option<String>,
    reason: Option<String>,
}

/// `GET /office/documents/{doc}/revoke`: the form.
pub async fn confirm(
    State(portal): State<PortalState>,
    official: Official,
    Path(doc): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::home::starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let document = match allowed(&portal, &compiled, &official, &chrome, &doc).await {
        Ok(document) => document,
        Err(refused) => return refused,
    };
    let detail = format!("document {}", document.id);
    let seen = Some(document.case_id.as_str());
    if let Err(e) = access_log::record(&portal.store, &official, "revoke-form", seen, &detail).await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    form(
        &portal,
        &chrome,
        StatusCode::OK,
        &document,
        &Posted::default(),
        &[],
    )
}

/// `POST /office/documents/{doc}/revoke`.
pub async fn revoke(
    State(portal): State<PortalState>,
    official: Official,
    Path(doc): Path<String>,
    body: Bytes,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::home::starting(&portal);
    };
    if let Err(refused) = official.check_csrf(form_value(&body, "csrf").as_deref()) {
        return refused;
    }
    let posted = Posted {
        ground: form_value(&body, "ground"),
        reason: form_value(&body, "reason"),
    };
    let chrome = official.chrome(&compiled);
    let document = match allowed(&portal, &compiled, &official, &chrome, &doc).await {
        Ok(document) => document,
        Err(refused) => return refused,
    };
    let ground = posted.ground.as_deref().unwrap_or_default();
    let reason = posted.reason.as_deref().unwrap_or_default().trim();
    let mut errors = Vec::new();
    if ground_words(ground).is_none() {
        errors.push(json!({"field": "ground-error", "message": "Виберіть підставу відкликання"}));
    }
    if reason.is_empty() {
        errors.push(json!({"field": "reason", "message": "Напишіть, чому документ відкликано: це прочитає заявник"}));
    } else if reason.chars().count() > MAX_REASON {
        errors.push(json!({"field": "reason", "message":
            format!("Причина має бути не довшою за {MAX_REASON} символів")}));
    }
    if !errors.is_empty() {
        return form(
            &portal,
            &chrome,
            StatusCode::BAD_REQUEST,
            &document,
            &posted,
            &errors,
        );
    }
    let revocation = RevocationRow {
        document_id: document.id.clone(),
        revoked_at: time_text(&portal.engine.clock().now()),
        revoked_by: official.id.clone(),
        ground: ground.to_string(),
        reason: reason.to_string(),
    };
    let revoked = match portal.store.revoke_document(&revocation).await {
        Ok(revoked) => revoked,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if !revoked {
        return portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Документ уже відкликано",
            "Цей документ відкликано раніше; повторно відкликати його не можна.",
        );
    }
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "revoke",
        Some(&document.case_id),
        &format!("document {} ground {ground}", document.id),
    )
    .await
    {
        tracing::error!(
            "the revocation of document {} is not in the access log: {e}",
            document.id
        );
    }
    tracing::info!(
        document = %document.id,
        ground,
        "document revoked by an official of {}",
        document.sealed_by
    );
    portal.pages.render(
        StatusCode::OK,
        "office/revoked.html",
        &chrome,
        json!({
            "title": document.title,
            "number": document.number,
            "ground": ground_words(ground),
            "case": document.case_id,
        }),
    )
}

/// Document `doc` if `official` may revoke it: they hold `applications-decide` (else 403), and
/// it was sealed by their participant (another provider's document is "not found", as one that
/// does not exist).
async fn allowed(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    chrome: &Chrome,
    doc: &str,
) -> Result<DocumentRow, Response> {
    official
        .require(portal, compiled, Permission::ApplicationsDecide)
        .await?;
    let document = match portal.store.document(doc).await {
        Ok(Some(document)) if document.sealed_by == official.participant() => document,
        Ok(_) => {
            return Err(portal.pages.problem(
                StatusCode::NOT_FOUND,
                chrome,
                "Документ не знайдено",
                "Серед документів, виданих вашою установою, такого немає.",
            ));
        }
        Err(e) => return Err(unavailable(portal, chrome, &e.to_string())),
    };
    Ok(document)
}

fn form(
    portal: &PortalState,
    chrome: &Chrome,
    status: StatusCode,
    document: &DocumentRow,
    posted: &Posted,
    errors: &[serde_json::Value],
) -> Response {
    portal.pages.render(
        status,
        "office/revoke.html",
        chrome,
        json!({
            "id": document.id,
            "title": document.title,
            "number": document.number,
            "grounds": GROUNDS.iter().map(|(k, w)| json!({"key": k, "words": w})).collect::<Vec<_>>(),
            "ground": posted.ground,
            "reason": posted.reason,
            "errors": errors,
        }),
    )
}

fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("a document cannot be revoked: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Відкликання тимчасово недоступне",
        "Документ не відкликано, нічого не змінено. Спробуйте ще раз за кілька хвилин.",
    )
}
