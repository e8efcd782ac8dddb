//! An application's data judged by its form, as the portal would judge a submission: known fields,
//! values of the field's type (a `decimal` keeps its exact digits), patterns, bounds, classifier
//! items, required visible fields, repeat groups' sizes and the form's rules.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use minijinja::Environment;
use serde_json::{Map, Value};

use crate::spec::Spec;
use crate::spec::model::{ApplicationData, FieldValue, Form, FormField, InputType};

use super::formats::{valid_edrpou, valid_email, valid_phone, valid_rnokpp};
use crate::spec::agreement_rules::parse_date;

/// One thing the form refuses, at a JSON pointer inside the data (`/fields/2/value`, or empty
/// for the data as a whole).
#[derive(Debug, Clone, PartialEq)]
pub struct DataProblem {
    pub pointer: String,
    pub message: String,
    pub help: String,
}

/// The typed data (field id → value; a group → a list of entries) and what the form refuses.
pub fn application_data(
    spec: &Spec,
    form: &Form,
    data: &ApplicationData,
) -> (Value, Vec<DataProblem>) {
    let mut problems = Vec::new();
    let top: Vec<&FormField> = form.pages.iter().flat_map(|p| &p.fields).collect();
    let mut out = typed_fields(spec, &top, &data.fields, "", &mut problems);
    let groups: BTreeMap<&str, &crate::spec::model::Group> = form
        .pages
        .iter()
        .flat_map(|p| &p.groups)
        .map(|g| (g.id.as_str(), g))
        .collect();
    let mut entries: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (gi, entry) in data.groups.iter().enumerate() {
        let ptr = format!("/groups/{gi}");
        let Some(group) = groups.get(entry.group.as_str()) else {
            problems.push(DataProblem {
                pointer: format!("{ptr}/group"),
                message: format!("form `{}` has no group `{}`", form.id, entry.group),
                help: one_of(groups.keys().copied()),
            });
            continue;
        };
        let fields: Vec<&FormField> = group.fields.iter().collect();
        let value = typed_fields(spec, &fields, &entry.fields, &ptr, &mut problems);
        entries
            .entry(group.id.as_str())
            .or_default()
            .push(Value::Object(value));
    }
    for (id, list) in &entries {
        out.insert((*id).to_string(), Value::Array(list.clone()));
    }
    // Conditions and rules over data with a refused value would echo that one refusal.
    let complete = problems.is_empty();
    let context = to_context(&Value::Object(out.clone()));
    for page in &form.pages {
        let page_shown = shown(page.visible_if.as_deref(), &context);
        for field in &page.fields {
            let visible = page_shown && shown(field.visible_if.as_deref(), &context);
            let given = data.fields.iter().position(|f| f.name == field.id);
            match given {
                None if visible && field.required && field.ty != InputType::File => {
                    problems.push(DataProblem {
                        pointer: String::new(),
                        message: format!(
                            "required field `{}` ({}) is missing",
                            field.id, field.label
                        ),
                        help: format!("add `field \"{}\" \"…\"` to `data`", field.id),
                    })
                }
                Some(i) if !visible && complete => problems.push(DataProblem {
                    pointer: format!("/fields/{i}/name"),
                    message: format!(
                        "field `{}` is hidden by its `visible-if`, so the form does not take it",
                        field.id
                    ),
                    help: "remove the value, or change the values its condition reads".into(),
                }),
                _ => {}
            }
        }
        for group in &page.groups {
            let count = entries.get(group.id.as_str()).map_or(0, Vec::len);
            let visible = page_shown && shown(group.visible_if.as_deref(), &context);
            let too_few = visible && count < group.min as usize;
            let too_many = group.max.is_some_and(|max| count > max as usize);
            if too_few || too_many || (!visible && count > 0 && complete) {
                let bound = if !visible {
                    "none: its `visible-if` hides it".to_string()
                } else if too_few {
                    format!("at least {}", group.min)
                } else {
                    format!("at most {}", group.max.unwrap_or_default())
                };
                problems.push(DataProblem {
                    pointer: String::new(),
                    message: format!(
                        "group `{}` ({}) has {count} {}; the form takes {bound}",
                        group.id,
                        group.label,
                        if count == 1 { "entry" } else { "entries" }
                    ),
                    help: format!("write one `group \"{}\" {{ … }}` per entry", group.id),
                });
            }
        }
    }
    for (gi, entry) in data.groups.iter().enumerate() {
        let Some(group) = groups.get(entry.group.as_str()) else {
            continue;
        };
        let mut scope = out.clone();
        if let Some(Value::Array(list)) = out.get(&group.id)
            && let Some(Value::Object(own)) = list.get(position_in_group(data, gi))
        {
            scope.extend(own.clone());
        }
        let scope = to_context(&Value::Object(scope));
        for field in &group.fields {
            let given = entry.fields.iter().any(|f| f.name == field.id);
            if !given && field.required && shown(field.visible_if.as_deref(), &scope) {
                problems.push(DataProblem {
                    pointer: format!("/groups/{gi}"),
                    message: format!(
                        "required field `{}` ({}) is missing from this entry of group `{}`",
                        field.id, field.label, group.id
                    ),
                    help: format!("add `field \"{}\" \"…\"` to the entry", field.id),
                });
            }
        }
    }
    for rule in form.rules.iter().filter(|_| complete) {
        if !holds(&rule.expr, &context) {
            problems.push(DataProblem {
                pointer: String::new(),
                message: format!(
                    "the form's rule `{}` does not hold: {}",
                    rule.expr, rule.message
                ),
                help: "change the data so that the rule holds".into(),
            });
        }
    }
    (Value::Object(out), problems)
}

/// Which entry of its group the `gi`-th group node of the data is.
fn position_in_group(data: &ApplicationData, gi: usize) -> usize {
    let group = &data.groups[gi].group;
    data.groups[..gi]
        .iter()
        .filter(|g| &g.group == group)
        .count()
}

/// The values of one level (the form's fields, or one group entry's) by the fields they fill.
fn typed_fields(
    spec: &Spec,
    fields: &[&FormField],
    values: &[FieldValue],
    ptr: &str,
    problems: &mut Vec<DataProblem>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (i, v) in values.iter().enumerate() {
        let at = format!("{ptr}/fields/{i}");
        let Some(field) = fields.iter().find(|f| f.id == v.name) else {
            problems.push(DataProblem {
                pointer: format!("{at}/name"),
                message: format!("the form has no field `{}` here", v.name),
                help: one_of(fields.iter().map(|f| f.id.as_str())),
            });
            continue;
        };
        if out.contains_key(&v.name) {
            problems.push(DataProblem {
                pointer: format!("{at}/name"),
                message: format!("field `{}` is given twice", v.name),
                help: "keep one value".into(),
            });
            continue;
        }
        match typed(spec, field, &v.value) {
            Ok(value) => {
                out.insert(v.name.clone(), value);
            }
            Err((message, help)) => problems.push(DataProblem {
                pointer: format!("{at}/value"),
                message: format!(
                    "`{}` for field `{}` ({}): {message}",
                    v.value, field.id, field.label
                ),
                help,
            }),
        }
    }
    out
}

/// Why a field refuses a value; the scenarios word it for a spec's author, the portal for a
/// citizen.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    NotInteger,
    NotDecimal,
    NotBoolean,
    NotDate,
    NotEmail,
    NotPhone,
    NotRnokpp,
    NotEdrpou,
    /// Not an item of the classifier (its id, its items' codes).
    NotAnItem {
        classifier: String,
        codes: Vec<String>,
    },
    /// The pattern, and the field's hint.
    Pattern {
        pattern: String,
        hint: Option<String>,
    },
    /// `min` broken: of the value (a number) or of the length in characters.
    BelowMin {
        min: f64,
        number: bool,
    },
    /// `max` broken, likewise.
    AboveMax {
        max: f64,
        number: bool,
    },
}

impl Refusal {
    /// What is wrong and how to write it, for a spec's author.
    pub fn explained(&self) -> (String, String) {
        let pair = |m: &str, h: &str| (m.to_string(), h.to_string());
        let what = |number: bool| if number { "the value" } else { "the length" };
        match self {
            Refusal::NotInteger => pair("not a whole number", "write digits, e.g. \"3\""),
            Refusal::NotDecimal => pair("not a decimal number", "write it like \"4500.50\""),
            Refusal::NotBoolean => pair("not a yes/no value", "write \"true\" or \"false\""),
            Refusal::NotDate => pair("not a date", "write YYYY-MM-DD, e.g. \"2026-03-02\""),
            Refusal::NotEmail => pair(
                "not an e-mail address",
                "write it like \"name@example.com\"",
            ),
            Refusal::NotPhone => pair("not a phone number", "write it like \"+380 61 000 00 00\""),
            Refusal::NotRnokpp => pair(
                "not a valid РНОКПП (10 digits with a check digit)",
                "use a number whose check digit is right",
            ),
            Refusal::NotEdrpou => pair(
                "not a valid EDRPOU code (8 digits with a check digit)",
                "use a code whose check digit is right",
            ),
            Refusal::NotAnItem { classifier, codes } => (
                format!("not an item of classifier `{classifier}`"),
                one_of(codes.iter().map(String::as_str)),
            ),
            Refusal::Pattern { pattern, hint } => (
                format!("does not match the pattern `{pattern}`"),
                hint.clone()
                    .unwrap_or_else(|| format!("write a value matching `{pattern}`")),
            ),
            Refusal::BelowMin { min, number } => (
                format!("{} is below the minimum {min}", what(*number)),
                format!("use at least {min}"),
            ),
            Refusal::AboveMax { max, number } => (
                format!("{} is above the maximum {max}", what(*number)),
                format!("use at most {max}"),
            ),
        }
    }
}

/// One typed value, or why the field refuses it (and how to write it).
fn typed(spec: &Spec, field: &FormField, text: &str) -> Result<Value, (String, String)> {
    typed_value(spec, field, text).map_err(|r| r.explained())
}

/// `text` as a value of `field`'s type (a `decimal` keeps its exact digits), or why the field
/// refuses it: the one definition of what a field accepts.
pub fn typed_value(spec: &Spec, field: &FormField, text: &str) -> Result<Value, Refusal> {
    let value = match field.ty {
        InputType::Integer => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return Err(Refusal::NotInteger),
        },
        InputType::Decimal => {
            let plain = regex_lite(text);
            match serde_json::from_str::<Value>(text) {
                Ok(n @ Value::Number(_)) if plain => n,
                _ => return Err(Refusal::NotDecimal),
            }
        }
        InputType::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(Refusal::NotBoolean),
        },
        InputType::Date if parse_date(text).is_none() => return Err(Refusal::NotDate),
        InputType::Email if !valid_email(text) => return Err(Refusal::NotEmail),
        InputType::Phone if !valid_phone(text) => return Err(Refusal::NotPhone),
        InputType::Rnokpp if !valid_rnokpp(text) => return Err(Refusal::NotRnokpp),
        InputType::Edrpou if !valid_edrpou(text) => return Err(Refusal::NotEdrpou),
        InputType::Select => {
            let classifier = field
                .classifier
                .as_deref()
                .and_then(|id| crate::spec::model::by_id(&spec.classifiers, id));
            if let Some(c) = classifier
                && !c.items.iter().any(|item| item.code == text)
            {
                return Err(Refusal::NotAnItem {
                    classifier: c.id.clone(),
                    codes: c.items.iter().map(|i| i.code.clone()).collect(),
                });
            }
            Value::String(text.to_string())
        }
        _ => Value::String(text.to_string()),
    };
    bounds(field, text, &value)?;
    Ok(value)
}

/// A decimal written as digits with an optional sign and fraction (no exponent, no `+`).
fn regex_lite(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

/// `pattern`, and `min`/`max` (a number's value, a text's length in characters).
fn bounds(field: &FormField, text: &str, value: &Value) -> Result<(), Refusal> {
    if let Some(p) = &field.pattern
        && let Ok(re) = regex::Regex::new(p)
        && !re.is_match(text)
    {
        return Err(Refusal::Pattern {
            pattern: p.clone(),
            hint: field.hint.clone(),
        });
    }
    let number = matches!(field.ty, InputType::Integer | InputType::Decimal);
    let measure = match value {
        _ if number => text.parse::<f64>().ok(),
        Value::String(s) => Some(s.chars().count() as f64),
        _ => None,
    };
    if let (Some(m), Some(min)) = (measure, field.min)
        && m < min
    {
        return Err(Refusal::BelowMin { min, number });
    }
    if let (Some(m), Some(max)) = (measure, field.max)
        && m > max
    {
        return Err(Refusal::AboveMax { max, number });
    }
    Ok(())
}

fn one_of<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    let names: Vec<String> = names.into_iter().map(|n| format!("`{n}`")).collect();
    if names.is_empty() {
        "there is none to use".into()
    } else {
        format!("use one of {}", names.join(", "))
    }
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(Environment::new)
}

/// Whether an element with condition `visible_if` is shown (no condition: always).
pub fn shown(visible_if: Option<&str>, context: &minijinja::Value) -> bool {
    visible_if.is_none_or(|e| holds(e, context))
}

/// Whether an expression is true over the data; one that does not compile, or is too long to
/// hand to minijinja, is H0611's concern, so it is taken to hold here rather than reported twice.
pub fn holds(expr: &str, context: &minijinja::Value) -> bool {
    if expr.len() > super::expressions::MAX_EXPRESSION {
        return true;
    }
    match environment().compile_expression(expr) {
        Ok(e) => e.eval(context).is_ok_and(|v| v.is_true()),
        Err(_) => true,
    }
}

/// The top-level names an expression reads, in the order they first appear in it (a rule is
/// shown against the first field it names); empty when it does not compile.
pub fn names_read(expr: &str) -> Vec<String> {
    if expr.len() > super::expressions::MAX_EXPRESSION {
        return Vec::new();
    }
    let Ok(compiled) = environment().compile_expression(expr) else {
        return Vec::new();
    };
    let mut names: Vec<(usize, String)> = compiled
        .undeclared_variables(false)
        .into_iter()
        .map(|name| (first_word_at(expr, &name).unwrap_or(usize::MAX), name))
        .collect();
    names.sort();
    names.into_iter().map(|(_, name)| name).collect()
}

/// Where `word` first stands alone in `text` (not as part of a longer name).
fn first_word_at(text: &str, word: &str) -> Option<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word)
        .map(|(i, _)| i)
        .find(|&i| !text[..i].ends_with(is_name) && !text[i + word.len()..].starts_with(is_name))
}

/// The data as minijinja values: JSON numbers (kept exact) become integers or floats.
pub fn to_context(value: &Value) -> minijinja::Value {
    match value {
        Value::Null => minijinja::Value::from(()),
        Value::Bool(b) => minijinja::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => minijinja::Value::from(i),
            None => minijinja::Value::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => minijinja::Value::from(s.as_str()),
        Value::Array(items) => items.iter().map(to_context).collect::<Vec<_>>().into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), to_context(v)))
            .collect::<BTreeMap<String, minijinja::Value>>()
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::model::GroupEntry;

    fn form() -> (Spec, Form) {
        let kdl = r#"
form "f" {
    title "t"
    page "p" title="p" {
        field "rnokpp" type="rnokpp" label="РНОКПП" required=#true
        field "account" type="text" label="Рахунок" required=#true pattern="^[0-9]{8}$"
        field "income" type="decimal" label="Дохід" min=0
        field "kids" type="integer" label="Діти" max=10
        field "note" type="text" label="Примітка" visible-if="kids > 0" required=#true
        group "family" label="Сім'я" max=1 {
            field "name" type="text" label="ПІБ" required=#true
        }
    }
    rule "income < 100000" message="Дохід завеликий"
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

    fn data(fields: &[(&str, &str)], groups: usize) -> ApplicationData {
        let values = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(n, v)| FieldValue {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect::<Vec<_>>()
        };
        ApplicationData {
            fields: values(fields),
            groups: (0..groups)
                .map(|_| GroupEntry {
                    group: "family".into(),
                    fields: values(&[("name", "Олена")]),
                })
                .collect(),
        }
    }

    #[test]
    fn good_data_is_typed_exactly() {
        let (spec, form) = form();
        let d = data(
            &[
                ("rnokpp", "3184710691"),
                ("account", "12345678"),
                ("income", "4500.10"),
                ("kids", "0"),
            ],
            1,
        );
        let (value, problems) = application_data(&spec, &form, &d);
        assert_eq!(problems, vec![]);
        assert_eq!(value["income"].to_string(), "4500.10");
        assert_eq!(value["kids"], Value::from(0));
        assert_eq!(value["family"][0]["name"], "Олена");
    }

    #[test]
    fn refusals_name_the_value() {
        let (spec, form) = form();
        let d = data(
            &[
                ("rnokpp", "3184710692"),
                ("account", "1234"),
                ("income", "1e3"),
                ("kids", "3"),
                ("extra", "x"),
            ],
            2,
        );
        let (_, problems) = application_data(&spec, &form, &d);
        let pointers: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/fields/0/value",
                "/fields/1/value",
                "/fields/2/value",
                "/fields/4/name",
                "",
                ""
            ],
            "{problems:#?}"
        );
        assert!(problems[4].message.contains("`note`"), "{problems:#?}");
        assert!(problems[5].message.contains("2 entries"), "{problems:#?}");
    }

    #[test]
    fn names_read_come_in_the_order_written() {
        assert_eq!(
            names_read("reason != '09' or reason_details and reason_x"),
            ["reason", "reason_details", "reason_x"]
        );
        assert_eq!(names_read("family|length <= 12"), ["family"]);
        assert!(names_read("1 +").is_empty());
    }

    #[test]
    fn rules_are_judged_over_typed_values() {
        let (spec, form) = form();
        let d = data(
            &[
                ("rnokpp", "3184710691"),
                ("account", "12345678"),
                ("income", "250000.00"),
            ],
            0,
        );
        let (_, problems) = application_data(&spec, &form, &d);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(problems[0].message.contains("Дохід завеликий"));
    }
}
