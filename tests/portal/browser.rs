//! The portal in real headless Chromium (issue 13, Proof): Node drives the system's Chromium
//! through Playwright (`tests/js/*.mjs`), audits every page it visits with axe-core at 1280 px
//! and 360 px, and prints a JSON report that these tests assert on.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

use crate::common::appliance::{Appliance, example_city};
use crate::portal::{CITIZEN, Portal};

const CHROMIUM: &str = "/usr/bin/chromium";

/// What a driver script reports (`tests/js/browser.mjs`, `Report.print`).
#[derive(Debug, Deserialize)]
pub(crate) struct Report {
    scenario: String,
    pub(crate) pages: Vec<Audit>,
    pub(crate) steps: Vec<String>,
    console: Vec<ConsoleMessage>,
    pub(crate) failure: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Audit {
    label: String,
    pub(crate) url: String,
    width: u32,
    violations: Vec<Violation>,
    scroll_width: u32,
    client_width: u32,
    too_wide: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    nodes: Vec<ViolationNode>,
}

#[derive(Debug, Deserialize)]
struct ViolationNode {
    target: String,
    html: String,
    summary: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ConsoleMessage {
    url: String,
    #[serde(rename = "type")]
    kind: String,
    text: String,
}

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// Whether the browser tests can run here; `false` (after saying so loudly) where Chromium,
/// Node or the test's npm packages are absent, which fails under CI.
pub(crate) fn browser_available() -> bool {
    let node = Command::new("node").arg("--version").output();
    let missing = if !Path::new(CHROMIUM).exists() {
        Some(format!("{CHROMIUM} is absent (Debian's chromium)"))
    } else if !node.is_ok_and(|o| o.status.success()) {
        Some("node is absent (Debian's nodejs)".to_string())
    } else if !js_dir().join("node_modules/playwright-core").is_dir()
        || !js_dir().join("node_modules/axe-core").is_dir()
    {
        Some(
            "tests/js/node_modules lacks playwright-core or axe-core (run `npm ci` in tests/js)"
                .into(),
        )
    } else {
        None
    };
    match missing {
        None => true,
        Some(what) => {
            eprintln!(
                "SKIPPED: the portal's browser tests cannot run: {what}; .ci/run installs it"
            );
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the portal's browser tests: {what}"
            );
            false
        }
    }
}

/// Runs `node tests/js/SCRIPT` against the portal at `url` with `env`, and reads its report.
pub(crate) fn run(script: &str, url: &str, env: &[(&str, &str)]) -> Report {
    let out = Command::new("node")
        .arg(js_dir().join(script))
        .current_dir(js_dir())
        .env("HROMADA_URL", url)
        .env("CHROMIUM", CHROMIUM)
        .envs(env.iter().copied())
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let Some(line) = stdout.lines().rev().find(|l| l.starts_with('{')) else {
        panic!(
            "{script} printed no report (exit {}):\n{stdout}\n{stderr}",
            out.status
        );
    };
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script} printed a report that does not parse ({e}):\n{line}"))
}

/// Everything wrong in `report`, in words a person can act on; empty when all is well.
fn problems(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(failure) = &report.failure {
        out.push(format!("the scenario stopped at {failure}"));
    }
    for page in &report.pages {
        for v in &page.violations {
            let mut text = format!(
                "{} ({}) at {} px: axe `{}` [{}]: {}",
                page.url,
                page.label,
                page.width,
                v.id,
                v.impact.as_deref().unwrap_or("?"),
                v.help
            );
            for node in &v.nodes {
                text.push_str(&format!("\n    {} — {}", node.target, node.html));
                if let Some(summary) = &node.summary {
                    text.push_str(&format!("\n      {}", summary.replace('\n', "\n      ")));
                }
            }
            out.push(text);
        }
        if page.width == 360 && page.scroll_width > page.client_width {
            out.push(format!(
                "{} ({}) scrolls sideways at 360 px: {} px wide in {} px; {}",
                page.url,
                page.label,
                page.scroll_width,
                page.client_width,
                page.too_wide.join(", ")
            ));
        }
    }
    for message in &report.console {
        out.push(format!(
            "the browser's console on {} said ({}): {}",
            message.url, message.kind, message.text
        ));
    }
    out
}

/// Asserts that `report` is clean, listing every problem when it is not.
pub(crate) fn assert_clean(report: &Report) {
    let problems = problems(report);
    assert!(
        problems.is_empty(),
        "{}: {} problem(s) after steps {:?}:\n{}",
        report.scenario,
        problems.len(),
        report.steps,
        problems.join("\n")
    );
    assert!(
        !report.pages.is_empty(),
        "{} audited no page",
        report.scenario
    );
}

#[test]
fn the_public_pages_pass_the_accessibility_audit_at_both_widths() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("city");
    example_city(&root);
    let appliance = Appliance::start(&root, &dir.path().join("data"), &[]);
    appliance.wait_for("the first revision", |s| s["ready"] == true);
    let report = run("public-pages.mjs", &appliance.url, &[]);
    assert_clean(&report);
    let visited: Vec<&str> = report.pages.iter().map(|p| p.url.as_str()).collect();
    assert!(
        visited.contains(&"/"),
        "the home page was not audited: {visited:?}"
    );
    assert!(
        visited.iter().any(|u| u.starts_with("/services/")),
        "no e-service page was audited: {visited:?}"
    );
}

/// The environment a citizen's scenario needs: the provider's test account and the citizen's
/// signing key and certificate from `hromada keys dev`.
pub(crate) fn citizen_env(portal: &Portal) -> Vec<(&'static str, String)> {
    let keys = portal.city.root().join("dev-keys/citizens");
    let file = |ext: &str| {
        keys.join(format!("{}.{ext}", CITIZEN.rnokpp))
            .to_string_lossy()
            .into_owned()
    };
    vec![
        ("CITIZEN_LOGIN", CITIZEN.sub.to_string()),
        ("CITIZEN_PASSWORD", "any".to_string()),
        ("CITIZEN_KEY", file("key")),
        ("CITIZEN_CERT", file("crt")),
    ]
}

/// Runs `script` against the portal off the runtime's threads (the city's upstreams run on
/// them) and asserts its report is clean.
pub(crate) async fn run_against(portal: &Portal, script: &'static str) -> Report {
    let url = portal.app.url.clone();
    let env = citizen_env(portal);
    let report = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(script, &url, &env)
    })
    .await
    .unwrap();
    if report.failure.is_some() {
        eprintln!("the appliance's log:\n{}", portal.app.log());
    }
    assert_clean(&report);
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_applies_for_material_aid_in_a_browser_from_sign_in_to_the_cabinet() {
    if !browser_available() {
        return;
    }
    let portal = Portal::start().await;
    let report = run_against(&portal, "citizen.mjs").await;
    for step in [
        "leave, and resume the draft in a new browser context",
        "sign and submit",
    ] {
        assert!(
            report.steps.iter().any(|s| s == step),
            "the scenario skipped «{step}»: {:?}",
            report.steps
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_applies_for_a_water_certificate_with_the_keyboard_alone() {
    if !browser_available() {
        return;
    }
    let portal = Portal::start().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let _vodokanal = portal.city.start_vodokanal(vodokanal_data.path());
    let report = run_against(&portal, "keyboard-only.mjs").await;
    assert!(
        report
            .steps
            .iter()
            .any(|s| s == "the certificate appears in the cabinet (automatic mode)"),
        "the keyboard scenario stopped early: {:?}",
        report.steps
    );
}

#[test]
fn the_audit_names_each_problem_of_a_page_made_to_fail_it() {
    if !browser_available() {
        return;
    }
    let report = run("audit-self-check.mjs", "http://127.0.0.1:9", &[]);
    assert_eq!(report.failure, None, "{report:?}");
    let found = problems(&report).join("\n");
    for rule in ["image-alt", "label", "color-contrast"] {
        assert!(
            report
                .pages
                .iter()
                .all(|p| p.violations.iter().any(|v| v.id == rule)),
            "the audit missed `{rule}` at some width:\n{found}"
        );
    }
    assert!(
        found.contains("scrolls sideways at 360 px"),
        "the audit missed the sideways scroll:\n{found}"
    );
    assert!(
        !report
            .pages
            .iter()
            .any(|p| p.width == 1280 && p.scroll_width > p.client_width),
        "the page made to fail is not meant to scroll at 1280 px:\n{found}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_writes_to_the_administrator_and_a_citizen_answers_a_poll_in_a_browser() {
    if !browser_available() {
        return;
    }
    let portal = Portal::start().await;
    let report = run_against(&portal, "feedback.mjs").await;
    assert!(
        report
            .steps
            .iter()
            .any(|s| s == "sign in and answer the park poll"),
        "the feedback scenario stopped early: {:?}",
        report.steps
    );
}

/// Runs `script` against `portal` as the test citizen with `extra` in its environment, off the
/// runtime's threads, and asserts its report is clean; the paths of the pages it audited, or
/// `None` (after saying so) where the browser tests cannot run here.
pub(crate) async fn audited(
    portal: &Portal,
    script: &'static str,
    extra: Vec<(&'static str, String)>,
) -> Option<Vec<String>> {
    if !browser_available() {
        return None;
    }
    let url = portal.app.url.clone();
    let mut env = citizen_env(portal);
    env.extend(extra);
    let report = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run(script, &url, &env)
    })
    .await
    .unwrap();
    if report.failure.is_some() {
        eprintln!("the appliance's log:\n{}", portal.app.log());
    }
    assert_clean(&report);
    Some(report.pages.iter().map(|p| p.url.clone()).collect())
}
