//! The `validate`, `spec export` and `schema` commands as a city's CI runs them: exit codes and
//! every output format, on a temp copy of examples/minimal with a known problem added.

mod common;

use std::path::Path;
use std::process::Command;

fn hromada(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hromada"))
        .args(args)
        .output()
        .expect("hromada runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A copy of examples/minimal, optionally with extra files.
fn tree(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), tmp.path());
    for (path, text) in extra {
        let p = tmp.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    tmp
}

const DUPLICATE: &str = "role \"clerk\" {\n    title \"Спеціаліст, «перший»\"\n    permissions \"applications-read\"\n}\nrole \"clerk\" {\n    title \"Другий\"\n    permissions \"applications-read\"\n}\n";

#[test]
fn a_valid_tree_exits_zero_and_says_so() {
    let t = tree(&[]);
    let (code, out, _) = hromada(&[
        "validate",
        t.path().to_str().unwrap(),
        "--as-of",
        "2027-01-15",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("valid"), "{out}");
}

#[test]
fn human_output_shows_code_file_line_and_the_source_line() {
    let t = tree(&[("spec/roles.kdl", DUPLICATE)]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("H0201"), "{out}");
    assert!(out.contains("spec/roles.kdl:5:1"), "{out}");
    assert!(
        out.contains("role \"clerk\" {"),
        "the source line is shown: {out}"
    );
    assert!(out.contains("first declared here"), "{out}");
    assert!(out.contains("1 error(s), 0 warning(s)"), "{out}");
}

#[test]
fn json_output_follows_terraform_validate() {
    let t = tree(&[("spec/roles.kdl", DUPLICATE)]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["format_version"], "1.0");
    assert_eq!(v["valid"], false);
    assert_eq!(v["error_count"], 1);
    assert_eq!(v["warning_count"], 0);
    let d = &v["diagnostics"][0];
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "H0201");
    assert!(d["summary"].as_str().unwrap().contains("clerk"));
    assert_eq!(d["range"]["filename"], "spec/roles.kdl");
    assert_eq!(d["range"]["start"]["line"], 5);
    assert_eq!(d["range"]["start"]["column"], 1);
    assert!(d["range"]["end"]["byte"].as_u64() > d["range"]["start"]["byte"].as_u64());
}

#[test]
fn github_annotations_are_escaped() {
    let bad = "role \"clerk\" {\n    title \"x\"\n    permissions \"applications-read\" \"audit,read\"\n}\n";
    let t = tree(&[("spec/a,b:c.kdl", bad)]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "github"]);
    assert_eq!(code, 1);
    let line = out
        .lines()
        .find(|l| l.contains("H0106"))
        .expect("annotation for H0106");
    assert!(
        line.starts_with("::error file=spec/a%2Cb%3Ac.kdl,line=3,col="),
        "{line}"
    );
    assert!(
        line.contains("title=H0106 `audit%2Cread` is not a valid `permissions`"),
        "{line}"
    );
    let message = line.splitn(3, "::").nth(2).unwrap();
    assert!(
        message.contains("%0A"),
        "newlines in the message are escaped: {message}"
    );
    assert!(!message.contains('\n'));
}

#[test]
fn sarif_and_junit_name_the_rule_and_location() {
    let t = tree(&[("spec/roles.kdl", DUPLICATE)]);
    let (_, out, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let result = &v["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "H0201");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "spec/roles.kdl"
    );
    assert_eq!(
        result["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    assert_eq!(
        result["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );

    let (code, xml, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "junit"]);
    assert_eq!(code, 1);
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains("<failure message=\"duplicate role id `clerk`\" type=\"H0201\">"),
        "{xml}"
    );
    assert!(xml.contains("spec/roles.kdl:5:1"));
}

#[test]
fn every_problem_in_the_tree_is_reported_in_one_run() {
    let t = tree(&[
        ("spec/roles.kdl", DUPLICATE),
        (
            "spec/broken.kdl",
            "classifier \"x\" {\n    title \"unterminated\n}\n",
        ),
        (
            "policies/extra.kdl",
            "data-class \"personal\" {\n    title \"Персональні\"\n    level \"privat\"\n}\n",
        ),
    ]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    for want in ["H0001", "H0201", "H0106"] {
        assert!(codes.contains(&want), "{want} missing from {codes:?}");
    }
}

#[test]
fn a_missing_root_is_an_error_not_a_pass() {
    let t = tempfile::tempdir().unwrap();
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("H0003"), "{out}");
}

#[test]
fn export_prints_canonical_json_and_refuses_an_invalid_tree() {
    let t = tree(&[]);
    let (code, out, _) = hromada(&["spec", "export", t.path().to_str().unwrap()]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["systems"][0]["id"], "hromada-minimal");
    assert_eq!(v["participants"][0]["edrpou"], "04363395");

    let bad = tree(&[("spec/roles.kdl", DUPLICATE)]);
    let (code, out, err) = hromada(&["spec", "export", bad.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("H0201"), "{err}");
}

#[test]
fn schema_check_detects_a_stale_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("schemas");
    let out = out.to_str().unwrap();
    assert_eq!(
        hromada(&["schema", "--out", out, "--check"]).0,
        1,
        "an empty folder is stale"
    );
    assert_eq!(hromada(&["schema", "--out", out]).0, 0);
    assert_eq!(hromada(&["schema", "--out", out, "--check"]).0, 0);
    std::fs::write(dir.path().join("schemas/form.schema.json"), "{}").unwrap();
    let (code, _, err) = hromada(&["schema", "--out", out, "--check"]);
    assert_eq!(code, 1);
    assert!(err.contains("form.schema.json"), "{err}");
}

#[test]
fn human_output_counts_columns_in_characters_on_ukrainian_lines() {
    let role = "role \"clerk\" {\n    title \"Спеціаліст\" bogus=\"x\"\n    permissions \"applications-read\"\n}\n";
    let t = tree(&[("spec/roles.kdl", role)]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("[spec/roles.kdl:2:24]"), "{out}");
    let (_, json, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["diagnostics"][0]["range"]["start"]["column"], 24);
}

#[test]
fn deeply_nested_input_gets_diagnostics_not_a_crash() {
    let blocks = format!("role \"r\" {}{}\n", "{ a ".repeat(1000), "}".repeat(1000));
    let fields = format!(
        "participant \"deep\" {{\n service \"s\" {{\n response {{\n{}{}}}\n}}\n}}\n",
        (0..300)
            .map(|i| format!("field \"f{i}\" type=\"object\" {{\n"))
            .collect::<String>(),
        "}\n".repeat(300)
    );
    for text in [blocks, fields] {
        let t = tree(&[("spec/deep.kdl", &text)]);
        let (code, out, err) =
            hromada(&["validate", t.path().to_str().unwrap(), "--format", "json"]);
        assert_eq!(code, 1, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v["error_count"].as_u64().unwrap() > 0);
    }
}

#[test]
fn deny_warnings_reports_warnings_as_errors_and_fails() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/H0404-agreement-expired");
    let files: Vec<(String, String)> = walkdir::WalkDir::new(&fixture)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "kdl"))
        .map(|e| {
            let name = e
                .path()
                .strip_prefix(&fixture)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect();
    let extra: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let t = tree(&extra);
    let root = t.path().to_str().unwrap();
    let (code, out, _) = hromada(&[
        "validate",
        root,
        "--format",
        "json",
        "--as-of",
        "2027-01-15",
    ]);
    assert_eq!(code, 0, "a warning alone does not fail: {out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["warning_count"].as_u64()),
        (Some(true), Some(1))
    );

    let (code, out, _) = hromada(&[
        "validate",
        root,
        "--format",
        "json",
        "--as-of",
        "2027-01-15",
        "--deny-warnings",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["error_count"].as_u64()),
        (Some(false), Some(1))
    );
    assert_eq!(v["diagnostics"][0]["code"], "H0404");
    assert_eq!(v["diagnostics"][0]["severity"], "error");
}

#[test]
fn a_number_too_large_is_named_not_a_cascade() {
    let t = tree(&[(
        "spec/index.kdl",
        "case-index \"c\" {\n    participant \"council\"\n    year 123456789012345678901234567890123456789012\n}\n",
    )]);
    let (code, out, _) = hromada(&["validate", t.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error_count"], 1, "{out}");
    assert_eq!(v["diagnostics"][0]["summary"], "number too large");
    assert_eq!(v["diagnostics"][0]["range"]["start"]["line"], 3);
    assert_eq!(v["diagnostics"][0]["range"]["start"]["column"], 10);
}
