//! The citizen's application (PORTAL-3): a draft started from an e-service, its form shown page
//! by page and judged on the server at every step, check your answers, and deletion. Drafts live
//! in the store, so they resume on another device, and go when their retention ends.

pub mod apply;
pub mod check;
pub mod delete;
pub mod identity;
pub mod input;
pub mod judge;
pub mod page;
mod registries;
pub mod retention;
mod view;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::PortalState;
use super::citizen::Citizen;
use super::pages::Chrome;
use crate::compile::Compiled;
use crate::spec::model::{Form, by_id};
use crate::store::{DraftRow, DraftWrite};

/// The largest form a page may post: far above any real page, far below memory trouble.
pub const MAX_PAGE_BODY: usize = 256 * 1024;

/// The bound on a posted body of the form's routes (a larger one gets 413).
pub fn body_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_PAGE_BODY)
}

/// A citizen's draft, opened for a request against the applied revision.
pub struct Opened {
    pub compiled: Arc<Compiled>,
    pub draft: DraftRow,
    pub form: Form,
    pub data: Map<String, Value>,
    pub chrome: Chrome,
    pub now: DateTime<Utc>,
}

/// Whether the request reads the draft or changes it (a signed draft refuses changes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Read,
    Change,
}

/// The draft `id` opened for a change the citizen posted as `pairs`, once the form's CSRF token
/// is the session's.
pub async fn open_posted(
    portal: &PortalState,
    citizen: &Citizen,
    id: &str,
    pairs: &[(String, String)],
) -> Result<Opened, Response> {
    citizen.check_csrf(posted_csrf(pairs))?;
    open(portal, citizen, id, Purpose::Change).await
}

/// The `csrf` field of a posted form.
pub fn posted_csrf(pairs: &[(String, String)]) -> Option<&str> {
    pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
}

/// Opens `citizen`'s draft `id`, or the page that says why not: someone else's or a removed
/// one is not found (never a word of it), an expired one is removed now, a signed one refuses
/// changes (409), and a form the applied revision no longer has cannot be continued.
pub async fn open(
    portal: &PortalState,
    citizen: &Citizen,
    id: &str,
    purpose: Purpose,
) -> Result<Opened, Response> {
    let Some(compiled) = portal.current.load_full() else {
        return Err(starting(portal));
    };
    let chrome = citizen.chrome(&compiled);
    let now = portal.engine.clock().now();
    let draft = match portal.store.draft(&citizen.owner, id).await {
        Ok(Some(draft)) => draft,
        Ok(None) => return Err(not_found(portal, &chrome)),
        Err(e) => return Err(store_failed(portal, &chrome, "read", &e)),
    };
    if !draft.locked() && draft.expires_at <= now {
        if let Err(e) = portal.store.delete_draft(&citizen.owner, id).await {
            tracing::warn!("expired draft {id} could not be removed yet: {e}");
        }
        return Err(portal.pages.problem(
            StatusCode::NOT_FOUND,
            &chrome,
            "Строк зберігання чернетки минув",
            "Чернетки зберігаються обмежений час і потім видаляються. Розпочніть заяву знову зі \
             сторінки послуги.",
        ));
    }
    if purpose == Purpose::Change && draft.locked() {
        return Err(locked(portal, &chrome));
    }
    let Some(form) = by_id(&compiled.spec.forms, &draft.form).cloned() else {
        return Err(portal.pages.problem(
            StatusCode::GONE,
            &chrome,
            "Форму заяви змінено",
            "Цієї форми заяви більше немає в переліку послуг. Розпочніть заяву знову зі сторінки \
             послуги.",
        ));
    };
    let data = match serde_json::from_str::<Value>(&draft.data) {
        Ok(Value::Object(map)) => map,
        _ => {
            tracing::error!(
                "draft {id} holds data that is not a JSON object; the row was changed outside \
                 hromada"
            );
            return Err(portal.pages.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &chrome,
                "Чернетку не вдалося прочитати",
                "Збережені відповіді пошкоджено. Видаліть чернетку і розпочніть заяву знову або \
                 зверніться до служби підтримки.",
            ));
        }
    };
    Ok(Opened {
        compiled,
        draft,
        form,
        data,
        chrome,
        now,
    })
}

/// Saves the draft's data, consents and page; the refusal page when it is gone or signed.
pub async fn save(
    portal: &PortalState,
    citizen: &Citizen,
    opened: &Opened,
    data: &Map<String, Value>,
    consents: &str,
    page: &str,
) -> Result<(), Response> {
    let text = Value::Object(data.clone()).to_string();
    match portal
        .store
        .save_draft(
            &citizen.owner,
            &opened.draft.id,
            &text,
            consents,
            page,
            opened.now,
        )
        .await
    {
        Ok(DraftWrite::Done) => Ok(()),
        Ok(DraftWrite::Locked) => Err(locked(portal, &opened.chrome)),
        Ok(DraftWrite::Missing) => Err(not_found(portal, &opened.chrome)),
        Err(e) => Err(store_failed(portal, &opened.chrome, "save", &e)),
    }
}

/// Where the citizen goes after `page` (its index) of the draft: the next page shown for the
/// data, then the attachments (when the form asks for files), then check your answers.
pub fn next_after(opened: &Opened, data: &Map<String, Value>, page: Option<usize>) -> String {
    let draft = &opened.draft.id;
    let shown = judge::visible_pages(&opened.form, data);
    let next = shown.iter().find(|p| {
        let index = opened.form.pages.iter().position(|x| x.id == p.id);
        page.is_none_or(|current| index > Some(current))
    });
    match next {
        Some(p) => format!("/drafts/{draft}/pages/{}", p.id),
        None if !opened.form.attachments.is_empty() => format!("/drafts/{draft}/attachments"),
        None => format!("/drafts/{draft}/check"),
    }
}

/// A 303 to `to`.
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// The page of a form posted with inputs the page does not have.
pub fn tampered(portal: &PortalState, chrome: &Chrome, draft: &str, why: &str) -> Response {
    tracing::warn!(
        draft,
        reason = ?why,
        "a page of a draft was posted with inputs its form does not have; refused"
    );
    portal.pages.problem(
        StatusCode::BAD_REQUEST,
        chrome,
        "Форму надіслано зі зміненими полями",
        "Сторінка надіслала поля, яких у цій формі немає. Відкрийте сторінку заяви ще раз і \
         заповніть її без сторонніх доповнень браузера.",
    )
}

fn not_found(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        chrome,
        "Чернетку не знайдено",
        "Такої чернетки немає серед ваших: її могли видалити, або посилання неправильне. Ваші \
         чернетки — в особистому кабінеті.",
    )
}

fn locked(portal: &PortalState, chrome: &Chrome) -> Response {
    portal.pages.problem(
        StatusCode::CONFLICT,
        chrome,
        "Заяву вже підписано",
        "Підписану заяву змінити не можна. Її стан видно в особистому кабінеті.",
    )
}

fn starting(portal: &PortalState) -> Response {
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        &Chrome::default(),
        "Портал ще запускається",
        "Спробуйте ще раз за хвилину.",
    )
}

fn store_failed(
    portal: &PortalState,
    chrome: &Chrome,
    what: &str,
    e: &crate::store::StoreError,
) -> Response {
    tracing::error!("the portal could not {what} a draft: {e}");
    portal.pages.problem(
        StatusCode::SERVICE_UNAVAILABLE,
        chrome,
        "Чернетка тимчасово недоступна",
        "Не вдалося звернутися до сховища даних. Ваші збережені відповіді не втрачено; спробуйте \
         ще раз за кілька хвилин.",
    )
}
