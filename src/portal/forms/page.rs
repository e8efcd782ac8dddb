//! `/drafts/{draft}/pages/{page}`: one page of the form. GET shows the saved answers; POST reads
//! the page strictly, saves what it accepts (also when something is refused, so nothing typed
//! correctly is lost), and either shows the page again with its errors, adds or removes a group
//! entry, or goes on to the next page.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::input::{Action, PageInput, read, shown_input};
use super::judge::{FieldError, field_shown, group_id, judge_page, visible_pages};
use super::{
    Opened, Purpose, identity, next_after, open, open_posted, registries, save, see_other,
    tampered, view,
};
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::spec::model::Page;

/// `?from=check`: the citizen came to change an answer from check your answers, and goes back
/// there.
#[derive(Debug, Default, Deserialize)]
pub struct Return {
    #[serde(default)]
    pub from: Option<String>,
}

impl Return {
    fn to_check(&self) -> bool {
        self.from.as_deref() == Some("check")
    }
}

/// `GET /drafts/{draft}/pages/{page}`.
pub async fn show(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((draft, page)): Path<(String, String)>,
    Query(back): Query<Return>,
) -> Response {
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(index) = opened.form.pages.iter().position(|p| p.id == page) else {
        return no_such_page(&portal, &opened);
    };
    let page = &opened.form.pages[index];
    if !visible_pages(&opened.form, &opened.data)
        .iter()
        .any(|p| p.id == page.id)
    {
        return see_other(&next_after(&opened, &opened.data, Some(index)));
    }
    let mut data = opened.data.clone();
    let prefilled = registries::prefill(&portal, &citizen, &opened, page, &mut data).await;
    if !prefilled.filled.is_empty()
        && let Err(refused) = save(
            &portal,
            &citizen,
            &opened,
            &data,
            &opened.draft.consents,
            &page.id,
        )
        .await
    {
        return refused;
    }
    let mut input = shown_input(page, &data);
    identity::fill_input(page, &mut input, &citizen);
    let view = View {
        page,
        data: &data,
        input: &input,
        errors: &[],
        notice: prefilled.notice,
        status: StatusCode::OK,
    };
    render(&portal, &opened, &back, view)
}

/// `POST /drafts/{draft}/pages/{page}`.
pub async fn submit(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((draft, page)): Path<(String, String)>,
    Query(back): Query<Return>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match open_posted(&portal, &citizen, &draft, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let Some(index) = opened.form.pages.iter().position(|p| p.id == page) else {
        return tampered(
            &portal,
            &opened.chrome,
            &draft,
            &format!("form `{}` has no page `{page}`", opened.form.id),
        );
    };
    let page = &opened.form.pages[index];
    if !visible_pages(&opened.form, &opened.data)
        .iter()
        .any(|p| p.id == page.id)
    {
        return see_other(&next_after(&opened, &opened.data, Some(index)));
    }
    let bound = identity::bound_ids(&page.fields);
    let posted = match read(page, &opened.data, pairs, &bound) {
        Ok(p) => p,
        Err(why) => return tampered(&portal, &opened.chrome, &draft, &why),
    };
    let mut input = posted.input;
    identity::fill_input(page, &mut input, &citizen);
    let mut errors = Vec::new();
    match &posted.action {
        Action::Continue => {}
        Action::Add(group) => {
            let g = page.groups.iter().find(|g| &g.id == group).expect("read");
            let entries = input.groups.entry(group.clone()).or_default();
            if g.max.is_none_or(|max| entries.len() < max as usize) {
                entries.push(Default::default());
            } else {
                errors.push(FieldError {
                    field: group_id(group),
                    message: format!(
                        "{}: можна зазначити не більше {}",
                        g.label,
                        g.max.unwrap_or_default()
                    ),
                });
            }
        }
        Action::Remove(group, i) => {
            if let Some(entries) = input.groups.get_mut(group) {
                entries.remove(*i);
            }
        }
    }
    let spec = &opened.compiled.spec;
    let mut judged = judge_page(spec, &opened.form, page, &opened.data, &input);
    identity::fill(&opened.form, &mut judged.data, &citizen);
    let going_on = posted.action == Action::Continue && judged.errors.is_empty();
    let prefilled = if going_on {
        registries::prefill(&portal, &citizen, &opened, page, &mut judged.data).await
    } else {
        registries::Prefilled::default()
    };
    let consents = &opened.draft.consents;
    if let Err(refused) = save(&portal, &citizen, &opened, &judged.data, consents, &page.id).await {
        return refused;
    }
    let (errors, notice, status) = if posted.action != Action::Continue {
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        (errors, None, status)
    } else if !judged.errors.is_empty() {
        (judged.errors, None, StatusCode::UNPROCESSABLE_ENTITY)
    } else if !prefilled.filled.is_empty() {
        input = shown_input(page, &judged.data);
        let notice = "Деякі поля заповнено з відомостей реєстру. Перевірте їх і продовжіть.";
        (Vec::new(), Some(notice.to_string()), StatusCode::OK)
    } else {
        let crossed =
            registries::cross_checks(&portal, &citizen, &opened, page, &judged.data).await;
        if crossed.is_empty() {
            if back.to_check() {
                return see_other(&format!("/drafts/{draft}/check"));
            }
            return see_other(&next_after(&opened, &judged.data, Some(index)));
        }
        (crossed, prefilled.notice, StatusCode::UNPROCESSABLE_ENTITY)
    };
    let view = View {
        page,
        data: &judged.data,
        input: &input,
        errors: &errors,
        notice,
        status,
    };
    render(&portal, &opened, &back, view)
}

/// What a page shows: `input` over the draft's `data`, with `errors` and a `notice`.
struct View<'a> {
    page: &'a Page,
    data: &'a Map<String, Value>,
    input: &'a PageInput,
    errors: &'a [FieldError],
    notice: Option<String>,
    status: StatusCode,
}

fn render(portal: &PortalState, opened: &Opened, back: &Return, view: View) -> Response {
    let View {
        page,
        data,
        input,
        errors,
        notice,
        status,
    } = view;
    let shown = |field: &crate::spec::model::FormField, entry: Option<(&str, usize)>| {
        let own = entry.and_then(|(group, i)| data.get(group)?.get(i));
        field_shown(field, data, own)
    };
    let inputs = view::inputs(&opened.compiled.spec, page, input, errors, &shown);
    let pages = visible_pages(&opened.form, data);
    let step = pages.iter().position(|p| p.id == page.id).unwrap_or(0);
    let draft = &opened.draft.id;
    let query = if back.to_check() { "?from=check" } else { "" };
    let back_link = if back.to_check() {
        Some(format!("/drafts/{draft}/check"))
    } else {
        step.checked_sub(1)
            .map(|s| format!("/drafts/{draft}/pages/{}", pages[s].id))
    };
    portal.pages.render(
        status,
        "form_page.html",
        &opened.chrome,
        json!({
            "draft": draft,
            "form_title": opened.form.title,
            "page_title": page.title,
            "step": step + 1,
            "steps": pages.len(),
            "back": back_link,
            "action": format!("/drafts/{draft}/pages/{}{query}", page.id),
            "errors": errors,
            "notice": notice,
            "inputs": inputs,
            "expires": super::retention::date(opened.draft.expires_at),
        }),
    )
}

fn no_such_page(portal: &PortalState, opened: &Opened) -> Response {
    portal.pages.problem(
        StatusCode::NOT_FOUND,
        &opened.chrome,
        "Такої сторінки у формі немає",
        "Поверніться до першої сторінки заяви або до особистого кабінету.",
    )
}
