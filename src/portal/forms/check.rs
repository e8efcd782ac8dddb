//! `/drafts/{draft}/check`: check your answers. GET lists every answer of the pages shown, each
//! with a "Змінити" link to its page, the attachments, the consents and the declaration; POST
//! judges the WHOLE form again on the server (never trusting what earlier pages said), records
//! the consents, and goes on to signing.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::input::text;
use super::judge::{
    FieldError, as_application, asked, entry_field_id, field_id, field_shown, group_id, judge_form,
    visible_pages,
};
use super::{Opened, Purpose, identity, open, open_posted, save, see_other, tampered};
use crate::check::form_data::application_data;
use crate::portal::PortalState;
use crate::portal::citizen::Citizen;
use crate::spec::Spec;
use crate::spec::model::{Form, FormField, InputType, by_id};
use crate::store::AttachmentRow;

/// What the citizen agreed to on this page, as the draft keeps it (JSON): `{"consents": {id:
/// given}, "declaration": confirmed}`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Agreed {
    #[serde(default)]
    pub consents: std::collections::BTreeMap<String, bool>,
    #[serde(default)]
    pub declaration: bool,
}

impl Agreed {
    /// The draft's `consents` column read; nothing agreed when it holds anything else.
    pub fn of(text: &str) -> Agreed {
        serde_json::from_str(text).unwrap_or_default()
    }
}

/// `GET /drafts/{draft}/check`.
pub async fn show(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
) -> Response {
    let opened = match open(&portal, &citizen, &draft, Purpose::Change).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let agreed = Agreed::of(&opened.draft.consents);
    let files = match files_of(&portal, &opened).await {
        Ok(files) => files,
        Err(page) => return page,
    };
    let view = View {
        data: &opened.data,
        agreed: &agreed,
        files: &files,
        errors: &[],
        status: StatusCode::OK,
    };
    render(&portal, &opened, view)
}

/// The files attached to the draft.
async fn files_of(portal: &PortalState, opened: &Opened) -> Result<Vec<AttachmentRow>, Response> {
    portal
        .store
        .attachments_of(&opened.draft.id)
        .await
        .map_err(|e| {
            tracing::error!(
                "the portal could not list draft {}'s files: {e}",
                opened.draft.id
            );
            portal.pages.problem(
                StatusCode::SERVICE_UNAVAILABLE,
                &opened.chrome,
                "Чернетка тимчасово недоступна",
                "Не вдалося прочитати додані документи. Спробуйте ще раз за кілька хвилин.",
            )
        })
}

/// What check your answers shows.
struct View<'a> {
    data: &'a Map<String, Value>,
    agreed: &'a Agreed,
    files: &'a [AttachmentRow],
    errors: &'a [FieldError],
    status: StatusCode,
}

/// `POST /drafts/{draft}/check`.
pub async fn submit(
    State(portal): State<PortalState>,
    citizen: Citizen,
    Path(draft): Path<String>,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Response {
    let opened = match open_posted(&portal, &citizen, &draft, &pairs).await {
        Ok(o) => o,
        Err(page) => return page,
    };
    let agreed = match read_agreed(&opened.form, pairs) {
        Ok(a) => a,
        Err(why) => return tampered(&portal, &opened.chrome, &draft, &why),
    };
    let spec = &opened.compiled.spec;
    let mut data = opened.data.clone();
    identity::fill(&opened.form, &mut data, &citizen);
    let (data, answers) = judge_form(spec, &opened.form, &data);
    let mut errors: Vec<FieldError> = answers
        .into_iter()
        .map(|(_, e)| FieldError {
            field: format!("answer-{}", e.field),
            message: e.message,
        })
        .collect();
    if errors.is_empty() {
        for page in visible_pages(&opened.form, &data) {
            let crossed =
                super::registries::cross_checks(&portal, &citizen, &opened, page, &data).await;
            errors.extend(crossed.into_iter().map(|e| FieldError {
                field: format!("answer-{}", e.field),
                message: e.message,
            }));
        }
    }
    let files = match files_of(&portal, &opened).await {
        Ok(files) => files,
        Err(page) => return page,
    };
    for attachment in opened.form.attachments.iter().filter(|a| a.required) {
        if !files.iter().any(|f| f.attachment == attachment.id) {
            errors.push(FieldError {
                field: format!("attachment-{}", attachment.id),
                message: format!("Додайте документ «{}»", attachment.label),
            });
        }
    }
    for consent in opened.form.consents.iter().filter(|c| c.required) {
        if !agreed.consents.get(&consent.id).copied().unwrap_or(false) {
            errors.push(FieldError {
                field: format!("consent-{}", consent.id),
                message: "Щоб подати заяву, надайте цю згоду".into(),
            });
        }
    }
    if opened.form.declaration.is_some() && !agreed.declaration {
        errors.push(FieldError {
            field: "declaration".into(),
            message: "Щоб подати заяву, підтвердьте достовірність відомостей".into(),
        });
    }
    let consents = serde_json::to_string(&agreed).unwrap_or_else(|_| "{}".into());
    let last = opened.draft.page.clone();
    if let Err(refused) = save(&portal, &citizen, &opened, &data, &consents, &last).await {
        return refused;
    }
    if !errors.is_empty() {
        let view = View {
            data: &data,
            agreed: &agreed,
            files: &files,
            errors: &errors,
            status: StatusCode::UNPROCESSABLE_ENTITY,
        };
        return render(&portal, &opened, view);
    }
    let (_, problems) = application_data(spec, &opened.form, &as_application(&data));
    if !problems.is_empty() {
        let at: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        tracing::error!(
            "draft {draft} passed the portal's pages but not the form's whole judgement (at \
             {at:?}); the two disagree, which is a bug"
        );
        return portal.pages.problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &opened.chrome,
            "Заяву не вдалося перевірити",
            "Відповіді збережено в чернетці. Спробуйте пізніше або зверніться до служби підтримки.",
        );
    }
    see_other(&format!("/drafts/{draft}/sign"))
}

/// `consent.ID` and `declaration` boxes (value `yes`), and the CSRF token; nothing else.
fn read_agreed(form: &Form, pairs: Vec<(String, String)>) -> Result<Agreed, String> {
    let mut agreed = Agreed::default();
    for (name, value) in pairs {
        if name == "csrf" {
            continue;
        }
        let given = value == "yes";
        if let Some(id) = name.strip_prefix("consent.") {
            if !form.consents.iter().any(|c| c.id == id) {
                return Err(format!("form `{}` asks no consent `{id}`", form.id));
            }
            agreed.consents.insert(id.to_string(), given);
        } else if name == "declaration" && form.declaration.is_some() {
            agreed.declaration = given;
        } else {
            return Err(format!("check your answers has no input `{name}`"));
        }
    }
    Ok(agreed)
}

fn render(portal: &PortalState, opened: &Opened, view: View) -> Response {
    let View {
        data,
        agreed,
        files,
        errors,
        status,
    } = view;
    let spec = &opened.compiled.spec;
    let draft = &opened.draft.id;
    let sections: Vec<Value> = visible_pages(&opened.form, data)
        .into_iter()
        .map(|page| {
            let change =
                |anchor: &str| format!("/drafts/{draft}/pages/{}?from=check#{anchor}", page.id);
            let rows: Vec<Value> = asked(&page.fields)
                .filter(|f| field_shown(f, data, None))
                .map(|f| {
                    let id = field_id(&f.id);
                    row(
                        spec,
                        f,
                        data.get(&f.id),
                        &id,
                        &change(&id),
                        f.bind.is_none(),
                    )
                })
                .collect();
            let groups: Vec<Value> = page
                .groups
                .iter()
                .filter(|g| data.contains_key(&g.id) || g.min > 0)
                .map(|g| {
                    let entries = data.get(&g.id).and_then(Value::as_array).cloned();
                    let entries: Vec<Value> = entries
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                        .map(|(i, entry)| {
                            let rows: Vec<Value> = asked(&g.fields)
                                .filter(|f| field_shown(f, data, Some(entry)))
                                .map(|f| {
                                    let id = entry_field_id(&g.id, i, &f.id);
                                    row(spec, f, entry.get(&f.id), &id, &change(&id), true)
                                })
                                .collect();
                            json!({ "legend": format!("{} {}", g.label, i + 1), "rows": rows })
                        })
                        .collect();
                    let id = group_id(&g.id);
                    json!({
                        "id": format!("answer-{id}"),
                        "label": g.label,
                        "entries": entries,
                        "change": change(&id),
                    })
                })
                .collect();
            json!({ "title": page.title, "rows": rows, "groups": groups })
        })
        .collect();
    let attachments: Vec<Value> = opened
        .form
        .attachments
        .iter()
        .map(|a| {
            let id = format!("attachment-{}", a.id);
            let names: Vec<&str> = files
                .iter()
                .filter(|f| f.attachment == a.id)
                .map(|f| f.file_name.as_str())
                .collect();
            json!({ "id": id, "label": a.label, "required": a.required, "files": names })
        })
        .collect();
    let error_of = |id: &str| errors.iter().find(|e| e.field == id).map(|e| &e.message);
    let consents: Vec<Value> = opened
        .form
        .consents
        .iter()
        .map(|c| {
            let id = format!("consent-{}", c.id);
            json!({
                "id": id,
                "name": format!("consent.{}", c.id),
                "text": c.text,
                "required": c.required,
                "checked": agreed.consents.get(&c.id).copied().unwrap_or(false),
                "error": error_of(&id),
            })
        })
        .collect();
    let e_service = by_id(&spec.e_services, &opened.draft.e_service);
    portal.pages.render(
        status,
        "check_answers.html",
        &opened.chrome,
        json!({
            "draft": draft,
            "form_title": opened.form.title,
            "service_title": e_service.map(|s| s.title.clone()),
            "sections": sections,
            "attachments": attachments,
            "attachments_url": format!("/drafts/{draft}/attachments"),
            "consents": consents,
            "declaration": opened.form.declaration,
            "declared": agreed.declaration,
            "declaration_error": error_of("declaration"),
            "errors": errors,
            "expires": super::retention::date(opened.draft.expires_at),
        }),
    )
}

/// One answer: its label, the value as the citizen knows it, and where to change it.
fn row(
    spec: &Spec,
    f: &FormField,
    value: Option<&Value>,
    id: &str,
    change: &str,
    changeable: bool,
) -> Value {
    let shown = value.map(|v| match (f.ty, v) {
        (InputType::Boolean, Value::Bool(true)) => "Так".to_string(),
        (InputType::Boolean, Value::Bool(false)) => "Ні".to_string(),
        (InputType::Select, Value::String(code)) => f
            .classifier
            .as_deref()
            .and_then(|c| by_id(&spec.classifiers, c))
            .and_then(|c| c.items.iter().find(|i| &i.code == code))
            .map_or_else(|| code.clone(), |i| i.label.clone()),
        (InputType::Decimal, v) => text(v).replace('.', ","),
        (_, v) => text(v),
    });
    json!({
        "id": format!("answer-{id}"),
        "label": f.label,
        "value": shown,
        "change": if changeable { Some(change) } else { None },
    })
}
