//! A fast reader for KDL v2 documents into a small syntax tree with byte spans. The `kdl` crate
//! parses at about 1 MB/s, too slow for a city of 50,000 agreements (benches/README.md), so
//! well-formed files take this path; any file it does not accept is handed to the `kdl` crate,
//! whose error recovery reports every syntax error of the file (see `super::load`).

use kdl::{KdlDocument, KdlNode, KdlValue};

/// A byte range in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub offset: usize,
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub value: String,
    pub span: Range,
}

#[derive(Debug, Clone)]
pub enum Value {
    String(String),
    Integer(i128),
    Float(f64),
    Bool(bool),
    Null,
}

/// Equality as written: `#nan` equals `#nan`.
impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits() || a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Integer(a), Value::Integer(b)) => a == b,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Null, Value::Null) => true,
            _ => false,
        }
    }
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The property name; `None` for an argument.
    pub name: Option<Ident>,
    pub value: Value,
    /// The whole entry: `key=value` for a property.
    pub span: Range,
    /// Just the value (with its type annotation), as written.
    pub value_span: Range,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: Ident,
    pub entries: Vec<Entry>,
    pub children: Option<Vec<Node>>,
}

/// The fast reader did not accept a document: either it has a syntax error or it uses a
/// construct (multi-line strings, …) left to the `kdl` crate. `too_large` is a well-formed
/// integer beyond 128 bits, which the `kdl` crate reports only as a confusing cascade;
/// `too_deep` the `{` that nests past `depth::MAX_DEPTH`; `at` where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAccepted {
    pub too_large: Option<Range>,
    pub too_deep: Option<usize>,
    pub at: usize,
}

/// Reads a KDL v2 document. `NotAccepted` means the caller asks the `kdl` crate, which either
/// reports the syntax errors or parses a construct this reader leaves to it.
pub fn parse(text: &str) -> Result<Vec<Node>, NotAccepted> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
        too_large: None,
        too_deep: None,
    };
    if p.s.starts_with("\u{feff}".as_bytes()) {
        p.i = 3;
    }
    let not_accepted = |p: &Parser| NotAccepted {
        too_large: p.too_large,
        too_deep: p.too_deep,
        at: p.i.min(p.s.len()),
    };
    let nodes = p.nodes(false).map_err(|()| not_accepted(&p))?;
    if p.i == p.s.len() {
        Ok(nodes)
    } else {
        Err(not_accepted(&p))
    }
}

/// Converts a document the `kdl` crate parsed into the same tree.
pub fn from_kdl(doc: &KdlDocument, text: &str) -> Vec<Node> {
    doc.nodes().iter().map(|n| node_from_kdl(n, text)).collect()
}

fn node_from_kdl(node: &KdlNode, text: &str) -> Node {
    let range = |s: miette::SourceSpan| Range {
        offset: s.offset(),
        len: s.len(),
    };
    Node {
        name: Ident {
            value: node.name().value().to_string(),
            span: range(node.name().span()),
        },
        entries: node
            .entries()
            .iter()
            .map(|e| {
                let span = range(e.span());
                let value_start = match e.name() {
                    Some(n) => {
                        let after_name = n.span().offset() + n.span().len();
                        let rest = text
                            .get(after_name..span.offset + span.len)
                            .unwrap_or_default();
                        after_name + rest.len()
                            - rest.trim_start().trim_start_matches('=').trim_start().len()
                    }
                    None => span.offset,
                };
                let value_len = span.offset + span.len - value_start;
                Entry {
                    name: e.name().map(|n| Ident {
                        value: n.value().to_string(),
                        span: range(n.span()),
                    }),
                    value: match e.value() {
                        KdlValue::String(s) => Value::String(s.clone()),
                        KdlValue::Integer(i) => Value::Integer(*i),
                        KdlValue::Float(f) => Value::Float(*f),
                        KdlValue::Bool(b) => Value::Bool(*b),
                        KdlValue::Null => Value::Null,
                    },
                    span,
                    value_span: Range {
                        offset: span.offset + span.len - value_len,
                        len: value_len,
                    },
                }
            })
            .collect(),
        children: node.children().map(|c| from_kdl(c, text)),
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
    too_large: Option<Range>,
    too_deep: Option<usize>,
}

type R<T> = Result<T, ()>;

const NON_IDENT: &[u8] = b"\\/(){};[]=\"#";

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, lit: &[u8]) -> bool {
        self.s[self.i..].starts_with(lit)
    }

    /// Skips spaces, comments and line continuations inside a node (not newlines).
    fn node_space(&mut self) -> R<bool> {
        let start = self.i;
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.i += 1,
                Some(b'/') if self.at(b"/*") => self.block_comment()?,
                Some(b'\\') => {
                    self.i += 1;
                    loop {
                        match self.peek() {
                            Some(b' ' | b'\t') => self.i += 1,
                            Some(b'/') if self.at(b"/*") => self.block_comment()?,
                            _ => break,
                        }
                    }
                    if self.at(b"//") {
                        self.line_comment();
                    }
                    if !self.newline() && self.i < self.s.len() {
                        return Err(());
                    }
                }
                Some(c) if c >= 0x80 && self.unicode_space() => {}
                _ => break,
            }
        }
        Ok(self.i > start)
    }

    fn unicode_space(&mut self) -> bool {
        let rest = &self.text[self.i..];
        let Some(c) = rest.chars().next() else {
            return false;
        };
        let space = matches!(
            c,
            '\u{00A0}' | '\u{1680}' | '\u{2000}'
                ..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
        );
        if space {
            self.i += c.len_utf8();
        }
        space
    }

    fn newline(&mut self) -> bool {
        match self.peek() {
            Some(b'\r') => {
                self.i += if self.at(b"\r\n") { 2 } else { 1 };
                true
            }
            Some(b'\n' | 0x0C) => {
                self.i += 1;
                true
            }
            Some(0xC2) if self.at("\u{0085}".as_bytes()) => {
                self.i += 2;
                true
            }
            Some(0xE2) if self.at("\u{2028}".as_bytes()) || self.at("\u{2029}".as_bytes()) => {
                self.i += 3;
                true
            }
            _ => false,
        }
    }

    fn line_comment(&mut self) {
        while let Some(c) = self.peek() {
            if matches!(c, b'\n' | b'\r' | 0x0C) || self.at("\u{0085}".as_bytes()) {
                break;
            }
            self.i += 1;
        }
    }

    fn block_comment(&mut self) -> R<()> {
        let mut depth = 0;
        loop {
            if self.at(b"/*") {
                depth += 1;
                self.i += 2;
            } else if self.at(b"*/") {
                depth -= 1;
                self.i += 2;
                if depth == 0 {
                    return Ok(());
                }
            } else if self.i >= self.s.len() {
                return Err(());
            } else {
                self.i += 1;
            }
        }
    }

    /// Skips whitespace, newlines and comments between nodes.
    fn line_space(&mut self) -> R<()> {
        loop {
            if self.node_space()? || self.newline() {
                continue;
            }
            if self.at(b"//") {
                self.line_comment();
                continue;
            }
            return Ok(());
        }
    }

    fn nodes(&mut self, in_block: bool) -> R<Vec<Node>> {
        let mut nodes = Vec::new();
        loop {
            self.line_space()?;
            match self.peek() {
                None if !in_block => return Ok(nodes),
                None => return Err(()),
                Some(b'}') if in_block => return Ok(nodes),
                Some(b'}') => return Err(()),
                _ => {}
            }
            let slashdash = self.slashdash()?;
            let node = self.node()?;
            if !slashdash {
                nodes.push(node);
            }
        }
    }

    fn slashdash(&mut self) -> R<bool> {
        if self.at(b"/-") {
            self.i += 2;
            self.line_space()?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    fn node(&mut self) -> R<Node> {
        self.type_annotation()?;
        let name = self.string()?.ok_or(())?;
        let mut node = Node {
            name,
            entries: Vec::new(),
            children: None,
        };
        let mut skipped_children = false;
        loop {
            let spaced = self.node_space()?;
            match self.peek() {
                None => return Ok(node),
                Some(b';') => {
                    self.i += 1;
                    return Ok(node);
                }
                Some(b'}') => return Ok(node),
                Some(b'\n' | b'\r' | 0x0C) => return Ok(node),
                Some(b'/') if self.at(b"//") => {
                    self.line_comment();
                    return Ok(node);
                }
                _ if self.newline_ahead() => return Ok(node),
                _ => {}
            }
            if !spaced {
                return Err(());
            }
            let slashdash = if self.at(b"/-") {
                self.i += 2;
                self.node_space()?;
                true
            } else {
                false
            };
            if self.peek() == Some(b'{') {
                let children = self.children_block()?;
                if slashdash {
                    skipped_children = true;
                    continue;
                }
                node.children = Some(children);
                return self.after_children(node);
            }
            if node.children.is_some() || skipped_children {
                return Err(());
            }
            let entry = self.entry()?;
            if !slashdash {
                node.entries.push(entry);
            }
        }
    }

    fn children_block(&mut self) -> R<Vec<Node>> {
        if self.depth == super::depth::MAX_DEPTH {
            self.too_deep = Some(self.i);
            return Err(());
        }
        self.depth += 1;
        self.i += 1;
        let children = self.nodes(true)?;
        self.i += 1;
        self.depth -= 1;
        Ok(children)
    }

    /// After a node's children only slashdashed children blocks and a terminator may follow.
    fn after_children(&mut self, node: Node) -> R<Node> {
        loop {
            self.node_space()?;
            if self.at(b"/-") {
                self.i += 2;
                self.node_space()?;
                if self.peek() != Some(b'{') {
                    return Err(());
                }
                self.children_block()?;
                continue;
            }
            return match self.peek() {
                None | Some(b'}') => Ok(node),
                Some(b';') => {
                    self.i += 1;
                    Ok(node)
                }
                _ if self.newline() => Ok(node),
                _ if self.at(b"//") => {
                    self.line_comment();
                    Ok(node)
                }
                _ => Err(()),
            };
        }
    }

    fn newline_ahead(&self) -> bool {
        self.at("\u{0085}".as_bytes())
            || self.at("\u{2028}".as_bytes())
            || self.at("\u{2029}".as_bytes())
    }

    fn type_annotation(&mut self) -> R<()> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            self.node_space()?;
            self.string()?.ok_or(())?;
            self.node_space()?;
            if self.peek() != Some(b')') {
                return Err(());
            }
            self.i += 1;
            self.node_space()?;
        }
        Ok(())
    }

    fn entry(&mut self) -> R<Entry> {
        let start = self.i;
        if self.peek() == Some(b'(') {
            self.type_annotation()?;
            let (value, _) = self.value()?;
            let span = self.range_from(start);
            return Ok(Entry {
                name: None,
                value,
                span,
                value_span: span,
            });
        }
        let (value, value_span) = self.value()?;
        let before_eq = self.i;
        self.node_space()?;
        if self.peek() == Some(b'=') {
            let Value::String(key) = value else {
                return Err(());
            };
            if self.s[start] == b'#' {
                return Err(());
            }
            self.i += 1;
            self.node_space()?;
            let value_start = self.i;
            self.type_annotation()?;
            let (value, _) = self.value()?;
            let value_span = self.range_from(value_start);
            return Ok(Entry {
                name: Some(Ident {
                    value: key,
                    span: value_span_of(start, before_eq),
                }),
                value,
                span: self.range_from(start),
                value_span,
            });
        }
        self.i = before_eq;
        Ok(Entry {
            name: None,
            value,
            span: value_span,
            value_span,
        })
    }

    fn range_from(&self, start: usize) -> Range {
        Range {
            offset: start,
            len: self.i - start,
        }
    }

    fn value(&mut self) -> R<(Value, Range)> {
        let start = self.i;
        let value = match self.peek().ok_or(())? {
            b'#' if self.at(b"#\"") || self.at(b"##") => Value::String(self.raw_string()?),
            b'#' => self.keyword()?,
            b'0'..=b'9' => self.number()?,
            b'+' | b'-' if matches!(self.s.get(self.i + 1), Some(b'0'..=b'9')) => self.number()?,
            _ => Value::String(self.string()?.ok_or(())?.value),
        };
        Ok((value, self.range_from(start)))
    }

    fn keyword(&mut self) -> R<Value> {
        for (lit, v) in [
            (&b"#true"[..], Value::Bool(true)),
            (b"#false", Value::Bool(false)),
            (b"#null", Value::Null),
            (b"#inf", Value::Float(f64::INFINITY)),
            (b"#-inf", Value::Float(f64::NEG_INFINITY)),
            (b"#nan", Value::Float(f64::NAN)),
        ] {
            if self.at(lit) && !self.ident_continues(self.i + lit.len()) {
                self.i += lit.len();
                return Ok(v);
            }
        }
        Err(())
    }

    fn ident_continues(&self, at: usize) -> bool {
        match self.s.get(at) {
            None => false,
            Some(c) => !(c.is_ascii_whitespace() || NON_IDENT.contains(c) || *c == b'\n'),
        }
    }

    fn number(&mut self) -> R<Value> {
        let start = self.i;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'+' | b'-') {
                self.i += 1;
            } else {
                break;
            }
        }
        if self.ident_continues(self.i) {
            return Err(());
        }
        let raw = &self.text[start..self.i];
        let (negative, body) = match raw.as_bytes()[0] {
            b'-' => (true, &raw[1..]),
            b'+' => (false, &raw[1..]),
            _ => (false, raw),
        };
        let radix = match body.get(..2) {
            Some("0x") => Some(16),
            Some("0o") => Some(8),
            Some("0b") => Some(2),
            _ => None,
        };
        if let Some(radix) = radix {
            let digits = &body[2..];
            if digits.starts_with('_') || digits.is_empty() {
                return Err(());
            }
            let clean: String = digits.chars().filter(|c| *c != '_').collect();
            let n = i128::from_str_radix(&clean, radix).map_err(|_| self.too_large_from(start))?;
            return Ok(Value::Integer(if negative { -n } else { n }));
        }
        if !body.as_bytes()[0].is_ascii_digit() {
            return Err(());
        }
        let clean: String = raw.chars().filter(|c| *c != '_').collect();
        if body.contains(['.', 'e', 'E']) {
            let digit_after_point = body
                .find('.')
                .is_none_or(|i| body.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit));
            if !digit_after_point {
                return Err(());
            }
            return clean.parse::<f64>().map(Value::Float).map_err(|_| ());
        }
        if !body.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
            return Err(());
        }
        clean
            .parse::<i128>()
            .map(Value::Integer)
            .map_err(|_| self.too_large_from(start))
    }

    /// Records a well-formed integer that does not fit in 128 bits (digits only were scanned).
    fn too_large_from(&mut self, start: usize) {
        self.too_large = Some(self.range_from(start));
    }

    /// An identifier or quoted string (not raw); `None` when there is none here.
    fn string(&mut self) -> R<Option<Ident>> {
        let start = self.i;
        match self.peek() {
            Some(b'"') => {
                if self.at(b"\"\"\"") {
                    return Err(());
                }
                self.i += 1;
                let value = self.quoted_body()?;
                Ok(Some(Ident {
                    value,
                    span: self.range_from(start),
                }))
            }
            Some(b'#') => Ok(Some(Ident {
                value: self.raw_string()?,
                span: self.range_from(start),
            })),
            Some(_) => {
                let mut end = self.i;
                while end < self.s.len() {
                    let c = self.s[end];
                    if c.is_ascii_whitespace() || NON_IDENT.contains(&c) || c < 0x20 {
                        break;
                    }
                    if c >= 0x80 {
                        let ch = self.text[end..].chars().next().ok_or(())?;
                        if ch.is_whitespace() || is_disallowed(ch) {
                            break;
                        }
                        end += ch.len_utf8();
                    } else {
                        end += 1;
                    }
                }
                let ident = &self.text[self.i..end];
                if ident.is_empty() || !valid_identifier(ident) {
                    return Err(());
                }
                self.i = end;
                Ok(Some(Ident {
                    value: ident.to_string(),
                    span: self.range_from(start),
                }))
            }
            None => Ok(None),
        }
    }

    /// The rest of a single-line quoted string after its opening quote.
    fn quoted_body(&mut self) -> R<String> {
        let mut out = String::new();
        let mut run = self.i;
        loop {
            match self.peek().ok_or(())? {
                b'"' => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    return Ok(out);
                }
                b'\n' | b'\r' | 0x0C => return Err(()),
                c if self.forbidden_at(c) => return Err(()),
                b'\\' => {
                    out.push_str(&self.text[run..self.i]);
                    self.i += 1;
                    let c = self.peek().ok_or(())?;
                    self.i += 1;
                    match c {
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'\\' => out.push('\\'),
                        b'"' => out.push('"'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b's' => out.push(' '),
                        b'u' => {
                            if self.peek() != Some(b'{') {
                                return Err(());
                            }
                            let close =
                                self.s[self.i..].iter().position(|b| *b == b'}').ok_or(())?;
                            let hex = &self.text[self.i + 1..self.i + close];
                            if hex.is_empty() || hex.len() > 6 {
                                return Err(());
                            }
                            let code = u32::from_str_radix(hex, 16).map_err(|_| ())?;
                            out.push(char::from_u32(code).ok_or(())?);
                            self.i += close + 1;
                        }
                        _ => return Err(()),
                    }
                    run = self.i;
                }
                _ => self.i += 1,
            }
        }
    }

    /// A single-line raw string `#"…"#`; multi-line raw strings are left to the `kdl` crate.
    fn raw_string(&mut self) -> R<String> {
        let hashes = self.s[self.i..].iter().take_while(|b| **b == b'#').count();
        self.i += hashes;
        if self.peek() != Some(b'"') || self.at(b"\"\"\"") {
            return Err(());
        }
        self.i += 1;
        let start = self.i;
        loop {
            match self.peek().ok_or(())? {
                b'"' if self.s[self.i + 1..]
                    .iter()
                    .take(hashes)
                    .filter(|b| **b == b'#')
                    .count()
                    == hashes =>
                {
                    let value = self.text[start..self.i].to_string();
                    self.i += 1 + hashes;
                    return Ok(value);
                }
                b'\n' | b'\r' | 0x0C => return Err(()),
                c if self.forbidden_at(c) => return Err(()),
                _ => self.i += 1,
            }
        }
    }

    /// Whether the character starting with byte `c` at the cursor may not appear in a KDL document.
    fn forbidden_at(&self, c: u8) -> bool {
        match c {
            b'\t' => false,
            0x00..=0x1F | 0x7F => true,
            0xC2 | 0xE2 | 0xEF => self.text[self.i..]
                .chars()
                .next()
                .is_some_and(is_disallowed),
            _ => false,
        }
    }
}

fn value_span_of(start: usize, end: usize) -> Range {
    Range {
        offset: start,
        len: end - start,
    }
}

fn is_disallowed(c: char) -> bool {
    matches!(c, '\u{0000}'..='\u{0008}' | '\u{000E}'..='\u{001F}' | '\u{007F}' | '\u{200E}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
        || matches!(c, '\u{0085}' | '\u{2028}' | '\u{2029}')
}

fn valid_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    let digit_start = matches!(
        b,
        [b'0'..=b'9', ..]
            | [b'+' | b'-', b'0'..=b'9', ..]
            | [b'+' | b'-', b'.', b'0'..=b'9', ..]
            | [b'.', b'0'..=b'9', ..]
    );
    !digit_start && !matches!(s, "true" | "false" | "null" | "inf" | "-inf" | "nan")
}
