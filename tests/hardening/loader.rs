//! The spec loader on malformed input (issue 11, finding 10): every crasher found by fuzzing
//! (`tests/data/crashers/`, each laid over `examples/minimal/`) is replayed through the real
//! binary in all five formats, and property tests mutate the repository's own spec files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hromada::cli::render::{Format, render};
use proptest::prelude::*;

use super::common::{copy_tree, hromada};

const FORMATS: [&str; 5] = ["human", "json", "github", "sarif", "junit"];

/// What a crasher may print at most, whatever it holds: 100 diagnostics a file, each bounded.
const MAX_OUTPUT: usize = 1 << 20;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn crashers() -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/data/crashers"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    list.sort();
    list
}

/// `examples/minimal/` with the crasher's files laid over it.
fn tree(crasher: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("examples/minimal"), tmp.path());
    copy_tree(crasher, tmp.path());
    tmp
}

fn validate(root: &Path, format: &str) -> Output {
    hromada(&[
        "validate",
        root.to_str().unwrap(),
        "--format",
        format,
        "--as-of",
        "2027-01-15",
    ])
}

/// No panic, no abort: exit 1, stderr free of Rust's panic and stack overflow messages.
fn assert_refused(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: expected exit 1, got {:?}; stderr: {}",
        out.status,
        stderr.chars().take(2000).collect::<String>()
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("overflow"),
        "{what}: {stderr}"
    );
}

#[test]
fn every_crasher_gets_diagnostics_and_exit_1_alike_in_all_five_formats() {
    let all = crashers();
    assert!(all.len() >= 11, "the crasher corpus is missing");
    for crasher in all {
        let name = crasher.file_name().unwrap().to_string_lossy().into_owned();
        let tmp = tree(&crasher);
        for format in FORMATS {
            let out = validate(tmp.path(), format);
            let what = format!("{name} --format {format}");
            assert_refused(&what, &out);
            assert!(
                out.stdout.len() < MAX_OUTPUT,
                "{what}: {} bytes printed",
                out.stdout.len()
            );
            let text = String::from_utf8(out.stdout).expect("output is UTF-8");
            match format {
                "json" => {
                    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(report["valid"], false, "{what}");
                    let located = report["diagnostics"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|d| d["range"]["start"]["line"].as_u64().is_some());
                    assert!(located, "{what}: no diagnostic with a position: {text}");
                }
                "junit" => {
                    roxmltree::Document::parse(&text)
                        .unwrap_or_else(|e| panic!("{what}: JUnit is not well-formed XML: {e}"));
                }
                "sarif" => {
                    serde_json::from_str::<serde_json::Value>(&text).unwrap();
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_file_that_is_not_utf8_is_reported_at_its_first_bad_byte() {
    let tmp = tree(&repo().join("tests/data/crashers/not-utf8"));
    let out = validate(tmp.path(), "json");
    assert_refused("not-utf8", &out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let h0002 = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "H0002")
        .expect("an H0002");
    let range = &h0002["range"];
    assert_eq!(range["filename"], "spec/latin1.kdl");
    assert_eq!(
        (
            range["start"]["line"].as_u64(),
            range["start"]["column"].as_u64()
        ),
        (Some(2), Some(14))
    );
    assert!(
        h0002["detail"].as_str().unwrap().contains("0xE9"),
        "{h0002}"
    );
}

#[test]
fn nesting_past_the_bound_is_one_diagnostic_where_it_is_passed() {
    let tmp = tree(&repo().join("tests/data/crashers/deep-braces"));
    let out = validate(tmp.path(), "json");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &report["diagnostics"][0];
    assert_eq!(d["code"], "H0005", "{report}");
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_eq!(d["range"]["start"]["column"], 3 * 64 + 3);
}

#[test]
fn past_100_diagnostics_a_file_reports_how_many_more_there_were() {
    let stray = tempfile::tempdir().unwrap();
    std::fs::create_dir(stray.path().join("spec")).unwrap();
    std::fs::write(stray.path().join("spec/stray.kdl"), "}\n".repeat(1_000)).unwrap();
    let tmp = tree(stray.path());
    for format in FORMATS {
        let out = validate(tmp.path(), format);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("H0006") && text.contains("more problem(s) in spec/stray.kdl not shown"),
            "{format}: {}",
            text.chars().take(3000).collect::<String>()
        );
    }
    let out = validate(tmp.path(), "json");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let shown = report["diagnostics"].as_array().unwrap().len();
    assert!(shown <= 102, "{shown} diagnostics printed");
    assert_eq!(
        report["error_count"], 1_000,
        "the count covers what was not printed"
    );
}

#[test]
fn spec_export_into_a_closed_pipe_ends_quietly() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(["spec", "export", repo().to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn docs_and_spec_export_refuse_crashers_without_panicking() {
    for name in ["deep-braces", "line-separator-in-multiline-string"] {
        let tmp = tree(&repo().join("tests/data/crashers").join(name));
        let root = tmp.path().to_str().unwrap();
        let site = tmp.path().join("site");
        assert_refused(name, &hromada(&["spec", "export", root]));
        assert_refused(
            name,
            &hromada(&["docs", root, "--out", site.to_str().unwrap()]),
        );
    }
}

/// The spec files of the example city, as the mutations' starting points.
fn city() -> Vec<(String, String)> {
    let mut files = Vec::new();
    for folder in ["spec", "policies"] {
        for entry in walkdir::WalkDir::new(repo().join(folder)).sort_by_file_name() {
            let entry = entry.unwrap();
            if entry.path().extension().is_some_and(|e| e == "kdl") {
                let rel = entry.path().strip_prefix(repo()).unwrap();
                let text = std::fs::read_to_string(entry.path()).unwrap();
                files.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
        }
    }
    files
}

/// One edit of a file's text; positions are fractions of its length, so that any text works.
#[derive(Debug, Clone)]
enum Edit {
    Insert(f64, String),
    Delete(f64, usize),
    FlipAscii(f64, u8),
    Truncate(f64),
    Nest(f64, usize),
    Repeat(f64, usize, usize),
    /// A long run of one operator at the start of an expression or template tag where the file
    /// has one (`----x`, `x.a.a…`), else anywhere.
    Chain(f64, &'static str, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        Just("\u{2028}"),
        Just("\u{fffe}"),
        Just("\0"),
        Just("б"),
        Just("😀"),
        Just("\u{85}"),
        Just("{"),
        Just("}"),
        Just("\""),
        Just("\"\"\""),
        Just("#\""),
        Just("/*"),
        Just("*/"),
        Just("/-"),
        Just("\\"),
        Just("="),
        Just("\n"),
        Just("\r"),
        Just("{{"),
        Just("("),
    ];
    prop_oneof![
        (0.0..1.0, piece, 1usize..6).prop_map(|(at, p, n)| Edit::Insert(at, p.repeat(n))),
        (0.0..1.0, any::<char>()).prop_map(|(at, c)| Edit::Insert(at, c.to_string())),
        (0.0..1.0, 1usize..40).prop_map(|(at, n)| Edit::Delete(at, n)),
        (0.0..1.0, 0u8..7).prop_map(|(at, bit)| Edit::FlipAscii(at, bit)),
        (0.0..1.0).prop_map(Edit::Truncate),
        (0.0..1.0, prop_oneof![Just(10usize), Just(70), Just(5_000)])
            .prop_map(|(at, n)| Edit::Nest(at, n)),
        (0.0..1.0, 1usize..200, 2usize..50).prop_map(|(at, len, n)| Edit::Repeat(at, len, n)),
        (
            0.0..1.0,
            prop_oneof![
                Just("-"),
                Just(".a"),
                Just("|f"),
                Just("+x"),
                Just("not "),
                Just("(")
            ],
            prop_oneof![Just(100usize), Just(8_000)],
        )
            .prop_map(|(at, piece, n)| Edit::Chain(at, piece, n)),
    ]
}

fn apply(text: &mut String, edit: &Edit) {
    let at = |f: f64, text: &String| text.floor_char_boundary((f * text.len() as f64) as usize);
    match edit {
        Edit::Insert(f, s) => text.insert_str(at(*f, text), s),
        Edit::Delete(f, n) => {
            let start = at(*f, text);
            let end = text[start..]
                .char_indices()
                .nth(*n)
                .map_or(text.len(), |(i, _)| start + i);
            text.replace_range(start..end, "");
        }
        Edit::FlipAscii(f, bit) => {
            let i = at(*f, text);
            if let Some(c) = text[i..].chars().next().filter(char::is_ascii) {
                let flipped = char::from(c as u8 ^ (1 << bit));
                text.replace_range(i..i + 1, &flipped.to_string());
            }
        }
        Edit::Truncate(f) => text.truncate(at(*f, text)),
        Edit::Nest(f, n) => text.insert_str(at(*f, text), &"a {".repeat(*n)),
        Edit::Chain(f, piece, n) => {
            let starts: Vec<usize> = ["-if=\"", "rule \"", "guard \"", "{{ ", "{% if "]
                .iter()
                .flat_map(|m| text.match_indices(m).map(|(i, m)| i + m.len()))
                .collect();
            let i = match starts.len() {
                0 => at(*f, text),
                n => starts[((f * n as f64) as usize).min(n - 1)],
            };
            text.insert_str(i, &piece.repeat(*n));
        }
        Edit::Repeat(f, len, n) => {
            let start = at(*f, text);
            let end = text.floor_char_boundary((start + len).min(text.len()));
            let piece = text[start..end].repeat(*n);
            text.insert_str(start, &piece);
        }
    }
}

/// Cases per run: a bounded number in CI, more with `HROMADA_FUZZ_CASES` for a longer local run.
fn cases() -> u32 {
    std::env::var("HROMADA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Load, check and render in every format never panic on a mutated city, and every format
    /// prints within bounds; the JUnit report stays well-formed XML.
    #[test]
    fn mutated_spec_files_never_crash_the_loader(
        file in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..5),
    ) {
        let mut files = city();
        let i = file.index(files.len());
        for e in &edits {
            apply(&mut files[i].1, e);
        }
        let input: usize = files.iter().map(|(_, t)| t.len()).sum();
        let sources = hromada::spec::source::SourceSet::from_files(repo().to_path_buf(), files);
        let loaded = hromada::spec::load_sources(sources);
        let date = chrono::NaiveDate::from_ymd_opt(2027, 1, 15).unwrap();
        let diagnostics = hromada::check::run(&loaded, date);
        for format in [Format::Human, Format::Json, Format::Github, Format::Sarif, Format::Junit] {
            let text = render(format, &diagnostics, &loaded.sources);
            prop_assert!(text.len() < MAX_OUTPUT.max(2 * input), "{format:?}: {} bytes", text.len());
            if format == Format::Junit {
                prop_assert!(roxmltree::Document::parse(&text).is_ok(), "JUnit: {text}");
            }
        }
    }
}

/// The files of a crasher, relative to its folder, `/`-separated.
fn files_of(crasher: &Path) -> Vec<String> {
    walkdir::WalkDir::new(crasher)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(crasher).unwrap();
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect()
}

#[test]
fn the_reconciler_refuses_every_crasher_and_keeps_serving() {
    let root = tempfile::tempdir().unwrap();
    copy_tree(&repo().join("examples/minimal"), root.path());
    let data = tempfile::tempdir().unwrap();
    let app = super::common::appliance::Appliance::start(root.path(), data.path(), &[]);
    let first =
        app.wait_for("the first revision", |s| s["ready"] == true)["applied"]["revision"].clone();
    for crasher in crashers() {
        copy_tree(&crasher, root.path());
        let files = files_of(&crasher);
        let status = app.wait_for(&format!("{crasher:?} to be refused"), |s| {
            let named = |file: &String| {
                s["last_attempt"]["diagnostics"]
                    .as_array()
                    .is_some_and(|ds| ds.iter().any(|d| d["range"]["filename"] == *file))
            };
            s["last_attempt"]["outcome"] == "refused" && files.iter().all(named)
        });
        assert_eq!(status["applied"]["revision"], first, "{status:#}");
    }
    assert_eq!(app.get("/healthz").0, 200, "{}", app.log());
    assert!(!app.log().contains("panicked"), "{}", app.log());
    let stopped = app.stop();
    assert!(stopped.success(), "{stopped}");
}
