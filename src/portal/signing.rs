//! `/drafts/{draft}/sign` (PORTAL-4; 003 §5.4, §5.10): the application fixed as its canonical
//! JSON and PDF for download, the applicant's detached signature uploaded and judged, then in
//! one transaction the draft locked and the application registered; then its case started.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::PortalState;
use super::application::{Attached, Document, Identity, Parts, visual_form};
use super::citizen::Citizen;
use super::forms::judge::as_application;
use super::pages::Chrome;
use super::registration::{NewApplication, register, retention_of, start_case};
use super::signature::{self, Refusal};
use crate::check::form_data::application_data;
use crate::compile::Compiled;
use crate::crypto::dev_keys::{DEVELOPMENT_MARK, citizen_files};
use crate::spec::model::{EService, Form, SignatureRequirement};
use crate::store::{ApplicationRow, DraftRow, DraftWrite};

/// The largest signature file taken: a CMS signature with a certificate chain is a few KiB.
const MAX_SIGNATURE: usize = 256 * 1024;
/// The largest sign form taken: the signature and the form's other fields.
pub const MAX_BODY: usize = MAX_SIGNATURE + 16 * 1024;

/// A draft ready to be signed: the revision, the draft, its e-service and form, and its document.
struct Ready {
    compiled: std::sync::Arc<Compiled>,
    chrome: Chrome,
    draft: DraftRow,
    e_service: EService,
    form: Form,
    document: Document,
    /// The applicant's RNOKPP, when the identity provider gave it.
    rnokpp: Option<String>,
}

/// What a request about a draft found instead of a draft to sign.
enum NotReady {
    /// A page to answer with.
    Page(Box<Response>),
    /// The draft was signed: its application.
    Signed(Box<ApplicationRow>),
}

/// `GET /drafts/{draft}/sign`.
pub async fn page(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    match ready(&portal, &citizen, &draft).await {
        Ok(ready) => {
            match super::payments::checkout::unpaid_before_submission(
                &portal,
                &ready.chrome,
                &ready.draft,
                &ready.e_service,
            )
            .await
            {
                Some(_) => see_other(&format!("/drafts/{draft}/pay")),
                None => render(&portal, &ready, &[], StatusCode::OK),
            }
        }
        Err(NotReady::Signed(row)) => see_application(&row),
        Err(NotReady::Page(page)) => *page,
    }
}

/// `GET /drafts/{draft}/application.json`: exactly the bytes to sign (or, once signed, that
/// were signed).
pub async fn document_json(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let json = match ready(&portal, &citizen, &draft).await {
        Ok(ready) => ready.document.json,
        Err(NotReady::Signed(row)) => row.document,
        Err(NotReady::Page(page)) => return *page,
    };
    download(json.into_bytes(), "application/json", "application.json")
}

/// `GET /drafts/{draft}/application.pdf`: the visual form of the same document.
pub async fn document_pdf(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let (document, chrome) = match ready(&portal, &citizen, &draft).await {
        Ok(ready) => (ready.document, ready.chrome),
        Err(NotReady::Signed(row)) => (
            Document::from_value(
                &serde_json::from_str::<Value>(&row.document).unwrap_or(Value::Null),
            ),
            citizen.chrome(&compiled),
        ),
        Err(NotReady::Page(page)) => return *page,
    };
    match visual_form(&compiled.spec, &document) {
        Ok(pdf) => download(pdf, "application/pdf", "application.pdf"),
        Err(e) => {
            tracing::error!("the PDF of draft {draft} cannot be made: {e}");
            portal.pages.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &chrome,
                "Не вдалося підготувати PDF",
                "Спробуйте ще раз за кілька хвилин. Файл для підпису (application.json) доступний.",
            )
        }
    }
}

/// `POST /drafts/{draft}/sign` (multipart: `csrf`, and `signature` where the form asks one).
pub async fn sign(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
    multipart: Multipart,
) -> Response {
    let upload = match read_upload(multipart).await {
        Ok(upload) => upload,
        Err(why) => {
            tracing::info!("a signature upload for a draft was refused: {why}");
            let chrome = portal
                .current
                .load_full()
                .map(|c| citizen.chrome(&c))
                .unwrap_or_default();
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Запит не вдалося прочитати",
                "Форма надійшла пошкодженою або завелика. Поверніться на сторінку підпису і \
                 спробуйте ще раз.",
            );
        }
    };
    if let Err(refused) = citizen.check_csrf(upload.csrf.as_deref()) {
        return refused;
    }
    let ready = match ready(&portal, &citizen, &draft).await {
        Ok(ready) => ready,
        Err(NotReady::Signed(row)) => return see_application(&row),
        Err(NotReady::Page(page)) => return *page,
    };
    if let Some(unpaid) = super::payments::checkout::unpaid_before_submission(
        &portal,
        &ready.chrome,
        &ready.draft,
        &ready.e_service,
    )
    .await
    {
        return unpaid;
    }
    let now = portal.engine.clock().now();
    let signature = match ready.form.signature {
        SignatureRequirement::None => None,
        SignatureRequirement::Advanced | SignatureRequirement::Qualified => {
            let Some(rnokpp) = citizen.rnokpp.as_deref() else {
                return refuse(
                    &portal,
                    &ready,
                    "Для підпису заяви потрібен ваш РНОКПП, а ваш спосіб входу його не передав. \
                     Увійдіть за допомогою кваліфікованого електронного підпису або BankID.",
                );
            };
            let Some(bytes) = upload.signature.filter(|b| !b.is_empty()) else {
                return refuse(&portal, &ready, "Завантажте файл підпису (.p7s)");
            };
            let anchors = &ready.compiled.gateway.trust.anchors;
            match signature::verify(&bytes, ready.document.json.as_bytes(), anchors, rnokpp, now) {
                Ok(verified) => Some(verified.der),
                Err(refusal) => {
                    log_refusal(&draft, &refusal);
                    return refuse(&portal, &ready, &refusal.message());
                }
            }
        }
    };
    let row = match registered(&portal, &citizen, &ready, signature, now).await {
        Ok(row) => row,
        Err(page) => return *page,
    };
    let case_id = match &row.case_id {
        Some(id) => Some(id.clone()),
        None => match start_case(&portal.engine, &row, Some(&ready.form)).await {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!("{e}; the portal's sweep starts it later");
                None
            }
        },
    };
    if let Some(case_id) = case_id
        && let Err(e) =
            super::delivery::enqueue(&portal.store, &ready.compiled, &row, &case_id, now).await
    {
        tracing::warn!("{e}; the delivery runner records it within a minute");
    }
    see_application(&row)
}

/// Locks the draft and registers its application in one transaction; the application another
/// request registered first when it won.
async fn registered(
    portal: &PortalState,
    citizen: &Citizen,
    ready: &Ready,
    signature: Option<Vec<u8>>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<ApplicationRow, Box<Response>> {
    let failed = |e: String| {
        tracing::error!(
            "the application of draft {} cannot be registered: {e}",
            ready.draft.id
        );
        Box::new(portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &ready.chrome,
            "Заяву не вдалося подати",
            "Вашу заяву не зареєстровано, нічого не втрачено. Спробуйте подати її ще раз за \
             кілька хвилин.",
        ))
    };
    let store = &portal.store;
    let journal = ready
        .e_service
        .incoming_journal(&ready.compiled.spec)
        .map_err(|problem| failed(format!("it has no one incoming journal ({problem:?})")))?;
    let zone = ready
        .compiled
        .spec
        .system()
        .and_then(|s| s.calendar.zone())
        .unwrap_or(chrono_tz::Europe::Kyiv);
    let mut tx = store.begin().await.map_err(|e| failed(e.to_string()))?;
    match store
        .lock_draft(&mut tx, &citizen.owner, &ready.draft.id)
        .await
        .map_err(|e| failed(e.to_string()))?
    {
        DraftWrite::Done => {}
        DraftWrite::Locked => {
            drop(tx);
            return match store
                .application_for_draft(&citizen.owner, &ready.draft.id)
                .await
                .map_err(|e| failed(e.to_string()))?
            {
                Some(row) => Err(Box::new(see_application(&row))),
                None => Err(failed("the draft is locked but has no application".into())),
            };
        }
        DraftWrite::Missing => return Err(Box::new(not_found(portal, &ready.chrome))),
    }
    let row = register(
        store,
        &mut tx,
        NewApplication {
            owner: &citizen.owner,
            draft_id: &ready.draft.id,
            e_service: &ready.e_service,
            journal,
            document: &ready.document,
            signature,
            at: now,
            zone,
            retention: retention_of(&ready.compiled.spec, &ready.e_service).as_deref(),
        },
    )
    .await
    .map_err(failed)?;
    tx.commit().await.map_err(|e| failed(e.to_string()))?;
    tracing::info!(
        "application {} registered as {} in journal {}",
        row.id,
        row.number,
        row.journal
    );
    Ok(row)
}

/// The draft `id` of `citizen`, checked again in full and fixed as its document.
async fn ready(portal: &PortalState, citizen: &Citizen, id: &str) -> Result<Ready, NotReady> {
    let Some(compiled) = portal.current.load_full() else {
        return Err(NotReady::Page(Box::new(starting(portal))));
    };
    let chrome = citizen.chrome(&compiled);
    let unavailable = |e: String| {
        tracing::error!("draft {id} cannot be read for signing: {e}");
        NotReady::Page(Box::new(portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &chrome,
            "Сторінка тимчасово недоступна",
            "Не вдалося прочитати вашу заяву. Спробуйте ще раз за кілька хвилин.",
        )))
    };
    let draft = portal
        .store
        .draft(&citizen.owner, id)
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .ok_or_else(|| NotReady::Page(Box::new(not_found(portal, &chrome))))?;
    if draft.locked() {
        return match portal
            .store
            .application_for_draft(&citizen.owner, id)
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            Some(row) => Err(NotReady::Signed(Box::new(row))),
            None => Err(NotReady::Page(Box::new(portal.pages.problem(
                StatusCode::CONFLICT,
                &chrome,
                "Заяву вже подано",
                "Цю заяву вже подано, її не можна змінити чи підписати ще раз.",
            )))),
        };
    }
    let spec = &compiled.spec;
    let e_service = spec
        .e_services
        .iter()
        .find(|e| e.id == draft.e_service)
        .cloned();
    let form = e_service.as_ref().and_then(|e| spec.form(&e.form)).cloned();
    let (Some(e_service), Some(form)) = (e_service, form) else {
        return Err(NotReady::Page(Box::new(portal.pages.problem(
            StatusCode::GONE,
            &chrome,
            "Послуга більше не надається",
            "Послуги, для якої ви заповнювали заяву, більше немає в переліку. Чернетку можна \
             видалити в особистому кабінеті.",
        ))));
    };
    let raw: Value = serde_json::from_str(&draft.data).unwrap_or(Value::Null);
    let (data, problems) = match raw.as_object() {
        Some(map) => application_data(spec, &form, &as_application(map)),
        None => (Value::Null, Vec::new()),
    };
    let agreed: Value = serde_json::from_str(&draft.consents).unwrap_or(Value::Null);
    let consents = agreed.get("consents").cloned().unwrap_or(Value::Null);
    let consents_missing = form
        .consents
        .iter()
        .filter(|c| c.required)
        .any(|c| consents.get(&c.id) != Some(&Value::Bool(true)));
    let declaration_missing =
        form.declaration.is_some() && agreed.get("declaration") != Some(&Value::Bool(true));
    if data.is_null() || !problems.is_empty() || consents_missing || declaration_missing {
        // Not through "check your answers" yet, or changed since: that page says what is wrong.
        return Err(NotReady::Page(Box::new(see_other(&format!(
            "/drafts/{id}/check"
        )))));
    }
    let attachments: Vec<Attached> = portal
        .store
        .attachments_of(&draft.id)
        .await
        .map_err(|e| unavailable(e.to_string()))?
        .into_iter()
        .map(|a| Attached {
            attachment: a.attachment,
            file_name: a.file_name,
            media_type: a.media_type,
            size: a.size,
            sha256: a.sha256,
        })
        .collect();
    let identity = Identity {
        rnokpp: citizen.rnokpp.clone(),
        edrpou: citizen.edrpou.clone(),
        family_name: citizen.family_name.clone(),
        given_name: citizen.given_name.clone(),
        middle_name: citizen.middle_name.clone(),
        email: citizen.email.clone(),
    };
    let document = Document::of(&Parts {
        draft_id: &draft.id,
        e_service: &e_service,
        form: &form,
        revision: &draft.revision,
        applicant: &identity,
        data: &data,
        attachments: &attachments,
        consents: &consents,
    });
    Ok(Ready {
        compiled,
        chrome,
        draft,
        e_service,
        form,
        document,
        rnokpp: citizen.rnokpp.clone(),
    })
}

/// The sign page, with `errors` (each `{field, message}`) at its top.
fn render(portal: &PortalState, ready: &Ready, errors: &[Value], status: StatusCode) -> Response {
    let provider = ready
        .e_service
        .provider
        .as_ref()
        .and_then(|p| ready.compiled.spec.participant(&p.participant))
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let signature = match ready.form.signature {
        SignatureRequirement::None => "none",
        SignatureRequirement::Advanced => "advanced",
        SignatureRequirement::Qualified => "qualified",
    };
    portal.pages.render(
        status,
        "sign.html",
        &ready.chrome,
        json!({
            "draft": ready.draft.id,
            "service": ready.e_service.title,
            "provider": provider,
            "sha256": ready.document.sha256,
            "signature": signature,
            "dev_command": dev_command(&ready.compiled, ready.rnokpp.as_deref()),
            "errors": errors,
        }),
    )
}

/// The sign page again, saying why the signature was not taken.
fn refuse(portal: &PortalState, ready: &Ready, message: &str) -> Response {
    render(
        portal,
        ready,
        &[json!({"field": "signature", "message": message})],
        StatusCode::UNPROCESSABLE_ENTITY,
    )
}

fn log_refusal(draft: &str, refusal: &Refusal) {
    match refusal {
        Refusal::Unreadable(why) | Refusal::Untrusted(why) => tracing::info!(
            "a signature for draft {draft} was refused ({}): {why}",
            refusal.reason()
        ),
        _ => tracing::info!(
            "a signature for draft {draft} was refused ({})",
            refusal.reason()
        ),
    }
}

/// On a development system (its anchor is `keys dev`'s CA, so named), the command that signs
/// the application with a test citizen's key.
fn dev_command(compiled: &Compiled, rnokpp: Option<&str>) -> Option<String> {
    let development = compiled.gateway.trust.anchors.iter().any(|a| {
        a.subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .any(|e| {
                e.data()
                    .to_string()
                    .is_ok_and(|cn| cn.contains(DEVELOPMENT_MARK))
            })
    });
    development.then(|| {
        let (key, cert) =
            citizen_files(std::path::Path::new("dev-keys"), rnokpp.unwrap_or("РНОКПП"));
        format!(
            "openssl cms -sign -binary -outform DER -in application.json -signer {} -inkey {} \
             -out application.p7s",
            cert.display(),
            key.display()
        )
    })
}

/// What the sign form sent.
struct Upload {
    csrf: Option<String>,
    signature: Option<Bytes>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload {
        csrf: None,
        signature: None,
    };
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the form does not read as multipart: {e}"))?
    {
        match field.name() {
            Some("csrf") => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| format!("its `csrf` field does not read: {e}"))?;
                upload.csrf = Some(text);
            }
            Some("signature") => {
                let bytes = read_bounded(field).await?;
                upload.signature = Some(bytes);
            }
            other => {
                return Err(format!(
                    "it carries a field `{}` that the sign form has not",
                    other.unwrap_or("")
                ));
            }
        }
    }
    Ok(upload)
}

async fn read_bounded(mut field: axum::extract::multipart::Field<'_>) -> Result<Bytes, String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| format!("its signature file does not read: {e}"))?
    {
        if bytes.len() + chunk.len() > MAX_SIGNATURE {
            return Err(format!(
                "its signature file is larger than {MAX_SIGNATURE} bytes"
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(bytes))
}

fn download(body: Vec<u8>, media_type: &'static str, name: &str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn see_application(row: &ApplicationRow) -> Response {
    see_other(&format!("/cabinet/applications/{}", row.id))
}

fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Заяву не знайдено",
        "Такої чернетки немає серед ваших. Перевірте посилання або відкрийте особистий кабінет.",
    )
}

fn starting(portal: &PortalState) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &Chrome::default(),
        "Портал ще запускається",
        "Оновіть сторінку за хвилину.",
    )
}
