//! What the cases API refuses, and that a refusal changes nothing: requests without the token or
//! an actor, actors the spec does not know, another applicant's case, a stale view of a case, an
//! idempotency key reused for another request, events the state does not have, malformed input.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::api::{Api, conforms};
use crate::common::city::{APPLICANT, City, NO_DEBT, TOKEN};
use crate::water::{applicant, application};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cases_api_refuses_what_it_must_and_changes_nothing_when_it_does() {
    let city = City::new().await;
    city.registries.billing_down.store(true, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let me = applicant();
    let clerk = "official:honcharenko-n";

    // The document is served, and is the repository's.
    let (code, served) = core.get("/api/cases/openapi.json");
    assert_eq!(code, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&served).unwrap(),
        *crate::api::document()
    );

    // No token, a wrong token.
    let mut anonymous = Api::new(&core);
    anonymous.token = "";
    anonymous.list(&me, "").await.refused(401, "unauthorized");
    anonymous.token = "not-the-token";
    anonymous.list(&me, "").await.refused(401, "unauthorized");
    assert_ne!(TOKEN, "not-the-token");

    // Who acts: missing, malformed, unknown official, an RNOKPP with a wrong check digit.
    api.send("GET", "/api/cases", "/api/cases", &[], None)
        .await
        .refused(400, "bad_actor");
    api.list("clerk:honcharenko-n", "")
        .await
        .refused(400, "bad_actor");
    let unknown = api.list("official:nobody", "").await;
    unknown.refused(403, "unknown_official");
    assert!(unknown.body["message"].as_str().unwrap().contains("nobody"));
    api.list("applicant:3184710692", "")
        .await
        .refused(400, "bad_actor");

    // A case waiting for the clerk (the billing does not answer).
    let case = api
        .start(&me, "refusals-start-1", &application(NO_DEBT))
        .await;
    let case = case.ok(201).clone();
    let id = case["id"].as_str().unwrap();
    assert_eq!(case["state"]["id"], "manual-review", "{case:#}");

    // Start: no key, a malformed body, an unknown e-service, a field the API does not know,
    // the same key for another application.
    api.send(
        "POST",
        "/api/cases",
        "/api/cases",
        &[("X-Hromada-Actor", &me)],
        Some(&application(NO_DEBT)),
    )
    .await
    .refused(400, "bad_request");
    let mut wrong = application(NO_DEBT);
    wrong["e_service"] = json!("no-such-service");
    api.start(&me, "refusals-start-2", &wrong)
        .await
        .refused(422, "unknown_e_service");
    let mut extra = application(NO_DEBT);
    extra["state"] = json!("issued");
    let reply = api.start(&me, "refusals-start-3", &extra).await;
    reply.refused(400, "bad_request");
    assert!(reply.body["message"].as_str().unwrap().contains("`state`"));
    let mut other = application(NO_DEBT);
    other["data"]["purpose"] = json!("02");
    api.start(&me, "refusals-start-1", &other)
        .await
        .refused(409, "idempotency_key_reused");
    let raw = reqwest::Client::new()
        .post(format!("{}/api/cases", core.url))
        .bearer_auth(TOKEN)
        .header("X-Hromada-Actor", &me)
        .header("Idempotency-Key", "refusals-start-4")
        .body("{\"e_service\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let body: serde_json::Value = raw.json().await.unwrap();
    conforms("POST", "/api/cases", 400, &body);
    assert!(body["message"].as_str().unwrap().contains("not valid JSON"));

    // An applicant may not start a case for someone else; an official must name the applicant.
    let mut for_other = application(NO_DEBT);
    for_other["applicant"] = json!("2876541207");
    api.start(&me, "refusals-start-5", &for_other)
        .await
        .refused(403, "not_allowed");
    api.start(clerk, "refusals-start-6", &application(NO_DEBT))
        .await
        .refused(400, "bad_request");

    // Reading: another applicant sees no such case; an official of another service is refused.
    api.case("applicant:2876541207", id)
        .await
        .refused(404, "unknown_case");
    api.history("applicant:2876541207", id)
        .await
        .refused(404, "unknown_case");
    api.case("official:koval-o", id)
        .await
        .refused(403, "not_allowed");
    api.case(&me, "no-such-case")
        .await
        .refused(404, "unknown_case");
    api.case(clerk, id).await.ok(200);

    // Listing: bad paging, unknown parameters, a role the official does not hold.
    api.list(&me, "per_page=0")
        .await
        .refused(400, "bad_request");
    api.list(&me, "per_page=101")
        .await
        .refused(400, "bad_request");
    api.list(&me, "page=x").await.refused(400, "bad_request");
    api.list(&me, "colour=red")
        .await
        .refused(400, "bad_request");
    api.list(&me, "overdue=maybe")
        .await
        .refused(400, "bad_request");
    api.list(&me, "role=water-clerk")
        .await
        .refused(403, "not_allowed");
    api.list(clerk, "role=social-head")
        .await
        .refused(403, "not_allowed");

    // Firing: no seen_state, an event the state lacks, a role the actor lacks, a stale view.
    let fire =
        |actor: &'static str, event: &'static str, key: &'static str, body: serde_json::Value| {
            let api = &api;
            async move { api.fire(actor, id, event, key, &body).await }
        };
    fire(
        "official:honcharenko-n",
        "issue",
        "refusals-fire-1",
        json!({}),
    )
    .await
    .refused(400, "bad_request");
    let reply = fire(
        "official:honcharenko-n",
        "approve",
        "refusals-fire-2",
        json!({"seen_state": "manual-review"}),
    )
    .await;
    reply.refused(422, "unknown_event");
    assert_eq!(
        reply.body["detail"]["events"],
        json!(["issue", "refuse", "withdraw"])
    );
    fire(
        "official:koval-o",
        "issue",
        "refusals-fire-3",
        json!({"seen_state": "manual-review"}),
    )
    .await
    .refused(403, "not_allowed");
    let reply = fire(
        "official:honcharenko-n",
        "issue",
        "refusals-fire-4",
        json!({"seen_state": "checking"}),
    )
    .await;
    reply.refused(409, "stale_state");
    assert_eq!(reply.body["detail"]["state"], "manual-review");

    // Nothing of that moved the case or wrote to its history.
    let after = api.case(&me, id).await;
    let after = after.ok(200);
    assert_eq!(after["state"]["id"], "manual-review");
    assert_eq!(after["version"], case["version"]);
    let events = api.history(&me, id).await.ok(200)["events"].clone();

    // The applicant withdraws; the clerk, who saw the case before, is refused, not applied twice.
    let withdrawn = api
        .fire_seen(&me, &case, "withdraw", "refusals-fire-5")
        .await;
    assert_eq!(withdrawn["outcome"], "withdrawn");
    let again = api
        .fire_seen(&me, &case, "withdraw", "refusals-fire-5")
        .await;
    assert_eq!(
        again["version"], withdrawn["version"],
        "the same key moves once"
    );
    fire(
        "official:honcharenko-n",
        "issue",
        "refusals-fire-6",
        json!({"seen_state": "manual-review"}),
    )
    .await
    .refused(409, "closed");
    let history = api.history(&me, id).await;
    let grown = history.ok(200)["events"].as_array().unwrap().len();
    assert!(grown > events.as_array().unwrap().len());
    let mine = api.list(&me, "").await;
    assert_eq!(mine.ok(200)["total"], 1, "refused starts started nothing");
    let _ = APPLICANT;
}

/// A pinned workflow definition rewritten in the store behind the appliance's back: the case
/// cannot be shown or moved, and the answer names the workflow, the revision and what to do;
/// nothing else of the case is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rewritten_pinned_definition_is_named_not_run() {
    let city = City::new().await;
    city.registries.billing_down.store(true, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let me = applicant();
    let case = Api::new(&core)
        .start(&me, "tamper-start", &application(NO_DEBT))
        .await
        .ok(201)
        .clone();
    let id = case["id"].as_str().unwrap();
    assert!(core.stop().success());

    let url = hromada::store::Store::sqlite_url(&data.path().join("hromada.db"));
    crate::common::db::execute(
        &url,
        "UPDATE workflow_definitions SET definition = replace(definition, 'water-clerk', 'any-clerk') \
         WHERE workflow = 'water-no-debt'",
    )
    .await;
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let reply = api.case(&me, id).await;
    reply.refused(500, "definition");
    let message = reply.body["message"].as_str().unwrap();
    assert!(
        message.contains("water-no-debt") && message.contains("restore"),
        "{message}"
    );
    api.fire(
        &me,
        id,
        "withdraw",
        "tamper-withdraw",
        &json!({"seen_state": "manual-review"}),
    )
    .await
    .refused(500, "definition");
    let mine = api.list(&me, "").await;
    assert_eq!(
        mine.ok(200)["cases"][0]["id"],
        case["id"],
        "the case is still listed"
    );
}

/// A front office official (ЦНАП) submits an application for a citizen: the case is the
/// citizen's, and its history names the official who submitted it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_official_starts_a_case_for_an_applicant_and_the_history_names_them() {
    let city = City::new().await;
    city.registries.billing_down.store(true, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let front_office = "official:sydorenko-m";
    let mut submitted = application(NO_DEBT);
    submitted["applicant"] = json!(APPLICANT);
    let case = api.start(front_office, "cnap-start", &submitted).await;
    let case = case.ok(201).clone();
    assert_eq!(case["applicant"], APPLICANT);
    let id = case["id"].as_str().unwrap();
    // The citizen sees it among their cases.
    let mine = api.list(&applicant(), "").await;
    assert_eq!(mine.ok(200)["cases"][0]["id"], case["id"]);
    let history = api.history(&applicant(), id).await;
    let started = history.ok(200)["events"][0].clone();
    assert_eq!(started["kind"], "started");
    assert_eq!(started["actor"], front_office, "{started:#}");
    assert_eq!(
        started["on_behalf"],
        format!("applicant:{APPLICANT}"),
        "the official acts for the applicant: {started:#}"
    );
}
