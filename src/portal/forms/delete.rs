//! Deleting a draft: `GET /drafts/{draft}/delete` asks to confirm, `POST` removes it with what
//! it held. A signed draft is an application and cannot be deleted (409).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{Purpose, open, open_posted};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::spec::model::by_id;
use crate::store::DraftWrite;

/// `GET /drafts/{draft}/delete`.
pub async fn confirm(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let service = by_id(&opened.compiled.spec.e_services, &opened.draft.e_service)
        .map_or_else(|| opened.form.title.clone(), |s| s.title.clone());
    portal.pages.render(
        StatusCode::OK,
        "draft_delete.html",
        &opened.chrome,
        json!({
            "draft": draft,
            "service": service,
            "started": super::retention::date(opened.draft.created_at),
            "back": format!("/drafts/{draft}/pages/{}", opened.draft.page),
        }),
    )
}

/// `POST /drafts/{draft}/delete`.
pub async fn delete(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match open_posted(&portal, &citizen, &draft, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    match portal.store.delete_draft(&citizen.owner, &draft).await {
        Ok(DraftWrite::Done) => portal.pages.render(
            StatusCode::OK,
            "draft_deleted.html",
            &opened.chrome,
            json!({}),
        ),
        Ok(DraftWrite::Locked) | Ok(DraftWrite::Missing) => {
            // Signed or removed between the read and now: the draft's own page says which.
            match open(&portal, &citizen, &draft, Purpose::Change).await {
                Ok(_) => super::see_other(&format!("/drafts/{draft}/delete")),
                Err(page) => page,
            }
        }
        Err(e) => {
            tracing::error!("the portal could not delete draft {draft}: {e}");
            portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &opened.chrome,
                "Чернетку не вдалося видалити",
                "Сховище даних тимчасово недоступне. Спробуйте ще раз за кілька хвилин.",
            )
        }
    }
}
