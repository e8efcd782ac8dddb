//! `/registry/delegations` (004 §5.1): a principal (or the control service for anyone of its
//! participant) names a deputy in the SAME unit for a period, with or without authority to
//! decide; the deputy then reads the principal's cards and tasks (`access::Reader`) and acts for
//! them. A delegation is revoked, never deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::deadline::parse_date;
use super::{MAX_TEXT, Refusal, begin, field, official_of};
use crate::compile::Compiled;
use crate::portal::PortalState;
use crate::portal::forms::{posted_csrf, see_other};
use crate::portal::office::access_log;
use crate::portal::office::official::Official;
use crate::portal::office::users::unavailable;
use crate::spec::model::Permission;
use crate::store::{DelegationRow, time_text};

/// Whether `official` may delegate at all: any documents role.
fn may_delegate(compiled: &Compiled, official: &Official) -> bool {
    Permission::DOCUMENTS
        .iter()
        .any(|p| official.may(compiled, *p))
}

/// `GET /registry/delegations`: those given and received, and the form of a new one.
pub async fn page(State(portal): State<PortalState>, official: Official) -> Response {
    let (compiled, chrome, reader) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if !may_delegate(&compiled, &official) && reader.delegations.is_empty() {
        if let Err(page) = official
            .require(&portal, &compiled, Permission::DocumentsRead)
            .await
        {
            return page;
        }
    }
    let control = official.may(&compiled, Permission::DocumentsControl);
    let filter = if control {
        None
    } else {
        Some(official.id.as_str())
    };
    let rows = match portal
        .store
        .delegations_of(official.participant(), filter)
        .await
    {
        Ok(rows) => rows,
        Err(e) => return unavailable(&portal, &chrome, &e.to_string()),
    };
    let list: Vec<Value> = rows
        .iter()
        .map(|d| {
            json!({
                "id": d.id, "principal": d.principal, "deputy": d.deputy,
                "decide": d.decide == 1, "starts_on": d.starts_on, "ends_on": d.ends_on,
                "reason": d.reason, "revoked": d.revoked_at.is_some(),
                "in_force": d.revoked_at.is_none() && d.starts_on <= reader.today && d.ends_on >= reader.today,
            })
        })
        .collect();
    let colleagues: Vec<Value> = compiled
        .spec
        .officials
        .iter()
        .filter(|o| {
            if control {
                super::participant_of(&o.unit) == official.participant()
            } else {
                o.unit == official.unit
            }
        })
        .filter(|o| o.id != official.id || control)
        .map(|o| json!({"id": o.id, "name": o.name, "position": o.position}))
        .collect();
    if let Err(e) = access_log::record(&portal.store, &official, "delegations", None, "").await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    portal.pages.render(
        StatusCode::OK,
        "registry/delegations.html",
        &chrome,
        json!({"delegations": list, "officials": colleagues, "control": control,
               "today": reader.today, "me": official.id}),
    )
}

/// Checks and writes a delegation from the posted fields.
async fn create(
    portal: &PortalState,
    compiled: &Compiled,
    official: &Official,
    pairs: &[(String, String)],
) -> Result<DelegationRow, Refusal> {
    if !may_delegate(compiled, official) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Передавати повноваження можуть лише посадові особи з роллю в документообігу.",
        ));
    }
    let principal_id = field(pairs, "principal").unwrap_or(&official.id);
    if principal_id != official.id && !official.may(compiled, Permission::DocumentsControl) {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Призначити заступника іншій посадовій особі може лише служба контролю.",
        ));
    }
    let principal = official_of(compiled, principal_id)
        .ok_or_else(|| Refusal::invalid(format!("Посадової особи {principal_id} немає.")))?;
    let deputy_id =
        field(pairs, "deputy").ok_or_else(|| Refusal::invalid("Оберіть заступника."))?;
    let deputy = official_of(compiled, deputy_id)
        .ok_or_else(|| Refusal::invalid(format!("Посадової особи {deputy_id} немає.")))?;
    if super::participant_of(&principal.unit) != official.participant() {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "Посадова особа іншої установи: її повноважень ви не передаєте.",
        ));
    }
    if deputy.unit != principal.unit {
        return Err(Refusal::invalid(format!(
            "Заступник має працювати в тому самому підрозділі ({}), а {} працює в {}.",
            principal.unit, deputy.id, deputy.unit
        )));
    }
    if deputy.id == principal.id {
        return Err(Refusal::invalid("Заступником не може бути та сама особа."));
    }
    let (Some(starts), Some(ends)) = (
        field(pairs, "starts_on").and_then(parse_date),
        field(pairs, "ends_on").and_then(parse_date),
    ) else {
        return Err(Refusal::invalid(
            "Період має бути двома датами у вигляді РРРР-ММ-ДД.",
        ));
    };
    if ends < starts {
        return Err(Refusal::invalid(
            "Період закінчується раніше, ніж починається.",
        ));
    }
    if (ends - starts).num_days() > 366 {
        return Err(Refusal::invalid("Заміщення триває не довше за рік."));
    }
    let reason = field(pairs, "reason")
        .filter(|r| r.chars().count() <= MAX_TEXT)
        .ok_or_else(|| {
            Refusal::invalid("Напишіть підставу заміщення (відпустка, відрядження…).")
        })?;
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).expect("the system's random source works");
    let row = DelegationRow {
        id: format!("del-{}", hex::encode(bytes)),
        participant: official.participant().to_string(),
        unit: principal.unit.clone(),
        principal: principal.id.clone(),
        deputy: deputy.id.clone(),
        decide: i64::from(field(pairs, "decide").is_some()),
        starts_on: starts.to_string(),
        ends_on: ends.to_string(),
        reason: reason.to_string(),
        created_by: official.id.clone(),
        created_at: time_text(&official.now()),
        revoked_at: None,
        revoked_by: None,
    };
    let mut tx = portal.store.begin().await?;
    portal.store.insert_delegation(&mut tx, &row).await?;
    tx.commit().await?;
    tracing::info!(
        delegation = %row.id, principal = %row.principal, deputy = %row.deputy,
        "a delegation was given"
    );
    Ok(row)
}

/// `POST /registry/delegations` (`csrf`, `principal`, `deputy`, `starts_on`, `ends_on`,
/// `decide`, `reason`).
pub async fn post(
    State(portal): State<PortalState>,
    official: Official,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (compiled, chrome, _) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if let Err(page) = official.check_csrf(posted_csrf(&pairs)) {
        return page;
    }
    let done = create(&portal, &compiled, &official, &pairs).await;
    let detail = match &done {
        Ok(d) => d.id.clone(),
        Err(r) => format!("refused {}", r.status.as_u16()),
    };
    if let Err(e) = access_log::record(&portal.store, &official, "delegate", None, &detail).await {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    match done {
        Ok(_) => see_other("/registry/delegations"),
        Err(r) => r.page(&portal, &chrome),
    }
}

/// `POST /registry/delegations/{id}/revoke` (`csrf`): by the principal, who gave it, or the
/// control service of its participant.
pub async fn revoke(
    State(portal): State<PortalState>,
    official: Official,
    Path(id): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let (compiled, chrome, _) = match begin(&portal, &official).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    if let Err(page) = official.check_csrf(posted_csrf(&pairs)) {
        return page;
    }
    let done: Result<(), Refusal> = async {
        let d = portal
            .store
            .delegation(&id)
            .await?
            .filter(|d| d.participant == official.participant())
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, "Такого заміщення немає."))?;
        let may = d.principal == official.id
            || d.created_by == official.id
            || official.may(&compiled, Permission::DocumentsControl);
        if !may {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "Скасувати заміщення може той, чиї повноваження передано, або служба контролю.",
            ));
        }
        let mut tx = portal.store.begin().await?;
        portal
            .store
            .revoke_delegation(&mut tx, &id, &official.id, &time_text(&official.now()))
            .await?;
        tx.commit().await?;
        Ok(())
    }
    .await;
    let detail = match &done {
        Ok(()) => id.clone(),
        Err(r) => format!("{id} refused {}", r.status.as_u16()),
    };
    if let Err(e) =
        access_log::record(&portal.store, &official, "revoke-delegation", None, &detail).await
    {
        return unavailable(&portal, &chrome, &e.to_string());
    }
    match done {
        Ok(()) => see_other("/registry/delegations"),
        Err(r) => r.page(&portal, &chrome),
    }
}
