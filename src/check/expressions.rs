//! Expressions of forms and workflows — form rules, `visible-if` conditions and transition
//! guards — are minijinja expressions: each must compile (H0611), may name only the variables
//! in its scope (H0612) and only filters and tests minijinja has (H0613; minijinja itself finds
//! an unknown one only when it runs). Forms and workflows both check theirs through
//! `check_expression`.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::OnceLock;

use minijinja::Environment;

use crate::spec::diagnostics::did_you_mean;
use crate::spec::{Diagnostic, Kind, Span};

use super::Checker;

/// The environment every expression is compiled in, built once: a large tree has thousands.
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(Environment::new)
}

/// The longest expression, and the longest `{{ … }}` or `{% … %}` tag of a template, handed to
/// minijinja: its parser recurses once per unary minus and its compiler once per link of a chain
/// (`a.b.c…`, `x|f|g…`, `a + b + …`), so a longer one could overflow the stack of the thread that
/// checks it (2 MB in `serve`'s reconciler).
pub(super) const MAX_EXPRESSION: usize = 500;

/// The names an expression may use, and how to describe them to the author.
pub(super) struct Scope<'s> {
    pub names: &'s BTreeSet<String>,
    /// What the names are, e.g. "the fields and groups of form `subsidy`".
    pub what: &'s str,
}

/// Why an expression does not compile.
#[derive(Debug, PartialEq)]
pub(super) struct SyntaxError {
    pub message: String,
    /// Byte range inside the expression, when minijinja knows it.
    pub range: Option<Range<usize>>,
}

/// Compiles `expr` and returns the variables it names that are neither in `names` nor minijinja
/// globals (`range`, `dict`, …), sorted. With no `names`, any variable is accepted.
pub(super) fn analyse(
    expr: &str,
    names: Option<&BTreeSet<String>>,
) -> Result<Vec<String>, SyntaxError> {
    if expr.len() > MAX_EXPRESSION {
        return Err(SyntaxError {
            message: format!(
                "the expression is {} bytes long, longer than the {MAX_EXPRESSION} an expression may be",
                expr.len()
            ),
            range: None,
        });
    }
    let env = environment();
    let compiled = env
        .compile_expression_owned(expr.to_string())
        .map_err(|e| SyntaxError {
            message: match e.detail() {
                Some(detail) => format!("{}: {detail}", e.kind()),
                None => e.kind().to_string(),
            },
            range: e.range(),
        })?;
    let Some(names) = names else {
        return Ok(Vec::new());
    };
    let mut unknown: Vec<String> = compiled
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !names.contains(v) && !env.globals().any(|(g, _)| g == v))
        .collect();
    unknown.sort();
    Ok(unknown)
}

/// The dotted paths an expression reads below `root` (`registry.balance.debt_uah` for root
/// `registry`), sorted; empty when it does not compile (H0611 reports that).
pub(super) fn paths_under(expr: &str, root: &str) -> Vec<String> {
    if expr.len() > MAX_EXPRESSION {
        return Vec::new();
    }
    let Ok(compiled) = environment().compile_expression_owned(expr.to_string()) else {
        return Vec::new();
    };
    let prefix = format!("{root}.");
    let mut paths: Vec<String> = compiled
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| v.starts_with(&prefix))
        .collect();
    paths.sort();
    paths
}

/// Checks one expression written at `pointer` of node `id`: H0611 when it does not compile,
/// H0612 for every name outside `scope` (no scope: names are not checked).
pub(super) fn check_expression(
    c: &mut Checker,
    kind: Kind,
    id: &str,
    pointer: &str,
    expr: &str,
    scope: Option<&Scope>,
) {
    let at = c.at(kind, id, pointer);
    match analyse(expr, scope.map(|s| s.names)) {
        Err(e) => {
            let span = match (&e.range, at) {
                (Some(range), Some(at)) => narrow(c, at, expr, range).or(Some(at)),
                _ => at,
            };
            c.report(
                Diagnostic::error("H0611", format!("expression `{expr}` does not compile"))
                    .at(span)
                    .detail(e.message)
                    .help(
                        "write a minijinja expression, e.g. `income >= 0 and family|length <= 10`",
                    ),
            );
        }
        Ok(unknown) => {
            for (what, name, range) in unknown_callables(expr) {
                c.report(
                    Diagnostic::error(
                        "H0613",
                        format!("expression `{expr}` uses unknown {what} `{name}`"),
                    )
                    .at(at.and_then(|at| narrow(c, at, expr, &range)).or(at))
                    .detail(format!(
                        "minijinja has no {what} `{name}`; the expression would fail each time it \
                         is judged"
                    ))
                    .help(match what {
                        "filter" => {
                            "use a built-in filter, e.g. `length`, `lower`, `upper`, \
                                     `default`, `int`, `float`, `round`, `abs`, `trim`, `first`, \
                                     `last`, `join`"
                        }
                        _ => {
                            "use a built-in test, e.g. `defined`, `none`, `number`, `string`, \
                              `odd`, `even`, `in`"
                        }
                    }),
                );
            }
            let Some(scope) = scope else { return };
            for name in unknown {
                let help = match did_you_mean(&name, scope.names.iter().map(String::as_str)) {
                    Some(h) => h,
                    None if scope.names.is_empty() => {
                        format!(
                            "declare the field it means first; the expression may use {}",
                            scope.what
                        )
                    }
                    None => format!("use one of {}", list(scope.names)),
                };
                c.report(
                    Diagnostic::error(
                        "H0612",
                        format!("expression `{expr}` names unknown `{name}`"),
                    )
                    .at(at
                        .zip(name_range(expr, &name))
                        .and_then(|(at, range)| narrow(c, at, expr, &range))
                        .or(at))
                    .detail(format!("the expression may use {}", scope.what))
                    .help(help),
                );
            }
        }
    }
}

/// Narrows the span of a written expression to `range` inside it, when the value is a plain
/// one-line quoted string (so that byte offsets in the expression map one to one onto the file).
fn narrow(c: &Checker, at: Span, expr: &str, range: &Range<usize>) -> Option<Span> {
    if expr.contains(['"', '\\', '\n', '\r']) || range.start > expr.len() {
        return None;
    }
    let text = &c.loaded.sources.file(at.file).text;
    let written = text.get(at.offset..at.offset + at.len)?;
    if !written.ends_with(&format!("\"{expr}\"")) {
        return None;
    }
    let opening_quote = at.offset + at.len - expr.len() - 2;
    Some(Span {
        file: at.file,
        offset: opening_quote + 1 + range.start,
        len: range.end.min(expr.len()).saturating_sub(range.start).max(1),
    })
}

/// Where `name` is first used as a variable in `expr`: a whole identifier outside string
/// literals and not an attribute (`x.name`).
fn name_range(expr: &str, name: &str) -> Option<Range<usize>> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut previous = ' ';
    for (i, ch) in expr.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                }
            }
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if !ident(previous) && previous != '.' && expr[i..].starts_with(name) => {
                let end = i + name.len();
                if !expr[end..].starts_with(ident) {
                    return Some(i..end);
                }
            }
            None => {}
        }
        previous = ch;
    }
    None
}

/// The filters (`x|name`) and tests (`x is name`, `x is not name`) an expression uses that
/// minijinja does not have, with their ranges, in order. Names are read outside string literals;
/// whether minijinja has one is asked of minijinja itself.
fn unknown_callables(expr: &str) -> Vec<(&'static str, String, Range<usize>)> {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let word_at = |from: usize| -> Option<Range<usize>> {
        let start = from + expr[from..].len() - expr[from..].trim_start().len();
        let len = expr[start..]
            .find(|c: char| !ident(c))
            .unwrap_or(expr.len() - start);
        (len > 0).then(|| start..start + len)
    };
    let mut found = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut previous = ' ';
    for (i, ch) in expr.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if ch == '\\' {
                    escaped = true;
                } else if ch == q {
                    quote = None;
                }
            }
            None if ch == '\'' || ch == '"' => quote = Some(ch),
            None if ch == '|' => {
                if let Some(r) = word_at(i + 1) {
                    found.push(("filter", r));
                }
            }
            None if !ident(previous)
                && previous != '.'
                && expr[i..].starts_with("is")
                && !expr[i + 2..].starts_with(ident) =>
            {
                let mut next = word_at(i + 2);
                if let Some(r) = next.clone().filter(|r| &expr[r.clone()] == "not") {
                    next = word_at(r.end);
                }
                if let Some(r) = next {
                    found.push(("test", r));
                }
            }
            None => {}
        }
        previous = ch;
    }
    found
        .into_iter()
        .filter(|(what, r)| {
            let name = &expr[r.clone()];
            let probe = match *what {
                "filter" => format!("none|{name}"),
                _ => format!("none is {name}"),
            };
            let kind = match *what {
                "filter" => minijinja::ErrorKind::UnknownFilter,
                _ => minijinja::ErrorKind::UnknownTest,
            };
            environment()
                .compile_expression_owned(probe)
                .is_ok_and(|e| e.eval(()).is_err_and(|err| err.kind() == kind))
        })
        .map(|(what, r)| (what, expr[r.clone()].to_string(), r))
        .collect()
}

fn list(names: &BTreeSet<String>) -> String {
    let mut shown: Vec<String> = names.iter().take(8).map(|n| format!("`{n}`")).collect();
    if names.len() > 8 {
        shown.push("…".into());
    }
    shown.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn compiles_and_finds_unknown_names() {
        let known = names(&["income", "family", "registry"]);
        assert_eq!(
            analyse("income >= 0 and family|length < 10", Some(&known)),
            Ok(vec![])
        );
        assert_eq!(
            analyse("incom > 0 or registry.water.debt > 0 or age", Some(&known)),
            Ok(vec!["age".to_string(), "incom".to_string()])
        );
    }

    #[test]
    fn globals_and_unchecked_scopes_are_accepted() {
        assert_eq!(analyse("3 in range(5)", Some(&names(&[]))), Ok(vec![]));
        assert_eq!(analyse("anything > 1", None), Ok(vec![]));
        let chain = format!("{}x", "-".repeat(MAX_EXPRESSION));
        assert!(
            analyse(&chain, None)
                .unwrap_err()
                .message
                .contains("longer than")
        );
        assert!(paths_under(&chain, "registry").is_empty());
    }

    #[test]
    fn names_are_found_outside_strings_and_attributes() {
        let expr = "'age' != x.age and (age > 18 or ages)";
        assert_eq!(name_range(expr, "age"), Some(20..23));
        assert_eq!(name_range("ages > 1", "age"), None);
        assert_eq!(name_range(r#""a\"age" ~ age"#, "age"), Some(11..14));
    }

    #[test]
    fn unknown_filters_and_tests_are_found_with_their_ranges() {
        let expr = "x|lenght > 1 and y | length and '|nope' and z is nosuch and w is not defined";
        let found = unknown_callables(expr);
        assert_eq!(
            found,
            vec![
                ("filter", "lenght".to_string(), 2..8),
                ("test", "nosuch".to_string(), 49..55),
            ]
        );
        assert!(unknown_callables("a|default(1) is number and b|round(2)").is_empty());
        assert!(unknown_callables("island > 1 and x.is_open and y.is").is_empty());
    }

    #[test]
    fn syntax_errors_carry_a_range() {
        let err = analyse("income >= ", None).unwrap_err();
        assert!(err.message.contains("syntax error"), "{}", err.message);
        assert!(err.range.is_some());
        let err = analyse("a + (b", None).unwrap_err();
        assert!(err.message.contains("syntax error"), "{}", err.message);
    }
}
