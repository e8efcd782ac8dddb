//! `/cabinet/applications/{id}`: one application — its number and time of receipt, its status,
//! the case's history and notices in plain words, the documents issued with their seals checked,
//! and the way to withdraw it where the workflow allows.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::status::{outcome_words, status_of, withdrawal};
use super::{documents, more_documents, owned, service_title, words};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;

/// `GET /cabinet/applications/{id}`.
pub async fn page(
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
    let application = &owned.application;
    // A `before-result` fee unpaid: where to pay, and no document is listed.
    let payment_due = match crate::portal::payments::withheld::result_withheld(
        &portal,
        &compiled,
        &application.e_service,
        &application.draft_id,
    )
    .await
    {
        Ok(due) => due,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar));
    let mut view = json!({
        "id": application.id,
        "number": application.number,
        "payment_due": payment_due,
        "received_at": words::when(&application.received_at, zone),
        "service": service_title(&compiled.spec, &application.e_service),
        "status": "received",
        "status_words": super::status::Status::Received.words(),
        "outcome_words": Value::Null,
        "state": Value::Null,
        "history": [],
        "notices": [],
        "documents": [],
        "withdraw": Value::Null,
        "signed": application.signature.is_some(),
        "upload": Value::Null,
        "delivery": Value::Null,
        "decision": Value::Null,
    });
    if let Some((case, runnable)) = &owned.case {
        let definition = &runnable.definition;
        let zone = words::zone_of(&definition.calendar);
        let status = status_of(&definition.workflow, &case.state, case.outcome.as_deref());
        let (history, notices, issued) = match tokio::try_join!(
            portal.engine.history(&case.id),
            portal.engine.notices(&case.id),
            async {
                portal
                    .store
                    .documents_of_case(&case.id)
                    .await
                    .map_err(crate::workflow::engine::EngineError::from)
            },
        ) {
            Ok(read) => read,
            Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
        };
        view["status"] = json!(status);
        view["status_words"] = json!(status.words());
        view["outcome_words"] = json!(case.outcome.as_deref().map(outcome_words));
        view["state"] = json!(definition.state(&case.state).map(|s| s.label()));
        view["decision"] = json!(
            case.decision
                .as_deref()
                .and_then(|d| serde_json::from_str::<Value>(d).ok())
                .and_then(|d| d["reason"].as_str().map(str::to_string))
        );
        view["history"] = json!(words::history(&history, definition, &case.applicant));
        view["notices"] = json!(
            notices
                .iter()
                .filter(|n| n.recipient_kind == "applicant")
                .map(|n| json!({"when": words::when(&n.created_at, zone), "message": n.message}))
                .collect::<Vec<_>>()
        );
        view["documents"] =
            match documents::views(&portal, &compiled, &application.id, &issued, zone).await {
                Ok(views) => json!(views),
                Err(e) => return super::unavailable(&portal, &chrome, &e),
            };
        match portal.store.provider_reports_of_case(&case.id).await {
            Ok(reports) => {
                let results = super::provider_results::views(
                    &compiled,
                    &application.id,
                    &application.e_service,
                    &reports,
                    zone,
                );
                if let Some(listed) = view["documents"].as_array_mut() {
                    listed.extend(results);
                }
            }
            Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
        }
        match super::provider_results::delivery(&portal, &compiled, &application.id, zone).await {
            Ok(delivery) => view["delivery"] = delivery,
            Err(e) => return super::unavailable(&portal, &chrome, &e),
        }
        if let Some(step) = more_documents::upload_step(&definition.workflow, &case.state) {
            view["upload"] = json!({
                "title": step.label(),
                "requested": more_documents::requested(&history),
            });
        }
        view["withdraw"] = json!(
            withdrawal(&definition.workflow, &case.state).map(|t| json!({"title": t.label()}))
        );
    }
    match crate::portal::ratings::view(&portal, &owned).await {
        Ok(rating) => view["rating"] = rating,
        Err(e) => return super::unavailable(&portal, &chrome, &e),
    }
    portal
        .pages
        .render(StatusCode::OK, "cabinet/application.html", &chrome, view)
}
