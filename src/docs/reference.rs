//! The spec-language reference, generated from the JSON Schemas of the kinds (the same generator
//! as `schemas/`): every kind and nested definition, each property with its type, whether it is
//! required, its description and its place in KDL, and the kind's `x-kdl-example`.

use anyhow::Result;
use serde_json::{Value, json};

use super::Builder;
use crate::html::escape_html;
use crate::spec::Kind;
use crate::spec::grammar::schema_generator;

pub(super) fn build(b: &mut Builder) -> Result<()> {
    let mut kinds = Vec::new();
    for &kind in Kind::ALL {
        let schema = kind.schema(&mut schema_generator()).to_value();
        let node = kind.node_name();
        let mut definitions = vec![definition(node, &schema, true)];
        if let Some(defs) = schema["$defs"].as_object() {
            definitions.extend(defs.iter().map(|(name, def)| definition(name, def, false)));
        }
        let description = str_of(&schema, "description");
        kinds.push(json!({"node": node, "description": prose(description), "href": format!("reference/{node}.html")}));
        b.page(
            &format!("reference/{node}.html"),
            "reference-kind.html",
            "reference",
            &format!("Вузол {node}"),
            json!({
                "node": node,
                "description": prose(description),
                "example": schema.get("x-kdl-example").and_then(Value::as_str),
                "definitions": definitions,
            }),
        )?;
    }
    b.page(
        "reference/index.html",
        "reference.html",
        "reference",
        "Довідник мови специфікацій",
        json!({"kinds": kinds}),
    )
}

/// A doc-comment description as HTML: escaped, with `code spans` set as `<code>`.
fn prose(text: &str) -> String {
    let escaped = escape_html(text);
    if escaped.matches('`').count() % 2 == 1 {
        return escaped;
    }
    escaped
        .split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("<code>{part}</code>")
            } else {
                part.to_string()
            }
        })
        .collect()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// One definition: a struct (properties), an enum (values) or a tagged union (variants).
fn definition(name: &str, def: &Value, root: bool) -> Value {
    let anchor = if root {
        "kind".to_string()
    } else {
        format!("def-{name}")
    };
    let base = json!({"name": name, "anchor": anchor, "root": root, "description": prose(str_of(def, "description"))});
    if let Some(props) = def["properties"]
        .as_object()
        .filter(|_| def["type"] == "object")
    {
        let required: Vec<&str> = def["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut arg = 0;
        let properties: Vec<Value> = props
            .iter()
            .map(|(prop, s)| {
                let placement = match s.get("x-kdl").and_then(Value::as_str) {
                    Some("arg") => {
                        arg += 1;
                        format!("аргумент №{arg}")
                    }
                    Some("args") => "решта аргументів".to_string(),
                    Some("prop") => format!("властивість {prop}=…"),
                    Some("children") => format!(
                        "дочірні вузли «{}», по одному на елемент",
                        s.get("x-kdl-node").and_then(Value::as_str).unwrap_or(prop)
                    ),
                    Some("variants") => "дочірні вузли, названі за варіантом".to_string(),
                    _ if s["type"] == "array" => {
                        format!("дочірній вузол «{prop}», елементи — його аргументи")
                    }
                    _ => format!("дочірній вузол «{prop}»"),
                };
                json!({
                    "name": prop,
                    "placement": placement,
                    "type": type_parts(s),
                    "required": required.contains(&prop.as_str()),
                    "description": prose(str_of(s, "description")),
                    "default": s.get("default").map(|d| d.to_string()),
                })
            })
            .collect();
        let mut v = base;
        v["form"] = json!("struct");
        v["properties"] = json!(properties);
        return v;
    }
    let mut values = Vec::new();
    let mut variants = Vec::new();
    for option in def["oneOf"].as_array().into_iter().flatten() {
        if let Some(c) = option.get("const").and_then(Value::as_str) {
            values.push(json!({"value": c, "description": prose(str_of(option, "description"))}));
        } else if let Some(e) = option.get("enum").and_then(Value::as_array) {
            for c in e.iter().filter_map(Value::as_str) {
                values
                    .push(json!({"value": c, "description": prose(str_of(option, "description"))}));
            }
        } else if let Some(props) = option["properties"].as_object() {
            for (tag, inner) in props {
                variants.push(json!({"node": tag, "type": type_parts(inner), "description": prose(str_of(option, "description"))}));
            }
        }
    }
    for c in def["enum"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        values.push(json!({"value": c, "description": ""}));
    }
    let mut v = base;
    if variants.is_empty() {
        v["form"] = json!("enum");
        v["values"] = json!(values);
    } else {
        v["form"] = json!("variants");
        v["variants"] = json!(variants);
    }
    v
}

/// The type of a property as text parts, each linking to its definition where it has one.
fn type_parts(s: &Value) -> Vec<Value> {
    let part = |text: &str| json!({"text": text, "href": null});
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return vec![json!({"text": name, "href": format!("#def-{name}")})];
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let inner: Vec<&Value> = any.iter().filter(|x| x["type"] != "null").collect();
        if let [one] = inner.as_slice() {
            return type_parts(one);
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        let values: Vec<&str> = e.iter().filter_map(Value::as_str).collect();
        return vec![part(&format!("одне з: {}", values.join(", ")))];
    }
    match crate::spec::grammar::json_type(s) {
        "string" => vec![part("рядок")],
        "integer" if s.get("minimum").and_then(Value::as_i64) == Some(0) => {
            vec![part("ціле число ≥ 0")]
        }
        "integer" => vec![part("ціле число")],
        "number" => vec![part("число")],
        "boolean" => vec![part("логічне: #true або #false")],
        "array" => {
            let mut parts = vec![part("список: ")];
            parts.extend(type_parts(&s["items"]));
            parts
        }
        "object" => vec![part("об'єкт")],
        other => vec![part(other)],
    }
}
