//! `/cabinet/applications/{id}/documents-upload`: where the workflow waits for the applicant
//! (an official asked for more documents), the applicant adds files — judged by their bytes as
//! the draft's are, kept once per content — and sends them, which fires the applicant's step.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{Owned, owned, service_title, unavailable};
use crate::portal::PortalState;
use crate::portal::attachments::{CEILING_BYTES, accepted_names, judge, shown_name};
use crate::portal::citizen::Citizen;
use crate::portal::forms::judge::FieldError;
use crate::portal::forms::see_other;
use crate::portal::pages::Chrome;
use crate::spec::model::{Attachment, Outcome, Transition, Workflow, by_id};
use crate::store::{CaseEventRow, NewCaseFile};
use crate::workflow::engine::{Actor, Fire};

/// Most files one sending may add.
pub const MAX_FILES: u32 = 10;

/// The applicant's step of `workflow` in `state` that answers a request (not a withdrawal).
pub fn upload_step<'w>(workflow: &'w Workflow, state: &str) -> Option<&'w Transition> {
    let withdraws = |t: &Transition| {
        workflow
            .states
            .iter()
            .any(|s| s.id == t.to && s.outcome == Some(Outcome::Withdrawn))
    };
    workflow
        .states
        .iter()
        .find(|s| s.id == state && s.outcome.is_none())?
        .transitions
        .iter()
        .find(|t| t.role.as_deref() == Some("applicant") && !withdraws(t))
}

/// What the last request for documents asked, from the case's history.
pub fn requested(history: &[CaseEventRow]) -> Option<String> {
    history.iter().rev().find_map(|e| {
        let detail: Value = serde_json::from_str(&e.detail).ok()?;
        detail
            .pointer("/details/documents_requested")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// `GET /cabinet/applications/{id}/documents-upload`.
pub async fn show(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    render(&portal, &compiled, &chrome, &owned, &[], StatusCode::OK).await
}

/// What the upload's form sent.
#[derive(Default)]
struct Sent {
    csrf: Option<String>,
    state: Option<String>,
    key: Option<String>,
    /// `(name as the device gave it, content, too large)`.
    files: Vec<(Option<String>, Vec<u8>, bool)>,
}

/// `POST /cabinet/applications/{id}/documents-upload` (multipart: `csrf`, `state`, `key`, one
/// or more `file`).
pub async fn send(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let sent = match read(multipart).await {
        Ok(sent) => sent,
        Err(why) => {
            tracing::info!("documents sent to an application could not be read: {why}");
            let chrome = Chrome::default();
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Файли не вдалося прочитати",
                "Надсилання перервалося або форма пошкоджена. Поверніться до заяви і надішліть \
                 файли ще раз.",
            );
        }
    };
    if let Err(refused) = citizen.check_csrf(sent.csrf.as_deref()) {
        return refused;
    }
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let owned = match owned(&portal, &citizen, &chrome, &id).await {
        Ok(owned) => owned,
        Err(refused) => return refused,
    };
    let Some((case, runnable)) = &owned.case else {
        return not_now(&portal, &chrome, &id);
    };
    let (Some(state), Some(key)) = (sent.state.as_deref(), sent.key.as_deref()) else {
        return not_now(&portal, &chrome, &id);
    };
    // The step of the state the form was shown in: the engine refuses it if the case moved on,
    // and answers a form sent again as it did the first time.
    let Some(step) = upload_step(&runnable.definition.workflow, state) else {
        return not_now(&portal, &chrome, &id);
    };
    if key.is_empty() || key.len() > 100 {
        return not_now(&portal, &chrome, &id);
    }
    let request = format!("cabinet:{}:documents:{key}", citizen.owner);
    let held = match portal.store.case_files(&case.id).await {
        Ok(held) => held.iter().any(|f| f.request == request),
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if !held && state != case.state {
        return not_now(&portal, &chrome, &id);
    }
    let rule = rule(&compiled.spec, &owned);
    let mut errors = Vec::new();
    let mut files: Vec<(String, &'static str, &[u8])> = Vec::new();
    let chosen: Vec<_> = sent
        .files
        .iter()
        .filter(|(name, content, big)| {
            name.as_deref().is_some_and(|n| !n.is_empty()) || !content.is_empty() || *big
        })
        .collect();
    if chosen.is_empty() {
        errors.push(FieldError {
            field: "files".into(),
            message: "Виберіть хоча б один файл".into(),
        });
    }
    if chosen.len() > MAX_FILES as usize {
        errors.push(FieldError {
            field: "files".into(),
            message: format!("За один раз можна надіслати не більше {MAX_FILES} файлів"),
        });
    }
    for (name, content, big) in &chosen {
        let shown = shown_name(name.as_deref().unwrap_or_default());
        let given = name.as_deref().is_some_and(|n| !n.is_empty());
        match judge(&rule, &shown, given, content, *big) {
            Ok(format) => files.push((shown, format.media_type(), content.as_slice())),
            Err(message) => errors.push(FieldError {
                field: "files".into(),
                message,
            }),
        }
    }
    if !errors.is_empty() {
        return render(
            &portal,
            &compiled,
            &chrome,
            &owned,
            &errors,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let actor = Actor::Applicant(case.applicant.clone());
    // The same sending again (a double click, a retry) adds nothing and answers the same.
    if !held {
        let new: Vec<NewCaseFile> = files
            .iter()
            .map(|(name, media_type, content)| NewCaseFile {
                file_name: name,
                media_type,
                content,
            })
            .collect();
        let now = portal.engine.clock().now();
        if let Err(e) = portal
            .store
            .add_case_files(&case.id, &new, &actor.label(), &request, now)
            .await
        {
            return unavailable(&portal, &chrome, &e.to_string());
        }
    }
    let fired = portal
        .engine
        .fire(Fire {
            key: &request,
            case_id: &case.id,
            event: &step.event,
            actor: &actor,
            on_behalf: None,
            seen_state: state,
        })
        .await;
    match fired {
        Ok(_) => see_other(&format!("/cabinet/applications/{id}")),
        Err(e) => {
            tracing::info!(case = %case.id, "documents sent to a case were refused: {}", e.code());
            if let Err(e) = portal.store.remove_case_files(&case.id, &request).await {
                tracing::error!(
                    "files of a refused sending to case {} could not be taken back: {e}",
                    case.id
                );
            }
            not_now(&portal, &chrome, &id)
        }
    }
}

/// What a sent file must be: any format the e-service's form accepts for its attachments (PDF,
/// JPEG or PNG if it names none), as large as its largest.
fn rule(spec: &crate::spec::Spec, owned: &Owned) -> Attachment {
    let form = by_id(&spec.e_services, &owned.application.e_service)
        .and_then(|s| by_id(&spec.forms, &s.form));
    let mut accept: Vec<String> = Vec::new();
    let mut mib = 0;
    for a in form.iter().flat_map(|f| &f.attachments) {
        mib = mib.max(a.max_mib.unwrap_or(Attachment::DEFAULT_MIB));
        for x in &a.accept {
            if !accept.contains(x) {
                accept.push(x.clone());
            }
        }
    }
    if accept.is_empty() {
        accept = ["pdf", "jpg", "jpeg", "png"].map(String::from).to_vec();
    }
    Attachment {
        id: "more-documents".into(),
        label: "Додаткові документи".into(),
        required: true,
        max_files: Some(MAX_FILES),
        max_mib: Some(if mib == 0 {
            Attachment::DEFAULT_MIB
        } else {
            mib
        }),
        accept,
    }
}

async fn read(mut multipart: Multipart) -> Result<Sent, String> {
    let mut sent = Sent::default();
    let mut total = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        match field.name() {
            Some("csrf") => sent.csrf = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("state") => sent.state = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("key") => sent.key = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("file") => {
                let name = field.file_name().map(str::to_string);
                let mut content = Vec::new();
                let mut big = false;
                while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
                    if big || total + chunk.len() > CEILING_BYTES {
                        big = true;
                        content = Vec::new();
                        continue;
                    }
                    total += chunk.len();
                    content.extend_from_slice(&chunk);
                }
                sent.files.push((name, content, big));
            }
            _ => {}
        }
    }
    Ok(sent)
}

async fn render(
    portal: &PortalState,
    compiled: &crate::compile::Compiled,
    chrome: &Chrome,
    owned: &Owned,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let application = &owned.application;
    let Some((case, runnable)) = &owned.case else {
        return not_now(portal, chrome, &application.id);
    };
    let Some(step) = upload_step(&runnable.definition.workflow, &case.state) else {
        return not_now(portal, chrome, &application.id);
    };
    let history = match portal.store.case_events(&case.id).await {
        Ok(h) => h,
        Err(e) => return unavailable(portal, chrome, &e.to_string()),
    };
    let rule = rule(&compiled.spec, owned);
    portal.pages.render(
        status,
        "cabinet/documents-upload.html",
        chrome,
        json!({
            "id": application.id,
            "number": application.number,
            "service": service_title(&compiled.spec, &application.e_service),
            "requested": requested(&history),
            "step": step.label(),
            "state": case.state,
            "key": uuid::Uuid::now_v7().to_string(),
            "formats": accepted_names(&rule),
            "accept": rule.accept.iter().map(|x| format!(".{x}")).collect::<Vec<_>>().join(","),
            "max_mib": rule.max_bytes() / (1024 * 1024),
            "max_files": MAX_FILES,
            "errors": errors.iter().map(|e| json!({"field": e.field, "message": e.message})).collect::<Vec<_>>(),
        }),
    )
}

/// The page for an application that waits for no documents now (or no longer: it moved on).
fn not_now(portal: &PortalState, chrome: &Chrome, id: &str) -> Response {
    portal.pages.problem(
        StatusCode::CONFLICT,
        chrome,
        "Зараз документи не потрібні",
        &format!(
            "Розгляд цієї заяви зараз не чекає від вас документів, або її стан змінився. Нічого \
             не надіслано. Відкрийте заяву (/cabinet/applications/{id}), щоб побачити її стан."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_that_answers_a_request_is_the_applicants_other_than_withdrawing() {
        let workflow: Workflow = serde_json::from_value(json!({
            "id": "w", "title": "W", "start": "received", "states": [
                {"id": "received", "role": "clerk", "transitions": [
                    {"event": "ask", "to": "awaiting", "role": "clerk"},
                    {"event": "withdraw", "to": "withdrawn", "role": "applicant"}]},
                {"id": "awaiting", "role": "clerk", "transitions": [
                    {"event": "withdraw", "to": "withdrawn", "role": "applicant"},
                    {"event": "documents-received", "to": "received", "role": "applicant"}]},
                {"id": "withdrawn", "outcome": "withdrawn"}
            ]
        }))
        .unwrap();
        assert_eq!(
            upload_step(&workflow, "awaiting").map(|t| t.event.as_str()),
            Some("documents-received")
        );
        assert!(upload_step(&workflow, "received").is_none());
        assert!(upload_step(&workflow, "withdrawn").is_none());
    }
}
