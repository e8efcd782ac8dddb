//! The registrar's pages of received documents: `/registry/exchange/received` (those waiting,
//! or a journal section: `?section=received|registered|refused`), a document's page with its
//! requisites, files, signatures' results and the take and refuse forms, its files' and
//! signatures' downloads, and the two actions.

use axum::Router;
use axum::extract::{FromRef, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::grounds::Ground;
use super::notices::Registrar;
use super::refuse::{NotRefused, Refuse, posted_ground, refuse};
use super::take::{NotTaken, Take, file_content, signatures_of, take};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::attachments::file_response;
use crate::portal::office::blocking::zone;
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::registry::cards::fields::values_posted;
use crate::registry::cards::{kinds_of, log_access, see_other};
use crate::spec::model::{self, Direction, Journal, Permission};
use crate::store::{RECEIVED_PAGE, ReceivedRow, ReceivedSection, parse_time};

/// The routes of the received documents' pages.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    PortalState: FromRef<S>,
{
    Router::new()
        .route("/registry/exchange/received", get(list))
        .route("/registry/exchange/received/{id}", get(page))
        .route("/registry/exchange/received/{id}/take", post(take_post))
        .route("/registry/exchange/received/{id}/refuse", post(refuse_post))
        .route("/registry/exchange/received/{id}/files/{n}", get(file))
        .route(
            "/registry/exchange/received/{id}/files/{n}/signatures/{k}",
            get(signature),
        )
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub section: Option<String>,
    pub page: Option<String>,
}

fn section_of(name: Option<&str>) -> (ReceivedSection, &'static str, &'static str) {
    match name {
        Some("received") => (ReceivedSection::Received, "received", "Отримані"),
        Some("registered") => (ReceivedSection::Registered, "registered", "Зареєстровані"),
        Some("refused") => (ReceivedSection::Refused, "refused", "Відхилені"),
        _ => (
            ReceivedSection::Waiting,
            "waiting",
            "Чекають на реєстратора",
        ),
    }
}

fn status_words(row: &ReceivedRow) -> &'static str {
    match (row.status.as_str(), row.registered_at.is_some()) {
        ("taken", true) => "зареєстровано",
        ("taken", false) => "прийнято, картка не зареєстрована",
        ("refused", _) => "відхилено",
        _ => "чекає на реєстратора",
    }
}

/// A stored time as the city's clock shows it (`YYYY-MM-DD HH:MM`).
fn city_time(compiled: &Compiled, text: &str) -> String {
    parse_time(text).map_or_else(
        || text.to_string(),
        |t| {
            t.with_timezone(&zone(compiled))
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

fn row_json(compiled: &Compiled, row: &ReceivedRow) -> Value {
    json!({
        "id": row.id,
        "received_at": city_time(compiled, &row.received_at),
        "correspondent": row.correspondent,
        "out_number": row.out_number,
        "out_date": row.out_date,
        "summary": row.summary,
        "status": status_words(row),
        "ground": row.ground,
        "reg_number": row.reg_number,
        "card_id": row.card_id,
    })
}

/// The official may work with received documents (`documents-exchange`), or the refusal.
async fn exchanging(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
) -> Result<(), Response> {
    official
        .require(portal, compiled, Permission::DocumentsExchange)
        .await
}

/// `GET /registry/exchange/received`.
pub async fn list(
    State(portal): State<PortalState>,
    official: Official,
    Query(query): Query<ListQuery>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = exchanging(&portal, &compiled, &official).await {
        return refused;
    }
    let (section, name, title) = section_of(query.section.as_deref());
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let rows = match portal
        .store
        .exchange_received_journal(official.participant(), section, page - 1)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return unavailable(&portal, &official.chrome(&compiled), &e.to_string()),
    };
    let next = (rows.len() as i64 == RECEIVED_PAGE).then_some(page + 1);
    portal.pages.render(
        StatusCode::OK,
        "registry/received.html",
        &official.chrome(&compiled),
        json!({
            "section": name,
            "title": title,
            "rows": rows.iter().map(|r| row_json(&compiled, r)).collect::<Vec<_>>(),
            "page": page,
            "previous": (page > 1).then(|| page - 1),
            "next": next,
        }),
    )
}

fn not_found(portal: &PortalState, compiled: &Compiled, official: &Official) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        &official.chrome(compiled),
        "Документ не знайдено",
        "Такого отриманого документа немає серед документів вашої установи. Відкрийте його зі \
         списку отриманих.",
    )
}

/// Received document `id` of the official's participant, or the 404 page.
#[allow(clippy::result_large_err)]
async fn opened(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    id: &str,
) -> Result<ReceivedRow, Response> {
    let Ok(id) = id.parse::<i64>() else {
        return Err(not_found(portal, compiled, official));
    };
    match portal.store.received_document(id).await {
        Ok(Some(row)) if row.participant == official.participant() => Ok(row),
        Ok(_) => Err(not_found(portal, compiled, official)),
        Err(e) => Err(unavailable(
            portal,
            &official.chrome(compiled),
            &e.to_string(),
        )),
    }
}

/// The incoming journals of the official's participant, each with the kinds it registers.
fn incoming<'c>(compiled: &'c Compiled, official: &Official) -> Vec<&'c Journal> {
    compiled
        .spec
        .journals
        .iter()
        .filter(|j| j.participant == official.participant() && j.direction == Direction::Incoming)
        .collect()
}

async fn render(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    row: &ReceivedRow,
    errors: &[(&str, String)],
    status: StatusCode,
) -> Response {
    let files = match portal.store.received_files(row.id).await {
        Ok(files) => files,
        Err(e) => return unavailable(portal, &official.chrome(compiled), &e.to_string()),
    };
    let files: Vec<Value> = files
        .iter()
        .map(|f| {
            let signatures: Vec<Value> = serde_json::from_str::<Vec<Value>>(&f.signatures)
                .unwrap_or_default()
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    json!({
                        "signer": s.get("signer"),
                        "signed_at": s.get("signed_at").and_then(Value::as_str)
                            .map(|t| city_time(compiled, t)),
                        "valid": s.get("result").and_then(Value::as_str) == Some("valid"),
                        "href": format!("/registry/exchange/received/{}/files/{}/signatures/{}",
                                        row.id, f.n, k + 1),
                    })
                })
                .collect();
            json!({
                "name": f.file_name,
                "size": f.size,
                "sha256": f.sha256,
                "href": format!("/registry/exchange/received/{}/files/{}", row.id, f.n),
                "signatures": signatures,
            })
        })
        .collect();
    let journals: Vec<Value> = incoming(compiled, official)
        .into_iter()
        .map(|j| {
            json!({
                "id": j.id,
                "title": j.title,
                "kinds": kinds_of(compiled, j).iter()
                    .map(|k| json!({"id": k.id, "title": k.title})).collect::<Vec<_>>(),
            })
        })
        .collect();
    let grounds: Vec<Value> = Ground::MANUAL
        .iter()
        .map(|g| json!({"code": g.code(), "text": g.text()}))
        .collect();
    let requisites: Value = serde_json::from_str(&row.requisites).unwrap_or(Value::Null);
    portal.pages.render(
        status,
        "registry/received_document.html",
        &official.chrome(compiled),
        json!({
            "doc": row_json(compiled, row),
            "waiting": row.status == "received",
            "refusal_detail": row.refusal_detail,
            "requisites": requisites,
            "files": files,
            "journals": journals,
            "grounds": grounds,
            "may_take": official.may(compiled, Permission::DocumentsRegister),
            "errors": errors.iter()
                .map(|(field, message)| json!({"field": field, "message": message}))
                .collect::<Vec<_>>(),
        }),
    )
}

/// `GET /registry/exchange/received/{id}`.
pub async fn page(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = exchanging(&portal, &compiled, &official).await {
        return refused;
    }
    let row = match opened(&portal, &compiled, &official, &id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    render(&portal, &compiled, &official, &row, &[], StatusCode::OK).await
}

fn decided(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    row: &ReceivedRow,
) -> Response {
    let message = match row.status.as_str() {
        "taken" => "Цей документ уже прийняв інший реєстратор; з нього складено картку.",
        _ => "Цей документ уже відхилено; відправник отримав повідомлення про це.",
    };
    portal.pages.problem(
        StatusCode::CONFLICT,
        &official.chrome(compiled),
        "Документ уже опрацьовано",
        message,
    )
}

/// `POST /registry/exchange/received/{id}/take` (`csrf`, `journal`, `kind`).
pub async fn take_post(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let values = values_posted(&pairs);
    if let Err(refused) = official.check_csrf(values.get("csrf").map(String::as_str)) {
        return refused;
    }
    for permission in [Permission::DocumentsExchange, Permission::DocumentsRegister] {
        if let Err(refused) = official.require(&portal, &compiled, permission).await {
            return refused;
        }
    }
    let row = match opened(&portal, &compiled, &official, &id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let journal = values.get("journal").and_then(|j| {
        incoming(&compiled, &official)
            .into_iter()
            .find(|i| &i.id == j)
    });
    let kind = journal.and_then(|j| {
        kinds_of(&compiled, j)
            .into_iter()
            .find(|k| Some(&k.id) == values.get("kind"))
    });
    let (Some(journal), Some(kind)) = (journal, kind) else {
        let error = (
            "journal",
            "Оберіть журнал вхідних документів своєї установи і вид документа, який він \
             реєструє"
                .to_string(),
        );
        return render(
            &portal,
            &compiled,
            &official,
            &row,
            &[error],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let outcome = take(
        &portal.store,
        &Take {
            id: row.id,
            journal,
            kind,
            by: &official.id,
            at: official.now(),
        },
    )
    .await;
    match outcome {
        Ok(card) => {
            tracing::info!(
                "official {} took received document {} into card {} (journal {}); the \
                 delivery notice to {} is queued",
                official.id,
                row.id,
                card.id,
                journal.id,
                row.sender
            );
            log_access(&portal, &official, "exchange-take", &card.id).await;
            see_other(&format!("/registry/cards/{}", card.id))
        }
        Err(NotTaken::Format(message)) => {
            render(
                &portal,
                &compiled,
                &official,
                &row,
                &[("journal", message)],
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(NotTaken::Decided(now)) => decided(&portal, &compiled, &official, &now),
        Err(NotTaken::Missing) => not_found(&portal, &compiled, &official),
        Err(NotTaken::Store(e)) => {
            unavailable(&portal, &official.chrome(&compiled), &e.to_string())
        }
    }
}

/// `POST /registry/exchange/received/{id}/refuse` (`csrf`, `ground`: a п.21 code).
pub async fn refuse_post(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let values = values_posted(&pairs);
    if let Err(refused) = official.check_csrf(values.get("csrf").map(String::as_str)) {
        return refused;
    }
    if let Err(refused) = exchanging(&portal, &compiled, &official).await {
        return refused;
    }
    let row = match opened(&portal, &compiled, &official, &id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let Some(ground) = posted_ground(values.get("ground").map(String::as_str)) else {
        let message = match values.get("ground").filter(|g| !g.is_empty()) {
            None => "Оберіть підставу відхилення з переліку (п. 21 Типової інструкції): без \
                     підстави з переліку документ відхилити не можна"
                .to_string(),
            Some(_) => "Такої підстави немає в переліку п. 21 Типової інструкції. Оберіть \
                        підставу з переліку на цій сторінці"
                .to_string(),
        };
        tracing::info!(
            "official {} was refused a refusal of received document {} without a listed ground",
            official.id,
            row.id
        );
        return render(
            &portal,
            &compiled,
            &official,
            &row,
            &[("ground", message)],
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    let registrar = Registrar {
        name: official.name.clone(),
        phone: model::by_id(&compiled.spec.officials, &official.id).and_then(|o| o.phone.clone()),
    };
    let outcome = refuse(
        &portal.store,
        &Refuse {
            id: row.id,
            participant: official.participant(),
            ground,
            registrar: &registrar,
            by: &official.id,
            at: official.now(),
        },
    )
    .await;
    match outcome {
        Ok(_) => {
            tracing::info!(
                "official {} refused received document {} on ground {}; the refusal notice to \
                 {} is queued",
                official.id,
                row.id,
                ground.code(),
                row.sender
            );
            see_other(&format!("/registry/exchange/received/{}", row.id))
        }
        Err(NotRefused::Decided(now)) => decided(&portal, &compiled, &official, &now),
        Err(NotRefused::Missing | NotRefused::NotListed) => {
            not_found(&portal, &compiled, &official)
        }
        Err(NotRefused::Store(e)) => {
            unavailable(&portal, &official.chrome(&compiled), &e.to_string())
        }
    }
}

/// `GET /registry/exchange/received/{id}/files/{n}`.
pub async fn file(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    download(portal, official, id, n, None).await
}

/// `GET /registry/exchange/received/{id}/files/{n}/signatures/{k}`.
pub async fn signature(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, n, k)): Path<(String, String, String)>,
) -> Response {
    download(portal, official, id, n, Some(k)).await
}

async fn download(
    portal: PortalState,
    official: Official,
    id: String,
    n: String,
    signature: Option<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    if let Err(refused) = exchanging(&portal, &compiled, &official).await {
        return refused;
    }
    let row = match opened(&portal, &compiled, &official, &id).await {
        Ok(row) => row,
        Err(page) => return page,
    };
    let chrome = official.chrome(&compiled);
    let files = match portal.store.received_files(row.id).await {
        Ok(files) => files,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let missing = || {
        portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Файл не знайдено",
            "Такого файлу в цьому документі немає. Відкрийте документ і оберіть файл зі списку.",
        )
    };
    let Some(file) = files.iter().find(|f| n.parse() == Ok(f.n)) else {
        return missing();
    };
    if let Some(k) = signature {
        let signatures = signatures_of(file);
        let Some(der) = k
            .parse::<usize>()
            .ok()
            .and_then(|k| signatures.get(k.checked_sub(1)?))
        else {
            return missing();
        };
        return file_response(
            der.clone(),
            &format!("{}.p7s", file.file_name),
            "application/pkcs7-signature",
        );
    }
    match file_content(&portal.store, file).await {
        Ok(content) => {
            log_access(
                &portal,
                &official,
                "exchange-file-download",
                &row.id.to_string(),
            )
            .await;
            file_response(content, &file.file_name, &file.media_type)
        }
        Err(e) => {
            tracing::error!("{e}");
            portal.pages.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &chrome,
                "Файл пошкоджено",
                "Збережений вміст файлу не відповідає його контрольній сумі, тому його не \
                 видано. Про це вже записано в журнал системи; зверніться до адміністратора.",
            )
        }
    }
}
