//! Two `serve` replicas of the portal's node on one PostgreSQL, their engines reading the same
//! clock: every reminder, deadline and escalation of every case fires once, whichever replica
//! takes it.

use std::time::Duration;

use crate::api::Api;
use crate::common::city::{APPLICANT, City};
use crate::material_aid::{application, history_kinds};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgresql_fire_each_timer_once() {
    let Some(url) =
        crate::common::postgres::url_or_skip("two_replicas_on_one_postgresql_fire_each_timer_once")
    else {
        return;
    };
    let city = City::new().await;
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = city
        .start_core(a_data.path(), &["--database-url", &url])
        .await;
    let b = city
        .start_core(
            b_data.path(),
            &["--database-url", &url, "--peer-listen", "127.0.0.1:0"],
        )
        .await;
    let (api_a, api_b) = (Api::new(&a), Api::new(&b));
    let me = format!("applicant:{APPLICANT}");

    let mut ids = Vec::new();
    for n in 0..6 {
        let api = if n % 2 == 0 { &api_a } else { &api_b };
        let case = api
            .start(&me, &format!("replica-{n}"), &application())
            .await;
        ids.push(case.ok(201)["id"].as_str().unwrap().to_string());
    }
    // Past every deadline, reminder and escalation of `received` (5 working days, escalation
    // one working day after), holidays included.
    city.set_time("2027-01-29T09:00:00Z");
    for id in &ids {
        let escalated = crate::common::holds_within_30s(|| async {
            history_kinds(&api_a, id)
                .await
                .iter()
                .any(|k| k == "escalated")
        })
        .await;
        assert!(
            escalated,
            "case {id} was not escalated\nA:\n{}\nB:\n{}",
            a.log(),
            b.log()
        );
    }
    // Give a replica that would fire a timer again the chance to do so before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for id in &ids {
        let kinds = history_kinds(&api_b, id).await;
        for kind in ["reminded", "overdue", "escalated"] {
            let fired = kinds.iter().filter(|k| *k == kind).count();
            assert_eq!(fired, 1, "case {id}: `{kind}` {fired} times: {kinds:?}");
        }
    }
}
