//! The automatic checks of a received document (002 §3.4): addressed to this participant, its
//! files and signatures whole, each file clean by the virus scanner, in a format the
//! participant's incoming journals take, every signature or seal valid, chained to the spec's
//! trust anchors, valid when made and made by the document's author. Each failure is a ground.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use openssl::nid::Nid;
use openssl::x509::X509;

use super::grounds::Ground;
use crate::compile::Compiled;
use crate::portal::signature::{self, Refusal as SignatureRefusal, rnokpp_of};
use crate::portal::sniff::Format;
use crate::registry::cards::files::judge;
use crate::registry::exchange::scan::{Scanner, Verdict};
use crate::registry::exchange::sev::{Correspondent, Document, Envelope, SevTime};
use crate::spec::model::{self, Direction};

/// A document that passed every check: its files as judged, in the message's order.
#[derive(Debug)]
pub struct Accepted<'e> {
    pub files: Vec<CheckedFile<'e>>,
}

/// One file that passed: its format and each signature's signer.
#[derive(Debug)]
pub struct CheckedFile<'e> {
    pub idnumber: &'e str,
    pub name: &'e str,
    pub file_type: &'e str,
    pub content: &'e [u8],
    pub format: Format,
    pub signatures: Vec<CheckedSignature<'e>>,
}

/// A signature that holds: its bytes, who made it and when.
#[derive(Debug)]
pub struct CheckedSignature<'e> {
    pub der: &'e [u8],
    /// The certificate's subject as people read it.
    pub signer: String,
    pub signed_at: DateTime<Utc>,
}

/// Why a document was not accepted.
#[derive(Debug)]
pub enum NotAccepted {
    /// Refused on `ground`; `detail` says what failed, where (never a file's content).
    Refused { ground: Ground, detail: String },
    /// Not judged now (the virus scanner is missing or cannot be reached): handle it later.
    Later(String),
}

fn refused(ground: Ground, detail: impl Into<String>) -> NotAccepted {
    NotAccepted::Refused {
        ground,
        detail: detail.into(),
    }
}

/// Checks `envelope`'s document, received by `participant` (ours) from `sender` (as the gateway
/// authenticated it), at `now`.
pub async fn check<'e>(
    compiled: &Compiled,
    scanner: Option<&Scanner>,
    participant: &str,
    sender: &str,
    envelope: &'e Envelope,
    now: DateTime<Utc>,
) -> Result<Accepted<'e>, NotAccepted> {
    let Some(document) = envelope.body.document() else {
        return Err(refused(
            Ground::Integrity,
            "Header: the message carries a notice where a document was expected",
        ));
    };
    addressee(compiled, participant, envelope)?;
    structure(document)?;
    scan(scanner, document).await?;
    let formats = formats(compiled, participant, document)?;
    let zone = crate::portal::office::blocking::zone(compiled);
    let sender_edrpou = model::by_id(&compiled.spec.participants, sender)
        .map(|p| p.edrpou.as_str())
        .unwrap_or_default();
    if envelope.from_org_id != sender_edrpou {
        return Err(refused(
            Ground::Signature,
            format!(
                "Header/@from_org_id: the message names the sender {} but came from participant \
                 `{sender}` (EDRPOU {sender_edrpou})",
                envelope.from_org_id
            ),
        ));
    }
    let anchors = &compiled.gateway.trust.anchors;
    let mut files = Vec::with_capacity(document.files.len());
    for (file, format) in document.files.iter().zip(formats) {
        let mut signatures = Vec::new();
        for (i, info) in document.signatures_of(&file.idnumber).enumerate() {
            let at = format!("SignInfo {} of file {}", i + 1, file.idnumber);
            let signed_at = info
                .signing_time
                .map(|t| instant(&t, zone))
                .unwrap_or_else(|| instant(&envelope.time, zone));
            if signed_at > now + chrono::Duration::minutes(5) {
                return Err(refused(
                    Ground::Signature,
                    format!("{at}: signed at {signed_at}, after the document was received"),
                ));
            }
            let verified = signature::judge(&info.sign_data, &file.content, anchors, signed_at)
                .map_err(|why| signature_refusal(&at, &why))?;
            if let Some(declared) = &info.certificate
                && verified.signer.to_der().ok().as_deref() != Some(declared.as_slice())
            {
                return Err(refused(
                    Ground::Signature,
                    format!(
                        "{at}/CertificateData: not the certificate the signature was made with"
                    ),
                ));
            }
            author(&verified.signer, document, &envelope.from_org_id)
                .map_err(|why| refused(Ground::Signature, format!("{at}: {why}")))?;
            signatures.push(CheckedSignature {
                der: &info.sign_data,
                signer: crate::crypto::document_seal::subject_line(&verified.signer),
                signed_at,
            });
        }
        files.push(CheckedFile {
            idnumber: &file.idnumber,
            name: &file.name,
            file_type: &file.file_type,
            content: &file.content,
            format,
            signatures,
        });
    }
    Ok(Accepted { files })
}

fn instant(time: &SevTime, zone: Tz) -> DateTime<Utc> {
    time.instant()
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| {
            zone.from_local_datetime(&time.local)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
        .unwrap_or_else(|| Utc.from_utc_datetime(&time.local))
}

/// The message is addressed to `participant`, by its EDRPOU code.
fn addressee(
    compiled: &Compiled,
    participant: &str,
    envelope: &Envelope,
) -> Result<(), NotAccepted> {
    let ours = model::by_id(&compiled.spec.participants, participant).map(|p| p.edrpou.as_str());
    if ours == Some(envelope.to_org_id.as_str()) {
        return Ok(());
    }
    Err(refused(
        Ground::NotAddressed,
        format!(
            "Header/@to_org_id: the message is addressed to EDRPOU {}, not to participant \
             `{participant}` (EDRPOU {})",
            envelope.to_org_id,
            ours.unwrap_or("none")
        ),
    ))
}

/// The document's files and signatures hang together: at least one file, each numbered once,
/// each signed, and every signature of a file the message carries.
fn structure(document: &Document) -> Result<(), NotAccepted> {
    if document.files.is_empty() {
        return Err(refused(
            Ground::Integrity,
            "Header/Document: the document carries no file (DocTransfer)",
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in &document.files {
        if !seen.insert(file.idnumber.as_str()) {
            return Err(refused(
                Ground::Integrity,
                format!(
                    "Header/Document/DocTransfer: two files are numbered {}",
                    file.idnumber
                ),
            ));
        }
        if file.content.is_empty() {
            return Err(refused(
                Ground::Integrity,
                format!("DocTransfer {}: the file is empty", file.idnumber),
            ));
        }
        if document.signatures_of(&file.idnumber).next().is_none() {
            return Err(refused(
                Ground::Signature,
                format!(
                    "DocTransfer {}: the file carries no signature or seal (SignInfo)",
                    file.idnumber
                ),
            ));
        }
    }
    if let Some(stray) = document
        .signatures
        .iter()
        .find(|s| !seen.contains(s.doc_transfer_idnumber.as_str()))
    {
        return Err(refused(
            Ground::Integrity,
            format!(
                "Header/Expansion/StaticExpansion/SignInfo: a signature of file {}, which the \
                 message does not carry",
                stray.doc_transfer_idnumber
            ),
        ));
    }
    Ok(())
}

/// Every file scanned clean; a scanner missing or failing leaves the document for later.
async fn scan(scanner: Option<&Scanner>, document: &Document) -> Result<(), NotAccepted> {
    let Some(scanner) = scanner else {
        return Err(NotAccepted::Later(
            "no virus scanner is configured, so received documents are not accepted: start \
             `hromada serve` with --clamd ADDRESS (host:port or unix:/path of clamd)"
                .into(),
        ));
    };
    for file in &document.files {
        match scanner.scan(&file.content).await {
            Ok(Verdict::Clean) => {}
            Ok(Verdict::Infected { signature }) => {
                return Err(refused(
                    Ground::Infected,
                    format!("DocTransfer {}: ClamAV found {signature}", file.idnumber),
                ));
            }
            Err(e) => return Err(NotAccepted::Later(e.to_string())),
        }
    }
    Ok(())
}

/// Each file's format, when one of `participant`'s incoming journals takes it.
fn formats(
    compiled: &Compiled,
    participant: &str,
    document: &Document,
) -> Result<Vec<Format>, NotAccepted> {
    let journals: Vec<_> = compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == participant && j.direction == Direction::Incoming)
        .collect();
    if journals.is_empty() {
        return Err(refused(
            Ground::NotAddressed,
            format!("participant `{participant}` keeps no journal of incoming documents"),
        ));
    }
    document
        .files
        .iter()
        .map(|file| {
            let name = named(&file.name, &file.file_type);
            let mut first_problem = None;
            for journal in &journals {
                match judge(journal, &name, &file.content) {
                    Ok(format) => return Ok(format),
                    Err(problem) => {
                        first_problem.get_or_insert(problem);
                    }
                }
            }
            Err(refused(
                Ground::Format,
                format!(
                    "DocTransfer {}: {}",
                    file.idnumber,
                    first_problem.unwrap_or_default()
                ),
            ))
        })
        .collect()
}

/// The file's name with the extension its declared `type` gives, which the format is judged by.
pub fn named(name: &str, file_type: &str) -> String {
    let file_type = file_type.trim().trim_start_matches('.');
    let has = name
        .rsplit_once('.')
        .is_some_and(|(_, e)| e.eq_ignore_ascii_case(file_type));
    if has || file_type.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{file_type}")
    }
}

fn signature_refusal(at: &str, why: &SignatureRefusal) -> NotAccepted {
    match why {
        SignatureRefusal::OtherContent => refused(
            Ground::Integrity,
            format!("{at}: the file's bytes are not the bytes its signature was made over"),
        ),
        SignatureRefusal::Unreadable(e) => {
            refused(Ground::Signature, format!("{at}: not a CMS signature: {e}"))
        }
        SignatureRefusal::Signers(n) => refused(
            Ground::Signature,
            format!("{at}: the signature has {n} signers, not one"),
        ),
        SignatureRefusal::Untrusted(e) => refused(Ground::Signature, format!("{at}: {e}")),
        SignatureRefusal::NotValid(v) => refused(
            Ground::Signature,
            format!(
                "{at}: the certificate was valid from {} to {}, not when the file was signed",
                v.not_before.to_rfc3339(),
                v.not_after.to_rfc3339()
            ),
        ),
        SignatureRefusal::NotApplicant { .. } => {
            refused(Ground::Signature, format!("{at}: {}", why.reason()))
        }
    }
}

/// The signer is the document's author: the seal of the sending organisation (its EDRPOU in
/// `organizationIdentifier`), or an official of it named among the authors' signers (surname,
/// and given name where the message gives it), or a private person who is an author.
fn author(cert: &X509, document: &Document, from_org_id: &str) -> Result<(), String> {
    if let Some(edrpou) = seal_edrpou(cert) {
        let authored = document.authors.iter().any(
            |a| matches!(&a.who, Some(Correspondent::Organization(o)) if o.ogrn.as_str() == edrpou),
        );
        return if edrpou == from_org_id && authored {
            Ok(())
        } else {
            Err(format!(
                "sealed with the seal of EDRPOU {edrpou}, not of the author who sent it \
                 ({from_org_id})"
            ))
        };
    }
    if rnokpp_of(cert).is_none() {
        return Err("the certificate names neither an organisation's seal nor a person".into());
    }
    let surname = entry(cert, Nid::SURNAME).unwrap_or_default();
    let given = entry(cert, Nid::GIVENNAME);
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    let is = |name: &crate::registry::exchange::sev::PersonName| {
        let secname = name
            .secname
            .clone()
            .or_else(|| name.text.split_whitespace().next().map(str::to_string))
            .unwrap_or_default();
        let first_ok = match (&name.firstname, &given) {
            (Some(first), Some(given)) => same(first, given),
            _ => true,
        };
        !secname.is_empty() && same(&secname, &surname) && first_ok
    };
    let signed = document.authors.iter().any(|a| match &a.who {
        Some(Correspondent::Organization(o)) => {
            o.ogrn.as_str() == from_org_id && o.officials.iter().any(|p| is(&p.name))
        }
        Some(Correspondent::PrivatePerson(p)) => is(&p.name),
        None => false,
    });
    if signed {
        Ok(())
    } else {
        Err(format!(
            "signed by {}, who is not among the document's signers (Author)",
            crate::crypto::document_seal::subject_line(cert)
        ))
    }
}

/// The EDRPOU code a seal certificate's `organizationIdentifier` (`NTRUA-…`) carries.
fn seal_edrpou(cert: &X509) -> Option<String> {
    cert.subject_name().entries().find_map(|e| {
        let field = e.object().to_string();
        if field != "organizationIdentifier" && field != "2.5.4.97" {
            return None;
        }
        let text = e.data().to_string().ok()?;
        text.strip_prefix("NTRUA-").map(str::to_string)
    })
}

fn entry(cert: &X509, nid: Nid) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(nid)
        .next()
        .and_then(|e| e.data().to_string().ok())
        .map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_judged_by_its_declared_type() {
        assert_eq!(named("Лист", "pdf"), "Лист.pdf");
        assert_eq!(named("Лист.PDF", "pdf"), "Лист.PDF");
        assert_eq!(named("Лист.pdf", "docx"), "Лист.pdf.docx");
        assert_eq!(named("Лист.odt", ""), "Лист.odt");
    }
}
