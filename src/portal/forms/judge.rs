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

/// The whole form judged as at submission, page by page over the saved `data` (whatever the
/// pages said when they were saved): the data as it stands, and each refusal with its page.
pub fn judge_form(
    spec: &Spec,
    form: &Form,
    data: &Map<String, Value>,
) -> (Map<String, Value>, Vec<(String, FieldError)>) {
    let mut current: Map<String, Value> = data
        .iter()
        .filter(|(k, _)| page_of(form, k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut errors = Vec::new();
    for page in &form.pages {
        let context = to_context(&Value::Object(current.clone()));
        if !shown(page.visible_if.as_deref(), &context) {
            continue;
        }
        let input = super::input::shown_input(page, &current);
        let judged = judge_page(spec, form, page, &current, &input);
        current = judged.data;
        errors.extend(judged.errors.into_iter().map(|e| (page.id.clone(), e)));
    }
    drop_hidden(form, &mut current);
    (current, errors)
}

/// Typed data as `check::form_data` reads an application (each value as the text it was typed
/// as), so that the submission is held to the one whole-form judgement too.
pub fn as_application(data: &Map<String, Value>) -> crate::spec::model::ApplicationData {
    use crate::spec::model::{ApplicationData, FieldValue, GroupEntry};
    let values = |map: &Map<String, Value>| {
        map.iter()
            .filter(|(_, v)| !v.is_array())
            .map(|(k, v)| FieldValue {
                name: k.clone(),
                value: super::input::text(v),
            })
            .collect::<Vec<_>>()
    };
    let mut groups = Vec::new();
    for (id, value) in data {
        if let Value::Array(entries) = value {
            for entry in entries {
                let own = entry.as_object().cloned().unwrap_or_default();
                groups.push(GroupEntry {
                    group: id.clone(),
                    fields: values(&own),
                });
            }
        }
    }
    ApplicationData {
        fields: values(data),
        groups,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::portal::forms::input::{Action, read, shown_input};

    fn form() -> (Spec, Form) {
        let kdl = r#"
classifier "reason" {
    title "Підстави"
    item "01" "Пожежа"
    item "09" "Інше"
}
form "aid" {
    title "Заява"
    page "about" title="Про вас" {
        field "rnokpp" type="rnokpp" label="РНОКПП" required=#true
        field "reason" type="select" label="Підстава" classifier="reason" required=#true
        field "details" type="textarea" label="Обставини" required=#true min=5 visible-if="reason == '09'"
        field "amount" type="decimal" label="Сума" required=#true min=1 max=50000
    }
    page "family" title="Сім'я" visible-if="amount > 100" {
        field "income" type="decimal" label="Дохід" min=0
        group "members" label="Член сім'ї" min=1 max=2 {
            field "name" type="text" label="ПІБ" required=#true
            field "born" type="date" label="Дата народження"
        }
    }
    rule "income < amount * 10" message="Дохід завеликий для допомоги"
    rule "reason != '09' or details" message="Опишіть обставини"
}"#;
        let sources = crate::spec::source::SourceSet::from_files(
            std::path::PathBuf::from("."),
            vec![("spec/f.kdl".to_string(), kdl.to_string())],
        );
        let loaded = crate::spec::load::load_sources(sources);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let form = loaded.spec.forms[0].clone();
        (loaded.spec, form)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn every_kind_of_refusal_is_shown_against_its_input_in_page_order() {
        let (spec, form) = form();
        let page = &form.pages[0];
        let posted = read(
            page,
            &Map::new(),
            pairs(&[
                ("csrf", "t"),
                ("f.rnokpp", "3184710692"),
                ("f.amount", "1e3"),
            ]),
            &[],
        )
        .unwrap();
        let judged = judge_page(&spec, &form, page, &Map::new(), &posted.input);
        assert_eq!(fields(&judged.errors), ["f-rnokpp", "f-reason", "f-amount"]);
        assert!(
            judged.errors[0].message.contains("контрольна"),
            "{judged:?}"
        );
        assert_eq!(judged.errors[1].message, "Оберіть «Підстава»");
        assert!(judged.errors[2].message.contains("4500,50"), "{judged:?}");
        assert!(
            judged.data.is_empty(),
            "nothing refused is kept: {:?}",
            judged.data
        );
    }

    #[test]
    fn values_are_typed_exactly_and_a_decimal_comma_is_read() {
        let (spec, form) = form();
        let page = &form.pages[0];
        let input = read(
            page,
            &Map::new(),
            pairs(&[
                ("f.rnokpp", " 3184710691 "),
                ("f.reason", "01"),
                ("f.amount", "4 500,10"),
            ]),
            &[],
        )
        .unwrap()
        .input;
        let judged = judge_page(&spec, &form, page, &Map::new(), &input);
        assert_eq!(judged.errors, []);
        assert_eq!(judged.data["amount"].to_string(), "4500.10");
        assert_eq!(judged.data["rnokpp"], "3184710691");
    }

    #[test]
    fn a_field_that_appears_is_asked_for_and_one_that_hides_is_dropped() {
        let (spec, form) = form();
        let page = &form.pages[0];
        let good = [("f.rnokpp", "3184710691"), ("f.amount", "50")];
        let mut with_other = good.to_vec();
        with_other.push(("f.reason", "09"));
        let input = read(page, &Map::new(), pairs(&with_other), &[])
            .unwrap()
            .input;
        let judged = judge_page(&spec, &form, page, &Map::new(), &input);
        assert_eq!(fields(&judged.errors), ["f-details"]);

        with_other.push(("f.details", "Згоріла хата"));
        let input = read(page, &Map::new(), pairs(&with_other), &[])
            .unwrap()
            .input;
        let before = judge_page(&spec, &form, page, &Map::new(), &input).data;
        assert_eq!(before["details"], "Згоріла хата");

        let mut fire = good.to_vec();
        fire.push(("f.reason", "01"));
        fire.push(("f.details", "x"));
        let input = read(page, &before, pairs(&fire), &[]).unwrap().input;
        let judged = judge_page(&spec, &form, page, &before, &input);
        assert_eq!(judged.errors, [], "a hidden field's refusal is no refusal");
        assert!(!judged.data.contains_key("details"), "{:?}", judged.data);
    }

    #[test]
    fn a_page_hidden_later_loses_its_values() {
        let (spec, form) = form();
        let mut data: Map<String, Value> = serde_json::from_value(json!({
            "rnokpp": "3184710691", "reason": "01", "amount": 500,
            "income": 10, "members": [{"name": "Олена"}]
        }))
        .unwrap();
        assert_eq!(visible_pages(&form, &data).len(), 2);
        data.insert("amount".into(), json!(50));
        let (data, errors) = judge_form(&spec, &form, &data);
        assert_eq!(errors, []);
        assert!(
            !data.contains_key("income") && !data.contains_key("members"),
            "{data:?}"
        );
    }

    #[test]
    fn groups_count_their_entries_and_judge_each() {
        let (spec, form) = form();
        let page = &form.pages[1];
        let data: Map<String, Value> =
            serde_json::from_value(json!({"amount": 500, "reason": "01"})).unwrap();
        let shown = shown_input(page, &data);
        assert_eq!(
            shown.groups["members"].len(),
            1,
            "min 1: one empty entry shown"
        );
        let posted = read(
            page,
            &data,
            pairs(&[
                ("g.members.0.born", "2000-13-01"),
                ("action", "add:members"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(posted.action, Action::Add("members".into()));
        let judged = judge_page(&spec, &form, page, &data, &posted.input);
        assert_eq!(
            fields(&judged.errors),
            ["g-members-0-name", "g-members-0-born"]
        );
        assert!(judged.errors[0].message.starts_with("Член сім'ї 1: "));

        let mut too_many = posted.input.clone();
        too_many.groups.insert(
            "members".into(),
            vec![BTreeMap::from([("name".to_string(), "А".to_string())]); 3],
        );
        let judged = judge_page(&spec, &form, page, &data, &too_many);
        assert_eq!(fields(&judged.errors), ["group-members"]);
        assert!(judged.errors[0].message.contains("не більше 2"));
    }

    #[test]
    fn a_rule_is_judged_on_the_page_of_its_last_field_against_its_first() {
        let (spec, form) = form();
        let page = &form.pages[1];
        let data: Map<String, Value> =
            serde_json::from_value(json!({"amount": 500, "reason": "01"})).unwrap();
        let input = read(
            page,
            &data,
            pairs(&[("f.income", "6000"), ("g.members.0.name", "Олена")]),
            &[],
        )
        .unwrap()
        .input;
        let judged = judge_page(&spec, &form, page, &data, &input);
        assert_eq!(judged.errors.len(), 1, "{judged:?}");
        assert_eq!(judged.errors[0].field, "f-income");
        assert_eq!(judged.errors[0].message, "Дохід завеликий для допомоги");
    }

    #[test]
    fn tampered_forms_are_refused_by_name() {
        let (_, form) = form();
        let page = &form.pages[0];
        let data = Map::new();
        let refused = |list: &[(&str, &str)]| read(page, &data, pairs(list), &[]).unwrap_err();
        assert!(refused(&[("f.income", "1")]).contains("no field `income`"));
        assert!(refused(&[("page", "family")]).contains("no input `page`"));
        assert!(refused(&[("f.amount", "1"), ("f.amount", "2")]).contains("twice"));
        assert!(refused(&[("g.members.0.name", "x")]).contains("no group `members`"));
        assert!(refused(&[("action", "remove:members:0")]).contains("no group"));
        let family = &form.pages[1];
        let wrong = read(family, &data, pairs(&[("g.members.5.name", "x")]), &[]).unwrap_err();
        assert!(wrong.contains("not an entry 6"), "{wrong}");
        let wrong = read(family, &data, pairs(&[("action", "remove:members:3")]), &[]);
        assert!(wrong.unwrap_err().contains("cannot be removed"));
        let bound = read(
            page,
            &data,
            pairs(&[("f.rnokpp", "2912345671")]),
            &["rnokpp"],
        );
        assert_eq!(bound.unwrap().input.fields.get("rnokpp"), None);
    }
}
