//! The results of `hromada test` for people (one line per scenario, differences under a
//! failure), as JSON, and as JUnit XML that CI systems show (a suite per e-service).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::json;

use super::TestFormat;
use super::run::Difference;
use crate::cli::render::xml;
use crate::spec::{Kind, Loaded};

/// Where something is written: `file:line:col`.
#[derive(Debug, Clone, PartialEq)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of `pointer` inside scenario `id`, or of the scenario itself.
    pub fn of(loaded: &Loaded, id: &str, pointer: &str) -> Option<Location> {
        let span = loaded
            .map
            .at(Kind::Scenario, id, pointer)
            .or_else(|| loaded.map.at(Kind::Scenario, id, ""))?;
        let r = loaded.sources.range(span);
        Some(Location {
            file: r.filename,
            line: r.start.line,
            column: r.start.column,
        })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// One scenario's result.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    pub id: String,
    pub title: String,
    pub e_service: String,
    pub location: Option<Location>,
    pub differences: Vec<(Option<Location>, Difference)>,
    /// Why it could not run at all.
    pub error: Option<String>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.error.is_none()
    }

    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(e) = &self.error {
            lines.push(format!("could not run: {e}"));
        }
        for (at, d) in &self.differences {
            let at = at.as_ref().map_or(String::new(), |l| format!("{l}: "));
            lines.push(format!(
                "{at}{}\n    expected: {}\n    actual:   {}",
                d.what, d.expected, d.actual
            ));
        }
        lines
    }
}

fn located(l: &Option<Location>) -> String {
    l.as_ref().map(ToString::to_string).unwrap_or_default()
}

pub fn render(format: TestFormat, reports: &[ScenarioReport]) -> String {
    match format {
        TestFormat::Human => human(reports),
        TestFormat::Json => {
            serde_json::to_string_pretty(&as_json(reports)).expect("serialises") + "\n"
        }
        TestFormat::Junit => junit(reports),
    }
}

fn human(reports: &[ScenarioReport]) -> String {
    let mut out = String::new();
    if reports.is_empty() {
        out.push_str("The spec declares no scenarios: nothing to run.\n");
        return out;
    }
    for r in reports {
        let verdict = if r.passed() { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "{verdict} {}  {}  {}",
            r.id,
            located(&r.location),
            r.title
        );
        for line in r.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    let failed = reports.iter().filter(|r| !r.passed()).count();
    let _ = writeln!(out, "\n{} passed, {failed} failed", reports.len() - failed);
    out
}

fn as_json(reports: &[ScenarioReport]) -> serde_json::Value {
    let failed = reports.iter().filter(|r| !r.passed()).count();
    json!({
        "passed": reports.len() - failed,
        "failed": failed,
        "scenarios": reports.iter().map(|r| json!({
            "id": r.id,
            "title": r.title,
            "e-service": r.e_service,
            "location": located(&r.location),
            "result": if r.passed() { "passed" } else { "failed" },
            "error": r.error,
            "differences": r.differences.iter().map(|(at, d)| json!({
                "location": located(at),
                "what": d.what,
                "expected": d.expected,
                "actual": d.actual,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

fn junit(reports: &[ScenarioReport]) -> String {
    let mut suites: BTreeMap<&str, Vec<&ScenarioReport>> = BTreeMap::new();
    for r in reports {
        suites.entry(r.e_service.as_str()).or_default().push(r);
    }
    let failures = |rs: &[&ScenarioReport]| rs.iter().filter(|r| !r.passed()).count();
    let all: Vec<&ScenarioReport> = reports.iter().collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"hromada test\" tests=\"{}\" failures=\"{}\">",
        reports.len(),
        failures(&all)
    );
    for (e_service, rs) in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            xml(e_service),
            rs.len(),
            failures(rs)
        );
        for r in rs {
            let (file, line) = r
                .location
                .as_ref()
                .map_or((String::new(), 0), |l| (l.file.clone(), l.line));
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"scenarios.{}\" file=\"{}\" line=\"{line}\"",
                xml(&r.id),
                xml(e_service),
                xml(&file)
            );
            if r.passed() {
                out.push_str("/>\n");
                continue;
            }
            let first = r.lines().first().cloned().unwrap_or_default();
            let summary = first.lines().next().unwrap_or_default();
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"scenario\">{}\n{}</failure>\n    </testcase>",
                xml(summary),
                xml(&format!("{} ({})", r.title, located(&r.location))),
                xml(&r.lines().join("\n"))
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
