//! Every check has a failing fixture: `tests/fixtures/<name>/` holds files laid over a copy of
//! `examples/minimal/` and an `expected.txt` listing exactly the diagnostics `validate` must
//! report (`severity code file:line:col`). Dates are judged as of `FIXTURE_DATE`.

mod common;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

const FIXTURE_DATE: &str = "2027-01-15";

use common::copy_tree;

/// Builds the tree of one fixture and returns what `validate` reports, one line per diagnostic.
fn run_fixture(dir: &Path) -> (tempfile::TempDir, Vec<String>) {
    let root = env!("CARGO_MANIFEST_DIR");
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&Path::new(root).join("examples/minimal"), tmp.path());
    copy_tree(dir, tmp.path());
    let as_of = NaiveDate::parse_from_str(FIXTURE_DATE, "%Y-%m-%d").unwrap();
    let (loaded, diagnostics) = hromada::cli::validate::validate(tmp.path(), Some(as_of));
    let lines = diagnostics
        .iter()
        .map(|d| {
            let severity = if d.is_error() { "error" } else { "warning" };
            match d.range(&loaded.sources) {
                Some(r) => format!(
                    "{severity} {} {}:{}:{}",
                    d.code, r.filename, r.start.line, r.start.column
                ),
                None => format!("{severity} {}", d.code),
            }
        })
        .collect();
    (tmp, lines)
}

fn expected(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("expected.txt"))
        .unwrap_or_else(|_| panic!("{} has no expected.txt", dir.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut list: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        // A check's fixture is named by its code; `sev/` holds СЕВ ОВВ messages, not a tree.
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('H'))
        })
        .collect();
    list.sort();
    list
}

#[test]
fn every_fixture_reports_exactly_its_diagnostics() {
    let mut failures = Vec::new();
    let all = fixtures();
    assert!(all.len() >= 10, "fixtures are missing");
    for dir in all {
        let mut want = expected(&dir);
        let (_tmp, mut got) = run_fixture(&dir);
        want.sort();
        got.sort();
        if want != got {
            failures.push(format!(
                "{}:\n  expected: {want:#?}\n  reported: {got:#?}",
                dir.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "fixtures disagree with validate:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_minimal_example_is_valid_as_of_the_fixture_date() {
    let tmp = tempfile::tempdir().unwrap();
    let (_t, got) = run_fixture(tmp.path());
    assert!(got.is_empty(), "examples/minimal reports: {got:#?}");
}

/// Every diagnostic code the checks can report has a failing fixture, except the two about the
/// tree itself (H0002 unreadable file, H0003 no spec files), which `tests/cli.rs` covers,
/// H0004 (the node `serve --node` names is not declared), which `tests/serve.rs` covers, and
/// H0006 (more problems in a file than are printed), which only the renderers report and
/// `tests/hardening/loader.rs` covers, H0714 (open cases stranded by a revision), which the
/// reconciler reports against the store's cases and `reconcile::cases` covers, and H0007 (a
/// commit not signed by a trusted key), which the reconciler reports and `tests/gitops/trust.rs`
/// covers.
#[test]
fn every_code_has_a_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let code = regex::Regex::new(r#""(H[0-9]{4})""#).unwrap();
    let mut codes = std::collections::BTreeSet::new();
    for entry in walkdir::WalkDir::new(root.join("src"))
        .into_iter()
        .flatten()
    {
        if entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            codes.extend(code.captures_iter(&text).map(|c| c[1].to_string()));
        }
    }
    let fixtures: Vec<String> = fixtures()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !["H0002", "H0003", "H0004", "H0006", "H0007", "H0714"].contains(&c.as_str()))
        .filter(|c| !fixtures.iter().any(|f| f.starts_with(c.as_str())))
        .collect();
    assert!(missing.is_empty(), "codes without a fixture: {missing:?}");
}
