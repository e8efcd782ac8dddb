//! The requisites of a card as a form: the fields of п.41, the optional ones of п.42 its kind
//! enables and the kind's own fields, read from a posted form (each value judged, the problem
//! named by field) and checked for completeness before registration (п.59).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde_json::{Map, Value, json};

use crate::check::form_data::holds;
use crate::compile::Compiled;
use crate::spec::model::{
    self, Direction, DocumentKind, Journal, KindField, KindFieldType, OptionalRequisite,
};
use crate::store::{CardFileRow, CardRow};

/// What is wrong with one field: its form id and the message naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl Problem {
    fn new(field: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// How a field is entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Text,
    Long,
    Lines,
    Date,
    Number,
    Check,
    Select,
}

/// The fields of п.41 a registrar fills in: form id, label, input, hint.
const BASE: &[(&str, &str, Input, &str)] = &[
    ("summary", "Короткий зміст", Input::Long, ""),
    (
        "case_code",
        "Індекс справи за номенклатурою",
        Input::Select,
        "",
    ),
    (
        "correspondent",
        "Кореспондент",
        Input::Text,
        "Хто надіслав документ або кому відповідаємо.",
    ),
    (
        "correspondent_number",
        "Вихідний номер кореспондента",
        Input::Text,
        "",
    ),
    (
        "correspondent_date",
        "Дата документа кореспондента",
        Input::Date,
        "РРРР-ММ-ДД",
    ),
    (
        "signer",
        "Хто підписав",
        Input::Text,
        "Для вихідного документа — логін посадової особи, яка його підписує.",
    ),
    (
        "addressees",
        "Адресати",
        Input::Lines,
        "Кожен адресат з нового рядка.",
    ),
    ("unit", "Відповідальний підрозділ", Input::Select, ""),
    ("executor", "Виконавець", Input::Select, ""),
    ("deadline", "Строк виконання", Input::Date, "РРРР-ММ-ДД"),
    ("pages", "Кількість аркушів", Input::Number, ""),
    (
        "paper",
        "Оригінал на папері",
        Input::Check,
        "До картки паперового документа додається скан-копія і QR-код з номером і датою.",
    ),
    (
        "related",
        "Попередні документи з цього питання",
        Input::Lines,
        "Реєстраційні номери, кожен з нового рядка.",
    ),
];

/// The form's values of `card` (for showing it to edit).
pub fn values_of(card: &CardRow) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    values.insert("summary".into(), card.summary.clone());
    values.insert("case_code".into(), text(&card.case_code));
    values.insert("correspondent".into(), text(&card.correspondent));
    values.insert(
        "correspondent_number".into(),
        text(&card.correspondent_number),
    );
    values.insert("correspondent_date".into(), text(&card.correspondent_date));
    values.insert("signer".into(), text(&card.signer));
    values.insert("addressees".into(), lines_of(&card.addressees).join("\n"));
    values.insert("unit".into(), text(&card.unit));
    values.insert("executor".into(), text(&card.executor));
    values.insert("deadline".into(), text(&card.deadline));
    values.insert(
        "pages".into(),
        card.pages.map(|p| p.to_string()).unwrap_or_default(),
    );
    values.insert(
        "paper".into(),
        if card.paper == 1 { "1" } else { "" }.into(),
    );
    values.insert("related".into(), lines_of(&card.related).join("\n"));
    let extra: Map<String, Value> = serde_json::from_str(&card.extra).unwrap_or_default();
    for (key, value) in extra {
        let shown = match value {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        };
        values.insert(format!("x-{key}"), shown);
    }
    values
}

/// The values of a posted form (the last of a repeated name).
pub fn values_posted(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("\r\n", "\n").trim().to_string()))
        .collect()
}

/// A JSON array of text as its items.
pub fn lines_of(json_list: &str) -> Vec<String> {
    serde_json::from_str::<Vec<String>>(json_list).unwrap_or_default()
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn optional(values: &BTreeMap<String, String>, field: &str) -> Option<String> {
    values.get(field).filter(|v| !v.is_empty()).cloned()
}

fn valid_date(text: &str) -> bool {
    text.len() == 10 && NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

/// The participant's case codes (every year's case index).
fn case_codes<'c>(compiled: &'c Compiled, participant: &str) -> Vec<(&'c str, &'c str)> {
    compiled
        .spec
        .case_indexes
        .iter()
        .filter(|ci| ci.participant == participant)
        .flat_map(|ci| ci.cases.iter().map(|c| (c.code.as_str(), c.title.as_str())))
        .collect()
}

/// Sets `card`'s requisites from the form's `values`, judging each; the problems, by field (the
/// card is then not to be written).
pub fn apply(
    compiled: &Compiled,
    card: &mut CardRow,
    kind: &DocumentKind,
    values: &BTreeMap<String, String>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    card.summary = values.get("summary").cloned().unwrap_or_default();
    card.case_code = optional(values, "case_code");
    if let Some(code) = &card.case_code
        && !case_codes(compiled, &card.participant)
            .iter()
            .any(|(c, _)| c == code)
    {
        problems.push(Problem::new(
            "case_code",
            format!("Індекс справи «{code}» немає в номенклатурі справ. Оберіть справу зі списку"),
        ));
    }
    card.correspondent = optional(values, "correspondent");
    card.correspondent_number = optional(values, "correspondent_number");
    card.signer = optional(values, "signer");
    card.addressees = json!(lines(values.get("addressees").map_or("", |s| s))).to_string();
    card.related = json!(lines(values.get("related").map_or("", |s| s))).to_string();
    for (field, slot, label) in [
        (
            "correspondent_date",
            &mut card.correspondent_date,
            "Дата документа кореспондента",
        ),
        ("deadline", &mut card.deadline, "Строк виконання"),
    ] {
        *slot = optional(values, field);
        if slot.as_deref().is_some_and(|d| !valid_date(d)) {
            problems.push(Problem::new(
                field,
                format!("{label}: введіть дату у форматі РРРР-ММ-ДД, наприклад 2026-12-07"),
            ));
        }
    }
    card.unit = optional(values, "unit");
    if let Some(unit) = &card.unit
        && !units(compiled, &card.participant)
            .iter()
            .any(|(id, _)| id == unit)
    {
        problems.push(Problem::new(
            "unit",
            "Відповідальний підрозділ: оберіть підрозділ своєї установи зі списку",
        ));
    }
    card.executor = optional(values, "executor");
    if let Some(executor) = &card.executor
        && !executors(compiled, &card.participant)
            .iter()
            .any(|(id, _)| id == executor)
    {
        problems.push(Problem::new(
            "executor",
            "Виконавець: оберіть посадову особу своєї установи зі списку",
        ));
    }
    card.pages = None;
    if let Some(pages) = optional(values, "pages") {
        match pages.parse::<i64>() {
            Ok(n) if (1..=100_000).contains(&n) => card.pages = Some(n),
            _ => problems.push(Problem::new(
                "pages",
                "Кількість аркушів: введіть ціле число від 1, наприклад 3",
            )),
        }
    }
    card.paper = i64::from(values.get("paper").is_some_and(|v| v == "1"));
    let mut extra: Map<String, Value> = serde_json::from_str(&card.extra).unwrap_or_default();
    for requisite in &kind.requisites {
        let key = requisite.id();
        let field = format!("x-{key}");
        match optional(values, &field) {
            None => {
                extra.remove(key);
            }
            Some(v) if requisite.numeric() => match v.parse::<i64>() {
                Ok(n) if n >= 0 => {
                    extra.insert(key.into(), json!(n));
                }
                _ => problems.push(Problem::new(
                    &field,
                    format!("{}: введіть ціле число, наприклад 2", requisite.title()),
                )),
            },
            Some(v) => {
                extra.insert(key.into(), json!(v));
            }
        }
    }
    for f in &kind.fields {
        let field = format!("x-{}", f.id);
        match optional(values, &field) {
            None => {
                extra.remove(&f.id);
            }
            Some(v) => match kind_value(compiled, f, &v) {
                Ok(value) => {
                    extra.insert(f.id.clone(), value);
                }
                Err(message) => problems.push(Problem::new(&field, message)),
            },
        }
    }
    card.extra = Value::Object(extra).to_string();
    for f in &kind.fields {
        if let (Some(rule), Some(value)) = (&f.validate, card_extra(card).get(&f.id)) {
            let context = crate::html::to_value(&json!({
                "value": value,
                "card": serde_json::to_value(&*card).unwrap_or(Value::Null),
            }));
            if !holds(rule, &context) {
                let message = f
                    .message
                    .clone()
                    .unwrap_or_else(|| "значення не відповідає правилу виду документа".into());
                problems.push(Problem::new(
                    &format!("x-{}", f.id),
                    format!("{}: {message}", f.title),
                ));
            }
        }
    }
    problems
}

fn card_extra(card: &CardRow) -> Map<String, Value> {
    serde_json::from_str(&card.extra).unwrap_or_default()
}

/// A kind field's typed value from its text, or why it is not one.
fn kind_value(compiled: &Compiled, f: &KindField, text: &str) -> Result<Value, String> {
    match f.ty {
        KindFieldType::Text => Ok(json!(text)),
        KindFieldType::Date if valid_date(text) => Ok(json!(text)),
        KindFieldType::Date => Err(format!(
            "{}: введіть дату у форматі РРРР-ММ-ДД, наприклад 2026-12-07",
            f.title
        )),
        KindFieldType::Number => text
            .parse::<i64>()
            .map(|n| json!(n))
            .or_else(|_| text.parse::<f64>().map(|n| json!(n)))
            .map_err(|_| format!("{}: введіть число, наприклад 2", f.title)),
        KindFieldType::Choice => {
            let known = f
                .classifier
                .as_deref()
                .and_then(|c| model::by_id(&compiled.spec.classifiers, c))
                .is_some_and(|c| c.items.iter().any(|i| i.code == text));
            if known {
                Ok(json!(text))
            } else {
                Err(format!("{}: оберіть значення зі списку", f.title))
            }
        }
    }
}

/// The participant's units as (`participant/unit`, title).
fn units(compiled: &Compiled, participant: &str) -> Vec<(String, String)> {
    compiled
        .spec
        .participant(participant)
        .map(|p| {
            p.units
                .iter()
                .map(|u| (format!("{participant}/{}", u.id), u.title.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The participant's officials as (id, name and position).
fn executors(compiled: &Compiled, participant: &str) -> Vec<(String, String)> {
    compiled
        .spec
        .officials
        .iter()
        .filter(|o| o.unit.split('/').next() == Some(participant))
        .map(|o| (o.id.clone(), format!("{}, {}", o.name, o.position)))
        .collect()
}

/// What `card` lacks to be registered in `journal` (п.59), each problem naming its field.
pub fn missing(
    card: &CardRow,
    journal: &Journal,
    kind: &DocumentKind,
    files: &[CardFileRow],
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut need = |field: &str, present: bool, message: &str| {
        if !present {
            problems.push(Problem::new(field, message));
        }
    };
    need(
        "summary",
        !card.summary.trim().is_empty(),
        "Заповніть поле «Короткий зміст»",
    );
    let case_needed =
        journal.direction != Direction::Incoming || journal.numbering.contains("{case}");
    need(
        "case_code",
        !case_needed || card.case_code.is_some(),
        "Оберіть «Індекс справи за номенклатурою»",
    );
    need(
        "pages",
        card.pages.is_some(),
        "Заповніть поле «Кількість аркушів»",
    );
    match journal.direction {
        Direction::Incoming => {
            need(
                "correspondent",
                card.correspondent.is_some(),
                "Заповніть поле «Кореспондент»",
            );
            need(
                "correspondent_number",
                card.correspondent_number.is_some(),
                "Заповніть поле «Вихідний номер кореспондента»",
            );
            need(
                "correspondent_date",
                card.correspondent_date.is_some(),
                "Заповніть поле «Дата документа кореспондента»",
            );
        }
        Direction::Outgoing | Direction::Internal => {
            need(
                "signer",
                card.signer.is_some(),
                "Заповніть поле «Хто підписав»",
            );
            need(
                "addressees",
                !lines_of(&card.addressees).is_empty(),
                "Заповніть поле «Адресати»",
            );
        }
    }
    let extra = card_extra(card);
    for f in kind.fields.iter().filter(|f| f.required) {
        need(
            &format!("x-{}", f.id),
            extra.contains_key(&f.id),
            &format!("Заповніть поле «{}»", f.title),
        );
    }
    let has = |role: &str| files.iter().any(|f| f.role == role);
    if card.paper == 1 {
        need(
            "file",
            has("scan"),
            "Додайте скан-копію паперового оригіналу (файл з роллю «Скан-копія»)",
        );
    } else {
        need(
            "file",
            has("original"),
            "Додайте файл документа (файл з роллю «Оригінал»)",
        );
    }
    problems
}

/// The form's fields for a card of `kind` from `values`, with `problems`, as the template reads
/// them: `{id, label, input, hint, value, error, options}`.
pub fn form(
    compiled: &Compiled,
    participant: &str,
    kind: &DocumentKind,
    values: &BTreeMap<String, String>,
    problems: &[Problem],
) -> Vec<Value> {
    let error = |id: &str| {
        problems
            .iter()
            .find(|p| p.field == id)
            .map(|p| p.message.clone())
    };
    let value = |id: &str| values.get(id).cloned().unwrap_or_default();
    let options = |list: Vec<(String, String)>| {
        list.into_iter()
            .map(|(v, l)| json!({"value": v, "label": l}))
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    for (id, label, input, hint) in BASE {
        let choices = match *id {
            "case_code" => options(
                case_codes(compiled, participant)
                    .into_iter()
                    .map(|(c, t)| (c.to_string(), format!("{c} {t}")))
                    .collect(),
            ),
            "unit" => options(units(compiled, participant)),
            "executor" => options(executors(compiled, participant)),
            _ => Vec::new(),
        };
        out.push(json!({
            "id": id, "label": label, "input": input_name(*input), "hint": hint,
            "value": value(id), "error": error(id), "options": choices,
        }));
    }
    for requisite in &kind.requisites {
        let id = format!("x-{}", requisite.id());
        let input = if requisite.numeric() {
            Input::Number
        } else {
            Input::Text
        };
        out.push(json!({
            "id": id, "label": requisite.title(), "input": input_name(input), "hint": "",
            "value": value(&id), "error": error(&id), "options": [],
        }));
    }
    for f in &kind.fields {
        let id = format!("x-{}", f.id);
        let (input, choices) = match f.ty {
            KindFieldType::Text => (Input::Text, Vec::new()),
            KindFieldType::Date => (Input::Date, Vec::new()),
            KindFieldType::Number => (Input::Number, Vec::new()),
            KindFieldType::Choice => (
                Input::Select,
                options(
                    f.classifier
                        .as_deref()
                        .and_then(|c| model::by_id(&compiled.spec.classifiers, c))
                        .map(|c| {
                            c.items
                                .iter()
                                .map(|i| (i.code.clone(), i.label.clone()))
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
            ),
        };
        let label = if f.required {
            f.title.clone()
        } else {
            format!("{} (необов'язково)", f.title)
        };
        out.push(json!({
            "id": id, "label": label, "input": input_name(input), "hint": "",
            "value": value(&id), "error": error(&id), "options": choices,
        }));
    }
    out
}

fn input_name(input: Input) -> &'static str {
    match input {
        Input::Text => "text",
        Input::Long => "textarea",
        Input::Lines => "lines",
        Input::Date => "date",
        Input::Number => "number",
        Input::Check => "check",
        Input::Select => "select",
    }
}

/// The card's requisites as the card page lists them: `{label, value}` for each one with a value.
pub fn shown(compiled: &Compiled, card: &CardRow, kind: Option<&DocumentKind>) -> Vec<Value> {
    let values = values_of(card);
    let mut out = Vec::new();
    for (id, label, input, _) in BASE {
        let raw = values.get(*id).cloned().unwrap_or_default();
        if raw.is_empty() {
            continue;
        }
        let value = match (*id, input) {
            (_, Input::Check) => "так".to_string(),
            ("executor", _) => model::by_id(&compiled.spec.officials, &raw)
                .map(|o| {
                    let contacts = [Some(o.email.clone()), o.phone.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("{}, {} ({contacts})", o.name, o.position)
                })
                .unwrap_or(raw),
            ("unit", _) => units(compiled, &card.participant)
                .into_iter()
                .find(|(u, _)| *u == raw)
                .map_or(raw, |(_, t)| t),
            _ => raw,
        };
        out.push(json!({"label": label, "value": value}));
    }
    let extra = card_extra(card);
    for requisite in OptionalRequisite::ALL {
        if let Some(v) = values.get(&format!("x-{}", requisite.id())) {
            out.push(json!({"label": requisite.title(), "value": v}));
        }
    }
    if let Some(kind) = kind {
        for f in &kind.fields {
            if extra.contains_key(&f.id) {
                let v = values
                    .get(&format!("x-{}", f.id))
                    .cloned()
                    .unwrap_or_default();
                out.push(json!({"label": f.title, "value": v}));
            }
        }
    }
    out
}
