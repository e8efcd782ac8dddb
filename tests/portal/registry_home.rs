//! The registry home's counts on SQLite and PostgreSQL (REG-3): an official's open tasks and
//! those overdue, cards awaiting resolution, drafts to register, overdue cards on control, each
//! counted only where the read rule admits the card; another participant's cards never counted.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{TimeZone, Utc};
use hromada::registry::access::Reader;
use hromada::store::{
    CardChange, CardRow, CountScope, RegistryCounts, ResolutionExecutorRow, ResolutionRow, Store,
};
use serde_json::json;

use crate::common::db::{Db, execute};

const TODAY: &str = "2026-12-07";

/// Registration numbers in the tests' journal, never twice.
static SEQ: AtomicI64 = AtomicI64::new(1);

fn card(
    id: &str,
    participant: &str,
    status: &str,
    control: &str,
    deadline: Option<&str>,
) -> CardRow {
    let registered = status != "draft";
    CardRow {
        id: id.into(),
        participant: participant.into(),
        journal: "incoming".into(),
        direction: "incoming".into(),
        kind: "letter".into(),
        status: status.into(),
        period: registered.then(|| "2026".into()),
        seq: registered.then(|| SEQ.fetch_add(1, Ordering::Relaxed)),
        reg_number: registered.then(|| format!("01-{id}")),
        reg_date: registered.then(|| "2026-11-20".into()),
        registered_at: registered.then(|| "2026-11-20T08:00:00Z".into()),
        case_code: None,
        summary: "Лист про ремонт даху".into(),
        correspondent: Some("ОСББ «Світанок»".into()),
        correspondent_number: None,
        correspondent_date: None,
        signer: None,
        addressees: "[]".into(),
        unit: None,
        executor: None,
        deadline: deadline.map(Into::into),
        interim_deadline: None,
        control: control.into(),
        execution_mark: None,
        executed_at: None,
        pages: None,
        paper: 0,
        related: "[]".into(),
        extra: "{}".into(),
        source: "registry".into(),
        source_ref: None,
        archived_at: None,
        version: 1,
        created_at: "2026-11-20T07:00:00Z".into(),
        created_by: "official:lysenko-t".into(),
        updated_at: "2026-11-20T08:00:00Z".into(),
    }
}

async fn put(store: &Store, c: &CardRow) {
    let mut tx = store.begin().await.unwrap();
    let change = CardChange {
        before: None,
        after: c,
        actor: "official:lysenko-t",
        on_behalf: None,
        kind: "created",
        note: json!({}),
        at: Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap(),
    };
    assert!(store.write_card(&mut tx, &change).await.unwrap());
    tx.commit().await.unwrap();
}

/// A resolution on `card` to `main` (and `co`) due `deadline`, each executor's case open or
/// closed as `open` says (by official).
async fn resolve(
    store: &Store,
    url: &str,
    card: &str,
    id: &str,
    deadline: &str,
    work: &[(&str, &str, bool)],
) {
    let mut tx = store.begin().await.unwrap();
    let resolution = ResolutionRow {
        id: id.into(),
        card_id: card.into(),
        parent: None,
        author: "bondar-a".into(),
        acting_for: None,
        main_executor: work[0].0.into(),
        co_executors: json!(work[1..].iter().map(|w| w.0).collect::<Vec<_>>()).to_string(),
        informed: "[]".into(),
        task: "Підготувати відповідь".into(),
        deadline: deadline.into(),
        interim_deadline: None,
        created_at: "2026-11-21T09:00:00Z".into(),
        canonical: "{}".into(),
        seal: vec![0x30],
        sealed_by: "city-council".into(),
    };
    store.insert_resolution(&mut tx, &resolution).await.unwrap();
    for (official, relation, _) in work {
        let e = ResolutionExecutorRow {
            resolution_id: id.into(),
            official: (*official).into(),
            relation: (*relation).into(),
            case_id: format!("case-{id}-{official}"),
        };
        store.add_resolution_executor(&mut tx, &e).await.unwrap();
        store
            .add_card_person(
                &mut tx,
                card,
                official,
                if *relation == "main" {
                    "executor"
                } else {
                    "co-executor"
                },
            )
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    for (official, _, open) in work {
        let outcome = if *open { "NULL" } else { "'executed'" };
        execute(
            url,
            &format!(
                "INSERT INTO cases (id, workflow, revision, e_service, state, outcome, applicant, \
             applicant_name, assignee, data, registry, version, created_at, updated_at, \
             state_entered_at) VALUES ('case-{id}-{official}', 'document-execution', 'r1', \
             'registry', 'working', {outcome}, '{card}', 'card', '{official}', '{{}}', '{{}}', 1, \
             '2026-11-21T09:00:00Z', '2026-11-21T09:00:00Z', '2026-11-21T09:00:00Z')"
            ),
        )
        .await;
    }
}

/// The counts `official` of `participant` sees: a reader of every card of it or not, standing
/// in for `principals`.
async fn counts(
    store: &Store,
    official: &str,
    participant: &str,
    reader: bool,
    principals: &[&str],
) -> RegistryCounts {
    let reader = Reader {
        official: official.into(),
        participant: participant.into(),
        participant_reader: reader,
        delegations: Vec::new(),
        today: TODAY.into(),
    };
    let mut workers = vec![official.to_string()];
    workers.extend(principals.iter().map(|p| p.to_string()));
    let visible_sql = Reader::visible_sql(2);
    store
        .registry_counts(&CountScope {
            visible_sql: &visible_sql,
            visible_binds: reader.binds(),
            workers: &workers,
            today: TODAY,
        })
        .await
        .unwrap()
}

crate::both! {
    async fn registry_home_counts_what_each_official_needs_first_and_only_what_they_may_read(db: Db) {
        let store = Store::connect(&db.url).await.unwrap();
        let nothing = RegistryCounts::default();
        assert_eq!(counts(&store, "bondar-a", "city-council", true, &[]).await, nothing);

        put(&store, &card("card-draft", "city-council", "draft", "none", None)).await;
        put(&store, &card("card-new", "city-council", "registered", "none", None)).await;
        put(&store, &card("card-late", "city-council", "registered", "on", Some("2026-12-01"))).await;
        put(&store, &card("card-due", "city-council", "registered", "on", Some("2026-12-20"))).await;
        put(&store, &card("card-done", "city-council", "executed", "on", Some("2026-12-01"))).await;
        // Another participant's cards, of every kind the counts look at.
        put(&store, &card("card-other-draft", "registration-dept", "draft", "none", None)).await;
        put(&store, &card("card-other-new", "registration-dept", "registered", "none", None)).await;
        put(&store, &card("card-other-late", "registration-dept", "registered", "on", Some("2026-12-01"))).await;
        resolve(&store, &db.url, "card-late", "res-late", "2026-12-01", &[("koval-o", "main", true), ("moroz-v", "co", false)]).await;
        resolve(&store, &db.url, "card-due", "res-due", "2026-12-20", &[("koval-o", "main", true)]).await;
        resolve(&store, &db.url, "card-done", "res-done", "2026-12-01", &[("moroz-v", "main", false)]).await;

        assert_eq!(
            counts(&store, "bondar-a", "city-council", true, &[]).await,
            RegistryCounts { my_tasks: 0, my_overdue: 0, awaiting_resolution: 1, to_register: 1, overdue_on_control: 1 },
            "the head of records counts the draft, the card with no resolution and the overdue one on control"
        );
        assert_eq!(
            counts(&store, "koval-o", "city-council", false, &[]).await,
            RegistryCounts { my_tasks: 2, my_overdue: 1, awaiting_resolution: 0, to_register: 0, overdue_on_control: 1 },
            "the executor counts their two open tasks, one overdue, and only the cards they work on"
        );
        assert_eq!(
            counts(&store, "moroz-v", "city-council", false, &[]).await,
            RegistryCounts { my_tasks: 0, my_overdue: 0, awaiting_resolution: 0, to_register: 0, overdue_on_control: 1 },
            "work reported executed is no longer a task"
        );
        assert_eq!(
            counts(&store, "moroz-v", "city-council", false, &["koval-o"]).await.my_tasks,
            2,
            "a deputy counts the work of the one they stand in for"
        );
        assert_eq!(
            counts(&store, "kravchenko-s", "registration-dept", true, &[]).await,
            RegistryCounts { my_tasks: 0, my_overdue: 0, awaiting_resolution: 2, to_register: 1, overdue_on_control: 1 },
            "another participant's reader counts their own cards alone"
        );
        assert_eq!(
            counts(&store, "stranger", "nobody", true, &[]).await,
            nothing,
            "an official of a participant with no cards counts nothing"
        );

        // A row rewritten past the store to another participant leaves this one's counts.
        execute(&db.url, "UPDATE cards SET participant = 'registration-dept' WHERE id = 'card-draft'").await;
        assert_eq!(counts(&store, "bondar-a", "city-council", true, &[]).await.to_register, 0);
        assert_eq!(counts(&store, "kravchenko-s", "registration-dept", true, &[]).await.to_register, 2);
    }
}
