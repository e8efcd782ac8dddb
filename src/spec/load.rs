//! Loads a spec tree: parses every file (reporting all syntax errors of each), decodes every
//! node, and assembles the typed `Spec` with a `SourceMap` that locates any value for the checks.
//! Duplicate ids are caught here, since only here are both declarations seen.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use kdl::KdlDocument;

use super::decode::{Decoded, Decoder, NodeSpans};
use super::depth;
use super::diagnostics::{Diagnostic, Span};
use super::model::{Declared, Kind, Spec};
use super::source::SourceSet;
use super::syntax::{self, Node};

/// Where every declared node and value of a spec tree is written.
#[derive(Debug, Default)]
pub struct SourceMap {
    nodes: HashMap<(Kind, String), NodeSpans>,
    /// Ids declared per kind, including nodes that failed to decode (so that references to
    /// them do not cascade into "unknown reference" errors).
    declared: HashMap<Kind, HashSet<String>>,
}

impl SourceMap {
    /// The span of the value at `pointer` (e.g. `/fields/2`) inside node `id` of `kind`,
    /// falling back to the nearest enclosing value that was written.
    pub fn at(&self, kind: Kind, id: &str, pointer: &str) -> Option<Span> {
        self.nodes.get(&(kind, id.to_string()))?.at(pointer)
    }

    pub fn is_declared(&self, kind: Kind, id: &str) -> bool {
        self.declared.get(&kind).is_some_and(|s| s.contains(id))
    }

    pub fn declared(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.declared
            .get(&kind)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
}

/// A loaded spec tree.
pub struct Loaded {
    pub sources: SourceSet,
    pub spec: Spec,
    pub map: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads and decodes the spec tree under `root`.
pub fn load(root: &Path) -> Loaded {
    let (sources, diagnostics) = SourceSet::read(root);
    let mut loaded = load_sources(sources);
    loaded.diagnostics.extend(diagnostics);
    loaded
}

/// Decodes an already-read set of sources.
pub fn load_sources(sources: SourceSet) -> Loaded {
    let mut diagnostics = Vec::new();
    let mut spec = Spec::default();
    let mut map = SourceMap::default();
    let mut first_seen: BTreeMap<(Kind, String), Span> = BTreeMap::new();

    for file in read_all(&sources) {
        diagnostics.extend(file.diagnostics);
        for (node, typed) in file.nodes {
            let Some(id) = node.id else { continue };
            let here = node.spans.at("");
            let key = (node.kind, id.clone());
            if let Some(first) = first_seen.get(&key) {
                diagnostics.push(
                    Diagnostic::error(
                        "H0201",
                        format!("duplicate {} id `{id}`", node.kind.node_name()),
                    )
                    .at(here)
                    .related(Some(*first), "first declared here")
                    .detail(format!(
                        "ids are unique per kind; this `{}` and the one declared earlier share `{id}`",
                        node.kind.node_name()
                    ))
                    .help("rename one of them, or merge the two declarations"),
                );
                continue;
            }
            if let Some(h) = here {
                first_seen.insert(key.clone(), h);
            }
            map.declared
                .entry(node.kind)
                .or_default()
                .insert(id.clone());
            match typed {
                Some(Ok(declared)) => spec.push(declared),
                Some(Err(e)) => diagnostics.push(
                    Diagnostic::error(
                        "H0105",
                        format!("`{id}` could not be read as a {}", node.kind.node_name()),
                    )
                    .at(here)
                    .detail(e.to_string()),
                ),
                None => {}
            }
            map.nodes.insert(key, node.spans);
        }
    }
    spec.sort();
    Loaded {
        sources,
        spec,
        map,
        diagnostics,
    }
}

/// One file, parsed and decoded: each node with its typed form (when it decoded cleanly).
struct FileNodes {
    nodes: Vec<(Decoded, Option<Result<Declared, serde_json::Error>>)>,
    diagnostics: Vec<Diagnostic>,
}

/// Reading and decoding recurse once per level of nesting; a deeply nested file gets a
/// diagnostic, not a stack overflow. The stack is reserved, not committed, until used.
const READER_STACK: usize = 256 << 20;

/// Parses and decodes every file, spread over the machine's cores, in file order.
fn read_all(sources: &SourceSet) -> Vec<FileNodes> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = sources.files.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = sources
            .files
            .chunks(chunk)
            .enumerate()
            .map(|(c, files)| {
                std::thread::Builder::new()
                    .name("spec-reader".into())
                    .stack_size(READER_STACK)
                    .spawn_scoped(scope, move || {
                        files
                            .iter()
                            .enumerate()
                            .map(|(i, f)| match f.readable {
                                true => read_file(c * chunk + i, &f.text),
                                false => FileNodes {
                                    nodes: Vec::new(),
                                    diagnostics: Vec::new(),
                                },
                            })
                            .collect::<Vec<_>>()
                    })
                    .expect("a spec reader thread starts")
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a spec reader thread panicked"))
            .collect()
    })
}

fn read_file(file: usize, text: &str) -> FileNodes {
    let tree = match parse_file(file, text) {
        Ok(tree) => tree,
        Err(diagnostics) => {
            return FileNodes {
                nodes: Vec::new(),
                diagnostics,
            };
        }
    };
    let mut decoder = Decoder::new(file, text);
    let decoded = decoder.document(&tree);
    drop(tree);
    let nodes = decoded
        .into_iter()
        .map(|mut node| {
            let typed = node.value.take().map(|v| Declared::from_json(node.kind, v));
            (node, typed)
        })
        .collect();
    FileNodes {
        nodes,
        diagnostics: decoder.diagnostics,
    }
}

/// Parses one file: the fast reader first, the `kdl` crate for what it does not accept (which
/// reports every syntax error of the file, or parses a construct the fast reader leaves to it).
fn parse_file(file: usize, text: &str) -> Result<Vec<Node>, Vec<Diagnostic>> {
    let not_accepted = match syntax::parse(text) {
        Ok(nodes) => return Ok(nodes),
        Err(e) => e,
    };
    if let Some(r) = not_accepted.too_large {
        return Err(vec![
            Diagnostic::error("H0001", "number too large")
                .at(Some(Span {
                    file,
                    offset: r.offset,
                    len: r.len,
                }))
                .detail("KDL integers here hold up to 39 digits (128 bits)")
                .help("write it as a string if it is a code, e.g. \"123…\""),
        ]);
    }
    let too_deep = match not_accepted.too_deep {
        Some(at) => Err(depth::TooDeep::Children(at)),
        None => depth::check(text),
    };
    if let Err(too_deep) = too_deep {
        return Err(vec![too_deep_diagnostic(file, text, too_deep)]);
    }
    if !depth::fits_kdl(text) {
        return Err(vec![first_problem(file, text, not_accepted.at)]);
    }
    let doc = KdlDocument::parse_v2(text).map_err(|err| {
        err.diagnostics
            .into_iter()
            .map(|d| {
                let mut diag = Diagnostic::error(
                    "H0001",
                    d.message.unwrap_or_else(|| "KDL syntax error".into()),
                )
                .at(Some(error_site(file, text, d.span.offset(), d.span.len())))
                .detail(d.label.unwrap_or_default());
                diag = diag.help(d.help.unwrap_or_else(|| {
                    "see the KDL v2 syntax: strings in double quotes, booleans as #true/#false"
                        .into()
                }));
                diag
            })
            .collect::<Vec<_>>()
    })?;
    Ok(syntax::from_kdl(&doc, text))
}

/// The span of the character at byte `at` (or of the end of the text).
fn char_at(file: usize, text: &str, at: usize) -> Span {
    let offset = text.floor_char_boundary(at.min(text.len()));
    let len = text[offset..].chars().next().map_or(0, char::len_utf8);
    Span { file, offset, len }
}

/// H0001 for a file too large for the `kdl` crate's error recovery: where the fast reader stopped.
fn first_problem(file: usize, text: &str, at: usize) -> Diagnostic {
    Diagnostic::error("H0001", "KDL syntax error")
        .at(Some(char_at(file, text, at)))
        .detail(format!(
            "this file is larger than {} KiB or holds more than {} braces or {} `*` and `/`, \
             too many for the full syntax check, so only its first problem is reported: reading \
             stopped here",
            depth::MAX_KDL_BYTES >> 10,
            depth::MAX_KDL_BRACES,
            2 * depth::MAX_COMMENT_TOKENS
        ))
        .help(
            "fix it and validate again; a file this large cannot use multi-line strings \
             (\"\"\"…\"\"\"), so split it if it needs them",
        )
}

/// H0005: a file nested too deeply to be parsed at all; nothing else of it is read.
fn too_deep_diagnostic(file: usize, text: &str, too_deep: depth::TooDeep) -> Diagnostic {
    let (at, summary, detail, help) = match too_deep {
        depth::TooDeep::Children(at) => (
            at,
            format!(
                "children blocks nested deeper than {} levels",
                depth::MAX_DEPTH
            ),
            "this `{` opens a block inside more enclosing blocks than a spec file may have",
            "look for a missing `}` above this line, or flatten the nesting",
        ),
        depth::TooDeep::Comment(at) => (
            at,
            format!(
                "a block comment holding more than {} parts",
                depth::MAX_COMMENT_TOKENS
            ),
            "the `/* … */` comment around here has too many `*`, `/` or nested comments",
            "look for a missing `*/`, or shorten the comment",
        ),
    };
    Diagnostic::error("H0005", summary)
        .at(Some(char_at(file, text, at)))
        .detail(format!("{detail}; the rest of the file was not read"))
        .help(help)
}

/// The KDL parser sometimes reports a span running from the start of the enclosing node to the
/// error; the error itself is the last token of the span, so point there.
fn error_site(file: usize, text: &str, offset: usize, len: usize) -> Span {
    let end = (offset + len).min(text.len());
    let slice = text.get(offset..end).unwrap_or_default();
    match slice.trim_end().rfind('\n') {
        Some(nl) => {
            let line = slice[nl + 1..].trim_end();
            let token = line
                .char_indices()
                .rfind(|(_, c)| c.is_whitespace())
                .map_or(0, |(i, c)| i + c.len_utf8());
            Span {
                file,
                offset: offset + nl + 1 + token,
                len: line.len() - token,
            }
        }
        None => Span { file, offset, len },
    }
}
