//! Two people act on one case at the same moment, through the API, on SQLite and PostgreSQL:
//! the same request twice (a double click) moves the case once and both get that answer; two
//! different transitions from the same view, one wins and the other is refused as stale.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::api::Api;
use crate::common::city::{City, NO_DEBT};
use crate::water::{applicant, application};

async fn races(database_url: Option<&str>) {
    let city = City::new().await;
    city.registries.billing_down.store(true, Ordering::SeqCst);
    let data = tempfile::tempdir().unwrap();
    let extra: Vec<&str> = match database_url {
        Some(url) => vec!["--database-url", url],
        None => vec![],
    };
    let core = city.start_core(data.path(), &extra).await;
    let api = Api::new(&core);
    let me = applicant();
    let clerk = "official:honcharenko-n";

    // A double click: the same key, at once.
    let case = api
        .start(&me, "race-1", &application(NO_DEBT))
        .await
        .ok(201)
        .clone();
    let id = case["id"].as_str().unwrap();
    let seen = json!({"seen_state": "manual-review"});
    let (a, b) = tokio::join!(
        api.fire(clerk, id, "refuse", "race-1-refuse", &seen),
        api.fire(clerk, id, "refuse", "race-1-refuse", &seen),
    );
    let (a, b) = (a.ok(200).clone(), b.ok(200).clone());
    assert_eq!(a["version"], b["version"], "one move, answered twice");
    let events = api.history(&me, id).await.ok(200)["events"].clone();
    let moves = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "transition" && e["event"] == "refuse")
        .count();
    assert_eq!(moves, 1, "{events:#}");

    // The clerk refuses while the applicant withdraws, both from the same view.
    let case = api
        .start(&me, "race-2", &application(NO_DEBT))
        .await
        .ok(201)
        .clone();
    let id = case["id"].as_str().unwrap();
    let (refused, withdrawn) = tokio::join!(
        api.fire(clerk, id, "refuse", "race-2-refuse", &seen),
        api.fire(&me, id, "withdraw", "race-2-withdraw", &seen),
    );
    let outcomes = [&refused, &withdrawn];
    let won: Vec<_> = outcomes.iter().filter(|r| r.status == 200).collect();
    let lost: Vec<_> = outcomes.iter().filter(|r| r.status != 200).collect();
    assert_eq!(won.len(), 1, "exactly one wins: {refused:?} {withdrawn:?}");
    assert_eq!(lost[0].status, 409, "{:?}", lost[0]);
    assert!(
        ["stale_state", "closed"].contains(&lost[0].body["type"].as_str().unwrap()),
        "{:?}",
        lost[0]
    );
    let now = api.case(&me, id).await.ok(200).clone();
    assert_eq!(
        now["outcome"], won[0].body["outcome"],
        "the winner's outcome stands"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_requests_move_a_case_once_on_sqlite() {
    races(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_requests_move_a_case_once_on_postgresql() {
    if let Some(url) =
        crate::common::postgres::url_or_skip("simultaneous_requests_move_a_case_once_on_postgresql")
    {
        races(Some(&url)).await;
    }
}
