//! `GET /registry/cards/{id}/original` (002 §3.6): the card's original package, a zip holding
//! each file byte for byte under `files/`, `SHA256SUMS`, and `manifest.json` with origin,
//! destination and times. Every file's content is checked against its digest as it is packed:
//! a changed blob is refused, never handed out.

use std::io::{Cursor, Write};

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use super::{no_card, today, unavailable};
use crate::portal::PortalState;
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::starting;
use crate::registry::access::Reader;
use crate::store::{CardFileRow, CardRow, OriginalKind, OriginalRow, content_hash, time_text};

/// The manifest's format, so that a reader years later knows what it holds.
pub const FORMAT: &str = "hromada-original-package/1";

/// `GET /registry/cards/{id}/original`.
pub async fn package(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return starting(&portal);
    };
    let chrome = official.chrome(&compiled);
    let today = today(&portal, &compiled).to_string();
    let read = async {
        let reader = Reader::of(&portal.store, &compiled, &official, &today).await?;
        let Some(card) = portal.store.card(&id).await? else {
            return Ok(None);
        };
        let people = portal.store.card_people(&id).await?;
        if !reader.may_read(&card, &people) {
            return Ok(None);
        }
        let files = portal.store.card_files(&id).await?;
        let original = match (card.source.as_str(), card.source_ref.as_deref()) {
            ("portal", Some(r)) => portal.store.original(OriginalKind::Application, r).await?,
            ("engine", Some(r)) => portal.store.original(OriginalKind::Document, r).await?,
            _ => None,
        };
        Ok::<_, crate::store::StoreError>(Some((card, files, original)))
    }
    .await;
    let (card, files, original) = match read {
        Ok(Some(found)) => found,
        Ok(None) => return no_card(&portal, &chrome),
        Err(e) => return unavailable(&portal, &chrome, "read a card", &e),
    };
    let mut contents = Vec::new();
    for file in files.iter().filter(|f| f.destroyed_at.is_none()) {
        let changed = |why: &str| {
            tracing::error!(
                card = %card.id, file = file.n,
                "a card's file cannot be packed: {why}; restore it from a backup"
            );
            portal.pages.problem(
                StatusCode::CONFLICT,
                &chrome,
                "Оригінал пошкоджено",
                &format!(
                    "Файл № {} картки не збігається з відбитком SHA-256, записаним під час його \
                     додавання, або відсутній: його змінено поза системою. Пакет не видано. \
                     Повідомте адміністратора: файл відновлюють з резервної копії.",
                    file.n
                ),
            )
        };
        match portal.store.blob(&file.sha256).await {
            Ok(Some(bytes)) if content_hash(&bytes) == file.sha256 => contents.push((file, bytes)),
            Ok(Some(_)) => return changed("its content no longer hashes to its digest"),
            Ok(None) => return changed("its content is missing"),
            Err(e) => return changed(&e.to_string()),
        }
    }
    let packed_at = time_text(&portal.engine.clock().now());
    let manifest = manifest(&card, &files, original.as_ref(), &packed_at);
    let zip = match pack(&manifest, &contents) {
        Ok(zip) => zip,
        Err(e) => return unavailable(&portal, &chrome, "pack an original", &e),
    };
    if let Err(e) =
        access_log::record(&portal.store, &official, "original", Some(&card.id), "").await
    {
        return unavailable(&portal, &chrome, "record a view", &e);
    }
    let mut response = (StatusCode::OK, zip).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-original.zip\"",
        card.id
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The path of `file` inside the package: its number and its name without any folder.
pub fn file_path(file: &CardFileRow) -> String {
    let name: String = file
        .file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let name = name.trim_start_matches('.');
    format!(
        "files/{}-{}",
        file.n,
        if name.is_empty() { "file" } else { name }
    )
}

/// What the package says of the card: who it came from, whom it is for, when, and each file.
fn manifest(
    card: &CardRow,
    files: &[CardFileRow],
    original: Option<&OriginalRow>,
    packed_at: &str,
) -> Value {
    let list = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    json!({
        "format": FORMAT,
        "card": {
            "id": card.id, "participant": card.participant, "journal": card.journal,
            "direction": card.direction, "kind": card.kind, "status": card.status,
            "reg_number": card.reg_number, "reg_date": card.reg_date,
            "case_code": card.case_code, "summary": card.summary, "pages": card.pages,
            "paper": card.paper == 1, "version": card.version,
        },
        "origin": {
            "correspondent": card.correspondent,
            "correspondent_number": card.correspondent_number,
            "correspondent_date": card.correspondent_date,
            "signer": card.signer,
            "source": card.source,
            "source_ref": card.source_ref,
            "made_by": card.created_by,
            "original": original.map(|o| json!({
                "kind": o.kind, "record_id": o.record_id, "media_type": o.media_type,
                "sha256": o.digest, "origin": o.origin, "destination": o.destination,
                "created_at": o.created_at, "delivered_at": o.delivered_at,
            })),
        },
        "destination": {
            "participant": card.participant, "journal": card.journal,
            "addressees": list(&card.addressees), "unit": card.unit, "executor": card.executor,
        },
        "times": {
            "created_at": card.created_at, "registered_at": card.registered_at,
            "reg_date": card.reg_date, "archived_at": card.archived_at, "packed_at": packed_at,
        },
        "files": files.iter().map(|f| json!({
            "n": f.n, "role": f.role, "file_name": f.file_name, "media_type": f.media_type,
            "size": f.size, "sha256": f.sha256, "added_at": f.added_at, "added_by": f.added_by,
            "destroyed_at": f.destroyed_at,
            "path": f.destroyed_at.is_none().then(|| file_path(f)),
        })).collect::<Vec<_>>(),
    })
}

/// The zip: `manifest.json`, `SHA256SUMS` (as `sha256sum -c` reads it) and the files.
fn pack(manifest: &Value, contents: &[(&CardFileRow, Vec<u8>)]) -> zip::result::ZipResult<Vec<u8>> {
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let text = serde_json::to_vec_pretty(manifest).unwrap_or_default();
    zip.start_file("manifest.json", options)?;
    zip.write_all(&text)?;
    let sums: String = contents
        .iter()
        .map(|(file, _)| format!("{}  {}\n", file.sha256, file_path(file)))
        .collect();
    zip.start_file("SHA256SUMS", options)?;
    zip.write_all(sums.as_bytes())?;
    for (file, bytes) in contents {
        zip.start_file(file_path(file), options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_paths_keep_no_folder_of_the_name_given() {
        let file = |n, name: &str| CardFileRow {
            card_id: "card-1".into(),
            n,
            role: "original".into(),
            file_name: name.into(),
            media_type: "application/pdf".into(),
            size: 1,
            sha256: String::new(),
            added_at: String::new(),
            added_by: String::new(),
            text: None,
            destroyed_at: None,
        };
        assert_eq!(file_path(&file(1, "лист.pdf")), "files/1-лист.pdf");
        assert_eq!(file_path(&file(2, "../../etc/passwd")), "files/2-passwd");
        assert_eq!(file_path(&file(3, "C:\\scan\\a.pdf")), "files/3-a.pdf");
        assert_eq!(file_path(&file(4, "..")), "files/4-file");
    }
}
