//! Renders diagnostics for people and machines: human (miette, with the source line), JSON
//! (shaped like `terraform validate -json`), GitHub workflow annotations, SARIF 2.1.0 and JUnit XML.

use std::fmt::Write as _;
use std::io::IsTerminal;

use clap::ValueEnum;
use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::json;

use crate::spec::diagnostics::Span;
use crate::spec::diagnostics::{Diagnostic, Severity};
use crate::spec::shown::shown;
use crate::spec::source::{SourceFile, SourceSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Github,
    Sarif,
    Junit,
}

pub fn render(format: Format, diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    match format {
        Format::Human => human(diagnostics, sources),
        Format::Json => json_report(diagnostics, sources),
        Format::Github => github(diagnostics, sources),
        Format::Sarif => sarif(diagnostics, sources),
        Format::Junit => junit(diagnostics, sources),
    }
}

fn counts(diagnostics: &[Diagnostic]) -> (usize, usize) {
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, diagnostics.len() - errors)
}

/// A window of a source file for miette (the lines around a diagnostic, or part of one long
/// line), whose locations are those of the whole file, as `SourceFile::pos` counts them: lines
/// as KDL breaks them, columns in characters, as editors and the other formats do.
struct Window<'a> {
    name: &'a str,
    file: &'a SourceFile,
    /// Where `text` starts in the file.
    base: usize,
    text: &'a str,
}

impl SourceCode for Window<'_> {
    fn read_span<'b>(
        &'b self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'b> + 'b>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        let pos = self.file.pos(self.base + inner.span().offset());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            *inner.span(),
            pos.line - 1,
            pos.column - 1,
            inner.line_count(),
        )))
    }
}

/// The longest line shown whole; around a longer one only part of it is shown.
const MAX_LINE: usize = 300;
/// A span over more lines than this is shown by its first line.
const MAX_SPAN_LINES: usize = 8;
/// How much of a long line is shown before a span, and at most of the span itself.
const LONG_LINE_MARGIN: usize = 80;

/// The window of `file` to show for `span`, and the span relative to it. Miette reads a source
/// from its start and prints whole lines, so a window keeps each diagnostic's cost bounded.
fn window(file: &SourceFile, span: Span) -> (Window<'_>, (usize, usize)) {
    let (offset, mut len) = file.clamp(span.offset, span.len);
    let first = file.pos(offset).line;
    let mut last = file.pos(offset + len).line;
    if last - first > MAX_SPAN_LINES {
        len = file.line_range(first).end - offset;
        last = first;
    }
    let lines = first.saturating_sub(1).max(1)..=(last + 1).min(file.line_count());
    let (base, end) = if lines.clone().all(|l| file.line_range(l).len() <= MAX_LINE) {
        (
            file.line_range(*lines.start()).start,
            file.line_range(*lines.end()).end,
        )
    } else {
        let line = file.line_range(first);
        let content_end = line.start + file.line(first).len();
        let base = file
            .text
            .floor_char_boundary(offset.saturating_sub(LONG_LINE_MARGIN).max(line.start));
        let end = file
            .text
            .floor_char_boundary(
                (offset + len.min(2 * LONG_LINE_MARGIN) + LONG_LINE_MARGIN).min(content_end),
            )
            .max(offset);
        (base, end)
    };
    let window = Window {
        name: &file.path,
        file,
        base,
        text: &file.text[base..end],
    };
    (window, (offset - base, len.min(end - offset)))
}

/// A diagnostic prepared for miette's graphical handler.
struct Report<'a> {
    d: &'a Diagnostic,
    source: Option<Window<'a>>,
    labels: Vec<LabeledSpan>,
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.d.summary)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.d.summary)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        let text = match (&self.d.detail, &self.d.help) {
            (d, Some(h)) if !d.is_empty() => format!("{d}\n{h}"),
            (_, Some(h)) => h.clone(),
            (d, None) if !d.is_empty() => d.clone(),
            _ => return None,
        };
        Some(Box::new(text))
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            None
        } else {
            Some(Box::new(self.labels.clone().into_iter()))
        }
    }
}

fn human(diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    let theme = if std::io::stdout().is_terminal() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for d in &shown(diagnostics, sources) {
        let mut elsewhere = Vec::new();
        let (source, labels) = match d.span {
            Some(span) => {
                let (window, here) = window(sources.file(span.file), span);
                let mut labels = vec![LabeledSpan::new_primary_with_span(
                    Some("here".into()),
                    here,
                )];
                for r in &d.related {
                    let (offset, len) = window.file.clamp(r.span.offset, r.span.len);
                    let inside = r.span.file == span.file
                        && offset >= window.base
                        && offset + len <= window.base + window.text.len();
                    if inside {
                        labels.push(LabeledSpan::new_with_span(
                            Some(r.message.clone()),
                            (offset - window.base, len),
                        ));
                    } else {
                        elsewhere.push(r);
                    }
                }
                (Some(window), labels)
            }
            None => {
                elsewhere.extend(&d.related);
                (None, Vec::new())
            }
        };
        let report = Report { d, source, labels };
        let _ = handler.render_report(&mut out, &report);
        for r in elsewhere {
            let range = sources.range(r.span);
            let _ = writeln!(
                out,
                "  ↳ {}: {}:{}:{}",
                r.message, range.filename, range.start.line, range.start.column
            );
        }
        out.push('\n');
    }
    let (errors, warnings) = counts(diagnostics);
    if diagnostics.is_empty() {
        out.push_str("Success! The spec is valid.\n");
    } else {
        let _ = writeln!(out, "{errors} error(s), {warnings} warning(s)");
    }
    out
}

fn json_report(diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    let (errors, warnings) = counts(diagnostics);
    let list: Vec<_> = shown(diagnostics, sources)
        .iter()
        .map(|d| d.located(sources))
        .collect();
    let report = json!({
        "format_version": "1.0",
        "valid": errors == 0,
        "error_count": errors,
        "warning_count": warnings,
        "diagnostics": list,
    });
    serde_json::to_string_pretty(&report).expect("diagnostics serialise") + "\n"
}

/// Escapes a workflow command's data (the message).
fn gh_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (file, title).
fn gh_prop(s: &str) -> String {
    gh_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn github(diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    let mut out = String::new();
    for d in &shown(diagnostics, sources) {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(r) = d.range(sources) {
            props.push(format!("file={}", gh_prop(&r.filename)));
            props.push(format!("line={}", r.start.line));
            props.push(format!("col={}", r.start.column));
            props.push(format!("endLine={}", r.end.line));
            props.push(format!("endColumn={}", r.end.column));
        }
        props.push(format!(
            "title={}",
            gh_prop(&format!("{} {}", d.code, d.summary))
        ));
        let mut message = d.summary.clone();
        if !d.detail.is_empty() {
            message.push('\n');
            message.push_str(&d.detail);
        }
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        let _ = writeln!(out, "::{level} {}::{}", props.join(","), gh_data(&message));
    }
    out
}

fn sarif(diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    let diagnostics = shown(diagnostics, sources);
    let mut codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    codes.sort_unstable();
    codes.dedup();
    let results: Vec<_> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.summary.clone();
            if let Some(h) = &d.help {
                text.push_str(" — ");
                text.push_str(h);
            }
            let mut v = json!({
                "ruleId": d.code,
                "level": match d.severity { Severity::Error => "error", Severity::Warning => "warning" },
                "message": {"text": text},
            });
            if let Some(r) = d.range(sources) {
                v["locations"] = json!([{
                    "physicalLocation": {
                        "artifactLocation": {"uri": r.filename},
                        "region": {
                            "startLine": r.start.line, "startColumn": r.start.column,
                            "endLine": r.end.line, "endColumn": r.end.column,
                        }
                    }
                }]);
            }
            if !d.related.is_empty() {
                v["relatedLocations"] = d
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, rel)| {
                        let r = sources.range(rel.span);
                        json!({
                            "id": i,
                            "message": {"text": rel.message},
                            "physicalLocation": {
                                "artifactLocation": {"uri": r.filename},
                                "region": {"startLine": r.start.line, "startColumn": r.start.column}
                            }
                        })
                    })
                    .collect();
            }
            v
        })
        .collect();
    let report = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hromada",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": codes.iter().map(|c| json!({"id": c})).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&report).expect("SARIF serialises") + "\n"
}

/// Escapes text for XML; characters XML 1.0 does not allow at all (NUL and the other C0 controls
/// but tab and line breaks, U+FFFE, U+FFFF) become U+FFFD, so the report stays well-formed.
pub(crate) fn xml(s: &str) -> String {
    s.replace(
        |c: char| matches!(c, '\0'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'),
        "\u{fffd}",
    )
    .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit(diagnostics: &[Diagnostic], sources: &SourceSet) -> String {
    let diagnostics = &shown(diagnostics, sources);
    let (errors, warnings) = counts(diagnostics);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"hromada validate\" tests=\"{}\" failures=\"{errors}\">",
        diagnostics.len().max(1)
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"spec\" tests=\"{}\" failures=\"{errors}\" skipped=\"{warnings}\">",
        diagnostics.len().max(1)
    );
    if diagnostics.is_empty() {
        out.push_str("    <testcase name=\"spec is valid\" classname=\"hromada.validate\"/>\n");
    }
    for d in diagnostics {
        let location = d
            .range(sources)
            .map(|r| format!("{}:{}:{}", r.filename, r.start.line, r.start.column))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    <testcase name=\"{} {}\" classname=\"{}\">",
            d.code,
            xml(&location),
            xml(&location
                .split(':')
                .next()
                .unwrap_or("spec")
                .replace('/', "."))
        );
        let body = format!(
            "{}\n{}\n{}",
            d.summary,
            d.detail,
            d.help.clone().unwrap_or_default()
        );
        match d.severity {
            Severity::Error => {
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    xml(&d.summary),
                    d.code,
                    xml(&body)
                );
            }
            Severity::Warning => {
                let _ = writeln!(
                    out,
                    "      <skipped message=\"warning: {}\"/>",
                    xml(&d.summary)
                );
            }
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_file(text: &str) -> SourceSet {
        SourceSet::from_files("/".into(), vec![("spec/a.kdl".into(), text.into())])
    }

    fn at(offset: usize, len: usize) -> Option<Span> {
        Some(Span {
            file: 0,
            offset,
            len,
        })
    }

    #[test]
    fn a_diagnostic_far_along_a_long_line_shows_part_of_it_at_its_true_column() {
        let text = format!("a \"{}\" б=\n", "x".repeat(100_000));
        let sources = one_file(&text);
        let offset = text.find('б').unwrap();
        let d = Diagnostic::error("H0001", "here").at(at(offset, 2));
        let out = human(&[d], &sources);
        assert!(out.contains("[spec/a.kdl:1:100006]"), "{out}");
        assert!(out.len() < 2_000, "{} bytes", out.len());
    }

    #[test]
    fn a_span_inside_a_character_or_past_the_end_is_shown_without_panicking() {
        let sources = one_file("role \"бб\"\n");
        for (offset, len) in [(7, 1), (8, 100), (500, 3), (0, usize::MAX / 2)] {
            let d = Diagnostic::error("H0001", "odd span").at(at(offset, len));
            for format in [
                Format::Human,
                Format::Json,
                Format::Github,
                Format::Sarif,
                Format::Junit,
            ] {
                render(format, std::slice::from_ref(&d), &sources);
            }
        }
    }

    #[test]
    fn a_span_over_many_lines_is_shown_by_its_first() {
        let text = "a {\n".to_string() + &"    b 1\n".repeat(1_000) + "}\n";
        let sources = one_file(&text);
        let d = Diagnostic::error("H0101", "big node").at(at(0, text.len()));
        let out = human(&[d], &sources);
        assert!(out.matches("b 1").count() <= 2, "{out}");
    }

    #[test]
    fn junit_stays_well_formed_whatever_a_message_holds() {
        let d = Diagnostic::error("H0202", "unknown `gw\0\u{fffe}\u{1b}` & <x>");
        let out = junit(&[d], &one_file(""));
        assert!(!out.contains(['\0', '\u{fffe}', '\u{1b}']), "{out}");
        assert!(out.contains("&amp; &lt;x&gt;"), "{out}");
    }
}
