//! `material-aid` through every state of its workflow, by the officials whose roles the spec
//! gives (a clerk, the head of the social aid department), with the residents' register
//! answering on loopback; and its reminders and escalations on the tests' clock across
//! Christmas (25 December, a holiday in the city's calendar).

use serde_json::{Value, json};

use crate::api::Api;
use crate::common::city::{APPLICANT, City, MONDAY};

const CLERK: &str = "official:koval-o";
const HEAD: &str = "official:tkachenko-o";

pub fn application() -> Value {
    json!({
        "e_service": "material-aid",
        "applicant_name": "Іваненко Марія Петрівна",
        "applicant_email": "maria@example.org",
        "data": {
            "rnokpp": APPLICANT,
            "full_name": "Іваненко Марія Петрівна",
            "birth_date": "1980-04-02",
            "phone": "+380671234567",
            "email": "maria@example.org",
            "district": "03",
            "reason": "02",
            "event_date": "2026-11-20",
            "requested_amount": 12000,
            "monthly_income": 4200,
            "family": [],
            "iban": "UA213223130000026007233566001",
        },
    })
}

fn me() -> String {
    format!("applicant:{APPLICANT}")
}

fn state(case: &Value) -> &str {
    case["state"]["id"].as_str().unwrap()
}

pub async fn history_kinds(api: &Api<'_>, id: &str) -> Vec<String> {
    api.history(&me(), id).await.ok(200)["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn material_aid_runs_through_every_state_of_its_workflow() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);

    // received → awaiting-documents → received → commission → received → commission → granted
    let case = api.start(&me(), "aid-1-start", &application()).await;
    let case = case.ok(201).clone();
    assert_eq!(state(&case), "received", "{case:#}");
    assert_eq!(case["role"], "social-clerk");
    let queue = api.list(CLERK, "role=social-clerk").await;
    assert_eq!(queue.ok(200)["cases"][0]["id"], case["id"]);
    let case = api
        .fire_seen(CLERK, &case, "request-documents", "aid-1-a")
        .await;
    assert_eq!(state(&case), "awaiting-documents");
    // Only the applicant says the documents arrived.
    let id = case["id"].as_str().unwrap();
    api.fire(
        CLERK,
        id,
        "documents-received",
        "aid-1-b0",
        &json!({"seen_state": "awaiting-documents"}),
    )
    .await
    .refused(403, "not_allowed");
    let case = api
        .fire_seen(&me(), &case, "documents-received", "aid-1-b")
        .await;
    assert_eq!(state(&case), "received");
    let case = api
        .fire_seen(CLERK, &case, "to-commission", "aid-1-c")
        .await;
    assert_eq!(state(&case), "commission", "{case:#}");
    assert_eq!(
        case["registry"]["residents"]["registered"], true,
        "{case:#}"
    );
    assert_eq!(case["role"], "social-head");
    // The clerk cannot decide for the commission.
    api.fire(
        CLERK,
        id,
        "grant",
        "aid-1-d0",
        &json!({"seen_state": "commission"}),
    )
    .await
    .refused(403, "not_allowed");
    let case = api.fire_seen(HEAD, &case, "return", "aid-1-d").await;
    assert_eq!(state(&case), "received");
    let case = api
        .fire_seen(CLERK, &case, "to-commission", "aid-1-e")
        .await;
    assert_eq!(state(&case), "commission");
    let case = api.fire_seen(HEAD, &case, "grant", "aid-1-f").await;
    assert_eq!(state(&case), "granted", "{case:#}");
    assert_eq!(case["outcome"], "granted");
    let history = api.history(&me(), id).await.ok(200).clone();
    let decision = crate::water::issued(&history);
    assert_eq!(decision["number"], "03-10/1", "{decision:#}");
    assert_eq!(decision["sealed-by"], "city-council");
    let kinds = history_kinds(&api, id).await;
    let transitions = kinds.iter().filter(|k| *k == "transition").count();
    assert!(
        transitions >= 6,
        "six transitions in the history: {kinds:?}"
    );

    // received → refused by the clerk; awaiting-documents → refused for no response;
    // commission → refused by the head; received → withdrawn by the applicant.
    let refused = api
        .start(&me(), "aid-2-start", &application())
        .await
        .ok(201)
        .clone();
    let refused = api.fire_seen(CLERK, &refused, "refuse", "aid-2-a").await;
    assert_eq!(refused["outcome"], "refused", "{refused:#}");

    let silent = api
        .start(&me(), "aid-3-start", &application())
        .await
        .ok(201)
        .clone();
    let silent = api
        .fire_seen(CLERK, &silent, "request-documents", "aid-3-a")
        .await;
    let silent = api
        .fire_seen(CLERK, &silent, "no-response", "aid-3-b")
        .await;
    assert_eq!(state(&silent), "refused");

    let declined = api
        .start(&me(), "aid-4-start", &application())
        .await
        .ok(201)
        .clone();
    let declined = api
        .fire_seen(CLERK, &declined, "to-commission", "aid-4-a")
        .await;
    let declined = api.fire_seen(HEAD, &declined, "refuse", "aid-4-b").await;
    assert_eq!(declined["outcome"], "refused");

    let withdrawn = api
        .start(&me(), "aid-5-start", &application())
        .await
        .ok(201)
        .clone();
    let withdrawn = api
        .fire_seen(&me(), &withdrawn, "withdraw", "aid-5-a")
        .await;
    assert_eq!(withdrawn["outcome"], "withdrawn");

    let mine = api.list(&me(), "").await;
    assert_eq!(mine.ok(200)["total"], 5);
    let open = api.list(&me(), "open=true").await;
    assert_eq!(open.ok(200)["total"], 0, "every case reached a final state");
    let _ = MONDAY;
}

/// The case's history once it holds a `kind` event (within 30 s, or the test fails).
pub async fn wait_for_kind(api: &Api<'_>, id: &str, kind: &str) -> Vec<String> {
    let started = std::time::Instant::now();
    loop {
        let seen = history_kinds(api, id).await;
        if seen.iter().any(|k| k == kind) {
            return seen;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "no `{kind}` event for case {id}: {seen:?}\n{}",
            api.app.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn material_aid_reminds_then_escalates_on_the_city_calendar_across_christmas() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);

    // Monday 21 December: five working days are 22, 23, 24, 28 and 29 December, since the 25th
    // is Christmas; the deadline is the end of the 29th in Kyiv (without the holiday, the 28th).
    let case = api
        .start(&me(), "timers-start", &application())
        .await
        .ok(201)
        .clone();
    let id = case["id"].as_str().unwrap();
    assert_eq!(state(&case), "received");
    let deadline = case["deadline_at"].as_str().unwrap();
    assert!(deadline.starts_with("2026-12-29T22:00:00"), "{deadline}");
    assert_eq!(case["overdue"], false);

    // Two working days before the deadline the clerks are reminded.
    city.set_time("2026-12-25T12:00:00Z");
    let kinds = wait_for_kind(&api, id, "reminded").await;
    assert!(!kinds.iter().any(|k| k == "overdue"), "{kinds:?}");

    // An hour before the deadline the case is not overdue; a night after, it is.
    city.set_time("2026-12-29T21:00:00Z");
    let listed = api.list(CLERK, "overdue=true").await;
    assert_eq!(listed.ok(200)["total"], 0);
    city.set_time("2026-12-30T09:00:00Z");
    let kinds = wait_for_kind(&api, id, "overdue").await;
    assert!(
        !kinds.iter().any(|k| k == "escalated"),
        "not escalated before its day: {kinds:?}"
    );
    let listed = api.list(CLERK, "overdue=true").await;
    let listed = listed.ok(200);
    assert_eq!(listed["total"], 1, "{listed:#}");
    assert_eq!(listed["cases"][0]["overdue"], true);

    // A working day after the deadline the case goes to the head of the department.
    city.set_time("2026-12-31T09:00:00Z");
    let kinds = wait_for_kind(&api, id, "escalated").await;
    for kind in ["reminded", "overdue", "escalated"] {
        assert_eq!(
            kinds.iter().filter(|k| *k == kind).count(),
            1,
            "{kind}: {kinds:?}"
        );
    }
    let now = api.case(&me(), id).await.ok(200).clone();
    assert_eq!(now["role"], "social-head", "{now:#}");
    assert_eq!(state(&now), "received");
    let queue = api.list(HEAD, "role=social-head").await;
    assert_eq!(queue.ok(200)["cases"][0]["id"], case["id"]);
}

/// A node says it is ready (`/readyz`, `/api/status`) only once its case engine has taken the
/// revision: an application sent the moment `/readyz` first answers 200 is taken, not refused
/// with "no revision of the spec yet".
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_application_sent_as_soon_as_the_node_is_ready_is_taken() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = crate::common::appliance::Appliance::start(
        &city.root(),
        data.path(),
        &[
            "--api-token-file",
            city.token_file.to_str().unwrap(),
            "--clock-file",
            city.clock_file.to_str().unwrap(),
        ],
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, body) = core.get("/readyz");
        if status == 200 {
            assert!(body.contains(r#""engine":"ok""#), "{body}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready within 60 s: {body}\n{}",
            core.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let case = Api::new(&core)
        .start(&me(), "ready-at-once", &application())
        .await;
    assert_eq!(state(case.ok(201)), "received");
}
