//! A signed application registered (003 §5.10): in the signing transaction it takes the next
//! number of the provider's incoming journal and its time of receipt; after the commit its case
//! is started through the engine, keyed by the application, so a retry or the sweep that heals
//! a crash between the two starts it once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio::sync::watch;

use super::application::Document;
use crate::spec::Spec;
use crate::spec::model::{Action, EService, Form, InputType, Journal, RecordClass};
use crate::store::{
    ApplicationRow, NewCardFile, OriginalKind, OriginalRow, Store, Tx, original_digest, time_text,
};
use crate::workflow::document_cards::{self as sourced, Sourced};
use crate::workflow::documents::{number_text, period};
use crate::workflow::engine::{Applicant, Engine, Start};
use crate::workflow::retention_class::rule_for;

/// How often the sweep looks for applications whose case was not started.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How many it starts in one pass.
const SWEEP_BATCH: i64 = 100;

/// An application to register.
pub struct NewApplication<'a> {
    pub owner: &'a str,
    pub draft_id: &'a str,
    pub e_service: &'a EService,
    pub journal: &'a Journal,
    pub document: &'a Document,
    /// The applicant's detached CMS signature (DER), where the form asks for one.
    pub signature: Option<Vec<u8>>,
    pub at: DateTime<Utc>,
    /// The city's zone: the date in the number is the city's.
    pub zone: chrono_tz::Tz,
    /// The retention rule that keeps it ([`retention_of`]), kept with the original.
    pub retention: Option<&'a str>,
}

/// Registers `new` in `tx` (which the caller commits with the draft's lock); the application
/// already made from the same draft when there is one.
pub async fn register(
    store: &Store,
    tx: &mut Tx,
    new: NewApplication<'_>,
) -> Result<ApplicationRow, String> {
    if let Some(row) = store
        .application_of_draft(tx, new.draft_id)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(row);
    }
    let journal = new.journal;
    let day = new.at.with_timezone(&new.zone).date_naive();
    number_text(journal, 1, day, None)?;
    let period = period(journal, day);
    let seq = store
        .next_number(tx, &journal.id, &period)
        .await
        .map_err(|e| e.to_string())?;
    let row = ApplicationRow {
        id: uuid::Uuid::now_v7().to_string(),
        owner: new.owner.to_string(),
        draft_id: new.draft_id.to_string(),
        e_service: new.e_service.id.clone(),
        journal: journal.id.clone(),
        number: number_text(journal, seq, day, None)?,
        period: period.clone(),
        seq,
        received_at: time_text(&new.at),
        case_id: None,
        document: new.document.json.clone(),
        signature: new.signature,
    };
    store
        .insert_application(tx, &row)
        .await
        .map_err(|e| e.to_string())?;
    // Received by the provider the moment its journal registers it (003 §5.10).
    let original = OriginalRow {
        kind: OriginalKind::Application.as_str().into(),
        record_id: row.id.clone(),
        media_type: "application/json".into(),
        digest: original_digest(row.document.as_bytes()),
        origin: format!("applicant:{}", row.owner),
        destination: format!("participant:{}", journal.participant),
        created_at: row.received_at.clone(),
        delivered_at: Some(row.received_at.clone()),
        retention: new.retention.map(str::to_string),
    };
    store
        .insert_original(tx, &original)
        .await
        .map_err(|e| e.to_string())?;
    let mut files = vec![NewCardFile {
        role: "original",
        file_name: "application.json",
        media_type: "application/json",
        content: row.document.as_bytes(),
    }];
    if let Some(signature) = &row.signature {
        files.push(NewCardFile {
            role: "signature",
            file_name: "application.json.p7s",
            media_type: "application/pkcs7-signature",
            content: signature,
        });
    }
    sourced::write(
        store,
        tx,
        &Sourced {
            source: "portal",
            source_ref: &row.id,
            journal,
            period: &period,
            seq,
            number: &row.number,
            at: new.at,
            zone: new.zone,
            summary: format!("Заява через портал: {}", new.e_service.title),
            case_code: None,
            correspondent: Some("Заявник (електронна заява через портал)"),
            signer: None,
            addressees: &[],
            files: &files,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    Ok(row)
}

/// The retention rule of `spec` that keeps the applications of `e_service`: the rule of the
/// case of the case index its workflow files its documents in, else the general one.
pub fn retention_of(spec: &Spec, e_service: &EService) -> Option<String> {
    let filed_in = spec
        .workflows
        .iter()
        .filter(|w| w.id == e_service.workflow)
        .flat_map(|w| &w.states)
        .flat_map(|s| &s.transitions)
        .flat_map(|t| &t.actions)
        .find_map(|a| match a {
            Action::Issue(i) => i.case.clone(),
            _ => None,
        });
    rule_for(
        &spec.retention,
        RecordClass::Application,
        filed_in.as_deref(),
    )
    .map(|r| r.id.clone())
}

/// Starts the case of application `row` (again: the engine answers a repeated start with the
/// same case) and records it; the case id. With its `form`, notices go to the address the form
/// asked for; without (the sweep), to the identity provider's.
pub async fn start_case(
    engine: &Engine,
    row: &ApplicationRow,
    form: Option<&Form>,
) -> Result<String, String> {
    let document: Value = serde_json::from_str(&row.document).map_err(|e| {
        format!(
            "application {} (number {}) holds a document that is not JSON ({e}); its row was \
             changed after it was signed, restore it from a backup",
            row.id, row.number
        )
    })?;
    let text = |key: &str| {
        document
            .pointer(&format!("/applicant/{key}"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let name = ["family-name", "given-name", "middle-name"]
        .iter()
        .filter_map(|k| text(k))
        .collect::<Vec<_>>()
        .join(" ");
    let mut data = document
        .get("data")
        .cloned()
        .unwrap_or_else(|| Value::Object(Default::default()));
    let applicant = Applicant {
        id: text("rnokpp").unwrap_or_else(|| row.owner.clone()),
        name,
        email: form
            .and_then(|form| email_asked(form, &data))
            .or_else(|| text("email")),
    };
    // The journal's number is the application's registration number (003 §5.10), as the
    // documents issued on it quote it.
    if let Some(fields) = data.as_object_mut() {
        fields
            .entry("registration_number")
            .or_insert_with(|| Value::String(row.number.clone()));
    }
    let moved = engine
        .start(Start {
            key: &row.id,
            e_service: &row.e_service,
            applicant: &applicant,
            data: &data,
            on_behalf: None,
            submitted_by: None,
        })
        .await
        .map_err(|e| {
            format!(
                "the case of application {} (number {}) could not be started: {e}",
                row.id, row.number
            )
        })?;
    engine
        .store()
        .set_application_case(&row.id, &moved.case_id)
        .await
        .map_err(|e| e.to_string())?;
    Ok(moved.case_id)
}

/// Starts the cases of registered applications that have none (a crash after the signing
/// transaction), once the engine has a revision and then every minute, until `stopped` turns.
pub async fn sweep(engine: std::sync::Arc<Engine>, mut stopped: watch::Receiver<bool>) {
    loop {
        if engine.revision().is_some() {
            sweep_once(&engine).await;
        }
        let wait = if engine.revision().is_some() {
            SWEEP_EVERY
        } else {
            Duration::from_secs(1)
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { return },
        }
    }
}

/// One pass of the sweep; how many cases it started.
pub async fn sweep_once(engine: &Engine) -> usize {
    let pending = match engine.store().applications_without_case(SWEEP_BATCH).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!("the portal cannot look for applications awaiting their case: {e}");
            return 0;
        }
    };
    let mut started = 0;
    for row in pending {
        match start_case(engine, &row, None).await {
            Ok(_) => started += 1,
            Err(e) => tracing::warn!("{e}; the portal tries again in a minute"),
        }
    }
    if started > 0 {
        tracing::info!("the portal started {started} case(s) of applications left without one");
    }
    started
}

/// The address the applicant gave in the form's first answered e-mail field.
fn email_asked(form: &Form, data: &Value) -> Option<String> {
    form.pages
        .iter()
        .flat_map(|p| &p.fields)
        .filter(|f| f.ty == InputType::Email)
        .find_map(|f| data.get(&f.id)?.as_str().filter(|e| !e.trim().is_empty()))
        .map(str::to_string)
}
