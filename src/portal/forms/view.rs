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
