//! One page of a form judged on the server: each value typed by `check::form_data` (the one
//! definition of what a field accepts), fields and groups hidden by `visible-if` dropped, required
//! fields, group sizes and the form's rules, each refusal in plain Ukrainian against its input.

use serde_json::{Map, Value};

use super::input::PageInput;
use crate::check::form_data::{Refusal, holds, names_read, shown, to_context, typed_value};
use crate::spec::Spec;
use crate::spec::model::{Form, FormField, Group, InputType, Page};

/// A refusal shown at the top of the page, linking to the input `field` (its HTML id).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The draft's data with the page's accepted values in, and what the page refuses.
#[derive(Debug, Clone)]
pub struct Judged {
    pub data: Map<String, Value>,
    pub errors: Vec<FieldError>,
}

/// The HTML id of a top-level field's input.
pub fn field_id(field: &str) -> String {
    format!("f-{field}")
}

/// The HTML id of a group entry's field's input.
pub fn entry_field_id(group: &str, index: usize, field: &str) -> String {
    format!("g-{group}-{index}-{field}")
}

/// The HTML id of a group's fieldset.
pub fn group_id(group: &str) -> String {
    format!("group-{group}")
}

/// The inputs a page asks for: its fields that are not files (those are the attachments page's).
pub fn asked(fields: &[FormField]) -> impl Iterator<Item = &FormField> {
    fields.iter().filter(|f| f.ty != InputType::File)
}

/// Judges `input` for `page` over the rest of the draft's `data`.
pub fn judge_page(
    spec: &Spec,
    form: &Form,
    page: &Page,
    data: &Map<String, Value>,
    input: &PageInput,
) -> Judged {
    let mut errors = Vec::new();
    let mut out = data.clone();
    for field in &page.fields {
        out.remove(&field.id);
    }
    for group in &page.groups {
        out.remove(&group.id);
    }
    for field in asked(&page.fields) {
        let raw = input.fields.get(&field.id).map(String::as_str);
        match accept(spec, field, raw) {
            Ok(Some(value)) => {
                out.insert(field.id.clone(), value);
            }
            Ok(None) => {}
            Err(message) => errors.push(FieldError {
                field: field_id(&field.id),
                message,
            }),
        }
    }
    for group in &page.groups {
        let entries = input.groups.get(&group.id).map_or(&[][..], Vec::as_slice);
        let mut list = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let mut typed = Map::new();
            for field in asked(&group.fields) {
                match accept(spec, field, entry.get(&field.id).map(String::as_str)) {
                    Ok(Some(value)) => {
                        typed.insert(field.id.clone(), value);
                    }
                    Ok(None) => {}
                    Err(message) => errors.push(FieldError {
                        field: entry_field_id(&group.id, i, &field.id),
                        message: format!("{} {}: {message}", group.label, i + 1),
                    }),
                }
            }
            list.push(Value::Object(typed));
        }
        out.insert(group.id.clone(), Value::Array(list));
    }
    drop_hidden(form, &mut out);
    let context = to_context(&Value::Object(out.clone()));
    errors.retain(|e| input_shown(page, &out, &context, &e.field));
    for field in asked(&page.fields) {
        let visible = shown(field.visible_if.as_deref(), &context);
        let refused = errors.iter().any(|e| e.field == field_id(&field.id));
        if visible && field.required && !out.contains_key(&field.id) && !refused {
            errors.push(FieldError {
                field: field_id(&field.id),
                message: missing(field),
            });
        }
    }
    for group in &page.groups {
        if !shown(group.visible_if.as_deref(), &context) {
            continue;
        }
        judge_group(group, &out, &mut errors);
    }
    if errors.is_empty() {
        judge_rules(form, page, &out, &mut errors);
    }
    errors.sort_by_key(|e| position(page, &e.field));
    Judged { data: out, errors }
}

/// The pages shown for `data`, in order.
pub fn visible_pages<'a>(form: &'a Form, data: &Map<String, Value>) -> Vec<&'a Page> {
    let context = to_context(&Value::Object(data.clone()));
    form.pages
        .iter()
        .filter(|p| shown(p.visible_if.as_deref(), &context))
        .collect()
}

/// Whether a top-level field or group entry field is shown over `data` (an entry's own values in
/// scope for its fields).
pub fn field_shown(field: &FormField, data: &Map<String, Value>, entry: Option<&Value>) -> bool {
    let mut scope = data.clone();
    if let Some(Value::Object(own)) = entry {
        scope.extend(own.clone());
    }
    shown(
        field.visible_if.as_deref(),
        &to_context(&Value::Object(scope)),
    )
}

/// A value the citizen typed, trimmed (numbers also without spaces and with a decimal comma read
/// as a point), as the field's typed value: `None` when empty, or why the field refuses it.
fn accept(spec: &Spec, field: &FormField, raw: Option<&str>) -> Result<Option<Value>, String> {
    let text = raw.unwrap_or_default().trim();
    if text.is_empty() {
        return Ok(None);
    }
    let text = match field.ty {
        InputType::Integer | InputType::Decimal => {
            text.replace([' ', '\u{a0}'], "").replace(',', ".")
        }
        _ => text.to_string(),
    };
    typed_value(spec, field, &text)
        .map(Some)
        .map_err(|r| refused(field, &r))
}

/// Removes the values of fields, groups and pages their `visible-if` hides, until none changes
/// (a hidden field can hide others).
pub fn drop_hidden(form: &Form, data: &mut Map<String, Value>) {
    let mut hidden = Vec::new();
    loop {
        let context = to_context(&Value::Object(data.clone()));
        let before = hidden.len();
        for page in &form.pages {
            let page_shown = shown(page.visible_if.as_deref(), &context);
            for field in &page.fields {
                if (!page_shown || !shown(field.visible_if.as_deref(), &context))
                    && data.remove(&field.id).is_some()
                {
                    hidden.push(field_id(&field.id));
                }
            }
            for group in &page.groups {
                if (!page_shown || !shown(group.visible_if.as_deref(), &context))
                    && data.remove(&group.id).is_some()
                {
                    hidden.push(group_id(&group.id));
                }
            }
            for group in &page.groups {
                drop_hidden_in_entries(group, data, &mut hidden);
            }
        }
        if hidden.len() == before {
            return;
        }
    }
}

fn drop_hidden_in_entries(group: &Group, data: &mut Map<String, Value>, hidden: &mut Vec<String>) {
    let Some(Value::Array(entries)) = data.get(&group.id).cloned() else {
        return;
    };
    let mut kept = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let mut entry = entry.clone();
        for field in &group.fields {
            if !field_shown(field, data, Some(&entry))
                && let Value::Object(own) = &mut entry
                && own.remove(&field.id).is_some()
            {
                hidden.push(entry_field_id(&group.id, i, &field.id));
            }
        }
        kept.push(entry);
    }
    data.insert(group.id.clone(), Value::Array(kept));
}

/// Whether the input with HTML id `input` on `page` is shown over `data`.
fn input_shown(
    page: &Page,
    data: &Map<String, Value>,
    context: &minijinja::Value,
    input: &str,
) -> bool {
    if let Some(field) = page.fields.iter().find(|f| field_id(&f.id) == input) {
        return shown(field.visible_if.as_deref(), context);
    }
    for group in &page.groups {
        let Some(rest) = input.strip_prefix(&format!("g-{}-", group.id)) else {
            continue;
        };
        if !shown(group.visible_if.as_deref(), context) {
            return false;
        }
        let Some((index, name)) = rest.split_once('-') else {
            return true;
        };
        let entry = data
            .get(&group.id)
            .and_then(|list| list.get(index.parse::<usize>().ok()?));
        return group
            .fields
            .iter()
            .find(|f| f.id == name)
            .is_none_or(|f| field_shown(f, data, entry));
    }
    true
}

/// Required fields of each entry, and the number of entries.
fn judge_group(group: &Group, data: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let entries = match data.get(&group.id) {
        Some(Value::Array(list)) => list.clone(),
        _ => Vec::new(),
    };
    for (i, entry) in entries.iter().enumerate() {
        for field in asked(&group.fields) {
            let id = entry_field_id(&group.id, i, &field.id);
            let given = entry.get(&field.id).is_some();
            if field.required
                && !given
                && field_shown(field, data, Some(entry))
                && !errors.iter().any(|e| e.field == id)
            {
                errors.push(FieldError {
                    field: id,
                    message: format!("{} {}: {}", group.label, i + 1, missing(field)),
                });
            }
        }
    }
    let count = entries.len() as u32;
    if count < group.min {
        errors.push(FieldError {
            field: group_id(&group.id),
            message: format!(
                "{}: додайте щонайменше {} (зараз {count})",
                group.label, group.min
            ),
        });
    }
    if let Some(max) = group.max
        && count > max
    {
        errors.push(FieldError {
            field: group_id(&group.id),
            message: format!(
                "{}: можна зазначити не більше {max} (зараз {count})",
                group.label
            ),
        });
    }
}

/// The form's rules whose last named field is on `page` (so every field they read is answered
/// by now); a broken rule is shown against the first field it names on this page.
fn judge_rules(form: &Form, page: &Page, data: &Map<String, Value>, errors: &mut Vec<FieldError>) {
    let context = to_context(&Value::Object(data.clone()));
    for rule in &form.rules {
        let names: Vec<String> = names_read(&rule.expr)
            .into_iter()
            .filter(|n| page_of(form, n).is_some())
            .collect();
        let last_page = names
            .iter()
            .filter_map(|n| page_of(form, n))
            .max()
            .unwrap_or(form.pages.len().saturating_sub(1));
        if form.pages.get(last_page).map(|p| &p.id) != Some(&page.id) || holds(&rule.expr, &context)
        {
            continue;
        }
        let field = names
            .iter()
            .find_map(|n| {
                if page.fields.iter().any(|f| &f.id == n) {
                    Some(field_id(n))
                } else if page.groups.iter().any(|g| &g.id == n) {
                    Some(group_id(n))
                } else {
                    None
                }
            })
            .unwrap_or_else(|| first_input(page));
        errors.push(FieldError {
            field,
            message: rule.message.clone(),
        });
    }
}

/// Which page (its index) holds the field or group `name`.
pub fn page_of(form: &Form, name: &str) -> Option<usize> {
    form.pages.iter().position(|p| {
        p.fields.iter().any(|f| f.id == name) || p.groups.iter().any(|g| g.id == name)
    })
}

/// The first input of a page, where an error that names no field of it is linked.
fn first_input(page: &Page) -> String {
    asked(&page.fields)
        .next()
        .map(|f| field_id(&f.id))
        .or_else(|| page.groups.first().map(|g| group_id(&g.id)))
        .unwrap_or_else(|| "main".into())
}

/// Where an input stands on its page, so that the summary lists errors in the page's order.
fn position(page: &Page, input: &str) -> (usize, usize, usize) {
    if let Some(i) = page.fields.iter().position(|f| field_id(&f.id) == input) {
        return (i, 0, 0);
    }
    for (gi, group) in page.groups.iter().enumerate() {
        let base = page.fields.len() + gi;
        if input == group_id(&group.id) {
            return (base, usize::MAX, 0);
        }
        if let Some(rest) = input.strip_prefix(&format!("g-{}-", group.id))
            && let Some((index, field)) = rest.split_once('-')
        {
            let f = group.fields.iter().position(|x| x.id == field);
            return (base, index.parse().unwrap_or(0), f.unwrap_or(0));
        }
    }
    (usize::MAX, 0, 0)
}

/// What a citizen reads for a required field left empty.
fn missing(field: &FormField) -> String {
    match field.ty {
        InputType::Select | InputType::Boolean => format!("Оберіть «{}»", field.label),
        _ => format!("Заповніть поле «{}»", field.label),
    }
}

/// What a citizen reads for a value the field refuses.
fn refused(field: &FormField, refusal: &Refusal) -> String {
    let label = &field.label;
    match refusal {
        Refusal::NotInteger => format!("«{label}»: введіть ціле число цифрами, наприклад 3"),
        Refusal::NotDecimal => format!("«{label}»: введіть число, наприклад 4500,50"),
        Refusal::NotBoolean => format!("«{label}»: оберіть «Так» або «Ні»"),
        Refusal::NotDate => {
            format!("«{label}»: введіть дату у форматі РРРР-ММ-ДД, наприклад 2026-03-02")
        }
        Refusal::NotEmail => {
            format!("«{label}»: введіть адресу електронної пошти, наприклад name@example.com")
        }
        Refusal::NotPhone => {
            format!("«{label}»: введіть номер телефону, наприклад +380 61 000 00 00")
        }
        Refusal::NotRnokpp => {
            format!("«{label}»: РНОКПП має 10 цифр, і остання з них контрольна; перевірте номер")
        }
        Refusal::NotEdrpou => {
            format!("«{label}»: код ЄДРПОУ має 8 цифр, і остання з них контрольна; перевірте код")
        }
        Refusal::NotAnItem { .. } => format!("«{label}»: оберіть значення зі списку"),
        Refusal::Pattern { hint, .. } => match hint {
            Some(hint) => format!("«{label}»: значення має інший вигляд ({hint})"),
            None => format!("«{label}»: значення має інший вигляд; перевірте його"),
        },
        Refusal::BelowMin { min, number: true } => {
            format!("«{label}»: значення має бути не менше {}", number(*min))
        }
        Refusal::BelowMin { min, number: false } => {
            format!("«{label}»: введіть щонайменше {} символів", number(*min))
        }
        Refusal::AboveMax { max, number: true } => {
            format!("«{label}»: значення має бути не більше {}", number(*max))
        }
        Refusal::AboveMax { max, number: false } => {
            format!("«{label}»: введіть не більше {} символів", number(*max))
        }
    }
}

/// A bound as people write it: `20`, not `20.0`; a fraction with a decimal comma.
fn number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string().replace('.', ",")
    }
}
