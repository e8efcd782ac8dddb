//! The officials' side of the portal in real headless Chromium (issue 14, Proof): an official
//! takes a citizen's material-aid case, asks for documents, the citizen adds them, the official
//! decides, the citizen downloads the sealed result and verifies it; a blocked official is
//! refused at the next click; every page passes axe-core at 1280 px and 360 px
//! (`tests/js/office.mjs`).

use crate::browser::{Report, assert_clean, browser_available, citizen_env, run};
use crate::portal::Portal;

/// Runs `tests/js/office.mjs` off the runtime's threads with the citizen's and `more` accounts.
async fn run_office(portal: &Portal, more: Vec<(&'static str, String)>) -> Report {
    let url = portal.app.url.clone();
    let mut env = citizen_env(portal);
    env.extend(more);
    let report = tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        run("office.mjs", &url, &env)
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
async fn an_official_handles_a_material_aid_case_in_a_browser_and_the_citizen_verifies_the_result()
{
    if !browser_available() {
        return;
    }
    let portal = Portal::start().await;
    let report = run_office(&portal, Vec::new()).await;
    assert!(
        report.steps.iter().any(|s| s == "the mailing page"),
        "{:?}",
        report.steps
    );
}
