//! Receiving documents from other participants' registries (002 §3.4–3.6, КМУ №55 п.18–27): each
//! document message checked automatically (`checks`), refused at once with a notice or stored
//! for a registrar, who takes it (`take`: an incoming card draft and the delivery notice) or
//! refuses it on a listed ground (`refuse`); its card's registration sends the registration
//! notice (`notices::on_registered`). `pages` are the registrar's.

pub mod checks;
pub mod grounds;
pub mod notices;
pub mod pages;
pub mod refuse;
pub mod take;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use self::checks::{Accepted, NotAccepted};
use self::grounds::Ground;
use self::notices::Parties;
use crate::compile::Compiled;
use crate::compile::current::Current;
use crate::registry::exchange::scan::Scanner;
use crate::registry::exchange::sev::{Correspondent, Document, Envelope, Organization};
use crate::store::{
    NewReceivedFile, ReceivedFileRow, ReceivedMessage, ReceivedRow, Store, StoreError,
    content_hash, time_text,
};

/// The `source` of a card made from a received document (its `source_ref` the message id).
pub const CARD_SOURCE: &str = "exchange";

/// The receiving side as `serve` composes it into the exchange's `Recipient`: the store, the
/// applied revision (read once per message) and the virus scanner (`serve --clamd`).
#[derive(Clone)]
pub struct Receiver {
    pub store: Store,
    pub current: Current,
    pub scanner: Option<Scanner>,
}

impl Receiver {
    /// `Recipient::document`: `receive_document` under the revision applied now.
    pub async fn document(
        &self,
        message: &ReceivedMessage,
        envelope: Envelope,
    ) -> Result<(), StoreError> {
        let Some(compiled) = self.current.load_full() else {
            return Err(StoreError::new(format!(
                "document message {} waits: no revision of the spec is applied yet",
                message.id
            )));
        };
        receive_document(
            &self.store,
            &compiled,
            self.scanner.as_ref(),
            message,
            envelope,
        )
        .await
    }
}

/// Handles document message `message` (its XML read as `envelope`) addressed to one of this
/// node's participants: checked, then stored as received or refused with the refusal notice
/// queued, in one transaction with `finish_received_message`. A scanner missing or out of reach
/// leaves it unhandled (`Err`) for a later try.
pub async fn receive_document(
    store: &Store,
    compiled: &Compiled,
    scanner: Option<&Scanner>,
    message: &ReceivedMessage,
    envelope: Envelope,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let checked = checks::check(
        compiled,
        scanner,
        &message.participant,
        &message.sender,
        &envelope,
        now,
    )
    .await;
    let mut row = received_row(compiled, message, &envelope, now);
    let accepted = match checked {
        Ok(accepted) => accepted,
        Err(NotAccepted::Later(why)) => {
            return Err(StoreError::new(format!(
                "document message {} from participant `{}` to `{}` is left unhandled for a \
                 later try: {why}",
                message.id, message.sender, message.participant
            )));
        }
        Err(NotAccepted::Refused { ground, detail }) => {
            return refuse_at_once(store, message, &row, ground, &detail, now).await;
        }
    };
    let files = received_files(message.id, &accepted);
    row.content_digest = content_digest(&files);
    let earlier = store
        .received_before(
            &row.participant,
            &row.sender,
            &row.out_number,
            &row.out_date,
            &row.content_digest,
        )
        .await?;
    if let Some(earlier) = earlier {
        let detail = format!(
            "the same document (number {} of {}, the same files) was received before as \
             message {}",
            row.out_number, row.out_date, earlier.id
        );
        return refuse_at_once(store, message, &row, Ground::ReceivedAgain, &detail, now).await;
    }
    let new_files: Vec<NewReceivedFile> = files
        .into_iter()
        .zip(&accepted.files)
        .map(|(row, file)| NewReceivedFile {
            row,
            content: file.content,
        })
        .collect();
    let mut tx = store.begin().await?;
    store.record_received(&mut tx, &row, &new_files).await?;
    store.finish_received_message(&mut tx, message.id).await?;
    tx.commit().await?;
    tracing::info!(
        "participant `{}` received document message {} from `{}` ({} files); it waits for a \
         registrar",
        row.participant,
        message.id,
        row.sender,
        new_files.len()
    );
    Ok(())
}

/// Records `row` refused on `ground` by the automatic checks and queues the refusal notice, with
/// the message finished, in one transaction.
async fn refuse_at_once(
    store: &Store,
    message: &ReceivedMessage,
    row: &ReceivedRow,
    ground: Ground,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let at = time_text(&now);
    let refused = ReceivedRow {
        status: "refused".into(),
        ground_code: Some(ground.code()),
        ground: Some(ground.text().into()),
        refusal_detail: Some(detail.into()),
        refused_by: Some("system".into()),
        refused_at: Some(at),
        ..row.clone()
    };
    let parties = notices::parties_of(&refused)?;
    let notice = notices::refusal(&parties, ground, detail, now);
    let mut tx = store.begin().await?;
    if store.record_received(&mut tx, &refused, &[]).await? {
        notices::queue(store, &mut tx, &refused, &notice, None).await?;
    }
    store.finish_received_message(&mut tx, message.id).await?;
    tx.commit().await?;
    // Where the check failed, not what it found there (a signer's name stays out of the log).
    let at = detail.split(':').next().unwrap_or_default();
    tracing::info!(
        "participant `{}` refused document message {} from `{}` at once on ground {} ({at}); \
         the refusal notice is queued",
        refused.participant,
        message.id,
        refused.sender,
        ground.code()
    );
    Ok(())
}

/// The row of a received document before the checks' outcome: waiting, no files' digest yet.
/// Its parties name us as the spec does, so a notice about a misaddressed message comes from us.
fn received_row(
    compiled: &Compiled,
    message: &ReceivedMessage,
    envelope: &Envelope,
    now: DateTime<Utc>,
) -> ReceivedRow {
    let mut parties = Parties::of(envelope);
    if let Some(ours) = crate::spec::model::by_id(&compiled.spec.participants, &message.participant)
        && ours.edrpou != parties.to_org_id
    {
        parties.to_org_id = ours.edrpou.clone();
        parties.to_organization = ours.name.clone();
        parties.to_department = None;
    }
    let document = envelope.body.document();
    let (out_number, out_date) = document
        .map(|d| {
            (
                d.reg_number.number.clone(),
                d.reg_number.date.format("%Y-%m-%d").to_string(),
            )
        })
        .unwrap_or_default();
    ReceivedRow {
        id: message.id,
        participant: message.participant.clone(),
        sender: message.sender.clone(),
        msg_id: message.msg_id.clone(),
        out_number,
        out_date,
        content_digest: String::new(),
        summary: document.map(summary).unwrap_or_default(),
        correspondent: envelope.from_organization.clone(),
        header: serde_json::to_string(&parties).unwrap_or_default(),
        requisites: document.map(requisites).unwrap_or(Value::Null).to_string(),
        status: "received".into(),
        received_at: time_text(&now),
        ground_code: None,
        ground: None,
        refusal_detail: None,
        refused_by: None,
        refused_at: None,
        card_id: None,
        taken_by: None,
        taken_at: None,
        reg_number: None,
        registered_at: None,
    }
}

/// The document's summary: its annotation, else its title, else its kind.
fn summary(document: &Document) -> String {
    [&document.annotation, &document.title, &document.kind]
        .into_iter()
        .flatten()
        .find(|t| !t.trim().is_empty())
        .cloned()
        .unwrap_or_default()
}

fn organisation_line(o: &Organization) -> String {
    let name = o
        .fullname
        .as_deref()
        .or(o.shortname.as_deref())
        .unwrap_or_default();
    format!("{name} (ЄДРПОУ {})", o.ogrn)
}

fn correspondent_line(c: &Option<Correspondent>) -> Option<String> {
    match c.as_ref()? {
        Correspondent::Organization(o) => {
            let people: Vec<String> = o
                .officials
                .iter()
                .map(|p| match &p.post {
                    Some(post) => format!("{}, {post}", p.name.text),
                    None => p.name.text.clone(),
                })
                .collect();
            Some(if people.is_empty() {
                organisation_line(o)
            } else {
                format!("{}: {}", organisation_line(o), people.join("; "))
            })
        }
        Correspondent::PrivatePerson(p) => Some(p.name.text.clone()),
    }
}

/// The requisites the message page shows, as JSON.
fn requisites(document: &Document) -> Value {
    json!({
        "idnumber": document.idnumber,
        "kind": document.kind,
        "title": document.title,
        "annotation": document.annotation,
        "pages": document.pages,
        "purpose": document.purpose.code(),
        "urgent": document.urgent,
        "confidential": document.confidential,
        "reg_number": document.reg_number.number,
        "reg_date": document.reg_number.date.format("%Y-%m-%d").to_string(),
        "authors": document.authors.iter().map(|a| json!({
            "who": correspondent_line(&a.who),
            "out_number": a.out_number.as_ref().map(|n| n.number.clone()),
            "out_date": a.out_number.as_ref().map(|n| n.date.format("%Y-%m-%d").to_string()),
        })).collect::<Vec<_>>(),
        "signers": document.authors.iter().flat_map(|a| match &a.who {
            Some(Correspondent::Organization(o)) => {
                o.officials.iter().map(|p| p.name.text.clone()).collect::<Vec<_>>()
            }
            Some(Correspondent::PrivatePerson(p)) => vec![p.name.text.clone()],
            None => Vec::new(),
        }).collect::<Vec<_>>(),
        "addressees": document.addressees.iter()
            .filter_map(|a| correspondent_line(&a.who)).collect::<Vec<_>>(),
        "writer": correspondent_line(&document.writer),
        "tasks": document.tasks.iter().map(|t| json!({
            "text": t.text,
            "deadline": t.deadline.map(|d| d.format("%Y-%m-%d").to_string()),
        })).collect::<Vec<_>>(),
    })
}

/// The file rows of an accepted document, numbered in the message's order.
fn received_files(message_id: i64, accepted: &Accepted) -> Vec<ReceivedFileRow> {
    accepted
        .files
        .iter()
        .enumerate()
        .map(|(i, file)| ReceivedFileRow {
            message_id,
            n: i as i64 + 1,
            idnumber: file.idnumber.to_string(),
            file_name: checks::named(file.name, file.file_type),
            file_type: file.file_type.to_string(),
            media_type: file.format.media_type().to_string(),
            size: file.content.len() as i64,
            sha256: content_hash(file.content),
            signatures: Value::Array(
                file.signatures
                    .iter()
                    .map(|s| {
                        json!({
                            "der": openssl::base64::encode_block(s.der),
                            "signer": s.signer,
                            "signed_at": time_text(&s.signed_at),
                            "result": "valid",
                        })
                    })
                    .collect(),
            )
            .to_string(),
        })
        .collect()
}

/// One digest over the files' digests in order: the same content sent again has it, renamed or
/// not.
fn content_digest(files: &[ReceivedFileRow]) -> String {
    let joined: Vec<&str> = files.iter().map(|f| f.sha256.as_str()).collect();
    content_hash(joined.join("\n").as_bytes())
}
