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
use super::{Opened, Purpose, identity, next_after, open, save, see_other, tampered, view};
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
    let mut input = shown_input(page, &opened.data);
    identity::fill_input(page, &mut input, &citizen);
    render(
        &portal,
        &opened,
        page,
        &opened.data,
        &input,
        &[],
        &back,
        StatusCode::OK,
    )
}

/// `POST /drafts/{draft}/pages/{page}`.
pub async fn submit(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path((draft, page)): Path<(String, String)>,
    Query(back): Query<Return>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str());
    if let Err(refused) = citizen.check_csrf(csrf) {
        return refused;
    }
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
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
    if let Err(refused) = save(
        &portal,
        &citizen,
        &opened,
        &judged.data,
        &opened.draft.consents,
        &page.id,
    )
    .await
    {
        return refused;
    }
    if posted.action != Action::Continue {
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return render(
            &portal,
            &opened,
            page,
            &judged.data,
            &input,
            &errors,
            &back,
            status,
        );
    }
    if !judged.errors.is_empty() {
        return render(
            &portal,
            &opened,
            page,
            &judged.data,
            &input,
            &judged.errors,
            &back,
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if back.to_check() {
        return see_other(&format!("/drafts/{draft}/check"));
    }
    see_other(&next_after(&opened, &judged.data, Some(index)))
}

/// The page showing `input` over the draft's `data`, with `errors`.
#[allow(clippy::too_many_arguments)]
fn render(
    portal: &PortalState,
    opened: &Opened,
    page: &Page,
    data: &Map<String, Value>,
    input: &PageInput,
    errors: &[FieldError],
    back: &Return,
    status: StatusCode,
) -> Response {
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
