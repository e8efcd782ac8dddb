//! What is shown of a list of diagnostics (by every renderer, and in `/api/status`): at most `MAX_PER_FILE` per file, then one
//! H0006 saying how many more there were, and texts cut to `MAX_TEXT` characters, so that what is
//! printed stays proportional to the input however broken the input is.

use std::collections::HashMap;

use crate::spec::diagnostics::{Diagnostic, Severity};
use crate::spec::source::{FileId, SourceSet};

/// The most diagnostics printed for one file (or for the tree as a whole, without a file).
pub const MAX_PER_FILE: usize = 100;

/// The most characters printed of one summary, detail, help or related message.
pub const MAX_TEXT: usize = 2_000;

#[derive(Default)]
struct Omitted {
    seen: usize,
    errors: usize,
    warnings: usize,
    /// Where in the output list this file's H0006 goes.
    slot: Option<usize>,
}

/// The diagnostics to print, in the order given, with an H0006 after the first `MAX_PER_FILE`
/// of each file.
pub fn shown(diagnostics: &[Diagnostic], sources: &SourceSet) -> Vec<Diagnostic> {
    let mut files: HashMap<Option<FileId>, Omitted> = HashMap::new();
    let mut out = Vec::with_capacity(diagnostics.len().min(4 * MAX_PER_FILE));
    for d in diagnostics {
        let file = files.entry(d.span.map(|s| s.file)).or_default();
        file.seen += 1;
        if file.seen <= MAX_PER_FILE {
            out.push(clipped(d));
            continue;
        }
        match d.severity {
            Severity::Error => file.errors += 1,
            Severity::Warning => file.warnings += 1,
        }
        if file.slot.is_none() {
            file.slot = Some(out.len());
            out.push(d.clone());
        }
    }
    for (file, omitted) in files {
        if let Some(slot) = omitted.slot {
            let first = &out[slot];
            let at = first.span;
            out[slot] = more(file.map(|f| sources.file(f).path.as_str()), &omitted).at(at);
        }
    }
    out
}

fn more(path: Option<&str>, omitted: &Omitted) -> Diagnostic {
    let count = omitted.errors + omitted.warnings;
    let summary = match path {
        Some(path) => format!("{count} more problem(s) in {path} not shown"),
        None => format!("{count} more problem(s) of the tree not shown"),
    };
    let d = if omitted.errors > 0 {
        Diagnostic::error("H0006", summary)
    } else {
        Diagnostic::warning("H0006", summary)
    };
    d.detail(format!(
        "{} error(s) and {} warning(s) past the first {MAX_PER_FILE}, from here on",
        omitted.errors, omitted.warnings
    ))
    .help("fix the problems shown (one mistake often causes many) and validate again")
}

fn clipped(d: &Diagnostic) -> Diagnostic {
    let mut d = d.clone();
    clip(&mut d.summary);
    clip(&mut d.detail);
    if let Some(h) = &mut d.help {
        clip(h);
    }
    for r in &mut d.related {
        clip(&mut r.message);
    }
    d.related.truncate(MAX_PER_FILE);
    d
}

fn clip(text: &mut String) {
    if let Some((cut, _)) = text.char_indices().nth(MAX_TEXT) {
        text.truncate(cut);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Span;

    #[test]
    fn past_the_bound_a_file_gets_one_count_of_the_rest() {
        let sources =
            SourceSet::from_files("/".into(), vec![("spec/a.kdl".into(), "x".repeat(1000))]);
        let at = |offset| {
            Some(Span {
                file: 0,
                offset,
                len: 1,
            })
        };
        let mut list: Vec<Diagnostic> = (0..MAX_PER_FILE + 5)
            .map(|i| Diagnostic::warning("H0101", "w").at(at(i)))
            .collect();
        list.push(Diagnostic::error("H0001", "e".repeat(MAX_TEXT + 10)).at(at(900)));
        list.push(Diagnostic::error("H0109", "no file"));
        let shown = shown(&list, &sources);
        assert_eq!(shown.len(), MAX_PER_FILE + 2);
        let more = &shown[MAX_PER_FILE];
        assert_eq!((more.code, more.severity), ("H0006", Severity::Error));
        assert_eq!(more.summary, "6 more problem(s) in spec/a.kdl not shown");
        assert_eq!(more.span, at(MAX_PER_FILE));
        assert_eq!(shown[MAX_PER_FILE + 1].code, "H0109");
        let long = Diagnostic::error("H0001", "é".repeat(MAX_TEXT + 1));
        assert_eq!(clipped(&long).summary.chars().count(), MAX_TEXT + 1);
    }
}
