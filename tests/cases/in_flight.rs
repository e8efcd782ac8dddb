//! A workflow change merged while cases are in flight: a case keeps running on the definition
//! of the revision it started under; a case started after the change runs on the new one.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::api::Api;
use crate::common::city::{APPLICANT, City};
use crate::material_aid::application;

const CLERK: &str = "official:koval-o";
const HEAD: &str = "official:tkachenko-o";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_case_in_flight_keeps_its_definition_when_the_workflow_changes() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let me = format!("applicant:{APPLICANT}");
    let before = core.applied();

    let old = api
        .start(&me, "flight-old", &application())
        .await
        .ok(201)
        .clone();
    assert_eq!(old["revision"], before.as_str());

    // The merged change: in `received`, only the head of the department may ask the applicant
    // for more documents now; the city's scenario of that step changes with it (a revision whose
    // scenario names a step its workflow no longer lets that official take does not validate).
    city.edit(
        "spec/scenarios/material-aid.kdl",
        r#"step "request-documents" by="koval-o""#,
        r#"step "request-documents" by="tkachenko-o""#,
    );
    city.edit(
        "spec/workflows/material-aid.kdl",
        r#"to="awaiting-documents" role="social-clerk""#,
        r#"to="awaiting-documents" role="social-head""#,
    );
    let after = core.wait_for("the changed workflow applied", |s| {
        s["applied"]["revision"]
            .as_str()
            .is_some_and(|r| r != before)
    })["applied"]["revision"]
        .as_str()
        .unwrap()
        .to_string();

    // A new case starts on the new revision once the engine has taken it (an application that
    // raced the change and started on the old one is withdrawn by its applicant).
    let started = Instant::now();
    let mut attempt = 0;
    let new = loop {
        attempt += 1;
        let case = api
            .start(&me, &format!("flight-new-{attempt}"), &application())
            .await
            .ok(201)
            .clone();
        if case["revision"] == after.as_str() {
            break case;
        }
        api.fire_seen(
            &me,
            &case,
            "withdraw",
            &format!("flight-withdraw-{attempt}"),
        )
        .await;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "new cases still start on {} 30 s after {after} was applied\n{}",
            case["revision"],
            core.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let asking_role = |case: &serde_json::Value| {
        case["transitions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["event"] == "request-documents")
            .map(|t| t["role"].clone())
    };
    let old_now = api
        .case(&me, old["id"].as_str().unwrap())
        .await
        .ok(200)
        .clone();
    assert_eq!(
        old_now["revision"],
        before.as_str(),
        "the old case stays pinned"
    );
    assert_eq!(asking_role(&old_now), Some(json!("social-clerk")));
    assert_eq!(asking_role(&new), Some(json!("social-head")));

    // The clerk may still ask on the old case, by its own definition, but not on the new one.
    let new_id = new["id"].as_str().unwrap();
    api.fire(
        CLERK,
        new_id,
        "request-documents",
        "flight-ask-new-clerk",
        &json!({"seen_state": "received"}),
    )
    .await
    .refused(403, "not_allowed");
    let asked_old = api
        .fire_seen(CLERK, &old_now, "request-documents", "flight-ask-old")
        .await;
    assert_eq!(
        asked_old["state"]["id"], "awaiting-documents",
        "{asked_old:#}"
    );
    let asked_new = api
        .fire_seen(HEAD, &new, "request-documents", "flight-ask-new")
        .await;
    assert_eq!(
        asked_new["state"]["id"], "awaiting-documents",
        "{asked_new:#}"
    );
}
