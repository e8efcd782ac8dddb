//! A form page as its template sees it: each input with its label, hint, error, the ids that tie
//! them together (`aria-describedby`), the text the citizen typed, a classifier's items, and the
//! entries of repeat groups with their "add another" and "remove" buttons.

use serde_json::{Value, json};

use super::input::PageInput;
use super::judge::{FieldError, asked, entry_field_id, field_id, group_id};
use crate::spec::Spec;
use crate::spec::model::{FormField, InputType, Page};

/// Whether a field is shown: a top-level one, or one of a group's entry (group id, index).
pub type Shown<'a> = dyn Fn(&FormField, Option<(&str, usize)>) -> bool + 'a;

/// The inputs of `page` showing `input`, with `errors` against them; `shown(field, entry)` says
/// whether a field (of a group's entry) is visible: its `visible-if` over the draft.
pub fn inputs(
    spec: &Spec,
    page: &Page,
    input: &PageInput,
    errors: &[FieldError],
    shown: &Shown,
) -> Value {
    let error_of = |id: &str| {
        errors
            .iter()
            .find(|e| e.field == id)
            .map(|e| e.message.clone())
    };
    let fields: Vec<Value> = asked(&page.fields)
        .filter(|f| shown(f, None))
        .map(|f| {
            let id = field_id(&f.id);
            let error = error_of(&id);
            field(
                spec,
                f,
                &id,
                &format!("f.{}", f.id),
                input.fields.get(&f.id).map(String::as_str),
                error,
            )
        })
        .collect();
    let groups: Vec<Value> = page
        .groups
        .iter()
        .filter_map(|g| {
            let entries = input.groups.get(&g.id)?;
            let count = entries.len();
            let rows: Vec<Value> = entries
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    let fields: Vec<Value> = asked(&g.fields)
                        .filter(|f| shown(f, Some((&g.id, i))))
                        .map(|f| {
                            let id = entry_field_id(&g.id, i, &f.id);
                            let error = error_of(&id);
                            field(
                                spec,
                                f,
                                &id,
                                &format!("g.{}.{i}.{}", g.id, f.id),
                                entry.get(&f.id).map(String::as_str),
                                error,
                            )
                        })
                        .collect();
                    json!({
                        "legend": format!("{} {}", g.label, i + 1),
                        "fields": fields,
                        "remove": format!("remove:{}:{i}", g.id),
                        "can_remove": count > g.min as usize,
                    })
                })
                .collect();
            let id = group_id(&g.id);
            Some(json!({
                "id": id,
                "label": g.label,
                "entries": rows,
                "add": format!("add:{}", g.id),
                "can_add": g.max.is_none_or(|max| count < max as usize),
                "error": error_of(&id),
                "error_id": format!("{id}-error"),
            }))
        })
        .collect();
    json!({ "fields": fields, "groups": groups })
}

/// One input: what kind of control, its attributes, and the ids its hint and error carry.
fn field(
    spec: &Spec,
    f: &FormField,
    id: &str,
    name: &str,
    value: Option<&str>,
    error: Option<String>,
) -> Value {
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let hint = f
        .hint
        .clone()
        .or_else(|| default_hint(f.ty).map(String::from));
    let mut described = Vec::new();
    if hint.is_some() {
        described.push(hint_id.clone());
    }
    if error.is_some() {
        described.push(error_id.clone());
    }
    let (control, input_type, inputmode, autocomplete) = match f.ty {
        InputType::Textarea => ("textarea", "", "", ""),
        InputType::Select => ("select", "", "", ""),
        InputType::Boolean => ("yes-no", "", "", ""),
        InputType::Integer => ("input", "text", "numeric", ""),
        InputType::Decimal => ("input", "text", "decimal", ""),
        InputType::Date => ("input", "date", "", ""),
        InputType::Email => ("input", "email", "email", "email"),
        InputType::Phone => ("input", "tel", "tel", "tel"),
        InputType::Rnokpp | InputType::Edrpou => ("input", "text", "numeric", ""),
        InputType::Text | InputType::File => ("input", "text", "", ""),
    };
    let options: Vec<Value> = f
        .classifier
        .as_deref()
        .and_then(|c| crate::spec::model::by_id(&spec.classifiers, c))
        .map(|c| {
            c.items
                .iter()
                .map(|item| {
                    json!({
                        "value": item.code,
                        "label": item.label,
                        "selected": value == Some(item.code.as_str()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "id": id,
        "name": name,
        "label": f.label,
        "required": f.required,
        "control": control,
        "type": input_type,
        "inputmode": inputmode,
        "autocomplete": autocomplete,
        "value": value.unwrap_or_default(),
        "options": options,
        "hint": hint,
        "hint_id": hint_id,
        "error": error,
        "error_id": error_id,
        "describedby": described.join(" "),
        "readonly": f.bind.is_some(),
    })
}

/// How to write a value of a type whose field gives no hint of its own.
fn default_hint(ty: InputType) -> Option<&'static str> {
    match ty {
        InputType::Date => Some("Наприклад, 2026-03-02"),
        InputType::Phone => Some("Наприклад, +380 61 000 00 00"),
        InputType::Rnokpp => Some("10 цифр"),
        InputType::Edrpou => Some("8 цифр"),
        InputType::Decimal => Some("Наприклад, 4500,50"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use crate::portal::pages::{Chrome, Pages};

    /// A page with every input type, rendered through the real template.
    fn rendered(errors: &[FieldError]) -> String {
        let kdl = r#"
classifier "yes-items" {
    title "Пункти"
    item "a" "Перший"
    item "b" "Другий"
}
form "all" {
    title "Усі поля"
    page "p" title="Сторінка" {
        field "t" type="text" label="Текст" required=#true hint="Як у паспорті"
        field "ta" type="textarea" label="Опис"
        field "i" type="integer" label="Кількість"
        field "d" type="decimal" label="Сума"
        field "dt" type="date" label="Дата"
        field "b" type="boolean" label="Згода" required=#true
        field "e" type="email" label="Пошта"
        field "ph" type="phone" label="Телефон"
        field "r" type="rnokpp" label="РНОКПП" bind="rnokpp"
        field "ed" type="edrpou" label="ЄДРПОУ"
        field "s" type="select" label="Вибір" classifier="yes-items"
        field "f" type="file" label="Файл"
        group "g" label="Особа" min=1 max=1 {
            field "n" type="text" label="Ім'я"
        }
    }
}"#;
        let sources = crate::spec::source::SourceSet::from_files(
            std::path::PathBuf::from("."),
            vec![("spec/f.kdl".to_string(), kdl.to_string())],
        );
        let loaded = crate::spec::load::load_sources(sources);
        let spec = loaded.spec;
        let page = &spec.forms[0].pages[0];
        let mut input = PageInput::default();
        input.fields.insert("b".into(), "false".into());
        input.fields.insert("s".into(), "b".into());
        input.fields.insert("ta".into(), "<script>".into());
        input.groups.insert("g".into(), vec![Default::default()]);
        let inputs = inputs(&spec, page, &input, errors, &|_, _| true);
        let context = serde_json::json!({
            "draft": "d1", "form_title": "Усі поля", "page_title": "Сторінка", "step": 1,
            "steps": 1, "back": null, "action": "/drafts/d1/pages/p", "errors": errors,
            "notice": null, "inputs": inputs, "expires": "01.01.2027",
        });
        let chrome = Chrome {
            csrf: Some("token".into()),
            ..Chrome::default()
        };
        let response =
            Pages::new()
                .unwrap()
                .render(StatusCode::OK, "form_page.html", &chrome, context);
        let body = response.into_body();
        let bytes = read_body(body);
        String::from_utf8(bytes).unwrap()
    }

    fn read_body(body: axum::body::Body) -> Vec<u8> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(axum::body::to_bytes(body, usize::MAX))
            .unwrap()
            .to_vec()
    }

    #[test]
    fn every_input_type_gets_its_control_label_and_hint() {
        let html = rendered(&[]);
        for expected in [
            r#"<label for="f-t">Текст</label>"#,
            r#"<p class="hint" id="f-t-hint">Як у паспорті</p>"#,
            r#"aria-describedby="f-t-hint""#,
            r#"<textarea id="f-ta" name="f.ta" rows="5">&lt;script&gt;</textarea>"#,
            r#"name="f.i" type="text" value="" inputmode="numeric""#,
            r#"name="f.d" type="text" value="" inputmode="decimal""#,
            r#"name="f.dt" type="date""#,
            r#"<input type="radio" id="f-b" name="f.b" value="true">"#,
            r#"<input type="radio" id="f-b-no" name="f.b" value="false" checked>"#,
            r#"name="f.e" type="email" value="" inputmode="email" autocomplete="email""#,
            r#"name="f.ph" type="tel""#,
            r#"name="f.ed" type="text" value="" inputmode="numeric""#,
            r#"<option value="b" selected>Другий</option>"#,
            r#"name="g.g.0.n""#,
            r#"<input type="hidden" name="csrf" value="token">"#,
        ] {
            assert!(html.contains(expected), "no {expected} in\n{html}");
        }
        assert!(
            html.contains(r#"id="f-r-bound""#),
            "a bound field says so:\n{html}"
        );
        assert!(html.contains("readonly"), "{html}");
        assert!(
            !html.contains("f.f"),
            "files are the attachments page's:\n{html}"
        );
        assert!(
            !html.contains("remove:g:0"),
            "min 1: the only entry stays:\n{html}"
        );
        assert!(!html.contains("add:g"), "max 1: no more entries:\n{html}");
        assert!(!html.contains("<script"), "{html}");
    }

    #[test]
    fn an_error_is_tied_to_its_input() {
        let html = rendered(&[FieldError {
            field: "f-i".into(),
            message: "«Кількість»: введіть ціле число".into(),
        }]);
        assert!(html.contains(r##"<a href="#f-i">"##), "{html}");
        assert!(
            html.contains(r#"<p class="error-message" id="f-i-error">"#),
            "{html}"
        );
        assert!(
            html.contains(r#"aria-describedby="f-i-error" aria-invalid="true""#),
            "{html}"
        );
    }
}
