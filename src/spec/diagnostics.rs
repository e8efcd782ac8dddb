//! One diagnostic type for everything `validate` reports: parse, decode, check and policy.
//! A diagnostic carries a stable code, a severity and a source location (file, 1-based line and
//! column, byte offsets). `Located` is its JSON form; renderers in `crate::cli::render` turn a
//! list of them into each output format.

use serde::Serialize;

use super::source::{FileId, SourceSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A byte range inside one source file of a spec tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span {
    pub file: FileId,
    pub offset: usize,
    pub len: usize,
}

/// A position a person can find in an editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
    pub byte: usize,
}

/// A located range, resolved against the source text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Range {
    pub filename: String,
    pub start: Pos,
    pub end: Pos,
}

/// A secondary location: the policy rule that was broken, the first of two duplicates, …
#[derive(Debug, Clone)]
pub struct Related {
    pub span: Span,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub help: Option<String>,
    pub span: Option<Span>,
    pub related: Vec<Related>,
}

impl Diagnostic {
    pub fn error(code: &'static str, summary: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            summary: summary.into(),
            detail: String::new(),
            help: None,
            span: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, summary: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, summary)
        }
    }

    pub fn at(mut self, span: Option<Span>) -> Self {
        self.span = span;
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn related(mut self, span: Option<Span>, message: impl Into<String>) -> Self {
        if let Some(span) = span {
            self.related.push(Related {
                span,
                message: message.into(),
            });
        }
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn range(&self, sources: &SourceSet) -> Option<Range> {
        self.span.map(|span| sources.range(span))
    }
}

/// A diagnostic as JSON shows it (`validate --format json`, `/api/status`, the reconcile
/// history): its spans resolved to file, line and column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Located {
    pub severity: Severity,
    pub code: &'static str,
    pub summary: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<Range>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RelatedRange>,
}

/// A secondary location of a [`Located`] diagnostic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelatedRange {
    pub message: String,
    pub range: Range,
}

impl Diagnostic {
    /// Its JSON form, located in `sources`.
    pub fn located(&self, sources: &SourceSet) -> Located {
        Located {
            severity: self.severity,
            code: self.code,
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            help: self.help.clone(),
            range: self.range(sources),
            related: self
                .related
                .iter()
                .map(|r| RelatedRange {
                    message: r.message.clone(),
                    range: sources.range(r.span),
                })
                .collect(),
        }
    }
}

/// Suggests the closest known name for a misspelt one, when one is close enough to be a likely typo.
pub fn did_you_mean<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(wrong, k), k))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean `{k}`?"))
}

/// Sorts diagnostics into reading order: by file, then position, then code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        let key = |d: &Diagnostic| d.span.map(|s| (s.file, s.offset));
        key(a)
            .cmp(&key(b))
            .then(a.code.cmp(b.code))
            .then(a.summary.cmp(&b.summary))
    });
}
