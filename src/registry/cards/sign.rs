//! `GET/POST /registry/cards/{id}/sign`: an outgoing document is registered when it is signed
//! (п.55, п.84): the signer's detached CMS signature over the card's original is uploaded,
//! judged (one signer, these bytes, a chain to the trust anchors, the certificate's RNOKPP that
//! of the official the card names as signer), kept as the card's file and the card registered
//! under the journal's next number with the system's date, all in one transaction.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::edit::{declared, open_for_change};
use super::fields::{self, Problem};
use super::numbering::{NumberError, register_in};
use super::{Opened, conflict, log_access, see_other};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::office::blocking;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::portal::signature::{self, Refusal};
use crate::spec::model::{self, Direction};
use crate::store::{CardChange, CardRow, NewCardFile, StoreError, content_hash};

/// The largest signature file taken.
const MAX_SIGNATURE: usize = 256 * 1024;

/// A refusal of a signature in the registrar's words.
fn refusal_words(refusal: &Refusal, signer: &str) -> String {
    match refusal {
        Refusal::Unreadable(_) => "Завантажений файл не є підписом CMS. Завантажте файл \
             підпису (.p7s) у форматі DER або PEM, створений для оригіналу цього документа."
            .into(),
        Refusal::Signers(n) => {
            format!("Підпис має містити рівно одного підписувача, а містить {n}.")
        }
        Refusal::OtherContent => "Підпис не відповідає оригіналу документа: підписано інший \
             файл. Завантажте оригінал з картки, підпишіть саме його і завантажте підпис."
            .into(),
        Refusal::Untrusted(_) => "Сертифікат підпису видав надавач, якому система не довіряє. \
             Документ підписують кваліфікованим сертифікатом від довіреного надавача."
            .into(),
        Refusal::NotValid(v) => format!(
            "Сертифікат підпису чинний з {} до {}, а не зараз.",
            v.not_before.date_naive(),
            v.not_after.date_naive()
        ),
        Refusal::NotApplicant { .. } => format!(
            "Документ підписано сертифікатом не тієї особи: підписати його має {signer}, \
             зазначений у картці як підписувач, власним ключем."
        ),
    }
}

/// The official card names as signer, when they are an official of its participant.
pub fn signer_of<'c>(compiled: &'c Compiled, card: &CardRow) -> Option<&'c model::Official> {
    let id = card.signer.as_deref()?;
    model::by_id(&compiled.spec.officials, id)
        .filter(|o| o.unit.split('/').next() == Some(card.participant.as_str()))
}

async fn opened_outgoing(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
) -> Result<Opened, Response> {
    let opened = open_for_change(portal, compiled, official, id).await?;
    if opened.card.direction != "outgoing" || opened.card.status != "draft" {
        return Err(conflict(
            portal,
            compiled,
            official,
            "Підписувати нічого",
            "Підпис при реєстрації приймається лише для незареєстрованого вихідного документа.",
        ));
    }
    Ok(opened)
}

/// `GET /registry/cards/{id}/sign`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let opened = match opened_outgoing(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    render(&portal, &compiled, &official, &opened, &[], StatusCode::OK).await
}

async fn render(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    opened: &Opened,
    problems: &[Problem],
    status: StatusCode,
) -> Response {
    let files = match portal.store.card_files(&opened.card.id).await {
        Ok(files) => files,
        Err(e) => return unavailable(portal, &official.chrome(compiled), &e.to_string()),
    };
    let original = files.iter().rev().find(|f| f.role == "original");
    let signer = signer_of(compiled, &opened.card);
    portal.pages.render(
        status,
        "registry/card_sign.html",
        &official.chrome(compiled),
        json!({
            "card": {"id": opened.card.id, "version": opened.card.version,
                     "summary": opened.card.summary},
            "original": original.map(|f| json!({
                "name": f.file_name,
                "href": format!("/registry/cards/{}/files/{}", opened.card.id, f.n),
                "sha256": f.sha256,
            })),
            "signer": signer.map(|o| format!("{}, {}", o.name, o.position)),
            "errors": problems.iter()
                .map(|p| json!({"field": p.field, "message": p.message}))
                .collect::<Vec<_>>(),
        }),
    )
}

#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    version: Option<String>,
    signature: Vec<u8>,
    too_large: bool,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        match field.name() {
            Some("csrf") => upload.csrf = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("version") => {
                upload.version = Some(field.text().await.map_err(|e| e.to_string())?);
            }
            Some("signature") => {
                while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
                    if upload.signature.len() + chunk.len() > MAX_SIGNATURE {
                        upload.too_large = true;
                        upload.signature.clear();
                        continue;
                    }
                    if !upload.too_large {
                        upload.signature.extend_from_slice(&chunk);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /registry/cards/{id}/sign` (multipart `csrf`, `version`, `signature`).
pub async fn sign(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let Ok(upload) = read_upload(multipart).await else {
        return portal.pages.problem(
            StatusCode::BAD_REQUEST,
            &chrome,
            "Підпис не отримано",
            "Надсилання підпису перервалося або форма пошкоджена. Спробуйте ще раз.",
        );
    };
    if let Err(refused) = official.check_csrf(upload.csrf.as_deref()) {
        return refused;
    }
    let opened = match opened_outgoing(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let (journal, kind) = match declared(&portal, &compiled, &official, &opened.card) {
        Ok(d) => d,
        Err(page) => return page,
    };
    if journal.direction != Direction::Outgoing {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Підписувати нічого",
            "Журнал картки не вихідний.",
        );
    }
    if upload.version.as_deref().and_then(|v| v.parse().ok()) != Some(opened.card.version) {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Картку вже змінили",
            "Поки ви підписували документ, картку змінив хтось інший. Відкрийте її ще раз, \
             перевірте оригінал і підпишіть знову.",
        );
    }
    let refuse = |problems: Vec<Problem>| {
        let (portal, compiled, official, opened) = (&portal, &compiled, &official, &opened);
        async move {
            render(
                portal,
                compiled,
                official,
                opened,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    let files = match portal.store.card_files(&id).await {
        Ok(files) => files,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let mut problems = fields::missing(&opened.card, journal, kind, &files);
    let signer = signer_of(&compiled, &opened.card);
    let rnokpp = signer.and_then(|o| o.rnokpp.clone());
    if rnokpp.is_none() && !problems.iter().any(|p| p.field == "signer") {
        problems.push(Problem {
            field: "signer".into(),
            message: "У полі «Хто підписав» вкажіть логін посадової особи своєї установи, \
                      чий РНОКПП є в специфікації: її підпис реєструє документ"
                .into(),
        });
    }
    if !problems.is_empty() {
        return refuse(problems).await;
    }
    let (Some(signer), Some(rnokpp)) = (signer, rnokpp) else {
        return refuse(Vec::new()).await;
    };
    let Some(original) = files.iter().rev().find(|f| f.role == "original") else {
        return refuse(vec![Problem {
            field: "file".into(),
            message: "Додайте файл документа (оригінал), який підписують".into(),
        }])
        .await;
    };
    if upload.too_large || upload.signature.is_empty() {
        return refuse(vec![Problem {
            field: "signature".into(),
            message: "Виберіть файл підпису (.p7s), не більший за 256 КБ".into(),
        }])
        .await;
    }
    let content = match portal.store.blob(&original.sha256).await {
        Ok(Some(content)) if content_hash(&content) == original.sha256 => content,
        Ok(_) => {
            tracing::error!(
                "the original (file {}) of card {id} does not match its digest",
                original.n
            );
            return unavailable(
                &portal,
                &chrome,
                "a card's original does not match its digest",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let now = official.now();
    let verified = match signature::verify(
        &upload.signature,
        &content,
        &compiled.gateway.trust.anchors,
        &rnokpp,
        now,
    ) {
        Ok(v) => v,
        Err(refusal) => {
            tracing::info!(
                "official {} was refused a signature for card {id}: {}",
                official.id,
                refusal.reason()
            );
            return refuse(vec![Problem {
                field: "signature".into(),
                message: refusal_words(&refusal, &signer.name),
            }])
            .await;
        }
    };
    let actor = format!("official:{}", official.id);
    let zone = blocking::zone(&compiled);
    let version = opened.card.version;
    let signature_name = format!("{}.p7s", original.file_name);
    let written = async {
        let mut tx = portal.store.begin().await.map_err(|e| e.to_string())?;
        let Some(current) = portal.store.card_in(&mut tx, &id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        if current.version != version || current.status != "draft" {
            return Ok(None);
        }
        let file = portal
            .store
            .add_card_file(
                &mut tx,
                &id,
                &NewCardFile {
                    role: "signature",
                    file_name: &signature_name,
                    media_type: "application/pkcs7-signature",
                    content: &verified.der,
                },
                &actor,
                now,
            )
            .await
            .map_err(|e| e.to_string())?;
        let after = match register_in(&portal.store, &mut tx, journal, &current, now, zone).await {
            Ok(after) => after,
            Err(NumberError::Pattern(why)) => return Err(why),
            Err(NumberError::Store(e)) => return Err(e.to_string()),
        };
        let done = portal
            .store
            .write_card(
                &mut tx,
                &CardChange {
                    before: Some(&current),
                    after: &after,
                    actor: &actor,
                    on_behalf: None,
                    kind: "registered",
                    note: json!({"signed_by": signer.id, "signature": file.n, "original": original.n}),
                    at: now,
                },
            )
            .await
            .map_err(|e: StoreError| e.to_string())?;
        if !done {
            return Ok(None);
        }
        tx.commit().await.map_err(|e| e.to_string())?;
        Ok(Some(after))
    }
    .await;
    match written {
        Ok(Some(card)) => {
            tracing::info!(
                "official {} registered signed outgoing card {id} as number {}",
                official.id,
                card.reg_number.as_deref().unwrap_or("")
            );
            log_access(&portal, &official, "card-sign", &id).await;
            see_other(&format!("/registry/cards/{id}"))
        }
        Ok(None) => conflict(
            &portal,
            &compiled,
            &official,
            "Картку вже змінили",
            "Поки ви підписували документ, картку змінив або зареєстрував хтось інший. \
             Відкрийте її ще раз.",
        ),
        Err(e) => unavailable(&portal, &chrome, &e),
    }
}
