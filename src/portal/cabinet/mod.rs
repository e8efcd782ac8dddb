//! The citizen's cabinet (PORTAL-6, MIN-4): their applications with status, history, notices and
//! issued documents, their drafts, withdrawal where the workflow allows it, and who asked the
//! registries for their data. Only the signed-in person's own records, never another's.

pub mod application;
pub mod data_requests;
pub mod documents;
pub mod list;
pub mod more_documents;
pub mod original;
pub mod payments;
pub mod provider_results;
pub mod status;
pub mod withdraw;
pub mod words;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;

use super::PortalState;
use super::citizen::Citizen;
use super::pages::Chrome;
use crate::store::{ApplicationRow, CaseRow};
use crate::workflow::engine::Runnable;

/// One of the signed-in person's applications, with its case and the case's pinned workflow
/// once the case is started.
pub struct Owned {
    pub application: ApplicationRow,
    pub case: Option<(CaseRow, Arc<Runnable>)>,
}

/// The application `id` if it is `citizen`'s; another person's, or none, is a 404 page that
/// says nothing of whether it exists.
pub async fn owned(
    portal: &PortalState,
    citizen: &Citizen,
    chrome: &Chrome,
    id: &str,
) -> Result<Owned, Response> {
    let application = match portal.store.application(&citizen.owner, id).await {
        Ok(Some(application)) => application,
        Ok(None) => return Err(not_found(portal, chrome)),
        Err(e) => return Err(unavailable(portal, chrome, &e.to_string())),
    };
    let case = match &application.case_id {
        Some(case_id) => Some(case_with_workflow(portal, chrome, case_id).await?),
        None => None,
    };
    Ok(Owned { application, case })
}

/// A case and its pinned workflow.
pub async fn case_with_workflow(
    portal: &PortalState,
    chrome: &Chrome,
    case_id: &str,
) -> Result<(CaseRow, Arc<Runnable>), Response> {
    let case = match portal.store.case(case_id).await {
        Ok(Some(case)) => case,
        Ok(None) => {
            return Err(unavailable(
                portal,
                chrome,
                &format!("application's case {case_id} is not in the store"),
            ));
        }
        Err(e) => return Err(unavailable(portal, chrome, &e.to_string())),
    };
    match portal.engine.runnable(&case.revision, &case.workflow).await {
        Ok(runnable) => Ok((case, runnable)),
        Err(e) => Err(unavailable(portal, chrome, &e.to_string())),
    }
}

/// The page of an application that is not the signed-in person's, or no application at all.
pub fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Заяву не знайдено",
        "У вашому кабінеті немає такої заяви. Перевірте посилання або відкрийте перелік своїх \
         заяв у кабінеті.",
    )
}

/// The page shown when the store or the engine fails; `why` goes to the log, not to the page.
pub fn unavailable(portal: &PortalState, chrome: &Chrome, why: &str) -> Response {
    tracing::error!("the cabinet cannot show a page: {why}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Кабінет тимчасово недоступний",
        "Не вдалося прочитати ваші дані. Спробуйте ще раз за кілька хвилин.",
    )
}

/// The page shown before the first revision is applied.
pub fn starting(portal: &PortalState) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &Chrome::default(),
        "Портал ще запускається",
        "Портал готує кабінет. Оновіть сторінку за хвилину.",
    )
}

/// The e-service's title in the applied revision, or its id when it is gone.
pub fn service_title(spec: &crate::spec::Spec, e_service: &str) -> String {
    spec.e_services
        .iter()
        .find(|s| s.id == e_service)
        .map_or_else(|| e_service.to_string(), |s| s.title.clone())
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use serde_json::json;

    use crate::portal::pages::{Chrome, Pages};

    async fn render(template: &str, context: serde_json::Value) -> String {
        let chrome = Chrome {
            site_title: "Місто".into(),
            signed_in_as: Some("Іваненко Марія".into()),
            csrf: Some("token-1".into()),
            ..Chrome::default()
        };
        let page = Pages::new()
            .unwrap()
            .render(StatusCode::OK, template, &chrome, context);
        assert_eq!(page.status(), StatusCode::OK, "{template} did not render");
        let body = to_bytes(page.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn each_cabinet_page_renders_what_it_is_given_escaped() {
        let html = render(
            "cabinet/cabinet.html",
            json!({
                "name": "Іваненко Марія",
                "applications": [{"id": "a1", "number": "ВХ-1/2026", "received_at": "21.12.2026 11:00",
                    "service": "Довідка <b>", "status": "decided", "status_words": "Розглянуто",
                    "outcome_words": "послугу надано", "state": "Документ видано"}],
                "drafts": [{"id": "d1", "service": "Допомога", "updated_at": "1", "expires_at": "2",
                    "resume_url": "/drafts/d1/pages/p1", "delete_url": "/drafts/d1/delete"}],
            }),
        )
        .await;
        assert!(html.contains("/cabinet/applications/a1"), "{html}");
        assert!(html.contains("Довідка &lt;b&gt;"), "{html}");
        assert!(html.contains("Розглянуто</span>: послугу надано"), "{html}");
        assert!(html.contains("action=\"/drafts/d1/delete\""), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"token-1\""), "{html}");

        let html = render(
            "cabinet/application.html",
            json!({
                "id": "a1", "number": "ВХ-1/2026", "received_at": "21.12.2026 11:00",
                "service": "Довідка", "status": "waiting-for-you", "status_words": "Потрібна ваша дія",
                "outcome_words": null, "state": "Очікування документів", "decision": null,
                "history": [{"when": "21.12.2026 11:00", "what": "Заяву зареєстровано", "who": "Ви"}],
                "notices": [{"when": "21.12.2026 11:05", "message": "Потрібні документи"}],
                "documents": [{"id": "doc1", "title": "Довідка", "number": "АВ-1/2026",
                    "issued_at": "21.12.2026 11:00", "sealed_by": "КП «Водоканал»", "verified": true,
                    "official": null, "code": "ABCDE-12345", "revoked": null,
                    "view_url": "/t/view", "pdf_url": "/t.pdf", "pdf_seal_url": "/t.pdf.p7s",
                    "text_url": "/t", "seal_url": "/t.p7s"}],
                "withdraw": {"title": "Відкликати заяву"},
                "signed": true,
                "delivery": null,
                "upload": {"title": "Документи надійшли", "requested": "Довідка про доходи"},
            }),
        )
        .await;
        for shown in [
            "Потрібна ваша дія",
            "Потрібні документи",
            "Печатку перевірено",
            "href=\"/t.p7s\"",
            "href=\"/t.pdf\"",
            "ABCDE-12345",
            "/cabinet/applications/a1/original.p7s",
            "/cabinet/applications/a1/withdraw",
            "Довідка про доходи",
            "/cabinet/applications/a1/documents-upload",
        ] {
            assert!(html.contains(shown), "{shown} missing:\n{html}");
        }

        let html = render(
            "cabinet/withdraw.html",
            json!({"id": "a1", "number": "1", "service": "Довідка", "title": "Відкликати заяву",
                "state": "received"}),
        )
        .await;
        assert!(html.contains("name=\"state\" value=\"received\""), "{html}");
        assert!(html.contains("name=\"csrf\" value=\"token-1\""), "{html}");

        let html = render(
            "cabinet/data-requests.html",
            json!({"known": true, "page": 2, "pages": 3, "total": 45, "previous": 1, "next": 3,
                "uses": [{"when": "1", "receiver": "Міська рада", "receiver_system": "Портал",
                    "provider": "Водоканал", "register": "Баланс", "purpose": null,
                    "legal_basis": "Закон", "fields": ["Борг (debt_uah)", "address"]}]}),
        )
        .await;
        for shown in [
            "Сторінка 2 з 3",
            "?page=1",
            "?page=3",
            "Борг (debt_uah), address",
            "не зазначено",
        ] {
            assert!(html.contains(shown), "{shown} missing:\n{html}");
        }
    }
}
