//! A workflow change merged while cases are in flight: a revision that renames the state open
//! cases sit in moves them by its `migrate` line onto its own definition, once, with the move in
//! the hash-chained history; cases in states it keeps stay on the definition they started under.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use hromada::spec::Spec;
use hromada::store::Store;
use hromada::workflow::calls::{BoxFuture, Registries, RegistryAnswer, RegistryCall};
use hromada::workflow::clock::{FakeClock, SharedClock};
use hromada::workflow::engine::{Applicant, Engine, Start};
use hromada::workflow::history;
use serde_json::json;

use crate::both;
use crate::common::db::Db;

/// Registries that never answer: the cases wait for officials.
struct Silent;

impl Registries for Silent {
    fn call<'a>(&'a self, _: RegistryCall<'a>) -> BoxFuture<'a, RegistryAnswer> {
        Box::pin(async {
            RegistryAnswer::Failed {
                reason: "not asked in this test".into(),
            }
        })
    }
}

fn city() -> Spec {
    hromada::spec::load(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).spec
}

/// The city with material-aid's `commission` state renamed `council-commission`, and the
/// `migrate` line that says where its open cases go.
fn renamed() -> Spec {
    let mut spec = city();
    let w = spec
        .workflows
        .iter_mut()
        .find(|w| w.id == "material-aid")
        .unwrap();
    let mut text = serde_json::to_string(&*w).unwrap();
    text = text.replace("\"commission\"", "\"council-commission\"");
    *w = serde_json::from_str(&text).unwrap();
    w.migrations =
        serde_json::from_value(json!([{"from": "commission", "to": "council-commission"}]))
            .unwrap();
    spec
}

async fn engine(store: &Store, clock: &FakeClock) -> Engine {
    let shared: SharedClock = Arc::new(clock.clone());
    Engine::new(store.clone(), shared, Arc::new(Silent))
}

both! {
    async fn a_renamed_state_moves_its_open_cases_once_and_the_history_says_so(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        // Monday 2 March 2026, 09:00 UTC.
        let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        let first = engine(&store, &clock).await;
        first.apply_revision("r1", &city()).await.unwrap();
        let applicant = Applicant { id: "3182736455".into(), name: "Тест Тестович".into(), email: None };
        let mut started = Vec::new();
        for key in ["a", "b"] {
            let moved = first.start(Start {
                key, e_service: "material-aid", applicant: &applicant,
                data: &json!({"rnokpp": "3182736455", "monthly_income": 4200}), on_behalf: None, submitted_by: None,
            }).await.unwrap();
            started.push(moved.case_id);
        }
        // One case goes on to the commission; the other stays where it was received.
        let clerk = city().officials.iter().find(|o| o.roles.iter().any(|r| r == "social-clerk")).unwrap().id.clone();
        let clerk = hromada::workflow::engine::Actor::Official(clerk);
        let sent = first.fire(hromada::workflow::engine::Fire {
            key: "to-commission", case_id: &started[0], event: "to-commission", actor: &clerk,
            on_behalf: None, seen_state: "received",
        }).await;
        let in_commission = match sent {
            Ok(m) => m.state,
            Err(e) => panic!("the clerk sends the case to the commission: {e}"),
        };
        assert_eq!(in_commission, "commission");
        let before = store.open_cases().await.unwrap();

        clock.advance(chrono::Duration::hours(1));
        first.apply_revision("r2", &renamed()).await.unwrap();
        let moved = first.case(&started[0]).await.unwrap();
        assert_eq!((moved.state.as_str(), moved.revision.as_str()), ("council-commission", "r2"));
        assert_eq!(moved.role.as_deref(), Some("social-head"));
        let kept = first.case(&started[1]).await.unwrap();
        assert_eq!((kept.state.as_str(), kept.revision.as_str()), ("received", "r1"), "a kept state keeps its definition");
        let events = first.history(&started[0]).await.unwrap();
        let last = events.last().unwrap();
        assert_eq!((last.kind.as_str(), last.from_state.as_deref(), last.to_state.as_deref()),
                   ("migrated", Some("commission"), Some("council-commission")));
        assert!(last.detail.contains("\"from_revision\":\"r1\"") && last.detail.contains("\"to_revision\":\"r2\""), "{}", last.detail);

        // A second replica applying the same revision moves nothing again.
        let replica = engine(&store, &clock).await;
        replica.apply_revision("r2", &renamed()).await.unwrap();
        let events_after = first.history(&started[0]).await.unwrap();
        assert_eq!(events_after.len(), events.len());
        let report = history::verify(&store).await.unwrap();
        assert!(report.intact(), "{:?}", report.problems);

        // The counts moved with them; the moved case is worked on its new definition.
        let after = store.open_cases().await.unwrap();
        assert_eq!(before.iter().map(|c| c.open).sum::<i64>(), after.iter().map(|c| c.open).sum::<i64>());
        assert!(after.iter().any(|c| c.state == "council-commission" && c.open == 1), "{after:?}");
        assert!(!after.iter().any(|c| c.state == "commission"), "{after:?}");
        store.close().await;
    }
}

/// The example city's tree in a temporary folder, for the reconciler to read.
fn city_tree() -> tempfile::TempDir {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    for folder in ["spec", "policies", "pki"] {
        crate::common::copy_tree(&repo.join(folder), &dir.path().join(folder));
    }
    // The city's scenarios walk its cases through the states this test renames.
    std::fs::remove_dir_all(dir.path().join("spec/scenarios")).unwrap();
    dir
}

async fn last_codes(shared: &hromada::reconcile::Shared, store: &Store) -> Vec<(String, String)> {
    let report = shared.report(store, "default").await;
    report
        .last_attempt
        .map(|a| {
            a.diagnostics
                .iter()
                .map(|d| {
                    (
                        d["code"].as_str().unwrap_or("").to_string(),
                        d["summary"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

both! {
    async fn the_reconciler_refuses_a_revision_that_strands_open_cases_until_it_says_where_they_go(db: Db) {
        use hromada::reconcile::{Reconciler, Settings};
        use hromada::store::Outcome;
        let store = Store::connect(&db.url).await.unwrap();
        let tree = city_tree();
        let data = tempfile::tempdir().unwrap();
        let settings = Settings {
            root: tree.path().to_path_buf(),
            data_dir: data.path().to_path_buf(),
            node: None,
            source: "test".into(),
        };
        let mut reconciler = Reconciler::new(settings, store.clone());
        let shared = reconciler.shared();
        assert_eq!(reconciler.reconcile().await, Some(Outcome::Applied));

        let clock = FakeClock::at(Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap());
        let engine = engine(&store, &clock).await;
        engine.apply_revision("r1", &city()).await.unwrap();
        // As `serve` does once its engine has taken a revision: only then is the node ready.
        shared.engine_ready.store(true, std::sync::atomic::Ordering::Relaxed);
        let applicant = Applicant { id: "3182736455".into(), name: "Тест Тестович".into(), email: None };
        engine.start(Start {
            key: "a", e_service: "material-aid", applicant: &applicant,
            data: &json!({"rnokpp": "3182736455", "monthly_income": 4200}), on_behalf: None, submitted_by: None,
        }).await.unwrap();

        // Renaming `received`, where the case sits, strands it: refused, and the last good
        // revision keeps serving.
        let file = tree.path().join("spec/workflows/material-aid.kdl");
        let original = std::fs::read_to_string(&file).unwrap();
        let renamed = original.replace("\"received\"", "\"registered\"");
        std::fs::write(&file, &renamed).unwrap();
        assert_eq!(reconciler.reconcile().await, Some(Outcome::Refused));
        let codes = last_codes(&shared, &store).await;
        assert_eq!(codes, [("H0714".to_string(),
            "1 open case of workflow `material-aid` sit in state `received`, which this revision no longer declares".to_string())]);
        assert!(shared.report(&store, "default").await.ready, "the last good revision keeps serving");

        // Saying where they go makes it apply.
        let migrated = renamed.replacen(
            "    state \"granted\"",
            "    migrate \"received\" to=\"registered\"\n    state \"granted\"",
            1,
        );
        std::fs::write(&file, &migrated).unwrap();
        assert_eq!(reconciler.reconcile().await, Some(Outcome::Applied), "{:?}", last_codes(&shared, &store).await);
        store.close().await;
    }
}
