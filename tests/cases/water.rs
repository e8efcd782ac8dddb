//! `water-no-debt` (003 §5.5–5.6): decided in the request that starts it, from the water
//! utility's billing reached through both gateway nodes: granted with nothing owed, refused with
//! a debt, and left to the subscriber department's clerk when the billing does not answer.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::api::Api;
use crate::common::city::{APPLICANT, City, IN_DEBT, NO_DEBT, NO_DEBT_AS_TEXT};

pub fn application(account: &str) -> Value {
    json!({
        "e_service": "water-no-debt",
        "applicant_name": "Іваненко Марія Петрівна",
        "applicant_email": "maria@example.org",
        "data": {
            "rnokpp": APPLICANT,
            "account_number": account,
            "holder_name": "Іваненко Марія Петрівна",
            "purpose": "01",
            "email": "maria@example.org",
        },
    })
}

pub fn applicant() -> String {
    format!("applicant:{APPLICANT}")
}

/// The detail of the one `issued` event of a case's history.
pub fn issued(history: &Value) -> Value {
    let issued: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "issued")
        .collect();
    assert_eq!(issued.len(), 1, "one document issued: {history:#}");
    issued[0]["detail"].clone()
}

fn kinds(history: &Value) -> Vec<String> {
    history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn water_no_debt_is_decided_in_the_request_that_starts_it() {
    let city = City::new().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let core_data = tempfile::tempdir().unwrap();
    let _vodokanal = city.start_vodokanal(vodokanal_data.path());
    let core = city.start_core(core_data.path(), &[]).await;
    let api = Api::new(&core);
    let me = applicant();

    // Nothing owed: granted, with the certificate's decision, in one request.
    let granted = api
        .start(&me, "water-granted-1", &application(NO_DEBT))
        .await;
    let case = granted.ok(201).clone();
    assert_eq!(case["state"]["id"], "issued", "{case:#}\n{}", core.log());
    assert_eq!(case["outcome"], "granted");
    assert_eq!(case["decision"]["outcome"], "granted");
    assert_eq!(case["registry"]["balance"]["debt_uah"].to_string(), "0.00");
    assert_eq!(case["steps"][0]["event"], "auto-issue");
    assert_eq!(case["steps"][0]["automatic"], true);
    assert_eq!(
        case["transitions"],
        json!([]),
        "a final state offers nothing"
    );
    let history = api.history(&me, case["id"].as_str().unwrap()).await;
    let history = history.ok(200);
    let kinds = kinds(history);
    for kind in [
        "started",
        "called",
        "transition",
        "decided",
        "issued",
        "notified",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no `{kind}` in {kinds:?}");
    }
    // The certificate, numbered in the subscriber department's journal and sealed by the utility.
    let issued = issued(history);
    assert_eq!(issued["number"], "АВ-1/2026", "{issued:#}");
    assert_eq!(issued["sealed-by"], "vodokanal");

    // The same submit again (a double click): the same case, nothing new started.
    let again = api
        .start(&me, "water-granted-1", &application(NO_DEBT))
        .await;
    assert_eq!(again.ok(201)["id"], case["id"]);
    let mine = api.list(&me, "").await;
    assert_eq!(mine.ok(200)["total"], 1, "a double submit starts one case");

    // A debt: refused, with the reason, in one request.
    let refused = api
        .start(&me, "water-refused-1", &application(IN_DEBT))
        .await;
    let refused = refused.ok(201);
    assert_eq!(refused["state"]["id"], "refused", "{refused:#}");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(
        refused["registry"]["balance"]["debt_uah"].to_string(),
        "1250.40"
    );
    assert!(
        refused["decision"]["reason"]
            .as_str()
            .unwrap()
            .contains("заборгованість"),
        "{refused:#}"
    );

    // The billing does not answer: the case waits for the subscriber department's clerk.
    city.registries.billing_down.store(true, Ordering::SeqCst);
    let manual = api
        .start(&me, "water-manual-1", &application(NO_DEBT))
        .await;
    let manual = manual.ok(201).clone();
    assert_eq!(manual["state"]["id"], "manual-review", "{manual:#}");
    assert_eq!(manual["outcome"], Value::Null);
    assert_eq!(manual["role"], "water-clerk");
    assert!(
        manual["deadline_at"].is_string(),
        "a clerk's state has a deadline"
    );
    let clerk = "official:honcharenko-n";
    let queue = api.list(clerk, "role=water-clerk").await;
    let queue = queue.ok(200);
    assert_eq!(queue["total"], 1, "{queue:#}");
    assert_eq!(queue["cases"][0]["id"], manual["id"]);
    // The clerk decides by hand (the certificate's template needs the billing's answer, which
    // this case never got, so the clerk refuses and the applicant applies again).
    let decided = api
        .fire_seen(clerk, &manual, "refuse", "water-manual-refuse")
        .await;
    assert_eq!(decided["state"]["id"], "refused", "{decided:#}");
    assert_eq!(decided["outcome"], "refused");
    let queue = api.list(clerk, "role=water-clerk&open=true").await;
    assert_eq!(queue.ok(200)["total"], 0);
}

/// The billing may send a `decimal` as a numeral in a string (the gateway lets `"0.00"` through
/// as the declared type); the guards must judge it as the number it is, not refuse a citizen
/// who owes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_debt_sent_as_a_decimal_numeral_in_a_string_is_judged_as_a_number() {
    let city = City::new().await;
    let vodokanal_data = tempfile::tempdir().unwrap();
    let core_data = tempfile::tempdir().unwrap();
    let _vodokanal = city.start_vodokanal(vodokanal_data.path());
    let core = city.start_core(core_data.path(), &[]).await;
    let api = Api::new(&core);
    let case = api
        .start(&applicant(), "water-text-1", &application(NO_DEBT_AS_TEXT))
        .await;
    let case = case.ok(201);
    assert_eq!(
        case["registry"]["balance"]["debt_uah"].to_string(),
        "0.00",
        "read as the number it writes, exact digits kept"
    );
    assert_eq!(case["outcome"], "granted", "{case:#}");
}
