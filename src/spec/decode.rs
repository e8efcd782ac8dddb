//! Decodes KDL documents into the JSON form of the model, guided by the grammar, recording a
//! span for every value and collecting every problem instead of stopping at the first.
//! The JSON is then deserialised into the typed model by `super::load`.

use std::collections::HashMap;

use kdl::{KdlDocument, KdlEntry, KdlNode, KdlValue};
use serde_json::{Map, Value};

use super::diagnostics::{Diagnostic, Span, did_you_mean};
use super::grammar::{FieldDef, Grammar, Placement, Shape, StructDef};
use super::model::Kind;
use super::source::FileId;

/// Spans of one top-level node, keyed by JSON pointer relative to the node (`""` is the node).
pub type NodeSpans = HashMap<String, Span>;

/// One decoded top-level node.
pub struct Decoded {
    pub kind: Kind,
    pub id: Option<String>,
    /// The JSON form, when the node decoded without errors.
    pub value: Option<Value>,
    pub spans: NodeSpans,
}

pub struct Decoder<'a> {
    grammar: &'a Grammar,
    file: FileId,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Decoder<'a> {
    pub fn new(file: FileId) -> Self {
        Decoder {
            grammar: Grammar::get(),
            file,
            diagnostics: Vec::new(),
        }
    }

    fn span(&self, s: miette::SourceSpan) -> Span {
        Span {
            file: self.file,
            offset: s.offset(),
            len: s.len(),
        }
    }

    /// Decodes every top-level node of a parsed document.
    pub fn document(&mut self, doc: &KdlDocument) -> Vec<Decoded> {
        let mut out = Vec::new();
        for node in doc.nodes() {
            let name = node.name().value();
            let Some(kind) = Kind::from_node_name(name) else {
                let known = Kind::ALL.iter().map(|k| k.node_name());
                let mut d = Diagnostic::error("H0101", format!("unknown kind `{name}`"))
                    .at(Some(self.span(node.name().span())))
                    .detail("a spec file's top-level nodes are kinds such as `participant`, `agreement` or `form`");
                d = match did_you_mean(name, known) {
                    Some(h) => d.help(h),
                    None => d.help(format!(
                        "the kinds are: {}",
                        Kind::ALL
                            .iter()
                            .map(|k| k.node_name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.diagnostics.push(d);
                continue;
            };
            let errors_before = self.errors();
            let mut spans = NodeSpans::new();
            let def = self.grammar.kind(kind);
            let value = self.decode_struct(def, node, "", &mut spans);
            let id = node
                .entries()
                .iter()
                .find(|e| e.name().is_none())
                .and_then(|e| e.value().as_string())
                .map(String::from);
            let clean = self.errors() == errors_before;
            out.push(Decoded {
                kind,
                id,
                value: clean.then_some(Value::Object(value)),
                spans,
            });
        }
        out
    }

    fn errors(&self) -> usize {
        self.diagnostics.len()
    }

    fn decode_struct(
        &mut self,
        def: &StructDef,
        node: &KdlNode,
        ptr: &str,
        spans: &mut NodeSpans,
    ) -> Map<String, Value> {
        let node_name = node.name().value();
        let node_span = self.span(node.name().span());
        spans.insert(ptr.to_string(), node_span);
        let mut obj = Map::new();

        let positional: Vec<&FieldDef> = def
            .fields
            .iter()
            .filter(|f| f.placement == Placement::Arg)
            .collect();
        let rest = def.fields.iter().find(|f| f.placement == Placement::Args);
        let mut next_arg = 0;
        let mut rest_values = Vec::new();
        for entry in node.entries() {
            let espan = self.span(entry.span());
            match entry.name() {
                None => {
                    if let Some(field) = positional.get(next_arg) {
                        next_arg += 1;
                        let p = format!("{ptr}/{}", field.name);
                        spans.insert(p, espan);
                        if let Some(v) = self.scalar(&field.shape, entry, node_name, &field.name) {
                            obj.insert(field.name.clone(), v);
                        }
                    } else if let Some(field) = rest {
                        let item = match &field.shape {
                            Shape::Array(item) => item.as_ref(),
                            other => other,
                        };
                        spans.insert(format!("{ptr}/{}/{}", field.name, rest_values.len()), espan);
                        if let Some(v) = self.scalar(item, entry, node_name, &field.name) {
                            rest_values.push(v);
                        }
                    } else {
                        let expected = positional.len();
                        self.diagnostics.push(
                            Diagnostic::error(
                                "H0103",
                                format!("unexpected argument on `{node_name}`"),
                            )
                            .at(Some(espan))
                            .detail(format!(
                                "`{node_name}` takes {expected} argument{}{}",
                                if expected == 1 { "" } else { "s" },
                                describe_args(&positional)
                            ))
                            .help("remove it, or give it a name as a property (`name=value`)"),
                        );
                    }
                }
                Some(key) => {
                    let key = key.value();
                    let field = def
                        .fields
                        .iter()
                        .find(|f| f.placement == Placement::Prop && f.name == key);
                    match field {
                        Some(field) if obj.contains_key(key) => {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "H0107",
                                    format!("property `{key}` is given twice on `{node_name}`"),
                                )
                                .at(Some(espan))
                                .related(
                                    spans.get(&format!("{ptr}/{key}")).copied(),
                                    "first given here",
                                )
                                .help("keep one of them"),
                            );
                            let _ = field;
                        }
                        Some(field) => {
                            spans.insert(format!("{ptr}/{key}"), espan);
                            if let Some(v) = self.scalar(&field.shape, entry, node_name, key) {
                                obj.insert(key.to_string(), v);
                            }
                        }
                        None => self.unknown_property(def, node_name, key, espan),
                    }
                }
            }
        }
        if let Some(field) = rest
            && !rest_values.is_empty()
        {
            obj.insert(field.name.clone(), Value::Array(rest_values));
        }

        if let Some(children) = node.children() {
            for child in children.nodes() {
                self.decode_child(def, child, ptr, spans, &mut obj, node_name);
            }
        }

        let written = |field: &FieldDef| spans.contains_key(&format!("{ptr}/{}", field.name));
        for field in &def.fields {
            if field.required && !obj.contains_key(&field.name) && !written(field) {
                self.diagnostics.push(missing(node_name, field, node_span));
            }
        }
        obj
    }

    fn decode_child(
        &mut self,
        def: &StructDef,
        child: &KdlNode,
        ptr: &str,
        spans: &mut NodeSpans,
        obj: &mut Map<String, Value>,
        parent: &str,
    ) {
        let name = child.name().value();
        let cspan = self.span(child.name().span());
        for field in &def.fields {
            match field.placement {
                Placement::Child if field.node == name => {
                    if obj.contains_key(&field.name) {
                        self.diagnostics.push(
                            Diagnostic::error("H0107", format!("`{name}` is given twice in `{parent}`"))
                                .at(Some(cspan))
                                .related(spans.get(&format!("{ptr}/{}", field.name)).copied(), "first given here")
                                .help(format!("`{name}` takes one node; list several values as arguments of one node")),
                        );
                        return;
                    }
                    let p = format!("{ptr}/{}", field.name);
                    if let Some(v) = self.node_value(&field.shape, child, &p, spans, &field.name) {
                        obj.insert(field.name.clone(), v);
                    }
                    return;
                }
                Placement::Children if field.node == name => {
                    let item = match &field.shape {
                        Shape::Array(item) => item.as_ref(),
                        other => other,
                    };
                    let list = obj
                        .entry(field.name.clone())
                        .or_insert_with(|| Value::Array(Vec::new()));
                    let index = list.as_array().map_or(0, Vec::len);
                    let p = format!("{ptr}/{}/{index}", field.name);
                    if let Some(v) = self.node_value(item, child, &p, spans, &field.node) {
                        if let Some(list) = obj.get_mut(&field.name).and_then(Value::as_array_mut) {
                            list.push(v);
                        }
                    } else if let Some(list) =
                        obj.get_mut(&field.name).and_then(Value::as_array_mut)
                    {
                        list.push(Value::Null);
                    }
                    return;
                }
                Placement::Variants => {
                    let Shape::Array(item) = &field.shape else {
                        continue;
                    };
                    let Shape::Variants(variants) = item.as_ref() else {
                        continue;
                    };
                    if let Some((tag, vshape)) = variants.iter().find(|(t, _)| t == name) {
                        let list = obj
                            .entry(field.name.clone())
                            .or_insert_with(|| Value::Array(Vec::new()));
                        let index = list.as_array().map_or(0, Vec::len);
                        let p = format!("{ptr}/{}/{index}", field.name);
                        spans.insert(p.clone(), cspan);
                        let inner = self
                            .node_value(vshape, child, &format!("{p}/{tag}"), spans, tag)
                            .unwrap_or(Value::Null);
                        let mut tagged = Map::new();
                        tagged.insert(tag.clone(), inner);
                        if let Some(list) = obj.get_mut(&field.name).and_then(Value::as_array_mut) {
                            list.push(Value::Object(tagged));
                        }
                        return;
                    }
                }
                _ => {}
            }
        }
        self.unknown_child(def, parent, name, cspan);
    }

    /// The value a child node carries for a field of the given shape.
    fn node_value(
        &mut self,
        shape: &Shape,
        node: &KdlNode,
        ptr: &str,
        spans: &mut NodeSpans,
        field: &str,
    ) -> Option<Value> {
        let name = node.name().value();
        let nspan = self.span(node.name().span());
        if let Shape::Struct(i) = shape {
            let def = &self.grammar.structs[*i];
            return Some(Value::Object(self.decode_struct(def, node, ptr, spans)));
        }
        spans.insert(ptr.to_string(), nspan);
        for entry in node.entries().iter().filter(|e| e.name().is_some()) {
            self.diagnostics.push(
                Diagnostic::error("H0102", format!("`{name}` takes no properties"))
                    .at(Some(self.span(entry.span())))
                    .help(format!("write its value as an argument: `{name} \"…\"`")),
            );
        }
        if let Some(children) = node.children()
            && let Some(first) = children.nodes().first()
        {
            self.diagnostics.push(
                Diagnostic::error("H0101", format!("`{name}` takes no child nodes"))
                    .at(Some(self.span(first.name().span())))
                    .help(format!("write its value as an argument: `{name} \"…\"`")),
            );
        }
        let args: Vec<&KdlEntry> = node
            .entries()
            .iter()
            .filter(|e| e.name().is_none())
            .collect();
        match shape {
            Shape::Array(item) => {
                let mut items = Vec::new();
                let mut ok = true;
                for (i, entry) in args.iter().enumerate() {
                    spans.insert(format!("{ptr}/{i}"), self.span(entry.span()));
                    match self.scalar(item, entry, name, field) {
                        Some(v) => items.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Array(items))
            }
            Shape::Bool if args.is_empty() => Some(Value::Bool(true)),
            _ => match args.as_slice() {
                [entry] => {
                    spans.insert(ptr.to_string(), self.span(entry.span()));
                    self.scalar(shape, entry, name, field)
                }
                [] => {
                    self.diagnostics.push(
                        Diagnostic::error("H0104", format!("`{name}` has no value"))
                            .at(Some(nspan))
                            .help(format!(
                                "give it one argument: `{name} {}`",
                                example_value(shape)
                            )),
                    );
                    None
                }
                [_, extra, ..] => {
                    self.diagnostics.push(
                        Diagnostic::error("H0103", format!("`{name}` takes one argument"))
                            .at(Some(self.span(extra.span())))
                            .help("remove the extra arguments"),
                    );
                    None
                }
            },
        }
    }

    fn scalar(
        &mut self,
        shape: &Shape,
        entry: &KdlEntry,
        node: &str,
        field: &str,
    ) -> Option<Value> {
        let span = self.span(entry.span());
        let value = entry.value();
        let what = if field == node {
            format!("`{field}`")
        } else {
            format!("`{field}` of `{node}`")
        };
        let wrong = |expected: &str, help: String| {
            Diagnostic::error(
                "H0105",
                format!("{what} must be {expected}, found {}", describe(value)),
            )
            .at(Some(span))
            .help(help)
        };
        let result = match (shape, value) {
            (Shape::String, KdlValue::String(s)) => Ok(Value::String(s.clone())),
            (Shape::String, KdlValue::Integer(_) | KdlValue::Float(_)) => {
                let written = entry
                    .format()
                    .map(|f| f.value_repr.trim().to_string())
                    .unwrap_or_else(|| value.to_string());
                Err(wrong(
                    "a string",
                    format!("quote it: \"{written}\" (unquoted numbers lose leading zeros)"),
                ))
            }
            (Shape::Integer { min, max }, KdlValue::Integer(i)) => {
                if min.is_some_and(|m| *i < m) || max.is_some_and(|m| *i > m) {
                    Err(
                        Diagnostic::error("H0105", format!("{what} is out of range: {i}"))
                            .at(Some(span))
                            .help(format!(
                                "use a whole number from {} to {}",
                                min.map_or("any".into(), |m| m.to_string()),
                                max.map_or("any".into(), |m| m.to_string())
                            )),
                    )
                } else {
                    Ok(Value::from(*i as i64))
                }
            }
            (Shape::Number, KdlValue::Integer(i)) => Ok(Value::from(*i as f64)),
            (Shape::Number, KdlValue::Float(f)) => Ok(Value::from(*f)),
            (Shape::Bool, KdlValue::Bool(b)) => Ok(Value::Bool(*b)),
            (Shape::Enum(values), KdlValue::String(s)) => {
                if values.iter().any(|v| v == s) {
                    Ok(Value::String(s.clone()))
                } else {
                    let help = did_you_mean(s, values.iter().map(String::as_str))
                        .unwrap_or_else(|| format!("use one of: {}", values.join(", ")));
                    Err(
                        Diagnostic::error("H0106", format!("`{s}` is not a valid {what}"))
                            .at(Some(span))
                            .detail(format!("`{field}` is one of: {}", values.join(", ")))
                            .help(help),
                    )
                }
            }
            (Shape::Integer { .. }, _) => Err(wrong(
                "a whole number",
                format!("write a number without quotes, e.g. `{field}=10`"),
            )),
            (Shape::Number, _) => Err(wrong("a number", "write a number without quotes".into())),
            (Shape::Bool, _) => Err(wrong(
                "#true or #false",
                "KDL v2 writes booleans as `#true` and `#false`".into(),
            )),
            (Shape::Enum(values), _) => Err(wrong(
                "a string",
                format!("use one of: {}", values.join(", ")),
            )),
            (Shape::String, _) => Err(wrong("a string", "write it in double quotes".into())),
            (Shape::Array(_) | Shape::Struct(_) | Shape::Variants(_), _) => Err(Diagnostic::error(
                "H0105",
                format!("{what} cannot be written as a single value"),
            )
            .at(Some(span))
            .help(format!("write `{field}` as a child node of `{node}`"))),
        };
        match result {
            Ok(v) => Some(v),
            Err(d) => {
                self.diagnostics.push(d);
                None
            }
        }
    }

    fn unknown_property(&mut self, def: &StructDef, node: &str, key: &str, span: Span) {
        let props = def
            .fields
            .iter()
            .filter(|f| f.placement == Placement::Prop)
            .map(|f| f.name.as_str());
        let mut d = Diagnostic::error("H0102", format!("unknown property `{key}` on `{node}`"))
            .at(Some(span));
        let child = def.fields.iter().find(|f| {
            matches!(f.placement, Placement::Child | Placement::Children) && f.node == key
        });
        d = if let Some(child) = child {
            d.help(format!(
                "`{}` is written as a child node: `{node} … {{ {} … }}`",
                child.node, child.node
            ))
        } else if let Some(h) = did_you_mean(key, props.clone()) {
            d.help(h)
        } else {
            let list: Vec<&str> = props.collect();
            if list.is_empty() {
                d.help(format!("`{node}` takes no properties"))
            } else {
                d.help(format!(
                    "`{node}` takes the properties: {}",
                    list.join(", ")
                ))
            }
        };
        self.diagnostics.push(d);
    }

    fn unknown_child(&mut self, def: &StructDef, parent: &str, name: &str, span: Span) {
        let mut names: Vec<&str> = Vec::new();
        for f in &def.fields {
            match (&f.placement, &f.shape) {
                (Placement::Child | Placement::Children, _) => names.push(&f.node),
                (Placement::Variants, Shape::Array(item)) => {
                    if let Shape::Variants(vs) = item.as_ref() {
                        names.extend(vs.iter().map(|(t, _)| t.as_str()));
                    }
                }
                _ => {}
            }
        }
        let mut d = Diagnostic::error("H0101", format!("unknown node `{name}` in `{parent}`"))
            .at(Some(span));
        d = if def
            .fields
            .iter()
            .any(|f| f.placement == Placement::Prop && f.name == name)
        {
            d.help(format!(
                "`{name}` is a property: write `{parent} … {name}=…`"
            ))
        } else if let Some(h) = did_you_mean(name, names.iter().copied()) {
            d.help(h)
        } else if names.is_empty() {
            d.help(format!("`{parent}` takes no child nodes"))
        } else {
            d.help(format!("`{parent}` takes: {}", names.join(", ")))
        };
        self.diagnostics.push(d);
    }
}

fn missing(node: &str, field: &FieldDef, span: Span) -> Diagnostic {
    let (what, example) = match field.placement {
        Placement::Arg | Placement::Args => (
            format!("its {} argument", field.name),
            format!("{node} {} …", example_value(&field.shape)),
        ),
        Placement::Prop => (
            format!("the property `{}`", field.name),
            format!("{node} … {}={}", field.name, example_value(&field.shape)),
        ),
        Placement::Children | Placement::Variants => (
            format!("at least one `{}`", field.node),
            format!("{} …", field.node),
        ),
        Placement::Child => (format!("`{}`", field.node), format!("{} …", field.node)),
    };
    let mut d = Diagnostic::error("H0104", format!("`{node}` is missing {what}"))
        .at(Some(span))
        .help(format!("add it: `{example}`"));
    if !field.description.is_empty() {
        d = d.detail(format!("{}: {}", field.name, field.description));
    }
    d
}

fn example_value(shape: &Shape) -> String {
    match shape {
        Shape::String => "\"…\"".into(),
        Shape::Integer { .. } | Shape::Number => "10".into(),
        Shape::Bool => "#true".into(),
        Shape::Enum(values) => format!("\"{}\"", values.first().map_or("…", String::as_str)),
        Shape::Array(item) => example_value(item),
        Shape::Struct(_) | Shape::Variants(_) => "{ … }".into(),
    }
}

fn describe_args(fields: &[&FieldDef]) -> String {
    if fields.is_empty() {
        String::new()
    } else {
        format!(
            ": {}",
            fields
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

fn describe(value: &KdlValue) -> String {
    match value {
        KdlValue::String(s) => format!("the string \"{s}\""),
        KdlValue::Integer(i) => format!("the number {i}"),
        KdlValue::Float(f) => format!("the number {f}"),
        KdlValue::Bool(b) => format!("#{b}"),
        KdlValue::Null => "#null".into(),
    }
}
