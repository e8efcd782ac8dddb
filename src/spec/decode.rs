//! Decodes KDL documents into the JSON form of the model, guided by the grammar, recording a
//! span for every value and collecting every problem instead of stopping at the first.
//! The JSON is then deserialised into the typed model by `super::load`.

use serde_json::{Map, Value};

use super::diagnostics::{Diagnostic, Span, did_you_mean};
use super::grammar::{FieldDef, Grammar, Placement, Shape, StructDef};
use super::model::Kind;
use super::source::FileId;
use super::syntax::{Entry as KdlEntry, Node as KdlNode, Range, Value as KdlValue};

/// Spans of one top-level node: a small tree of path segments (field names and list indices)
/// stored flat, so that recording a span allocates nothing; looked up by JSON pointer.
#[derive(Debug, Default)]
pub struct NodeSpans {
    entries: Vec<SpanEntry>,
}

#[derive(Debug)]
struct SpanEntry {
    parent: u32,
    segment: Segment,
    span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Root,
    Field(&'static str),
    Index(u32),
}

impl NodeSpans {
    fn root(span: Span) -> NodeSpans {
        NodeSpans {
            entries: vec![SpanEntry {
                parent: 0,
                segment: Segment::Root,
                span,
            }],
        }
    }

    fn push(&mut self, parent: u32, segment: Segment, span: Span) -> u32 {
        self.entries.push(SpanEntry {
            parent,
            segment,
            span,
        });
        (self.entries.len() - 1) as u32
    }

    fn find(&self, parent: u32, segment: Segment) -> Option<u32> {
        self.entries
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, e)| e.parent == parent && e.segment == segment)
            .map(|(i, _)| i as u32)
    }

    fn span_of(&self, at: u32) -> Span {
        self.entries[at as usize].span
    }

    /// The span at a JSON pointer such as `/services/0/upstream`, or of the nearest enclosing
    /// value that was written (`""` is the node itself).
    pub fn at(&self, pointer: &str) -> Option<Span> {
        let mut cur = 0u32;
        self.entries.first()?;
        for part in pointer.split('/').skip(1) {
            let next = self.entries.iter().enumerate().skip(1).find(|(_, e)| {
                e.parent == cur
                    && match e.segment {
                        Segment::Field(name) => name == part,
                        Segment::Index(i) => part.parse() == Ok(i),
                        Segment::Root => false,
                    }
            });
            match next {
                Some((i, _)) => cur = i as u32,
                None => break,
            }
        }
        Some(self.span_of(cur))
    }
}

/// One decoded top-level node.
pub struct Decoded {
    pub kind: Kind,
    pub id: Option<String>,
    /// The JSON form, when the node decoded without errors.
    pub value: Option<Value>,
    pub spans: NodeSpans,
}

pub struct Decoder<'a> {
    grammar: &'static Grammar,
    file: FileId,
    text: &'a str,
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Decoder<'a> {
    pub fn new(file: FileId, text: &'a str) -> Self {
        Decoder {
            grammar: Grammar::get(),
            file,
            text,
            diagnostics: Vec::new(),
        }
    }

    fn span(&self, r: Range) -> Span {
        Span {
            file: self.file,
            offset: r.offset,
            len: r.len,
        }
    }

    /// Decodes every top-level node of a parsed document.
    pub fn document(&mut self, nodes: &[KdlNode]) -> Vec<Decoded> {
        let mut out = Vec::new();
        for node in nodes {
            let name = node.name.value.as_str();
            let Some(kind) = Kind::from_node_name(name) else {
                let known = Kind::ALL.iter().map(|k| k.node_name());
                let mut d = Diagnostic::error("H0101", format!("unknown kind `{name}`"))
                    .at(Some(self.span(node.name.span)))
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
            let mut spans = NodeSpans::root(self.span(node.name.span));
            let def = self.grammar.kind(kind);
            let value = self.decode_struct(def, node, 0, &mut spans);
            let id = node
                .entries
                .iter()
                .find(|e| e.name.is_none())
                .and_then(|e| e.value.as_str())
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
        def: &'static StructDef,
        node: &KdlNode,
        at: u32,
        spans: &mut NodeSpans,
    ) -> Map<String, Value> {
        let node_name = node.name.value.as_str();
        let node_span = self.span(node.name.span);
        let mut obj = Map::new();
        let mut rest_at = None;
        let mut lists = Vec::new();

        let positional: Vec<&FieldDef> = def
            .fields
            .iter()
            .filter(|f| f.placement == Placement::Arg)
            .collect();
        let rest = def.fields.iter().find(|f| f.placement == Placement::Args);
        let mut next_arg = 0;
        let mut rest_values = Vec::new();
        for entry in &node.entries {
            let espan = self.span(entry.span);
            match &entry.name {
                None => {
                    if let Some(field) = positional.get(next_arg) {
                        next_arg += 1;
                        spans.push(at, Segment::Field(&field.name), espan);
                        if let Some(v) = self.scalar(&field.shape, entry, node_name, &field.name) {
                            obj.insert(field.name.clone(), v);
                        }
                    } else if let Some(field) = rest {
                        let item = match &field.shape {
                            Shape::Array(item) => item.as_ref(),
                            other => other,
                        };
                        let list = *rest_at.get_or_insert_with(|| {
                            spans.push(at, Segment::Field(&field.name), espan)
                        });
                        spans.push(list, Segment::Index(rest_values.len() as u32), espan);
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
                    let key = key.value.as_str();
                    let field = def
                        .fields
                        .iter()
                        .find(|f| f.placement == Placement::Prop && f.name == key);
                    let first = field.and_then(|f| spans.find(at, Segment::Field(&f.name)));
                    match field {
                        Some(_) if first.is_some() => {
                            self.diagnostics.push(
                                Diagnostic::error(
                                    "H0107",
                                    format!("property `{key}` is given twice on `{node_name}`"),
                                )
                                .at(Some(espan))
                                .related(first.map(|i| spans.span_of(i)), "first given here")
                                .help("keep one of them"),
                            );
                        }
                        Some(field) => {
                            spans.push(at, Segment::Field(&field.name), espan);
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

        if let Some(children) = &node.children {
            for child in children {
                self.decode_child(def, child, (at, &mut lists), spans, &mut obj, node_name);
            }
        }

        let written =
            |field: &'static FieldDef| spans.find(at, Segment::Field(&field.name)).is_some();
        for field in &def.fields {
            if field.required && !obj.contains_key(&field.name) && !written(field) {
                self.diagnostics.push(missing(node_name, field, node_span));
            }
        }
        obj
    }

    fn decode_child(
        &mut self,
        def: &'static StructDef,
        child: &KdlNode,
        (at, lists): (u32, &mut Vec<(&'static str, u32)>),
        spans: &mut NodeSpans,
        obj: &mut Map<String, Value>,
        parent: &str,
    ) {
        let name = child.name.value.as_str();
        let cspan = self.span(child.name.span);
        for field in &def.fields {
            match field.placement {
                Placement::Child if field.node == name => {
                    if let Some(first) = spans.find(at, Segment::Field(&field.name)) {
                        self.diagnostics.push(
                            Diagnostic::error("H0107", format!("`{name}` is given twice in `{parent}`"))
                                .at(Some(cspan))
                                .related(Some(spans.span_of(first)), "first given here")
                                .help(format!("`{name}` takes one node; list several values as arguments of one node")),
                        );
                        return;
                    }
                    let p = spans.push(at, Segment::Field(&field.name), cspan);
                    if let Some(v) = self.node_value(&field.shape, child, p, spans, &field.name) {
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
                    let list = list_entry(lists, spans, at, &field.name, cspan);
                    let p = spans.push(list, Segment::Index(index as u32), cspan);
                    if let Some(v) = self.node_value(item, child, p, spans, &field.node) {
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
                        let list = list_entry(lists, spans, at, &field.name, cspan);
                        let p = spans.push(list, Segment::Index(index as u32), cspan);
                        let tagged_at = spans.push(p, Segment::Field(tag), cspan);
                        let inner = self
                            .node_value(vshape, child, tagged_at, spans, tag)
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
        shape: &'static Shape,
        node: &KdlNode,
        at: u32,
        spans: &mut NodeSpans,
        field: &str,
    ) -> Option<Value> {
        let name = node.name.value.as_str();
        let nspan = self.span(node.name.span);
        if let Shape::Struct(i) = shape {
            let def = &self.grammar.structs[*i];
            return Some(Value::Object(self.decode_struct(def, node, at, spans)));
        }
        for entry in node.entries.iter().filter(|e| e.name.is_some()) {
            self.diagnostics.push(
                Diagnostic::error("H0102", format!("`{name}` takes no properties"))
                    .at(Some(self.span(entry.span)))
                    .help(format!("write its value as an argument: `{name} \"…\"`")),
            );
        }
        if let Some(children) = &node.children
            && let Some(first) = children.first()
        {
            self.diagnostics.push(
                Diagnostic::error("H0101", format!("`{name}` takes no child nodes"))
                    .at(Some(self.span(first.name.span)))
                    .help(format!("write its value as an argument: `{name} \"…\"`")),
            );
        }
        let args: Vec<&KdlEntry> = node.entries.iter().filter(|e| e.name.is_none()).collect();
        match shape {
            Shape::Array(item) => {
                let mut items = Vec::new();
                let mut ok = true;
                for (i, entry) in args.iter().enumerate() {
                    spans.push(at, Segment::Index(i as u32), self.span(entry.span));
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
                    spans.entries[at as usize].span = self.span(entry.span);
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
                            .at(Some(self.span(extra.span)))
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
        let span = self.span(entry.span);
        let value = &entry.value;
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
                let r = entry.value_span;
                let written = self
                    .text
                    .get(r.offset..r.offset + r.len)
                    .unwrap_or_default();
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

/// The span entry of a list field of the struct at `at`, created at its first item.
fn list_entry(
    lists: &mut Vec<(&'static str, u32)>,
    spans: &mut NodeSpans,
    at: u32,
    name: &'static str,
    first: Span,
) -> u32 {
    if let Some((_, i)) = lists.iter().find(|(n, _)| *n == name) {
        return *i;
    }
    let i = spans.push(at, Segment::Field(name), first);
    lists.push((name, i));
    i
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
