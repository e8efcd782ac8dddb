//! `/verify` (PORTAL-8): anyone checks a document the portal issued, by its number and
//! verification code or by the file itself (with its `.p7s`, or without: then against the
//! original kept): whether the seal holds, whose it is, when it was sealed and whether it was
//! revoked. A wrong code answers exactly as a wrong number; nothing beyond the document is shown.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::PortalState;
use super::cabinet::words;
use super::citizen::Citizen;
use super::pages::Chrome;
use super::result_check::{Sealer, check_document, seal_certificate};
use super::revocation::ground_words;
use crate::compile::Compiled;
use crate::crypto::document_seal::{subject_line, verify_detached};
use crate::store::{DocumentRow, OriginalKind, original_digest};
use crate::workflow::verification_code;

/// The largest upload: a result's PDF and its seal, with room to spare.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// What the number-and-code form sends.
#[derive(Debug, Default, Deserialize)]
pub struct Lookup {
    number: Option<String>,
    code: Option<String>,
}

/// `GET /verify`: the forms, or (with `number` and `code`) the answer.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Query(lookup): Query<Lookup>,
) -> Response {
    answer(&portal, citizen, lookup).await
}

/// `GET /verify/{number}`: the form with the number filled in, or the answer with `code`.
pub async fn numbered(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    Path(number): Path<String>,
    Query(lookup): Query<Lookup>,
) -> Response {
    let lookup = Lookup {
        number: Some(number),
        code: lookup.code,
    };
    answer(&portal, citizen, lookup).await
}

async fn answer(portal: &PortalState, citizen: Option<Citizen>, lookup: Lookup) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::home::starting(portal);
    };
    let chrome = chrome(&compiled, citizen.as_ref());
    let number = lookup.number.unwrap_or_default().trim().to_string();
    let code = lookup.code.map(|c| c.trim().to_string());
    let mut view = json!({"number": number, "code": code, "errors": [], "result": null});
    let Some(code) = code else {
        return render(portal, &chrome, StatusCode::OK, view);
    };
    let mut errors = Vec::new();
    if number.is_empty() {
        errors.push(json!({"field": "number", "message": "Введіть реєстраційний номер документа"}));
    }
    let normalised = verification_code::normalise(&code);
    if code.is_empty() {
        errors.push(json!({"field": "code", "message": "Введіть код перевірки з документа"}));
    } else if normalised.is_none() {
        errors.push(json!({"field": "code", "message":
            "Код перевірки — це 10 латинських літер і цифр, наприклад 7K2QF-9XM4B"}));
    }
    if !errors.is_empty() {
        view["errors"] = json!(errors);
        return render(portal, &chrome, StatusCode::BAD_REQUEST, view);
    }
    let code = normalised.unwrap_or_default();
    let found = match portal.store.documents_numbered(&number).await {
        Ok(documents) => documents.into_iter().find(|d| {
            d.code
                .as_deref()
                .is_some_and(|stored| verification_code::matches(stored, &code))
        }),
        Err(e) => return unavailable(portal, &chrome, &e.to_string()),
    };
    view["result"] = match found {
        None => json!({"outcome": "not-found"}),
        Some(document) => match judged(portal, &compiled, &document, None).await {
            Ok(result) => result,
            Err(e) => return unavailable(portal, &chrome, &e),
        },
    };
    render(portal, &chrome, StatusCode::OK, view)
}

/// `POST /verify`: the file (`file`) and, optionally, its seal (`seal`).
pub async fn upload(
    State(portal): State<PortalState>,
    citizen: Option<Citizen>,
    multipart: Multipart,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::home::starting(&portal);
    };
    let chrome = chrome(&compiled, citizen.as_ref());
    let mut view = json!({"number": "", "code": null, "errors": [], "result": null});
    let (file, seal) = match read_upload(multipart).await {
        Ok(parts) => parts,
        Err(message) => {
            view["errors"] = json!([{"field": "file", "message": message}]);
            return render(&portal, &chrome, StatusCode::BAD_REQUEST, view);
        }
    };
    let digest = original_digest(&file);
    let kept = match portal
        .store
        .originals_with_digest(OriginalKind::Document, &digest)
        .await
    {
        Ok(kept) => kept,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let mut document = None;
    for original in kept {
        match portal.store.document(&original.record_id).await {
            Ok(Some(found)) => {
                document = Some(found);
                break;
            }
            Ok(None) => {}
            Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
        }
    }
    view["result"] = match (document, seal) {
        (Some(document), seal) => {
            let given = seal.as_deref().map(|p7s| (p7s, file.as_slice()));
            match judged(&portal, &compiled, &document, given).await {
                Ok(result) => result,
                Err(e) => return unavailable(&portal, &chrome, &e),
            }
        }
        (None, Some(p7s)) => match sealed_by_any(&compiled, &p7s, &file) {
            Some(sealer) => json!({
                "outcome": "seal-valid",
                "sealed_by": sealer.participant,
                "subject": sealer.subject,
            }),
            None => json!({"outcome": "invalid"}),
        },
        (None, None) => json!({"outcome": "invalid"}),
    };
    render(&portal, &chrome, StatusCode::OK, view)
}

/// The `file` and `seal` parts of an upload; a message for the person when there is no file.
async fn read_upload(mut multipart: Multipart) -> Result<(Vec<u8>, Option<Vec<u8>>), String> {
    let (mut file, mut seal) = (None, None);
    let too_big = "Файл завеликий: документи порталу значно менші за 4 МБ. Перевірте, чи \
                   вибрано потрібний файл";
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(_) => return Err(too_big.into()),
        };
        let name = field.name().unwrap_or_default().to_string();
        let bytes = field.bytes().await.map_err(|_| too_big.to_string())?;
        match name.as_str() {
            "file" if !bytes.is_empty() => file = Some(bytes.to_vec()),
            "seal" if !bytes.is_empty() => seal = Some(bytes.to_vec()),
            _ => {}
        }
    }
    let file = file.ok_or("Виберіть файл документа (PDF), який треба перевірити")?;
    Ok((file, seal))
}

/// The answer for a stored `document`: its seals and original checked (and, when given, the
/// seal `p7s` over the uploaded bytes), who sealed it, and its revocation.
async fn judged(
    portal: &PortalState,
    compiled: &Compiled,
    document: &DocumentRow,
    given: Option<(&[u8], &[u8])>,
) -> Result<Value, String> {
    let zone = zone(compiled);
    let mut sealer = check_document(&portal.store, compiled, document).await;
    if let (Ok(_), Some((p7s, content))) = (&sealer, given) {
        let certificate = seal_certificate(compiled, &document.sealed_by)?;
        let sealed_at = crate::store::parse_time(&document.issued_at).unwrap_or_else(Utc::now);
        if verify_detached(
            p7s,
            content,
            &certificate,
            &compiled.gateway.trust.anchors,
            sealed_at,
        )
        .is_err()
        {
            sealer = Err("the uploaded seal is not over the uploaded file".into());
        }
    }
    let sealer: Sealer = match sealer {
        Ok(sealer) => sealer,
        Err(why) => {
            tracing::warn!(
                document = %document.id,
                "a document asked about on /verify does not verify: {why}"
            );
            return Ok(json!({"outcome": "invalid"}));
        }
    };
    let revocation = portal
        .store
        .revocation(&document.id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({
        "outcome": "valid",
        "title": document.title,
        "number": document.number,
        "issued_at": words::when(&document.issued_at, zone),
        "sealed_by": sealer.participant,
        "subject": sealer.subject,
        "official": document.official_name.as_ref().map(|name| json!({
            "name": name,
            "position": document.official_position,
        })),
        "revoked": revocation.map(|r| json!({
            "at": words::when(&r.revoked_at, zone),
            "ground": ground_words(&r.ground).unwrap_or("з інших причин"),
        })),
        "paragraphs": document.text.trim().split("\n\n").map(str::trim).collect::<Vec<_>>(),
    }))
}

/// The participant of the applied spec whose seal `p7s` is over `content`, under an anchor.
fn sealed_by_any(compiled: &Compiled, p7s: &[u8], content: &[u8]) -> Option<Sealer> {
    compiled.spec.participants.iter().find_map(|p| {
        let certificate = seal_certificate(compiled, &p.id).ok()?;
        verify_detached(
            p7s,
            content,
            &certificate,
            &compiled.gateway.trust.anchors,
            Utc::now(),
        )
        .ok()?;
        Some(Sealer {
            participant: p.name.clone(),
            subject: subject_line(&certificate),
        })
    })
}

fn zone(compiled: &Compiled) -> Tz {
    compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar))
}

fn chrome(compiled: &Compiled, citizen: Option<&Citizen>) -> Chrome {
    citizen.map_or_else(|| super::home::chrome(compiled), |c| c.chrome(compiled))
}

fn render(portal: &PortalState, chrome: &Chrome, status: StatusCode, view: Value) -> Response {
    portal.pages.render(status, "verify.html", chrome, view)
}

fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("the verification page cannot answer: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Перевірка тимчасово недоступна",
        "Не вдалося перевірити документ. Спробуйте ще раз за кілька хвилин.",
    )
}
