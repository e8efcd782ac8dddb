//! `hromada test` as a city's CI runs it: the example city's scenarios pass; a scenario whose
//! expectation the engine does not meet fails at the line of that expectation, with what was
//! expected and what happened, in every format; a spec that does not validate is not run.

mod common;

use std::path::Path;

/// A copy of examples/minimal with the small water-connection tree of tests/data/scenarios,
/// with `edit` applied to its scenarios file.
fn tree(edit: impl FnOnce(String) -> String) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), tmp.path());
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios");
    common::copy_tree(&data, tmp.path());
    let file = tmp.path().join("spec/scenarios.kdl");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, edit(text)).unwrap();
    tmp
}

fn test(root: &Path, format: &str) -> (i32, String, String) {
    let out = common::hromada(&["test", root.to_str().unwrap(), "--format", format]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The 1-based line and column of the first `needle` in the tree's scenarios file.
fn position(root: &Path, needle: &str) -> String {
    let text = std::fs::read_to_string(root.join("spec/scenarios.kdl")).unwrap();
    let offset = text.find(needle).expect("the needle is in the file");
    let line = text[..offset].matches('\n').count() + 1;
    let column = text[..offset].rsplit('\n').next().unwrap().chars().count() + 1;
    format!("spec/scenarios.kdl:{line}:{column}")
}

/// The refused scenario now expects a grant.
fn wrong_outcome(text: String) -> String {
    text.replacen("outcome \"refused\"", "outcome \"granted\"", 1)
}

#[test]
fn the_example_city_passes() {
    let root = env!("CARGO_MANIFEST_DIR");
    let (code, out, err) = test(Path::new(root), "human");
    assert_eq!(code, 0, "{out}\n{err}");
    let scenarios = std::fs::read_dir(Path::new(root).join("spec/scenarios"))
        .unwrap()
        .count();
    assert!(scenarios >= 6, "a scenario file per e-service");
    for e_service in [
        "water-no-debt",
        "material-aid",
        "residence-extract",
        "address-assignment",
        "heating-recalculation",
        "parking-fine-appeal",
    ] {
        assert!(
            out.contains(&format!("PASS {e_service}-")),
            "{e_service}: {out}"
        );
    }
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

#[test]
fn passing_scenarios_exit_zero() {
    let t = tree(|s| s);
    let (code, out, err) = test(t.path(), "human");
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("PASS connection-refused-debt  spec/scenarios.kdl:3:1"),
        "{out}"
    );
    assert!(out.contains("PASS connection-registry-down"), "{out}");
    assert!(out.contains("2 passed, 0 failed"), "{out}");
}

#[test]
fn a_broken_expectation_fails_at_its_line_with_expected_and_actual() {
    let t = tree(wrong_outcome);
    let (code, out, _) = test(t.path(), "human");
    assert_eq!(code, 1, "{out}");
    let at = position(t.path(), "\"granted\"");
    assert!(
        out.contains("FAIL connection-refused-debt  spec/scenarios.kdl:3:1"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{at}: outcome\n    expected: granted\n    actual:   refused"
        )),
        "{out}"
    );
    assert!(
        out.contains("PASS connection-registry-down"),
        "the other still passes: {out}"
    );
    assert!(out.contains("1 passed, 1 failed"), "{out}");
}

#[test]
fn states_documents_and_notices_that_differ_are_each_named() {
    let t = tree(|s| {
        s.replacen(
            "states \"submitted\" \"refused\"",
            "states \"submitted\" \"review\" \"refused\"\n        notice \"applicant\" contains=\"Підключення дозволено\"\n        document \"connection-decision\"",
            1,
        )
    });
    let (code, out, _) = test(t.path(), "json");
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let failed = &report["scenarios"][0];
    assert_eq!(failed["result"], "failed");
    let differences = failed["differences"].as_array().unwrap();
    let what: Vec<&str> = differences
        .iter()
        .map(|d| d["what"].as_str().unwrap())
        .collect();
    assert_eq!(
        what,
        ["states", "documents issued", "notice to `applicant`"],
        "{out}"
    );
    assert_eq!(differences[0]["expected"], "submitted → review → refused");
    assert_eq!(differences[0]["actual"], "submitted → refused");
    assert_eq!(differences[1]["expected"], "connection-decision");
    assert_eq!(differences[1]["actual"], "none");
    assert_eq!(
        differences[1]["location"],
        position(t.path(), "document \"connection-decision\"")
    );
    assert_eq!(differences[2]["actual"], "none sent to them");
}

#[test]
fn a_refused_step_is_reported_where_it_is_written() {
    let t = tree(|s| {
        s.replacen(
            "refused=#true\n",
            "refused=#true\n    step \"approve\" by=\"hnatiuk-o\" at=\"2026-03-02T11:00+02:00\"\n",
            1,
        )
    });
    let (code, out, _) = test(t.path(), "json");
    assert_eq!(code, 1, "{out}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    let differences = report["scenarios"][0]["differences"].as_array().unwrap();
    assert_eq!(
        differences.len(),
        1,
        "only the refusal, not its echoes: {out}"
    );
    assert_eq!(
        differences[0]["location"],
        position(t.path(), "step \"approve\"")
    );
    assert_eq!(differences[0]["what"], "step `approve` by `hnatiuk-o`");
    let actual = differences[0]["actual"].as_str().unwrap();
    assert!(actual.starts_with("refused in state `refused`"), "{actual}");
}

#[test]
fn json_reports_every_scenario_with_counts() {
    let t = tree(wrong_outcome);
    let (code, out, _) = test(t.path(), "json");
    assert_eq!(code, 1);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["passed"], 1);
    assert_eq!(report["failed"], 1);
    let ids: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["connection-refused-debt", "connection-registry-down"]);
    let failed = &report["scenarios"][0];
    assert_eq!(failed["location"], "spec/scenarios.kdl:3:1");
    assert_eq!(failed["e-service"], "water-connection");
    assert_eq!(
        failed["differences"][0]["location"],
        position(t.path(), "\"granted\"")
    );
    assert_eq!(report["scenarios"][1]["result"], "passed");
    assert_eq!(report["scenarios"][1]["differences"], serde_json::json!([]));
}

#[test]
fn junit_is_xml_a_ci_reads_with_the_failure_and_its_place() {
    let t = tree(wrong_outcome);
    let (code, out, _) = test(t.path(), "junit");
    assert_eq!(code, 1);
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("2"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let suite = root
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    assert_eq!(suite.attribute("name"), Some("water-connection"));
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0].attribute("name"), Some("connection-refused-debt"));
    assert_eq!(cases[0].attribute("file"), Some("spec/scenarios.kdl"));
    assert_eq!(cases[0].attribute("line"), Some("3"));
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    let at = position(t.path(), "\"granted\"");
    assert_eq!(
        failure.attribute("message"),
        Some(format!("{at}: outcome").as_str())
    );
    let text = failure.text().unwrap();
    assert!(
        text.contains("expected: granted") && text.contains("actual:   refused"),
        "{text}"
    );
    assert!(!cases[1].children().any(|n| n.has_tag_name("failure")));
}

#[test]
fn a_spec_that_does_not_validate_is_not_run_and_exits_two() {
    let t = tree(|s| {
        s.replacen(
            "e-service \"water-connection\"",
            "e-service \"water-conection\"",
            1,
        )
    });
    let (code, out, err) = test(t.path(), "human");
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(out.is_empty(), "no results: {out}");
    assert!(err.contains("H1101"), "{err}");
    assert!(err.contains("scenarios were not run"), "{err}");
}

#[test]
fn a_tree_without_scenarios_passes_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::minimal(), tmp.path());
    let (code, out, _) = test(tmp.path(), "human");
    assert_eq!(code, 0);
    assert!(out.contains("declares no scenarios"), "{out}");
}

#[test]
fn a_workflow_page_of_the_docs_lists_its_scenarios_without_the_applicants() {
    let t = tree(|s| s);
    let site = t.path().join("site");
    let out = common::hromada(&[
        "docs".as_ref(),
        t.path().as_os_str(),
        "--out".as_ref(),
        site.as_os_str(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(site.join("workflows/connection.html")).unwrap();
    assert!(page.contains("connection-refused-debt"), "{page}");
    assert!(page.contains("Реєстр не відповів — заява чекає спеціаліста"));
    assert!(page.contains("у наданні відмовлено"));
    assert!(page.contains("не вирішено"));
    assert!(
        !page.contains("3012345670"),
        "no applicant's taxpayer number"
    );
    assert!(!page.contains("Петренко"), "no applicant's name");
}

#[test]
fn a_step_the_engine_must_refuse_fails_when_it_fires() {
    let t = tree(|s| {
        s.replacen(
            "    expect {\n        states \"submitted\" \"review\"",
            "    step \"withdraw\" by=\"applicant\" refused=#true\n    expect {\n        states \"submitted\" \"review\"",
            1,
        )
    });
    let (code, out, err) = test(t.path(), "json");
    assert_eq!(code, 1, "{out}\n{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["scenarios"][0]["result"], "passed",
        "a refused step that is refused passes"
    );
    let differences = report["scenarios"][1]["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{out}");
    assert_eq!(differences[0]["expected"], "the engine refuses it");
    assert_eq!(differences[0]["actual"], "it fired: `review` → `withdrawn`");
}
