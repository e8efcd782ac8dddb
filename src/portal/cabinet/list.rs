//! `/cabinet`: the signed-in person's applications, newest first, each with its status in plain
//! words, and their drafts with links to resume or delete them.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::status::{Status, outcome_words, status_of};
use super::{case_with_workflow, service_title, words};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::store::{CaseFilter, CaseRow};

/// `GET /cabinet`.
pub async fn page(State(portal): State<PortalState>, citizen: Citizen) -> Response {
    let Some(compiled) = portal.current.load_full() else {
        return super::starting(&portal);
    };
    let chrome = citizen.chrome(&compiled);
    let zone = compiled
        .spec
        .system()
        .map_or(chrono_tz::Europe::Kyiv, |s| words::zone_of(&s.calendar));
    let (applications, drafts) = match tokio::try_join!(
        portal.store.applications_of(&citizen.owner),
        portal.store.drafts_of(&citizen.owner),
    ) {
        Ok(read) => read,
        Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
    };
    // The person's cases in one read; a case not among them (an application of another
    // identity's owner key, or past the read's limit) is read on its own.
    let mut cases: HashMap<String, CaseRow> = HashMap::new();
    if let Some(rnokpp) = &citizen.rnokpp {
        let filter = CaseFilter {
            applicant: Some(rnokpp.clone()),
            limit: 1000,
            ..CaseFilter::default()
        };
        match portal.store.cases(&filter).await {
            Ok(rows) => cases.extend(rows.into_iter().map(|c| (c.id.clone(), c))),
            Err(e) => return super::unavailable(&portal, &chrome, &e.to_string()),
        }
    }
    let mut listed = Vec::with_capacity(applications.len());
    for application in &applications {
        let (status, outcome, state) = match &application.case_id {
            Some(case_id) => {
                match with_workflow(&portal, &chrome, cases.remove(case_id), case_id).await {
                    Ok((case, runnable)) => {
                        let w = &runnable.definition.workflow;
                        (
                            status_of(w, &case.state, case.outcome.as_deref()),
                            case.outcome.as_deref().map(outcome_words),
                            runnable
                                .definition
                                .state(&case.state)
                                .map(|s| s.label().to_string()),
                        )
                    }
                    Err(refused) => return refused,
                }
            }
            None => (Status::Received, None, None),
        };
        listed.push(json!({
            "id": application.id,
            "number": application.number,
            "received_at": words::when(&application.received_at, zone),
            "service": service_title(&compiled.spec, &application.e_service),
            "status": status,
            "status_words": status.words(),
            "outcome_words": outcome,
            "state": state,
        }));
    }
    let drafts: Vec<Value> = drafts
        .iter()
        .filter(|d| d.submitted_at.is_none())
        .map(|d| {
            json!({
                "id": d.id,
                "service": service_title(&compiled.spec, &d.e_service),
                "updated_at": words::at(&d.updated_at, zone),
                "expires_at": words::at(&d.expires_at, zone),
                "resume_url": format!("/drafts/{}/pages/{}", d.id, d.page),
                "delete_url": format!("/drafts/{}/delete", d.id),
            })
        })
        .collect();
    portal.pages.render(
        StatusCode::OK,
        "cabinet/cabinet.html",
        &chrome,
        json!({
            "name": citizen.full_name(),
            "applications": listed,
            "drafts": drafts,
        }),
    )
}

/// `case` (read with the others) with its pinned workflow, or the case read on its own.
async fn with_workflow(
    portal: &PortalState,
    chrome: &crate::portal::pages::Chrome,
    case: Option<CaseRow>,
    case_id: &str,
) -> Result<(CaseRow, std::sync::Arc<crate::workflow::engine::Runnable>), Response> {
    let Some(case) = case else {
        return case_with_workflow(portal, chrome, case_id).await;
    };
    match portal.engine.runnable(&case.revision, &case.workflow).await {
        Ok(runnable) => Ok((case, runnable)),
        Err(e) => Err(super::unavailable(portal, chrome, &e.to_string())),
    }
}
