//! The module boundaries of ARCHITECTURE.md, enforced: every `crate::…` path in `src/` (in
//! `use` or in code, grouped or not), and every `super::super…` that climbs out of its
//! top-level module, must go where the "Boundaries" table of ARCHITECTURE.md allows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crossings present on this branch that other parts of issue 12 remove: the file and the
/// module it may not import. Each entry must still occur (a fixed one fails the test until it is
/// taken out of this list); the list is to end empty.
const PENDING_CROSSINGS: &[(&str, &str)] = &[];

/// One reference from a file of `src/` to another top-level module.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    target: String,
    /// The path as written, for the message.
    written: String,
}

#[test]
fn no_module_imports_across_a_boundary_the_table_does_not_allow() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let allowed = boundaries(&std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap());
    let modules = top_level_modules(&root.join("src"));
    let macros = exported_macros(&root.join("src"));
    let pending: BTreeSet<(String, String)> = PENDING_CROSSINGS
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect();
    let mut problems = Vec::new();
    let mut pending_seen = BTreeSet::new();
    for module in &modules {
        if !allowed.contains_key(module) {
            problems.push(format!(
                "src/{module}: the module has no row in ARCHITECTURE.md's Boundaries table; add one saying what it may import"
            ));
        }
    }
    for file in rust_files(&root.join("src")) {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let Some(own) = owner(&rel) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        for r in references(&text, &module_path(&rel)) {
            let target = macros.get(&r.target).cloned().unwrap_or(r.target.clone());
            if target == own || !modules.contains(&target) {
                continue;
            }
            if allowed.get(&own).is_some_and(|may| may.contains(&target)) {
                continue;
            }
            if pending.contains(&(rel.clone(), target.clone())) {
                pending_seen.insert((rel.clone(), target.clone()));
                continue;
            }
            problems.push(format!(
                "{rel}:{}: `{own}` uses `{}`, but ARCHITECTURE.md's Boundaries table does not let `{own}` import `{target}`; \
                 move what it needs below both, or pass it in from the module that composes them",
                r.line, r.written
            ));
        }
    }
    for (file, target) in pending.difference(&pending_seen) {
        problems.push(format!(
            "tests/architecture.rs: PENDING_CROSSINGS lists {file} importing `{target}`, which it no longer does; remove the entry"
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The table under "## Boundaries" of ARCHITECTURE.md: each row `` | `module` | `a`, `b` | ``
/// (or `—` for nothing) says which top-level modules `module` may import.
fn boundaries(architecture: &str) -> BTreeMap<String, BTreeSet<String>> {
    let section = architecture
        .split("\n## ")
        .find(|s| s.starts_with("Boundaries"))
        .expect("ARCHITECTURE.md has a `## Boundaries` section");
    let names = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut table = BTreeMap::new();
    for row in section.lines().filter(|l| l.trim_start().starts_with('|')) {
        let cells: Vec<&str> = row.trim().trim_matches('|').split('|').collect();
        if cells.len() < 2 {
            continue;
        }
        let module = names(cells[0]);
        let [module] = module.as_slice() else {
            continue;
        };
        table.insert(module.clone(), names(cells[1]).into_iter().collect());
    }
    assert!(
        table.len() > 5,
        "ARCHITECTURE.md's Boundaries table was not read: {table:?}"
    );
    table
}

/// `src/x.rs` and `src/x/` for every top-level module but the crate roots.
fn top_level_modules(src: &Path) -> BTreeSet<String> {
    std::fs::read_dir(src)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_string();
            let rust = e.path().is_dir() || name.ends_with(".rs");
            (rust && module != "lib" && module != "main").then_some(module)
        })
        .collect()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The top-level module of a file of `src/`; `None` for the crate roots.
fn owner(rel: &str) -> Option<String> {
    let inside = rel.strip_prefix("src/")?;
    if inside == "lib.rs" || inside == "main.rs" {
        return None;
    }
    let first = inside.split('/').next()?;
    Some(first.strip_suffix(".rs").unwrap_or(first).to_string())
}

/// The module path of a file: `src/gateway/mod.rs` → `gateway`, `src/spec/model/agreement.rs`
/// → `spec::model::agreement`.
fn module_path(rel: &str) -> Vec<String> {
    let inside = rel.strip_prefix("src/").unwrap_or(rel);
    let mut parts: Vec<String> = inside
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// `#[macro_export]` macros are paths at the crate root (`crate::for_each_kind!`): each belongs to
/// the module that defines it.
fn exported_macros(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for file in rust_files(src) {
        let rel = format!("src/{}", file.strip_prefix(src).unwrap().to_string_lossy());
        let Some(own) = owner(&rel) else { continue };
        let text = std::fs::read_to_string(&file).unwrap();
        let mut export = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("#[macro_export]") {
                export = true;
            } else if let Some(rest) = line.strip_prefix("macro_rules!") {
                if export {
                    let name: String = rest
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.insert(name, own.clone());
                }
                export = false;
            } else if !line.starts_with("#[") && !line.starts_with("//") {
                export = false;
            }
        }
    }
    out
}

/// Rust source with comments and the contents of string and character literals blanked out
/// (newlines kept, so line numbers stay true).
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                    out.push_str("  ");
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    out.push_str("  ");
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !chars
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
            if chars.get(i + 1 + hashes) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let close: String = std::iter::once('"')
                .chain(std::iter::repeat_n('#', hashes))
                .collect();
            out.push('"');
            i += 2 + hashes;
            while i < chars.len() && !chars[i..].starts_with(&close.chars().collect::<Vec<_>>()) {
                blank(&mut out, chars[i]);
                i += 1;
            }
            out.push('"');
            i += close.len();
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'); otherwise a lifetime or a label.
            let end = if next == Some('\\') {
                chars
                    .get(i + 3..)
                    .and_then(|rest| rest.iter().position(|c| *c == '\''))
                    .map(|p| i + 3 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.push_str("' '");
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Every top-level module a file reaches: `crate::x…` (and `$crate::x…`, and each item of
/// `crate::{x, y::z}`), and `super::…` climbing above the file's top-level module, for a file at
/// `path` (inline `mod name { … }` blocks are followed, so a test module's `super` is right).
fn references(text: &str, path: &[String]) -> Vec<Reference> {
    let code = code_only(text);
    let tokens = tokenize(&code);
    let mut out = Vec::new();
    // Inline modules open at a brace depth: (name, depth inside the module).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        let (line, t) = (tokens[i].0, tokens[i].1.as_str());
        match t {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            "mod" => {
                if let (Some(name), Some(brace)) = (tokens.get(i + 1), tokens.get(i + 2))
                    && brace.1 == "{"
                {
                    inline.push((name.1.clone(), depth + 1));
                }
            }
            "crate" if tokens.get(i + 1).is_some_and(|t| t.1 == "::") => {
                let after = i + 2;
                match tokens.get(after).map(|t| t.1.as_str()) {
                    Some("{") => {
                        for (line, name) in group_heads(&tokens, after) {
                            out.push(Reference {
                                line,
                                target: name.clone(),
                                written: format!("crate::{{{name}…}}"),
                            });
                        }
                    }
                    Some(name) if is_ident(name) => out.push(Reference {
                        line,
                        target: name.to_string(),
                        written: written(&tokens, i),
                    }),
                    _ => {}
                }
            }
            "super" if i == 0 || tokens[i - 1].1 != "::" => {
                let mut supers = 0;
                let mut j = i;
                while tokens.get(j).is_some_and(|t| t.1 == "super")
                    && tokens.get(j + 1).is_some_and(|t| t.1 == "::")
                {
                    supers += 1;
                    j += 2;
                }
                let here: Vec<&String> = path.iter().chain(inline.iter().map(|(n, _)| n)).collect();
                if supers >= here.len()
                    && let Some(name) = tokens.get(j).map(|t| t.1.as_str())
                    && is_ident(name)
                {
                    out.push(Reference {
                        line,
                        target: name.to_string(),
                        written: written(&tokens, i),
                    });
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// The first segment of each item of a `{ … }` use group starting at `open`, with its line.
fn group_heads(tokens: &[(usize, String)], open: usize) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    for (line, t) in &tokens[open..] {
        match t.as_str() {
            "{" => {
                depth += 1;
                expect_head = depth == 1;
            }
            "}" => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            "," if depth == 1 => expect_head = true,
            name if expect_head && depth == 1 && is_ident(name) => {
                if name != "self" {
                    out.push((*line, name.to_string()));
                }
                expect_head = false;
            }
            _ => {}
        }
    }
    out
}

/// The path starting at token `start` as written (`crate::gateway::protocol::ServiceId`).
fn written(tokens: &[(usize, String)], start: usize) -> String {
    let mut s = String::new();
    let mut i = start;
    while let Some((_, t)) = tokens.get(i) {
        let separator_due = !s.is_empty() && !s.ends_with("::");
        let fits = if separator_due {
            t == "::"
        } else {
            is_ident(t)
        };
        if !fits {
            break;
        }
        s.push_str(t);
        i += 1;
    }
    s
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Identifiers, `::` and single punctuation characters, each with its 1-based line.
fn tokenize(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c.is_alphanumeric() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                out.push((n + 1, chars[start..i].iter().collect()));
            } else if c == ':' && chars.get(i + 1) == Some(&':') {
                out.push((n + 1, "::".into()));
                i += 2;
            } else {
                if !c.is_whitespace() {
                    out.push((n + 1, c.to_string()));
                }
                i += 1;
            }
        }
    }
    out
}

fn targets(text: &str, path: &[&str]) -> Vec<(usize, String)> {
    let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
    references(text, &path)
        .into_iter()
        .map(|r| (r.line, r.target))
        .collect()
}

#[test]
fn the_reader_finds_paths_in_use_and_in_code_with_their_lines() {
    let text = "use crate::spec::Spec;\nuse crate::{gateway::protocol::ServiceId, store, self};\n\
                fn f() { let x = crate::docs::render::to_value(&v); }\n\
                macro_rules! m { () => { $crate::cli::output::stdout() } }\n";
    assert_eq!(
        targets(text, &["check", "forms"]),
        [
            (1, "spec".to_string()),
            (2, "gateway".to_string()),
            (2, "store".to_string()),
            (3, "docs".to_string()),
            (4, "cli".to_string()),
        ]
    );
    let path = ["check".to_string(), "forms".to_string()];
    let written: Vec<String> = references(text, &path)
        .into_iter()
        .map(|r| r.written)
        .collect();
    assert_eq!(written[0], "crate::spec::Spec");
    assert_eq!(written[3], "crate::docs::render::to_value");
}

#[test]
fn the_reader_ignores_comments_and_literals() {
    let text = "//! uses crate::serve\n/// see crate::serve::AppState\n/* crate::serve /* nested */ crate::cli */\n\
                const A: &str = \"crate::serve\";\nconst B: &str = r#\"crate::serve \"quoted\"\"#;\n\
                const C: char = '\"'; const D: char = '\\''; fn g<'a>(x: &'a str) {}\nuse crate::spec;\n";
    assert_eq!(targets(text, &["gateway", "x"]), [(7, "spec".to_string())]);
}

#[test]
fn super_counts_only_when_it_climbs_out_of_the_top_level_module() {
    let text = "use super::access;\nuse super::super::gateway::x;\nmod tests {\n    use super::super::expressions;\n    use super::super::super::serve;\n}\nuse super::super::store;\n";
    assert_eq!(
        targets(text, &["check", "workflows"]),
        [
            (2, "gateway".to_string()),
            (5, "serve".to_string()),
            (7, "store".to_string()),
        ]
    );
}

#[test]
fn the_table_is_read_from_its_rows() {
    let doc = "# A\n\n## Boundaries\n\ntext `not` a row\n\n| Module | May import |\n|---|---|\n\
               | `spec` | — |\n| `check` | `spec`, `crypto` |\n| `a` | `spec` |\n| `b` | `a` |\n\
               | `c` | `b` |\n| `d` | `c` |\n\n## Invariants\n| `x` | `y` |\n";
    let table = boundaries(doc);
    assert_eq!(table["spec"], BTreeSet::new());
    assert_eq!(
        table["check"],
        ["spec", "crypto"].map(String::from).into_iter().collect()
    );
    assert!(
        !table.contains_key("x"),
        "rows of other sections are not read"
    );
}
