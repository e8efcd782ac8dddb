//! Taking a received document (002 §3.6: it is then delivered): an incoming card draft made
//! from it in the journal the registrar picks (the sender as correspondent, their number and
//! date, the summary, the files with their signatures), and the delivery notice queued, in one
//! transaction with the document marked taken, so a second registrar finds it taken.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{CARD_SOURCE, notices};
use crate::registry::cards::files::judge;
use crate::registry::cards::new_id;
use crate::spec::model::{DocumentKind, Journal};
use crate::store::{
    CardChange, CardRow, NewCardFile, ReceivedFileRow, ReceivedRow, Store, StoreError,
    content_hash, time_text,
};

/// What to take: document `id` into `journal` as a card of `kind`, by official `by`.
pub struct Take<'a> {
    pub id: i64,
    pub journal: &'a Journal,
    pub kind: &'a DocumentKind,
    pub by: &'a str,
    pub at: DateTime<Utc>,
}

/// Why a document was not taken.
#[derive(Debug)]
pub enum NotTaken {
    /// There is no such document, or not of the journal's participant.
    Missing,
    /// It was taken or refused already (the row as it is).
    Decided(Box<ReceivedRow>),
    /// A file is not one the journal takes (in the registrar's words).
    Format(String),
    Store(StoreError),
}

impl From<StoreError> for NotTaken {
    fn from(e: StoreError) -> NotTaken {
        NotTaken::Store(e)
    }
}

/// A file's bytes as stored, re-hashed.
pub async fn file_content(store: &Store, file: &ReceivedFileRow) -> Result<Vec<u8>, StoreError> {
    match store.blob(&file.sha256).await? {
        Some(content) if content_hash(&content) == file.sha256 => Ok(content),
        found => Err(StoreError::new(format!(
            "file {} of received document {} is {} in the store (digest {}); restore \
             attachment_blobs from a backup",
            file.n,
            file.message_id,
            if found.is_some() {
                "changed"
            } else {
                "missing"
            },
            file.sha256
        ))),
    }
}

/// The signatures stored with `file`: each one's bytes.
pub fn signatures_of(file: &ReceivedFileRow) -> Vec<Vec<u8>> {
    serde_json::from_str::<Vec<Value>>(&file.signatures)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s.get("der")?.as_str())
        .filter_map(|b64| openssl::base64::decode_block(b64).ok())
        .collect()
}

/// Takes document `t.id`: the card draft made from it, with the delivery notice queued.
pub async fn take(store: &Store, t: &Take<'_>) -> Result<CardRow, NotTaken> {
    match store.received_document(t.id).await? {
        Some(row) if row.participant == t.journal.participant => {}
        _ => return Err(NotTaken::Missing),
    }
    let files = store.received_files(t.id).await?;
    let mut contents = Vec::with_capacity(files.len());
    for file in &files {
        let content = file_content(store, file).await?;
        judge(t.journal, &file.file_name, &content).map_err(NotTaken::Format)?;
        contents.push(content);
    }
    let signatures: Vec<Vec<Vec<u8>>> = files.iter().map(signatures_of).collect();
    let mut tx = store.begin().await?;
    let Some(row) = store.received_document_in(&mut tx, t.id).await? else {
        return Err(NotTaken::Missing);
    };
    if row.participant != t.journal.participant {
        return Err(NotTaken::Missing);
    }
    if row.status != "received" {
        return Err(NotTaken::Decided(Box::new(row)));
    }
    let actor = format!("official:{}", t.by);
    let requisites: Value = serde_json::from_str(&row.requisites).unwrap_or(Value::Null);
    let card = CardRow {
        summary: row.summary.clone(),
        correspondent: Some(row.correspondent.clone()),
        correspondent_number: Some(row.out_number.clone()),
        correspondent_date: Some(row.out_date.clone()),
        signer: signer_line(&requisites),
        pages: requisites.get("pages").and_then(Value::as_i64),
        source: CARD_SOURCE.into(),
        source_ref: Some(row.id.to_string()),
        ..CardRow::draft(
            &new_id(),
            (&row.participant, &t.journal.id, "incoming"),
            &t.kind.id,
            &actor,
            &t.at,
        )
    };
    store
        .write_card(
            &mut tx,
            &CardChange {
                before: None,
                after: &card,
                actor: &actor,
                on_behalf: None,
                kind: "created",
                note: json!({"received": row.id, "msg_id": row.msg_id, "from": row.sender}),
                at: t.at,
            },
        )
        .await?;
    for (i, ((file, content), signatures)) in
        files.iter().zip(&contents).zip(&signatures).enumerate()
    {
        let role = if i == 0 { "original" } else { "annex" };
        store
            .add_card_file(
                &mut tx,
                &card.id,
                &NewCardFile {
                    role,
                    file_name: &file.file_name,
                    media_type: &file.media_type,
                    content,
                },
                &actor,
                t.at,
            )
            .await?;
        for (j, signature) in signatures.iter().enumerate() {
            let name = if signatures.len() == 1 {
                format!("{}.p7s", file.file_name)
            } else {
                format!("{}.{}.p7s", file.file_name, j + 1)
            };
            store
                .add_card_file(
                    &mut tx,
                    &card.id,
                    &NewCardFile {
                        role: "signature",
                        file_name: &name,
                        media_type: "application/pkcs7-signature",
                        content: signature,
                    },
                    &actor,
                    t.at,
                )
                .await?;
        }
    }
    if !store
        .take_received(&mut tx, row.id, &card.id, &actor, &time_text(&t.at))
        .await?
    {
        return Err(NotTaken::Decided(Box::new(row)));
    }
    let parties = notices::parties_of(&row)?;
    let notice = notices::delivered(&parties, t.at);
    notices::queue(store, &mut tx, &row, &notice, Some(&card.id)).await?;
    tx.commit().await?;
    Ok(card)
}

/// The first signer the authors name, as the card's "who signed".
fn signer_line(requisites: &Value) -> Option<String> {
    requisites
        .get("signers")?
        .as_array()?
        .iter()
        .find_map(|name| name.as_str().map(str::to_string))
}
