//! `/drafts/{draft}/attachments` (PORTAL-3): the files a draft's form asks for, uploaded one at a
//! time (multipart) and removed. A file is taken only when its name's extension is one the
//! attachment accepts, its bytes are of that format (a program renamed `.pdf` is refused), and it
//! is within the attachment's size and count limits; it is stored once per content hash.

use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::PortalState;
use super::citizen::Citizen;
use super::forms::judge::FieldError;
use super::forms::open_posted;
use super::forms::{Opened, Purpose, open, see_other};
use super::sniff::{Format, is_program};
use crate::spec::model::{Attachment, Form};
use crate::store::{AttachmentChange, AttachmentRow, NewAttachment};

/// The most a file may be under any attachment's `max-mib`.
pub const CEILING_BYTES: usize = Attachment::CEILING_MIB as usize * 1024 * 1024;

/// The bound on an upload's whole body: the largest file, and a margin within which a larger
/// one is still read to its end and refused with the page.
pub fn body_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(CEILING_BYTES + 2 * 1024 * 1024)
}

/// The HTML id of the file input of attachment `id`, which error summaries link to.
pub fn input_id(attachment: &str) -> String {
    format!("file-{attachment}")
}

/// The required attachments of `form` that `files` do not give, as errors for check your
/// answers or signing.
pub fn missing_required(form: &Form, files: &[AttachmentRow]) -> Vec<FieldError> {
    form.attachments
        .iter()
        .filter(|a| a.required && !files.iter().any(|f| f.attachment == a.id))
        .map(|a| FieldError {
            field: input_id(&a.id),
            message: format!("Додайте файл: {}", a.label),
        })
        .collect()
}

/// `GET /drafts/{draft}/attachments`.
pub async fn show(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    render(&portal, &opened, &[], StatusCode::OK).await
}

/// What an upload's form sent.
#[derive(Default)]
struct Upload {
    csrf: Option<String>,
    attachment: Option<String>,
    file_name: Option<String>,
    content: Vec<u8>,
    /// The file was larger than any attachment may take; reading stopped there.
    too_large: bool,
}

/// `POST /drafts/{draft}/attachments` (multipart: `csrf`, `attachment`, `file`).
pub async fn upload(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
    multipart: Multipart,
) -> Response {
    let upload = match read_upload(multipart).await {
        Ok(u) => u,
        Err(why) => {
            tracing::info!("an upload to a draft could not be read: {why}");
            return unreadable(&portal, &citizen, &why).await;
        }
    };
    if let Err(refused) = citizen.check_csrf(upload.csrf.as_deref()) {
        return refused;
    }
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(attachment) = upload
        .attachment
        .as_deref()
        .and_then(|id| opened.form.attachments.iter().find(|a| a.id == id))
    else {
        tracing::warn!("an upload to draft {draft} named no attachment of its form");
        return super::forms::tampered(
            &portal,
            &opened.chrome,
            &draft,
            "the upload names no attachment of the form",
        );
    };
    let file_name = shown_name(upload.file_name.as_deref().unwrap_or_default());
    let chosen = upload.file_name.as_deref().is_some_and(|n| !n.is_empty());
    let judged = judge(
        attachment,
        &file_name,
        chosen,
        &upload.content,
        upload.too_large,
    );
    let format = match judged {
        Ok(format) => format,
        Err(message) => {
            let error = FieldError {
                field: input_id(&attachment.id),
                message,
            };
            return render(&portal, &opened, &[error], StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let new = NewAttachment {
        owner: &citizen.owner,
        draft_id: &draft,
        attachment: &attachment.id,
        file_name: &file_name,
        media_type: format.media_type(),
        content: &upload.content,
        max_files: attachment.max_files(),
        now: opened.now,
    };
    match portal.store.add_attachment(&new).await {
        Ok(AttachmentChange::Added(_)) => see_other(&format!("/drafts/{draft}/attachments")),
        Ok(AttachmentChange::TooMany) => {
            let error = FieldError {
                field: input_id(&attachment.id),
                message: too_many(attachment),
            };
            render(&portal, &opened, &[error], StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Ok(other) => refused(&portal, &opened, other),
        Err(e) => store_failed(&portal, &opened, &e),
    }
}

/// `POST /drafts/{draft}/attachments/{n}/remove` (`csrf`).
pub async fn remove(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((draft, n)): Path<(String, String)>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match open_posted(&portal, &citizen, &draft, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Ok(n) = n.parse::<i64>() else {
        return refused(&portal, &opened, AttachmentChange::NoSuchFile);
    };
    match portal
        .store
        .remove_attachment(&citizen.owner, &draft, n, opened.now)
        .await
    {
        Ok(AttachmentChange::Removed) => see_other(&format!("/drafts/{draft}/attachments")),
        Ok(other) => refused(&portal, &opened, other),
        Err(e) => store_failed(&portal, &opened, &e),
    }
}

/// `GET /drafts/{draft}/attachments/{n}`: the citizen's own file, as a download.
pub async fn download(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((draft, n)): Path<(String, String)>,
) -> Response {
    let opened = match open(&portal, &citizen, &draft, Purpose::Read).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let files = match portal.store.attachments_of(&draft).await {
        Ok(files) => files,
        Err(e) => return store_failed(&portal, &opened, &e),
    };
    let Some(file) = files.iter().find(|f| n.parse() == Ok(f.n)) else {
        return refused(&portal, &opened, AttachmentChange::NoSuchFile);
    };
    let content = match portal.store.blob(&file.sha256).await {
        Ok(Some(content)) => content,
        Ok(None) => {
            tracing::error!(
                "draft {draft} names stored file {} that the store does not hold",
                file.sha256
            );
            return refused(&portal, &opened, AttachmentChange::NoSuchFile);
        }
        Err(e) => return store_failed(&portal, &opened, &e),
    };
    file_response(content, &file.file_name, &file.media_type)
}

/// A stored file as a download: its recognised media type, never sniffed or run by the browser.
pub fn file_response(content: Vec<u8>, file_name: &str, media_type: &str) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        ascii_name(file_name),
        percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut response = content.into_response();
    let headers = response.headers_mut();
    let media = HeaderValue::from_str(media_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, media);
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Reads the upload's fields; the file only up to the largest any attachment may take.
async fn read_upload(mut multipart: Multipart) -> Result<Upload, String> {
    let mut upload = Upload::default();
    while let Some(mut field) = multipart.next_field().await.map_err(|e| e.to_string())? {
        match field.name() {
            Some("csrf") => upload.csrf = Some(field.text().await.map_err(|e| e.to_string())?),
            Some("attachment") => {
                upload.attachment = Some(field.text().await.map_err(|e| e.to_string())?);
            }
            Some("file") => {
                upload.file_name = field.file_name().map(str::to_string);
                // Past the ceiling the rest is read and dropped (up to the body limit), so the
                // browser gets the page rather than a connection cut mid-upload.
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

/// The format of an uploaded file (`content`, or `too_large` when reading it stopped at the
/// ceiling; `chosen` when the browser named a file) for `attachment`, or why it is refused, in
/// plain words.
pub fn judge(
    attachment: &Attachment,
    file_name: &str,
    chosen: bool,
    content: &[u8],
    too_large: bool,
) -> Result<Format, String> {
    let label = &attachment.label;
    let accepted = accepted_names(attachment);
    if !chosen && content.is_empty() {
        return Err(format!("Виберіть файл: {label}"));
    }
    let max = attachment.max_bytes();
    if too_large || content.len() as u64 > max {
        return Err(format!(
            "Файл «{file_name}» завеликий. Найбільший розмір файлу — {} МБ",
            max / (1024 * 1024)
        ));
    }
    if content.is_empty() {
        return Err(format!(
            "Файл «{file_name}» порожній. Виберіть файл із вмістом"
        ));
    }
    if is_program(content) {
        return Err(format!(
            "Файл «{file_name}» є програмою, а не документом. Додайте документ у форматі {accepted}"
        ));
    }
    let extension = file_name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let format = Format::of_extension(extension).filter(|f| {
        attachment
            .accept
            .iter()
            .any(|a| Format::of_extension(a) == Some(*f))
    });
    let Some(format) = format else {
        return Err(format!(
            "Файл «{file_name}» має формат, який тут не приймається. Додайте файл у форматі {accepted}"
        ));
    };
    if !format.matches(content) {
        return Err(format!(
            "Вміст файлу «{file_name}» не є документом {}: файл пошкоджений або перейменований. Додайте справжній файл {}",
            format.name(),
            format.name()
        ));
    }
    Ok(format)
}

fn too_many(attachment: &Attachment) -> String {
    format!(
        "До «{}» можна додати не більше файлів, ніж {}. Вилучіть зайвий файл, щоб додати інший",
        attachment.label,
        attachment.max_files()
    )
}

/// The formats an attachment accepts, as people name them: `PDF, JPEG або PNG`.
pub fn accepted_names(attachment: &Attachment) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in &attachment.accept {
        if let Some(f) = Format::of_extension(a)
            && !names.contains(&f.name())
        {
            names.push(f.name());
        }
    }
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} або {last}", rest.join(", ")),
    }
}

/// The name a device gave a file, as the portal keeps and shows it: without the folders some
/// browsers send, control characters or surrounding spaces, at most 200 characters.
pub fn shown_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or(given);
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    let name: String = if clean.chars().count() > 200 {
        let (stem, ext) = clean.rsplit_once('.').unwrap_or((clean, ""));
        let keep = 200 - ext.chars().count().min(20) - 1;
        let stem: String = stem.chars().take(keep).collect();
        format!("{stem}.{}", ext.chars().take(20).collect::<String>())
    } else {
        clean.to_string()
    };
    if name.is_empty() {
        "файл".into()
    } else {
        name
    }
}

/// A file name in ASCII for `Content-Disposition`'s plain `filename`.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A size as people read it: `340 КБ`, `1,2 МБ`.
pub fn size_text(bytes: i64) -> String {
    const MIB: i64 = 1024 * 1024;
    if bytes >= MIB {
        let tenths = (bytes * 10 + MIB / 2) / MIB;
        format!("{},{} МБ", tenths / 10, tenths % 10)
    } else {
        format!("{} КБ", (bytes + 1023) / 1024)
    }
}

/// The attachments page of `opened`, with `errors` against its inputs.
async fn render(
    portal: &PortalState,
    opened: &Opened,
    errors: &[FieldError],
    status: StatusCode,
) -> Response {
    let files = match portal.store.attachments_of(&opened.draft.id).await {
        Ok(files) => files,
        Err(e) => return store_failed(portal, opened, &e),
    };
    let draft = &opened.draft.id;
    let attachments: Vec<Value> = opened
        .form
        .attachments
        .iter()
        .map(|a| {
            let mine: Vec<Value> = files
                .iter()
                .filter(|f| f.attachment == a.id)
                .map(|f| {
                    json!({
                        "n": f.n,
                        "file_name": f.file_name,
                        "size": size_text(f.size),
                        "href": format!("/drafts/{draft}/attachments/{}", f.n),
                        "remove": format!("/drafts/{draft}/attachments/{}/remove", f.n),
                    })
                })
                .collect();
            let error = errors
                .iter()
                .find(|e| e.field == input_id(&a.id))
                .map(|e| e.message.clone());
            json!({
                "id": a.id,
                "input": input_id(&a.id),
                "label": a.label,
                "required": a.required,
                "formats": accepted_names(a),
                "accept": a.accept.iter().map(|x| format!(".{x}")).collect::<Vec<_>>().join(","),
                "max_files": a.max_files(),
                "max_mib": a.max_bytes() / (1024 * 1024),
                "full": mine.len() as u32 >= a.max_files(),
                "files": mine,
                "error": error,
            })
        })
        .collect();
    portal.pages.render(
        status,
        "attachments.html",
        &opened.chrome,
        json!({
            "form_title": opened.form.title,
            "draft": draft,
            "attachments": attachments,
            "errors": errors,
            "upload": format!("/drafts/{draft}/attachments"),
            "back": format!("/drafts/{draft}/pages/{}", opened.draft.page),
            "next": format!("/drafts/{draft}/check"),
        }),
    )
}

/// An upload whose body could not be read as a form (cut off, over the limit, not multipart).
async fn unreadable(portal: &PortalState, citizen: &Citizen, why: &str) -> Response {
    let chrome = match portal.current.load_full() {
        Some(compiled) => citizen.chrome(&compiled),
        None => Default::default(),
    };
    let (status, message) = if why.contains("limit") || why.contains("length") {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "Файл завеликий: портал приймає файли до {} МБ. Поверніться назад і виберіть менший файл.",
                Attachment::CEILING_MIB
            ),
        )
    } else {
        (
            StatusCode::BAD_REQUEST,
            "Файл не вдалося отримати повністю. Поверніться назад і додайте його ще раз.".into(),
        )
    };
    portal
        .pages
        .problem(status, &chrome, "Файл не додано", &message)
}

/// The page for a change the store refused.
fn refused(portal: &PortalState, opened: &Opened, change: AttachmentChange) -> Response {
    let (status, title, message) = match change {
        AttachmentChange::Locked => (
            StatusCode::CONFLICT,
            "Заяву вже підписано",
            "Підписану заяву змінити не можна. Її стан видно в особистому кабінеті.",
        ),
        AttachmentChange::Missing => (
            StatusCode::NOT_FOUND,
            "Чернетку не знайдено",
            "Такої чернетки немає серед ваших: її могли видалити, або посилання неправильне.",
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "Файл не знайдено",
            "Такого файлу в чернетці немає: його могли вже вилучити. Поверніться до сторінки файлів.",
        ),
    };
    portal.pages.problem(status, &opened.chrome, title, message)
}

fn store_failed(portal: &PortalState, opened: &Opened, e: &crate::store::StoreError) -> Response {
    tracing::error!(
        "the portal could not read or change the files of draft {}: {e}",
        opened.draft.id
    );
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &opened.chrome,
        "Файли тимчасово недоступні",
        "Не вдалося звернутися до сховища даних. Додані файли не втрачено; спробуйте ще раз за кілька хвилин.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(accept: &[&str]) -> Attachment {
        Attachment {
            id: "income-statement".into(),
            label: "Довідка про доходи".into(),
            required: true,
            max_files: Some(2),
            max_mib: Some(1),
            accept: accept.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn judged(a: &Attachment, name: &str, upload: &Upload) -> Result<Format, String> {
        let chosen = upload.file_name.as_deref().is_some_and(|n| !n.is_empty());
        judge(a, name, chosen, &upload.content, upload.too_large)
    }

    fn upload(name: &str, content: &[u8]) -> Upload {
        Upload {
            file_name: Some(name.into()),
            content: content.to_vec(),
            ..Upload::default()
        }
    }

    #[test]
    fn a_file_is_judged_by_extension_and_content() {
        let a = attachment(&["pdf", "jpg"]);
        let pdf = b"%PDF-1.7\n...";
        assert_eq!(
            judged(&a, "довідка.PDF", &upload("довідка.PDF", pdf)),
            Ok(Format::Pdf)
        );
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0];
        assert_eq!(
            judged(&a, "фото.jpeg", &upload("фото.jpeg", &jpeg)),
            Ok(Format::Jpeg)
        );
        let refusals = [
            ("a.pdf", b"MZ\x90\0program".to_vec(), "є програмою"),
            ("a.pdf", b"just text".to_vec(), "не є документом PDF"),
            ("a.pdf", jpeg.to_vec(), "не є документом PDF"),
            ("a.png", b"\x89PNG\r\n\x1a\n".to_vec(), "тут не приймається"),
            ("a.exe", pdf.to_vec(), "тут не приймається"),
            ("a", pdf.to_vec(), "тут не приймається"),
            ("a.pdf", Vec::new(), "порожній"),
            ("a.pdf", vec![b'%'; 1024 * 1024 + 1], "завеликий"),
        ];
        for (name, bytes, says) in refusals {
            let got = judged(&a, name, &upload(name, &bytes)).unwrap_err();
            assert!(got.contains(says), "{name}: {got}");
        }
        let none = Upload::default();
        assert_eq!(
            judged(&a, "файл", &none),
            Err("Виберіть файл: Довідка про доходи".into())
        );
        let cut = Upload {
            too_large: true,
            ..upload("a.pdf", b"")
        };
        assert!(judged(&a, "a.pdf", &cut).unwrap_err().contains("завеликий"));
    }

    #[test]
    fn accepted_formats_are_named_once_in_plain_words() {
        assert_eq!(accepted_names(&attachment(&["pdf"])), "PDF");
        assert_eq!(
            accepted_names(&attachment(&["pdf", "jpg", "jpeg", "png"])),
            "PDF, JPEG або PNG"
        );
    }

    #[test]
    fn file_names_are_kept_without_folders_or_control_characters() {
        assert_eq!(shown_name(r"C:\fakepath\довідка.pdf"), "довідка.pdf");
        assert_eq!(shown_name("../../etc/passwd"), "passwd");
        assert_eq!(shown_name(" a\u{0}b\r\n.pdf "), "ab.pdf");
        assert_eq!(shown_name(""), "файл");
        let long = format!("{}.pdf", "я".repeat(500));
        let kept = shown_name(&long);
        assert_eq!(kept.chars().count(), 200);
        assert!(kept.ends_with(".pdf"));
        assert_eq!(ascii_name("довідка 1.pdf"), "________1.pdf");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_text(1), "1 КБ");
        assert_eq!(size_text(340 * 1024), "340 КБ");
        assert_eq!(size_text(1024 * 1024 * 12 / 10), "1,2 МБ");
        assert_eq!(size_text(10 * 1024 * 1024), "10,0 МБ");
    }
}
