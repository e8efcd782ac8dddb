//! An application fixed as one canonical document: its JSON (sorted keys, no insignificant
//! whitespace; exactly the bytes the applicant signs) and its PDF visual form, which shows the
//! JSON's SHA-256 so that the two are tied together on paper.

use serde_json::{Map, Value, json};

use super::pdf::{self, Line, Style};
use crate::crypto::sha256_hex;
use crate::spec::Spec;
use crate::spec::model::{EService, Form, FormField, SignatureRequirement};

/// What the document says of its format; a change of its shape is a new version.
pub const FORMAT: &str = "hromada-application/1";

/// The applicant as the identity provider vouched for them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub rnokpp: Option<String>,
    /// A legal entity's EDRPOU, when the applicant represents one.
    pub edrpou: Option<String>,
    pub family_name: Option<String>,
    pub given_name: Option<String>,
    pub middle_name: Option<String>,
    pub email: Option<String>,
}

impl Identity {
    /// The full name, family name first, as Ukrainian documents write it.
    pub fn full_name(&self) -> String {
        [&self.family_name, &self.given_name, &self.middle_name]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One attached file as the document lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    /// The form's attachment id.
    pub attachment: String,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
}

/// Everything that goes into an application.
pub struct Parts<'a> {
    pub draft_id: &'a str,
    pub e_service: &'a EService,
    pub form: &'a Form,
    /// The spec revision the draft was filled on.
    pub revision: &'a str,
    pub applicant: &'a Identity,
    /// The judged data: field id → typed value; group id → list of entries.
    pub data: &'a Value,
    pub attachments: &'a [Attached],
    pub consents: &'a Value,
}

/// The fixed application: its canonical JSON text and that text's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub json: String,
    pub sha256: String,
}

impl Document {
    /// The document of `parts`.
    pub fn of(parts: &Parts<'_>) -> Document {
        let a = parts.applicant;
        let mut applicant = Map::new();
        for (key, value) in [
            ("rnokpp", &a.rnokpp),
            ("edrpou", &a.edrpou),
            ("family-name", &a.family_name),
            ("given-name", &a.given_name),
            ("middle-name", &a.middle_name),
            ("email", &a.email),
        ] {
            if let Some(v) = value {
                applicant.insert(key.into(), Value::String(v.clone()));
            }
        }
        let attachments: Vec<Value> = parts
            .attachments
            .iter()
            .map(|f| {
                json!({
                    "attachment": f.attachment, "file-name": f.file_name,
                    "media-type": f.media_type, "size": f.size, "sha256": f.sha256,
                })
            })
            .collect();
        let service = parts.e_service;
        let value = json!({
            "format": FORMAT,
            "draft": parts.draft_id,
            "e-service": {"id": service.id, "title": service.title, "code": service.code},
            "provider": service.provider.as_ref().map(|p| json!({"participant": p.participant, "unit": p.unit})),
            "form": {"id": parts.form.id, "title": parts.form.title, "revision": parts.revision},
            "applicant": applicant,
            "data": parts.data,
            "attachments": attachments,
            "consents": consents(parts.form, parts.consents),
            "declaration": parts.form.declaration,
            "signature": signature_name(parts.form.signature),
        });
        Document::from_value(&value)
    }

    /// The canonical text of any JSON value.
    pub fn from_value(value: &Value) -> Document {
        let json = canonical_json(value);
        let sha256 = sha256_hex(json.as_bytes());
        Document { json, sha256 }
    }
}

/// Each consent the form asks, with its text and whether it was given: the draft's consents
/// are an object of consent id → `true`, or a list of the ids given.
fn consents(form: &Form, given: &Value) -> Value {
    let is_given = |id: &str| match given {
        Value::Object(map) => map.get(id).is_some_and(|v| v == &Value::Bool(true)),
        Value::Array(ids) => ids.iter().any(|v| v.as_str() == Some(id)),
        _ => false,
    };
    Value::Array(
        form.consents
            .iter()
            .map(|c| json!({"id": c.id, "text": c.text, "given": is_given(&c.id)}))
            .collect(),
    )
}

fn signature_name(requirement: SignatureRequirement) -> &'static str {
    match requirement {
        SignatureRequirement::None => "none",
        SignatureRequirement::Advanced => "advanced",
        SignatureRequirement::Qualified => "qualified",
    }
}

/// `value` as canonical JSON: object keys sorted by their UTF-8 bytes, nulls in objects left
/// out, no whitespace between tokens, strings as `serde_json` escapes them, numbers as written.
pub fn canonical_json(value: &Value) -> String {
    serde_json::to_string(&sorted(value)).expect("a JSON value serialises")
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for key in keys {
                let v = &map[key];
                if !v.is_null() {
                    out.insert(key.clone(), sorted(v));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The PDF visual form of `document` (the canonical JSON of [`Document::of`]), with its labels
/// from `spec`'s form: who applies, for what, each answer, the files, the consents, and the
/// document's SHA-256.
pub fn visual_form(spec: &Spec, document: &Document) -> Result<Vec<u8>, String> {
    let value: Value = serde_json::from_str(&document.json)
        .map_err(|e| format!("the application's document is not JSON: {e}"))?;
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let form = spec.form(&text("/form/id"));
    let mut lines = vec![
        Line::new(Style::Title, text("/e-service/title")),
        Line::new(Style::Body, format!("Форма: {}", text("/form/title"))),
    ];
    if let Some(provider) = spec.participant(&text("/provider/participant")) {
        lines.push(Line::new(Style::Body, format!("Кому: {}", provider.name)));
    }
    lines.push(Line::new(Style::Heading, "Заявник"));
    let name = ["family-name", "given-name", "middle-name"]
        .iter()
        .map(|k| text(&format!("/applicant/{k}")))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    lines.push(Line::new(Style::Body, format!("ПІБ: {name}")));
    for (key, label) in [
        ("rnokpp", "РНОКПП"),
        ("edrpou", "Код ЄДРПОУ"),
        ("email", "Електронна пошта"),
    ] {
        let v = text(&format!("/applicant/{key}"));
        if !v.is_empty() {
            lines.push(Line::new(Style::Body, format!("{label}: {v}")));
        }
    }
    let data = value.get("data").cloned().unwrap_or(Value::Null);
    match form {
        Some(form) => answers(form, &data, &mut lines),
        None => lines.push(Line::new(Style::Body, canonical_json(&data))),
    }
    let files = value
        .get("attachments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if !files.is_empty() {
        lines.push(Line::new(Style::Heading, "Додані файли"));
        for f in &files {
            let label = form
                .and_then(|form| {
                    let id = f.get("attachment")?.as_str()?;
                    form.attachments.iter().find(|a| a.id == id)
                })
                .map(|a| a.label.clone())
                .unwrap_or_default();
            lines.push(Line::new(
                Style::Body,
                format!(
                    "{label}: {} ({}, {} байт)",
                    f.get("file-name").and_then(Value::as_str).unwrap_or(""),
                    f.get("media-type").and_then(Value::as_str).unwrap_or(""),
                    f.get("size").map(plain).unwrap_or_default()
                ),
            ));
            lines.push(Line::new(
                Style::Small,
                format!(
                    "SHA-256: {}",
                    f.get("sha256").and_then(Value::as_str).unwrap_or("")
                ),
            ));
        }
    }
    let consents = value
        .get("consents")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let declaration = text("/declaration");
    if !consents.is_empty() || !declaration.is_empty() {
        lines.push(Line::new(Style::Heading, "Згоди та декларація"));
        for c in &consents {
            lines.push(Line::new(
                Style::Body,
                format!(
                    "{}: {}",
                    c.get("text").and_then(Value::as_str).unwrap_or(""),
                    c.get("given").map(plain).unwrap_or_default()
                ),
            ));
        }
        if !declaration.is_empty() {
            lines.push(Line::new(
                Style::Body,
                format!("Заявник підтверджує: {declaration}"),
            ));
        }
    }
    lines.push(Line::new(Style::Heading, "Цілісність"));
    lines.push(Line::new(
        Style::Small,
        format!(
            "Цей документ — візуальна форма заяви. Підписується її JSON (application.json), \
             SHA-256: {}",
            document.sha256
        ),
    ));
    lines.push(Line::new(
        Style::Small,
        format!(
            "Чернетка {}, редакція специфікації {}",
            text("/draft"),
            text("/form/revision")
        ),
    ));
    Ok(pdf::render(&text("/e-service/title"), &lines))
}

/// One page of an application's answers: its title and each answered field as `(label, value)`,
/// a repeat group's entries as a `label — запис N` row followed by their fields, indented.
pub struct Answers {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

/// Each answered field of `form` in `data` with its label, page by page; pages with no answer
/// are left out.
pub fn answer_pages(form: &Form, data: &Value) -> Vec<Answers> {
    let mut pages = Vec::new();
    for page in &form.pages {
        let mut rows = Vec::new();
        fields(&page.fields, data, "", &mut rows);
        for group in &page.groups {
            let Some(list) = data.get(&group.id).and_then(Value::as_array) else {
                continue;
            };
            for (i, entry) in list.iter().enumerate() {
                rows.push((format!("{} — запис {}", group.label, i + 1), String::new()));
                fields(&group.fields, entry, "    ", &mut rows);
            }
        }
        if !rows.is_empty() {
            pages.push(Answers {
                title: page.title.clone(),
                rows,
            });
        }
    }
    pages
}

/// Each answered field of `form` with its label, page by page, groups entry by entry.
fn answers(form: &Form, data: &Value, lines: &mut Vec<Line>) {
    for page in answer_pages(form, data) {
        lines.push(Line::new(Style::Heading, page.title));
        for (label, value) in page.rows {
            let text = if value.is_empty() {
                label
            } else {
                format!("{label}: {value}")
            };
            lines.push(Line::new(Style::Body, text));
        }
    }
}

fn fields(fields: &[FormField], data: &Value, indent: &str, rows: &mut Vec<(String, String)>) {
    for field in fields {
        if let Some(v) = data.get(&field.id).filter(|v| !is_empty(v)) {
            rows.push((format!("{indent}{}", field.label), plain(v)));
        }
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A value as a person reads it: text as is, yes/no, numbers as written, lists joined.
pub fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "так".into(),
        Value::Bool(false) => "ні".into(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(", "),
        Value::Null => String::new(),
        Value::Object(_) => canonical_json(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_and_drops_nulls() {
        let value: Value = serde_json::from_str(
            r#"{"b": 1, "a": {"z": [ {"y": 2, "x": null, "w": "ї"} ], "c": 1.50}}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_json(&value),
            r#"{"a":{"c":1.50,"z":[{"w":"ї","y":2}]},"b":1}"#
        );
    }
}
