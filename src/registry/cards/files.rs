//! A card's files: `POST /registry/cards/{id}/files` (multipart `file`, `role`: the original,
//! the scan of a paper original or an annex), taken only in a format the journal's `formats`
//! lists and only when its bytes are that format; `GET /registry/cards/{id}/files/{n}` hands
//! one back after checking its stored digest.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::fields::Problem;
use super::{conflict, editable, log_access, not_found, open, see_other};
use crate::portal::PortalState;
use crate::portal::attachments::{CEILING_BYTES, file_response};
use crate::portal::office::official::Official;
use crate::portal::office::users::{starting, unavailable};
use crate::portal::sniff::{Format, is_program, pdf_a};
use crate::spec::model::{DEFAULT_CARD_FORMATS, Journal, Permission};
use crate::store::{CardChange, NewCardFile, StoreError, content_hash, time_text};

/// The roles a registrar gives a file.
pub const ROLES: &[&str] = &["original", "scan", "annex"];

/// A format of a journal's `formats` as the sniffer knows it (`pdf-a` is a PDF too).
fn sniffed(id: &str) -> Option<Format> {
    Some(match id {
        "pdf" | "pdf-a" => Format::Pdf,
        "odt" => Format::Odt,
        "ods" => Format::Ods,
        "docx" => Format::Docx,
        "xlsx" => Format::Xlsx,
        "jpeg" => Format::Jpeg,
        "png" => Format::Png,
        "tiff" => Format::Tiff,
        "txt" => Format::Text,
        "xml" => Format::Xml,
        _ => return None,
    })
}

/// The format ids `journal` accepts.
pub fn accepted(journal: &Journal) -> Vec<&str> {
    if journal.formats.is_empty() {
        DEFAULT_CARD_FORMATS.to_vec()
    } else {
        journal.formats.iter().map(String::as_str).collect()
    }
}

/// The format of file `name` with `content` if `journal` accepts it, or why not, naming the file.
pub fn judge(journal: &Journal, name: &str, content: &[u8]) -> Result<Format, String> {
    let accepted = accepted(journal);
    let listed = accepted
        .iter()
        .map(|f| f.to_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    if content.is_empty() {
        return Err(format!("Файл «{name}» порожній. Виберіть файл із вмістом"));
    }
    if is_program(content) {
        return Err(format!(
            "Файл «{name}» є програмою, а не документом. Додайте документ у форматі {listed}"
        ));
    }
    let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let Some(format) =
        Format::of_extension(extension).filter(|f| accepted.iter().any(|a| sniffed(a) == Some(*f)))
    else {
        return Err(format!(
            "Файл «{name}» має формат, якого цей журнал не приймає. Додайте файл у форматі {listed}"
        ));
    };
    if !format.matches(content) {
        return Err(format!(
            "Файл «{name}» названо як {}, але його вміст не є файлом {}. Додайте справжній файл \
             у форматі {listed}",
            format.name(),
            format.name()
        ));
    }
    let plain_pdf = accepted.contains(&"pdf");
    if format == Format::Pdf && !plain_pdf && !pdf_a(content) {
        return Err(format!(
            "Файл «{name}» — PDF, але не PDF/A: цей журнал приймає PDF лише у форматі \
             довготривалого зберігання PDF/A. Збережіть документ як PDF/A і додайте знову"
        ));
    }
    Ok(format)
}

#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    role: Option<String>,
    version: Option<String>,
    file_name: Option<String>,
    content: Vec<u8>,
    too_large: bool,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        match field.name() {
            Some("csrf") => upload.csrf = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("role") => upload.role = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("version") => {
                upload.version = Some(field.text().await.map_err(|e| e.to_string())?);
            }
            Some("file") => {
                upload.file_name = field.file_name().map(str::to_string);
                while let Some(chunk) = field.chunk().await.map_err(|e| e.to_string())? {
                    if upload.too_large || upload.content.len() + chunk.len() > CEILING_BYTES {
                        upload.too_large = true;
                        upload.content = Vec::new();
                        continue;
                    }
                    upload.content.extend_from_slice(&chunk);
                }
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /registry/cards/{id}/files`.
pub async fn upload(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(e) => {
            tracing::info!("an upload to card {id} could not be read: {e}");
            return portal.pages.problem(
                StatusCode::BAD_REQUEST,
                &chrome,
                "Файл не отримано",
                "Надсилання файлу перервалося або форма пошкоджена. Спробуйте додати файл ще раз.",
            );
        }
    };
    if let Err(refused) = official.check_csrf(upload.csrf.as_deref()) {
        return refused;
    }
    if let Err(refused) = official
        .require(&portal, &compiled, Permission::DocumentsRegister)
        .await
    {
        return refused;
    }
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    if opened.card.participant != official.participant() {
        return not_found(&portal, &compiled, &official);
    }
    if let Err(why) = editable(&opened.card) {
        return conflict(&portal, &compiled, &official, "Файл не додано", why);
    }
    let refuse = |message: String| {
        let problems = [Problem {
            field: "file".into(),
            message,
        }];
        let portal = portal.clone();
        let compiled = compiled.clone();
        let official = official.clone();
        let opened = &opened;
        async move {
            super::page::render(
                &portal,
                &compiled,
                &official,
                opened,
                &problems,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    if upload.version.as_deref().and_then(|v| v.parse().ok()) != Some(opened.card.version) {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Картку вже змінили",
            "Поки ви вибирали файл, картку змінив хтось інший. Відкрийте картку ще раз і додайте \
             файл знову.",
        );
    }
    let role = upload.role.as_deref().unwrap_or("");
    if !ROLES.contains(&role) {
        return refuse("Оберіть, чим є файл: оригінал, скан-копія чи додаток".into()).await;
    }
    let Some(name) = upload.file_name.clone().filter(|n| !n.trim().is_empty()) else {
        return refuse("Виберіть файл документа".into()).await;
    };
    if upload.too_large {
        return refuse(format!(
            "Файл «{name}» завеликий. Найбільший розмір файлу — {} МБ",
            CEILING_BYTES / (1024 * 1024)
        ))
        .await;
    }
    let Some(journal) =
        super::journal_of(&compiled, &opened.card.participant, &opened.card.journal)
    else {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Журнал більше не оголошено",
            "Журнал цієї картки прибрано зі специфікації. Зверніться до адміністратора.",
        );
    };
    let format = match judge(journal, &name, &upload.content) {
        Ok(f) => f,
        Err(message) => {
            tracing::info!(
                "official {} was refused a file for card {id}: not a format journal {} accepts",
                official.id,
                journal.id
            );
            return refuse(message).await;
        }
    };
    let now = official.now();
    let actor = format!("official:{}", official.id);
    let written = async {
        let mut tx = portal.store.begin().await?;
        let Some(current) = portal.store.card_in(&mut tx, &id).await? else {
            return Ok(None);
        };
        if current.version != opened.card.version {
            return Ok(None);
        }
        let file = portal
            .store
            .add_card_file(
                &mut tx,
                &id,
                &NewCardFile {
                    role,
                    file_name: &name,
                    media_type: format.media_type(),
                    content: &upload.content,
                },
                &actor,
                now,
            )
            .await?;
        let after = crate::store::CardRow {
            version: current.version + 1,
            updated_at: time_text(&now),
            ..current.clone()
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
                    kind: "file-added",
                    note: json!({"file": file.n, "role": role, "sha256": file.sha256}),
                    at: now,
                },
            )
            .await?;
        if !done {
            return Ok(None);
        }
        tx.commit().await?;
        Ok::<_, StoreError>(Some(file.n))
    }
    .await;
    match written {
        Ok(Some(n)) => {
            log_access(&portal, &official, "card-file-add", &id).await;
            tracing::info!("official {} added file {n} to card {id}", official.id);
            see_other(&format!("/registry/cards/{id}"))
        }
        Ok(None) => conflict(
            &portal,
            &compiled,
            &official,
            "Картку вже змінили",
            "Поки ви вибирали файл, картку змінив хтось інший. Відкрийте картку ще раз і додайте \
             файл знову.",
        ),
        Err(e) => unavailable(&portal, &chrome, &e.to_string()),
    }
}

/// `GET /registry/cards/{id}/files/{n}`.
pub async fn download(
    State(portal): State<PortalState>,
    official: Official,
    Path((id, n)): Path<(String, String)>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let opened = match open(&portal, &compiled, &official, &id).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let files = match portal.store.card_files(&opened.card.id).await {
        Ok(files) => files,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let Some(file) = files.iter().find(|f| n.parse() == Ok(f.n)) else {
        return not_found(&portal, &compiled, &official);
    };
    if file.destroyed_at.is_some() {
        return conflict(
            &portal,
            &compiled,
            &official,
            "Файл знищено",
            "Вміст цього файлу знищено за затвердженим актом; у картці лишилися його назва і \
             контрольна сума.",
        );
    }
    let content = match portal.store.blob(&file.sha256).await {
        Ok(Some(content)) if content_hash(&content) == file.sha256 => content,
        Ok(found) => {
            tracing::error!(
                "file {} of card {id} does not match its stored digest {} (the content is {}); \
                 restore the store's attachment_blobs from a backup",
                file.n,
                file.sha256,
                if found.is_some() {
                    "changed"
                } else {
                    "missing"
                }
            );
            return portal.pages.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &chrome,
                "Файл пошкоджено",
                "Збережений вміст файлу не відповідає його контрольній сумі, тому його не \
                 видано. Про це вже записано в журнал системи; зверніться до адміністратора.",
            );
        }
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    log_access(&portal, &official, "card-file-download", &id).await;
    file_response(content, &file.file_name, &file.media_type)
}
