//! SIGKILL in the middle of a transition: the appliance dies while the registry call of the
//! state the transition enters is in flight. After a restart the case is where it was, nothing
//! of the transition was written, and the same request again moves it once.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::api::Api;
use crate::common::city::{APPLICANT, City, TOKEN};
use crate::material_aid::{application, history_kinds};

const CLERK: &str = "official:koval-o";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transition_killed_mid_call_leaves_the_case_where_it_was() {
    let city = City::new().await;
    let data = tempfile::tempdir().unwrap();
    let core = city.start_core(data.path(), &[]).await;
    let me = format!("applicant:{APPLICANT}");
    let api = Api::new(&core);
    let case = api
        .start(&me, "crash-start", &application())
        .await
        .ok(201)
        .clone();
    let case = api
        .fire_seen(CLERK, &case, "request-documents", "crash-ask")
        .await;
    drop(api);
    let id = case["id"].as_str().unwrap().to_string();
    let before = history_kinds(&Api::new(&core), &id).await;

    city.registries.register_slow.store(true, Ordering::SeqCst);
    let asked = city.registries.register_asked.load(Ordering::SeqCst);
    // The applicant sends the documents: the case re-enters `received`, whose calls ask the
    // residents' register, which holds its answer.
    let url = format!("{}/api/cases/{id}/transitions/documents-received", core.url);
    let actor = me.clone();
    let pending = tokio::spawn(async move {
        reqwest::Client::new()
            .post(url)
            .bearer_auth(TOKEN)
            .header("X-Hromada-Actor", actor)
            .header("Idempotency-Key", "crash-fire")
            .json(&json!({"seen_state": "awaiting-documents"}))
            .send()
            .await
    });
    let in_call = crate::common::holds_within_30s(|| async {
        city.registries.register_asked.load(Ordering::SeqCst) > asked
    })
    .await;
    assert!(
        in_call,
        "the transition never called the register\n{}",
        core.log()
    );
    core.kill_hard();
    assert!(
        pending.await.unwrap().is_err(),
        "the killed appliance answered"
    );

    city.registries.register_slow.store(false, Ordering::SeqCst);
    let core = city.start_core(data.path(), &[]).await;
    let api = Api::new(&core);
    let now = api.case(&me, &id).await.ok(200).clone();
    assert_eq!(now["state"]["id"], "awaiting-documents", "{now:#}");
    assert_eq!(now["version"], case["version"]);
    assert_eq!(
        history_kinds(&api, &id).await,
        before,
        "nothing of the transition was written"
    );

    let moved = api
        .fire_seen(&me, &now, "documents-received", "crash-fire")
        .await;
    assert_eq!(moved["state"]["id"], "received", "{moved:#}");
    assert_eq!(moved["registry"]["residents"]["registered"], true);
    let again = api
        .fire_seen(&me, &now, "documents-received", "crash-fire")
        .await;
    assert_eq!(
        again["version"], moved["version"],
        "the retry moved the case once"
    );
    let kinds = history_kinds(&api, &id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "transition").count(),
        before.iter().filter(|k| *k == "transition").count() + 1,
        "{kinds:?}"
    );
    let called = |k: &Vec<String>| k.iter().filter(|k| *k == "called").count();
    assert_eq!(
        called(&kinds),
        called(&before) + 1,
        "the call killed mid-way is not recorded; the retried one is, once: {kinds:?}"
    );
    drop(api);
    assert!(core.stop().success());

    let verified = crate::common::hromada(&[
        "audit".as_ref(),
        "verify".as_ref(),
        city.root().as_os_str(),
        "--data-dir".as_ref(),
        data.path().as_os_str(),
    ]);
    assert!(
        verified.status.success(),
        "audit verify after the crash: {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
}
