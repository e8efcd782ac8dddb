//! The KDL grammar of the spec language, read from the JSON Schemas of the model types, so that
//! the decoder, `schemas/` and the reference docs can never disagree. Each field's `x-kdl`
//! extension says where it sits in KDL: `arg`, `args` (the remaining arguments), `prop`,
//! `child` (default: a child node named after the field), `children` (repeated child nodes
//! named by `x-kdl-node`) or `variants` (repeated child nodes named by the variant).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::model::Kind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    Arg,
    Args,
    Prop,
    Child,
    Children,
    Variants,
}

#[derive(Debug, Clone)]
pub enum Shape {
    String,
    Integer {
        min: Option<i128>,
        max: Option<i128>,
    },
    Number,
    Bool,
    Enum(Vec<String>),
    Array(Box<Shape>),
    Struct(usize),
    /// Externally tagged enum: variant name and its shape.
    Variants(Vec<(String, Shape)>),
}

#[derive(Debug, Clone)]
pub struct FieldDef {
    /// Property name in JSON and KDL.
    pub name: String,
    /// Name of the KDL child node(s) that carry the field.
    pub node: String,
    pub placement: Placement,
    pub shape: Shape,
    pub required: bool,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct StructDef {
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldDef>,
}

impl StructDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug)]
pub struct Grammar {
    pub structs: Vec<StructDef>,
    kinds: HashMap<Kind, usize>,
}

impl Grammar {
    /// The grammar of the spec language, built once per process.
    pub fn get() -> &'static Grammar {
        static GRAMMAR: OnceLock<Grammar> = OnceLock::new();
        GRAMMAR.get_or_init(Grammar::build)
    }

    pub fn kind(&self, kind: Kind) -> &StructDef {
        &self.structs[self.kinds[&kind]]
    }

    fn build() -> Grammar {
        let mut builder = Builder {
            structs: Vec::new(),
            by_name: HashMap::new(),
        };
        let mut kinds = HashMap::new();
        for &kind in Kind::ALL {
            let schema = kind.schema(&mut schema_generator()).to_value();
            let index =
                builder.struct_def(&schema, &schema, &format!("#kind/{}", kind.node_name()));
            kinds.insert(kind, index);
        }
        Grammar {
            structs: builder.structs,
            kinds,
        }
    }
}

/// The generator used for `schemas/` and the grammar alike.
pub fn schema_generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().into_generator()
}

struct Builder {
    structs: Vec<StructDef>,
    by_name: HashMap<String, usize>,
}

impl Builder {
    fn struct_def(&mut self, root: &Value, schema: &Value, key: &str) -> usize {
        if let Some(&i) = self.by_name.get(key) {
            return i;
        }
        let index = self.structs.len();
        self.by_name.insert(key.to_string(), index);
        self.structs.push(StructDef {
            name: str_of(schema, "title").to_string(),
            description: str_of(schema, "description").to_string(),
            fields: Vec::new(),
        });
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut fields = Vec::new();
        if let Some(props) = schema["properties"].as_object() {
            for (name, prop) in props {
                let placement = match prop.get("x-kdl").and_then(Value::as_str) {
                    Some("arg") => Placement::Arg,
                    Some("args") => Placement::Args,
                    Some("prop") => Placement::Prop,
                    Some("children") => Placement::Children,
                    Some("variants") => Placement::Variants,
                    Some("child") | None => Placement::Child,
                    Some(other) => panic!("unknown x-kdl placement {other} on {name}"),
                };
                let node = prop
                    .get("x-kdl-node")
                    .and_then(Value::as_str)
                    .unwrap_or(name)
                    .to_string();
                fields.push(FieldDef {
                    name: name.clone(),
                    node,
                    placement,
                    shape: self.shape(root, prop),
                    required: required.contains(&name.as_str()),
                    description: str_of(prop, "description").to_string(),
                });
            }
        }
        self.structs[index].fields = fields;
        index
    }

    fn shape(&mut self, root: &Value, schema: &Value) -> Shape {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            let target = &root["$defs"][name];
            if is_struct(target) {
                return Shape::Struct(self.struct_def(root, target, name));
            }
            return self.shape(root, target);
        }
        if let Some(any) = schema.get("anyOf").and_then(Value::as_array) {
            let non_null: Vec<&Value> = any.iter().filter(|s| s["type"] != "null").collect();
            if let [inner] = non_null.as_slice() {
                return self.shape(root, inner);
            }
        }
        if let Some(one) = schema.get("oneOf").and_then(Value::as_array) {
            let mut values = Vec::new();
            let mut variants = Vec::new();
            for s in one {
                if let Some(c) = s.get("const").and_then(Value::as_str) {
                    values.push(c.to_string());
                } else if let Some(e) = s.get("enum").and_then(Value::as_array) {
                    values.extend(e.iter().filter_map(Value::as_str).map(String::from));
                } else if let Some(props) = s["properties"].as_object() {
                    for (tag, inner) in props {
                        variants.push((tag.clone(), self.shape(root, inner)));
                    }
                }
            }
            return if variants.is_empty() {
                Shape::Enum(values)
            } else {
                Shape::Variants(variants)
            };
        }
        if let Some(e) = schema.get("enum").and_then(Value::as_array) {
            return Shape::Enum(
                e.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
            );
        }
        match json_type(schema) {
            "string" => Shape::String,
            "boolean" => Shape::Bool,
            "number" => Shape::Number,
            "integer" => Shape::Integer {
                min: schema["minimum"].as_i64().map(i128::from),
                max: match schema["format"].as_str() {
                    Some("uint32") => Some(u32::MAX as i128),
                    Some("uint16") => Some(u16::MAX as i128),
                    _ => schema["maximum"].as_i64().map(i128::from),
                },
            },
            "array" => Shape::Array(Box::new(self.shape(root, &schema["items"]))),
            "object" => Shape::Struct(self.struct_def(root, schema, &format!("{schema}"))),
            other => {
                panic!("the spec model uses a schema the grammar does not know: {other} {schema}")
            }
        }
    }
}

/// The JSON type a schema names, ignoring `null` (how schemars writes an `Option`).
pub fn json_type(schema: &Value) -> &str {
    match &schema["type"] {
        Value::String(t) => t.as_str(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ => "",
    }
}

fn is_struct(schema: &Value) -> bool {
    schema["type"] == "object" && schema.get("properties").is_some()
}

fn str_of<'a>(schema: &'a Value, key: &str) -> &'a str {
    schema.get(key).and_then(Value::as_str).unwrap_or_default()
}
