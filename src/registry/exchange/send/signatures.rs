//! Whether every file of a card carries a valid signature or seal of its signer (002 §3.3),
//! judged from the card's stored signatures: the card's signer's own signature (RNOKPP) or the
//! participant's seal, chained to the trust anchors, valid when it was added to the card.

use chrono::{DateTime, Utc};
use openssl::x509::X509;

use crate::compile::Compiled;
use crate::crypto::document_seal::verify_detached;
use crate::portal::result_check::seal_certificate;
use crate::portal::signature::{self, Refusal};
use crate::registry::cards::sign::signer_of;
use crate::store::{CardFileRow, CardRow, Store, StoreError, parse_time};

/// A file of the card with the detached signature (or seal) that holds over it.
pub struct SignedFile {
    pub file: CardFileRow,
    pub content: Vec<u8>,
    /// The CMS SignedData (DER).
    pub signature: Vec<u8>,
    /// The signer's (or seal's) certificate (DER).
    pub certificate: Vec<u8>,
    /// When the signature was added to the card.
    pub signed_at: DateTime<Utc>,
}

/// A file that cannot be sent, and why, in the registrar's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblem {
    pub file: String,
    pub problem: String,
}

/// Why a card's files cannot be sent.
#[derive(Debug)]
pub enum Unsigned {
    Problems(Vec<FileProblem>),
    Store(StoreError),
}

impl From<StoreError> for Unsigned {
    fn from(e: StoreError) -> Unsigned {
        Unsigned::Store(e)
    }
}

/// A stored signature file of the card.
struct Stored {
    file: CardFileRow,
    der: Vec<u8>,
    at: DateTime<Utc>,
}

/// Every file of `card` (all but its signatures) with the signature that holds over it, or a
/// problem for each file without one.
pub async fn signed_files(
    store: &Store,
    compiled: &Compiled,
    card: &CardRow,
) -> Result<Vec<SignedFile>, Unsigned> {
    let files = store.card_files(&card.id).await?;
    let mut signatures = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.role == "signature" && f.destroyed_at.is_none())
    {
        let Some(der) = store.blob(&f.sha256).await? else {
            continue;
        };
        let at = parse_time(&f.added_at).ok_or_else(|| {
            StoreError::new(format!(
                "file {} of card {} has a malformed time `{}`; the row was changed outside \
                 hromada",
                f.n, card.id, f.added_at
            ))
        })?;
        signatures.push(Stored {
            file: f.clone(),
            der,
            at,
        });
    }
    let signer = signer_of(compiled, card).and_then(|o| o.rnokpp.clone());
    let seal = seal_certificate(compiled, &card.participant).ok();
    let anchors = &compiled.gateway.trust.anchors;
    let mut signed = Vec::new();
    let mut problems = Vec::new();
    let documents: Vec<&CardFileRow> = files.iter().filter(|f| f.role != "signature").collect();
    if documents.is_empty() {
        problems.push(FileProblem {
            file: String::new(),
            problem: "У картці немає файлу документа: надсилають лише підписаний електронний \
                      документ."
                .into(),
        });
    }
    for file in documents {
        if file.destroyed_at.is_some() {
            problems.push(FileProblem {
                file: file.file_name.clone(),
                problem: "вміст файлу знищено за актом; його не можна надіслати".into(),
            });
            continue;
        }
        let Some(content) = store.blob(&file.sha256).await? else {
            problems.push(FileProblem {
                file: file.file_name.clone(),
                problem: "вмісту файлу немає у сховищі".into(),
            });
            continue;
        };
        let judged = judge(
            &content,
            &signatures,
            signer.as_deref(),
            seal.as_ref(),
            anchors,
        );
        match judged {
            Ok((stored, certificate)) => signed.push(SignedFile {
                file: file.clone(),
                content,
                signature: stored.der.clone(),
                certificate,
                signed_at: stored.at,
            }),
            Err(problem) => problems.push(FileProblem {
                file: file.file_name.clone(),
                problem,
            }),
        }
    }
    if problems.is_empty() {
        Ok(signed)
    } else {
        Err(Unsigned::Problems(problems))
    }
}

/// The stored signature that holds over `content` (the signer's, else the participant's seal)
/// and its certificate; else the most telling reason none does.
fn judge<'s>(
    content: &[u8],
    signatures: &'s [Stored],
    signer: Option<&str>,
    seal: Option<&X509>,
    anchors: &[X509],
) -> Result<(&'s Stored, Vec<u8>), String> {
    let mut telling: Option<String> = None;
    for stored in signatures {
        if let Some(rnokpp) = signer {
            match signature::verify(&stored.der, content, anchors, rnokpp, stored.at) {
                Ok(verified) => {
                    let der = verified.signer.to_der().map_err(|e| e.to_string())?;
                    return Ok((stored, der));
                }
                Err(Refusal::OtherContent | Refusal::Unreadable(_) | Refusal::Signers(_)) => {}
                Err(refusal) => {
                    telling.get_or_insert_with(|| signer_words(&refusal, &stored.file));
                }
            }
        }
        if let Some(seal) = seal {
            match verify_detached(&stored.der, content, seal, anchors, stored.at) {
                Ok(()) => {
                    let der = seal.to_der().map_err(|e| e.to_string())?;
                    return Ok((stored, der));
                }
                Err(why) if why.contains("does not match") || why.contains("not a CMS") => {}
                Err(why) => {
                    telling.get_or_insert_with(|| {
                        format!(
                            "печатка установи у файлі «{}» не дійсна: {why}",
                            stored.file.file_name
                        )
                    });
                }
            }
        }
    }
    Err(telling.unwrap_or_else(|| {
        if signer.is_none() && seal.is_none() {
            "у картці не зазначено підписувача з РНОКПП, і печатка установи недоступна: \
             підпис файлу перевірити нічим"
                .into()
        } else {
            "файл не має підпису підписувача чи печатки установи, що засвідчують саме його \
             вміст (002 п.3.3)"
                .into()
        }
    }))
}

/// A signature over the file that fails for a reason other than its content, in words.
fn signer_words(refusal: &Refusal, file: &CardFileRow) -> String {
    let name = &file.file_name;
    match refusal {
        Refusal::Untrusted(_) => {
            format!("підпис «{name}» зроблено сертифікатом від надавача, якому система не довіряє")
        }
        Refusal::NotValid(v) => format!(
            "сертифікат підпису «{name}» чинний з {} до {}, а підпис додано поза цим строком",
            v.not_before.date_naive(),
            v.not_after.date_naive()
        ),
        Refusal::NotApplicant { .. } => {
            format!("підпис «{name}» зроблено не підписувачем, якого називає картка")
        }
        Refusal::Unreadable(_) | Refusal::Signers(_) | Refusal::OtherContent => {
            format!("підпис «{name}» не засвідчує цей файл")
        }
    }
}
