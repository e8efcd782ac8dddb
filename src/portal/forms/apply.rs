//! `POST /services/{id}/apply`: a signed-in citizen starts an application. A new draft pinned to
//! the applied revision's form, its bound fields filled from the identity, kept as long as the
//! retention rule for drafts says; then to its first page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::{identity, judge, posted_csrf, retention, see_other};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::spec::model::{SubmissionMethod, by_id};
use crate::store::NewDraft;

/// `POST /services/{id}/apply`.
pub async fn apply(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(service): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    if let Err(refused) = citizen.check_csrf(posted_csrf(&pairs)) {
        return refused;
    }
    let Some(compiled) = portal.current.load_full() else {
        return portal.pages.problem(
            StatusCode::SERVICE_UNAVAILABLE,
            &Default::default(),
            "Портал ще запускається",
            "Спробуйте ще раз за хвилину.",
        );
    };
    let chrome = citizen.chrome(&compiled);
    let spec = &compiled.spec;
    let Some(e_service) = by_id(&spec.e_services, &service) else {
        return portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Послугу не знайдено",
            "Такої послуги немає в переліку. Оберіть послугу на головній сторінці.",
        );
    };
    let online =
        e_service.submission.is_empty() || e_service.submission.contains(&SubmissionMethod::Portal);
    let form = by_id(&spec.forms, &e_service.form);
    let (true, Some(form)) = (online, form) else {
        return portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Цю послугу не можна замовити на порталі",
            "Спосіб звернення за цією послугою вказано на її сторінці.",
        );
    };
    let mut data = Map::new();
    identity::fill(form, &mut data, &citizen);
    let Some(first) = judge::visible_pages(form, &data)
        .first()
        .map(|p| p.id.clone())
    else {
        return portal.pages.problem(
            StatusCode::CONFLICT,
            &chrome,
            "Цю послугу не можна замовити на порталі",
            "Форма заяви не має жодної сторінки.",
        );
    };
    let now = portal.engine.clock().now();
    let new = NewDraft {
        owner: citizen.owner.clone(),
        e_service: e_service.id.clone(),
        form: form.id.clone(),
        revision: compiled.revision.id.clone(),
        data: Value::Object(data).to_string(),
        page: first.clone(),
        now,
        expires_at: now + retention::period(spec),
    };
    match portal.store.create_draft(&new).await {
        Ok(draft) => {
            crate::portal::statistics::count_started(&portal.store, spec, &e_service.id, now).await;
            see_other(&format!("/drafts/{}/pages/{first}", draft.id))
        }
        Err(e) => {
            tracing::error!("the portal could not create a draft: {e}");
            portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &chrome,
                "Не вдалося розпочати заяву",
                "Сховище даних тимчасово недоступне. Спробуйте ще раз за кілька хвилин.",
            )
        }
    }
}
