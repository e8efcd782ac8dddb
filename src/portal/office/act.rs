//! What an official does on a case: take it (`POST /office/cases/{id}/take`), fire a transition
//! their roles may fire (`POST /office/cases/{id}/transitions/{event}`) with its reason and the
//! decision's fields, and download its files (`/office/cases/{id}/attachments/{n}`). A refusal
//! is a page saying what and why; nothing of the case changes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::access_log;
use super::case::{self, Posted, Seen, asked, input_id, seen, unavailable};
use super::official::Official;
use crate::portal::PortalState;
use crate::portal::attachments::file_response;
use crate::portal::forms::judge::FieldError;
use crate::portal::forms::{posted_csrf, see_other};
use crate::portal::pages::Chrome;
use crate::workflow::assignment::Assign;
use crate::workflow::engine::{EngineError, Fire};

/// The longest text an official may give in one field.
const MAX_TEXT: usize = 4_000;

/// `POST /office/cases/{id}/take` (`csrf`, `version`, `key`): the case assigned to the official.
pub async fn take(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (compiled, chrome, seen) = match posted(&portal, &official, &id, &pairs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let _ = compiled;
    let (Some(version), Some(key)) = (
        field(&pairs, "version").and_then(|v| v.parse::<i64>().ok()),
        field(&pairs, "key"),
    ) else {
        return malformed(&portal, &chrome, "the form has no version or key");
    };
    let actor = official.actor();
    let key = format!("office:{}:take:{key}", official.id);
    let done = portal
        .engine
        .assign(Assign {
            key: &key,
            case_id: &seen.case.id,
            assignee: Some(&official.id),
            actor: &actor,
            on_behalf: None,
            seen_version: version,
        })
        .await;
    let detail = match &done {
        Ok(_) => "taken".to_string(),
        Err(e) => format!("refused: {}", e.code()),
    };
    if let Err(e) = access_log::record(&portal.store, &official, "take", Some(&id), &detail).await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    match done {
        Ok(_) => see_other(&format!("/office/cases/{id}")),
        Err(e) => refused(&portal, &chrome, &id, &e),
    }
}

/// `POST /office/cases/{id}/transitions/{event}` (`csrf`, `state`, `version`, `key`, `reason`,
/// `documents_requested`, `decision.<field>`).
pub async fn transition(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, event)): Path<(String, String)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (compiled, chrome, seen) = match posted(&portal, &official, &id, &pairs).await {
        Ok(opened) => opened,
        Err(page) => return page,
    };
    let (Some(seen_state), Some(version), Some(key)) = (
        field(&pairs, "state"),
        field(&pairs, "version").and_then(|v| v.parse::<i64>().ok()),
        field(&pairs, "key"),
    ) else {
        return malformed(&portal, &chrome, "the form has no state, version or key");
    };
    let definition = &seen.runnable.definition;
    let key = format!("office:{}:fire:{key}", official.id);
    // A form sent again (a double click) goes to the engine, which answers as it did the first
    // time; any other form from a page of an older version of the case is stale.
    let repeated = match portal.store.case_request_by_key(&key).await {
        Ok(found) => found.is_some(),
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if !repeated && (seen.case.state != seen_state || seen.case.version != version) {
        return stale(&portal, &chrome, &id, &seen, seen_state, &official, &event).await;
    }
    let Some(t) = definition
        .state(seen_state)
        .and_then(|s| s.transitions.iter().find(|t| t.event == event))
    else {
        return malformed(
            &portal,
            &chrome,
            "the form names no transition of the state",
        );
    };
    let asked = asked(&compiled, definition, t);
    let (details, errors) = match details(&asked, &event, &pairs) {
        Ok(read) => read,
        Err(why) => return malformed(&portal, &chrome, &why),
    };
    if !errors.is_empty() {
        let posted = Posted {
            event: Some(event.clone()),
            values: pairs.clone(),
            errors,
        };
        return case::render(&portal, &official, &compiled, &seen, &posted).await;
    }
    let mut details = details;
    if let Some(outcome) = definition.state(&t.to).and_then(|s| s.outcome) {
        details.insert(
            "outcome".into(),
            Value::String(outcome.as_str().to_string()),
        );
    }
    let details = Value::Object(details);
    let actor = official.actor();
    let done = portal
        .engine
        .fire_with(
            Fire {
                key: &key,
                case_id: &id,
                event: &event,
                actor: &actor,
                on_behalf: None,
                seen_state,
            },
            Some(&details),
        )
        .await;
    let detail = match &done {
        Ok(moved) => format!("{event}: {} -> {}", seen_state, moved.state),
        Err(e) => format!("{event}: refused ({})", e.code()),
    };
    if let Err(e) =
        access_log::record(&portal.store, &official, "transition", Some(&id), &detail).await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    match done {
        Ok(_) => see_other(&format!("/office/cases/{id}")),
        Err(e) => refused(&portal, &chrome, &id, &e),
    }
}

/// `GET /office/cases/{id}/attachments/{n}`: a file of the case's application, or one the
/// applicant added later.
pub async fn attachment(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return crate::portal::cabinet::starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let seen = match seen(&portal, &official, &compiled, &chrome, &id).await {
        Ok(seen) => seen,
        Err(page) => return page,
    };
    let Ok(n) = n.parse::<i64>() else {
        return no_file(&portal, &chrome);
    };
    let own = match portal.store.application_of_case(&seen.case.id).await {
        Ok(Some(a)) => match portal.store.attachments_of(&a.draft_id).await {
            Ok(files) => files
                .into_iter()
                .find(|f| f.n == n)
                .map(|f| (f.file_name, f.media_type, f.sha256)),
            Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
        },
        Ok(None) => None,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let file = match own {
        Some(file) => Some(file),
        None => match portal.store.case_files(&seen.case.id).await {
            Ok(files) => files
                .into_iter()
                .find(|f| f.n == n)
                .map(|f| (f.file_name, f.media_type, f.sha256)),
            Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
        },
    };
    let Some((name, media_type, sha256)) = file else {
        return no_file(&portal, &chrome);
    };
    let content = match portal.store.blob(&sha256).await {
        Ok(Some(content)) => content,
        Ok(None) => {
            tracing::error!("case {id} names stored file {sha256} that the store does not hold");
            return no_file(&portal, &chrome);
        }
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    if let Err(e) = access_log::record(
        &portal.store,
        &official,
        "download",
        Some(&id),
        &format!("file {n}"),
    )
    .await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    file_response(content, &name, &media_type)
}

/// The case of a posted form, once its CSRF token is the official's session's and the case is
/// one they may see.
async fn posted(
    portal: &PortalState,
    official: &Official,
    id: &str,
    pairs: &[(String, String)],
) -> Result<(std::sync::Arc<crate::compile::Compiled>, Chrome, Seen), Response> {
    official.check_csrf(posted_csrf(pairs))?;
    let Some(compiled) = portal.current.load_full() else {
        return Err(crate::portal::cabinet::starting(portal));
    };
    let chrome = official.chrome(&compiled);
    let seen = seen(portal, official, &compiled, &chrome, id).await?;
    Ok((compiled, chrome, seen))
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The decision's details a transition's form gives, and what is missing or wrong in it; an
/// input the form does not have is refused as a whole.
fn details(
    asked: &case::Asked,
    event: &str,
    pairs: &[(String, String)],
) -> Result<(Map<String, Value>, Vec<FieldError>), String> {
    let mut details = Map::new();
    let mut errors = Vec::new();
    for (name, value) in pairs {
        let value = value.trim();
        let key = match name.as_str() {
            "csrf" | "state" | "version" | "key" => continue,
            "reason" => "reason",
            "documents_requested" if asked.message => "documents_requested",
            other => match other.strip_prefix("decision.") {
                Some(f) if asked.fields.iter().any(|x| x == f) => f,
                _ => return Err(format!("the form of `{event}` has no input `{other}`")),
            },
        };
        if details.contains_key(key) {
            return Err(format!("input `{name}` is given twice"));
        }
        if value.chars().count() > MAX_TEXT {
            errors.push(FieldError {
                field: input_id(event, name),
                message: format!("Текст довший за {MAX_TEXT} символів; скоротіть його"),
            });
            continue;
        }
        if value.is_empty() {
            continue;
        }
        let typed = match serde_json::from_str::<Value>(value) {
            Ok(n @ Value::Number(_)) => n,
            _ => Value::String(value.to_string()),
        };
        details.insert(key.to_string(), typed);
    }
    let mut needed: Vec<(&str, String)> = asked
        .required
        .iter()
        .map(|f| {
            let name = if f == "reason" {
                "reason".to_string()
            } else {
                format!("decision.{f}")
            };
            (f.as_str(), name)
        })
        .collect();
    if asked.message {
        needed.push(("documents_requested", "documents_requested".into()));
    }
    for (key, name) in needed {
        if !details.contains_key(key) {
            errors.push(FieldError {
                field: input_id(event, &name),
                message: format!("Заповніть поле «{}»", case::field_label(key)),
            });
        }
    }
    if asked.fields.iter().any(|f| f == "amount")
        && let Some(amount) = details.get("amount")
        && !amount.as_f64().is_some_and(|a| a > 0.0)
    {
        errors.push(FieldError {
            field: input_id(event, "decision.amount"),
            message: "Сума має бути числом більше нуля, наприклад 5000 або 5000.50".into(),
        });
    }
    Ok((details, errors))
}

/// The page for a form sent on a case that changed since it was shown.
async fn stale(
    portal: &PortalState,
    chrome: &Chrome,
    id: &str,
    seen: &Seen,
    seen_state: &str,
    official: &Official,
    event: &str,
) -> Response {
    let detail = format!("{event}: refused (stale, seen {seen_state})");
    if let Err(e) =
        access_log::record(&portal.store, official, "transition", Some(id), &detail).await
    {
        return unavailable(portal, chrome, &e.to_string());
    }
    let now = seen
        .runnable
        .definition
        .state(&seen.case.state)
        .map_or(seen.case.state.as_str(), |s| s.label());
    portal.pages.problem(
        StatusCode::CONFLICT,
        chrome,
        "Справа змінилася",
        &format!(
            "Поки ви переглядали справу, її змінили: тепер вона в стані «{now}». Нічого не \
             змінено. Відкрийте справу знову, щоб побачити, що сталося, і діяти далі."
        ),
    )
}

/// The page for what the engine refused, saying why.
fn refused(portal: &PortalState, chrome: &Chrome, id: &str, e: &EngineError) -> Response {
    let (status, title, message) = match e {
        EngineError::NotAllowed { .. } => (
            StatusCode::FORBIDDEN,
            "Ця дія не у ваших повноваженнях",
            "Вашим ролям ця дія над справою в її теперішньому стані не надана. Нічого не змінено."
                .to_string(),
        ),
        EngineError::GuardFailed { guard, .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Умова для цієї дії не виконується",
            format!(
                "Дію можна виконати лише тоді, коли виконується умова «{guard}». Перевірте дані \
                 справи (зокрема відповіді реєстрів). Нічого не змінено."
            ),
        ),
        EngineError::Stale { now, .. } => (
            StatusCode::CONFLICT,
            "Справа змінилася",
            format!(
                "Поки ви переглядали справу, її змінили (тепер: {now}). Нічого не змінено. \
                 Відкрийте справу знову."
            ),
        ),
        EngineError::Closed { .. } => (
            StatusCode::CONFLICT,
            "Розгляд справи завершено",
            "Справу вже закрито; змінити її не можна.".to_string(),
        ),
        EngineError::KeyReused { .. }
        | EngineError::Invalid(_)
        | EngineError::UnknownEvent { .. } => (
            StatusCode::BAD_REQUEST,
            "Форму надіслано з помилкою",
            "Відкрийте справу знову і повторіть дію з нової сторінки. Нічого не змінено."
                .to_string(),
        ),
        other => {
            tracing::error!("an official's action on case {id} failed: {other}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "Дію не виконано",
                "Не вдалося виконати дію через збій. Нічого не змінено. Спробуйте ще раз за \
                 кілька хвилин."
                    .to_string(),
            )
        }
    };
    tracing::info!(case = %id, "an official's action was refused: {}", e.code());
    portal.pages.problem(status, chrome, title, &message)
}

fn malformed(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::warn!("an official's form was refused as malformed: {why}");
    portal.pages.problem(
        StatusCode::BAD_REQUEST,
        chrome,
        "Форму надіслано з помилкою",
        "Сторінка надіслала не ті поля, які має. Відкрийте справу знову і повторіть дію. Нічого \
         не змінено.",
    )
}

fn no_file(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Файл не знайдено",
        "У справі немає такого файлу. Відкрийте справу і виберіть файл із переліку.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn grant() -> case::Asked {
        case::Asked {
            message: false,
            fields: vec!["amount".into(), "reason".into()],
            required: vec!["amount".into()],
        }
    }

    #[test]
    fn a_decisions_details_are_typed_and_judged() {
        let (d, errors) = details(
            &grant(),
            "grant",
            &pairs(&[
                ("csrf", "t"),
                ("decision.amount", " 5000.50 "),
                ("reason", "Пожежа"),
            ]),
        )
        .unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(d["amount"].to_string(), "5000.50");
        assert_eq!(d["reason"], "Пожежа");

        let (_, errors) = details(&grant(), "grant", &pairs(&[("decision.amount", "")])).unwrap();
        assert_eq!(errors[0].field, "grant-decision-amount");
        assert!(errors[0].message.contains("Сума, грн"), "{errors:?}");
        let (_, errors) =
            details(&grant(), "grant", &pairs(&[("decision.amount", "багато")])).unwrap();
        assert!(errors[0].message.contains("числом"), "{errors:?}");
        let (_, errors) = details(&grant(), "grant", &pairs(&[("decision.amount", "-5")])).unwrap();
        assert!(errors[0].message.contains("більше нуля"), "{errors:?}");
    }

    #[test]
    fn an_input_the_form_does_not_have_is_refused() {
        for hostile in [
            pairs(&[("decision.outcome", "granted")]),
            pairs(&[("decision.amount", "1"), ("decision.amount", "2")]),
            pairs(&[("documents_requested", "довідка")]),
            pairs(&[("role", "social-head")]),
        ] {
            assert!(details(&grant(), "grant", &hostile).is_err(), "{hostile:?}");
        }
    }

    #[test]
    fn a_request_for_documents_must_say_what_is_needed() {
        let ask = case::Asked {
            message: true,
            fields: vec![],
            required: vec![],
        };
        let (_, errors) = details(&ask, "request-documents", &pairs(&[("reason", "")])).unwrap();
        assert_eq!(errors[0].field, "request-documents-documents_requested");
        let (d, errors) = details(
            &ask,
            "request-documents",
            &pairs(&[("documents_requested", "Довідка про доходи")]),
        )
        .unwrap();
        assert!(errors.is_empty());
        assert_eq!(d["documents_requested"], "Довідка про доходи");
    }
}
