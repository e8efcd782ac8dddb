//! Whether an issued document is intact before it is shown or handed out: its seals over its
//! text and its PDF are its participant's, under the applied trust anchors, and its PDF is the
//! original whose digest was recorded when it was issued. Shared by the cabinet and `/verify`.

use openssl::x509::X509;

use crate::compile::Compiled;
use crate::crypto::certs::parse_certificates;
use crate::crypto::document_seal::{subject_line, verify_detached};
use crate::store::{DocumentRow, OriginalKind, Store, original_digest, parse_time};

/// Who sealed a document whose seals hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealer {
    /// The participant's name in the applied spec.
    pub participant: String,
    /// The seal certificate's subject (`CN, O`).
    pub subject: String,
}

/// The seal certificate of `participant` in the applied revision.
pub fn seal_certificate(compiled: &Compiled, participant: &str) -> Result<X509, String> {
    let declared = compiled
        .spec
        .participant(participant)
        .ok_or_else(|| format!("participant `{participant}` is not in the spec"))?;
    compiled
        .documents
        .get(&declared.seal.cert)
        .and_then(|pem| parse_certificates(pem).ok())
        .and_then(|certs| certs.into_iter().next())
        .ok_or_else(|| {
            format!("the seal certificate of participant `{participant}` cannot be read")
        })
}

/// Whether `document`'s seals (over its text, and over its PDF where it has one) are its
/// sealing participant's, under an anchor, at its issue time.
pub fn check_seals(compiled: &Compiled, document: &DocumentRow) -> Result<Sealer, String> {
    let certificate = seal_certificate(compiled, &document.sealed_by)?;
    let sealed_at = parse_time(&document.issued_at)
        .ok_or_else(|| format!("the issue time `{}` does not parse", document.issued_at))?;
    let anchors = &compiled.gateway.trust.anchors;
    verify_detached(
        &document.signature,
        document.text.as_bytes(),
        &certificate,
        anchors,
        sealed_at,
    )
    .map_err(|e| format!("its text: {e}"))?;
    match (&document.pdf, &document.pdf_seal) {
        (Some(pdf), Some(seal)) => verify_detached(seal, pdf, &certificate, anchors, sealed_at)
            .map_err(|e| format!("its PDF: {e}"))?,
        (None, None) => {}
        _ => return Err("its PDF or the seal over it is missing".into()),
    }
    Ok(Sealer {
        participant: compiled
            .spec
            .participant(&document.sealed_by)
            .map_or_else(|| document.sealed_by.clone(), |p| p.name.clone()),
        subject: subject_line(&certificate),
    })
}

/// As [`check_seals`], and the PDF is the original recorded when it was issued.
pub async fn check_document(
    store: &Store,
    compiled: &Compiled,
    document: &DocumentRow,
) -> Result<Sealer, String> {
    let sealer = check_seals(compiled, document)?;
    if let Some(pdf) = &document.pdf {
        let original = store
            .original(OriginalKind::Document, &document.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the record of its original is missing")?;
        if original.digest != original_digest(pdf) {
            return Err("its PDF is not the original recorded when it was issued".into());
        }
    }
    Ok(sealer)
}
