//! The applicant's original signed application, as it was received: the canonical JSON exactly
//! as signed and the applicant's detached `.p7s`, handed out only while the bytes are those whose
//! digest was recorded on receipt and the signature still holds over them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use openssl::cms::{CMSOptions, CmsContentInfo};

use super::documents::{attachment, not_intact};
use super::owned;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::store::{ApplicationRow, OriginalKind, Store, original_digest};

/// `GET /cabinet/applications/{id}/original`.
pub async fn document(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    serve(&portal, &citizen, &id, false).await
}

/// `GET /cabinet/applications/{id}/original.p7s`.
pub async fn signature(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    serve(&portal, &citizen, &id, true).await
}

async fn serve(portal: &PortalState, citizen: &Citizen, id: &str, signature: bool) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(portal);
    };
    let chrome = citizen.chrome(&compiled);
    let application = match owned(portal, citizen, &chrome, id).await {
        Ok(owned) => owned.application,
        Err(refused) => return refused,
    };
    if let Err(why) = intact(&portal.store, &application).await {
        tracing::error!(
            application = %application.id,
            "a signed application is not intact, so it is not handed out: {why}; its row in \
             the store was changed after it was received, restore it from a backup"
        );
        return not_intact(portal, &chrome);
    }
    let file = format!("application-{}.json", application.id);
    match (signature, application.signature) {
        (false, _) => attachment(application.document.into_bytes(), "application/json", &file),
        (true, Some(p7s)) => attachment(p7s, "application/pkcs7-signature", &format!("{file}.p7s")),
        (true, None) => portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Підпису немає",
            "Ця послуга не потребувала електронного підпису, тому заяву подано без файлу підпису.",
        ),
    }
}

/// Whether `application`'s bytes are those recorded on receipt and its signature (if any)
/// holds over them.
pub async fn intact(store: &Store, application: &ApplicationRow) -> Result<(), String> {
    let bytes = application.document.as_bytes();
    if let Some(original) = store
        .original(OriginalKind::Application, &application.id)
        .await
        .map_err(|e| e.to_string())?
        && original.digest != original_digest(bytes)
    {
        return Err("its document is not the original recorded on receipt".into());
    }
    if let Some(p7s) = &application.signature {
        let mut cms = CmsContentInfo::from_der(p7s)
            .map_err(|_| "its signature is not a CMS signature (DER)".to_string())?;
        cms.verify(
            None,
            None,
            Some(bytes),
            None,
            CMSOptions::BINARY | CMSOptions::NO_SIGNER_CERT_VERIFY,
        )
        .map_err(|_| "its signature does not match its document".to_string())?;
    }
    Ok(())
}
